//! `proj logs [-f] [-n N] [NAME...]`: recent output from the running supervisor, merged
//! in time order, in the plain-mode format; `-f` keeps following.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::control::client::Client;
use crate::control::protocol::{LogLine, Request};
use crate::logs::clock::Clock;

use super::Context;
use super::control::{check, client_error};

pub(super) fn run(
    context: &Context,
    names: Vec<String>,
    lines: usize,
    follow: bool,
) -> Result<(), Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    client
        .send(Request::Logs {
            names,
            lines,
            follow,
        })
        .map_err(client_error)?;
    let header = match client.receive().map_err(client_error)? {
        Some(header) => check(header)?,
        None => return Err(Error::Runtime("proj closed the connection".into())),
    };
    let width = header
        .names
        .unwrap_or_default()
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0);
    let clock = Clock::default();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    while let Some(response) = client.receive().map_err(client_error)? {
        let written = if let Some(line) = response.line {
            write_line(&mut out, &clock, width, &line)
        } else if let Some(skipped) = response.skipped {
            writeln!(
                out,
                "… {skipped} batches of lines skipped: this reader was too slow"
            )
        } else {
            // The end of the backlog without -f.
            break;
        };
        // `proj logs | head` closes the pipe early: that is a normal end.
        if let Err(error) = written.and_then(|()| if follow { out.flush() } else { Ok(()) }) {
            return broken_pipe_is_fine(error);
        }
    }
    out.flush().or_else(broken_pipe_is_fine)
}

fn write_line(out: &mut impl Write, clock: &Clock, width: usize, line: &LogLine) -> io::Result<()> {
    let mut time = Vec::with_capacity(12);
    clock.write_time(
        SystemTime::UNIX_EPOCH + Duration::from_millis(line.time_ms),
        &mut time,
    );
    out.write_all(&time)?;
    writeln!(out, " {:width$} | {}", line.name, line.text)
}

fn broken_pipe_is_fine(error: io::Error) -> Result<(), Error> {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::io("cannot write the output", error))
    }
}
