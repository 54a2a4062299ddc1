//! The pod of one process: its container (command, environment, port, probes, stop),
//! and the init containers that hold it back until its dependencies answer.
//!
//! - **Command**: `sh -c COMMAND`, after `cd` into `cwd` (relative to the project root,
//!   which is the image's working directory) and the `export`s of the variables only a
//!   shell can resolve. `$` is doubled: Kubernetes expands `$(NAME)` in commands.
//! - **`ready`** → a readinessProbe (`tcp` → tcpSocket, `http` → httpGet, `exec` → exec)
//!   and a startupProbe with the same check that gives the container `ready_timeout` to
//!   pass it: proj gives up on an instance that is not ready in time, Kubernetes
//!   restarts it. `log` has no counterpart.
//! - **Stop**: `terminationGracePeriodSeconds` = `stop_timeout`. A `stop_signal` other
//!   than TERM becomes a preStop hook that sends it (to PID 1 and every other process of
//!   the container, as proj signals the group) and waits; the grace period still ends
//!   with SIGKILL.
//! - **`depends_on`** → init containers in the same image, so they need nothing else:
//!   a service dependency with a port is waited for by TCP on its Service (which routes
//!   only to ready pods, so this waits for readiness); a oneshot dependency runs again
//!   as an init container (its own dependencies first), unless `--no-init-oneshots`.

use std::collections::BTreeSet;

use crate::config::{ProcessSpec, ReadyProbe};

use super::super::environment::{self, Layer, Part, Value, Variable};
use super::super::names::dns_label;
use super::super::{Note, shell, variable_note, whole_seconds};
use super::Context;
use super::objects::*;

/// The name of a process's port in its container and its Service.
pub(super) const PORT_NAME: &str = "main";

/// proj probes readiness every 100–500 ms; a kubelet every 2 s is still prompt.
const PROBE_PERIOD_SECONDS: u32 = 2;

/// proj's per-attempt timeout for tcp and http probes.
const PROBE_TIMEOUT_SECONDS: u32 = 1;

/// proj's timeout for an exec probe.
const EXEC_PROBE_TIMEOUT_SECONDS: u32 = 10;

/// The pod spec of `process`, and what could not be expressed.
pub(super) fn template(context: &Context, process: &ProcessSpec) -> (PodSpec, Vec<Note>) {
    let mut notes = Vec::new();
    let variables =
        environment::for_process(context.plan, process, &context.files, &context.project);
    notes.extend(environment_notes(process, &variables));
    notes.extend(account_notes(process));
    let mut main = container(context, process, &variables, &mut notes);
    let (grace, lifecycle) = stop(process);
    main.lifecycle = lifecycle;
    let mut init_containers = Vec::new();
    init(
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
        init_containers,
        containers: vec![main],
    };
    (spec, notes)
}

/// The container that runs `process` (also used, without probes, port and hook, to run
/// a oneshot dependency as an init container).
fn container(
    context: &Context,
    process: &ProcessSpec,
    variables: &[Variable],
    notes: &mut Vec<Note>,
) -> Container {
    let cd = shell::cd_line(&context.plan.root, &process.cwd);
    let script = format!(
        "{}{cd}{}",
        environment::shell_prelude(variables),
        process.command
    );
    let (readiness_probe, startup_probe) = probes(process, variables, &cd, notes);
    Container {
        name: dns_label(&process.name),
        image: context.options.image.clone(),
        command: container_command(&script),
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
        lifecycle: None,
    }
}

/// `sh -c SCRIPT`, with `$` doubled: a container's command goes through Kubernetes'
/// `$(NAME)` expansion, where `$$` is a literal `$`.
fn container_command(script: &str) -> Vec<String> {
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
            Value::Literal(_) => matches!(variable.layer, Layer::Process | Layer::Proj),
            Value::Dependent(_) => true,
            Value::Shell(_) => false,
        })
        .collect();
    environment::in_dependency_order(listed)
        .into_iter()
        .map(|variable| EnvVar {
            name: variable.name.clone(),
            value: match &variable.value {
                Value::Literal(text) => text.replace('$', "$$"),
                Value::Dependent(parts) => dependent_value(parts),
                Value::Shell(_) => String::new(),
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
    let mut notes = Vec::new();
    for variable in variables {
        if matches!(variable.value, Value::Shell(_)) {
            notes.push(variable_note(
                process,
                variable,
                "refers to the image's environment, to itself or has a default, which \
                 Kubernetes cannot expand: the container's sh sets it before the command \
                 (exec probes do not see it)",
            ));
        }
    }
    for variable in environment::local_addresses(variables) {
        notes.push(variable_note(
            process,
            variable,
            "points at 127.0.0.1 or localhost: in Kubernetes each process has its own \
             pod; reach another by its Service name (`http://api:8000`)",
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

/// `ready` as a readinessProbe, and the same check as a startupProbe bounded by
/// `ready_timeout`.
fn probes(
    process: &ProcessSpec,
    variables: &[Variable],
    cd: &str,
    notes: &mut Vec<Note>,
) -> (Option<Probe>, Option<Probe>) {
    let Some(ready) = &process.ready else {
        return (None, None);
    };
    let (handler, timeout) = match handler(ready, variables, cd) {
        Ok(found) => found,
        Err(reason) => {
            notes.push(Note::process(process, "ready", reason));
            return (None, None);
        }
    };
    if let ReadyProbe::Http(url) = ready
        && HttpUrl::parse(url).is_some_and(|url| is_local(&url.host))
    {
        notes.push(Note::process(
            process,
            "ready",
            "probes 127.0.0.1; the kubelet probes the pod's address, so the process must \
             listen on all addresses (0.0.0.0), not only on 127.0.0.1",
        ));
    }
    let timeout_seconds = whole_seconds(process.lifecycle.ready_timeout) as u32;
    let readiness = Probe {
        handler: handler.clone(),
        period_seconds: PROBE_PERIOD_SECONDS,
        timeout_seconds: timeout,
        failure_threshold: 3,
    };
    let startup = Probe {
        handler,
        period_seconds: PROBE_PERIOD_SECONDS,
        timeout_seconds: timeout,
        failure_threshold: timeout_seconds.div_ceil(PROBE_PERIOD_SECONDS).max(1),
    };
    (Some(readiness), Some(startup))
}

/// The probe's check and its per-attempt timeout, or why there is none.
pub(super) fn handler(
    ready: &ReadyProbe,
    variables: &[Variable],
    cd: &str,
) -> Result<(Handler, u32), String> {
    match ready {
        ReadyProbe::Tcp(port) => {
            let port = resolve_port(port, variables)?;
            Ok((Handler::TcpSocket { port }, PROBE_TIMEOUT_SECONDS))
        }
        ReadyProbe::Http(url) => {
            let url = resolve(url, variables)
                .ok_or("= { http } refers to a variable the config does not define: left out")?;
            let url = HttpUrl::parse(&url).ok_or(format!(
                "= {{ http = \"{url}\" }} is not an http(s) URL: left out"
            ))?;
            let local = is_local(&url.host);
            Ok((
                Handler::HttpGet {
                    // The kubelet probes the pod's address: the process must listen on
                    // it, not only on 127.0.0.1.
                    host: (!local).then_some(url.host),
                    path: url.path,
                    port: url.port,
                    scheme: if url.https { "HTTPS" } else { "HTTP" },
                },
                PROBE_TIMEOUT_SECONDS,
            ))
        }
        ReadyProbe::Exec(command) => Ok((
            Handler::Exec {
                command: vec!["sh".into(), "-c".into(), format!("{cd}{command}")],
            },
            EXEC_PROBE_TIMEOUT_SECONDS,
        )),
        ReadyProbe::Log(_) => Err("= { log } is left out: Kubernetes cannot probe a \
                                   container's output; the pod is ready once it runs"
            .into()),
    }
}

/// Whether `host` is this machine: proj probes there, the kubelet probes the pod's
/// address instead.
fn is_local(host: &str) -> bool {
    matches!(
        host,
        "127.0.0.1" | "localhost" | "0.0.0.0" | "::1" | "[::1]"
    )
}

/// A probe's text with its references resolved at export time (`$PORT` → `8000`), or
/// `None` when one needs the image's environment.
fn resolve(text: &str, variables: &[Variable]) -> Option<String> {
    let parts = environment::parse(text);
    let known = environment::references(&parts).all(|(name, _)| {
        variables
            .iter()
            .any(|v| v.name == name && !matches!(v.value, Value::Shell(_)))
    });
    known.then(|| environment::resolve(&parts, variables))
}

fn resolve_port(text: &str, variables: &[Variable]) -> Result<u16, String> {
    resolve(text, variables)
        .and_then(|port| port.trim().parse().ok())
        .ok_or(format!(
            "= {{ tcp = \"{text}\" }} is not a port known at export time: left out"
        ))
}

/// The parts of an `http://host:port/path` URL a probe needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct HttpUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl HttpUrl {
    pub(super) fn parse(url: &str) -> Option<HttpUrl> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            (true, url.strip_prefix("https://")?)
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
            _ => (authority, if https { 443 } else { 80 }),
        };
        (!host.is_empty()).then(|| HttpUrl {
            https,
            host: host.to_owned(),
            port,
            path,
        })
    }
}

/// The stop sequence as (signal, seconds to wait): today `stop_signal` then
/// `stop_timeout`; `stop_sequence` will list its steps here.
fn stop_steps(process: &ProcessSpec) -> Vec<(&'static str, u64)> {
    let signal = process.lifecycle.stop_signal.as_str();
    vec![(
        signal.strip_prefix("SIG").unwrap_or(signal),
        whole_seconds(process.lifecycle.stop_timeout),
    )]
}

/// `terminationGracePeriodSeconds` (the sum of the waits) and, unless the sequence is
/// Kubernetes' own (TERM, then SIGKILL), a preStop hook that runs it.
fn stop(process: &ProcessSpec) -> (u64, Option<Lifecycle>) {
    let steps = stop_steps(process);
    let grace = steps.iter().map(|(_, wait)| wait).sum();
    let kubernetes_own = matches!(steps.as_slice(), [("TERM", _)]);
    let hook = (!kubernetes_own).then(|| Lifecycle {
        pre_stop: LifecycleHandler {
            exec: ExecAction {
                command: vec!["sh".into(), "-c".into(), shell::stop_sequence(&steps)],
            },
        },
    });
    (grace, hook)
}

/// Appends the init containers that hold `process` back until its dependencies answer,
/// a oneshot's own dependencies before it; `seen` keeps each one once.
fn init(
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
