//! The `proj` binary: parse the command line, run one command, map its error to an exit
//! code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use proj::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    proj::diagnostics::init();
    let color = proj::commands::stderr_color(cli.color);
    match proj::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let text = error.render(color);
            if proj::logs::journal::stderr_is_journal() {
                // Under systemd: logged as an error, not as info.
                let text = proj::logs::journal::with_priority(proj::logs::journal::ERROR, &text);
                eprintln!("{text}");
            } else {
                eprintln!("{text}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}
