//! A process's working directory from another tool's config → proj's `cwd`.
//!
//! Those configs often come from a container or a server (`directory=/app`,
//! `cwd: /srv/shop`), where the path does not exist on the machine `proj init` runs on,
//! and proj refuses a `cwd` that does not exist. When the project has a directory of the
//! same name (`Dockerfile`: `COPY app /app`), that is almost always the one meant: it is
//! used, and the report says so. Otherwise the path is written commented out.

use std::path::Path;

use super::model::{NoteKind, Process};
use super::relative_to;

/// Sets `cwd` on `process` for `dir` (relative to `base`, the source file's directory),
/// written relative to `root`; `source` names the key in comments (`supervisord's
/// directory`). What to report, when there is something.
pub(crate) fn set_cwd(
    process: &mut Process,
    dir: &str,
    base: &Path,
    root: &Path,
    source: &str,
) -> Option<(NoteKind, String)> {
    let path = base.join(dir);
    let written = relative_to(&path, root);
    if path.is_dir() {
        if written != "." {
            process.set("cwd", written);
        }
        return None;
    }
    let same_name = path
        .file_name()
        .map(|name| root.join(name))
        .filter(|candidate| candidate.is_dir());
    if let Some(candidate) = same_name {
        let here = relative_to(&candidate, root);
        process.set_because(
            "cwd",
            here.clone(),
            format!("{source} was `{written}`, which does not exist here; `{here}` does"),
        );
        return Some((
            NoteKind::Decision,
            format!(
                "`{written}` does not exist here: `cwd = \"{here}\"`, the project's directory of that name"
            ),
        ));
    }
    process.suggest(
        "cwd",
        written.clone(),
        format!("{source}, which does not exist here"),
    );
    Some((
        NoteKind::Dropped,
        format!(
            "`{written}` does not exist here: written commented out (proj refuses a missing `cwd`)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_same_name_and_missing_directories() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("app")).unwrap();
        let cwd = |dir: &str| {
            let mut process = Process::new("web");
            let note = set_cwd(
                &mut process,
                dir,
                root.path(),
                root.path(),
                "supervisord's directory",
            );
            let entry = process
                .entries
                .first()
                .map(|e| (e.value.to_string(), e.commented_out));
            (entry, note.map(|(kind, _)| kind))
        };
        assert_eq!(cwd("app"), (Some(("\"app\"".into(), false)), None));
        assert_eq!(cwd("."), (None, None));
        assert_eq!(
            cwd("/nonexistent-root-dir/app"),
            (Some(("\"app\"".into(), false)), Some(NoteKind::Decision))
        );
        assert_eq!(
            cwd("/nonexistent-root-dir/srv"),
            (
                Some(("\"/nonexistent-root-dir/srv\"".into(), true)),
                Some(NoteKind::Dropped)
            )
        );
    }
}
