//! How setup reports its steps: one line per step, on stdout.
//!
//! ```text
//! ran      python deps  (2.3s, sources changed)
//! skipped  db           (creates var/db.sqlite3 exists)
//! failed   migrate      (exit code 1 after 0.4s)
//! ```
//!
//! On a terminal, while a step runs, a spinner with its name and elapsed time and, under
//! it, the last few lines of its output, replaced by the step's line when it ends: quiet
//! unless something goes wrong (the lesson of Shopify's cli-ui). Elsewhere (a CI log, a
//! pipe, journald) only the final lines: a step's output is in its log file,
//! `.proj/logs/setup-NAME.log`, and its last lines are shown if it fails.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::duration;

/// Lines of a running step's output shown under its spinner.
const LIVE_LINES: usize = 5;

/// The outcome of one step, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ran { elapsed: Duration, why: String },
    Skipped { elapsed: Duration, why: String },
    Failed { elapsed: Duration, status: String },
}

/// The step lines of one setup run.
pub(crate) struct Reporter {
    terminal: bool,
    color: bool,
    /// The longest step name, for aligned lines.
    width: usize,
}

impl Reporter {
    pub(crate) fn new(terminal: bool, color: bool, names: &[&str]) -> Reporter {
        Reporter {
            terminal,
            color,
            width: names.iter().map(|n| n.chars().count()).max().unwrap_or(0),
        }
    }

    /// A step starts (its rules are checked, then perhaps it runs).
    pub(crate) fn begin(&self, step: &str) -> Arc<Live> {
        let bar = self.terminal.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}  {elapsed}{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(step.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Arc::new(Live {
            bar,
            lines: Mutex::new(VecDeque::new()),
        })
    }

    /// A step ended: its line replaces the spinner.
    pub(crate) fn end(&self, live: &Live, step: &str, outcome: &Outcome) {
        if let Some(bar) = &live.bar {
            bar.finish_and_clear();
        }
        crate::outln!("{}", line(step, self.width, outcome, self.color));
    }

    /// A remark that is not a step (a state file that could not be used).
    pub(crate) fn note(&self, text: &str) {
        crate::outln!("note: {text}");
    }
}

/// The live view of a running step, fed from its output reader thread.
pub(crate) struct Live {
    bar: Option<ProgressBar>,
    lines: Mutex<VecDeque<String>>,
}

impl Live {
    /// A line of the step's output: shown under the spinner (on a terminal).
    pub(crate) fn output(&self, raw: &[u8]) {
        let Some(bar) = &self.bar else { return };
        let width = console::Term::stdout()
            .size_checked()
            .map_or(80, |(_, columns)| usize::from(columns));
        let text = displayable(raw, width.saturating_sub(6));
        if text.is_empty() {
            return;
        }
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lines.push_back(text);
        while lines.len() > LIVE_LINES {
            lines.pop_front();
        }
        let message: String = lines.iter().map(|l| format!("\n    {l}")).collect();
        bar.set_message(message);
    }
}

/// One step's line.
pub(crate) fn line(step: &str, width: usize, outcome: &Outcome, color: bool) -> String {
    let (word, paint, details) = match outcome {
        Outcome::Ran { elapsed, why } if why.is_empty() => ("ran", "32", duration(*elapsed)),
        Outcome::Ran { elapsed, why } => ("ran", "32", format!("{}, {why}", duration(*elapsed))),
        // A check is usually instant; its time is worth showing only when it is not.
        Outcome::Skipped { elapsed, why } if *elapsed >= Duration::from_millis(100) => {
            ("skipped", "2", format!("{why}, {}", duration(*elapsed)))
        }
        Outcome::Skipped { why, .. } => ("skipped", "2", why.clone()),
        Outcome::Failed { elapsed, status } => (
            "failed",
            "1;31",
            format!("{status} after {}", duration(*elapsed)),
        ),
    };
    let word = if color {
        format!("\x1b[{paint}m{word:7}\x1b[0m")
    } else {
        format!("{word:7}")
    };
    format!("{word}  {step:width$}  ({details})")
}

/// A raw output line as a terminal can show it on one row: what follows the last
/// carriage return (progress bars redraw with `\r`), without escape sequences or other
/// control characters, cut to `width` columns.
pub(crate) fn displayable(raw: &[u8], width: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = text
        .rsplit('\r')
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let text = console::strip_ansi_codes(text);
    let text: String = text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    console::truncate_str(text.trim_end(), width, "…").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_aligned_and_say_why() {
        let ran = Outcome::Ran {
            elapsed: Duration::from_millis(2300),
            why: String::new(),
        };
        assert_eq!(
            line("python deps", 11, &ran, false),
            "ran      python deps  (2.3s)"
        );
        let skipped = Outcome::Skipped {
            elapsed: Duration::from_micros(20),
            why: "creates var/db exists".into(),
        };
        assert_eq!(
            line("db", 11, &skipped, false),
            "skipped  db           (creates var/db exists)"
        );
        let failed = Outcome::Failed {
            elapsed: Duration::from_millis(400),
            status: "exit code 1".into(),
        };
        assert_eq!(
            line("migrate", 7, &failed, false),
            "failed   migrate  (exit code 1 after 400ms)"
        );
        assert!(line("migrate", 7, &failed, true).starts_with("\x1b[1;31mfailed "));
    }

    #[test]
    fn output_is_made_fit_for_one_terminal_row() {
        assert_eq!(displayable(b"\x1b[32mok\x1b[0m\tdone", 80), "ok done");
        assert_eq!(displayable(b" 10%\r 50%\r100%\r", 80), "100%");
        assert_eq!(displayable(b"abcdefghij", 5), "abcd…");
        assert_eq!(displayable(b"\xff bytes", 80), "\u{fffd} bytes");
    }
}
