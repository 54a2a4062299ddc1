//! `stop_sequence` and `stop_target` with real processes: each child writes down which
//! signal reached it and when (CLOCK_MONOTONIC, the clock this test reads too), so the
//! test sees where and when each step arrived.

use nix::sys::signal::Signal;
use nix::time::{ClockId, clock_gettime};

use crate::support::*;

/// Seconds on CLOCK_MONOTONIC, as Python's `time.monotonic()` reads it.
fn monotonic() -> f64 {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("clock");
    now.tv_sec() as f64 + now.tv_nsec() as f64 / 1e9
}

/// The `NAME TIME` lines a child wrote to `file`, in order.
fn received(project: &Project, file: &str) -> Vec<(String, f64)> {
    project
        .read(file)
        .lines()
        .filter_map(|line| {
            let (name, at) = line.split_once(' ')?;
            Some((name.to_string(), at.parse().ok()?))
        })
        .collect()
}

/// Records every TSTP, TERM, INT and QUIT it receives (`WHO SIGNAL TIME` in
/// `signals`) and ignores them, so that a stop sequence must go all the way.
const RECORDER: &str = r#"import os, signal, sys, time
who = sys.argv[1]
def record(number, frame):
    with open("signals", "a") as f:
        f.write(f"{who}:{signal.Signals(number).name} {time.monotonic()}\n")
for s in (signal.SIGTSTP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
    signal.signal(s, record)
open(f"{who}.pid", "w").write(f"{os.getpid()}\n")
while True:
    signal.pause()
"#;

#[test]
fn each_step_arrives_after_the_previous_wait_then_sigkill_after_the_last() {
    let project = Project::new(
        r#"
[processes.worker]
command = "python3 recorder.py worker"
stop_sequence = [{ signal = "TSTP", wait = "1s" }, { signal = "TERM", wait = "1s" }]
"#,
    );
    project.write("recorder.py", RECORDER);
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("worker.pid");
    proj.signal(Signal::SIGTERM);
    proj.wait_for("worker: stopping (SIGTSTP)");
    proj.wait_for("worker: still running 1s after SIGTSTP: sending SIGTERM");
    proj.wait_for("worker: still running 1s after the stop signal: sending SIGKILL");
    wait_gone(pid);
    let gone_at = monotonic();
    assert!(proj.wait_exit(DEADLINE).success());
    let signals = received(&project, "signals");
    let names: Vec<&str> = signals.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["worker:SIGTSTP", "worker:SIGTERM"], "{signals:?}");
    let (tstp, term) = (signals[0].1, signals[1].1);
    // The child stamps a signal when its Python handler runs, which can lag the
    // delivery by some milliseconds: 0.1 s of slack below the 1 s wait.
    assert!(
        term - tstp >= 0.9,
        "TERM only after TSTP's wait: {signals:?}"
    );
    assert!(
        term - tstp < 3.0,
        "TERM soon after TSTP's wait: {signals:?}"
    );
    assert!(gone_at - term >= 0.9, "SIGKILL only after TERM's wait");
}

#[test]
fn a_sequence_ends_as_soon_as_the_instance_is_gone() {
    let project = Project::new(
        r#"
[processes.quick]
command = "trap 'echo TERM >> got; exit 0' TERM; echo $$ > quick.pid; while :; do sleep 0.05; done"
stop_sequence = [{ signal = "TERM", wait = "30s" }, { signal = "QUIT", wait = "30s" }]
"#,
    );
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("quick.pid");
    let asked = monotonic();
    proj.signal(Signal::SIGINT);
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(is_gone(pid));
    assert!(
        monotonic() - asked < 10.0,
        "did not wait out the 30 s steps"
    );
    assert_eq!(project.read("got"), "TERM\n");
    assert!(!proj.text().contains("SIGQUIT"), "{}", proj.text());
}

/// A Celery-style worker: the main process forks a pool child that works on a job for
/// 1.5 s, and on TERM waits for the job (a warm shutdown). A leftover that ignores TERM
/// stays behind in the group.
const POOL: &str = r#"import os, signal, sys, time
def record(who, name):
    with open("signals", "a") as f:
        f.write(f"{who}:{name} {time.monotonic()}\n")
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, lambda n, f: record("pool", "SIGTERM"))
    open("job.started", "w")
    time.sleep(1.5)
    open("job.done", "w")
    os._exit(0)
leftover = os.fork()
if leftover == 0:
    signal.signal(signal.SIGTERM, lambda n, f: record("leftover", "SIGTERM"))
    open("leftover.pid", "w").write(f"{os.getpid()}\n")
    while True:
        signal.pause()
def warm_shutdown(number, frame):
    record("main", "SIGTERM")
    os.waitpid(child, 0)
    record("main", "exit")
    sys.exit(0)
signal.signal(signal.SIGTERM, warm_shutdown)
open("main.pid", "w").write(f"{os.getpid()}\n")
while True:
    signal.pause()
"#;

#[test]
fn stop_target_main_lets_the_main_process_drain_its_pool_then_stops_the_leftovers() {
    let project = Project::new(
        r#"
[processes.worker]
command = "python3 pool.py"
stop_target = "main"
stop_sequence = [{ signal = "TERM", wait = "20s" }]
"#,
    );
    project.write("pool.py", POOL);
    let mut proj = project.up(&[]);
    let main = project.wait_for_pid("main.pid");
    let leftover = project.wait_for_pid("leftover.pid");
    project.wait_for_marker("job.started");
    proj.signal(Signal::SIGTERM);
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    assert!(is_gone(main) && is_gone(leftover));
    assert!(
        project.path("job.done").exists(),
        "the running job finished"
    );
    let signals = received(&project, "signals");
    let names: Vec<&str> = signals.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["main:SIGTERM", "main:exit", "leftover:SIGTERM"],
        "only the main process is signalled; the leftover once it is alone: {signals:?}"
    );
}

#[test]
fn stop_target_group_signals_every_process_of_the_instance() {
    let project = Project::new(
        r#"
[processes.worker]
command = "python3 pool.py"
stop_sequence = [{ signal = "TERM", wait = "1s" }]
"#,
    );
    project.write("pool.py", POOL);
    let mut proj = project.up(&[]);
    project.wait_for_pid("main.pid");
    project.wait_for_pid("leftover.pid");
    project.wait_for_marker("job.started");
    proj.signal(Signal::SIGTERM);
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    let names: Vec<String> = received(&project, "signals")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(names.contains(&"pool:SIGTERM".to_string()), "{names:?}");
    assert!(names.contains(&"leftover:SIGTERM".to_string()), "{names:?}");
}

#[test]
fn a_command_step_runs_with_the_instance_environment_and_its_output_is_logged() {
    let project = Project::new(
        r#"
[processes.app]
command = "trap 'exit 0' TERM; echo $$ > app.pid; while :; do sleep 0.05; done"
env = { GREETING = "bye" }
stop_sequence = [{ command = "echo $GREETING from $PROJ_PROCESS in $(pwd); kill -TERM $(cat app.pid)", wait = "10s" }]
"#,
    );
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("app.pid");
    let output = project.run(&["stop", "app"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(is_gone(pid));
    let root = project.root().canonicalize().unwrap();
    let said = format!("bye from app in {}", root.display());
    proj.wait_for("app: stopping (running `echo $GREETING");
    proj.wait_for_output("app", &said);
    assert!(project.read(".proj/logs/app.log").contains(&said));
    assert!(proj.stop().success());
}

#[test]
fn a_second_ctrl_c_kills_at_once_during_a_long_sequence() {
    let project = Project::new(
        r#"
[processes.worker]
command = "python3 recorder.py worker"
stop_sequence = [{ signal = "TSTP", wait = "10m" }, { signal = "TERM", wait = "10m" }]
"#,
    );
    project.write("recorder.py", RECORDER);
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("worker.pid");
    proj.signal(Signal::SIGINT);
    proj.wait_for("worker: stopping (SIGTSTP)");
    proj.signal(Signal::SIGINT);
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(is_gone(pid));
    proj.wait_for("killing every process now");
}

fn check_refuses(config: &str, position: &str, message: &str) {
    let project = Project::new(config);
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains(&format!("proj.toml:{position}")),
        "want proj.toml:{position} in:\n{}",
        output.stderr
    );
    assert!(
        output.stderr.contains(message),
        "want {message:?} in:\n{}",
        output.stderr
    );
}

#[test]
fn bad_stop_sequences_are_refused_with_their_position() {
    let head = "[processes.w]\ncommand = \"sleep 1\"\n";
    check_refuses(
        &format!("{head}stop_sequence = [{{ wait = \"1s\" }}]\n"),
        "3:18",
        "a step needs a `signal` or a `command`",
    );
    check_refuses(
        &format!(
            "{head}stop_sequence = [{{ signal = \"TERM\", command = \"x\", wait = \"1s\" }}]\n"
        ),
        "3:18",
        "a step has both `signal` and `command`",
    );
    check_refuses(
        &format!("{head}stop_sequence = [{{ signal = \"NOPE\", wait = \"1s\" }}]\n"),
        "3:29",
        "invalid value for `signal`",
    );
    check_refuses(
        &format!("{head}stop_sequence = [{{ signal = \"TERM\" }}]\n"),
        "3:18",
        "a step needs a `wait`",
    );
    check_refuses(
        &format!("{head}stop_sequence = [{{ signal = \"TERM\", wait = \"0s\" }}]\n"),
        "3:44",
        "a step must wait for something",
    );
    check_refuses(&format!("{head}stop_sequence = []\n"), "3:17", "no steps");
    check_refuses(
        &format!("{head}stop_target = \"leader\"\n"),
        "3:15",
        "`leader` is not a stop target",
    );
    check_refuses(
        &format!(
            "{head}stop_signal = \"INT\"\nstop_sequence = [{{ signal = \"TERM\", wait = \"1s\" }}]\n"
        ),
        "3:15",
        "`stop_signal` and `stop_sequence` both say how to stop this process",
    );
}

#[test]
fn the_systemd_unit_waits_for_the_longest_stop_sequence() {
    let project = Project::new(
        r#"
[project]
name = "jobs"

[processes.worker]
command = "sleep 1000"
stop_sequence = [{ signal = "TSTP", wait = "100s" }, { signal = "TERM", wait = "50s" }]
"#,
    );
    let output = project.run(&["export", "systemd", "-o", "units"]);
    assert!(output.status.success(), "{}", output.stderr);
    let unit = project.read("units/jobs.service");
    // 150 s of steps, the SIGKILL grace (1 s) and systemd's margin (10 s).
    assert!(unit.contains("TimeoutStopSec=161s"), "{unit}");
}
