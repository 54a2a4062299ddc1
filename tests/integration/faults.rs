//! The fault table (research/supervisord-systemd.md §5) as black-box tests, one per row
//! that no other test file covers, each named after its row. The README's reliability
//! section lists every row with the test that covers it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::{
    DEADLINE, Detached, Project, Running, free_port, is_gone, kill_if_alive, proj_binary,
    wait_until, wait_until_within, zombie_children,
};

/// A line every 20 ms, numbered from 1, forever.
const NUMBERED_LINES: &str = "i=0; while :; do i=$((i+1)); echo \"line $i\"; sleep 0.02; done";

fn socket(project: &Project) -> std::path::PathBuf {
    project.path(".proj/proj.sock")
}

/// The pid of the supervisor that holds the project's lock.
fn supervisor_pid(project: &Project) -> i32 {
    wait_until("the supervisor's pid in the lock file", || {
        project.read(".proj/proj.lock").trim().parse().ok()
    })
}

/// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} for {pid}"))
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// `proj ps --json`, which must answer within the deadline (and succeed).
fn ps_json(project: &Project) -> Vec<Value> {
    try_ps_json(project).expect("proj ps failed")
}

/// `proj ps --json`, which must answer within the deadline; `None` when it failed (the
/// supervisor is not listening yet).
fn try_ps_json(project: &Project) -> Option<Vec<Value>> {
    let child = project
        .command(&["ps", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Waited for on a thread: 600 instances are more than a pipe holds, so the output
    // must be read while it runs.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    let output = receiver
        .recv_timeout(DEADLINE)
        .expect("`proj ps` to answer within the deadline")
        .unwrap();
    if !output.status.success() {
        return None;
    }
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    Some(json.as_array().unwrap().clone())
}

/// The numbers of the `line N` lines in a log file.
fn numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("line ")?.split(' ').next()?.parse().ok())
        .collect()
}

/// Row 9: `EMFILE` at spawn. With 40 descriptors and 50 instances, proj spawns what
/// leaves it room, says why the rest cannot be spawned, keeps answering `ps` and keeps
/// writing the log files of what runs.
#[test]
fn row_09_too_many_open_files_at_spawn_is_reported_and_the_supervisor_survives() {
    let project = Project::new(
        r#"
[processes.web]
command = "until [ -e go ]; do sleep 0.05; done; i=0; while :; do i=$((i+1)); echo \"line $i\"; sleep 0.02; done"
scale = 50
"#,
    );
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "ulimit -n 40 && exec \"$0\" up --no-tui",
            proj_binary(),
        ])
        .current_dir(project.root())
        .stdin(Stdio::null());
    let mut proj = Running::start(command);
    proj.wait_for("too many open files");
    let started = wait_until("the spawns to be over", || {
        let instances = try_ps_json(&project)?;
        instances
            .iter()
            .all(|instance| instance["state"] != "pending" && instance["state"] != "starting")
            .then_some(instances)
    });
    let running: Vec<&Value> = started
        .iter()
        .filter(|instance| instance["state"] == "running")
        .collect();
    assert!(!running.is_empty(), "some instances run: {started:?}");
    assert!(running.len() < 50, "not all 50 fit in 40 descriptors");
    project.write("go", "");
    // Every running instance writes its log file, and `ps` keeps answering meanwhile.
    for instance in &running {
        let name = instance["name"].as_str().unwrap();
        project.wait_for_file_content(&format!(".proj/logs/{name}.log"), "line 3\n");
    }
    for _ in 0..3 {
        assert_eq!(ps_json(&project).len(), 50);
    }
    assert_eq!(proj.count("cannot write"), 0, "{}", proj.text());
    assert!(proj.stop().success());
}

/// Row 13 (found while measuring): a `proj logs -f` client that never reads must not
/// make proj keep what it cannot send: memory stays bounded while a child prints 100 MB,
/// and other clients are served.
#[test]
fn row_13_a_follow_client_that_never_reads_keeps_memory_bounded() {
    let project = Project::new(
        r#"
[project]
log_max_size = "8MiB"
log_backups = 1

[processes.flood]
command = "until [ -e go ]; do sleep 0.05; done; python3 -c 'import sys\nblock = (\"y\" * 99 + \"\\n\").encode() * 2500\nfor i in range(400): sys.stdout.buffer.write(block)\nsys.stdout.flush()\nopen(\"flood.done\", \"w\").write(\"done\\n\")'; exec sleep 1000"
"#,
    );
    let up = project.run(&["up", "-d"]);
    let _detached = Detached(&project);
    assert!(up.status.success(), "{}", up.stderr);
    let pid = supervisor_pid(&project);
    let mut stalled = UnixStream::connect(socket(&project)).unwrap();
    stalled
        .write_all(b"{\"v\":1,\"command\":\"logs\",\"names\":[],\"follow\":true}\n")
        .unwrap();
    // The follower is registered once it got its header; it then never reads again.
    let mut header = String::new();
    BufReader::new(stalled.try_clone().unwrap())
        .read_line(&mut header)
        .unwrap();
    assert!(header.contains("\"ok\":true"), "{header}");
    let before = status_kib(pid, "VmRSS");
    project.write("go", "");
    project.wait_for_file("flood.done");
    assert_eq!(ps_json(&project).len(), 1, "another client is served");
    let peak = status_kib(pid, "VmHWM");
    let growth_mib = peak.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 40,
        "proj grew by {growth_mib} MiB (from {before} KiB to a peak of {peak} KiB)"
    );
    drop(stalled);
}

/// Row 19 (found while measuring): 10 MB without a newline is refused and the
/// connection closed; a client that sends requests and never reads the answers blocks
/// only itself.
#[test]
fn row_19_an_endless_request_and_a_client_that_never_reads_hurt_no_one_else() {
    let project = Project::new(
        r#"
[processes.web]
command = "exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let pid = proj.pid();

    // Many requests, no reads: proj's answers fill the socket, then it stops reading.
    let mut deaf = UnixStream::connect(socket(&project)).unwrap();
    deaf.set_nonblocking(true).unwrap();
    let request = b"{\"v\":1,\"command\":\"ps\"}\n".repeat(10_000);
    let _ = deaf.write(&request);

    let endless = UnixStream::connect(socket(&project)).unwrap();
    endless.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut writer = endless.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        // proj closes the connection part-way: the rest fails to send, as it should.
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut answer = String::new();
    let mut reader = BufReader::new(endless);
    reader.read_line(&mut answer).unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"].as_str().unwrap().contains("at most"),
        "{answer}"
    );
    // Closed: an end of file, or a reset when proj closed with the rest of the line
    // unread (what the kernel reports to the peer of a Unix socket closed so).
    let mut rest = Vec::new();
    match reader.read_to_end(&mut rest) {
        Ok(_) => assert!(
            rest.is_empty(),
            "the connection is closed after the refusal"
        ),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
    sender.join().unwrap();

    assert_eq!(ps_json(&project).len(), 1);
    let rss_mib = status_kib(pid, "VmHWM") / 1024;
    assert!(rss_mib < 64, "proj's peak memory is {rss_mib} MiB");
    drop(deaf);
    assert!(proj.stop().success());
}

/// Row 14: the log directory removed while processes print: it is created again and
/// later lines land in it.
#[test]
fn row_14_a_removed_log_directory_is_created_again() {
    let project = Project::new(&format!("[processes.web]\ncommand = '{NUMBERED_LINES}'\n"));
    let mut proj = project.up(&[]);
    project.wait_for_file_content(".proj/logs/web.log", "line 3\n");
    std::fs::remove_dir_all(project.path(".proj/logs")).unwrap();
    let lines = wait_until("web.log to be written again", || {
        let lines = numbers(&project.read(".proj/logs/web.log"));
        (lines.len() >= 3).then_some(lines)
    });
    assert!(
        lines.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "{lines:?}"
    );
    assert!(proj.stop().success());
}

/// Row 15: an external rotator moves the log file away: proj starts a new one, and not
/// a line is lost between the two.
#[test]
fn row_15_a_log_file_moved_by_a_rotator_is_started_again_losing_nothing() {
    let project = Project::new(&format!("[processes.web]\ncommand = '{NUMBERED_LINES}'\n"));
    let mut proj = project.up(&[]);
    project.wait_for_file_content(".proj/logs/web.log", "line 3\n");
    std::fs::rename(
        project.path(".proj/logs/web.log"),
        project.path(".proj/logs/web.log.1"),
    )
    .unwrap();
    let new = wait_until("a new web.log", || {
        let lines = numbers(&project.read(".proj/logs/web.log"));
        (lines.len() >= 3).then_some(lines)
    });
    assert!(proj.stop().success());
    let old = numbers(&project.read(".proj/logs/web.log.1"));
    let all: Vec<u64> = old.iter().chain(&new).copied().collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(
        all, expected,
        "every line once, in order, across both files"
    );
}

/// Unmounts a tmpfs at the end of the test, whatever happened.
struct Mount<'a>(&'a Path);

impl Drop for Mount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

/// Row 14: the log file system full. Children keep running (never blocked), proj says
/// so once, and logging resumes when space returns.
#[test]
fn row_14_a_full_log_file_system_is_reported_once_and_logging_resumes() {
    let project = Project::new(
        r#"
[processes.web]
command = "pad=$(printf %02000d 0); i=0; while [ ! -e quiet ]; do i=$((i+1)); echo \"line $i $pad\"; echo $i > progress; sleep 0.005; done; while :; do i=$((i+1)); echo \"line $i\"; echo $i > progress; sleep 0.05; done"
"#,
    );
    let logs = project.path(".proj/logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&logs)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    }
    let _mount = Mount(&logs);
    let mut proj = project.up(&[]);
    proj.wait_for("No space left on device");
    // The child rewrites the file as it goes: wait for a whole number.
    let progress = || -> u64 {
        wait_until("the child's progress", || {
            project.read("progress").trim().parse().ok()
        })
    };
    let at_full = progress();
    wait_until("the child to go on printing", || {
        (progress() > at_full + 50).then_some(())
    });
    // Space returns: the file is emptied, and the child prints little from now on, so
    // the file system does not fill again before the test ends.
    project.write("quiet", "");
    std::fs::File::create(logs.join("web.log")).unwrap();
    let resumed_from = progress();
    wait_until("later lines in the log file", || {
        numbers(&project.read(".proj/logs/web.log"))
            .iter()
            .any(|&line| line > resumed_from)
            .then_some(())
    });
    assert!(proj.stop().success());
    assert_eq!(proj.count("No space left on device"), 1, "{}", proj.text());
}

/// Row 10: 1,000 rapid crash-restarts leave no zombie and no descriptor behind.
#[test]
fn row_10_a_thousand_quick_restarts_leave_no_zombies_and_flat_descriptors() {
    let project = Project::new(
        r#"
[processes.flash]
command = "exit 1"
backoff = "0ms"
max_restarts = 1000
restart_window = "1h"
"#,
    );
    let mut proj = project.up(&[]);
    let pid = proj.pid();
    proj.wait_for("flash: started pid");
    let fds_early = open_fds(pid);
    wait_until_within(
        std::time::Duration::from_secs(180),
        "the restart limit",
        || {
            proj.text()
                .contains("restart limit reached (1000 restarts")
                .then_some(())
        },
    );
    wait_until("no zombie children", || {
        zombie_children(pid).is_empty().then_some(())
    });
    let fds_late = open_fds(pid);
    assert!(
        fds_late <= fds_early + 2,
        "descriptors grew from {fds_early} to {fds_late}"
    );
    assert!(proj.stop().success());
}

/// Row 23: 600 instances, more than 1,024 descriptors in proj, started with a soft limit
/// of 1,024 (systemd's default): proj raises its own, and each child gets 1,024 back.
#[test]
fn row_23_six_hundred_instances_use_more_than_1024_descriptors() {
    let hard: u64 = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .parse()
    .unwrap_or(u64::MAX);
    if hard < 2048 {
        eprintln!("skipped: the hard descriptor limit ({hard}) is below what 600 instances need");
        return;
    }
    let project = Project::new(
        r#"
[processes.idle]
command = "echo up $(ulimit -Sn); exec sleep 1000"
scale = 600
"#,
    );
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "ulimit -Sn 1024 && exec \"$0\" up --no-tui",
            proj_binary(),
        ])
        .current_dir(project.root())
        .stdin(Stdio::null());
    let mut proj = Running::start(command);
    let pid = proj.pid();
    wait_until_within(
        std::time::Duration::from_secs(180),
        "600 instances running",
        || {
            let instances = try_ps_json(&project)?;
            instances
                .iter()
                .all(|instance| instance["state"] == "running")
                .then_some(())
        },
    );
    assert!(open_fds(pid) > 1024, "{} descriptors", open_fds(pid));
    wait_until("every instance's line in its log", || {
        (1..=600)
            .all(|index| project.read(&format!(".proj/logs/idle.{index}.log")) == "up 1024\n")
            .then_some(())
    });
    let pids: Vec<i32> = ps_json(&project)
        .iter()
        .map(|instance| instance["pid"].as_i64().unwrap() as i32)
        .collect();
    assert!(proj.stop().success());
    for child in pids {
        assert!(is_gone(child), "{child} outlived proj");
    }
}

const SLOW_TO_STOP: &str = r#"
[processes.web]
command = "trap 'touch got-term; until [ -e release ]; do sleep 0.01; done; exit 0' TERM; touch up; while :; do sleep 0.05; done"
"#;

/// Row 18: SIGHUP while shutting down is not a reload: the shutdown completes.
#[test]
fn row_18_sighup_during_shutdown_is_ignored() {
    let project = Project::new(SLOW_TO_STOP);
    let mut proj = project.up(&[]);
    project.wait_for_marker("up");
    proj.signal(Signal::SIGTERM);
    project.wait_for_marker("got-term");
    proj.signal(Signal::SIGHUP);
    // Reload would have to re-read the file: make it invalid, so any attempt shows.
    project.write("proj.toml", "this is not toml");
    project.write("release", "");
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    assert_eq!(proj.count("web: started"), 1, "{}", proj.text());
    assert!(!proj.text().contains("reload"), "{}", proj.text());
}

/// Row 18: SIGTERM during a reload: the shutdown wins, nothing is left running and the
/// waiting `proj reload` ends too.
#[test]
fn row_18_sigterm_during_reload_shuts_down_cleanly() {
    let project = Project::new(SLOW_TO_STOP);
    let mut proj = project.up(&[]);
    project.wait_for_marker("up");
    let old = ps_json(&project)[0]["pid"].as_i64().unwrap() as i32;
    project.write(
        "proj.toml",
        &format!("{SLOW_TO_STOP}env = {{ CHANGED = \"1\" }}\n"),
    );
    let mut reload = project
        .command(&["reload"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The reload is under way: the old instance got its stop signal.
    project.wait_for_marker("got-term");
    proj.signal(Signal::SIGTERM);
    project.write("release", "");
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    wait_until("`proj reload` to end", || reload.try_wait().unwrap());
    assert!(is_gone(old));
    let in_the_project = || -> Vec<i32> {
        crate::support::pids()
            .filter(|&pid: &i32| {
                std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|cwd| cwd == project.root())
            })
            .collect()
    };
    // proj's guardian ends just after proj does (it watches for that): allow it the
    // moment; anything still there at the deadline was left running.
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut leftovers = in_the_project();
    while !leftovers.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        leftovers = in_the_project();
    }
    for pid in &leftovers {
        kill_if_alive(*pid);
    }
    assert!(leftovers.is_empty(), "left running: {leftovers:?}");
}

/// Row 6: crashes after the process became ready count against the restart window too,
/// and `ps` counts them.
#[test]
fn row_06_a_process_that_crashes_after_becoming_ready_hits_the_restart_limit() {
    let project = Project::new(
        r#"
[processes.flap]
command = "echo up; sleep 0.2; exit 1"
ready = { log = "up" }
backoff = "0ms"
max_restarts = 3
restart_window = "10m"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("flap: failed: restart limit reached (3 restarts within 10m)");
    assert_eq!(proj.count("flap: ready after"), 4, "{}", proj.text());
    let instance = &ps_json(&project)[0];
    assert_eq!(instance["state"], "failed");
    assert_eq!(instance["restarts"], 3);
    assert!(proj.stop().success());
}

/// Row 11: stopping and starting a process that keeps exiting on its own: every stop
/// may meet a process that is already gone (ESRCH), and the supervisor takes it.
#[test]
fn row_11_stop_and_start_of_a_process_that_keeps_exiting_is_safe() {
    let project = Project::new(
        r#"
[processes.flash]
command = "exit 3"
restart = "always"
backoff = "0ms"
max_restarts = 100000
restart_window = "1h"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("flash: started pid");
    for _ in 0..20 {
        assert!(project.run(&["stop", "flash"]).status.success());
        assert!(project.run(&["start", "flash"]).status.success());
    }
    assert!(project.run(&["stop", "flash"]).status.success());
    assert_eq!(ps_json(&project)[0]["state"], "stopped");
    let pid = proj.pid();
    wait_until("no zombie children", || {
        zombie_children(pid).is_empty().then_some(())
    });
    assert!(proj.stop().success());
}

/// Row 17: `stop` during a backoff and `down` during a crash loop act at once: the
/// pending restart is cancelled, nothing waits for it.
#[test]
fn row_17_stop_during_backoff_and_down_during_a_crash_loop_are_prompt() {
    let project = Project::new(
        r#"
[processes.crash]
command = "exit 1"
backoff = "30s"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("crash: restarting in 30s");
    let asked = std::time::Instant::now();
    assert!(project.run(&["stop", "crash"]).status.success());
    assert_eq!(ps_json(&project)[0]["state"], "stopped");
    assert!(project.run(&["start", "crash"]).status.success());
    wait_until("a second backoff", || {
        (proj.count("crash: restarting in 30s") == 2).then_some(())
    });
    assert!(project.run(&["down"]).status.success());
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(20),
        "waited for a backoff"
    );
    assert_eq!(proj.count("crash: started pid"), 2, "{}", proj.text());
}

/// Row 21: a readiness probe that never passes: dependants stay pending, and `down`
/// still completes at once, without waiting for the ready timeout.
#[test]
fn row_21_down_completes_while_a_probe_never_passes() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.db]
command = "exec sleep 1000"
ready = {{ tcp = {port} }}
ready_timeout = "10m"

[processes.web]
command = "exec sleep 1000"
depends_on = ["db"]
"#
    ));
    let mut proj = project.up(&[]);
    proj.wait_for("db: started pid");
    let states = ps_json(&project);
    let state = |name: &str| {
        states
            .iter()
            .find(|instance| instance["name"] == name)
            .map(|instance| instance["state"].clone())
    };
    assert_eq!(state("db"), Some("starting".into()));
    assert_eq!(state("web"), Some("pending".into()));
    assert!(project.run(&["down"]).status.success());
    assert!(proj.wait_exit(DEADLINE).success());
    assert_eq!(proj.count("web: started"), 0, "{}", proj.text());
}

/// Row 12: 10 MB without a newline, then `\r` progress updates: cut into 64 KiB lines,
/// every byte kept (the `\r`s too), and proj's memory stays far below the 10 MB.
#[test]
fn row_12_ten_megabytes_without_a_newline_and_carriage_returns_are_kept_in_bounded_memory() {
    let project = Project::new(
        r#"
[processes.blob]
command = "python3 -c 'import sys\nsys.stdout.write(\"x\" * 10000000)\nfor i in range(3): sys.stdout.write(f\"\\rprogress {i}\")\nsys.stdout.write(\"\\n\")'"
restart = "never"
"#,
    );
    let up = project.run(&["up", "-d"]);
    let _detached = Detached(&project);
    assert!(up.status.success(), "{}", up.stderr);
    let pid = supervisor_pid(&project);
    wait_until("blob to exit", || {
        (try_ps_json(&project)?[0]["state"] == "exited").then_some(())
    });
    let log = std::fs::read(project.path(".proj/logs/blob.log")).unwrap();
    let lines: Vec<&[u8]> = log.split(|&byte| byte == b'\n').collect();
    let full = 10_000_000 / 65_536;
    assert_eq!(
        lines.len(),
        full + 2,
        "the pieces, the tail, and after the last newline"
    );
    assert!(lines[..full].iter().all(|line| line.len() == 65_536));
    let tail = String::from_utf8_lossy(lines[full]);
    assert!(
        tail.ends_with("\rprogress 0\rprogress 1\rprogress 2"),
        "{:?}",
        &tail[tail.len() - 40..]
    );
    let peak_mib = status_kib(pid, "VmHWM") / 1024;
    assert!(peak_mib < 48, "proj's peak memory is {peak_mib} MiB");
}

/// libfaketime, which moves the wall clock of the program it is preloaded into.
fn faketime_library() -> Option<&'static str> {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/faketime/libfaketimeMT.so.1",
    ];
    let found = candidates.into_iter().find(|path| Path::new(path).exists());
    if found.is_none() {
        let reason = "libfaketime is not installed (Debian: apt-get install faketime)";
        if std::env::var_os("PROJ_TEST_FAKETIME").is_some_and(|value| value == "required") {
            panic!("PROJ_TEST_FAKETIME=required, but {reason}");
        }
        eprintln!("skipping: {reason}");
    }
    found
}

/// The seconds of the day of a plain-output line (`HH:MM:SS.mmm proj | ...`).
fn seconds_of_day(line: &str) -> f64 {
    let clock = line.split_whitespace().next().unwrap_or_default();
    let fields: Vec<f64> = clock.split(':').filter_map(|f| f.parse().ok()).collect();
    assert_eq!(fields.len(), 3, "no timestamp in {line:?}");
    fields[0] * 3600.0 + fields[1] * 60.0 + fields[2]
}

/// Row 16: the wall clock jumps an hour forward during a backoff, two hours back
/// during the next, and three hours forward during a stop timeout (libfaketime moves
/// proj's wall clock, not its monotonic one, as an NTP step does). Every timer is
/// monotonic, so each restart still comes one backoff after the crash and the SIGKILL
/// one stop timeout after the stop signal; proj's timestamps show the jumps.
#[test]
fn row_16_wall_clock_jumps_move_no_timer() {
    let Some(library) = faketime_library() else {
        return;
    };
    let project = Project::new(
        r#"
[env]
# The children keep the real clock; the starts are counted in /proc/uptime (monotonic).
LD_PRELOAD = ""

[processes.crash]
command = "cut -d' ' -f1 /proc/uptime >> starts; exit 1"
backoff = "2s"
backoff_max = "2s"

[processes.stubborn]
command = "trap '' TERM; echo $$ > pid; while :; do sleep 0.1; done"
stop_timeout = "3s"
"#,
    );
    project.write("faketime", "+0\n");
    let mut command = project.command(&["up", "--no-tui"]);
    command
        .env("LD_PRELOAD", library)
        .env("FAKETIME_TIMESTAMP_FILE", project.path("faketime"))
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let mut proj = Running::start(command);
    let stubborn = project.wait_for_pid("pid");
    let starts = |count: usize| {
        wait_until(&format!("{count} starts of crash"), || {
            let text = project.read("starts");
            let starts: Vec<f64> = text.lines().filter_map(|l| l.parse().ok()).collect();
            (starts.len() >= count).then_some(starts)
        })
    };
    let restarting = |count: usize| {
        wait_until(&format!("{count} backoffs"), || {
            let lines: Vec<String> = proj
                .lines()
                .into_iter()
                .filter(|line| line.contains("crash: restarting in 2s"))
                .collect();
            (lines.len() >= count).then_some(lines)
        })
    };
    restarting(1);
    project.write("faketime", "+1h\n");
    restarting(3);
    project.write("faketime", "-1h\n");
    restarting(5);
    let starts = starts(5);
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (1.9..10.0).contains(&gap),
            "a restart {gap:.2} s after the one before, not one 2 s backoff: {starts:?}\n{}",
            proj.text()
        );
    }
    // The jumps happened, as proj saw them: its timestamps moved by about +1 h, -2 h.
    let lines = restarting(5);
    let day = 86_400.0;
    let step = |a: &str, b: &str| (seconds_of_day(b) - seconds_of_day(a)).rem_euclid(day);
    let forward =
        (0..lines.len() - 1).any(|i| (3_600.0..3_620.0).contains(&step(&lines[i], &lines[i + 1])));
    let back = (0..lines.len() - 1)
        .any(|i| (day - 7_200.0..day - 7_180.0).contains(&step(&lines[i], &lines[i + 1])));
    assert!(forward && back, "no +1 h and -2 h jumps in {lines:#?}");

    let asked = std::time::Instant::now();
    proj.signal(Signal::SIGTERM);
    proj.wait_for("stubborn: stopping");
    project.write("faketime", "+3h\n");
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    let waited = asked.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(2_900),
        "SIGKILL {waited:?} after the stop signal, before the 3 s stop timeout\n{}",
        proj.text()
    );
    assert_eq!(
        proj.count("stubborn: still running 3s after the stop signal: sending SIGKILL"),
        1,
        "{}",
        proj.text()
    );
    assert!(is_gone(stubborn));
}
