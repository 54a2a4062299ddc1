//! `proj init [--from FILE] [--force]`: write proj.toml from another tool's config
//! (SPEC §9.4). The conversion is `crate::import`'s; this is the file handling around
//! it: where to write, refusing to overwrite, checking the result with proj's own
//! loader before writing it, `.gitignore`, and the report on stderr.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::InitArgs;
use crate::config;
use crate::import::{self, ImportError, NoteKind};

use super::{Context, stderr_color};

pub(super) fn run(context: &Context, args: InitArgs) -> Result<(), Error> {
    let color = stderr_color(context.color);
    let cwd = std::env::current_dir()
        .map_err(|error| Error::io("cannot read the current directory", error))?;
    // `-f PATH` names the file to write; by default proj.toml here.
    let target = context
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from("proj.toml"));
    let root = import::directory_of(&target);
    if target.exists() && !args.force {
        return Err(Error::Diagnostics(config::render_plain(
            &format!("`{}` exists already", target.display()),
            "`proj init --force` replaces it (the old one is not kept)",
            color,
        )));
    }
    let source = match args.from {
        Some(from) => from,
        None => {
            let found = import::find(&cwd).map_err(|error| import_error(&error, color))?;
            found
                .strip_prefix(&cwd)
                .map(Path::to_path_buf)
                .unwrap_or(found)
        }
    };
    let conversion =
        import::convert(&source, &root).map_err(|error| import_error(&error, color))?;
    // What `proj check` will say, before anything is written: a conversion that proj
    // refuses is proj init's bug, and must not be left for the user to find.
    if let Err(error) = config::load_str(&target, &conversion.text) {
        // A problem in another file it reads (an existing proj.local.toml, the .env) is
        // the user's to fix; one in the converted text is proj init's bug.
        let in_converted = error.diagnostics().iter().all(|d| d.path() == target);
        let why = if in_converted && !error.diagnostics().is_empty() {
            "the converted file does not pass `proj check` (a bug in proj init: please report it with the file below)"
        } else {
            "the converted file would not load because of another file it reads; fix that first"
        };
        return Err(Error::Import(format!(
            "{why}; nothing was written:\n{}\n\n{}",
            error.render(false),
            conversion.text
        )));
    }
    std::fs::write(&target, &conversion.text)
        .map_err(|error| Error::io(format!("cannot write {}", target.display()), error))?;
    // One person's settings (proj.local.toml beside proj.toml) stay out of git.
    let local = config::local_path(&target)
        .and_then(|local| {
            local
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "proj.local.toml".to_owned());
    let ignored = ignore_local_file(&root, &local)?;
    let ignored = ignored.then_some(local.as_str());
    eprint!("{}", report(&source, &target, &conversion, ignored));
    Ok(())
}

fn import_error(error: &ImportError, color: bool) -> Error {
    Error::Diagnostics(config::render_plain(
        &error.to_string(),
        &error.help(),
        color,
    ))
}

/// Adds `local` (proj.local.toml) to the root's `.gitignore` (creating it); whether it did.
fn ignore_local_file(root: &Path, local: &str) -> Result<bool, Error> {
    let path = root.join(".gitignore");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(Error::io(format!("cannot read {}", path.display()), error)),
    };
    let listed = existing
        .lines()
        .map(|line| line.trim().trim_start_matches('/'))
        .any(|line| line == local);
    if listed {
        return Ok(false);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# one person's own proj settings (proj init)\n");
    text.push_str(local);
    text.push('\n');
    std::fs::write(&path, text)
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    Ok(true)
}

/// The report on stderr: what was written, then each decision and each key not carried
/// over, with `file:line`.
/// `ignored`: the local file's name, when it was just added to `.gitignore`.
fn report(
    source: &Path,
    target: &Path,
    conversion: &import::Conversion,
    ignored: Option<&str>,
) -> String {
    let mut out = String::new();
    let count = conversion.processes;
    let _ = writeln!(
        out,
        "proj init: wrote {} from {} ({}, {count} process{})",
        target.display(),
        source.display(),
        conversion.format.name(),
        if count == 1 { "" } else { "es" },
    );
    for (kind, title) in [
        (
            NoteKind::Decision,
            "decisions taken (the file says why, where it matters):",
        ),
        (NoteKind::Dropped, "not carried over:"),
    ] {
        let notes: Vec<_> = conversion
            .notes
            .iter()
            .filter(|note| note.kind == kind)
            .collect();
        if notes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for note in notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    if let Some(local) = ignored {
        let _ = writeln!(
            out,
            "\nadded {local} to .gitignore (your own settings, merged over {})",
            target.display()
        );
    }
    let _ = writeln!(out, "\nnext: `proj check`, then `proj up`");
    out
}
