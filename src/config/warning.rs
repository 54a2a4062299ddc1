//! [`Warning`]: something about a config worth saying that does not stop proj from
//! using it (SPEC §2: an unset variable gives the empty string, and `proj check` warns).

use super::diagnostic::{self, Diagnostic};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// About a place in a file: rendered with the line and a caret.
    At(Diagnostic),
    /// About no place in a file: what, and what to do.
    Plain { message: String, help: String },
}

impl Warning {
    /// The headline.
    pub fn message(&self) -> &str {
        match self {
            Warning::At(diagnostic) => diagnostic.message(),
            Warning::Plain { message, .. } => message,
        }
    }

    /// The full report for stderr, rustc-style.
    pub fn render(&self, color: bool) -> String {
        match self {
            Warning::At(diagnostic) => diagnostic.render(color),
            Warning::Plain { message, help } => {
                diagnostic::render_plain_warning(message, help, color)
            }
        }
    }
}
