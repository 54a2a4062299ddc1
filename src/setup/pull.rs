//! `proj up URL` on an existing clone: fetch, and fast-forward when that cannot lose
//! anything (SPEC is silent; this is what `git pull --ff-only` does, and what a user who
//! runs `proj up URL` again expects: the project as it is now).
//!
//! The clone is left as it is, with one line saying why, when its work tree has
//! uncommitted changes to tracked files, its branch has commits the upstream lacks
//! (diverged, or only ahead), HEAD is detached, the branch has no upstream, or the fetch
//! fails (offline, credentials): the user's work comes before an update, and the run
//! goes on with what is there. Submodules are not updated (a fresh clone has them).

use std::path::Path;

use git2::build::CheckoutBuilder;
use git2::{FetchOptions, RemoteCallbacks, Repository, StatusOptions};

use super::credentials::{self, Credentials, GaveUp};
use super::interrupt::InterruptFlag;

/// What happened to the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pulled {
    /// The branch already had everything.
    UpToDate { branch: String },
    /// The branch moved forward to its upstream.
    FastForwarded {
        branch: String,
        from: String,
        to: String,
        commits: usize,
    },
    /// Nothing was changed, for this reason.
    Left(LeftBecause),
}

/// Why a clone was left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeftBecause {
    Detached,
    NoUpstream { branch: String },
    Offline { reason: String },
    Dirty,
    Ahead { branch: String },
    Diverged { branch: String },
}

impl Pulled {
    /// The line proj prints about `dir`.
    pub(crate) fn describe(&self, dir: &Path) -> String {
        let dir = dir.display();
        match self {
            Pulled::UpToDate { branch } => format!("{dir}: `{branch}` is up to date"),
            Pulled::FastForwarded {
                branch,
                from,
                to,
                commits,
            } => format!(
                "{dir}: fast-forwarded `{branch}` {from}..{to} ({commits} new commit{})",
                if *commits == 1 { "" } else { "s" }
            ),
            Pulled::Left(why) => {
                let why = match why {
                    LeftBecause::Detached => "HEAD is detached".to_string(),
                    LeftBecause::NoUpstream { branch } => {
                        format!("branch `{branch}` has no upstream")
                    }
                    LeftBecause::Offline { reason } => format!("cannot fetch ({reason})"),
                    LeftBecause::Dirty => "the work tree has uncommitted changes".to_string(),
                    LeftBecause::Ahead { branch } => {
                        format!("`{branch}` has commits its upstream does not")
                    }
                    LeftBecause::Diverged { branch } => {
                        format!("`{branch}` and its upstream have diverged")
                    }
                };
                format!(
                    "{dir}: not updated: {why}; running it as it is (--no-pull skips this check)"
                )
            }
        }
    }
}

/// Fetch `remote` into the clone at `dir` and fast-forward its branch when safe.
pub(crate) fn pull(dir: &Path, remote: &str, interrupted: &InterruptFlag) -> Pulled {
    match try_pull(dir, remote, interrupted) {
        Ok(pulled) => pulled,
        Err(error) => Pulled::Left(LeftBecause::Offline {
            reason: error.message().to_string(),
        }),
    }
}

fn try_pull(dir: &Path, remote: &str, interrupted: &InterruptFlag) -> Result<Pulled, git2::Error> {
    let repository = Repository::open(dir)?;
    if repository.head_detached().unwrap_or(false) {
        return Ok(Pulled::Left(LeftBecause::Detached));
    }
    let head = repository.head()?;
    let branch_name = head.shorthand().unwrap_or("HEAD").to_string();
    let branch = git2::Branch::wrap(head);
    let Ok(upstream) = branch.upstream() else {
        return Ok(Pulled::Left(LeftBecause::NoUpstream {
            branch: branch_name,
        }));
    };
    let upstream_ref = upstream.get().name().unwrap_or_default().to_string();
    drop(upstream);

    let mut found = repository.find_remote(remote)?;
    let refspecs: [&str; 0] = [];
    if let Err(error) = found.fetch(&refspecs, Some(&mut fetch_options(interrupted)), None) {
        return Ok(Pulled::Left(LeftBecause::Offline {
            reason: error.message().to_string(),
        }));
    }

    let local = branch.get().peel_to_commit()?.id();
    let target = repository
        .find_reference(&upstream_ref)?
        .peel_to_commit()?
        .id();
    if local == target {
        return Ok(Pulled::UpToDate {
            branch: branch_name,
        });
    }
    if !repository.graph_descendant_of(target, local)? {
        let ahead = repository.graph_descendant_of(local, target)?;
        return Ok(Pulled::Left(if ahead {
            LeftBecause::Ahead {
                branch: branch_name,
            }
        } else {
            LeftBecause::Diverged {
                branch: branch_name,
            }
        }));
    }
    let mut options = StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    if !repository.statuses(Some(&mut options))?.is_empty() {
        return Ok(Pulled::Left(LeftBecause::Dirty));
    }
    let (commits, _) = repository.graph_ahead_behind(target, local)?;
    let commit = repository.find_commit(target)?;
    // Check out first (safe: never overwrites a change), then move the branch.
    repository.checkout_tree(commit.as_object(), Some(CheckoutBuilder::new().safe()))?;
    let mut reference = branch.into_reference();
    reference.set_target(target, "proj up: fast-forward")?;
    let short = |oid: git2::Oid| oid.to_string()[..7].to_string();
    Ok(Pulled::FastForwarded {
        branch: branch_name,
        from: short(local),
        to: short(target),
        commits,
    })
}

/// Credentials as for a clone, cancellation on Ctrl-C; no progress bar (a fetch of an
/// existing clone is usually small).
fn fetch_options<'a>(interrupted: &InterruptFlag) -> FetchOptions<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let transfer_interrupted = interrupted.clone();
    callbacks.transfer_progress(move |_| !transfer_interrupted.requested());
    let gave_up: GaveUp = Default::default();
    let mut answer = credentials::callback(
        Credentials::new(credentials::Sources::from_environment()),
        git2::Config::open_default().ok(),
        gave_up,
    );
    callbacks.credentials(move |url, user, allowed| answer(url, user, allowed));
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks);
    options
}
