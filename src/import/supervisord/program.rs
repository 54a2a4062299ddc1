//! One `[program:x]` → one `[processes.x]`, key by key.

use std::path::Path;

use super::expand::{Expansions, absolute};
use super::{entry_place, place, priority};
use crate::import::cwd::set_cwd;
use crate::import::ini::{Entry, Section};
use crate::import::model::{Notes, Process, seconds};

/// Program keys about supervisord's log files: proj keeps one log per process.
const LOG_KEYS: [&str; 16] = [
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
];

/// One `[program:x]` being converted.
pub(super) struct Program<'a> {
    pub(super) section: &'a Section,
    pub(super) program: &'a str,
    pub(super) group: Option<&'a str>,
    pub(super) here: &'a Path,
    pub(super) root: &'a Path,
}

impl Program<'_> {
    pub(super) fn convert(&self, name: String, notes: &mut Notes) -> Process {
        let section = self.section;
        let key = |key: &str| format!("[{}] {key}", section.name);
        let mut process = Process::new(name.clone());
        let numprocs = self.integer("numprocs", notes).unwrap_or(1).max(1);
        let start = self.integer("numprocs_start", notes).unwrap_or(0);
        let vars = Expansions::fixed(self.here, self.root, self.program, self.group)
            .with_numprocs(numprocs, start);
        let vars = match section.get("directory") {
            Some(entry) => {
                let dir = self.here.join(vars.expand_static(&entry.value));
                if dir.is_dir() {
                    vars.with_cwd(&absolute(&dir))
                } else {
                    vars
                }
            }
            None => vars,
        };

        match section.get("command") {
            Some(entry) => {
                // Continuation lines are one command to supervisord (it splits on any
                // whitespace); to `sh -c` a newline would end it.
                let one_line = entry.value.replace('\n', " ");
                let command = vars.expand_command(&one_line);
                // `sh -c '…'` was a shell under supervisord too.
                let through_a_shell = ["sh -c", "bash -c", "/bin/sh -c", "/bin/bash -c"]
                    .iter()
                    .any(|shell| entry.value.trim_start().starts_with(shell));
                if entry.value.contains('$') && !through_a_shell {
                    notes.decision(
                        entry_place(entry),
                        key("command"),
                        "proj runs commands through `sh -c`: `$NAME` is expanded by the shell (supervisord passed it as it is)",
                    );
                }
                if entry.value.contains("%(ENV_") {
                    notes.decision(
                        entry_place(entry),
                        key("command"),
                        "`%(ENV_X)s` became `${X}`, read from proj's environment when the process starts",
                    );
                }
                process.set("command", command);
            }
            None => {
                notes.dropped(
                    place(&section.file, section.line),
                    format!("[{}]", section.name),
                    "has no `command` (supervisord refuses it too); written as `true`",
                );
                process.set_because("command", "true", "supervisord's program had no command");
            }
        }
        if let Some((value, entry)) = priority(section) {
            process.comments.push(format!(
                "supervisord priority {value}: written in priority order, which proj starts in, but it does not wait; add `depends_on = [\"NAME\"]` for a process that needs another ready"
            ));
            notes.decision(
                entry_place(entry),
                key("priority"),
                "proj has no priorities: processes are written in priority order (proj starts independent ones in file order); add `depends_on` where one must wait for another to be ready",
            );
        }
        if numprocs > 1 {
            process.set_because(
                "scale",
                i64::from(numprocs),
                format!(
                    "supervisord's numprocs = {numprocs}, numbered from {start}; proj's instances are {name}.1 … {name}.{numprocs} (PROJ_INSTANCE from 1)"
                ),
            );
            if let Some(entry) = section.get("numprocs") {
                notes.decision(
                    entry_place(entry),
                    key("numprocs"),
                    format!(
                        "`scale = {numprocs}`; supervisord numbers from {start}, proj from 1: `%(process_num)` became `$((PROJ_INSTANCE - 1{}))`",
                        if start == 0 { String::new() } else { format!(" + {start}") }
                    ),
                );
            }
        }
        let mut stopasgroup = false;
        for entry in &section.entries {
            match entry.key.as_str() {
                "command" | "priority" | "numprocs" | "numprocs_start" => {}
                "process_name" => notes.decision(
                    entry_place(entry),
                    key("process_name"),
                    format!("proj names instances `{name}.N` (`{name}` with one instance)"),
                ),
                "directory" => self.directory(entry, &vars, &mut process, notes),
                "autostart" => match boolean(&entry.value) {
                    Some(false) => process.set("autostart", false),
                    Some(true) => {}
                    None => self.bad_value(entry, notes),
                },
                "autorestart" => match entry.value.trim().to_lowercase().as_str() {
                    "unexpected" => {}
                    value => match boolean(value) {
                        Some(true) => process.set_because(
                            "restart",
                            "always",
                            "supervisord's autorestart = true: also after a clean exit",
                        ),
                        Some(false) => process.set("restart", "never"),
                        None => self.bad_value(entry, notes),
                    },
                },
                "exitcodes" => {
                    let codes: Vec<&str> = entry.value.split(',').map(str::trim).collect();
                    if codes != ["0"] {
                        notes.dropped(
                            entry_place(entry),
                            key("exitcodes"),
                            "proj counts only exit code 0 as expected: other codes are failures (`restart = \"on-failure\"` restarts them)",
                        );
                    }
                }
                "startsecs" => notes.dropped(
                    entry_place(entry),
                    key("startsecs"),
                    "proj has no start delay: a `ready` probe (`ready = { tcp = 8000 }`, `{ log = \"listening\" }`) says when the process is up",
                ),
                "startretries" => match entry.value.trim().parse::<i64>() {
                    Ok(count) => {
                        process.set_because(
                            "max_restarts",
                            count,
                            format!("supervisord's startretries = {count}; proj counts restarts within `restart_window` (60s)"),
                        );
                        notes.decision(
                            entry_place(entry),
                            key("startretries"),
                            format!("`max_restarts = {count}`: proj counts every restart within `restart_window`, not only failed starts"),
                        );
                    }
                    Err(_) => self.bad_value(entry, notes),
                },
                "stopsignal" => {
                    let signal = entry.value.trim().to_uppercase();
                    if crate::config::parse_signal(&signal).is_ok() {
                        if signal.trim_start_matches("SIG") != "TERM" {
                            process.set("stop_signal", signal.trim_start_matches("SIG"));
                        }
                    } else {
                        self.bad_value(entry, notes);
                    }
                }
                "stopwaitsecs" => match entry.value.trim().parse::<f64>() {
                    Ok(secs) if secs != 10.0 => process.set("stop_timeout", seconds(secs)),
                    Ok(_) => {}
                    Err(_) => self.bad_value(entry, notes),
                },
                "stopasgroup" => stopasgroup = boolean(&entry.value).unwrap_or(false),
                "killasgroup" => {
                    if boolean(&entry.value) == Some(false) {
                        notes.decision(
                            entry_place(entry),
                            key("killasgroup"),
                            "proj's final SIGKILL always reaches the whole group (and every process the instance started)",
                        );
                    }
                }
                "user" => {
                    let user = entry.value.trim();
                    process.suggest(
                        "user",
                        user,
                        "supervisord's user: proj switches to it only when it runs as root (under systemd); uncomment it there",
                    );
                    notes.decision(
                        entry_place(entry),
                        key("user"),
                        format!("written commented out: `user = \"{user}\"` works only when proj runs as root"),
                    );
                }
                "environment" => match parse_environment(&entry.value) {
                    Ok(pairs) => {
                        for (variable, value) in pairs {
                            if vars.numprocs > 1 && value.contains("%(process_num)") {
                                notes.dropped(
                                    entry_place(entry),
                                    key("environment"),
                                    format!("{variable}: `%(process_num)` differs per instance; use `$PROJ_INSTANCE` (from 1) in the command"),
                                );
                                continue;
                            }
                            process.env.push((variable, vars.expand_env_value(&value)));
                        }
                    }
                    Err(why) => notes.dropped(entry_place(entry), key("environment"), why),
                },
                log if LOG_KEYS.contains(&log) => notes.dropped(
                    entry_place(entry),
                    key(log),
                    "proj logs stdout and stderr together to `.proj/logs/NAME.log` (`proj logs NAME`), rotated at `[project] log_max_size`",
                ),
                "umask" => notes.dropped(
                    entry_place(entry),
                    key("umask"),
                    "no equivalent: set it in the command (`sh -c 'umask 022; exec …'`)",
                ),
                "serverurl" => notes.dropped(entry_place(entry), key("serverurl"), "not needed: proj has no XML-RPC server"),
                other => notes.dropped(entry_place(entry), key(other), "no proj equivalent"),
            }
        }
        if stopasgroup {
            return process;
        }
        process.set_because(
            "stop_target",
            "main",
            "as supervisord's stopasgroup = false (its default): the stop signal goes to the main\nprocess only; proj's default, \"group\", would signal its children too",
        );
        let at = section
            .get("stopasgroup")
            .map_or_else(|| place(&section.file, section.line), entry_place);
        notes.decision(
            at,
            key("stopasgroup"),
            "false (supervisord's default) became `stop_target = \"main\"`: proj's default signals the whole group",
        );
        process
    }

    fn integer(&self, key: &str, notes: &mut Notes) -> Option<u32> {
        let entry = self.section.get(key)?;
        match entry.value.trim().parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.bad_value(entry, notes);
                None
            }
        }
    }

    fn bad_value(&self, entry: &Entry, notes: &mut Notes) {
        notes.dropped(
            entry_place(entry),
            format!("[{}] {}", self.section.name, entry.key),
            format!(
                "`{}` is not a valid value (supervisord would refuse it)",
                entry.value
            ),
        );
    }

    /// `directory`: kept when it exists here, else written commented out (proj refuses
    /// a `cwd` that does not exist, and a production path often does not on a laptop).
    fn directory(
        &self,
        entry: &Entry,
        vars: &Expansions,
        process: &mut Process,
        notes: &mut Notes,
    ) {
        let expanded = vars.expand_static(&entry.value);
        let key = format!("[{}] directory", self.section.name);
        let source = "supervisord's directory";
        if let Some((kind, text)) = set_cwd(process, &expanded, self.here, self.root, source) {
            notes.add(kind, entry_place(entry), key, text);
        }
    }
}

/// supervisord's booleans.
fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `KEY="value",KEY2=value2` (supervisord's `dict_of_key_value_pairs`: shell-like
/// quotes, commas between pairs, continuation lines allowed).
pub(super) fn parse_environment(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, ',') => tokens.push(std::mem::take(&mut current)),
            (None, '\n') => {}
            (None, c) => current.push(c),
        }
    }
    if quote.is_some() {
        return Err("unclosed quote: supervisord would refuse it".to_owned());
    }
    tokens.push(current);
    for token in tokens {
        let token = token.trim();
        if token.is_empty() {
            continue;
        }
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!(
                "`{token}` is not KEY=value: supervisord would refuse it"
            ));
        };
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_pairs() {
        assert_eq!(
            parse_environment("A=\"1,2\",B='x y',\n C=3").unwrap(),
            [
                ("A".to_owned(), "1,2".to_owned()),
                ("B".to_owned(), "x y".to_owned()),
                ("C".to_owned(), "3".to_owned())
            ]
        );
        assert!(parse_environment("A=\"1").is_err());
        assert!(parse_environment("oops").is_err());
    }
}
