//! The supervisor's end of the control socket.
//!
//! One task accepts connections; each connection gets a task that reads request lines,
//! hands each request to the supervisor (which alone knows the instances) and writes
//! the answer back. A `logs -f` connection then streams lines from the output feed
//! itself, so a slow client only ever slows down its own connection: the feed drops
//! what it cannot keep, and says how much.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::protocol::{self, LogLine, Request, Response, Snapshot};
use crate::logs::history::Batch;
use crate::logs::splitter;

/// A request on its way to the supervisor, with where to send the answer.
#[derive(Debug)]
pub struct Call {
    pub request: Request,
    pub reply: oneshot::Sender<Answer>,
}

/// The supervisor's answer to a [`Call`].
#[derive(Debug)]
pub enum Answer {
    Done(Response),
    /// The last answer of a supervisor that is about to exit (`down`): once it is
    /// written, the connection says so, and the supervisor may end.
    Final(Response, oneshot::Sender<()>),
    /// `watch`: the latest snapshot, now and whenever it changes.
    Watch(watch::Receiver<Snapshot>),
    /// `logs`: a header, the backlog, and for `-f` what to follow.
    Logs {
        header: Response,
        backlog: Vec<LogLine>,
        follow: Option<Follow>,
    },
}

/// What a `logs -f` connection streams after the backlog.
#[derive(Debug)]
pub struct Follow {
    /// Subscribed before the backlog was taken, so nothing falls in between.
    pub feed: broadcast::Receiver<Batch>,
    /// The instances to show, each with the time of its newest batch already in the
    /// backlog: batches up to then came through the feed too and are skipped.
    pub instances: HashMap<String, Option<SystemTime>>,
}

/// Bind the socket at `path` (mode 0600) and serve it until the runtime ends.
pub fn start(path: &Path, calls: mpsc::UnboundedSender<Call>) -> io::Result<()> {
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
                    tokio::spawn(serve(stream, calls.clone()));
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

async fn serve(stream: UnixStream, calls: mpsc::UnboundedSender<Call>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let request = match protocol::parse_request(&line) {
            Ok(request) => request,
            Err(refusal) => {
                if send(&mut write, &refusal.into()).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let (reply, answer) = oneshot::channel();
        if calls.send(Call { request, reply }).is_err() {
            return;
        }
        let Ok(answer) = answer.await else {
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
            Answer::Final(response, written) => {
                let _ = send(&mut write, &response).await;
                let _ = written.send(());
                return;
            }
            Answer::Logs {
                header,
                backlog,
                follow,
            } => {
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
    let time_ms = millis(batch.at);
    splitter::lines(&batch.lines).map(move |line| LogLine {
        time_ms,
        name: batch.instance.to_string(),
        text: String::from_utf8_lossy(line).into_owned(),
    })
}

pub fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
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
