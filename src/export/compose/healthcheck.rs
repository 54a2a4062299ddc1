//! `ready` → a Compose healthcheck that needs only `sh` where it can: `tcp` reads
//! `/proc/net/tcp` for a listening socket; `http` uses curl, wget or python3 when the
//! image has one, else checks that the port listens (a note says so); `exec` runs the
//! command. `log` has no counterpart. `health` has no restart counterpart (Compose
//! records health, it does not restart): without `ready` it is the healthcheck
//! (`interval`, `timeout`, `retries` as written), with `ready` a note says it is left out.

use std::time::Duration;

use crate::config::{ProcessSpec, ReadyProbe};

use super::super::environment::{self, Variable};
use super::super::{Note, shell};
use super::objects::Healthcheck;
use super::{duration, escape};

pub(super) fn has_healthcheck(process: &ProcessSpec) -> bool {
    matches!(
        process.ready,
        Some(ReadyProbe::Tcp(_) | ReadyProbe::Http(_) | ReadyProbe::Exec(_))
    )
}

/// `ready` as a healthcheck that needs only sh where it can, else `health`.
pub(super) fn healthcheck(
    process: &ProcessSpec,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> Option<Healthcheck> {
    let Some(ready) = &process.ready else {
        let health = process.health.as_ref()?;
        let (script, _) = check(process, "health", &health.probe, variables, notes)?;
        return Some(Healthcheck {
            test: vec!["CMD-SHELL".into(), escape(&script)],
            interval: duration(health.interval),
            timeout: duration(health.timeout),
            retries: health.retries,
            start_period: "0s".into(),
        });
    };
    if process.health.is_some() {
        notes.push(Note::process(
            process,
            "health",
            "is left out: Compose has one healthcheck (it is `ready`'s) and does not \
             restart an unhealthy container",
        ));
    }
    let (script, timeout) = check(process, "ready", ready, variables, notes)?;
    Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), escape(&script)],
        // As often as a kubelet probes: `service_healthy` dependants start promptly
        // (Debian's docker-compose has no `start_interval`).
        interval: "2s".into(),
        timeout: duration(timeout),
        retries: 3,
        start_period: duration(process.lifecycle.ready_timeout),
    })
}

/// The sh script that checks `probe` (written as `key`), and its usual timeout.
fn check(
    process: &ProcessSpec,
    key: &str,
    probe: &ReadyProbe,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> Option<(String, Duration)> {
    let resolve = |text: &str| -> Option<String> {
        let parts = environment::parse(text);
        let known = environment::references(&parts)
            .all(|(name, _)| variables.iter().any(|v| v.name == name));
        known.then(|| environment::resolve(&parts, variables))
    };
    let found = match probe {
        ReadyProbe::Tcp(port) => match resolve(port).and_then(|p| p.trim().parse::<u16>().ok()) {
            Some(port) => (shell::listening(port), Duration::from_secs(1)),
            None => {
                notes.push(Note::process(
                    process,
                    key,
                    format!("= {{ tcp = \"{port}\" }} is not a port known at export time: no healthcheck"),
                ));
                return None;
            }
        },
        ReadyProbe::Http(url) => {
            let Some(url) = resolve(url) else {
                notes.push(Note::process(
                    process,
                    key,
                    "= { http } refers to a variable the config does not define: no healthcheck",
                ));
                return None;
            };
            notes.push(Note::process(
                process,
                key,
                "= { http }: the healthcheck uses curl, wget or python3 from the image; \
                 with none of them it only checks that the port is listening",
            ));
            (
                shell::http_get(&url, url_port(&url)),
                Duration::from_secs(5),
            )
        }
        ReadyProbe::Exec(command) => (command.clone(), Duration::from_secs(10)),
        ReadyProbe::Log(_) => {
            notes.push(Note::process(
                process,
                key,
                "= { log } is left out: Compose cannot check a container's output; \
                 dependants wait for it to start (service_started)",
            ));
            return None;
        }
    };
    Some(found)
}

/// The port of an `http://host:port/…` URL (for the fallback that checks it listens).
fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None if url.starts_with("https") => Some(443),
        None => Some(80),
    }
}
