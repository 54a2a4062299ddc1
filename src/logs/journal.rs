//! Is stdout the journal? systemd sets `$JOURNAL_STREAM=DEV:INODE` (decimal) when it
//! connects stdout or stderr to journald. The variable is inherited, so its presence
//! alone says nothing about proj's own stdout (a parent under systemd may have run
//! `proj up > file`): only a match with `fstat(1)` does.
//!
//! When it matches, journald timestamps every line itself and reads a leading `<N>` as
//! the line's priority (`SyslogLevelPrefix=`, on by default), stripping it.

use std::os::fd::{AsFd, BorrowedFd};

/// The priority prefixes proj uses (sd-daemon.h's `SD_ERR`, `SD_WARNING`, `SD_INFO`).
pub const ERROR: &str = "<3>";
pub const WARNING: &str = "<4>";
pub const INFO: &str = "<6>";

/// Whether proj's stdout is the stream `$JOURNAL_STREAM` names.
pub fn stdout_is_journal() -> bool {
    is_journal(std::io::stdout().as_fd())
}

/// Whether proj's stderr is the stream `$JOURNAL_STREAM` names (where a fatal error goes).
pub fn stderr_is_journal() -> bool {
    is_journal(std::io::stderr().as_fd())
}

fn is_journal(fd: BorrowedFd<'_>) -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stat) = nix::sys::stat::fstat(fd) else {
        return false;
    };
    matches(&stream.to_string_lossy(), stat.st_dev, stat.st_ino)
}

/// `text` with `priority` at the start of every line.
pub fn with_priority(priority: &str, text: &str) -> String {
    text.lines()
        .map(|line| format!("{priority}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `JOURNAL_STREAM`'s `DEV:INODE` is `device` and `inode`.
pub fn matches(stream: &str, device: u64, inode: u64) -> bool {
    let Some((dev, ino)) = stream.trim().split_once(':') else {
        return false;
    };
    dev.parse() == Ok(device) && ino.parse() == Ok(inode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_and_inode_must_both_match() {
        assert!(matches("64769:1234", 64769, 1234));
        assert!(!matches("64769:1235", 64769, 1234));
        assert!(!matches("1:1234", 64769, 1234));
        assert!(!matches("64769", 64769, 1234));
        assert!(!matches("", 0, 0));
    }

    #[test]
    fn every_line_gets_the_priority() {
        assert_eq!(
            with_priority(ERROR, "error: bad\n  = help: fix"),
            "<3>error: bad\n<3>  = help: fix"
        );
    }
}
