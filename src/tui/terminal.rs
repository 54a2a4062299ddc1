//! Owning the terminal, and giving it back on every way out.
//!
//! [`Guard::enter`] switches to raw mode, the alternate screen and mouse reporting; its
//! `Drop` undoes all three and shows the cursor again, so a normal return, an error
//! (`?`) and a panic's unwinding all restore the terminal. The panic hook restores it
//! *before* the panic message is printed (otherwise the message would land on the
//! alternate screen and vanish), then marks the terminal as given back so the TUI stops
//! drawing. SIGTERM never reaches this code: in `proj up` the supervisor turns it into a
//! shutdown and the TUI ends when the supervisor does; in `proj attach` the TUI's loop
//! listens for it and returns normally.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Set once the terminal was given back by the panic hook: draw nothing more.
static GIVEN_BACK: AtomicBool = AtomicBool::new(false);

pub(crate) type Screen = Terminal<CrosstermBackend<Stdout>>;

pub(crate) struct Guard {
    mouse: bool,
}

impl Guard {
    pub(crate) fn enter() -> io::Result<(Guard, Screen)> {
        install_panic_hook();
        enable_raw_mode()?;
        // From here the guard exists, so a failure below still restores the terminal.
        let guard = Guard { mouse: true };
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            cursor::Hide
        )?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, terminal))
    }

    /// Mouse reporting on (wheel scrolls the pane) or off (the terminal selects text).
    pub(crate) fn set_mouse(&mut self, on: bool) -> io::Result<()> {
        if on == self.mouse {
            return Ok(());
        }
        self.mouse = on;
        if on {
            execute!(io::stdout(), EnableMouseCapture)
        } else {
            execute!(io::stdout(), DisableMouseCapture)
        }
    }

    /// Whether the panic hook already gave the terminal back.
    pub(crate) fn given_back() -> bool {
        GIVEN_BACK.load(Ordering::Relaxed)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen; harmless when already done.
pub(crate) fn restore() {
    let _ = disable_raw_mode();
    let mut stdout = io::stdout();
    let _ = execute!(
        stdout,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = stdout.flush();
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
                GIVEN_BACK.store(true, Ordering::Relaxed);
                restore();
            }
            previous(info);
        }));
    });
}
