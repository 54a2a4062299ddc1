//! Procfile mode as foreman and `heroku local` run it (SPEC §1, §4): `PORT` per
//! instance (base + 100 × line + instance − 1), `-p`, `-m`, with real servers.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::support::*;

/// A web server on `$PORT` that answers with its process, instance and port.
const SERVER: &str = r#"import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "{} {} {}".format(os.environ["PROJ_PROCESS"], os.environ["PROJ_INSTANCE"], os.environ["PORT"])
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn procfile_project(procfile: &str) -> Project {
    let project = Project::empty();
    project.write("Procfile", procfile);
    project.write("server.py", SERVER);
    project
}

fn get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let body = response.split("\r\n\r\n").nth(1)?;
    Some(body.to_string())
}

fn wait_for_body(port: u16) -> String {
    wait_until(&format!("an HTTP answer on port {port}"), || get(port))
}

fn check_output(project: &Project, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let output = command_without_port(project, &all)
        .output()
        .expect("run proj");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `INSTANCE PORT` pairs of `proj check`'s table.
fn ports(check: &str) -> Vec<(String, String)> {
    check
        .lines()
        .skip_while(|line| !line.starts_with("INSTANCE"))
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.next()?.to_string(), fields.next()?.to_string()))
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_procfile_web_process_gets_port_and_serves_http() {
    let base = free_port();
    let project = procfile_project(
        "web: python3 server.py\nworker: echo \"worker on $PORT\"; exec sleep 1000\n",
    );
    let mut proj = Running::start(command_without_port(
        &project,
        &["up", "--no-tui", "-p", &base.to_string()],
    ));
    assert_eq!(wait_for_body(base), format!("web 1 {base}"));
    proj.wait_for_output("worker", &format!("worker on {}", base + 100));
    assert!(proj.stop().success());
}

#[test]
fn formation_runs_that_many_instances_on_consecutive_ports() {
    let base = free_port();
    let project = procfile_project("web: python3 server.py\nclock: exec sleep 1000\n");
    let mut proj = Running::start(command_without_port(
        &project,
        &[
            "up",
            "--no-tui",
            "-p",
            &base.to_string(),
            "-m",
            "web=2,clock=0",
        ],
    ));
    assert_eq!(wait_for_body(base), format!("web 1 {base}"));
    assert_eq!(wait_for_body(base + 1), format!("web 2 {}", base + 1));
    let ps = project.run(&["ps", "--json"]);
    let instances: serde_json::Value = serde_json::from_str(&ps.stdout).expect("json");
    let names: Vec<&str> = instances
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web.1", "web.2"], "clock=0 runs no clock");
    assert!(proj.stop().success());
}

#[test]
fn check_shows_foreman_ports_from_the_flag_proj_env_dotenv_or_5000() {
    let project = procfile_project("web: a\nworker: b\nclock: c\n");
    let (code, out, err) = check_output(&project, &["-m", "worker=3"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        ports(&out),
        pairs(&[
            ("web", "5000"),
            ("worker.1", "5100"),
            ("worker.2", "5101"),
            ("worker.3", "5102"),
            ("clock", "5200"),
        ])
    );

    project.write(".env", "PORT=3000\n");
    let (_, out, _) = check_output(&project, &[]);
    assert_eq!(ports(&out)[1], ("worker".to_string(), "3100".to_string()));

    let output = project
        .command(&["check"])
        .env("PORT", "4000")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(ports(&out)[0], ("web".to_string(), "4000".to_string()));

    let (_, out, _) = check_output(&project, &["--port", "7000", "-m", "all=2,clock=0"]);
    assert_eq!(
        ports(&out),
        pairs(&[
            ("web.1", "7000"),
            ("web.2", "7001"),
            ("worker.1", "7100"),
            ("worker.2", "7101"),
        ])
    );
    assert!(
        out.contains("3. clock  (not run: -m sets 0 instances)"),
        "{out}"
    );
}

#[test]
fn an_unknown_formation_name_is_a_usage_error_listing_the_processes() {
    let project = procfile_project("web: a\nworker: b\n");
    let (code, out, err) = check_output(&project, &["-m", "web=1,wrker=2"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    let source = project.root().canonicalize().unwrap().join("Procfile");
    assert_eq!(
        err.trim_end(),
        format!(
            "error: -m/--formation names process `wrker`, not in {}\n |\n = help: the processes are: `web`, `worker`",
            source.display()
        )
    );
    let output = command_without_port(&project, &["up", "--no-tui", "-m", "wrker=2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!project.path(".proj").exists(), "nothing started");

    let (code, _, err) = check_output(&project, &["-m", "web"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`web` is not `NAME=COUNT`"), "{err}");
}

#[test]
fn formation_applies_to_proj_toml_too() {
    let project = Project::new(
        r#"
[processes.web]
command = "exec sleep 1000"
port = 8000
scale = 1

[processes.worker]
command = "exec sleep 1000"
scale = 3
"#,
    );
    let (code, out, err) = check_output(&project, &["-m", "web=2,worker=1"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        ports(&out),
        pairs(&[("web.1", "8000"), ("web.2", "8001"), ("worker", "-")])
    );
}

#[test]
fn formation_and_auto_ports_hold_after_setup_steps_ran() {
    let project = Project::new(
        r#"
[[setup]]
name = "prepare"
command = "echo prepared > prepared.txt"

[processes.api]
command = "echo \"api on $PORT\"; exec sleep 1000"
port = "auto"

[processes.web]
command = "echo \"web $PROJ_INSTANCE sees api on $PROJ_PORT_API\"; exec sleep 1000"
"#,
    );
    let mut proj = Running::start(command_without_port(
        &project,
        &["up", "--no-tui", "-m", "web=2"],
    ));
    let api = proj.wait_for_output("api", "api on ");
    let port = api.rsplit(' ').next().unwrap().to_string();
    proj.wait_for_output("web.1", &format!("web 1 sees api on {port}"));
    proj.wait_for_output("web.2", &format!("web 2 sees api on {port}"));
    assert!(project.path("prepared.txt").exists());
    assert!(proj.stop().success());
}

#[test]
fn reload_keeps_the_formation_and_the_ports_of_the_run() {
    let base = free_port();
    let project = procfile_project("web: python3 server.py\n");
    let mut proj = Running::start(command_without_port(
        &project,
        &["up", "--no-tui", "-p", &base.to_string(), "-m", "web=2"],
    ));
    wait_for_body(base + 1);
    project.write("Procfile", "web: python3 server.py # edited\n");
    let reload = project.run(&["reload"]);
    assert!(reload.status.success(), "{}", reload.stderr);
    assert!(reload.stdout.contains("web.1, web.2"), "{}", reload.stdout);
    assert_eq!(wait_for_body(base), format!("web 1 {base}"));
    assert_eq!(wait_for_body(base + 1), format!("web 2 {}", base + 1));
    assert!(proj.stop().success());
}

#[test]
fn procfile_dev_is_read_before_procfile_and_named() {
    // A Rails app: `Procfile` for production, `Procfile.dev` for development.
    let project = Project::empty();
    project.write(
        "Procfile",
        "web: echo production > which.txt; exec sleep 1000\n",
    );
    project.write(
        "Procfile.dev",
        "web: echo development > which.txt; exec sleep 1000\n",
    );
    let check = project.run(&["check"]);
    assert!(check.status.success(), "{}", check.stderr);
    assert!(
        check.stdout.starts_with(&format!(
            "{} is valid",
            project
                .root()
                .canonicalize()
                .unwrap()
                .join("Procfile.dev")
                .display()
        )) || check.stdout.starts_with("Procfile.dev is valid"),
        "{}",
        check.stdout
    );
    let mut proj = project.up(&[]);
    let first = proj.wait_for("proj");
    assert!(first.ends_with("using Procfile.dev"), "{first}");
    assert_eq!(project.wait_for_file("which.txt"), "development");
    assert!(proj.stop().success());
}

#[test]
fn control_commands_find_a_supervisor_started_from_any_file_from_a_subdirectory() {
    let project = Project::empty();
    project.write("Procfile.other", "app: exec sleep 1000\n");
    std::fs::create_dir_all(project.path("src/deep")).unwrap();
    let up = project.run(&["-f", "Procfile.other", "up", "-d"]);
    assert!(up.status.success(), "{}", up.stderr);
    let _detached = Detached(&project);
    let in_subdirectory = |args: &[&str]| {
        let output = project
            .command(args)
            .current_dir(project.path("src/deep"))
            .output()
            .unwrap();
        (
            output.status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (status, stdout, stderr) = in_subdirectory(&["ps"]);
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains("app") && stdout.contains("running"),
        "{stdout}"
    );
    let (status, _, stderr) = in_subdirectory(&["logs", "app"]);
    assert!(status.success(), "{stderr}");
    let (status, _, stderr) = in_subdirectory(&["down"]);
    assert!(status.success(), "{stderr}");
}
