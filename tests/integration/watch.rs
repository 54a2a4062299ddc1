//! `watch`: real files, real processes. Each process appends its pid to `starts` (kept
//! out of the watched globs), so restarts are counted from what the children did.
//!
//! "Exactly N restarts" is never asserted after a sleep: after the changes under test,
//! the test makes one more change it knows must restart, waits for that restart, and
//! then counts. Any restart the earlier changes caused came before it.

use crate::support::*;

/// A process that records its pid in `starts`, then sleeps (and dies at once on TERM).
fn config(watch: &str, extra: &str) -> String {
    format!(
        r#"
[processes.web]
command = "echo $$ >> starts; exec sleep 1000"
watch = {watch}
{extra}
"#
    )
}

fn starts(project: &Project) -> Vec<String> {
    project.read("starts").lines().map(str::to_string).collect()
}

/// Wait until `starts` has `count` lines; return the pids.
fn wait_for_starts(project: &Project, count: usize) -> Vec<String> {
    wait_until(&format!("{count} starts"), || {
        let pids = starts(project);
        (pids.len() >= count).then_some(pids)
    })
}

/// `proj up` once the first start happened and the watch is in place.
fn up_watching(project: &Project) -> Running {
    let proj = project.up(&[]);
    proj.wait_for("web: watching ");
    wait_for_starts(project, 1);
    proj
}

#[test]
fn a_change_restarts_the_process_gracefully() {
    let project = Project::new(&config(r#"["src/**/*.py"]"#, ""));
    project.write("src/app.py", "v1");
    let mut proj = up_watching(&project);
    let first: i32 = starts(&project)[0].parse().expect("pid");

    project.write("src/app.py", "v2");
    proj.wait_for("web: src/app.py changed: restarting");
    let pids = wait_for_starts(&project, 2);
    assert_ne!(pids[0], pids[1]);
    wait_gone(first);
    // Graceful: the old process was asked to stop, not killed.
    proj.wait_for("web: stopping (SIGTERM)");
    assert!(proj.stop().success());
}

#[test]
fn a_burst_of_a_thousand_writes_gives_one_restart() {
    // A longer debounce than the default, so that a slow, shared CI machine pausing
    // in the middle of the burst does not split it.
    let project = Project::new(&config(r#"["src/**/*.py"]"#, r#"watch_debounce = "700ms""#));
    project.write("src/app.py", "v1");
    let mut proj = up_watching(&project);

    for i in 0..1000 {
        project.write(&format!("src/gen/module_{}.py", i % 100), &format!("v{i}"));
    }
    wait_for_starts(&project, 2);
    // A later change must restart once more; by then every restart of the burst has
    // happened.
    project.write("src/app.py", "v2");
    proj.wait_for("web: src/app.py changed: restarting");
    wait_for_starts(&project, 3);
    assert_eq!(proj.count("changed: restarting"), 2, "{}", proj.text());
    assert!(proj.stop().success());
    assert_eq!(starts(&project).len(), 3);
}

#[test]
fn an_editor_writing_a_temporary_file_then_renaming_it_is_caught() {
    let project = Project::new(&config(r#"["src/*.py"]"#, ""));
    project.write("src/app.py", "v1");
    let mut proj = up_watching(&project);

    project.write("src/.app.py.swx", "v2");
    std::fs::rename(project.path("src/.app.py.swx"), project.path("src/app.py")).expect("rename");
    proj.wait_for("web: src/app.py changed: restarting");
    wait_for_starts(&project, 2);
    assert!(proj.stop().success());
}

#[test]
fn a_change_during_a_restart_adds_at_most_one_more() {
    // Half a second to stop: changes land while the restart is under way.
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ >> starts; trap 'sleep 0.5; exit 0' TERM; while true; do sleep 0.05; done"
watch = ["*.py"]
"#,
    );
    let mut proj = up_watching(&project);

    project.write("a.py", "v1");
    proj.wait_for("web: a.py changed: restarting");
    proj.wait_for("web: stopping (SIGTERM)");
    for i in 0..20 {
        project.write("b.py", &format!("v{i}"));
    }
    wait_for_starts(&project, 2);
    project.write("marker.py", "v1");
    proj.wait_for("web: marker.py changed: restarting");
    let restarts = proj.count("changed: restarting");
    let starts = wait_for_starts(&project, restarts + 1).len();
    assert!(restarts <= 3, "{}", proj.text());
    assert_eq!(starts, restarts + 1, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn a_new_directory_is_watched_too() {
    let project = Project::new(&config(r#"["src/**/*.py"]"#, ""));
    project.write("src/app.py", "v1");
    let mut proj = up_watching(&project);

    // Created with a file at once: the file may exist before the directory's watch.
    project.write("src/pkg/deep/first.py", "v1");
    proj.wait_for("web: src/pkg/deep/first.py changed: restarting");
    wait_for_starts(&project, 2);
    // Now the new directory has its own watch.
    project.write("src/pkg/deep/second.py", "v1");
    proj.wait_for("web: src/pkg/deep/second.py changed: restarting");
    wait_for_starts(&project, 3);
    assert!(proj.stop().success());
}

#[test]
fn the_source_directory_may_appear_after_start() {
    let project = Project::new(&config(r#"["src/**/*.py"]"#, ""));
    let mut proj = up_watching(&project);
    project.write("src/app.py", "v1");
    proj.wait_for("web: src/app.py changed: restarting");
    wait_for_starts(&project, 2);
    assert!(proj.stop().success());
}

#[test]
fn gitignored_files_and_watch_ignore_do_not_restart() {
    let project = Project::new(&config(
        r#"["**/*.py"]"#,
        r#"watch_ignore = ["src/vendor", "*_test.py"]"#,
    ));
    project.write(".gitignore", "generated.py\nbuild/\n");
    project.write("src/app.py", "v1");
    project.write("src/vendor/lib.py", "v1");
    project.write("build/out.py", "v1");
    let mut proj = up_watching(&project);

    project.write("src/generated.py", "v2");
    project.write("src/vendor/lib.py", "v2");
    project.write("build/out.py", "v2");
    project.write("app_test.py", "v2");
    project.write("node_modules/pkg/index.py", "v2");
    project.write("target/debug/build.py", "v2");
    project.write(".git/hooks/pre-commit.py", "v2");
    project.write("src/app.py", "v2");
    proj.wait_for("web: src/app.py changed: restarting");
    wait_for_starts(&project, 2);
    assert_eq!(proj.count("changed: restarting"), 1, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn gitignore_edits_are_read_again() {
    let project = Project::new(&config(r#"["src/**/*.py"]"#, ""));
    project.write(".gitignore", "secret.py\n");
    project.write("src/app.py", "v1");
    project.write("src/secret.py", "v1");
    let mut proj = up_watching(&project);

    // No longer ignored: a change restarts.
    project.write(".gitignore", "other.py\n");
    project.write("src/secret.py", "v2");
    proj.wait_for("web: src/secret.py changed: restarting");
    wait_for_starts(&project, 2);

    // Newly ignored, in a nested .gitignore: no restart.
    project.write("src/.gitignore", "app.py\n");
    project.write("src/app.py", "v2");
    project.write("src/marker.py", "v1");
    proj.wait_for("web: src/marker.py changed: restarting");
    wait_for_starts(&project, 3);
    assert_eq!(proj.count("changed: restarting"), 2, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn a_gitignored_directory_that_is_no_longer_ignored_gets_watched() {
    let project = Project::new(&config(r#"["**/*.py"]"#, ""));
    project.write(".gitignore", "gen/\n");
    project.write("gen/sub/models.py", "v1");
    let mut proj = up_watching(&project);

    project.write(".gitignore", "");
    // Once this restart is seen, the edit before it has been read (events are handled
    // in order) and the directory is watched.
    project.write("marker.py", "v1");
    proj.wait_for("web: marker.py changed: restarting");
    wait_for_starts(&project, 2);
    project.write("gen/sub/models.py", "v2");
    proj.wait_for("web: gen/sub/models.py changed: restarting");
    wait_for_starts(&project, 3);
    assert!(proj.stop().success());
}

#[test]
fn a_star_does_not_cross_a_slash() {
    let project = Project::new(&config(r#"["src/*.py"]"#, ""));
    project.write("src/sub/deep.py", "v1");
    project.write("src/top.py", "v1");
    let mut proj = up_watching(&project);

    project.write("src/sub/deep.py", "v2");
    project.write("src/top.py", "v2");
    proj.wait_for("web: src/top.py changed: restarting");
    wait_for_starts(&project, 2);
    assert_eq!(proj.count("changed: restarting"), 1, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn a_failed_process_is_started_again_by_a_fix() {
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ >> starts; . ./app.sh"
restart = "never"
watch = ["app.sh"]
"#,
    );
    project.write("app.sh", "echo broken; exit 3\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web: watching app.sh");
    proj.wait_for("web: failed: exited with code 3");

    project.write("app.sh", "echo fixed; exec sleep 1000\n");
    proj.wait_for("web: app.sh changed: restarting");
    proj.wait_for_output("web", "fixed");
    let pids = wait_for_starts(&project, 2);
    let pid: i32 = pids[1].parse().expect("pid");
    assert!(!is_gone(pid));
    assert!(proj.stop().success());
}

#[test]
fn proj_log_files_never_trigger_a_restart() {
    // Everything is watched but `starts`: the output keeps landing in .proj/logs.
    let project = Project::new(
        r#"
[processes.web]
command = "echo $$ >> starts; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.02; done"
watch = ["**"]
watch_ignore = ["starts"]
"#,
    );
    let mut proj = up_watching(&project);
    let ticks = |proj: &Running| {
        proj.lines()
            .iter()
            .filter_map(|line| split_line(line)?.1.strip_prefix("tick ")?.parse().ok())
            .max()
            .unwrap_or(0u32)
    };
    let now = ticks(&proj);
    proj.wait_for_output("web", &format!("tick {}", now + 30));
    assert!(project.path(".proj/logs/web.log").exists());

    project.write("marker", "v1");
    proj.wait_for("web: marker changed: restarting");
    wait_for_starts(&project, 2);
    assert_eq!(proj.count("changed: restarting"), 1, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn running_out_of_inotify_watches_is_reported_once_and_the_rest_keeps_working() {
    // A user namespace has its own inotify limit: 3 watches for this proj, leaving the
    // machine's limit alone.
    let allowed = std::process::Command::new("unshare")
        .args(["-Ur", "true"])
        .status()
        .is_ok_and(|status| status.success());
    if !allowed {
        eprintln!("skipped: user namespaces are not allowed here");
        return;
    }
    let project = Project::new(&config(r#"["**/*.py"]"#, ""));
    for dir in ["a", "b", "c", "d", "e"] {
        project.write(&format!("src/{dir}/x.py"), "v1");
    }
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "-Ur",
            "sh",
            "-c",
            r#"echo 3 > /proc/sys/user/max_inotify_watches && exec "$0" up --no-tui"#,
            proj_binary(),
        ])
        .current_dir(project.root())
        .env_remove("NO_COLOR")
        .env_remove("PROJ_LOG")
        // Each instance cgroup's `cgroup.events` takes a watch too: without cgroups,
        // the three are the watcher's alone.
        .env("PROJ_CGROUPS", "0")
        .stdin(std::process::Stdio::null());
    let mut proj = Running::start(command);
    proj.wait_for("web: watching **/*.py (3 directories, 4 not watched)");
    wait_for_starts(&project, 1);
    proj.wait_for("sudo sysctl fs.inotify.max_user_watches=");

    // A new directory cannot be watched either: still one message.
    project.write("src/f/y.py", "v1");
    // The cwd, watched first, still works.
    project.write("top.py", "v1");
    proj.wait_for("changed: restarting");
    wait_for_starts(&project, 2);
    assert_eq!(proj.count("limit of inotify watches"), 1, "{}", proj.text());
    assert!(proj.stop().success());
}

#[test]
fn reload_replaces_a_changed_watch() {
    let project = Project::new(&config(r#"["a.txt"]"#, ""));
    let mut proj = up_watching(&project);

    project.write("proj.toml", &config(r#"["b.txt"]"#, ""));
    let output = project.run(&["reload"]);
    assert!(output.status.success(), "{}", output.stderr);
    proj.wait_for("web: watching b.txt");
    wait_for_starts(&project, 2);

    project.write("a.txt", "v1");
    project.write("b.txt", "v1");
    proj.wait_for("web: b.txt changed: restarting");
    wait_for_starts(&project, 3);
    assert_eq!(proj.count("changed: restarting"), 1, "{}", proj.text());
    assert!(proj.stop().success());
}
