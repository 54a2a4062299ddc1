//! A proj.toml with what is stacked on it (SPEC §9.4), read into one [`RawConfig`]:
//!
//! 1. the Procfile named by `[project] procfile`: its processes come first, in line
//!    order, with every default, and keep the Procfile port rule;
//! 2. proj.toml itself: a `[processes.NAME]` table for a Procfile process adds keys to
//!    it (its command stays the Procfile's unless the table sets one);
//! 3. proj.local.toml beside it (a person's own settings, kept out of git), read the same
//!    way over the result: scalar keys (and lists) replace, `[env]` and a process's `env`
//!    merge key by key, a process table adds keys to that process or defines a new one.
//!
//! The three texts are segments of one [`SourceFile`], so every span kept while reading
//! points into the right file and every diagnostic names it.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, SourceFile};
use super::error::ConfigError;
use super::raw::RawConfig;
use super::{procfile, toml_reader};

/// What [`read`] found.
#[derive(Debug)]
pub(crate) struct Layers {
    pub(crate) raw: RawConfig,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The processes that follow the Procfile port rule, with their line's index.
    pub(crate) procfile_ports: Vec<(String, usize)>,
}

/// The personal overrides' path for the config at `path`: `proj.local.toml` beside
/// `proj.toml` (and `NAME.local.toml` beside any other `NAME.toml` named with `-f`).
pub fn local_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".toml")?;
    if stem.is_empty() || stem.ends_with(".local") {
        return None;
    }
    Some(path.with_file_name(format!("{stem}.local.toml")))
}

/// Reads the proj.toml at `path` (its text is `source`) with its layers.
pub(crate) fn read(path: &Path, source: &str) -> Result<Layers, ConfigError> {
    let local = match local_path(path) {
        Some(local) => read_optional(&local)?.map(|text| (local, text)),
        None => None,
    };
    // Which Procfile to read must be known before proj.toml's tables are: a table for one
    // of its processes adds to it. The later layer wins, as for any scalar key.
    let procfile_name = local
        .as_ref()
        .and_then(|(_, text)| named_procfile(text))
        .or_else(|| named_procfile(source));
    let mut procfile_error = None;
    let mut files = vec![(path.to_path_buf(), source.to_owned())];
    if let Some(name) = &procfile_name {
        // Named as the user named the config, so messages read `app/Procfile.dev:2:1`.
        let procfile_path = path.with_file_name(name);
        match read_regular_file(&procfile_path) {
            Ok(text) => files.push((procfile_path, text)),
            Err(error) => procfile_error = Some(error),
        }
    }
    let procfile_segment = (files.len() == 2).then_some(1);
    if let Some((local, text)) = local {
        files.push((local, text));
    }
    let local_segment =
        (files.len() > 1 + procfile_segment.map_or(0, |_| 1)).then(|| files.len() - 1);
    let file = SourceFile::stacked(files);

    let mut raw = RawConfig::new(Arc::clone(&file));
    let mut diagnostics = Vec::new();
    let mut procfile_names = Vec::new();
    if let Some(segment) = procfile_segment {
        procfile::read_segment(&file, segment, &mut raw.processes, &mut diagnostics);
        procfile_names = raw.processes.iter().map(|p| p.spec.name.clone()).collect();
    }
    let syntax = |diagnostic| ConfigError::Invalid(vec![diagnostic]);
    diagnostics.extend(toml_reader::read_layer(&file, 0, &mut raw, false).map_err(syntax)?);
    if let Some(segment) = local_segment {
        diagnostics
            .extend(toml_reader::read_layer(&file, segment, &mut raw, true).map_err(syntax)?);
    }
    if let (Some(error), Some((name, span))) = (procfile_error, &raw.procfile) {
        diagnostics.push(unreadable_procfile(&file, span.clone(), name, &error));
    }
    let procfile_ports = procfile_names
        .into_iter()
        .enumerate()
        .filter(|(_, name)| {
            raw.processes
                .iter()
                .find(|p| p.spec.name == *name)
                .is_some_and(|p| p.spans.port.is_none())
        })
        .map(|(index, name)| (name, index))
        .collect();
    Ok(Layers {
        raw,
        diagnostics,
        procfile_ports,
    })
}

/// The file's text, or `None` when there is no such file.
fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match read_regular_file(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A regular file's text: a name can point anywhere (`procfile = "/dev/zero"`, a FIFO),
/// and reading a device or a pipe could hang or never end.
fn read_regular_file(path: &Path) -> io::Result<String> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    std::fs::read_to_string(path)
}

/// `[project] procfile` of a proj.toml's text, when it is a string. A file that does not
/// parse names none; its reader reports the syntax error.
fn named_procfile(text: &str) -> Option<String> {
    let document = DeTable::parse(text).ok()?;
    let project = document.get_ref().get("project")?;
    let DeValue::Table(project) = project.get_ref() else {
        return None;
    };
    match project.get("procfile")?.get_ref() {
        DeValue::String(name) if !name.trim().is_empty() => Some(name.to_string()),
        _ => None,
    }
}

fn unreadable_procfile(
    file: &Arc<SourceFile>,
    span: Range<usize>,
    name: &str,
    error: &io::Error,
) -> Diagnostic {
    let help = if error.kind() == io::ErrorKind::NotFound {
        "`procfile` names a Procfile relative to this file's directory; create it or fix the name"
    } else {
        "check that the Procfile is a readable UTF-8 text file"
    };
    Diagnostic::new(
        file,
        span,
        format!("cannot read the Procfile `{name}`: {error}"),
    )
    .label("named here")
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths() {
        assert_eq!(
            local_path(Path::new("/a/proj.toml")),
            Some(PathBuf::from("/a/proj.local.toml"))
        );
        assert_eq!(
            local_path(Path::new("staging.toml")),
            Some(PathBuf::from("staging.local.toml"))
        );
        assert_eq!(local_path(Path::new("proj.local.toml")), None);
        assert_eq!(local_path(Path::new("Procfile")), None);
    }

    #[test]
    fn a_later_layer_keeps_what_it_does_not_write() {
        use crate::config::plan::{RestartPolicy, StopAction, StopTarget};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proj.toml");
        let base = "[processes.worker]\ncommand = \"sleep 9\"\nrestart = \"always\"\n\
                    stop_signal = \"INT\"\nstop_timeout = \"3s\"\nstop_target = \"main\"\n\
                    env = { A = \"1\", B = \"1\" }\ndepends_on = [\"db\"]\n\
                    [processes.db]\ncommand = \"sleep 9\"\n";
        std::fs::write(&path, base).unwrap();
        std::fs::write(
            dir.path().join("proj.local.toml"),
            "[processes.worker]\nstop_timeout = \"5s\"\nenv = { B = \"2\" }\ndepends_on = []\n",
        )
        .unwrap();
        let plan = crate::config::load(&path).unwrap();
        let worker = plan.processes.iter().find(|p| p.name == "worker").unwrap();
        assert_eq!(worker.lifecycle.restart, RestartPolicy::Always);
        assert_eq!(worker.lifecycle.stop_target, StopTarget::Main);
        let step = &worker.lifecycle.stop_sequence[0];
        assert_eq!(
            step.action,
            StopAction::Signal(nix::sys::signal::Signal::SIGINT)
        );
        assert_eq!(step.wait, std::time::Duration::from_secs(5));
        assert_eq!(worker.env.get("A").map(String::as_str), Some("1"));
        assert_eq!(worker.env.get("B").map(String::as_str), Some("2"));
        assert!(worker.depends_on.is_empty(), "a list replaces");
    }

    #[test]
    fn the_procfile_is_peeked_before_reading() {
        assert_eq!(
            named_procfile("[project]\nprocfile = \"Procfile.dev\"\n").as_deref(),
            Some("Procfile.dev")
        );
        assert_eq!(named_procfile("[project]\nprocfile = 3\n"), None);
        assert_eq!(named_procfile("[project\n"), None);
    }
}
