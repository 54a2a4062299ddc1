//! `proj up [DIR] [NAME...]`: start the processes and supervise them in the foreground.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::UpArgs;
use crate::config::Plan;
use crate::logs::clock::Clock;
use crate::logs::printer::{PROJ_NAME, Printer, Style};
use crate::supervisor;

use super::Context;

pub(super) fn run(context: &Context, args: UpArgs) -> Result<(), Error> {
    let (directory, names) = split_targets(args.targets)?;
    let plan = context.load_plan(directory)?;
    check_names(&plan, &names)?;

    let name_width = plan
        .instances()
        .map(|(_, instance)| instance.name.len())
        .chain([PROJ_NAME.len()])
        .max()
        .unwrap_or(0);
    let style = Style {
        color: context.stdout_color(),
        clock: Clock::default(),
        name_width,
    };
    let printer = Printer::start(style).map_err(|error| Error::io("cannot start output", error))?;
    // The supervisor runs on this thread (`block_on`) and forks every child from it; it
    // lives as long as proj, which matters because PR_SET_PDEATHSIG fires when the
    // forking *thread* exits. Two workers read output and write log files meanwhile.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the runtime", error))?;
    let options = supervisor::Options {
        only: names,
        printer,
    };
    runtime
        .block_on(supervisor::run(plan, options))
        .map_err(|error| Error::io("supervisor", error))?;
    // Output readers of escaped processes may still hold a pipe: don't wait for them.
    runtime.shutdown_background();
    Ok(())
}

/// The first target may be a project directory; the rest (or all) are names.
fn split_targets(mut targets: Vec<String>) -> Result<(Option<PathBuf>, Vec<String>), Error> {
    let Some(first) = targets.first() else {
        return Ok((None, targets));
    };
    if looks_like_url(first) {
        return Err(Error::Usage(format!(
            "`{first}` looks like a git URL: cloning is not available in this version of proj; \
             clone it with git, then run `proj up` inside it"
        )));
    }
    if Path::new(first).is_dir() {
        let directory = PathBuf::from(targets.remove(0));
        return Ok((Some(directory), targets));
    }
    Ok((None, targets))
}

fn looks_like_url(text: &str) -> bool {
    text.contains("://") || text.starts_with("git@") || text.ends_with(".git")
}

/// Every name must be a process (`web`) or an instance (`web.2`) of the plan.
fn check_names(plan: &Plan, names: &[String]) -> Result<(), Error> {
    let known: Vec<String> = plan
        .processes
        .iter()
        .map(|p| p.name.clone())
        .chain(
            plan.instances()
                .filter(|(process, _)| process.scale > 1)
                .map(|(_, instance)| instance.name),
        )
        .collect();
    let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(n)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = |names: &[&String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Error::Usage(format!(
        "no process or directory named {} in {}\n  = help: the processes are: {}",
        list(&unknown),
        plan.source.display(),
        list(&known.iter().collect::<Vec<_>>()),
    )))
}
