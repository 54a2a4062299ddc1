//! Rolling restarts with real http servers: while `proj restart` rolls through three
//! instances, a poller asks every port again and again; at every sweep at least two
//! answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// Restart `web` with `args` while polling its three ports; the fewest that answered
/// in any one sweep.
fn fewest_answering_during(project: &Project, ports: [u16; 3], args: &[&str]) -> usize {
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut fewest = 3;
            let mut sweeps = 0;
            while !done.load(Ordering::SeqCst) || sweeps < 3 {
                let up = ports.iter().filter(|&&port| answers(port)).count();
                fewest = fewest.min(up);
                sweeps += 1;
            }
            (fewest, sweeps)
        })
    };
    let restart = project.run(args);
    done.store(true, Ordering::SeqCst);
    let (fewest, sweeps) = poller.join().unwrap();
    assert!(restart.status.success(), "{}", restart.stderr);
    assert!(sweeps >= 3, "the poller ran throughout");
    fewest
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
