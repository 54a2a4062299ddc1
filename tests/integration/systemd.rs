//! Production under systemd: the notify protocol (a Unix datagram socket bound here
//! stands in for systemd), journald's priority prefixes, dropping privileges, and the
//! exported unit files.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;

use crate::support::*;

/// `CLOCK_MONOTONIC` in nanoseconds: the clock the children and proj share with us.
fn monotonic_ns() -> i128 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    i128::from(now.tv_sec()) * 1_000_000_000 + i128::from(now.tv_nsec())
}

/// One datagram as systemd would receive it, and when it arrived.
#[derive(Debug, Clone)]
struct Notification {
    text: String,
    at_ns: i128,
}

/// The socket systemd would listen on; every datagram is collected by a thread.
struct FakeSystemd {
    /// The value for `NOTIFY_SOCKET`.
    address: String,
    received: Arc<Mutex<Vec<Notification>>>,
    _dir: tempfile::TempDir,
}

impl FakeSystemd {
    /// Listening on a filesystem path.
    fn at_path() -> FakeSystemd {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).expect("bind");
        FakeSystemd::listen(socket, path.display().to_string(), dir)
    }

    /// Listening on a Linux abstract address (`@name`).
    fn abstract_name() -> FakeSystemd {
        let name = format!("proj-test-notify-{}-{}", std::process::id(), monotonic_ns());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let socket = UnixDatagram::bind_addr(&address).expect("bind");
        let dir = tempfile::tempdir().expect("temp dir");
        FakeSystemd::listen(socket, format!("@{name}"), dir)
    }

    fn listen(socket: UnixDatagram, address: String, dir: tempfile::TempDir) -> FakeSystemd {
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 65536];
            // Ends when the test process does; the socket is tiny.
            while let Ok(size) = socket.recv(&mut buffer) {
                let at_ns = monotonic_ns();
                let text = String::from_utf8_lossy(&buffer[..size]).into_owned();
                sink.lock()
                    .expect("lock")
                    .push(Notification { text, at_ns });
            }
        });
        FakeSystemd {
            address,
            received,
            _dir: dir,
        }
    }

    fn all(&self) -> Vec<Notification> {
        self.received.lock().expect("lock").clone()
    }

    fn texts(&self) -> Vec<String> {
        self.all().into_iter().map(|n| n.text).collect()
    }

    /// Wait for the `nth` (0-based) datagram that has the line `line`.
    fn wait_for_nth(&self, line: &str, nth: usize) -> Notification {
        wait_until(&format!("notification #{nth} with {line:?}"), || {
            self.all()
                .into_iter()
                .filter(|n| n.text.lines().any(|l| l == line))
                .nth(nth)
        })
    }

    fn wait_for(&self, line: &str) -> Notification {
        self.wait_for_nth(line, 0)
    }

    /// How many datagrams have a line starting with `prefix`.
    fn count(&self, prefix: &str) -> usize {
        self.texts()
            .iter()
            .filter(|text| text.lines().any(|l| l.starts_with(prefix)))
            .count()
    }
}

/// `proj up --no-tui` with systemd's variables.
fn up_under(project: &Project, systemd: &FakeSystemd, extra: &[(&str, &str)]) -> Running {
    let mut command = project.command(&["up", "--no-tui"]);
    command.env("NOTIFY_SOCKET", &systemd.address);
    for (key, value) in extra {
        command.env(key, value);
    }
    Running::start(command)
}

const SLOW_SERVICE: &str = r#"
[[setup]]
name = "record env"
command = "env > setup-env.txt"

[processes.db]
command = "sleep 0.3; touch db-ready; echo accepting connections; exec sleep 1000"
ready = { log = "accepting connections" }

[processes.web]
command = "env > web-env.txt; echo serving; exec sleep 1000"
depends_on = ["db"]
ready = { log = "serving" }
"#;

#[test]
fn ready_once_every_service_is_ready_then_status_and_stopping() {
    let systemd = FakeSystemd::at_path();
    let project = Project::new(SLOW_SERVICE);
    let mut proj = up_under(&project, &systemd, &[]);
    systemd.wait_for("READY=1");
    // READY=1 came after db became ready (it sleeps first) and web after it.
    assert!(project.path("db-ready").exists());
    assert!(project.path("web-env.txt").exists());
    let texts = systemd.texts();
    let ready_at = texts
        .iter()
        .position(|t| t.lines().any(|l| l == "READY=1"))
        .expect("ready");
    assert!(
        texts[ready_at].contains("STATUS=2 running"),
        "READY=1 carries the status that made it: {texts:?}"
    );
    assert!(
        texts[..ready_at]
            .iter()
            .any(|t| t.contains("STATUS=") && t.contains("starting")),
        "a STATUS= while starting: {texts:?}"
    );
    assert_eq!(systemd.count("READY=1"), 1, "{texts:?}");
    for line in texts.iter().flat_map(|t| t.lines()) {
        assert!(
            line.starts_with("STATUS=") || line == "READY=1",
            "unexpected {line:?} in {texts:?}"
        );
    }
    // Neither the processes nor the setup steps see systemd's private variables.
    for file in ["web-env.txt", "setup-env.txt"] {
        let env = project.read(file);
        assert!(env.contains("PATH="), "{file}: {env}");
        for private in ["NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="] {
            assert!(!env.contains(private), "{file} has {private}: {env}");
        }
    }
    proj.signal(Signal::SIGTERM);
    let stopping = systemd.wait_for("STOPPING=1");
    assert!(stopping.text.contains("STATUS=stopping: "), "{stopping:?}");
    assert!(proj.wait_exit(DEADLINE).success());
    assert_eq!(systemd.count("STOPPING=1"), 1);
}

#[test]
fn an_abstract_socket_gets_watchdog_pings_at_half_the_interval() {
    let systemd = FakeSystemd::abstract_name();
    let project = Project::new("[processes.app]\ncommand = \"exec sleep 1000\"\n");
    // WATCHDOG_PID must be proj's own pid: `exec` keeps the shell's.
    let mut command = Command::new("/bin/sh");
    command
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" up --no-tui",
            proj_binary(),
        ])
        .current_dir(project.root())
        .env("NOTIFY_SOCKET", &systemd.address)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("PROJ_LOG")
        .stdin(Stdio::null());
    let mut proj = Running::start(command);
    systemd.wait_for("READY=1");
    let first = systemd.wait_for_nth("WATCHDOG=1", 0);
    let sixth = systemd.wait_for_nth("WATCHDOG=1", 5);
    // Five intervals of 100 ms (half of WATCHDOG_USEC); generous bounds for slow CI.
    let average_ms = (sixth.at_ns - first.at_ns) / 5 / 1_000_000;
    assert!(
        (70..=250).contains(&average_ms),
        "pings every {average_ms} ms, expected about 100"
    );
    assert!(proj.stop().success());
}

#[test]
fn no_watchdog_pings_for_another_pid() {
    let systemd = FakeSystemd::at_path();
    let project = Project::new("[processes.app]\ncommand = \"exec sleep 1000\"\n");
    let mut proj = up_under(
        &project,
        &systemd,
        &[("WATCHDOG_USEC", "100000"), ("WATCHDOG_PID", "1")],
    );
    systemd.wait_for("READY=1");
    assert!(proj.stop().success());
    systemd.wait_for("STOPPING=1");
    // The first ping would have left as the loop started.
    assert_eq!(systemd.count("WATCHDOG=1"), 0, "{:?}", systemd.texts());
}

#[test]
fn sighup_reloads_between_reloading_and_ready() {
    let systemd = FakeSystemd::at_path();
    let config = |greeting: &str| {
        format!(
            "[processes.web]\ncommand = \"sleep 0.2; echo {greeting} > greeting; echo serving; exec sleep 1000\"\nready = {{ log = \"serving\" }}\n"
        )
    };
    let project = Project::new(&config("hello"));
    let mut proj = up_under(&project, &systemd, &[]);
    systemd.wait_for("READY=1");
    project.write("proj.toml", &config("again"));
    let before = monotonic_ns();
    proj.signal(Signal::SIGHUP);
    let reloading = systemd.wait_for("RELOADING=1");
    let monotonic: i128 = reloading
        .text
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC")
        .parse()
        .expect("a number");
    assert!(
        monotonic * 1000 >= before && monotonic * 1000 <= reloading.at_ns,
        "MONOTONIC_USEC={monotonic} is not the time of the reload"
    );
    let ready = systemd.wait_for_nth("READY=1", 1);
    assert!(ready.at_ns > reloading.at_ns);
    // READY=1 only once the restarted web is ready again.
    assert_eq!(project.read("greeting").trim(), "again");

    // A refused reload (an invalid file) ends at once, nothing changed.
    project.write("proj.toml", "[processes.web]\ncommand = 3\n");
    proj.signal(Signal::SIGHUP);
    systemd.wait_for_nth("RELOADING=1", 1);
    systemd.wait_for_nth("READY=1", 2);
    proj.wait_for("reload refused");
    assert!(proj.stop().success());
}

/// Run `proj up` with stdout into a regular file and `JOURNAL_STREAM` set to `stream`
/// (or to the file's own `dev:ino` when `None`); stop it once `until` is in the file.
fn journal_output(stream: Option<&str>, until: &str) -> String {
    let project = Project::new(
        r#"
[processes.web]
command = "echo hello from web; exec sleep 1000"

[processes.bad]
command = "echo oops; exit 3"
max_restarts = 0
backoff = "0ms"
"#,
    );
    let out_path = project.path("stdout.txt");
    let out = std::fs::File::create(&out_path).expect("create");
    let meta = out.metadata().expect("metadata");
    let own = format!("{}:{}", meta.dev(), meta.ino());
    let mut child = project
        .command(&["up", "--no-tui"])
        .env("JOURNAL_STREAM", stream.unwrap_or(&own))
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start proj");
    project.wait_for_file_content("stdout.txt", until);
    project.wait_for_file_content("stdout.txt", "hello from web");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGTERM,
    )
    .expect("signal");
    let status = wait_until("proj to exit", || child.try_wait().expect("wait"));
    assert!(status.success());
    project.read("stdout.txt")
}

#[test]
fn journald_gets_priorities_and_no_timestamps() {
    let text = journal_output(None, "failed");
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        assert!(
            line.starts_with("<3>") || line.starts_with("<4>") || line.starts_with("<6>"),
            "{line:?} in:\n{text}"
        );
    }
    assert!(lines.contains(&"<6>web  | hello from web"), "{text}");
    assert!(lines.contains(&"<6>bad  | oops"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>proj | web: started pid")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("<3>proj | bad: failed")),
        "{text}"
    );
}

#[test]
fn another_journal_stream_changes_nothing() {
    let text = journal_output(Some("1:1"), "failed");
    assert!(!text.contains("<6>"), "{text}");
    for line in text.lines() {
        let time = line.get(..12).unwrap_or_default();
        assert!(
            time.len() == 12 && time.as_bytes()[2] == b':' && time.as_bytes()[8] == b'.',
            "{line:?} has no timestamp in:\n{text}"
        );
    }
}

#[test]
fn a_process_with_user_runs_as_that_user_with_its_groups_and_home() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: dropping privileges needs root");
        return;
    }
    let project = Project::new(
        r#"
[processes.app]
command = "id > out/id.txt; echo \"$HOME $USER $LOGNAME\" > out/env.txt; exec sleep 1000"
user = "nobody"
"#,
    );
    // nobody must be able to enter the project and write its output.
    std::fs::set_permissions(project.root(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::fs::create_dir(project.path("out")).expect("mkdir");
    std::fs::set_permissions(project.path("out"), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let mut proj = project.up(&[]);
    project.wait_for_file("out/env.txt");
    let nobody = nix::unistd::User::from_name("nobody")
        .expect("lookup")
        .expect("nobody exists");
    let id = project.wait_for_file("out/id.txt");
    let gid = nobody.gid.as_raw();
    assert!(
        id.starts_with(&format!("uid={}(nobody) gid={gid}(", nobody.uid)),
        "{id}"
    );
    // root's supplementary groups are gone: only nobody's own.
    let groups = id.split("groups=").nth(1).expect("groups");
    assert!(!groups.contains("(root)"), "{id}");
    assert!(groups.starts_with(&format!("{gid}(")), "{id}");
    assert_eq!(
        project.read("out/env.txt").trim(),
        format!("{} nobody nobody", nobody.dir.display())
    );
    assert!(proj.stop().success());
}

#[test]
fn check_refuses_an_unknown_user_pointing_at_the_value() {
    let project = Project::new(
        "[processes.web]\ncommand = \"serve\"\nuser = \"no-such-user-proj\"\ngroup = \"no-such-group-proj\"\n",
    );
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("proj.toml:3:8"), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("unknown user `no-such-user-proj` for process `web`"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("proj.toml:4:9"), "{}", output.stderr);
}

#[test]
fn a_user_other_than_ones_own_needs_root() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run proj as someone else");
        return;
    }
    let project = Project::new("[processes.web]\ncommand = \"serve\"\nuser = \"root\"\n");
    std::fs::set_permissions(project.root(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let output = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            proj_binary(),
            "up",
            "--no-tui",
        ])
        .current_dir(project.root())
        .stdin(Stdio::null())
        .output()
        .expect("setpriv");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("process `web`"), "{stderr}");
    assert!(stderr.contains("proj runs as nobody, not root"), "{stderr}");
    assert!(stderr.contains("cannot switch to user `root`"), "{stderr}");
}

const STACK: &str = r#"
[project]
name = "shop"

[processes.db]
command = "exec sleep 1000"
stop_timeout = "40s"

[processes.migrate]
command = "echo migrated"
oneshot = true
depends_on = ["db"]

[processes.web]
command = "echo \"serving on $PORT at 100%\""
port = 8000
scale = 2
depends_on = ["db", "migrate"]
stop_timeout = "70s"
env = { GREETING = "a \"quoted\" value" }
"#;

/// `systemd-analyze verify` on `files`, when the tool is there.
fn verify(files: &[std::path::PathBuf]) {
    let Ok(output) = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(files)
        .output()
    else {
        eprintln!("systemd-analyze is not installed: the units were checked structurally only");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Complaints about the host's own units are not ours; ours are named by file.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            files
                .iter()
                .any(|file| line.contains(&*file.file_name().expect("name").to_string_lossy()))
        })
        .collect();
    assert!(output.status.success() && ours.is_empty(), "{stderr}");
}

#[test]
fn export_writes_one_notify_service_that_systemd_accepts() {
    let project = Project::new(STACK);
    let out = project.path("units");
    let output = project.run(&[
        "export",
        "systemd",
        "-o",
        out.to_str().expect("utf-8"),
        "--watchdog",
        "30s",
        "--user",
        // Not nobody: systemd warns that a service as nobody is not safe.
        "daemon",
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("systemctl enable --now shop.service"),
        "{}",
        output.stdout
    );
    let unit_path = out.join("shop.service");
    let unit = std::fs::read_to_string(&unit_path).expect("shop.service");
    let root = project.root().canonicalize().expect("root");
    let proj = std::path::Path::new(proj_binary())
        .canonicalize()
        .expect("proj");
    let lines: Vec<&str> = unit.lines().collect();
    for expected in [
        "[Service]".to_string(),
        format!(
            "ExecStart={} up --no-tui --no-setup --file {}",
            proj.display(),
            root.join("proj.toml").display()
        ),
        format!("WorkingDirectory={}", root.display()),
        "KillMode=mixed".into(),
        "Restart=on-failure".into(),
        "NotifyAccess=main".into(),
        "WatchdogSec=30s".into(),
        "User=daemon".into(),
        // web (70 s), then migrate (10 s), then db (40 s), one second of grace after
        // each, and a 10 s margin.
        "TimeoutStopSec=133s".into(),
        // db (60 s), then migrate (60 s), then web (60 s): the default ready_timeouts
        // along the chain, and a 10 s margin.
        "TimeoutStartSec=190s".into(),
        // proj makes a cgroup per instance below its own.
        "Delegate=yes".into(),
        "WantedBy=multi-user.target".into(),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "no {expected:?} in:\n{unit}"
        );
    }
    assert!(
        lines.contains(&"Type=notify") || lines.contains(&"Type=notify-reload"),
        "{unit}"
    );
    verify(&[unit_path]);
}

#[test]
fn export_per_process_writes_a_unit_per_instance_and_a_target() {
    let project = Project::new(STACK);
    let out = project.path("units");
    let output = project.run(&[
        "export",
        "systemd",
        "--per-process",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("units")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "shop-db.service",
            "shop-migrate.service",
            "shop-web.1.service",
            "shop-web.2.service",
            "shop.target"
        ]
    );
    let web2 = std::fs::read_to_string(out.join("shop-web.2.service")).expect("web.2");
    let root_line = format!(
        "Environment=\"PROJ_ROOT={}\"",
        project.root().canonicalize().expect("root").display()
    );
    for expected in [
        "PartOf=shop.target",
        "After=shop-db.service shop-migrate.service",
        "Environment=\"PORT=8001\"",
        "Environment=\"PROJ_INSTANCE=2\"",
        "Environment=\"GREETING=a \\\"quoted\\\" value\"",
        "Environment=\"PROJ_HOST_WEB=127.0.0.1\"",
        &root_line,
        // TERM to every process of the unit, as proj signals the group.
        "KillMode=control-group",
        "TimeoutStopSec=70000ms",
    ] {
        assert!(
            web2.lines().any(|l| l == expected),
            "no {expected:?} in:\n{web2}"
        );
    }
    // The program itself, found on the plan's PATH; `$PORT` expanded by systemd.
    let exec = web2
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(
        exec.starts_with("\"/") && exec.ends_with("/echo\" \"serving on ${PORT} at 100%%\""),
        "{exec}"
    );
    // Not the exporting shell's PATH.
    assert!(
        !web2.contains(".cargo") && !web2.contains("pyenv"),
        "{web2}"
    );
    let migrate = std::fs::read_to_string(out.join("shop-migrate.service")).expect("migrate");
    assert!(
        migrate.contains("\nType=oneshot\nRemainAfterExit=yes\n"),
        "{migrate}"
    );
    let target = std::fs::read_to_string(out.join("shop.target")).expect("target");
    assert!(
        target.contains(
            "Wants=shop-db.service shop-migrate.service shop-web.1.service shop-web.2.service"
        ),
        "{target}"
    );
    let files: Vec<_> = names.iter().map(|name| out.join(name)).collect();
    verify(&files);
}

#[test]
fn export_refuses_a_user_that_would_stop_proj_from_switching() {
    let project = Project::new("[processes.web]\ncommand = \"serve\"\nuser = \"root\"\n");
    let output = project.run(&["export", "systemd", "--user", "nobody", "-o", "units"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("process `web` has `user = \"root\"`"),
        "{}",
        output.stderr
    );
    assert!(!project.path("units").exists());
}

#[test]
fn a_fatal_error_in_the_journal_is_an_error() {
    let project = Project::new("[processes.web]\ncommand = 3\n");
    let err_path = project.path("stderr.txt");
    let err = std::fs::File::create(&err_path).expect("create");
    let meta = err.metadata().expect("metadata");
    let status = project
        .command(&["up", "--no-tui"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .expect("run proj");
    assert_eq!(status.code(), Some(2));
    let text = project.read("stderr.txt");
    assert!(text.starts_with("<3>error"), "{text}");
    assert!(text.lines().all(|line| line.starts_with("<3>")), "{text}");
}

#[test]
fn export_per_process_keeps_schedule_memory_user_and_every_stop_signal() {
    let project = Project::new(
        r#"
[project]
name = "jobs"

[env]
PATH = ".venv/bin:$PATH"

[processes.worker]
command = "bundle exec sidekiq"
max_memory = "512MiB"
user = "daemon"
stop_sequence = [{ signal = "TSTP", wait = "25s" }, { signal = "TERM", wait = "10s" }]

[processes.report]
command = "python3 report.py | tee report.txt"
oneshot = true
schedule = "30 2 * * 1-5"
ready_timeout = "5m"
"#,
    );
    let out = project.path("units");
    let output = project.run(&[
        "export",
        "systemd",
        "--per-process",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let worker = std::fs::read_to_string(out.join("jobs-worker.service")).expect("worker");
    // `[env]`'s relative PATH entry is the project's (SPEC §9.2).
    let path = format!(
        "Environment=\"PATH={}/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"",
        project.root().canonicalize().unwrap().display()
    );
    for expected in [
        "MemoryMax=536870912",
        "User=daemon",
        // TSTP first, waited for, then TERM: none lost.
        "ExecStop=/bin/sh -c \"kill -s TSTP -- -$$MAINPID 2>/dev/null; waited=0; while kill -0 $$MAINPID 2>/dev/null && [ $$waited -lt 25 ]; do sleep 1; waited=$$((waited + 1)); done; exit 0\"",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=35000ms",
        path.as_str(),
        // `bundle` is not installed here: sh finds it at start, then becomes it.
        "ExecStart=/bin/sh -c \"exec bundle exec sidekiq\"",
    ] {
        assert!(
            worker.lines().any(|l| l == expected),
            "no {expected:?} in:\n{worker}"
        );
    }
    let report = std::fs::read_to_string(out.join("jobs-report.service")).expect("report");
    assert!(report.contains("\nType=oneshot\n"), "{report}");
    assert!(!report.contains("RemainAfterExit"), "{report}");
    assert!(report.contains("\nTimeoutStartSec=300s\n"), "{report}");
    // A pipeline: sh has to stay, and the unit says so.
    assert!(report.contains("# `command` is a pipeline"), "{report}");
    let timer = std::fs::read_to_string(out.join("jobs-report.timer")).expect("timer");
    assert!(
        timer.contains("\nOnCalendar=Mon..Fri *-*-* 2:30:00\n"),
        "{timer}"
    );
    assert!(timer.contains("\nUnit=jobs-report.service\n"), "{timer}");
    let target = std::fs::read_to_string(out.join("jobs.target")).expect("target");
    assert!(
        target.contains("Wants=jobs-worker.service jobs-report.timer"),
        "{target}"
    );
    verify(&[
        out.join("jobs-worker.service"),
        out.join("jobs-report.service"),
        out.join("jobs-report.timer"),
        out.join("jobs.target"),
    ]);
}

#[test]
fn export_per_process_writes_a_socket_unit_every_instance_inherits() {
    // SPEC §9.3: systemd holds the socket, as proj does under `proj up`.
    let project = Project::new(
        "[processes.web]\ncommand = \"gunicorn app:app\"\nsocket = \"127.0.0.1:8400\"\nscale = 2\n",
    );
    let out = project.path("units");
    let output = project.run(&[
        "export",
        "systemd",
        "--per-process",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let name = project
        .root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_",
        );
    let socket = std::fs::read_to_string(out.join(format!("{name}-web.socket"))).expect("socket");
    assert!(
        socket.contains("\nListenStream=127.0.0.1:8400\n"),
        "{socket}"
    );
    assert!(socket.contains("\nFileDescriptorName=web\n"), "{socket}");
    for instance in ["web.1", "web.2"] {
        let service = std::fs::read_to_string(out.join(format!("{name}-{instance}.service")))
            .expect("service");
        assert!(
            service.contains(&format!("\nSockets={name}-web.socket\n")),
            "{service}"
        );
        assert!(service.contains("Environment=\"PORT=8400\""), "{service}");
    }
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    verify(&files);
}
