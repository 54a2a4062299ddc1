//! proj's own diagnostics (`tracing`), off by default: `PROJ_LOG=debug` turns them on,
//! on stderr. They are for developers of proj; users read the messages under `proj`.
//!
//! While the TUI owns the terminal, [`redirect`] sends them to a file instead
//! (`.proj/logs/proj.log`): a line on stderr would tear the screen.

use std::fs::File;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use tracing_subscriber::EnvFilter;

/// Where diagnostics go instead of stderr, while set.
static REDIRECT: Mutex<Option<File>> = Mutex::new(None);

pub fn init() {
    let filter = EnvFilter::try_from_env("PROJ_LOG").unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Writer)
        .try_init();
}

/// Send diagnostics to `file` (`None`: back to stderr).
pub fn redirect(file: Option<File>) {
    *REDIRECT.lock().unwrap_or_else(PoisonError::into_inner) = file;
}

struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match REDIRECT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(file) => {
                // The formatter colours for the terminal it started on; a file gets the
                // text alone.
                file.write_all(&strip_sgr(buf))?;
                Ok(buf.len())
            }
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `text` without `ESC [ … m` sequences.
fn strip_sgr(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == 0x1b {
            // Skip up to and including the final byte of the sequence.
            for next in bytes.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(byte);
        }
    }
    out
}
