//! `depends_on` → init containers in the same image, so they need nothing else:
//!
//! - a service dependency with a port is waited for by TCP on its Service (which routes
//!   only to ready pods, so this waits for readiness);
//! - a oneshot dependency is waited for until its Job has completed, read from the
//!   Kubernetes API with the account of [`access`](super::access): the Job runs once per
//!   deployment, and no pod runs it again (SPEC §9.6). `--no-init-oneshots` leaves the
//!   wait out.

use std::collections::BTreeSet;

use crate::config::ProcessSpec;

use super::super::names::dns_label;
use super::super::{Note, shell};
use super::Context;
use super::objects::Container;
use super::pod::sh_command;

/// Appends the init containers that hold `process` back until its dependencies answer;
/// `seen` keeps each one once.
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
            if dependency.schedule.is_some() {
                notes.push(Note::process(
                    process,
                    "depends_on",
                    format!(
                        "= [\"{name}\"], a scheduled oneshot (a CronJob): the pods start \
                         without waiting for one of its runs"
                    ),
                ));
                continue;
            }
            let init_name = dns_label(&format!("wait-{label}"));
            if seen.insert(init_name.clone()) {
                containers.push(waiting(context, init_name, &shell::wait_for_job(&label)));
            }
        } else if let Some(port) = dependency.port {
            let init_name = dns_label(&format!("wait-{label}"));
            if seen.insert(init_name.clone()) {
                containers.push(waiting(
                    context,
                    init_name,
                    &shell::wait_for_tcp(&label, port),
                ));
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

/// An init container in the project's image that runs `script`.
fn waiting(context: &Context, name: String, script: &str) -> Container {
    Container {
        name,
        image: context.options.image.clone(),
        command: sh_command(script),
        working_dir: context.options.workdir.clone(),
        env_from: Vec::new(),
        env: Vec::new(),
        ports: Vec::new(),
        startup_probe: None,
        readiness_probe: None,
        liveness_probe: None,
        resources: None,
        volume_mounts: Vec::new(),
        tty: false,
        stdin: false,
        lifecycle: None,
    }
}
