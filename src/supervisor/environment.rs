//! The environment of one instance (SPEC §2), built per child, never by changing proj's
//! own environment. Later wins: proj's environment, the `env_file`s and `[env]` (merged
//! into the plan), the process's `env`, then `PORT`, `PROJ_PROCESS`, `PROJ_INSTANCE`,
//! and the supervisor marker the guardian and the sweep look for.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::config::{Instance, Plan, ProcessSpec};
use crate::process::SUPERVISOR_MARKER;

/// The environment for `instance`, as `(key, value)` pairs ready for `Command::envs`.
pub fn for_instance(
    inherited: &[(OsString, OsString)],
    plan: &Plan,
    process: &ProcessSpec,
    instance: &Instance,
    marker: &str,
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = inherited.iter().cloned().collect();
    let mut set = |key: &str, value: &str| {
        env.insert(key.into(), value.into());
    };
    for (key, value) in plan.env.iter().chain(&process.env) {
        set(key, value);
    }
    if let Some(port) = instance.port {
        set("PORT", &port.to_string());
    }
    set("PROJ_PROCESS", &instance.process);
    set("PROJ_INSTANCE", &instance.index.to_string());
    set(SUPERVISOR_MARKER, marker);
    env.into_iter().collect()
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
        let env: BTreeMap<OsString, OsString> = for_instance(
            &os(&[("A", "inherited"), ("HOME", "/root")]),
            &plan,
            &process,
            instance,
            "123-abc",
        )
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
    }
}
