//! `proj init` (SPEC §9.4): configs of other tools, written for these tests the way
//! their users write them, converted, checked with `proj check`, and run with `proj up`
//! where the conversion changes what a process sees (its env, numbering, terminal).

use crate::support::*;

/// `proj ARGS` without the test's own `PORT`.
fn run(project: &Project, args: &[&str]) -> Output {
    command_without_port(project, args)
        .output()
        .expect("run proj")
        .into()
}

fn init(project: &Project, args: &[&str]) -> Output {
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    let output = run(project, &all);
    assert!(
        output.status.success(),
        "proj init failed:\n{}\n{}",
        output.stdout,
        output.stderr
    );
    output
}

fn check(project: &Project) -> String {
    let output = run(project, &["check"]);
    assert!(
        output.status.success(),
        "proj check refused the converted file:\n{}\n{}\n{}",
        output.stderr,
        output.stdout,
        project.read("proj.toml")
    );
    output.stdout
}

const SUPERVISORD: &str = r#"; Docs app: a web server, two queue workers and a scheduler.
[unix_http_server]
file=/tmp/docs-supervisor.sock

[supervisord]
nodaemon=true
environment=APP_ENV="staging"

[program:web]
command=sh -c 'echo $$ >> out/pids; echo "web $APP_ENV" > out/web.txt; exec sleep 1000'
directory=%(here)s
priority=200
stopasgroup=true
stdout_logfile=/var/log/docs/web.log
redirect_stderr=true

[program:worker]
command=sh -c 'echo $$ >> out/pids;
    echo "%(program_name)s %(process_num)02d $GREETING" > out/worker-%(process_num)02d.txt;
    exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs=2
priority=100
startsecs=5
stopwaitsecs=5
environment=GREETING="hello from %(program_name)s"

[group:docs]
programs=web,worker

[include]
files = conf.d/*.conf
"#;

#[test]
fn supervisord_config_is_converted_checked_and_run() {
    let project = Project::empty();
    project.write("supervisord.conf", SUPERVISORD);
    project.write(
        "conf.d/beat.conf",
        "[program:beat]\ncommand=sh -c 'echo $$ >> out/pids; echo beat > out/beat.txt; exec sleep 1000'\n",
    );
    project.write("out/.keep", "");
    let output = init(&project, &["--from", "supervisord.conf"]);
    let report = &output.stderr;
    for expected in [
        "proj init: wrote proj.toml from supervisord.conf (supervisord, 3 processes)",
        "supervisord.conf:7: [supervisord] environment: became `[env]`",
        "supervisord.conf:14: [program:web] stdout_logfile: proj logs",
        "supervisord.conf:22: [program:worker] numprocs: `scale = 2`; supervisord numbers from 0, proj from 1",
        "supervisord.conf:17: [program:worker] stopasgroup: false (supervisord's default) became `stop_target = \"main\"`",
        "supervisord.conf:23: [program:worker] priority: proj has no priorities",
        "supervisord.conf:24: [program:worker] startsecs: proj has no start delay",
        "supervisord.conf:32: [include] files: read `./conf.d/beat.conf`",
        "added proj.local.toml to .gitignore",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    let toml = project.read("proj.toml");
    assert!(toml.contains("stop_target = \"main\""), "{toml}");
    assert!(
        toml.contains("# as supervisord's stopasgroup = false (its default)"),
        "{toml}"
    );
    assert_eq!(
        project
            .read(".gitignore")
            .matches("proj.local.toml")
            .count(),
        1
    );
    let plan = check(&project);
    // Priority order (worker 100, web 200), then the included file.
    let order: Vec<&str> = plan
        .lines()
        .filter_map(|line| line.trim().split_once(". ").map(|(_, name)| name))
        .collect();
    assert_eq!(order[..3], ["worker", "web", "beat"], "{plan}");

    let seen = up_and_collect(
        &project,
        &[
            "out/worker-00.txt",
            "out/worker-01.txt",
            "out/web.txt",
            "out/beat.txt",
        ],
    );
    // supervisord's process_num 00 and 01 for instances worker.1 and worker.2.
    assert_eq!(seen[0], "worker 00 hello from worker");
    assert_eq!(seen[1], "worker 01 hello from worker");
    assert_eq!(seen[2], "web staging");
    assert_eq!(seen[3], "beat");
}

const PROCESS_COMPOSE: &str = r#"version: "0.5"
log_location: /tmp/shop-process-compose.log
environment:
  - "SHOP_MODE=dev"
processes:
  migrate:
    command: "sh -c 'echo migrated > out/migrate.txt'"
  api:
    command: "sh -c 'echo $$ >> out/pids; echo \"api $SHOP_MODE $API_TOKEN\" > out/api.txt; exec sleep 1000'"
    environment:
      - "API_TOKEN=dev-token"
    depends_on:
      migrate:
        condition: process_completed_successfully
    availability:
      restart: on_failure
      backoff_seconds: 1
    shutdown:
      signal: 2
      timeout_seconds: 3
  console:
    command: "sh -c 'echo $$ >> out/pids; if [ -t 0 ]; then echo tty; else echo no-tty; fi > out/console.txt; exec sleep 1000'"
    is_tty: true
    is_daemon: false
    namespace: tools
"#;

#[test]
fn process_compose_file_is_converted_checked_and_run() {
    let project = Project::empty();
    project.write("process-compose.yaml", PROCESS_COMPOSE);
    project.write("out/.keep", "");
    // Without --from: the process-compose file is the one found.
    let output = init(&project, &[]);
    let report = &output.stderr;
    for expected in [
        "process-compose.yaml:2: log_location: proj logs",
        "process-compose.yaml:13: processes.api.depends_on.migrate: `migrate` becomes a oneshot",
        "process-compose.yaml:24: processes.console.is_daemon: not needed",
        "process-compose.yaml:25: processes.console.namespace: proj has no namespaces",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    let toml = project.read("proj.toml");
    for expected in [
        "oneshot = true",
        "depends_on = [\"migrate\"]",
        "stop_signal = \"INT\"",
        "tty = true",
    ] {
        assert!(toml.contains(expected), "missing {expected:?} in:\n{toml}");
    }
    check(&project);
    let seen = up_and_collect(
        &project,
        &["out/migrate.txt", "out/api.txt", "out/console.txt"],
    );
    assert_eq!(seen, ["migrated", "api dev dev-token", "tty"]);
}

#[test]
fn procfile_with_overmind_settings_keeps_the_procfile_and_gets_a_terminal() {
    let project = Project::empty();
    project.write(
        "Procfile.dev",
        "web: sh -c 'echo $$ >> out/pids; echo \"$PORT $RAILS_ENV\" > out/web.txt; exec sleep 1000'\n\
         css: sh -c 'echo $$ >> out/pids; if [ -t 0 ]; then echo tty; fi > out/css.txt; exec sleep 1000'\n",
    );
    project.write(
        ".overmind.env",
        "OVERMIND_ENV=.env.development\nOVERMIND_AUTO_RESTART=css\n",
    );
    project.write(".env.development", "RAILS_ENV=development\n");
    project.write(".gitignore", "/log\n");
    project.write("out/.keep", "");
    let output = init(&project, &[]);
    let report = &output.stderr;
    assert!(
        report.contains("from Procfile.dev (Procfile, 2 processes)"),
        "{report}"
    );
    assert!(
        report.contains(".overmind.env:1: OVERMIND_ENV: env files"),
        "{report}"
    );
    assert!(
        report.contains(".overmind.env:2: OVERMIND_AUTO_RESTART: an overmind option"),
        "{report}"
    );
    let toml = project.read("proj.toml");
    assert!(toml.contains("procfile = \"Procfile.dev\""), "{toml}");
    assert_eq!(
        project.read(".gitignore"),
        "/log\n# one person's own proj settings (proj init)\nproj.local.toml\n"
    );
    let plan = check(&project);
    assert!(plan.contains("web       5000"), "{plan}");
    let seen = up_and_collect(&project, &["out/web.txt", "out/css.txt"]);
    assert_eq!(seen, ["5000 development", "tty"]);
}

const ECOSYSTEM: &str = r#"{
  "apps": [
    {
      "name": "queue-worker",
      "script": "sh",
      "interpreter": "none",
      "args": ["-c", "echo $$ >> out/pids; echo \"$NODE_ENV $PROJ_INSTANCE\" > out/worker.$PROJ_INSTANCE.txt; exec sleep 1000"],
      "instances": 2,
      "env": { "NODE_ENV": "development" },
      "env_production": { "NODE_ENV": "production" },
      "max_memory_restart": "300M",
      "error_file": "logs/worker.err.log"
    }
  ]
}
"#;

#[test]
fn pm2_ecosystem_json_is_converted_checked_and_run() {
    let project = Project::empty();
    project.write("ecosystem.config.json", ECOSYSTEM);
    project.write("out/.keep", "");
    let output = init(&project, &["--from", "ecosystem.config.json"]);
    let report = &output.stderr;
    assert!(
        report.contains(
            "ecosystem.config.json:10: apps[queue-worker].env_production: proj has no env profiles"
        ),
        "{report}"
    );
    assert!(
        report.contains("ecosystem.config.json:12: apps[queue-worker].error_file"),
        "{report}"
    );
    let toml = project.read("proj.toml");
    assert!(toml.contains("max_memory = \"300MiB\""), "{toml}");
    assert!(toml.contains("restart = \"always\""), "{toml}");
    check(&project);
    let seen = up_and_collect(&project, &["out/worker.1.txt", "out/worker.2.txt"]);
    assert_eq!(seen, ["development 1", "development 2"]);
}

#[test]
fn pm2_ecosystem_yaml_is_read_too() {
    let project = Project::empty();
    project.write(
        "ecosystem.config.yaml",
        "apps:\n  - name: api\n    script: server.js\n    watch: true\n    kill_timeout: 3000\n",
    );
    init(&project, &[]);
    let toml = project.read("proj.toml");
    assert!(toml.contains("command = \"node server.js\""), "{toml}");
    assert!(toml.contains("stop_timeout = \"3000ms\""), "{toml}");
    check(&project);
}

#[test]
fn javascript_ecosystem_files_are_refused_with_the_way_out() {
    let project = Project::empty();
    project.write(
        "ecosystem.config.js",
        "module.exports = { apps: [{ name: 'api', script: 'server.js' }] };\n",
    );
    let output = run(&project, &["init"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("`ecosystem.config.js` is JavaScript, which proj does not run"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("JSON.stringify(require('./ecosystem.config.js'), null, 2)"),
        "{}",
        output.stderr
    );
    assert!(!project.path("proj.toml").exists());
}

#[test]
fn an_existing_proj_toml_is_kept_unless_forced() {
    let project = Project::new("[processes]\nweb = \"sleep 1\"\n");
    project.write("Procfile", "web: sleep 2\n");
    let output = run(&project, &["init"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stderr.contains("`proj.toml` exists already"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("--force"), "{}", output.stderr);
    assert_eq!(
        project.read("proj.toml"),
        "[processes]\nweb = \"sleep 1\"\n"
    );
    init(&project, &["--force"]);
    assert!(
        project
            .read("proj.toml")
            .contains("procfile = \"Procfile\"")
    );
    // A second run does not add proj.local.toml to .gitignore again.
    init(&project, &["--force"]);
    assert_eq!(
        project
            .read(".gitignore")
            .matches("proj.local.toml")
            .count(),
        1
    );
}

#[test]
fn nothing_to_convert_says_what_it_looked_for() {
    let project = Project::empty();
    let output = run(&project, &["init"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output
            .stderr
            .contains("no Procfile, supervisord.conf, process-compose.yaml or pm2 ecosystem file"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_broken_source_is_refused_with_its_line() {
    let project = Project::empty();
    project.write(
        "supervisord.conf",
        "[program:web]\ncommand=sleep 1\nthis line is not a key\n",
    );
    let output = run(&project, &["init"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output
            .stderr
            .contains("supervisord.conf:3: `this line is not a key` is not `key = value`"),
        "{}",
        output.stderr
    );
}
