//! Plans and processes with the SPEC defaults, for unit tests elsewhere in the crate.

use std::path::PathBuf;
use std::time::Duration;

use super::{Lifecycle, Plan, ProcessSpec};

/// A process running `command` in `/` with every default.
pub(crate) fn process(name: &str, command: &str) -> ProcessSpec {
    ProcessSpec {
        name: name.into(),
        command: command.into(),
        cwd: PathBuf::from("/"),
        env: Default::default(),
        port: None,
        port_auto: false,
        socket: None,
        scale: 1,
        depends_on: vec![],
        dependencies: vec![],
        ready: None,
        health: None,
        max_memory: None,
        schedule: None,
        rolling: false,
        lifecycle: Lifecycle::default(),
        watch: Default::default(),
        watch_ignore: Default::default(),
        watch_debounce: Duration::from_millis(200),
        autostart: true,
        user: None,
        group: None,
        tty: false,
        state: Vec::new(),
    }
}

/// A project rooted at `/` holding `processes` (their `depends_on` resolved).
pub(crate) fn plan(processes: Vec<ProcessSpec>) -> Plan {
    let mut plan = Plan {
        name: "t".into(),
        root: PathBuf::from("/"),
        source: PathBuf::from("/proj.toml"),
        requires: vec![],
        dotenv: vec![],
        env: Default::default(),
        env_files: vec![],
        log_max_size: 1,
        log_backups: 0,
        setup: vec![],
        processes,
        warnings: vec![],
        options: Default::default(),
    };
    plan.resolve_dependencies();
    plan
}
