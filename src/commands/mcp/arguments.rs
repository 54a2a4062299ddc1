//! The tools' arguments: one type per tool, parsed from the call's JSON object, and the
//! JSON Schema each tool advertises, derived from the same type (its doc comments are the
//! descriptions an agent reads). An unknown key is an error, not silently ignored: an
//! agent that guessed `lines` for `limit` learns it at once.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

// `up`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Up {
    /// The processes or instances to start (default: every autostart process).
    #[serde(default)]
    pub names: Vec<String>,
}

// `start`, `stop`, `restart`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Names {
    /// Processes (`web`: all its instances) or instances (`web.2`). `restart` without
    /// names restarts every instance.
    #[serde(default)]
    pub names: Vec<String>,
}

// `logs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Logs {
    /// Only these processes or instances (default: all, and proj's own lines as `proj`).
    #[serde(default)]
    pub names: Vec<String>,
    /// Only lines since then: a duration back from now (`5m`, `1h`) or an RFC 3339 time.
    pub since: Option<String>,
    /// Only lines matching this regular expression.
    pub grep: Option<String>,
    /// At most this many of the most recent lines (default 100).
    pub limit: Option<usize>,
}

// `scale`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Scale {
    /// How many instances of each process to run now, e.g. `{"worker": 3}` (0 stops them
    /// all; the highest-numbered stop first).
    pub counts: BTreeMap<String, u32>,
}

// `wait`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Wait {
    /// The processes or instances (default: every instance `up` started).
    #[serde(default)]
    pub names: Vec<String>,
    /// Give up after this long (default 5m).
    pub timeout: Option<Timeout>,
}

// `why`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Why {
    /// The process or instance.
    pub name: String,
}

// `send`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Send {
    /// The `tty = true` process or instance (a process name means its first instance).
    pub name: String,
    /// What to type; `\n` is Enter.
    pub text: String,
}

// `run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Run {
    /// A shell command line (run by `sh -c`), or a program and its arguments.
    pub command: CommandLine,
    /// Run with the environment, working directory and user of this instance (or of the
    /// first instance of this process); default: the project's `[env]` and env files.
    #[serde(rename = "in")]
    pub within: Option<String>,
    /// Kill it (and every process it started) after this long (default 5m).
    pub timeout: Option<Timeout>,
}

// `signal`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Signal {
    /// `HUP`, `SIGHUP`, `USR2`, `TERM`, or a number such as `1`.
    pub signal: SignalName,
    /// The processes or instances.
    pub names: Vec<String>,
    /// To every process of each instance, not only its main process.
    #[serde(default)]
    pub group: bool,
}

/// A duration: `30s`, `2m`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timeout(pub Duration);

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timeout, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Seconds(f64),
            Text(String),
        }
        match Given::deserialize(deserializer)? {
            Given::Seconds(seconds) => Duration::try_from_secs_f64(seconds)
                .map(Timeout)
                .map_err(|_| serde::de::Error::custom(format!("{seconds} is not a duration"))),
            Given::Text(text) => crate::cli::parse_duration(&text)
                .map(Timeout)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Timeout {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "number"],
            "description": "`30s`, `2m`, `1h30m`, or a number of seconds",
        })
    }
}

/// `run`'s command: one string is a shell command line, as `proj run 'a && b'` takes it;
/// a list is the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CommandLine(pub Vec<String>);

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CommandLine, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Line(String),
            Words(Vec<String>),
        }
        let words = match Given::deserialize(deserializer)? {
            Given::Line(line) => vec![line],
            Given::Words(words) => words,
        };
        if words.first().is_none_or(|first| first.trim().is_empty()) {
            return Err(serde::de::Error::custom("the command is empty"));
        }
        Ok(CommandLine(words))
    }
}

impl JsonSchema for CommandLine {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "CommandLine".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string", "description": "a shell command line, run by `sh -c`" },
                {
                    "type": "array",
                    "items": { "type": "string" },
                    "minItems": 1,
                    "description": "a program and its arguments",
                },
            ],
        })
    }
}

/// A signal by name or number, checked as `proj signal` checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SignalName(pub nix::sys::signal::Signal);

impl<'de> Deserialize<'de> for SignalName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SignalName, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(i64),
            Text(String),
        }
        let text = match Given::deserialize(deserializer)? {
            Given::Number(number) => number.to_string(),
            Given::Text(text) => text,
        };
        crate::cli::parse_signal_argument(&text)
            .map(SignalName)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SignalName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Signal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "integer"],
            "description": "HUP, SIGHUP, USR2, TERM, ... or a number such as 1",
        })
    }
}

/// `since`, as `proj logs --since` reads it.
pub(super) fn since(text: &str) -> Result<SystemTime, String> {
    crate::cli::parse_since(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn a_timeout_is_a_duration_or_a_number_of_seconds() {
        let wait: Wait = parse(r#"{"timeout": "2m"}"#).unwrap();
        assert_eq!(wait.timeout, Some(Timeout(Duration::from_secs(120))));
        let wait: Wait = parse(r#"{"timeout": 1.5}"#).unwrap();
        assert_eq!(wait.timeout, Some(Timeout(Duration::from_millis(1500))));
        assert!(parse::<Wait>(r#"{"timeout": "soon"}"#).is_err());
        assert!(parse::<Wait>(r#"{"timeout": -1}"#).is_err());
    }

    #[test]
    fn a_command_is_a_shell_line_or_words() {
        let run: Run = parse(r#"{"command": "make test"}"#).unwrap();
        assert_eq!(run.command, CommandLine(vec!["make test".into()]));
        let run: Run = parse(r#"{"command": ["ls", "-l"], "in": "web"}"#).unwrap();
        assert_eq!(run.command, CommandLine(vec!["ls".into(), "-l".into()]));
        assert_eq!(run.within.as_deref(), Some("web"));
        assert!(parse::<Run>(r#"{"command": []}"#).is_err());
        assert!(parse::<Run>(r#"{"command": " "}"#).is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = parse::<Logs>(r#"{"lines": 5}"#).unwrap_err();
        assert!(error.contains("unknown field `lines`"), "{error}");
    }

    #[test]
    fn signals_are_checked_as_the_cli_checks_them() {
        let signal: Signal = parse(r#"{"signal": "hup", "names": ["web"]}"#).unwrap();
        assert_eq!(signal.signal, SignalName(nix::sys::signal::Signal::SIGHUP));
        let signal: Signal = parse(r#"{"signal": 10, "names": ["web"]}"#).unwrap();
        assert_eq!(signal.signal, SignalName(nix::sys::signal::Signal::SIGUSR1));
        assert!(parse::<Signal>(r#"{"signal": "NOPE", "names": ["web"]}"#).is_err());
    }
}
