//! The `STATUS=` line: how many instances are in each state, e.g. "5 running, 1 backoff",
//! and how many fail their `health` check ("…, 1 unhealthy").
//!
//! Counts rather than names keep the line short and make it change only when something
//! moved from one state to another, which is when systemd should hear about it.

use crate::supervisor::{Health, Progress, Snapshot, State};

/// "5 running, 1 backoff"; "stopping: 2 running, 3 stopped" during shutdown.
pub(crate) fn summary(snapshot: &Snapshot) -> String {
    let mut parts = Vec::new();
    for state in State::BY_CONCERN {
        let count = snapshot
            .instances
            .iter()
            .filter(|instance| instance.state == state)
            .count();
        if count > 0 {
            parts.push(format!("{count} {state}"));
        }
    }
    // A running instance whose check fails is about to restart: worth a word.
    let unhealthy = snapshot
        .instances
        .iter()
        .filter(|instance| instance.health == Some(Health::Unhealthy))
        .count();
    if unhealthy > 0 {
        parts.push(format!("{unhealthy} unhealthy"));
    }
    let counts = if parts.is_empty() {
        "no processes".to_string()
    } else {
        parts.join(", ")
    };
    match snapshot.progress {
        Progress::Stopping => format!("stopping: {counts}"),
        _ => counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::InstanceStatus;

    fn instance(state: State) -> InstanceStatus {
        InstanceStatus {
            name: "x".into(),
            process: "x".into(),
            state,
            pid: None,
            restarts: 0,
            exit_code: None,
            port: None,
            uptime_ms: None,
            last_exit: None,
            last_restart: None,
            reason: None,
            health: None,
            cpu_percent: None,
            memory_bytes: None,
            next_run: None,
        }
    }

    #[test]
    fn states_are_counted_in_a_fixed_order() {
        let snapshot = Snapshot {
            project: "shop".into(),
            taken_ms: None,
            progress: Progress::Up,
            instances: [
                State::Backoff,
                State::Running,
                State::Running,
                State::Exited,
            ]
            .map(instance)
            .to_vec(),
        };
        assert_eq!(summary(&snapshot), "2 running, 1 backoff, 1 exited");
        let stopping = Snapshot {
            progress: Progress::Stopping,
            ..snapshot
        };
        assert_eq!(
            summary(&stopping),
            "stopping: 2 running, 1 backoff, 1 exited"
        );
    }

    #[test]
    fn unhealthy_instances_are_counted_after_the_states() {
        let mut stuck = instance(State::Stopping);
        stuck.health = Some(Health::Unhealthy);
        let mut fine = instance(State::Running);
        fine.health = Some(Health::Healthy);
        let snapshot = Snapshot {
            project: "shop".into(),
            taken_ms: None,
            progress: Progress::Up,
            instances: vec![fine, stuck],
        };
        assert_eq!(summary(&snapshot), "1 running, 1 stopping, 1 unhealthy");
    }
}
