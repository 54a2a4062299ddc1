//! Who listens on a TCP port: the check before an instance with a port starts.
//!
//! A server whose port is taken fails to bind and exits, is restarted, fails again: a
//! crash loop whose cause is only in the server's own output, and a readiness probe
//! that may even pass, answered by whoever holds the port. proj looks first, in
//! `/proc/net/tcp` and `/proc/net/tcp6` (sockets in state LISTEN, any address), and
//! names the holder from the socket's inode in `/proc/PID/fd` when it may read them.

use std::fmt;
use std::fs;

/// TCP state LISTEN in `/proc/net/tcp`.
const LISTEN: &str = "0A";

/// Who holds a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A process proj may look at: its pid and command name.
    Process { pid: i32, command: String },
    /// A process proj may not look at (another user's, as proj is not root).
    Unknown,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Process { pid, command } => write!(f, "pid {pid} ({command})"),
            Holder::Unknown => f.write_str("another user's process"),
        }
    }
}

/// Who listens on TCP `port` in proj's network namespace, if anyone.
pub(crate) fn listener(port: u16) -> Option<Holder> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    Some(owner_of(&inodes).unwrap_or(Holder::Unknown))
}

/// The inodes of the sockets in state LISTEN on `port` in one `/proc/net/tcp*` table:
/// `sl local_address rem_address st … uid timeout inode …`, addresses as `HEX:PORT`.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit_once(':')?.1;
            let listening = *fields.get(3)? == LISTEN;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| fields.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// The process holding one of these socket inodes, from `/proc/*/fd`.
fn owner_of(inodes: &[u64]) -> Option<Holder> {
    let wanted: Vec<String> = inodes
        .iter()
        .map(|inode| format!("socket:[{inode}]"))
        .collect();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let command = fs::read_to_string(entry.path().join("comm"))
                .map(|comm| comm.trim().to_string())
                .unwrap_or_else(|_| "?".into());
            return Some(Holder::Process { pid, command });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn finds_listening_sockets_by_port_only() {
        assert_eq!(listening_inodes(TABLE, 8080), vec![4242]);
        // 8081 is an established connection, not a listener.
        assert!(listening_inodes(TABLE, 8081).is_empty());
        assert!(listening_inodes(TABLE, 9999).is_empty());
    }

    #[test]
    fn names_the_process_that_listens() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let own = i32::try_from(std::process::id()).unwrap();
        match listener(port) {
            Some(Holder::Process { pid, .. }) => assert_eq!(pid, own),
            other => panic!("{other:?}"),
        }
        drop(socket);
        assert_eq!(listener(port), None);
    }
}
