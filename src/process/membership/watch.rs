//! "All gone", announced: inotify on each instance cgroup's `cgroup.events`.
//!
//! The kernel notifies a modification of `cgroup.events` whenever `populated` flips, so
//! the supervisor learns that the last process of an instance has ended without asking
//! again and again; the reaper cannot tell it when that process was reaped by its own
//! parent rather than by proj.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;

/// The inotify instance, shared by whoever adds watches and the task that reads it.
struct Shared(Inotify);

impl AsRawFd for Shared {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Adds watches; a task started by [`Watcher::start`] reads them.
#[derive(Clone)]
pub(super) struct Watcher {
    inotify: Arc<AsyncFd<Shared>>,
}

impl Watcher {
    /// Watch nothing yet; send `()` to `changed` each time a watched `cgroup.events`
    /// changes. Call inside the runtime.
    pub(super) fn start(changed: UnboundedSender<()>) -> std::io::Result<Watcher> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: `Shared` owns the inotify instance, whose descriptor stays open, and
        // is the same descriptor, until `Shared` is dropped with the `AsyncFd`.
        #[allow(unsafe_code)]
        let registered =
            unsafe { AsyncFd::register_with_interest(Shared(inotify), Interest::READABLE) };
        let inotify = Arc::new(registered.map_err(std::io::Error::from)?);
        let reader = inotify.clone();
        tokio::spawn(async move {
            loop {
                let Ok(mut ready) = reader.readable().await else {
                    return;
                };
                match ready.get_inner().0.read_events() {
                    Ok(events) if !events.is_empty() => {
                        if changed.send(()).is_err() {
                            return;
                        }
                    }
                    Ok(_) | Err(nix::errno::Errno::EAGAIN) => ready.clear_ready(),
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(error) => {
                        tracing::warn!(%error, "cannot read cgroup events");
                        return;
                    }
                }
            }
        });
        Ok(Watcher { inotify })
    }

    /// Watch the `cgroup.events` of the cgroup `dir` (watching it again is harmless:
    /// inotify keeps one watch per file).
    pub(super) fn watch(&self, dir: &Path) {
        if let Err(error) = self
            .inotify
            .get_ref()
            .0
            .add_watch(&dir.join("cgroup.events"), AddWatchFlags::IN_MODIFY)
        {
            tracing::warn!(dir = %dir.display(), %error, "cannot watch a cgroup");
        }
    }
}
