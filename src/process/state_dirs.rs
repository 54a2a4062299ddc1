//! `state` directories (SPEC §9.2): created before an instance starts, when missing,
//! and owned by the process's `user` when proj switches to one, so that a database
//! started as `postgres` can write to the `var/postgres` proj made as root.
//!
//! Only what proj creates is given away: an existing directory keeps its owner (it may
//! hold data another account owns on purpose).

use std::io;
use std::path::{Path, PathBuf};

use super::identity::Identity;

/// Creates each of `directories` (relative to `root`) that is missing, its missing
/// parents included, owned by `identity` when there is one.
pub(crate) fn prepare(
    root: &Path,
    directories: &[PathBuf],
    identity: Option<&Identity>,
) -> Result<(), String> {
    for directory in directories {
        create(root, directory, identity).map_err(|error| {
            format!(
                "cannot create the state directory {}: {error}",
                directory.display()
            )
        })?;
    }
    Ok(())
}

fn create(root: &Path, directory: &Path, identity: Option<&Identity>) -> io::Result<()> {
    let mut path = root.to_path_buf();
    for component in directory.components() {
        path.push(component);
        match std::fs::create_dir(&path) {
            Ok(()) => {
                if let Some(identity) = identity {
                    nix::unistd::chown(&path, Some(identity.uid), Some(identity.gid))
                        .map_err(io::Error::from)?;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_state_directories_are_created_and_existing_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("var")).unwrap();
        std::fs::write(root.path().join("var/keep"), "data").unwrap();
        let directories = [PathBuf::from("var/postgres/data"), PathBuf::from("var")];
        prepare(root.path(), &directories, None).unwrap();
        assert!(root.path().join("var/postgres/data").is_dir());
        assert!(root.path().join("var/keep").is_file());
        // Again: nothing to do, no error.
        prepare(root.path(), &directories, None).unwrap();
    }

    #[test]
    fn what_proj_creates_belongs_to_the_user_and_what_exists_keeps_its_owner() {
        use std::os::unix::fs::MetadataExt;
        if !nix::unistd::geteuid().is_root() {
            return; // Only root can give a directory away.
        }
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("var")).unwrap();
        let daemon = Identity {
            uid: nix::unistd::Uid::from_raw(1),
            gid: nix::unistd::Gid::from_raw(1),
            groups: vec![],
        };
        prepare(root.path(), &[PathBuf::from("var/pg/data")], Some(&daemon)).unwrap();
        let owner = |path: &str| std::fs::metadata(root.path().join(path)).unwrap().uid();
        assert_eq!(owner("var"), 0);
        assert_eq!(owner("var/pg"), 1);
        assert_eq!(owner("var/pg/data"), 1);
    }

    #[test]
    fn a_file_in_the_way_is_an_error_naming_the_directory() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("var"), "").unwrap();
        let error = prepare(root.path(), &[PathBuf::from("var/pg")], None).unwrap_err();
        assert!(error.contains("var/pg"), "{error}");
    }
}
