//! Answering libgit2's credential requests, and knowing when to stop.
//!
//! libgit2 calls the credentials callback again after each rejected answer, with no
//! limit of its own: a callback that always returns "the key from ssh-agent" makes a
//! clone spin forever against a server that refuses it (a well-known libgit2 trap). So
//! the answers come from a fixed list, each tried at most once, and once the list is used
//! up the callback returns an error that says what was tried:
//!
//! - ssh: the URL's user (or `git`), then ssh-agent (when `SSH_AUTH_SOCK` is set), then
//!   `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` (those that exist);
//! - https: a token from `PROJ_GIT_TOKEN`, then git's credential helpers (never a
//!   prompt: proj may run without a terminal);
//! - anything else libgit2 offers (Kerberos/NTLM "default" credentials): once.
//!
//! [`Credentials::next`] is the pure decision, unit-tested; [`callback`] adapts it to
//! `git2`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{Cred, CredentialType};

/// The environment variable whose value is sent as the password of https URLs.
pub(crate) const TOKEN_VARIABLE: &str = "PROJ_GIT_TOKEN";

/// A hard cap on callback calls, whatever the list: a backstop against a libgit2 that
/// asks in a way this code did not foresee.
const MAX_CALLS: u32 = 16;

/// The private keys looked for in `~/.ssh`, best first (as OpenSSH orders them).
const KEY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// What this machine can offer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    /// `PROJ_GIT_TOKEN`.
    pub token: Option<String>,
    /// ssh-agent is reachable (`SSH_AUTH_SOCK` set).
    pub agent: bool,
    /// Private keys in `~/.ssh` that exist.
    pub keys: Vec<PathBuf>,
    /// git's credential helpers may be asked (they are configured in git's config).
    pub helper: bool,
}

impl Sources {
    /// What the environment offers: proj's own variables and `~/.ssh`.
    pub(crate) fn from_environment() -> Sources {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Sources {
            token: std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty()),
            agent: std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty()),
            keys: home.map(|home| existing_keys(&home)).unwrap_or_default(),
            helper: true,
        }
    }
}

fn existing_keys(home: &Path) -> Vec<PathBuf> {
    KEY_FILES
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .filter(|path| path.is_file())
        .collect()
}

/// One answer to a credential request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Attempt {
    /// ssh asks for the user name first.
    Username(String),
    Agent {
        user: String,
    },
    KeyFile {
        user: String,
        private: PathBuf,
    },
    Token {
        user: String,
    },
    Helper,
    Default,
}

impl Attempt {
    /// How the attempt is named in the give-up message.
    fn describe(&self) -> String {
        match self {
            Attempt::Username(user) => format!("user `{user}`"),
            Attempt::Agent { .. } => "ssh-agent".to_string(),
            Attempt::KeyFile { private, .. } => tilde(private),
            Attempt::Token { .. } => TOKEN_VARIABLE.to_string(),
            Attempt::Helper => "the git credential helper".to_string(),
            Attempt::Default => "the system's default credentials".to_string(),
        }
    }
}

fn tilde(path: &Path) -> String {
    match std::env::var_os("HOME")
        .and_then(|home| path.strip_prefix(home).ok().map(Path::to_path_buf))
    {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// The decision to answer with an attempt or to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    Try(Attempt),
    GiveUp(String),
}

/// The state across one clone's credential requests.
#[derive(Debug)]
pub(crate) struct Credentials {
    sources: Sources,
    tried: BTreeSet<Attempt>,
    /// Attempts that produced nothing to send (a helper with no answer): not reported
    /// as tried.
    unavailable: BTreeSet<Attempt>,
    calls: u32,
}

impl Credentials {
    pub(crate) fn new(sources: Sources) -> Credentials {
        Credentials {
            sources,
            tried: BTreeSet::new(),
            unavailable: BTreeSet::new(),
            calls: 0,
        }
    }

    /// The next answer for a request allowing `allowed`, never the same one twice.
    pub(crate) fn next(
        &mut self,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Next {
        self.calls += 1;
        if self.calls > MAX_CALLS {
            return Next::GiveUp(format!(
                "authentication failed after {MAX_CALLS} attempts ({})",
                self.tried_list()
            ));
        }
        let ssh_user = username_from_url.unwrap_or("git").to_string();
        let mut candidates = Vec::new();
        if allowed.contains(CredentialType::USERNAME) {
            candidates.push(Attempt::Username(ssh_user.clone()));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if self.sources.agent {
                candidates.push(Attempt::Agent {
                    user: ssh_user.clone(),
                });
            }
            candidates.extend(self.sources.keys.iter().map(|private| Attempt::KeyFile {
                user: ssh_user.clone(),
                private: private.clone(),
            }));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if self.sources.token.is_some() {
                candidates.push(Attempt::Token {
                    user: username_from_url.unwrap_or("x-access-token").to_string(),
                });
            }
            if self.sources.helper {
                candidates.push(Attempt::Helper);
            }
        }
        if allowed.contains(CredentialType::DEFAULT) {
            candidates.push(Attempt::Default);
        }
        match candidates.into_iter().find(|c| !self.tried.contains(c)) {
            Some(attempt) => {
                self.tried.insert(attempt.clone());
                Next::Try(attempt)
            }
            None => Next::GiveUp(self.give_up_reason(allowed)),
        }
    }

    /// `attempt` turned out to have nothing to send.
    pub(crate) fn unavailable(&mut self, attempt: &Attempt) {
        self.unavailable.insert(attempt.clone());
    }

    /// The attempts that sent something (the user name alone does not count).
    fn offered(&self) -> impl Iterator<Item = &Attempt> {
        self.tried
            .iter()
            .filter(|a| !matches!(a, Attempt::Username(_)) && !self.unavailable.contains(a))
    }

    fn tried_list(&self) -> String {
        let tried: Vec<String> = self.offered().map(Attempt::describe).collect();
        if tried.is_empty() {
            "nothing to try".to_string()
        } else {
            format!("tried {}", tried.join(", "))
        }
    }

    fn give_up_reason(&self, allowed: CredentialType) -> String {
        if self.offered().next().is_some() {
            return format!("authentication failed ({})", self.tried_list());
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            "authentication failed: no ssh key to offer (ssh-agent is not running and ~/.ssh \
             has no id_ed25519, id_ecdsa or id_rsa)"
                .to_string()
        } else if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            format!(
                "authentication failed: no credentials to offer ({TOKEN_VARIABLE} is not set \
                 and no git credential helper answered)"
            )
        } else {
            "authentication failed: the server asks for a method proj does not support".to_string()
        }
    }
}

/// The last give-up reason of a clone, to report instead of libgit2's wording.
pub(crate) type GaveUp = Rc<RefCell<Option<String>>>;

/// A `git2` credentials callback over [`Credentials`]. An attempt that cannot even be
/// built (a helper that answers nothing) counts as tried and the next one is taken.
pub(crate) fn callback(
    mut credentials: Credentials,
    config: Option<git2::Config>,
    gave_up: GaveUp,
) -> impl FnMut(&str, Option<&str>, CredentialType) -> Result<Cred, git2::Error> {
    move |url, username_from_url, allowed| loop {
        let attempt = match credentials.next(username_from_url, allowed) {
            Next::Try(attempt) => attempt,
            Next::GiveUp(reason) => {
                *gave_up.borrow_mut() = Some(reason.clone());
                return Err(git2::Error::from_str(&reason));
            }
        };
        tracing::debug!(?attempt, url, "answering a credential request");
        let cred = match &attempt {
            Attempt::Username(user) => Cred::username(user),
            Attempt::Agent { user } => Cred::ssh_key_from_agent(user),
            Attempt::KeyFile { user, private } => {
                let public = private.with_extension("pub");
                let public = public.is_file().then_some(public);
                Cred::ssh_key(user, public.as_deref(), private, None)
            }
            Attempt::Token { user } => {
                let token = std::env::var(TOKEN_VARIABLE).unwrap_or_default();
                Cred::userpass_plaintext(user, &token)
            }
            Attempt::Helper => match &config {
                Some(config) => Cred::credential_helper(config, url, username_from_url),
                None => Err(git2::Error::from_str("no git config")),
            },
            Attempt::Default => Cred::default(),
        };
        match cred {
            Ok(cred) => return Ok(cred),
            Err(error) => {
                tracing::debug!(?attempt, %error, "credential not available");
                credentials.unavailable(&attempt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        Sources {
            token: None,
            agent: true,
            keys: vec![
                PathBuf::from("/home/u/.ssh/id_ed25519"),
                PathBuf::from("/home/u/.ssh/id_rsa"),
            ],
            helper: true,
        }
    }

    fn run_until_give_up(
        credentials: &mut Credentials,
        allowed: CredentialType,
    ) -> (Vec<Attempt>, String) {
        let mut attempts = Vec::new();
        for _ in 0..100 {
            match credentials.next(None, allowed) {
                Next::Try(attempt) => attempts.push(attempt),
                Next::GiveUp(reason) => return (attempts, reason),
            }
        }
        panic!("never gave up: {attempts:?}");
    }

    #[test]
    fn ssh_tries_the_agent_then_each_key_once_then_gives_up() {
        let mut credentials = Credentials::new(sources());
        let (attempts, reason) = run_until_give_up(&mut credentials, CredentialType::SSH_KEY);
        assert_eq!(
            attempts,
            vec![
                Attempt::Agent { user: "git".into() },
                Attempt::KeyFile {
                    user: "git".into(),
                    private: "/home/u/.ssh/id_ed25519".into()
                },
                Attempt::KeyFile {
                    user: "git".into(),
                    private: "/home/u/.ssh/id_rsa".into()
                },
            ]
        );
        assert!(reason.contains("ssh-agent"), "{reason}");
        assert!(reason.contains("id_rsa"), "{reason}");
        // Asking again after giving up gives up again: no loop restarts.
        assert!(matches!(
            credentials.next(None, CredentialType::SSH_KEY),
            Next::GiveUp(_)
        ));
    }

    #[test]
    fn the_user_name_comes_first_and_from_the_url() {
        let mut credentials = Credentials::new(sources());
        assert_eq!(
            credentials.next(Some("deploy"), CredentialType::USERNAME),
            Next::Try(Attempt::Username("deploy".into()))
        );
        assert_eq!(
            credentials.next(Some("deploy"), CredentialType::SSH_KEY),
            Next::Try(Attempt::Agent {
                user: "deploy".into()
            })
        );
    }

    #[test]
    fn https_tries_the_token_then_the_helper_once() {
        let mut credentials = Credentials::new(Sources {
            token: Some("secret".into()),
            ..sources()
        });
        let (attempts, reason) =
            run_until_give_up(&mut credentials, CredentialType::USER_PASS_PLAINTEXT);
        assert_eq!(
            attempts,
            vec![
                Attempt::Token {
                    user: "x-access-token".into()
                },
                Attempt::Helper
            ]
        );
        assert!(reason.contains(TOKEN_VARIABLE), "{reason}");
        assert!(
            !reason.contains("secret"),
            "the token is never shown: {reason}"
        );
    }

    #[test]
    fn a_helper_with_no_answer_is_not_reported_as_tried() {
        let mut credentials = Credentials::new(sources());
        let allowed = CredentialType::USER_PASS_PLAINTEXT;
        assert_eq!(credentials.next(None, allowed), Next::Try(Attempt::Helper));
        credentials.unavailable(&Attempt::Helper);
        let Next::GiveUp(reason) = credentials.next(None, allowed) else {
            panic!("gives up");
        };
        assert!(reason.contains("no credentials to offer"), "{reason}");
    }

    #[test]
    fn nothing_to_offer_gives_up_at_once_with_advice() {
        let mut credentials = Credentials::new(Sources::default());
        let (attempts, reason) = run_until_give_up(&mut credentials, CredentialType::SSH_KEY);
        assert!(attempts.is_empty());
        assert!(reason.contains("no ssh key"), "{reason}");
    }

    #[test]
    fn a_caller_that_keeps_asking_is_cut_off() {
        // Alternating request types never run out of fresh candidates by themselves
        // for long; the call cap ends it regardless.
        let mut credentials = Credentials::new(sources());
        let mut gave_up = false;
        for call in 0..(MAX_CALLS + 1) {
            let allowed = if call % 2 == 0 {
                CredentialType::SSH_KEY
            } else {
                CredentialType::USER_PASS_PLAINTEXT
            };
            if let Next::GiveUp(_) = credentials.next(None, allowed) {
                gave_up = true;
            }
        }
        assert!(gave_up);
        assert!(matches!(
            credentials.next(None, CredentialType::DEFAULT),
            Next::GiveUp(_)
        ));
    }
}
