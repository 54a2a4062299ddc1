//! The supervisor's "now".
//!
//! It is tokio's clock read as a [`std::time::Instant`]: the same as the system's
//! monotonic clock in a running proj, and a clock that only moves when the runtime is
//! idle under `#[tokio::test(start_paused = true)]`, so the actor's tests run backoffs,
//! stop timeouts and restart windows of minutes in microseconds, with no sleep.

use std::time::Instant;

pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
