//! Every transition of the instance state machine, with made-up instants: no processes,
//! no sleeps.

use super::*;

fn settings() -> Settings {
    Settings {
        backoff: Duration::from_millis(100),
        backoff_max: Duration::from_millis(800),
        max_restarts: 3,
        restart_window: Duration::from_secs(10),
        stop_sequence: term_then_kill(Duration::from_secs(5)),
        ready_timeout: Duration::from_secs(60),
        ..Settings::default()
    }
}

/// The default one-step sequence with this wait.
fn term_then_kill(wait: Duration) -> Vec<crate::config::StopStep> {
    vec![crate::config::StopStep {
        action: StopAction::Signal(Signal::SIGTERM),
        wait,
    }]
}

fn at(base: Instant, millis: u64) -> Instant {
    base + Duration::from_millis(millis)
}

/// A machine already spawned and running with pid 10, started at `base`.
fn running(settings: Settings, base: Instant) -> Lifecycle {
    let mut machine = Lifecycle::new(settings, false);
    assert_eq!(machine.handle(Input::Start, base), vec![Action::Spawn]);
    machine.handle(Input::Spawned { pid: 10 }, base);
    machine.handle(Input::Ready, base);
    assert_eq!(machine.state(), State::Running);
    machine
}

fn crash(code: i32) -> Input {
    Input::Exited(ExitStatus::Code(code))
}

fn delays(actions: &[Action]) -> Vec<Duration> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Report(Report::Restarting { delay }) => Some(*delay),
            _ => None,
        })
        .collect()
}

#[test]
fn new_instance_is_stopped() {
    let machine = Lifecycle::new(settings(), false);
    assert_eq!(machine.state(), State::Stopped);
    assert_eq!(machine.pid(), None);
}

#[test]
fn start_spawns_and_spawned_reports_the_pid() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), false);
    assert_eq!(machine.handle(Input::Start, base), vec![Action::Spawn]);
    assert_eq!(machine.state(), State::Starting);
    assert_eq!(
        machine.handle(Input::Spawned { pid: 42 }, base),
        vec![Action::Report(Report::Started { pid: 42 })]
    );
    assert_eq!(machine.pid(), Some(42));
    assert_eq!(machine.handle(Input::Ready, base), vec![]);
    assert_eq!(machine.state(), State::Running);
}

#[test]
fn wait_puts_an_idle_instance_in_pending_and_start_leaves_it() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), false);
    machine.handle(Input::Wait, base);
    assert_eq!(machine.state(), State::Pending);
    assert_eq!(machine.handle(Input::Start, base), vec![Action::Spawn]);
    assert_eq!(machine.state(), State::Starting);
}

#[test]
fn wait_does_not_touch_an_active_instance() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Wait, base);
    assert_eq!(machine.state(), State::Running);
}

#[test]
fn spawn_failure_is_failed_with_the_reason() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), false);
    machine.handle(Input::Start, base);
    let problem = SpawnProblem::Os("no such directory".into());
    let actions = machine.handle(Input::SpawnFailed(problem.clone()), base);
    assert_eq!(machine.state(), State::Failed);
    assert_eq!(
        actions,
        vec![Action::Report(Report::Failed(Failure::NotSpawnable(
            problem
        )))]
    );
}

#[test]
fn command_not_found_fails_without_restarting() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let actions = machine.handle(crash(127), at(base, 5));
    assert_eq!(machine.state(), State::Failed);
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Report(Report::Failed(Failure::NotSpawnable(
            SpawnProblem::CommandNotFound
        )))
    )));
    assert!(!actions.contains(&Action::Spawn));
}

#[test]
fn on_failure_restarts_a_crash_after_the_backoff() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let actions = machine.handle(crash(3), at(base, 10));
    assert_eq!(machine.state(), State::Backoff);
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::Exited(ExitStatus::Code(3))),
            Action::Report(Report::Restarting {
                delay: Duration::from_millis(100)
            }),
            Action::SetTimer(at(base, 110)),
        ]
    );
    assert_eq!(
        machine.handle(Input::Timer, at(base, 110)),
        vec![Action::Spawn]
    );
    assert_eq!(machine.state(), State::Starting);
    assert_eq!(machine.restarts(), 1);
}

#[test]
fn on_failure_does_not_restart_a_clean_exit() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let actions = machine.handle(crash(0), at(base, 10));
    assert_eq!(machine.state(), State::Exited);
    assert_eq!(
        actions,
        vec![Action::Report(Report::Exited(ExitStatus::Code(0)))]
    );
    assert_eq!(machine.last_exit(), Some(ExitStatus::Code(0)));
}

#[test]
fn always_restarts_a_clean_exit() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            restart: RestartPolicy::Always,
            ..settings()
        },
        base,
    );
    machine.handle(crash(0), at(base, 10));
    assert_eq!(machine.state(), State::Backoff);
}

#[test]
fn never_leaves_a_crash_failed_and_a_clean_exit_exited() {
    let base = Instant::now();
    let never = Settings {
        restart: RestartPolicy::Never,
        ..settings()
    };
    let mut machine = running(never.clone(), base);
    machine.handle(crash(3), at(base, 10));
    assert_eq!(machine.state(), State::Failed);

    let mut machine = running(never, base);
    machine.handle(crash(0), at(base, 10));
    assert_eq!(machine.state(), State::Exited);
}

#[test]
fn a_signal_death_counts_as_a_failure() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let actions = machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGSEGV)), base);
    assert_eq!(machine.state(), State::Backoff);
    assert_eq!(
        actions[0],
        Action::Report(Report::Exited(ExitStatus::Signal(Signal::SIGSEGV)))
    );
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            max_restarts: 100,
            ..settings()
        },
        base,
    );
    let mut seen = Vec::new();
    let mut now = base;
    for _ in 0..6 {
        now += Duration::from_millis(1);
        seen.extend(delays(&machine.handle(crash(1), now)));
        machine.handle(Input::Timer, now);
        machine.handle(Input::Spawned { pid: 11 }, now);
    }
    let millis: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
    assert_eq!(millis, vec![100, 200, 400, 800, 800, 800]);
}

#[test]
fn backoff_resets_after_a_stable_run() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(crash(1), at(base, 1));
    machine.handle(Input::Timer, at(base, 101));
    machine.handle(Input::Spawned { pid: 11 }, at(base, 101));
    assert_eq!(
        delays(&machine.handle(crash(1), at(base, 102))),
        vec![Duration::from_millis(200)]
    );
    machine.handle(Input::Timer, at(base, 302));
    machine.handle(Input::Spawned { pid: 12 }, at(base, 302));
    // This run lasts backoff_max (800ms): stable, so the next delay is the first one again.
    assert_eq!(
        delays(&machine.handle(crash(1), at(base, 1102))),
        vec![Duration::from_millis(100)]
    );
}

#[test]
fn zero_backoff_respawns_at_once() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            backoff: Duration::ZERO,
            ..settings()
        },
        base,
    );
    let actions = machine.handle(crash(1), at(base, 1));
    assert_eq!(actions.last(), Some(&Action::Spawn));
    assert_eq!(machine.state(), State::Starting);
}

#[test]
fn max_restarts_allows_that_many_restarts_then_fails() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let mut now = base;
    for restart in 1..=3 {
        now += Duration::from_millis(1);
        machine.handle(crash(1), now);
        assert_eq!(machine.state(), State::Backoff, "restart {restart}");
        machine.handle(Input::Timer, now);
        machine.handle(Input::Spawned { pid: 10 + restart }, now);
    }
    let actions = machine.handle(crash(1), now + Duration::from_millis(1));
    assert_eq!(machine.state(), State::Failed);
    assert!(actions.iter().any(|a| matches!(a,
        Action::Report(Report::Failed(failure)) if failure.to_string() == "restart limit reached (3 restarts within 10s)")));
    assert_eq!(machine.restarts(), 3);
}

#[test]
fn max_restarts_zero_fails_on_the_first_crash() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            max_restarts: 0,
            ..settings()
        },
        base,
    );
    machine.handle(crash(1), at(base, 1));
    assert_eq!(machine.state(), State::Failed);
}

#[test]
fn crashes_after_the_process_was_up_count_against_the_window() {
    // A process that runs for 2s each time (ready, then crashes) still uses up the budget
    // of 3 restarts in 10s.
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let mut now = base;
    for pid in 11..=13 {
        now += Duration::from_secs(2);
        machine.handle(crash(1), now);
        machine.handle(Input::Timer, now);
        machine.handle(Input::Spawned { pid }, now);
        machine.handle(Input::Ready, now);
        assert_eq!(machine.state(), State::Running);
    }
    now += Duration::from_secs(2);
    machine.handle(crash(1), now);
    assert_eq!(machine.state(), State::Failed);
}

#[test]
fn restarts_older_than_the_window_are_forgotten() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let mut now = base;
    for pid in 11..=13 {
        now += Duration::from_secs(4);
        machine.handle(crash(1), now);
        machine.handle(Input::Timer, now);
        machine.handle(Input::Spawned { pid }, now);
    }
    // The first restart (at 4s) is 12s old at 16s: only two remain in the window.
    now += Duration::from_secs(4);
    machine.handle(crash(1), now);
    assert_eq!(machine.state(), State::Backoff);
}

#[test]
fn stop_signals_the_group_and_arms_the_stop_timeout() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    let actions = machine.handle(Input::Stop, at(base, 1));
    assert_eq!(machine.state(), State::Stopping);
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::Stopping {
                first: StopAction::Signal(Signal::SIGTERM)
            }),
            Action::Signal(Signal::SIGTERM),
            Action::SetTimer(at(base, 5001)),
        ]
    );
    let actions = machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGTERM)), base);
    assert_eq!(machine.state(), State::Stopped);
    assert_eq!(
        actions,
        vec![Action::CancelTimer, Action::Report(Report::Stopped)]
    );
}

#[test]
fn stop_timeout_escalates_to_sigkill() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Stop, base);
    let actions = machine.handle(Input::Timer, at(base, 5000));
    assert_eq!(actions.last(), Some(&Action::Signal(Signal::SIGKILL)));
    assert_eq!(machine.state(), State::Stopping);
    machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGKILL)), base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn stop_uses_the_configured_signal() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            stop_sequence: vec![crate::config::StopStep {
                action: StopAction::Signal(Signal::SIGINT),
                wait: Duration::from_secs(5),
            }],
            ..settings()
        },
        base,
    );
    let actions = machine.handle(Input::Stop, base);
    assert!(actions.contains(&Action::Signal(Signal::SIGINT)));
}

#[test]
fn stop_during_backoff_cancels_the_restart() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(crash(1), base);
    let actions = machine.handle(Input::Stop, base);
    assert_eq!(machine.state(), State::Stopped);
    assert_eq!(
        actions,
        vec![Action::CancelTimer, Action::Report(Report::Stopped)]
    );
    assert_eq!(machine.handle(Input::Timer, at(base, 500)), vec![]);
}

#[test]
fn stop_while_pending_is_stopped() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), false);
    machine.handle(Input::Wait, base);
    assert_eq!(machine.handle(Input::Stop, base), vec![]);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn stop_while_starting_stops() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), true);
    machine.handle(Input::Start, base);
    machine.handle(Input::Spawned { pid: 5 }, base);
    machine.handle(Input::Stop, base);
    assert_eq!(machine.state(), State::Stopping);
}

#[test]
fn stop_of_an_ended_instance_changes_nothing() {
    let base = Instant::now();
    for end in [crash(0), crash(127)] {
        let mut machine = running(settings(), base);
        machine.handle(end, base);
        let before = machine.state();
        assert_eq!(machine.handle(Input::Stop, base), vec![]);
        assert_eq!(machine.state(), before);
    }
}

#[test]
fn an_exit_while_stopping_is_not_restarted_even_when_it_is_a_crash() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            restart: RestartPolicy::Always,
            ..settings()
        },
        base,
    );
    machine.handle(Input::Stop, base);
    machine.handle(crash(1), base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn restart_stops_then_spawns_again() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Restart(RestartCause::Request), base);
    assert_eq!(machine.state(), State::Stopping);
    let actions = machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGTERM)), base);
    assert_eq!(actions.last(), Some(&Action::Spawn));
    assert_eq!(machine.state(), State::Starting);
    assert_eq!(machine.restarts(), 1);
}

#[test]
fn restart_during_backoff_spawns_now() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(crash(1), base);
    assert_eq!(
        machine.handle(Input::Restart(RestartCause::Request), base),
        vec![Action::CancelTimer, Action::Spawn]
    );
}

#[test]
fn restart_of_a_failed_instance_starts_it_with_a_fresh_budget() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            max_restarts: 0,
            ..settings()
        },
        base,
    );
    machine.handle(crash(1), base);
    assert_eq!(machine.state(), State::Failed);
    assert_eq!(
        machine.handle(Input::Restart(RestartCause::Request), base),
        vec![Action::Spawn]
    );
    assert_eq!(machine.restarts(), 0);
}

#[test]
fn start_while_stopping_starts_again_once_stopped() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Stop, base);
    assert_eq!(machine.handle(Input::Start, base), vec![]);
    let actions = machine.handle(crash(0), base);
    assert_eq!(actions.last(), Some(&Action::Spawn));
}

#[test]
fn start_while_running_changes_nothing() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    assert_eq!(machine.handle(Input::Start, base), vec![]);
    assert_eq!(machine.state(), State::Running);
}

#[test]
fn kill_sends_sigkill_at_once_even_while_stopping() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Stop, base);
    assert_eq!(
        machine.handle(Input::Kill, base),
        vec![Action::CancelTimer, Action::Signal(Signal::SIGKILL)]
    );
    machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGKILL)), base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn kill_in_backoff_or_pending_is_stopped() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(crash(1), base);
    machine.handle(Input::Kill, base);
    assert_eq!(machine.state(), State::Stopped);

    let mut machine = Lifecycle::new(settings(), false);
    machine.handle(Input::Wait, base);
    machine.handle(Input::Kill, base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn retire_stops_what_waits_and_forbids_restarts() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(crash(1), base);
    assert_eq!(
        machine.handle(Input::Retire, base),
        vec![Action::CancelTimer, Action::Report(Report::Stopped)]
    );
    assert_eq!(machine.state(), State::Stopped);
    assert_eq!(machine.handle(Input::Start, base), vec![]);

    let mut machine = Lifecycle::new(settings(), false);
    machine.handle(Input::Wait, base);
    machine.handle(Input::Retire, base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn a_retired_process_that_exits_is_stopped_not_restarted() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    assert_eq!(machine.handle(Input::Retire, base), vec![]);
    assert_eq!(machine.state(), State::Running);
    let actions = machine.handle(crash(1), base);
    assert_eq!(machine.state(), State::Stopped);
    assert_eq!(
        actions,
        vec![Action::Report(Report::Exited(ExitStatus::Code(1)))]
    );
}

#[test]
fn a_retired_restart_in_progress_does_not_start_again() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    machine.handle(Input::Restart(RestartCause::Request), base);
    machine.handle(Input::Retire, base);
    machine.handle(crash(0), base);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn ready_timeout_stops_the_process_and_then_fails_it() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), true);
    machine.handle(Input::Start, base);
    let actions = machine.handle(Input::Spawned { pid: 7 }, base);
    assert_eq!(actions.last(), Some(&Action::SetTimer(at(base, 60_000))));
    let actions = machine.handle(Input::Timer, at(base, 60_000));
    assert!(actions.contains(&Action::Signal(Signal::SIGTERM)));
    assert_eq!(machine.state(), State::Stopping);
    let actions = machine.handle(Input::Exited(ExitStatus::Signal(Signal::SIGTERM)), base);
    assert_eq!(machine.state(), State::Failed);
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Report(Report::Failed(Failure::ReadyTimeout { .. }))
    )));
    assert_eq!(
        machine.failure().map(ToString::to_string).as_deref(),
        Some("not ready after 1m (ready_timeout)")
    );
    machine.handle(Input::Start, base);
    assert_eq!(machine.failure(), None);
}

#[test]
fn ready_with_a_probe_cancels_the_ready_timeout() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), true);
    machine.handle(Input::Start, base);
    machine.handle(Input::Spawned { pid: 7 }, base);
    assert_eq!(
        machine.handle(Input::Ready, at(base, 1200)),
        vec![
            Action::CancelTimer,
            Action::Report(Report::Ready {
                after: Duration::from_millis(1200)
            })
        ]
    );
    assert_eq!(machine.handle(Input::Timer, at(base, 60_000)), vec![]);
    assert_eq!(machine.state(), State::Running);
}

#[test]
fn oneshot_exit_zero_is_exited_and_non_zero_is_failed() {
    let base = Instant::now();
    let oneshot = Settings {
        oneshot: true,
        restart: RestartPolicy::Never,
        ..settings()
    };
    let mut machine = running(oneshot.clone(), base);
    machine.handle(crash(0), base);
    assert_eq!(machine.state(), State::Exited);
    let mut machine = running(oneshot, base);
    machine.handle(crash(2), base);
    assert_eq!(machine.state(), State::Failed);
}

#[test]
fn facts_about_no_process_are_ignored() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(settings(), false);
    assert_eq!(machine.handle(crash(1), base), vec![]);
    assert_eq!(machine.handle(Input::Spawned { pid: 3 }, base), vec![]);
    assert_eq!(machine.handle(Input::Ready, base), vec![]);
    assert_eq!(machine.handle(Input::Timer, base), vec![]);
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn reports_read_like_the_spec() {
    assert_eq!(Report::Started { pid: 12 }.to_string(), "started pid 12");
    assert_eq!(
        Report::Exited(ExitStatus::Code(3)).to_string(),
        "exited with code 3"
    );
    assert_eq!(
        Report::Restarting {
            delay: Duration::from_millis(200)
        }
        .to_string(),
        "restarting in 200ms"
    );
    assert_eq!(
        Report::Exited(ExitStatus::Signal(Signal::SIGKILL)).to_string(),
        "killed by signal KILL"
    );
    assert_eq!(
        Report::Ready {
            after: Duration::from_millis(1234)
        }
        .to_string(),
        "ready after 1.2s"
    );
}

#[test]
fn a_service_that_ends_before_its_probe_passed_is_failed_not_exited() {
    let base = Instant::now();
    for status in [ExitStatus::Code(0), ExitStatus::Code(3)] {
        let mut machine = Lifecycle::new(
            Settings {
                restart: RestartPolicy::OnFailure,
                max_restarts: 0,
                ..settings()
            },
            true,
        );
        machine.handle(Input::Start, base);
        machine.handle(Input::Spawned { pid: 7 }, base);
        assert_eq!(machine.state(), State::Starting);
        let actions = machine.handle(Input::Exited(status), at(base, 5));
        assert_eq!(machine.state(), State::Failed, "{status}");
        let expected = if status.success() {
            Failure::ExitedBeforeReady(status)
        } else {
            // A crash is restarted as usual; with no restarts left it is the limit.
            Failure::RestartLimit {
                max: 0,
                window: Duration::from_secs(10),
            }
        };
        assert_eq!(machine.failure(), Some(&expected));
        assert!(actions.contains(&Action::Report(Report::Failed(expected))));
    }
}

#[test]
fn a_oneshot_that_exits_zero_before_its_probe_passed_has_exited() {
    let base = Instant::now();
    let mut machine = Lifecycle::new(
        Settings {
            oneshot: true,
            restart: RestartPolicy::Never,
            ..settings()
        },
        true,
    );
    machine.handle(Input::Start, base);
    machine.handle(Input::Spawned { pid: 7 }, base);
    machine.handle(Input::Exited(ExitStatus::Code(0)), at(base, 5));
    assert_eq!(machine.state(), State::Exited);
}

fn sequence(steps: &[(StopAction, u64)]) -> Vec<crate::config::StopStep> {
    steps
        .iter()
        .map(|(action, seconds)| crate::config::StopStep {
            action: action.clone(),
            wait: Duration::from_secs(*seconds),
        })
        .collect()
}

#[test]
fn a_stop_sequence_takes_each_step_after_the_previous_wait_then_kills() {
    let base = Instant::now();
    let tstp = StopAction::Signal(Signal::SIGTSTP);
    let term = StopAction::Signal(Signal::SIGTERM);
    let mut machine = running(
        Settings {
            stop_sequence: sequence(&[(tstp.clone(), 25), (term.clone(), 10)]),
            ..settings()
        },
        base,
    );
    let actions = machine.handle(Input::Stop, base);
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::Stopping {
                first: tstp.clone()
            }),
            Action::Signal(Signal::SIGTSTP),
            Action::SetTimer(at(base, 25_000)),
        ]
    );
    let actions = machine.handle(Input::Timer, at(base, 25_000));
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::StopStepTimedOut {
                waited: Duration::from_secs(25),
                previous: tstp,
                next: term.clone(),
            }),
            Action::Signal(Signal::SIGTERM),
            Action::SetTimer(at(base, 35_000)),
        ]
    );
    let actions = machine.handle(Input::Timer, at(base, 35_000));
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::StopTimedOut {
                timeout: Duration::from_secs(10),
                last: term,
            }),
            Action::Signal(Signal::SIGKILL),
        ]
    );
    // Nothing more to do until the group is gone.
    assert!(machine.handle(Input::Timer, at(base, 99_000)).is_empty());
    machine.handle(
        Input::Exited(ExitStatus::Signal(Signal::SIGKILL)),
        at(base, 35_001),
    );
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn a_stop_sequence_ends_early_when_the_instance_is_gone() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            stop_sequence: sequence(&[
                (StopAction::Signal(Signal::SIGTSTP), 25),
                (StopAction::Signal(Signal::SIGTERM), 10),
            ]),
            ..settings()
        },
        base,
    );
    machine.handle(Input::Stop, base);
    let actions = machine.handle(Input::Exited(ExitStatus::Code(0)), at(base, 3_000));
    assert_eq!(
        actions,
        vec![Action::CancelTimer, Action::Report(Report::Stopped)]
    );
    assert_eq!(machine.state(), State::Stopped);
}

#[test]
fn stop_target_main_signals_the_main_process_and_sigkill_still_goes_to_the_group() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            stop_target: crate::config::StopTarget::Main,
            ..settings()
        },
        base,
    );
    let actions = machine.handle(Input::Stop, base);
    assert!(actions.contains(&Action::SignalMain(Signal::SIGTERM)));
    assert!(!actions.contains(&Action::Signal(Signal::SIGTERM)));
    let actions = machine.handle(Input::Timer, at(base, 5_000));
    assert_eq!(actions.last(), Some(&Action::Signal(Signal::SIGKILL)));
}

#[test]
fn a_command_step_runs_the_command_and_waits() {
    let base = Instant::now();
    let docker_stop = StopAction::Command("docker stop web".into());
    let mut machine = running(
        Settings {
            stop_sequence: sequence(&[(docker_stop.clone(), 30)]),
            ..settings()
        },
        base,
    );
    let actions = machine.handle(Input::Stop, base);
    assert_eq!(
        actions,
        vec![
            Action::Report(Report::Stopping {
                first: docker_stop.clone()
            }),
            Action::RunStopCommand("docker stop web".into()),
            Action::SetTimer(at(base, 30_000)),
        ]
    );
    let report = Report::StopTimedOut {
        timeout: Duration::from_secs(30),
        last: docker_stop,
    };
    assert_eq!(
        report.to_string(),
        "still running 30s after `docker stop web`: sending SIGKILL"
    );
    assert_eq!(
        Report::Stopping {
            first: StopAction::Command("docker stop web".into())
        }
        .to_string(),
        "stopping (running `docker stop web`)"
    );
}

#[test]
fn a_kill_during_a_stop_sequence_kills_now_and_takes_no_more_steps() {
    let base = Instant::now();
    let mut machine = running(
        Settings {
            stop_sequence: sequence(&[
                (StopAction::Signal(Signal::SIGTSTP), 25),
                (StopAction::Signal(Signal::SIGTERM), 10),
            ]),
            ..settings()
        },
        base,
    );
    machine.handle(Input::Stop, base);
    let actions = machine.handle(Input::Kill, at(base, 1_000));
    assert_eq!(
        actions,
        vec![Action::CancelTimer, Action::Signal(Signal::SIGKILL)]
    );
    assert!(machine.handle(Input::Timer, at(base, 25_000)).is_empty());
}

#[test]
fn the_one_step_form_reads_as_before() {
    let report = Report::StopTimedOut {
        timeout: Duration::from_secs(1),
        last: StopAction::Signal(Signal::SIGTERM),
    };
    assert_eq!(
        report.to_string(),
        "still running 1s after the stop signal: sending SIGKILL"
    );
    let step = Report::StopStepTimedOut {
        waited: Duration::from_secs(25),
        previous: StopAction::Signal(Signal::SIGTSTP),
        next: StopAction::Signal(Signal::SIGTERM),
    };
    assert_eq!(
        step.to_string(),
        "still running 25s after SIGTSTP: sending SIGTERM"
    );
}

#[test]
fn the_last_restart_says_why_it_happened() {
    let base = Instant::now();
    let mut machine = running(settings(), base);
    assert_eq!(machine.last_restart(), None);
    machine.handle(crash(3), base);
    assert_eq!(
        machine.last_restart(),
        Some(RestartCause::Exit(ExitStatus::Code(3)))
    );
    machine.handle(Input::Timer, at(base, 1000));
    machine.handle(Input::Spawned { pid: 2 }, at(base, 1000));
    machine.handle(Input::Ready, at(base, 1000));
    let trouble = Trouble::OverMemory {
        used: 2 << 20,
        limit: 1 << 20,
    };
    machine.handle(Input::Trouble(trouble), at(base, 2000));
    assert_eq!(machine.last_restart(), Some(RestartCause::MaxMemory));
    assert!(machine.restarting());
    // The process then exits (code 0 after its SIGTERM): still a memory restart.
    machine.handle(Input::Exited(ExitStatus::Code(0)), at(base, 2100));
    assert_eq!(machine.last_restart(), Some(RestartCause::MaxMemory));
    assert_eq!(RestartCause::MaxMemory.to_string(), "max_memory");
    assert_eq!(RestartCause::Health.to_string(), "health check");
}
