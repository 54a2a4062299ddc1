//! Readiness probes: when does a started instance count as `running`?
//!
//! # Theory of operation
//!
//! A probe is resolved per instance when it is spawned (`$PORT` and other variables are
//! expanded from the instance's environment), then runs as its own task that ends by
//! telling the supervisor "ready", or never ends: the supervisor aborts it when the
//! instance leaves `starting` (it exited, was stopped, or `ready_timeout` fired). So a
//! probe stops as soon as it passes and never outlives its instance.
//!
//! - `tcp` and `http` are polled: a connect (and for http, one `GET` whose status line
//!   must be 2xx or 3xx) with a per-attempt timeout. Attempts come every 2 ms for the
//!   first 200 ms (a refused connect to a local port costs microseconds), so a fast
//!   service is seen ready almost at once, then every 10 ms up to 1 s, 100 ms up to 10 s,
//!   then 500 ms: a slow service costs a few wake-ups a second.
//! - `exec` runs the command (with the instance's environment and working directory,
//!   output discarded) and waits for its exit, at 100 ms intervals and more slowly later.
//! - `log` polls nothing: the instance's output reader tests each line against the regex
//!   and fires once it matches.
//!
//! The reason of the last failed attempt is reported so that a ready timeout can say what
//! went wrong.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::config::ReadyProbe;
use crate::process::spawn::{self, Output};

/// How long one tcp/http attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one exec attempt may take before its process group is killed.
const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// A probe ready to run for one instance.
#[derive(Debug, Clone)]
pub(crate) enum Probe {
    Tcp {
        port: u16,
    },
    Http(HttpTarget),
    /// A command run as the instance runs: its environment, working directory and
    /// account (`user`/`group`), so that it sees what the instance sees.
    Exec {
        command: String,
        cwd: PathBuf,
        env: Vec<(OsString, OsString)>,
        identity: Option<crate::process::identity::Identity>,
    },
    Log(Regex),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Resolve the configured probe for an instance with environment `env`, working
/// directory `cwd` and account `identity`.
pub(crate) fn resolve(
    probe: &ReadyProbe,
    env: &[(OsString, OsString)],
    cwd: PathBuf,
    identity: Option<&crate::process::identity::Identity>,
) -> Result<Probe, ProbeError> {
    match probe {
        ReadyProbe::Tcp(port) => {
            let expanded = expand(port, env);
            let port = expanded
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&port| port > 0)
                .ok_or_else(|| ProbeError::NotAPort {
                    written: port.clone(),
                    expanded,
                })?;
            Ok(Probe::Tcp { port })
        }
        ReadyProbe::Http(url) => parse_http_url(&expand(url, env)).map(Probe::Http),
        ReadyProbe::Exec(command) => Ok(Probe::Exec {
            command: command.clone(),
            cwd,
            env: env.to_vec(),
            identity: identity.cloned(),
        }),
        ReadyProbe::Log(pattern) => Ok(Probe::Log(pattern.0.clone())),
    }
}

/// Expand `$NAME`, `${NAME}` and `${NAME:-default}` from `env`, with the same rules as
/// the config's values ([`crate::config::interpolate`]); unknown names expand to
/// nothing, as in `sh`.
pub(crate) fn expand(text: &str, env: &[(OsString, OsString)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.to_string_lossy().into_owned())
    };
    crate::config::interpolate::expand(text, &lookup)
}

/// Why a probe cannot be made from its settings, once their variables are expanded.
/// The key it is written under (`ready`, `health`) is the reader's: see
/// [`ProbeError::under`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeError {
    /// `tcp = "$PORT"` expanded to something that is no port.
    NotAPort { written: String, expanded: String },
    /// `http` is not an `http://` URL.
    NotHttp { url: String },
    /// `http`'s port is no number.
    BadHttpPort { url: String },
    /// `http` names no host.
    NoHost { url: String },
}

impl ProbeError {
    /// The error as the key `key` (`ready`, `health`) says it: `ready.tcp: …`.
    pub(crate) fn under(&self, key: &str) -> String {
        match self {
            ProbeError::NotAPort { written, expanded } => {
                format!("{key}.tcp: `{written}` is `{expanded}`, not a port")
            }
            ProbeError::NotHttp { url } => format!("{key}.http: `{url}` is not an http:// URL"),
            ProbeError::BadHttpPort { url } => format!("{key}.http: `{url}` has no valid port"),
            ProbeError::NoHost { url } => format!("{key}.http: `{url}` has no host"),
        }
    }
}

/// `http://host[:port][/path]`.
fn parse_http_url(url: &str) -> Result<HttpTarget, ProbeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ProbeError::NotHttp {
            url: url.to_string(),
        })?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            let port = port.parse::<u16>().map_err(|_| ProbeError::BadHttpPort {
                url: url.to_string(),
            })?;
            (host, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(ProbeError::NoHost {
            url: url.to_string(),
        });
    }
    Ok(HttpTarget {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path: path.to_string(),
    })
}

/// Poll a tcp, http or exec probe until it passes. (A log probe is watched by the
/// output reader instead; for it this waits forever.) `said` hears why an attempt
/// failed, each time that differs from the attempt before (a refused connect repeated
/// a hundred times is one message), so a ready timeout can quote the last one.
pub(crate) async fn wait_until_ready(probe: Probe, mut said: impl FnMut(String)) {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        if matches!(probe, Probe::Log(_)) {
            return std::future::pending().await;
        }
        match attempt(&probe).await {
            Ok(()) => return,
            Err(reason) => {
                if reason != last {
                    last.clone_from(&reason);
                    said(reason);
                }
            }
        }
        let exec = matches!(probe, Probe::Exec { .. });
        tokio::time::sleep(interval(started.elapsed(), exec)).await;
    }
}

/// One attempt of a tcp, http or exec probe while an instance starts: at most
/// [`ATTEMPT_TIMEOUT`] for a connect (each address of `localhost`), twice that for an
/// http exchange, [`EXEC_TIMEOUT`] for a command.
pub(crate) async fn attempt(probe: &Probe) -> Result<(), String> {
    let limit = match probe {
        Probe::Exec { .. } => EXEC_TIMEOUT,
        _ => ATTEMPT_TIMEOUT * 2,
    };
    attempt_within(probe, limit).await
}

/// One attempt cut off after `limit` (a `health` check's `timeout`): one timer for the
/// whole attempt, since a check makes one every interval for as long as proj runs.
/// A `log` probe cannot be attempted: it is the output reader's.
pub(crate) async fn attempt_within(probe: &Probe, limit: Duration) -> Result<(), String> {
    let attempt = async {
        match probe {
            Probe::Tcp { port } => tcp_attempt(*port).await,
            Probe::Http(target) => http_attempt(target).await,
            Probe::Exec {
                command,
                cwd,
                env,
                identity,
            } => exec_attempt(command, cwd, env, identity.as_ref()).await,
            Probe::Log(regex) => Err(format!("a log probe (`{regex}`) is not attempted")),
        }
    };
    timeout(limit, attempt).await.unwrap_or_else(|_| {
        Err(format!(
            "{} timed out after {}",
            describe(probe),
            humantime::format_duration(limit)
        ))
    })
}

/// What an attempt does, in words: ``GET http://127.0.0.1:8000/health``,
/// ``connect to port 8000``, `` `pg_isready` ``.
pub(crate) fn describe(probe: &Probe) -> String {
    match probe {
        Probe::Tcp { port } => format!("connect to port {port}"),
        Probe::Http(target) => format!("GET http://{}:{}{}", target.host, target.port, target.path),
        Probe::Exec { command, .. } => format!("`{command}`"),
        Probe::Log(regex) => format!("log `{regex}`"),
    }
}

/// The pause between attempts: short at first, when a service is most likely to come up
/// and a quick answer matters, longer once it is clearly slow.
fn interval(elapsed: Duration, exec: bool) -> Duration {
    let millis = match (elapsed.as_millis(), exec) {
        (0..200, false) => 2,
        (0..1000, false) => 10,
        (0..10_000, _) => 100,
        _ => 500,
    };
    Duration::from_millis(millis)
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let hosts: &[&str] = if host == "localhost" {
        // Resolving costs a thread hop per attempt; these are what localhost means.
        &["127.0.0.1", "::1"]
    } else {
        &[host]
    };
    let mut last = String::new();
    for host in hosts {
        // A loopback connect is answered or refused at once; a host that never
        // answers is cut off by the attempt's one timer (`attempt_within`).
        match TcpStream::connect((*host, port)).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = format!("{host}:{port}: {error}"),
        }
    }
    Err(last)
}

async fn tcp_attempt(port: u16) -> Result<(), String> {
    match connect("127.0.0.1", port).await {
        Ok(_) => Ok(()),
        // A service listening on ::1 only is ready too.
        Err(first) => connect("::1", port).await.map(drop).map_err(|_| first),
    }
}

async fn http_attempt(target: &HttpTarget) -> Result<(), String> {
    let url = format!("http://{}:{}{}", target.host, target.port, target.path);
    let exchange = async {
        let mut stream = connect(&target.host, target.port).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: proj\r\nConnection: close\r\n\r\n",
            target.path, target.host, target.port
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        let mut head = Vec::with_capacity(64);
        let mut buffer = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 4096 {
            let read = stream
                .read(&mut buffer)
                .await
                .map_err(|error| format!("{url}: {error}"))?;
            if read == 0 {
                break;
            }
            head.extend_from_slice(&buffer[..read]);
        }
        let status_line = String::from_utf8_lossy(&head);
        let status_line = status_line.lines().next().unwrap_or("");
        match status_line.split_whitespace().nth(1).map(str::parse::<u16>) {
            Some(Ok(200..=399)) => Ok(()),
            Some(Ok(code)) => Err(format!("{url} answered {code}")),
            _ => Err(format!("{url} answered no HTTP status line")),
        }
    };
    exchange.await
}

async fn exec_attempt(
    command: &str,
    cwd: &std::path::Path,
    env: &[(OsString, OsString)],
    identity: Option<&crate::process::identity::Identity>,
) -> Result<(), String> {
    let (child, exit) = spawn::spawn_claimed(command, cwd, env, Output::Discard, identity)
        .map_err(|error| format!("`{command}` cannot be spawned: {error}"))?;
    // If this task is aborted (the instance stopped) the probe must not linger.
    let guard = KillGroupOnDrop(child.pid);
    let outcome = match exit.await {
        Ok(exit) if exit.status.success() => Ok(()),
        Ok(exit) => Err(format!("`{command}` {}", exit.status)),
        Err(_) => Err(format!("`{command}`: exit status lost")),
    };
    if outcome.is_ok() {
        std::mem::forget(guard);
    }
    outcome
}

/// Kills a probe's process group when the probe is dropped before it finished.
struct KillGroupOnDrop(i32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        spawn::signal_group(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn expands_dollar_and_braced_variables() {
        let env = env(&[("PORT", "8001"), ("HOST", "127.0.0.1")]);
        assert_eq!(
            expand("http://$HOST:${PORT}/x", &env),
            "http://127.0.0.1:8001/x"
        );
        assert_eq!(expand("$PORT", &env), "8001");
        assert_eq!(expand("cost: 5$", &env), "cost: 5$");
        assert_eq!(expand("$MISSING-x", &env), "-x");
    }

    #[test]
    fn parses_http_urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8000/health").unwrap(),
            HttpTarget {
                host: "127.0.0.1".into(),
                port: 8000,
                path: "/health".into()
            }
        );
        assert_eq!(parse_http_url("http://localhost").unwrap().port, 80);
        assert_eq!(parse_http_url("http://localhost").unwrap().path, "/");
        assert_eq!(parse_http_url("http://[::1]:9000/").unwrap().host, "::1");
        assert!(parse_http_url("http://:80/").is_err());
        assert!(parse_http_url("http://h:port/").is_err());
    }

    #[test]
    fn a_tcp_probe_needs_a_port_after_expansion() {
        let probe = ReadyProbe::Tcp("$PORT".into());
        let resolved = resolve(&probe, &env(&[("PORT", "8002")]), PathBuf::from("/"), None);
        assert!(matches!(resolved, Ok(Probe::Tcp { port: 8002 })));
        let error = resolve(&probe, &env(&[]), PathBuf::from("/"), None).unwrap_err();
        assert_eq!(
            error.under("health"),
            "health.tcp: `$PORT` is ``, not a port"
        );
    }

    #[test]
    fn attempts_slow_down_over_time() {
        assert_eq!(interval(Duration::from_millis(50), false).as_millis(), 2);
        assert_eq!(interval(Duration::from_millis(500), false).as_millis(), 10);
        assert_eq!(interval(Duration::from_secs(3), false).as_millis(), 100);
        assert_eq!(interval(Duration::from_secs(30), false).as_millis(), 500);
        assert_eq!(interval(Duration::ZERO, true).as_millis(), 100);
    }

    #[tokio::test]
    async fn tcp_and_http_probes_against_a_real_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            for status in ["204 No Content", "503 Service Unavailable"] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await.unwrap();
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let target = HttpTarget {
            host: "127.0.0.1".into(),
            port,
            path: "/health".into(),
        };
        assert_eq!(http_attempt(&target).await, Ok(()));
        let error = http_attempt(&target).await.unwrap_err();
        assert!(error.ends_with("answered 503"), "{error}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_tcp_probe_fails_on_a_closed_port() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        assert!(tcp_attempt(port).await.is_err());
    }
}
