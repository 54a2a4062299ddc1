//! The TUI end to end: `proj up --tui` in a detached tmux session of a fixed size, read
//! with `capture-pane`, driven with `send-keys`. Skipped (with a message) when tmux is
//! not installed.

use std::process::Command;

use crate::support::tmux::Tmux;
use crate::support::*;

fn pids(project: &Project, file: &str) -> Vec<i32> {
    project
        .read(file)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[test]
fn up_tui_shows_the_processes_restarts_with_r_and_stops_everything_with_q() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ >> web.pids; echo web says hello; exec sleep 1000"
port = 8000

[processes.worker]
command = "echo $$ >> worker.$PROJ_INSTANCE.pids; echo working; exec sleep 1000"
scale = 2
"#,
    );
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.type_line(&format!(
        "{} up --tui; echo \"proj exited $?\"",
        proj_binary()
    ));

    // Every instance in the list, running, and their output in the merged view.
    let screen = tmux.wait_for_screen("the TUI with three running instances", |screen| {
        screen.matches(" running ").count() >= 3 && screen.contains("web says hello")
    });
    assert!(screen.contains("worker.2"), "{screen}");
    assert!(tmux.alternate_screen());
    let web = project.wait_for_pid("web.pids");
    let workers = [
        project.wait_for_pid("worker.1.pids"),
        project.wait_for_pid("worker.2.pids"),
    ];

    // `r` restarts the selected instance (the first: web) with a new process.
    tmux.press("r");
    let restarted = wait_until("web to run a new process", || {
        pids(&project, "web.pids").get(1).copied()
    });
    assert_ne!(restarted, web);
    wait_gone(web);
    tmux.wait_for_screen("web's restart count", |screen| {
        screen.contains(&restarted.to_string())
    });

    // `q` stops everything and gives the terminal back to the shell.
    tmux.press("q");
    let screen = tmux.wait_for_screen("the shell again", |screen| screen.contains("proj exited 0"));
    assert!(!tmux.alternate_screen(), "{screen}");
    for pid in [restarted, workers[0], workers[1]] {
        assert!(is_gone(pid), "pid {pid} outlived proj");
    }
    // proj's own messages went to the log file, not over the screen.
    let log = project.read(".proj/logs/proj.log");
    assert!(log.contains("web: restart requested"), "{log}");
    assert!(log.contains("all processes stopped"), "{log}");
}

#[test]
fn ctrl_c_shows_the_shutdown_and_a_second_ctrl_c_kills_now() {
    let project = Project::new(
        r#"
[processes.stubborn]
command = "trap '' TERM; echo $$ > stubborn.pid; while true; do sleep 0.1; done"
stop_timeout = "60s"
"#,
    );
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.type_line(&format!(
        "{} up --tui; echo \"proj exited $?\"",
        proj_binary()
    ));
    tmux.wait_for_screen("stubborn running", |screen| screen.contains(" running "));
    let stubborn = project.wait_for_pid("stubborn.pid");

    // In raw mode Ctrl-C is a key, not SIGINT: the TUI asks for a graceful stop and
    // says what it waits for.
    tmux.press("C-c");
    tmux.wait_for_screen("the shutdown progress line", |screen| {
        screen.contains("stopping: 1 of 1 still running (stubborn)")
            && screen.contains("Ctrl-C again kills them now")
    });
    assert!(!is_gone(stubborn), "SIGTERM is ignored: it must still run");
    tmux.press("C-c");
    let screen = tmux.wait_for_screen("the shell again", |screen| screen.contains("proj exited 0"));
    assert!(!tmux.alternate_screen(), "{screen}");
    assert!(is_gone(stubborn), "pid {stubborn} outlived proj");
}

#[test]
fn sigterm_stops_everything_and_restores_the_terminal() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ > web.pid; exec sleep 1000"
"#,
    );
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.type_line(&format!(
        "{} up --tui; echo \"proj exited $?\"",
        proj_binary()
    ));
    tmux.wait_for_screen("web running", |screen| screen.contains(" running "));
    let web = project.wait_for_pid("web.pid");
    // The TUI's size follows the terminal's.
    tmux.resize(90, 20);
    tmux.wait_for_screen("the footer redrawn at 90 columns", |screen| {
        screen
            .lines()
            .nth(19)
            .is_some_and(|line| line.starts_with(" ? help  q quit"))
    });

    // proj is web's parent (web's shell execs sleep).
    let proj: i32 = stat(web).expect("web runs")[1].parse().expect("a ppid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(proj),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal proj");
    let screen = tmux.wait_for_screen("the shell again", |screen| screen.contains("proj exited 0"));
    assert!(!tmux.alternate_screen(), "{screen}");
    assert!(is_gone(web));
}

#[test]
fn attach_shows_a_running_supervisor_and_q_only_detaches() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ > web.pid; echo web says hello; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web: started pid");
    let web = project.wait_for_pid("web.pid");
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.type_line(&format!(
        "{} attach; echo \"attach exited $?\"",
        proj_binary()
    ));
    let screen = tmux.wait_for_screen("the attached TUI", |screen| {
        screen.contains("attached") && screen.contains("web says hello")
    });
    assert!(screen.contains("q detach"), "{screen}");
    tmux.press("q");
    tmux.wait_for_screen("the shell again", |screen| {
        screen.contains("attach exited 0")
    });
    assert!(!tmux.alternate_screen());
    // Detaching stopped nothing.
    assert!(!is_gone(web));
    assert!(project.run(&["ps"]).status.success());
    assert!(proj.stop().success());
}

#[test]
fn attach_without_a_supervisor_exits_1() {
    let project = Project::new("[processes.web]\ncommand = \"sleep 1\"\n");
    let output = project.run(&["attach"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(
        output.stderr.contains("no proj running"),
        "{}",
        output.stderr
    );
}

#[test]
fn up_tui_without_a_terminal_exits_1_and_leaves_nothing_running() {
    let project =
        Project::new("[processes.web]\ncommand = \"echo $$ > web.pid; exec sleep 1000\"\n");
    // No controlling terminal (a session of its own), stdout a pipe.
    let output = Command::new("setsid")
        .args(["-w", proj_binary(), "up", "--tui"])
        .current_dir(project.root())
        .env_remove("PROJ_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run setsid");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot show the TUI"), "{stderr}");
    if let Ok(pid) = project.read("web.pid").trim().parse::<i32>() {
        assert!(is_gone(pid));
    }
}
