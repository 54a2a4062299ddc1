//! The supervisor's end of the control socket.
//!
//! One task accepts connections; each connection gets a task that reads request lines,
//! hands each request to the supervisor (which alone knows the instances) and writes
//! the answer back. A `logs -f` connection then streams lines from the output feed
//! itself, so a slow client only ever slows down its own connection: the feed drops
//! what it cannot keep, and says how much.
//!
//! What a client can cost proj is bounded: a request line at most
//! [`super::request_line::MAX_REQUEST_BYTES`], a `logs -f` client that does not read at most
//! [`crate::logs::feed::SUBSCRIBER_BYTES`] of output waiting for it in its own queue of
//! the feed (the oldest batches leave it, counted, once it is full). And a
//! connection can be accepted even when proj's descriptors are all in use: one is
//! kept in reserve for that.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Where requests go: the supervisor's command channel.
pub type Commands = mpsc::UnboundedSender<Command>;

use super::protocol::{
    self, BadRequest, Change, Connected, Hello, LogLine, Request, Response, Snapshot,
};
use super::request_line::{MAX_REQUEST_BYTES, Received, RequestLines};
use crate::logs::feed::RecvError;
use crate::logs::history::Batch;
use crate::logs::splitter;
use crate::supervisor::command::{self, Answer, Command, Follow, Logs, WaitUp};
use crate::supervisor::terminal::Connection;

/// Bind the socket at `path` (mode 0600) and serve it until the runtime ends.
pub fn start(path: &Path, commands: Commands) -> io::Result<()> {
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    tokio::spawn(async move {
        let mut reserve = None;
        loop {
            if reserve.is_none() {
                reserve = File::open("/dev/null").ok();
            }
            match listener.accept().await {
                Ok((stream, _)) => {
                    if let Err(reason) = check_peer(&stream) {
                        tracing::warn!(%reason, "refused a control connection");
                        continue;
                    }
                    tokio::spawn(serve(stream, commands.clone()));
                }
                // Every descriptor in use: give up the reserve, so that `proj ps` still
                // gets an answer saying what is going on.
                Err(error) if is_out_of_descriptors(&error) && reserve.take().is_some() => {
                    tracing::warn!(%error, "accepting on the reserve descriptor");
                }
                Err(error) => {
                    // Keep serving once descriptors free up.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Only the user running the supervisor may talk to it.
fn check_peer(stream: &UnixStream) -> Result<(), String> {
    let credentials = getsockopt(&stream.as_fd(), PeerCredentials)
        .map_err(|error| format!("no peer credentials: {error}"))?;
    let own = nix::unistd::geteuid().as_raw();
    if credentials.uid() == own {
        Ok(())
    } else {
        Err(format!("uid {} is not uid {own}", credentials.uid()))
    }
}

async fn serve(stream: UnixStream, commands: Commands) {
    let (read, mut write) = stream.into_split();
    let mut lines = RequestLines::new(BufReader::new(read));
    loop {
        let line = match lines.next().await {
            Ok(Received::Line(line)) => line,
            Ok(Received::TooLong) => {
                let refusal = BadRequest(format!(
                    "a request must be one line of at most {MAX_REQUEST_BYTES} bytes; closing the connection"
                ));
                let _ = send(&mut write, &refusal.into()).await;
                return;
            }
            Ok(Received::End) | Err(_) => return,
        };
        if line.trim().is_empty() {
            continue;
        }
        let request = match protocol::parse_request(&line) {
            Ok(request) => request,
            Err(bad) => {
                if send(&mut write, &bad.into()).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let Some(outgoing) = ask(&commands, request).await else {
            // The supervisor is gone (it answered `down` or ended).
            return;
        };
        match outgoing {
            Outgoing::Done(response) => {
                if send(&mut write, &response).await.is_err() {
                    return;
                }
            }
            Outgoing::Watch(mut snapshots) => {
                // Ends when the client hangs up or the supervisor goes away.
                tokio::select! {
                    () = stream_snapshots(&mut write, &mut snapshots) => {}
                    _ = lines.next() => {}
                }
                return;
            }
            Outgoing::Events(mut changes) => {
                tokio::select! {
                    () = stream_changes(&mut write, &mut changes) => {}
                    _ = lines.next() => {}
                }
                return;
            }
            Outgoing::Waiting { changes, verdict } => {
                if stream_wait(&mut write, changes, verdict).await.is_err() {
                    return;
                }
            }
            Outgoing::Farewell(written) => {
                let _ = send(&mut write, &Response::ok()).await;
                let _ = written.send(());
                return;
            }
            Outgoing::Connect(connection) => {
                let response = Response {
                    connect: Some(Connected {
                        instance: connection.instance,
                        of: connection.of,
                    }),
                    ..Response::ok()
                };
                if send(&mut write, &response).await.is_err() {
                    return;
                }
                // From here on the connection carries the terminal; bytes the client sent
                // right after its request are still in the line reader's buffer.
                super::terminal_stream::serve(lines.into_inner(), write, connection.terminal).await;
                return;
            }
            Outgoing::Logs(logs) => {
                let Logs {
                    names,
                    backlog,
                    follow,
                } = logs;
                let header = Response {
                    names: Some(names),
                    ..Response::ok()
                };
                if let Some(follow) = follow {
                    // The backlog goes out first; the feed queues what comes
                    // meanwhile (subscribed before the backlog was taken). Following
                    // ends when the client hangs up (or proj ends).
                    let mut first = encode(&header);
                    for line in backlog.iter().flat_map(batch_lines) {
                        first.extend(encode(&line_response(line)));
                    }
                    tokio::select! {
                        () = stream_feed(&mut write, first, follow) => {}
                        _ = lines.next() => {}
                    }
                    return;
                }
                if send(&mut write, &header).await.is_err() {
                    return;
                }
                for line in backlog.iter().flat_map(batch_lines) {
                    if send(&mut write, &line_response(line)).await.is_err() {
                        return;
                    }
                }
                if send(&mut write, &Response::ok()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What the supervisor answered, in the shape the connection writes it.
enum Outgoing {
    Done(Box<Response>),
    /// The last answer of a supervisor about to exit: once written, say so.
    Farewell(oneshot::Sender<()>),
    Watch(watch::Receiver<Snapshot>),
    Logs(Logs),
    Connect(Connection),
    /// Every state change from now on, until the client hangs up.
    Events(broadcast::Receiver<Change>),
    /// A wait under way: the state changes until then (with `progress`), then the
    /// verdict.
    Waiting {
        changes: Option<(Vec<Change>, broadcast::Receiver<Change>)>,
        verdict: oneshot::Receiver<WaitUp>,
    },
}

/// The answer to a wait: the instances, `ok: false` naming what is not up.
fn verdict_response(verdict: WaitUp) -> Response {
    let WaitUp { instances, outcome } = verdict;
    let response = match outcome {
        Ok(()) => Response::ok(),
        Err(refusal) => Response::refused(&refusal),
    };
    Response {
        instances: Some(instances),
        ..response
    }
}

fn event_response(change: Change) -> Response {
    Response {
        event: Some(change),
        ..Response::ok()
    }
}

/// Write each change until the supervisor ends (its sender goes) or the client does.
async fn stream_changes(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    changes: &mut broadcast::Receiver<Change>,
) {
    loop {
        let response = match changes.recv().await {
            Ok(change) => event_response(change),
            Err(broadcast::error::RecvError::Lagged(missed)) => Response {
                skipped: Some(missed),
                ..Response::ok()
            },
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if send(write, &response).await.is_err() {
            return;
        }
    }
}

/// Write the changes of a wait under way, then its verdict.
async fn stream_wait(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    changes: Option<(Vec<Change>, broadcast::Receiver<Change>)>,
    mut verdict: oneshot::Receiver<WaitUp>,
) -> io::Result<()> {
    let gone = || io::Error::from(io::ErrorKind::BrokenPipe);
    let Some((past, mut changes)) = changes else {
        let answer = verdict.await.map_err(|_| gone())?;
        return send(write, &verdict_response(answer)).await;
    };
    for change in past {
        send(write, &event_response(change)).await?;
    }
    loop {
        tokio::select! {
            answer = &mut verdict => {
                // The supervisor sent every change before its verdict: what is still
                // queued comes first.
                while let Ok(change) = changes.try_recv() {
                    send(write, &event_response(change)).await?;
                }
                let answer = answer.map_err(|_| gone())?;
                return send(write, &verdict_response(answer)).await;
            }
            change = changes.recv() => match change {
                Ok(change) => send(write, &event_response(change)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    let answer = (&mut verdict).await.map_err(|_| gone())?;
                    return send(write, &verdict_response(answer)).await;
                }
            },
        }
    }
}

fn done(response: Response) -> Outgoing {
    Outgoing::Done(Box::new(response))
}

/// Send a request to the supervisor and shape its answer for the wire: one arm per kind
/// of answer, none per request. `None` once the supervisor is gone.
async fn ask(commands: &Commands, request: Request) -> Option<Outgoing> {
    let answer = match command::ask(commands, request).await? {
        Ok(answer) => answer,
        Err(refusal) => return Some(done(Response::refused(&refusal))),
    };
    Some(match answer {
        Answer::About(about) => done(Response {
            hello: Some(Hello {
                about,
                protocol: protocol::VERSION,
            }),
            ..Response::ok()
        }),
        Answer::Instances(instances) => done(Response {
            instances: Some(instances),
            ..Response::ok()
        }),
        // A request that changed instances: the rows, what it did to each, and exit 1
        // naming what failed.
        Answer::Acted(acted) => {
            let response = match acted.failures() {
                None => Response::ok(),
                Some(failed) => Response::error(1, format!("did not come up: {failed}")),
            };
            done(Response {
                instances: Some(acted.instances),
                outcomes: Some(acted.outcomes),
                ..response
            })
        }
        Answer::Reloaded(summary) => done(Response {
            reload: Some(summary),
            ..Response::ok()
        }),
        Answer::Why(why) => done(Response {
            why: Some(why),
            ..Response::ok()
        }),
        Answer::Logs(logs) => Outgoing::Logs(logs),
        Answer::Snapshots(snapshots) => Outgoing::Watch(snapshots),
        Answer::Changes(changes) => Outgoing::Events(changes),
        Answer::Waiting { changes, verdict } => Outgoing::Waiting { changes, verdict },
        Answer::Terminal(connection) => Outgoing::Connect(connection),
        Answer::Farewell(farewell) => Outgoing::Farewell(farewell.written),
    })
}

async fn stream_snapshots(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    snapshots: &mut watch::Receiver<Snapshot>,
) {
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let response = Response {
            snapshot: Some(snapshot),
            ..Response::ok()
        };
        if send(write, &response).await.is_err() || snapshots.changed().await.is_err() {
            return;
        }
    }
}

/// Write `first` (header and backlog), then every batch of the feed for the followed
/// instances, until the client or the feed goes away.
///
/// The subscription is this client's own queue, bounded in bytes
/// ([`crate::logs::feed::SUBSCRIBER_BYTES`]): while a write waits for a slow client,
/// batches wait there, the oldest dropped past the bound, and what was dropped reaches
/// the client as one `skipped` count. So a client never costs proj more than that, and
/// never holds anything else up.
async fn stream_feed(write: &mut tokio::net::unix::OwnedWriteHalf, first: Vec<u8>, follow: Follow) {
    let mut follow = follow;
    if write.write_all(&first).await.is_err() {
        return;
    }
    loop {
        let out = match follow.next().await {
            Ok(batch) => {
                let mut out = Vec::with_capacity(batch.lines.len() + 128);
                for line in batch_lines(&batch) {
                    if follow
                        .grep
                        .as_ref()
                        .is_none_or(|grep| grep.is_match(line.text.as_bytes()))
                    {
                        out.extend(encode(&line_response(line)));
                    }
                }
                out
            }
            Err(RecvError::Lagged(batches)) => encode(&Response {
                skipped: Some(batches),
                ..Response::ok()
            }),
            Err(RecvError::Closed) => return,
        };
        if write.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The lines of a batch as protocol lines.
pub fn batch_lines(batch: &Batch) -> impl Iterator<Item = LogLine> + '_ {
    let time_ms = crate::logs::clock::unix_millis(batch.at);
    splitter::lines(&batch.lines).map(move |line| LogLine {
        time_ms,
        name: batch.instance.to_string(),
        text: String::from_utf8_lossy(line).into_owned(),
    })
}

fn line_response(line: LogLine) -> Response {
    Response {
        line: Some(line),
        ..Response::ok()
    }
}

/// One response as a protocol line.
fn encode(response: &Response) -> Vec<u8> {
    // Serialising these plain structs cannot fail; an empty object would still be a line.
    let mut text = serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec());
    text.push(b'\n');
    text
}

async fn send(write: &mut tokio::net::unix::OwnedWriteHalf, response: &Response) -> io::Result<()> {
    write.write_all(&encode(response)).await
}
