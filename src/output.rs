//! Writing to stdout for commands whose reader may go away: `proj completions zsh |
//! head -1`, `proj ps | head -1`. std's `println!` panics when the pipe is closed;
//! here a closed pipe ends proj quietly with exit 0, as `cat` and `ls` do, because the
//! reader has what it wanted. Any other write error is reported and exits 1.
//!
//! [`out!`](crate::out) and [`outln!`](crate::outln) are `print!` and `println!` with
//! that rule; [`write_all`] writes bytes (generated completions, man pages).

use std::io::{self, Write};

/// Writes `bytes` to stdout and flushes; see the module docs for a closed pipe.
pub(crate) fn write_all(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        ended(error);
    }
}

/// Formats and writes `args` to stdout (what [`out!`](crate::out) expands to).
pub(crate) fn write_fmt(args: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        ended(error);
    }
}

fn ended(error: io::Error) -> ! {
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {error}");
    std::process::exit(1);
}

/// `print!` that ends proj quietly when stdout's reader is gone.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_fmt(format_args!($($arg)*)) };
}

/// `println!` that ends proj quietly when stdout's reader is gone.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write_all(b"\n") };
    ($($arg:tt)*) => {{
        $crate::output::write_fmt(format_args!($($arg)*));
        $crate::output::write_all(b"\n");
    }};
}
