//! What lets a pod wait for a oneshot's Job (see [`dependencies`](super::dependencies)):
//! a ServiceAccount `PROJECT-oneshots`, a Role that may `get` those Jobs and nothing
//! else, and the RoleBinding between them. Written only when some pod waits for a Job.

use crate::config::ProcessSpec;

use super::super::Note;
use super::super::names::dns_label;
use super::Context;
use super::objects::*;

/// The account of the pods that wait for a Job, when there are any.
pub(super) fn account(context: &Context) -> Option<String> {
    (!waited_jobs(context).is_empty())
        .then(|| format!("{}-oneshots", dns_label(&context.plan.name)))
}

/// Whether `process`'s pods wait for a Job.
pub(super) fn waits(context: &Context, process: &ProcessSpec) -> bool {
    context.options.init_oneshots
        && process
            .depends_on
            .iter()
            .filter_map(|name| context.plan.process(name))
            .any(|dependency| dependency.lifecycle.oneshot && dependency.schedule.is_none())
}

/// The Jobs some process waits for, by object name.
fn waited_jobs(context: &Context) -> Vec<String> {
    if !context.options.init_oneshots {
        return Vec::new();
    }
    let mut jobs: Vec<String> = context
        .plan
        .processes
        .iter()
        .flat_map(|process| &process.depends_on)
        .filter_map(|name| context.plan.process(name))
        .filter(|dependency| dependency.lifecycle.oneshot && dependency.schedule.is_none())
        .map(|dependency| dns_label(&dependency.name))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs
}

/// The ServiceAccount, Role and RoleBinding, or nothing.
pub(super) fn objects(context: &Context, notes: &mut Vec<Note>) -> Vec<Object> {
    let Some(name) = account(context) else {
        return Vec::new();
    };
    // A RoleBinding names its subject's namespace; without --namespace, the one kubectl
    // applies to is unknown here.
    let namespace = context.options.namespace.clone().unwrap_or_else(|| {
        notes.push(Note::project(
            "depends_on",
            format!(
                "on a oneshot: the pods that wait for its Job read it with the account \
                 {name}, and its RoleBinding names namespace `default`; export with \
                 --namespace NS to apply elsewhere"
            ),
        ));
        "default".to_owned()
    });
    let meta = context.project_meta(&name);
    vec![
        Object::ServiceAccount(ServiceAccount {
            api_version: "v1",
            kind: "ServiceAccount",
            metadata: meta.clone(),
        }),
        Object::Role(Role {
            api_version: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: meta.clone(),
            rules: vec![PolicyRule {
                api_groups: vec!["batch"],
                resources: vec!["jobs"],
                resource_names: waited_jobs(context),
                verbs: vec!["get"],
            }],
        }),
        Object::RoleBinding(RoleBinding {
            api_version: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: meta,
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io",
                kind: "Role",
                name: name.clone(),
            },
            subjects: vec![Subject {
                kind: "ServiceAccount",
                name,
                namespace,
            }],
        }),
    ]
}
