//! The commands' end of the control socket: a plain blocking connection (a command makes
//! one or two calls and exits; it needs no runtime).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::endpoint;
use super::protocol::{Envelope, Request, Response, VERSION};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no proj running for {}", .root.display())]
    NotRunning { root: PathBuf },
    #[error("lost the connection to proj: {0}")]
    Io(#[from] io::Error),
    #[error("proj answered something this client does not understand: {0}")]
    Protocol(String),
}

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connect to the supervisor of the project at `root`.
    pub fn connect(root: &Path) -> Result<Client, ClientError> {
        let path = endpoint::socket_path(root);
        let stream = UnixStream::connect(&path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
                root: root.to_path_buf(),
            },
            _ => ClientError::Io(error),
        })?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Send a request and read its one answer.
    pub fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        self.send(request)?;
        self.receive()?
            .ok_or_else(|| ClientError::Protocol("the connection closed before an answer".into()))
    }

    pub fn send(&mut self, request: Request) -> Result<(), ClientError> {
        let envelope = Envelope {
            v: VERSION,
            request,
        };
        let mut line = serde_json::to_vec(&envelope)
            .map_err(|error| ClientError::Protocol(error.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        Ok(())
    }

    /// The connection itself, once it carries something other than answer lines (a
    /// terminal, after `connect`): the bytes already read past the last answer, and
    /// the socket.
    pub fn into_stream(self) -> (Vec<u8>, UnixStream) {
        (self.reader.buffer().to_vec(), self.writer)
    }

    /// The next answer line; `None` once the supervisor closed the connection.
    pub fn receive(&mut self) -> Result<Option<Response>, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|error| ClientError::Protocol(format!("{error}: {}", line.trim())))
    }
}
