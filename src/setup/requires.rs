//! `[project] requires`: the programs a project needs, checked before any setup step so
//! that a newcomer learns about every missing one at once, not one failed step at a time.
//!
//! A name without a slash is looked up on PATH, the PATH the steps will see (an `[env]`
//! PATH wins over proj's own). A name with a slash is a path, relative to the project
//! root. Either way it must be an executable file.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The programs of `requires` that cannot be found, in the order they are listed.
pub(crate) fn missing(requires: &[String], path: Option<&OsStr>, root: &Path) -> Vec<String> {
    requires
        .iter()
        .filter(|program| !found(program, path, root))
        .cloned()
        .collect()
}

fn found(program: &str, path: Option<&OsStr>, root: &Path) -> bool {
    if program.contains('/') {
        return is_executable(&root.join(program));
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| {
            // An empty PATH entry means the current directory, as in sh, and a relative
            // one (`.venv/bin`) is relative to it: the project root, where steps run.
            if dir.as_os_str().is_empty() {
                root.join(program)
            } else {
                root.join(dir).join(program)
            }
        })
        .any(|candidate| is_executable(&candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn every_missing_program_is_named_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let tool = bin.join("tool");
        fs::write(&tool, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
        let data = bin.join("data");
        fs::write(&data, "").unwrap();
        fs::write(dir.path().join("local.sh"), "").unwrap();
        fs::set_permissions(
            dir.path().join("local.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();

        let requires: Vec<String> = ["zzz-nope", "tool", "data", "./local.sh", "./gone.sh", "bin"]
            .map(String::from)
            .to_vec();
        let path = std::env::join_paths([bin.as_path(), Path::new("/nonexistent")]).unwrap();
        assert_eq!(
            missing(&requires, Some(&path), dir.path()),
            ["zzz-nope", "data", "./gone.sh", "bin"]
        );
        assert_eq!(missing(&requires[1..2], None, dir.path()), ["tool"]);
    }
}
