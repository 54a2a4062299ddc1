//! `proj clone URL [DIR]` and the clone of `proj up URL`.
//!
//! - **The destination.** Missing or empty: cloned into. A git repository with a remote
//!   naming the same repository as URL (see [`super::url`]): reused, with a message;
//!   when the request asks ([`Request::pull`], `proj up URL` without `--no-pull`) it is
//!   fetched and fast-forwarded if that loses nothing ([`super::pull`]).
//!   Anything else: refused, nothing changed.
//! - **Nothing half-done.** The clone is made in a hidden sibling directory
//!   (`.NAME.proj-clone-XXXX`) and renamed into place once it and its submodules are
//!   complete; on failure or Ctrl-C the sibling is removed. A half-done `./NAME` would
//!   otherwise be reused by the next `proj up URL` as if it were a clone.
//! - **Transports.** Whatever libgit2 speaks: https (credentials from `PROJ_GIT_TOKEN`
//!   or git's credential helpers), ssh (ssh-agent, then `~/.ssh` keys), `git://`,
//!   `file://` and local paths. See [`super::credentials`] for why asking stops.
//! - **Submodules** are initialised and updated recursively, relative URLs resolved
//!   against the parent's remote.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::build::{CheckoutBuilder, RepoBuilder};
use git2::{ErrorClass, ErrorCode, FetchOptions, RemoteCallbacks, Repository};

use super::credentials::{self, Credentials, GaveUp};
use super::error::{CloneError, CloneFailure};
use super::interrupt::{InterruptFlag, Interrupts};
use super::progress::CloneProgress;
use super::url;

/// What to clone, and where.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// As the user wrote it.
    pub url: String,
    pub dir: PathBuf,
    pub branch: Option<String>,
    /// stdout is a terminal: a progress bar instead of plain lines.
    pub terminal: bool,
    /// An existing clone is fetched and fast-forwarded when safe.
    pub pull: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cloned {
    Fresh,
    /// The directory already held a clone; `remote` is the remote that matched.
    Reused {
        remote: String,
    },
}

/// The directory `proj up URL` clones into: `./REPO-NAME`.
pub(crate) fn default_dir(url: &str) -> Result<PathBuf, CloneError> {
    url::repo_name(url)
        .map(PathBuf::from)
        .ok_or_else(|| CloneError::NoName(url.to_string()))
}

/// Clone `request.url` into `request.dir`, or reuse a clone that is already there.
pub(crate) fn clone(request: &Request, interrupts: &Interrupts) -> Result<Cloned, CloneError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CloneError::io("cannot read the current directory", e))?;
    match inspect(&request.dir, &request.url, &cwd)? {
        Destination::Free => {}
        Destination::Clone { remote, branch } => {
            let mut note = String::new();
            if let (Some(wanted), Some(current)) = (&request.branch, &branch)
                && wanted != current
            {
                note = format!(" (on branch `{current}`: --branch applies to a new clone only)");
            }
            crate::outln!(
                "using {}: already a clone of {}{note}",
                request.dir.display(),
                request.url
            );
            if request.pull {
                let pulled = super::pull::pull(&request.dir, &remote, &interrupts.flag());
                if interrupts.requested() {
                    return Err(CloneError::Interrupted(request.url.clone()));
                }
                crate::outln!("{}", pulled.describe(&request.dir));
            }
            return Ok(Cloned::Reused { remote });
        }
        Destination::Occupied(what) => {
            return Err(CloneError::Occupied {
                dir: request.dir.clone(),
                url: request.url.clone(),
                what,
            });
        }
    }
    let parent = match request.dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| CloneError::io(format!("cannot create {}", parent.display()), e))?;
    let name = request
        .dir
        .file_name()
        .map_or("clone".into(), |n| n.to_string_lossy().into_owned());
    // Removed on drop: on every error path below.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.proj-clone-"))
        .tempdir_in(&parent)
        .map_err(|e| {
            CloneError::io(
                format!("cannot create a directory in {}", parent.display()),
                e,
            )
        })?;

    let progress = Rc::new(RefCell::new(CloneProgress::start(
        request.terminal,
        &request.url,
        &request.dir.display().to_string(),
    )));
    let result = fetch_all(request, &cwd, staging.path(), &progress, interrupts.flag());
    let progress = Rc::try_unwrap(progress).map(RefCell::into_inner);
    match result {
        Ok(()) => {
            if let Ok(progress) = progress {
                progress.finish();
            }
        }
        Err(error) => {
            if let Ok(progress) = progress {
                progress.abandon();
            }
            return Err(error);
        }
    }
    // An empty destination directory is replaced; rename(2) allows that.
    std::fs::rename(staging.path(), &request.dir).map_err(|e| {
        CloneError::io(
            format!("cannot move the clone to {}", request.dir.display()),
            e,
        )
    })?;
    let _ = staging.keep();
    Ok(Cloned::Fresh)
}

/// The clone proper, into `into`, then its submodules.
fn fetch_all(
    request: &Request,
    cwd: &Path,
    into: &Path,
    progress: &Rc<RefCell<CloneProgress>>,
    interrupted: InterruptFlag,
) -> Result<(), CloneError> {
    let source = url::for_libgit2(&request.url, cwd);
    if !url::is_url(&request.url) && !Path::new(&source).exists() {
        return Err(CloneError::Failed {
            url: request.url.clone(),
            kind: CloneFailure::NotFound,
            reason: format!("{source} does not exist"),
        });
    }
    let gave_up: GaveUp = Rc::default();
    let fail = |error: git2::Error, gave_up: &GaveUp| {
        classify(
            &request.url,
            error,
            gave_up.borrow_mut().take(),
            interrupted.requested(),
            request.branch.as_deref(),
        )
    };
    let mut builder = RepoBuilder::new();
    builder.fetch_options(fetch_options(progress, &interrupted, &gave_up));
    let checkout_progress = progress.clone();
    let mut checkout = CheckoutBuilder::new();
    checkout.progress(move |_, done, total| checkout_progress.borrow_mut().checkout(done, total));
    builder.with_checkout(checkout);
    if let Some(branch) = &request.branch {
        builder.branch(branch);
    }
    let repository = builder
        .clone(&source, into)
        .map_err(|error| fail(error, &gave_up))?;
    update_submodules(&repository, progress, &interrupted, &gave_up)
        .map_err(|error| fail(error, &gave_up))
}

fn update_submodules(
    repository: &Repository,
    progress: &Rc<RefCell<CloneProgress>>,
    interrupted: &InterruptFlag,
    gave_up: &GaveUp,
) -> Result<(), git2::Error> {
    let parent_url = repository
        .find_remote("origin")
        .ok()
        .and_then(|remote| remote.url().ok().map(String::from));
    for submodule in repository.submodules()? {
        let name = submodule.name().unwrap_or_default().to_string();
        let declared = submodule
            .url()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        let resolved = match &parent_url {
            Some(parent) => url::resolve_relative(parent, &declared),
            None => declared,
        };
        progress.borrow_mut().next_repository(&format!(
            "submodule {} ({resolved})",
            submodule.path().display()
        ));
        // Initialise (writes `submodule.NAME.url`), then correct the URL: libgit2's own
        // resolution of relative URLs is wrong for file:// parents.
        let mut submodule = submodule;
        submodule.init(false)?;
        repository
            .config()?
            .set_str(&format!("submodule.{name}.url"), &resolved)?;
        let mut submodule = repository.find_submodule(&name)?;
        let mut options = git2::SubmoduleUpdateOptions::new();
        options.fetch(fetch_options(progress, interrupted, gave_up));
        submodule.update(false, Some(&mut options))?;
        update_submodules(&submodule.open()?, progress, interrupted, gave_up)?;
    }
    Ok(())
}

/// Progress, cancellation and credentials for one fetch.
fn fetch_options<'a>(
    progress: &Rc<RefCell<CloneProgress>>,
    interrupted: &InterruptFlag,
    gave_up: &GaveUp,
) -> FetchOptions<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let transfer_progress = progress.clone();
    let transfer_interrupted = interrupted.clone();
    callbacks.transfer_progress(move |stats| {
        transfer_progress.borrow_mut().transfer(stats.into());
        !transfer_interrupted.requested()
    });
    let sideband_interrupted = interrupted.clone();
    callbacks.sideband_progress(move |_| !sideband_interrupted.requested());
    let config = git2::Config::open_default().ok();
    let mut answer = credentials::callback(
        Credentials::new(credentials::Sources::from_environment()),
        config,
        gave_up.clone(),
    );
    let credentials_interrupted = interrupted.clone();
    callbacks.credentials(move |url, user, allowed| {
        if credentials_interrupted.requested() {
            return Err(git2::Error::from_str("interrupted"));
        }
        answer(url, user, allowed)
    });
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks);
    options
}

/// What is at the destination.
enum Destination {
    Free,
    Clone {
        remote: String,
        branch: Option<String>,
    },
    Occupied(String),
}

fn inspect(dir: &Path, wanted_url: &str, cwd: &Path) -> Result<Destination, CloneError> {
    let read_error = |e| CloneError::io(format!("cannot read {}", dir.display()), e);
    let metadata = match std::fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Destination::Free),
        Err(e) => return Err(read_error(e)),
    };
    if !metadata.is_dir() {
        return Ok(Destination::Occupied("is not a directory".into()));
    }
    if std::fs::read_dir(dir).map_err(read_error)?.next().is_none() {
        return Ok(Destination::Free);
    }
    let Ok(repository) = Repository::open(dir) else {
        return Ok(Destination::Occupied("is not empty".into()));
    };
    let wanted = url::identity(wanted_url, cwd);
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut names: Vec<String> = repository
        .remotes()
        .map(|names| names.iter().flatten().flatten().map(String::from).collect())
        .unwrap_or_default();
    // `origin` first: it names the match when several remotes would.
    names.sort_by_key(|name| name != "origin");
    let mut first_url = None;
    for name in names {
        let Some(remote_url) = repository
            .find_remote(&name)
            .ok()
            .and_then(|r| r.url().ok().map(String::from))
        else {
            continue;
        };
        if url::identity(&remote_url, &base) == wanted {
            let branch = repository
                .head()
                .ok()
                .and_then(|head| head.shorthand().ok().map(String::from));
            return Ok(Destination::Clone {
                remote: name,
                branch,
            });
        }
        first_url.get_or_insert(remote_url);
    }
    Ok(Destination::Occupied(match first_url {
        Some(other) => format!("holds a clone of {other}"),
        None => "holds a git repository without a remote".into(),
    }))
}

/// A libgit2 error as a clone failure with advice. libgit2's codes are coarse (a missing
/// host and a refused connection are both "generic network errors"), so its message is
/// read too.
fn classify(
    url: &str,
    error: git2::Error,
    gave_up: Option<String>,
    interrupted: bool,
    branch: Option<&str>,
) -> CloneError {
    tracing::debug!(?error, "clone failed");
    if interrupted || (error.code() == ErrorCode::User && error.message() == "interrupted") {
        return CloneError::Interrupted(url.to_string());
    }
    let failed = |kind, reason: String| CloneError::Failed {
        url: url.to_string(),
        kind,
        reason,
    };
    if let Some(reason) = gave_up {
        return failed(CloneFailure::Auth, reason);
    }
    let message = error.message().to_string();
    let lower = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let kind = if error.code() == ErrorCode::Auth || has(&["authentication", "401", "403"]) {
        CloneFailure::Auth
    } else if has(&[
        "failed to resolve address",
        "could not resolve",
        "name or service not known",
        "temporary failure in name resolution",
        "no address associated",
    ]) {
        CloneFailure::UnknownHost
    } else if error.code() == ErrorCode::Certificate && error.class() == ErrorClass::Ssh
        || has(&["hostkey", "host key"])
    {
        CloneFailure::HostKey
    } else if let Some(branch) = branch.filter(|_| has(&["refs/remotes/origin/", "remote branch"]))
    {
        return failed(
            CloneFailure::Branch,
            format!("the repository has no branch `{branch}`"),
        );
    } else if error.code() == ErrorCode::NotFound
        || has(&[
            "not found",
            "could not find repository",
            "does not appear to be a git repository",
            "no such file or directory",
            "404",
        ])
    {
        CloneFailure::NotFound
    } else if matches!(
        error.class(),
        ErrorClass::Net | ErrorClass::Ssh | ErrorClass::Http | ErrorClass::Ssl
    ) {
        CloneFailure::Network
    } else {
        CloneFailure::Other
    };
    failed(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: ErrorCode, class: ErrorClass, message: &str) -> git2::Error {
        git2::Error::new(code, class, message)
    }

    fn kind_of(error: git2::Error, branch: Option<&str>) -> Option<CloneFailure> {
        match classify("u", error, None, false, branch) {
            CloneError::Failed { kind, .. } => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn libgit2_errors_are_classified_by_code_and_message() {
        let cases = [
            (
                error(
                    ErrorCode::GenericError,
                    ErrorClass::Net,
                    "failed to resolve address for nonexistent.invalid: Name or service not known",
                ),
                CloneFailure::UnknownHost,
            ),
            (
                error(ErrorCode::Auth, ErrorClass::Ssh, "authentication required"),
                CloneFailure::Auth,
            ),
            (
                error(
                    ErrorCode::NotFound,
                    ErrorClass::Reference,
                    "reference 'refs/remotes/origin/nope' not found",
                ),
                CloneFailure::Branch,
            ),
            (
                error(
                    ErrorCode::GenericError,
                    ErrorClass::Http,
                    "unexpected http status code: 404",
                ),
                CloneFailure::NotFound,
            ),
            (
                error(
                    ErrorCode::GenericError,
                    ErrorClass::Net,
                    "connection refused",
                ),
                CloneFailure::Network,
            ),
        ];
        for (error, expected) in cases {
            let message = error.message().to_string();
            assert_eq!(kind_of(error, Some("nope")), Some(expected), "{message}");
        }
    }

    #[test]
    fn a_give_up_reason_wins_and_an_interrupt_is_not_a_failure() {
        let generic = || error(ErrorCode::GenericError, ErrorClass::Callback, "x");
        match classify("u", generic(), Some("tried ssh-agent".into()), false, None) {
            CloneError::Failed { kind, reason, .. } => {
                assert_eq!(kind, CloneFailure::Auth);
                assert_eq!(reason, "tried ssh-agent");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify("u", generic(), None, true, None),
            CloneError::Interrupted(_)
        ));
    }
}
