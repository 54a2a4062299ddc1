//! The control protocol: newline-delimited JSON over the project's Unix socket.
//!
//! Every request is one JSON object on one line, with the protocol version `v` and a
//! `command`; every answer is one JSON object on one line with `ok`. A request that
//! cannot be parsed, or names a command this supervisor does not know, gets
//! `{"ok":false,...}` and the connection stays usable. `logs` with `follow` answers with
//! a header, then one object per line of output, until the client hangs up.
//!
//! ```text
//! → {"v":1,"command":"ps"}
//! ← {"ok":true,"instances":[{"name":"web","process":"web","state":"running",...}]}
//! → {"v":1,"command":"restart","names":["web"]}
//! ← {"ok":true,"instances":[...]}
//! → {"v":1,"command":"nope"}
//! ← {"ok":false,"error":"unknown command `nope`","exit_code":2}
//! ```
//!
//! The README documents every command and field.

use serde::{Deserialize, Serialize};

/// Bumped when a change would confuse an older client or supervisor.
pub const VERSION: u32 = 1;

/// A request, as sent on the wire (`{"v":1,"command":"…",…}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    #[serde(flatten)]
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Who is there: pid, project, version.
    Hello,
    /// The state of every instance.
    Ps,
    Start {
        names: Vec<String>,
    },
    Stop {
        names: Vec<String>,
    },
    Restart {
        names: Vec<String>,
    },
    /// The last `lines` lines of the named instances (all when empty), merged in time
    /// order; with `follow`, then every new line.
    Logs {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default = "default_log_lines")]
        lines: usize,
        #[serde(default)]
        follow: bool,
    },
    /// Re-read the config file and apply the difference.
    Reload,
    /// Stop everything and end the supervisor; answered when it is done.
    Down,
    /// Like `down`, but kill every process group now (SIGKILL) instead of stopping it
    /// gracefully: what a second Ctrl-C does. Answered when the supervisor is done.
    Kill,
    /// Answered once every instance `proj up` started is running (or exited, for a
    /// oneshot), or as soon as one of them failed (`proj up -d` waits with this).
    WaitUp,
    /// A stream of snapshots: every instance and the overall progress, now and after
    /// every change (the TUI of `proj attach` follows this).
    Watch,
}

/// Where the stack as a whole stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// Some instance `proj up` started is not running (or, for a oneshot, exited) yet.
    Starting,
    /// Every instance `proj up` started is running, or exited cleanly.
    Up,
    /// One of them failed.
    Failed { reason: String },
    /// proj is stopping everything.
    Stopping,
}

/// Every instance and the overall progress, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub project: String,
    pub progress: Progress,
    pub instances: Vec<InstanceStatus>,
}

fn default_log_lines() -> usize {
    100
}

/// One instance in `ps` (SPEC §4: `proj ps --json` prints an array of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub process: String,
    pub state: String,
    pub pid: Option<i32>,
    pub restarts: u32,
    pub exit_code: Option<i32>,
    pub port: Option<u16>,
    /// Milliseconds since the current process started, while one runs.
    pub uptime_ms: Option<u64>,
    /// How the last process ended, in words ("exited with code 3").
    pub last_exit: Option<String>,
    /// Why the instance is `failed`, while it is.
    pub reason: Option<String>,
}

/// One line of output in a `logs` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch when proj read the line.
    pub time_ms: u64,
    pub name: String,
    /// The line, decoded lossily (the log file keeps the bytes).
    pub text: String,
}

/// An answer. Exactly one of the optional parts is set, depending on the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit code the client should end with when `ok` is false (1 or 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<Hello>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<InstanceStatus>>,
    /// `logs`: the instance names the lines will come from (for column widths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LogLine>,
    /// `logs -f`: lines this client missed because it read too slowly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    /// `reload`: what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadSummary>,
    /// `watch`: the state now (one per answer line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub pid: u32,
    pub project: String,
    pub root: String,
    pub version: String,
    pub protocol: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadSummary {
    pub started: Vec<String>,
    pub stopped: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Response {
    pub fn ok() -> Response {
        Response {
            ok: true,
            ..Response::default()
        }
    }

    /// A failure the client reports with `exit_code` (1: runtime, 2: usage/config).
    pub fn error(exit_code: i32, error: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(error.into()),
            exit_code: Some(exit_code),
            ..Response::default()
        }
    }
}

/// Why a request is refused: the message and the exit code for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub exit_code: i32,
    pub message: String,
}

impl Refusal {
    pub fn new(exit_code: i32, message: impl Into<String>) -> Refusal {
        Refusal {
            exit_code,
            message: message.into(),
        }
    }
}

impl From<Refusal> for Response {
    fn from(refusal: Refusal) -> Response {
        Response::error(refusal.exit_code, refusal.message)
    }
}

/// Parse one request line.
pub fn parse_request(line: &str) -> Result<Request, Refusal> {
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|error| Refusal::new(2, format!("malformed request: {error}")))?;
    let version = value.get("v").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        return Err(Refusal::new(
            2,
            format!("unsupported protocol version {version:?}: this supervisor speaks v{VERSION}"),
        ));
    }
    if let Some(command) = value.get("command").and_then(serde_json::Value::as_str) {
        const KNOWN: [&str; 11] = [
            "hello", "ps", "start", "stop", "restart", "logs", "reload", "down", "kill", "wait_up",
            "watch",
        ];
        if !KNOWN.contains(&command) {
            return Err(Refusal::new(2, format!("unknown command `{command}`")));
        }
    }
    serde_json::from_value::<Envelope>(value)
        .map(|envelope| envelope.request)
        .map_err(|error| Refusal::new(2, format!("invalid request: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_the_wire_format() {
        let request = Envelope {
            v: VERSION,
            request: Request::Restart {
                names: vec!["web".into()],
            },
        };
        let line = serde_json::to_string(&request).unwrap();
        assert_eq!(line, r#"{"v":1,"command":"restart","names":["web"]}"#);
        assert_eq!(parse_request(&line).unwrap(), request.request);
    }

    #[test]
    fn logs_defaults_to_the_last_hundred_lines_of_everything() {
        assert_eq!(
            parse_request(r#"{"v":1,"command":"logs"}"#).unwrap(),
            Request::Logs {
                names: vec![],
                lines: 100,
                follow: false
            }
        );
    }

    #[test]
    fn bad_requests_get_an_error_answer() {
        for (line, expected) in [
            ("not json", "malformed request"),
            (r#"{"command":"ps"}"#, "unsupported protocol version"),
            (r#"{"v":1,"command":"dance"}"#, "unknown command `dance`"),
            (r#"{"v":1,"command":"start"}"#, "invalid request"),
            (r#"{"v":1}"#, "invalid request"),
        ] {
            let refusal = parse_request(line).unwrap_err();
            assert_eq!(refusal.exit_code, 2);
            assert!(
                refusal.message.contains(expected),
                "{line}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn a_response_leaves_out_what_it_does_not_carry() {
        let line = serde_json::to_string(&Response::ok()).unwrap();
        assert_eq!(line, r#"{"ok":true}"#);
    }
}
