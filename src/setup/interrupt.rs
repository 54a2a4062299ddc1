//! Ctrl-C, SIGTERM and SIGHUP while cloning or setting up.
//!
//! Setup steps run in their own process group (like every child of proj), so the
//! terminal's Ctrl-C reaches proj alone. Without a handler proj would die and leave the
//! step running; with one, the signal is passed on to the running step's group (SIGINT
//! as SIGINT, SIGTERM and SIGHUP as SIGTERM), proj waits for the step to end and stops
//! with "setup interrupted". A second signal kills the step's group at once. A clone
//! polls [`Interrupts::requested`] from its progress callback and cancels; a second
//! signal while nothing can be signalled (a clone stuck connecting) exits at once.
//!
//! The signals are received through tokio, in a small thread of its own, because the
//! supervisor receives them through tokio too: one kind of handler for the whole life of
//! proj, installed even when proj was started with SIGINT ignored (as a background job
//! of a script is), like the supervisor's. A handler cannot be taken back, so once setup
//! is over and something else waits in the foreground (`proj up -d` waiting for the
//! background supervisor), [`Interrupts::exit_on_signal`] makes the next signal end proj
//! as it would have without the handler. Drop the watcher before the supervisor starts:
//! from then on the supervisor's own listeners take the signals.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::process::spawn::signal_group;

/// What the watcher thread and the setup code share.
#[derive(Debug, Default)]
struct Shared {
    /// How many signals have arrived.
    count: AtomicU32,
    /// The process group of the running step or check, if any.
    target: Mutex<Option<i32>>,
    /// Setup is over: a signal ends proj.
    exit: AtomicBool,
}

impl Shared {
    fn target(&self) -> std::sync::MutexGuard<'_, Option<i32>> {
        self.target
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A signal arrived: pass it on, or escalate.
    fn on_signal(&self, signal: Signal) {
        let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let target = *self.target();
        match (target, count) {
            (Some(pgid), 1) => signal_group(pgid, forwarded(signal)),
            (Some(pgid), _) => signal_group(pgid, Signal::SIGKILL),
            (None, 1) if !self.exit.load(Ordering::SeqCst) => {}
            (None, _) => {
                eprintln!("proj: interrupted");
                std::process::exit(1);
            }
        }
    }
}

/// SIGINT stays SIGINT (what the step would have got from the terminal); SIGTERM and
/// SIGHUP become SIGTERM.
fn forwarded(signal: Signal) -> Signal {
    match signal {
        Signal::SIGINT => Signal::SIGINT,
        _ => Signal::SIGTERM,
    }
}

/// The signal watcher; signals are watched while this lives.
pub(crate) struct Interrupts {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Interrupts {
    /// Start watching. Returns once the handlers are installed.
    pub(crate) fn install() -> std::io::Result<Interrupts> {
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let watcher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("proj-interrupts".into())
            .spawn(move || watch(&watcher, stopped, &ready_tx))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Interrupts {
                shared,
                stop: Some(stop),
                thread: Some(thread),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(std::io::Error::other("the signal watcher did not start")),
        }
    }

    /// Whether a signal has arrived.
    pub(crate) fn requested(&self) -> bool {
        self.shared.count.load(Ordering::SeqCst) > 0
    }

    /// Pass signals on to process group `pgid` until [`Interrupts::unwatch`]. A signal
    /// that arrived just before is passed on now.
    pub(crate) fn watch(&self, pgid: i32) {
        *self.shared.target() = Some(pgid);
        if self.requested() {
            signal_group(pgid, Signal::SIGTERM);
        }
    }

    /// The group is about to be reaped: signal it no more.
    pub(crate) fn unwatch(&self) {
        *self.shared.target() = None;
    }

    /// Setup is over: from now on a signal ends proj (exit 1), as it would without a
    /// handler.
    pub(crate) fn exit_on_signal(&self) {
        self.shared.exit.store(true, Ordering::SeqCst);
    }

    /// A handle for a clone's progress callback.
    pub(crate) fn flag(&self) -> InterruptFlag {
        InterruptFlag(self.shared.clone())
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether an interrupt was requested, for code that cannot hold [`Interrupts`].
#[derive(Clone)]
pub(crate) struct InterruptFlag(Arc<Shared>);

impl InterruptFlag {
    pub(crate) fn requested(&self) -> bool {
        self.0.count.load(Ordering::SeqCst) > 0
    }
}

fn watch(
    shared: &Shared,
    stopped: oneshot::Receiver<()>,
    ready: &std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let handlers = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        );
        let (mut interrupt, mut terminate, mut hangup) = match handlers {
            (Ok(i), Ok(t), Ok(h)) => (i, t, h),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        tokio::pin!(stopped);
        loop {
            let signal = tokio::select! {
                _ = &mut stopped => return,
                _ = interrupt.recv() => Signal::SIGINT,
                _ = terminate.recv() => Signal::SIGTERM,
                _ = hangup.recv() => Signal::SIGHUP,
            };
            shared.on_signal(signal);
        }
    });
}
