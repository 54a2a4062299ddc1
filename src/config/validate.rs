//! [`RawConfig`] → [`Plan`]: the checks that need more than one value, or the disk.
//!
//! Runs even when reading found problems, so that independent mistakes are all reported
//! at once; the plan is only returned when there are none.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::dotenv::{self, EnvFile, EnvFileError};
use super::error::ConfigError;
use super::graph;
use super::plan::{Plan, ProcessSpec, ReadyProbe};
use super::raw::{RawConfig, RawProcess};
use super::unset;

/// Builds the plan of the config read from `path` (as the user named it), rooted at `root`.
pub(crate) fn build(
    raw: RawConfig,
    path: &Path,
    root: &Path,
    mut diagnostics: Vec<Diagnostic>,
) -> Result<Plan, ConfigError> {
    let file = Arc::clone(&raw.file);
    let mut processes: Vec<ProcessSpec> = Vec::with_capacity(raw.processes.len());
    for process in &raw.processes {
        processes.push(check_process(process, root, &file, &mut diagnostics));
    }
    let order = graph::start_order(&raw.processes, &raw.setup, &file, &mut diagnostics);
    let mut warnings = Vec::new();
    let env_files = load_env(&raw, path, root, &mut diagnostics, &mut warnings)?;

    let inherited = std::env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .collect();
    warnings.extend(unset::warnings(&raw, &env_files, &processes, inherited));
    warnings.extend(shared_socket_probes(&raw, &file));

    if !diagnostics.is_empty() {
        // File order, with problems in other files (.env) after those in the config.
        diagnostics.sort_by_key(|d| (!Arc::ptr_eq(d.file(), &file), d.span().start));
        return Err(ConfigError::Invalid(diagnostics));
    }

    let mut plan = Plan {
        name: raw.name.unwrap_or_else(|| directory_name(root)),
        root: root.to_path_buf(),
        source: root.join(path.file_name().unwrap_or(path.as_os_str())),
        requires: raw.requires,
        dotenv: env_files
            .iter()
            .flat_map(|file| &file.vars)
            .map(|(name, template, _)| (name.clone(), template.clone()))
            .collect(),
        env: raw.env,
        env_files: raw
            .env_files
            .iter()
            .map(|(file, _)| root.join(file))
            .collect(),
        log_max_size: raw.log_max_size,
        log_backups: raw.log_backups,
        setup: raw
            .setup
            .into_iter()
            .map(|setup| {
                let mut step = setup.step;
                step.creates = step.creates.map(|creates| root.join(creates));
                step
            })
            .collect(),
        processes: order.into_iter().map(|i| processes[i].clone()).collect(),
        warnings,
        options: super::LoadOptions::default(),
    };
    plan.resolve_dependencies();
    Ok(plan)
}

/// The process's own checks; returns its spec with `cwd` resolved.
fn check_process(
    process: &RawProcess,
    root: &Path,
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ProcessSpec {
    let (spec, spans) = (&process.spec, &process.spans);
    let name = &spec.name;
    let mut resolved = spec.clone();

    if let (Some(port), Some(scale_span), None) = (spec.port, &spans.scale, spec.socket) {
        let last = u32::from(port) + spec.scale - 1;
        if last > u32::from(u16::MAX) {
            let mut diagnostic = Diagnostic::new(
                file,
                scale_span.clone(),
                format!("process `{name}` needs ports {port} to {last}, past 65535"),
            )
            .label(format!("{} instances", spec.scale))
            .help("instance i listens on `port + i - 1`; lower `port` or `scale`");
            if let Some(port_span) = &spans.port {
                diagnostic = diagnostic.context(port_span.clone(), "first port");
            }
            diagnostics.push(diagnostic);
        }
    }

    // An unset `backoff_max` follows a large `backoff` rather than contradicting it.
    let lifecycle = &mut resolved.lifecycle;
    match &spans.backoff_max {
        None => lifecycle.backoff_max = lifecycle.backoff_max.max(lifecycle.backoff),
        Some(max_span) if lifecycle.backoff_max < lifecycle.backoff => {
            let backoff = humantime::format_duration(lifecycle.backoff);
            let mut diagnostic = Diagnostic::new(
                file,
                max_span.clone(),
                format!("`backoff_max` of process `{name}` is shorter than `backoff`"),
            )
            .label(format!("less than the first delay, {backoff}"))
            .help("the delay starts at `backoff` and doubles up to `backoff_max`; make `backoff_max` at least `backoff`");
            if let Some(backoff_span) = &spans.backoff {
                diagnostic = diagnostic.context(backoff_span.clone(), "first delay");
            }
            diagnostics.push(diagnostic);
        }
        Some(_) => {}
    }

    if let (Some(probe), Some(span)) = (&spec.ready, &spans.ready) {
        if spec.lifecycle.oneshot {
            diagnostics.push(
                Diagnostic::new(file, span.clone(), format!("process `{name}` is a oneshot with a `ready` probe"))
                    .label("never used")
                    .help("a oneshot is ready when it exits 0; remove `ready`, or remove `oneshot = true` to make it a service"),
            );
        } else if let ReadyProbe::Tcp(port) = probe
            && matches!(port.as_str(), "$PORT" | "${PORT}")
            && spec.port.is_none()
            && !spec.port_auto
        {
            diagnostics.push(
                Diagnostic::new(
                    file,
                    span.clone(),
                    format!("process `{name}` has no `port` for `$PORT`"),
                )
                .label("PORT is only set for processes with a `port`")
                .help("add `port = 8000` to the process, or write the port number here"),
            );
        }
    }

    check_accounts(spec, spans, file, diagnostics);
    resolved.cwd = resolve_cwd(spec, spans.cwd.as_ref(), root, file, diagnostics);
    resolved
}

/// A `tcp` or `http` readiness probe of a process with `socket` and several instances
/// reaches whichever instance accepts first (SPEC §9.3): it says nothing about the
/// instance it is for.
fn shared_socket_probes(raw: &RawConfig, file: &Arc<SourceFile>) -> Vec<super::Warning> {
    raw.processes
        .iter()
        .filter(|process| process.spec.socket.is_some() && process.spec.scale > 1)
        .filter(|process| {
            matches!(
                process.spec.ready,
                Some(ReadyProbe::Tcp(_) | ReadyProbe::Http(_))
            )
        })
        .filter_map(|process| {
            let span = process.spans.ready.clone()?;
            let name = &process.spec.name;
            Some(super::Warning::At(
                Diagnostic::new(
                    file,
                    span,
                    format!("the probe of `{name}` reaches whichever instance accepts first"),
                )
                .label("every instance shares the socket")
                .help(r#"have each instance say it listens (`ready = { log = "Listening" }`), or probe something of its own (`exec`)"#)
                .warning(),
            ))
        })
        .collect()
}

/// `user` and `group` must exist on this machine: better refused by `proj check` than
/// met as a process that cannot be spawned. (Whether proj may switch to them depends on
/// who runs it, which `proj up` checks.)
fn check_accounts(
    spec: &ProcessSpec,
    spans: &super::raw::ProcessSpans,
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    use crate::process::identity::{group_exists, user_exists};
    let name = &spec.name;
    if let (Some(user), Some(span)) = (&spec.user, &spans.user)
        && let Err(reason) = user_exists(user)
    {
        diagnostics.push(
            Diagnostic::new(file, span.clone(), format!("unknown user `{user}` for process `{name}`"))
                .label(reason)
                .help("`user` names an account on the machine proj runs on (see /etc/passwd); create it, or fix the name"),
        );
    }
    if let (Some(group), Some(span)) = (&spec.group, &spans.group)
        && let Err(reason) = group_exists(group)
    {
        diagnostics.push(
            Diagnostic::new(file, span.clone(), format!("unknown group `{group}` for process `{name}`"))
                .label(reason)
                .help("`group` names a group on the machine proj runs on (see /etc/group); create it, or fix the name"),
        );
    }
}

/// `cwd`, absolute; it must be an existing directory so that spawning cannot fail on it.
fn resolve_cwd(
    spec: &ProcessSpec,
    span: Option<&std::ops::Range<usize>>,
    root: &Path,
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> PathBuf {
    let Some(span) = span else {
        return root.to_path_buf();
    };
    let joined = root.join(&spec.cwd);
    match joined.canonicalize() {
        Ok(cwd) if cwd.is_dir() => cwd,
        found => {
            let label = if found.is_ok() {
                "not a directory"
            } else {
                "no such directory"
            };
            diagnostics.push(
                Diagnostic::new(
                    file,
                    span.clone(),
                    format!("`cwd` of process `{}` does not exist: `{}`", spec.name, joined.display()),
                )
                .label(label)
                .help("`cwd` is relative to the directory of the config file; create the directory or fix the path"),
            );
            joined
        }
    }
}

/// The env files in order, then `[env]` (later wins).
fn load_env(
    raw: &RawConfig,
    path: &Path,
    root: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    warnings: &mut Vec<super::Warning>,
) -> Result<Vec<EnvFile>, ConfigError> {
    // Messages name env files the way the user named the config: `.env` next to
    // `proj.toml`, `/srv/app/.env` next to `/srv/app/proj.toml`.
    let shown_dir = path.parent().unwrap_or(Path::new(""));
    let mut files = Vec::new();
    for (name, span) in &raw.env_files {
        let shown = shown_dir.join(name);
        match dotenv::load(&shown, &root.join(name)) {
            Ok(Some(file)) => files.push(file),
            Ok(None) => {}
            Err(EnvFileError::Parse(diagnostic)) => diagnostics.push(diagnostic),
            Err(EnvFileError::DanglingLink(target)) => warnings.push(super::Warning::Plain {
                message: format!(
                    "`{}` is a symbolic link to `{}`, which does not exist; it is skipped",
                    shown.display(),
                    target.display()
                ),
                help: "create the file it points to, or remove the link".into(),
            }),
            Err(EnvFileError::Read(source)) => match span {
                Some(span) => diagnostics.push(
                    Diagnostic::new(
                        &raw.file,
                        span.clone(),
                        format!("cannot read `{}`", shown.display()),
                    )
                    .label(source.to_string())
                    .help("`env_file` names dotenv files relative to the config file's directory"),
                ),
                // A Procfile's implicit `.env`: there is nothing in the file to point at.
                None => {
                    return Err(ConfigError::Read {
                        path: shown,
                        source,
                    });
                }
            },
        }
    }
    Ok(files)
}

fn directory_name(root: &Path) -> String {
    root.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "proj".to_owned())
}
