//! Running the `[[setup]]` steps of a plan, in order, each skipped by its rules.
//!
//! The model is Shopify `dev up`'s and scripts-to-rule-them-all's: each step is a cheap
//! "is it done?" ([`super::rules`]) guarding the work, so one command covers day one and
//! day N, and resuming after a failure is running it again. The first failing step stops
//! setup (like `set -e`); the steps before it are recorded as done, the steps after it
//! are not run, and nothing is started.
//!
//! Steps run with the project root as working directory and the project environment:
//! proj's own, then the `env_file`s, then `[env]`, as a process sees it (without the
//! per-instance `PORT`, `PROJ_PROCESS`, `PROJ_INSTANCE`). The config is read again after
//! each step that ran, so a step that writes an env file (`cp .env.example .env`) is
//! seen by the steps after it and by the processes.
//!
//! Two setups of one project at once would race on the same files: a lock
//! (`.proj/setup.lock`) makes the second one stop with a clear message.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use super::child;
use super::error::SetupError;
use super::fingerprint;
use super::interrupt::Interrupts;
use super::report::{Live, Outcome, Reporter};
use super::requires;
use super::rules::{Checker, Decision};
use super::state::{StateFile, StepRecord};
use crate::config::{self, Plan, SetupStep};

/// Lines of a failed step's output shown in the error.
pub(crate) const FAILURE_TAIL: usize = 30;

/// What to run and how to show it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Run every selected step, whatever its rules say.
    pub force: bool,
    /// Run only these steps, whatever their rules say (empty: every step, by its rules).
    pub only: Vec<String>,
    /// stdout is a terminal: spinners and live output.
    pub terminal: bool,
    pub color: bool,
}

/// What a setup run did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub ran: usize,
    pub skipped: usize,
    /// Wall time of the whole setup phase.
    pub elapsed: Duration,
    /// Time spent waiting for steps and `skip_if` checks (the rest is proj's own).
    pub in_children: Duration,
}

/// `requires`: every missing program named at once.
pub(crate) fn check_requires(plan: &Plan) -> Result<(), SetupError> {
    // The PATH the steps will see: `[env]` may extend proj's (`.venv/bin:$PATH`).
    let path = environment(plan)
        .into_iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value);
    let missing = requires::missing(&plan.requires, path.as_deref(), &plan.root);
    if missing.is_empty() {
        return Ok(());
    }
    Err(SetupError::MissingPrograms {
        missing,
        source_file: plan.source.clone(),
        searched: path.map_or_else(
            || "(PATH is not set)".to_string(),
            |path| path.to_string_lossy().into_owned(),
        ),
    })
}

/// The names in `only` that are not steps of `plan` make a usage error.
pub(crate) fn check_names(plan: &Plan, only: &[String]) -> Result<(), SetupError> {
    let known: Vec<String> = plan.setup.iter().map(|s| s.name.clone()).collect();
    let unknown: Vec<String> = only
        .iter()
        .filter(|n| !known.contains(n))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(SetupError::UnknownSteps {
        unknown,
        known,
        source_file: plan.source.clone(),
    })
}

/// Check `requires`, then run the steps. Returns once every selected step has run or
/// been skipped; the first failure (or an interrupt) ends it with an error.
pub(crate) fn run(
    plan: &Plan,
    options: &Options,
    interrupts: &Interrupts,
) -> Result<Summary, SetupError> {
    let started = Instant::now();
    check_names(plan, &options.only)?;
    check_requires(plan)?;
    let selected: Vec<&SetupStep> = plan
        .setup
        .iter()
        .filter(|step| options.only.is_empty() || options.only.contains(&step.name))
        .collect();
    let mut summary = Summary::default();
    if selected.is_empty() {
        return Ok(summary);
    }
    let _lock = lock(&plan.root)?;
    let mut state = StateFile::load(&plan.root);
    let names: Vec<&str> = plan.setup.iter().map(|s| s.name.as_str()).collect();
    state.retain_steps(&names);
    let reporter = Reporter::new(
        options.terminal,
        options.color,
        &selected.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
    );
    if let Some(problem) = &state.problem {
        reporter.note(problem);
    }
    let mut env = environment(plan);
    for step in selected {
        let live = reporter.begin(&step.name);
        let checked = Instant::now();
        let (decision, in_check) = if options.force {
            (Decision::Run("--force".to_string()), Duration::ZERO)
        } else if !options.only.is_empty() {
            (Decision::Run("named".to_string()), Duration::ZERO)
        } else {
            let checker = Checker {
                root: &plan.root,
                env: &env,
                interrupts,
                state: &state,
            };
            checker.decide(step).map_err(|e| {
                SetupError::io(format!("cannot check setup step `{}`", step.name), e)
            })?
        };
        summary.in_children += in_check;
        if interrupts.requested() {
            reporter.end(&live, &step.name, &interrupted(checked.elapsed()));
            return Err(SetupError::Interrupted {
                step: Some(step.name.clone()),
            });
        }
        let why = match decision {
            Decision::Skip(why) => {
                let elapsed = checked.elapsed();
                reporter.end(&live, &step.name, &Outcome::Skipped { elapsed, why });
                summary.skipped += 1;
                continue;
            }
            Decision::Run(why) => why,
        };
        let finished = run_step(plan, step, &env, &live, interrupts)?;
        summary.in_children += finished.elapsed;
        if !finished.status.success() {
            let outcome = Outcome::Failed {
                elapsed: finished.elapsed,
                status: finished.status.describe(),
            };
            reporter.end(&live, &step.name, &outcome);
            if interrupts.requested() {
                return Err(SetupError::Interrupted {
                    step: Some(step.name.clone()),
                });
            }
            return Err(SetupError::StepFailed {
                step: step.name.clone(),
                command: step.command.clone(),
                status: finished.status.describe(),
                tail: finished.tail,
                log: shown(&finished.log),
            });
        }
        record_success(plan, step, &mut state, finished.elapsed)?;
        let outcome = Outcome::Ran {
            elapsed: finished.elapsed,
            why,
        };
        reporter.end(&live, &step.name, &outcome);
        summary.ran += 1;
        if interrupts.requested() {
            return Err(SetupError::Interrupted { step: None });
        }
        // The step may have written an env file the next steps need.
        if let Ok(reloaded) = config::load_with(&plan.source, &plan.options) {
            env = environment(&reloaded);
        }
    }
    summary.elapsed = started.elapsed();
    tracing::debug!(
        ran = summary.ran,
        skipped = summary.skipped,
        elapsed = ?summary.elapsed,
        in_children = ?summary.in_children,
        "setup finished"
    );
    Ok(summary)
}

fn interrupted(elapsed: Duration) -> Outcome {
    Outcome::Failed {
        elapsed,
        status: "interrupted".to_string(),
    }
}

/// A step's environment: proj's own with the project's variables over it (see
/// [`crate::config::environment::for_setup`]).
fn environment(plan: &Plan) -> Vec<(OsString, OsString)> {
    let inherited: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    crate::config::environment::for_setup(&inherited, plan)
}

fn lock(root: &Path) -> Result<Flock<File>, SetupError> {
    let dir = crate::layout::dir(root);
    crate::layout::create(root)
        .map_err(|e| SetupError::io(format!("cannot create {}", dir.display()), e))?;
    let path = crate::layout::setup_lock(root);
    let file = File::create(&path)
        .map_err(|e| SetupError::io(format!("cannot create {}", path.display()), e))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        if errno == nix::errno::Errno::EWOULDBLOCK {
            SetupError::Busy { lock: shown(&path) }
        } else {
            SetupError::io(format!("cannot lock {}", path.display()), errno.into())
        }
    })
}

/// A step that ran: how it ended, its last lines and where all of them are.
struct StepRun {
    status: child::Status,
    elapsed: Duration,
    tail: Vec<String>,
    log: PathBuf,
}

/// Where a step's output goes: its log file, the failure tail, the live view.
struct Sink {
    log: Option<BufWriter<File>>,
    tail: VecDeque<String>,
    live: Arc<Live>,
}

impl Sink {
    fn line(&mut self, raw: &[u8]) {
        if let Some(log) = &mut self.log {
            // A full disk must not fail the step; the tail is still shown.
            let _ = log.write_all(raw).and_then(|()| log.write_all(b"\n"));
        }
        self.tail
            .push_back(String::from_utf8_lossy(raw).into_owned());
        if self.tail.len() > FAILURE_TAIL {
            self.tail.pop_front();
        }
        self.live.output(raw);
    }
}

fn run_step(
    plan: &Plan,
    step: &SetupStep,
    env: &[(OsString, OsString)],
    live: &Arc<Live>,
    interrupts: &Interrupts,
) -> Result<StepRun, SetupError> {
    let log_path = log_path(&plan.root, &step.name);
    let log = crate::layout::create_logs(&plan.root)
        .and_then(|_| File::create(&log_path))
        .map_err(|e| SetupError::io(format!("cannot create {}", log_path.display()), e))?;
    let sink = Arc::new(Mutex::new(Sink {
        log: Some(BufWriter::new(log)),
        tail: VecDeque::new(),
        live: live.clone(),
    }));
    let writer = sink.clone();
    let finished = child::run(&step.command, &plan.root, env, interrupts, move |raw| {
        lock_sink(&writer).line(raw);
    })
    .map_err(|e| SetupError::io(format!("cannot run setup step `{}`", step.name), e))?;
    let mut sink = lock_sink(&sink);
    if let Some(mut log) = sink.log.take() {
        let _ = log.flush();
    }
    Ok(StepRun {
        status: finished.status,
        elapsed: finished.elapsed,
        tail: sink.tail.iter().cloned().collect(),
        log: log_path,
    })
}

fn lock_sink(sink: &Mutex<Sink>) -> std::sync::MutexGuard<'_, Sink> {
    sink.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn record_success(
    plan: &Plan,
    step: &SetupStep,
    state: &mut StateFile,
    elapsed: Duration,
) -> Result<(), SetupError> {
    // The fingerprint after the step, so a step that rewrites its own sources (a lock
    // file) is not run again for that.
    let sources = if step.sources.is_empty() {
        None
    } else {
        Some(
            fingerprint::compute(&plan.root, &step.command, &step.sources).map_err(|e| {
                SetupError::io(format!("cannot read the sources of `{}`", step.name), e)
            })?,
        )
    };
    let record = StepRecord {
        finished_at: jiff::Timestamp::now().to_string(),
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        sources,
    };
    state.save_success(&step.name, record).map_err(|e| {
        SetupError::io(
            format!("cannot write {}", StateFile::path_in(&plan.root).display()),
            e,
        )
    })
}

/// `.proj/logs/setup-NAME.log` (see [`crate::layout::setup_log`]).
pub(crate) fn log_path(root: &Path, step: &str) -> PathBuf {
    crate::layout::setup_log(root, step)
}

/// A path as the user can open it from where proj was started.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_are_safe_file_names() {
        assert_eq!(
            log_path(Path::new("/p"), "python deps"),
            Path::new("/p/.proj/logs/setup-python-deps.log")
        );
        assert_eq!(
            log_path(Path::new("/p"), "db/migrate v2"),
            Path::new("/p/.proj/logs/setup-db-migrate-v2.log")
        );
    }
}
