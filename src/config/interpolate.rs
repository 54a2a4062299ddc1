//! Variable references in env values (SPEC §2): `$NAME`, `${NAME}`, `${NAME:-default}`
//! and `$$` for a literal `$`, as docker compose and POSIX shells write them.
//!
//! Values are kept *as written* in the plan (templates), so that each consumer resolves
//! them against its own base: the supervisor against proj's environment, an exporter
//! against what it knows. [`check`] runs at load time, so a broken reference is a config
//! error with a caret; [`expand`] never fails (an unset name is the empty string).
//!
//! - A name is `[A-Za-z_][A-Za-z0-9_]*`; `$NAME` takes the longest such run.
//! - `${NAME:-default}`: `default` when NAME is unset *or empty* (compose's rule);
//!   the default may itself hold references.
//! - A `$` that starts no reference (`$ `, `$1`, `$-`, a `$` at the end) stands for
//!   itself, as in a shell: `cost: 5$` stays as it is.
//! - A `${` without its `}`, or `${` followed by something that is not a name, is an
//!   error: it is almost always a typo, and silently keeping it breaks things later.

use std::ops::Range;

/// What is wrong with a template, at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) span: Range<usize>,
    pub(crate) label: &'static str,
    pub(crate) help: &'static str,
}

/// One variable a template refers to, where, and whether it has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) name: String,
    pub(crate) span: Range<usize>,
    pub(crate) has_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable {
        name: String,
        span: Range<usize>,
        default: Option<Vec<Piece>>,
    },
}

/// Whether `template` is well-formed.
pub(crate) fn check(template: &str) -> Result<(), SyntaxError> {
    parse(template).map(drop)
}

/// The variables `template` refers to (in defaults too), in order.
pub(crate) fn references(template: &str) -> Vec<Reference> {
    fn walk(pieces: &[Piece], inside_default: bool, found: &mut Vec<Reference>) {
        for piece in pieces {
            if let Piece::Variable {
                name,
                span,
                default,
            } = piece
            {
                found.push(Reference {
                    name: name.clone(),
                    span: span.clone(),
                    has_default: default.is_some() || inside_default,
                });
                if let Some(default) = default {
                    walk(default, true, found);
                }
            }
        }
    }
    let mut found = Vec::new();
    if let Ok(pieces) = parse(template) {
        walk(&pieces, false, &mut found);
    }
    found
}

/// `template` with every reference replaced by `lookup`'s answer (unset: empty). A
/// malformed template (which [`check`] refuses at load time) is returned as it is.
pub(crate) fn expand(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    fn render(pieces: &[Piece], lookup: &dyn Fn(&str) -> Option<String>, out: &mut String) {
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Variable { name, default, .. } => {
                    match (lookup(name).filter(|v| !v.is_empty()), default) {
                        (Some(value), _) => out.push_str(&value),
                        (None, Some(default)) => render(default, lookup, out),
                        (None, None) => out.push_str(&lookup(name).unwrap_or_default()),
                    }
                }
            }
        }
    }
    match parse(template) {
        Ok(pieces) => {
            let mut out = String::with_capacity(template.len());
            render(&pieces, lookup, &mut out);
            truncate_to_limit(&mut out);
            out
        }
        Err(_) => template.to_owned(),
    }
}

/// The longest environment string `execve` takes (Linux's MAX_ARG_STRLEN, 128 KiB).
const VALUE_MAX: usize = 128 * 1024;

/// `A=$A$A` on every line of an env file doubles the value each time: a value is cut at
/// [`VALUE_MAX`], which the kernel would refuse to pass to a child anyway, so that
/// chained references cost at most that much each.
fn truncate_to_limit(value: &mut String) {
    if value.len() > VALUE_MAX {
        let mut end = VALUE_MAX;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
}

/// `text` with every `$` doubled: a literal value as a template.
pub(crate) fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

fn parse(template: &str) -> Result<Vec<Piece>, SyntaxError> {
    let (pieces, end) = parse_from(template, 0, false)?;
    debug_assert_eq!(end, template.len());
    Ok(pieces)
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Pieces from `pos` up to the end, or (in a default) up to its closing `}`; returns
/// them and the position of that `}` (or the end).
fn parse_from(
    template: &str,
    mut pos: usize,
    in_default: bool,
) -> Result<(Vec<Piece>, usize), SyntaxError> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut text = String::new();
    while pos < bytes.len() {
        match bytes[pos] {
            b'}' if in_default => break,
            b'$' if bytes.get(pos + 1) == Some(&b'$') => {
                text.push('$');
                pos += 2;
            }
            b'$' if bytes.get(pos + 1) == Some(&b'{') => {
                let open = pos;
                let name_start = pos + 2;
                let mut name_end = name_start;
                if bytes.get(name_start).copied().is_some_and(is_name_start) {
                    while bytes.get(name_end).copied().is_some_and(is_name_byte) {
                        name_end += 1;
                    }
                }
                let name = &template[name_start..name_end];
                if name.is_empty() {
                    return Err(if template[name_start..].contains('}') {
                        SyntaxError {
                            span: open..name_start + 1,
                            label: "expected a variable name after `${`",
                            help: "write `${NAME}`, `${NAME:-default}`, or `$$` for a literal `$`",
                        }
                    } else {
                        unclosed(open)
                    });
                }
                let default = if template[name_end..].starts_with(":-") {
                    let (default, close) = parse_from(template, name_end + 2, true)?;
                    if close >= bytes.len() {
                        return Err(unclosed(open));
                    }
                    pos = close + 1;
                    Some(default)
                } else if bytes.get(name_end) == Some(&b'}') {
                    pos = name_end + 1;
                    None
                } else if name_end >= bytes.len() || !template[name_end..].contains('}') {
                    return Err(unclosed(open));
                } else {
                    return Err(SyntaxError {
                        span: name_end..name_end + 1,
                        label: "expected `}` or `:-default` after the name",
                        help: "write `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`",
                    });
                };
                flush(&mut text, &mut pieces);
                pieces.push(Piece::Variable {
                    name: name.to_owned(),
                    span: open..pos,
                    default,
                });
            }
            b'$' if bytes.get(pos + 1).copied().is_some_and(is_name_start) => {
                let start = pos;
                pos += 1;
                while bytes.get(pos).copied().is_some_and(is_name_byte) {
                    pos += 1;
                }
                flush(&mut text, &mut pieces);
                pieces.push(Piece::Variable {
                    name: template[start + 1..pos].to_owned(),
                    span: start..pos,
                    default: None,
                });
            }
            _ => {
                let c = template[pos..].chars().next().expect("in bounds");
                text.push(c);
                pos += c.len_utf8();
            }
        }
    }
    flush(&mut text, &mut pieces);
    Ok((pieces, pos))
}

fn flush(text: &mut String, pieces: &mut Vec<Piece>) {
    if !text.is_empty() {
        pieces.push(Piece::Text(std::mem::take(text)));
    }
}

fn unclosed(open: usize) -> SyntaxError {
    SyntaxError {
        span: open..open + 2,
        label: "this `${` is never closed",
        help: "close the reference with `}`: `${NAME}`; write `$$` for a literal `$`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_doubling_stays_bounded() {
        let mut value = "x".to_string();
        for _ in 0..40 {
            let previous = value.clone();
            value = expand("$A$A", &|_| Some(previous.clone()));
        }
        assert_eq!(value.len(), VALUE_MAX);
    }

    fn expanded(template: &str) -> String {
        expand(template, &|name| match name {
            "HOST" => Some("db".into()),
            "PATH" => Some("/usr/bin".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        })
    }

    #[test]
    fn references_expand() {
        assert_eq!(expanded(".venv/bin:$PATH"), ".venv/bin:/usr/bin");
        assert_eq!(expanded("postgres://${HOST}/x_$HOST"), "postgres://db/x_db");
        assert_eq!(expanded("${UNSET:-local}:${HOST:-no}"), "local:db");
        assert_eq!(expanded("${EMPTY:-fallback}"), "fallback");
        assert_eq!(expanded("${UNSET:-${HOST:-x}-y}"), "db-y");
        assert_eq!(expanded("[$UNSET]"), "[]");
    }

    #[test]
    fn dollars_that_start_no_reference_stay() {
        assert_eq!(
            expanded("$$HOST costs 5$ or $1, $-"),
            "$HOST costs 5$ or $1, $-"
        );
        assert_eq!(expanded("é$HOST€"), "édb€");
    }

    #[test]
    fn broken_references_are_errors_with_their_place() {
        let error = |t: &str| check(t).unwrap_err();
        assert_eq!(error("x${HOST").span, 1..3);
        assert_eq!(error("x${HOST").label, "this `${` is never closed");
        assert_eq!(error("${HOST:-a").label, "this `${` is never closed");
        assert_eq!(error("${").label, "this `${` is never closed");
        assert_eq!(error("${ }").label, "expected a variable name after `${`");
        assert_eq!(error("${A B}").span, 3..4);
        assert!(check("${A:-}").is_ok());
    }

    #[test]
    fn references_are_listed_with_spans() {
        let found = references("a $B ${C:-$D}");
        let names: Vec<(&str, Range<usize>, bool)> = found
            .iter()
            .map(|r| (r.name.as_str(), r.span.clone(), r.has_default))
            .collect();
        assert_eq!(
            names,
            [("B", 2..4, false), ("C", 5..13, true), ("D", 10..12, true)]
        );
        assert_eq!(literal("a$b"), "a$$b");
    }
}
