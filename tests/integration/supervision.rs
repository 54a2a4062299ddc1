//! Supervision with real processes: environment, restarts, spawn failures, dependency
//! order, instance selection.

use crate::support::*;

#[test]
fn each_child_gets_the_spec_environment() {
    let project = Project::new(
        r#"
[project]
env_file = [".env", "missing.env"]

[env]
FROM_ENV_FILE = "overridden by [env]"
SHARED = "project"

[processes.web]
command = "env > env.$PROJ_INSTANCE.txt; exec sleep 1000"
port = 8000
scale = 2
env = { SHARED = "process", PORT = "overridden by port" }
"#,
    );
    project.write(".env", "FROM_ENV_FILE=dotenv\nONLY_IN_ENV_FILE=yes\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web.1: started pid");
    proj.wait_for("web.2: started pid");
    let first = project.wait_for_file_content("env.1.txt", "PROJ_INSTANCE=");
    let second = project.wait_for_file_content("env.2.txt", "PROJ_INSTANCE=");
    for (env, instance, port) in [(&first, "1", "8000"), (&second, "2", "8001")] {
        let has = |line: &str| env.lines().any(|l| l == line);
        assert!(has(&format!("PORT={port}")), "{env}");
        assert!(has(&format!("PROJ_INSTANCE={instance}")), "{env}");
        assert!(has("PROJ_PROCESS=web"), "{env}");
        assert!(has("SHARED=process"), "{env}");
        assert!(has("FROM_ENV_FILE=overridden by [env]"), "{env}");
        assert!(has("ONLY_IN_ENV_FILE=yes"), "{env}");
        // proj's own environment is inherited.
        assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    }
    assert!(proj.stop().success());
}

#[test]
fn a_crashing_process_is_restarted_with_backoff_until_the_limit() {
    let project = Project::new(
        r#"
[processes.crasher]
command = "echo $$ >> starts; echo about to fail; exit 3"
backoff = "50ms"
max_restarts = 2
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("crasher: failed: restart limit reached (2 restarts within 1m)");
    assert_eq!(project.read("starts").lines().count(), 3);
    assert_eq!(proj.count("crasher: exited with code 3"), 3);
    proj.wait_for("crasher: restarting in 50ms");
    proj.wait_for("crasher: restarting in 100ms");
    proj.wait_for_output("crasher", "about to fail");
    // proj keeps supervising after a failure.
    assert!(proj.stop().success());
}

#[test]
fn restart_never_and_a_clean_exit() {
    let project = Project::new(
        r#"
[processes]
done = "exit 0"

[processes.crash]
command = "exit 4"
restart = "never"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("done: exited with code 0");
    proj.wait_for("crash: failed: exited with code 4 (restart = \"never\")");
    assert!(proj.stop().success());
    assert_eq!(proj.count("restarting"), 0);
}

#[test]
fn restart_always_restarts_a_clean_exit() {
    let project = Project::new(
        r#"
[processes.loop]
command = "echo $$ >> starts"
restart = "always"
backoff = "10ms"
max_restarts = 3
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("loop: failed: restart limit reached");
    assert_eq!(project.read("starts").lines().count(), 4);
    assert!(proj.stop().success());
}

#[test]
fn a_command_that_cannot_be_spawned_fails_and_the_rest_keeps_running() {
    let project = Project::new(
        r#"
[processes]
missing = "no-such-program-anywhere --flag"
healthy = "echo $$ > healthy.pid; exec sleep 1000"

# The directory exists when the config is checked; a oneshot removes it before badcwd
# starts.
[processes.remove]
command = "rm -r gone"
oneshot = true

[processes.badcwd]
command = "true"
cwd = "gone"
depends_on = ["remove"]
"#,
    );
    project.write("gone/.keep", "");
    let mut proj = project.up(&[]);
    proj.wait_for("missing: failed: cannot be spawned: command not found");
    proj.wait_for("badcwd: failed: cannot be spawned: working directory");
    let healthy = project.wait_for_pid("healthy.pid");
    assert!(!is_gone(healthy));
    assert_eq!(proj.count("restarting"), 0);
    assert!(proj.stop().success());
}

#[test]
fn dependencies_start_first() {
    let project = Project::new(
        r#"
[processes.web]
command = "test -f migrated && echo saw the migration; exec sleep 1000"
depends_on = ["migrate"]

[processes.migrate]
command = "sleep 0.3; touch migrated"
oneshot = true
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("web: waiting for migrate");
    proj.wait_for_output("web", "saw the migration");
    assert!(proj.stop().success());
}

#[test]
fn a_failed_dependency_leaves_its_dependants_pending() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo started > web.started; exec sleep 1000"
depends_on = ["migrate"]

[processes.migrate]
command = "exit 1"
oneshot = true
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("migrate: failed: exited with code 1");
    assert!(proj.stop().success());
    assert!(!project.path("web.started").exists());
}

#[test]
fn up_with_names_starts_those_and_their_dependencies_only() {
    let project = Project::new(
        r#"
[processes]
db = "touch db.started; exec sleep 1000"
other = "touch other.started; exec sleep 1000"

[processes.web]
command = "touch web.started; exec sleep 1000"
depends_on = ["db"]
"#,
    );
    let mut proj = project.up(&["web"]);
    project.wait_for_marker("web.started");
    project.wait_for_marker("db.started");
    assert!(proj.stop().success());
    assert!(!project.path("other.started").exists());
}

#[test]
fn autostart_false_is_not_started() {
    let project = Project::new(
        r#"
[processes]
on = "touch on.started; exec sleep 1000"

[processes.off]
command = "touch off.started; exec sleep 1000"
autostart = false
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_marker("on.started");
    assert!(proj.stop().success());
    assert!(!project.path("off.started").exists());
}

#[test]
fn an_unknown_name_is_refused_with_the_known_ones() {
    let project = Project::new("[processes]\nweb = \"sleep 1\"\n");
    let output = project.run(&["up", "--no-tui", "wbe"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains("`wbe`"), "{}", output.stderr);
    assert!(output.stderr.contains("`web`"), "{}", output.stderr);
    assert!(!project.path(".proj").exists(), "nothing may start");
}

/// `proj up --exit-on-failure`: the first instance to fail stops everything, dependants
/// first, and proj exits 1 naming it.
#[test]
fn exit_on_failure_stops_everything_in_order_and_exits_1_naming_the_failure() {
    let project = Project::new(
        r#"
[processes.db]
command = "trap 'echo db >> stopped; exit 0' TERM; echo $$ > db.pid; while :; do sleep 0.1; done"

[processes.web]
command = "trap 'echo web >> stopped; exit 0' TERM; echo $$ > web.pid; while :; do sleep 0.1; done"
depends_on = ["db"]

[processes.flaky]
command = "until test -e web.pid; do sleep 0.01; done; exit 3"
restart = "never"
depends_on = ["web"]
"#,
    );
    let mut proj = project.up(&["--exit-on-failure"]);
    let (db, web) = (
        project.wait_for_pid("db.pid"),
        project.wait_for_pid("web.pid"),
    );
    let status = proj.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(1), "{}", proj.text());
    proj.wait_for("stderr: error: flaky: exited with code 3 (restart = \"never\")");
    proj.wait_for("--exit-on-failure: flaky: exited with code 3");
    assert!(is_gone(db) && is_gone(web));
    assert_eq!(
        project.read("stopped"),
        "web\ndb\n",
        "dependants stop first"
    );
}

#[test]
fn exit_on_failure_keeps_supervising_while_nothing_fails() {
    let project = Project::new(
        "[processes]\nweb = \"echo $$ > web.pid; exec sleep 1000\"\nonce = \"true\"\n",
    );
    let mut proj = project.up(&["--exit-on-failure"]);
    let web = project.wait_for_pid("web.pid");
    proj.wait_for("once: exited with code 0");
    assert!(!is_gone(web));
    assert!(proj.stop().success());
}

#[test]
fn a_silent_exit_at_once_hints_at_a_terminal() {
    // Tailwind's `--watch` with stdin at /dev/null exits 0 at once, printing nothing.
    let project = Project::new(
        r#"
[processes.css]
command = "sh -c 'read -r line || exit 0'"

[processes.chatty]
command = "echo built; touch chatty.done"

[processes.repl]
command = "true"
tty = true
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("css: exited at once with code 0 and printed nothing");
    let hint = proj.wait_for("css: exited at once");
    assert!(hint.contains("try `tty = true`"), "{hint}");
    project.wait_for_marker("chatty.done");
    proj.wait_for("chatty: exited with code 0");
    proj.wait_for("repl: exited with code 0");
    assert!(proj.stop().success());
    let text = proj.text();
    assert!(!text.contains("chatty: exited at once"), "{text}");
    assert!(!text.contains("repl: exited at once"), "{text}");
}
