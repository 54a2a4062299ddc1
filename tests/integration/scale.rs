//! `proj scale NAME=N…` with real processes: which pids start, which stop (through their
//! stop sequence), which are left alone, and what a reload does with the new count.

use crate::support::*;

/// Every instance appends `INSTANCE PORT PID` to `started`, and `INSTANCE` to
/// `stopped` when it gets TERM.
fn worker_config(port: u16, scale: u32) -> String {
    format!(
        r#"
[processes.web]
command = "echo $$ > web.pid; exec sleep 1000"

[processes.worker]
command = "trap 'echo $PROJ_INSTANCE >> stopped; exit 0' TERM; echo $PROJ_INSTANCE $PORT $$ >> started; while :; do sleep 0.05; done"
port = {port}
scale = {scale}
"#
    )
}

/// `(instance, port, pid)` for each line of `started`.
fn started(project: &Project) -> Vec<(u32, u16, i32)> {
    project
        .read("started")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(str::parse::<i64>);
            let (Some(Ok(instance)), Some(Ok(port)), Some(Ok(pid))) =
                (fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            Some((instance as u32, port as u16, pid as i32))
        })
        .collect()
}

/// Wait until `count` starts were written; the lines in instance order (instances
/// started together write theirs in any order).
fn wait_started(project: &Project, count: usize) -> Vec<(u32, u16, i32)> {
    let mut lines = wait_until(&format!("{count} instances to have started"), || {
        let lines = started(project);
        (lines.len() >= count).then_some(lines)
    });
    lines.sort_by_key(|&(instance, _, _)| instance);
    lines
}

fn ps_names(project: &Project) -> Vec<String> {
    let output = project.run(&["ps", "--json"]);
    assert!(output.status.success(), "{}", output.stderr);
    let instances: Vec<serde_json::Value> = serde_json::from_str(&output.stdout).unwrap();
    instances
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scaling_up_starts_new_instances_on_the_next_ports_and_keeps_the_first() {
    let port = free_ports(3);
    let project = Project::new(&worker_config(port, 1));
    let mut proj = project.up(&[]);
    let first = wait_started(&project, 1)[0];
    assert_eq!(first, (1, port, first.2));

    let output = project.run(&["scale", "worker=3"]);
    assert!(output.status.success(), "{}", output.stderr);
    for name in ["worker.1", "worker.2", "worker.3"] {
        assert!(output.stdout.contains(name), "{}", output.stdout);
    }
    let lines = wait_started(&project, 3);
    assert_eq!(lines.len(), 3, "nothing restarted: {lines:?}");
    assert_eq!(lines[0], first, "the first instance keeps running");
    assert_eq!(
        lines[1..]
            .iter()
            .map(|&(i, p, _)| (i, p))
            .collect::<Vec<_>>(),
        [(2, port + 1), (3, port + 2)]
    );
    assert!(!is_gone(first.2));
    assert_eq!(
        ps_names(&project),
        ["web", "worker.1", "worker.2", "worker.3"]
    );
    assert!(proj.stop().success());
}

#[test]
fn scaling_down_stops_the_highest_numbers_through_their_stop_sequence() {
    let port = free_ports(3);
    let project = Project::new(&worker_config(port, 3));
    let mut proj = project.up(&[]);
    let lines = wait_started(&project, 3);
    let web = project.wait_for_pid("web.pid");

    let output = project.run(&["scale", "worker=1"]);
    assert!(output.status.success(), "{}", output.stderr);
    // Answered once settled: both are gone, each after its own TERM handler ran.
    for &(_, _, pid) in &lines[1..] {
        assert!(
            is_gone(pid),
            "pid {pid} still runs after `proj scale` returned"
        );
    }
    let mut stopped: Vec<String> = project.read("stopped").lines().map(String::from).collect();
    stopped.sort();
    assert_eq!(stopped, ["2", "3"]);
    assert!(!is_gone(lines[0].2), "worker.1 keeps running");
    assert!(!is_gone(web), "other processes are left alone");
    assert_eq!(ps_names(&project), ["web", "worker"]);
    assert!(output.stdout.contains("worker"), "{}", output.stdout);

    let output = project.run(&["scale", "worker=0"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(is_gone(lines[0].2));
    assert_eq!(ps_names(&project), ["web"]);
    assert!(proj.stop().success());
}

#[test]
fn a_reload_keeps_the_scale_unless_the_file_changed_it() {
    let port = free_ports(3);
    let project = Project::new(&worker_config(port, 1));
    let mut proj = project.up(&[]);
    wait_started(&project, 1);
    assert!(project.run(&["scale", "worker=2"]).status.success());
    wait_started(&project, 2);

    // An unrelated edit: the count stays.
    let mut edited = worker_config(port, 1);
    edited.push_str("\n[processes.extra]\ncommand = \"exec sleep 1000\"\n");
    project.write("proj.toml", &edited);
    let output = project.run(&["reload"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(ps_names(&project), ["web", "worker.1", "worker.2", "extra"]);

    // The file's own scale changed: it wins.
    let edited = edited.replace("scale = 1", "scale = 3");
    project.write("proj.toml", &edited);
    let output = project.run(&["reload"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(
        ps_names(&project),
        ["web", "worker.1", "worker.2", "worker.3", "extra"]
    );
    assert!(proj.stop().success());
}

#[test]
fn bad_scale_requests_are_refused_and_change_nothing() {
    let port = free_ports(3);
    let project = Project::new(&worker_config(port, 1));
    let mut proj = project.up(&[]);
    wait_started(&project, 1);
    let unknown = project.run(&["scale", "wrker=2"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("no process named `wrker`; known: `web`, `worker`"),
        "{}",
        unknown.stderr
    );
    for bad in ["worker=-1", "worker=two", "worker", "=3"] {
        let output = project.run(&["scale", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", output.stderr);
    }
    let negative = project.run(&["scale", "worker=-1"]);
    assert!(
        negative.stderr.contains("is not a number of instances"),
        "{}",
        negative.stderr
    );
    assert_eq!(ps_names(&project), ["web", "worker"]);
    assert!(proj.stop().success());
}

#[test]
fn scale_without_a_supervisor_exits_1() {
    let project = Project::new(&worker_config(free_port(), 1));
    let output = project.run(&["scale", "worker=2"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(
        output.stderr.contains("no proj running"),
        "{}",
        output.stderr
    );
}
