//! Readiness probes, dependency gating and shutdown order, with real processes.

use crate::support::*;

fn position(proj: &Running, needle: &str) -> usize {
    proj.lines()
        .iter()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", proj.text()))
}

/// Binds $PORT after 0.4 s, then marks the moment with a file.
const SLOW_LISTENER: &str = r#"import os, socket, time
time.sleep(0.4)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen()
open("listening", "w")
time.sleep(1000)
"#;

#[test]
fn a_tcp_probe_gates_the_dependant_until_the_port_accepts() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.db]
command = "python3 listener.py"
port = {port}
ready = {{ tcp = "$PORT" }}

[processes.web]
command = "test -e listening && echo db was listening; exec sleep 1000"
depends_on = ["db"]
"#
    ));
    project.write("listener.py", SLOW_LISTENER);
    let mut proj = project.up(&[]);
    proj.wait_for("web: waiting for db");
    proj.wait_for("db: ready after");
    proj.wait_for_output("web", "db was listening");
    proj.wait_for("web: started pid");
    assert!(position(&proj, "db: ready after") < position(&proj, "web: started pid"));
    assert!(proj.stop().success());
}

#[test]
fn an_http_probe_needs_a_2xx_or_3xx_answer() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.api]
command = "python3 server.py"
port = {port}
ready = {{ http = "http://127.0.0.1:$PORT/health" }}

[processes.client]
command = "test -e answered-200 && echo api is healthy after $(cat answered-200) requests; exec sleep 1000"
depends_on = ["api"]
"#
    ));
    // Answers 503 for the first three requests, then 200; notes the 200 in a file
    // before answering it, so a client started on that answer finds the file. (The
    // server's own log lines and proj's messages come through different pipes, so
    // their order on proj's output proves nothing.)
    project.write(
        "server.py",
        r#"import os
from http.server import BaseHTTPRequestHandler, HTTPServer
asked = 0
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        global asked
        asked += 1
        if asked > 3 and not os.path.exists("answered-200"):
            with open("answered-200", "w") as f:
                f.write(str(asked))
        self.send_response(200 if asked > 3 else 503)
        self.end_headers()
    def log_message(self, *args):
        print("asked", asked, flush=True)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Health).serve_forever()
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for_output("client", "api is healthy after 4 requests");
    proj.wait_for("| asked 4");
    assert!(proj.stop().success());
}

#[test]
fn an_exec_probe_runs_with_the_process_environment_and_stops_once_ready() {
    let project = Project::new(
        r#"
[processes.svc]
command = "sleep 0.3; touch flag; while :; do echo tick; sleep 0.05; done"
env = { FLAG = "flag" }
ready = { exec = "echo attempt >> attempts; test -e $FLAG" }
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("svc: ready after");
    let attempts = project.read("attempts").lines().count();
    assert!(attempts >= 2, "{attempts} attempts");
    // Twenty more ticks of the service later, no attempt was added.
    let ticks = proj.count("| tick");
    wait_until("twenty more ticks", || {
        (proj.count("| tick") >= ticks + 20).then_some(())
    });
    assert_eq!(project.read("attempts").lines().count(), attempts);
    assert!(proj.stop().success());
}

#[test]
fn a_log_probe_waits_for_a_matching_line() {
    let project = Project::new(
        r#"
[processes.worker]
command = "echo booting; sleep 0.3; echo 'listening on :1234'; exec sleep 1000"
ready = { log = "listening on :\\d+" }

[processes.after]
command = "echo started after; exec sleep 1000"
depends_on = ["worker"]
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for_output("after", "started after");
    proj.wait_for("after: started pid");
    assert!(position(&proj, "listening on :1234") < position(&proj, "after: started pid"));
    proj.wait_for("worker: ready after");
    assert!(proj.stop().success());
}

#[test]
fn a_ready_timeout_stops_the_process_fails_it_and_dependants_say_why() {
    let project = Project::new(
        r#"
[processes.never]
command = "echo $$ > never.pid; exec sleep 1000"
ready = { tcp = 1 }
ready_timeout = "500ms"

[processes.web]
command = "touch web.started; exec sleep 1000"
depends_on = ["never"]
"#,
    );
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("never.pid");
    proj.wait_for("never: failed: not ready after 500ms (ready_timeout)");
    proj.wait_for("never: the last probe said: 127.0.0.1:1: ");
    proj.wait_for("web waits for never, which failed: not ready after 500ms (ready_timeout)");
    wait_gone(pid);
    assert!(proj.stop().success());
    assert!(!project.path("web.started").exists());
}

#[test]
fn a_dependant_of_an_already_failed_process_says_why_it_waits() {
    let project = Project::new(
        r#"
[processes.migrate]
command = "exit 3"
oneshot = true

[processes.slow]
command = "sleep 0.5; exit 0"
oneshot = true

[processes.web]
command = "touch web.started; exec sleep 1000"
depends_on = ["slow", "migrate"]
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web waits for migrate, which failed: exited with code 3");
    proj.wait_for("slow: exited with code 0");
    assert!(proj.stop().success());
    assert!(!project.path("web.started").exists());
}

#[test]
fn independent_branches_start_in_parallel() {
    let project = Project::new(
        r#"
[processes.slow]
command = "sleep 1; echo up; exec sleep 1000"
ready = { log = "^up$" }

[processes.fast]
command = "echo up; exec sleep 1000"
ready = { log = "^up$" }

[processes.after_slow]
command = "exec sleep 1000"
depends_on = ["slow"]

[processes.after_fast]
command = "exec sleep 1000"
depends_on = ["fast"]
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("after_slow: started pid");
    proj.wait_for("after_fast: started pid");
    assert!(position(&proj, "after_fast: started pid") < position(&proj, "slow: ready after"));
    assert!(proj.stop().success());
}

#[test]
fn shutdown_stops_dependants_before_their_dependencies() {
    let project = Project::new(
        r#"
[processes.db]
command = "exec sleep 1000"

[processes.api]
command = "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done"
depends_on = ["db"]

[processes.web]
command = "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done"
depends_on = ["api"]

[processes.other]
command = "exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    assert!(proj.stop().success());
    // Each level waits for the one above it; independent processes do not wait.
    assert!(position(&proj, "web: stopped") < position(&proj, "api: stopping"));
    assert!(position(&proj, "api: stopped") < position(&proj, "db: stopping"));
    assert!(position(&proj, "other: stopping") < position(&proj, "web: stopped"));
}

#[test]
fn a_dependant_starts_once_its_failed_dependency_is_restarted_and_succeeds() {
    let project = Project::new(
        r#"
[processes.migrate]
command = "test -e fixed"
oneshot = true

[processes.web]
command = "echo web up; exec sleep 1000"
depends_on = ["migrate"]
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web waits for migrate, which failed: exited with code 1");
    project.write("fixed", "");
    let output = project.run(&["restart", "migrate"]);
    assert!(output.status.success(), "{}", output.stderr);
    proj.wait_for_output("web", "web up");
    assert!(proj.stop().success());
}

/// Issue 11: a `db` that exited 0 before its probe passed released `app`
/// (`db: exited with code 0` → `app: started`).
#[test]
fn a_service_that_exits_before_its_probe_passed_fails_and_keeps_its_dependants_pending() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.db]
command = "echo starting; exit 0"
port = {port}
ready = {{ tcp = "$PORT" }}

[processes.app]
command = "touch app-started; exec sleep 1000"
depends_on = ["db"]
"#
    ));
    let mut proj = project.up(&[]);
    proj.wait_for("db: failed: exited before it was ready (exit code 0)");
    proj.wait_for("app waits for db, which failed: exited before it was ready");
    let ps = project.run(&["ps", "--json"]);
    assert!(ps.status.success(), "{}", ps.stderr);
    let instances: serde_json::Value = serde_json::from_str(&ps.stdout).unwrap();
    let state_of = |name: &str| {
        instances
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .map(|i| i["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state_of("db").as_deref(), Some("failed"));
    assert_eq!(state_of("app").as_deref(), Some("pending"));
    assert!(!project.path("app-started").exists());
    assert!(!proj.text().contains("app: started"), "{}", proj.text());
    assert!(proj.stop().success());
}
