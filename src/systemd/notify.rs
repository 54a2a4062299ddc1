//! The `sd_notify(3)` protocol: `KEY=VALUE` lines in one datagram to `$NOTIFY_SOCKET`.
//!
//! `$NOTIFY_SOCKET` is either a filesystem path (`/run/systemd/notify`) or, starting
//! with `@`, a Linux abstract socket name (the `@` stands for the leading NUL byte, and
//! the address covers only the name: std's `from_abstract_name` builds exactly that).
//! Other forms (`vsock:`) are not supported and disable notifications with a debug note.
//!
//! The socket is unbound and blocking with a short send timeout: a datagram to a Unix
//! socket only blocks when the receiver's queue is full, and systemd drains it, so the
//! timeout only bounds how long a wedged receiver can hold the supervisor up. The kernel
//! attaches the sender's credentials itself (systemd sets `SO_PASSCRED`), which is how
//! systemd checks `NotifyAccess=main`.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// How long one send may wait for a full receive queue.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// proj's channel to systemd; `None` from [`Notifier::from_env`] when not under systemd.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
    /// Half of `WATCHDOG_USEC`, when the watchdog is on and meant for proj.
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The notifier that proj's own environment asks for.
    pub(crate) fn from_env() -> Option<Notifier> {
        let socket = std::env::var_os("NOTIFY_SOCKET")?;
        let watchdog = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        match Notifier::connect(&socket, watchdog) {
            Ok(notifier) => notifier,
            Err(error) => {
                tracing::warn!(socket = ?socket, %error, "NOTIFY_SOCKET is unusable: systemd will not hear from proj");
                None
            }
        }
    }

    /// A notifier for `socket` (a `$NOTIFY_SOCKET` value); `Ok(None)` when it is empty or
    /// of a kind proj does not speak.
    pub(crate) fn connect(
        socket: &OsStr,
        watchdog: Option<Duration>,
    ) -> io::Result<Option<Notifier>> {
        let Some(address) = parse_address(socket)? else {
            return Ok(None);
        };
        let socket = UnixDatagram::unbound()?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        Ok(Some(Notifier {
            socket,
            address,
            watchdog,
        }))
    }

    /// How often to send `WATCHDOG=1` (half of `WATCHDOG_USEC`), if at all.
    pub(crate) fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Send one message (`KEY=VALUE` lines). Failures are logged, never fatal: the
    /// protocol is advisory.
    pub(crate) fn send(&self, message: &str) {
        if let Err(error) = self.socket.send_to_addr(message.as_bytes(), &self.address) {
            tracing::debug!(%error, message, "cannot notify systemd");
        }
    }

    pub(crate) fn ready(&self) {
        self.send("READY=1");
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC=` that `Type=notify-reload` requires.
    pub(crate) fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub(crate) fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }
}

/// `STATUS=TEXT` on one line (systemd shows it in `systemctl status`): control
/// characters, newlines included, become spaces.
pub(crate) fn status_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("STATUS={line}")
}

/// `$NOTIFY_SOCKET` → an address: `/path`, or `@name` for an abstract socket.
fn parse_address(socket: &OsStr) -> io::Result<Option<SocketAddr>> {
    let bytes = socket.as_bytes();
    match bytes.first() {
        None => Ok(None),
        Some(b'/') => SocketAddr::from_pathname(socket).map(Some),
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..]).map(Some),
        Some(_) => {
            tracing::debug!(?socket, "NOTIFY_SOCKET of a kind proj does not speak");
            Ok(None)
        }
    }
}

/// Half of `WATCHDOG_USEC`, unless the watchdog is off, malformed, or (`WATCHDOG_PID`)
/// meant for another process.
pub(crate) fn watchdog_interval(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&usec| usec > 0)?;
    Some(Duration::from_micros(usec / 2))
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares reloads against.
pub(crate) fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |now| {
        let micros = now.tv_sec() * 1_000_000 + now.tv_nsec() / 1_000;
        u64::try_from(micros).unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_runs_at_half_the_interval_for_proj_only() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(watchdog_interval(Some("30000000"), None, 7), half);
        assert_eq!(watchdog_interval(Some("30000000"), Some("7"), 7), half);
        assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[test]
    fn addresses_are_paths_or_abstract_names() {
        let path = parse_address(OsStr::new("/run/systemd/notify"))
            .unwrap()
            .unwrap();
        assert_eq!(
            path.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        let abstract_name = parse_address(OsStr::new("@proj/notify")).unwrap().unwrap();
        assert_eq!(abstract_name.as_abstract_name(), Some(&b"proj/notify"[..]));
        assert!(parse_address(OsStr::new("")).unwrap().is_none());
        assert!(parse_address(OsStr::new("vsock:2:1")).unwrap().is_none());
    }

    #[test]
    fn messages_arrive_as_one_datagram() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::connect(path.as_os_str(), None).unwrap().unwrap();
        notifier.send(&status_line("2 running,\n1 failed"));
        notifier.reloading();
        let mut buffer = [0u8; 256];
        let size = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..size], b"STATUS=2 running, 1 failed");
        let size = receiver.recv(&mut buffer).unwrap();
        let text = std::str::from_utf8(&buffer[..size]).unwrap();
        assert!(text.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{text}");
    }
}
