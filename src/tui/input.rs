//! Input mode (`i` on a `tty = true` instance): keys go to the process until `Ctrl-]`.
//!
//! Pure: which bytes a key is on a terminal ([`key_bytes`]), and the line the process is
//! writing that has no newline yet ([`Input::output`]), which the log pane shows below
//! the instance's lines: a debugger's `(Pdb) ` prompt, and what is typed after it (the
//! terminal echoes it). The lines themselves reach the pane as always, from the log feed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::ansi;

/// The longest unfinished line kept (a progress bar that never ends its line).
const MAX_PARTIAL: usize = 4096;

/// The state of input mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Input {
    /// The instance typed into.
    pub instance: String,
    /// Its terminal is connected (keys are being delivered).
    pub connected: bool,
    /// What the process wrote after its last line end, as shown.
    pub partial: String,
}

impl Input {
    pub(crate) fn new(instance: String) -> Input {
        Input {
            instance,
            ..Input::default()
        }
    }

    /// Raw terminal output: keep what follows the last line end, as a terminal would
    /// show it (a carriage return starts the line over, a backspace takes a character
    /// back, escape sequences other than colours are dropped).
    pub(crate) fn output(&mut self, bytes: &[u8]) {
        self.connected = true;
        let text = String::from_utf8_lossy(bytes);
        for ch in text.chars() {
            match ch {
                // A carriage return starts the line over (a progress bar redraws it).
                '\n' | '\r' => self.partial.clear(),
                '\u{8}' => {
                    self.partial.pop();
                }
                _ => self.partial.push(ch),
            }
        }
        if self.partial.len() > MAX_PARTIAL {
            let cut = self.partial.len() - MAX_PARTIAL;
            let cut = (cut..self.partial.len())
                .find(|&i| self.partial.is_char_boundary(i))
                .unwrap_or(0);
            self.partial.drain(..cut);
        }
    }

    /// The unfinished line without control sequences, for the pane.
    pub(crate) fn shown(&self) -> String {
        ansi::plain(&self.partial)
    }
}

/// Whether `key` leaves input mode: Ctrl-] (which many terminals report as Ctrl-5).
pub(crate) fn is_detach(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char(']') | KeyCode::Char('5'))
}

/// The bytes a terminal sends for `key` (xterm's), or `None` for keys it sends nothing
/// for.
pub(crate) fn key_bytes(key: &KeyEvent) -> Option<Vec<u8>> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let mut bytes = match key.code {
        KeyCode::Char(ch) if ctrl => vec![control_byte(ch)?],
        KeyCode::Char(ch) => ch.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => b"\x1b[A".to_vec(),
        KeyCode::Down => b"\x1b[B".to_vec(),
        KeyCode::Right => b"\x1b[C".to_vec(),
        KeyCode::Left => b"\x1b[D".to_vec(),
        KeyCode::Home => b"\x1b[H".to_vec(),
        KeyCode::End => b"\x1b[F".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        _ => return None,
    };
    if alt {
        bytes.insert(0, 0x1b);
    }
    Some(bytes)
}

/// Ctrl plus a character: the ASCII control code (Ctrl-C is 3).
fn control_byte(ch: char) -> Option<u8> {
    let byte = u8::try_from(ch.to_ascii_lowercase()).ok()?;
    match byte {
        b'a'..=b'z' => Some(byte - b'a' + 1),
        b'@' | b' ' | b'2' => Some(0),
        b'[' | b'3' => Some(0x1b),
        b'\\' | b'4' => Some(0x1c),
        b']' | b'5' => Some(0x1d),
        b'^' | b'6' => Some(0x1e),
        b'_' | b'7' | b'/' => Some(0x1f),
        b'?' | b'8' => Some(0x7f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_are_the_bytes_a_terminal_sends() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            key_bytes(&key(KeyCode::Char('p'), none)),
            Some(b"p".to_vec())
        );
        assert_eq!(key_bytes(&key(KeyCode::Enter, none)), Some(b"\r".to_vec()));
        assert_eq!(
            key_bytes(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(vec![3])
        );
        assert_eq!(key_bytes(&key(KeyCode::Up, none)), Some(b"\x1b[A".to_vec()));
        assert_eq!(
            key_bytes(&key(KeyCode::Char('b'), KeyModifiers::ALT)),
            Some(b"\x1bb".to_vec())
        );
        assert!(is_detach(&key(KeyCode::Char(']'), KeyModifiers::CONTROL)));
        assert!(is_detach(&key(KeyCode::Char('5'), KeyModifiers::CONTROL)));
        assert!(!is_detach(&key(KeyCode::Char(']'), none)));
    }

    #[test]
    fn the_unfinished_line_is_what_follows_the_last_line_end() {
        let mut input = Input::new("web".into());
        input.output(b"> app.py(4)\r\n-> print(x)\r\n(Pdb) ");
        assert_eq!(input.shown(), "(Pdb) ");
        input.output(b"p 6*");
        input.output(b"8\x08 \x087");
        assert_eq!(input.shown(), "(Pdb) p 6*7");
        input.output(b"\r\n42\r\n\x1b[1m(Pdb)\x1b[0m ");
        assert_eq!(input.shown(), "(Pdb) ");
        input.output(b"50%\r100%");
        assert_eq!(input.shown(), "100%");
    }
}
