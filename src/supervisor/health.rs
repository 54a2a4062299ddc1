//! `health`: is a running instance still answering?
//!
//! # Theory of operation
//!
//! When an instance becomes `running`, and its process has a `health` check, a task is
//! started for that run (like the readiness probe of `launch.rs`, it reports by run
//! number, so a verdict about an earlier run is ignored). It attempts the probe at a
//! fixed cadence, one `interval` after another from the moment the instance became
//! running, each attempt cut off after `timeout` (an exec probe's process group is
//! killed then). Between attempts it sleeps on a timer: an idle check costs nothing.
//! The tasks run on the probes' own single-threaded runtime (`commands::up`), and each
//! wake-up is rounded up to a shared grain of at most 250 ms ([`ALIGNMENT`]), so checks
//! due close together (instances started together) share one wake-up of that thread.
//!
//! The task tells the supervisor when the check passes after not passing, and of every
//! failure with its count in a row; at `retries` in a row it ends, and the supervisor
//! feeds [`Input::Trouble`] to the instance's machine: a graceful restart through the
//! stop sequence, counted against `max_restarts` like a crash. The task is aborted as
//! soon as the instance leaves `running` (see [`follow_state`]), so a check
//! never outlives its run.
//!
//! So a process that stops answering is restarted at most `interval × retries + timeout`
//! (plus one grain) after it stopped (the next attempt comes within one interval, fails
//! after `timeout`, and `retries − 1` more follow, one interval apart).
//!
//! `max_memory` is checked by the supervisor itself, on its timer (`usage.rs`); both
//! start and stop here, with the `running` state.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::edges::{Event, HealthReport};
use super::failure::Trouble;
use super::lifecycle::{Input, State};
use super::ready::{self, Probe};
use super::slot::Slot;
use super::snapshot::Health;
use super::step::Step;
use super::usage::MEMORY_SAMPLE_INTERVAL;
use crate::config::{HealthCheck, ProcessSpec};
use crate::logs::printer::Level;

/// Where a health task runs and reports: the probes' runtime and the supervisor's
/// event channel.
pub(super) struct Probing<'a> {
    pub(super) runtime: &'a tokio::runtime::Handle,
    pub(super) events: &'a tokio::sync::mpsc::UnboundedSender<Event>,
}

/// After a transition of `slot` from `before` to `after`: on becoming `running`, its
/// `health` is unknown and its `max_memory` samples start, and the check to start (if
/// `spec` has one) is returned; on leaving it, the checks end.
pub(super) fn follow_state(
    slot: &mut Slot,
    spec: Option<&ProcessSpec>,
    before: State,
    after: State,
    now: Instant,
) -> Option<HealthCheck> {
    if after == State::Running && before != State::Running {
        let spec = spec?;
        slot.health = spec.health.as_ref().map(|_| Health::Unknown);
        if let Some(run) = &mut slot.current {
            run.memory_check_at = spec.max_memory.map(|_| now + MEMORY_SAMPLE_INTERVAL);
        }
        spec.health.clone()
    } else {
        if after != State::Running {
            slot.end_checks();
            // "unhealthy" stays while the restart it caused is under way.
            if slot.health == Some(Health::Healthy) {
                slot.health = Some(Health::Unknown);
            }
        }
        None
    }
}

/// A reload changed `health` or `max_memory` (and nothing that needs a restart): the
/// checks of `slot` as it runs start over from `spec`; the check to start, if any.
pub(super) fn refresh(
    slot: &mut Slot,
    spec: Option<&ProcessSpec>,
    now: Instant,
) -> Option<HealthCheck> {
    slot.end_checks();
    slot.health = None;
    let state = slot.machine.state();
    let before = if state == State::Running {
        State::Starting
    } else {
        state
    };
    let check = follow_state(slot, spec, before, state, now);
    if slot.health.is_none() && spec.is_some_and(|spec| spec.health.is_some()) {
        slot.health = Some(Health::Unknown);
    }
    check
}

/// Start the `health` task of the current run of `slot` (at `index`), which runs as
/// the instance does (its environment, `cwd` and account); what to say if it cannot.
pub(super) fn start(
    slot: &mut Slot,
    index: usize,
    check: HealthCheck,
    cwd: std::path::PathBuf,
    identity: Option<&crate::process::identity::Identity>,
    probing: &Probing<'_>,
) -> Option<Step> {
    let env = slot.env.to_vec();
    let probe = match ready::resolve(&check.probe, &env, cwd, identity) {
        Ok(probe) => probe,
        Err(error) => {
            let reason = error.under("health");
            return Some(Step::Say(
                Level::Error,
                format!(
                    "{}: the health check cannot run: {reason}",
                    slot.instance.name
                ),
            ));
        }
    };
    let (events, run) = (probing.events.clone(), slot.run);
    let task = probing
        .runtime
        .spawn(keep_checking(probe, check, move |report| {
            let _ = events.send(Event::Health {
                slot: index,
                run,
                report,
            });
        }));
    match &mut slot.current {
        Some(current) => current.health_task = Some(task.abort_handle()),
        None => task.abort(),
    }
    None
}

/// What the health task of run `run` of `slot` (at `index`) said: whether the instance
/// changed, and what follows (a restart when it failed `retries` times in a row, a
/// warning before that).
pub(super) fn on_report(
    slot: &mut Slot,
    index: usize,
    run: u64,
    report: HealthReport,
) -> (bool, Option<Step>) {
    let checking = slot
        .current
        .as_ref()
        .is_some_and(|current| current.health_task.is_some());
    if slot.run != run || slot.machine.state() != State::Running || !checking {
        return (false, None);
    }
    slot.last_probe = Some(match &report {
        HealthReport::Passed => "health check passed".to_string(),
        HealthReport::Failed { said, .. } => format!("health check failed: {said}"),
    });
    let step = match report {
        HealthReport::Passed => {
            slot.health = Some(Health::Healthy);
            None
        }
        HealthReport::Failed {
            said,
            in_a_row,
            retries,
        } if in_a_row >= retries => {
            slot.health = Some(Health::Unhealthy);
            if let Some(current) = &mut slot.current {
                current.health_task = None;
            }
            let trouble = Trouble::Unhealthy {
                said,
                failures: in_a_row,
            };
            Some(Step::Apply(index, Input::Trouble(trouble)))
        }
        HealthReport::Failed {
            said,
            in_a_row,
            retries,
        } => Some(Step::Say(
            Level::Warning,
            format!(
                "{}: health check failed ({in_a_row} of {retries}): {said}",
                slot.instance.name
            ),
        )),
    };
    (true, step)
}

/// Checks that fall due close together run in one wake-up of the probes' thread: each
/// attempt waits until the next multiple of this (or of an eighth of the interval, if
/// that is shorter) on a clock shared by every check, the way systemd's `AccuracySec`
/// coalesces timers (far more finely). The cadence itself does not drift: the next
/// attempt is due one interval after the previous one was due, then rounded.
const ALIGNMENT: Duration = Duration::from_millis(250);

/// The moment every check's deadlines are rounded against.
static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();

/// `due`, rounded up to a multiple of `granularity` past [`EPOCH`].
fn aligned(due: tokio::time::Instant, granularity: Duration) -> tokio::time::Instant {
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let since = due.saturating_duration_since(epoch).as_nanos();
    let grain = granularity.as_nanos().max(1);
    let grains = since.div_ceil(grain);
    let offset = u64::try_from(grains * grain).unwrap_or(u64::MAX);
    epoch + Duration::from_nanos(offset)
}

/// Attempt `probe` every `check.interval` until `check.retries` attempts in a row failed;
/// `tell` hears of each failure and of each pass that follows a failure (or comes
/// first).
pub(crate) async fn keep_checking(probe: Probe, check: HealthCheck, tell: impl Fn(HealthReport)) {
    let granularity = (check.interval / 8).min(ALIGNMENT);
    let mut due = tokio::time::Instant::now();
    let mut failures = 0;
    let mut passing = false;
    loop {
        // A slow attempt (up to `timeout`, never more than `interval`) delays the next
        // one rather than causing a burst.
        due = (due + check.interval).max(tokio::time::Instant::now());
        tokio::time::sleep_until(aligned(due, granularity)).await;
        let said = match ready::attempt_within(&probe, check.timeout).await {
            Ok(()) => {
                failures = 0;
                if !passing {
                    passing = true;
                    tell(HealthReport::Passed);
                }
                continue;
            }
            Err(reason) => reason,
        };
        passing = false;
        failures += 1;
        tell(HealthReport::Failed {
            said,
            in_a_row: failures,
            retries: check.retries,
        });
        if failures >= check.retries {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::config::ReadyProbe;

    fn check(port: u16, retries: u32) -> (Probe, HealthCheck) {
        let probe = Probe::Tcp { port };
        let check = HealthCheck {
            probe: ReadyProbe::Tcp(port.to_string()),
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(50),
            retries,
        };
        (probe, check)
    }

    #[test]
    fn deadlines_round_up_to_a_shared_grain_and_never_earlier() {
        let grain = Duration::from_millis(250);
        let now = tokio::time::Instant::now();
        let epoch = *EPOCH.get_or_init(|| now);
        for offset_ms in [1_u64, 100, 249, 250, 251, 10_000, 10_123] {
            let due = now + Duration::from_millis(offset_ms);
            let at = aligned(due, grain);
            assert!(at >= due, "{offset_ms} ms: earlier than due");
            assert!(at - due < grain, "{offset_ms} ms: a grain or more late");
            assert_eq!((at - epoch).as_nanos() % grain.as_nanos(), 0);
        }
        // Two checks due within one grain of each other wake together.
        let first = aligned(epoch + Duration::from_millis(1_010), grain);
        let second = aligned(epoch + Duration::from_millis(1_240), grain);
        assert_eq!(first, second);
    }

    #[tokio::test]
    async fn a_closed_port_fails_retries_times_then_the_check_ends() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let (probe, check) = check(port, 3);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        keep_checking(probe, check, move |report| {
            sink.lock().unwrap().push(report)
        })
        .await;
        let heard = heard.lock().unwrap();
        let counts: Vec<u32> = heard
            .iter()
            .map(|report| match report {
                HealthReport::Failed { in_a_row, .. } => *in_a_row,
                HealthReport::Passed => 0,
            })
            .collect();
        assert_eq!(counts, [1, 2, 3]);
    }

    #[tokio::test]
    async fn an_open_port_passes_once_and_is_not_reported_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (probe, check) = check(port, 3);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let task = tokio::spawn(keep_checking(probe, check, move |report| {
            sink.lock().unwrap().push(report);
        }));
        // Several intervals pass; accept connections meanwhile.
        let accept = async {
            loop {
                let _ = listener.accept().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(400), accept).await;
        task.abort();
        assert_eq!(*heard.lock().unwrap(), [HealthReport::Passed]);
    }
}
