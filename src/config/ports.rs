//! What `proj up`'s options change in a plan: the formation (`-m`), Procfile ports
//! (`-p`, SPEC §1) and the ports chosen for `port = "auto"`.
//!
//! These run after validation, on a valid plan, because they depend on the run and not
//! on the file: the same Procfile gets other ports with `-p 7000`. The options used are
//! kept in the plan so that `proj reload` re-reads the file with the same ones, and with
//! the auto ports already chosen, so a port stays the same for the whole run.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};

use super::error::ConfigError;
use super::formation::Formation;
use super::plan::Plan;

/// foreman's, honcho's and `heroku local`'s default base port.
pub const DEFAULT_PROCFILE_PORT: u16 = 5000;

/// The ports of one Procfile line are 100 apart from the next line's.
pub(super) const PROCFILE_PORT_STEP: u16 = 100;

/// How to load a config for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `-m/--formation`: instances per process, over the file's `scale`.
    pub formation: Option<Formation>,
    /// `-p/--port`: the base port in Procfile mode.
    pub port_base: Option<u16>,
    /// Whether to choose ports for `port = "auto"` (`proj up`), or leave them unknown
    /// (`proj check`, the exporters).
    pub choose_auto_ports: bool,
    /// Ports already chosen for `port = "auto"` in this run, by process.
    pub auto_ports: BTreeMap<String, u16>,
}

/// Applies `options` to a freshly validated plan. `procfile_ports` are the processes
/// that follow the Procfile port rule, each with its line's index in the Procfile (all
/// of a Procfile's; those of a `[project] procfile` without a `port` of their own);
/// `inherited_port` is `PORT` in proj's own environment.
pub(crate) fn apply(
    plan: &mut Plan,
    options: &LoadOptions,
    procfile_ports: &[(String, usize)],
    inherited_port: Option<&str>,
) -> Result<(), ConfigError> {
    if let Some(formation) = &options.formation {
        apply_formation(plan, formation)?;
    }
    if !procfile_ports.is_empty() {
        // `.env`'s PORT as the processes would see it (it may refer to others).
        let dotenv_port = plan
            .dotenv
            .iter()
            .any(|(name, _)| name == "PORT")
            .then(|| {
                let without_port: Vec<_> =
                    std::env::vars_os().filter(|(k, _)| k != "PORT").collect();
                super::environment::for_setup(&without_port, plan)
                    .into_iter()
                    .find(|(key, _)| key == "PORT")
                    .map(|(_, value)| value.to_string_lossy().into_owned())
            })
            .flatten();
        let base = procfile_base(options.port_base, inherited_port, dotenv_port.as_deref());
        // The index is the line's place in the Procfile (file order, which is also the
        // start order: a Procfile has no dependencies), even for a process `-m` turns off.
        for process in plan.processes.iter_mut() {
            let Some((_, index)) = procfile_ports
                .iter()
                .find(|(name, _)| *name == process.name)
            else {
                continue;
            };
            let offset = u32::from(PROCFILE_PORT_STEP) * *index as u32;
            process.port = u16::try_from(u32::from(base) + offset).ok();
        }
    }
    let mut chosen = options.auto_ports.clone();
    for process in plan.processes.iter_mut().filter(|p| p.port_auto) {
        if let Some(&port) = chosen.get(&process.name) {
            process.port = Some(port);
        } else if options.choose_auto_ports {
            let port = free_ports(process.scale.max(1)).ok_or_else(|| {
                ConfigError::Usage {
                    message: format!("no free port for process `{}`", process.name),
                    help: "`port = \"auto\"` needs free TCP ports on 127.0.0.1; write a port number instead".into(),
                }
            })?;
            process.port = Some(port);
            chosen.insert(process.name.clone(), port);
        }
    }
    plan.options = LoadOptions {
        auto_ports: chosen,
        ..options.clone()
    };
    Ok(())
}

/// `-p`, else proj's `PORT`, else `.env`'s `PORT`, else 5000 (SPEC §1).
fn procfile_base(flag: Option<u16>, inherited: Option<&str>, dotenv: Option<&str>) -> u16 {
    let parse = |text: &str| text.trim().parse::<u16>().ok().filter(|port| *port > 0);
    flag.or_else(|| inherited.and_then(parse))
        .or_else(|| dotenv.and_then(parse))
        .unwrap_or(DEFAULT_PROCFILE_PORT)
}

/// `-m`: every named process must exist; a process set to 0 is left out of this run,
/// and so is the wait for it in `depends_on` (the user runs it some other way).
fn apply_formation(plan: &mut Plan, formation: &Formation) -> Result<(), ConfigError> {
    let known: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
    let unknown = formation.unknown(&known);
    if !unknown.is_empty() {
        let quote = |names: &[&str]| {
            names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(ConfigError::Usage {
            message: format!(
                "-m/--formation names {} {}, not in {}",
                if unknown.len() == 1 {
                    "process"
                } else {
                    "processes"
                },
                quote(&unknown),
                plan.source.display()
            ),
            help: format!("the processes are: {}", quote(&known)),
        });
    }
    for process in &mut plan.processes {
        if let Some(scale) = formation.scale_of(&process.name) {
            process.scale = scale;
        }
    }
    let off: Vec<String> = plan
        .processes
        .iter()
        .filter(|p| p.scale == 0)
        .map(|p| p.name.clone())
        .collect();
    for process in &mut plan.processes {
        process.depends_on.retain(|name| !off.contains(name));
    }
    Ok(())
}

/// The first of `count` consecutive ports that are free on 127.0.0.1 now.
fn free_ports(count: u32) -> Option<u16> {
    let bind = |port: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, port));
    for _ in 0..64 {
        let first = bind(0).ok()?.local_addr().ok()?.port();
        let last = u32::from(first) + count - 1;
        if last > u32::from(u16::MAX) {
            continue;
        }
        // Hold every one while checking the next, so that none is counted twice.
        let held: Result<Vec<TcpListener>, _> = (first..=last as u16).map(bind).collect();
        if held.is_ok() {
            return Some(first);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_procfile_base_comes_from_the_flag_then_proj_then_dotenv() {
        assert_eq!(procfile_base(None, None, None), 5000);
        let env = Some("3000");
        assert_eq!(procfile_base(None, None, env), 3000);
        assert_eq!(procfile_base(None, Some("4000"), env), 4000);
        assert_eq!(procfile_base(Some(7000), Some("4000"), env), 7000);
        assert_eq!(procfile_base(None, Some("not a port"), env), 3000);
    }

    #[test]
    fn free_ports_are_consecutive_and_free() {
        let first = free_ports(3).expect("free ports");
        for port in first..first + 3 {
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("still free");
        }
    }
}
