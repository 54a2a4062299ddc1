//! Whether a setup step is already done, by its rules (SPEC §2):
//!
//! - `creates = PATH`: done while PATH exists;
//! - `sources = [...]`: done while the fingerprint of those files equals the one
//!   recorded after the step's last success (see [`super::fingerprint`]);
//! - `skip_if = COMMAND`: done when COMMAND exits 0 (its output is discarded).
//!
//! A step with several rules is done only when every one of them says so: `creates =
//! ".venv"` with `sources = ["requirements.txt"]` reads "run when the venv is missing or
//! the requirements changed". The cheap rules are checked first and the first one that
//! says "not done" decides, so a `skip_if` command runs only when it is needed. A step
//! with no rule is never done: it runs every time.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::time::Duration;

use super::child;
use super::fingerprint;
use super::interrupt::Interrupts;
use super::state::StateFile;
use crate::config::SetupStep;

/// What the rules say, and why (as the report line shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Skip(String),
    Run(String),
}

/// What the rules need besides the step.
pub(crate) struct Checker<'a> {
    pub root: &'a Path,
    pub env: &'a [(OsString, OsString)],
    pub interrupts: &'a Interrupts,
    pub state: &'a StateFile,
}

impl Checker<'_> {
    /// The decision, and the time spent in the `skip_if` command (not proj's own).
    pub(crate) fn decide(&self, step: &SetupStep) -> io::Result<(Decision, Duration)> {
        let mut in_child = Duration::ZERO;
        let decision = self.rules(step, &mut in_child)?;
        Ok((decision, in_child))
    }

    fn rules(&self, step: &SetupStep, in_child: &mut Duration) -> io::Result<Decision> {
        let mut done = Vec::new();
        if let Some(creates) = &step.creates {
            let shown = shown(self.root, creates);
            if !creates.exists() {
                return Ok(Decision::Run(format!("{shown} missing")));
            }
            done.push(format!("creates {shown} exists"));
        }
        if !step.sources.is_empty() {
            let recorded = self
                .state
                .record(&step.name)
                .and_then(|r| r.sources.as_ref());
            let Some(recorded) = recorded else {
                return Ok(Decision::Run("first run".to_string()));
            };
            let current = fingerprint::compute(self.root, &step.command, &step.sources)?;
            if &current != recorded {
                return Ok(Decision::Run("sources changed".to_string()));
            }
            done.push("sources unchanged".to_string());
        }
        if let Some(check) = &step.skip_if {
            let finished = child::run(check, self.root, self.env, self.interrupts, |line| {
                tracing::debug!(output = %String::from_utf8_lossy(line), "skip_if");
            })?;
            *in_child = finished.elapsed;
            if !finished.status.success() {
                return Ok(Decision::Run(format!(
                    "skip_if: {}",
                    finished.status.describe()
                )));
            }
            done.push("skip_if exited 0".to_string());
        }
        if done.is_empty() {
            return Ok(Decision::Run(String::new()));
        }
        Ok(Decision::Skip(done.join(", ")))
    }
}

/// A path as written in proj.toml: relative to the root when it is inside it.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
