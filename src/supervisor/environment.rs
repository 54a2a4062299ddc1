//! The environment of one instance (SPEC §2), built per child, never by changing proj's
//! own environment. Later wins: proj's environment (without systemd's private
//! variables, see [`crate::systemd::notify::PRIVATE_VARIABLES`]), `HOME`, `USER` and
//! `LOGNAME` of the process's `user` (so a config can still override them), the
//! `env_file`s and `[env]` (merged into the plan), the process's `env`, then `PORT`,
//! `PROJ_PROCESS`, `PROJ_INSTANCE`, and the supervisor marker the guardian and the
//! sweep look for.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

use crate::config::{Instance, Plan, ProcessSpec};
use crate::process::SUPERVISOR_MARKER;

/// An instance's environment: what all instances of its process share, stored once
/// per process (hundreds of instances of one process are common), and the few variables
/// of the instance itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    shared: Arc<Vec<(OsString, OsString)>>,
    own: Vec<(OsString, OsString)>,
}

impl Environment {
    /// Every variable, as `(key, value)` pairs ready for `Command::envs`.
    pub fn to_vec(&self) -> Vec<(OsString, OsString)> {
        let overridden = |key: &OsString| self.own.iter().any(|(own, _)| own == key);
        self.shared
            .iter()
            .filter(|(key, _)| !overridden(key))
            .chain(&self.own)
            .cloned()
            .collect()
    }
}

/// What every instance of `process` gets: proj's environment (less systemd's private
/// variables), the `user`'s login variables, the project's and the process's `env`.
pub fn for_process(
    inherited: &[(OsString, OsString)],
    plan: &Plan,
    process: &ProcessSpec,
) -> Arc<Vec<(OsString, OsString)>> {
    let mut env: BTreeMap<OsString, OsString> = inherited.iter().cloned().collect();
    env.retain(|key, _| !crate::systemd::notify::is_private(key));
    let mut set = |key: &str, value: &str| {
        env.insert(key.into(), value.into());
    };
    if let Some(user) = &process.user {
        for (key, value) in crate::process::identity::login_environment(user) {
            set(key, &value);
        }
    }
    for (key, value) in plan.env.iter().chain(&process.env) {
        set(key, value);
    }
    Arc::new(env.into_iter().collect())
}

/// [`for_process`] for every process of `plan`, in plan order.
pub fn for_plan(
    inherited: &[(OsString, OsString)],
    plan: &Plan,
) -> Vec<Arc<Vec<(OsString, OsString)>>> {
    plan.processes
        .iter()
        .map(|process| for_process(inherited, plan, process))
        .collect()
}

/// The environment of `instance`: its process's `shared` variables, then `PORT`,
/// `PROJ_PROCESS`, `PROJ_INSTANCE` and the supervisor marker.
pub fn for_instance(
    shared: Arc<Vec<(OsString, OsString)>>,
    instance: &Instance,
    marker: &str,
) -> Environment {
    let mut own: Vec<(OsString, OsString)> = Vec::with_capacity(4);
    if let Some(port) = instance.port {
        own.push(("PORT".into(), port.to_string().into()));
    }
    own.push(("PROJ_PROCESS".into(), instance.process.clone().into()));
    own.push(("PROJ_INSTANCE".into(), instance.index.to_string().into()));
    own.push((SUPERVISOR_MARKER.into(), marker.into()));
    Environment { shared, own }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn later_sources_win_and_proj_variables_are_set() {
        let mut plan_env = BTreeMap::new();
        plan_env.insert("A".to_string(), "from-project".to_string());
        plan_env.insert("B".to_string(), "from-project".to_string());
        let mut process_env = BTreeMap::new();
        process_env.insert("B".to_string(), "from-process".to_string());
        process_env.insert("PORT".to_string(), "overridden-by-port".to_string());
        let process = ProcessSpec {
            env: process_env,
            port: Some(8000),
            scale: 3,
            ..fixtures::process("web", "true")
        };
        let plan = Plan {
            env: plan_env,
            ..fixtures::plan(vec![process.clone()])
        };
        let instance = &process.instances()[1];
        let inherited = os(&[
            ("A", "inherited"),
            ("HOME", "/root"),
            ("NOTIFY_SOCKET", "@systemd"),
            ("WATCHDOG_USEC", "30000000"),
            ("WATCHDOG_PID", "1"),
        ]);
        let shared = for_process(&inherited, &plan, &process);
        let env: BTreeMap<OsString, OsString> = for_instance(shared, instance, "123-abc")
            .to_vec()
            .into_iter()
            .collect();
        let get = |key: &str| env.get(&OsString::from(key)).cloned();
        assert_eq!(get("HOME"), Some("/root".into()));
        assert_eq!(get("A"), Some("from-project".into()));
        assert_eq!(get("B"), Some("from-process".into()));
        assert_eq!(get("PORT"), Some("8001".into()));
        assert_eq!(get("PROJ_PROCESS"), Some("web".into()));
        assert_eq!(get("PROJ_INSTANCE"), Some("2".into()));
        assert_eq!(get(SUPERVISOR_MARKER), Some("123-abc".into()));
        for private in crate::systemd::notify::PRIVATE_VARIABLES {
            assert_eq!(get(private), None, "{private} reaches the child");
        }
    }

    #[test]
    fn instances_of_a_process_share_one_copy_of_its_environment() {
        let process = ProcessSpec {
            scale: 2,
            ..fixtures::process("web", "true")
        };
        let plan = fixtures::plan(vec![process.clone()]);
        let shared = for_process(&os(&[("A", "1")]), &plan, &process);
        let [first, second] =
            [0, 1].map(|i| for_instance(shared.clone(), &process.instances()[i], "m"));
        assert!(Arc::ptr_eq(&first.shared, &second.shared));
        assert_ne!(first, second);
        assert_eq!(first, for_instance(shared, &process.instances()[0], "m"));
    }
}
