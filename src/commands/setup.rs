//! `proj setup [--force] [STEP...]`, and the setup phase of `proj up` and `proj clone`.

use crate::Error;
use crate::cli::SetupArgs;
use crate::config::{self, Plan};
use crate::setup::interrupt::Interrupts;
use crate::setup::steps::{self, Options, Summary};

use super::Context;

pub(super) fn run(context: &Context, args: SetupArgs) -> Result<(), Error> {
    let plan = context.load_plan(None)?;
    let options = Options {
        force: args.force,
        only: args.steps,
        ..Options::default()
    };
    run_steps(context, &plan, options, &mut None)?;
    Ok(())
}

/// The command's signal watcher, started on first use: one per command, kept until the
/// command hands over to the supervisor (see [`Interrupts`]).
pub(super) fn watching(slot: &mut Option<Interrupts>) -> Result<&Interrupts, Error> {
    let interrupts = match slot.take() {
        Some(interrupts) => interrupts,
        None => Interrupts::install().map_err(|e| Error::io("cannot watch for Ctrl-C", e))?,
    };
    Ok(slot.insert(interrupts))
}

/// Setup before processes start: every step by its rules. Returns the plan to start
/// from, read again when a step ran (it may have written an env file or the config).
pub(super) fn before_start(
    context: &Context,
    plan: Plan,
    watcher: &mut Option<Interrupts>,
) -> Result<Plan, Error> {
    let summary = run_steps(context, &plan, Options::default(), watcher)?;
    if summary.ran == 0 {
        return Ok(plan);
    }
    // The same options (-m, -p, the auto ports already chosen) as the first load.
    Ok(config::load_with(&plan.source, &plan.options)?)
}

/// `--no-setup` still checks `requires`: a missing program is better named now than
/// met as a process failing with exit code 127.
pub(super) fn requires_only(plan: &Plan) -> Result<(), Error> {
    Ok(steps::check_requires(plan)?)
}

fn run_steps(
    context: &Context,
    plan: &Plan,
    mut options: Options,
    watcher: &mut Option<Interrupts>,
) -> Result<Summary, Error> {
    if plan.setup.is_empty() {
        // Nothing to run: no lock, no `.proj/`, no signal handler.
        steps::check_names(plan, &options.only)?;
        steps::check_requires(plan)?;
        return Ok(Summary::default());
    }
    options.terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    options.color = context.stdout_color();
    let interrupts = watching(watcher)?;
    Ok(steps::run(plan, &options, interrupts)?)
}
