//! The live output feed that `proj logs -f` and the TUI follow.
//!
//! # Theory of operation
//!
//! Every subscriber has its own queue, bounded in bytes. Publishing a batch appends it
//! to each queue (an `Arc` clone: the bytes are shared with the history and the
//! printer, never copied) and wakes that subscriber. A subscriber that falls behind
//! loses its oldest batches and is told how many at its next receive; it never slows
//! the output readers down. With nobody subscribed, nothing is kept at all.
//!
//! This replaces a tokio `broadcast` channel, which keeps its last N values alive until
//! they are overwritten, read or not: bounded by count, with batches of up to 256 KiB,
//! that was memory bounded only in theory (the 10-minute soak saw proj's RSS climb from
//! 49 to 96 MiB while the ring filled).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

use super::history::Batch;

/// Bytes a subscriber may fall behind before it loses its oldest batches.
pub const SUBSCRIBER_BYTES: usize = 4 * 1024 * 1024;

/// The sending side; cloned into every instance's output sink. The feed closes (each
/// subscriber's [`Subscription::recv`] ends with [`RecvError::Closed`] once its queue is
/// empty) when the last clone is dropped.
pub struct Feed {
    shared: Arc<Shared>,
}

/// One subscriber's view of the feed.
#[derive(Debug)]
pub struct Subscription {
    queue: Arc<Queue>,
}

/// Why [`Subscription::recv`] returned no batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// This many batches were dropped because the subscriber fell behind.
    Lagged(u64),
    /// Every sender is gone and the queue is empty.
    Closed,
}

struct Shared {
    subscribers: Mutex<Vec<Weak<Queue>>>,
    senders: AtomicUsize,
    budget: usize,
}

#[derive(Debug)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Debug, Default)]
struct QueueState {
    batches: VecDeque<Batch>,
    bytes: usize,
    lost: u64,
    closed: bool,
}

impl Feed {
    pub fn new() -> Feed {
        Feed::with_budget(SUBSCRIBER_BYTES)
    }

    /// A feed whose subscribers may each fall `budget` bytes behind.
    pub fn with_budget(budget: usize) -> Feed {
        Feed {
            shared: Arc::new(Shared {
                subscribers: Mutex::new(Vec::new()),
                senders: AtomicUsize::new(1),
                budget,
            }),
        }
    }

    /// A new subscriber: it receives every batch published from now on.
    pub fn subscribe(&self) -> Subscription {
        // `self` is a sender, so the feed is open: a new queue starts open and empty.
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            ready: Notify::new(),
        });
        lock(&self.shared.subscribers).push(Arc::downgrade(&queue));
        Subscription { queue }
    }

    /// Hand `batch` to every subscriber; forget the ones that are gone.
    pub fn publish(&self, batch: &Batch) {
        let budget = self.shared.budget;
        lock(&self.shared.subscribers).retain(|subscriber| match subscriber.upgrade() {
            Some(queue) => {
                queue.push(batch.clone(), budget);
                true
            }
            None => false,
        });
    }
}

impl Default for Feed {
    fn default() -> Feed {
        Feed::new()
    }
}

impl Clone for Feed {
    fn clone(&self) -> Feed {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Feed {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        for subscriber in lock(&self.shared.subscribers).drain(..) {
            if let Some(queue) = subscriber.upgrade() {
                lock(&queue.state).closed = true;
                queue.ready.notify_one();
            }
        }
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("subscribers", &lock(&self.shared.subscribers).len())
            .finish()
    }
}

impl Queue {
    fn push(&self, batch: Batch, budget: usize) {
        {
            let mut state = lock(&self.state);
            state.bytes += batch.lines.len();
            state.batches.push_back(batch);
            // The newest batch always stays, whatever its size.
            while state.bytes > budget && state.batches.len() > 1 {
                if let Some(old) = state.batches.pop_front() {
                    state.bytes -= old.lines.len();
                    state.lost += 1;
                }
            }
        }
        self.ready.notify_one();
    }
}

impl Subscription {
    /// The next batch, or how many were lost first, or that the feed is closed.
    ///
    /// Cancel-safe (for `select!`): a batch leaves the queue only when this returns it.
    pub async fn recv(&mut self) -> Result<Batch, RecvError> {
        loop {
            {
                let mut state = lock(&self.queue.state);
                if state.lost > 0 {
                    return Err(RecvError::Lagged(std::mem::take(&mut state.lost)));
                }
                if let Some(batch) = state.batches.pop_front() {
                    state.bytes -= batch.lines.len();
                    return Ok(batch);
                }
                if state.closed {
                    return Err(RecvError::Closed);
                }
            }
            // A push between the check above and this wait leaves a permit, so the
            // wait returns at once; the loop looks again either way.
            self.queue.ready.notified().await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn batch(text: &str) -> Batch {
        Batch {
            instance: Arc::from("web"),
            at: SystemTime::UNIX_EPOCH,
            lines: Arc::from(text.as_bytes()),
        }
    }

    fn text(batch: Batch) -> String {
        String::from_utf8_lossy(&batch.lines).into_owned()
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_batch_in_order() {
        let feed = Feed::new();
        let (mut first, mut second) = (feed.subscribe(), feed.subscribe());
        feed.publish(&batch("a\n"));
        feed.publish(&batch("b\n"));
        for subscription in [&mut first, &mut second] {
            assert_eq!(text(subscription.recv().await.unwrap()), "a\n");
            assert_eq!(text(subscription.recv().await.unwrap()), "b\n");
        }
    }

    #[tokio::test]
    async fn a_subscriber_behind_its_budget_loses_the_oldest_and_is_told_how_many() {
        let feed = Feed::with_budget(4);
        let mut subscription = feed.subscribe();
        for line in ["1\n", "2\n", "3\n", "4\n"] {
            feed.publish(&batch(line));
        }
        assert_eq!(
            subscription.recv().await.map(text),
            Err(RecvError::Lagged(2))
        );
        assert_eq!(text(subscription.recv().await.unwrap()), "3\n");
        assert_eq!(text(subscription.recv().await.unwrap()), "4\n");
    }

    #[tokio::test]
    async fn the_newest_batch_stays_whatever_its_size() {
        let feed = Feed::with_budget(2);
        let mut subscription = feed.subscribe();
        feed.publish(&batch("a\n"));
        feed.publish(&batch("too long for the budget\n"));
        assert_eq!(
            subscription.recv().await.map(text),
            Err(RecvError::Lagged(1))
        );
        assert_eq!(
            text(subscription.recv().await.unwrap()),
            "too long for the budget\n"
        );
    }

    #[test]
    fn nothing_is_kept_for_nobody_and_a_dropped_subscriber_is_forgotten() {
        let feed = Feed::new();
        let big = batch(&"x".repeat(1024));
        feed.publish(&big);
        assert_eq!(Arc::strong_count(&big.lines), 1, "no subscriber: not kept");
        let subscription = feed.subscribe();
        feed.publish(&big);
        assert_eq!(
            Arc::strong_count(&big.lines),
            2,
            "queued for the subscriber"
        );
        drop(subscription);
        assert_eq!(
            Arc::strong_count(&big.lines),
            1,
            "freed with its subscriber"
        );
        feed.publish(&big);
        assert_eq!(lock(&feed.shared.subscribers).len(), 0);
    }

    #[tokio::test]
    async fn the_feed_closes_when_the_last_sender_goes_after_the_queue_is_read() {
        let feed = Feed::new();
        let sender = feed.clone();
        let mut subscription = feed.subscribe();
        drop(feed);
        sender.publish(&batch("last\n"));
        drop(sender);
        assert_eq!(text(subscription.recv().await.unwrap()), "last\n");
        assert_eq!(subscription.recv().await.map(text), Err(RecvError::Closed));
    }

    #[tokio::test]
    async fn a_waiting_subscriber_wakes_on_publish() {
        let feed = Feed::new();
        let mut subscription = feed.subscribe();
        let waiter = tokio::spawn(async move { subscription.recv().await.map(text) });
        tokio::task::yield_now().await;
        feed.publish(&batch("hello\n"));
        let received = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(received, Ok("hello\n".to_owned()));
    }
}
