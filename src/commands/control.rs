//! `proj ps`, `start`, `stop`, `restart`, `reload`, `down`: one call to the running
//! supervisor each, its answer printed.

use std::fmt::Write;
use std::time::Duration;

use crate::Error;
use crate::control::client::{Client, ClientError};
use crate::control::protocol::{InstanceStatus, RefusalKind, Request, Response};
use crate::supervisor::lifecycle::short_duration;

use super::Context;

pub(super) fn ps(context: &Context, json: bool) -> Result<(), Error> {
    let response = call(context, Request::Ps)?;
    let instances = response.instances.unwrap_or_default();
    if json {
        let text = serde_json::to_string_pretty(&instances)
            .map_err(|error| Error::Runtime(error.to_string()))?;
        crate::outln!("{text}");
    } else {
        crate::out!("{}", table(&instances));
    }
    Ok(())
}

pub(super) fn act(context: &Context, request: Request) -> Result<(), Error> {
    let response = call(context, request)?;
    crate::out!("{}", table(&response.instances.unwrap_or_default()));
    Ok(())
}

pub(super) fn reload(context: &Context) -> Result<(), Error> {
    let response = call(context, Request::Reload)?;
    let summary = response.reload.unwrap_or_default();
    let mut changed = false;
    for (what, names) in [
        ("restarted", &summary.restarted),
        ("started", &summary.started),
        ("stopped", &summary.stopped),
    ] {
        if !names.is_empty() {
            changed = true;
            crate::outln!("{what}: {}", names.join(", "));
        }
    }
    if !changed {
        crate::outln!("nothing changed");
    }
    match summary.failed.as_slice() {
        [] => Ok(()),
        failed => Err(Error::Runtime(format!(
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
    call(context, Request::Down)?;
    crate::outln!("proj stopped");
    Ok(())
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
        _ => Error::Runtime(message),
    })
}

pub(super) fn client_error(error: ClientError) -> Error {
    Error::Runtime(error.to_string())
}

/// The `ps` table: name, state, pid, uptime, restarts, port, last exit.
pub(super) fn table(instances: &[InstanceStatus]) -> String {
    let rows: Vec<[String; 7]> = instances
        .iter()
        .map(|instance| {
            let dash = || "-".to_string();
            [
                instance.name.clone(),
                instance.state.to_string(),
                instance.pid.map_or_else(dash, |pid| pid.to_string()),
                instance
                    .uptime_ms
                    .map_or_else(dash, |ms| short_duration(Duration::from_millis(ms))),
                instance.restarts.to_string(),
                instance.port.map_or_else(dash, |port| port.to_string()),
                instance
                    .reason
                    .clone()
                    .or_else(|| instance.last_exit.clone())
                    .unwrap_or_else(dash),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "PORT",
        "LAST EXIT",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.map(String::from)).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
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
                reason: None,
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
                reason: None,
            },
        ];
        assert_eq!(
            table(&instances),
            "NAME     STATE    PID   UPTIME  RESTARTS  PORT  LAST EXIT\n\
             web      running  4242  1.5s    1         8000  exited with code 3\n\
             migrate  exited   -     -       0         -     exited with code 0\n"
        );
    }
}
