//! The `.proj/` directory at a project's root: every runtime file proj keeps there, in
//! one place (SPEC §1).
//!
//! ```text
//! .proj/
//!   .gitignore          `*`: `git add -A` never commits runtime files
//!   proj.lock           the supervisor's lock (and pid)
//!   proj.sock           the control socket (or a short path elsewhere, see control::endpoint)
//!   setup.lock          held while setup runs
//!   state.json          what setup has finished
//!   logs/NAME.log       each instance's output (rotated: NAME.log.1, …)
//!   logs/setup-STEP.log each setup step's output
//!   logs/proj.log       proj's own messages when the TUI or `up -d` owns the terminal
//! ```
//!
//! Whoever creates `.proj/` does it through [`create`] or [`create_logs`], which also
//! write `.gitignore` when it is missing (so a `.proj/` made by an older proj gets one).

use std::io;
use std::path::{Path, PathBuf};

/// The directory's name at the project root.
pub(crate) const DIR: &str = ".proj";

/// `.proj/.gitignore`: ignore everything, itself included.
const GITIGNORE: &str = "*\n";

/// `.proj` under `root`.
pub(crate) fn dir(root: &Path) -> PathBuf {
    root.join(DIR)
}

/// `.proj/logs`.
pub(crate) fn logs_dir(root: &Path) -> PathBuf {
    dir(root).join("logs")
}

/// `.proj/logs/NAME.log`: the output of instance `name`.
pub(crate) fn instance_log(root: &Path, name: &str) -> PathBuf {
    logs_dir(root).join(format!("{name}.log"))
}

/// `.proj/logs/setup-NAME.log`, NAME with anything but letters, digits, `.`, `_` and
/// `-` replaced by `-` (`python deps` → `setup-python-deps.log`).
pub(crate) fn setup_log(root: &Path, step: &str) -> PathBuf {
    let slug: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    logs_dir(root).join(format!("setup-{slug}.log"))
}

/// `.proj/logs/proj.log`: proj's own messages when it does not own a terminal.
pub(crate) fn proj_log(root: &Path) -> PathBuf {
    logs_dir(root).join("proj.log")
}

/// `.proj/state.json`: setup's record.
pub(crate) fn state_file(root: &Path) -> PathBuf {
    dir(root).join("state.json")
}

/// `.proj/setup.lock`.
pub(crate) fn setup_lock(root: &Path) -> PathBuf {
    dir(root).join("setup.lock")
}

/// `.proj/proj.lock`: the supervisor's.
pub(crate) fn supervisor_lock(root: &Path) -> PathBuf {
    dir(root).join("proj.lock")
}

/// `.proj/proj.sock`, when the kernel's socket path limit allows it.
pub(crate) fn socket(root: &Path) -> PathBuf {
    dir(root).join("proj.sock")
}

/// Creates `.proj/` (if needed) and its `.gitignore` (if missing); returns the directory.
pub(crate) fn create(root: &Path) -> io::Result<PathBuf> {
    let dir = dir(root);
    std::fs::create_dir_all(&dir)?;
    ensure_gitignore(&dir)?;
    Ok(dir)
}

/// [`create`], then `.proj/logs/`; returns the logs directory.
pub(crate) fn create_logs(root: &Path) -> io::Result<PathBuf> {
    create(root)?;
    let logs = logs_dir(root);
    std::fs::create_dir_all(&logs)?;
    Ok(logs)
}

/// Writes `dir/.gitignore` unless it exists: a user's own edits are kept.
pub(crate) fn ensure_gitignore(dir: &Path) -> io::Result<()> {
    let path = dir.join(".gitignore");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => io::Write::write_all(&mut file, GITIGNORE.as_bytes()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_the_directory_writes_a_gitignore_that_ignores_everything() {
        let root = tempfile::tempdir().unwrap();
        let logs = create_logs(root.path()).unwrap();
        assert!(logs.is_dir());
        let ignore = std::fs::read_to_string(root.path().join(".proj/.gitignore")).unwrap();
        assert_eq!(ignore, "*\n");
    }

    #[test]
    fn an_existing_gitignore_is_kept_and_a_missing_one_is_added() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(".proj")).unwrap();
        create(root.path()).unwrap();
        assert!(root.path().join(".proj/.gitignore").exists(), "added");
        std::fs::write(root.path().join(".proj/.gitignore"), "mine\n").unwrap();
        create(root.path()).unwrap();
        let kept = std::fs::read_to_string(root.path().join(".proj/.gitignore")).unwrap();
        assert_eq!(kept, "mine\n");
    }

    #[test]
    fn setup_logs_have_safe_names() {
        assert_eq!(
            setup_log(Path::new("/p"), "python deps"),
            Path::new("/p/.proj/logs/setup-python-deps.log")
        );
        assert_eq!(
            setup_log(Path::new("/p"), "db: migrate/v2"),
            Path::new("/p/.proj/logs/setup-db--migrate-v2.log")
        );
    }
}
