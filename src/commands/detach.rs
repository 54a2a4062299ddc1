//! `proj up -d`: start the supervisor in the background and return once everything it
//! started is running.
//!
//! The background supervisor is this same binary, `proj up --no-tui --detached-child`,
//! with stdin closed and its stderr appended to `.proj/logs/proj.log` (where it records
//! its own lines, as in every mode); it calls
//! `setsid()` first thing, so it has no controlling terminal and a closing shell does not
//! hang it up. The foreground process waits for its control socket, asks it to answer
//! once every instance it started is running (ready, when it has a probe), printing each
//! state change meanwhile, then prints the `ps` table and exits 0; or exits 1 naming the
//! instance and why as soon as one failed or is still not up once its dependencies' and
//! its own `ready_timeout` have passed (the supervisor keeps running).

use std::fs::OpenOptions;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::cli::RunShape;
use crate::config::Plan;
use crate::control::client::{Client, ClientError};
use crate::control::protocol::Request;

use super::control::{client_error, table};

/// How long the background supervisor may take to open its socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn run(
    plan: &Plan,
    names: &[String],
    shape: &RunShape,
    exit_on_failure: bool,
) -> Result<(), Error> {
    let log_dir = crate::layout::logs_dir(&plan.root);
    crate::layout::create_logs(&plan.root)
        .map_err(|error| Error::io(format!("cannot create {}", log_dir.display()), error))?;
    let log_path = crate::layout::proj_log(&plan.root);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|error| Error::io(format!("cannot open {}", log_path.display()), error))?;

    let exe =
        std::env::current_exe().map_err(|error| Error::io("cannot find the proj binary", error))?;
    let mut command = Command::new(exe);
    command
        .arg("--file")
        .arg(&plan.source)
        .args([
            "--color",
            "never",
            "up",
            "--no-tui",
            "--no-setup",
            "--detached-child",
        ])
        .args(shape_args(shape))
        .args(
            plan.options
                .auto_ports
                .iter()
                .flat_map(|(name, port)| ["--auto-port".to_string(), format!("{name}={port}")]),
        )
        .args(exit_on_failure.then_some("--exit-on-failure"))
        .args(names)
        .current_dir(&plan.root)
        // Only a foreground proj is systemd's service: the background one stays silent.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        // Every line is in the log files already (proj's own in proj.log, which the
        // supervisor appends to itself); stderr keeps what only it would say (a panic).
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    let mut child = command
        .spawn()
        .map_err(|error| Error::io("cannot start the background supervisor", error))?;

    let mut client = wait_for_socket(plan, &mut child, &log_path)?;
    // Each state change as it happens (on stderr: stdout is the table), then the verdict.
    client
        .send(Request::WaitUp { progress: true })
        .map_err(client_error)?;
    let response = loop {
        let Some(response) = client.receive().map_err(client_error)? else {
            return Err(Error::Detach(format!(
                "the background supervisor closed the connection; see {}",
                log_path.display()
            )));
        };
        if let Some(change) = &response.event {
            eprintln!("{}", super::answers::event_line(change));
        } else if response.skipped.is_none() {
            break response;
        }
    };
    let instances = response.instances.clone().unwrap_or_default();
    crate::out!("{}", table(&instances));
    if response.ok {
        crate::outln!(
            "proj runs in the background (pid {}); `proj logs -f` follows the output, `proj down` stops it",
            child.id()
        );
        Ok(())
    } else {
        Err(Error::NotUp(format!(
            "{} (the supervisor keeps running: see `proj why NAME`, `proj logs`, {})",
            response.error.unwrap_or_else(|| "something failed".into()),
            log_path.display()
        )))
    }
}

/// Connect to the new supervisor's socket as soon as it exists; fail if the
/// supervisor exits first.
fn wait_for_socket(
    plan: &Plan,
    child: &mut std::process::Child,
    log_path: &std::path::Path,
) -> Result<Client, Error> {
    let deadline = Instant::now() + SOCKET_TIMEOUT;
    loop {
        match Client::connect(&plan.root) {
            Ok(client) => return Ok(client),
            Err(ClientError::NotRunning { .. }) => {}
            Err(error) => return Err(client_error(error)),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Detach(format!(
                "the background supervisor exited ({status}); see {}",
                log_path.display()
            )));
        }
        if Instant::now() > deadline {
            return Err(Error::Detach(format!(
                "the background supervisor did not open its socket within {SOCKET_TIMEOUT:?}; see {}",
                log_path.display()
            )));
        }
        // The socket appears within milliseconds; this loop runs only that long.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `-m` and `-p` again, for the background supervisor.
fn shape_args(shape: &RunShape) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(formation) = &shape.formation {
        args.extend(["--formation".to_owned(), formation.to_string()]);
    }
    if let Some(port) = shape.port {
        args.extend(["--port".to_owned(), port.to_string()]);
    }
    args
}
