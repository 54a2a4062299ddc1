//! `[[setup]]` and `requires` as a user meets them: `proj setup`, and the setup phase of
//! `proj up`. Real steps (`sh`) in temp projects; markers written by the steps tell what
//! ran.

use nix::sys::signal::Signal;

use crate::support::*;

/// A project whose steps each append their name to `ran.txt`.
fn three_steps() -> Project {
    let project = Project::new(
        r#"
[[setup]]
name = "make db"
command = "echo 'make db' >> ran.txt; mkdir -p var && touch var/db"
creates = "var/db"

[[setup]]
name = "python deps"
command = "echo 'python deps' >> ran.txt; echo installing"
sources = ["requirements.txt", "lib/**/*.py"]

[[setup]]
name = "check tool"
command = "echo 'check tool' >> ran.txt"
skip_if = "test -f tool-ok"

[[setup]]
name = "always"
command = "echo always >> ran.txt"

[processes]
web = "sleep 1000"
"#,
    );
    project.write("requirements.txt", "flask\n");
    project.write("lib/app/models.py", "x = 1\n");
    project
}

fn ran(project: &Project) -> Vec<String> {
    let ran = project.read("ran.txt").lines().map(String::from).collect();
    let _ = std::fs::remove_file(project.path("ran.txt"));
    ran
}

#[test]
fn steps_run_in_order_then_skip_by_their_rules() {
    let project = three_steps();
    let first = project.run(&["setup"]);
    assert!(first.status.success(), "{}", first.stderr);
    assert_eq!(
        ran(&project),
        ["make db", "python deps", "check tool", "always"]
    );
    for line in [
        "ran      make db      (",
        "ran      python deps  (",
        "ran      check tool   (",
        "ran      always       (",
    ] {
        assert!(first.stdout.contains(line), "{line:?} in\n{}", first.stdout);
    }
    assert!(first.stdout.contains("var/db missing"), "{}", first.stdout);

    project.write("tool-ok", "");
    let second = project.run(&["setup"]);
    assert!(second.status.success(), "{}", second.stderr);
    assert_eq!(
        ran(&project),
        ["always"],
        "a step with no rule runs every time"
    );
    for line in [
        "skipped  make db      (creates var/db exists)",
        "skipped  python deps  (sources unchanged)",
        "skipped  check tool   (skip_if exited 0",
    ] {
        assert!(
            second.stdout.contains(line),
            "{line:?} in\n{}",
            second.stdout
        );
    }

    // Editing a source, or adding a file a glob matches, runs the step again.
    project.write("lib/app/models.py", "x = 2\n");
    assert!(project.run(&["setup"]).status.success());
    assert_eq!(ran(&project), ["python deps", "always"]);
    project.write("lib/new.py", "");
    let after_new = project.run(&["setup"]);
    assert!(
        after_new.stdout.contains("sources changed"),
        "{}",
        after_new.stdout
    );
    assert_eq!(ran(&project), ["python deps", "always"]);
    // Touching without changing does not.
    project.write("requirements.txt", "flask\n");
    assert!(project.run(&["setup"]).status.success());
    assert_eq!(ran(&project), ["always"]);

    let state = project.read(".proj/state.json");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["version"], 1);
    assert!(
        state["setup"]["python deps"]["sources"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(state["setup"]["make db"]["finished_at"].is_string());
}

#[test]
fn a_failing_step_stops_setup_shows_its_tail_and_starts_nothing() {
    let project = Project::new(
        r#"
[[setup]]
name = "first"
command = "touch first-ran"
creates = "first-ran"

[[setup]]
name = "migrate"
command = "for i in $(seq 1 40); do echo line $i; done; echo 'no such table' >&2; exit 3"

[[setup]]
name = "later"
command = "touch later-ran"

[processes]
web = "touch web-started; sleep 1000"
"#,
    );
    let output = project.run(&["up", "--no-tui"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    let stderr = &output.stderr;
    assert!(
        stderr.contains("setup step `migrate` failed: exit code 3"),
        "{stderr}"
    );
    assert!(stderr.contains("command: for i in $(seq 1 40)"), "{stderr}");
    assert!(stderr.contains("last 30 lines"), "{stderr}");
    assert!(stderr.contains("| line 12\n"), "{stderr}");
    assert!(
        !stderr.contains("| line 11\n"),
        "only the last 30 lines: {stderr}"
    );
    assert!(stderr.contains("| no such table"), "{stderr}");
    assert!(stderr.contains(".proj/logs/setup-migrate.log"), "{stderr}");
    assert!(
        output
            .stdout
            .contains("failed   migrate  (exit code 3 after"),
        "{}",
        output.stdout
    );
    let log = project.read(".proj/logs/setup-migrate.log");
    assert!(
        log.starts_with("line 1\nline 2\n"),
        "the full output: {log}"
    );
    assert!(log.ends_with("line 40\nno such table\n"), "{log}");
    assert!(project.path("first-ran").exists());
    assert!(
        !project.path("later-ran").exists(),
        "later steps are not run"
    );
    assert!(!project.path("web-started").exists(), "nothing is started");

    // Fixed: re-running resumes. `first` is done, `migrate` and `later` run.
    let config = project.read("proj.toml").replace("exit 3", "exit 0");
    project.write("proj.toml", &config);
    let again = project.run(&["setup"]);
    assert!(again.status.success(), "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("skipped  first    (creates first-ran exists)"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("ran      migrate"),
        "{}",
        again.stdout
    );
    assert!(project.path("later-ran").exists());
}

#[test]
fn requires_names_every_missing_program_and_runs_no_step() {
    let project = Project::new(
        r#"
[project]
requires = ["sh", "proj-test-missing-one", "./bin/missing-two"]

[[setup]]
name = "step"
command = "touch step-ran"
"#,
    );
    for args in [
        &["setup"][..],
        &["up", "--no-tui"],
        &["up", "--no-tui", "--no-setup"],
    ] {
        let output = project.run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", output.stderr);
        assert!(
            output
                .stderr
                .contains("missing required programs: proj-test-missing-one, ./bin/missing-two"),
            "{}",
            output.stderr
        );
        assert!(!project.path("step-ran").exists());
    }
}

#[test]
fn force_runs_every_step_and_names_run_just_those() {
    let project = three_steps();
    project.write("tool-ok", "");
    assert!(project.run(&["setup"]).status.success());
    ran(&project);

    let forced = project.run(&["setup", "--force"]);
    assert!(forced.status.success(), "{}", forced.stderr);
    assert_eq!(
        ran(&project),
        ["make db", "python deps", "check tool", "always"]
    );
    assert!(forced.stdout.contains("--force"), "{}", forced.stdout);

    let named = project.run(&["setup", "check tool", "make db"]);
    assert!(named.status.success(), "{}", named.stderr);
    assert_eq!(ran(&project), ["make db", "check tool"], "in config order");

    let unknown = project.run(&["setup", "make-db"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        unknown.stderr.contains("no setup step named `make-db`"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains("`make db`"), "{}", unknown.stderr);
    assert!(ran(&project).is_empty());
}

#[test]
fn steps_see_the_project_environment_and_an_env_file_a_step_writes() {
    let project = Project::new(
        r#"
[project]
env_file = [".env"]

[env]
FROM_TABLE = "table"

[[setup]]
name = "env file"
command = "cp .env.example .env"
creates = ".env"

[[setup]]
name = "show"
command = "echo \"$FROM_TABLE $FROM_FILE $HOME_IS_SET\" > seen.txt"

[processes]
web = "echo \"web sees $FROM_FILE\"; exec sleep 1000"
"#,
    );
    project.write(".env.example", "FROM_FILE=dotenv\nHOME_IS_SET=yes\n");
    let mut proj = project.up(&[]);
    proj.wait_for_output("web", "web sees dotenv");
    assert_eq!(project.read("seen.txt"), "table dotenv yes\n");
    assert!(proj.stop().success());
}

#[test]
fn up_runs_setup_before_starting_and_no_setup_skips_it() {
    let project = Project::new(
        r#"
[[setup]]
name = "prepare"
command = "echo prepared > prepared.txt"
creates = "prepared.txt"

[processes]
web = "cat prepared.txt; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for_output("web", "prepared");
    // The child's first line and proj's "started" message race each other.
    proj.wait_for("web: started");
    let text = proj.text();
    let setup_line = text.find("ran      prepare").expect("the setup line");
    let started = text.find("web: started").expect("web started");
    assert!(setup_line < started, "{text}");
    assert!(proj.stop().success());

    std::fs::remove_file(project.path("prepared.txt")).unwrap();
    let mut proj = project.up(&["--no-setup"]);
    proj.wait_for_output("web", "No such file");
    assert!(!proj.text().contains("ran      prepare"), "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn an_interrupt_stops_the_running_step_and_later_steps_do_not_run() {
    let project = Project::new(
        r#"
[[setup]]
name = "slow"
command = "echo $$ > step.pid; exec sleep 1000"

[[setup]]
name = "later"
command = "touch later-ran"

[processes]
web = "touch web-started; sleep 1000"
"#,
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let _ = std::fs::remove_file(project.path("step.pid"));
        let mut proj = project.up(&[]);
        let step = project.wait_for_pid("step.pid");
        proj.signal(signal);
        let status = proj.wait_exit(DEADLINE);
        assert_eq!(status.code(), Some(1), "{signal}: {}", proj.text());
        wait_gone(step);
        assert!(
            proj.text().contains("setup interrupted during step `slow`"),
            "{}",
            proj.text()
        );
        assert!(!project.path("later-ran").exists());
        assert!(!project.path("web-started").exists());
    }
}

#[test]
fn a_second_setup_in_the_same_project_is_refused_while_one_runs() {
    let project = Project::new(
        r#"
[[setup]]
name = "slow"
command = "echo $$ > step.pid; exec sleep 1000"
"#,
    );
    let mut first = Running::start(project.command(&["setup"]));
    let step = project.wait_for_pid("step.pid");
    let second = project.run(&["setup"]);
    assert_eq!(second.status.code(), Some(1), "{}", second.stderr);
    assert!(
        second.stderr.contains("another proj is running setup"),
        "{}",
        second.stderr
    );
    first.signal(Signal::SIGTERM);
    first.wait_exit(DEADLINE);
    wait_gone(step);
}

#[test]
fn a_project_without_steps_creates_no_state() {
    let project = Project::new("[processes]\nweb = \"sleep 1000\"\n");
    let output = project.run(&["setup"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(output.stdout, "");
    assert!(!project.path(".proj").exists());
}
