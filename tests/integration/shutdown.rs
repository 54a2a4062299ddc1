//! Shutdown and the promise that no process outlives proj (SPEC §6).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::*;

#[test]
fn sigterm_stops_every_process_group_and_exits_zero() {
    let project = Project::new(
        r#"
[processes]
a = "sleep 1000 & echo $! > bg.pid; echo $$ > a.pid; wait"
b = "echo $$ > b.pid; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    let a = project.wait_for_pid("a.pid");
    let background = project.wait_for_pid("bg.pid");
    let b = project.wait_for_pid("b.pid");
    // Each instance leads its own process group, and the background job is in it.
    assert_eq!(stat(a).unwrap()[2], a.to_string());
    assert_eq!(stat(background).unwrap()[2], a.to_string());
    assert_eq!(stat(b).unwrap()[2], b.to_string());

    let status = proj.stop();
    assert!(status.success(), "exit status {status:?}\n{}", proj.text());
    for pid in [a, background, b] {
        assert!(is_gone(pid), "pid {pid} outlived proj");
    }
    proj.wait_for("a: stopped");
    proj.wait_for("all processes stopped");
}

#[test]
fn sigint_stops_like_sigterm() {
    let project = Project::new("[processes]\na = \"echo $$ > a.pid; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    let a = project.wait_for_pid("a.pid");
    proj.signal(Signal::SIGINT);
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(is_gone(a));
}

#[test]
fn a_child_that_ignores_the_stop_signal_is_killed_after_stop_timeout() {
    let project = Project::new(
        r#"
[processes.stubborn]
command = "trap '' TERM; sleep 1000 & echo $! > grandchild.pid; echo $$ > child.pid; while :; do wait; done"
stop_timeout = "1s"
"#,
    );
    let mut proj = project.up(&[]);
    let child = project.wait_for_pid("child.pid");
    let grandchild = project.wait_for_pid("grandchild.pid");
    let asked = Instant::now();
    proj.signal(Signal::SIGTERM);
    assert!(proj.wait_exit(DEADLINE).success());
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "stopped after {took:?}, before stop_timeout"
    );
    assert!(is_gone(child) && is_gone(grandchild));
    proj.wait_for("stubborn: still running 1s after the stop signal: sending SIGKILL");
}

/// A group suspended with SIGSTOP (a debugger's stop, `kill -STOP`) still gets its
/// graceful stop: SIGCONT follows the stop signal, as systemd sends it after KillSignal,
/// so the trap runs at once instead of SIGKILL after the whole stop timeout.
#[test]
fn a_suspended_process_is_continued_to_act_on_its_stop_signal() {
    let project = Project::new(
        r#"
[processes.frozen]
command = "trap 'echo graceful > stopped; exit 0' TERM; echo $$ > child.pid; while :; do sleep 0.1; done"
stop_timeout = "5m"
"#,
    );
    let mut proj = project.up(&[]);
    let child = project.wait_for_pid("child.pid");
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child), Signal::SIGSTOP).unwrap();
    // Stopped shows on some member, not always on the shell: dash starts `sleep` with
    // vfork, and a shell waiting for a vfork child that the SIGSTOP caught before its
    // exec stays in `D` until that child is continued (seen under load).
    wait_until("the group to be stopped", || {
        let stopped = crate::support::pids()
            .filter_map(stat)
            .any(|fields| fields[0] == "T" && fields[2] == child.to_string());
        stopped.then_some(())
    });
    let asked = Instant::now();
    proj.signal(Signal::SIGTERM);
    assert!(proj.wait_exit(DEADLINE).success(), "{}", proj.text());
    assert!(
        asked.elapsed() < DEADLINE,
        "not after the 5 minute stop timeout"
    );
    assert_eq!(
        project.read("stopped").trim(),
        "graceful",
        "{}",
        proj.text()
    );
    assert_eq!(proj.count("sending SIGKILL"), 0, "{}", proj.text());
    assert!(is_gone(child));
}

#[test]
fn a_second_sigint_kills_at_once() {
    let project = Project::new(
        r#"
[processes.stubborn]
command = "trap '' TERM INT; echo $$ > child.pid; while :; do sleep 1; done"
stop_timeout = "10m"
"#,
    );
    let mut proj = project.up(&[]);
    let child = project.wait_for_pid("child.pid");
    proj.signal(Signal::SIGINT);
    proj.wait_for("press Ctrl-C again");
    proj.wait_for("stubborn: stopping (SIGTERM)");
    proj.signal(Signal::SIGINT);
    assert!(proj.wait_exit(DEADLINE).success());
    assert!(is_gone(child));
    proj.wait_for("killing every process now");
}

#[test]
fn the_stop_signal_is_configurable() {
    let project = Project::new(
        r#"
[processes.graceful]
command = "trap 'echo got INT; exit 0' INT; echo $$ > child.pid; while :; do sleep 0.1; done"
stop_signal = "INT"
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_pid("child.pid");
    assert!(proj.stop().success());
    proj.wait_for_output("graceful", "got INT");
}

#[test]
fn a_grandchild_that_left_the_group_with_setsid_is_killed_at_shutdown() {
    let project = Project::new(
        r#"
[processes.escaper]
command = "python3 -c 'import os, time; os.setsid(); open(\"escaped.pid\", \"w\").write(f\"{os.getpid()}\\n\"); time.sleep(1000)' & echo $$ > child.pid; wait"
"#,
    );
    let mut proj = project.up(&[]);
    let escaped = project.wait_for_pid("escaped.pid");
    let child = project.wait_for_pid("child.pid");
    assert_ne!(
        stat(escaped).unwrap()[3],
        stat(child).unwrap()[3],
        "not in its own session"
    );
    assert!(proj.stop().success());
    wait_gone(escaped);
    kill_if_alive(escaped);
}

#[test]
fn nothing_survives_when_proj_is_killed_with_sigkill() {
    let project = Project::new(
        r#"
[processes.family]
command = "sleep 1000 & echo $! > grandchild.pid; python3 -c 'import os, time; os.setsid(); open(\"escaped.pid\", \"w\").write(f\"{os.getpid()}\\n\"); time.sleep(1000)' & echo $$ > child.pid; wait"
[processes.simple]
command = "echo $$ > simple.pid; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    let pids: Vec<i32> = ["child.pid", "grandchild.pid", "escaped.pid", "simple.pid"]
        .iter()
        .map(|file| project.wait_for_pid(file))
        .collect();
    proj.signal(Signal::SIGKILL);
    proj.wait_exit(DEADLINE);
    for &pid in &pids {
        wait_gone(pid);
    }
    for pid in pids {
        kill_if_alive(pid);
    }
}

#[test]
fn children_see_only_stdin_stdout_and_stderr() {
    let project = Project::new("[processes]\nlone = \"echo $$ > child.pid; exec sleep 1000\"\n");
    // A shell that leaves fd 7 open without close-on-exec, then becomes proj: the leak
    // must stop at proj.
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "exec 7</dev/null; exec \"$0\" up --no-tui"])
        .arg(proj_binary())
        .current_dir(project.root());
    let mut proj = Running::start(command);
    let child = project.wait_for_pid("child.pid");
    // The shell's own redirection of `echo` may still be open until it execs sleep.
    wait_until("the shell to exec sleep", || {
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(())
    });
    // sleep itself may hold a descriptor for a moment as it starts (the locale archive
    // it maps): what matters is what stays. A leaked descriptor never goes away, and
    // the wait runs out.
    let fds = || {
        let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{child}/fd"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        fds.sort();
        fds
    };
    wait_until("the child to hold only stdin, stdout and stderr", || {
        (fds() == ["0", "1", "2"]).then_some(())
    });
    assert_eq!(
        std::fs::read_link(format!("/proc/{child}/fd/0")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    assert!(proj.stop().success());
}

#[test]
fn exited_children_are_reaped_even_through_many_quick_restarts() {
    let project = Project::new(
        r#"
[processes.flash]
command = "echo $$ >> starts; exit 1"
backoff = "0ms"
max_restarts = 40
restart_window = "10m"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("flash: failed: restart limit reached (40 restarts within 10m)");
    assert_eq!(project.read("starts").lines().count(), 41);
    let pid = proj.pid();
    wait_until("no zombie children", || {
        zombie_children(pid).is_empty().then_some(())
    });
    assert!(proj.stop().success());
}

#[test]
fn orphans_reparented_to_proj_are_reaped() {
    // A background job of a shell that exits at once (in a session of its own) becomes
    // proj's child (subreaper) while its instance goes on; when it ends it must not stay
    // a zombie.
    let project = Project::new(
        r#"
[processes.parent]
command = "sh spawn-orphan.sh; until [ -e orphan.done ]; do sleep 0.01; done; exec sleep 1000"
"#,
    );
    project.write(
        "spawn-orphan.sh",
        "python3 -c 'import os, time; os.setsid(); time.sleep(0.3); open(\"orphan.done\", \"w\").write(\"done\\n\")' &\n",
    );
    let mut proj = project.up(&[]);
    project.wait_for_file("orphan.done");
    let pid = proj.pid();
    wait_until("no zombie children", || {
        zombie_children(pid).is_empty().then_some(())
    });
    assert!(proj.stop().success());
}

#[test]
fn a_program_behind_a_shell_gets_its_graceful_stop() {
    // `echo …; python3 …` keeps the shell as the group leader; SIGTERM kills the shell at
    // once, but the program must still get to finish its own shutdown.
    let project = Project::new(
        r#"
[processes.app]
command = "echo wrapper; python3 graceful.py"
stop_timeout = "10s"
"#,
    );
    project.write(
        "graceful.py",
        "import signal, sys, time\n\
         def stop(*_):\n    time.sleep(0.5)\n    print('drained', flush=True)\n    sys.exit(0)\n\
         signal.signal(signal.SIGTERM, stop)\n\
         open('app.pid', 'w').write(f'{__import__(\"os\").getpid()}\\n')\n\
         while True:\n    time.sleep(1)\n",
    );
    let mut proj = project.up(&[]);
    let app = project.wait_for_pid("app.pid");
    let asked = Instant::now();
    assert!(proj.stop().success());
    let took = asked.elapsed();
    proj.wait_for_output("app", "drained");
    assert!(took >= Duration::from_millis(500), "stopped after {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "waited for the stop timeout: {took:?}"
    );
    assert!(is_gone(app));
    assert_eq!(proj.count("sending SIGKILL"), 0, "{}", proj.text());
}
