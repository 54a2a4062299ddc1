//! Working inside a stack (SPEC §9.5): `proj signal` and `proj run`.

use std::os::unix::process::ExitStatusExt;

use crate::support::{Detached, Project, Running, wait_until};

/// A program that writes each signal it gets to `got.txt`, and its pid to `NAME.pid`;
/// its child (same group) writes what it gets to `child.txt`.
const RECORDER: &str = r#"
import os, signal, sys, time
def recorder(path):
    def record(number, _):
        with open(path, "a") as file:
            file.write(signal.Signals(number).name + "\n")
    for name in ("SIGHUP", "SIGUSR1", "SIGUSR2"):
        signal.signal(getattr(signal, name), record)
if os.fork() == 0:
    recorder("child.txt")
    while True:
        time.sleep(1)
recorder("got.txt")
open(os.environ["PROJ_PROCESS"] + ".pid", "w").write(f"{os.getpid()}\n")
while True:
    time.sleep(1)
"#;

#[test]
fn signal_reaches_the_main_process_or_with_group_every_process() {
    let project = Project::new("[processes.web]\ncommand = \"python3 recorder.py\"\n");
    project.write("recorder.py", RECORDER);
    let mut proj = project.up(&[]);
    let pid = project.wait_for_pid("web.pid");
    let output = project.run(&["signal", "HUP", "web"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(
        output.stdout.trim(),
        format!("web: sent SIGHUP to pid {pid}")
    );
    project.wait_for_file_content("got.txt", "SIGHUP");
    // A number and the SIG prefix, as kill takes them.
    assert!(project.run(&["signal", "SIGUSR2", "web"]).status.success());
    project.wait_for_file_content("got.txt", "SIGUSR2");
    assert!(!project.path("child.txt").exists(), "only the main process");
    let output = project.run(&["signal", "--group", "10", "web"]);
    assert!(output.status.success(), "{}", output.stderr);
    project.wait_for_file_content("child.txt", "SIGUSR1");
    project.wait_for_file_content("got.txt", "SIGUSR1");
    assert!(proj.stop().success());
}

#[test]
fn signal_refuses_an_unknown_signal_or_name_with_exit_2() {
    let project = Project::new("[processes.web]\ncommand = \"sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web: started");
    let output = project.run(&["signal", "HUPP", "web"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("HUP"), "{}", output.stderr);
    let output = project.run(&["signal", "HUP", "nope"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("nope"), "{}", output.stderr);
    assert!(proj.stop().success());
}

#[test]
fn run_takes_an_instance_s_environment_and_directory_and_its_exit_code() {
    let project = Project::new(
        r#"
[env]
GREETING = "hello"

[processes.web]
command = "sleep 1000"
port = 7311
cwd = "app"
env = { ROLE = "web $PROJ_INSTANCE" }
"#,
    );
    std::fs::create_dir(project.path("app")).unwrap();
    // No supervisor runs: proj run does not need one.
    let output = project.run(&[
        "run",
        "--in",
        "web",
        "--",
        "sh",
        "-c",
        "echo \"$GREETING|$PORT|$ROLE|$PROJ_PORT_WEB|$(pwd -P)|${PROJ_SUPERVISOR:-none}\"",
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let app = project.root().canonicalize().unwrap().join("app");
    assert_eq!(
        output.stdout.trim(),
        format!("hello|7311|web 1|7311|{}|none", app.display())
    );
    // Without --in: the project's environment, at the root; one argument is a shell line.
    let output = project.run(&[
        "run",
        "echo \"$GREETING $PROJ_PORT_WEB ${PORT:-noport}\"; exit 7",
    ]);
    assert_eq!(output.status.code(), Some(7), "{}", output.stderr);
    assert_eq!(output.stdout.trim(), "hello 7311 noport");
    // A signal ends it as it would end the command.
    let killed = project.run(&["run", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(killed.status.signal(), Some(15));
}

#[test]
fn run_takes_the_auto_ports_of_the_running_supervisor() {
    let project = Project::new(
        "[processes.api]\ncommand = \"python3 -m http.server $PORT --bind 127.0.0.1\"\nport = \"auto\"\n",
    );
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    let _detached = Detached(&project);
    let port = wait_until("the auto port in ps", || {
        let output = project.run(&["ps", "--json"]);
        let rows: serde_json::Value = serde_json::from_str(&output.stdout).ok()?;
        rows[0]["port"].as_u64()
    });
    let output = project.run(&["run", "echo $PROJ_PORT_API"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(output.stdout.trim(), port.to_string());
}

#[test]
fn processes_get_proj_root_their_own_pwd_and_every_instance_s_port() {
    // Started from a subdirectory, as `cd var && proj up` is: PWD is still each
    // process's own directory, never the caller's.
    let project = Project::new(
        r#"
[env]
UPSTREAMS = "$PROJ_PORTS_WEB"
API = "$BASE/api"
BASE = "http://${PROJ_HOST_WEB}:${PROJ_PORT_WEB}"
DATA = "$PROJ_ROOT/var"

[processes.web]
command = "sleep 1000"
port = 7420
scale = 3

[processes.probe]
command = "echo \"$PROJ_ROOT|$PWD|$UPSTREAMS|$API|$DATA|$LOGS\" > $PROJ_ROOT/seen.txt; exec sleep 1000"
cwd = "var"
env = { LOGS = "$PWD/logs" }
"#,
    );
    std::fs::create_dir(project.path("var")).unwrap();
    let check = project.run(&["check"]);
    assert!(check.status.success(), "{}", check.stderr);
    assert!(!check.stderr.contains("is not set"), "{}", check.stderr);
    let root = project.root().canonicalize().unwrap();
    let mut proj = Running::start({
        let mut command = project.command(&["up", "--no-tui"]);
        command.current_dir(project.path("var"));
        command
    });
    let seen = project.wait_for_file("seen.txt");
    let var = root.join("var");
    assert_eq!(
        seen,
        format!(
            "{root}|{var}|7420,7421,7422|http://127.0.0.1:7420/api|{root}/var|{var}/logs",
            root = root.display(),
            var = var.display()
        )
    );
    assert!(proj.stop().success());
}

#[test]
fn a_relative_path_entry_of_env_is_the_project_s() {
    let project = Project::new(
        r#"
[env]
PATH = "tools:$PATH"

[processes.front]
command = "mytool"
cwd = "frontend"
"#,
    );
    std::fs::create_dir_all(project.path("frontend")).unwrap();
    project.write(
        "tools/mytool",
        "#!/bin/sh\necho found > \"$PROJ_ROOT/found.txt\"\nexec sleep 1000\n",
    );
    std::fs::set_permissions(
        project.path("tools/mytool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut proj = project.up(&[]);
    assert_eq!(project.wait_for_file("found.txt"), "found");
    assert!(proj.stop().success());
}
