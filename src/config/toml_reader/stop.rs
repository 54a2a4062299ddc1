//! How a process stops: `stop_sequence` (steps of a signal or a command, each with a
//! `wait`), or its one-step form `stop_signal` + `stop_timeout`, and `stop_target`.
//!
//! ```toml
//! stop_sequence = [{ signal = "TSTP", wait = "25s" }, { signal = "TERM", wait = "10s" }]
//! stop_target = "main"
//! ```
//!
//! Each step is checked on its own (neither or both of `signal` and `command`, an
//! unknown signal, a missing or zero `wait`), and giving both forms is refused: which
//! one should win is not something to guess.

use std::ops::Range;
use std::time::Duration;

use toml::de::DeValue;

use super::fields::{Expected, Field, Reader, Value, entries};
use crate::config::plan::{StopAction, StopStep, StopTarget};

const STEP_KEYS: [&str; 3] = ["signal", "command", "wait"];
const STEP_EXAMPLE: &str = r#"write steps like `stop_sequence = [{ signal = "TERM", wait = "10s" }]` or `[{ command = "docker stop web", wait = "30s" }]`"#;

/// What a process table said about stopping, before the two forms are reconciled.
#[derive(Debug, Default)]
pub(super) struct StopSettings {
    pub(super) sequence: Option<(Vec<StopStep>, Range<usize>)>,
    pub(super) signal: Option<(nix::sys::signal::Signal, Range<usize>)>,
    pub(super) timeout: Option<(Duration, Range<usize>)>,
    pub(super) target: Option<StopTarget>,
}

impl StopSettings {
    /// Whether the table wrote `stop_signal`, `stop_timeout` or `stop_sequence`.
    pub(super) fn says_how_to_stop(&self) -> bool {
        self.sequence.is_some() || self.signal.is_some() || self.timeout.is_some()
    }

    /// The sequence to use: the one written, or the one-step form (default TERM, 10 s).
    /// Both forms at once are refused, pointing at each.
    pub(super) fn resolve(
        self,
        reader: &mut Reader,
        defaults: (nix::sys::signal::Signal, Duration),
    ) -> Vec<StopStep> {
        let one_step = || {
            vec![StopStep {
                action: StopAction::Signal(self.signal.as_ref().map_or(defaults.0, |s| s.0)),
                wait: self.timeout.as_ref().map_or(defaults.1, |t| t.0),
            }]
        };
        let Some((sequence, span)) = self.sequence.clone() else {
            return one_step();
        };
        let other = self
            .signal
            .as_ref()
            .map(|(_, span)| ("stop_signal", span.clone()))
            .or_else(|| {
                self.timeout
                    .as_ref()
                    .map(|(_, span)| ("stop_timeout", span.clone()))
            });
        if let Some((key, other_span)) = other {
            let diagnostic = reader
                .error(
                    other_span,
                    format!("`{key}` and `stop_sequence` both say how to stop this process"),
                )
                .label(format!("`{key}` here"))
                .context(span, "`stop_sequence` here")
                .help(
                    "keep one: `stop_sequence` replaces `stop_signal`/`stop_timeout` \
                     (a `stop_signal` is the step `{ signal = \"…\", wait = stop_timeout }`)",
                );
            reader.report(diagnostic);
        }
        sequence
    }
}

/// `stop_sequence = [{ … }, …]`: at least one step.
pub(super) fn read_sequence(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<Vec<StopStep>> {
    let Some(items) = value.get_ref().as_array() else {
        reader.wrong_type(field, value, Expected::StopSequence);
        return None;
    };
    if items.is_empty() {
        reader.invalid(field, value.span(), "no steps", STEP_EXAMPLE);
        return None;
    }
    let mut steps = Vec::new();
    let mut valid = true;
    for item in items {
        match read_step(reader, field, item) {
            Some(step) => steps.push(step),
            None => valid = false,
        }
    }
    valid.then_some(steps)
}

fn read_step(reader: &mut Reader, field: Field<'_>, item: &Value<'_>) -> Option<StopStep> {
    let DeValue::Table(table) = item.get_ref() else {
        reader.invalid(
            field,
            item.span(),
            format!(
                "a step must be a table, found {}",
                item.get_ref().type_str()
            ),
            STEP_EXAMPLE,
        );
        return None;
    };
    let place = format!("in a step of {}", field);
    let mut signal = None;
    let mut command = None;
    let mut wait = None;
    let mut broken = false;
    for (key, value) in entries(table) {
        let step_field = Field {
            key: key.get_ref().as_ref(),
            place: &place,
        };
        match step_field.key {
            "signal" => match reader.signal(step_field, value) {
                Some(parsed) => signal = Some(parsed),
                None => broken = true,
            },
            "command" => match reader.non_empty(step_field, value, r#""docker stop web""#) {
                Some(text) => command = Some(text),
                None => broken = true,
            },
            "wait" => match reader.duration(step_field, value) {
                Some(duration) if duration.get_ref().is_zero() => {
                    reader.invalid(
                        step_field,
                        duration.span(),
                        "a step must wait for something",
                        r#"give the process time to finish, e.g. `wait = "10s"`"#,
                    );
                    broken = true;
                }
                Some(duration) => wait = Some(duration.into_inner()),
                None => broken = true,
            },
            _ => {
                reader.unknown_key(key, &place, &STEP_KEYS, &[("timeout", "wait")]);
                broken = true;
            }
        }
    }
    let action = match (signal, command) {
        (Some(signal), None) => Some(StopAction::Signal(signal)),
        (None, Some(command)) => Some(StopAction::Command(command)),
        (Some(_), Some(_)) => {
            reader.invalid(
                field,
                item.span(),
                "a step has both `signal` and `command`",
                "make them two steps, each with its own `wait`",
            );
            None
        }
        (None, None) if broken => None,
        (None, None) => {
            reader.invalid(
                field,
                item.span(),
                "a step needs a `signal` or a `command`",
                STEP_EXAMPLE,
            );
            None
        }
    };
    if wait.is_none() && !broken && action.is_some() {
        reader.invalid(
            field,
            item.span(),
            "a step needs a `wait`",
            r#"say how long to wait for the process to be gone, e.g. `wait = "10s"`"#,
        );
    }
    if broken {
        return None;
    }
    Some(StopStep {
        action: action?,
        wait: wait?,
    })
}

/// `stop_target = "group" | "main"`.
pub(super) fn read_target(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<StopTarget> {
    let text = reader.string(field, value)?;
    match text.as_str() {
        "group" => Some(StopTarget::Group),
        "main" => Some(StopTarget::Main),
        _ => {
            reader.invalid(
                field,
                value.span(),
                format!("`{text}` is not a stop target"),
                r#"write `stop_target = "group"` (every process of the instance, the default) or `"main"` (the process proj started only)"#,
            );
            None
        }
    }
}

/// The signal and wait of a one-step sequence (what `stop_signal`/`stop_timeout` say):
/// the defaults for a later layer that changes only one of the two.
pub(super) fn single_signal(sequence: &[StopStep]) -> Option<(nix::sys::signal::Signal, Duration)> {
    match sequence {
        [
            StopStep {
                action: StopAction::Signal(signal),
                wait,
            },
        ] => Some((*signal, *wait)),
        _ => None,
    }
}
