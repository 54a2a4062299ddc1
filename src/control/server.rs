//! The supervisor's end of the control socket.
//!
//! One task accepts connections; each connection gets a task that reads request lines,
//! hands each request to the supervisor (which alone knows the instances) and writes
//! the answer back. A `logs -f` connection then streams lines from the output feed
//! itself, so a slow client only ever slows down its own connection: the feed drops
//! what it cannot keep, and says how much.

use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Where requests go: the supervisor's command channel.
pub type Commands = mpsc::UnboundedSender<Command>;

use super::protocol::{self, Hello, LogLine, Request, Response, Snapshot};
use crate::logs::history::Batch;
use crate::logs::splitter;
use crate::supervisor::command::{Follow, Logs, Refusal, Reply, WaitUp};
use crate::supervisor::{Command, InstanceStatus, ShutdownMode};

/// Bind the socket at `path` (mode 0600) and serve it until the runtime ends.
pub fn start(path: &Path, commands: Commands) -> io::Result<()> {
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    if let Err(reason) = check_peer(&stream) {
                        tracing::warn!(%reason, "refused a control connection");
                        continue;
                    }
                    tokio::spawn(serve(stream, commands.clone()));
                }
                Err(error) => {
                    // EMFILE and the like: keep serving once descriptors free up.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
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
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
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
                    _ = lines.next_line() => {}
                }
                return;
            }
            Answer::Farewell(written) => {
                let _ = send(&mut write, &Response::ok()).await;
                let _ = written.send(());
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
                if send(&mut write, &header).await.is_err() {
                    return;
                }
                for line in backlog {
                    if send(&mut write, &line_response(line)).await.is_err() {
                        return;
                    }
                }
                if let Some(follow) = follow {
                    // Following ends when the client hangs up (or proj ends).
                    tokio::select! {
                        () = stream_feed(&mut write, follow) => {}
                        _ = lines.next_line() => {}
                    }
                    return;
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
        Request::Start { names } => done(instances(
            call(commands, |reply| Command::Start { names, reply }).await?,
        )),
        Request::Stop { names } => done(instances(
            call(commands, |reply| Command::Stop { names, reply }).await?,
        )),
        Request::Restart { names } => done(instances(
            call(commands, |reply| Command::Restart { names, reply }).await?,
        )),
        Request::Scale { counts } => done(instances(
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
        } => match call(commands, |reply| Command::Logs {
            names,
            lines,
            follow,
            reply,
        })
        .await?
        {
            Ok(logs) => Answer::Logs(logs),
            Err(refusal) => done(Response::refused(&refusal)),
        },
        Request::WaitUp => {
            let WaitUp { instances, outcome } =
                call(commands, |reply| Command::WaitUp { reply }).await?;
            let response = match outcome {
                Ok(()) => Response::ok(),
                Err(refusal) => Response::refused(&refusal),
            };
            done(Response {
                instances: Some(instances),
                ..response
            })
        }
        Request::Watch => Answer::Watch(call(commands, |reply| Command::Watch { reply }).await?),
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

async fn stream_feed(write: &mut tokio::net::unix::OwnedWriteHalf, follow: Follow) {
    let Follow {
        mut feed,
        instances,
    } = follow;
    loop {
        match feed.recv().await {
            Ok(batch) => {
                let Some(seen_until) = instances.get(&*batch.instance) else {
                    continue;
                };
                if seen_until.is_some_and(|until| batch.at <= until) {
                    continue;
                }
                for line in batch_lines(&batch) {
                    if send(write, &line_response(line)).await.is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(batches)) => {
                let response = Response {
                    skipped: Some(batches),
                    ..Response::ok()
                };
                if send(write, &response).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
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

async fn send(write: &mut tokio::net::unix::OwnedWriteHalf, response: &Response) -> io::Result<()> {
    let mut text = serde_json::to_vec(response).map_err(io::Error::other)?;
    text.push(b'\n');
    write.write_all(&text).await
}
