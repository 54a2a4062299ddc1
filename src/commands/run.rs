//! `proj run [--in NAME] [--] COMMAND...`: a one-off command with the stack's
//! environment, in the foreground and outside supervision (SPEC §9.5), as `heroku run`,
//! `honcho run` and `docker compose run` do.
//!
//! proj execs the command in its own place: the terminal, the signals and the exit code
//! are the command's, with nothing in between. It needs no running supervisor; when one
//! runs, its ports (`port = "auto"`) are the ones given.

use std::ffi::OsString;

use crate::Error;
use crate::config::{Plan, environment};
use crate::process::identity::Identity;

use super::Context;

pub(super) fn run(
    context: &Context,
    within: Option<String>,
    command: Vec<String>,
) -> Result<(), Error> {
    let mut plan = context.load_plan(None)?;
    super::check::ports_of_the_running_supervisor(&mut plan);
    let inherited: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(key, _)| key != crate::process::SUPERVISOR_MARKER)
        .collect();
    let (env, cwd, identity) = match within {
        Some(name) => as_instance(&plan, &inherited, &name)?,
        None => (
            environment::for_setup(&inherited, &plan),
            plan.root.clone(),
            None,
        ),
    };
    let error = crate::process::spawn::exec_foreground(&command, &cwd, &env, identity.as_ref());
    Err(Error::io(
        format!("cannot run `{}`", command.join(" ")),
        error,
    ))
}

type Setting = (
    Vec<(OsString, OsString)>,
    std::path::PathBuf,
    Option<Identity>,
);

/// The environment, working directory and account instance `name` (or the first
/// instance of process `name`) would get, without the supervisor's marker: the command
/// is not the supervisor's.
fn as_instance(
    plan: &Plan,
    inherited: &[(OsString, OsString)],
    name: &str,
) -> Result<Setting, Error> {
    let found = plan
        .instances()
        .find(|(process, instance)| instance.name == name || process.name == name);
    let Some((process, instance)) = found else {
        let known: Vec<String> = plan.processes.iter().map(|p| p.name.clone()).collect();
        return Err(Error::Usage(format!(
            "no process or instance named `{name}`; known: {}",
            known.join(", ")
        )));
    };
    let shared = environment::for_process(inherited, plan, process);
    let env = environment::for_instance(shared, &instance, "")
        .to_vec()
        .into_iter()
        .filter(|(key, _)| key != crate::process::SUPERVISOR_MARKER)
        .collect();
    let identity =
        Identity::resolve(process.user.as_deref(), process.group.as_deref()).map_err(|reason| {
            Error::Account {
                process: process.name.clone(),
                reason,
            }
        })?;
    Ok((env, plan.root.join(&process.cwd), identity))
}
