//! `proj clone URL [DIR]`: clone and set up, start nothing; and the clone of
//! `proj up URL`.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::CloneArgs;
use crate::config::ConfigError;
use crate::setup::clone::{self as git_clone, Request};
use crate::setup::interrupt::Interrupts;

use super::Context;

pub(super) fn run(context: &Context, args: CloneArgs) -> Result<(), Error> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => git_clone::default_dir(&args.url)?,
    };
    let mut watcher = None;
    fetch(&args.url, &dir, args.branch, false, &mut watcher)?;
    let context = in_clone(context, &dir);
    let plan = match context.load_plan(None) {
        Ok(plan) => plan,
        Err(Error::Config(ConfigError::Read { path, .. })) if !path.exists() => {
            crate::outln!(
                "note: {} has no proj.toml or Procfile: nothing to set up",
                dir.display()
            );
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    if args.no_setup {
        super::setup::requires_only(&plan)?;
    } else {
        super::setup::before_start(&context, plan, &mut watcher)?;
    }
    crate::outln!("ready: cd {} && proj up", dir.display());
    Ok(())
}

/// Clone `url` into `dir`, or reuse the clone already there.
pub(super) fn fetch(
    url: &str,
    dir: &Path,
    branch: Option<String>,
    pull: bool,
    watcher: &mut Option<Interrupts>,
) -> Result<(), Error> {
    let interrupts = super::setup::watching(watcher)?;
    let request = Request {
        url: url.to_string(),
        dir: dir.to_path_buf(),
        branch,
        terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        pull,
    };
    git_clone::clone(&request, interrupts)?;
    Ok(())
}

/// The directory `proj up URL` clones into.
pub(super) fn default_dir(url: &str) -> Result<PathBuf, Error> {
    Ok(git_clone::default_dir(url)?)
}

/// The context for the project cloned into `dir`: its config is looked for in `dir`
/// only (never in a directory above the clone), and a relative `-f` is read from `dir`.
pub(super) fn in_clone(context: &Context, dir: &Path) -> Context {
    let file = match &context.file {
        Some(file) if file.is_relative() => dir.join(file),
        Some(file) => file.clone(),
        None => dir.to_path_buf(),
    };
    Context {
        file: Some(file),
        color: context.color,
    }
}
