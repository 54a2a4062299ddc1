//! The actor's watch over running instances (`health`, `max_memory`, CPU and memory in
//! `ps`), on the fake spawner and the paused clock: intervals of seconds pass at once.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::*;
use crate::config::{HealthCheck, ReadyProbe};
use crate::process::usage::GroupUsage;
use crate::supervisor::Health;

/// A port nothing listens on: a connect is refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn checked(name: &str, port: u16) -> ProcessSpec {
    let mut process = service(name, &[]);
    process.health = Some(HealthCheck {
        probe: ReadyProbe::Tcp(port.to_string()),
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(2),
        retries: 3,
    });
    process
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_instance_is_stopped_gracefully_and_restarted_as_after_a_crash() {
    let mut harness = Harness::start(vec![checked("web", closed_port())]).await;
    let running = harness.until_state("web", State::Running).await;
    assert_eq!(running.health, Some(Health::Unknown));
    let pid = harness.pid_of("web");
    let started = tokio::time::Instant::now();
    harness.until_signals(1).await;
    // Three failed checks, ten seconds apart, the first one interval after it started.
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() <= Duration::from_secs(32),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        harness.signals(),
        [(pid, Signal::SIGTERM), (pid, Signal::SIGCONT)]
    );
    let stopping = harness.until_state("web", State::Stopping).await;
    assert_eq!(stopping.health, Some(Health::Unhealthy));
    harness.exit(pid, TERM);
    let again = harness
        .until("web restarted", |snapshot| {
            instance(snapshot, "web")
                .is_some_and(|web| web.state == State::Running && web.pid != Some(pid))
        })
        .await;
    let web = instance(&again, "web").unwrap();
    assert_eq!(web.restarts, 1, "counted as a restart");
    assert_eq!(
        web.health,
        Some(Health::Unknown),
        "a new run starts unchecked"
    );
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(harness.pid_of("web"), TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn unhealthy_restarts_count_against_max_restarts() {
    let mut web = checked("web", closed_port());
    web.lifecycle.max_restarts = 1;
    web.lifecycle.restart_window = Duration::from_secs(3600);
    let mut harness = Harness::start(vec![web]).await;
    for round in 1..=2 {
        harness.until_state("web", State::Running).await;
        harness.until_signals(round).await;
        harness.exit(harness.pid_of("web"), TERM);
    }
    let failed = harness.until_state("web", State::Failed).await;
    assert_eq!(
        failed.reason.as_ref().map(ToString::to_string).as_deref(),
        Some("restart limit reached (1 restarts within 1h)")
    );
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn an_instance_above_max_memory_is_restarted_and_one_below_is_not() {
    let mut big = service("big", &[]);
    big.max_memory = Some(100 << 20);
    let mut small = service("small", &[]);
    small.max_memory = Some(100 << 20);
    let mut harness = Harness::start(vec![big, small]).await;
    harness.until_state("big", State::Running).await;
    harness.until_state("small", State::Running).await;
    let (big, small) = (harness.pid_of("big"), harness.pid_of("small"));
    {
        let mut world = harness.processes.world();
        let usage = |rss_bytes| GroupUsage {
            rss_bytes,
            cpu_time: Duration::ZERO,
        };
        world.usage.insert(big, usage(200 << 20));
        world.usage.insert(small, usage(50 << 20));
    }
    let started = tokio::time::Instant::now();
    harness.until_signals(1).await;
    assert!(
        started.elapsed() <= Duration::from_secs(6),
        "sampled every 5 s"
    );
    assert_eq!(
        harness.signals(),
        [(big, Signal::SIGTERM), (big, Signal::SIGCONT)]
    );
    // Another sample of the small one passes (and big's stop timeout has not run out).
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        harness.signals(),
        [(big, Signal::SIGTERM), (big, Signal::SIGCONT)]
    );
    harness.exit(big, TERM);
    let again = harness
        .until("big restarted", |snapshot| {
            instance(snapshot, "big").is_some_and(|b| b.state == State::Running && b.restarts == 1)
        })
        .await;
    assert_ne!(instance(&again, "big").unwrap().pid, Some(big));
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(harness.pid_of("big"), TERM);
    harness.exit(small, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn ps_samples_cpu_since_the_previous_ask_and_the_group_memory() {
    let mut harness = Harness::start(vec![service("web", &[])]).await;
    harness.until_state("web", State::Running).await;
    let pid = harness.pid_of("web");
    let set = |cpu_ms: u64| {
        let usage = GroupUsage {
            rss_bytes: 30 << 20,
            cpu_time: Duration::from_millis(cpu_ms),
        };
        harness.processes.world().usage.insert(pid, usage);
    };
    set(500);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = harness.status().await;
    let web = first.iter().find(|i| i.name == "web").unwrap();
    // No earlier sample: the average since it started.
    assert_eq!(web.cpu_percent, Some(50.0));
    assert_eq!(web.memory_bytes, Some(30 << 20));
    // An ask right after shares that sample: a `ps` loop costs one /proc pass per 250 ms.
    set(600);
    let again = harness.status().await;
    let web = again.iter().find(|i| i.name == "web").unwrap();
    assert_eq!(web.cpu_percent, Some(50.0));
    set(750);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = harness.status().await;
    let web = second.iter().find(|i| i.name == "web").unwrap();
    assert_eq!(web.cpu_percent, Some(25.0), "since the previous ask");
    // Nothing published to watchers carries figures: nothing is sampled for them.
    let published = harness.status.borrow().clone();
    assert_eq!(instance(&published, "web").unwrap().memory_bytes, None);
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(pid, TERM);
    harness.finish().await;
}
