//! `proj man [-o DIR]`: the man pages, generated from the clap definitions (like the
//! completions) so that they say exactly what `--help` says. With `-o DIR`: `proj.1` and
//! one `proj-SUBCOMMAND.1` per subcommand in DIR; without it, `proj.1` on stdout (so
//! `proj man | man -l -` reads it).

use std::path::PathBuf;

use clap::CommandFactory;

use crate::Error;
use crate::cli::Cli;

pub(super) fn run(output: Option<PathBuf>) -> Result<(), Error> {
    let pages = pages().map_err(|error| Error::io("cannot render the man pages", error))?;
    let Some(dir) = output else {
        crate::output::write_all(&pages[0].1);
        return Ok(());
    };
    std::fs::create_dir_all(&dir)
        .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
    for (name, page) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, page)
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
        crate::outln!("wrote {}", path.display());
    }
    Ok(())
}

/// `(file name, page)` for proj(1), then each visible subcommand, in `--help` order.
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = Cli::command();
    // Fills in each subcommand's `proj up` usage and `proj-up` page title.
    command.build();
    let mut pages = vec![("proj.1".to_string(), render(command.clone())?)];
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("proj-{}.1", sub.get_name());
        pages.push((name, render(sub.clone())?));
    }
    Ok(pages)
}

fn render(command: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    Ok(page)
}
