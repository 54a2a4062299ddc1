//! Pseudo-terminals for `tty = true` instances.
//!
//! proj keeps the master side; the child gets the slave side as stdin, stdout and
//! stderr, and in the child (before exec, see `spawn`) becomes the leader of a new
//! session whose controlling terminal is that slave. So the line discipline
//! turns a typed Ctrl-C into SIGINT for the instance's foreground process group, the
//! process sees `isatty` true, and a window size change reaches it as SIGWINCH.
//!
//! The master is nonblocking and read through tokio ([`Master`]): the output reader
//! drains it whether or not anyone is connected, and writes (keys typed through
//! `proj connect`) wait for room without blocking a thread.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::task::{Context, Poll};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, ReadBuf};

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

impl WindowSize {
    /// What an instance's terminal is until someone connects (a VT100's).
    pub const DEFAULT: WindowSize = WindowSize { rows: 24, cols: 80 };

    fn to_libc(self) -> libc::winsize {
        libc::winsize {
            ws_row: self.rows,
            ws_col: self.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

/// A freshly opened pseudo-terminal: the master for proj, the slave for the child.
#[derive(Debug)]
pub(crate) struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a pseudo-terminal of `size`. Both ends are close-on-exec (the child gets the
/// slave through dup2 onto 0, 1 and 2, which clears the flag on the copies).
pub(crate) fn open(size: WindowSize) -> io::Result<Pty> {
    let opened = nix::pty::openpty(&size.to_libc(), None)?;
    for fd in [&opened.master, &opened.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok(Pty {
        master: opened.master,
        slave: opened.slave,
    })
}

/// Set the window size of the terminal whose master (or slave) is `fd`; the kernel sends
/// SIGWINCH to its foreground process group when the size changed.
pub(crate) fn set_size(fd: &impl AsFd, size: WindowSize) -> io::Result<()> {
    let winsize = size.to_libc();
    // SAFETY: TIOCSWINSZ reads one `struct winsize` from the pointer, which points at a
    // live, initialised local for the duration of the call; the kernel keeps no reference.
    #[allow(unsafe_code)]
    let result =
        unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCSWINSZ, &raw const winsize) };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The master side of an instance's pty, registered with tokio.
#[derive(Debug)]
pub struct Master {
    fd: AsyncFd<OwnedFd>,
}

impl Master {
    /// Make `master` nonblocking and register it with the current runtime.
    pub fn new(master: OwnedFd) -> io::Result<Master> {
        let flags = OFlag::from_bits_truncate(fcntl(&master, FcntlArg::F_GETFL)?);
        fcntl(&master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        // SAFETY: `master` is an open descriptor that the `AsyncFd` owns from here on:
        // nothing else can close or replace it while it is registered.
        #[allow(unsafe_code)]
        let fd = unsafe { AsyncFd::register(master) }.map_err(io::Error::from)?;
        Ok(Master { fd })
    }

    /// Write all of `bytes` (keys for the process), waiting for room when the terminal's
    /// input queue is full (a process that does not read its stdin): only the caller
    /// waits.
    pub async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let mut ready = self.fd.writable().await?;
            match ready.try_io(|fd| Ok(nix::unistd::write(fd.get_ref(), bytes)?)) {
                Ok(Ok(written)) => bytes = &bytes[written..],
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    pub fn set_size(&self, size: WindowSize) -> io::Result<()> {
        set_size(self.fd.get_ref(), size)
    }

    /// A reader of the output; end-of-file once no process holds the slave any more
    /// (Linux reports that as EIO on the master).
    pub fn reader(&self) -> MasterReader<'_> {
        MasterReader { master: self }
    }
}

/// [`AsyncRead`] over a [`Master`] (see [`Master::reader`]).
pub struct MasterReader<'a> {
    master: &'a Master,
}

impl AsyncRead for MasterReader<'_> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut ready = match self.master.fd.poll_read_ready(context) {
                Poll::Ready(ready) => ready?,
                Poll::Pending => return Poll::Pending,
            };
            let unfilled = buffer.initialize_unfilled();
            match ready.try_io(|fd| Ok(nix::unistd::read(fd.get_ref(), unfilled)?)) {
                Ok(Ok(read)) => {
                    buffer.advance(read);
                    return Poll::Ready(Ok(()));
                }
                // Every slave descriptor is closed: the terminal's end-of-file.
                Ok(Err(error)) if error.raw_os_error() == Some(libc::EIO) => {
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(_would_block) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pty_has_the_size_it_was_opened_with_and_can_be_resized() {
        let pty = open(WindowSize::DEFAULT).unwrap();
        assert_eq!(nix::unistd::isatty(&pty.slave), Ok(true));
        let size = |fd: &OwnedFd| {
            let mut winsize = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which
            // points at a live local.
            #[allow(unsafe_code)]
            unsafe {
                libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &raw mut winsize)
            };
            (winsize.ws_row, winsize.ws_col)
        };
        assert_eq!(size(&pty.slave), (24, 80));
        set_size(
            &pty.master,
            WindowSize {
                rows: 40,
                cols: 132,
            },
        )
        .unwrap();
        assert_eq!(size(&pty.slave), (40, 132));
    }
}
