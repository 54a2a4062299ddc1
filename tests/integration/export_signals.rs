//! SPEC §9.6: every exported command makes the program the main process, so stop
//! signals reach it. Each command of the Kubernetes, Compose and systemd
//! `--per-process` exports is run as PID 1 of a fresh PID namespace (`unshare --pid
//! --fork --mount-proc`), as a container runtime runs it, with the environment and
//! working directory the export gives it; the program says which pid it has, then gets
//! SIGTERM from outside the namespace, as a runtime sends it. The kernel delivers that
//! only to a PID 1 with a handler: a `sh` left in between (which has none) would never
//! pass it on.
//!
//! Needs root (for the namespace) and python3 with PyYAML (to read the manifests);
//! skipped with a message otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value as Json;

use crate::support::*;

/// A program that writes its pid to `OUT.ready`, then `TERM` to `OUT` on SIGTERM.
const TERM_PY: &str = r#"import os, signal, sys, time
out = sys.argv[1]
def stop(signum, frame):
    with open(out, "w") as f:
        f.write("TERM")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(out + ".ready", "w") as f:
    f.write(str(os.getpid()))
while True:
    time.sleep(0.05)
"#;

/// Commands of every shape: an argv with references, a list, a redirection, `exec`
/// already there, quoting; `PATH` refers to itself.
fn config(out: &Path) -> String {
    format!(
        r#"[project]
name = "signals"

[env]
OUT_DIR = "{out}"
PATH = "bin:$PATH"

[processes.web]
command = 'python3 term.py "$OUT_DIR/web" --port $PORT'
port = 8000

[processes.list]
command = "cd sub && python3 ../term.py ${{OUT_DIR}}/list"

[processes.redirect]
command = "python3 term.py $OUT_DIR/redirect 2>&1"

[processes.execd]
command = "exec python3 term.py $OUT_DIR/execd"

[processes.quoted]
command = "python3 -c 'import runpy, sys; sys.argv = [\"term.py\", sys.argv[1]]; runpy.run_path(\"term.py\")' $OUT_DIR/quoted"
"#,
        out = out.display()
    )
}

const PROCESSES: [&str; 5] = ["web", "list", "redirect", "execd", "quoted"];

/// What a target runs: argv, environment, working directory.
struct Run {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    cwd: String,
}

fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: a PID namespace needs root\n",
        );
        return false;
    }
    let yaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|status| status.success());
    if !yaml {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: python3 with PyYAML is needed to read the manifests\n",
        );
    }
    yaml
}

fn project() -> (Project, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let project = Project::new(&config(out.path()));
    project.write("term.py", TERM_PY);
    project.write("sub/.keep", "");
    (project, out)
}

/// YAML documents as JSON values.
fn yaml_documents(text: &str) -> Vec<Json> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Kubernetes' `$(NAME)` expansion and `$$` escape, as the kubelet applies them.
fn kubernetes_expand(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(value) = env.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn kubernetes_runs(project: &Project) -> BTreeMap<String, Run> {
    let root = project.root().to_string_lossy().into_owned();
    let output = project.run(&[
        "export",
        "kubernetes",
        "--image",
        "x:1",
        "--workdir",
        &root,
        "-o",
        "out",
    ]);
    assert!(output.status.success(), "{}", output.stderr);
    let documents = yaml_documents(&project.read("out/signals.k8s.yaml"));
    let config_map: BTreeMap<String, String> = documents
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .map(|d| serde_json::from_value(d["data"].clone()).unwrap())
        .unwrap_or_default();
    let mut runs = BTreeMap::new();
    for document in documents.iter().filter(|d| d["kind"] == "Deployment") {
        let container = &document["spec"]["template"]["spec"]["containers"][0];
        let mut env = config_map.clone();
        for variable in container["env"].as_array().into_iter().flatten() {
            let value = kubernetes_expand(variable["value"].as_str().unwrap(), &env);
            env.insert(variable["name"].as_str().unwrap().to_owned(), value);
        }
        let argv = strings(&container["command"])
            .iter()
            .map(|word| kubernetes_expand(word, &env))
            .collect();
        let cwd = container["workingDir"].as_str().unwrap().to_owned();
        runs.insert(
            document["metadata"]["name"].as_str().unwrap().to_owned(),
            Run { argv, env, cwd },
        );
    }
    runs
}

fn compose_runs(project: &Project) -> BTreeMap<String, Run> {
    let root = project.root().to_string_lossy().into_owned();
    let output = project.run(&["export", "compose", "--workdir", &root, "-o", "out"]);
    assert!(output.status.success(), "{}", output.stderr);
    let file = &yaml_documents(&project.read("out/compose.yaml"))[0];
    let unescape = |text: &str| text.replace("$$", "$");
    let mut runs = BTreeMap::new();
    for (name, service) in file["services"].as_object().unwrap() {
        let env = service["environment"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), unescape(value.as_str().unwrap())))
            .collect();
        let argv = strings(&service["command"])
            .iter()
            .map(|word| unescape(word))
            .collect();
        let cwd = service["working_dir"].as_str().unwrap().to_owned();
        runs.insert(name.clone(), Run { argv, env, cwd });
    }
    runs
}

/// The words of a systemd command line as systemd splits them (the subset the export
/// writes: double quotes with C escapes, `$$`, `%%`, `${NAME}`).
fn systemd_words(line: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(first) = chars.next() else {
            return words;
        };
        let quoted = first == '"';
        let mut word = String::new();
        if !quoted {
            word.push(first);
        }
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted => break,
                ' ' if !quoted => break,
                '\\' => match chars.next() {
                    Some('n') => word.push('\n'),
                    Some('t') => word.push('\t'),
                    Some(other) => word.push(other),
                    None => {}
                },
                '%' if chars.peek() == Some(&'%') => {
                    chars.next();
                    word.push('%');
                }
                '$' if chars.peek() == Some(&'$') => {
                    chars.next();
                    word.push('$');
                }
                '$' if chars.peek() == Some(&'{') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    word.push_str(env.get(&name).map_or("", String::as_str));
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

fn systemd_runs(project: &Project) -> BTreeMap<String, Run> {
    let output = project.run(&["export", "systemd", "--per-process", "-o", "units"]);
    assert!(output.status.success(), "{}", output.stderr);
    let mut runs = BTreeMap::new();
    for name in PROCESSES {
        let unit = project.read(&format!("units/signals-{name}.service"));
        let mut env = BTreeMap::new();
        let mut exec = String::new();
        let mut cwd = String::new();
        for line in unit.lines() {
            if let Some(value) = line.strip_prefix("Environment=") {
                let word = systemd_words(value, &BTreeMap::new()).remove(0);
                let (key, value) = word.split_once('=').unwrap();
                env.insert(key.to_owned(), value.to_owned());
            } else if let Some(value) = line.strip_prefix("ExecStart=") {
                exec = value.to_owned();
            } else if let Some(value) = line.strip_prefix("WorkingDirectory=") {
                cwd = value.replace("%%", "%");
            }
        }
        let argv = systemd_words(&exec, &env);
        runs.insert(name.to_owned(), Run { argv, env, cwd });
    }
    runs
}

/// The namespace's PID 1, as the host sees it: unshare's one child.
fn namespace_init(unshare: u32) -> Option<Pid> {
    let children =
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).ok()?;
    let pid: i32 = children.split_whitespace().next()?.parse().ok()?;
    Some(Pid::from_raw(pid))
}

/// Runs `run` as PID 1 of a new PID namespace; returns the pid the program `name` saw
/// and whether it got SIGTERM.
fn pid_and_term(run: &Run, out: &Path, name: &str) -> (String, bool) {
    let ready = out.join(format!("{name}.ready"));
    let result = out.join(name);
    let mut command = Command::new("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .args(&run.argv)
        .current_dir(&run.cwd)
        .env_clear()
        .envs(&run.env)
        .stdin(Stdio::null());
    if !run.env.contains_key("PATH") {
        command.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    }
    let mut unshare = command.spawn().expect("run unshare");
    let unshare_pid = unshare.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Ok(text) = std::fs::read_to_string(&ready)
            && !text.is_empty()
        {
            break text;
        }
        if Instant::now() > deadline || unshare.try_wait().unwrap().is_some() {
            // Clean up by pid: the namespace ends with its PID 1.
            if let Some(init) = namespace_init(unshare_pid) {
                let _ = kill(init, Signal::SIGKILL);
            }
            let _ = unshare.kill();
            let _ = unshare.wait();
            panic!("{:?} did not start in {}", run.argv, run.cwd);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let init = namespace_init(unshare_pid).expect("the namespace's PID 1");
    kill(init, Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let termed = loop {
        if std::fs::read_to_string(&result).is_ok_and(|text| text == "TERM") {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !termed {
        // Clean up by pid: the namespace ends with its PID 1.
        let _ = kill(init, Signal::SIGKILL);
    }
    let _ = unshare.wait();
    (pid, termed)
}

#[test]
fn every_exported_command_runs_its_program_as_pid_1_and_it_gets_sigterm() {
    if !can_run() {
        return;
    }
    let (project, out) = project();
    for (target, runs) in [
        ("kubernetes", kubernetes_runs(&project)),
        ("compose", compose_runs(&project)),
        ("systemd", systemd_runs(&project)),
    ] {
        assert_eq!(runs.len(), PROCESSES.len(), "{target}");
        for (name, run) in &runs {
            for file in std::fs::read_dir(out.path()).unwrap() {
                std::fs::remove_file(file.unwrap().path()).unwrap();
            }
            let (pid, termed) = pid_and_term(run, out.path(), name);
            assert_eq!(pid, "1", "{target} {name}: {:?} is not PID 1", run.argv);
            assert!(
                termed,
                "{target} {name}: {:?} did not get SIGTERM",
                run.argv
            );
        }
    }
}

#[test]
fn a_plain_sh_as_pid_1_loses_sigterm() {
    // What the exports did before: the check above would fail for it.
    if !can_run() {
        return;
    }
    let (project, out) = project();
    let run = Run {
        argv: vec![
            "sh".into(),
            "-c".into(),
            format!("python3 term.py {}/plain; true", out.path().display()),
        ],
        env: BTreeMap::new(),
        cwd: project.root().to_string_lossy().into_owned(),
    };
    let (pid, termed) = pid_and_term(&run, out.path(), "plain");
    assert_ne!(pid, "1");
    assert!(!termed);
}
