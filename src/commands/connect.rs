//! `proj connect NAME`: your terminal becomes a `tty = true` instance's terminal.
//!
//! The terminal goes raw (restored by a guard, whatever happens), so every key,
//! Ctrl-C included, goes to the process; its output comes back as it writes it; the
//! window size follows yours (SIGWINCH); `Ctrl-]` (telnet's and overmind's escape)
//! detaches and leaves the process running. The wire is [`terminal_stream`]'s.
//!
//! Keys are read by a thread of their own (a blocking read of stdin, which leaves the
//! terminal's file flags alone) and sent as they come, one frame per read, so a key's
//! round trip is a socket hop each way plus the pty.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::Context;
use super::control::{check, client_error};
use crate::Error;
use crate::control::client::Client;
use crate::control::protocol::{Connected, Request};
use crate::control::terminal_stream;
use crate::process::pty::WindowSize;

/// Ctrl-]: detach.
const DETACH: u8 = 0x1d;

/// Ask the supervisor for the terminal of `name`: the connection, which carries the
/// terminal from now on, and whose terminal it is.
pub(super) fn open(context: &Context, name: String) -> Result<(Client, Connected), Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    let response = check(
        client
            .call(Request::Connect { name })
            .map_err(client_error)?,
    )?;
    let connected = response
        .connect
        .ok_or(Error::UnexpectedAnswer("`connect` without a terminal"))?;
    Ok((client, connected))
}

pub(super) fn run(context: &Context, name: String) -> Result<(), Error> {
    let (client, connected) = open(context, name)?;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "proj connect needs a terminal, and stdin is not one (to read {}'s output, use `proj logs -f {}`)",
            connected.instance, connected.instance
        )));
    }
    let instance = connected.instance;
    let also = if connected.of > 1 {
        format!(" (the first of {} instances)", connected.of)
    } else {
        String::new()
    };
    eprintln!("proj: connected to {instance}{also}; Ctrl-] detaches");
    let (already_read, stream) = client.into_stream();
    let ended = {
        let _raw = RawMode::enable()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Error::io("cannot start", error))?;
        runtime.block_on(session(&already_read, stream))
    };
    match ended? {
        Ended::Detached => {
            eprintln!("\r\nproj: detached from {instance}; it keeps running");
            Ok(())
        }
        Ended::SupervisorGone => Err(Error::SupervisorGone),
    }
}

enum Ended {
    Detached,
    SupervisorGone,
}

/// Copy the terminal both ways until Ctrl-] or the supervisor hangs up.
async fn session(already_read: &[u8], stream: StdUnixStream) -> Result<Ended, Error> {
    let failed = |error| Error::io("proj connect", error);
    stream.set_nonblocking(true).map_err(failed)?;
    let (mut from_proj, mut to_proj) = UnixStream::from_std(stream).map_err(failed)?.into_split();
    let mut screen = std::io::stdout().lock();
    screen.write_all(already_read).map_err(failed)?;
    screen.flush().map_err(failed)?;
    let mut keys = read_keys();
    let mut resized = signal(SignalKind::window_change()).map_err(failed)?;
    if let Some(size) = window_size() {
        to_proj
            .write_all(&terminal_stream::size(size))
            .await
            .map_err(failed)?;
    }
    let mut output = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            read = from_proj.read(&mut output) => match read {
                Ok(0) | Err(_) => return Ok(Ended::SupervisorGone),
                Ok(read) => {
                    screen.write_all(&output[..read]).map_err(failed)?;
                    screen.flush().map_err(failed)?;
                }
            },
            typed = keys.recv() => {
                let Some(typed) = typed else {
                    // stdin ended: nothing more can be typed.
                    return Ok(Ended::Detached);
                };
                let (before, detach) = match memchr::memchr(DETACH, &typed) {
                    Some(at) => (&typed[..at], true),
                    None => (&typed[..], false),
                };
                if !before.is_empty() {
                    to_proj.write_all(&terminal_stream::keys(before)).await.map_err(failed)?;
                }
                if detach {
                    return Ok(Ended::Detached);
                }
            }
            Some(()) = resized.recv() => {
                if let Some(size) = window_size() {
                    to_proj.write_all(&terminal_stream::size(size)).await.map_err(failed)?;
                }
            }
        }
    }
}

/// Keys as they are typed, read by a thread that lives until stdin ends (or proj
/// connect exits).
fn read_keys() -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 4096];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) => return,
                Ok(read) => {
                    if sender.send(buffer[..read].to_vec()).is_err() {
                        return;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    receiver
}

fn window_size() -> Option<WindowSize> {
    let (cols, rows) = crossterm::terminal::size().ok()?;
    Some(WindowSize { rows, cols })
}

/// The terminal in raw mode while this lives (keys unprocessed, no echo, no signals from
/// Ctrl-C: they belong to the process on the other end).
struct RawMode;

impl RawMode {
    fn enable() -> Result<RawMode, Error> {
        crossterm::terminal::enable_raw_mode()
            .map_err(|error| Error::io("cannot put the terminal in raw mode", error))?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
