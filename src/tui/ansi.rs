//! A process's line as the terminal would show it: SGR colours kept, everything else that
//! could move the cursor or confuse the terminal taken out.
//!
//! The log pane must never pass a control character to the terminal: a stray `ESC [2J`
//! from a child would wipe the TUI. So a line becomes a list of printable characters,
//! each with a style: SGR sequences (`ESC [ … m`) set the style, other CSI, OSC and
//! two-byte escapes are dropped, a tab becomes spaces up to the next multiple of 8, and
//! a carriage return starts the line over (a progress bar shows its last state, as on a
//! terminal). Other C0 controls and DEL are dropped.
//!
//! Parsing happens when a line is drawn or searched, never when it arrives, so the cost
//! follows what is on screen, not how much the processes print.

use ratatui::style::{Color, Modifier, Style};
use unicode_width::UnicodeWidthChar;

/// One character of a line and how it is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    pub ch: char,
    pub style: Style,
}

impl Cell {
    /// Columns this character takes (0 for combining marks).
    pub(crate) fn width(&self) -> usize {
        self.ch.width().unwrap_or(0)
    }
}

const TAB_STOP: usize = 8;

/// The cells of `text`, each starting from `base`.
pub(crate) fn cells(text: &str, base: Style) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::with_capacity(text.len());
    // Fast path: nothing to interpret.
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        out.extend(text.chars().map(|ch| Cell { ch, style: base }));
        return out;
    }
    let mut style = base;
    let mut column = 0;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\x1b' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut last = None;
                    for ch in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&ch) {
                            last = Some(ch);
                            break;
                        }
                        params.push(ch);
                    }
                    if last == Some('m') {
                        style = sgr(&params, style, base);
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') => {
                    // OSC / DCS / APC / PM: up to BEL or ST (ESC \).
                    while let Some(ch) = chars.next() {
                        if ch == '\x07' {
                            break;
                        }
                        if ch == '\x1b' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\t' => {
                let spaces = TAB_STOP - column % TAB_STOP;
                column += spaces;
                out.extend(std::iter::repeat_n(Cell { ch: ' ', style }, spaces));
            }
            '\r' => {
                // A lone CR at the very end (CRLF line endings) changes nothing.
                if chars.peek().is_some() {
                    out.clear();
                    column = 0;
                }
            }
            ch if ch.is_control() => {}
            ch => {
                let cell = Cell { ch, style };
                column += cell.width();
                out.push(cell);
            }
        }
    }
    out
}

/// The text of `line` without styles, as the search sees it.
pub(crate) fn plain(text: &str) -> String {
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return text.to_string();
    }
    cells(text, Style::default()).iter().map(|c| c.ch).collect()
}

/// Apply the SGR parameters `params` (`1;31`, `38;5;208`, `38:2::1:2:3`) to `style`.
fn sgr(params: &str, mut style: Style, base: Style) -> Style {
    let mut codes: Vec<Vec<u16>> = params
        .split(';')
        .map(|param| {
            param
                .split(':')
                .map(|part| part.parse().unwrap_or(0))
                .collect()
        })
        .collect();
    if codes.is_empty() {
        codes.push(vec![0]);
    }
    let mut index = 0;
    while index < codes.len() {
        let param = &codes[index];
        let code = param.first().copied().unwrap_or(0);
        match code {
            0 => style = base,
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            5 | 6 => style = style.add_modifier(Modifier::SLOW_BLINK),
            7 => style = style.add_modifier(Modifier::REVERSED),
            8 => style = style.add_modifier(Modifier::HIDDEN),
            9 => style = style.add_modifier(Modifier::CROSSED_OUT),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            25 => style = style.remove_modifier(Modifier::SLOW_BLINK),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            28 => style = style.remove_modifier(Modifier::HIDDEN),
            29 => style = style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => style = style.fg(basic(code - 30)),
            39 => style.fg = base.fg,
            40..=47 => style = style.bg(basic(code - 40)),
            49 => style.bg = base.bg,
            90..=97 => style = style.fg(bright(code - 90)),
            100..=107 => style = style.bg(bright(code - 100)),
            38 | 48 => {
                // Either `38:5:N` in one parameter or `38;5;N` across three.
                let (color, used) = if param.len() > 1 {
                    (extended(&param[1..]), 0)
                } else {
                    let rest: Vec<u16> = codes[index + 1..].iter().map(|p| p[0]).collect();
                    let color = extended(&rest);
                    let used = match rest.first() {
                        Some(5) => 2,
                        Some(2) => 4,
                        _ => 0,
                    };
                    (color, used)
                };
                if let Some(color) = color {
                    style = if code == 38 {
                        style.fg(color)
                    } else {
                        style.bg(color)
                    };
                }
                index += used;
            }
            _ => {}
        }
        index += 1;
    }
    style
}

/// `5;N` or `2;R;G;B` (also `2;;R;G;B`, with a colour-space id).
fn extended(rest: &[u16]) -> Option<Color> {
    let byte = |value: u16| u8::try_from(value).unwrap_or(u8::MAX);
    match rest {
        [5, n, ..] => Some(Color::Indexed(byte(*n))),
        [2, _, r, g, b] => Some(Color::Rgb(byte(*r), byte(*g), byte(*b))),
        [2, r, g, b, ..] => Some(Color::Rgb(byte(*r), byte(*g), byte(*b))),
        _ => None,
    }
}

fn basic(n: u16) -> Color {
    match n {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        _ => Color::Gray,
    }
}

fn bright(n: u16) -> Color {
    match n {
        0 => Color::DarkGray,
        1 => Color::LightRed,
        2 => Color::LightGreen,
        3 => Color::LightYellow,
        4 => Color::LightBlue,
        5 => Color::LightMagenta,
        6 => Color::LightCyan,
        _ => Color::White,
    }
}

/// An ANSI foreground code of proj's palette (31–36, 91–96) as a colour.
pub(crate) fn palette_color(code: u8) -> Color {
    match code {
        30..=37 => basic(u16::from(code) - 30),
        90..=97 => bright(u16::from(code) - 90),
        _ => Color::Reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cells: &[Cell]) -> String {
        cells.iter().map(|c| c.ch).collect()
    }

    #[test]
    fn sgr_colours_are_kept_and_other_escapes_dropped() {
        let cells = cells(
            "\x1b[31mred\x1b[0m \x1b[2Jplain\x1b]0;title\x07!",
            Style::default(),
        );
        assert_eq!(text(&cells), "red plain!");
        assert_eq!(cells[0].style.fg, Some(Color::Red));
        assert_eq!(cells[4].style.fg, None);
    }

    #[test]
    fn extended_colours_in_both_notations() {
        let cells = cells(
            "\x1b[38;5;208ma\x1b[48:2::1:2:3mb\x1b[1;38;2;4;5;6mc",
            Style::default(),
        );
        assert_eq!(cells[0].style.fg, Some(Color::Indexed(208)));
        assert_eq!(cells[1].style.bg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(cells[2].style.fg, Some(Color::Rgb(4, 5, 6)));
        assert!(cells[2].style.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn tabs_reach_the_next_stop_counting_wide_characters() {
        assert_eq!(text(&cells("a\tb", Style::default())), "a       b");
        // 漢 takes two columns: the tab then fills six.
        assert_eq!(text(&cells("漢\tb", Style::default())), "漢      b");
    }

    #[test]
    fn carriage_return_starts_over_and_controls_vanish() {
        assert_eq!(plain("10%\r50%\r100%"), "100%");
        assert_eq!(plain("crlf\r"), "crlf");
        assert_eq!(plain("bell\x07 and\x08 del\x7f"), "bell and del");
    }
}
