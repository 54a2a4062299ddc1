//! `health`, `max_memory` and the CPU/MEM figures of `ps`, with real processes: an http
//! server that can be told to stop answering (it then accepts connections and never
//! replies, the failure a readiness probe alone never sees), and one that allocates.

use std::time::{Duration, Instant};

use crate::support::*;

/// An http server on `$PORT` that counts its requests in `requests` and, while the file
/// `stuck` exists, accepts them but never answers.
const SERVER: &str = r#"import http.server, os, time
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("requests", "a") as f:
            f.write("GET\n")
        if os.path.exists("stuck"):
            time.sleep(3600)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
with open("server.pids", "a") as f:
    f.write(f"{os.getpid()}\n")
server.serve_forever()
"#;

fn server_project(port: u16) -> Project {
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
ready = {{ http = "http://127.0.0.1:$PORT/health" }}
health = {{ http = "http://127.0.0.1:$PORT/health", interval = "300ms", timeout = "200ms", retries = 3 }}
"#
    ));
    project.write("server.py", SERVER);
    project
}

fn web(project: &Project) -> serde_json::Value {
    ps_json(project)
        .into_iter()
        .find(|instance| instance["name"] == "web")
        .expect("web in ps")
}

fn requests(project: &Project) -> usize {
    project.read("requests").lines().count()
}

#[test]
fn a_server_that_stops_answering_is_restarted_after_the_retries_and_not_before() {
    let port = free_port();
    let project = server_project(port);
    let mut proj = project.up(&[]);
    proj.wait_for("web: ready after");
    wait_until("web healthy", || {
        (web(&project)["health"] == "healthy").then_some(())
    });
    let first = project.wait_for_pid("server.pids");

    let stuck_at = Instant::now();
    project.write("stuck", "");
    let line = proj.wait_for("web: unhealthy");
    let noticed = stuck_at.elapsed();
    let expected = format!(
        "web: unhealthy (GET http://127.0.0.1:{port}/health timed out after 200ms, 3 times): restarting"
    );
    assert!(line.ends_with(&expected), "{line}");
    // The earliest three failures can end: the first attempt right away, two more one
    // interval apart, the last one timing out: 2 × 300ms + 200ms.
    assert!(
        noticed >= Duration::from_millis(800),
        "too soon: {noticed:?}"
    );
    assert_eq!(proj.count("web: unhealthy"), 1);
    assert!(
        !proj.text().contains("web: health check failed (3 of 3)"),
        "the third failure restarts rather than warns"
    );
    assert!(proj.text().contains("web: health check failed (1 of 3)"));

    // Through the stop sequence, then a restart as after a crash.
    std::fs::remove_file(project.path("stuck")).unwrap();
    proj.wait_for("web: stopping (SIGTERM)");
    let restarted = wait_until("web running again", || {
        let web = web(&project);
        (web["state"] == "running" && web["pid"] != first).then_some(web)
    });
    assert_eq!(restarted["restarts"], 1);
    wait_until("the new run healthy", || {
        (web(&project)["health"] == "healthy").then_some(())
    });
    assert!(proj.stop().success());
    assert!(is_gone(first));
}

#[test]
fn a_server_that_answers_is_never_restarted() {
    let port = free_port();
    let project = server_project(port);
    let mut proj = project.up(&[]);
    proj.wait_for("web: ready after");
    let pid = project.wait_for_pid("server.pids");
    // Ten checks (plus the readiness probe's requests) have passed.
    wait_until("ten health checks", || {
        (requests(&project) >= 11).then_some(())
    });
    let web = web(&project);
    assert_eq!(web["health"], "healthy");
    assert_eq!(web["restarts"], 0);
    assert_eq!(web["pid"], pid);
    assert!(!proj.text().contains("unhealthy"), "{}", proj.text());
    assert!(
        !proj.text().contains("health check failed"),
        "{}",
        proj.text()
    );
    assert!(proj.stop().success());
}

#[test]
fn ps_json_shows_health_cpu_and_memory_and_null_when_not_running() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
ready = {{ tcp = "$PORT" }}
health = {{ tcp = "$PORT", interval = "200ms", timeout = "200ms" }}

[processes.busy]
command = "exec python3 -c 'while True: pass'"

[processes.idle]
command = "exec sleep 1000"
autostart = false
"#
    ));
    project.write("server.py", SERVER);
    let mut proj = project.up(&[]);
    proj.wait_for("busy: started pid");
    wait_until("web healthy", || {
        (web(&project)["health"] == "healthy").then_some(())
    });
    let instances = ps_json(&project);
    let find = |name: &str| {
        instances
            .iter()
            .find(|instance| instance["name"] == name)
            .unwrap()
            .clone()
    };
    let (web, busy, idle) = (find("web"), find("busy"), find("idle"));
    assert!(web["memory_bytes"].as_u64().unwrap() > 1 << 20, "{web}");
    assert!(web["cpu_percent"].as_f64().is_some(), "{web}");
    assert_eq!(
        busy["health"],
        serde_json::Value::Null,
        "no check, no health"
    );
    assert_eq!(idle["state"], "stopped");
    assert_eq!(idle["cpu_percent"], serde_json::Value::Null);
    assert_eq!(idle["memory_bytes"], serde_json::Value::Null);
    assert_eq!(idle["next_run"], serde_json::Value::Null);
    // A busy loop uses most of a core between two asks (2 slow shared cores: > 20%).
    let busy_cpu = wait_until("busy shows its CPU", || {
        let busy = ps_json(&project)
            .into_iter()
            .find(|instance| instance["name"] == "busy")?;
        busy["cpu_percent"].as_f64().filter(|&cpu| cpu > 20.0)
    });
    assert!(busy_cpu <= 105.0, "one thread, one core: {busy_cpu}");

    let table = project.run(&["ps"]);
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME", "STATE", "HEALTH", "PID", "UPTIME", "RESTARTS", "PORT", "CPU%", "MEM", "LAST",
            "EXIT"
        ]
    );
    let web_row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap();
    assert!(web_row.contains(" healthy "), "{}", table.stdout);
    assert!(web_row.contains("MiB"), "{}", table.stdout);
    assert!(proj.stop().success());
}

#[test]
fn a_process_that_allocates_past_max_memory_is_restarted() {
    // The first run allocates (and touches) 80 MiB; the next runs stay small.
    let project = Project::new(
        r#"
[processes.hog]
command = "exec python3 hog.py"
max_memory = "40MiB"
"#,
    );
    project.write(
        "hog.py",
        r#"import os, time
with open("hog.pids", "a") as f:
    f.write(f"{os.getpid()}\n")
if not os.path.exists("grown"):
    hoard = b"x" * (80 << 20)
    open("grown", "w").close()
time.sleep(3600)
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_marker("grown");
    let line = proj.wait_for("hog: memory");
    assert!(
        line.contains("above max_memory 40 MiB: restarting"),
        "{line}"
    );
    let used: f64 = line
        .split("hog: memory ")
        .nth(1)
        .and_then(|rest| rest.split(" MiB").next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no figure in {line}"));
    assert!(used >= 80.0, "{line}");
    wait_until("a second run", || {
        (project.read("hog.pids").lines().count() >= 2).then_some(())
    });
    let hog = ps_json(&project)
        .into_iter()
        .find(|instance| instance["name"] == "hog")
        .unwrap();
    assert_eq!(hog["restarts"], 1);
    assert!(proj.stop().success());
}

#[test]
fn reload_applies_a_new_health_check_without_restarting_the_process() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
"#
    ));
    project.write("server.py", SERVER);
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let pid = project.wait_for_pid("server.pids");
    assert_eq!(web(&project)["health"], serde_json::Value::Null);
    project.write(
        "proj.toml",
        &format!(
            r#"
[processes.web]
command = "exec python3 server.py"
port = {port}
health = {{ http = "http://127.0.0.1:$PORT/", interval = "200ms", timeout = "200ms" }}
max_memory = "1GiB"
"#
        ),
    );
    let reload = project.run(&["reload"]);
    assert!(reload.status.success(), "{}", reload.stderr);
    // Applied without a restart, and said so (not "nothing changed": something did).
    assert!(reload.stdout.contains("updated: web"), "{}", reload.stdout);
    wait_until("the new check passes", || {
        (web(&project)["health"] == "healthy").then_some(())
    });
    assert_eq!(web(&project)["pid"], pid);
    assert!(proj.stop().success());
}

#[test]
fn bad_health_and_memory_settings_are_config_errors_with_positions() {
    let cases: [(&str, &str, &str); 6] = [
        (
            r#"health = { log = "ok" }"#,
            "proj.toml:4:12",
            "a `log` probe cannot check a running process",
        ),
        (
            r#"health = { tcp = 8000, retries = 0 }"#,
            "proj.toml:4:34",
            "must be at least 1",
        ),
        (
            r#"health = { tcp = 8000, interval = "1s", timeout = "2s" }"#,
            "proj.toml:4:35",
            "interval 1s < timeout 2s",
        ),
        (
            r#"max_memory = "512""#,
            "proj.toml:4:14",
            "`512` has no unit",
        ),
        (
            r#"max_memory = 512"#,
            "proj.toml:4:14",
            "a size needs a unit",
        ),
        (
            r#"health = { interval = "5s" }"#,
            "proj.toml:4:10",
            "no `tcp`, `http` or `exec`",
        ),
    ];
    for (line, at, says) in cases {
        let project = Project::new(&format!(
            "\n[processes.web]\ncommand = \"sleep 1000\"\n{line}\n"
        ));
        let output = project.run(&["check"]);
        assert_eq!(output.status.code(), Some(2), "{line}: {}", output.stderr);
        assert!(
            output.stderr.contains(at),
            "{line}: want {at}\n{}",
            output.stderr
        );
        assert!(
            output.stderr.contains(says),
            "{line}: want {says}\n{}",
            output.stderr
        );
        assert!(
            output.stderr.contains(line),
            "the source line is shown\n{}",
            output.stderr
        );
        assert!(
            output.stderr.contains('^'),
            "with a caret\n{}",
            output.stderr
        );
        let up = project.run(&["up", "--no-tui"]);
        assert_eq!(up.status.code(), Some(2), "{line}: nothing starts");
    }
}
