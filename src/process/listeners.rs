//! The listening sockets proj holds for processes with `socket` (SPEC §9.3): systemd's
//! socket activation, for every language.
//!
//! proj binds the socket before the process's first instance starts and keeps it for as
//! long as the process is in the plan with the same address: across restarts, crashes,
//! scale changes and reloads. Each instance gets it as file descriptor 3 (see
//! [`super::spawn`]), with `LISTEN_FDS=1`, `LISTEN_FDNAMES=NAME` and `LISTEN_PID`, and
//! accepts from it; while no instance accepts, a client that connects waits in the
//! kernel's backlog instead of being refused.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, PoisonError};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6, bind, listen, setsockopt,
    socket, sockopt,
};

/// The file descriptor an instance receives its socket as (`SD_LISTEN_FDS_START`).
pub(crate) const FIRST_PASSED_FD: RawFd = 3;

/// One held socket.
#[derive(Debug)]
struct Listener {
    address: SocketAddr,
    socket: OwnedFd,
}

/// The sockets held, by process name.
#[derive(Debug)]
pub(crate) struct Listeners {
    held: Mutex<HashMap<String, Listener>>,
    /// Descriptor 3, kept open in proj so that nothing proj opens (std's exec-error pipe
    /// in particular) is ever there when a socket is moved there in a child.
    _reserved: Option<OwnedFd>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners::new()
    }
}

impl Listeners {
    pub(crate) fn new() -> Listeners {
        Listeners {
            held: Mutex::new(HashMap::new()),
            _reserved: reserve_passed_fd(),
        }
    }

    /// The socket of `process` on `address` (bound now unless already held there; one
    /// held on another address is closed first). Returns its descriptor.
    pub(crate) fn listen(&self, process: &str, address: SocketAddr) -> io::Result<RawFd> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(listener) = held.get(process) {
            if listener.address == address {
                return Ok(listener.socket.as_raw_fd());
            }
            held.remove(process);
        }
        let socket = bind_listener(address)?;
        let fd = socket.as_raw_fd();
        held.insert(process.to_string(), Listener { address, socket });
        Ok(fd)
    }

    /// Close the socket of `process` (it left the plan, or its address changed).
    pub(crate) fn close(&self, process: &str) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(process);
    }

    /// The descriptor of `process`'s socket, if one is held.
    pub(crate) fn get(&self, process: &str) -> Option<RawFd> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(process)
            .map(|listener| listener.socket.as_raw_fd())
    }
}

/// A TCP socket listening on `address`, close-on-exec (only the copy made at fd 3 in a
/// child survives its exec), with `SO_REUSEADDR` so that a restart of proj finds the
/// port free while old connections linger in TIME_WAIT.
fn bind_listener(address: SocketAddr) -> io::Result<OwnedFd> {
    let family = match address.ip() {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    let socket = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&socket, sockopt::ReuseAddr, &true)?;
    match address {
        SocketAddr::V4(v4) => bind(socket.as_raw_fd(), &SockaddrIn::from(v4))?,
        SocketAddr::V6(v6) => bind(socket.as_raw_fd(), &SockaddrIn6::from(v6))?,
    }
    listen(&socket, Backlog::MAXCONN)?;
    Ok(socket)
}

/// Hold descriptor 3 when nothing does yet (a proj started with only 0, 1 and 2 open).
fn reserve_passed_fd() -> Option<OwnedFd> {
    if std::path::Path::new(&format!("/proc/self/fd/{FIRST_PASSED_FD}")).exists() {
        return None;
    }
    let null = std::fs::File::open("/dev/null").ok()?;
    let fd = OwnedFd::from(null);
    (fd.as_raw_fd() == FIRST_PASSED_FD).then_some(fd)
}
