//! The `sh` snippets the exports run inside the image: waits, health checks, stop hooks.
//!
//! They need nothing but a POSIX `sh` where that is possible (builtins: `read`, `case`,
//! `kill`, `command -v`), and say which tool they need where it is not.

use std::fmt::Write;

/// `'text'` for sh: safe for any text.
pub(crate) fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Waits until a TCP connection to `host:port` succeeds, with the first of `nc`, `bash`
/// (`/dev/tcp`) or `python3` the image has; fails at once, saying so, with none of them
/// (POSIX sh cannot open a socket).
pub(crate) fn wait_for_tcp(host: &str, port: u16) -> String {
    format!(
        "if command -v nc >/dev/null 2>&1; then check() {{ nc -z -w 2 {host} {port}; }}\n\
         elif command -v bash >/dev/null 2>&1; then check() {{ bash -c '</dev/tcp/{host}/{port}' 2>/dev/null; }}\n\
         elif command -v python3 >/dev/null 2>&1; then check() {{ python3 -c 'import socket; socket.create_connection((\"{host}\", {port}), 2)' 2>/dev/null; }}\n\
         else echo 'proj: waiting for {host}:{port} needs nc, bash or python3 in the image' >&2; exit 1; fi\n\
         until check; do echo 'waiting for {host}:{port}'; sleep 2; done\n"
    )
}

/// Waits until the Job `job` of this namespace has completed, reading it from the
/// Kubernetes API with the pod's service account token (curl or python3 from the image;
/// fails at once, saying so, with neither). Fails when the Job has failed.
pub(crate) fn wait_for_job(job: &str) -> String {
    format!(
        "account=/var/run/secrets/kubernetes.io/serviceaccount\n\
         url=\"https://kubernetes.default.svc/apis/batch/v1/namespaces/$(cat $account/namespace)/jobs/{job}\"\n\
         if command -v curl >/dev/null 2>&1; then\n  \
         status() {{ curl -sS --cacert $account/ca.crt -H \"Authorization: Bearer $(cat $account/token)\" \"$url\"; }}\n\
         elif command -v python3 >/dev/null 2>&1; then\n  \
         status() {{ python3 -c 'import ssl, sys, urllib.request as r; a = sys.argv[2]; c = ssl.create_default_context(cafile=a + \"/ca.crt\"); q = r.Request(sys.argv[1], headers={{\"Authorization\": \"Bearer \" + open(a + \"/token\").read().strip()}}); print(r.urlopen(q, context=c, timeout=5).read().decode())' \"$url\" $account; }}\n\
         else echo 'proj: waiting for the Job {job} needs curl or python3 in the image' >&2; exit 1; fi\n\
         until status | grep -q '\"type\":\"Complete\",\"status\":\"True\"'; do\n  \
         if status | grep -q '\"type\":\"Failed\",\"status\":\"True\"'; then echo 'the Job {job} failed' >&2; exit 1; fi\n  \
         echo 'waiting for the Job {job} to complete'; sleep 2\n\
         done\n"
    )
}

/// Succeeds when something in this container listens on TCP `port`, read from
/// `/proc/net/tcp` and `/proc/net/tcp6` with sh builtins only (state `0A` is LISTEN).
pub(crate) fn listening(port: u16) -> String {
    format!(
        "for table in /proc/net/tcp /proc/net/tcp6; do\n  \
         [ -r $table ] || continue\n  \
         while read -r _ local _ state _; do\n    \
         case $local:$state in *:{port:04X}:0A) exit 0 ;; esac\n  \
         done < $table\n\
         done\n\
         exit 1\n"
    )
}

/// A GET on `url` answers 2xx or 3xx, with the first of `curl`, `wget` or `python3`
/// the image has; with none of them, only that `port` is listening ([`listening`]).
pub(crate) fn http_get(url: &str, port: Option<u16>) -> String {
    let url = single_quoted(url);
    let fallback = match port {
        Some(port) => listening(port),
        None => "exit 0\n".to_owned(),
    };
    format!(
        "if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null {url}; fi\n\
         if command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null {url}; fi\n\
         if command -v python3 >/dev/null 2>&1; then\n  \
         exec python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' {url}\n\
         fi\n\
         {fallback}"
    )
}

/// A preStop hook for a stop sequence: each step signals the container's main process
/// and everything else in it (proj signals the whole process group), then waits up to
/// its time for the main process to be gone. After the hook, Kubernetes sends SIGTERM
/// and, at the end of the grace period, SIGKILL.
pub(crate) fn stop_sequence(steps: &[(StopHookStep<'_>, u64)], main_only: bool) -> String {
    let mut script = String::new();
    for (step, wait) in steps {
        match step {
            // `kill -1` reaches every process in the container but PID 1 and the hook
            // itself; PID 1 is signalled by number. Both may be gone already: fine.
            StopHookStep::Signal(signal) if main_only => {
                let _ = write!(script, "kill -s {signal} 1 2>/dev/null; ");
            }
            StopHookStep::Signal(signal) => {
                let _ = write!(
                    script,
                    "kill -s {signal} 1 2>/dev/null; kill -s {signal} -- -1 2>/dev/null; "
                );
            }
            // In the background, as proj runs it: the wait below is what counts.
            StopHookStep::Command(command) => {
                let _ = write!(script, "( {command} ) & ");
            }
        }
        let _ = write!(
            script,
            "waited=0; while kill -0 1 2>/dev/null && [ $waited -lt {wait} ]; do \
             sleep 1; waited=$((waited + 1)); done; "
        );
    }
    script.trim_end().to_owned()
}

/// One step of a stop sequence, as a preStop hook takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopHookStep<'a> {
    /// A signal name without `SIG` (`TERM`).
    Signal(&'a str),
    /// A shell command.
    Command(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> std::process::ExitStatus {
        std::process::Command::new("sh")
            .args(["-c", script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    }

    #[test]
    fn single_quotes_survive_the_shell() {
        let quoted = single_quoted("it's $HOME");
        let output = std::process::Command::new("sh")
            .args(["-c", &format!("printf %s {quoted}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "it's $HOME");
    }

    #[test]
    fn the_listening_check_reads_proc_net_tcp() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(sh(&listening(port)).success());
        drop(listener);
        assert!(!sh(&listening(port)).success());
    }

    #[test]
    fn the_stop_hook_is_valid_sh() {
        let steps = [
            (StopHookStep::Signal("TSTP"), 25),
            (StopHookStep::Command("echo draining"), 5),
            (StopHookStep::Signal("TERM"), 10),
        ];
        let script = stop_sequence(&steps, false);
        assert!(sh(&format!("sh -n -c {}", single_quoted(&script))).success());
        assert!(
            script.starts_with("kill -s TSTP 1 2>/dev/null; kill -s TSTP -- -1"),
            "{script}"
        );
        assert!(script.contains("( echo draining ) & "), "{script}");
        let main_only = stop_sequence(&steps, true);
        assert!(sh(&format!("sh -n -c {}", single_quoted(&main_only))).success());
        assert!(!main_only.contains("-- -1"), "{main_only}");
    }

    /// A server that answers every connection with `status`, on a free port.
    fn http_server(status: &'static str) -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let _ = write!(stream, "HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n");
            }
        });
        port
    }

    #[test]
    fn the_http_check_runs_with_whatever_tool_there_is() {
        let ok = http_server("200 OK");
        let url = format!("http://127.0.0.1:{ok}/health");
        assert!(sh(&http_get(&url, Some(ok))).success());
        let broken = http_server("500 Internal Server Error");
        let url = format!("http://127.0.0.1:{broken}/health");
        assert!(!sh(&http_get(&url, Some(broken))).success());
    }

    #[test]
    fn the_tcp_wait_returns_once_the_port_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(sh(&wait_for_tcp("127.0.0.1", port)).success());
    }

    #[test]
    fn the_job_wait_is_valid_sh() {
        let script = wait_for_job("migrate");
        assert!(sh(&format!("sh -n -c {}", single_quoted(&script))).success());
        assert!(script.contains("/jobs/migrate\""), "{script}");
    }

    #[test]
    fn the_tcp_wait_is_valid_sh() {
        let script = wait_for_tcp("db", 5432);
        assert!(sh(&format!("sh -n -c {}", single_quoted(&script))).success());
    }
}
