//! `proj ps`, `start`, `stop`, `restart`, `reload`, `down`: one call to the running
//! supervisor each, its answer printed.

use std::fmt::Write;
use std::time::Duration;

use crate::Error;
use crate::control::client::{Client, ClientError};
use crate::control::protocol::{InstanceStatus, Outcome, RefusalKind, Request, Response};
use crate::units::short_duration;

use super::Context;

pub(super) fn ps(context: &Context, json: bool) -> Result<(), Error> {
    let instances = instances(context)?;
    if json {
        let text = serde_json::to_string_pretty(&instances)?;
        crate::outln!("{text}");
    } else {
        crate::out!("{}", table(&instances));
    }
    Ok(())
}

/// What `ps` shows: every instance of the running supervisor (`ps --json`'s elements).
pub(super) fn instances(context: &Context) -> Result<Vec<InstanceStatus>, Error> {
    Ok(call(context, Request::Ps)?.instances.unwrap_or_default())
}

/// `start`, `stop`, `restart`, `scale`: the table of the instances once they settled,
/// then what the request did to each (`web.2: started`); exit 1 naming what failed.
pub(super) fn act(context: &Context, request: Request) -> Result<(), Error> {
    settle(context, request)?.print()
}

/// Send a request that answers once the instances settled (`start`, `stop`, `restart`,
/// `scale`, `wait`): a refusal is an error, a failure is in the [`Settled`] verdict.
pub(super) fn settle(context: &Context, request: Request) -> Result<Settled, Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    let response = client.call(request).map_err(client_error)?;
    Ok(Settled::from(response))
}

/// The answer to a request that waits for instances to settle: what is printed (the
/// table, then what was done to each) whether or not it all went well, and the verdict.
pub(super) struct Settled {
    pub text: String,
    pub instances: Option<Vec<InstanceStatus>>,
    pub outcomes: Option<Vec<Outcome>>,
    pub verdict: Result<(), Error>,
}

impl From<Response> for Settled {
    fn from(mut response: Response) -> Settled {
        let instances = response.instances.take();
        let outcomes = response.outcomes.take();
        let mut text = String::new();
        if let Some(instances) = &instances {
            text.push_str(&table(instances));
        }
        if let Some(outcomes) = &outcomes {
            text.push_str(&did(outcomes));
        }
        Settled {
            text,
            instances,
            outcomes,
            verdict: check(response).map(drop),
        }
    }
}

impl Settled {
    /// Print the text on stdout and end with the verdict (the CLI's way).
    pub(super) fn print(self) -> Result<(), Error> {
        crate::out!("{}", self.text);
        self.verdict
    }
}

/// One line per instance: `web.1: restarted`, `worker: failed: exited with code 3`.
pub(super) fn did(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        let _ = match &outcome.reason {
            Some(reason) => writeln!(out, "{}: {}: {reason}", outcome.name, outcome.did.as_str()),
            None => writeln!(out, "{}: {}", outcome.name, outcome.did.as_str()),
        };
    }
    out
}

/// `proj signal`: what was sent to whom, one line per instance.
pub(super) fn signal(
    context: &Context,
    signal: nix::sys::signal::Signal,
    names: Vec<String>,
    group: bool,
) -> Result<(), Error> {
    send_signal(context, signal, names, group)?.print()
}

/// Send `signal`; the text says what was sent to whom, and the verdict is an error when
/// no named instance was running to get it.
pub(super) fn send_signal(
    context: &Context,
    signal: nix::sys::signal::Signal,
    names: Vec<String>,
    group: bool,
) -> Result<Settled, Error> {
    let signal = signal.as_str();
    let request = Request::Signal {
        signal: signal.to_string(),
        names,
        group,
    };
    let response = call(context, request)?;
    let instances = response.instances.unwrap_or_default();
    let mut sent = 0;
    let mut text = String::new();
    for instance in &instances {
        let _ = match instance.pid {
            Some(pid) if group => {
                sent += 1;
                writeln!(
                    text,
                    "{}: sent {signal} to every process (main pid {pid})",
                    instance.name
                )
            }
            Some(pid) => {
                sent += 1;
                writeln!(text, "{}: sent {signal} to pid {pid}", instance.name)
            }
            None => writeln!(text, "{}: {}, nothing sent", instance.name, instance.state),
        };
    }
    let verdict = if sent == 0 {
        Err(Error::NothingSignalled(signal.to_string()))
    } else {
        Ok(())
    };
    Ok(Settled {
        text,
        instances: Some(instances),
        outcomes: None,
        verdict,
    })
}

pub(super) fn reload(context: &Context) -> Result<(), Error> {
    let response = call(context, Request::Reload)?;
    let summary = response.reload.unwrap_or_default();
    let mut changed = false;
    for (what, names) in [
        ("restarted", &summary.restarted),
        ("started", &summary.started),
        ("stopped", &summary.stopped),
        ("updated", &summary.updated),
    ] {
        if !names.is_empty() {
            changed = true;
            crate::outln!("{what}: {}", names.join(", "));
        }
    }
    if !changed {
        crate::outln!("nothing changed");
    } else if !summary.unchanged.is_empty() {
        crate::outln!("unchanged: {}", summary.unchanged.join(", "));
    }
    match summary.failed.as_slice() {
        [] => Ok(()),
        failed => Err(Error::NotUp(format!(
            "reloaded, but {} did not come up: {}",
            if failed.len() == 1 {
                "one instance"
            } else {
                "some instances"
            },
            failed.join("; ")
        ))),
    }
}

pub(super) fn down(context: &Context) -> Result<(), Error> {
    crate::outln!("{}", stop_supervisor(context)?);
    Ok(())
}

/// Stop everything and end the supervisor; what `proj down` says once it is done.
pub(super) fn stop_supervisor(context: &Context) -> Result<&'static str, Error> {
    call(context, Request::Down)?;
    Ok("proj stopped")
}

/// Connect, send one request, and turn a refusal into the matching error.
pub(super) fn call(context: &Context, request: Request) -> Result<Response, Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    let response = client.call(request).map_err(client_error)?;
    check(response)
}

/// An answer with `ok: false` becomes an error with the exit code it names.
pub(super) fn check(response: Response) -> Result<Response, Error> {
    if response.ok {
        return Ok(response);
    }
    let message = response.error.unwrap_or_else(|| "proj refused".into());
    Err(match (response.refusal, response.exit_code) {
        // Already rendered, `error:` and all.
        (Some(RefusalKind::InvalidConfig), _) => Error::Diagnostics(message),
        (_, Some(2)) => Error::Usage(message),
        _ => Error::Refused(message),
    })
}

pub(super) fn client_error(error: ClientError) -> Error {
    Error::Client(error)
}

/// The `ps` table: name, state, health (when any instance has a check), pid, uptime,
/// restarts, port, CPU% and memory (when sampled: `ps` samples, `start`/`stop` do not),
/// last exit.
pub(super) fn table(instances: &[InstanceStatus]) -> String {
    let with_health = instances.iter().any(|instance| instance.health.is_some());
    let with_usage = instances
        .iter()
        .any(|instance| instance.memory_bytes.is_some());
    let with_restarts = instances
        .iter()
        .any(|instance| instance.last_restart.is_some());
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|instance| {
            let dash = || "-".to_string();
            let mut row = vec![instance.name.clone(), instance.state.to_string()];
            if with_health {
                row.push(
                    instance
                        .health
                        .map_or_else(dash, |health| health.as_str().to_string()),
                );
            }
            row.extend([
                instance.pid.map_or_else(dash, |pid| pid.to_string()),
                instance
                    .uptime_ms
                    .map_or_else(dash, |ms| short_duration(Duration::from_millis(ms))),
                instance.restarts.to_string(),
                instance.port.map_or_else(dash, |port| port.to_string()),
            ]);
            if with_usage {
                row.extend([
                    instance
                        .cpu_percent
                        .map_or_else(dash, |percent| format!("{percent:.1}")),
                    instance
                        .memory_bytes
                        .map_or_else(dash, crate::units::memory),
                ]);
            }
            if with_restarts {
                row.push((instance.last_restart.as_ref()).map_or_else(dash, ToString::to_string));
            }
            row.push(
                (instance.reason.as_ref().map(ToString::to_string))
                    .or_else(|| instance.last_exit.as_ref().map(ToString::to_string))
                    .unwrap_or_else(dash),
            );
            row
        })
        .collect();
    let mut header = vec!["NAME", "STATE"];
    if with_health {
        header.push("HEALTH");
    }
    header.extend(["PID", "UPTIME", "RESTARTS", "PORT"]);
    if with_usage {
        header.extend(["CPU%", "MEM"]);
    }
    if with_restarts {
        header.push("RESTARTED FOR");
    }
    header.push("LAST EXIT");
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_dashes_what_is_missing() {
        let instances = vec![
            InstanceStatus {
                name: "web".into(),
                process: "web".into(),
                state: crate::supervisor::State::Running,
                pid: Some(4242),
                restarts: 1,
                exit_code: Some(3),
                port: Some(8000),
                uptime_ms: Some(1500),
                last_exit: Some("exited with code 3".into()),
                last_restart: None,
                reason: None,
                health: Some(crate::supervisor::Health::Healthy),
                cpu_percent: Some(12.5),
                memory_bytes: Some(24_536_000),
                next_run: None,
            },
            InstanceStatus {
                name: "migrate".into(),
                process: "migrate".into(),
                state: crate::supervisor::State::Exited,
                pid: None,
                restarts: 0,
                exit_code: Some(0),
                port: None,
                uptime_ms: None,
                last_exit: Some("exited with code 0".into()),
                last_restart: None,
                reason: None,
                health: None,
                cpu_percent: None,
                memory_bytes: None,
                next_run: None,
            },
        ];
        assert_eq!(
            table(&instances),
            "NAME     STATE    HEALTH   PID   UPTIME  RESTARTS  PORT  CPU%  MEM      LAST EXIT\n\
             web      running  healthy  4242  1.5s    1         8000  12.5  23.4MiB  exited with code 3\n\
             migrate  exited   -        -     -       0         -     -     -        exited with code 0\n"
        );
    }
}
