//! The reference syntax of env values (SPEC §2): `$NAME`, `${NAME}`,
//! `${NAME:-default}`, and `$$` for a literal `$`.

/// A piece of a value: text, or a reference to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Text(String),
    Reference {
        name: String,
        default: Option<String>,
    },
}

/// Splits a value into text and references, by SPEC §2's rules: `$$` is a literal `$`,
/// and a `$` that starts no reference is literal too.
pub(crate) fn parse(value: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (reference, consumed) = match after.as_bytes().first() {
            Some(b'$') => {
                text.push('$');
                rest = &after[1..];
                continue;
            }
            Some(b'{') => match braced(&after[1..]) {
                Some((reference, length)) => (Some(reference), length + 1),
                None => (None, 0),
            },
            _ => {
                let length = name_length(after);
                let reference = (length > 0).then(|| Part::Reference {
                    name: after[..length].to_owned(),
                    default: None,
                });
                (reference, length)
            }
        };
        match reference {
            Some(reference) => {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(reference);
                rest = &after[consumed..];
            }
            None => {
                text.push('$');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

/// `NAME}` or `NAME:-default}` after `${`: the reference and the bytes it used.
fn braced(text: &str) -> Option<(Part, usize)> {
    let length = name_length(text);
    if length == 0 {
        return None;
    }
    let name = text[..length].to_owned();
    let after = &text[length..];
    if after.starts_with('}') {
        return Some((
            Part::Reference {
                name,
                default: None,
            },
            length + 1,
        ));
    }
    let default = after.strip_prefix(":-")?;
    let end = default.find('}')?;
    Some((
        Part::Reference {
            name,
            default: Some(default[..end].to_owned()),
        },
        length + 2 + end + 1,
    ))
}

/// The length of the variable name at the start of `text` (`[A-Za-z_][A-Za-z0-9_]*`).
fn name_length(text: &str) -> usize {
    let mut length = 0;
    for (index, c) in text.char_indices() {
        let fits = c == '_' || c.is_ascii_alphabetic() || (index > 0 && c.is_ascii_digit());
        if !fits {
            break;
        }
        length = index + c.len_utf8();
    }
    length
}

/// The references of a value: (name, default).
pub(crate) fn references(parts: &[Part]) -> impl Iterator<Item = (&str, Option<&str>)> {
    parts.iter().filter_map(|part| match part {
        Part::Reference { name, default } => Some((name.as_str(), default.as_deref())),
        Part::Text(_) => None,
    })
}

/// The text of a value without its references.
pub(crate) fn concat_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.as_str(),
            Part::Reference { .. } => "",
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> Part {
        Part::Reference {
            name: name.into(),
            default: None,
        }
    }

    fn text(text: &str) -> Part {
        Part::Text(text.into())
    }

    #[test]
    fn references_are_parsed_by_the_spec() {
        assert_eq!(parse("plain"), vec![text("plain")]);
        assert_eq!(parse("$A"), vec![reference("A")]);
        assert_eq!(parse("x${B}y"), vec![text("x"), reference("B"), text("y")]);
        assert_eq!(
            parse("${C:-a b}"),
            vec![Part::Reference {
                name: "C".into(),
                default: Some("a b".into())
            }]
        );
        assert_eq!(parse("cost $$5"), vec![text("cost $5")]);
        assert_eq!(parse("$ 1 ${ $"), vec![text("$ 1 ${ $")]);
        assert_eq!(parse("$A_1.b"), vec![reference("A_1"), text(".b")]);
    }
}
