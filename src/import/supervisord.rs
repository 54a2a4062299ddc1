//! supervisord's config → proj.toml.
//!
//! supervisord reads `[program:x]` sections (an INI dialect, see [`ini`]), follows
//! `[include] files` (globs relative to the main file, one level: included files'
//! own `[include]` are not read), and expands `%(name)s` in values itself. proj's
//! equivalents, and the decisions where there is none:
//!
//! - `%(here)s` is the config file's directory, written relative to proj.toml;
//!   `%(program_name)s`, `%(group_name)s`, `%(numprocs)d`, `%(host_node_name)s` are
//!   expanded now; `%(ENV_X)s` becomes `${X}`, read when the process starts.
//! - `numprocs = N` is `scale = N`. supervisord numbers from `numprocs_start` (0),
//!   proj's `PROJ_INSTANCE` from 1, so `%(process_num)d` in a command becomes
//!   `$((PROJ_INSTANCE - 1))` (plus the start).
//! - `stopasgroup = false`, supervisord's default, is `stop_target = "main"`: proj's
//!   default signals the whole group.
//! - `priority` orders the processes in the file (proj starts independent ones in file
//!   order) but cannot wait for anything: each gets a comment pointing at `depends_on`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ini::{self, Entry, Section};
use super::model::{Notes, Place, Process, Project, process_name, seconds};
use super::{ImportError, directory_of, relative_to};

/// Sections that configure supervisord itself and its control server: proj is both.
const SERVER_SECTIONS: [&str; 5] = [
    "supervisord",
    "supervisorctl",
    "unix_http_server",
    "inet_http_server",
    "include",
];

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

pub(super) fn convert(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<(Project, Notes), ImportError> {
    let mut notes = Notes::default();
    let mut sections = Vec::new();
    read_file(path, text, &mut sections)?;
    let here = directory_of(path);
    let main_include = sections
        .iter()
        .find(|section| section.name == "include")
        .cloned();
    if let Some(include) = main_include {
        read_includes(&include, &here, root, &mut sections, &mut notes)?;
    }
    let mut project = Project::default();
    let groups = read_groups(&sections, &mut notes);
    let mut programs: Vec<&Section> = Vec::new();
    for section in &sections {
        let (kind, _) = section.name.split_once(':').unwrap_or((&section.name, ""));
        match kind {
            "program" => programs.push(section),
            "group" => {}
            "supervisord" => read_server_environment(section, root, &mut project, &mut notes),
            kind if SERVER_SECTIONS.contains(&kind) || kind.starts_with("rpcinterface") => {}
            "eventlistener" | "fcgi-program" => notes.dropped(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                "proj has no event listeners or FastCGI sockets: run it as a process (or use `socket`) by hand",
            ),
            _ => notes.dropped(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                "not a section proj knows",
            ),
        }
    }
    let server_sections: Vec<&str> = sections
        .iter()
        .map(|section| section.name.as_str())
        .filter(|name| {
            let kind = name.split(':').next().unwrap_or_default();
            (SERVER_SECTIONS.contains(&kind) && *name != "include") || kind == "rpcinterface"
        })
        .collect();
    if let Some(first) = sections
        .iter()
        .find(|s| server_sections.contains(&s.name.as_str()))
    {
        notes.dropped(
            place(&first.file, first.line),
            server_sections
                .iter()
                .map(|name| format!("[{name}]"))
                .collect::<Vec<_>>()
                .join(", "),
            "not needed: proj is its own supervisor and control server (`proj ps`, `proj restart`, `proj logs`)",
        );
    }
    // supervisord starts lower priorities first; proj starts independent processes in
    // file order, so writing them by priority keeps the start order.
    programs.sort_by_key(|section| priority(section).map_or(999, |(value, _)| value));
    let mut used = Vec::new();
    for section in programs {
        let program = &section.name["program:".len()..];
        let mut name = process_name(program);
        while used.contains(&name) {
            name.push('2');
        }
        if name != program {
            notes.decision(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                format!("named `{name}` (process names are letters, digits, `_` and `-`)"),
            );
        }
        used.push(name.clone());
        let context = Program {
            section,
            program,
            group: groups.get(program).map(String::as_str),
            here: &here,
            root,
        };
        project.processes.push(context.convert(name, &mut notes));
    }
    Ok((project, notes))
}

fn read_file(path: &Path, text: &str, sections: &mut Vec<Section>) -> Result<(), ImportError> {
    ini::read_into(path, text, sections).map_err(|error| ImportError::Syntax {
        place: place(path, error.line),
        message: error.message,
    })
}

fn place(file: &Path, line: usize) -> Place {
    Place {
        file: file.to_path_buf(),
        line: Some(line),
    }
}

fn entry_place(entry: &Entry) -> Place {
    place(&entry.file, entry.line)
}

/// `[include] files = a.conf conf.d/*.conf`: globs relative to the main file.
fn read_includes(
    include: &Section,
    here: &Path,
    root: &Path,
    sections: &mut Vec<Section>,
    notes: &mut Notes,
) -> Result<(), ImportError> {
    let Some(files) = include.get("files") else {
        return Ok(());
    };
    let vars = Expansions::fixed(here, root, "", None);
    for pattern in files.value.split_whitespace() {
        let pattern = vars.expand_static(pattern);
        let pattern = here.join(pattern);
        let found = glob(&pattern);
        if found.is_empty() {
            notes.dropped(
                entry_place(files),
                "[include] files",
                format!("`{}` matches no file here", pattern.display()),
            );
        }
        for path in found {
            let text = super::read(&path)?;
            let before = sections.len();
            read_file(&path, &text, sections)?;
            notes.decision(
                entry_place(files),
                "[include] files",
                format!(
                    "read `{}` ({} section{})",
                    path.display(),
                    sections.len() - before,
                    if sections.len() - before == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
            );
        }
    }
    Ok(())
}

/// The files matching `pattern`, sorted: wildcards in its last component only, as in
/// every supervisord config seen (`conf.d/*.conf`).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Some(name) = pattern
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return Vec::new();
    };
    if !name.contains(['*', '?', '[']) {
        return if pattern.is_file() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let Ok(matcher) = globset::Glob::new(&name).map(|glob| glob.compile_matcher()) else {
        return Vec::new();
    };
    let dir = directory_of(pattern);
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .filter(|entry| matcher.is_match(entry.file_name()))
        .map(|entry| dir.join(entry.file_name()))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
}

/// Each program's heterogeneous group (`[group:x] programs = a,b`).
fn read_groups(sections: &[Section], notes: &mut Notes) -> BTreeMap<String, String> {
    let mut groups = BTreeMap::new();
    for section in sections {
        let Some(group) = section.name.strip_prefix("group:") else {
            continue;
        };
        let members: Vec<&str> = section
            .get("programs")
            .map(|entry| {
                entry
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for member in &members {
            groups.insert((*member).to_owned(), group.to_owned());
        }
        notes.decision(
            place(&section.file, section.line),
            format!("[{}]", section.name),
            format!(
                "proj has no groups: {} are processes of their own (`proj restart {}` names several)",
                members.join(", "),
                members.join(" ")
            ),
        );
        if let Some(entry) = section.get("priority") {
            notes.dropped(
                entry_place(entry),
                format!("[{}] priority", section.name),
                "proj has no priorities: `depends_on` orders processes and waits for them",
            );
        }
    }
    groups
}

/// `[supervisord] environment` reached every program: it becomes `[env]`.
fn read_server_environment(
    section: &Section,
    root: &Path,
    project: &mut Project,
    notes: &mut Notes,
) {
    let Some(entry) = section.get("environment") else {
        return;
    };
    let vars = Expansions::fixed(&directory_of(&entry.file), root, "", None);
    match parse_environment(&entry.value) {
        Ok(pairs) => {
            for (key, value) in pairs {
                project.env.push((key, vars.expand_env_value(&value)));
            }
            notes.decision(
                entry_place(entry),
                "[supervisord] environment",
                "became `[env]`, for every process",
            );
        }
        Err(why) => notes.dropped(entry_place(entry), "[supervisord] environment", why),
    }
}

fn priority(section: &Section) -> Option<(i64, &Entry)> {
    let entry = section.get("priority")?;
    entry.value.trim().parse().ok().map(|value| (value, entry))
}

/// One `[program:x]` being converted.
struct Program<'a> {
    section: &'a Section,
    program: &'a str,
    group: Option<&'a str>,
    here: &'a Path,
    root: &'a Path,
}

impl Program<'_> {
    fn convert(&self, name: String, notes: &mut Notes) -> Process {
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
        let path = self.here.join(&expanded);
        let written = relative_to(&path, self.root);
        let key = format!("[{}] directory", self.section.name);
        if path.is_dir() {
            if written != "." {
                process.set("cwd", written);
            }
        } else {
            process.suggest(
                "cwd",
                written.clone(),
                "supervisord's directory, which does not exist here",
            );
            notes.dropped(
                entry_place(entry),
                key,
                format!("`{written}` does not exist here: written commented out (proj refuses a missing `cwd`)"),
            );
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
fn parse_environment(text: &str) -> Result<Vec<(String, String)>, String> {
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

/// supervisord's `%(name)s` expansions for one program.
struct Expansions {
    /// `%(here)s` for a path proj reads (`cwd`): relative to proj.toml.
    here: String,
    /// `%(here)s` in a command or env value, which run in the process's own `cwd`:
    /// the way from there (`..` from a `directory` one level down).
    here_at_run: String,
    here_absolute: PathBuf,
    program: String,
    group: String,
    numprocs: u32,
    start: u32,
}

impl Expansions {
    fn fixed(here: &Path, root: &Path, program: &str, group: Option<&str>) -> Self {
        let relative = relative_to(here, root);
        // Until the process's own directory is known (`with_cwd`): the root's.
        let here_at_run = path_from(root, here);
        Expansions {
            here: relative,
            here_at_run,
            here_absolute: absolute(here),
            program: program.to_owned(),
            group: group.unwrap_or(program).to_owned(),
            numprocs: 1,
            start: 0,
        }
    }

    /// The process runs in `cwd` (absolute), not in the root.
    fn with_cwd(mut self, cwd: &Path) -> Self {
        self.here_at_run = path_from(cwd, &self.here_absolute);
        self
    }

    fn with_numprocs(mut self, numprocs: u32, start: u32) -> Self {
        self.numprocs = numprocs;
        self.start = start;
        self
    }

    /// For a command: per-instance numbers become shell arithmetic on PROJ_INSTANCE.
    fn expand_command(&self, text: &str) -> String {
        self.expand(text, Target::Shell)
    }

    /// For an env value: `%(ENV_X)s` becomes proj's own `${X}` interpolation.
    fn expand_env_value(&self, text: &str) -> String {
        self.expand(text, Target::Env)
    }

    /// For a path: everything now, the environment from proj's.
    fn expand_static(&self, text: &str) -> String {
        self.expand(text, Target::Static)
    }

    fn expand(&self, text: &str, target: Target) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
                continue;
            }
            let Some((name, spec, after)) = placeholder(rest) else {
                out.push('%');
                rest = &rest[1..];
                continue;
            };
            out.push_str(&self.value(name, spec, target));
            rest = after;
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str, spec: &str, target: Target) -> String {
        if let Some(variable) = name.strip_prefix("ENV_") {
            return match target {
                Target::Static => std::env::var(variable).unwrap_or_default(),
                Target::Shell | Target::Env => format!("${{{variable}}}"),
            };
        }
        match name {
            "here" if target == Target::Static => self.here.clone(),
            "here" => self.here_at_run.clone(),
            "program_name" => self.program.clone(),
            "group_name" => self.group.clone(),
            // Linux's node name, as Python's `platform.node()` gives it.
            "host_node_name" => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_owned())
                .unwrap_or_default(),
            "numprocs" => format_number(i64::from(self.numprocs), spec),
            "process_num" if self.numprocs == 1 || target != Target::Shell => {
                format_number(i64::from(self.start), spec)
            }
            "process_num" => {
                let number = if self.start == 1 {
                    "$PROJ_INSTANCE".to_owned()
                } else if self.start == 0 {
                    "$((PROJ_INSTANCE - 1))".to_owned()
                } else {
                    format!("$((PROJ_INSTANCE - 1 + {}))", self.start)
                };
                match width(spec) {
                    Some((true, width)) => format!("$(printf %0{width}d {number})"),
                    _ => number,
                }
            }
            other => format!("%({other}){spec}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Shell,
    Env,
    Static,
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The relative path from directory `base` to `target` (`.`, `..`, `../conf`), or
/// `target` absolute when they share nothing but `/`.
fn path_from(base: &Path, target: &Path) -> String {
    use std::path::Component;
    let normal = |path: &Path| -> Vec<std::ffi::OsString> {
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for component in absolute(path).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_os_string()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let (base, target_parts) = (normal(base), normal(target));
    let common = base
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 && !base.is_empty() {
        return absolute(target).display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); base.len() - common];
    parts.extend(
        target_parts[common..]
            .iter()
            .map(|part| part.to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `%(name)02d` → (`name`, `02d`, the text after it).
fn placeholder(text: &str) -> Option<(&str, &str, &str)> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let name = &inner[..close];
    let after_name = &inner[close + 1..];
    let spec_len = after_name
        .char_indices()
        .find(|(_, c)| c.is_ascii_alphabetic())
        .map(|(at, c)| at + c.len_utf8())?;
    let spec = &after_name[..spec_len];
    if !spec[..spec.len() - 1]
        .chars()
        .all(|c| c.is_ascii_digit() || "-+ #.".contains(c))
    {
        return None;
    }
    Some((name, spec, &after_name[spec_len..]))
}

/// `02d` → (zero-padded, 2).
fn width(spec: &str) -> Option<(bool, usize)> {
    let digits = spec.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let zero = digits.starts_with('0');
    digits
        .trim_start_matches('0')
        .parse()
        .ok()
        .map(|width| (zero, width))
}

fn format_number(value: i64, spec: &str) -> String {
    match width(spec) {
        Some((true, width)) => format!("{value:0width$}"),
        Some((false, width)) => format!("{value:width$}"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expansions(numprocs: u32, start: u32) -> Expansions {
        Expansions::fixed(Path::new("/srv/app"), Path::new("/srv/app"), "worker", None)
            .with_numprocs(numprocs, start)
    }

    #[test]
    fn expansions_follow_supervisord() {
        let one = expansions(1, 0);
        assert_eq!(
            one.expand_command("%(here)s/run %(program_name)s_%(process_num)02d"),
            "./run worker_00"
        );
        assert_eq!(one.expand_command("x %(ENV_HOME)s 100%%"), "x ${HOME} 100%");
        let three = expansions(3, 0);
        assert_eq!(
            three.expand_command("celery -n w%(process_num)02d@%%h"),
            "celery -n w$(printf %02d $((PROJ_INSTANCE - 1)))@%h"
        );
        assert_eq!(
            three.expand_command("--id %(process_num)d"),
            "--id $((PROJ_INSTANCE - 1))"
        );
        assert_eq!(
            expansions(2, 1).expand_command("%(process_num)s"),
            "$PROJ_INSTANCE"
        );
        assert_eq!(three.expand_command("%(unknown)s 5%"), "%(unknown)s 5%");
    }

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

    #[test]
    fn converts_programs_with_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("supervisord.conf");
        let text = "[supervisord]\nnodaemon=true\nenvironment=LANG=\"C.UTF-8\"\n\n\
            [program:web]\ncommand=gunicorn app:app -b 127.0.0.1:8000\npriority=20\n\
            stopasgroup=true\nstdout_logfile=/var/log/web.log\n\n\
            [program:worker]\ncommand=celery -A app worker -n w%(process_num)d\nnumprocs=2\n\
            process_name=%(program_name)s_%(process_num)02d\npriority=10\nautorestart=true\n\
            directory=/does/not/exist\nstopwaitsecs=600\nstartsecs=10\n";
        std::fs::write(&conf, text).unwrap();
        let (project, notes) = convert(&conf, text, dir.path()).unwrap();
        let names: Vec<_> = project.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["worker", "web"], "priority order");
        assert_eq!(project.env, [("LANG".to_owned(), "C.UTF-8".to_owned())]);
        let worker = &project.processes[0];
        assert!(worker.has("scale") && worker.has("stop_target") && worker.has("restart"));
        assert!(!worker.has("cwd"), "missing directory is commented out");
        assert!(
            !project.processes[1].has("stop_target"),
            "stopasgroup = true is proj's default"
        );
        let found = |key: &str, line: usize| {
            notes
                .notes
                .iter()
                .any(|note| note.key == key && note.place.line == Some(line))
        };
        assert!(
            found("[program:worker] startsecs", 19),
            "{:#?}",
            notes.notes
        );
        assert!(
            found("[program:worker] stopasgroup", 11),
            "{:#?}",
            notes.notes
        );
        assert!(
            found("[program:web] stdout_logfile", 9),
            "{:#?}",
            notes.notes
        );
        assert!(found("[program:worker] numprocs", 13), "{:#?}", notes.notes);
    }

    #[test]
    fn includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(
            dir.path().join("conf.d/a.conf"),
            "[program:a]\ncommand=sleep 1\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("conf.d/b.ini"),
            "[program:b]\ncommand=sleep 2\n",
        )
        .unwrap();
        let conf = dir.path().join("supervisord.conf");
        let text = "[include]\nfiles = conf.d/*.conf\n";
        let (project, _) = convert(&conf, text, dir.path()).unwrap();
        let names: Vec<_> = project.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a"]);
    }
}
