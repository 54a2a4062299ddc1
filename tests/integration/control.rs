//! The control socket and the commands that use it: ps, start, stop, restart, logs,
//! reload, down, up -d, with a real supervisor.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use nix::sys::signal::Signal;

use crate::support::*;

const TWO_SERVICES: &str = r#"
[processes.web]
command = "echo $$ >> web.pids; echo web says hi; exec sleep 1000"
port = 8000

[processes.worker]
command = "echo $$ >> worker.$PROJ_INSTANCE.pids; exec sleep 1000"
scale = 2
"#;

fn last_pid(project: &Project, file: &str) -> i64 {
    project
        .read(file)
        .lines()
        .last()
        .unwrap_or_default()
        .parse()
        .unwrap()
}

#[test]
fn ps_shows_every_instance_as_a_table_and_as_json() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("worker.2: started pid");
    project.wait_for_file("worker.2.pids");

    let table = project.run(&["ps"]);
    assert!(table.status.success(), "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "PORT", "CPU%", "MEM", "LAST", "EXIT"
        ]
    );
    assert!(
        lines[1].starts_with("web ") && lines[1].contains(" running "),
        "{}",
        table.stdout
    );
    assert!(lines[1].contains(" 8000 "), "{}", table.stdout);

    let instances = ps_json(&project);
    assert_eq!(instances.len(), 3);
    let web = instance(&instances, "web");
    assert_eq!(web["process"], "web");
    assert_eq!(web["state"], "running");
    assert_eq!(web["pid"], last_pid(&project, "web.pids"));
    assert_eq!(web["restarts"], 0);
    assert_eq!(web["exit_code"], serde_json::Value::Null);
    assert_eq!(web["port"], 8000);
    let worker = instance(&instances, "worker.2");
    assert_eq!(worker["process"], "worker");
    assert_eq!(worker["port"], serde_json::Value::Null);
    assert!(proj.stop().success());
}

#[test]
fn restart_answers_with_the_new_pid_and_a_bare_name_means_every_instance() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("worker.2: started pid");
    let old = [
        project.wait_for_pid("worker.1.pids"),
        project.wait_for_pid("worker.2.pids"),
    ];
    let output = project.run(&["restart", "worker"]);
    assert!(output.status.success(), "{}", output.stderr);
    for (index, old_pid) in old.iter().enumerate() {
        let file = format!("worker.{}.pids", index + 1);
        let new_pid = wait_until("the new pid to be written", || {
            let pid = last_pid(&project, &file);
            (pid != i64::from(*old_pid)).then_some(pid)
        });
        assert!(
            output.stdout.contains(&format!(" {new_pid} ")),
            "{}",
            output.stdout
        );
        assert!(is_gone(*old_pid));
    }
    let instances = ps_json(&project);
    assert_eq!(instance(&instances, "worker.1")["restarts"], 1);
    assert_eq!(instance(&instances, "web")["restarts"], 0);
    assert!(proj.stop().success());
}

#[test]
fn stop_and_start_one_instance() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("worker.2: started pid");
    let pid = project.wait_for_pid("worker.2.pids");
    let stopped = project.run(&["stop", "worker.2"]);
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert!(
        stopped.stdout.contains("worker.2  stopped"),
        "{}",
        stopped.stdout
    );
    assert!(is_gone(pid));
    assert_eq!(instance(&ps_json(&project), "worker.1")["state"], "running");

    let started = project.run(&["start", "worker.2"]);
    assert!(started.status.success(), "{}", started.stderr);
    assert!(
        started.stdout.contains("worker.2  running"),
        "{}",
        started.stdout
    );
    assert!(proj.stop().success());
}

#[test]
fn unknown_names_exit_2_listing_the_known_ones() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    for verb in ["start", "stop", "restart"] {
        let output = project.run(&[verb, "wbe"]);
        assert_eq!(output.status.code(), Some(2), "{verb}");
        assert!(output.stderr.contains("`wbe`"), "{}", output.stderr);
        assert!(output.stderr.contains("`worker.2`"), "{}", output.stderr);
    }
    assert!(proj.stop().success());
}

#[test]
fn without_a_supervisor_every_client_command_exits_1() {
    let project = Project::new(TWO_SERVICES);
    for args in [
        &["ps"][..],
        &["stop", "web"],
        &["start", "web"],
        &["restart", "web"],
        &["logs"],
        &["reload"],
        &["down"],
    ] {
        let output = project.run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", output.stderr);
        assert!(
            output.stderr.contains("no proj running for"),
            "{}",
            output.stderr
        );
    }
}

#[test]
fn a_second_up_is_refused_while_the_first_runs() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let second = project.run(&["up", "--no-tui"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        second
            .stderr
            .contains(&format!("already running (pid {})", proj.pid())),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("proj ps"), "{}", second.stderr);
    assert!(proj.stop().success());
}

#[test]
fn a_socket_left_by_a_killed_proj_is_replaced() {
    let project = Project::new("[processes]\nweb = \"exec sleep 1000\"\n");
    let mut first = project.up(&[]);
    first.wait_for("web: started pid");
    first.signal(Signal::SIGKILL);
    first.wait_exit(DEADLINE);
    assert!(project.path(".proj/proj.sock").exists(), "the stale socket");
    let mut second = project.up(&[]);
    second.wait_for("web: started pid");
    assert_eq!(ps_json(&project).len(), 1);
    assert!(second.stop().success());
}

#[test]
fn the_socket_is_private() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let mode = |path: &str| {
        std::fs::metadata(project.path(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(".proj"), 0o700);
    assert_eq!(mode(".proj/proj.sock"), 0o600);
    if nix::unistd::geteuid().is_root() {
        // Another user reaches no answer: the directory stops it, and the server would
        // refuse its credentials.
        let script = format!(
            "import os, socket\nos.setuid(65534)\ns = socket.socket(socket.AF_UNIX)\n\
             try:\n    s.connect({:?})\n    s.sendall(b'{{\"v\":1,\"command\":\"ps\"}}\\n')\n    \
             print('answer:', s.recv(100))\nexcept OSError as e:\n    print('refused:', e.errno)\n",
            project.path(".proj/proj.sock").display().to_string()
        );
        let output = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with("refused:") || stdout.trim() == "answer: b''",
            "{stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(proj.stop().success());
}

#[test]
fn a_deep_project_gets_a_short_socket_path() {
    let project = Project::empty();
    let deep = "a-rather-long-directory-name-to-exceed-the-limit/".repeat(3);
    project.write(
        &format!("{deep}proj.toml"),
        "[processes]\nweb = \"exec sleep 1000\"\n",
    );
    let root = project.path(&deep);
    let mut proj = Running::start({
        let mut command = project.command(&["up", "--no-tui"]);
        command.current_dir(&root);
        command
    });
    proj.wait_for("web: started pid");
    let output = project
        .command(&["ps"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!root.join(".proj/proj.sock").exists());
    assert!(proj.stop().success());
}

#[test]
fn the_protocol_answers_bad_requests_and_keeps_the_connection() {
    let project = Project::new(TWO_SERVICES);
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let stream = UnixStream::connect(project.path(".proj/proj.sock")).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut ask = |line: &str| {
        writer.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        serde_json::from_str::<serde_json::Value>(&answer).unwrap()
    };
    let bad = ask("this is not json");
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["exit_code"], 2);
    assert!(bad["error"].as_str().unwrap().contains("malformed request"));
    let unknown = ask(r#"{"v":1,"command":"explode"}"#);
    assert_eq!(unknown["error"], "unknown command `explode`");
    let hello = ask(r#"{"v":1,"command":"hello"}"#);
    assert_eq!(hello["ok"], true);
    assert_eq!(hello["hello"]["pid"], proj.pid());
    assert_eq!(hello["hello"]["protocol"], 1);
    let ps = ask(r#"{"v":1,"command":"ps"}"#);
    assert_eq!(ps["instances"].as_array().unwrap().len(), 3);
    assert!(proj.stop().success());
}

#[test]
fn logs_merges_recent_lines_in_time_order_and_filters_by_name() {
    let project = Project::new(
        r#"
[processes.a]
command = "echo a1; sleep 0.2; touch a.done; until [ -e b.done ]; do sleep 0.01; done; echo a2; exec sleep 1000"

[processes.b]
command = "until [ -e a.done ]; do sleep 0.01; done; echo b1; touch b.done; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for_output("a", "a2");
    let all = project.run(&["logs"]);
    assert!(all.status.success(), "{}", all.stderr);
    let texts: Vec<&str> = all
        .stdout
        .lines()
        .map(|line| line.rsplit(" | ").next().unwrap())
        .collect();
    assert_eq!(texts, ["a1", "b1", "a2"]);
    assert!(
        all.stdout.lines().next().unwrap()[12..].starts_with(" a | a1"),
        "{}",
        all.stdout
    );

    let only_b = project.run(&["logs", "b"]);
    assert_eq!(only_b.stdout.lines().count(), 1, "{}", only_b.stdout);
    let last = project.run(&["logs", "-n", "1"]);
    assert!(last.stdout.ends_with("| a2\n"), "{}", last.stdout);
    assert!(proj.stop().success());
}

#[test]
fn logs_follow_prints_new_lines_and_a_closed_pipe_ends_it_cleanly() {
    let project = Project::new(
        "[processes.ticker]\ncommand = \"i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done\"\n",
    );
    let mut proj = project.up(&[]);
    proj.wait_for_output("ticker", "tick 2");
    let mut follower = project
        .command(&["logs", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(follower.stdout.take().unwrap());
    let mut seen = Vec::new();
    for _ in 0..5 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        seen.push(line);
    }
    let numbers: Vec<u32> = seen
        .iter()
        .map(|line| line.trim().rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "{numbers:?}"
    );
    // Like `proj logs -f | head -5`: the reader goes away.
    drop(reader);
    let status = wait_until("the follower to exit", || follower.try_wait().unwrap());
    let mut stderr = String::new();
    follower
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(proj.stop().success());
}

#[test]
fn down_stops_in_reverse_dependency_order_and_ends_the_supervisor() {
    let project = Project::new(
        r#"
[processes.db]
command = "exec sleep 1000"

[processes.web]
command = "trap 'sleep 0.2; exit 0' TERM; while :; do sleep 0.05; done"
depends_on = ["db"]
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let output = project.run(&["down"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(proj.wait_exit(DEADLINE).success());
    let lines = proj.lines();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    assert!(at("web: stopped") < at("db: stopping"));
}

#[test]
fn reload_restarts_only_what_changed_starts_the_new_and_stops_the_gone() {
    let project = Project::new(
        r#"
[processes.same]
command = "echo $$ >> same.pids; exec sleep 1000"

[processes.changes]
command = "echo $$ >> changes.pids; exec sleep 1000"

[processes.goes]
command = "echo $$ >> goes.pids; exec sleep 1000"

[processes.scaled]
command = "echo $$ >> scaled.$PROJ_INSTANCE.pids; exec sleep 1000"
scale = 3
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("scaled.3: started pid");
    let same = project.wait_for_pid("same.pids");
    let changes = project.wait_for_pid("changes.pids");
    let goes = project.wait_for_pid("goes.pids");
    let scaled: Vec<i32> = (1..=3)
        .map(|i| project.wait_for_pid(&format!("scaled.{i}.pids")))
        .collect();

    project.write(
        "proj.toml",
        r#"
[processes.same]
command = "echo $$ >> same.pids; exec sleep 1000"

[processes.changes]
command = "echo $$ >> changes.pids; exec sleep 1001"

[processes.comes]
command = "echo $$ >> comes.pids; exec sleep 1000"

[processes.scaled]
command = "echo $$ >> scaled.$PROJ_INSTANCE.pids; exec sleep 1000"
scale = 1
"#,
    );
    let output = project.run(&["reload"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stdout.contains("restarted: changes"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("started: comes"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("stopped: goes, scaled.2, scaled.3")
            || output.stdout.contains("stopped: scaled.2, scaled.3, goes")
            || output.stdout.contains("stopped: goes"),
        "{}",
        output.stdout
    );
    project.wait_for_pid("comes.pids");
    wait_until("the changed process to restart", || {
        (project.read("changes.pids").lines().count() == 2).then_some(())
    });
    for pid in [goes, scaled[1], scaled[2], changes] {
        wait_gone(pid);
    }
    for pid in [same, scaled[0]] {
        assert!(!is_gone(pid), "pid {pid} was restarted");
    }
    let instances = ps_json(&project);
    let names: Vec<&str> = instances
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["same", "changes", "comes", "scaled"]);
    assert_eq!(instance(&instances, "scaled")["pid"], scaled[0]);
    assert!(proj.stop().success());
}

#[test]
fn reload_of_an_invalid_file_exits_2_and_changes_nothing() {
    let project = Project::new("[processes]\nweb = \"echo $$ >> web.pids; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("web.pids");
    project.write("proj.toml", "[processes]\nweb = \"sleep 1\"\nbad key = 3\n");
    let output = project.run(&["reload"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("proj.toml:3:"), "{}", output.stderr);
    assert!(!is_gone(pid));
    assert_eq!(instance(&ps_json(&project), "web")["pid"], pid);
    assert!(proj.stop().success());
}

#[test]
fn sighup_reloads() {
    let project = Project::new("[processes]\nweb = \"echo $$ >> web.pids; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("web.pids");
    project.write(
        "proj.toml",
        "[processes]\nweb = \"echo $$ >> web.pids; exec sleep 999\"\n",
    );
    proj.signal(Signal::SIGHUP);
    proj.wait_for("reloaded: web restarted");
    wait_gone(pid);
    assert!(proj.stop().success());
}

#[test]
fn up_detach_returns_once_everything_is_ready_and_down_ends_it() {
    let project = Project::new(
        r#"
[processes.slow]
command = "sleep 0.3; echo ready now; exec sleep 1000"
ready = { log = "ready now" }

[processes.after]
command = "exec sleep 1000"
depends_on = ["slow"]
"#,
    );
    let _cleanup = Detached(&project);
    let output = project.run(&["up", "-d"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stdout.contains("slow   running"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("after  running"),
        "{}",
        output.stdout
    );
    let instances = ps_json(&project);
    let supervisor_log = project.read(".proj/logs/proj.log");
    assert!(
        supervisor_log.contains("slow: ready after"),
        "{supervisor_log}"
    );
    let down = project.run(&["down"]);
    assert!(down.status.success(), "{}", down.stderr);
    for instance in instances {
        wait_gone(i32::try_from(instance["pid"].as_i64().unwrap()).unwrap());
    }
}

#[test]
fn up_detach_exits_1_with_the_reason_when_something_fails() {
    let project = Project::new(
        r#"
[processes.migrate]
command = "sleep 0.2; exit 3"
oneshot = true

[processes.web]
command = "exec sleep 1000"
depends_on = ["migrate"]
"#,
    );
    let _cleanup = Detached(&project);
    let output = project.run(&["up", "-d"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stdout);
    let stderr = &output.stderr;
    assert!(stderr.contains("migrate: exited with code 3"), "{stderr}");
    assert!(
        output.stdout.contains("web      pending"),
        "{}",
        output.stdout
    );
    assert!(project.run(&["down"]).status.success());
}

#[test]
fn watch_streams_a_snapshot_now_and_after_every_change() {
    let project = Project::new("[processes]\nweb = \"exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let stream = UnixStream::connect(project.path(".proj/proj.sock")).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    writer
        .write_all(b"{\"v\":1,\"command\":\"watch\"}\n")
        .unwrap();
    let mut next = || {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()["snapshot"].clone()
    };
    let first = next();
    assert_eq!(first["progress"]["phase"], "up");
    assert_eq!(first["instances"][0]["state"], "running");
    assert!(project.run(&["stop", "web"]).status.success());
    let stopped = wait_until("a snapshot with web stopped", || {
        let snapshot = next();
        (snapshot["instances"][0]["state"] == "stopped").then_some(snapshot)
    });
    assert_eq!(
        stopped["project"],
        project.root().file_name().unwrap().to_str().unwrap()
    );
    assert!(proj.stop().success());
}

#[test]
fn kill_ends_everything_at_once_without_waiting_for_stop_timeouts() {
    let project = Project::new(
        r#"
[processes.stubborn]
command = "trap '' TERM; echo $$ > stubborn.pid; while :; do sleep 0.05; done"
stop_timeout = "60s"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("stubborn: started pid");
    let stubborn = project.wait_for_pid("stubborn.pid");
    let stream = UnixStream::connect(project.path(".proj/proj.sock")).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    writer
        .write_all(b"{\"v\":1,\"command\":\"kill\"}\n")
        .unwrap();
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    assert_eq!(answer.trim(), r#"{"ok":true}"#);
    // Far sooner than the 60 s stop timeout.
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(is_gone(stubborn));
    proj.wait_for("killing every process now");
}

/// Issue 11: `proj reload` with an invalid file printed `error: error: …`.
#[test]
fn reload_of_an_invalid_file_prints_the_diagnostics_once() {
    let project = Project::new("[processes]\nweb = \"exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    project.write("proj.toml", "[processes]\nweb = 42\n");
    let output = project.run(&["reload"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.starts_with("error"), "{}", output.stderr);
    assert!(!output.stderr.contains("error: error"), "{}", output.stderr);
    assert_eq!(
        output.stderr.matches("error").count(),
        1,
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("proj.toml:2:"), "{}", output.stderr);
    assert!(proj.stop().success());
}

/// Binds $PORT 0.5 s after it starts, then answers every connection with its pid.
const SLOW_SERVER: &str = r#"import os, socket, time
time.sleep(0.5)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(str(os.getpid()).encode())
    c.close()
"#;

/// Issue 11: `proj reload` answered before what it restarted was back, so a request
/// right after it got nothing. Like `proj restart`, it answers once the restarted and
/// started instances are running (ready).
#[test]
fn reload_answers_once_what_it_restarted_and_started_is_ready() {
    let (web_port, api_port) = (free_port(), free_port());
    let config = |version: u32, with_api: bool| {
        let mut text = format!(
            r#"
[processes.web]
command = "python3 server.py {version}"
port = {web_port}
ready = {{ tcp = "$PORT" }}
"#
        );
        if with_api {
            text.push_str(&format!(
                r#"
[processes.api]
command = "python3 server.py"
port = {api_port}
ready = {{ tcp = "$PORT" }}
"#
            ));
        }
        text
    };
    let project = Project::new(&config(1, false));
    project.write("server.py", SLOW_SERVER);
    let mut proj = project.up(&[]);
    proj.wait_for("web: ready after");
    let read_pid = |port: u16| -> Option<String> {
        use std::io::Read;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        Some(text)
    };
    let before = read_pid(web_port).expect("web answers");

    project.write("proj.toml", &config(2, true));
    let output = project.run(&["reload"]);
    assert!(output.status.success(), "{}", output.stderr);
    // At once, no retry: both must answer the moment `proj reload` has returned.
    let after = read_pid(web_port).expect("the restarted web answers right after reload");
    assert_ne!(after, before, "web was restarted");
    assert!(
        read_pid(api_port).is_some(),
        "the started api answers right after reload"
    );
    assert!(proj.stop().success());
}

/// A reload whose restarted instance cannot come up exits 1 and names it.
#[test]
fn reload_exits_1_naming_what_failed_to_come_up() {
    let project = Project::new("[processes]\nweb = \"exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let port = free_port();
    project.write(
        "proj.toml",
        &format!(
            "[processes.web]\ncommand = \"exit 3\"\nrestart = \"never\"\nready = {{ tcp = {port} }}\n"
        ),
    );
    let output = project.run(&["reload"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(
        output.stdout.contains("restarted: web"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stderr
            .contains("web: exited before it was ready (exit code 3)"),
        "{}",
        output.stderr
    );
    assert!(proj.stop().success());
}
