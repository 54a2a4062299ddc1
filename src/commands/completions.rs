//! `proj completions SHELL`: generated from the clap definitions, so they never drift
//! (the files in `completions/` are checked against this output by a test).

use clap::CommandFactory;

use crate::Error;
use crate::cli::Cli;

pub(super) fn run(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "proj", &mut script);
    crate::output::write_all(&script);
    Ok(())
}
