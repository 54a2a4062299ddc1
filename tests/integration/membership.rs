//! SPEC §9.1: every process an instance starts is the instance's until it ends, in both
//! ways of tracking them: a cgroup per instance (as root on a writable cgroup2
//! hierarchy, as here and in CI) and process groups with what left them (`PROJ_CGROUPS=0`,
//! what a laptop without a delegated subtree gets). Each behaviour is one function run
//! twice, `…_with_cgroups` and `…_with_process_groups`.
//!
//! Cgroup tests skip with a message where cgroups are not available, unless
//! `PROJ_TEST_CGROUPS=required` (CI) makes that a failure.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::tracking::{Mode, both_modes};
use crate::support::{Project, Running, is_gone, kill_if_alive, wait_until};

/// Whether a mode can be tested here.
trait Available {
    fn available(self, project: &Project) -> bool;
}

impl Available for Mode {
    /// Whether this mode can be tested here: `proj check` must say it is in use.
    fn available(self, project: &Project) -> bool {
        let check = self.run(project, &["check"]);
        assert!(check.status.success(), "{}", check.stderr);
        match self {
            Mode::ProcessGroups => {
                assert!(
                    check
                        .stdout
                        .contains("tracking: process groups and sessions (PROJ_CGROUPS=0"),
                    "{}",
                    check.stdout
                );
                true
            }
            Mode::Cgroups if check.stdout.contains("tracking: cgroups") => true,
            Mode::Cgroups => {
                assert!(
                    std::env::var("PROJ_TEST_CGROUPS").as_deref() != Ok("required"),
                    "PROJ_TEST_CGROUPS=required, but: {}",
                    check.stdout
                );
                eprintln!("skipped: no cgroups here: {}", check.stdout);
                false
            }
        }
    }
}

both_modes!(
    a_double_forked_daemon_lives_while_its_instance_runs_and_ends_with_it,
    what_left_the_group_is_gone_before_the_instance_is_stopped_and_before_its_dependencies,
    title_rewriting_workers_do_not_outlive_a_sigkill_of_proj,
    a_port_someone_holds_fails_the_instance_naming_the_holder,
);

/// Whether `pid` has been reaped (not even a zombie is left).
fn reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn ps_json(mode: Mode, project: &Project) -> Vec<Value> {
    let output = mode.run(project, &["ps", "--json"]);
    assert!(output.status.success(), "{}", output.stderr);
    serde_json::from_str::<Value>(&output.stdout)
        .expect("ps --json")
        .as_array()
        .expect("array")
        .clone()
}

fn state_of(mode: Mode, project: &Project, name: &str) -> String {
    ps_json(mode, project)
        .iter()
        .find(|row| row["name"] == name)
        .map(|row| row["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// `epmd -daemon`, `ssh-agent`: the instance forks A, A forks B and exits, B (now an
/// orphan, re-parented to proj) starts a session, forks the daemon C and exits. proj
/// reaps B; the daemon must live on.
const DAEMONIZE: &str = r#"
import os, time

def write(name, value):
    open(name + ".tmp", "w").write(f"{value}\n")
    os.rename(name + ".tmp", name)

a = os.fork()
if a == 0:
    if os.fork() == 0:
        while os.getppid() == a or os.path.exists(f"/proc/{a}/stat") and open(f"/proc/{a}/stat").read().split(") ")[1][0] != "Z":
            time.sleep(0.01)
        os.setsid()
        if os.fork() == 0:
            write("daemon.pid", os.getpid())
            while True:
                time.sleep(1)
        write("intermediate.pid", os.getpid())
        os._exit(0)
    os._exit(0)
os.waitpid(a, 0)
write("main.pid", os.getpid())
while True:
    time.sleep(1)
"#;

fn a_double_forked_daemon_lives_while_its_instance_runs_and_ends_with_it(mode: Mode) {
    let project = Project::new("[processes.rabbit]\ncommand = \"python3 daemonize.py\"\n");
    project.write("daemonize.py", DAEMONIZE);
    if !mode.available(&project) {
        return;
    }
    let mut proj = mode.up(&project);
    let daemon = project.wait_for_pid("daemon.pid");
    let intermediate = project.wait_for_pid("intermediate.pid");
    wait_until("the intermediate to be reaped by proj", || {
        reaped(intermediate).then_some(())
    });
    // Reaping the intermediate killed nothing: the daemon runs as long as its instance.
    assert!(
        !is_gone(daemon),
        "the daemon was killed when its parent was reaped"
    );
    assert_eq!(state_of(mode, &project, "rabbit"), "running");

    let stop = mode.run(&project, &["stop", "rabbit"]);
    assert!(stop.status.success(), "{}", stop.stderr);
    // `stopped` means every process of the instance is gone, the daemon included.
    assert!(is_gone(daemon), "the daemon outlived its instance's stop");
    assert_eq!(state_of(mode, &project, "rabbit"), "stopped");
    kill_if_alive(daemon);
    assert!(proj.stop().success());
}

/// RQ's worker: the work horse leaves the group (`setsid`) so that the group's signals
/// do not reach it; this one also ignores SIGTERM, so only the end of the stop sequence
/// ends it. The database checks, when it is told to stop, whether the horse is gone.
const WORKER: &str = r#"
import os, signal, sys, time
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open("horse.pid.tmp", "w").write(f"{os.getpid()}\n")
    os.rename("horse.pid.tmp", "horse.pid")
    while True:
        time.sleep(1)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(1)
"#;

const DB: &str = r#"
import os, signal, sys, time
def stop(*_):
    horse = int(open("horse.pid").read())
    try:
        state = open(f"/proc/{horse}/stat").read().rsplit(")", 1)[1].split()[0]
        seen = "gone" if state in ("Z", "X") else "alive"
    except FileNotFoundError:
        seen = "gone"
    open("db-saw.tmp", "w").write(seen + "\n")
    os.rename("db-saw.tmp", "db-saw")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open("db.pid", "w").write(f"{os.getpid()}\n")
while True:
    time.sleep(1)
"#;

fn what_left_the_group_is_gone_before_the_instance_is_stopped_and_before_its_dependencies(
    mode: Mode,
) {
    let project = Project::new(
        r#"
[processes.db]
command = "python3 db.py"

[processes.worker]
command = "python3 worker.py"
depends_on = ["db"]
stop_timeout = "1s"
"#,
    );
    project.write("worker.py", WORKER);
    project.write("db.py", DB);
    if !mode.available(&project) {
        return;
    }
    let mut proj = mode.up(&project);
    let horse = project.wait_for_pid("horse.pid");
    let stop = mode.run(&project, &["stop", "worker"]);
    assert!(stop.status.success(), "{}", stop.stderr);
    assert!(is_gone(horse), "`stop` answered while the work horse ran");

    std::fs::remove_file(project.path("horse.pid")).unwrap();
    let start = mode.run(&project, &["start", "worker"]);
    assert!(start.status.success(), "{}", start.stderr);
    let horse = project.wait_for_pid("horse.pid");
    // Shutdown stops the worker, then its dependency: by then the horse must be gone.
    assert!(proj.stop().success(), "{}", proj.text());
    assert_eq!(project.wait_for_file("db-saw"), "gone", "{}", proj.text());
    assert!(is_gone(horse));
    kill_if_alive(horse);
}

/// nginx, redis-server, postgres: the process title is written over the argument and
/// environment blocks (setproctitle), so `/proc/PID/environ` no longer holds proj's
/// marker. Two workers are forked without exec, as nginx's are.
const REWRITER: &str = r#"
import ctypes, os, time

def rewrite_title():
    fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    start, end = int(fields[47]), int(fields[48])  # env_start, env_end: fields 50, 51
    ctypes.memset(start, 0, end - start)

def write(name, value):
    open(name + ".tmp", "w").write(f"{value}\n")
    os.rename(name + ".tmp", name)

for n in (1, 2):
    if os.fork() == 0:
        rewrite_title()
        write(f"worker{n}.pid", os.getpid())
        while True:
            time.sleep(1)
rewrite_title()
while True:
    time.sleep(1)
"#;

fn title_rewriting_workers_do_not_outlive_a_sigkill_of_proj(mode: Mode) {
    let project = Project::new("[processes.nginx]\ncommand = \"python3 rewriter.py\"\n");
    project.write("rewriter.py", REWRITER);
    if !mode.available(&project) {
        return;
    }
    let proj = mode.up(&project);
    let workers = [
        project.wait_for_pid("worker1.pid"),
        project.wait_for_pid("worker2.pid"),
    ];
    for worker in workers {
        let environ = std::fs::read(format!("/proc/{worker}/environ")).unwrap();
        assert!(
            !environ.windows(15).any(|w| w == b"PROJ_SUPERVISOR"),
            "the title rewrite did not clear the environment"
        );
    }
    let cgroup = (mode == Mode::Cgroups).then(|| instance_cgroup(proj.pid(), "nginx"));
    if let Some(cgroup) = &cgroup {
        let members = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap();
        for worker in workers {
            assert!(
                members.lines().any(|pid| pid == worker.to_string()),
                "worker {worker} not in {}: {members}",
                cgroup.display()
            );
        }
    }
    kill(Pid::from_raw(proj.pid()), Signal::SIGKILL).unwrap();
    for worker in workers {
        wait_until(&format!("worker {worker} to be killed"), || {
            is_gone(worker).then_some(())
        });
    }
    if let Some(cgroup) = cgroup {
        let tree = cgroup.parent().unwrap().to_path_buf();
        wait_until("the guardian to remove proj's cgroups", || {
            (!tree.exists()).then_some(())
        });
    }
    drop(proj);
    for worker in workers {
        kill_if_alive(worker);
    }
}

/// The cgroup of instance `name` of the proj whose pid is `proj`:
/// `MOUNT/PROJ'S CGROUP/proj-PID/NAME`.
fn instance_cgroup(proj: i32, name: &str) -> PathBuf {
    let own = std::fs::read_to_string(format!("/proc/{proj}/cgroup")).unwrap();
    let path = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .expect("a cgroup2 line");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            (after.split_whitespace().next()? == "cgroup2")
                .then(|| before.split_whitespace().nth(4).map(PathBuf::from))?
        })
        .expect("a cgroup2 mount");
    mount
        .join(path.trim_start_matches('/'))
        .join(format!("proj-{proj}"))
        .join(name)
}

fn a_port_someone_holds_fails_the_instance_naming_the_holder(mode: Mode) {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let project = Project::new(&format!(
        "[processes.web]\ncommand = \"python3 -m http.server $PORT --bind 127.0.0.1\"\nport = {port}\n\n\
         [processes.other]\ncommand = \"sleep 1000\"\n"
    ));
    if !mode.available(&project) {
        return;
    }
    let mut proj = mode.up(&project);
    let line = proj.wait_for(&format!(
        "port {port} is in use by pid {}",
        std::process::id()
    ));
    assert!(line.contains("web: failed"), "{line}");
    // Never spawned: nothing started, nothing crash-looped.
    assert!(!proj.text().contains("web: started"), "{}", proj.text());
    let web = ps_json(mode, &project)
        .into_iter()
        .find(|row| row["name"] == "web")
        .unwrap();
    assert_eq!(web["state"], "failed");
    assert!(
        web["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("port {port} is in use by pid ")),
        "{web}"
    );
    assert_eq!(state_of(mode, &project, "other"), "running");
    assert!(proj.stop().success());
    drop(holder);
}

#[test]
fn a_quoted_simple_command_is_the_instance_s_own_process() {
    // Flask's own docs: `gunicorn 'app:create_app()'`. Quoted `()` and `;` keep it one
    // simple command: no shell stays between proj and the program.
    let project = Project::new(
        r#"
[processes.app]
command = "python3 -c 'import os, time; open(\"app.pid\", \"w\").write(f\"{os.getpid()}\\n\"); time.sleep(1000)'"
"#,
    );
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("app.pid");
    let output = project.run(&["ps", "--json"]);
    let rows: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(rows[0]["pid"], pid, "{rows}");
    assert!(proj.stop().success());
    // The program got the SIGTERM itself: a clean stop, not `killed by signal TERM` of
    // a shell in between.
    assert!(proj.text().contains("app: stopped"), "{}", proj.text());
}

#[test]
fn exec_probes_run_as_the_instance_s_user_with_its_environment_and_directory() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: running as another user needs root");
        return;
    }
    let project = Project::new(
        r#"
[processes.db]
command = "exec sleep 1000"
user = "nobody"
cwd = "data"
env = { EXPECTED_DIR = "$PROJ_ROOT_FOR_TEST/data" }
ready = { exec = "test \"$(id -un)\" = nobody && test \"$PROJ_PROCESS\" = db && test \"$(pwd -P)\" = \"$EXPECTED_DIR\"" }
health = { exec = "test \"$(id -un)\" = nobody", interval = "2s" }
"#,
    );
    std::fs::set_permissions(project.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(project.path("data")).unwrap();
    let root = project.root().canonicalize().unwrap();
    let mut proj = Running::start({
        let mut command = project.command(&["up", "--no-tui"]);
        command.env("PROJ_ROOT_FOR_TEST", &root);
        command
    });
    proj.wait_for("db: ready after");
    assert_eq!(
        state_of(Mode::Cgroups, &project, "db"),
        "running",
        "{}",
        proj.text()
    );
    wait_until("the health check to pass as nobody", || {
        ps_json(Mode::Cgroups, &project)
            .iter()
            .any(|row| row["name"] == "db" && row["health"] == "healthy")
            .then_some(())
    });
    assert!(proj.stop().success());
}

#[test]
fn check_names_the_tracking_in_use() {
    let project = Project::new("[processes.app]\ncommand = \"sleep 1\"\n");
    let off = Mode::ProcessGroups.run(&project, &["check"]);
    assert!(
        off.stdout
            .contains("tracking: process groups and sessions (PROJ_CGROUPS=0 turns cgroups off)"),
        "{}",
        off.stdout
    );
    let default = Mode::Cgroups.run(&project, &["check"]);
    assert!(
        default
            .stdout
            .contains("tracking: cgroups (a cgroup v2 per instance, below /")
            || default
                .stdout
                .contains("tracking: process groups and sessions ("),
        "{}",
        default.stdout
    );
}

#[test]
fn with_cgroups_a_stale_tree_is_removed_by_the_next_up() {
    // proj and its guardian killed at the same instant (a lost machine, an OOM killer
    // with a wide aim): the next `proj up` kills what is left and removes the cgroups.
    let project = Project::new(
        "[processes.app]\ncommand = \"sh -c 'sleep 1000 & echo $! > grandchild.pid; wait'\"\n",
    );
    if !Mode::Cgroups.available(&project) {
        return;
    }
    let proj = Mode::Cgroups.up(&project);
    let grandchild = project.wait_for_pid("grandchild.pid");
    let cgroup = instance_cgroup(proj.pid(), "app");
    let tree = cgroup.parent().unwrap().to_path_buf();
    let guardian = wait_until("the guardian", || {
        crate::support::pids().find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&b| b == 0)
                    .any(|arg| arg == tree.as_os_str().as_encoded_bytes())
            })
        })
    });
    // Stopped first, so that it cannot act on proj's death before it is killed too.
    kill(Pid::from_raw(guardian), Signal::SIGSTOP).unwrap();
    kill(Pid::from_raw(proj.pid()), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(guardian), Signal::SIGKILL).unwrap();
    drop(proj);
    assert!(
        !is_gone(grandchild),
        "the grandchild should be left for the next up"
    );
    assert!(tree.exists());

    let other = Project::new("[processes.next]\ncommand = \"sleep 1000\"\n");
    let mut next = Mode::Cgroups.up(&other);
    next.wait_for("next: started");
    wait_until("the stale tree to be removed", || {
        (!tree.exists()).then_some(())
    });
    assert!(is_gone(grandchild));
    assert!(next.stop().success());
    kill_if_alive(grandchild);
}

#[test]
fn with_cgroups_ps_counts_the_memory_of_every_process_of_the_instance() {
    // The memory is held by a process outside the instance's group: a process group
    // sum would not see it, the cgroup does.
    let project = Project::new(
        r#"
[processes.app]
command = "python3 hog.py"
"#,
    );
    project.write(
        "hog.py",
        "import os, time\n\
         if os.fork() == 0:\n    os.setsid()\n    hog = bytearray(160 << 20)\n    \
         open('hog.ready', 'w').write('1\\n')\n    time.sleep(1000)\n\
         time.sleep(1000)\n",
    );
    if !Mode::Cgroups.available(&project) {
        return;
    }
    let mut proj = Mode::Cgroups.up(&project);
    project.wait_for_file("hog.ready");
    let app = ps_json(Mode::Cgroups, &project)
        .into_iter()
        .find(|row| row["name"] == "app")
        .unwrap();
    let memory = app["memory_bytes"].as_u64().expect("memory_bytes");
    assert!(memory >= 160 << 20, "{app}");
    assert!(proj.stop().success());
}
