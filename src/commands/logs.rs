//! `proj logs [-f] [-n N] [--since …] [--grep …] [--json] [NAME...]`: recent output
//! from the running supervisor (and proj's own lines, under `proj`), merged in time
//! order, in the plain-mode format or as JSON lines; `-f` keeps following.
//!
//! Without `-f` it prints what there is and exits, never waiting for output. With `-f`
//! it ends when its reader goes away (`proj logs -f db | head -3`), not only at the next
//! line it fails to write: a thread waits for stdout to report an error and ends proj.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::control::client::Client;
use crate::control::protocol::{LogLine, Request};
use crate::logs::clock::Clock;

use super::Context;
use super::control::{check, client_error};

/// What `proj logs` asks for.
pub(super) struct Query {
    pub names: Vec<String>,
    pub lines: usize,
    pub follow: bool,
    pub since: Option<SystemTime>,
    pub grep: Option<regex::Regex>,
    pub json: bool,
}

pub(super) fn run(context: &Context, query: Query) -> Result<(), Error> {
    if !query.follow {
        let recent = recent(context, &query)?;
        let mut out = io::BufWriter::new(io::stdout().lock());
        let written = if query.json {
            recent
                .lines
                .iter()
                .try_for_each(|line| write_json(&mut out, line))
        } else {
            recent.write_plain(&mut out)
        };
        // `proj logs | head` closes the pipe early: that is a normal end.
        return written
            .and_then(|()| out.flush())
            .or_else(broken_pipe_is_fine);
    }
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    client.send(query.request(true)).map_err(client_error)?;
    let width = header(&mut client)?;
    end_when_stdout_closes();
    let clock = Clock::default();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    while let Some(response) = client.receive().map_err(client_error)? {
        let written = if let Some(line) = response.line {
            if query.json {
                write_json(&mut out, &line)
            } else {
                write_line(&mut out, &clock, width, &line)
            }
        } else if let Some(skipped) = response.skipped {
            eprintln!("… {skipped} batches of lines skipped: this reader was too slow");
            Ok(())
        } else {
            break;
        };
        // `proj logs -f | head` closes the pipe early: that is a normal end.
        if let Err(error) = written.and_then(|()| out.flush()) {
            return broken_pipe_is_fine(error);
        }
    }
    out.flush().or_else(broken_pipe_is_fine)
}

impl Query {
    /// The request for these lines, then (with `follow`) every new one.
    fn request(&self, follow: bool) -> Request {
        let since_ms = self.since.map(|since| {
            let ms = since
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            u64::try_from(ms).unwrap_or(u64::MAX)
        });
        Request::Logs {
            names: self.names.clone(),
            lines: self.lines,
            follow,
            since_ms,
            grep: self.grep.as_ref().map(|grep| grep.as_str().to_string()),
        }
    }
}

/// The header of a `logs` answer: how wide the name column is.
fn header(client: &mut Client) -> Result<usize, Error> {
    let header = match client.receive().map_err(client_error)? {
        Some(header) => check(header)?,
        None => return Err(Error::UnexpectedAnswer("nothing: it closed the connection")),
    };
    Ok(header
        .names
        .unwrap_or_default()
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0))
}

/// The lines `proj logs` without `-f` prints, and the width of their name column.
pub(super) struct Recent {
    pub width: usize,
    pub lines: Vec<LogLine>,
}

impl Recent {
    /// The plain-mode format, `HH:MM:SS.mmm NAME | TEXT`, in local time.
    pub(super) fn write_plain(&self, out: &mut impl Write) -> io::Result<()> {
        let clock = Clock::default();
        self.lines
            .iter()
            .try_for_each(|line| write_line(out, &clock, self.width, line))
    }

    /// `--json`'s objects, one per line.
    pub(super) fn json(&self) -> Vec<JsonLine<'_>> {
        self.lines.iter().map(JsonLine::from).collect()
    }
}

/// The lines the supervisor has now for `query` (whose `follow` is not looked at): it
/// never waits for output.
pub(super) fn recent(context: &Context, query: &Query) -> Result<Recent, Error> {
    let root = context.project_root()?;
    let mut client = Client::connect(&root).map_err(client_error)?;
    client.send(query.request(false)).map_err(client_error)?;
    let width = header(&mut client)?;
    let mut lines = Vec::new();
    while let Some(response) = client.receive().map_err(client_error)? {
        match response.line {
            Some(line) => lines.push(line),
            // The end of the backlog.
            None if response.skipped.is_none() => break,
            None => {}
        }
    }
    Ok(Recent { width, lines })
}

/// `{"time": RFC 3339, "name": INSTANCE, "line": TEXT}` (SPEC §9.5).
fn write_json(out: &mut impl Write, line: &LogLine) -> io::Result<()> {
    let text = serde_json::to_string(&JsonLine::from(line)).map_err(io::Error::other)?;
    writeln!(out, "{text}")
}

/// One line of `--json`, its fields in the SPEC's order.
#[derive(serde::Serialize)]
pub(super) struct JsonLine<'a> {
    time: String,
    name: &'a str,
    line: &'a str,
}

impl<'a> From<&'a LogLine> for JsonLine<'a> {
    fn from(line: &'a LogLine) -> JsonLine<'a> {
        let time =
            jiff::Timestamp::from_millisecond(i64::try_from(line.time_ms).unwrap_or(i64::MAX))
                .map(|at| at.to_string())
                .unwrap_or_default();
        JsonLine {
            time,
            name: &line.name,
            line: &line.text,
        }
    }
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

/// A follower blocks reading the socket while nothing comes; if its reader goes away
/// meanwhile (`| head -3` got its lines), only the next write would notice. poll(2)
/// on stdout with no events asked still reports an error or hang-up: this thread waits
/// for that and ends proj (exit 0: the reader has what it wanted). On a terminal or a
/// file nothing is ever reported, and the thread just sleeps in poll.
fn end_when_stdout_closes() {
    let _ = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(|| {
            use std::os::fd::AsFd;
            let stdout = io::stdout();
            let fd = stdout.as_fd();
            let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::empty())];
            loop {
                match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
                    Ok(ready) if ready > 0 => {
                        let gone = fds[0].revents().is_some_and(|events| {
                            events.intersects(
                                nix::poll::PollFlags::POLLERR
                                    | nix::poll::PollFlags::POLLHUP
                                    | nix::poll::PollFlags::POLLNVAL,
                            )
                        });
                        if gone {
                            std::process::exit(0);
                        }
                    }
                    Err(nix::errno::Errno::EINTR) | Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
}
