//! `depends_on` → init containers in the same image, so they need nothing else: a
//! service dependency with a port is waited for by TCP on its Service (which routes only
//! to ready pods, so this waits for readiness); a oneshot dependency runs again as an
//! init container (its own dependencies first), unless `--no-init-oneshots`.

use std::collections::BTreeSet;

use crate::config::ProcessSpec;

use super::super::environment;
use super::super::names::dns_label;
use super::super::{Note, shell};
use super::Context;
use super::objects::Container;
use super::pod::{container, container_command};

/// Appends the init containers that hold `process` back until its dependencies answer,
/// a oneshot's own dependencies before it; `seen` keeps each one once.
pub(super) fn init(
    context: &Context,
    process: &ProcessSpec,
    containers: &mut Vec<Container>,
    seen: &mut BTreeSet<String>,
    notes: &mut Vec<Note>,
) {
    for name in &process.depends_on {
        let Some(dependency) = context.plan.process(name) else {
            continue;
        };
        let label = dns_label(&dependency.name);
        if dependency.lifecycle.oneshot {
            if !context.options.init_oneshots {
                notes.push(Note::process(
                    process,
                    "depends_on",
                    format!(
                        "= [\"{name}\"]: with --no-init-oneshots the pods start without \
                         waiting for the Job {label}"
                    ),
                ));
                continue;
            }
            init(context, dependency, containers, seen, notes);
            let init_name = dns_label(&format!("run-{label}"));
            if seen.insert(init_name.clone()) {
                let variables = environment::for_process(
                    context.plan,
                    dependency,
                    &context.files,
                    &context.project,
                );
                let mut run = container(context, dependency, &variables, &mut Vec::new());
                run.name = init_name;
                run.ports.clear();
                run.readiness_probe = None;
                run.startup_probe = None;
                run.liveness_probe = None;
                containers.push(run);
            }
        } else if let Some(port) = dependency.port {
            let init_name = dns_label(&format!("wait-{label}"));
            if seen.insert(init_name.clone()) {
                containers.push(Container {
                    name: init_name,
                    image: context.options.image.clone(),
                    command: container_command(&shell::wait_for_tcp(&label, port)),
                    env_from: Vec::new(),
                    env: Vec::new(),
                    ports: Vec::new(),
                    startup_probe: None,
                    readiness_probe: None,
                    liveness_probe: None,
                    resources: None,
                    tty: false,
                    stdin: false,
                    lifecycle: None,
                });
            }
            if !super::super::started_by_up(context.plan, dependency) {
                notes.push(Note::process(
                    process,
                    "depends_on",
                    format!(
                        "= [\"{name}\"], which has autostart = false (replicas 0): the pods \
                         wait until it is scaled up"
                    ),
                ));
            }
        } else {
            notes.push(Note::process(
                process,
                "depends_on",
                format!(
                    "= [\"{name}\"]: `{name}` has no port, so no Service to wait for; the \
                     pods start without waiting for it"
                ),
            ));
        }
    }
}
