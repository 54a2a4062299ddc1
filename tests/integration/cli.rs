//! The command line as a user meets it: finding the project, `check`, completions, and
//! invalid configs refused before anything starts.

use crate::support::*;

#[test]
fn check_prints_instances_start_order_ports_and_commands() {
    let project = Project::new(
        r#"
[project]
name = "shop"

[processes.web]
command = "python3 -m http.server $PORT"
port = 8000
scale = 2
depends_on = ["migrate"]

[processes.migrate]
command = "python3 migrate.py"
oneshot = true
"#,
    );
    let output = project.run(&["check"]);
    assert!(output.status.success(), "{}", output.stderr);
    let out = output.stdout;
    assert!(
        out.contains("project `shop`, 2 processes, 3 instances"),
        "{out}"
    );
    assert!(
        out.contains("  1. migrate  (oneshot)\n  2. web  (after migrate)\n"),
        "{out}"
    );
    assert!(
        out.contains("web.1     8000   python3 -m http.server $PORT"),
        "{out}"
    );
    assert!(
        out.contains("web.2     8001   python3 -m http.server $PORT"),
        "{out}"
    );
    assert!(out.contains("migrate   -      python3 migrate.py"), "{out}");
}

#[test]
fn the_config_is_found_by_walking_up() {
    let project = Project::new("[processes]\nweb = \"true\"\n");
    std::fs::create_dir_all(project.path("src/deep")).unwrap();
    let output = project
        .command(&["check"])
        .current_dir(project.path("src/deep"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("proj.toml is valid"), "{stdout}");
}

#[test]
fn file_flag_names_the_config_before_or_after_the_subcommand() {
    let project = Project::empty();
    project.write("elsewhere/custom.toml", "[processes]\nweb = \"true\"\n");
    for args in [
        &["-f", "elsewhere/custom.toml", "check"][..],
        &["check", "--file", "elsewhere/custom.toml"][..],
    ] {
        let output = project.run(args);
        assert!(output.status.success(), "{args:?}: {}", output.stderr);
        assert!(
            output.stdout.contains("custom.toml is valid"),
            "{}",
            output.stdout
        );
    }
}

#[test]
fn no_config_anywhere_is_a_clear_error() {
    let project = Project::empty();
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains("proj.toml"), "{}", output.stderr);
}

#[test]
fn a_procfile_and_its_env_file_work_without_proj_toml() {
    let project = Project::empty();
    project.write(
        "Procfile",
        "# a comment\n\nweb: echo \"web sees $GREETING\"; exec sleep 1000\n",
    );
    project.write(".env", "GREETING=hello from dotenv\n");
    let mut proj = project.up(&[]);
    proj.wait_for_output("web", "web sees hello from dotenv");
    assert!(proj.stop().success());
}

#[test]
fn an_invalid_config_exits_2_with_its_position_and_starts_nothing() {
    let project = Project::new(
        r#"
[processes.web]
command = "touch started; sleep 1000"
restart = "sometimes"
"#,
    );
    let output = project.run(&["up", "--no-tui"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("proj.toml:4:11"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("help:"), "{}", output.stderr);
    assert!(!project.path("started").exists());
    assert!(!project.path(".proj").exists());
}

#[test]
fn a_dependency_cycle_names_the_whole_cycle() {
    let project = Project::new(
        r#"
[processes.a]
command = "true"
depends_on = ["b"]

[processes.b]
command = "true"
depends_on = ["c"]

[processes.c]
command = "true"
depends_on = ["a"]
"#,
    );
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stderr.contains("a -> b -> c -> a")
            || output.stderr.contains("b -> c -> a -> b")
            || output.stderr.contains("c -> a -> b -> c"),
        "{}",
        output.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::empty();
    let output = project.run(&["up", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn completions_in_the_repository_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in [
        ("bash", "proj.bash"),
        ("zsh", "_proj"),
        ("fish", "proj.fish"),
    ] {
        let output = std::process::Command::new(proj_binary())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success());
        let committed = std::fs::read(root.join("completions").join(file)).unwrap_or_default();
        assert!(
            committed == output.stdout,
            "completions/{file} is stale: run `proj completions {shell} > completions/{file}` \
             (or scripts/update-completions)"
        );
    }
}

#[test]
fn check_lists_requirements_and_setup_steps_with_their_rules() {
    let project = Project::new(
        r#"
[project]
requires = ["python3"]

[[setup]]
name = "deps"
command = "pip install -r requirements.txt"
sources = ["requirements.txt"]

[[setup]]
name = "db"
command = "make db"
creates = "var/db"

[[setup]]
name = "always"
command = "echo hi"

[processes]
web = "true"
"#,
    );
    let output = project.run(&["check"]);
    assert!(output.status.success(), "{}", output.stderr);
    let out = output.stdout;
    assert!(out.contains("requires: python3"), "{out}");
    assert!(
        out.contains("  1. deps: pip install -r requirements.txt  (sources requirements.txt)"),
        "{out}"
    );
    assert!(out.contains("  2. db: make db  (creates var/db)"), "{out}");
    assert!(
        out.contains("  3. always: echo hi  (runs every time)"),
        "{out}"
    );
}

/// `proj ARGS | head -1` at its most abrupt: the reader is gone before proj writes.
fn into_a_closed_pipe(project: &Project, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let output = project
        .command(args)
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn commands_end_quietly_when_the_reader_of_their_output_goes_away() {
    let project = Project::new("[processes]\nweb = \"true\"\n");
    for args in [
        &["completions", "zsh"][..],
        &["completions", "fish"],
        &["man"],
        &["check"],
        &["--help"],
    ] {
        let (status, stderr) = into_a_closed_pipe(&project, args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn a_dangling_env_link_is_a_warning_naming_its_target() {
    let project = Project::new("[processes]\nweb = \"true\"\n");
    std::os::unix::fs::symlink("../shared/.env", project.path(".env")).unwrap();
    let output = project.run(&["check"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(
        output.stderr,
        "warning: `.env` is a symbolic link to `../shared/.env`, which does not exist; it is skipped\n |\n = help: create the file it points to, or remove the link\n\n"
    );
}

#[test]
fn the_runtime_directory_ignores_itself_in_git() {
    let project =
        Project::new("[processes]\nweb = \"echo hi; echo ok > started; exec sleep 1000\"\n");
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(project.root())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    git(&["init", "-q"]);
    let mut proj = project.up(&[]);
    project.wait_for_file("started");
    proj.wait_for_output("web", "hi");
    assert!(proj.stop().success());
    assert!(project.path(".proj/logs/web.log").exists());
    assert_eq!(project.read(".proj/.gitignore"), "*\n");
    git(&["add", "-A"]);
    let staged = git(&["diff", "--cached", "--name-only"]);
    assert_eq!(staged.lines().collect::<Vec<_>>(), ["proj.toml", "started"]);
}
