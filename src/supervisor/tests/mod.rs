//! The actor driven through its edges: a fake [`Processes`] that records spawns and
//! signals, exits sent by the test, commands sent as a client would, on tokio's paused
//! clock (so stop timeouts and backoffs of minutes pass at once). No process is started.

use std::collections::BTreeSet;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::{oneshot, watch};

use super::Options;
use super::actor::Finished;
use super::command::{Answer, Command, Refusal, Request, ShutdownMode, WaitUp};
use super::edges::{InputSenders, Inputs, Processes, SpawnRequest, Spawned};
use super::failure::Failure;
use super::snapshot::{Acted, ReloadSummary};
use super::snapshot::{InstanceStatus, Snapshot, State};
use super::terminal::Connection;
use crate::config::{self, Plan, ProcessSpec, fixtures};
use crate::logs::clock::Clock;
use crate::logs::printer::{Printer, Style};
use crate::process::ExitStatus;
use crate::process::reaper::Exit;

/// What the fake OS saw.
#[derive(Default)]
struct World {
    next_pid: i32,
    /// (command, pid), in spawn order.
    spawned: Vec<(String, i32)>,
    /// (pid, signal) to process groups, in the order sent.
    signals: Vec<(i32, Signal)>,
    /// (pid, signal) to main processes alone, in the order sent.
    main_signals: Vec<(i32, Signal)>,
    alive: BTreeSet<i32>,
    /// Every spawn fails from now on (a new version that cannot start).
    refuse_spawns: bool,
    /// What `usage` answers per process group (absent: the group has no member).
    usage: std::collections::HashMap<i32, crate::process::usage::GroupUsage>,
    /// Ports something listens on, and who.
    held_ports: std::collections::HashMap<u16, crate::process::ports::Holder>,
    /// (leader, signal) to the processes that left an instance's group.
    escaped_signals: Vec<(i32, Signal)>,
    /// The listening sockets held, by process.
    listening: std::collections::HashMap<String, std::net::SocketAddr>,
}

#[derive(Default)]
struct FakeProcesses {
    world: Mutex<World>,
}

impl FakeProcesses {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Processes for FakeProcesses {
    fn marker(&self) -> &str {
        "test-marker"
    }

    fn spawn(&self, request: &SpawnRequest<'_>) -> io::Result<Spawned> {
        let mut world = self.world();
        if request.command == "unspawnable" || world.refuse_spawns {
            return Err(io::Error::other("no such program"));
        }
        world.next_pid += 1;
        let pid = 1000 + world.next_pid;
        world.spawned.push((request.command.to_string(), pid));
        world.alive.insert(pid);
        Ok(Spawned {
            pid,
            output: None,
            terminal: None,
        })
    }

    fn signal_group(&self, pgid: i32, signal: Signal) {
        self.world().signals.push((pgid, signal));
    }

    fn signal_process(&self, pid: i32, signal: Signal) {
        self.world().main_signals.push((pid, signal));
    }

    fn listen(&self, process: &str, address: std::net::SocketAddr) -> io::Result<()> {
        self.world().listening.insert(process.to_string(), address);
        Ok(())
    }

    fn close_listener(&self, process: &str) {
        self.world().listening.remove(process);
    }

    fn port_holder(&self, port: u16) -> Option<crate::process::ports::Holder> {
        self.world().held_ports.get(&port).cloned()
    }

    fn signal_all(&self, leader: i32, signal: Signal) {
        self.world().signals.push((leader, signal));
    }

    fn signal_escaped(&self, leader: i32, signal: Signal) {
        self.world().escaped_signals.push((leader, signal));
    }

    /// A SIGKILL to the instance, seen as one to its group: nothing when its processes
    /// are already gone (the instance ended on its own), as killing nobody does nothing.
    fn end(&self, leader: i32) {
        let mut world = self.world();
        if world.alive.contains(&leader) {
            world.signals.push((leader, Signal::SIGKILL));
        }
    }

    fn alive(&self, leader: i32) -> bool {
        self.world().alive.contains(&leader)
    }

    fn spare_group(&self, _pgid: i32) {}

    fn usage(
        &self,
        pgids: &[i32],
    ) -> std::collections::HashMap<i32, crate::process::usage::GroupUsage> {
        let world = self.world();
        pgids
            .iter()
            .filter_map(|pid| world.usage.get(pid).map(|usage| (*pid, *usage)))
            .collect()
    }

    fn release_group(&self, _pgid: i32) {}

    fn sweep(&self) -> usize {
        0
    }
}

/// A supervisor running on the fake, and the ends a test drives it with.
struct Harness {
    senders: InputSenders,
    processes: Arc<FakeProcesses>,
    status: watch::Receiver<Snapshot>,
    supervisor: tokio::task::JoinHandle<Finished>,
    _root: tempfile::TempDir,
}

impl Harness {
    async fn start(processes: Vec<ProcessSpec>) -> Harness {
        let root = tempfile::tempdir().unwrap();
        let plan = Plan {
            root: root.path().to_path_buf(),
            ..fixtures::plan(processes)
        };
        Harness::start_plan(plan, root).await
    }

    async fn start_plan(plan: Plan, root: tempfile::TempDir) -> Harness {
        let (inputs, senders) = Inputs::channels();
        let style = Style {
            color: false,
            clock: Clock::default(),
            name_width: 8,
        };
        let printer = Printer::start_with(style, io::sink()).unwrap();
        let (handle, handed) = oneshot::channel();
        let options = Options {
            only: Vec::new(),
            printer,
            handle: Some(handle),
            exit_on_failure: false,
            probes: None,
        };
        let processes = Arc::new(FakeProcesses::default());
        let edges = super::Edges {
            processes: processes.clone(),
            watching: Box::new(()),
            manager: Box::new(()),
        };
        let supervisor = tokio::spawn(super::run(plan, options, inputs, edges));
        let status = handed.await.unwrap().status;
        Harness {
            senders,
            processes,
            status,
            supervisor,
            _root: root,
        }
    }

    /// Wait (on the paused clock) until a snapshot satisfies `condition`.
    async fn until(&mut self, what: &str, condition: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let wait = self.status.wait_for(|snapshot| condition(snapshot));
        let found = match tokio::time::timeout(Duration::from_secs(3600), wait).await {
            Ok(Ok(snapshot)) => Some(snapshot.clone()),
            _ => None,
        };
        found.unwrap_or_else(|| panic!("never: {what}; last: {:#?}", *self.status.borrow()))
    }

    async fn until_state(&mut self, name: &str, state: State) -> InstanceStatus {
        let snapshot = self
            .until(&format!("{name} {state}"), |snapshot| {
                instance(snapshot, name).is_some_and(|i| i.state == state)
            })
            .await;
        instance(&snapshot, name).unwrap().clone()
    }

    fn spawned(&self) -> Vec<String> {
        let world = self.processes.world();
        world
            .spawned
            .iter()
            .map(|(command, _)| command.clone())
            .collect()
    }

    fn pid_of(&self, command: &str) -> i32 {
        let world = self.processes.world();
        world
            .spawned
            .iter()
            .rev()
            .find(|(c, _)| c == command)
            .map(|&(_, pid)| pid)
            .unwrap_or_else(|| panic!("{command} never spawned"))
    }

    /// Wait (on the paused clock: each step is a millisecond of virtual time) until
    /// `count` signals were sent.
    async fn until_signals(&self, count: usize) {
        for _ in 0..10_000_000 {
            if self.signals().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("never {count} signals: {:?}", self.signals());
    }

    fn signals(&self) -> Vec<(i32, Signal)> {
        self.processes.world().signals.clone()
    }

    /// The process `pid` (and its group) ends with `status`.
    fn exit(&self, pid: i32, status: ExitStatus) {
        self.processes.world().alive.remove(&pid);
        let exit = Exit {
            pid,
            status,
            at: super::clock::now(),
        };
        self.senders.exits.send(exit).unwrap();
    }

    /// Send `request`; the answer comes on the receiver.
    fn send(&self, request: Request) -> oneshot::Receiver<Result<Answer, Refusal>> {
        let (reply, answer) = oneshot::channel();
        self.senders
            .commands
            .send(Command { request, reply })
            .unwrap();
        answer
    }

    async fn ask(&self, request: Request) -> Result<Answer, Refusal> {
        self.send(request).await.unwrap()
    }

    /// The answer of a request that changes instances.
    async fn act(&self, request: Request) -> Result<Acted, Refusal> {
        acted(self.send(request)).await
    }

    async fn status(&self) -> Vec<InstanceStatus> {
        let Ok(Answer::Instances(instances)) = self.ask(Request::Ps).await else {
            panic!("no instances");
        };
        instances
    }

    /// `up -d`'s wait: its verdict.
    async fn wait_up(&self) -> WaitUp {
        let Ok(Answer::Waiting { verdict, .. }) =
            self.ask(Request::WaitUp { progress: false }).await
        else {
            panic!("no wait");
        };
        verdict.await.unwrap()
    }

    async fn connect(&self, name: &str) -> Result<Connection, Refusal> {
        let name = name.to_string();
        self.ask(Request::Connect { name })
            .await
            .map(|answer| match answer {
                Answer::Terminal(connection) => connection,
                other => panic!("not a terminal: {other:?}"),
            })
    }

    fn shutdown(&self, mode: ShutdownMode) -> oneshot::Receiver<Result<Answer, Refusal>> {
        self.send(match mode {
            ShutdownMode::Graceful => Request::Down,
            ShutdownMode::Kill => Request::Kill,
        })
    }

    /// Wait for the supervisor to end (the test has made every process exit) and answer
    /// the `down` callers.
    async fn finish(self) {
        let finished = tokio::time::timeout(Duration::from_secs(3600), self.supervisor)
            .await
            .expect("the supervisor ended")
            .unwrap();
        finished.say_goodbye().await;
    }
}

fn instance<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a InstanceStatus> {
    snapshot.instances.iter().find(|i| i.name == name)
}

fn service(name: &str, depends_on: &[&str]) -> ProcessSpec {
    ProcessSpec {
        depends_on: depends_on.iter().map(ToString::to_string).collect(),
        ..fixtures::process(name, name)
    }
}

fn oneshot_process(name: &str) -> ProcessSpec {
    let mut process = fixtures::process(name, name);
    process.lifecycle.oneshot = true;
    process.lifecycle.restart = config::RestartPolicy::Never;
    process
}

const TERM: ExitStatus = ExitStatus::Signal(Signal::SIGTERM);

/// `stop_signal = "TERM"` with this `stop_timeout`.
fn term_waiting(wait: Duration) -> Vec<config::StopStep> {
    vec![config::StopStep {
        action: config::StopAction::Signal(Signal::SIGTERM),
        wait,
    }]
}

#[tokio::test(start_paused = true)]
async fn a_dependant_waits_for_its_oneshot_to_exit_zero() {
    let mut harness = Harness::start(vec![
        oneshot_process("migrate"),
        service("web", &["migrate"]),
    ])
    .await;
    harness.until_state("web", State::Pending).await;
    assert_eq!(harness.spawned(), ["migrate"]);
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(0));
    harness.until_state("web", State::Running).await;
    assert_eq!(harness.spawned(), ["migrate", "web"]);
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(harness.pid_of("web"), TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_oneshot_keeps_its_dependants_pending() {
    let mut harness = Harness::start(vec![
        oneshot_process("migrate"),
        service("web", &["migrate"]),
    ])
    .await;
    harness.until_state("web", State::Pending).await;
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(3));
    harness.until_state("migrate", State::Failed).await;
    let web = harness.until_state("web", State::Pending).await;
    assert_eq!(web.pid, None);
    assert_eq!(harness.spawned(), ["migrate"]);
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_dependants_before_what_they_depend_on() {
    let mut harness = Harness::start(vec![service("db", &[]), service("web", &["db"])]).await;
    harness.until_state("web", State::Running).await;
    let (db, web) = (harness.pid_of("db"), harness.pid_of("web"));
    let farewell = harness.shutdown(ShutdownMode::Graceful);
    harness.until_state("web", State::Stopping).await;
    assert_eq!(
        harness.signals(),
        [(web, Signal::SIGTERM), (web, Signal::SIGCONT)]
    );
    assert_eq!(
        harness.until_state("db", State::Running).await.pid,
        Some(db)
    );
    harness.exit(web, TERM);
    harness.until_state("db", State::Stopping).await;
    assert_eq!(
        harness.signals(),
        [
            (web, Signal::SIGTERM),
            (web, Signal::SIGCONT),
            (db, Signal::SIGTERM),
            (db, Signal::SIGCONT)
        ]
    );
    harness.exit(db, TERM);
    harness.finish().await;
    assert!(farewell.await.is_ok(), "`down` is answered at the end");
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_dependants_behind_an_exited_oneshot() {
    // db ← migrate (oneshot) ← web: web still uses db after migrate has exited.
    let mut migrate = oneshot_process("migrate");
    migrate.depends_on = vec!["db".into()];
    let mut harness = Harness::start(vec![
        service("db", &[]),
        migrate,
        service("web", &["migrate"]),
    ])
    .await;
    harness.until_state("migrate", State::Running).await;
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(0));
    harness.until_state("web", State::Running).await;
    let (db, web) = (harness.pid_of("db"), harness.pid_of("web"));
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.until_state("web", State::Stopping).await;
    assert_eq!(
        harness.signals(),
        [(web, Signal::SIGTERM), (web, Signal::SIGCONT)]
    );
    assert_eq!(
        harness.until_state("db", State::Running).await.pid,
        Some(db)
    );
    harness.exit(web, TERM);
    harness.until_state("db", State::Stopping).await;
    assert_eq!(
        harness.signals(),
        [
            (web, Signal::SIGTERM),
            (web, Signal::SIGCONT),
            (db, Signal::SIGTERM),
            (db, Signal::SIGCONT)
        ]
    );
    harness.exit(db, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_kill_during_a_graceful_stop_sends_sigkill_at_once() {
    let mut stubborn = service("stubborn", &[]);
    stubborn.lifecycle.stop_sequence = term_waiting(Duration::from_secs(600));
    let mut harness = Harness::start(vec![stubborn]).await;
    harness.until_state("stubborn", State::Running).await;
    let pid = harness.pid_of("stubborn");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.until_state("stubborn", State::Stopping).await;
    let before = tokio::time::Instant::now();
    drop(harness.shutdown(ShutdownMode::Kill));
    harness.until_signals(3).await;
    assert!(
        before.elapsed() < Duration::from_secs(1),
        "not after the stop timeout"
    );
    assert_eq!(
        harness.signals(),
        [
            (pid, Signal::SIGTERM),
            (pid, Signal::SIGCONT),
            (pid, Signal::SIGKILL)
        ]
    );
    harness.exit(pid, ExitStatus::Signal(Signal::SIGKILL));
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_is_answered_once_the_new_process_runs() {
    let mut harness = Harness::start(vec![service("web", &[])]).await;
    harness.until_state("web", State::Running).await;
    let old = harness.pid_of("web");
    let mut answer = harness.send(Request::Restart {
        names: vec!["web".into()],
        rolling: false,
    });
    harness.until_state("web", State::Stopping).await;
    assert!(answer.try_recv().is_err(), "not answered while stopping");
    harness.exit(old, TERM);
    let acted = acted(answer).await.unwrap();
    let instances = acted.instances;
    assert_eq!(acted.outcomes[0].did, super::snapshot::Did::Restarted);
    let new = harness.pid_of("web");
    assert_ne!(new, old);
    assert_eq!(instances[0].pid, Some(new));
    assert_eq!(instances[0].state, State::Running);
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(new, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn unknown_names_are_refused_with_the_known_ones() {
    let harness = Harness::start(vec![service("web", &[])]).await;
    let refusal = harness
        .act(Request::Stop {
            names: vec!["wbe".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::UnknownNames {
            unknown: vec!["wbe".into()],
            known: vec!["web".into()]
        }
    );
    assert_eq!(refusal.exit_code(), 2);
    let no_names = harness
        .act(Request::Stop { names: vec![] })
        .await
        .unwrap_err();
    assert_eq!(no_names, Refusal::NoNames);
    let pid = harness.pid_of("web");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(pid, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn the_restart_budget_runs_out_and_a_start_by_request_renews_it() {
    let mut crashy = service("crashy", &[]);
    crashy.lifecycle.max_restarts = 2;
    let mut harness = Harness::start(vec![crashy]).await;
    for run in 0..3 {
        harness
            .until(&format!("run {run} running"), |snapshot| {
                instance(snapshot, "crashy")
                    .is_some_and(|i| i.state == State::Running && i.restarts == run)
            })
            .await;
        harness.exit(harness.pid_of("crashy"), ExitStatus::Code(1));
    }
    let failed = harness.until_state("crashy", State::Failed).await;
    assert_eq!(failed.restarts, 2);
    assert_eq!(
        failed.reason.as_ref().map(ToString::to_string).as_deref(),
        Some(
            Failure::RestartLimit {
                max: 2,
                window: Duration::from_secs(60)
            }
            .to_string()
            .as_str()
        )
    );
    assert_eq!(harness.spawned().len(), 3);
    let started = harness
        .act(Request::Start {
            names: vec!["crashy".into()],
        })
        .await
        .unwrap()
        .instances;
    assert_eq!(started[0].state, State::Running);
    assert_eq!(
        started[0].restarts, 0,
        "a start by request renews the budget"
    );
    harness.exit(harness.pid_of("crashy"), ExitStatus::Code(1));
    harness
        .until("restarted after the renewed budget", |snapshot| {
            instance(snapshot, "crashy")
                .is_some_and(|i| i.state == State::Running && i.restarts == 1)
        })
        .await;
    assert_eq!(harness.spawned().len(), 5);
    let pid = harness.pid_of("crashy");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(pid, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn reload_restarts_what_changed_starts_what_is_new_and_stops_what_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("proj.toml");
    std::fs::write(
        &file,
        "[processes]\nweb = \"web v1\"\nworker = \"worker\"\ncron = \"cron\"\n",
    )
    .unwrap();
    let plan = config::load(&file).unwrap();
    let mut harness = Harness::start_plan(plan, root).await;
    harness.until_state("cron", State::Running).await;
    let (web, cron) = (harness.pid_of("web v1"), harness.pid_of("cron"));
    std::fs::write(
        &file,
        "[processes]\nweb = \"web v2\"\nworker = \"worker\"\nmail = \"mail\"\n",
    )
    .unwrap();
    let mut answer = harness.send(Request::Reload);
    harness.until_state("web", State::Stopping).await;
    harness.until_state("mail", State::Running).await;
    assert!(answer.try_recv().is_err(), "answered before web is back");
    harness.exit(web, TERM);
    harness.exit(cron, TERM);
    let summary = reloaded(answer).await.unwrap();
    assert_eq!(summary.restarted, ["web"]);
    assert_eq!(summary.started, ["mail"]);
    assert_eq!(summary.stopped, ["cron"]);
    assert_eq!(summary.unchanged, ["worker"]);
    assert!(summary.failed.is_empty());
    let web_v2 = harness.until_state("web", State::Running).await;
    assert_eq!(web_v2.pid, Some(harness.pid_of("web v2")));
    let snapshot = harness
        .until("cron gone", |s| instance(s, "cron").is_none())
        .await;
    assert_eq!(snapshot.instances.len(), 3);

    std::fs::write(&file, "[processes]\nweb = 42\n").unwrap();
    let refusal = reloaded(harness.send(Request::Reload)).await.unwrap_err();
    assert!(matches!(&refusal, Refusal::InvalidConfig(text) if text.starts_with("error")));
    assert_eq!(refusal.exit_code(), 2);

    let pids: Vec<i32> = ["web v2", "worker", "mail"]
        .map(|c| harness.pid_of(c))
        .to_vec();
    drop(harness.shutdown(ShutdownMode::Graceful));
    for pid in pids {
        harness.exit(pid, TERM);
    }
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn wait_up_answers_once_everything_is_up_or_something_failed() {
    let mut harness = Harness::start(vec![
        oneshot_process("migrate"),
        service("web", &["migrate"]),
        service("unspawnable", &[]),
    ])
    .await;
    let up = harness.wait_up().await;
    let Err(Refusal::NotUp(reason)) = up.outcome else {
        panic!("not up: {:?}", up.outcome);
    };
    assert_eq!(reason, "unspawnable: cannot be spawned: no such program");
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(0));
    harness.until_state("web", State::Running).await;
    let pid = harness.pid_of("web");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(pid, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_timeout_escalates_to_sigkill() {
    let mut stubborn = service("stubborn", &[]);
    stubborn.lifecycle.stop_sequence = term_waiting(Duration::from_secs(90));
    let mut harness = Harness::start(vec![stubborn]).await;
    harness.until_state("stubborn", State::Running).await;
    let pid = harness.pid_of("stubborn");
    let before = tokio::time::Instant::now();
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.until_state("stubborn", State::Stopping).await;
    harness.until_signals(3).await;
    assert_eq!(
        harness.signals(),
        [
            (pid, Signal::SIGTERM),
            (pid, Signal::SIGCONT),
            (pid, Signal::SIGKILL)
        ]
    );
    assert!(before.elapsed() >= Duration::from_secs(90));
    harness.exit(pid, ExitStatus::Signal(Signal::SIGKILL));
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_service_that_exits_before_it_is_ready_fails_and_holds_its_dependants() {
    let mut db = service("db", &[]);
    db.ready = Some(config::ReadyProbe::Log(
        config::LogPattern::new("ready to accept").unwrap(),
    ));
    let mut harness = Harness::start(vec![db, service("web", &["db"])]).await;
    harness.until_state("db", State::Starting).await;
    harness.until_state("web", State::Pending).await;
    harness.exit(harness.pid_of("db"), ExitStatus::Code(0));
    let db = harness.until_state("db", State::Failed).await;
    assert_eq!(
        db.reason.as_ref().map(ToString::to_string).as_deref(),
        Some("exited before it was ready (exit code 0)")
    );
    let web = harness.until_state("web", State::Pending).await;
    assert_eq!(web.pid, None);
    assert_eq!(harness.spawned(), ["db"]);
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn connect_hands_out_the_terminal_of_a_tty_instance_and_refuses_the_rest() {
    let mut web = service("web", &[]);
    web.tty = true;
    web.scale = 2;
    let mut harness = Harness::start(vec![web, service("worker", &[])]).await;
    harness.until_state("web.2", State::Running).await;
    // A process name means its first instance.
    let connection = harness.connect("web").await.unwrap();
    assert_eq!((connection.instance.as_str(), connection.of), ("web.1", 2));
    let second = harness.connect("web.2").await.unwrap();
    assert!(!Arc::ptr_eq(&connection.terminal, &second.terminal));
    let refused = |name: &'static str| harness.connect(name);
    assert_eq!(
        refused("worker").await.unwrap_err(),
        Refusal::NoTerminal {
            name: "worker".into()
        }
    );
    assert!(matches!(
        refused("nope").await.unwrap_err(),
        Refusal::UnknownNames { .. }
    ));
    drop(harness.shutdown(ShutdownMode::Graceful));
    for name in ["web.1", "web.2", "worker"] {
        harness.until_state(name, State::Stopping).await;
    }
    // Taken first: `exit` locks the fake's world too.
    let spawned = harness.processes.world().spawned.clone();
    for (_, pid) in spawned {
        harness.exit(pid, TERM);
    }
    harness.finish().await;
}

mod watching;

mod rolling;

#[tokio::test(start_paused = true)]
async fn a_stop_signal_is_followed_by_sigcont_but_a_sigtstp_step_is_not() {
    let mut worker = service("worker", &[]);
    worker.lifecycle.stop_sequence = vec![
        config::StopStep {
            action: config::StopAction::Signal(Signal::SIGTSTP),
            wait: Duration::from_secs(5),
        },
        config::StopStep {
            action: config::StopAction::Signal(Signal::SIGTERM),
            wait: Duration::from_secs(5),
        },
    ];
    let mut harness = Harness::start(vec![worker]).await;
    harness.until_state("worker", State::Running).await;
    let pid = harness.pid_of("worker");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.until_signals(3).await;
    // SIGCONT would discard the pending SIGTSTP; after SIGTERM it wakes a suspended
    // process so it can act on it.
    assert_eq!(
        harness.signals(),
        [
            (pid, Signal::SIGTSTP),
            (pid, Signal::SIGTERM),
            (pid, Signal::SIGCONT)
        ]
    );
    harness.exit(pid, TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn starting_a_dependant_does_not_run_an_exited_oneshot_again() {
    use super::snapshot::Did;
    let mut worker = service("worker", &["migrate"]);
    worker.autostart = false;
    let mut harness = Harness::start(vec![
        oneshot_process("migrate"),
        service("web", &["migrate"]),
        worker,
    ])
    .await;
    harness.until_state("web", State::Pending).await;
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(0));
    harness.until_state("web", State::Running).await;

    // `proj start worker`: migrate did its work under this supervisor already.
    let acted = harness
        .act(Request::Start {
            names: vec!["worker".into()],
        })
        .await
        .unwrap();
    assert_eq!(harness.spawned(), ["migrate", "web", "worker"]);
    assert_eq!(acted.outcomes.len(), 1);
    assert_eq!(acted.outcomes[0].did, Did::Started);
    assert_eq!(acted.instances[0].state, State::Running);

    // A start of what runs already changes nothing, and says so.
    let acted = harness
        .act(Request::Start {
            names: vec!["web".into()],
        })
        .await
        .unwrap();
    assert_eq!(acted.outcomes[0].did, Did::Unchanged);

    // Naming the oneshot runs it again on purpose.
    let answer = harness.send(Request::Restart {
        names: vec!["migrate".into()],
        rolling: false,
    });
    harness.until_state("migrate", State::Running).await;
    harness.exit(harness.pid_of("migrate"), ExitStatus::Code(0));
    let acted = super::tests::acted(answer).await.unwrap();
    assert_eq!(harness.spawned(), ["migrate", "web", "worker", "migrate"]);
    assert_eq!(acted.outcomes[0].did, Did::Started);

    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(harness.pid_of("worker"), TERM);
    harness.exit(harness.pid_of("web"), TERM);
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_scale_answers_once_the_new_instances_run() {
    use super::snapshot::Did;
    let mut harness = Harness::start(vec![service("web", &[])]).await;
    harness.until_state("web", State::Running).await;
    let acted = harness
        .act(Request::Scale {
            counts: [("web".into(), 3)].into(),
        })
        .await
        .unwrap();
    let states: Vec<State> = acted.instances.iter().map(|i| i.state).collect();
    assert_eq!(states, [State::Running; 3]);
    let did: Vec<(String, Did)> = acted
        .outcomes
        .iter()
        .map(|outcome| (outcome.name.clone(), outcome.did))
        .collect();
    assert!(did.contains(&("web.2".into(), Did::Started)), "{did:?}");
    assert!(did.contains(&("web.3".into(), Did::Started)), "{did:?}");
    assert!(did.contains(&("web.1".into(), Did::Unchanged)), "{did:?}");
    drop(harness.shutdown(ShutdownMode::Graceful));
    for pid in 1001..=1003 {
        harness.exit(pid, TERM);
    }
    harness.finish().await;
}

#[tokio::test(start_paused = true)]
async fn up_gives_up_on_a_crash_loop_once_the_ready_deadlines_passed() {
    let mut db = service("db", &[]);
    db.lifecycle.ready_timeout = Duration::from_secs(30);
    // A backoff longer than the deadline: it is never failed, and never up in time.
    db.lifecycle.backoff = Duration::from_secs(60);
    db.lifecycle.backoff_max = Duration::from_secs(60);
    db.lifecycle.max_restarts = 100;
    let mut harness = Harness::start(vec![db, service("web", &["db"])]).await;
    harness.until_state("web", State::Running).await;
    let Ok(Answer::Changes(mut events)) = harness.ask(Request::Events).await else {
        panic!("no events");
    };
    harness.exit(harness.pid_of("db"), ExitStatus::Code(1));
    let change = events.recv().await.unwrap();
    assert_eq!((change.name.as_str(), change.state), ("db", State::Backoff));
    assert_eq!(
        change.reason.as_ref().map(ToString::to_string).as_deref(),
        Some("exited with code 1")
    );
    let started = tokio::time::Instant::now();
    let up = harness.wait_up().await;
    let Err(Refusal::NotUp(reason)) = up.outcome else {
        panic!("not up: {:?}", up.outcome);
    };
    assert_eq!(
        reason,
        "db: still backoff after 1 restart, last exited with code 1"
    );
    assert!(
        started.elapsed() < Duration::from_secs(31),
        "{:?}",
        started.elapsed()
    );
    let why = harness
        .ask(Request::Why { name: "db".into() })
        .await
        .map(|answer| match answer {
            Answer::Why(why) => *why,
            other => panic!("{other:?}"),
        })
        .unwrap();
    assert_eq!(
        why.instance
            .last_restart
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("exited with code 1")
    );
    assert_eq!(why.restarts_in_window, 1);
    assert!(
        why.changes
            .iter()
            .any(|change| change.state == State::Backoff)
    );
    let web = harness.pid_of("web");
    drop(harness.shutdown(ShutdownMode::Graceful));
    harness.exit(web, TERM);
    harness.finish().await;
}

/// What a request that changes instances did, once answered.
async fn acted(answer: oneshot::Receiver<Result<Answer, Refusal>>) -> Result<Acted, Refusal> {
    match answer.await.unwrap()? {
        Answer::Acted(acted) => Ok(acted),
        other => panic!("not an answer of what was done: {other:?}"),
    }
}

/// What a reload did, once answered.
async fn reloaded(
    answer: oneshot::Receiver<Result<Answer, Refusal>>,
) -> Result<ReloadSummary, Refusal> {
    match answer.await.unwrap()? {
        Answer::Reloaded(summary) => Ok(summary),
        other => panic!("not a reload's answer: {other:?}"),
    }
}
