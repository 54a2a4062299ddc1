//! `send`: type text into a `tty = true` instance, through the same connection `proj
//! connect` uses ([`crate::control::terminal_stream`]): connect, one `keys` frame, hang
//! up the sending half, and read until the supervisor closes the connection. It closes
//! only after it has read every frame before the hang-up and written their keys to the
//! terminal, so when `send` answers the text has been typed. The output replayed and
//! written meanwhile is not kept: `logs` has it, with times.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use crate::Error;
use crate::control::terminal_stream;

use super::super::Context;

/// How long the supervisor may take to type the keys and hang up.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What was typed, and into which instance.
#[derive(Debug, serde::Serialize)]
pub(super) struct Typed {
    pub instance: String,
    pub bytes: usize,
}

pub(super) fn send(context: &Context, name: String, text: &str) -> Result<Typed, Error> {
    let (client, connected) = super::super::connect::open(context, name)?;
    let instance = connected.instance;
    let keys = keys(text);
    let (_, mut stream) = client.into_stream();
    let failed = |error| Error::io(format!("cannot type into {instance}"), error);
    stream
        .write_all(&terminal_stream::keys(&keys))
        .map_err(failed)?;
    stream.shutdown(Shutdown::Write).map_err(failed)?;
    stream
        .set_read_timeout(Some(DELIVERY_TIMEOUT))
        .map_err(failed)?;
    let mut sink = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(failed(error)),
        }
    }
    Ok(Typed {
        bytes: keys.len(),
        instance,
    })
}

/// The keys for `text`: a newline is the Enter key, which a terminal sends as a carriage
/// return (the line discipline turns it back into `\n` for a cooked-mode reader, and a
/// raw-mode prompt such as readline's or a TUI's takes only `\r` as Enter).
fn keys(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\r").replace('\n', "\r").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_is_the_enter_key() {
        assert_eq!(keys("p x\n"), b"p x\r");
        assert_eq!(keys("a\r\nb\n"), b"a\rb\r");
        assert_eq!(keys("no enter"), b"no enter");
    }
}
