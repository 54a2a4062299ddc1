//! The pod of one process: its container (command, environment, port, probes, stop),
//! and the init containers that hold it back until its dependencies answer.
//!
//! - **Command**: the program itself as PID 1 (see [`command`](super::super::command)):
//!   its argv, with references as `$(NAME)`, or `sh -c` that `exec`s it; `workingDir` is
//!   `cwd` inside the project's directory in the image (`--workdir`).
//! - **`ready`** → probes, **`health`** → a livenessProbe, see [`probes`](super::probes).
//! - **`max_memory`** → `resources.limits.memory` in bytes; **`tty = true`** → `tty` and
//!   `stdin` (`kubectl attach -it` types into it).
//! - **Stop**: `terminationGracePeriodSeconds` = `stop_timeout`. A `stop_signal` other
//!   than TERM becomes a preStop hook that sends it (to PID 1 and every other process of
//!   the container, as proj signals the group) and waits; the grace period still ends
//!   with SIGKILL.
//! - **`depends_on`** → init containers, see [`dependencies`](super::dependencies).

use std::collections::BTreeSet;

use crate::config::{ProcessSpec, StopTarget};

use super::super::command::{self, Shape};
use super::super::environment::{self, Layer, Part, Value, Variable};
use super::super::names::dns_label;
use super::super::shell::StopHookStep;
use super::super::{Note, shell, variable_note};
use super::Context;
use super::objects::*;

/// The name of a process's port in its container and its Service.
pub(super) const PORT_NAME: &str = "main";

/// The pod spec of `process`, and what could not be expressed.
pub(super) fn template(context: &Context, process: &ProcessSpec) -> (PodSpec, Vec<Note>) {
    let mut notes = Vec::new();
    let variables = context.variables(process);
    notes.extend(environment_notes(process, &variables));
    notes.extend(account_notes(process));
    notes.extend(super::super::local_address_notes(process, "Kubernetes"));
    let mut main = container(context, process, &variables, &mut notes);
    let (grace, lifecycle) = stop(process);
    main.lifecycle = lifecycle;
    let mut init_containers = Vec::new();
    super::dependencies::init(
        context,
        process,
        &mut init_containers,
        &mut BTreeSet::new(),
        &mut notes,
    );
    let spec = PodSpec {
        enable_service_links: false,
        termination_grace_period_seconds: grace,
        restart_policy: None,
        service_account_name: super::access::waits(context, process)
            .then(|| super::access::account(context))
            .flatten(),
        init_containers,
        containers: vec![main],
    };
    (spec, notes)
}

/// The container that runs `process`.
pub(super) fn container(
    context: &Context,
    process: &ProcessSpec,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> Container {
    let (readiness_probe, startup_probe) = super::probes::probes(process, variables, notes);
    Container {
        name: dns_label(&process.name),
        image: context.options.image.clone(),
        command: command(process, variables, notes),
        working_dir: working_dir(context, process),
        env_from: env_from(context),
        env: env(variables),
        ports: process
            .port
            .map(|port| ContainerPort {
                name: PORT_NAME,
                container_port: port,
                protocol: "TCP",
            })
            .into_iter()
            .collect(),
        startup_probe,
        readiness_probe,
        liveness_probe: super::probes::liveness(process, variables, notes),
        resources: process.max_memory.map(|bytes| ResourceRequirements {
            limits: [("memory", bytes.to_string())].into_iter().collect(),
        }),
        volume_mounts: super::volumes::mounts(context, process),
        // `proj connect` types into it; `kubectl attach -it` does here.
        tty: process.tty,
        stdin: process.tty,
        lifecycle: None,
    }
}

/// The project's directory in the image, or `cwd` inside it.
pub(super) fn working_dir(context: &Context, process: &ProcessSpec) -> String {
    super::super::image_path(
        context.options.workdir.as_str(),
        &context.plan.root,
        &process.cwd,
    )
}

/// The program as the container's main process (see [`command`](super::super::command)):
/// its words, references as `$(NAME)` from the container's environment, or `sh -c` with
/// the program `exec`'d.
fn command(process: &ProcessSpec, variables: &[Variable], notes: &mut Vec<Note>) -> Vec<String> {
    let defined = |name: &str| variables.iter().any(|v| v.name == name);
    match command::shape(&process.command) {
        Shape::Argv(words) if command::referenced(&words).all(defined) => {
            words.iter().map(|word| dependent_value(word)).collect()
        }
        // A reference to the image's environment: sh expands it, then becomes the program.
        Shape::Argv(_) => sh_command(&command::exec_script(&process.command)),
        Shape::Exec(script) => sh_command(&script),
        Shape::Shell(reason) => {
            notes.push(super::super::shell_command_note(
                process,
                reason,
                "Kubernetes",
            ));
            sh_command(&process.command)
        }
    }
}

/// `sh -c SCRIPT`, with `$` doubled: a container's command goes through Kubernetes'
/// `$(NAME)` expansion, where `$$` is a literal `$`.
pub(super) fn sh_command(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.replace('$', "$$")]
}

/// The env files' Secret, then `[env]`'s ConfigMap: a later source wins, as `[env]`
/// wins over the env files in proj.
fn env_from(context: &Context) -> Vec<EnvFromSource> {
    let mut sources = Vec::new();
    if let Some(name) = &context.secret {
        sources.push(EnvFromSource {
            config_map_ref: None,
            secret_ref: Some(NameRef {
                name: name.clone(),
                optional: true,
            }),
        });
    }
    if let Some(name) = &context.config_map {
        sources.push(EnvFromSource {
            config_map_ref: Some(NameRef {
                name: name.clone(),
                optional: false,
            }),
            secret_ref: None,
        });
    }
    sources
}

/// The container's own `env`: what `envFrom` does not hold (the process's `env`, what
/// proj sets, and values with references as `$(NAME)`), each after what it references.
fn env(variables: &[Variable]) -> Vec<EnvVar> {
    let listed: Vec<&Variable> = variables
        .iter()
        .filter(|variable| match variable.value {
            // A value resolved at export is not the ConfigMap's or the Secret's.
            Value::Literal(_) => {
                matches!(variable.layer, Layer::Process | Layer::Proj)
                    || !variable.assumed.is_empty()
            }
            Value::Dependent(_) => true,
        })
        .collect();
    environment::in_dependency_order(listed)
        .into_iter()
        .map(|variable| EnvVar {
            name: variable.name.clone(),
            value: match &variable.value {
                Value::Literal(text) => text.replace('$', "$$"),
                Value::Dependent(parts) => dependent_value(parts),
            },
        })
        .collect()
}

/// `http://$HOST:${PORT}/` → `http://$(HOST):$(PORT)/`, the text's own `$` doubled.
fn dependent_value(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.replace('$', "$$"),
            Part::Reference { name, .. } => format!("$({name})"),
        })
        .collect()
}

fn environment_notes(process: &ProcessSpec, variables: &[Variable]) -> Vec<Note> {
    let mut notes = super::super::assumed_notes(process, variables);
    for variable in environment::local_addresses(variables) {
        notes.push(variable_note(
            process,
            variable,
            "points at 127.0.0.1 or localhost: in Kubernetes each process has its own \
             pod; reach another by ${PROJ_HOST_<NAME>}, its Service's name here and \
             127.0.0.1 under proj",
        ));
    }
    if process.scale > 1 {
        notes.push(Note::process(
            process,
            "scale",
            "> 1: PROJ_INSTANCE is not set, a Deployment's replicas have no numbers \
             (PORT is the same `port` in every pod)",
        ));
    }
    notes
}

fn account_notes(process: &ProcessSpec) -> Vec<Note> {
    let mut notes = Vec::new();
    for (key, value) in [("user", &process.user), ("group", &process.group)] {
        if value.is_some() {
            notes.push(Note::process(
                process,
                key,
                "is left out: Kubernetes takes numeric ids (securityContext.runAsUser, \
                 runAsGroup); set them, or the image's USER",
            ));
        }
    }
    notes
}

/// `terminationGracePeriodSeconds` (the sum of the waits) and, unless the sequence is
/// Kubernetes' own (TERM, then SIGKILL), a preStop hook that runs it.
fn stop(process: &ProcessSpec) -> (u64, Option<Lifecycle>) {
    let steps = super::super::stop_steps(process);
    let grace = steps.iter().map(|(_, wait)| wait).sum();
    // Kubernetes itself sends TERM to PID 1, then SIGKILL after the grace period.
    let kubernetes_own = matches!(steps.as_slice(), [(StopHookStep::Signal("TERM"), _)]);
    let main_only = process.lifecycle.stop_target == StopTarget::Main;
    let hook = (!kubernetes_own).then(|| Lifecycle {
        pre_stop: LifecycleHandler {
            exec: ExecAction {
                command: vec![
                    "sh".into(),
                    "-c".into(),
                    shell::stop_sequence(&steps, main_only),
                ],
            },
        },
    });
    (grace, hook)
}
