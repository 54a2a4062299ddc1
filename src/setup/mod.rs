//! Day one: from a git URL to a project that is ready to run.
//!
//! Two phases, both before the supervisor starts (so plain `waitpid` is safe: the
//! supervisor's reaper, which reaps every child, is not running yet):
//!
//! 1. **Clone** ([`clone`]): libgit2 through `git2`, into a hidden sibling directory
//!    that is renamed into place only once the clone and its submodules are complete, so
//!    an interrupted or failed clone never leaves a half-done `./REPO-NAME` that a later
//!    `proj up URL` would mistake for a finished one. [`credentials`] answers libgit2's
//!    credential requests from a fixed list and then gives up (libgit2 asks again after
//!    every rejection: answering blindly loops forever). [`progress`] draws the transfer.
//! 2. **Setup** ([`steps`]): `requires` first ([`requires`]), then each `[[setup]]` step
//!    in order, skipped when its rules ([`rules`]: `creates`, `sources` via
//!    [`fingerprint`], `skip_if`) say it is done. A success is recorded in
//!    `.proj/state.json` ([`state`]), so re-running resumes where a failure stopped.
//!    Each step runs through [`child`] (its own process group, output to
//!    `.proj/logs/setup-NAME.log`) and is reported by [`report`].
//!
//! Ctrl-C and SIGTERM during either phase are caught by [`interrupt`]: they are passed to
//! the running step's process group (a second Ctrl-C kills it), a clone is cancelled
//! between two progress callbacks, and proj exits 1 with nothing half-done.

pub(crate) mod child;
pub(crate) mod clone;
pub(crate) mod credentials;
mod error;
pub(crate) mod fingerprint;
pub(crate) mod interrupt;
pub(crate) mod progress;
pub(crate) mod pull;
pub(crate) mod report;
pub(crate) mod requires;
pub(crate) mod rules;
pub(crate) mod state;
pub(crate) mod steps;
pub(crate) mod url;

pub(crate) use self::error::{CloneError, SetupError};
