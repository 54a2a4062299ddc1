//! An instance's log file, `.proj/logs/NAME.log`, rotated by size.
//!
//! The file is the source of truth: it receives every line, whatever the terminal, the
//! TUI or a `logs -f` client do. Writes are whole lines (the splitter hands over complete
//! lines only), so a rotation never cuts a line in two.
//!
//! Rotation (SPEC §2): before a write that would take the file past `max_size`, the
//! backups shift (`NAME.log.4` → `NAME.log.5`, …, `NAME.log` → `NAME.log.1`) and a new
//! file starts. With `backups = 0` the file is simply truncated.
//!
//! Failures (disk full, permission denied, the directory removed) must never stop
//! supervision: the first one is returned to the caller to report, later ones stay quiet
//! until a write succeeds again. Every write retries, reopening the file (and recreating
//! the directory) if needed, so logging resumes by itself once the problem is fixed.
//!
//! Someone else may move or remove the file while it is open: an external rotator
//! (`mv web.log web.log.1`), or `rm -rf .proj/logs`. Writing on into the old descriptor
//! would put every later line where no one looks, so at most once a second a write
//! checks that the path still names the open file (device and inode) and reopens it if
//! not. A second is what a rotator's lines may still land in the moved file, which is
//! what logrotate expects of a program without a reopen signal.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a write checks that the path still names the open file.
const MOVED_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a path named when the file was opened: a moved or removed file leaves the path
/// with another identity, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
}

impl Identity {
    fn of(metadata: &fs::Metadata) -> Identity {
        Identity {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    /// The open file's identity, and when the path was last seen to still name it.
    opened: Option<(Identity, Instant)>,
    moved_check_interval: Duration,
    size: u64,
    max_size: u64,
    backups: u32,
    /// A failure was reported and nothing has succeeded since.
    failing: bool,
}

impl LogFile {
    /// A log file at `path`; nothing is opened until the first write.
    pub fn new(path: PathBuf, max_size: u64, backups: u32) -> Self {
        LogFile {
            path,
            file: None,
            opened: None,
            moved_check_interval: MOVED_CHECK_INTERVAL,
            size: 0,
            max_size,
            backups,
            failing: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open the file now rather than at the first write, so that the descriptor is
    /// taken while proj still has one to give (see `process::descriptors`). Errors as
    /// for [`LogFile::write`].
    pub fn open_now(&mut self) -> Result<(), io::Error> {
        self.write(b"")
    }

    /// Append `lines` (complete lines). Returns an error only for the first failure in a
    /// row, for the caller to report once.
    pub fn write(&mut self, lines: &[u8]) -> Result<(), io::Error> {
        if self.moved_away() {
            self.file = None;
        }
        let result = if lines.is_empty() && self.file.is_none() {
            self.open().map(|file| self.file = Some(file))
        } else {
            self.try_write(lines)
        };
        match result {
            Ok(()) => {
                self.failing = false;
                Ok(())
            }
            Err(error) => {
                // Reopen on the next write: the file may have been removed or the disk
                // freed by then.
                self.file = None;
                if std::mem::replace(&mut self.failing, true) {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    fn try_write(&mut self, mut lines: &[u8]) -> io::Result<()> {
        while !lines.is_empty() {
            if self.file.is_none() {
                // Opening tells the size of what the file already holds.
                self.file = Some(self.open()?);
            }
            let room = self.max_size.saturating_sub(self.size);
            let piece = if lines.len() as u64 <= room {
                lines
            } else {
                // Whole lines up to the size limit; a single line longer than the limit
                // goes alone into a fresh file, uncut.
                let fit = &lines[..usize::try_from(room).unwrap_or(usize::MAX).min(lines.len())];
                match memchr::memrchr(b'\n', fit) {
                    Some(end) => &lines[..=end],
                    None if self.size > 0 => {
                        self.rotate()?;
                        continue;
                    }
                    None => {
                        &lines[..memchr::memchr(b'\n', lines).map_or(lines.len(), |end| end + 1)]
                    }
                }
            };
            self.append(piece)?;
            lines = &lines[piece.len()..];
        }
        Ok(())
    }

    /// Whether the path no longer names the open file (checked at most once per
    /// [`MOVED_CHECK_INTERVAL`]).
    fn moved_away(&mut self) -> bool {
        let Some((identity, checked_at)) = &mut self.opened else {
            return false;
        };
        if self.file.is_none() || checked_at.elapsed() < self.moved_check_interval {
            return false;
        }
        *checked_at = Instant::now();
        match fs::metadata(&self.path) {
            Ok(metadata) => Identity::of(&metadata) != *identity,
            Err(error) => error.kind() == io::ErrorKind::NotFound,
        }
    }

    fn append(&mut self, piece: &[u8]) -> io::Result<()> {
        let file = match self.file.take() {
            Some(file) => file,
            None => self.open()?,
        };
        self.file.insert(file).write_all(piece)?;
        self.size += piece.len() as u64;
        Ok(())
    }

    fn open(&mut self) -> io::Result<File> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let metadata = file.metadata()?;
        self.opened = Some((Identity::of(&metadata), Instant::now()));
        // Only a regular file has a size to rotate by (a log path may be a pipe).
        self.size = if metadata.is_file() {
            metadata.len()
        } else {
            0
        };
        Ok(file)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        self.size = 0;
        if !fs::metadata(&self.path).is_ok_and(|m| m.is_file()) {
            return Ok(());
        }
        if self.backups == 0 {
            return File::create(&self.path).map(drop);
        }
        for index in (1..self.backups).rev() {
            let from = self.backup(index);
            if from.exists() {
                fs::rename(&from, self.backup(index + 1))?;
            }
        }
        fs::rename(&self.path, self.backup(1))
    }

    fn backup(&self, index: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn lines_are_appended_and_the_directory_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/web.log");
        let mut log = LogFile::new(path.clone(), 1024, 5);
        log.write(b"one\n").unwrap();
        log.write(b"two\n").unwrap();
        assert_eq!(read(&path), "one\ntwo\n");
    }

    #[test]
    fn an_existing_file_is_appended_to_and_its_size_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        fs::write(&path, "0123456789\n").unwrap();
        let mut log = LogFile::new(path.clone(), 15, 1);
        log.write(b"abcdef\n").unwrap();
        assert_eq!(read(&path), "abcdef\n");
        assert_eq!(read(&dir.path().join("web.log.1")), "0123456789\n");
    }

    #[test]
    fn rotation_shifts_backups_and_drops_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut log = LogFile::new(path.clone(), 8, 2);
        for line in ["aaaaaa\n", "bbbbbb\n", "cccccc\n", "dddddd\n"] {
            log.write(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "dddddd\n");
        assert_eq!(read(&dir.path().join("web.log.1")), "cccccc\n");
        assert_eq!(read(&dir.path().join("web.log.2")), "bbbbbb\n");
        assert!(!dir.path().join("web.log.3").exists());
    }

    #[test]
    fn one_large_write_is_spread_over_files_at_line_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut log = LogFile::new(path.clone(), 10, 3);
        log.write(b"aaaa\nbbbb\ncccc\ndddd\n").unwrap();
        assert_eq!(read(&path), "cccc\ndddd\n");
        assert_eq!(read(&dir.path().join("web.log.1")), "aaaa\nbbbb\n");
        assert!(!dir.path().join("web.log.2").exists());
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut log = LogFile::new(path.clone(), 4, 3);
        log.write(b"ab\nlonger than four\ncd\n").unwrap();
        assert_eq!(read(&path), "cd\n");
        assert_eq!(read(&dir.path().join("web.log.1")), "longer than four\n");
        assert_eq!(read(&dir.path().join("web.log.2")), "ab\n");
    }

    #[test]
    fn no_backups_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut log = LogFile::new(path.clone(), 8, 0);
        log.write(b"aaaaaa\n").unwrap();
        log.write(b"bbbbbb\n").unwrap();
        assert_eq!(read(&path), "bbbbbb\n");
        assert!(!dir.path().join("web.log.1").exists());
    }

    #[test]
    fn a_failure_is_reported_once_and_writing_resumes_when_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("logs");
        // A file where the directory should be: every open fails.
        fs::write(&blocker, "").unwrap();
        let path = blocker.join("web.log");
        let mut log = LogFile::new(path.clone(), 1024, 1);
        assert!(log.write(b"lost 1\n").is_err());
        assert!(
            log.write(b"lost 2\n").is_ok(),
            "the second failure stays quiet"
        );
        fs::remove_file(&blocker).unwrap();
        log.write(b"back\n").unwrap();
        assert_eq!(read(&path), "back\n");
    }

    fn checking_every_write(mut log: LogFile) -> LogFile {
        log.moved_check_interval = Duration::ZERO;
        log
    }

    #[test]
    fn a_file_moved_away_by_a_rotator_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut log = checking_every_write(LogFile::new(path.clone(), 1024, 1));
        log.write(b"before\n").unwrap();
        fs::rename(&path, dir.path().join("web.log.1")).unwrap();
        log.write(b"after\n").unwrap();
        assert_eq!(read(&path), "after\n");
        assert_eq!(read(&dir.path().join("web.log.1")), "before\n");
    }

    #[test]
    fn a_removed_directory_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/web.log");
        let mut log = checking_every_write(LogFile::new(path.clone(), 1024, 1));
        log.write(b"before\n").unwrap();
        fs::remove_dir_all(dir.path().join("logs")).unwrap();
        log.write(b"after\n").unwrap();
        assert_eq!(read(&path), "after\n");
    }

    #[test]
    fn open_now_creates_the_file_before_any_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/web.log");
        let mut log = LogFile::new(path.clone(), 1024, 1);
        log.open_now().unwrap();
        assert!(path.is_file());
        log.write(b"line\n").unwrap();
        assert_eq!(read(&path), "line\n");
    }

    #[test]
    fn a_full_disk_is_reported_once() {
        // /dev/full answers every write with ENOSPC.
        let mut log = LogFile::new(PathBuf::from("/dev/full"), 1024, 1);
        let error = log.write(b"x\n").unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOSPC));
        assert!(log.write(b"y\n").is_ok());
        assert!(log.write(b"z\n").is_ok());
    }
}
