//! The command lines of a `--per-process` unit: `ExecStart=` runs the program as the
//! unit's main process, `ExecStop=` runs a stop sequence's first steps (SPEC §9.6).
//!
//! - **ExecStart**: a simple command (see [`crate::export::command`]) is written as its
//!   words, a reference to a variable of the unit's `Environment=` as `${NAME}` (systemd
//!   expands it, one word, never split). The program is the one the plan's `PATH` finds
//!   on this machine (systemd itself looks in a fixed path only). Otherwise, or when a
//!   reference names something systemd does not set, `/bin/sh -c` with the program
//!   `exec`'d, so sh replaces itself with it; a command sh must stay in (a pipeline)
//!   says so in a comment.
//! - **Stop**: `KillSignal=` is the sequence's last signal; the steps before it are one
//!   `ExecStop=` script that signals `$MAINPID` (or its process group, `stop_target =
//!   "group"`) and waits for it to be gone, as proj does. systemd runs `ExecStop=`
//!   before `KillSignal=`.

use std::path::{Path, PathBuf};

use crate::config::{ProcessSpec, StopAction, StopTarget};
use crate::export::command::{self, Shape};
use crate::export::references::Part;

use super::quote;

/// The `ExecStart=` value, and a comment line when sh stays the main process.
pub(super) fn exec_start(
    process: &ProcessSpec,
    environment: &[(String, String)],
) -> (String, Option<String>) {
    let sh = |script: &str| format!("/bin/sh -c {}", quote(script, true));
    let defined = |name: &str| environment.iter().any(|(key, _)| key == name);
    match command::shape(&process.command) {
        Shape::Argv(words) if command::referenced(&words).all(defined) => {
            match program(&words[0], &process.cwd, environment) {
                Some(program) => {
                    let rest = words[1..].iter().map(|word| exec_word(word));
                    let line: Vec<String> =
                        std::iter::once(quote(&program.to_string_lossy(), true))
                            .chain(rest)
                            .collect();
                    (line.join(" "), None)
                }
                None => (sh(&command::exec_script(&process.command)), None),
            }
        }
        Shape::Argv(_) => (sh(&command::exec_script(&process.command)), None),
        Shape::Exec(script) => (sh(&script), None),
        Shape::Shell(reason) => (
            sh(&process.command),
            Some(format!(
                "# `command` {reason}: sh stays the main process and gets the stop signals; \
                 make the command end with `exec PROGRAM` so the program gets them"
            )),
        ),
    }
}

/// A word of `ExecStart=`: quoted text, references as `${NAME}`.
fn exec_word(parts: &[Part]) -> String {
    let mut word = String::new();
    for part in parts {
        match part {
            Part::Text(text) => {
                let quoted = quote(text, true);
                word.push_str(&quoted[1..quoted.len() - 1]);
            }
            Part::Reference { name, .. } => {
                word.push_str("${");
                word.push_str(name);
                word.push('}');
            }
        }
    }
    format!("\"{word}\"")
}

/// The program's absolute path: as written when absolute, relative to `cwd` when it
/// has a `/`, else found on the plan's `PATH` on this machine (where the units run).
/// `None` when it is not plain text or not found (sh then looks for it at start).
fn program(word: &[Part], cwd: &Path, environment: &[(String, String)]) -> Option<PathBuf> {
    let [Part::Text(name)] = word else {
        return None;
    };
    if name.contains('/') {
        return Some(cwd.join(name));
    }
    let path = environment
        .iter()
        .find(|(key, _)| key == "PATH")
        .map_or(crate::export::DEFAULT_PATH, |(_, value)| value.as_str());
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| cwd.join(dir).join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// How a unit stops: `KillSignal=`, `KillMode=`, and the `ExecStop=` script of the
/// steps before the last signal.
pub(super) struct Stop {
    pub kill_signal: String,
    pub kill_mode: &'static str,
    pub exec_stop: Option<String>,
}

pub(super) fn stop(process: &ProcessSpec) -> Stop {
    let steps = &process.lifecycle.stop_sequence;
    let group = process.lifecycle.stop_target == StopTarget::Group;
    let (before, kill_signal) = match steps.split_last() {
        Some((last, before)) => match &last.action {
            StopAction::Signal(signal) => (before, signal.as_str().to_owned()),
            // Ends with a command: all of it before SIGKILL, proj's last word.
            StopAction::Command(_) => (steps.as_slice(), "SIGKILL".to_owned()),
        },
        None => (steps.as_slice(), "SIGTERM".to_owned()),
    };
    let mut script = String::new();
    for step in before {
        match &step.action {
            StopAction::Signal(signal) if group => {
                script.push_str(&format!(
                    "kill -s {} -- -$MAINPID 2>/dev/null; ",
                    short(signal.as_str())
                ));
            }
            StopAction::Signal(signal) => {
                script.push_str(&format!(
                    "kill -s {} $MAINPID 2>/dev/null; ",
                    short(signal.as_str())
                ));
            }
            StopAction::Command(command) => script.push_str(&format!("( {command} ) & ")),
        }
        let wait = crate::export::whole_seconds(step.wait);
        script.push_str(&format!(
            "waited=0; while kill -0 $MAINPID 2>/dev/null && [ $waited -lt {wait} ]; do \
             sleep 1; waited=$((waited + 1)); done; "
        ));
    }
    Stop {
        kill_signal,
        // `control-group`: the signal goes to every process of the unit, as proj signals
        // the group; `mixed`: the main process only (`stop_target = "main"`). SIGKILL
        // goes to all in both.
        kill_mode: if group { "control-group" } else { "mixed" },
        exec_stop: (!before.is_empty())
            .then(|| format!("/bin/sh -c {}", quote(&format!("{script}exit 0"), true))),
    }
}

fn short(signal: &str) -> &str {
    signal.strip_prefix("SIG").unwrap_or(signal)
}
