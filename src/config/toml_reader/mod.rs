//! proj.toml → [`RawConfig`], by walking toml's spanned document by hand.
//!
//! serde derive would be shorter but loses the spans of the values it rejects (and with
//! `flatten`/`untagged`, of everything), and without spans there is no caret under the
//! mistake. So the file is parsed with [`DeTable::parse`], which keeps a span on every
//! key and value, and each section is read here with the typed accessors of
//! [`fields`]. A TOML syntax error stops the read (nothing after it can be trusted);
//! every other problem is collected and reading goes on.

mod fields;
mod foreign;
mod health;
mod process;
mod schedule;
mod socket;
mod state;
mod stop;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use toml::Spanned;
use toml::de::DeTable;

use self::fields::{Field, Reader, Value, entries, misspells};
use super::diagnostic::{Diagnostic, SourceFile};
use super::plan::SetupStep;
use super::raw::{RawConfig, RawSetup};

const TOP_KEYS: [&str; 4] = ["project", "env", "setup", "processes"];
const TOP_ALIASES: [(&str, &str); 5] = [
    ("process", "processes"),
    ("services", "processes"),
    ("procs", "processes"),
    ("environment", "env"),
    ("steps", "setup"),
];
const PROJECT_KEYS: [&str; 6] = [
    "name",
    "procfile",
    "env_file",
    "requires",
    "log_max_size",
    "log_backups",
];
const PROJECT_ALIASES: [(&str, &str); 3] = [
    ("env_files", "env_file"),
    ("dotenv", "env_file"),
    ("require", "requires"),
];
const SETUP_KEYS: [&str; 5] = ["name", "command", "sources", "skip_if", "creates"];
const SETUP_ALIASES: [(&str, &str); 3] = [
    ("cmd", "command"),
    ("run", "command"),
    ("unless", "skip_if"),
];

/// Reads the proj.toml that is segment `index` of `file` over `raw` (`Err` is a TOML
/// syntax error; otherwise every problem found, possibly none): what it writes
/// replaces or joins what `raw` holds (see `layers`). `overlay` is true for
/// proj.local.toml, whose `[[setup]]` steps replace the same-named ones.
pub(crate) fn read_layer(
    file: &Arc<SourceFile>,
    index: usize,
    raw: &mut RawConfig,
    overlay: bool,
) -> Result<Vec<Diagnostic>, Diagnostic> {
    let text = file.text_in_place(index);
    let document = DeTable::parse(&text).map_err(|error| syntax_error(file, &error))?;
    let mut reader = Reader::new(file);
    for (key, value) in entries(document.get_ref()) {
        let field = Field {
            key: key.get_ref().as_ref(),
            place: "at the top level",
        };
        match field.key {
            "project" => read_project(&mut reader, field, value, raw),
            "env" => {
                let (env, starts) = reader.env_table_spanned(field, value);
                raw.env.extend(env);
                raw.env_starts.extend(starts);
            }
            "setup" => {
                let steps = read_setup(&mut reader, field, value);
                merge_setup(&mut raw.setup, steps, overlay);
            }
            "processes" => process::read_processes(&mut reader, field, value, &mut raw.processes),
            _ => unknown_top_level_key(&mut reader, key, value),
        }
    }
    Ok(reader.take_diagnostics())
}

/// proj.local.toml's steps replace the same-named ones of proj.toml; new ones run last.
fn merge_setup(setup: &mut Vec<RawSetup>, steps: Vec<RawSetup>, overlay: bool) {
    for step in steps {
        match setup
            .iter_mut()
            .find(|other| overlay && other.step.name == step.step.name)
        {
            Some(other) => *other = step,
            None => setup.push(step),
        }
    }
}

/// A syntax error, with a help for the mistakes people actually make.
fn syntax_error(file: &Arc<SourceFile>, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim();
    let span = error.span().unwrap_or(0..0);
    let duplicate = message.contains("duplicate key");
    let help = if duplicate {
        "a key or table can be defined only once; remove or rename one of them".to_owned()
    } else if message.contains("must be quoted") {
        quoting_help(file.text(), span.clone())
    } else if message.contains("unclosed table") || message.contains("unclosed array") {
        "close it with `]`".to_owned()
    } else if message.contains("invalid basic string") || message.contains("invalid literal string")
    {
        "close the string with a matching quote on the same line (use `\"\"\"` for several lines)"
            .to_owned()
    } else {
        "see https://toml.io for the TOML syntax".to_owned()
    };
    Diagnostic::new(file, span, format!("invalid TOML: {message}"))
        .label(if duplicate {
            "defined again here"
        } else {
            message
        })
        .help(help)
}

/// The fix for an unquoted string: the user's own `key = value`, quoted.
fn quoting_help(text: &str, span: Range<usize>) -> String {
    let value = text.get(span.clone()).unwrap_or_default();
    let before = text.get(..span.start).unwrap_or_default();
    // The `key = ` just before the value, also inside an inline table (`{ A = b }`).
    let assignment = before
        .rsplit(['\n', '{', ','])
        .next()
        .unwrap_or_default()
        .trim_start();
    if assignment.trim_end().ends_with('=') && !value.is_empty() && !value.contains('"') {
        format!(r#"put text in quotes: `{assignment}"{value}"`"#)
    } else {
        r#"put text in quotes, e.g. `command = "python3 app.py"`"#.to_owned()
    }
}

/// An unknown top-level key; `[web]` with a `command` is most likely a process that
/// lost its `processes.` prefix, so say that rather than "did you mean `env`".
fn unknown_top_level_key(reader: &mut Reader, key: &fields::Key<'_>, value: &Value<'_>) {
    let looks_like_process = value
        .get_ref()
        .as_table()
        .is_some_and(|table| table.contains_key("command"));
    if looks_like_process {
        let name = key.get_ref();
        let diagnostic = reader
            .error(key.span(), format!("unknown key `{name}` at the top level"))
            .label("unknown key")
            .help(format!(
                "processes go under `[processes]`: write `[processes.{name}]`"
            ));
        reader.report(diagnostic);
    } else {
        reader.unknown_key(key, "at the top level", &TOP_KEYS, &TOP_ALIASES);
    }
}

fn read_project(reader: &mut Reader, field: Field<'_>, value: &Value<'_>, raw: &mut RawConfig) {
    let Some(table) = reader.table(field, value) else {
        return;
    };
    let place = "in `[project]`";
    for (key, value) in entries(table) {
        let field = Field {
            key: key.get_ref().as_ref(),
            place,
        };
        match field.key {
            "name" => {
                if let Some(name) = reader.non_empty(field, value, r#""shop""#) {
                    raw.name = Some(name);
                }
            }
            "env_file" => {
                if let Some(files) = reader.string_or_list(field, value) {
                    raw.env_files = files
                        .into_iter()
                        .map(|file| {
                            let span = file.span();
                            (file.into_inner(), Some(span))
                        })
                        .collect();
                }
            }
            "procfile" => {
                if let Some(name) = reader.non_empty(field, value, r#""Procfile.dev""#) {
                    raw.procfile = Some((name, value.span()));
                }
            }
            "requires" => {
                if let Some(programs) = reader.string_list(field, value) {
                    raw.requires = programs.into_iter().map(Spanned::into_inner).collect();
                }
            }
            "log_max_size" => {
                if let Some(size) = reader.size(field, value) {
                    raw.log_max_size = size;
                }
            }
            "log_backups" => {
                let help = "the number of rotated log files to keep; 0 keeps none";
                if let Some(count) = reader.integer(field, value, 0..=i64::from(u32::MAX), help) {
                    raw.log_backups = u32::try_from(count).unwrap_or(u32::MAX);
                }
            }
            _ => reader.unknown_key(key, place, &PROJECT_KEYS, &PROJECT_ALIASES),
        }
    }
}

/// `[[setup]]`: an array of tables, in order, with unique names.
fn read_setup(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) -> Vec<RawSetup> {
    let Some(array) = value.get_ref().as_array() else {
        not_a_setup_table(reader, field, value);
        return Vec::new();
    };
    let mut steps: Vec<RawSetup> = Vec::new();
    for (index, item) in array.iter().enumerate() {
        let Some(table) = item.get_ref().as_table() else {
            not_a_setup_table(reader, field, item);
            continue;
        };
        let Some(step) = read_setup_step(reader, index, item.span(), table) else {
            continue;
        };
        if let Some(first) = steps.iter().find(|other| other.step.name == step.step.name) {
            let diagnostic = reader
                .error(
                    step.name_span.clone(),
                    format!("duplicate setup step `{}`", step.step.name),
                )
                .label("used again here")
                .context(first.name_span.clone(), "first used here")
                .help("give each step a different name; `proj setup NAME` runs a step by name");
            reader.report(diagnostic);
            continue;
        }
        steps.push(step);
    }
    steps
}

fn not_a_setup_table(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) {
    let found = value.get_ref().type_str();
    let diagnostic = reader
        .error(value.span(), format!("wrong type for {field}"))
        .label(format!("expected `[[setup]]` tables, found {found}"))
        .help(r#"write each step as a `[[setup]]` table with `name = "…"` and `command = "…"`"#);
    reader.report(diagnostic);
}

fn read_setup_step(
    reader: &mut Reader,
    index: usize,
    header: Range<usize>,
    table: &DeTable<'_>,
) -> Option<RawSetup> {
    // Name the step in messages by its `name` when it has one, else by its position.
    let place = match table.get("name").and_then(|name| name.get_ref().as_str()) {
        Some(name) => format!("in setup step `{name}`"),
        None => format!("in `[[setup]]` number {}", index + 1),
    };
    let mut name: Option<Spanned<String>> = None;
    let mut command = None;
    let mut step = SetupStep {
        name: String::new(),
        command: String::new(),
        sources: Vec::new(),
        skip_if: None,
        creates: None,
    };
    for (key, value) in entries(table) {
        let field = Field {
            key: key.get_ref().as_ref(),
            place: &place,
        };
        match field.key {
            "name" => {
                name = reader
                    .non_empty(field, value, r#""python deps""#)
                    .map(|text| Spanned::new(value.span(), text));
            }
            "command" => command = reader.non_empty(field, value, r#""make deps""#),
            "sources" => {
                if let Some(sources) = reader.string_list(field, value) {
                    step.sources = sources.into_iter().map(Spanned::into_inner).collect();
                }
            }
            "skip_if" => step.skip_if = reader.non_empty(field, value, r#""test -d .venv""#),
            "creates" => {
                step.creates = reader
                    .non_empty(field, value, r#"".venv""#)
                    .map(PathBuf::from)
            }
            _ => reader.unknown_key(key, &place, &SETUP_KEYS, &SETUP_ALIASES),
        }
    }
    // A present but invalid `name`/`command` was reported where it is; only report absence.
    for (key, example) in [
        ("name", r#""python deps""#),
        ("command", r#""pip install -r requirements.txt""#),
    ] {
        if !table.contains_key(key) && !misspells(table, key, &SETUP_KEYS, &SETUP_ALIASES) {
            let diagnostic = reader
                .error(header.clone(), format!("`{key}` is missing {place}"))
                .label(format!("this step has no `{key}`"))
                .help(format!("add `{key} = {example}`"));
            reader.report(diagnostic);
        }
    }
    let (name, command) = (name?, command?);
    let name_span = name.span();
    step.name = name.into_inner();
    step.command = command;
    Some(RawSetup { step, name_span })
}
