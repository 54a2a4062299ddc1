//! The configuration as read, before the checks that need the whole file or the disk.
//!
//! Both readers (proj.toml and Procfile) produce a [`RawConfig`]: every value already has
//! its type and defaults, and next to it the spans that the later checks (dependencies,
//! `cwd` on disk, `backoff_max` against `backoff`, …) need to point at. The
//! [`validate`](super::validate) step turns it into a [`Plan`](super::Plan).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::diagnostic::SourceFile;
use super::plan::{EnvMap, Lifecycle, ProcessSpec, SetupStep};

/// `[project] log_max_size` default: 10 MiB.
pub(crate) const DEFAULT_LOG_MAX_SIZE: u64 = 10 << 20;
/// `[project] log_backups` default.
pub(crate) const DEFAULT_LOG_BACKUPS: u32 = 5;
/// `watch_debounce` default: long enough to coalesce an editor's save burst.
pub(crate) const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(200);

/// A whole config file, read but not yet cross-checked.
#[derive(Debug)]
pub(crate) struct RawConfig {
    pub(crate) file: Arc<SourceFile>,
    pub(crate) name: Option<String>,
    /// `[project] procfile`: the Procfile whose processes join the file's, and where it
    /// was named (its processes are read by `layers`, which needs the file's text).
    pub(crate) procfile: Option<(String, Range<usize>)>,
    /// The dotenv files as written (relative to the root), with the span of each entry
    /// when it was written in the file (a Procfile's `.env` is implicit).
    pub(crate) env_files: Vec<(String, Option<Range<usize>>)>,
    pub(crate) requires: Vec<String>,
    pub(crate) log_max_size: u64,
    pub(crate) log_backups: u32,
    /// `[env]`.
    pub(crate) env: EnvMap,
    /// Where each `[env]` value's text starts in the file.
    pub(crate) env_starts: std::collections::BTreeMap<String, usize>,
    pub(crate) setup: Vec<RawSetup>,
    /// In file order.
    pub(crate) processes: Vec<RawProcess>,
}

impl RawConfig {
    /// An empty config with every default, for the readers to fill in.
    pub(crate) fn new(file: Arc<SourceFile>) -> Self {
        RawConfig {
            file,
            name: None,
            procfile: None,
            env_files: vec![(".env".to_owned(), None)],
            requires: Vec::new(),
            log_max_size: DEFAULT_LOG_MAX_SIZE,
            log_backups: DEFAULT_LOG_BACKUPS,
            env: EnvMap::new(),
            env_starts: Default::default(),
            setup: Vec::new(),
            processes: Vec::new(),
        }
    }
}

/// A `[[setup]]` step; `creates` is still relative to the root.
#[derive(Debug)]
pub(crate) struct RawSetup {
    pub(crate) step: SetupStep,
    /// The step's `name` value (or its `[[setup]]` header when the name is missing).
    pub(crate) name_span: Range<usize>,
}

/// A process entry. `spec.cwd` is still the text as written (relative to the root).
#[derive(Debug)]
pub(crate) struct RawProcess {
    pub(crate) spec: ProcessSpec,
    pub(crate) spans: ProcessSpans,
}

/// Where the values that later checks look at were written.
#[derive(Debug, Default)]
pub(crate) struct ProcessSpans {
    /// The process's name (the key in `[processes]`, or the name in a Procfile line).
    pub(crate) name: Range<usize>,
    pub(crate) port: Option<Range<usize>>,
    pub(crate) socket: Option<Range<usize>>,
    pub(crate) scale: Option<Range<usize>>,
    pub(crate) cwd: Option<Range<usize>>,
    /// One per entry of `spec.depends_on`.
    pub(crate) depends_on: Vec<Range<usize>>,
    pub(crate) ready: Option<Range<usize>>,
    pub(crate) backoff: Option<Range<usize>>,
    pub(crate) backoff_max: Option<Range<usize>>,
    pub(crate) user: Option<Range<usize>>,
    pub(crate) group: Option<Range<usize>>,
    /// Where each `env` value's text starts in the file.
    pub(crate) env: std::collections::BTreeMap<String, usize>,
}

impl RawProcess {
    /// A process with every SPEC §2 default, as a Procfile line or `name = "command"` gives.
    pub(crate) fn new(name: String, name_span: Range<usize>, command: String) -> Self {
        RawProcess {
            spec: ProcessSpec {
                name,
                command,
                cwd: PathBuf::from("."),
                env: EnvMap::new(),
                port: None,
                port_auto: false,
                socket: None,
                scale: 1,
                depends_on: Vec::new(),
                dependencies: Vec::new(),
                ready: None,
                health: None,
                max_memory: None,
                schedule: None,
                rolling: false,
                lifecycle: Lifecycle::default(),
                watch: Default::default(),
                watch_ignore: Default::default(),
                watch_debounce: DEFAULT_WATCH_DEBOUNCE,
                autostart: true,
                user: None,
                group: None,
                tty: false,
                state: Vec::new(),
            },
            spans: ProcessSpans {
                name: name_span,
                ..ProcessSpans::default()
            },
        }
    }
}

/// Process names become instance names (`web.2`), log file names and CLI arguments, so
/// they are limited to what is safe in all three (the Procfile convention).
pub(crate) fn check_process_name(name: &str) -> Result<(), (String, String)> {
    if name == "proj" {
        return Err((
            "the process name `proj` is reserved".to_owned(),
            "proj labels its own messages `proj`; rename the process, e.g. `app`".to_owned(),
        ));
    }
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err((
            format!("invalid process name `{name}`"),
            "process names may only use letters, digits, `_` and `-` (instances are named `NAME.N`)"
                .to_owned(),
        ))
    }
}

/// Variable names that the OS cannot store are refused early (`setenv` rejects `=` and NUL).
pub(crate) fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        Err("environment variable names must be non-empty and cannot contain `=`".to_owned())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_names() {
        assert!(check_process_name("web").is_ok());
        assert!(check_process_name("Web_2-x").is_ok());
        assert!(check_process_name("web.1").is_err());
        assert!(check_process_name("my app").is_err());
        assert!(check_process_name("").is_err());
        let (message, help) = check_process_name("proj").unwrap_err();
        assert_eq!(message, "the process name `proj` is reserved");
        assert!(help.contains("rename"));
    }

    #[test]
    fn env_names() {
        assert!(check_env_name("DATABASE_URL").is_ok());
        assert!(check_env_name("A=B").is_err());
        assert!(check_env_name("").is_err());
    }
}
