//! The environment an exported container gets (SPEC §2), and what becomes of the
//! references in its values (`$NAME`, `${NAME}`, `${NAME:-default}`, `$$`).
//!
//! Layers, later wins: the env files, `[env]`, the process's `env`, then what proj sets
//! itself (`PORT`, `PROJ_ROOT`, `PROJ_LISTEN_HOST`, `PROJ_PROCESS`, `PROJ_INSTANCE`,
//! `PROJ_PORT_<NAME>`, `PROJ_HOST_<NAME>`). proj's own
//! environment is the image's here: it is not written, the container already has it.
//!
//! Each variable's final value is one of two [`Value`]s:
//!
//! - **Literal**: no references. Written as it is (escaped for the target).
//! - **Dependent**: every reference names another variable this container defines.
//!   Kubernetes expands these itself (`$(NAME)`, "dependent environment variables");
//!   Compose cannot, so the exporter resolves them at export time.
//!
//! A reference the targets cannot expand (to a name the config does not define, which
//! proj takes from its own environment, like `PATH` in `PATH = ".venv/bin:$PATH"`; to
//! the variable itself; in a cycle) is resolved at export (SPEC §9.6: interpolation is
//! done in the environment, never by a shell before the command): `PATH` as
//! [`DEFAULT_PATH`](super::DEFAULT_PATH), the path systemd and container images start
//! with, anything else as its default or empty. [`Variable::assumed`] lists those names
//! so that the exporters can say so. A `${NAME:-default}` whose NAME the config defines
//! is taken as `${NAME}`.
//!
//! References see the container's final values. proj resolves a layer against the
//! layers before it; the two differ only when a referenced name is defined twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{EnvMap, Plan, ProcessSpec};

pub(crate) use super::references::{Part, concat_text, parse, references};

/// Where a variable's final value was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Layer {
    EnvFile,
    Project,
    Process,
    /// `PORT`, `PROJ_ROOT`, `PROJ_LISTEN_HOST`, `PROJ_PROCESS`, `PROJ_INSTANCE`,
    /// `PROJ_PORT_<NAME>`, `PROJ_HOST_<NAME>`.
    Proj,
}

/// What a variable's value needs from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Literal(String),
    Dependent(Vec<Part>),
}

/// One variable of a container, with its final value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    pub name: String,
    pub layer: Layer,
    pub value: Value,
    /// References resolved at export, as the image's environment is unknown (see the
    /// module docs): their names.
    pub assumed: Vec<String>,
}

/// Where the target runs the project: what replaces proj's machine-local values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The project's directory in the image (`PROJ_ROOT`, the working directory).
    pub root: &'a str,
    /// The name other containers reach a process by (its Service, its Compose service).
    pub host: fn(&str) -> String,
}

/// What `PROJ_LISTEN_HOST` is in a container: every IPv4 address it has. Services and
/// other containers reach it at the pod's (or the Compose network's) address. Not `::`:
/// binding it fails in a container whose IPv6 is off, as on Docker's default networks.
pub(crate) const LISTEN_EVERYWHERE: &str = "0.0.0.0";

/// The variables proj itself sets for an instance of `process`, as the targets can know
/// them: `PORT` is the process's `port` for every replica (each pod or container has its
/// own address, so proj's per-instance offset is not needed), `PROJ_HOST_<NAME>` the
/// name that reaches NAME, `PROJ_LISTEN_HOST` [`LISTEN_EVERYWHERE`] (others reach a
/// container at its own address, not at 127.0.0.1), `PROJ_ROOT` the project's
/// directory in the image, and `PROJ_INSTANCE` only when there is one instance
/// (replicas have no numbers).
pub(crate) fn proj_variables(plan: &Plan, process: &ProcessSpec, target: Target<'_>) -> EnvMap {
    use crate::config::environment::{host_variable, port_variable};
    let mut env = EnvMap::new();
    for other in &plan.processes {
        if let Some(port) = other.port {
            env.insert(port_variable(&other.name), port.to_string());
            env.insert(host_variable(&other.name), (target.host)(&other.name));
        }
    }
    if let Some(port) = process.port {
        env.insert("PORT".into(), port.to_string());
    }
    env.insert("PROJ_ROOT".into(), target.root.to_owned());
    env.insert(
        crate::config::environment::LISTEN_VARIABLE.into(),
        LISTEN_EVERYWHERE.into(),
    );
    env.insert("PROJ_PROCESS".into(), process.name.clone());
    if process.scale == 1 {
        env.insert("PROJ_INSTANCE".into(), "1".into());
    }
    env
}

/// The container's variables by name, each from the last layer that defines it.
/// `files` are the env files' variables, `project` the `[env]` ones.
pub(crate) fn container(
    files: &EnvMap,
    project: &EnvMap,
    process: &EnvMap,
    proj: &EnvMap,
) -> Vec<Variable> {
    let mut last: BTreeMap<&str, (Layer, &str)> = BTreeMap::new();
    let layers = [
        (Layer::EnvFile, files),
        (Layer::Project, project),
        (Layer::Process, process),
        (Layer::Proj, proj),
    ];
    for (layer, env) in layers {
        for (name, value) in env {
            last.insert(name, (layer, value));
        }
    }
    let parsed: BTreeMap<&str, (Layer, Vec<Part>)> = last
        .iter()
        .map(|(name, (layer, value))| {
            // proj sets its own variables literally.
            let parts = if *layer == Layer::Proj {
                vec![Part::Text((*value).to_owned())]
            } else {
                parse(value)
            };
            (*name, (*layer, parts))
        })
        .collect();
    let shell = shell_names(&parsed);
    let mut settled: BTreeMap<&str, (Layer, Vec<Part>, Vec<String>)> = parsed
        .iter()
        .map(|(name, (layer, parts))| {
            let (parts, assumed) = if shell.contains(name) {
                settle(name, parts, &parsed)
            } else {
                (parts.clone(), Vec::new())
            };
            (*name, (*layer, parts, assumed))
        })
        .collect();
    // A cycle left after that (`A = "$B"`, `B = "$A"`) has no order to expand in: its
    // references are empty, as proj's would be for one of them.
    let plain: BTreeMap<&str, (Layer, Vec<Part>)> = settled
        .iter()
        .map(|(name, (layer, parts, _))| (*name, (*layer, parts.clone())))
        .collect();
    for (name, (_, parts, assumed)) in settled.iter_mut() {
        if order_of(&plain, name, &mut Vec::new()).is_none() {
            for part in parts.iter_mut() {
                if let Part::Reference { name, .. } = part {
                    assumed.push(std::mem::take(name));
                    *part = Part::Text(String::new());
                }
            }
        }
    }
    settled
        .into_iter()
        .map(|(name, (layer, parts, assumed))| {
            let value = if parts.iter().all(|part| matches!(part, Part::Text(_))) {
                Value::Literal(concat_text(&parts))
            } else {
                Value::Dependent(parts)
            };
            Variable {
                name: name.to_owned(),
                layer,
                value,
                assumed,
            }
        })
        .collect()
}

/// `name`'s parts with the references a target cannot expand resolved (see the
/// module docs), and the names so resolved.
fn settle(
    name: &str,
    parts: &[Part],
    parsed: &BTreeMap<&str, (Layer, Vec<Part>)>,
) -> (Vec<Part>, Vec<String>) {
    let mut assumed = Vec::new();
    let parts = parts
        .iter()
        .map(|part| match part {
            Part::Reference {
                name: reference,
                default,
            } if reference == name || !parsed.contains_key(reference.as_str()) => {
                assumed.push(reference.clone());
                Part::Text(image_value(reference, default.as_deref()))
            }
            Part::Reference { name, .. } => Part::Reference {
                name: name.clone(),
                default: None,
            },
            Part::Text(text) => Part::Text(text.clone()),
        })
        .collect();
    (parts, assumed)
}

/// What a variable the config does not define is taken to be in the target.
fn image_value(name: &str, default: Option<&str>) -> String {
    match (name, default) {
        ("PATH", _) => super::DEFAULT_PATH.to_owned(),
        (_, Some(default)) => default.to_owned(),
        (_, None) => String::new(),
    }
}

/// The names whose values hold a reference no target can expand (see the module docs).
fn shell_names<'a>(parsed: &BTreeMap<&'a str, (Layer, Vec<Part>)>) -> BTreeSet<&'a str> {
    parsed
        .iter()
        .filter(|(name, (_, parts))| {
            references(parts).any(|(reference, default)| {
                reference == **name || default.is_some() || !parsed.contains_key(reference)
            })
        })
        .map(|(name, _)| *name)
        .collect()
}

/// `Some(())` when following `name`'s references ends without coming back.
fn order_of<'a>(
    parsed: &BTreeMap<&'a str, (Layer, Vec<Part>)>,
    name: &'a str,
    path: &mut Vec<&'a str>,
) -> Option<()> {
    if path.contains(&name) {
        return None;
    }
    path.push(name);
    if let Some((_, parts)) = parsed.get(name) {
        for (reference, _) in references(parts) {
            if let Some((key, _)) = parsed.get_key_value(reference) {
                order_of(parsed, key, path)?;
            }
        }
    }
    path.pop();
    Some(())
}

/// `variables` ordered so that each comes after those it references (Kubernetes
/// expands `$(NAME)` only from variables listed before), otherwise by name.
pub(crate) fn in_dependency_order(variables: Vec<&Variable>) -> Vec<&Variable> {
    let mut placed: Vec<&Variable> = Vec::new();
    let mut waiting = variables;
    while !waiting.is_empty() {
        let names: BTreeSet<&str> = waiting.iter().map(|v| v.name.as_str()).collect();
        let (ready, blocked): (Vec<&Variable>, Vec<&Variable>) =
            waiting.into_iter().partition(|variable| {
                parts_of(variable)
                    .map(|parts| references(parts).all(|(name, _)| !names.contains(name)))
                    .unwrap_or(true)
            });
        if ready.is_empty() {
            // A cycle: broken by `container`; keep the rest as it is.
            placed.extend(blocked);
            break;
        }
        placed.extend(ready);
        waiting = blocked;
    }
    placed
}

fn parts_of(variable: &Variable) -> Option<&[Part]> {
    match &variable.value {
        Value::Literal(_) => None,
        Value::Dependent(parts) => Some(parts),
    }
}

/// A Dependent value resolved against the other variables (all Literal or Dependent,
/// acyclic: [`container`] made sure).
pub(crate) fn resolve(parts: &[Part], variables: &[Variable]) -> String {
    let mut resolved = String::new();
    for part in parts {
        match part {
            Part::Text(text) => resolved.push_str(text),
            Part::Reference { name, .. } => {
                match variables.iter().find(|v| &v.name == name).map(|v| &v.value) {
                    Some(Value::Literal(text)) => resolved.push_str(text),
                    Some(Value::Dependent(inner)) => {
                        resolved.push_str(&resolve(inner, variables));
                    }
                    None => {}
                }
            }
        }
    }
    resolved
}

/// Whether a Dependent value reaches (directly or through others) an env file's value.
pub(crate) fn reaches_env_file(parts: &[Part], variables: &[Variable]) -> bool {
    references(parts).any(|(name, _)| {
        variables
            .iter()
            .find(|v| v.name == name)
            .is_some_and(|v| match &v.value {
                _ if v.layer == Layer::EnvFile => true,
                Value::Dependent(inner) => reaches_env_file(inner, variables),
                _ => false,
            })
    })
}

/// The final variables of `process`'s containers.
pub(crate) fn for_process(
    plan: &Plan,
    process: &ProcessSpec,
    files: &EnvMap,
    project: &EnvMap,
    target: Target<'_>,
) -> Vec<Variable> {
    container(
        files,
        project,
        &process.env,
        &proj_variables(plan, process, target),
    )
}

/// The variables whose value points at this machine (`127.0.0.1`, `localhost`): in a
/// cluster or a Compose network every process has its own address.
pub(crate) fn local_addresses(variables: &[Variable]) -> Vec<&Variable> {
    variables
        .iter()
        .filter(|v| v.layer != Layer::EnvFile)
        .filter(|v| {
            let text = match &v.value {
                Value::Literal(text) => text.clone(),
                Value::Dependent(parts) => concat_text(parts),
            };
            text.contains("127.0.0.1") || text.contains("localhost")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_classified_by_what_they_reference() {
        let variables = container(
            &map(&[("SECRET", "s3")]),
            &map(&[
                ("PATH", ".venv/bin:$PATH"),
                ("URL", "http://db:${DB_PORT}/x?p=$SECRET"),
                ("LEVEL", "${LOG:-info}"),
            ]),
            &map(&[("DB_PORT", "5432"), ("SELF_URL", "http://web:$PORT")]),
            &map(&[("PORT", "8000")]),
        );
        let value = |name: &str| {
            variables
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(value("SECRET"), Value::Literal("s3".into()));
        assert_eq!(
            value("PATH"),
            Value::Literal(format!(".venv/bin:{}", super::super::DEFAULT_PATH))
        );
        assert_eq!(value("LEVEL"), Value::Literal("info".into()));
        assert!(matches!(value("URL"), Value::Dependent(_)));
        let Value::Dependent(parts) = value("SELF_URL") else {
            panic!("dependent")
        };
        assert_eq!(resolve(&parts, &variables), "http://web:8000");
        assert!(!reaches_env_file(&parts, &variables));
        let Value::Dependent(parts) = value("URL") else {
            panic!("dependent")
        };
        assert!(reaches_env_file(&parts, &variables));
        let assumed = |name: &str| {
            variables
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .assumed
                .clone()
        };
        assert_eq!(assumed("PATH"), ["PATH"]);
        assert_eq!(assumed("LEVEL"), ["LOG"]);
        assert!(assumed("URL").is_empty());
    }

    #[test]
    fn cycles_and_unknown_names_are_resolved_at_export() {
        let variables = container(
            &EnvMap::new(),
            &map(&[("A", "$B"), ("B", "$A"), ("C", "$HOME/x"), ("D", "$C/y")]),
            &EnvMap::new(),
            &EnvMap::new(),
        );
        let value = |name: &str| {
            variables
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(value("A"), Value::Literal(String::new()));
        assert_eq!(value("C"), Value::Literal("/x".into()));
        let Value::Dependent(parts) = value("D") else {
            panic!("dependent")
        };
        assert_eq!(resolve(&parts, &variables), "/x/y");
    }

    #[test]
    fn dependency_order_puts_references_first() {
        let variables = container(
            &EnvMap::new(),
            &map(&[("A_URL", "$Z_HOST:1"), ("Z_HOST", "h")]),
            &EnvMap::new(),
            &EnvMap::new(),
        );
        let ordered: Vec<&str> = in_dependency_order(variables.iter().collect())
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(ordered, ["Z_HOST", "A_URL"]);
    }
}
