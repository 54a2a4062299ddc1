//! git's ignore rules for one watched tree: nested `.gitignore` files,
//! `.git/info/exclude` and the global excludes file (`core.excludesFile`, by default
//! `~/.config/git/ignore`), with git's precedence.
//!
//! The `ignore` crate parses and matches each file ([`Gitignore`]); this module keeps
//! one matcher per directory and asks them from the deepest directory up, the first
//! match (ignore, or a `!` whitelist) deciding, then `.git/info/exclude`, then the
//! global file. That is git's order. A matcher does not see later edits of its file:
//! the watcher calls [`IgnoreFiles::load_dir`] again when a `.gitignore` changes.
//!
//! The rules apply from the top of the repository (the nearest directory above the
//! cwd holding `.git`), or from the project root when there is no repository:
//! `.gitignore` is honoured without git too, as people expect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder, gitconfig_excludes_path};

#[derive(Debug)]
pub(super) struct IgnoreFiles {
    /// The repository's top (or the project root): no rule above it applies.
    top: PathBuf,
    /// Each directory's `.gitignore`, for the directories seen so far.
    by_dir: BTreeMap<PathBuf, Gitignore>,
    /// `.git/info/exclude`, then the global excludes file.
    fallbacks: Vec<Gitignore>,
}

impl IgnoreFiles {
    /// The rules that apply to `cwd`: those of the directories from the top down to
    /// `cwd`. Directories below are added as the watcher walks into them.
    pub(super) fn new(cwd: &Path, project_root: &Path) -> IgnoreFiles {
        let repository = cwd
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .map(Path::to_path_buf);
        let top = match &repository {
            Some(top) => top.clone(),
            None if cwd.starts_with(project_root) => project_root.to_path_buf(),
            None => cwd.to_path_buf(),
        };
        let mut fallbacks = Vec::new();
        if let Some(repository) = &repository {
            fallbacks.extend(matcher(repository, &repository.join(".git/info/exclude")));
        }
        if let Some(global) = gitconfig_excludes_path() {
            fallbacks.extend(matcher(&top, &global));
        }
        let mut files = IgnoreFiles {
            top,
            by_dir: BTreeMap::new(),
            fallbacks,
        };
        let above: Vec<PathBuf> = cwd
            .ancestors()
            .take_while(|dir| dir.starts_with(&files.top))
            .map(Path::to_path_buf)
            .collect();
        for dir in above {
            files.load_dir(&dir);
        }
        files
    }

    /// (Re-)read `dir/.gitignore`, or forget it when it is gone.
    pub(super) fn load_dir(&mut self, dir: &Path) {
        match matcher(dir, &dir.join(".gitignore")) {
            Some(gitignore) => self.by_dir.insert(dir.to_path_buf(), gitignore),
            None => self.by_dir.remove(dir),
        };
    }

    /// Whether git ignores `path` (absolute), itself: the caller never looks into an
    /// ignored directory, so the directories above `path` are known not to be.
    pub(super) fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let nested = path
            .ancestors()
            .skip(1)
            .take_while(|dir| dir.starts_with(&self.top))
            .filter_map(|dir| self.by_dir.get(dir));
        for gitignore in nested.chain(&self.fallbacks) {
            match gitignore.matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

/// The matcher for one ignore file rooted at `dir`; `None` when the file is missing or
/// empty. A bad line is skipped (as git does), the rest still applies.
fn matcher(dir: &Path, file: &Path) -> Option<Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(dir);
    if let Some(error) = builder.add(file) {
        tracing::debug!(file = %file.display(), %error, "ignore file partly unreadable");
    }
    match builder.build() {
        Ok(gitignore) if !gitignore.is_empty() => Some(gitignore),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(file = %file.display(), %error, "ignore file unusable");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    #[test]
    fn the_deepest_gitignore_decides() {
        let dir = tree(&[
            (".git/info/exclude", "*.local\n"),
            (".gitignore", "*.gen.py\nbuild/\n"),
            ("app/.gitignore", "!keep.gen.py\n"),
        ]);
        let root = dir.path();
        let mut files = IgnoreFiles::new(root, root);
        files.load_dir(&root.join("app"));
        assert!(files.is_ignored(&root.join("a.gen.py"), false));
        assert!(files.is_ignored(&root.join("app/b.gen.py"), false));
        assert!(!files.is_ignored(&root.join("app/keep.gen.py"), false));
        assert!(files.is_ignored(&root.join("build"), true));
        assert!(!files.is_ignored(&root.join("build"), false));
        assert!(files.is_ignored(&root.join("app/x.local"), false));
        assert!(!files.is_ignored(&root.join("app/x.py"), false));
    }

    #[test]
    fn an_edited_gitignore_is_read_again() {
        let dir = tree(&[(".gitignore", "a.py\n")]);
        let root = dir.path();
        let mut files = IgnoreFiles::new(root, root);
        assert!(files.is_ignored(&root.join("a.py"), false));
        std::fs::write(root.join(".gitignore"), "b.py\n").expect("write");
        files.load_dir(root);
        assert!(!files.is_ignored(&root.join("a.py"), false));
        assert!(files.is_ignored(&root.join("b.py"), false));
        std::fs::remove_file(root.join(".gitignore")).expect("remove");
        files.load_dir(root);
        assert!(!files.is_ignored(&root.join("b.py"), false));
    }

    #[test]
    fn rules_above_the_cwd_apply_up_to_the_project_root() {
        let dir = tree(&[(".gitignore", "*.tmp\n"), ("services/api/.keep", "")]);
        let root = dir.path();
        let files = IgnoreFiles::new(&root.join("services/api"), root);
        assert!(files.is_ignored(&root.join("services/api/x.tmp"), false));
    }
}
