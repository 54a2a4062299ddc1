//! The INI dialect of supervisord's config files, with a line for every key.
//!
//! supervisord reads its files with Python's `RawConfigParser` set up as
//! `inline_comment_prefixes = (';', '#')` and `strict = False`. No Rust INI crate both
//! follows those rules (indented continuation lines, `;`/`#` comments after whitespace,
//! `=` or `:`, case-folded keys, a repeated section or key merged with the later one
//! winning) and reports lines, which the conversion report needs; so this is a small
//! reader of exactly that dialect.

use std::path::{Path, PathBuf};

/// A section (`[program:web]`) and its keys, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
    /// The header's line (1-based).
    pub(crate) line: usize,
    pub(crate) entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Lower-cased, as configparser's `optionxform` does.
    pub(crate) key: String,
    /// Continuation lines joined with `\n`, comments and outer spaces removed.
    pub(crate) value: String,
    pub(crate) file: PathBuf,
    pub(crate) line: usize,
}

impl Section {
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }
}

/// A line that is neither a section, a key, a continuation nor a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Reads one file's text into `sections`, merging a section that is already there.
pub(crate) fn read_into(
    file: &Path,
    text: &str,
    sections: &mut Vec<Section>,
) -> Result<(), ParseError> {
    // (section index, entry index, indent of the key line): where continuation goes.
    let mut current: Option<usize> = None;
    let mut open_value: Option<(usize, usize, usize)> = None;
    let mut pending_blank_lines = 0;
    for (index, raw_line) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw_line.trim_end_matches('\r');
        let content = strip_inline_comment(line);
        let trimmed = content.trim();
        let indent = line.len() - line.trim_start().len();
        let full_line_comment = matches!(line.trim_start().chars().next(), Some(';' | '#'));
        if full_line_comment {
            continue;
        }
        if trimmed.is_empty() {
            // Blank lines inside a value are kept only if it goes on after them.
            if open_value.is_some() {
                pending_blank_lines += 1;
            }
            continue;
        }
        if let Some((section, entry, key_indent)) = open_value
            && indent > key_indent
        {
            let value = &mut sections[section].entries[entry].value;
            for _ in 0..pending_blank_lines {
                value.push('\n');
            }
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(trimmed);
            pending_blank_lines = 0;
            continue;
        }
        pending_blank_lines = 0;
        open_value = None;
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let name = name.trim().to_owned();
            let found = sections.iter().position(|section| section.name == name);
            current = Some(found.unwrap_or_else(|| {
                sections.push(Section {
                    name,
                    file: file.to_path_buf(),
                    line: number,
                    entries: Vec::new(),
                });
                sections.len() - 1
            }));
            continue;
        }
        let Some(section) = current else {
            return Err(ParseError {
                line: number,
                message: "a key before any `[section]` header".to_owned(),
            });
        };
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(ParseError {
                line: number,
                message: format!("`{trimmed}` is not `key = value`"),
            });
        };
        let key = trimmed[..split].trim().to_lowercase();
        let value = trimmed[split + 1..].trim().to_owned();
        let entries = &mut sections[section].entries;
        let entry = Entry {
            key,
            value,
            file: file.to_path_buf(),
            line: number,
        };
        let at = match entries.iter().position(|old| old.key == entry.key) {
            Some(at) => {
                entries[at] = entry;
                at
            }
            None => {
                entries.push(entry);
                entries.len() - 1
            }
        };
        open_value = Some((section, at, indent));
    }
    Ok(())
}

/// The line without a `;` or `#` comment that follows whitespace (configparser's inline
/// comments: `command = a ; b` is `a`, but `a;b` stays).
fn strip_inline_comment(line: &str) -> &str {
    let mut previous_space = false;
    for (at, c) in line.char_indices() {
        if (c == ';' || c == '#') && previous_space {
            return &line[..at];
        }
        previous_space = c.is_whitespace();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Section> {
        let mut sections = Vec::new();
        read_into(Path::new("s.conf"), text, &mut sections).unwrap();
        sections
    }

    #[test]
    fn continuation_lines_comments_and_lines() {
        let sections = read(
            "; top\n[program:web]\ncommand = gunicorn app ; the app\n\
             environment =\n    A=\"1\",\n\n    B=\"2\"\n# a comment\nAutoStart: true\n",
        );
        assert_eq!(sections.len(), 1);
        let web = &sections[0];
        assert_eq!((web.name.as_str(), web.line), ("program:web", 2));
        assert_eq!(web.get("command").unwrap().value, "gunicorn app");
        let environment = web.get("environment").unwrap();
        assert_eq!(environment.value, "A=\"1\",\n\nB=\"2\"");
        assert_eq!(environment.line, 4);
        let autostart = web.get("autostart").unwrap();
        assert_eq!((autostart.value.as_str(), autostart.line), ("true", 9));
    }

    #[test]
    fn a_repeated_section_merges_and_the_later_key_wins() {
        let sections = read("[a]\nx = 1\ny = 2\n[a]\nx = 3\n");
        assert_eq!(sections.len(), 1);
        let values: Vec<_> = sections[0]
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(values, [("x", "3", 5), ("y", "2", 3)]);
    }

    #[test]
    fn semicolons_without_space_stay() {
        assert_eq!(strip_inline_comment("a;b ; c"), "a;b ");
        assert_eq!(strip_inline_comment("sh -c 'a ; b'"), "sh -c 'a ");
    }

    #[test]
    fn errors_have_lines() {
        let mut sections = Vec::new();
        let error = read_into(Path::new("s"), "x = 1\n", &mut sections).unwrap_err();
        assert_eq!(error.line, 1);
        let error = read_into(Path::new("s"), "[a]\njunk\n", &mut sections).unwrap_err();
        assert_eq!(error.line, 2);
    }
}
