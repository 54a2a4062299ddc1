//! Process output: cutting it into lines, the log files (the source of truth), and the
//! plain printer. Later consumers (the TUI, `logs -f` clients) hang off the same sink.

/// The name proj's own lines go by: in plain mode, in `.proj/logs/proj.log`, and for
/// `proj logs proj`.
pub const PROJ_NAME: &str = "proj";

pub mod clock;
pub mod feed;
pub mod file;
pub mod history;
pub mod journal;
pub mod printer;
pub mod reader;
pub mod splitter;
