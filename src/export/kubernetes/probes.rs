//! `ready` → a readinessProbe (`tcp` → tcpSocket, `http` → httpGet, `exec` → exec) and a
//! startupProbe with the same check that gives the container `ready_timeout` to pass it:
//! proj gives up on an instance that is not ready in time, Kubernetes restarts it.
//! `log` has no counterpart. `health` → a livenessProbe with the same check:
//! `periodSeconds` = `interval`, `timeoutSeconds` = `timeout`, `failureThreshold` =
//! `retries` (proj restarts an unhealthy instance, the kubelet its container).

use crate::config::{ProcessSpec, ReadyProbe};

use super::super::Note;
use super::super::environment::{self, Variable};
use super::super::whole_seconds;
use super::objects::{Handler, Probe};

/// proj probes readiness every 100–500 ms; a kubelet every 2 s is still prompt.
const PROBE_PERIOD_SECONDS: u32 = 2;

/// proj's per-attempt timeout for tcp and http probes.
const PROBE_TIMEOUT_SECONDS: u32 = 1;

/// proj's timeout for an exec probe.
const EXEC_PROBE_TIMEOUT_SECONDS: u32 = 10;

/// `ready` as a readinessProbe, and the same check as a startupProbe bounded by
/// `ready_timeout`.
pub(super) fn probes(
    process: &ProcessSpec,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> (Option<Probe>, Option<Probe>) {
    let Some(ready) = &process.ready else {
        return (None, None);
    };
    let (handler, timeout) = match handler(ready, variables) {
        Ok(found) => found,
        Err(reason) => {
            notes.push(Note::process(process, "ready", reason));
            return (None, None);
        }
    };
    // No host: the URL named this machine (a `$PORT` in it is resolved by now).
    if matches!(handler, Handler::HttpGet { host: None, .. })
        && !super::super::listens_everywhere(process)
    {
        notes.push(Note::process(process, "ready", LISTEN_EVERYWHERE_NOTE));
    }
    let timeout_seconds = whole_seconds(process.lifecycle.ready_timeout) as u32;
    let readiness = Probe {
        handler: handler.clone(),
        period_seconds: PROBE_PERIOD_SECONDS,
        timeout_seconds: timeout,
        failure_threshold: 3,
    };
    let startup = Probe {
        handler,
        period_seconds: PROBE_PERIOD_SECONDS,
        timeout_seconds: timeout,
        failure_threshold: timeout_seconds.div_ceil(PROBE_PERIOD_SECONDS).max(1),
    };
    (Some(readiness), Some(startup))
}

/// `health` as a livenessProbe.
pub(super) fn liveness(
    process: &ProcessSpec,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> Option<Probe> {
    let health = process.health.as_ref()?;
    let handler = match handler(&health.probe, variables) {
        Ok((handler, _)) => handler,
        Err(reason) => {
            notes.push(Note::process(process, "health", reason));
            return None;
        }
    };
    // No host: the URL named this machine.
    if matches!(handler, Handler::HttpGet { host: None, .. })
        && !super::super::listens_everywhere(process)
    {
        notes.push(Note::process(process, "health", LISTEN_EVERYWHERE_NOTE));
    }
    Some(Probe {
        handler,
        period_seconds: (whole_seconds(health.interval) as u32).max(1),
        timeout_seconds: (whole_seconds(health.timeout) as u32).max(1),
        failure_threshold: health.retries.max(1),
    })
}

/// The probe's check and its per-attempt timeout, or why there is none.
pub(super) fn handler(
    ready: &ReadyProbe,
    variables: &[Variable],
) -> Result<(Handler, u32), String> {
    match ready {
        ReadyProbe::Tcp(port) => {
            let port = resolve_port(port, variables)?;
            Ok((Handler::TcpSocket { port }, PROBE_TIMEOUT_SECONDS))
        }
        ReadyProbe::Http(url) => {
            let url = resolve(url, variables)
                .ok_or("= { http } refers to a variable the config does not define: left out")?;
            let url = HttpUrl::parse(&url).ok_or(format!(
                "= {{ http = \"{url}\" }} is not an http(s) URL: left out"
            ))?;
            let local = is_local(&url.host);
            Ok((
                Handler::HttpGet {
                    // The kubelet probes the pod's address: the process must listen on
                    // it, not only on 127.0.0.1.
                    host: (!local).then_some(url.host),
                    path: url.path,
                    port: url.port,
                    scheme: if url.https { "HTTPS" } else { "HTTP" },
                },
                PROBE_TIMEOUT_SECONDS,
            ))
        }
        ReadyProbe::Exec(command) => Ok((
            Handler::Exec {
                command: vec!["sh".into(), "-c".into(), command.clone()],
            },
            EXEC_PROBE_TIMEOUT_SECONDS,
        )),
        ReadyProbe::Log(_) => Err("= { log } is left out: Kubernetes cannot probe a \
                                   container's output; the pod is ready once it runs"
            .into()),
    }
}

/// For an http probe of 127.0.0.1 when nothing says the process listens everywhere (its
/// command or `env` does not use `PROJ_LISTEN_HOST`).
const LISTEN_EVERYWHERE_NOTE: &str = "probes 127.0.0.1; the kubelet probes the pod's address, \
     so the process must listen on all addresses (0.0.0.0), not only on 127.0.0.1: \
     ${PROJ_LISTEN_HOST} is 0.0.0.0 here and 127.0.0.1 under proj";

/// Whether `host` is this machine: proj probes there, the kubelet probes the pod's
/// address instead.
fn is_local(host: &str) -> bool {
    matches!(
        host,
        "127.0.0.1" | "localhost" | "0.0.0.0" | "::1" | "[::1]"
    )
}

/// A probe's text with its references resolved at export time (`$PORT` → `8000`), or
/// `None` when one needs the image's environment.
fn resolve(text: &str, variables: &[Variable]) -> Option<String> {
    let parts = environment::parse(text);
    let known =
        environment::references(&parts).all(|(name, _)| variables.iter().any(|v| v.name == name));
    known.then(|| environment::resolve(&parts, variables))
}

fn resolve_port(text: &str, variables: &[Variable]) -> Result<u16, String> {
    resolve(text, variables)
        .and_then(|port| port.trim().parse().ok())
        .ok_or(format!(
            "= {{ tcp = \"{text}\" }} is not a port known at export time: left out"
        ))
}

/// The parts of an `http://host:port/path` URL a probe needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct HttpUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl HttpUrl {
    pub(super) fn parse(url: &str) -> Option<HttpUrl> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            (true, url.strip_prefix("https://")?)
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
            _ => (authority, if https { 443 } else { 80 }),
        };
        (!host.is_empty()).then(|| HttpUrl {
            https,
            host: host.to_owned(),
            port,
            path,
        })
    }
}
