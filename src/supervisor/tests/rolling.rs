//! Rolling restarts on the fake spawner: one instance at a time, the next once the
//! previous runs again; a failure stops the roll.

use nix::sys::signal::Signal;

use super::*;

fn rolling_web() -> ProcessSpec {
    let mut web = service("web", &[]);
    web.scale = 3;
    web.rolling = true;
    web
}

fn pids(harness: &Harness) -> Vec<i32> {
    let status = harness.status.borrow().clone();
    ["web.1", "web.2", "web.3"]
        .iter()
        .map(|name| instance(&status, name).and_then(|i| i.pid).unwrap_or(0))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_rolling_restart_stops_the_next_instance_only_once_the_previous_runs_again() {
    let mut harness = Harness::start(vec![rolling_web()]).await;
    for name in ["web.1", "web.2", "web.3"] {
        harness.until_state(name, State::Running).await;
    }
    let old = pids(&harness);
    let answer = harness.send(Request::Restart {
        names: vec!["web".into()],
        rolling: false,
    });
    for (step, &pid) in old.iter().enumerate() {
        // Each stop is a SIGTERM and the SIGCONT that follows it.
        harness.until_signals(2 * (step + 1)).await;
        // Only this one was asked to stop; the others still run.
        let signals = harness.signals();
        assert_eq!(
            signals[signals.len() - 2..],
            [(pid, Signal::SIGTERM), (pid, Signal::SIGCONT)]
        );
        assert_eq!(signals.len(), 2 * (step + 1), "one at a time");
        let running = harness
            .status
            .borrow()
            .instances
            .iter()
            .filter(|i| i.state == State::Running)
            .count();
        assert!(running >= 2, "N - 1 keep serving");
        harness.exit(pid, TERM);
    }
    let answered = acted(answer).await.unwrap().instances;
    let new: Vec<i32> = answered.iter().filter_map(|i| i.pid).collect();
    assert_eq!(new.len(), 3);
    assert!(
        new.iter().all(|pid| !old.contains(pid)),
        "{new:?} vs {old:?}"
    );
    drop(harness.shutdown(ShutdownMode::Graceful));
    for pid in new {
        harness.exit(pid, TERM);
    }
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_rolling_restart_stops_where_an_instance_does_not_come_back() {
    let mut harness = Harness::start(vec![rolling_web()]).await;
    for name in ["web.1", "web.2", "web.3"] {
        harness.until_state(name, State::Running).await;
    }
    let old = pids(&harness);
    // From now on nothing can be spawned: web.1 will not come back.
    harness.processes.world().refuse_spawns = true;
    let answer = harness.send(Request::Restart {
        names: vec!["web".into()],
        rolling: true,
    });
    harness.until_signals(2).await;
    harness.exit(old[0], TERM);
    let answered = acted(answer).await.unwrap().instances;
    let states: Vec<(String, State, Option<i32>)> = answered
        .iter()
        .map(|i| (i.name.clone(), i.state, i.pid))
        .collect();
    assert_eq!(
        states,
        [
            ("web.1".to_string(), State::Failed, None),
            ("web.2".to_string(), State::Running, Some(old[1])),
            ("web.3".to_string(), State::Running, Some(old[2])),
        ]
    );
    assert_eq!(
        harness.signals().len(),
        2,
        "the roll went no further (one SIGTERM, its SIGCONT)"
    );
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(old[1], TERM);
    harness.exit(old[2], TERM);
    harness.finish().await;
}
