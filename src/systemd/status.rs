//! The `STATUS=` line: how many instances are in each state, e.g. "5 running, 1 backoff".
//!
//! Counts rather than names keep the line short and make it change only when something
//! moved from one state to another, which is when systemd should hear about it.

use crate::control::protocol::{Progress, Snapshot};

/// States in the order a reader cares about them: what works, what is on its way, what
/// is not working.
const ORDER: [&str; 8] = [
    "running", "starting", "pending", "backoff", "stopping", "stopped", "exited", "failed",
];

/// "5 running, 1 backoff"; "stopping: 2 running, 3 stopped" during shutdown.
pub fn summary(snapshot: &Snapshot) -> String {
    let mut parts = Vec::new();
    for state in ORDER {
        let count = snapshot
            .instances
            .iter()
            .filter(|instance| instance.state == state)
            .count();
        if count > 0 {
            parts.push(format!("{count} {state}"));
        }
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
    use crate::control::protocol::InstanceStatus;

    fn instance(state: &str) -> InstanceStatus {
        InstanceStatus {
            name: "x".into(),
            process: "x".into(),
            state: state.into(),
            pid: None,
            restarts: 0,
            exit_code: None,
            port: None,
            uptime_ms: None,
            last_exit: None,
            reason: None,
        }
    }

    #[test]
    fn states_are_counted_in_a_fixed_order() {
        let snapshot = Snapshot {
            project: "shop".into(),
            progress: Progress::Up,
            instances: ["backoff", "running", "running", "exited"]
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
}
