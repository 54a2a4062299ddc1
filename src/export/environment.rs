//! The environment an exported container gets (SPEC §2), and what becomes of the
//! references in its values (`$NAME`, `${NAME}`, `${NAME:-default}`, `$$`).
//!
//! Layers, later wins: the env files, `[env]`, the process's `env`, then what proj sets
//! itself (`PORT`, `PROJ_PROCESS`, `PROJ_INSTANCE`, `PROJ_PORT_<NAME>`). proj's own
//! environment is the image's here: it is not written, the container already has it.
//!
//! Each variable's final value is one of three [`Value`]s:
//!
//! - **Literal**: no references. Written as it is (escaped for the target).
//! - **Dependent**: every reference names another variable this container defines, with
//!   no default. Kubernetes expands these itself (`$(NAME)`, "dependent environment
//!   variables"); Compose cannot, so the exporter resolves them at export time unless
//!   they reach into an env file (whose values stay out of compose.yaml).
//! - **Shell**: a reference to a name the config does not define (it comes from the
//!   image, like `PATH` in `PATH = ".venv/bin:$PATH"`), to the variable itself, with a
//!   default, or to another Shell value. Neither target can express these, so the
//!   container's `sh` sets them before the command (`export NAME="…"`), which resolves
//!   them as proj would. Exec probes do not see them; the exporters say so.
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
    /// `PORT`, `PROJ_PROCESS`, `PROJ_INSTANCE`, `PROJ_PORT_<NAME>`.
    Proj,
}

/// What a variable's value needs from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Literal(String),
    Dependent(Vec<Part>),
    Shell(Vec<Part>),
}

/// One variable of a container, with its final value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    pub name: String,
    pub layer: Layer,
    pub value: Value,
}

/// The variables proj itself sets for an instance of `process`, as the targets can know
/// them: `PORT` is the process's `port` for every replica (each pod or container has its
/// own address, so proj's per-instance offset is not needed), and `PROJ_INSTANCE` only
/// when there is one instance (replicas have no numbers).
pub(crate) fn proj_variables(plan: &Plan, process: &ProcessSpec) -> EnvMap {
    let mut env = EnvMap::new();
    for other in &plan.processes {
        if let Some(port) = other.port {
            env.insert(
                crate::config::environment::port_variable(&other.name),
                port.to_string(),
            );
        }
    }
    if let Some(port) = process.port {
        env.insert("PORT".into(), port.to_string());
    }
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
    parsed
        .into_iter()
        .map(|(name, (layer, parts))| {
            let value = if shell.contains(name) {
                Value::Shell(parts)
            } else if parts.iter().all(|part| matches!(part, Part::Text(_))) {
                Value::Literal(concat_text(&parts))
            } else {
                Value::Dependent(parts)
            };
            Variable {
                name: name.to_owned(),
                layer,
                value,
            }
        })
        .collect()
}

/// The names whose values only a shell can resolve (see the module docs), including
/// those that depend on such a value or on a cycle.
fn shell_names<'a>(parsed: &BTreeMap<&'a str, (Layer, Vec<Part>)>) -> BTreeSet<&'a str> {
    let mut shell: BTreeSet<&str> = parsed
        .iter()
        .filter(|(name, (_, parts))| {
            references(parts).any(|(reference, default)| {
                reference == **name || default.is_some() || !parsed.contains_key(reference)
            })
        })
        .map(|(name, _)| *name)
        .collect();
    // Spread to what depends on a Shell value, until nothing changes.
    loop {
        let before = shell.len();
        for (name, (_, parts)) in parsed {
            if references(parts).any(|(reference, _)| shell.contains(reference)) {
                shell.insert(name);
            }
        }
        if shell.len() == before {
            break;
        }
    }
    // What is left in a cycle has no order to expand in.
    for name in parsed.keys() {
        if order_of(parsed, name, &mut Vec::new()).is_none() {
            shell.insert(name);
        }
    }
    shell
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
            // A cycle: classified Shell before reaching here; keep the rest as it is.
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
        Value::Dependent(parts) | Value::Shell(parts) => Some(parts),
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
                    Some(Value::Shell(_)) | None => {}
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

/// The `export NAME="…"` lines that set the Shell values, in dependency order, and
/// joined into a prefix for `sh -c`.
pub(crate) fn shell_prelude(variables: &[Variable]) -> String {
    let shell: Vec<&Variable> = variables
        .iter()
        .filter(|v| matches!(v.value, Value::Shell(_)))
        .collect();
    let mut prelude = String::new();
    for variable in in_dependency_order(shell) {
        if let Value::Shell(parts) = &variable.value {
            prelude.push_str(&format!(
                "export {}={}\n",
                variable.name,
                super::shell::double_quoted(parts)
            ));
        }
    }
    prelude
}

/// The final variables of `process`'s containers.
pub(crate) fn for_process(
    plan: &Plan,
    process: &ProcessSpec,
    files: &EnvMap,
    project: &EnvMap,
) -> Vec<Variable> {
    container(files, project, &process.env, &proj_variables(plan, process))
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
                Value::Dependent(parts) | Value::Shell(parts) => concat_text(parts),
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
        assert!(matches!(value("PATH"), Value::Shell(_)));
        assert!(matches!(value("LEVEL"), Value::Shell(_)));
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
    }

    #[test]
    fn cycles_and_what_depends_on_shell_values_go_to_the_shell() {
        let variables = container(
            &EnvMap::new(),
            &map(&[("A", "$B"), ("B", "$A"), ("C", "$HOME/x"), ("D", "$C/y")]),
            &EnvMap::new(),
            &EnvMap::new(),
        );
        assert!(variables.iter().all(|v| matches!(v.value, Value::Shell(_))));
        let prelude = shell_prelude(&variables);
        let c = prelude.find("export C=").unwrap();
        let d = prelude.find("export D=").unwrap();
        assert!(c < d, "{prelude}");
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
