//! Process output: cutting it into lines, the log files (the source of truth), and the
//! plain printer. Later consumers (the TUI, `logs -f` clients) hang off the same sink.

pub mod clock;
pub mod feed;
pub mod file;
pub mod history;
pub mod printer;
pub mod reader;
pub mod splitter;
