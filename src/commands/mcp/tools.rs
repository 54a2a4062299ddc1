//! The tools: their names, descriptions and argument schemas (what `tools/list` shows),
//! and what each does when called. Each is the CLI command of the same name with its
//! output captured: the same client functions, so the same answer.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::tool::schema_for_type;
use rmcp::model::{JsonObject, Tool as ToolInfo, ToolAnnotations};
use serde_json::json;

use crate::Error;
use crate::control::client::{Client, ClientError};
use crate::control::protocol::Request;

use super::super::Context;
use super::super::control::{self, Settled, settle};
use super::super::{answers, logs};
use super::arguments;
use super::child::ProjCommand;
use super::reply::{self, Reply};
use super::terminal;

/// How long `wait` and `run` go on when the call names no timeout: an agent's call should
/// come back with an answer (what is not up yet, what the command printed so far is
/// lost), not hang until the client gives up on it.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The tools, in the order `tools/list` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    Up,
    Down,
    Status,
    Logs,
    Start,
    Stop,
    Restart,
    Scale,
    Wait,
    Why,
    Send,
    Run,
    Signal,
}

impl Tool {
    pub(super) const ALL: [Tool; 13] = [
        Tool::Up,
        Tool::Down,
        Tool::Status,
        Tool::Logs,
        Tool::Start,
        Tool::Stop,
        Tool::Restart,
        Tool::Scale,
        Tool::Wait,
        Tool::Why,
        Tool::Send,
        Tool::Run,
        Tool::Signal,
    ];

    pub(super) fn named(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Tool::Up => "up",
            Tool::Down => "down",
            Tool::Status => "status",
            Tool::Logs => "logs",
            Tool::Start => "start",
            Tool::Stop => "stop",
            Tool::Restart => "restart",
            Tool::Scale => "scale",
            Tool::Wait => "wait",
            Tool::Why => "why",
            Tool::Send => "send",
            Tool::Run => "run",
            Tool::Signal => "signal",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Tool::Up => {
                "Start the project's processes. When no proj runs for this project: run its \
                 setup, start a supervisor in the background (as `proj up -d`) and answer once \
                 everything is running, or as soon as something failed, naming it. When one \
                 runs: start the named processes, or (without names) answer once what it \
                 started is running."
            }
            Tool::Down => {
                "Stop every process (in reverse dependency order) and end the supervisor."
            }
            Tool::Status => {
                "Every instance of the running supervisor: state (pending, starting, running, \
                 backoff, stopping, stopped, exited, failed), pid, restarts and why, exit code, \
                 port, health, CPU and memory. Structured as `proj ps --json`."
            }
            Tool::Logs => {
                "Recent output of the processes (proj's own lines under the name `proj`), \
                 merged in time order; never waits for new output. Narrow it with names, \
                 since and grep rather than reading everything."
            }
            Tool::Start => {
                "Start processes or instances (and what they depend on); answers once they are \
                 running, or failed."
            }
            Tool::Stop => "Stop processes or instances; answers once they are gone.",
            Tool::Restart => {
                "Restart processes or instances (every instance without names), e.g. after an \
                 edit; answers once they are running again, or failed (then call `why`)."
            }
            Tool::Scale => {
                "Change how many instances of processes run now; answers once they settled."
            }
            Tool::Wait => {
                "Wait until instances are running (a oneshot: exited 0). Fails as soon as one \
                 failed, or at the timeout (default 5m), naming what is not there and its state."
            }
            Tool::Why => {
                "Why an instance is in its state: its failure or last exit and the cause, the \
                 last probe answer, restarts in the window, its last state changes and its \
                 last 20 lines of output."
            }
            Tool::Send => {
                "Type text into a `tty = true` process (a debugger, a REPL, a prompt); `\\n` is \
                 Enter. Its answer is in `logs`."
            }
            Tool::Run => {
                "Run a one-off command (tests, a migration, a shell) with the stack's \
                 environment, outside supervision, and answer with its output and exit code. \
                 Killed with everything it started at the timeout (default 5m)."
            }
            Tool::Signal => {
                "Send a signal to the main process of instances (with group: to all their \
                 processes), e.g. HUP to make gunicorn reload without a restart."
            }
        }
    }

    fn input_schema(self) -> Arc<JsonObject> {
        match self {
            Tool::Up => schema_for_type::<arguments::Up>(),
            Tool::Down | Tool::Status => schema_for_type::<NoArguments>(),
            Tool::Logs => schema_for_type::<arguments::Logs>(),
            Tool::Start | Tool::Stop | Tool::Restart => schema_for_type::<arguments::Names>(),
            Tool::Scale => schema_for_type::<arguments::Scale>(),
            Tool::Wait => schema_for_type::<arguments::Wait>(),
            Tool::Why => schema_for_type::<arguments::Why>(),
            Tool::Send => schema_for_type::<arguments::Send>(),
            Tool::Run => schema_for_type::<arguments::Run>(),
            Tool::Signal => schema_for_type::<arguments::Signal>(),
        }
    }

    /// Hints for the client (which calls it may make without asking, say).
    fn annotations(self) -> ToolAnnotations {
        let reads = matches!(self, Tool::Status | Tool::Logs | Tool::Wait | Tool::Why);
        let ends_work = matches!(self, Tool::Down | Tool::Stop | Tool::Signal);
        ToolAnnotations::new()
            .read_only(reads)
            .destructive(ends_work || self == Tool::Run)
            .idempotent(reads || matches!(self, Tool::Up | Tool::Down | Tool::Scale))
            .open_world(false)
    }

    pub(super) fn info(self) -> ToolInfo {
        ToolInfo::new(self.name(), self.description(), self.input_schema())
            .with_annotations(self.annotations())
    }

    /// Whether the call runs a child process (async) rather than talking to the
    /// supervisor over its socket (blocking, on a thread of the blocking pool).
    fn runs_a_child(self) -> bool {
        matches!(self, Tool::Up | Tool::Run)
    }
}

// `down` and `status` take nothing.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

/// Parse `arguments` as `T`; a mismatch is the agent's to fix, so it says which tool and
/// what was wrong.
fn parse<T: serde::de::DeserializeOwned>(tool: Tool, arguments: JsonObject) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::Object(arguments))
        .map_err(|error| Error::Usage(format!("invalid arguments for `{}`: {error}", tool.name())))
}

/// Call `tool`; every failure is in the reply, none escapes.
pub(super) async fn call(
    file: Option<std::path::PathBuf>,
    tool: Tool,
    arguments: JsonObject,
) -> Reply {
    if tool.runs_a_child() {
        let context = context(file);
        return match tool {
            Tool::Up => up(&context, arguments).await,
            _ => run(&context, arguments).await,
        }
        .unwrap_or_else(Reply::failed);
    }
    let blocking = tokio::task::spawn_blocking(move || {
        let context = context(file);
        over_the_socket(&context, tool, arguments).unwrap_or_else(Reply::failed)
    });
    blocking.await.unwrap_or_else(|error| {
        Reply::failed(Error::Mcp(format!(
            "the `{}` call failed: {error}",
            tool.name()
        )))
    })
}

/// What every command gets from the global options: `proj mcp -f FILE` names the file
/// for every tool; colours are never wanted.
fn context(file: Option<std::path::PathBuf>) -> Context {
    Context {
        file,
        color: crate::cli::ColorChoice::Never,
    }
}

/// The tools that are one call (or a few) to the running supervisor.
fn over_the_socket(context: &Context, tool: Tool, arguments: JsonObject) -> Result<Reply, Error> {
    match tool {
        Tool::Status => {
            parse::<NoArguments>(tool, arguments)?;
            let instances = control::instances(context)?;
            Ok(Reply::text(control::table(&instances)).with(reply::instances(&instances)))
        }
        Tool::Down => {
            parse::<NoArguments>(tool, arguments)?;
            Ok(Reply::text(control::stop_supervisor(context)?))
        }
        Tool::Logs => {
            let arguments: arguments::Logs = parse(tool, arguments)?;
            let since = arguments
                .since
                .as_deref()
                .map(arguments::since)
                .transpose()
                .map_err(|error| Error::Usage(format!("invalid `since`: {error}")))?;
            let grep = arguments
                .grep
                .as_deref()
                .map(regex::Regex::new)
                .transpose()
                .map_err(|error| Error::Usage(format!("invalid `grep`: {error}")))?;
            let query = logs::Query {
                names: arguments.names,
                lines: arguments.limit.unwrap_or(100),
                follow: false,
                since,
                grep,
                json: true,
            };
            let recent = logs::recent(context, &query)?;
            let mut text = Vec::new();
            recent
                .write_plain(&mut text)
                .map_err(|error| Error::io("cannot format the lines", error))?;
            let text = if recent.lines.is_empty() {
                "no lines\n".to_string()
            } else {
                String::from_utf8_lossy(&text).into_owned()
            };
            Ok(Reply::text(text).with(json!({ "lines": recent.json() })))
        }
        Tool::Start | Tool::Stop | Tool::Restart => {
            let arguments::Names { names } = parse(tool, arguments)?;
            let request = match tool {
                Tool::Start => Request::Start { names },
                Tool::Stop => Request::Stop { names },
                _ => Request::Restart {
                    names,
                    rolling: false,
                },
            };
            Ok(settled(settle(context, request)?))
        }
        Tool::Scale => {
            let arguments::Scale { counts } = parse(tool, arguments)?;
            Ok(settled(settle(context, Request::Scale { counts })?))
        }
        Tool::Wait => {
            let arguments: arguments::Wait = parse(tool, arguments)?;
            let timeout = arguments
                .timeout
                .map_or(DEFAULT_TIMEOUT, |timeout| timeout.0);
            Ok(settled(answers::wait_for(
                context,
                arguments.names,
                Some(timeout),
            )?))
        }
        Tool::Why => {
            let arguments::Why { name } = parse(tool, arguments)?;
            let why = answers::why_of(context, name)?;
            let structured = serde_json::to_value(&why)?;
            Ok(Reply::text(answers::explain(&why)).with(structured))
        }
        Tool::Send => {
            let arguments::Send { name, text } = parse(tool, arguments)?;
            let typed = terminal::send(context, name, &text)?;
            let said = format!("typed {} bytes into {}\n", typed.bytes, typed.instance);
            Ok(Reply::text(said).with(json!(typed)))
        }
        Tool::Signal => {
            let arguments::Signal {
                signal,
                names,
                group,
            } = parse(tool, arguments)?;
            Ok(settled(control::send_signal(
                context, signal.0, names, group,
            )?))
        }
        Tool::Up | Tool::Run => unreachable!("{tool:?} runs a child"),
    }
}

/// A settled answer as a reply: the CLI's text, `{"instances", "outcomes"}`.
fn settled(settled: Settled) -> Reply {
    let mut structured = serde_json::Map::new();
    if let Some(instances) = &settled.instances {
        structured.insert("instances".into(), json!(instances));
    }
    if let Some(outcomes) = &settled.outcomes {
        structured.insert("outcomes".into(), json!(outcomes));
    }
    let reply = Reply::text(settled.text);
    let reply = if structured.is_empty() {
        reply
    } else {
        reply.with(serde_json::Value::Object(structured))
    };
    reply.verdict(settled.verdict)
}

/// `up`: `proj up -d` when no supervisor runs; otherwise what the running one says.
async fn up(context: &Context, arguments: JsonObject) -> Result<Reply, Error> {
    let arguments::Up { names } = parse(Tool::Up, arguments)?;
    let root = context.project_root()?;
    match Client::connect(&root) {
        Ok(client) => {
            drop(client);
            let file = context.file.clone();
            tokio::task::spawn_blocking(move || already_up(&self::context(file), names))
                .await
                .map_err(|error| Error::Mcp(format!("the `up` call failed: {error}")))?
        }
        Err(ClientError::NotRunning { .. }) => {
            let args = ["up", "--detach"]
                .into_iter()
                .map(OsString::from)
                .chain(names.into_iter().map(OsString::from));
            let finished = ProjCommand::new(context.file.as_ref(), args)
                .merged()
                .output(None)
                .await?;
            let mut reply = Reply::text(finished.stdout.shown());
            let file = context.file.clone();
            let instances =
                tokio::task::spawn_blocking(move || control::instances(&self::context(file)))
                    .await
                    .ok()
                    .and_then(Result::ok);
            if let Some(instances) = instances {
                reply = reply.with(reply::instances(&instances));
            }
            if !finished.status.success() {
                // Its own message (stderr, above) names what failed.
                reply = reply.fail(Error::NotUp(format!(
                    "`proj up -d` {}",
                    exited(finished.status)
                )));
            }
            Ok(reply)
        }
        Err(error) => Err(super::super::control::client_error(error)),
    }
}

/// `up` when a supervisor runs: start the named processes, or wait for what it started.
fn already_up(context: &Context, names: Vec<String>) -> Result<Reply, Error> {
    let root = context.project_root()?;
    let said = format!("proj is already running for {}\n", root.display());
    let mut answer = if names.is_empty() {
        settle(context, Request::WaitUp { progress: false })?
    } else {
        settle(context, Request::Start { names })?
    };
    answer.text.insert_str(0, &said);
    Ok(settled(answer))
}

/// `run`: `proj run [--in NAME] -- COMMAND...`, output captured.
async fn run(context: &Context, arguments: JsonObject) -> Result<Reply, Error> {
    let arguments: arguments::Run = parse(Tool::Run, arguments)?;
    let timeout = arguments
        .timeout
        .map_or(DEFAULT_TIMEOUT, |timeout| timeout.0);
    let mut args = vec![OsString::from("run")];
    if let Some(within) = &arguments.within {
        args.extend([OsString::from("--in"), OsString::from(within)]);
    }
    args.push(OsString::from("--"));
    args.extend(arguments.command.0.iter().map(OsString::from));
    let finished = ProjCommand::new(context.file.as_ref(), args)
        .output(Some(timeout))
        .await?;
    let exit_code = finished.status.code();
    let signal = std::os::unix::process::ExitStatusExt::signal(&finished.status);
    let mut text = finished.stdout.shown();
    if !finished.stderr.text.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&finished.stderr.shown());
    }
    let structured = json!({
        "exit_code": exit_code,
        "signal": signal,
        "timed_out": finished.timed_out,
        "stdout": finished.stdout.text,
        "stderr": finished.stderr.text,
    });
    let reply = Reply::text(text).with(structured);
    let command = arguments.command.0.join(" ");
    Ok(if finished.timed_out {
        reply.fail(Error::CommandFailed(format!(
            "`{command}` was still running after {}: killed",
            humantime::format_duration(timeout)
        )))
    } else if finished.status.success() {
        reply
    } else {
        reply.fail(Error::CommandFailed(format!(
            "`{command}` {}",
            exited(finished.status)
        )))
    })
}

/// `exited with code 3`, `was killed by SIGKILL`.
fn exited(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(signal) => format!("was killed by {}", signal.as_str()),
            Err(_) => format!("was killed by signal {signal}"),
        },
        (None, None) => format!("ended ({status})"),
    }
}
