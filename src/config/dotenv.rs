//! Dotenv files (`env_file`, a Procfile's `.env`) read into an [`EnvMap`].
//!
//! The parser is proj's own rather than dotenvy's: dotenvy refuses unquoted values with
//! spaces (`GREETING=hello world`), which foreman, docker compose and python-dotenv all
//! accept and which real `.env` files are full of, and it reports errors without their
//! line. The format, as those tools read it:
//!
//! - `KEY=value` lines; blank lines and `#` comments are skipped; `export ` is allowed
//!   before the key and spaces around `=`.
//! - Unquoted values run to the end of the line, trimmed; ` #` starts a comment.
//! - `'single quotes'` are literal. `"double quotes"` understand `\n`, `\t`, `\r`, `\"`,
//!   `\\` and `\$`. Both may span lines.
//! - `$NAME`, `${NAME}` and `${NAME:-default}` in unquoted and double-quoted values
//!   refer to an earlier variable (from this file or an earlier env file), else to
//!   proj's own environment, else to nothing; `$$` (and `\$` in double quotes) is a `$`.
//!
//! Values are returned as templates (see [`super::interpolate`]): a single-quoted value
//! has its `$` doubled, so that it stays literal when the environment builder expands
//! it. proj's process environment is never modified.

use std::io;
use std::ops::Range;
use std::path::Path;

use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::interpolate;

/// A dotenv file's variables in file order: name, value as a template, and the span of
/// the value in `file` (for warnings about it).
#[derive(Debug)]
pub(crate) struct EnvFile {
    pub(crate) file: Arc<SourceFile>,
    pub(crate) vars: Vec<(String, String, Range<usize>)>,
}

/// Why a dotenv file could not be used.
#[derive(Debug)]
pub(crate) enum EnvFileError {
    /// It exists but cannot be read (a missing file is not an error: it is skipped).
    Read(io::Error),
    /// A line is malformed.
    Parse(Diagnostic),
    /// It is a symbolic link to this path, which does not exist: skipped like a missing
    /// file, but worth a warning (a `.env -> ../shared/.env` that moved).
    DanglingLink(std::path::PathBuf),
}

/// Reads the dotenv file at `path` (None when it does not exist). `shown` is the path
/// as messages name it.
pub(crate) fn load(shown: &Path, path: &Path) -> Result<Option<EnvFile>, EnvFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return match std::fs::read_link(path) {
                Ok(target) => Err(EnvFileError::DanglingLink(target)),
                Err(_) => Ok(None),
            };
        }
        Err(error) => return Err(EnvFileError::Read(error)),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let file = SourceFile::new(shown, text);
    let mut vars = Vec::new();
    match parse(text, &mut vars) {
        Ok(()) => Ok(Some(EnvFile { file, vars })),
        Err(problem) => {
            let message = format!("invalid line in `{}`", shown.display());
            Err(EnvFileError::Parse(
                Diagnostic::new(&file, problem.span, message)
                    .label(problem.label)
                    .help(problem.help),
            ))
        }
    }
}

/// Parses dotenv `text` as [`load`] does, without a file: the variables in order (values
/// as written), or the span of the first malformed line. The entry point of the `.env`
/// fuzz target.
pub(crate) fn parse_text(text: &str) -> Result<Vec<(String, String)>, Range<usize>> {
    let mut vars = Vec::new();
    parse(text, &mut vars).map_err(|problem| problem.span)?;
    Ok(vars
        .into_iter()
        .map(|(key, value, _)| (key, value))
        .collect())
}

/// A malformed line: where, what, and how to fix it.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    span: Range<usize>,
    label: &'static str,
    help: &'static str,
}

const LINE_HELP: &str =
    r#"lines look like `KEY=value` (or `KEY="a value"`); comments start with `#`"#;

/// Parses a whole file into `env`, stopping at the first malformed line (after it, the
/// line structure, e.g. which quote closes which, cannot be trusted).
fn parse(text: &str, env: &mut Vec<(String, String, Range<usize>)>) -> Result<(), Problem> {
    let mut pos = 0;
    while pos < text.len() {
        let end = line_end(text, pos);
        let line = &text[pos..end];
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            pos = end + 1;
            continue;
        }
        let start = pos + (line.len() - line.trim_start().len());
        let (key, value, span, next) = parse_assignment(text, start, end)?;
        if let Err(error) = interpolate::check(&value) {
            // The template's offsets are the file's for an unquoted value and close to
            // them in a quoted one (escapes shift them).
            let at = (span.start + error.span.start).min(span.end);
            return Err(Problem {
                span: at..(span.start + error.span.end).min(span.end).max(at),
                label: error.label,
                help: error.help,
            });
        }
        env.push((key, value, span));
        pos = next;
    }
    Ok(())
}

/// The byte offset of the end of the line holding `pos` (its `\n`, or the end).
fn line_end(text: &str, pos: usize) -> usize {
    text[pos..]
        .find('\n')
        .map_or(text.len(), |offset| pos + offset)
}

fn skip_blanks(text: &str, mut pos: usize, end: usize) -> usize {
    while pos < end && matches!(text.as_bytes()[pos], b' ' | b'\t' | b'\r') {
        pos += 1;
    }
    pos
}

/// `[export] KEY = value` from `start`; returns the key, the value and where the next
/// line starts.
fn parse_assignment(
    text: &str,
    start: usize,
    end: usize,
) -> Result<(String, String, Range<usize>, usize), Problem> {
    let mut pos = start;
    if let Some(rest) = text[pos..end].strip_prefix("export")
        && rest.starts_with([' ', '\t'])
    {
        pos = skip_blanks(text, pos + "export".len(), end);
    }
    let key_end = text[pos..end]
        .find(|c: char| c == '=' || c.is_whitespace())
        .map_or(end, |offset| pos + offset);
    let key = &text[pos..key_end];
    let valid_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_key {
        return Err(Problem {
            span: pos..key_end.max(pos + 1),
            label: "not a variable name",
            help: "variable names use letters, digits and `_`; lines look like `KEY=value`",
        });
    }
    let equals = skip_blanks(text, key_end, end);
    if text.as_bytes().get(equals) != Some(&b'=') {
        return Err(Problem {
            span: equals..equals,
            label: "expected `=`",
            help: LINE_HELP,
        });
    }
    let value_start = skip_blanks(text, equals + 1, end);
    let (value, span, next) = match text.as_bytes().get(value_start) {
        Some(b'\'') => {
            let (value, next) = single_quoted(text, value_start)?;
            let span = value_start + 1..value_start + 1 + value.len();
            (interpolate::literal(&value), span, next)
        }
        Some(b'"') => {
            let (value, next) = double_quoted(text, value_start)?;
            (value, value_start + 1..line_end(text, value_start), next)
        }
        _ => {
            let raw = unquoted(&text[value_start..end]);
            let span = value_start..value_start + raw.len();
            (raw.to_owned(), span, end + 1)
        }
    };
    Ok((key.to_owned(), value, span, next))
}

/// An unquoted value: up to a comment (`#` after a blank), trimmed.
fn unquoted(raw: &str) -> &str {
    let comment = raw
        .char_indices()
        .find(|&(i, c)| c == '#' && i > 0 && raw[..i].ends_with([' ', '\t']))
        .map_or(raw.len(), |(i, _)| i);
    raw[..comment].trim()
}

/// `'…'` from the quote at `open`: literal text, possibly over several lines.
fn single_quoted(text: &str, open: usize) -> Result<(String, usize), Problem> {
    let Some(length) = text[open + 1..].find('\'') else {
        return Err(unclosed(open));
    };
    let close = open + 1 + length;
    Ok((
        text[open + 1..close].to_owned(),
        after_quote(text, close + 1)?,
    ))
}

/// `"…"` from the quote at `open`, with escapes, possibly over lines; references are
/// kept as written, `\$` becomes the template's `$$`.
fn double_quoted(text: &str, open: usize) -> Result<(String, usize), Problem> {
    let mut value = String::new();
    let mut chars = text[open + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => {
                let close = open + 1 + offset;
                return Ok((value, after_quote(text, close + 1)?));
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, '$')) => value.push_str("$$"),
                Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            _ => value.push(c),
        }
    }
    Err(unclosed(open))
}

fn unclosed(open: usize) -> Problem {
    Problem {
        span: open..open + 1,
        label: "this quote is never closed",
        help: "close the value with the same quote it starts with",
    }
}

/// After a closing quote only blanks or a comment may follow; returns the next line's start.
fn after_quote(text: &str, pos: usize) -> Result<usize, Problem> {
    let end = line_end(text, pos);
    let rest = skip_blanks(text, pos, end);
    if rest < end && text.as_bytes()[rest] != b'#' {
        return Err(Problem {
            span: rest..rest + 1,
            label: "text after the closing quote",
            help: r#"put the whole value in the quotes: `KEY="a value"`"#,
        });
    }
    Ok(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names and templates, in file order.
    fn parsed(text: &str) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        parse(text, &mut vars).expect("valid");
        vars.into_iter().map(|(k, v, _)| (k, v)).collect()
    }

    fn problem(text: &str) -> (Range<usize>, &'static str) {
        let problem = parse(text, &mut Vec::new()).expect_err("invalid");
        (problem.span, problem.label)
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_lines_comments_and_export() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\n  C=x#y\nD=\n";
        assert_eq!(
            parsed(text),
            pairs(&[("A", "1"), ("B", "two words"), ("C", "x#y"), ("D", "")])
        );
    }

    #[test]
    fn quotes() {
        let text = "A='lit $X \\n'\nB=\"say \\\"hi\\\"\\n\\$X\"  # c\nC=\"multi\nline\"\nD=after\n";
        assert_eq!(
            parsed(text),
            pairs(&[
                ("A", "lit $$X \\n"),
                ("B", "say \"hi\"\n$$X"),
                ("C", "multi\nline"),
                ("D", "after"),
            ])
        );
    }

    #[test]
    fn references_are_kept_as_written_for_the_environment_builder() {
        let text = "HOST=db\nURL=postgres://$HOST/${HOST}_x\nQ=\"${HOST:-x}:$HOST\"\nP=$ cost\n";
        assert_eq!(
            parsed(text),
            pairs(&[
                ("HOST", "db"),
                ("URL", "postgres://$HOST/${HOST}_x"),
                ("Q", "${HOST:-x}:$HOST"),
                ("P", "$ cost"),
            ])
        );
    }

    #[test]
    fn value_spans_point_into_the_file() {
        let text = "A=one\nB='two'\n";
        let mut vars = Vec::new();
        parse(text, &mut vars).unwrap();
        assert_eq!(&text[vars[0].2.clone()], "one");
        assert_eq!(&text[vars[1].2.clone()], "two");
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(parsed("A=1\r\nB='2'\r\n"), pairs(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(problem("A=1\nBAD LINE\n"), (8..8, "expected `=`"));
        assert_eq!(problem("JUSTAKEY"), (8..8, "expected `=`"));
        assert_eq!(
            problem("A=1\nB=\"open\n"),
            (6..7, "this quote is never closed")
        );
        assert_eq!(problem("B='x' y\n"), (6..7, "text after the closing quote"));
        assert_eq!(problem("=value\n"), (0..1, "not a variable name"));
        assert_eq!(problem("A$B=1\n"), (0..3, "not a variable name"));
        assert_eq!(
            problem("A=1\nB=x${HOST\n"),
            (7..9, "this `${` is never closed")
        );
    }

    fn load_text(text: &str) -> Result<Option<EnvFile>, EnvFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, text).unwrap();
        load(Path::new(".env"), &path)
    }

    #[test]
    fn loads_without_touching_the_process_environment() {
        let env = load_text("\u{feff}PROJ_TEST_GREETING=hello from dotenv\n")
            .unwrap()
            .unwrap();
        assert_eq!(env.vars[0].0, "PROJ_TEST_GREETING");
        assert_eq!(env.vars[0].1, "hello from dotenv");
        assert!(std::env::var_os("PROJ_TEST_GREETING").is_none());
    }

    #[test]
    fn a_missing_file_is_skipped() {
        assert!(matches!(
            load(Path::new(".env"), Path::new("/nonexistent/.env")),
            Ok(None)
        ));
    }

    #[test]
    fn a_dangling_link_is_reported_with_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::os::unix::fs::symlink("../shared/.env", &path).unwrap();
        let Err(EnvFileError::DanglingLink(target)) = load(Path::new(".env"), &path) else {
            panic!("expected a dangling link");
        };
        assert_eq!(target, Path::new("../shared/.env"));
    }

    #[test]
    fn a_bad_line_is_a_diagnostic_in_the_env_file() {
        let Err(EnvFileError::Parse(diagnostic)) = load_text("GOOD=1\n\nBAD LINE\n") else {
            panic!("expected a parse error");
        };
        assert_eq!((diagnostic.line(), diagnostic.column()), (3, 5));
        assert_eq!(diagnostic.message(), "invalid line in `.env`");
        assert_eq!(diagnostic.label_text(), "expected `=`");
        assert_eq!(diagnostic.path(), Path::new(".env"));
    }
}
