//! process-compose's YAML → proj.toml.
//!
//! The closest format to proj's: `command`, `working_dir`, `environment`,
//! `depends_on` with conditions, `readiness_probe`/`liveness_probe`, `availability`,
//! `shutdown`, `replicas`. The differences that need a decision:
//!
//! - `depends_on` conditions: proj waits for a dependency to be ready (its `ready`
//!   probe) or, for a oneshot, to exit 0. `process_completed_successfully` therefore
//!   makes the dependency `oneshot = true`; `process_completed` (any exit code) is
//!   stricter under proj, and said so.
//! - Replicas are numbered from 0 (`PC_REPLICA_NUM`), proj's instances from 1.
//! - `shutdown.signal` is a number; proj writes the name.

use std::path::Path;

use super::cwd::set_cwd;
use super::model::{Notes, Place, Process, Project, process_name, seconds};
use super::yaml::{self, Located, Node};
use super::{ImportError, directory_of};

pub(super) fn convert(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<(Project, Notes), ImportError> {
    let document = yaml::parse(text).map_err(|error| ImportError::Syntax {
        place: Place {
            file: path.to_path_buf(),
            line: error.line,
        },
        message: error.message,
    })?;
    let mut converter = Converter {
        path,
        root,
        notes: Notes::default(),
    };
    let mut project = Project::default();
    let mut oneshots: Vec<String> = Vec::new();
    for (key, value) in document.value.entries() {
        match key.value.as_str() {
            "version" | "is_strict" => {}
            "processes" => {
                for (name, definition) in value.value.entries() {
                    let process = converter.process(name, definition, &mut oneshots);
                    project.processes.push(process);
                }
            }
            "environment" => project.env = converter.environment(key, &value.value),
            "log_location" | "log_level" | "log_length" | "log_configuration" => converter
                .dropped(key, "", "proj logs each process to `.proj/logs/NAME.log`; rotation is `[project] log_max_size`"),
            "shell" => converter.dropped(key, "", "proj runs commands with `sh -c`"),
            "env_cmds" => converter.dropped(
                key,
                "",
                "no equivalent: a `[[setup]]` step can write the values to an env file",
            ),
            _ => converter.dropped(key, "", "no proj equivalent"),
        }
    }
    for process in &mut project.processes {
        if oneshots.contains(&process.name) && !process.has("oneshot") {
            process.set_because(
                "oneshot",
                true,
                "others wait for it to complete successfully (process-compose's process_completed_successfully)",
            );
        }
    }
    Ok((project, converter.notes))
}

struct Converter<'a> {
    path: &'a Path,
    root: &'a Path,
    notes: Notes,
}

impl Converter<'_> {
    fn place(&self, line: usize) -> Place {
        Place {
            file: self.path.to_path_buf(),
            line: Some(line),
        }
    }

    fn dropped(&mut self, key: &Located<String>, owner: &str, why: &str) {
        let place = self.place(key.line);
        self.notes
            .dropped(place, format!("{owner}{}", key.value), why);
    }

    fn decision(&mut self, line: usize, key: String, why: String) {
        let place = self.place(line);
        self.notes.decision(place, key, why);
    }

    /// `environment`: a list of `KEY=value` (also accepted: a mapping).
    fn environment(&mut self, key: &Located<String>, value: &Node) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        match value {
            Node::List(items) => {
                for item in items {
                    match item.value.as_str().and_then(|text| text.split_once('=')) {
                        Some((name, value)) => pairs.push((name.to_owned(), value.to_owned())),
                        None => {
                            let place = self.place(item.line);
                            self.notes
                                .dropped(place, key.value.clone(), "not `KEY=value`");
                        }
                    }
                }
            }
            Node::Map(entries) => {
                for (name, value) in entries {
                    pairs.push((
                        name.value.clone(),
                        value.value.scalar_text().unwrap_or_default(),
                    ));
                }
            }
            _ => self.dropped(key, "", "expected a list of `KEY=value`"),
        }
        pairs
    }

    fn process(
        &mut self,
        name: &Located<String>,
        definition: &Located<Node>,
        oneshots: &mut Vec<String>,
    ) -> Process {
        let proj_name = process_name(&name.value);
        let owner = format!("processes.{}.", name.value);
        let mut process = Process::new(proj_name.clone());
        if proj_name != name.value {
            self.decision(
                name.line,
                format!("processes.{}", name.value),
                format!("named `{proj_name}` (process names are letters, digits, `_` and `-`)"),
            );
        }
        let node = &definition.value;
        let replicas = node
            .get("replicas")
            .and_then(|r| r.value.as_f64())
            .map_or(1, |r| r.max(1.0) as i64);
        let mut restart_written = false;
        for (key, value) in node.entries() {
            let line = key.line;
            let full = format!("{owner}{}", key.value);
            match key.value.as_str() {
                "command" | "entrypoint" => {
                    if let Some(command) = self.command(node)
                        && !process.has("command")
                    {
                        if command.contains("PC_REPLICA_NUM") {
                            self.decision(line, full, "uses PC_REPLICA_NUM (from 0): proj's PROJ_INSTANCE counts from 1, so PC_REPLICA_NUM is set to `$((PROJ_INSTANCE - 1))`".to_owned());
                            process.set("command", format!("export PC_REPLICA_NUM=$((PROJ_INSTANCE - 1)); {command}"));
                        } else {
                            process.set("command", command);
                        }
                    }
                }
                "args" => {}
                "working_dir" => {
                    if let Some(dir) = value.value.as_str() {
                        let base = directory_of(self.path);
                        let source = "process-compose's working_dir";
                        if let Some((kind, text)) = set_cwd(&mut process, dir, &base, self.root, source) {
                            let place = self.place(line);
                            self.notes.add(kind, place, full, text);
                        }
                    }
                }
                "environment" => process.env = self.environment(key, &value.value),
                "replicas" => {
                    if replicas > 1 {
                        process.set_because(
                            "scale",
                            replicas,
                            "process-compose's replicas, numbered from 0; proj's instances are NAME.1, NAME.2, … (PROJ_INSTANCE from 1)",
                        );
                    }
                }
                "depends_on" => self.depends_on(key, &value.value, &owner, &mut process, oneshots),
                "readiness_probe" => {
                    if let Some(probe) = self.probe(key, &value.value, &owner) {
                        process.set("ready", probe);
                    }
                    self.ready_timeout(&value.value, &owner, &mut process);
                }
                "ready_log_line" => {
                    if let Some(line_text) = value.value.as_str() {
                        process.set("ready", table([("log", regex_escape(line_text).into())]));
                    }
                }
                "liveness_probe" => {
                    if let Some(toml::Value::Table(mut probe)) = self.probe(key, &value.value, &owner) {
                        if let Some(period) = value.value.get("period_seconds").and_then(|p| p.value.as_f64()) {
                            probe.insert("interval".into(), seconds(period).into());
                        }
                        if let Some(timeout) = value.value.get("timeout_seconds").and_then(|p| p.value.as_f64()) {
                            probe.insert("timeout".into(), seconds(timeout).into());
                        }
                        if let Some(retries) = value.value.get("failure_threshold").and_then(|p| p.value.as_f64()) {
                            probe.insert("retries".into(), (retries as i64).into());
                        }
                        process.set("health", toml::Value::Table(probe));
                    }
                }
                "availability" => restart_written |= self.availability(&value.value, &owner, &mut process),
                "shutdown" => self.shutdown(&value.value, &owner, &mut process),
                "disabled" => {
                    if value.value.as_bool() == Some(true) {
                        process.set("autostart", false);
                    }
                }
                "is_disabled" => {
                    if value.value.as_bool() == Some(true) {
                        process.set("autostart", false);
                    }
                }
                "is_tty" | "is_interactive" => {
                    if value.value.as_bool() == Some(true) && !process.has("tty") {
                        process.set("tty", true);
                    }
                }
                "description" => {
                    if let Some(text) = value.value.as_str() {
                        process.comments.push(text.trim().to_owned());
                    }
                }
                "is_daemon" => self.dropped(key, &owner, "not needed: a process that forks into the background stays its instance's and ends with it; run it in the foreground when it can"),
                "namespace" => self.dropped(key, &owner, "proj has no namespaces; `autostart = false` keeps a process out of `proj up`"),
                "log_location" | "log_configuration" => self.dropped(key, &owner, "proj logs each process to `.proj/logs/NAME.log`"),
                "launch_timeout_seconds" => self.dropped(key, &owner, "proj's `ready_timeout` bounds the wait for readiness"),
                other => {
                    let why = format!("`{other}` has no proj equivalent");
                    self.dropped(key, &owner, &why);
                }
            }
        }
        if !process.has("command") {
            let place = self.place(name.line);
            self.notes.dropped(
                place,
                format!("processes.{}", name.value),
                "has no `command`: written as `true`",
            );
            process.set("command", "true");
        }
        // process-compose's default is `no`: never restart.
        if !restart_written {
            process.set_because(
                "restart",
                "never",
                "process-compose restarts nothing unless `availability.restart` says so",
            );
        }
        process
    }

    /// `command` (a shell line) or `entrypoint` + `args`.
    fn command(&self, node: &Node) -> Option<String> {
        if let Some(command) = node.get("command").and_then(|c| c.value.as_str()) {
            return Some(command.trim().to_owned());
        }
        let mut words: Vec<String> = Vec::new();
        for key in ["entrypoint", "args"] {
            if let Some(Node::List(items)) = node.get(key).map(|n| &n.value) {
                words.extend(items.iter().filter_map(|item| item.value.scalar_text()));
            }
        }
        (!words.is_empty()).then(|| super::model::shell_join(&words))
    }

    fn depends_on(
        &mut self,
        key: &Located<String>,
        value: &Node,
        owner: &str,
        process: &mut Process,
        oneshots: &mut Vec<String>,
    ) {
        let mut names = Vec::new();
        for (dependency, condition) in value.entries() {
            let name = process_name(&dependency.value);
            let condition = condition
                .value
                .get("condition")
                .and_then(|c| c.value.as_str())
                .unwrap_or("process_started")
                .to_owned();
            let full = format!("{owner}depends_on.{}", dependency.value);
            match condition.as_str() {
                "process_completed_successfully" => {
                    oneshots.push(name.clone());
                    self.decision(dependency.line, full, format!("`{name}` becomes a oneshot: proj waits for it to exit 0"));
                }
                "process_completed" => self.decision(
                    dependency.line,
                    full,
                    format!("`{name}` becomes a oneshot, and proj waits for it to exit 0 (process_completed also accepted a failure)"),
                ),
                "process_healthy" | "process_log_ready" => {}
                "process_started" => self.decision(
                    dependency.line,
                    full,
                    format!("proj waits for `{name}` to be ready: started, or its `ready` probe passing when it has one"),
                ),
                other => self.decision(dependency.line, full, format!("condition `{other}`: proj waits for `{name}` to be ready")),
            }
            if condition == "process_completed" {
                oneshots.push(name.clone());
            }
            names.push(toml::Value::from(name));
        }
        if names.is_empty() {
            self.dropped(
                key,
                owner,
                "expected a mapping of process names to conditions",
            );
            return;
        }
        process.set("depends_on", names);
    }

    /// `readiness_probe`/`liveness_probe` → `{ http = … }` / `{ exec = … }`.
    fn probe(&mut self, key: &Located<String>, value: &Node, owner: &str) -> Option<toml::Value> {
        if let Some(http) = value.get("http_get") {
            let http = &http.value;
            let scheme = http
                .get("scheme")
                .and_then(|s| s.value.as_str())
                .unwrap_or("http");
            let host = http
                .get("host")
                .and_then(|s| s.value.as_str())
                .unwrap_or("127.0.0.1");
            let port = http
                .get("port")
                .and_then(|p| p.value.scalar_text())
                .unwrap_or_else(|| "80".into());
            let path = http
                .get("path")
                .and_then(|p| p.value.as_str())
                .unwrap_or("/");
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            return Some(table([(
                "http",
                format!("{scheme}://{host}:{port}{path}").into(),
            )]));
        }
        if let Some(command) = value
            .get("exec")
            .and_then(|exec| exec.value.get("command"))
            .and_then(|c| c.value.as_str())
        {
            return Some(table([("exec", command.trim().into())]));
        }
        self.dropped(
            key,
            owner,
            "only `http_get` and `exec` probes are carried over",
        );
        None
    }

    /// A readiness probe's timing: proj polls on its own schedule, so what carries over
    /// is how long process-compose would have waited in all.
    fn ready_timeout(&mut self, probe: &Node, owner: &str, process: &mut Process) {
        let number = |key: &str| probe.get(key).and_then(|v| v.value.as_f64());
        let (delay, period, failures) = (
            number("initial_delay_seconds").unwrap_or(0.0),
            number("period_seconds").unwrap_or(10.0),
            number("failure_threshold").unwrap_or(3.0),
        );
        let timings: Vec<&Located<String>> = probe
            .entries()
            .iter()
            .map(|(key, _)| key)
            .filter(|key| !["http_get", "exec"].contains(&key.value.as_str()))
            .collect();
        let Some(first) = timings.first() else {
            return;
        };
        let total = delay + period * failures;
        let why = format!(
            "process-compose gave up after initial_delay_seconds + period_seconds × failure_threshold = {}; proj polls on its own schedule",
            seconds(total)
        );
        process.set_because("ready_timeout", seconds(total), why.clone());
        self.decision(
            first.line,
            format!("{owner}readiness_probe.{}", first.value),
            why,
        );
        for key in &timings[1..] {
            if ![
                "initial_delay_seconds",
                "period_seconds",
                "failure_threshold",
            ]
            .contains(&key.value.as_str())
            {
                self.dropped(
                    key,
                    &format!("{owner}readiness_probe."),
                    "no proj equivalent",
                );
            }
        }
    }

    /// `availability`: restart policy, backoff, max restarts. Whether it set `restart`.
    fn availability(&mut self, value: &Node, owner: &str, process: &mut Process) -> bool {
        let mut written = false;
        for (key, item) in value.entries() {
            let full = format!("{owner}availability.{}", key.value);
            match key.value.as_str() {
                "restart" => {
                    let policy = item.value.as_str().unwrap_or("no");
                    let (proj, why) = match policy {
                        "always" => ("always", None),
                        "on_failure" => ("on-failure", None),
                        "exit_on_failure" => (
                            "on-failure",
                            Some(
                                "exit_on_failure stops everything after a failure: run `proj up --exit-on-failure`",
                            ),
                        ),
                        _ => ("never", None),
                    };
                    process.set("restart", proj);
                    written = true;
                    if let Some(why) = why {
                        self.decision(key.line, full, why.to_owned());
                    }
                }
                "backoff_seconds" => {
                    if let Some(secs) = item.value.as_f64() {
                        process.set("backoff", seconds(secs));
                    }
                }
                "max_restarts" => {
                    if let Some(count) = item.value.as_f64().filter(|c| *c > 0.0) {
                        process.set_because(
                            "max_restarts",
                            count as i64,
                            "process-compose counts every restart; proj counts those within `restart_window` (60s)",
                        );
                    }
                }
                _ => self.dropped(key, &format!("{owner}availability."), "no proj equivalent"),
            }
        }
        written
    }

    /// `shutdown`: `command`, `signal` (a number), `timeout_seconds`.
    fn shutdown(&mut self, value: &Node, owner: &str, process: &mut Process) {
        let timeout = value.get("timeout_seconds").and_then(|t| t.value.as_f64());
        if let Some(command) = value.get("command").and_then(|c| c.value.as_str()) {
            let wait = seconds(timeout.unwrap_or(10.0));
            let step = table([("command", command.trim().into()), ("wait", wait.into())]);
            process.set_because(
                "stop_sequence",
                vec![step],
                "process-compose's shutdown.command; SIGKILL to the group after the wait",
            );
            return;
        }
        if let Some(signal) = value.get("signal") {
            let name = signal
                .value
                .as_f64()
                .and_then(|number| nix::sys::signal::Signal::try_from(number as i32).ok())
                .map(|signal| signal.as_str().trim_start_matches("SIG").to_owned());
            match name {
                Some(name) if name != "TERM" => process.set("stop_signal", name),
                Some(_) => {}
                None => {
                    let key = Located {
                        value: "signal".to_owned(),
                        line: signal.line,
                    };
                    self.dropped(&key, &format!("{owner}shutdown."), "not a signal number");
                }
            }
        }
        if let Some(secs) = timeout.filter(|secs| *secs != 10.0) {
            process.set("stop_timeout", seconds(secs));
        }
    }
}

fn table<const N: usize>(entries: [(&str, toml::Value); N]) -> toml::Value {
    toml::Value::Table(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// A line of text as a regex that matches it literally.
fn regex_escape(text: &str) -> String {
    regex::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"version: "0.5"
environment:
  - "LOG_LEVEL=info"
processes:
  migrate:
    command: "python3 manage.py migrate"
  web:
    command: "python3 -m http.server 8000"
    depends_on:
      migrate:
        condition: process_completed_successfully
    readiness_probe:
      http_get:
        host: 127.0.0.1
        port: 8000
        path: "/"
    availability:
      restart: on_failure
      backoff_seconds: 2
    shutdown:
      signal: 2
      timeout_seconds: 5
    replicas: 2
    is_daemon: false
"#;

    #[test]
    fn converts_conditions_probes_and_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("process-compose.yaml");
        let (project, notes) = convert(&path, FILE, dir.path()).unwrap();
        assert_eq!(project.env, [("LOG_LEVEL".to_owned(), "info".to_owned())]);
        let migrate = &project.processes[0];
        assert!(migrate.has("oneshot"));
        let web = &project.processes[1];
        let value = |key: &str| {
            web.entries
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.value.to_string())
                .unwrap_or_default()
        };
        assert_eq!(value("ready"), r#"{ http = "http://127.0.0.1:8000/" }"#);
        assert_eq!(value("restart"), r#""on-failure""#);
        assert_eq!(value("backoff"), r#""2s""#);
        assert_eq!(value("stop_signal"), r#""INT""#);
        assert_eq!(value("stop_timeout"), r#""5s""#);
        assert_eq!(value("scale"), "2");
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n.key == "processes.web.is_daemon" && n.place.line == Some(24)),
            "{:#?}",
            notes.notes
        );
    }
}
