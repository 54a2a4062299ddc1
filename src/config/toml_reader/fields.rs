//! Typed access to spanned TOML values, reporting every mismatch as a [`Diagnostic`].
//!
//! Each accessor returns `None` after reporting, so the caller keeps its default and goes
//! on reading: one pass finds every independent problem in the file.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::sync::Arc;
use std::time::Duration;
use std::{fmt, mem};

use nix::sys::signal::Signal;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::config::diagnostic::{Diagnostic, SourceFile};
use crate::config::plan::EnvMap;
use crate::config::raw::check_env_name;
use crate::config::suggest;
use crate::config::values;

pub(super) type Key<'i> = Spanned<DeString<'i>>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// A table's entries in file order.
///
/// `DeTable` keeps its keys sorted (toml's `preserve_order` feature is off), but file
/// order matters: it is the start order of independent processes and the order of the
/// diagnostics. Every key carries its span, so sorting by it recovers the order written.
pub(super) fn entries<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// Whether `table` lacks `wanted` but has a key that is a typo or alias of it (`comand`,
/// `cmd`): that key already got "did you mean `command`?", so reporting `command` as
/// missing too would only repeat it.
pub(super) fn misspells(
    table: &DeTable<'_>,
    wanted: &str,
    valid: &[&str],
    aliases: &[(&str, &str)],
) -> bool {
    table.keys().any(|key| {
        let key = key.get_ref().as_ref();
        !valid.contains(&key)
            && (suggest::alias(key, aliases) == Some(wanted)
                || suggest::closest(key, valid.iter().copied()) == Some(wanted))
    })
}

/// A setting, named the way messages name it: "`port` in process `web`".
#[derive(Debug, Clone, Copy)]
pub(super) struct Field<'a> {
    pub(super) key: &'a str,
    pub(super) place: &'a str,
}

impl Field<'_> {
    /// What the setting belongs to: "process `web`" for "in process `web`".
    pub(super) fn owner(&self) -> &str {
        self.place.strip_prefix("in ").unwrap_or(self.place)
    }

    /// Where the entries of this (table) setting are: "in `env` of process `web`", or
    /// "in `[env]`" for a top-level table.
    pub(super) fn inner_place(&self) -> String {
        match self.place.strip_prefix("in ") {
            Some(owner) => format!("in `{}` of {owner}", self.key),
            None => format!("in `[{}]`", self.key),
        }
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.key, self.place)
    }
}

/// What a setting holds, for "expected …, found …" and for the help that fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected {
    String,
    Integer,
    Bool,
    Duration,
    Signal,
    Size,
    StringList,
    StringOrList,
    Table,
    /// A `[processes]` entry: a command string or a table.
    Process,
    /// An environment value: a string (numbers and booleans are written as they read).
    EnvValue,
    /// `stop_sequence`: a list of step tables.
    StopSequence,
}

impl Expected {
    fn describe(self) -> &'static str {
        match self {
            Expected::String => "a string",
            Expected::Integer => "an integer",
            Expected::Bool => "`true` or `false`",
            Expected::Duration => r#"a duration string like "10s""#,
            Expected::Signal => r#"a signal name like "TERM""#,
            Expected::Size => r#"a size like "10MiB""#,
            Expected::StringList => "a list of strings",
            Expected::StringOrList => "a string or a list of strings",
            Expected::Table => "a table",
            Expected::Process => "a command string or a table",
            Expected::EnvValue => "a string",
            Expected::StopSequence => "a list of steps",
        }
    }

    /// How to write the value right, using what the user wrote (`found`) when it helps.
    fn help(self, key: &str, value: &DeValue<'_>, found: &str) -> String {
        let numeric = matches!(value, DeValue::Integer(_) | DeValue::Float(_));
        match self {
            Expected::Duration if numeric => {
                format!(r#"durations are strings with a unit: `{key} = "{found}s"`"#)
            }
            Expected::Duration => r#"durations are strings like "250ms", "10s" or "5m""#.into(),
            Expected::Signal => format!(r#"name the signal: `{key} = "TERM"`"#),
            Expected::Size => format!(r#"write a size with a unit: `{key} = "10MiB"`"#),
            Expected::String | Expected::EnvValue
                if !matches!(value, DeValue::Array(_) | DeValue::Table(_)) =>
            {
                format!(r#"put the value in quotes: `{key} = "{found}"`"#)
            }
            Expected::String => format!(r#"`{key}` takes a single string: `{key} = "…"`"#),
            Expected::EnvValue => {
                "environment values are strings; write the value in quotes".into()
            }
            Expected::Integer => match value.as_str() {
                Some(text) if text.trim().parse::<i64>().is_ok() => {
                    format!("remove the quotes: `{key} = {}`", text.trim())
                }
                _ => format!("write a whole number without quotes, e.g. `{key} = 1`"),
            },
            Expected::Bool => match value.as_str() {
                Some(text @ ("true" | "false")) => format!("remove the quotes: `{key} = {text}`"),
                _ => format!("write `{key} = true` or `{key} = false`"),
            },
            Expected::StringList | Expected::StringOrList if value.is_str() => {
                format!("write a list: `{key} = [{found}]`")
            }
            Expected::StringList | Expected::StringOrList => {
                format!(r#"write a list of strings: `{key} = ["…"]`"#)
            }
            Expected::Table => format!("write a table: `[{key}]`, or `{key} = {{ … }}` inline"),
            Expected::StopSequence => {
                format!(r#"write a list of steps: `{key} = [{{ signal = "TERM", wait = "10s" }}]`"#)
            }
            Expected::Process => format!(
                r#"write `{key} = "command"`, or a `[processes.{key}]` table with a `command`"#
            ),
        }
    }
}

/// Walks the spanned values of one file and collects what is wrong with them.
pub(super) struct Reader {
    file: Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
}

impl Reader {
    pub(super) fn new(file: &Arc<SourceFile>) -> Self {
        Reader {
            file: Arc::clone(file),
            diagnostics: Vec::new(),
        }
    }

    /// A new diagnostic in this file; finish it and hand it to [`Reader::report`].
    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, span, message)
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        mem::take(&mut self.diagnostics)
    }

    /// The text of `span` as written (for help lines that quote it back).
    pub(super) fn source(&self, span: Range<usize>) -> &str {
        self.file.text().get(span).unwrap_or_default()
    }

    pub(super) fn wrong_type(&mut self, field: Field<'_>, value: &Value<'_>, expected: Expected) {
        let help = expected.help(field.key, value.get_ref(), self.source(value.span()));
        let found = value.get_ref().type_str();
        let diagnostic = self
            .error(value.span(), format!("wrong type for {field}"))
            .label(format!("expected {}, found {found}", expected.describe()))
            .help(help);
        self.report(diagnostic);
    }

    /// Reports a value of the right type that is still wrong; `label` says why.
    pub(super) fn invalid(
        &mut self,
        field: Field<'_>,
        span: Range<usize>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let diagnostic = self
            .error(span, format!("invalid value for {field}"))
            .label(label)
            .help(help);
        self.report(diagnostic);
    }

    /// Reports a key that is not one of `valid` (or a known alias of one of them).
    pub(super) fn unknown_key(
        &mut self,
        key: &Key<'_>,
        place: &str,
        valid: &[&str],
        aliases: &[(&str, &str)],
    ) {
        let name = key.get_ref().as_ref();
        let help = match suggest::alias(name, aliases) {
            Some(meant) => format!("did you mean `{meant}`?"),
            None => suggest::help_for_unknown(name, valid, &format!("valid keys {place}")),
        };
        let diagnostic = self
            .error(key.span(), format!("unknown key `{name}` {place}"))
            .label("unknown key")
            .help(help);
        self.report(diagnostic);
    }

    /// Reports a key that is not proj's, with a `help` written for it.
    pub(super) fn unknown_key_with_help(&mut self, key: &Key<'_>, place: &str, help: &str) {
        let name = key.get_ref().as_ref();
        let diagnostic = self
            .error(key.span(), format!("unknown key `{name}` {place}"))
            .label("not a proj key")
            .help(help);
        self.report(diagnostic);
    }

    pub(super) fn string(&mut self, field: Field<'_>, value: &Value<'_>) -> Option<String> {
        match value.get_ref().as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.wrong_type(field, value, Expected::String);
                None
            }
        }
    }

    /// A string that must say something (a command, a user name).
    pub(super) fn non_empty(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
        example: &str,
    ) -> Option<String> {
        let text = self.string(field, value)?;
        if text.trim().is_empty() {
            self.invalid(
                field,
                value.span(),
                "empty",
                format!("write a value, e.g. `{} = {example}`", field.key),
            );
            return None;
        }
        Some(text)
    }

    pub(super) fn bool(&mut self, field: Field<'_>, value: &Value<'_>) -> Option<bool> {
        let found = value.get_ref().as_bool();
        if found.is_none() {
            self.wrong_type(field, value, Expected::Bool);
        }
        found
    }

    /// An integer within `range`; `help` says what to write instead when it is outside.
    pub(super) fn integer(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
        range: RangeInclusive<i64>,
        help: &str,
    ) -> Option<i64> {
        let Some(integer) = value.get_ref().as_integer() else {
            self.wrong_type(field, value, Expected::Integer);
            return None;
        };
        let parsed = i64::from_str_radix(integer.as_str(), integer.radix()).ok();
        match parsed.filter(|number| range.contains(number)) {
            Some(number) => Some(number),
            None => {
                // Open-ended ranges (counts) read better without their technical maximum.
                let label = if *range.end() >= i64::from(u32::MAX) {
                    format!("must be at least {}", range.start())
                } else {
                    format!("must be between {} and {}", range.start(), range.end())
                };
                self.invalid(field, value.span(), label, help);
                None
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
    ) -> Option<Spanned<Duration>> {
        let Some(text) = value.get_ref().as_str() else {
            self.wrong_type(field, value, Expected::Duration);
            return None;
        };
        match values::parse_duration(text) {
            Ok(duration) => Some(Spanned::new(value.span(), duration)),
            Err(why) => {
                self.invalid(
                    field,
                    value.span(),
                    why,
                    r#"durations look like "250ms", "10s", "5m" or "1h 30m""#,
                );
                None
            }
        }
    }

    pub(super) fn signal(&mut self, field: Field<'_>, value: &Value<'_>) -> Option<Signal> {
        let Some(text) = value.get_ref().as_str() else {
            self.wrong_type(field, value, Expected::Signal);
            return None;
        };
        match values::parse_signal(text) {
            Ok(signal) => Some(signal),
            Err(why) => {
                self.invalid(
                    field,
                    value.span(),
                    why,
                    r#"signals are names like "TERM", "INT", "HUP", "QUIT" or "KILL""#,
                );
                None
            }
        }
    }

    /// A byte size: a string with a unit, or an integer number of bytes. Zero is refused.
    pub(super) fn size(&mut self, field: Field<'_>, value: &Value<'_>) -> Option<u64> {
        let help = r#"sizes look like "10MiB", "512KiB", "1GiB" or "100MB""#;
        let parsed = match value.get_ref() {
            DeValue::String(text) => values::parse_size(text),
            DeValue::Integer(integer) => u64::from_str_radix(integer.as_str(), integer.radix())
                .map_err(|_| "must be a positive number of bytes".to_owned()),
            _ => {
                self.wrong_type(field, value, Expected::Size);
                return None;
            }
        };
        match parsed {
            Ok(0) => self.invalid(field, value.span(), "must be more than 0 bytes", help),
            Ok(bytes) => return Some(bytes),
            Err(why) => self.invalid(field, value.span(), why, help),
        }
        None
    }

    pub(super) fn table<'v, 'i>(
        &mut self,
        field: Field<'_>,
        value: &'v Value<'i>,
    ) -> Option<&'v DeTable<'i>> {
        let table = value.get_ref().as_table();
        if table.is_none() {
            self.wrong_type(field, value, Expected::Table);
        }
        table
    }

    /// A list of strings with the span of each; wrong elements are reported and dropped.
    pub(super) fn string_list(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
    ) -> Option<Vec<Spanned<String>>> {
        let Some(array) = value.get_ref().as_array() else {
            self.wrong_type(field, value, Expected::StringList);
            return None;
        };
        Some(self.strings_of(field, array.iter()))
    }

    /// One string or a list of them (`env_file = ".env"` or `env_file = [".env", …]`).
    pub(super) fn string_or_list(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
    ) -> Option<Vec<Spanned<String>>> {
        match value.get_ref() {
            DeValue::String(text) => Some(vec![Spanned::new(value.span(), text.to_string())]),
            DeValue::Array(array) => Some(self.strings_of(field, array.iter())),
            _ => {
                self.wrong_type(field, value, Expected::StringOrList);
                None
            }
        }
    }

    fn strings_of<'v, 'i: 'v>(
        &mut self,
        field: Field<'_>,
        items: impl Iterator<Item = &'v Value<'i>>,
    ) -> Vec<Spanned<String>> {
        items
            .filter_map(|item| {
                let text = self.string(field, item)?;
                Some(Spanned::new(item.span(), text))
            })
            .collect()
    }

    /// An environment table (`[env]`, a process's `env`).
    ///
    /// Numbers and booleans are taken as the text they stand for (`WORKERS = 4` is
    /// `"4"`): that is what a user writing them means, and the OS only has strings.
    #[cfg(test)]
    pub(super) fn env_table(&mut self, field: Field<'_>, value: &Value<'_>) -> EnvMap {
        self.env_table_spanned(field, value).0
    }

    /// [`Reader::env_table`], with where each value's text starts in the file (for
    /// warnings about its references). A value's references are checked here.
    pub(super) fn env_table_spanned(
        &mut self,
        field: Field<'_>,
        value: &Value<'_>,
    ) -> (EnvMap, BTreeMap<String, usize>) {
        let mut env = EnvMap::new();
        let mut starts = BTreeMap::new();
        let Some(table) = self.table(field, value) else {
            return (env, starts);
        };
        for (key, item) in entries(table) {
            let name = key.get_ref().as_ref();
            if let Err(why) = check_env_name(name) {
                let diagnostic = self
                    .error(
                        key.span(),
                        format!("invalid variable name `{name}` {}", field.inner_place()),
                    )
                    .label("not a valid environment variable name")
                    .help(why);
                self.report(diagnostic);
                continue;
            }
            let text = match item.get_ref() {
                DeValue::String(text) => {
                    let source = self.source(item.span());
                    let quotes = if source.starts_with("\"\"\"") || source.starts_with("\'\'\'") {
                        3
                    } else {
                        1
                    };
                    let start = item.span().start + quotes;
                    starts.insert(name.to_owned(), start);
                    if let Err(error) = super::super::interpolate::check(text) {
                        let end = item.span().end.saturating_sub(quotes).max(start);
                        let span =
                            (start + error.span.start).min(end)..(start + error.span.end).min(end);
                        let diagnostic = self
                            .error(
                                span,
                                format!(
                                    "invalid variable reference in `{name}` {}",
                                    field.inner_place()
                                ),
                            )
                            .label(error.label)
                            .help(error.help);
                        self.report(diagnostic);
                        continue;
                    }
                    text.to_string()
                }
                DeValue::Boolean(flag) => flag.to_string(),
                DeValue::Float(float) => float.as_str().to_owned(),
                DeValue::Integer(integer) => {
                    match i64::from_str_radix(integer.as_str(), integer.radix()) {
                        Ok(number) => number.to_string(),
                        Err(_) => self.source(item.span()).to_owned(),
                    }
                }
                _ => {
                    let place = field.inner_place();
                    let item_field = Field {
                        key: name,
                        place: &place,
                    };
                    self.wrong_type(item_field, item, Expected::EnvValue);
                    continue;
                }
            };
            env.insert(name.to_owned(), text);
        }
        (env, starts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_value<T>(
        text: &str,
        read: impl FnOnce(&mut Reader, Field<'_>, &Value<'_>) -> T,
    ) -> (T, Vec<Diagnostic>) {
        let file = SourceFile::new("proj.toml", text);
        let document = DeTable::parse(text).expect("valid TOML");
        let table = document.get_ref();
        let value = table.get("key").expect("a `key`");
        let mut reader = Reader::new(&file);
        let field = Field {
            key: "key",
            place: "in process `web`",
        };
        let result = read(&mut reader, field, value);
        (result, reader.take_diagnostics())
    }

    fn only(diagnostics: &[Diagnostic]) -> &Diagnostic {
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        &diagnostics[0]
    }

    #[test]
    fn entries_come_in_file_order() {
        let document = DeTable::parse("zeta = 1\nalpha = 2\nmid = 3\n").unwrap();
        let keys: Vec<&str> = entries(document.get_ref())
            .into_iter()
            .map(|(key, _)| key.get_ref().as_ref())
            .collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let (result, diagnostics) = read_value("key = 60", Reader::duration);
        assert!(result.is_none());
        let diagnostic = only(&diagnostics);
        assert_eq!(
            diagnostic.message(),
            "wrong type for `key` in process `web`"
        );
        assert_eq!(
            diagnostic.label_text(),
            r#"expected a duration string like "10s", found integer"#
        );
        assert_eq!(
            diagnostic.help_text(),
            Some(r#"durations are strings with a unit: `key = "60s"`"#)
        );
        assert_eq!((diagnostic.line(), diagnostic.column()), (1, 7));
    }

    #[test]
    fn integers_in_any_radix_and_with_underscores() {
        let (result, diagnostics) =
            read_value("key = 1_000", |r, f, v| r.integer(f, v, 0..=5000, "help"));
        assert_eq!(result, Some(1000));
        assert!(diagnostics.is_empty());
        let (result, _) = read_value("key = 0x10", |r, f, v| r.integer(f, v, 0..=5000, "help"));
        assert_eq!(result, Some(16));
    }

    #[test]
    fn integer_out_of_range() {
        let (result, diagnostics) = read_value("key = 70000", |r, f, v| {
            r.integer(f, v, 1..=65535, "ports are 1 to 65535")
        });
        assert!(result.is_none());
        let diagnostic = only(&diagnostics);
        assert_eq!(
            diagnostic.message(),
            "invalid value for `key` in process `web`"
        );
        assert_eq!(diagnostic.label_text(), "must be between 1 and 65535");
        assert_eq!(diagnostic.help_text(), Some("ports are 1 to 65535"));
    }

    #[test]
    fn quoted_integer_suggests_removing_the_quotes() {
        let (_, diagnostics) = read_value(r#"key = "8000""#, |r, f, v| r.integer(f, v, 1..=9, ""));
        assert_eq!(
            only(&diagnostics).help_text(),
            Some("remove the quotes: `key = 8000`")
        );
    }

    #[test]
    fn string_list_reports_each_bad_element() {
        let (result, diagnostics) = read_value(r#"key = ["a", 2, "c", true]"#, Reader::string_list);
        let texts: Vec<String> = result
            .unwrap()
            .into_iter()
            .map(Spanned::into_inner)
            .collect();
        assert_eq!(texts, ["a", "c"]);
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(diagnostics[0].column(), 13);
        assert_eq!(
            diagnostics[0].help_text(),
            Some(r#"put the value in quotes: `key = "2"`"#)
        );
        assert_eq!(diagnostics[1].column(), 21);
    }

    #[test]
    fn single_string_where_a_list_is_expected() {
        let (_, diagnostics) = read_value(r#"key = "db""#, Reader::string_list);
        assert_eq!(
            only(&diagnostics).help_text(),
            Some(r#"write a list: `key = ["db"]`"#)
        );
    }

    #[test]
    fn env_values_are_stringified() {
        let (env, diagnostics) = read_value(
            r#"key = { A = "x", B = 4, C = true, D = 1.5, E = 0x1F }"#,
            Reader::env_table,
        );
        assert!(diagnostics.is_empty());
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("A", "x"),
                ("B", "4"),
                ("C", "true"),
                ("D", "1.5"),
                ("E", "31")
            ]
        );
    }

    #[test]
    fn env_arrays_are_refused() {
        let (env, diagnostics) = read_value(r#"key = { A = [1], B = "ok" }"#, Reader::env_table);
        assert_eq!(env.len(), 1);
        let diagnostic = only(&diagnostics);
        assert_eq!(
            diagnostic.message(),
            "wrong type for `A` in `key` of process `web`"
        );
        assert_eq!(diagnostic.label_text(), "expected a string, found array");
        assert_eq!(diagnostic.column(), 13);
    }

    #[test]
    fn sizes_accept_strings_and_byte_counts() {
        assert_eq!(read_value(r#"key = "1MiB""#, Reader::size).0, Some(1 << 20));
        assert_eq!(read_value("key = 4096", Reader::size).0, Some(4096));
        let (result, diagnostics) = read_value(r#"key = "0B""#, Reader::size);
        assert!(result.is_none());
        assert_eq!(only(&diagnostics).label_text(), "must be more than 0 bytes");
    }

    #[test]
    fn unknown_key_suggests_or_lists() {
        let file = SourceFile::new("proj.toml", "comand = 1\nzzz = 2\ncmd = 3\n");
        let document = DeTable::parse(file.text()).unwrap();
        let mut reader = Reader::new(&file);
        for (key, _) in entries(document.get_ref()) {
            reader.unknown_key(
                key,
                "in process `web`",
                &["command", "port"],
                &[("cmd", "command")],
            );
        }
        let diagnostics = reader.take_diagnostics();
        let helps: Vec<_> = diagnostics.iter().map(|d| d.help_text().unwrap()).collect();
        assert_eq!(
            helps,
            [
                "did you mean `command`?",
                "valid keys in process `web`: `command`, `port`",
                "did you mean `command`?",
            ]
        );
        assert_eq!(
            diagnostics[1].message(),
            "unknown key `zzz` in process `web`"
        );
        assert_eq!((diagnostics[1].line(), diagnostics[1].column()), (2, 1));
    }
}
