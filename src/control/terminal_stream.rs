//! A control connection after `connect` was answered: it carries a terminal.
//!
//! From the supervisor to the client flow the terminal's raw bytes, unframed: first
//! the recent output (so a prompt printed before the client came is on its screen), then
//! everything the process writes, as it writes it. From the client to the supervisor
//! flow frames, `[kind: u8][length: u16, big-endian][payload]`:
//!
//! | kind | payload |
//! | --- | --- |
//! | 0 (`keys`) | bytes to type into the process (Ctrl-C included: the terminal turns it into SIGINT) |
//! | 1 (`size`) | 4 bytes: rows and columns, each u16 big-endian (the process gets SIGWINCH) |
//!
//! The connection ends when the client hangs up; the process keeps running. A client
//! that reads too slowly loses output (it is told how much, in the stream); the process
//! and the log file are never held up by it.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::broadcast::error::RecvError;

use crate::process::pty::WindowSize;
use crate::supervisor::terminal::{Subscription, Terminal};

const KEYS: u8 = 0;
const SIZE: u8 = 1;

/// The most a frame carries.
const MAX_PAYLOAD: usize = u16::MAX as usize;

/// Frames typing `bytes`.
pub fn keys(bytes: &[u8]) -> Vec<u8> {
    let mut frames = Vec::with_capacity(bytes.len() + 3);
    for chunk in bytes.chunks(MAX_PAYLOAD) {
        frames.push(KEYS);
        frames.extend_from_slice(&u16::try_from(chunk.len()).unwrap_or(u16::MAX).to_be_bytes());
        frames.extend_from_slice(chunk);
    }
    frames
}

/// The frame that sets the window size.
pub fn size(size: WindowSize) -> Vec<u8> {
    let mut frame = vec![SIZE, 0, 4];
    frame.extend_from_slice(&size.rows.to_be_bytes());
    frame.extend_from_slice(&size.cols.to_be_bytes());
    frame
}

/// What a frame asks for.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Keys(Vec<u8>),
    Size(WindowSize),
}

/// The next frame; `None` at end-of-stream (the client hung up).
async fn read_frame(input: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Frame>> {
    let mut header = [0u8; 3];
    match input.read_exact(&mut header).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes([header[1], header[2]]))];
    input.read_exact(&mut payload).await?;
    match header[0] {
        KEYS => Ok(Some(Frame::Keys(payload))),
        SIZE if payload.len() == 4 => Ok(Some(Frame::Size(WindowSize {
            rows: u16::from_be_bytes([payload[0], payload[1]]),
            cols: u16::from_be_bytes([payload[2], payload[3]]),
        }))),
        kind => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown terminal frame {kind} of {} bytes", payload.len()),
        )),
    }
}

/// Serve a connected client until it hangs up: output to it, its keys and window size
/// to the terminal.
pub(super) async fn serve(
    mut input: impl AsyncRead + Unpin,
    mut output: OwnedWriteHalf,
    terminal: Arc<Terminal>,
) {
    let Subscription { recent, mut chunks } = terminal.subscribe();
    let to_client = async {
        output.write_all(&recent).await?;
        loop {
            match chunks.recv().await {
                Ok(chunk) => output.write_all(&chunk).await?,
                Err(RecvError::Lagged(missed)) => {
                    let notice = format!(
                        "\r\n[proj: {missed} chunks of output skipped: this connection reads too slowly]\r\n"
                    );
                    output.write_all(notice.as_bytes()).await?;
                }
                Err(RecvError::Closed) => return io::Result::Ok(()),
            }
        }
    };
    let from_client = async {
        while let Some(frame) = read_frame(&mut input).await? {
            match frame {
                Frame::Keys(bytes) => {
                    // A process that just ended takes no more keys; the connection
                    // stays for the next run.
                    if let Err(error) = terminal.write(&bytes).await {
                        tracing::debug!(%error, "keys not delivered");
                    }
                }
                Frame::Size(size) => terminal.resize(size),
            }
        }
        io::Result::Ok(())
    };
    let ended = tokio::select! {
        ended = to_client => ended,
        ended = from_client => ended,
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "a terminal connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_read_back_as_written() {
        let mut wire = keys(b"p 6*7\r");
        wire.extend(size(WindowSize {
            rows: 30,
            cols: 100,
        }));
        wire.extend(keys(&[]));
        let mut input = wire.as_slice();
        assert_eq!(
            read_frame(&mut input).await.unwrap(),
            Some(Frame::Keys(b"p 6*7\r".to_vec()))
        );
        assert_eq!(
            read_frame(&mut input).await.unwrap(),
            Some(Frame::Size(WindowSize {
                rows: 30,
                cols: 100
            }))
        );
        assert_eq!(read_frame(&mut input).await.unwrap(), None);
    }

    #[test]
    fn long_input_is_cut_into_frames() {
        let bytes = vec![b'x'; MAX_PAYLOAD + 10];
        let frames = keys(&bytes);
        assert_eq!(frames.len(), bytes.len() + 6);
        assert_eq!(&frames[..3], &[KEYS, 0xff, 0xff]);
    }
}
