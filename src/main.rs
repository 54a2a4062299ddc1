//! The `proj` binary: parse the command line, run one command, map its error to an exit
//! code. Everything else lives in the library.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use proj::cli::Cli;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(guarded) = proj::commands::guardian(args.get(1..).unwrap_or_default()) {
        return match guarded {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let cli = Cli::parse_from(args);
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
