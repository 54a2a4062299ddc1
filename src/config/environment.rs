//! The environment of a child of proj (SPEC §2): one builder for the supervisor's
//! instances, the setup steps and the exporters, so that they cannot disagree.
//!
//! Later wins: proj's environment (without systemd's private variables, see
//! [`PRIVATE_VARIABLES`]), `HOME`, `USER` and `LOGNAME` of the
//! process's `user` (so a config can still override them), the `env_file`s line by
//! line, `[env]`, the process's `env`, then what proj sets: `PROJ_ROOT`, `PWD` (the
//! process's own directory), `PROJ_PORT_<NAME>`, `PROJ_PORTS_<NAME>` and
//! `PROJ_HOST_<NAME>` for every process with a port, `PORT`, `PROJ_PROCESS`,
//! `PROJ_INSTANCE`, and the supervisor marker that the guardian and the sweep look for.
//!
//! Values are templates (`config::interpolate`), each resolved against what comes
//! before it: an env file's line against the earlier lines and files and proj's
//! environment, `[env]` against all of those, what proj sets for the project and its
//! own other keys (in whatever order they refer to each other), a process's `env` also
//! against its `PORT`, `PROJ_PROCESS` and `PROJ_INSTANCE`. The environment
//! is built per child, never by changing proj's own.
//!
//! Hundreds of instances of one process are common, so what they share is built once
//! per process ([`for_process`]) and held behind an `Arc`; [`for_instance`] adds the few
//! variables of the instance itself (and the process `env` values that refer to them).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

use super::interpolate;
use super::{Instance, Plan, ProcessSpec};
use crate::process::SUPERVISOR_MARKER;

/// Variables proj sets per instance: a process `env` value that refers to one of them
/// is resolved per instance.
const INSTANCE_VARIABLES: [&str; 2] = ["PORT", "PROJ_INSTANCE"];

/// What every instance of one process shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessEnvironment {
    /// Resolved, sorted by name.
    vars: Vec<(OsString, OsString)>,
    /// The process `env` entries that refer to an instance variable, as written.
    per_instance: Vec<(String, String)>,
}

/// A process's shared environment, one copy for all its instances.
pub type Shared = Arc<ProcessEnvironment>;

/// An instance's environment: its process's shared part, and its own few variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    shared: Shared,
    own: Vec<(OsString, OsString)>,
}

impl Environment {
    /// Whether `other` differs in anything a running instance must be restarted for:
    /// everything but `PROJ_PORTS_<NAME>`, which `proj scale` changes (an instance keeps
    /// the list it started with; a value built from one does differ).
    pub fn differs_from(&self, other: &Environment) -> bool {
        let relevant = |env: &Environment| {
            env.to_vec()
                .into_iter()
                .filter(|(key, _)| !key.to_string_lossy().starts_with(PORTS_PREFIX))
                .collect::<Vec<_>>()
        };
        relevant(self) != relevant(other)
    }

    /// Every variable, as `(key, value)` pairs ready for `Command::envs`.
    pub fn to_vec(&self) -> Vec<(OsString, OsString)> {
        let overridden = |key: &OsString| self.own.iter().any(|(own, _)| own == key);
        self.shared
            .vars
            .iter()
            .filter(|(key, _)| !overridden(key))
            .chain(&self.own)
            .cloned()
            .collect()
    }
}

/// A map of variables being built, layer by layer.
struct Layers(BTreeMap<OsString, OsString>);

impl Layers {
    fn from_inherited(inherited: &[(OsString, OsString)]) -> Layers {
        let mut env: BTreeMap<OsString, OsString> = inherited.iter().cloned().collect();
        env.retain(|key, _| !is_private(key));
        Layers(env)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(std::ffi::OsStr::new(name))
            .map(|value| value.to_string_lossy().into_owned())
    }

    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.into(), value.into());
    }

    /// The env files line by line (each sees the lines before it), then `[env]` (each
    /// sees what came before `[env]`), with `extra` (proj's ports) visible to `[env]`.
    fn add_project(&mut self, plan: &Plan, extra: &[(String, String)]) {
        for (key, template) in &plan.dotenv {
            let value = interpolate::expand(template, &|name| self.get(name));
            self.set(key, value);
        }
        let lookup = |name: &str| {
            extra
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .or_else(|| self.get(name))
        };
        for (key, value) in resolve_table(&plan.env, &lookup) {
            let value = if key == "PATH" {
                absolute_path_list(&value, &plan.root)
            } else {
                value
            };
            self.set(&key, value);
        }
    }
}

/// A `PATH` of `[env]` with its relative entries made absolute against the project
/// root (`node_modules/.bin:$PATH`): otherwise each process would look for them in its
/// own `cwd`, and a process in `frontend/` would not find `node_modules/.bin`.
fn absolute_path_list(value: &str, root: &std::path::Path) -> String {
    value
        .split(':')
        .map(|entry| {
            if entry.is_empty() || entry.starts_with('/') {
                entry.to_owned()
            } else {
                root.join(entry).display().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// The values of `table` (`[env]`), each expanded with `outer` and the table's other
/// keys, in whatever order they refer to each other (SPEC §9.2: `URL = "$BASE/api"`
/// works whether `BASE` is written before or after). A key that refers to itself,
/// directly or round a cycle, gets `outer`'s value there (`PATH = "$PATH:bin"`).
fn resolve_table(
    table: &super::EnvMap,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    fn resolve(
        key: &str,
        table: &super::EnvMap,
        outer: &dyn Fn(&str) -> Option<String>,
        done: &mut BTreeMap<String, String>,
        visiting: &mut Vec<String>,
    ) -> String {
        if let Some(value) = done.get(key) {
            return value.clone();
        }
        let Some(template) = table.get(key) else {
            return outer(key).unwrap_or_default();
        };
        visiting.push(key.to_owned());
        // The table's names met here are resolved first (a cycle's are left to
        // `outer`), then everything is substituted.
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        for reference in interpolate::references(template) {
            let name = reference.name;
            if table.contains_key(&name) && !visiting.contains(&name) {
                let value = resolve(&name, table, outer, done, visiting);
                known.insert(name, value);
            }
        }
        let value = interpolate::expand(template, &|name| {
            known.get(name).cloned().or_else(|| outer(name))
        });
        visiting.pop();
        done.insert(key.to_owned(), value.clone());
        value
    }
    let mut done = BTreeMap::new();
    table
        .keys()
        .map(|key| {
            let value = resolve(key, table, outer, &mut done, &mut Vec::new());
            (key.clone(), value)
        })
        .collect()
}

/// What proj sets for the whole project, the same for every process and setup step:
/// `PROJ_ROOT`, `PROJ_LISTEN_HOST` (the address to listen on: [`LOCAL_HOST`] under proj,
/// where nothing but this machine needs to reach a process; exports replace it with
/// every address of the container); and for every process with a port, `PROJ_PORT_<NAME>` (its first
/// instance's port), `PROJ_PORTS_<NAME>` (every instance's) and `PROJ_HOST_<NAME>`
/// (SPEC §9.2): `127.0.0.1` under proj, where every process shares the machine's
/// addresses; exports replace it with the target's service name.
pub fn project_variables(plan: &Plan) -> Vec<(String, String)> {
    let mut variables = vec![
        (ROOT_VARIABLE.to_owned(), plan.root.display().to_string()),
        (LISTEN_VARIABLE.to_owned(), LOCAL_HOST.to_owned()),
    ];
    for process in &plan.processes {
        if let Some(port) = process.port {
            variables.push((port_variable(&process.name), port.to_string()));
            // Every instance's port, for an upstream list (SPEC §9.2); one port for a
            // socket, which every instance shares.
            let mut ports: Vec<String> = process
                .instances()
                .iter()
                .filter_map(|instance| instance.port)
                .map(|port| port.to_string())
                .collect();
            ports.dedup();
            variables.push((ports_variable(&process.name), ports.join(",")));
        }
        if process.port.is_some() || process.port_auto {
            variables.push((host_variable(&process.name), LOCAL_HOST.to_owned()));
        }
    }
    variables
}

/// What `PROJ_HOST_<NAME>` and `PROJ_LISTEN_HOST` are under proj.
pub const LOCAL_HOST: &str = "127.0.0.1";

/// The address a server should listen on (an extension of SPEC §9.2, in the README):
/// `127.0.0.1` under proj, `0.0.0.0` in the Kubernetes and Compose exports, so that
/// `--bind ${PROJ_LISTEN_HOST}:$PORT` is right in both without an edit.
pub const LISTEN_VARIABLE: &str = "PROJ_LISTEN_HOST";

/// The project root, absolute (SPEC §9.2), for every process, probe and setup step.
pub const ROOT_VARIABLE: &str = "PROJ_ROOT";

/// A prefix no restart is made for: `PROJ_PORTS_<NAME>` changes with `proj scale`, and
/// an instance that runs keeps the list it started with (SPEC §9.2: "as of the moment
/// the reading instance starts").
pub const PORTS_PREFIX: &str = "PROJ_PORTS_";

/// `PROJ_PORTS_API` for `api`.
pub fn ports_variable(process: &str) -> String {
    format!("{PORTS_PREFIX}{}", variable_suffix(process))
}

/// `PROJ_PORT_API` for `api`: upper-cased, `-` and `.` as `_`.
pub fn port_variable(process: &str) -> String {
    format!("PROJ_PORT_{}", variable_suffix(process))
}

/// `PROJ_HOST_API` for `api`, named as [`port_variable`] names the port.
pub fn host_variable(process: &str) -> String {
    format!("PROJ_HOST_{}", variable_suffix(process))
}

fn variable_suffix(process: &str) -> String {
    process
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// What every instance of `process` gets: everything but its instance's own variables.
pub fn for_process(
    inherited: &[(OsString, OsString)],
    plan: &Plan,
    process: &ProcessSpec,
) -> Shared {
    let mut layers = Layers::from_inherited(inherited);
    if let Some(user) = &process.user {
        for (key, value) in crate::process::identity::login_environment(user) {
            layers.set(key, value);
        }
    }
    let mut project = project_variables(plan);
    // Its own working directory (SPEC §9.2), not the one proj was started in.
    project.push((
        "PWD".into(),
        plan.root.join(&process.cwd).display().to_string(),
    ));
    layers.add_project(plan, &project);
    let mut proj_set = project;
    proj_set.push(("PROJ_PROCESS".into(), process.name.clone()));
    let lookup = |name: &str| {
        proj_set
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| layers.get(name))
    };
    let mut per_instance = Vec::new();
    let mut resolved = Vec::new();
    for (key, template) in &process.env {
        let refers_to_instance = interpolate::references(template)
            .iter()
            .any(|reference| INSTANCE_VARIABLES.contains(&reference.name.as_str()));
        if refers_to_instance {
            per_instance.push((key.clone(), template.clone()));
        } else {
            resolved.push((key.clone(), interpolate::expand(template, &lookup)));
        }
    }
    for (key, value) in resolved {
        layers.set(&key, value);
    }
    for (key, value) in proj_set {
        layers.set(&key, value);
    }
    Arc::new(ProcessEnvironment {
        vars: layers.0.into_iter().collect(),
        per_instance,
    })
}

/// [`for_process`] for every process of `plan`, in plan order.
pub fn for_plan(inherited: &[(OsString, OsString)], plan: &Plan) -> Vec<Shared> {
    plan.processes
        .iter()
        .map(|process| for_process(inherited, plan, process))
        .collect()
}

/// The environment of `instance`: its process's `shared` variables, the process `env`
/// values that refer to instance variables, then `PORT`, `PROJ_PROCESS`,
/// `PROJ_INSTANCE` and the supervisor marker.
pub fn for_instance(shared: Shared, instance: &Instance, marker: &str) -> Environment {
    let mut own: Vec<(OsString, OsString)> = Vec::with_capacity(4);
    let mut proj_set: Vec<(&str, String)> = Vec::with_capacity(3);
    if let Some(port) = instance.port {
        proj_set.push(("PORT", port.to_string()));
    }
    proj_set.push(("PROJ_PROCESS", instance.process.clone()));
    proj_set.push(("PROJ_INSTANCE", instance.index.to_string()));
    if !shared.per_instance.is_empty() {
        let lookup = |name: &str| {
            proj_set
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .or_else(|| {
                    shared
                        .vars
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.to_string_lossy().into_owned())
                })
        };
        for (key, template) in &shared.per_instance {
            let value = interpolate::expand(template, &lookup);
            if !proj_set.iter().any(|(set, _)| set == key) {
                own.push((key.into(), value.into()));
            }
        }
    }
    own.extend(proj_set.into_iter().map(|(k, v)| (k.into(), v.into())));
    own.push((SUPERVISOR_MARKER.into(), marker.into()));
    Environment { shared, own }
}

/// A setup step's environment: proj's, the env files, `[env]` and what proj sets for the
/// project ([`project_variables`], and `PWD`: the root, where steps run).
pub fn for_setup(inherited: &[(OsString, OsString)], plan: &Plan) -> Vec<(OsString, OsString)> {
    let mut layers = Layers::from_inherited(inherited);
    let mut project = project_variables(plan);
    project.push(("PWD".into(), plan.root.display().to_string()));
    layers.add_project(plan, &project);
    for (key, value) in project {
        layers.set(&key, value);
    }
    layers.0.into_iter().collect()
}

/// For exporters: the variables proj would add for `instance` (everything but what
/// it inherits, which the target provides), with references resolved against
/// `inherited` (the exporting machine's environment).
pub fn defined_for_instance(
    inherited: &[(OsString, OsString)],
    plan: &Plan,
    process: &ProcessSpec,
    instance: &Instance,
) -> Vec<(String, String)> {
    let defined: std::collections::BTreeSet<String> = plan
        .dotenv
        .iter()
        .map(|(key, _)| key.clone())
        .chain(plan.env.keys().cloned())
        .chain(process.env.keys().cloned())
        .chain(project_variables(plan).into_iter().map(|(key, _)| key))
        .chain(["PORT", "PROJ_PROCESS", "PROJ_INSTANCE"].map(String::from))
        .collect();
    let shared = for_process(inherited, plan, process);
    let env = for_instance(shared, instance, "");
    env.to_vec()
        .into_iter()
        .filter(|(key, _)| key.to_str().is_some_and(|key| defined.contains(key)))
        .map(|(key, value)| {
            (
                key.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// The variables systemd gives proj that no child may see: they are proj's own channel
/// to systemd (a child that found `NOTIFY_SOCKET` could report readiness for proj, and
/// one that found `WATCHDOG_USEC` would believe the watchdog is its business).
pub const PRIVATE_VARIABLES: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// Whether `key` is one of [`PRIVATE_VARIABLES`].
pub fn is_private(key: &std::ffi::OsStr) -> bool {
    PRIVATE_VARIABLES.iter().any(|private| key == *private)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn as_map(env: &Environment) -> BTreeMap<String, String> {
        env.to_vec()
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect()
    }

    #[test]
    fn later_sources_win_and_proj_variables_are_set() {
        let process = ProcessSpec {
            env: map(&[("B", "from-process"), ("PORT", "overridden-by-port")]),
            port: Some(8000),
            scale: 3,
            ..fixtures::process("web", "true")
        };
        let plan = Plan {
            env: map(&[("A", "from-project"), ("B", "from-project")]),
            ..fixtures::plan(vec![process.clone()])
        };
        let instance = &process.instances()[1];
        let inherited = os(&[
            ("A", "inherited"),
            ("HOME", "/root"),
            ("NOTIFY_SOCKET", "@systemd"),
            ("WATCHDOG_USEC", "30000000"),
            ("WATCHDOG_PID", "1"),
        ]);
        let shared = for_process(&inherited, &plan, &process);
        let env = as_map(&for_instance(shared, instance, "123-abc"));
        let get = |key: &str| env.get(key).map(String::as_str);
        assert_eq!(get("HOME"), Some("/root"));
        assert_eq!(get("A"), Some("from-project"));
        assert_eq!(get("B"), Some("from-process"));
        assert_eq!(get("PORT"), Some("8001"));
        assert_eq!(get("PROJ_PORT_WEB"), Some("8000"));
        assert_eq!(get("PROJ_HOST_WEB"), Some("127.0.0.1"));
        assert_eq!(get("PROJ_LISTEN_HOST"), Some("127.0.0.1"));
        assert_eq!(get("PROJ_PROCESS"), Some("web"));
        assert_eq!(get("PROJ_INSTANCE"), Some("2"));
        assert_eq!(get(SUPERVISOR_MARKER), Some("123-abc"));
        for private in PRIVATE_VARIABLES {
            assert_eq!(get(private), None, "{private} reaches the child");
        }
    }

    #[test]
    fn references_resolve_through_every_layer() {
        let api = ProcessSpec {
            port: Some(9100),
            ..fixtures::process("api-v2", "true")
        };
        let web = ProcessSpec {
            env: map(&[
                (
                    "SELF",
                    "http://127.0.0.1:$PORT/$PROJ_PROCESS/${PROJ_INSTANCE}",
                ),
                ("API", "http://127.0.0.1:${PROJ_PORT_API_V2}"),
                ("FROM_FILE", "${URL}!"),
                ("LITERAL", "$$PATH"),
            ]),
            port: Some(8000),
            scale: 2,
            ..fixtures::process("web", "true")
        };
        let plan = Plan {
            dotenv: vec![
                ("HOST".into(), "db".into()),
                ("URL".into(), "postgres://$HOST/${NAME:-dev}".into()),
                ("QUOTED".into(), "$$HOST".into()),
            ],
            env: map(&[("PATH", ".venv/bin:$PATH"), ("HOST", "ignored-by-URL")]),
            ..fixtures::plan(vec![api, web.clone()])
        };
        let inherited = os(&[("PATH", "/usr/bin")]);
        let shared = for_process(&inherited, &plan, &web);
        let env = as_map(&for_instance(shared, &web.instances()[1], "m"));
        // A relative entry of `[env]`'s PATH is the project root's (SPEC §9.2).
        let venv = plan.root.join(".venv/bin");
        assert_eq!(env["PATH"], format!("{}:/usr/bin", venv.display()));
        assert_eq!(env["URL"], "postgres://db/dev");
        assert_eq!(env["QUOTED"], "$HOST");
        assert_eq!(env["SELF"], "http://127.0.0.1:8001/web/2");
        assert_eq!(env["API"], "http://127.0.0.1:9100");
        assert_eq!(env["FROM_FILE"], "postgres://db/dev!");
        assert_eq!(env["LITERAL"], "$PATH");
        let setup = for_setup(&inherited, &plan);
        assert!(setup.contains(&("PATH".into(), format!("{}:/usr/bin", venv.display()).into())));
        assert!(setup.contains(&("PROJ_PORT_API_V2".into(), "9100".into())));
    }

    #[test]
    fn instances_of_a_process_share_one_copy_of_its_environment() {
        let process = ProcessSpec {
            scale: 2,
            ..fixtures::process("web", "true")
        };
        let plan = fixtures::plan(vec![process.clone()]);
        let shared = for_process(&os(&[("A", "1")]), &plan, &process);
        let [first, second] =
            [0, 1].map(|i| for_instance(shared.clone(), &process.instances()[i], "m"));
        assert!(Arc::ptr_eq(&first.shared, &second.shared));
        assert_ne!(first, second);
        assert_eq!(first, for_instance(shared, &process.instances()[0], "m"));
    }
}
