//! Answers you can trust (SPEC §9.5): `up -d` progress and verdict, `start`/`restart`/
//! `scale`/`reload` answering once settled with what they did, oneshots not rerun,
//! `last_restart`, proj's own log, `logs --since --grep --json`, `wait`, `why`,
//! `events`, with a real supervisor and real processes.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// A dependency that crash-loops (its port taken) behind a backoff that keeps it under
/// `max_restarts`: `up -d` says so once its ready deadline passed, instead of waiting.
const CRASH_LOOP: &str = r#"
[processes.db]
command = "echo 'bind: Address already in use' >&2; exit 1"
ready = { log = "ready to accept" }
ready_timeout = "2s"
backoff = "1s"
max_restarts = 50

[processes.web]
command = "exec sleep 1000"
depends_on = ["db"]
"#;

#[test]
fn up_detach_prints_each_change_and_gives_up_on_a_crash_loop_naming_it() {
    let project = Project::new(CRASH_LOOP);
    let _cleanup = Detached(&project);
    let started = Instant::now();
    let output = project.run(&["up", "-d"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        output.stderr.contains("db backoff: exited with code 1"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("error: db: still backoff after "),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("supervisor keeps running"),
        "{}",
        output.stderr
    );

    // The supervisor is still there, and can say why.
    let why = project.run(&["why", "db"]);
    assert!(why.status.success(), "{}", why.stderr);
    assert!(
        why.stdout.contains("last exit: exited with code 1"),
        "{}",
        why.stdout
    );
    assert!(
        why.stdout.contains("last restart: exited with code 1"),
        "{}",
        why.stdout
    );
    assert!(why.stdout.contains("within the last 1m"), "{}", why.stdout);
    assert!(
        why.stdout.contains("db backoff: exited with code 1"),
        "{}",
        why.stdout
    );
    assert!(
        why.stdout.contains("Address already in use"),
        "{}",
        why.stdout
    );
    let unknown = project.run(&["why", "nope"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", unknown.stderr);

    let wait = project.run(&["wait", "--timeout", "300ms", "web"]);
    assert_eq!(wait.status.code(), Some(1), "{}", wait.stdout);
    assert!(
        wait.stderr.contains("web: still pending: waits for db"),
        "{}",
        wait.stderr
    );
}

#[test]
fn events_prints_each_state_change_until_the_supervisor_ends() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ > web.pid; exec sleep 1000"
"#,
    );
    let _cleanup = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    let mut events_process = project
        .command(&["events", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(events_process.stdout.take().unwrap()).lines();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    // `events` subscribes in its own time: restart until it sees one from its start.
    let stopping = wait_until("events to see a restart begin", || {
        let restart = project.run(&["restart", "web"]);
        assert!(restart.status.success(), "{}", restart.stderr);
        assert!(
            restart.stdout.contains("web: restarted"),
            "{}",
            restart.stdout
        );
        while let Ok(line) = received.recv_timeout(Duration::from_millis(500)) {
            if line.contains(r#""state":"stopping""#) {
                return Some(line);
            }
        }
        None
    });
    let mut events = vec![stopping];
    while !events.last().unwrap().contains(r#""state":"running""#) {
        let next = received.recv_timeout(Duration::from_secs(10));
        events.push(next.expect("the running event after the restart"));
    }
    let events: Vec<serde_json::Value> = events
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for event in &events {
        assert_eq!(event["name"], "web", "{event}");
        for field in ["time", "state", "pid", "exit_code", "reason"] {
            assert!(event.get(field).is_some(), "{field} in {event}");
        }
    }
    assert_eq!(events[0]["reason"], "restart: request", "{}", events[0]);
    assert!(events.iter().any(|event| event["state"] == "running"));
    // It ends with the supervisor.
    let down = project.run(&["down"]);
    assert!(down.status.success(), "{}", down.stderr);
    let status = wait_until("events to end", || events_process.try_wait().unwrap());
    assert!(status.success());
}

#[test]
fn start_scale_restart_and_reload_answer_once_settled_with_what_they_did() {
    let config = r#"
[processes.migrate]
command = "echo ran >> migrate.runs"
oneshot = true

[processes.web]
command = "sleep 0.3; echo ready; exec sleep 1000"
ready = { log = "ready" }
depends_on = ["migrate"]

[processes.worker]
command = "exec sleep 1000"
depends_on = ["migrate"]
autostart = false
"#;
    let project = Project::new(config);
    let _cleanup = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);

    // A dependant starts without running the exited oneshot again.
    assert!(
        up.stderr.contains("web pending: waits for migrate"),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("migrate exited"), "{}", up.stderr);
    assert!(up.stderr.contains("web running pid"), "{}", up.stderr);
    let start = project.run(&["start", "worker"]);
    assert!(start.status.success(), "{}", start.stderr);
    assert!(start.stdout.contains("worker: started"), "{}", start.stdout);
    assert!(start.stdout.contains("worker  running"), "{}", start.stdout);
    assert_eq!(project.read("migrate.runs"), "ran\n");

    // New instances are running (ready) when scale answers.
    let scale = project.run(&["scale", "web=3"]);
    assert!(scale.status.success(), "{}", scale.stderr);
    for name in ["web.2", "web.3"] {
        assert!(
            scale.stdout.contains(&format!("{name}: started")),
            "{}",
            scale.stdout
        );
    }
    assert!(
        scale.stdout.contains("web.1: unchanged"),
        "{}",
        scale.stdout
    );
    let instances = ps_json(&project);
    for name in ["web.1", "web.2", "web.3"] {
        assert_eq!(instance(&instances, name)["state"], "running");
    }

    // `restart` with no name restarts everything, and ps says why.
    let restart = project.run(&["restart"]);
    assert!(restart.status.success(), "{}", restart.stderr);
    assert!(
        restart.stdout.contains("web.2: restarted"),
        "{}",
        restart.stdout
    );
    assert!(
        restart.stdout.contains("worker: restarted"),
        "{}",
        restart.stdout
    );
    let instances = ps_json(&project);
    assert_eq!(instance(&instances, "web.3")["last_restart"], "request");
    assert_eq!(instance(&instances, "web.3")["state"], "running");
    let table = project.run(&["ps"]);
    assert!(table.stdout.contains("RESTARTED FOR"), "{}", table.stdout);

    // A reload that adds a dependant starts it, and it is running when reload answers;
    // the oneshot ran once more only because `restart` named everything.
    project.write(
        "proj.toml",
        &format!("{config}\n[processes.mailer]\ncommand = \"sleep 0.3; echo ready; exec sleep 1000\"\nready = {{ log = \"ready\" }}\ndepends_on = [\"migrate\"]\n"),
    );
    let reload = project.run(&["reload"]);
    assert!(reload.status.success(), "{}", reload.stderr);
    assert!(
        reload.stdout.contains("started: mailer"),
        "{}",
        reload.stdout
    );
    assert_eq!(instance(&ps_json(&project), "mailer")["state"], "running");
    assert_eq!(project.read("migrate.runs"), "ran\nran\n");
}

#[test]
fn a_start_that_fails_exits_1_naming_it() {
    let project = Project::new(
        r#"
[processes.web]
command = "exec sleep 1000"

[processes.broken]
command = "sleep 0.2; exit 3"
ready = { log = "listening" }
restart = "never"
autostart = false
"#,
    );
    let _cleanup = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    let start = project.run(&["start", "broken"]);
    assert_eq!(start.status.code(), Some(1), "{}", start.stdout);
    assert!(
        start
            .stdout
            .contains("broken: failed: exited before it was ready (exit code 3)"),
        "{}",
        start.stdout
    );
    assert!(start.stderr.contains("broken"), "{}", start.stderr);
    let wait = project.run(&["wait", "broken"]);
    assert_eq!(wait.status.code(), Some(1), "{}", wait.stdout);
    let wait = project.run(&["wait", "web"]);
    assert!(wait.status.success(), "{}", wait.stderr);
}

#[test]
fn proj_lines_go_to_proj_log_in_plain_mode_appended_and_logs_proj_shows_them() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo hello from web; exec sleep 1000"
"#,
    );
    for run in 0..2 {
        let mut proj = project.up(&[]);
        proj.wait_for_output("web", "hello from web");
        let logs = project.run(&["logs", "proj"]);
        assert!(logs.status.success(), "{}", logs.stderr);
        assert!(
            logs.stdout.contains("proj | web: started pid"),
            "{}",
            logs.stdout
        );
        assert!(!logs.stdout.contains("hello from web"), "{}", logs.stdout);
        // proj's lines among the processes'.
        let all = project.run(&["logs", "proj", "web"]);
        assert!(
            all.stdout.contains("web  | hello from web"),
            "{}",
            all.stdout
        );
        assert!(
            all.stdout.contains("proj | web: started pid"),
            "{}",
            all.stdout
        );
        proj.stop();
        let log = project.read(".proj/logs/proj.log");
        assert_eq!(log.matches("web: started pid").count(), run + 1, "{log}");
    }
}

#[test]
fn logs_filter_by_time_and_pattern_print_json_and_never_wait_without_follow() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo 'GET / 200'; echo 'ERROR: boom'; echo 'GET /x 404'; echo done > web.done; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_file("web.done");
    proj.wait_for("GET /x 404");

    let grep = project.run(&["logs", "--grep", "ERROR|404", "web"]);
    assert!(grep.status.success(), "{}", grep.stderr);
    let lines: Vec<&str> = grep.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", grep.stdout);
    assert!(lines[0].ends_with("web | ERROR: boom"), "{}", grep.stdout);

    let json = project.run(&["logs", "--json", "-n", "1", "web"]);
    let line: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(line["name"], "web");
    assert_eq!(line["line"], "GET /x 404");
    assert!(line["time"].as_str().unwrap().contains('T'), "{line}");
    assert!(json.stdout.starts_with("{\"time\":"), "{}", json.stdout);

    let since = project.run(&["logs", "--since", "1h", "web"]);
    assert!(since.status.success(), "{}", since.stderr);
    assert_eq!(since.stdout.lines().count(), 3, "{}", since.stdout);
    let future = project.run(&["logs", "--since", "2999-01-01T00:00:00Z", "web"]);
    assert!(future.status.success(), "{}", future.stderr);
    assert_eq!(future.stdout, "", "nothing after then");
    let bad = project.run(&["logs", "--grep", "("]);
    assert_eq!(bad.status.code(), Some(2));

    // `-f` ends when its reader goes away, without waiting for web to write again.
    let mut follow = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} logs -f -n 1 web | head -1", proj_binary()))
        .current_dir(project.root())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_until_within(Duration::from_secs(10), "logs -f | head -1 to end", || {
        follow.try_wait().unwrap()
    });
    assert!(status.success());
    proj.stop();
}

#[test]
fn a_reload_says_it_started_a_dependency_that_was_stopped_on_purpose() {
    let config = r#"
[processes.db]
command = "exec sleep 1000"
"#;
    let project = Project::new(config);
    let _cleanup = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    let stop = project.run(&["stop", "db"]);
    assert!(stop.stdout.contains("db: stopped"), "{}", stop.stdout);
    let again = project.run(&["stop", "db"]);
    assert!(again.stdout.contains("db: unchanged"), "{}", again.stdout);
    project.write(
        "proj.toml",
        &format!(
            "{config}\n[processes.web]\ncommand = \"exec sleep 1000\"\ndepends_on = [\"db\"]\n"
        ),
    );
    let reload = project.run(&["reload"]);
    assert!(reload.status.success(), "{}", reload.stderr);
    assert!(
        reload.stdout.contains("started: web, db"),
        "{}",
        reload.stdout
    );
    assert!(
        !reload.stdout.contains("nothing changed"),
        "{}",
        reload.stdout
    );
    let instances = ps_json(&project);
    assert_eq!(instance(&instances, "db")["state"], "running");
    assert_eq!(instance(&instances, "web")["state"], "running");
}

#[test]
fn ps_and_why_say_a_health_restart_was_for_the_health_check() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ >> web.pids; exec sleep 1000"
health = { exec = "test -e healthy", interval = "200ms", timeout = "150ms", retries = 2 }
"#,
    );
    project.write("healthy", "");
    let _cleanup = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    std::fs::remove_file(project.path("healthy")).unwrap();
    wait_until("a health restart", || {
        (project.read("web.pids").lines().count() >= 2).then_some(())
    });
    project.write("healthy", "");
    let web = wait_until("web running again", || {
        let instances = ps_json(&project);
        let web = instance(&instances, "web").clone();
        (web["state"] == "running").then_some(web)
    });
    assert_eq!(web["last_restart"], "health check", "{web}");
    let why = project.run(&["why", "web"]);
    assert!(
        why.stdout.contains("last restart: health check"),
        "{}",
        why.stdout
    );
    assert!(
        why.stdout.contains("last probe: health check"),
        "{}",
        why.stdout
    );
    let proj_lines = project.run(&["logs", "proj"]);
    assert!(
        proj_lines.stdout.contains("web: unhealthy"),
        "{}",
        proj_lines.stdout
    );
}
