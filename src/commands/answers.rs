//! `proj wait`, `proj why NAME`, `proj events [--json]`: the supervisor's truth for
//! scripts and agents (SPEC §9.5), and the state-change lines `up -d` prints while it
//! waits.

use std::fmt::Write as _;
use std::time::Duration;

use crate::Error;
use crate::control::client::Client;
use crate::control::protocol::{Change, Request, Response, Why};
use crate::units::short_duration;

use super::Context;
use super::control::{Settled, call, check, client_error, settle};

/// `proj wait [NAME...] [--timeout DURATION]`: exit 0 once every named instance is
/// running (or exited 0), 1 naming what is not.
pub(super) fn wait(
    context: &Context,
    names: Vec<String>,
    timeout: Option<Duration>,
) -> Result<(), Error> {
    wait_for(context, names, timeout)?.print()
}

/// Ask the supervisor to answer once the named instances are up, failed, or the
/// timeout passed: the table, and the verdict.
pub(super) fn wait_for(
    context: &Context,
    names: Vec<String>,
    timeout: Option<Duration>,
) -> Result<Settled, Error> {
    let timeout_ms = timeout.map(|timeout| u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
    settle(
        context,
        Request::Wait {
            names,
            timeout_ms,
            progress: false,
        },
    )
}

/// `proj why NAME`.
pub(super) fn why(context: &Context, name: String) -> Result<(), Error> {
    crate::out!("{}", explain(&why_of(context, name)?));
    Ok(())
}

/// The instance's state and how it got there.
pub(super) fn why_of(context: &Context, name: String) -> Result<Why, Error> {
    let response = call(context, Request::Why { name })?;
    response
        .why
        .map(|why| *why)
        .ok_or(Error::UnexpectedAnswer("`why` without the instance"))
}

/// The `why` answer for a person.
pub(super) fn explain(why: &Why) -> String {
    let instance = &why.instance;
    let mut out = String::new();
    let _ = write!(out, "{} is {}", instance.name, instance.state);
    if let Some(pid) = instance.pid {
        let _ = write!(out, " (pid {pid}");
        if let Some(uptime) = instance.uptime_ms {
            let _ = write!(
                out,
                ", up {}",
                short_duration(Duration::from_millis(uptime))
            );
        }
        out.push(')');
    }
    out.push('\n');
    if let Some(reason) = &instance.reason {
        let _ = writeln!(out, "  failed: {reason}");
    }
    if let Some(waiting) = &why.waiting {
        let _ = writeln!(out, "  {waiting}");
    }
    if let Some(exit) = &instance.last_exit {
        let _ = writeln!(out, "  last exit: {exit}");
    }
    if let Some(cause) = &instance.last_restart {
        let _ = writeln!(out, "  last restart: {cause}");
    }
    let _ = writeln!(
        out,
        "  restarts: {} in all, {} of at most {} within the last {}",
        instance.restarts,
        why.restarts_in_window,
        why.max_restarts,
        humantime::format_duration(Duration::from_secs(why.restart_window_secs))
    );
    if let Some(said) = &why.last_probe {
        let _ = writeln!(out, "  last probe: {said}");
    }
    if !why.changes.is_empty() {
        out.push_str("how it got there:\n");
        for change in &why.changes {
            let _ = writeln!(out, "  {}", event_line(change));
        }
    }
    if why.lines.is_empty() {
        out.push_str("no output yet\n");
    } else {
        let _ = writeln!(out, "its last {} lines:", why.lines.len());
        for line in &why.lines {
            let _ = writeln!(out, "  {}", line.text);
        }
    }
    out
}

/// `proj events [--json]`: one line per state change until the supervisor ends.
pub(super) fn events(context: &Context, json: bool) -> Result<(), Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    client.send(Request::Events).map_err(client_error)?;
    while let Some(response) = client.receive().map_err(client_error)? {
        let response = check(response)?;
        print_event(&response, json)?;
    }
    Ok(())
}

/// Print a state change (or how many were missed); `false` for another answer.
pub(super) fn print_event(response: &Response, json: bool) -> Result<bool, Error> {
    if let Some(change) = &response.event {
        if json {
            let text = serde_json::to_string(change)?;
            crate::outln!("{text}");
        } else {
            crate::outln!("{}", event_line(change));
        }
        return Ok(true);
    }
    if let Some(skipped) = response.skipped {
        eprintln!("… {skipped} state changes skipped: this reader was too slow");
        return Ok(true);
    }
    Ok(false)
}

/// `14:03:07.412 web failed: restart limit reached (…)`, in local time.
pub(super) fn event_line(change: &Change) -> String {
    let time = change
        .time
        .parse::<jiff::Timestamp>()
        .map(|at| {
            at.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_else(|_| change.time.clone());
    let mut line = format!("{time} {} {}", change.name, change.state);
    if let Some(pid) = change.pid {
        let _ = write!(line, " pid {pid}");
    }
    if let Some(reason) = &change.reason {
        let _ = write!(line, ": {reason}");
    }
    line
}
