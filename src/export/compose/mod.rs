//! `proj export compose`: `compose.yaml` (SPEC §8), one service per process.
//!
//! - **Image**: `--image`, or `build:` the project directory (relative to the output
//!   directory, so `-o deploy` writes `build: ..`).
//! - **Command**: the program as the container's main process (see
//!   `export/command.rs`): its words, or `sh -c` that `exec`s it; `working_dir`
//!   is `cwd` inside `--workdir`.
//! - **`$`**: Compose interpolates `$NAME` from the environment of whoever runs
//!   `docker compose`, which is never what proj.toml means, so every `$` is written `$$`
//!   (a literal `$` for Compose). References to variables the config defines are resolved
//!   at export time (Compose has no dependent variables); in a command, one that reaches
//!   an env file's value is left to the container's sh, which then `exec`s the program.
//! - **Environment**: the env files that exist as `env_file` (Compose refuses a missing
//!   one, proj skips it: a note names it), `[env]` and the process's `env` as
//!   `environment`, plus `PORT`, `PROJ_ROOT`, `PROJ_LISTEN_HOST` (`0.0.0.0`),
//!   `PROJ_PROCESS`, `PROJ_INSTANCE` (one replica only), `PROJ_PORT_<NAME>` and
//!   `PROJ_HOST_<NAME>` (the service's name).
//! - **`ready`** → `healthcheck`, in sh alone where possible: `tcp` reads
//!   `/proc/net/tcp` for a listening socket; `http` uses curl, wget or python3 when the
//!   image has one, else checks that the port listens (a note says so); `exec` runs the
//!   command, every 2 s. `ready_timeout` is `start_period`.
//! - **Compatibility**: valid for the Compose Specification and for Debian's
//!   docker-compose 1.29 alike, hence no top-level `name` (the header says `-p NAME`),
//!   no `start_interval`, and `env_file` as plain paths; except the `pre_stop` hook of a
//!   multi-step stop sequence (see `stop.rs`), which needs Compose 2.30+.
//! - **`depends_on`** → `service_completed_successfully` (a oneshot), `service_healthy`
//!   (a dependency with a healthcheck), `service_started` (without).
//! - **`health`** → the healthcheck when there is no `ready` (Compose does not restart
//!   an unhealthy container); **`max_memory`** → `deploy.resources.limits.memory`;
//!   **`tty = true`** → `tty` and `stdin_open`; a **`schedule`d** process is a service
//!   in profile `scheduled`, run by the host's scheduler (a note says how); **`state`** →
//!   named volumes.
//! - **`port`** → `PORT` = `port` in every replica, published on the host's 127.0.0.1 as
//!   proj would: `127.0.0.1:8000:8000`, or `127.0.0.1:8000-8001:8000` for two replicas.

mod healthcheck;
mod objects;
mod stop;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::config::{EnvMap, Plan, ProcessSpec, RestartPolicy};

use super::command::Shape;
use super::environment::{self, Layer, Value, Variable};
use super::{Export, Note};
use objects::*;

/// What `proj export compose` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The image of every service; `None` builds the project directory.
    pub image: Option<String>,
    /// Where compose.yaml goes (absolute): paths in it are relative to it.
    pub output_dir: PathBuf,
    /// The project's directory in the image: the working directory and `PROJ_ROOT`.
    pub workdir: String,
}

/// The profile of processes that a plain `docker compose up` leaves alone.
const MANUAL_PROFILE: &str = "manual";

/// The profile of scheduled processes: run by the host's scheduler, not by `up`.
const SCHEDULED_PROFILE: &str = "scheduled";

pub(crate) fn export(plan: &Plan, options: &Options) -> Export {
    let (file, notes) = build(plan, options);
    let mut content = super::header("proj export compose", plan);
    content.push_str(&format!(
        "# Run it as project {name}: docker compose -p {name} -f compose.yaml up\n",
        name = project_name(&plan.name)
    ));
    // Plain data of strings and numbers: serializing it cannot fail.
    content.push_str(&super::yaml(&file).unwrap_or_default());
    Export {
        file_name: "compose.yaml".into(),
        content,
        notes: super::unique(notes),
    }
}

/// The Compose file and the notes.
fn build(plan: &Plan, options: &Options) -> (ComposeFile, Vec<Note>) {
    let files = crate::config::env_file_values(plan);
    // `[env]` alone, as written (the plan keeps the env files apart).
    let project = plan.env.clone();
    let mut notes = super::common_notes(plan, "Compose");
    let mut services = BTreeMap::new();
    let mut volumes = BTreeMap::new();
    for process in &plan.processes {
        notes.extend(super::restart_budget_notes(process, "Compose"));
        let service = service(plan, process, options, &files, &project, &mut notes);
        for volume in &service.volumes {
            if let Some((name, _)) = volume.split_once(':') {
                volumes.insert(name.to_owned(), Volume {});
            }
        }
        services.insert(process.name.clone(), service);
    }
    for path in plan.env_files.iter().filter(|path| !path.is_file()) {
        let shown = path.strip_prefix(&plan.root).unwrap_or(path);
        notes.push(Note::project(
            "env_file",
            format!(
                "{} does not exist at export: left out of env_file (Compose refuses a \
                 missing file); export again once it exists",
                shown.display()
            ),
        ));
    }
    let file = ComposeFile { services, volumes };
    (file, notes)
}

fn service(
    plan: &Plan,
    process: &ProcessSpec,
    options: &Options,
    files: &EnvMap,
    project: &EnvMap,
    notes: &mut Vec<Note>,
) -> Service {
    let target = environment::Target {
        root: &options.workdir,
        host: service_name,
    };
    let variables = environment::for_process(plan, process, files, project, target);
    notes.extend(environment_notes(process, &variables));
    notes.extend(super::local_address_notes(process, "Compose"));
    let stop = stop::stop(process, notes);
    if !process.state.is_empty() && process.scale > 1 {
        notes.push(Note::process(
            process,
            "state",
            format!(
                "with scale = {}: Compose mounts each named volume in every replica, so \
                 they share the directories (proj's instances do too)",
                process.scale
            ),
        ));
    }
    let healthcheck = healthcheck::healthcheck(process, &variables, notes);
    let starts = super::started_by_up(plan, process);
    let profile = if let Some(schedule) = &process.schedule {
        notes.push(Note::process(
            process,
            "schedule",
            format!(
                "= \"{}\": Compose has no scheduler; the service is in profile \
                 `{SCHEDULED_PROFILE}` (never started by `up`): run `docker compose run \
                 --rm {}` from the host's cron or a systemd timer at those times",
                schedule.expression, process.name
            ),
        ));
        Some(SCHEDULED_PROFILE)
    } else if !starts {
        notes.push(Note::process(
            process,
            "autostart",
            format!(
                "= false: in profile `{MANUAL_PROFILE}`; start it with `docker compose \
                 --profile {MANUAL_PROFILE} up {}`",
                process.name
            ),
        ));
        Some(MANUAL_PROFILE)
    } else {
        None
    };
    let user = match (&process.user, &process.group) {
        (Some(user), Some(group)) => Some(format!("{user}:{group}")),
        (Some(user), None) => Some(user.clone()),
        (None, Some(_)) => {
            notes.push(Note::process(
                process,
                "group",
                "is left out: Compose sets a group only with a user",
            ));
            None
        }
        (None, None) => None,
    };
    Service {
        image: options.image.clone(),
        build: options
            .image
            .is_none()
            .then(|| relative_path(&options.output_dir, &plan.root)),
        command: command(process, &variables, notes),
        working_dir: super::image_path(&options.workdir, &plan.root, &process.cwd),
        env_file: plan
            .env_files
            .iter()
            .filter(|path| path.is_file())
            .map(|path| escape(&relative_path(&options.output_dir, path)))
            .collect(),
        environment: environment_values(&variables),
        ports: ports(process),
        user: user.map(|user| escape(&user)),
        depends_on: dependencies(plan, process),
        healthcheck,
        restart: restart(process),
        stop_signal: stop.signal,
        stop_grace_period: stop.grace,
        pre_stop: stop.hooks,
        volumes: volumes(options, plan, process),
        profiles: profile.map(str::to_owned).into_iter().collect(),
        // `proj connect` types into it; `docker compose attach` does here.
        tty: process.tty,
        stdin_open: process.tty,
        deploy: Deploy {
            replicas: process.scale,
            resources: process.max_memory.map(|bytes| Resources {
                limits: Limits {
                    memory: memory(bytes),
                },
            }),
        },
    }
}

/// A process's service name: its name (Compose allows proj's names as they are).
fn service_name(process: &str) -> String {
    process.to_owned()
}

/// The program as the container's main process (see `export/command.rs`): its
/// words, references resolved at export (Compose cannot expand the container's
/// variables), or `sh -c` with the program `exec`'d when a reference must be expanded
/// in the container (an env file's value, the image's environment).
fn command(process: &ProcessSpec, variables: &[Variable], notes: &mut Vec<Note>) -> Vec<String> {
    let sh = |script: &str| vec!["sh".into(), "-c".into(), escape(script)];
    let known = |name: &str| {
        variables.iter().any(|variable| {
            variable.name == name
                && match &variable.value {
                    Value::Literal(_) => variable.layer != Layer::EnvFile,
                    Value::Dependent(parts) => !environment::reaches_env_file(parts, variables),
                }
        })
    };
    match super::command::shape(&process.command) {
        Shape::Argv(words) if super::command::referenced(&words).all(known) => words
            .iter()
            .map(|word| escape(&environment::resolve(word, variables)))
            .collect(),
        Shape::Argv(_) => sh(&super::command::exec_script(&process.command)),
        Shape::Exec(script) => sh(&script),
        Shape::Shell(reason) => {
            notes.push(super::shell_command_note(process, reason, "Compose"));
            sh(&process.command)
        }
    }
}

/// Named volumes for the `state` directories, mounted where they are in the image:
/// `db-var-postgres:/app/var/postgres`.
fn volumes(options: &Options, plan: &Plan, process: &ProcessSpec) -> Vec<String> {
    process
        .state
        .iter()
        .map(|directory| {
            let name = format!(
                "{}-{}",
                process.name,
                super::names::dns_label(&directory.to_string_lossy())
            );
            let path = super::image_path(&options.workdir, &plan.root, &plan.root.join(directory));
            format!("{name}:{path}")
        })
        .collect()
}

/// `$` is literal for Compose as `$$`.
pub(super) fn escape(text: &str) -> String {
    text.replace('$', "$$")
}

/// A Compose project name: lower case letters, digits, `-` and `_`, starting with a
/// letter or digit.
fn project_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['-', '_']);
    if trimmed.is_empty() {
        "proj".into()
    } else {
        trimmed.into()
    }
}

/// `to` relative to `from` (both absolute): `..`, `../.env`, `.`.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    if path.as_os_str().is_empty() {
        ".".into()
    } else {
        path.to_string_lossy().into_owned()
    }
}

/// `environment`: everything but the env files' own values (Compose reads the files).
fn environment_values(variables: &[Variable]) -> BTreeMap<String, String> {
    variables
        .iter()
        .filter_map(|variable| {
            let value = match &variable.value {
                Value::Literal(_) if variable.layer == Layer::EnvFile => return None,
                Value::Literal(text) => text.clone(),
                Value::Dependent(parts) => environment::resolve(parts, variables),
            };
            Some((variable.name.clone(), escape(&value)))
        })
        .collect()
}

fn environment_notes(process: &ProcessSpec, variables: &[Variable]) -> Vec<Note> {
    let mut notes = super::assumed_notes(process, variables);
    for variable in variables {
        if let Value::Dependent(parts) = &variable.value
            && environment::reaches_env_file(parts, variables)
        {
            notes.push(super::variable_note(
                process,
                variable,
                "refers to an env file's value, and Compose cannot refer to one: it is \
                 resolved at export, so compose.yaml holds that value",
            ));
        }
    }
    for variable in environment::local_addresses(variables) {
        notes.push(super::variable_note(
            process,
            variable,
            "points at 127.0.0.1 or localhost: in Compose each service has its own \
             address; reach another by ${PROJ_HOST_<NAME>}, its service name here and \
             127.0.0.1 under proj",
        ));
    }
    if process.scale > 1 {
        notes.push(Note::process(
            process,
            "scale",
            "> 1: PROJ_INSTANCE is not set, Compose replicas have no numbers (PORT is the \
             same `port` in every replica)",
        ));
    }
    notes
}

/// Host ports as proj uses them: instance i on `port + i - 1`, each to the container's
/// `port`, on the host's 127.0.0.1, where proj's processes are reached. Docker's default,
/// every address of the host, would put a development database on the network, past
/// the host's firewall (Docker's rules come before ufw's and firewalld's); the services
/// reach each other over the Compose network, not through these.
fn ports(process: &ProcessSpec) -> Vec<String> {
    let Some(port) = process.port else {
        return Vec::new();
    };
    let last = u32::from(port) + process.scale.saturating_sub(1);
    let host = crate::config::environment::LOCAL_HOST;
    if process.scale <= 1 || last > u32::from(u16::MAX) {
        vec![format!("{host}:{port}:{port}")]
    } else {
        vec![format!("{host}:{port}-{last}:{port}")]
    }
}

fn restart(process: &ProcessSpec) -> &'static str {
    if process.lifecycle.oneshot {
        return match process.lifecycle.restart {
            RestartPolicy::Never => "no",
            RestartPolicy::OnFailure | RestartPolicy::Always => "on-failure",
        };
    }
    match process.lifecycle.restart {
        RestartPolicy::Always => "always",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Never => "no",
    }
}

/// What each dependency must reach before this service starts.
fn dependencies(plan: &Plan, process: &ProcessSpec) -> BTreeMap<String, Dependency> {
    process
        .depends_on
        .iter()
        .filter_map(|name| plan.process(name))
        // A scheduled process runs at its times, not before its dependants.
        .filter(|dependency| dependency.schedule.is_none())
        .map(|dependency| {
            let condition = if dependency.lifecycle.oneshot {
                "service_completed_successfully"
            } else if healthcheck::has_healthcheck(dependency) {
                "service_healthy"
            } else {
                "service_started"
            };
            (dependency.name.clone(), Dependency { condition })
        })
        .collect()
}

/// A Compose byte value: `512m` when it is whole mebibytes, else bytes (`1000000b`).
fn memory(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes > 0 && bytes.is_multiple_of(MIB) {
        format!("{}m", bytes / MIB)
    } else {
        format!("{bytes}b")
    }
}

/// A Compose duration: `10s`, `1500ms`.
pub(super) fn duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests;
