//! `proj export kubernetes`: one multi-document `PROJECT.k8s.yaml` (SPEC §8).
//!
//! - `[env]` → a ConfigMap `PROJECT-env`, the env files → a Secret `PROJECT-env-files`;
//!   every container takes both with `envFrom`, then its own `env` (see [`pod`]).
//! - A service process → a Deployment (`replicas` = `scale`, 0 without `autostart`) and,
//!   with a `port`, a Service of the same name; with `state`, a StatefulSet and a
//!   headless Service instead (see `volumes.rs`); a oneshot → a Job; a oneshot with a
//!   `schedule` → a CronJob (the expression as written, `concurrencyPolicy: Forbid`, the
//!   Job's spec as its `jobTemplate`; no `timeZone`: proj's local zone has no reliable
//!   IANA name, a note says so).
//! - Each pod's shape (command, probes, stop, init containers) is built in [`pod`]; the
//!   account that lets pods wait for a oneshot's Job in `access.rs`.
//!
//! Objects are named after the process as a DNS label (`Web_API` → `web-api`), labelled
//! `app.kubernetes.io/{name,part-of,managed-by}`, and selected by name and part-of.

mod access;
mod dependencies;
mod objects;
mod pod;
mod probes;
mod volumes;

use std::collections::BTreeMap;

use crate::config::{EnvMap, Plan, ProcessSpec, RestartPolicy};

use super::environment::{self, Part};
use super::names::{dns_label, label_value};
use super::{Export, Note};
use objects::*;

/// What `proj export kubernetes` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The image every container runs.
    pub image: String,
    /// `metadata.namespace` of every object.
    pub namespace: Option<String>,
    /// Hold a oneshot's dependants back until its Job has completed (see
    /// `dependencies.rs`); without, they start at once.
    pub init_oneshots: bool,
    /// The project's directory in the image: the working directory and `PROJ_ROOT`.
    pub workdir: String,
}

/// What the builders share: the plan, the options and the project's variables.
struct Context<'a> {
    plan: &'a Plan,
    options: &'a Options,
    files: EnvMap,
    project: EnvMap,
    config_map: Option<String>,
    secret: Option<String>,
}

/// The manifests for `plan`, or why they cannot be written (two processes whose names
/// become the same Kubernetes name).
pub(crate) fn export(plan: &Plan, options: &Options) -> Result<Export, String> {
    let (objects, notes) = build(plan, options)?;
    let mut content = super::header("proj export kubernetes", plan);
    for object in &objects {
        content.push_str("---\n");
        content.push_str(&super::yaml(object)?);
    }
    Ok(Export {
        file_name: format!("{}.k8s.yaml", plan.name),
        content,
        notes: super::unique(notes),
    })
}

/// The objects in file order (ConfigMap, Secret, then each process's), and the notes.
fn build(plan: &Plan, options: &Options) -> Result<(Vec<Object>, Vec<Note>), String> {
    check_names(plan)?;
    let files = crate::config::env_file_values(plan);
    // `[env]` alone, as written (the plan keeps the env files apart).
    let project = plan.env.clone();
    let project_name = dns_label(&plan.name);
    let literal = |env: &EnvMap| -> BTreeMap<String, String> {
        env.iter()
            .filter(|(_, value)| {
                environment::parse(value)
                    .iter()
                    .all(|part| matches!(part, Part::Text(_)))
            })
            .map(|(key, value)| {
                (
                    key.clone(),
                    environment::parse(value).iter().map(text_of).collect(),
                )
            })
            .collect()
    };
    let config_data = literal(&project);
    let secret_data = literal(&files);
    let context = Context {
        plan,
        options,
        config_map: (!config_data.is_empty()).then(|| format!("{project_name}-env")),
        // Referenced whenever there are env files, optional: a file missing at export
        // (a .env that setup makes) can still become the Secret later.
        secret: (!plan.env_files.is_empty()).then(|| format!("{project_name}-env-files")),
        files,
        project,
    };
    let mut objects = Vec::new();
    let mut notes = super::common_notes(plan, "Kubernetes");
    if let Some(name) = &context.config_map {
        objects.push(Object::ConfigMap(ConfigMap {
            api_version: "v1",
            kind: "ConfigMap",
            metadata: context.project_meta(name),
            data: config_data,
        }));
    }
    if let Some(name) = context.secret.as_ref().filter(|_| secret_data.is_empty()) {
        let files: Vec<String> = plan
            .env_files
            .iter()
            .map(|path| {
                let shown = path.strip_prefix(&plan.root).unwrap_or(path);
                format!("--from-env-file={}", shown.display())
            })
            .collect();
        notes.push(Note::project(
            "env_file",
            format!(
                "had no values at export: pods take the Secret {name} if it exists; \
                 create it with `kubectl create secret generic {name} {}`",
                files.join(" ")
            ),
        ));
    }
    if let Some(name) = context.secret.as_ref().filter(|_| !secret_data.is_empty()) {
        notes.push(Note::project(
            "env_file",
            format!(
                "values are in the Secret {name} in plain text: keep the file out of \
                 version control, or create the Secret another way and delete it here"
            ),
        ));
        objects.push(Object::Secret(Secret {
            api_version: "v1",
            kind: "Secret",
            metadata: context.project_meta(name),
            secret_type: "Opaque",
            string_data: secret_data,
        }));
    }
    objects.extend(access::objects(&context, &mut notes));
    for process in &plan.processes {
        let (template, pod_notes) = pod::template(&context, process);
        notes.extend(pod_notes);
        notes.extend(super::restart_budget_notes(process, "Kubernetes"));
        if let Some(schedule) = process
            .schedule
            .as_ref()
            .filter(|_| process.lifecycle.oneshot)
        {
            let job = job(&context, process, template, &mut notes);
            objects.push(Object::CronJob(cron_job(
                &context, process, schedule, job, &mut notes,
            )));
        } else if process.lifecycle.oneshot {
            objects.push(Object::Job(job(&context, process, template, &mut notes)));
        } else if !process.state.is_empty() {
            objects.push(Object::StatefulSet(stateful_set(
                &context, process, template, &mut notes,
            )));
            objects.push(Object::Service(service(&context, process, true)));
        } else {
            objects.push(Object::Deployment(deployment(
                &context,
                process,
                template,
                &mut notes,
                "deployment",
            )));
            if process.port.is_some() {
                objects.push(Object::Service(service(&context, process, false)));
            }
        }
    }
    Ok((objects, notes))
}

fn text_of(part: &Part) -> &str {
    match part {
        Part::Text(text) => text,
        Part::Reference { .. } => "",
    }
}

/// Two processes must not become one object.
fn check_names(plan: &Plan) -> Result<(), String> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for process in &plan.processes {
        let name = dns_label(&process.name);
        if let Some(other) = seen.insert(name.clone(), &process.name) {
            return Err(format!(
                "processes `{other}` and `{}` both become `{name}` in Kubernetes (names are \
                 lower case, `_` becomes `-`): rename one of them",
                process.name
            ));
        }
    }
    Ok(())
}

impl Context<'_> {
    /// The final variables of `process`'s containers.
    fn variables(&self, process: &ProcessSpec) -> Vec<environment::Variable> {
        let target = environment::Target {
            root: &self.options.workdir,
            host: dns_label,
        };
        environment::for_process(self.plan, process, &self.files, &self.project, target)
    }

    fn project_labels(&self) -> Labels {
        let mut labels = Labels::new();
        labels.insert(
            "app.kubernetes.io/part-of".into(),
            label_value(&self.plan.name),
        );
        labels.insert("app.kubernetes.io/managed-by".into(), "proj".into());
        labels
    }

    /// What selects a process's pods: its name within the project.
    fn selector(&self, process: &ProcessSpec) -> Labels {
        let mut labels = Labels::new();
        labels.insert("app.kubernetes.io/name".into(), dns_label(&process.name));
        labels.insert(
            "app.kubernetes.io/part-of".into(),
            label_value(&self.plan.name),
        );
        labels
    }

    fn process_labels(&self, process: &ProcessSpec) -> Labels {
        let mut labels = self.project_labels();
        labels.extend(self.selector(process));
        labels
    }

    fn project_meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_owned(),
            namespace: self.options.namespace.clone(),
            labels: self.project_labels(),
        }
    }

    fn process_meta(&self, process: &ProcessSpec) -> ObjectMeta {
        ObjectMeta {
            name: dns_label(&process.name),
            namespace: self.options.namespace.clone(),
            labels: self.process_labels(process),
        }
    }
}

/// A service process's Deployment; `kind` names it for kubectl in notes (a StatefulSet
/// is built from it).
fn deployment(
    context: &Context,
    process: &ProcessSpec,
    template: PodSpec,
    notes: &mut Vec<Note>,
    kind: &str,
) -> Deployment {
    if process.lifecycle.restart == RestartPolicy::Never {
        notes.push(Note::process(
            process,
            "restart",
            "= \"never\" has no Deployment or StatefulSet counterpart: Kubernetes restarts its pods \
             whenever they exit",
        ));
    }
    let starts = super::started_by_up(context.plan, process);
    if !starts {
        notes.push(Note::process(
            process,
            "autostart",
            format!(
                "= false: replicas is 0; start it with `kubectl scale {kind}/{} \
                 --replicas={}`",
                dns_label(&process.name),
                process.scale
            ),
        ));
    }
    Deployment {
        api_version: "apps/v1",
        kind: "Deployment",
        metadata: context.process_meta(process),
        spec: DeploymentSpec {
            replicas: if starts { process.scale } else { 0 },
            selector: LabelSelector {
                match_labels: context.selector(process),
            },
            template: PodTemplateSpec {
                metadata: TemplateMeta {
                    labels: context.process_labels(process),
                },
                spec: template,
            },
        },
    }
}

/// The Service in front of a process with a port: the name other pods reach it by
/// (`http://web:8000`, `PROJ_HOST_WEB`) and what `depends_on` waits for. Headless for a
/// StatefulSet, which requires one to name its pods.
fn service(context: &Context, process: &ProcessSpec, headless: bool) -> Service {
    Service {
        api_version: "v1",
        kind: "Service",
        metadata: context.process_meta(process),
        spec: ServiceSpec {
            cluster_ip: headless.then_some("None"),
            selector: context.selector(process),
            ports: process
                .port
                .map(|port| ServicePort {
                    name: pod::PORT_NAME,
                    port,
                    target_port: pod::PORT_NAME,
                    protocol: "TCP",
                })
                .into_iter()
                .collect(),
        },
    }
}

/// A process with `state` (see `volumes.rs`): `replicas` = `scale`, each pod with its
/// own claims.
fn stateful_set(
    context: &Context,
    process: &ProcessSpec,
    template: PodSpec,
    notes: &mut Vec<Note>,
) -> StatefulSet {
    let Deployment { metadata, spec, .. } =
        deployment(context, process, template, notes, "statefulset");
    notes.push(Note::process(
        process,
        "state",
        format!(
            "→ a StatefulSet with a {} volume claim per directory: change `storage` in \
             its volumeClaimTemplates to the size the data needs",
            volumes::CLAIM_SIZE
        ),
    ));
    StatefulSet {
        api_version: "apps/v1",
        kind: "StatefulSet",
        metadata,
        spec: StatefulSetSpec {
            service_name: dns_label(&process.name),
            replicas: spec.replicas,
            selector: spec.selector,
            template: spec.template,
            volume_claim_templates: volumes::claims(process),
        },
    }
}

/// A oneshot: `scale` completions, retried as its `restart` says (`never`: not at all;
/// otherwise up to `max_restarts` times, the pod restarted in place).
fn job(
    context: &Context,
    process: &ProcessSpec,
    mut template: PodSpec,
    notes: &mut Vec<Note>,
) -> Job {
    let retries = match process.lifecycle.restart {
        RestartPolicy::Never => {
            template.restart_policy = Some("Never");
            0
        }
        RestartPolicy::OnFailure | RestartPolicy::Always => {
            template.restart_policy = Some("OnFailure");
            process.lifecycle.max_restarts
        }
    };
    if process.lifecycle.restart == RestartPolicy::Always {
        notes.push(Note::process(
            process,
            "restart",
            "= \"always\": a Job does not run again once it has succeeded; retried on \
             failure only",
        ));
    }
    // A scheduled oneshot runs at its times whatever `autostart` says.
    let starts = super::started_by_up(context.plan, process) || process.schedule.is_some();
    if !starts {
        notes.push(Note::process(
            process,
            "autostart",
            format!(
                "= false: the Job is created suspended; start it with `kubectl patch \
                 job/{} -p '{{\"spec\":{{\"suspend\":false}}}}'`",
                dns_label(&process.name)
            ),
        ));
    }
    Job {
        api_version: "batch/v1",
        kind: "Job",
        metadata: context.process_meta(process),
        spec: JobSpec {
            suspend: !starts,
            completions: process.scale,
            parallelism: process.scale,
            backoff_limit: retries,
            template: PodTemplateSpec {
                metadata: TemplateMeta {
                    labels: context.process_labels(process),
                },
                spec: template,
            },
        },
    }
}

/// A scheduled oneshot: its Job's spec run at each match of the expression, never two
/// at once (proj skips a run while the previous one still runs).
fn cron_job(
    context: &Context,
    process: &ProcessSpec,
    schedule: &crate::config::Schedule,
    job: Job,
    notes: &mut Vec<Note>,
) -> CronJob {
    notes.push(Note::process(
        process,
        "schedule",
        "is in proj's local time; the CronJob has no timeZone, so the cluster's (usually \
         UTC) applies: set spec.timeZone to an IANA name (\"Europe/Paris\") if they differ",
    ));
    if super::started_by_up(context.plan, process) {
        notes.push(Note::process(
            process,
            "autostart",
            format!(
                "= true: the CronJob runs at its times only; run it now with `kubectl \
                 create job --from=cronjob/{name} {name}-now`",
                name = dns_label(&process.name)
            ),
        ));
    }
    CronJob {
        api_version: "batch/v1",
        kind: "CronJob",
        metadata: job.metadata,
        spec: CronJobSpec {
            schedule: schedule.expression.clone(),
            concurrency_policy: "Forbid",
            job_template: JobTemplateSpec {
                metadata: TemplateMeta {
                    labels: context.process_labels(process),
                },
                spec: job.spec,
            },
        },
    }
}

#[cfg(test)]
mod tests;
