//! Where a project's supervisor listens, and making sure there is only one.
//!
//! # Theory of operation
//!
//! The socket is `.proj/proj.sock` at the project root. Unix socket paths are limited to
//! 107 bytes; a deeper project gets a short path instead, named by a hash of its root:
//! `$XDG_RUNTIME_DIR/proj/HASH.sock`, else `/tmp/proj-UID/HASH.sock`. Every client
//! computes the same path from the same root.
//!
//! One supervisor per project: the supervisor holds an exclusive `flock` on
//! `.proj/proj.lock` for its whole life and writes its pid there. The kernel drops the
//! lock however the supervisor ends, SIGKILL included, so a lock that can be taken means
//! any socket file left behind is stale: after a connect probe that finds nobody
//! listening, it is removed and bound anew. A lock that cannot be taken means a live
//! supervisor, whose pid the error names.
//!
//! Privacy: the socket is created inside a directory only its owner can enter (`.proj`
//! or the fallback directory, mode 0700), then set to 0600; and the server refuses
//! connections whose peer credentials (`SO_PEERCRED`) name another user.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The longest socket path the kernel takes (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The runtime directory of a project: `.proj` at its root.
pub fn runtime_dir(root: &Path) -> PathBuf {
    crate::layout::dir(root)
}

/// The control socket's path for the project at `root` (absolute, canonical).
pub fn socket_path(root: &Path) -> PathBuf {
    let natural = crate::layout::socket(root);
    if natural.as_os_str().len() <= MAX_SOCKET_PATH {
        return natural;
    }
    let name = format!("{:016x}.sock", fnv1a(root.as_os_str().as_encoded_bytes()));
    fallback_dir().join(name)
}

fn fallback_dir() -> PathBuf {
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        let dir = PathBuf::from(runtime).join("proj");
        if dir.as_os_str().len() + 22 <= MAX_SOCKET_PATH {
            return dir;
        }
    }
    PathBuf::from(format!("/tmp/proj-{}", nix::unistd::geteuid()))
}

/// FNV-1a, 64 bits: a stable hash (std's may change between releases, and an upgraded
/// client must still find a running supervisor).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Create `dir` (and parents) with the last component private to its owner, and check
/// that nobody else owns or can enter it.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let metadata = fs::metadata(dir)?;
    if metadata.uid() != nix::unistd::geteuid().as_raw() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} belongs to another user", dir.display()),
        ));
    }
    if metadata.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Why the supervisor could not take the project.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("already running (pid {pid}): use proj attach / proj ps")]
    AlreadyRunning { pid: String },
    #[error("cannot claim {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The supervisor's hold on its project: the lock, and the socket path it may bind.
#[derive(Debug)]
pub struct Claim {
    _lock: Flock<File>,
    pub socket: PathBuf,
}

/// Take the project at `root` for this process: lock, write our pid, remove a stale
/// socket. Fails with [`ClaimError::AlreadyRunning`] while another supervisor lives.
pub fn claim(root: &Path) -> Result<Claim, ClaimError> {
    let dir = runtime_dir(root);
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ClaimError::Io { path, source }
    };
    private_dir(&dir).map_err(io_error(&dir))?;
    crate::layout::ensure_gitignore(&dir).map_err(io_error(&dir))?;
    let lock_path = crate::layout::supervisor_lock(root);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim().to_string();
            return Err(ClaimError::AlreadyRunning {
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid
                },
            });
        }
        Err((_, errno)) => return Err(io_error(&lock_path)(io::Error::from(errno))),
    };
    let write_pid = |file: &mut File| -> io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())
    };
    write_pid(&mut lock).map_err(io_error(&lock_path))?;

    let socket = socket_path(root);
    if let Some(parent) = socket.parent() {
        private_dir(parent).map_err(io_error(parent))?;
    }
    // Nobody holds the lock, so nobody should serve this socket. Probe it anyway: a
    // supervisor that does not take the lock (an older proj) would still answer.
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(ClaimError::AlreadyRunning {
            pid: "unknown".into(),
        });
    }
    // Whatever is there is stale: remove it.
    if let Err(error) = fs::remove_file(&socket)
        && error.kind() != io::ErrorKind::NotFound
    {
        return Err(io_error(&socket)(error));
    }
    Ok(Claim {
        _lock: lock,
        socket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_root_keeps_its_socket_inside_the_project() {
        assert_eq!(
            socket_path(Path::new("/home/me/shop")),
            PathBuf::from("/home/me/shop/.proj/proj.sock")
        );
    }

    #[test]
    fn a_deep_root_gets_a_short_stable_path() {
        let deep = PathBuf::from(format!("/tmp/{}", "very-long-directory-name/".repeat(6)));
        let path = socket_path(&deep);
        assert!(
            path.as_os_str().len() <= MAX_SOCKET_PATH,
            "{}",
            path.display()
        );
        assert_eq!(path, socket_path(&deep));
        assert_ne!(path, socket_path(&deep.join("other")));
    }

    #[test]
    fn a_second_claim_fails_while_the_first_is_held_and_names_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = claim(dir.path()).unwrap();
        match claim(dir.path()) {
            Err(ClaimError::AlreadyRunning { pid }) => {
                assert_eq!(pid, std::process::id().to_string());
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        drop(first);
        claim(dir.path()).unwrap();
    }

    #[test]
    fn a_socket_someone_listens_on_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime_dir(dir.path());
        fs::create_dir_all(&runtime).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(runtime.join("proj.sock")).unwrap();
        assert!(matches!(
            claim(dir.path()),
            Err(ClaimError::AlreadyRunning { .. })
        ));
    }

    #[test]
    fn a_stale_socket_file_is_removed_and_the_directory_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime_dir(dir.path());
        fs::create_dir_all(&runtime).unwrap();
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(runtime.join("proj.sock"), "stale").unwrap();
        let claim = claim(dir.path()).unwrap();
        assert!(!claim.socket.exists());
        let mode = fs::metadata(&runtime).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
