//! Rolling restarts with real http servers: while `proj restart` rolls through three
//! instances, a poller per port asks it again and again; at no moment are two of them
//! certainly down.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

const SERVER: &str = r#"import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
with open(f"pids.{os.environ['PROJ_INSTANCE']}", "a") as f:
    f.write(f"{os.getpid()}\n")
server.serve_forever()
"#;

/// Whether the server on `port` answers a GET with 200 (generous timeouts: two slow
/// shared cores).
fn answers(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok()
        && (head.starts_with(b"HTTP/1.0 200") || head.starts_with(b"HTTP/1.1 200"))
}

fn project(port: u16, rolling: bool) -> Project {
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
scale = 3
ready = {{ http = "http://127.0.0.1:$PORT/" }}
rolling = {rolling}
"#
    ));
    project.write("server.py", SERVER);
    project
}

/// Restart `web` with `args` while each of its three ports is polled by a thread of its
/// own; the fewest that were up at any one moment.
///
/// A failed ask says only that its port was down at some point while the ask took, so
/// one sweep over the ports is no moment: on a loaded machine it can see web.1 down,
/// then web.2 down after web.1 came back. What is certain is that a port whose asks
/// failed several times in a row was down from the end of the first of those asks to
/// the start of the last (it goes down once per restart); the answer counts those
/// intervals that overlap.
fn fewest_answering_during(project: &Project, ports: [u16; 3], args: &[&str]) -> usize {
    let done = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = ports
        .iter()
        .map(|&port| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut asks = Vec::new();
                while !done.load(Ordering::SeqCst) || asks.len() < 3 {
                    let start = Instant::now();
                    let up = answers(port);
                    asks.push((start, Instant::now(), up));
                }
                asks
            })
        })
        .collect();
    let restart = project.run(args);
    done.store(true, Ordering::SeqCst);
    let down: Vec<Vec<(Instant, Instant)>> = pollers
        .into_iter()
        .map(|poller| certainly_down(&poller.join().unwrap()))
        .collect();
    assert!(restart.status.success(), "{}", restart.stderr);
    let mut most_down = 0;
    for (port, intervals) in down.iter().enumerate() {
        for &(from, _) in intervals {
            // At the moment `from`, which ports are certainly down?
            let at_once = 1 + down
                .iter()
                .enumerate()
                .filter(|&(other, _)| other != port)
                .filter(|(_, others)| others.iter().any(|&(f, t)| f <= from && from <= t))
                .count();
            most_down = most_down.max(at_once);
        }
    }
    ports.len() - most_down
}

/// The intervals a port was certainly down: from the end of the first to the start of
/// the last ask of each run of at least two failed asks.
fn certainly_down(asks: &[(Instant, Instant, bool)]) -> Vec<(Instant, Instant)> {
    let mut intervals = Vec::new();
    let mut run: Vec<&(Instant, Instant, bool)> = Vec::new();
    for ask in asks.iter().chain([&(Instant::now(), Instant::now(), true)]) {
        if !ask.2 {
            run.push(ask);
            continue;
        }
        if let (Some(first), Some(last)) = (run.first(), run.last())
            && run.len() >= 2
            && first.1 < last.0
        {
            intervals.push((first.1, last.0));
        }
        run.clear();
    }
    intervals
}

#[test]
fn during_a_rolling_restart_two_of_three_instances_answer_at_every_moment() {
    let port = free_ports(3);
    let ports = [port, port + 1, port + 2];
    let project = project(port, true);
    let mut proj = project.up(&[]);
    for instance in 1..=3 {
        proj.wait_for(&format!("web.{instance}: ready after"));
    }
    let old: Vec<i32> = (1..=3)
        .map(|i| project.wait_for_pid(&format!("pids.{i}")))
        .collect();
    let fewest = fewest_answering_during(&project, ports, &["restart", "web"]);
    assert!(fewest >= 2, "only {fewest} answered at one point");
    proj.wait_for("web: rolling restart done");
    for (step, line) in [
        "web.1: restarting (1 of 3)",
        "web.2: restarting (2 of 3)",
        "web.3: restarting (3 of 3)",
    ]
    .iter()
    .enumerate()
    {
        assert!(proj.text().contains(line), "step {step}: {}", proj.text());
    }
    // Every instance runs a new process, and the old ones are gone.
    for (index, old) in old.iter().enumerate() {
        let pids = project.read(&format!("pids.{}", index + 1));
        assert_eq!(pids.lines().count(), 2, "web.{} restarted once", index + 1);
        wait_until("the old process gone", || is_gone(*old).then_some(()));
    }
    assert!(proj.stop().success());
}

#[test]
fn restart_rolling_rolls_once_for_a_process_without_rolling() {
    let port = free_ports(3);
    let project = project(port, false);
    let mut proj = project.up(&[]);
    for instance in 1..=3 {
        proj.wait_for(&format!("web.{instance}: ready after"));
    }
    let fewest = fewest_answering_during(
        &project,
        [port, port + 1, port + 2],
        &["restart", "--rolling", "web"],
    );
    assert!(fewest >= 2, "only {fewest} answered at one point");
    assert!(
        proj.text()
            .contains("web: restart requested: rolling restart of 3 instances")
    );
    assert!(proj.stop().success());
}

#[test]
fn a_rolling_restart_stops_where_the_new_version_does_not_come_up() {
    let port = free_ports(3);
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
scale = 3
ready = {{ http = "http://127.0.0.1:$PORT/" }}
ready_timeout = "30s"
rolling = true
"#
    ));
    project.write("server.py", SERVER);
    let mut proj = project.up(&[]);
    for instance in 1..=3 {
        proj.wait_for(&format!("web.{instance}: ready after"));
    }
    // The new version exits at once.
    project.write("server.py", "raise SystemExit(3)\n");
    let restart = project.run(&["restart", "web"]);
    assert!(restart.status.code().is_some(), "{}", restart.stderr);
    let line = proj.wait_for("web: rolling restart stopped");
    assert!(
        line.contains("web.1 did not come back") && line.contains("web.2, web.3 keep running"),
        "{line}"
    );
    assert!(
        answers(port + 1) && answers(port + 2),
        "the others still serve"
    );
    assert!(proj.stop().success());
}
