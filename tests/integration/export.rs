//! `proj export kubernetes` and `proj export compose` as a user runs them: the files
//! they write, what they print, what they refuse, and the output checked by the official
//! schemas (`kubernetes-validate --strict` for Kubernetes 1.30 and the newest version it
//! ships, the Compose Specification's JSON schema through `check-jsonschema`).
//!
//! A validator that is not installed skips its check with a message on stderr;
//! `.ci/run` installs both and sets PROJ_REQUIRE_VALIDATORS=1, which turns a missing
//! one into a failure. Debian's `docker-compose config` is used as well when installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// A config that uses every key proj has today.
const EVERY_KEY: &str = r#"
[project]
name = "every-key"
env_file = [".env", "missing.env"]
requires = ["python3"]
log_max_size = "1MiB"
log_backups = 2

[env]
DATABASE_URL = "postgres://app:${DB_PASSWORD}@${PROJ_HOST_DB}:${PROJ_PORT_DB}/app"
PATH = ".venv/bin:$PATH"
LOG_LEVEL = "${LEVEL:-info}"
PRICE = "$$5"
ANSWER = "yes"

[[setup]]
name = "deps"
command = "true"
sources = ["requirements.txt"]

[processes]
clock = "while true; do date; sleep 1; done"

[processes.db]
command = "postgres -D var/db -p $PORT"
port = 5432
ready = { tcp = "$PORT" }
stop_signal = "INT"
stop_timeout = "30s"
state = ["var/db", "var/wal"]
user = "postgres"
group = "postgres"

[processes.migrate]
command = "python3 migrate.py"
oneshot = true
depends_on = ["db"]
restart = "on-failure"
max_restarts = 3

[processes.web]
command = "python3 -m http.server $PORT"
cwd = "app"
port = 8000
scale = 2
env = { API_URL = "http://127.0.0.1:${PROJ_PORT_WEB}/api", SELF = "web-$PROJ_PROCESS" }
depends_on = ["db", "migrate"]
ready = { http = "http://127.0.0.1:$PORT/health" }
ready_timeout = "90s"
health = { http = "http://127.0.0.1:$PORT/health", interval = "15s", timeout = "3s", retries = 4 }
max_memory = "512MiB"
restart = "always"
backoff = "1s"
backoff_max = "1m"
restart_window = "5m"
watch = ["app/**/*.py"]
watch_ignore = ["app/tmp/**"]
watch_debounce = "500ms"

[processes.worker]
command = "python3 worker.py"
scale = 3
depends_on = ["db", "clock"]
ready = { exec = "test -f /tmp/ready" }
health = { exec = "test -f /tmp/alive" }
stop_signal = "QUIT"
stop_timeout = "1500ms"

[processes.tail]
command = "tail -f /dev/null"
ready = { log = "ready" }
autostart = false
restart = "never"

[processes.shell]
command = "python3 -i"
tty = true
max_memory = "1MB"

[processes.report]
command = "python3 report.py"
oneshot = true
schedule = "30 2 * * *"

[processes.celery]
command = "celery -A app worker"
stop_target = "main"
stop_sequence = [{ signal = "TSTP", wait = "5s" }, { command = "echo draining", wait = "2s" }, { signal = "TERM", wait = "10s" }]
"#;

fn every_key_project() -> Project {
    let project = Project::new(EVERY_KEY);
    project.write(".env", "DB_PASSWORD=s3cret\nLEVEL=debug\n");
    project.write("app/.keep", "");
    project
}

/// Says on the real stderr (not captured by the test harness) why a check is skipped,
/// or fails when CI asked for every validator.
fn skip(reason: &str) {
    if std::env::var_os("PROJ_REQUIRE_VALIDATORS").is_some_and(|v| v == "1") {
        panic!("{reason}, and PROJ_REQUIRE_VALIDATORS=1");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `kubernetes-validate --strict` for Kubernetes 1.30 and for the newest version it
/// ships (its default).
fn validate_kubernetes(file: &Path) {
    if !installed("kubernetes-validate") {
        skip("kubernetes-validate is not installed (pip install kubernetes-validate)");
        return;
    }
    for version in [Some("1.30.0"), None] {
        let mut command = Command::new("kubernetes-validate");
        command.args(["--strict", "--quiet"]);
        if let Some(version) = version {
            command.args(["--kubernetes-version", version]);
        }
        let output = command.arg(file).output().expect("run kubernetes-validate");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && !text.contains("ERROR"),
            "{} does not validate for Kubernetes {}:\n{}\n{}",
            file.display(),
            version.unwrap_or("(newest)"),
            text,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The Compose Specification's JSON schema (vendored by check-jsonschema): unknown
/// fields are refused. Also Debian's docker-compose (1.29) when it is installed: the
/// file is meant for both, except the `pre_stop` hooks of stop sequences, which only
/// Docker Compose 2.30+ knows (1.29 refuses them: the README says so); 1.29 checks the
/// rest of the file, without them.
fn validate_compose(file: &Path) {
    if installed("docker-compose") {
        let without_hooks = file.with_extension("1.29.yaml");
        std::fs::write(
            &without_hooks,
            without_pre_stop(&std::fs::read_to_string(file).unwrap()),
        )
        .unwrap();
        let output = Command::new("docker-compose")
            .arg("-f")
            .arg(&without_hooks)
            .args(["config", "--quiet"])
            .output()
            .expect("run docker-compose");
        let _ = std::fs::remove_file(&without_hooks);
        assert!(
            output.status.success(),
            "docker-compose config refuses {}:\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if !installed("check-jsonschema") {
        skip("check-jsonschema is not installed (pip install check-jsonschema)");
        return;
    }
    let output = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    assert!(
        output.status.success(),
        "{} does not validate against the Compose Specification:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `text` without its services' `pre_stop:` blocks (4-space keys, deeper contents).
fn without_pre_stop(text: &str) -> String {
    let mut kept = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line == "    pre_stop:" {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with("     ") || line.starts_with("    -")) {
            continue;
        }
        skipping = false;
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The examples' directory names.
fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An example as a clean clone has it, in `DIR/NAME` (the project name of a Procfile
/// project is its directory's): its top-level files except those its .gitignore names
/// (a `.env` that setup made).
fn clean_copy(name: &str, into: &Path) -> PathBuf {
    let source = examples_dir().join(name);
    let ignored: Vec<String> = std::fs::read_to_string(source.join(".gitignore"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let target = into.join(name);
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_file() && !ignored.contains(&file_name) {
            std::fs::copy(entry.path(), target.join(&file_name)).unwrap();
        }
    }
    target
}

/// `proj ARGS` in `dir`.
fn proj_in(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(proj_binary())
        .args(args)
        .current_dir(dir)
        .env_remove("PROJ_LOG")
        .output()
        .expect("run proj");
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What the deploy/ directory of example `name` should hold: (file name, content).
fn export_example(name: &str) -> Vec<(String, String)> {
    let scratch = tempfile::tempdir().unwrap();
    let dir = clean_copy(name, scratch.path());
    let image = format!("{name}:latest");
    for args in [
        vec!["export", "kubernetes", "--image", &image, "-o", "deploy"],
        vec!["export", "compose", "-o", "deploy"],
    ] {
        let output = proj_in(&dir, &args);
        assert!(output.status.success(), "{name}: {}", output.stderr);
    }
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir.join("deploy"))
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_examples_deploy_files_are_up_to_date() {
    for name in example_names() {
        for (file, expected) in export_example(&name) {
            let committed =
                std::fs::read_to_string(examples_dir().join(&name).join("deploy").join(&file))
                    .unwrap_or_default();
            assert!(
                committed == expected,
                "examples/{name}/deploy/{file} is stale: run scripts/update-deploy"
            );
        }
    }
}

#[test]
fn every_examples_manifests_validate() {
    for name in example_names() {
        let deploy = examples_dir().join(&name).join("deploy");
        validate_kubernetes(&deploy.join(format!("{name}.k8s.yaml")));
        validate_compose(&deploy.join("compose.yaml"));
    }
}

#[test]
fn a_config_with_every_key_exports_valid_manifests() {
    let project = every_key_project();
    let output = project.run(&[
        "export",
        "kubernetes",
        "--image",
        "registry.example.com/every:1.0",
        "--namespace",
        "shop",
        "-o",
        "out",
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let file = project.path("out/every-key.k8s.yaml");
    assert_eq!(
        output.stdout,
        format!("wrote {}\n", Path::new("out/every-key.k8s.yaml").display())
    );
    validate_kubernetes(&file);
    let text = project.read("out/every-key.k8s.yaml");
    for expected in [
        "kind: ConfigMap",
        "kind: Secret",
        "kind: Job",
        "kind: Deployment",
        "kind: StatefulSet",
        "kind: Service",
        "kind: ServiceAccount",
        "kind: Role",
        "kind: RoleBinding",
        "volumeClaimTemplates:",
        "clusterIP: None",
        "namespace: shop",
        "readinessProbe:",
        "startupProbe:",
        "preStop:",
        "initContainers:",
        "terminationGracePeriodSeconds: 30",
        "image: registry.example.com/every:1.0",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }

    let output = project.run(&["export", "compose", "-o", "out"]);
    assert!(output.status.success(), "{}", output.stderr);
    validate_compose(&project.path("out/compose.yaml"));
    let text = project.read("out/compose.yaml");
    for expected in [
        "pre_stop:",
        "db-var-db:/app/var/db",
        "profiles:\n    - scheduled",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    let output = project.run(&["export", "compose", "--image", "every:1", "-o", "out"]);
    assert!(output.status.success(), "{}", output.stderr);
    validate_compose(&project.path("out/compose.yaml"));
}

#[test]
fn what_is_left_out_is_named_on_stderr() {
    let project = every_key_project();
    let output = project.run(&["export", "kubernetes", "--image", "x:1"]);
    assert!(output.status.success(), "{}", output.stderr);
    for expected in [
        "warning: web: `watch` is left out",
        "warning: tail: `ready` = { log } is left out",
        "warning: db: `user` is left out",
        "warning: `setup` is left out",
        "warning: `env.PATH` refers to $PATH, which the export cannot read from the image",
        "warning: clock: `command` is a compound command: sh stays the main process",
        "warning: web: `ready` probes 127.0.0.1; the kubelet probes the pod's address",
        "warning: db: `state` → a StatefulSet",
        "warning: web: `scale` > 1: PROJ_INSTANCE is not set",
        "warning: worker: `depends_on` = [\"clock\"]",
    ] {
        assert!(
            output.stderr.contains(expected),
            "{expected} in\n{}",
            output.stderr
        );
    }
    let output = project.run(&["export", "compose"]);
    assert!(output.status.success(), "{}", output.stderr);
    for expected in [
        "warning: web: `watch` is left out",
        "warning: tail: `ready` = { log } is left out",
        "warning: web: `ready` = { http }: the healthcheck uses curl, wget or python3",
    ] {
        assert!(
            output.stderr.contains(expected),
            "{expected} in\n{}",
            output.stderr
        );
    }
}

#[test]
fn the_same_config_exports_the_same_bytes() {
    let project = every_key_project();
    for args in [
        ["export", "kubernetes", "--image", "x:1", "-o", "a"],
        ["export", "kubernetes", "--image", "x:1", "-o", "b"],
    ] {
        assert!(project.run(&args).status.success());
    }
    assert_eq!(
        project.read("a/every-key.k8s.yaml"),
        project.read("b/every-key.k8s.yaml")
    );
    assert!(
        project
            .run(&["export", "compose", "-o", "a"])
            .status
            .success()
    );
    assert!(
        project
            .run(&["export", "compose", "-o", "b"])
            .status
            .success()
    );
    // Paths in compose.yaml are relative to it: a/ and b/ are alike.
    assert_eq!(
        project.read("a/compose.yaml"),
        project.read("b/compose.yaml")
    );
}

#[test]
fn an_invalid_config_is_refused_and_nothing_is_written() {
    let project = Project::new("[processes.web]\ncommand = \"web\"\ndepends_on = [\"db\"]\n");
    for args in [
        vec!["export", "kubernetes", "--image", "x:1", "-o", "out"],
        vec!["export", "compose", "-o", "out"],
    ] {
        let output = project.run(&args);
        assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
        assert!(output.stderr.contains("proj.toml:3:"), "{}", output.stderr);
        assert!(output.stderr.contains("db"), "{}", output.stderr);
        assert!(!project.path("out").exists());
    }
}

#[test]
fn kubernetes_needs_an_image_and_a_valid_namespace() {
    let project = Project::new("[processes.web]\ncommand = \"web\"\n");
    let output = project.run(&["export", "kubernetes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains("--image"), "{}", output.stderr);
    let output = project.run(&[
        "export",
        "kubernetes",
        "--image",
        "x",
        "--namespace",
        "Prod",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stderr.contains("--namespace Prod"),
        "{}",
        output.stderr
    );
    assert!(!project.path("proj.k8s.yaml").exists());
}

#[test]
fn the_file_is_named_after_the_project_and_found_with_file() {
    let project = Project::new("[project]\nname = \"shop\"\n[processes.web]\ncommand = \"web\"\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let config = project.path("proj.toml");
    let output = proj_in(
        elsewhere.path(),
        &[
            "export",
            "kubernetes",
            "--image",
            "shop:1",
            "--file",
            config.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", output.stderr);
    assert!(elsewhere.path().join("shop.k8s.yaml").exists());
    let text = std::fs::read_to_string(elsewhere.path().join("shop.k8s.yaml")).unwrap();
    assert!(
        text.starts_with(
            "# Generated by `proj export kubernetes` from proj.toml (project shop).\n"
        )
    );
    // -f before the target and before `export` work too.
    let config = config.to_str().unwrap();
    for args in [
        ["export", "-f", config, "kubernetes", "--image", "shop:1"],
        ["-f", config, "export", "kubernetes", "--image", "shop:1"],
    ] {
        let output = proj_in(elsewhere.path(), &args);
        assert!(output.status.success(), "{args:?}: {}", output.stderr);
    }
    let output = proj_in(elsewhere.path(), &["export", "compose", "-f", config]);
    assert!(output.status.success(), "{}", output.stderr);
    let compose = std::fs::read_to_string(elsewhere.path().join("compose.yaml")).unwrap();
    // Built from the project, wherever compose.yaml went.
    let root = std::fs::canonicalize(project.root()).unwrap();
    let here = std::fs::canonicalize(elsewhere.path()).unwrap();
    let relative = format!("build: {}", pathdiff(&here, &root));
    assert!(compose.contains(&relative), "{relative} in\n{compose}");
}

/// `to` relative to `from`, for the expectation above.
fn pathdiff(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    path.display().to_string()
}
