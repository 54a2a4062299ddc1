//! The supervisor's end of the control socket.
//!
//! One task accepts connections; each connection gets a task that reads request lines,
//! hands each request to the supervisor (which alone knows the instances) and writes
//! the answer back. A `logs -f` connection then streams lines from the output feed
//! itself, so a slow client only ever slows down its own connection: the feed drops
//! what it cannot keep, and says how much.
//!
//! What a client can cost proj is bounded: a request line at most
//! [`request_line::MAX_REQUEST_BYTES`], a `logs -f` client that does not read at most
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
use crate::supervisor::command::{Follow, Logs, Refusal, Reply, WaitUp};
use crate::supervisor::snapshot::Acted;
use crate::supervisor::terminal::Connection;
use crate::supervisor::{Command, InstanceStatus, ShutdownMode};

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
        let Some(answer) = ask(&commands, request).await else {
            // The supervisor is gone (it answered `down` or ended).
            return;
        };
        match answer {
            Answer::Done(response) => {
                if send(&mut write, &response).await.is_err() {
                    return;
                }
            }
            Answer::Watch(mut snapshots) => {
                // Ends when the client hangs up or the supervisor goes away.
                tokio::select! {
                    () = stream_snapshots(&mut write, &mut snapshots) => {}
                    _ = lines.next() => {}
                }
                return;
            }
            Answer::Events(mut changes) => {
                tokio::select! {
                    () = stream_changes(&mut write, &mut changes) => {}
                    _ = lines.next() => {}
                }
                return;
            }
            Answer::Waiting { changes, verdict } => {
                if stream_wait(&mut write, changes, verdict).await.is_err() {
                    return;
                }
            }
            Answer::Farewell(written) => {
                let _ = send(&mut write, &Response::ok()).await;
                let _ = written.send(());
                return;
            }
            Answer::Connect(connection) => {
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
            Answer::Logs(logs) => {
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
                    for line in backlog {
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
                for line in backlog {
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
enum Answer {
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

/// Ask for the logs.
async fn logs(
    commands: &Commands,
    names: Vec<String>,
    lines: usize,
    follow: bool,
    since: Option<std::time::SystemTime>,
    grep: Option<regex::bytes::Regex>,
) -> Option<Answer> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(Command::Logs {
            names,
            lines,
            follow,
            since,
            grep,
            reply,
        })
        .ok()?;
    Some(match answer.await.ok()? {
        Ok(logs) => Answer::Logs(logs),
        Err(refusal) => done(Response::refused(&refusal)),
    })
}

/// Send a wait; with `progress`, subscribe to the changes first so none falls between.
async fn wait(
    commands: &Commands,
    names: Vec<String>,
    timeout: Option<std::time::Duration>,
    ready_deadlines: bool,
    progress: bool,
) -> Option<Answer> {
    // `up -d` also shows what happened before it asked (the supervisor started first).
    let changes = if progress {
        let (reply, answer) = oneshot::channel();
        let past = ready_deadlines;
        commands.send(Command::Events { past, reply }).ok()?;
        Some(answer.await.ok()?)
    } else {
        None
    };
    let (reply, verdict) = oneshot::channel();
    commands
        .send(Command::Wait {
            names,
            timeout,
            ready_deadlines,
            reply,
        })
        .ok()?;
    Some(Answer::Waiting { changes, verdict })
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

fn done(response: Response) -> Answer {
    Answer::Done(Box::new(response))
}

/// Turn a wire request into a [`Command`], send it, and wait for the typed answer;
/// `None` once the supervisor is gone.
async fn ask(commands: &Commands, request: Request) -> Option<Answer> {
    /// Send a command made with a fresh reply channel and wait for the reply.
    async fn call<T>(commands: &Commands, make: impl FnOnce(Reply<T>) -> Command) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        commands.send(make(reply)).ok()?;
        answer.await.ok()
    }
    let instances = |result: Result<Vec<InstanceStatus>, Refusal>| match result {
        Ok(instances) => Response {
            instances: Some(instances),
            ..Response::ok()
        },
        Err(refusal) => Response::refused(&refusal),
    };
    // A request that changed instances: the rows, what it did to each, and exit 1
    // naming what failed.
    let acted = |result: Result<Acted, Refusal>| match result {
        Ok(acted) => {
            let response = match acted.failures() {
                None => Response::ok(),
                Some(failed) => Response::error(1, format!("did not come up: {failed}")),
            };
            Response {
                instances: Some(acted.instances),
                outcomes: Some(acted.outcomes),
                ..response
            }
        }
        Err(refusal) => Response::refused(&refusal),
    };
    Some(match request {
        Request::Hello => {
            let about = call(commands, |reply| Command::Hello { reply }).await?;
            done(Response {
                hello: Some(Hello {
                    about,
                    protocol: protocol::VERSION,
                }),
                ..Response::ok()
            })
        }
        Request::Ps => {
            let status = call(commands, |reply| Command::Status { reply }).await?;
            done(instances(Ok(status)))
        }
        Request::Start { names } => done(acted(
            call(commands, |reply| Command::Start { names, reply }).await?,
        )),
        Request::Stop { names } => done(acted(
            call(commands, |reply| Command::Stop { names, reply }).await?,
        )),
        Request::Restart { names, rolling } => done(acted(
            call(commands, |reply| {
                if rolling {
                    Command::RollingRestart { names, reply }
                } else {
                    Command::Restart { names, reply }
                }
            })
            .await?,
        )),
        Request::Signal {
            signal,
            names,
            group,
        } => match crate::config::parse_signal(&signal) {
            Ok(signal) => done(instances(
                call(commands, |reply| Command::Signal {
                    signal,
                    names,
                    group,
                    reply,
                })
                .await?,
            )),
            Err(reason) => done(Response::refused(&Refusal::UnknownSignal(reason))),
        },
        Request::Scale { counts } => done(acted(
            call(commands, |reply| Command::Scale {
                counts: counts.into_iter().collect(),
                reply,
            })
            .await?,
        )),
        Request::Reload => done(
            match call(commands, |reply| Command::Reload { reply }).await? {
                Ok(summary) => Response {
                    reload: Some(summary),
                    ..Response::ok()
                },
                Err(refusal) => Response::refused(&refusal),
            },
        ),
        Request::Down | Request::Kill => {
            let mode = if request == Request::Kill {
                ShutdownMode::Kill
            } else {
                ShutdownMode::Graceful
            };
            let farewell = call(commands, |reply| Command::Shutdown { mode, reply }).await?;
            Answer::Farewell(farewell.written)
        }
        Request::Logs {
            names,
            lines,
            follow,
            since_ms,
            grep,
        } => {
            let grep = match grep
                .map(|pattern| regex::bytes::Regex::new(&pattern))
                .transpose()
            {
                Ok(grep) => grep,
                Err(error) => {
                    return Some(done(BadRequest(format!("invalid --grep: {error}")).into()));
                }
            };
            let since = since_ms
                .map(|ms| std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms));
            logs(commands, names, lines, follow, since, grep).await?
        }
        Request::WaitUp { progress } => wait(commands, Vec::new(), None, true, progress).await?,
        Request::Wait {
            names,
            timeout_ms,
            progress,
        } => {
            let timeout = timeout_ms.map(std::time::Duration::from_millis);
            wait(commands, names, timeout, false, progress).await?
        }
        Request::Events => {
            let (_, changes) =
                call(commands, |reply| Command::Events { past: false, reply }).await?;
            Answer::Events(changes)
        }
        Request::Why { name } => done(
            match call(commands, |reply| Command::Why { name, reply }).await? {
                Ok(why) => Response {
                    why: Some(Box::new(why)),
                    ..Response::ok()
                },
                Err(refusal) => Response::refused(&refusal),
            },
        ),
        Request::Watch => Answer::Watch(call(commands, |reply| Command::Watch { reply }).await?),
        Request::Connect { name } => {
            match call(commands, |reply| Command::Connect { name, reply }).await? {
                Ok(connection) => Answer::Connect(connection),
                Err(refusal) => done(Response::refused(&refusal)),
            }
        }
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
    let Follow {
        mut feed,
        instances,
        grep,
    } = follow;
    if write.write_all(&first).await.is_err() {
        return;
    }
    loop {
        let out = match feed.recv().await {
            Ok(batch) => {
                let Some(seen_until) = instances.get(&*batch.instance) else {
                    continue;
                };
                if seen_until.is_some_and(|until| batch.at <= until) {
                    continue;
                }
                let mut out = Vec::with_capacity(batch.lines.len() + 128);
                for line in batch_lines(&batch) {
                    if grep
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
