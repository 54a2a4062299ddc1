//! Warnings for references to variables that nothing sets (SPEC §2: they give the empty
//! string, and `proj check` says so, pointing at the reference).
//!
//! The check follows the environment builder's layers: proj's own environment (as proj
//! sees it now), the env files line by line, `[env]`, then each process's `env` with
//! what proj sets for it. A reference with a default (`${NAME:-x}`) is never warned about.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::dotenv::EnvFile;
use super::environment::{
    LISTEN_VARIABLE, ROOT_VARIABLE, host_variable, port_variable, ports_variable,
};
use super::interpolate;
use super::plan::ProcessSpec;
use super::raw::RawConfig;
use super::warning::Warning;

/// The warnings for `raw` with its env files, given the names proj's environment sets.
pub(crate) fn warnings(
    raw: &RawConfig,
    env_files: &[EnvFile],
    processes: &[ProcessSpec],
    inherited: BTreeSet<String>,
) -> Vec<Warning> {
    let mut found = Vec::new();
    let mut known = inherited;
    for env_file in env_files {
        for (name, template, span) in &env_file.vars {
            check(&env_file.file, span.start, template, &known, &mut found);
            known.insert(name.clone());
        }
    }
    let ports: Vec<String> = processes
        .iter()
        .filter(|p| p.port.is_some() || p.port_auto)
        .flat_map(|p| {
            [
                port_variable(&p.name),
                host_variable(&p.name),
                ports_variable(&p.name),
            ]
        })
        .collect();
    known.extend(ports.iter().cloned());
    known.extend([
        ROOT_VARIABLE.to_owned(),
        LISTEN_VARIABLE.to_owned(),
        "PWD".to_owned(),
    ]);
    for (name, template) in &raw.env {
        if let Some(&start) = raw.env_starts.get(name) {
            // `[env]` keys may use each other, in any order; not themselves.
            let mut visible = known.clone();
            visible.extend(raw.env.keys().filter(|key| *key != name).cloned());
            check(&raw.file, start, template, &visible, &mut found);
        }
    }
    known.extend(raw.env.keys().cloned());
    for process in &raw.processes {
        let mut own = known.clone();
        own.extend(["PROJ_PROCESS".to_owned(), "PROJ_INSTANCE".to_owned()]);
        if process.spec.port.is_some() || process.spec.port_auto {
            own.insert("PORT".to_owned());
        }
        for (name, template) in &process.spec.env {
            if let Some(&start) = process.spans.env.get(name) {
                check(&raw.file, start, template, &own, &mut found);
            }
        }
    }
    found
}

fn check(
    file: &Arc<SourceFile>,
    start: usize,
    template: &str,
    known: &BTreeSet<String>,
    found: &mut Vec<Warning>,
) {
    for reference in interpolate::references(template) {
        if reference.has_default || known.contains(&reference.name) {
            continue;
        }
        let name = &reference.name;
        let span = start + reference.span.start..start + reference.span.end;
        found.push(Warning::At(
            Diagnostic::new(file, span, format!("variable `{name}` is not set"))
                .label("expands to the empty string")
                .help(format!(
                    "set `{name}` in proj's environment, an env file or `[env]`, or give a default: `${{{name}:-value}}`"
                ))
                .warning(),
        ));
    }
}
