//! pm2's ecosystem file (JSON or YAML) → proj.toml.
//!
//! `apps: [{ name, script, args, interpreter, cwd, env, instances, … }]`. The JSON
//! form is read with the YAML parser, which JSON is a subset of, so every key keeps
//! its line; a JSON file the YAML parser refuses (tabs for indentation) is read with
//! serde_json, without lines. `ecosystem.config.js` is JavaScript: proj does not run
//! it, and says how to turn it into JSON with node.
//!
//! Decisions: pm2 restarts after any exit (`restart = "always"`); `instances: "max"`
//! is this machine's CPU count; cluster mode shares one port between instances, which
//! proj does with `socket`; `env_<profile>` blocks have no equivalent
//! (proj.local.toml is the place for one machine's settings).

use std::path::Path;

use super::cwd::set_cwd;
use super::model::{Notes, Place, Process, Project, process_name, shell_join, shell_quote};
use super::yaml::{self, Located, Node};
use super::{ImportError, directory_of};

/// The refusal for `ecosystem.config.js`, with the one-line way out.
pub(super) fn javascript(path: &Path) -> ImportError {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    ImportError::Unsupported {
        message: format!(
            "`{}` is JavaScript, which proj does not run",
            path.display()
        ),
        help: format!(
            "convert it to JSON with node, then convert that: `node -e \"console.log(JSON.stringify(require('./{name}'), null, 2))\" > ecosystem.config.json && proj init --from ecosystem.config.json`"
        ),
    }
}

pub(super) fn convert(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<(Project, Notes), ImportError> {
    let document = match yaml::parse(text) {
        Ok(document) => document,
        Err(error) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(json) => from_json(&json),
            Err(_) => {
                return Err(ImportError::Syntax {
                    place: Place {
                        file: path.to_path_buf(),
                        line: error.line,
                    },
                    message: error.message,
                });
            }
        },
    };
    let apps = match &document.value {
        Node::List(apps) => apps.clone(),
        node => match node.get("apps").map(|apps| &apps.value) {
            Some(Node::List(apps)) => apps.clone(),
            Some(Node::Map(_)) => vec![node.get("apps").cloned().unwrap_or(Located {
                value: Node::Null,
                line: 0,
            })],
            _ => Vec::new(),
        },
    };
    let mut converter = Converter {
        path,
        root,
        notes: Notes::default(),
    };
    let mut project = Project::default();
    for (key, _) in document.value.entries() {
        if key.value != "apps" {
            converter.dropped(
                key.line,
                key.value.clone(),
                "only `apps` is carried over (deploy settings have no proj equivalent)",
            );
        }
    }
    let mut used: Vec<String> = Vec::new();
    for app in &apps {
        let mut process = converter.app(app);
        while used.contains(&process.name) {
            process.name.push('2');
        }
        used.push(process.name.clone());
        project.processes.push(process);
    }
    Ok((project, converter.notes))
}

/// serde_json's tree as a [`Node`] without lines (0 is shown as no line).
fn from_json(value: &serde_json::Value) -> Located<Node> {
    let node = match value {
        serde_json::Value::Null => Node::Null,
        serde_json::Value::Bool(b) => Node::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or(Node::Float(n.as_f64().unwrap_or(0.0)), Node::Integer),
        serde_json::Value::String(s) => Node::String(s.clone()),
        serde_json::Value::Array(items) => Node::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Node::Map(
            map.iter()
                .map(|(k, v)| {
                    (
                        Located {
                            value: k.clone(),
                            line: 0,
                        },
                        from_json(v),
                    )
                })
                .collect(),
        ),
    };
    Located {
        value: node,
        line: 0,
    }
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
            line: (line > 0).then_some(line),
        }
    }

    fn dropped(&mut self, line: usize, key: String, why: impl Into<String>) {
        let place = self.place(line);
        self.notes.dropped(place, key, why);
    }

    fn decision(&mut self, line: usize, key: String, why: impl Into<String>) {
        let place = self.place(line);
        self.notes.decision(place, key, why);
    }

    fn app(&mut self, app: &Located<Node>) -> Process {
        let node = &app.value;
        let text = |key: &str| node.get(key).and_then(|v| v.value.scalar_text());
        let script = text("script").unwrap_or_default();
        let original = text("name").unwrap_or_else(|| {
            Path::new(&script)
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app".to_owned())
        });
        let name = process_name(&original);
        let owner = format!("apps[{original}].");
        let mut process = Process::new(name.clone());
        if name != original {
            self.decision(
                app.line,
                format!("apps[{original}]"),
                format!("named `{name}` (process names are letters, digits, `_` and `-`)"),
            );
        }
        process.set("command", self.command(node, &owner));
        let mut restart_written = false;
        for (key, value) in node.entries() {
            let line = key.line;
            let full = format!("{owner}{}", key.value);
            let value = &value.value;
            match key.value.as_str() {
                "name" | "script" | "args" | "interpreter" | "interpreter_args" | "node_args" => {}
                "cwd" => {
                    if let Some(dir) = value.as_str() {
                        let base = directory_of(self.path);
                        if let Some((kind, text)) = set_cwd(&mut process, dir, &base, self.root, "pm2's cwd") {
                            let place = self.place(line);
                            self.notes.add(kind, place, full, text);
                        }
                    }
                }
                "env" => {
                    for (variable, value) in value.entries() {
                        process.env.push((variable.value.clone(), value.value.scalar_text().unwrap_or_default()));
                    }
                }
                profile if profile.starts_with("env_") => self.dropped(
                    line,
                    full,
                    "proj has no env profiles: put one machine's or one person's settings in proj.local.toml, merged over proj.toml",
                ),
                "instances" => {
                    let count = match value {
                        Node::String(text) if text == "max" => None,
                        other => other.as_f64().map(|n| n as i64),
                    };
                    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as i64);
                    let (scale, why) = match count {
                        Some(n) if n > 0 => (n, None),
                        Some(n) if n < 0 => ((cpus + n).max(1), Some(format!("pm2's `{n}` is the CPU count minus {}: {} here", -n, (cpus + n).max(1)))),
                        _ => (cpus, Some(format!("pm2's `max` is the CPU count: {cpus} here"))),
                    };
                    if scale > 1 {
                        match why {
                            Some(why) => {
                                process.set_because("scale", scale, why.clone());
                                self.decision(line, full, why);
                            }
                            None => process.set("scale", scale),
                        }
                    }
                }
                "exec_mode" => {
                    if value.as_str().is_some_and(|mode| mode.starts_with("cluster")) {
                        self.decision(
                            line,
                            full,
                            "pm2's cluster mode shares one port between instances; under proj each instance listens on its own: `port = 3000` gives instance i port 3000 + i - 1 in `PORT`",
                        );
                    }
                }
                "watch" => match value {
                    Node::Bool(true) => process.set_because("watch", vec![toml::Value::from("**/*")], "pm2's watch = true; .gitignore'd files are ignored"),
                    Node::List(paths) => {
                        let globs: Vec<toml::Value> = paths.iter().filter_map(|p| p.value.as_str()).map(|p| toml::Value::from(directory_glob(p))).collect();
                        process.set("watch", globs);
                    }
                    Node::String(path) => process.set("watch", vec![toml::Value::from(directory_glob(path))]),
                    _ => {}
                },
                "ignore_watch" => {
                    let globs: Vec<toml::Value> = match value {
                        Node::List(paths) => paths.iter().filter_map(|p| p.value.as_str()).map(|p| toml::Value::from(directory_glob(p))).collect(),
                        Node::String(path) => vec![toml::Value::from(directory_glob(path))],
                        _ => Vec::new(),
                    };
                    if !globs.is_empty() {
                        process.set("watch_ignore", globs);
                    }
                }
                "max_memory_restart" => match value.scalar_text().and_then(|size| memory(&size)) {
                    Some(size) => process.set("max_memory", size),
                    None => self.dropped(line, full, "not a size pm2 accepts (`300M`, `1G`)"),
                },
                "autorestart" => {
                    restart_written = true;
                    if value.as_bool() == Some(false) {
                        process.set("restart", "never");
                    } else {
                        process.set_because("restart", "always", "pm2 restarts after any exit");
                    }
                }
                "max_restarts" => {
                    if let Some(count) = value.as_f64() {
                        process.set_because("max_restarts", count as i64, "pm2 counts unstable restarts (before min_uptime); proj every restart within `restart_window` (60s)");
                    }
                }
                "restart_delay" => {
                    if let Some(ms) = value.as_f64() {
                        process.set("backoff", format!("{}ms", ms as u64));
                    }
                }
                "exp_backoff_restart_delay" => {
                    if let Some(ms) = value.as_f64() {
                        process.set_because("backoff", format!("{}ms", ms as u64), "pm2's exponential backoff; proj doubles the delay up to `backoff_max`");
                    }
                }
                "kill_timeout" => {
                    if let Some(ms) = value.as_f64() {
                        process.set("stop_timeout", format!("{}ms", ms as u64));
                    }
                }
                "min_uptime" | "wait_ready" | "listen_timeout" => self.dropped(
                    line,
                    full,
                    "proj's equivalent is a `ready` probe (`ready = { tcp = PORT }`, `{ log = \"listening\" }`), with `ready_timeout`",
                ),
                "out_file" | "error_file" | "log_file" | "merge_logs" | "combine_logs" | "log_date_format" | "time" | "pid_file" => {
                    self.dropped(line, full, "proj logs each process to `.proj/logs/NAME.log` (`proj logs NAME`)");
                }
                "cron_restart" => self.dropped(line, full, "proj's `schedule` runs oneshots; restart a service on a timer with a scheduled oneshot running `proj restart NAME`"),
                "autostart" => {
                    if value.as_bool() == Some(false) {
                        process.set("autostart", false);
                    }
                }
                "kill_signal" => {
                    if let Some(signal) = value.as_str() {
                        process.set("stop_signal", signal.trim_start_matches("SIG"));
                    }
                }
                other => self.dropped(line, full, format!("`{other}` has no proj equivalent")),
            }
        }
        if !restart_written {
            process.set_because(
                "restart",
                "always",
                "pm2 restarts after any exit (its autorestart default)",
            );
        }
        process
    }

    /// `interpreter [interpreter_args] script [args]`, as pm2 runs it.
    fn command(&mut self, node: &Node, owner: &str) -> String {
        let script = node
            .get("script")
            .and_then(|s| s.value.scalar_text())
            .unwrap_or_default();
        let words = |key: &str| -> Vec<String> {
            match node.get(key).map(|v| &v.value) {
                Some(Node::List(items)) => items
                    .iter()
                    .filter_map(|i| i.value.scalar_text())
                    .map(|w| shell_quote(&w))
                    .collect(),
                Some(Node::String(text)) => vec![text.trim().to_owned()],
                _ => Vec::new(),
            }
        };
        let interpreter = node
            .get("interpreter")
            .and_then(|i| i.value.as_str())
            .map(str::to_owned)
            .or_else(|| {
                let extension = Path::new(&script).extension()?.to_str()?.to_owned();
                match extension.as_str() {
                    "js" | "mjs" | "cjs" => Some("node".to_owned()),
                    "py" => Some("python3".to_owned()),
                    "sh" => Some("bash".to_owned()),
                    "rb" => Some("ruby".to_owned()),
                    "php" => Some("php".to_owned()),
                    "ts" => Some("ts-node".to_owned()),
                    _ => None,
                }
            });
        let mut parts: Vec<String> = Vec::new();
        if let Some(interpreter) = interpreter.filter(|i| i != "none") {
            parts.push(interpreter);
            parts.extend(words("interpreter_args"));
            parts.extend(words("node_args"));
        }
        if script.is_empty() {
            self.dropped(0, format!("{owner}script"), "missing: written as `true`");
            return "true".to_owned();
        }
        parts.push(if script.contains(' ') {
            script
        } else {
            shell_join(&[script])
        });
        parts.extend(words("args"));
        parts.join(" ")
    }
}

/// pm2 watches directories; proj's `watch` takes globs.
fn directory_glob(path: &str) -> String {
    let path = path.trim_start_matches("./").trim_end_matches('/');
    if path.contains('*') || path.contains('.') && !path.starts_with('.') {
        path.to_owned()
    } else {
        format!("{path}/**")
    }
}

/// pm2's `300M`, `1G`, `512K` (powers of 1024) → proj's `300MiB`.
fn memory(size: &str) -> Option<String> {
    let size = size.trim();
    let (number, unit) = size.split_at(
        size.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(size.len()),
    );
    let number: u64 = number.parse().ok()?;
    let unit = match unit.trim().to_uppercase().as_str() {
        "" => return Some(format!("{number}")),
        "K" | "KB" => "KiB",
        "M" | "MB" => "MiB",
        "G" | "GB" => "GiB",
        _ => return None,
    };
    Some(format!("{number}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_apps_with_lines() {
        let text = r#"{
  "apps": [
    {
      "name": "api",
      "script": "server.js",
      "args": ["--port", "3000"],
      "instances": 2,
      "exec_mode": "cluster",
      "max_memory_restart": "300M",
      "env": { "NODE_ENV": "development" },
      "env_production": { "NODE_ENV": "production" },
      "watch": ["src"]
    }
  ]
}
"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.config.json");
        let (project, notes) = convert(&path, text, dir.path()).unwrap();
        let api = &project.processes[0];
        let value = |key: &str| {
            api.entries
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.value.to_string())
                .unwrap_or_default()
        };
        assert_eq!(value("command"), r#""node server.js --port 3000""#);
        assert_eq!(value("scale"), "2");
        assert_eq!(value("max_memory"), r#""300MiB""#);
        assert_eq!(value("restart"), r#""always""#);
        assert_eq!(value("watch"), r#"["src/**"]"#);
        assert_eq!(api.env, [("NODE_ENV".to_owned(), "development".to_owned())]);
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n.key == "apps[api].env_production" && n.place.line == Some(11)),
            "{:#?}",
            notes.notes
        );
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n.key == "apps[api].exec_mode" && n.place.line == Some(8))
        );
    }

    #[test]
    fn javascript_is_refused_with_the_way_out() {
        let error = javascript(Path::new("ecosystem.config.js"));
        assert!(
            error
                .help()
                .contains("JSON.stringify(require('./ecosystem.config.js')")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(memory("300M").as_deref(), Some("300MiB"));
        assert_eq!(memory("1G").as_deref(), Some("1GiB"));
        assert_eq!(memory("lots"), None);
    }
}
