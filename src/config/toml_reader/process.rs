//! `[processes]`: each entry is a command string (Procfile style) or a table.

use std::ops::Range;
use std::path::PathBuf;

use crate::config::Globs;
use toml::de::{DeTable, DeValue};

use super::fields::{Expected, Field, Key, Reader, Value, entries, misspells};
use super::foreign;
use super::health;
use super::schedule;
use super::socket::read_socket;
use super::state;
use super::stop::{self, StopSettings};
use crate::config::plan::{
    DEFAULT_STOP_TIMEOUT, LogPattern, ReadyProbe, RestartPolicy, StopTarget,
};
use crate::config::raw::{RawProcess, check_process_name};
use crate::config::suggest;

pub(super) const PROCESS_KEYS: [&str; 31] = [
    "command",
    "port",
    "socket",
    "scale",
    "cwd",
    "env",
    "depends_on",
    "ready",
    "ready_timeout",
    "health",
    "max_memory",
    "schedule",
    "rolling",
    "restart",
    "backoff",
    "backoff_max",
    "max_restarts",
    "restart_window",
    "stop_signal",
    "stop_timeout",
    "stop_sequence",
    "stop_target",
    "watch",
    "watch_ignore",
    "watch_debounce",
    "autostart",
    "oneshot",
    "user",
    "group",
    "tty",
    "state",
];

/// What other supervisors (compose, process-compose, supervisord, systemd) call the same
/// settings: edit distance cannot guess these.
const PROCESS_ALIASES: [(&str, &str); 25] = [
    ("cron", "schedule"),
    // systemd's `Type=oneshot`.
    ("type", "oneshot"),
    ("max_memory_restart", "max_memory"),
    ("cmd", "command"),
    ("run", "command"),
    ("exec", "command"),
    ("script", "command"),
    ("dir", "cwd"),
    ("directory", "cwd"),
    ("working_dir", "cwd"),
    ("workdir", "cwd"),
    ("environment", "env"),
    ("depends", "depends_on"),
    ("after", "depends_on"),
    ("requires", "depends_on"),
    ("replicas", "scale"),
    ("instances", "scale"),
    ("healthcheck", "health"),
    ("readiness_probe", "ready"),
    ("kill_signal", "stop_signal"),
    ("is_tty", "tty"),
    ("pty", "tty"),
    ("interactive", "tty"),
    ("volumes", "state"),
    ("data", "state"),
];

const PROBES: [&str; 4] = ["tcp", "http", "exec", "log"];
const PROBE_EXAMPLES: &str = r#"write one of `{ tcp = 8000 }`, `{ http = "http://127.0.0.1:$PORT/" }`, `{ exec = "pg_isready" }` or `{ log = "listening on" }`"#;

const RESTART_POLICIES: [(&str, RestartPolicy); 3] = [
    ("always", RestartPolicy::Always),
    ("on-failure", RestartPolicy::OnFailure),
    ("never", RestartPolicy::Never),
];

/// Reads the `[processes]` table, in file order, into `processes`: an entry for a
/// process already there (from the Procfile named in `[project] procfile`, or from
/// proj.toml when this is proj.local.toml) adds its keys to it; any other is appended.
pub(super) fn read_processes(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
    processes: &mut Vec<RawProcess>,
) {
    let Some(table) = reader.table(field, value) else {
        return;
    };
    for (key, value) in entries(table) {
        let name = key.get_ref().as_ref();
        let existing = processes.iter().position(|p| p.spec.name == name);
        if existing.is_none()
            && let Err((message, help)) = check_process_name(name)
        {
            let diagnostic = reader
                .error(key.span(), message)
                .label("process name")
                .help(help);
            reader.report(diagnostic);
        }
        // Kept even when the name or the entry is wrong, so that other processes'
        // `depends_on` still find it and no misleading "unknown process" follows.
        let index = existing.unwrap_or_else(|| {
            processes.push(RawProcess::new(name.to_owned(), key.span(), String::new()));
            processes.len() - 1
        });
        let process = &mut processes[index];
        let fresh = existing.is_none();
        // A string entry is itself the value of a setting: `web` in `[processes]`.
        let entry = Field {
            key: name,
            place: "in `[processes]`",
        };
        match value.get_ref() {
            DeValue::String(_) => {
                if let Some(command) = reader.non_empty(entry, value, r#""python3 app.py""#) {
                    process.spec.command = command;
                }
            }
            DeValue::Table(table) => {
                let place = format!("in process `{name}`");
                read_process_table(reader, key, &place, table, process, fresh);
            }
            _ => reader.wrong_type(entry, value, Expected::Process),
        }
    }
}

fn read_process_table(
    reader: &mut Reader,
    name: &Key<'_>,
    place: &str,
    table: &DeTable<'_>,
    process: &mut RawProcess,
    fresh: bool,
) {
    let (spec, spans) = (&mut process.spec, &mut process.spans);
    let mut restart = None;
    let mut stop = StopSettings::default();
    let mut schedule_span = None;
    let mut autostart_written = false;
    for (key, value) in entries(table) {
        let field = Field {
            key: key.get_ref().as_ref(),
            place,
        };
        let lifecycle = &mut spec.lifecycle;
        match field.key {
            "command" => {
                if let Some(command) = reader.non_empty(field, value, r#""python3 app.py""#) {
                    spec.command = command;
                }
            }
            "port" => {
                let help = "ports are 1 to 65535; instance i listens on `port + i - 1`";
                let word = value
                    .get_ref()
                    .as_str()
                    .filter(|text| text.trim().parse::<u32>().is_err());
                // A quoted number gets the "remove the quotes" help of `integer`.
                if let Some(text) = word {
                    if text == "auto" {
                        spec.port_auto = true;
                        spans.port = Some(value.span());
                    } else {
                        reader.invalid(
                            field,
                            value.span(),
                            format!("`{text}` is not a port"),
                            "write a port number such as `port = 8000`, or `port = \"auto\"` for a free one",
                        );
                    }
                } else if let Some(port) = reader.integer(field, value, 1..=65535, help) {
                    spec.port = u16::try_from(port).ok();
                    spans.port = Some(value.span());
                }
            }
            "socket" => {
                if let Some((address, port)) = read_socket(reader, field, value) {
                    spec.socket = Some(address);
                    spec.port = port;
                    spec.port_auto = port.is_none();
                    spans.socket = Some(value.span());
                }
            }
            "scale" => {
                let help = if value
                    .get_ref()
                    .as_integer()
                    .is_some_and(|n| n.as_str() == "0")
                {
                    "use `autostart = false` to keep a process from starting"
                } else {
                    "scale is the number of instances to run"
                };
                if let Some(scale) = reader.integer(field, value, 1..=i64::from(u32::MAX), help) {
                    spec.scale = u32::try_from(scale).unwrap_or(u32::MAX);
                    spans.scale = Some(value.span());
                }
            }
            "cwd" => {
                if let Some(cwd) = reader.non_empty(field, value, r#""frontend""#) {
                    spec.cwd = PathBuf::from(cwd);
                    spans.cwd = Some(value.span());
                }
            }
            "env" => {
                let (env, starts) = reader.env_table_spanned(field, value);
                spec.env.extend(env);
                spans.env.extend(starts);
            }
            "depends_on" if value.get_ref().as_table().is_some() => {
                reader.invalid(
                    field,
                    value.span(),
                    "`depends_on` is a list of process names".to_owned(),
                    "write `depends_on = [\"db\"]`: proj waits for each to be ready (its `ready` probe; process-compose's `process_healthy`) or, for a oneshot, to exit 0 (`process_completed_successfully`)",
                );
            }
            "depends_on" => {
                if let Some(names) = reader.string_list(field, value) {
                    // A later layer's list replaces the earlier one (so it can drop one).
                    spec.depends_on.clear();
                    spans.depends_on.clear();
                    for dependency in names {
                        // A repeated name adds nothing; keep the first.
                        if !spec.depends_on.contains(dependency.get_ref()) {
                            spans.depends_on.push(dependency.span());
                            spec.depends_on.push(dependency.into_inner());
                        }
                    }
                }
            }
            "ready" => {
                if let Some((probe, span)) = read_probe(reader, field, value) {
                    spec.ready = Some(probe);
                    spans.ready = Some(span);
                }
            }
            "health" => spec.health = health::read_health(reader, field, value),
            "max_memory" => spec.max_memory = health::read_max_memory(reader, field, value),
            "schedule" => {
                if let Some((parsed, span)) = schedule::read_schedule(reader, field, value) {
                    spec.schedule = Some(parsed);
                    schedule_span = Some(span);
                }
            }
            "restart" => restart = read_restart(reader, field, value),
            "max_restarts" => {
                let help = "the number of restarts allowed within `restart_window`";
                if let Some(count) = reader.integer(field, value, 0..=i64::from(u32::MAX), help) {
                    lifecycle.max_restarts = u32::try_from(count).unwrap_or(u32::MAX);
                }
            }
            "backoff" => {
                if let Some(duration) = reader.duration(field, value) {
                    spans.backoff = Some(duration.span());
                    lifecycle.backoff = duration.into_inner();
                }
            }
            "backoff_max" => {
                if let Some(duration) = reader.duration(field, value) {
                    spans.backoff_max = Some(duration.span());
                    lifecycle.backoff_max = duration.into_inner();
                }
            }
            "ready_timeout" | "restart_window" | "watch_debounce" => {
                if let Some(duration) = reader.duration(field, value) {
                    let target = match field.key {
                        "ready_timeout" => &mut lifecycle.ready_timeout,
                        "restart_window" => &mut lifecycle.restart_window,
                        _ => &mut spec.watch_debounce,
                    };
                    *target = duration.into_inner();
                }
            }
            "stop_timeout" => {
                if let Some(duration) = reader.duration(field, value) {
                    stop.timeout = Some((*duration.get_ref(), duration.span()));
                }
            }
            "stop_signal" => {
                if let Some(signal) = reader.signal(field, value) {
                    stop.signal = Some((signal, value.span()));
                }
            }
            "stop_sequence" => {
                if let Some(steps) = stop::read_sequence(reader, field, value) {
                    stop.sequence = Some((steps, value.span()));
                }
            }
            "stop_target" => stop.target = stop::read_target(reader, field, value),
            "watch" => spec.watch = read_globs(reader, field, value),
            "watch_ignore" => spec.watch_ignore = read_globs(reader, field, value),
            "autostart" => {
                autostart_written = true;
                spec.autostart = reader.bool(field, value).unwrap_or(spec.autostart);
            }
            "oneshot" => lifecycle.oneshot = reader.bool(field, value).unwrap_or(false),
            "tty" => spec.tty = reader.bool(field, value).unwrap_or(false),
            "state" => spec.state = state::read_state(reader, field, value),
            "rolling" => spec.rolling = reader.bool(field, value).unwrap_or(false),
            "user" => {
                spec.user = reader.non_empty(field, value, r#""www-data""#);
                spans.user = spec.user.as_ref().map(|_| value.span());
            }
            "group" => {
                spec.group = reader.non_empty(field, value, r#""www-data""#);
                spans.group = spec.group.as_ref().map(|_| value.span());
            }
            _ => match foreign::process_key_help(field.key) {
                Some(help) => reader.unknown_key_with_help(key, place, help),
                None => reader.unknown_key(key, place, &PROCESS_KEYS, &PROCESS_ALIASES),
            },
        }
    }
    if let (Some(socket), Some(port)) = (&spans.socket, &spans.port) {
        let process = name.get_ref();
        let diagnostic = reader
            .error(
                socket.clone(),
                format!("process `{process}` has both `socket` and `port`"),
            )
            .label("proj listens here and hands the socket to every instance")
            .context(port.clone(), "and the instances would bind this port themselves")
            .help("keep one: `socket` for one address shared by every instance (its port is `PORT`), or `port` for a port per instance");
        reader.report(diagnostic);
    }
    if let Some(span) = schedule_span {
        if !spec.lifecycle.oneshot {
            let process = name.get_ref();
            let diagnostic = reader
                .error(
                    span,
                    format!("`schedule` in process `{process}`, which is not a oneshot"),
                )
                .label("a service runs all the time; a schedule starts something that ends")
                .help("add `oneshot = true` if it runs to completion (a cleanup, a report), or remove `schedule`");
            reader.report(diagnostic);
        }
        // Like a cron job: it runs at its times, not when proj starts, unless asked to.
        if !autostart_written {
            spec.autostart = false;
        }
    }
    // Over an earlier layer, what this table does not say stays as it was.
    if let Some(target) = stop.target {
        spec.lifecycle.stop_target = target;
    } else if fresh {
        spec.lifecycle.stop_target = StopTarget::Group;
    }
    if fresh || stop.says_how_to_stop() {
        let defaults = stop::single_signal(&spec.lifecycle.stop_sequence)
            .unwrap_or((nix::sys::signal::Signal::SIGTERM, DEFAULT_STOP_TIMEOUT));
        spec.lifecycle.stop_sequence = stop.resolve(reader, defaults);
    }
    // A oneshot (a migration, a build) is expected to exit: restarting it by default
    // would run it again and again.
    let oneshot_written = table.contains_key("oneshot");
    match restart {
        Some(policy) => spec.lifecycle.restart = policy,
        None if fresh || oneshot_written => {
            spec.lifecycle.restart = if spec.lifecycle.oneshot {
                RestartPolicy::Never
            } else {
                RestartPolicy::OnFailure
            };
        }
        None => {}
    }
    let misspelt = misspells(table, "command", &PROCESS_KEYS, &PROCESS_ALIASES);
    if spec.command.is_empty() && !table.contains_key("command") && !misspelt {
        let process = name.get_ref();
        let diagnostic = reader
            .error(name.span(), format!("process `{process}` has no `command`"))
            .label("defined here")
            .help(r#"add the shell command that runs it: `command = "python3 app.py"`"#);
        reader.report(diagnostic);
    }
}

fn read_restart(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) -> Option<RestartPolicy> {
    let text = reader.string(field, value)?;
    if let Some((_, policy)) = RESTART_POLICIES.iter().find(|(name, _)| *name == text) {
        return Some(*policy);
    }
    let names = RESTART_POLICIES.map(|(name, _)| name);
    let help = match suggest::closest(&text, names) {
        Some(best) => {
            format!(r#"did you mean "{best}"? valid values: "always", "on-failure", "never""#)
        }
        None => r#"valid values: "always", "on-failure", "never""#.to_owned(),
    };
    reader.invalid(
        field,
        value.span(),
        format!("unknown restart policy `{text}`"),
        help,
    );
    None
}

/// `watch` / `watch_ignore`: globs as the watcher will use them, so a bad one fails now.
fn read_globs(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) -> Globs {
    let Some(patterns) = reader.string_list(field, value) else {
        return Globs::default();
    };
    let mut parsed = Vec::new();
    for pattern in patterns {
        // Parsed once here; the watcher matches with the set built from these.
        match Globs::parse(pattern.get_ref()) {
            Ok(glob) => parsed.push((pattern.into_inner(), glob)),
            Err(error) => reader.invalid(
                field,
                pattern.span(),
                format!("invalid glob: {}", error.kind()),
                "globs look like `src/**/*.py`: `*` matches within a directory, `**` across directories",
            ),
        }
    }
    // Each glob parsed; building their set cannot fail for want of valid patterns.
    Globs::from_parsed(parsed).unwrap_or_default()
}

/// `ready = { tcp | http | exec | log = … }`: exactly one probe. Returns the span of the
/// probe's value.
fn read_probe(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<(ReadyProbe, Range<usize>)> {
    let Some(table) = value.get_ref().as_table() else {
        let diagnostic = reader
            .error(value.span(), format!("wrong type for {field}"))
            .label(format!(
                "expected a table, found {}",
                value.get_ref().type_str()
            ))
            .help(PROBE_EXAMPLES);
        reader.report(diagnostic);
        return None;
    };
    let place = field.inner_place();
    let mut unknown = false;
    let mut chosen: Option<&Key<'_>> = None;
    let mut probe = None;
    for (key, value) in entries(table) {
        let kind = key.get_ref().as_ref();
        if !PROBES.contains(&kind) {
            reader.unknown_key(
                key,
                &place,
                &PROBES,
                &[("cmd", "exec"), ("command", "exec"), ("port", "tcp")],
            );
            unknown = true;
            continue;
        }
        if let Some(first) = chosen {
            let diagnostic = reader
                .error(
                    key.span(),
                    format!("`ready` of {} has more than one probe", field.owner()),
                )
                .label("second probe")
                .context(first.span(), "first probe")
                .help(format!("keep one of `{}` and `{kind}`", first.get_ref()));
            reader.report(diagnostic);
            continue;
        }
        chosen = Some(key);
        let field = Field {
            key: kind,
            place: &place,
        };
        probe = read_one_probe(reader, field, value).map(|probe| (probe, value.span()));
    }
    // An unknown probe (`htp`) already got its diagnostic; "no probe" would repeat it.
    if chosen.is_none() && !unknown {
        let diagnostic = reader
            .error(
                value.span(),
                format!("`ready` of {} has no probe", field.owner()),
            )
            .label("empty")
            .help(PROBE_EXAMPLES);
        reader.report(diagnostic);
    }
    probe
}

pub(super) fn read_one_probe(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<ReadyProbe> {
    match field.key {
        "tcp" => read_tcp_probe(reader, field, value).map(ReadyProbe::Tcp),
        "http" => {
            let url = reader.non_empty(field, value, r#""http://127.0.0.1:$PORT/health""#)?;
            if url.starts_with("http://") {
                return Some(ReadyProbe::Http(url));
            }
            // The probe speaks plain HTTP to the process itself; TLS is for the world
            // outside, and a local health endpoint rarely needs it.
            let help = if url.starts_with("https://") {
                r#"probes speak plain HTTP to the process: `http = "http://127.0.0.1:$PORT/health"`, or check the port with `tcp = 8443`"#
            } else {
                r#"write the full URL: `http = "http://127.0.0.1:$PORT/health"`"#
            };
            reader.invalid(field, value.span(), "expected an http:// URL", help);
            None
        }
        "exec" => reader
            .non_empty(field, value, r#""pg_isready""#)
            .map(ReadyProbe::Exec),
        _ => {
            let pattern = reader.string(field, value)?;
            match regex::Regex::new(&pattern) {
                Ok(regex) => Some(ReadyProbe::Log(LogPattern(regex))),
                Err(error) => {
                    reader.invalid(
                        field,
                        value.span(),
                        format!("invalid regex: {}", regex_reason(&error)),
                        r"`log` is a regular expression; escape special characters such as `.`, `(` or `[` with `\\`",
                    );
                    None
                }
            }
        }
    }
}

/// `tcp = 8000`, `tcp = "8000"` or `tcp = "$PORT"` (any `$VAR`, expanded per instance).
fn read_tcp_probe(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) -> Option<String> {
    let help = r#"write a port: `tcp = 8000`, or `tcp = "$PORT"` for the instance's own port"#;
    match value.get_ref() {
        DeValue::Integer(_) => {
            let port = reader.integer(field, value, 1..=65535, "ports are 1 to 65535")?;
            Some(port.to_string())
        }
        DeValue::String(text) => {
            let text = text.trim();
            let is_port = text.parse::<u16>().is_ok_and(|port| port > 0);
            let variable = text
                .strip_prefix("${")
                .and_then(|rest| rest.strip_suffix('}'))
                .or_else(|| text.strip_prefix('$'));
            let is_variable = variable.is_some_and(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if is_port || is_variable {
                return Some(text.to_owned());
            }
            reader.invalid(
                field,
                value.span(),
                "expected a port number or `$PORT`",
                help,
            );
            None
        }
        _ => {
            let diagnostic = reader
                .error(value.span(), format!("wrong type for {field}"))
                .label(format!(
                    "expected a port, found {}",
                    value.get_ref().type_str()
                ))
                .help(help);
            reader.report(diagnostic);
            None
        }
    }
}

/// The regex crate's message is a multi-line picture of the pattern; the caret already
/// shows where, so keep only its last line, the reason.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_owned()
}
