//! Finding the config file, as cargo finds Cargo.toml (SPEC §1).

use std::io;
use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The names looked for in each directory, best first: proj.toml wins over a Procfile,
/// and `Procfile.dev` (the development processes, as Rails' `bin/dev` runs them) over
/// `Procfile` (SPEC §9.4).
const NAMES: [&str; 3] = ["proj.toml", "Procfile.dev", "Procfile"];

/// The config file to load.
///
/// With `explicit` (the global `-f PATH`) that file, as given; a directory stands for
/// the proj.toml or Procfile in it. Otherwise the first directory from `start` upwards
/// holding a proj.toml or a Procfile (an absolute path).
pub fn discover(start: &Path, explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return explicit_file(path);
    }
    // Walking up needs real parents: `.` has none of its own.
    let start = absolute(start)?;
    start
        .ancestors()
        .find_map(config_in)
        .ok_or(ConfigError::NotFound { dir: start })
}

/// `start` made absolute: walking up needs real parents.
fn absolute(start: &Path) -> Result<PathBuf, ConfigError> {
    std::path::absolute(start).map_err(|source| ConfigError::Read {
        path: start.to_path_buf(),
        source,
    })
}

/// The root of the project a command about a running supervisor means: the nearest
/// directory from `start` upwards that holds proj's `.proj/` (a supervisor ran there,
/// whatever file it was started from: `proj up -f Procfile.dev`) or a config file.
pub fn project_root(start: &Path) -> Result<PathBuf, ConfigError> {
    let start = absolute(start)?;
    start
        .ancestors()
        .find(|dir| dir.join(".proj").is_dir() || config_in(dir).is_some())
        .map(Path::to_path_buf)
        .ok_or(ConfigError::NotFound { dir: start })
}

fn explicit_file(path: &Path) -> Result<PathBuf, ConfigError> {
    let read_error = |path: &Path, source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
    if !metadata.is_dir() {
        return Ok(path.to_path_buf());
    }
    config_in(path).ok_or_else(|| {
        let missing = path.join(NAMES[0]);
        read_error(&missing, io::Error::from(io::ErrorKind::NotFound))
    })
}

fn config_in(dir: &Path) -> Option<PathBuf> {
    NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn walks_up_from_a_nested_directory() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        fs::create_dir_all(&nested).unwrap();
        fs::write(dir.path().join("proj.toml"), "").unwrap();
        assert_eq!(
            discover(&nested, None).unwrap(),
            dir.path().join("proj.toml")
        );
    }

    #[test]
    fn the_nearest_directory_wins() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("sub");
        fs::create_dir_all(&nested).unwrap();
        fs::write(dir.path().join("proj.toml"), "").unwrap();
        fs::write(nested.join("Procfile"), "").unwrap();
        assert_eq!(discover(&nested, None).unwrap(), nested.join("Procfile"));
    }

    #[test]
    fn proj_toml_wins_over_a_procfile_in_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Procfile"), "").unwrap();
        fs::write(dir.path().join("proj.toml"), "").unwrap();
        assert_eq!(
            discover(dir.path(), None).unwrap(),
            dir.path().join("proj.toml")
        );
    }

    #[test]
    fn a_directory_named_proj_toml_is_not_a_config() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("proj.toml")).unwrap();
        fs::write(dir.path().join("Procfile"), "").unwrap();
        assert_eq!(
            discover(dir.path(), None).unwrap(),
            dir.path().join("Procfile")
        );
    }

    #[test]
    fn explicit_path_is_returned_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("other.toml");
        fs::write(&file, "").unwrap();
        assert_eq!(discover(Path::new("/"), Some(&file)).unwrap(), file);
        assert_eq!(
            discover(Path::new("/"), Some(dir.path()))
                .unwrap_err()
                .to_string(),
            format!(
                "cannot read `{}`: entity not found",
                dir.path().join("proj.toml").display()
            )
        );
        let missing = dir.path().join("missing.toml");
        assert!(matches!(
            discover(Path::new("/"), Some(&missing)),
            Err(ConfigError::Read { path, .. }) if path == missing
        ));
    }

    #[test]
    fn nothing_found() {
        let dir = tempfile::tempdir().unwrap();
        // The temporary directory's parents (/tmp, /) hold no proj.toml in a sane setup.
        match discover(dir.path(), None) {
            Err(ConfigError::NotFound { dir: searched }) => assert_eq!(searched, dir.path()),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
}
