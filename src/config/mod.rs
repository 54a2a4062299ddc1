//! Reading a project's configuration: `proj.toml` (or a `Procfile` + `.env`) into a [`Plan`].
//!
//! The pipeline, one concern per module:
//!
//! 1. `discover` finds the file (walking up like cargo, or `-f PATH`); `layers` stacks
//!    on a proj.toml the Procfile its `[project] procfile` names and proj.local.toml,
//!    one segment each of a single `SourceFile`.
//! 2. A reader turns the text into a `raw` config, keeping the byte span of every key
//!    and value: `toml_reader` walks toml's spanned document by hand (serde derive
//!    would lose the spans), `procfile` reads `name: command` lines. Type errors and
//!    bad values are reported here, and reading goes on.
//! 3. `validate` does the checks that need the whole file or the disk (dependencies in
//!    `graph`, `cwd`, port ranges, the env files through `dotenv`) and builds the
//!    [`Plan`]. Env values are checked for broken references (`interpolate`) and
//!    references to unset names become warnings (`unset`, [`Warning`]).
//! 4. `ports` applies the run's [`LoadOptions`] (`-m`, `-p`, `port = "auto"`), which
//!    the plan keeps so that `proj reload` loads the file the same way.
//!
//! Env values stay as written in the plan; [`environment`] is the one builder that
//! resolves them for a child (supervisor, setup steps, exporters).
//!
//! Every problem is a [`Diagnostic`] with a span, so the rendered error shows
//! `path:line:column`, the line, a caret under the offending token, and a help line. A
//! TOML syntax error stops at once; otherwise all independent problems are reported
//! together. Whatever goes wrong, [`ConfigError::exit_code`] is 2.

mod diagnostic;
pub mod discover;
mod dotenv;
pub mod environment;
mod error;
#[cfg(test)]
pub(crate) mod fixtures;
mod formation;
pub(crate) mod globs;
mod graph;
pub(crate) mod interpolate;
mod layers;
pub mod plan;
mod ports;
mod procfile;
mod raw;
pub mod schedule;
mod suggest;
mod toml_reader;
mod unset;
mod validate;
mod values;
mod warning;

use std::path::{Path, PathBuf};

pub use self::diagnostic::Diagnostic;
use self::diagnostic::SourceFile;
pub(crate) use self::diagnostic::render_plain;
pub use self::discover::discover;
pub use self::error::ConfigError;
pub use self::formation::Formation;
pub use self::layers::local_path;
pub use self::plan::*;
pub use self::ports::{DEFAULT_PROCFILE_PORT, LoadOptions};
pub use self::schedule::Schedule;
pub use self::values::{parse_duration, parse_signal, parse_size};
pub use self::warning::Warning;

/// Reads, parses and validates the config file at `path` into a [`Plan`].
///
/// A file named `Procfile*` (not ending in `.toml`) is a Procfile, with the `.env` beside
/// it; anything else is proj.toml. Messages name the file as `path` does.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] for one run: with `-m`, `-p` and the auto ports of `options`.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Plan, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str_with(path, &source, options)
}

/// Like [`load`], with the file's text given: `path` names the file in messages and its
/// directory is the project root (for `cwd`, the env files, relative paths).
pub fn load_str(path: &Path, source: &str) -> Result<Plan, ConfigError> {
    load_str_with(path, source, &LoadOptions::default())
}

/// [`load_str`] with `options`.
pub fn load_str_with(
    path: &Path,
    source: &str,
    options: &LoadOptions,
) -> Result<Plan, ConfigError> {
    let (raw, diagnostics, procfile_ports) = if procfile::is_procfile(path) {
        let file = SourceFile::new(path, source);
        let (raw, diagnostics) = procfile::read(&file);
        let every_line = raw
            .processes
            .iter()
            .enumerate()
            .map(|(index, process)| (process.spec.name.clone(), index))
            .collect();
        (raw, diagnostics, every_line)
    } else {
        let layers = layers::read(path, source)?;
        (layers.raw, layers.diagnostics, layers.procfile_ports)
    };
    let mut plan = validate::build(raw, path, &root_of(path), diagnostics)?;
    let inherited_port = std::env::var("PORT").ok();
    ports::apply(
        &mut plan,
        options,
        &procfile_ports,
        inherited_port.as_deref(),
    )?;
    // After the formation, which may have left processes out.
    plan.resolve_dependencies();
    Ok(plan)
}

/// The variables of the plan's env files alone, without `[env]`, as written (later
/// wins): for exporters that keep the two apart (a Kubernetes Secret for the files, a
/// ConfigMap for `[env]`).
pub fn env_file_values(plan: &Plan) -> EnvMap {
    plan.dotenv.iter().cloned().collect()
}

/// Parses the text of a dotenv file (`env_file`, a Procfile's `.env`) and resolves its
/// references as the environment builder does, each against the variables before it:
/// the variables in order, or the byte span of the first malformed line. For the fuzz
/// targets; proj itself reads env files while building the [`Plan`].
pub fn parse_env_text(text: &str) -> Result<Vec<(String, String)>, std::ops::Range<usize>> {
    let vars = dotenv::parse_text(text)?;
    let mut resolved: Vec<(String, String)> = Vec::with_capacity(vars.len());
    for (key, value) in vars {
        let lookup = |name: &str| {
            resolved
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let value = interpolate::expand(&value, &lookup);
        resolved.push((key, value));
    }
    Ok(resolved)
}

/// The config file's directory, absolute and canonical when it exists.
fn root_of(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    dir.canonicalize()
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}
