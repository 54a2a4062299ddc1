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

use crate::supervisor::Refusal;
pub use crate::supervisor::command::Request;
pub use crate::supervisor::snapshot::{
    About, Change, Did, InstanceStatus, LogLine, Outcome, Progress, ReloadSummary, Snapshot, Why,
};

/// Bumped when a change would confuse an older client or supervisor.
pub const VERSION: u32 = 1;

/// A request, as sent on the wire (`{"v":1,"command":"…",…}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    #[serde(flatten)]
    pub request: Request,
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
    /// What kind of refusal `error` is, when the supervisor refused
    /// ([`RefusalKind`]): a client prints `invalid_config` diagnostics as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<Hello>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<InstanceStatus>>,
    /// `start`, `stop`, `restart`, `scale`: what the request did to each instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<Outcome>>,
    /// `logs`: the instance names the lines will come from (for column widths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LogLine>,
    /// `logs -f`: lines this client missed because it read too slowly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    /// `events` (and `wait` with `progress`): one state change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Change>,
    /// `why`: the instance and how it got there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Box<Why>>,
    /// `reload`: what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadSummary>,
    /// `watch`: the state now (one per answer line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// `connect`: whose terminal this connection now carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Connected>,
}

/// The answer to `connect`: the instance (a process name means its first instance) and
/// how many instances that process has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connected {
    pub instance: String,
    pub of: usize,
}

/// The answer to `hello`: who the supervisor is, and which protocol it speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    #[serde(flatten)]
    pub about: About,
    pub protocol: u32,
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

/// The kinds of `Refusal`, as the wire names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The request itself is wrong (malformed, unknown command, wrong version).
    BadRequest,
    NoNames,
    UnknownNames,
    ShuttingDown,
    Stopped,
    InvalidConfig,
    NotUp,
    /// `connect` to an instance without `tty = true`.
    NoTerminal,
}

impl Response {
    /// The answer for a refusal of the supervisor's.
    pub fn refused(refusal: &Refusal) -> Response {
        let kind = match refusal {
            Refusal::NoNames => RefusalKind::NoNames,
            Refusal::UnknownNames { .. } | Refusal::UnknownProcesses { .. } => {
                RefusalKind::UnknownNames
            }
            Refusal::ShuttingDown => RefusalKind::ShuttingDown,
            Refusal::Stopped => RefusalKind::Stopped,
            Refusal::InvalidConfig(_) => RefusalKind::InvalidConfig,
            Refusal::NotUp(_) => RefusalKind::NotUp,
            Refusal::NoTerminal { .. } => RefusalKind::NoTerminal,
            Refusal::UnknownSignal(_) | Refusal::InvalidPattern(_) => RefusalKind::BadRequest,
        };
        Response {
            refusal: Some(kind),
            ..Response::error(refusal.exit_code(), refusal.to_string())
        }
    }
}

/// A request line that cannot be served (always exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl From<BadRequest> for Response {
    fn from(bad: BadRequest) -> Response {
        Response {
            refusal: Some(RefusalKind::BadRequest),
            ..Response::error(2, bad.0)
        }
    }
}

/// Parse one request line.
pub fn parse_request(line: &str) -> Result<Request, BadRequest> {
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|error| BadRequest(format!("malformed request: {error}")))?;
    let version = value.get("v").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        return Err(BadRequest(format!(
            "unsupported protocol version {version:?}: this supervisor speaks v{VERSION}"
        )));
    }
    let command = value
        .get("command")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    serde_json::from_value::<Envelope>(value)
        .map(|envelope| envelope.request)
        .map_err(|error| match command {
            // serde names a tag that matches no variant this way; the enum is the one
            // list of commands.
            Some(command) if error.to_string().starts_with("unknown variant") => {
                BadRequest(format!("unknown command `{command}`"))
            }
            _ => BadRequest(format!("invalid request: {error}")),
        })
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
                rolling: false,
            },
        };
        let line = serde_json::to_string(&request).unwrap();
        assert_eq!(line, r#"{"v":1,"command":"restart","names":["web"]}"#);
        assert_eq!(parse_request(&line).unwrap(), request.request);
    }

    #[test]
    fn every_request_survives_the_wire() {
        let one_of_each = |request: &Request| match request {
            // A new variant fails to compile here until it is listed below too.
            Request::Hello
            | Request::Ps
            | Request::Start { .. }
            | Request::Stop { .. }
            | Request::Restart { .. }
            | Request::Signal { .. }
            | Request::Scale { .. }
            | Request::Logs { .. }
            | Request::Reload
            | Request::Down
            | Request::Kill
            | Request::WaitUp { .. }
            | Request::Wait { .. }
            | Request::Events
            | Request::Why { .. }
            | Request::Watch
            | Request::Connect { .. } => (),
        };
        let names = || vec!["web".to_string()];
        let all = [
            Request::Hello,
            Request::Ps,
            Request::Start { names: names() },
            Request::Stop { names: names() },
            Request::Restart {
                names: names(),
                rolling: true,
            },
            Request::Signal {
                signal: "SIGHUP".into(),
                names: names(),
                group: false,
            },
            Request::Scale {
                counts: [("web".to_string(), 2)].into(),
            },
            Request::Logs {
                names: names(),
                lines: 1,
                follow: false,
                since_ms: None,
                grep: None,
            },
            Request::Reload,
            Request::Down,
            Request::Kill,
            Request::WaitUp { progress: true },
            Request::Wait {
                names: names(),
                timeout_ms: Some(1000),
                progress: false,
            },
            Request::Events,
            Request::Why { name: "web".into() },
            Request::Watch,
            Request::Connect { name: "web".into() },
        ];
        for request in all {
            one_of_each(&request);
            let line = serde_json::to_string(&Envelope {
                v: VERSION,
                request: request.clone(),
            })
            .unwrap();
            assert_eq!(parse_request(&line), Ok(request), "{line}");
        }
    }

    #[test]
    fn logs_defaults_to_the_last_hundred_lines_of_everything() {
        assert_eq!(
            parse_request(r#"{"v":1,"command":"logs"}"#).unwrap(),
            Request::Logs {
                names: vec![],
                lines: 100,
                follow: false,
                since_ms: None,
                grep: None,
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
            let BadRequest(message) = parse_request(line).unwrap_err();
            assert!(message.contains(expected), "{line}: {message}");
        }
    }

    #[test]
    fn a_response_leaves_out_what_it_does_not_carry() {
        let line = serde_json::to_string(&Response::ok()).unwrap();
        assert_eq!(line, r#"{"ok":true}"#);
    }
}
