//! The content fingerprint behind a step's `sources` rule.
//!
//! A step with `sources` is done while its fingerprint equals the one recorded after its
//! last success. The fingerprint is a SHA-256 over the step's command and, for each
//! pattern in order, every file it matches (sorted by path): path, length and content.
//! So editing, adding, removing or renaming a matched file, or changing the command,
//! makes the step run again; touching a file without changing it does not.
//!
//! Patterns are relative to the project root. A pattern without glob characters is a
//! path: a file, or a directory standing for every file below it; a missing one counts
//! as "missing" (creating it later is a change). A glob (`*`, `?`, `[…]`, `{…}`; `*` stays
//! within a directory, `**` crosses them) is matched against the files below its literal
//! prefix (`src/**/*.py` walks `src/` only), so a narrow pattern stays cheap in a project
//! with a large `node_modules` or `.venv`. `.git` and `.proj` are never walked.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest, Sha256};

/// Directories no pattern looks into.
const NEVER_WALKED: [&str; 2] = [".git", crate::layout::DIR];

/// The fingerprint of `patterns` for `command`, as `sha256:HEX`.
pub(crate) fn compute(root: &Path, command: &str, patterns: &[String]) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(b"proj-sources-v1\0");
    hasher.update(command.as_bytes());
    hasher.update(b"\0");
    for pattern in patterns {
        hasher.update(pattern.as_bytes());
        hasher.update(b"\0");
        match matches(root, pattern)? {
            Matched::Missing => hasher.update(b"missing\0"),
            Matched::Files(files) => {
                for relative in files {
                    add_file(&mut hasher, root, &relative)?;
                }
            }
        }
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

enum Matched {
    Missing,
    /// Paths relative to the root, sorted.
    Files(Vec<PathBuf>),
}

fn matches(root: &Path, pattern: &str) -> io::Result<Matched> {
    let pattern = pattern.trim_start_matches("./");
    if !is_glob(pattern) {
        let path = root.join(pattern);
        return match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                let mut files = Vec::new();
                walk(root, Path::new(pattern), &mut |_| true, &mut files)?;
                files.sort();
                Ok(Matched::Files(files))
            }
            Ok(_) => Ok(Matched::Files(vec![PathBuf::from(pattern)])),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Matched::Missing),
            Err(error) => Err(error),
        };
    }
    let matcher = glob(pattern)?;
    let mut files = Vec::new();
    let start = literal_prefix(pattern);
    if root.join(&start).is_dir() {
        walk(root, &start, &mut |path| matcher.is_match(path), &mut files)?;
    }
    files.sort();
    Ok(Matched::Files(files))
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

fn glob(pattern: &str) -> io::Result<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))
}

/// The directories of `pattern` before its first glob character: where to walk from.
fn literal_prefix(pattern: &str) -> PathBuf {
    let components: Vec<&str> = pattern.split('/').collect();
    let literal: Vec<&str> = components
        .iter()
        .take(components.len().saturating_sub(1))
        .take_while(|component| !is_glob(component))
        .copied()
        .collect();
    literal.iter().collect()
}

/// Every file below `root/dir` whose root-relative path `keep` accepts.
fn walk(
    root: &Path,
    dir: &Path,
    keep: &mut dyn FnMut(&Path) -> bool,
    files: &mut Vec<PathBuf>,
) -> io::Result<()> {
    for entry in std::fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let name = entry.file_name();
        let relative = dir.join(&name);
        // Follow symlinks, as a build tool reading the file would.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() {
            if !NEVER_WALKED.iter().any(|skip| name == *skip) {
                walk(root, &relative, keep, files)?;
            }
        } else if keep(&relative) {
            files.push(relative);
        }
    }
    Ok(())
}

fn add_file(hasher: &mut Sha256, root: &Path, relative: &Path) -> io::Result<()> {
    hasher.update(relative.as_os_str().as_encoded_bytes());
    hasher.update(b"\0");
    let mut file = File::open(root.join(relative))?;
    let length = file.metadata()?.len();
    hasher.update(length.to_le_bytes());
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, relative: &str, content: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    #[test]
    fn content_changes_count_and_unrelated_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "requirements.txt", "flask\n");
        write(root, "src/app/main.py", "print(1)\n");
        write(root, "src/app/notes.txt", "x");
        let patterns = vec!["requirements.txt".to_string(), "src/**/*.py".to_string()];
        let first = compute(root, "pip install", &patterns).unwrap();
        assert!(first.starts_with("sha256:"));
        assert_eq!(compute(root, "pip install", &patterns).unwrap(), first);

        write(root, "src/app/notes.txt", "changed, but not a source");
        assert_eq!(compute(root, "pip install", &patterns).unwrap(), first);

        write(root, "src/app/main.py", "print(2)\n");
        let second = compute(root, "pip install", &patterns).unwrap();
        assert_ne!(second, first);

        write(root, "src/new.py", "");
        let third = compute(root, "pip install", &patterns).unwrap();
        assert_ne!(third, second);

        assert_ne!(compute(root, "pip install -U", &patterns).unwrap(), third);
    }

    #[test]
    fn a_missing_path_counts_and_a_directory_means_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let patterns = vec!["migrations".to_string()];
        let missing = compute(root, "x", &patterns).unwrap();
        write(root, "migrations/001.sql", "create table t;");
        let one = compute(root, "x", &patterns).unwrap();
        assert_ne!(one, missing);
        write(root, "migrations/002.sql", "alter table t;");
        assert_ne!(compute(root, "x", &patterns).unwrap(), one);
    }

    #[test]
    fn a_star_stays_within_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "a.txt", "1");
        let patterns = vec!["*.txt".to_string()];
        let before = compute(root, "x", &patterns).unwrap();
        write(root, "deep/b.txt", "2");
        assert_eq!(compute(root, "x", &patterns).unwrap(), before);
    }

    #[test]
    fn the_walk_starts_at_the_literal_prefix() {
        assert_eq!(literal_prefix("src/**/*.py"), PathBuf::from("src"));
        assert_eq!(literal_prefix("a/b/*.lock"), PathBuf::from("a/b"));
        assert_eq!(literal_prefix("**/*.py"), PathBuf::new());
        assert_eq!(literal_prefix("*.txt"), PathBuf::new());
    }
}
