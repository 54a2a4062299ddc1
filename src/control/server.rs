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
//! [`FOLLOW_BUFFER_BYTES`] of output waiting for it (the connection keeps draining the
//! feed while its write waits, so the feed never holds batches back for it). And a
//! connection can be accepted even when proj's descriptors are all in use: one is
//! kept in reserve for that.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::protocol::{self, LogLine, Refusal, Request, Response, Snapshot};
use super::request_line::{MAX_REQUEST_BYTES, Received, RequestLines};
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

/// Output bytes a `logs -f` connection holds for a client that reads slower than its
/// instances print; past it the oldest batches are dropped (and counted as skipped).
pub const FOLLOW_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Bind the socket at `path` (mode 0600) and serve it until the runtime ends.
pub fn start(path: &Path, calls: mpsc::UnboundedSender<Call>) -> io::Result<()> {
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
                    tokio::spawn(serve(stream, calls.clone()));
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

async fn serve(stream: UnixStream, calls: mpsc::UnboundedSender<Call>) {
    let (read, mut write) = stream.into_split();
    let mut lines = RequestLines::new(BufReader::new(read));
    loop {
        let line = match lines.next().await {
            Ok(Received::Line(line)) => line,
            Ok(Received::TooLong) => {
                let refusal = Refusal::new(
                    2,
                    format!(
                        "a request must be one line of at most {MAX_REQUEST_BYTES} bytes; closing the connection"
                    ),
                );
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
                    _ = lines.next() => {}
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
                if let Some(follow) = follow {
                    // The backlog goes out through the follower, which drains the
                    // feed meanwhile. Following ends when the client hangs up (or proj
                    // ends).
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
/// Receiving and writing run side by side: while a write waits for the client, batches
/// are still taken from the feed (so it never keeps them for this client) into a queue
/// of at most [`FOLLOW_BUFFER_BYTES`]; what falls out of the queue, and what the feed
/// itself dropped, reaches the client as one `skipped` count.
async fn stream_feed(write: &mut tokio::net::unix::OwnedWriteHalf, first: Vec<u8>, follow: Follow) {
    let Follow {
        mut feed,
        instances,
    } = follow;
    let mut queue = FollowQueue::default();
    let mut out = first;
    let mut written = 0;
    let mut feed_open = true;
    loop {
        if written == out.len() {
            written = 0;
            out = match queue.next_output() {
                Some(bytes) => bytes,
                None if !feed_open => return,
                None => Vec::new(),
            };
        }
        tokio::select! {
            received = feed.recv(), if feed_open => match received {
                Ok(batch) => {
                    let Some(seen_until) = instances.get(&*batch.instance) else {
                        continue;
                    };
                    if seen_until.is_some_and(|until| batch.at <= until) {
                        continue;
                    }
                    queue.push(batch);
                }
                Err(broadcast::error::RecvError::Lagged(batches)) => queue.skipped += batches,
                Err(broadcast::error::RecvError::Closed) => feed_open = false,
            },
            // `write` is cancel-safe: when the feed wins, nothing was written.
            result = write.write(&out[written..]), if written < out.len() => match result {
                Ok(0) | Err(_) => return,
                Ok(count) => written += count,
            },
        }
    }
}

/// The batches a following client has not been sent yet, at most
/// [`FOLLOW_BUFFER_BYTES`] of them, and how many were dropped since it last heard.
#[derive(Default)]
struct FollowQueue {
    batches: VecDeque<Batch>,
    bytes: usize,
    skipped: u64,
}

impl FollowQueue {
    fn push(&mut self, batch: Batch) {
        self.bytes += batch.lines.len();
        self.batches.push_back(batch);
        while self.bytes > FOLLOW_BUFFER_BYTES && self.batches.len() > 1 {
            if let Some(old) = self.batches.pop_front() {
                self.bytes -= old.lines.len();
                self.skipped += 1;
            }
        }
    }

    /// The next bytes to write: the skipped count first, then the oldest batch.
    fn next_output(&mut self) -> Option<Vec<u8>> {
        if self.skipped > 0 {
            let response = Response {
                skipped: Some(std::mem::take(&mut self.skipped)),
                ..Response::ok()
            };
            return Some(encode(&response));
        }
        let batch = self.batches.pop_front()?;
        self.bytes -= batch.lines.len();
        let mut out = Vec::with_capacity(batch.lines.len() + 128);
        for line in batch_lines(&batch) {
            out.extend(encode(&line_response(line)));
        }
        Some(out)
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
