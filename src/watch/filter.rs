//! Which paths a process's `watch` cares about, from its globs alone (no files read).
//!
//! Paths are judged relative to the process's `cwd`. A file is *wanted* when a `watch`
//! glob matches it and nothing excludes it: no component is one of [`ALWAYS_IGNORED`]
//! and no `watch_ignore` glob matches it or one of its directories. Globs are built
//! with `literal_separator`, so `*` stays within a directory and `**` crosses them.
//!
//! A directory is *wanted* (gets an inotify watch) when a file below it could be wanted.
//! Each glob gives an area: the directory its literal prefix names and how deep below
//! it a match can lie (`src/*/*.py`: `src`, two levels; `src/**/*.py`: `src`, any
//! depth). The directories above an area are wanted too, so that creating the area's
//! directory later is seen. Over-approximating is harmless (events are filtered file by
//! file); under-approximating would lose changes.
//!
//! A glob without wildcards (`.env`, `config/settings.py`, `vendor/lib`) names a path
//! explicitly: it also stands for everything below it (as in setup's `sources`), and
//! `.gitignore` does not apply to it (see [`Filter::named`]).

use std::path::{Component, Path, PathBuf};

use globset::GlobSet;

use crate::config::Globs;
use crate::config::globs::normalize;

/// Directory names never looked into, wherever they are: version control, proj's own
/// runtime files (its logs among them), build output and dependencies.
pub(super) const ALWAYS_IGNORED: [&str; 4] = [".git", crate::layout::DIR, "target", "node_modules"];

/// The compiled `watch` / `watch_ignore` of one process.
#[derive(Debug)]
pub(super) struct Filter {
    watch: GlobSet,
    ignore: GlobSet,
    /// The wildcard-free `watch` globs, as relative paths.
    literals: Vec<PathBuf>,
    areas: Vec<Area>,
}

/// Where matches of one glob can lie.
#[derive(Debug, PartialEq, Eq)]
struct Area {
    /// The glob's literal prefix, relative to the cwd (empty: the cwd itself).
    root: PathBuf,
    /// How many levels below `root` a match can lie; `None`: any (`**`).
    depth: Option<usize>,
}

impl Filter {
    /// The filter of these globs (compiled when the config was read).
    pub(super) fn new(watch: &Globs, watch_ignore: &Globs) -> Filter {
        let mut areas = Vec::new();
        let mut literals = Vec::new();
        for pattern in watch.patterns() {
            let pattern = normalize(pattern);
            let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
            let literal = components
                .iter()
                .take_while(|component| !has_wildcard(component))
                .count();
            if literal == components.len() {
                let path: PathBuf = components.iter().collect();
                areas.push(Area {
                    root: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    depth: Some(1),
                });
                areas.push(Area {
                    root: path.clone(),
                    depth: None,
                });
                literals.push(path);
            } else {
                let rest = &components[literal..];
                areas.push(Area {
                    root: components[..literal].iter().collect(),
                    depth: (!rest.iter().any(|c| c.contains("**"))).then_some(rest.len()),
                });
            }
        }
        Filter {
            watch: watch.set().clone(),
            ignore: watch_ignore.set().clone(),
            literals,
            areas,
        }
    }

    /// Whether a change to `relative` (a file, or a directory when `is_dir`) concerns
    /// the process, before `.gitignore` is consulted.
    pub(super) fn wants_file(&self, relative: &Path) -> bool {
        !self.excluded(relative)
            && (self.watch.is_match(relative)
                || self.literals.iter().any(|l| relative.starts_with(l)))
    }

    /// Whether the directory `relative` should be watched (before `.gitignore`).
    pub(super) fn wants_dir(&self, relative: &Path) -> bool {
        !self.excluded(relative) && self.areas.iter().any(|area| area.covers_dir(relative))
    }

    /// Whether a wildcard-free glob names `relative`, a path below it or a directory
    /// on the way to it: `.gitignore` does not apply there (`watch = [".env"]` works
    /// although `.env` is ignored by git, as it usually is).
    pub(super) fn named(&self, relative: &Path) -> bool {
        self.literals
            .iter()
            .any(|l| relative.starts_with(l) || l.starts_with(relative))
    }

    /// Always-ignored names anywhere in the path, or a `watch_ignore` glob matching the
    /// path or one of its directories.
    fn excluded(&self, relative: &Path) -> bool {
        let always = relative.components().any(|component| {
            matches!(component, Component::Normal(name)
                if ALWAYS_IGNORED.iter().any(|ignored| name == *ignored))
        });
        always
            || relative
                .ancestors()
                .filter(|path| !path.as_os_str().is_empty())
                .any(|path| self.ignore.is_match(path))
    }
}

impl Area {
    /// A directory is covered when entries inside it can match (it lies in the area
    /// less than `depth` levels below the root), or when it leads to the root.
    fn covers_dir(&self, dir: &Path) -> bool {
        if let Ok(below) = dir.strip_prefix(&self.root) {
            let level = below.components().count();
            self.depth.is_none_or(|depth| level < depth)
        } else {
            self.root.starts_with(dir)
        }
    }
}

/// `./src/*.py` → `src/*.py`: paths are matched without the leading `./`.
fn has_wildcard(component: &str) -> bool {
    component.contains(['*', '?', '[', '{', '\\'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(watch: &[&str], ignore: &[&str]) -> Filter {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(
            &Globs::new(&strings(watch)).expect("valid globs"),
            &Globs::new(&strings(ignore)).expect("valid globs"),
        )
    }

    #[test]
    fn a_star_stays_within_a_directory() {
        let filter = filter(&["src/*.py"], &[]);
        assert!(filter.wants_file(Path::new("src/app.py")));
        assert!(!filter.wants_file(Path::new("src/sub/app.py")));
        assert!(!filter.wants_file(Path::new("app.py")));
    }

    #[test]
    fn a_double_star_crosses_directories() {
        let filter = filter(&["src/**/*.py"], &[]);
        assert!(filter.wants_file(Path::new("src/app.py")));
        assert!(filter.wants_file(Path::new("src/a/b/c.py")));
        assert!(!filter.wants_file(Path::new("src/a/b/c.txt")));
    }

    #[test]
    fn always_ignored_directories_win_anywhere() {
        let filter = filter(&["**/*.js", "target/**"], &[]);
        assert!(filter.wants_file(Path::new("web/app.js")));
        for path in [
            "node_modules/x/index.js",
            "web/node_modules/a.js",
            ".git/hooks/a.js",
            ".proj/logs/web.js",
            "target/debug/a.js",
        ] {
            assert!(!filter.wants_file(Path::new(path)), "{path}");
        }
        assert!(!filter.wants_dir(Path::new("web/node_modules")));
        assert!(!filter.wants_dir(Path::new(".proj")));
    }

    #[test]
    fn watch_ignore_covers_a_path_and_what_is_below_it() {
        let filter = filter(&["**/*.py"], &["src/generated", "*_test.py"]);
        assert!(filter.wants_file(Path::new("src/app.py")));
        assert!(!filter.wants_file(Path::new("src/generated/models.py")));
        assert!(!filter.wants_dir(Path::new("src/generated")));
        assert!(!filter.wants_file(Path::new("app_test.py")));
        // `*` does not cross `/` in watch_ignore either.
        assert!(filter.wants_file(Path::new("src/app_test.py")));
    }

    #[test]
    fn directories_are_watched_only_where_a_match_can_lie() {
        let filter = filter(&["src/**/*.py", "config/*.toml"], &[]);
        // The cwd leads to both areas.
        assert!(filter.wants_dir(Path::new("")));
        assert!(filter.wants_dir(Path::new("src")));
        assert!(filter.wants_dir(Path::new("src/a/b")));
        assert!(filter.wants_dir(Path::new("config")));
        // config/*.toml matches nothing deeper.
        assert!(!filter.wants_dir(Path::new("config/old")));
        assert!(!filter.wants_dir(Path::new("docs")));
    }

    #[test]
    fn a_glob_at_the_top_watches_only_the_cwd() {
        let filter = filter(&["*.py"], &[]);
        assert!(filter.wants_dir(Path::new("")));
        assert!(!filter.wants_dir(Path::new("src")));
    }

    #[test]
    fn a_path_without_wildcards_names_a_file_or_a_whole_directory() {
        let filter = filter(&[".env", "./lib"], &[]);
        assert!(filter.wants_file(Path::new(".env")));
        assert!(filter.wants_file(Path::new("lib/a/b.c")));
        assert!(filter.wants_dir(Path::new("lib/a")));
        assert!(!filter.wants_file(Path::new("other.env")));
        assert!(filter.named(Path::new(".env")));
        assert!(filter.named(Path::new("lib/a/b.c")));
        assert!(filter.named(Path::new("")));
        assert!(!filter.named(Path::new("src/a.py")));
    }
}
