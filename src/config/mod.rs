//! Reading a project's configuration: `proj.toml` (or a `Procfile` + `.env`) into a [`Plan`].
//!
//! The pipeline, one concern per module:
//!
//! 1. [`discover`] finds the file (walking up like cargo, or `-f PATH`).
//! 2. A reader turns the text into a `raw` config, keeping the byte span of every key
//!    and value: `toml_reader` walks toml's spanned document by hand (serde derive
//!    would lose the spans), `procfile` reads `name: command` lines. Type errors and
//!    bad values are reported here, and reading goes on.
//! 3. `validate` does the checks that need the whole file or the disk (dependencies in
//!    `graph`, `cwd`, port ranges, the env files through `dotenv`) and builds the
//!    [`Plan`].
//!
//! Every problem is a [`Diagnostic`] with a span, so the rendered error shows
//! `path:line:column`, the line, a caret under the offending token, and a help line. A
//! TOML syntax error stops at once; otherwise all independent problems are reported
//! together. Whatever goes wrong, [`ConfigError::exit_code`] is 2.

mod diagnostic;
mod discover;
mod dotenv;
mod error;
#[cfg(test)]
pub(crate) mod fixtures;
mod graph;
pub mod plan;
mod procfile;
mod raw;
mod suggest;
mod toml_reader;
mod validate;
mod values;

use std::path::{Path, PathBuf};

pub use self::diagnostic::Diagnostic;
use self::diagnostic::SourceFile;
pub use self::discover::discover;
pub use self::error::ConfigError;
pub use self::plan::*;
pub use self::values::{parse_duration, parse_signal, parse_size};

/// Reads, parses and validates the config file at `path` into a [`Plan`].
///
/// A file named `Procfile*` (not ending in `.toml`) is a Procfile, with the `.env` beside
/// it; anything else is proj.toml. Messages name the file as `path` does.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(path, &source)
}

/// Like [`load`], with the file's text given: `path` names the file in messages and its
/// directory is the project root (for `cwd`, the env files, relative paths).
pub fn load_str(path: &Path, source: &str) -> Result<Plan, ConfigError> {
    let file = SourceFile::new(path, source);
    let (raw, diagnostics) = if procfile::is_procfile(path) {
        procfile::read(&file)
    } else {
        toml_reader::read(&file).map_err(|syntax| ConfigError::Invalid(vec![syntax]))?
    };
    validate::build(raw, path, &root_of(path), diagnostics)
}

/// Parses the text of a dotenv file (`env_file`, a Procfile's `.env`): its variables, or
/// the byte span of the first malformed line. For the fuzz targets; proj itself reads
/// env files while building the [`Plan`].
pub fn parse_env_text(text: &str) -> Result<EnvMap, std::ops::Range<usize>> {
    dotenv::parse_text(text)
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
