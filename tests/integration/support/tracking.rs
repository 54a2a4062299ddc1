//! The two ways proj tracks an instance's processes (SPEC §9.1), for tests that run
//! once with each: a cgroup per instance, and process groups (`PROJ_CGROUPS=0`).

use std::process::Command;

use super::{Output, Project, Running};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Cgroups,
    ProcessGroups,
}

impl Mode {
    /// `proj ARGS` with this mode's environment.
    pub(crate) fn command(self, project: &Project, args: &[&str]) -> Command {
        let mut command = project.command(args);
        match self {
            Mode::Cgroups => command.env_remove("PROJ_CGROUPS"),
            Mode::ProcessGroups => command.env("PROJ_CGROUPS", "0"),
        };
        command
    }

    pub(crate) fn run(self, project: &Project, args: &[&str]) -> Output {
        self.command(project, args)
            .output()
            .expect("run proj")
            .into()
    }

    pub(crate) fn up(self, project: &Project) -> Running {
        Running::start(self.command(project, &["up", "--no-tui"]))
    }
}

/// One `#[test]` per mode for each function named: `with_cgroups::NAME` and
/// `with_process_groups::NAME`, each calling `NAME(Mode)`.
macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod with_cgroups {
            $(#[test] fn $name() { super::$name(super::Mode::Cgroups) })*
        }
        mod with_process_groups {
            $(#[test] fn $name() { super::$name(super::Mode::ProcessGroups) })*
        }
    };
}
pub(crate) use both_modes;
