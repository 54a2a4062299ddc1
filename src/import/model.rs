//! What a converter produces: the proj.toml to write, as a person would lay it out (keys
//! with the comments that explain a decision), and the notes for stderr.

use std::fmt;
use std::path::PathBuf;

/// The proj.toml to write.
#[derive(Debug, Default)]
pub(crate) struct Project {
    /// `[project] procfile`.
    pub(crate) procfile: Option<String>,
    /// `[project] env_file`; `None` keeps proj's default (`.env`).
    pub(crate) env_files: Option<Vec<String>>,
    /// `[env]`, in the source's order.
    pub(crate) env: Vec<(String, String)>,
    pub(crate) processes: Vec<Process>,
}

/// One `[processes.NAME]` table.
#[derive(Debug, Default)]
pub(crate) struct Process {
    pub(crate) name: String,
    /// Comment lines above the table header.
    pub(crate) comments: Vec<String>,
    pub(crate) entries: Vec<Entry>,
    /// The process's `env`, in the source's order.
    pub(crate) env: Vec<(String, String)>,
}

impl Process {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Process {
            name: name.into(),
            ..Process::default()
        }
    }

    /// Adds `key = value`.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<toml::Value>) {
        self.entries.push(Entry {
            key: key.to_owned(),
            value: value.into(),
            comment: None,
            commented_out: false,
        });
    }

    /// Adds `key = value` with a comment line above it that says why.
    pub(crate) fn set_because(
        &mut self,
        key: &str,
        value: impl Into<toml::Value>,
        why: impl Into<String>,
    ) {
        self.entries.push(Entry {
            key: key.to_owned(),
            value: value.into(),
            comment: Some(why.into()),
            commented_out: false,
        });
    }

    /// Writes `# key = value` with a comment: a setting the user may want, which would
    /// not work as it is (a directory that does not exist here, a user account).
    pub(crate) fn suggest(
        &mut self,
        key: &str,
        value: impl Into<toml::Value>,
        why: impl Into<String>,
    ) {
        self.entries.push(Entry {
            key: key.to_owned(),
            value: value.into(),
            comment: Some(why.into()),
            commented_out: true,
        });
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.key == key && !entry.commented_out)
    }
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: toml::Value,
    pub(crate) comment: Option<String>,
    pub(crate) commented_out: bool,
}

/// Where a note's key was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub file: PathBuf,
    /// 1-based; `None` when the parser gives no line (JSON read without YAML's help).
    pub line: Option<usize>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// What became of one key of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoteKind {
    /// Carried over, but not as it was: a choice the user should know about.
    Decision,
    /// Not carried over.
    Dropped,
}

/// One line of the report on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub place: Place,
    /// The key as the source names it, with its section: `[program:web] startsecs`.
    pub key: String,
    pub text: String,
    pub kind: NoteKind,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.place, self.key, self.text)
    }
}

/// Collects notes for one source file.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub(crate) notes: Vec<Note>,
}

impl Notes {
    pub(crate) fn decision(
        &mut self,
        place: Place,
        key: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.push(place, key, text, NoteKind::Decision);
    }

    pub(crate) fn dropped(
        &mut self,
        place: Place,
        key: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.push(place, key, text, NoteKind::Dropped);
    }

    /// A note of either kind.
    pub(crate) fn add(
        &mut self,
        kind: NoteKind,
        place: Place,
        key: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.push(place, key, text, kind);
    }

    fn push(
        &mut self,
        place: Place,
        key: impl Into<String>,
        text: impl Into<String>,
        kind: NoteKind,
    ) {
        self.notes.push(Note {
            place,
            key: key.into(),
            text: text.into(),
            kind,
        });
    }
}

/// A process name proj accepts (letters, digits, `_`, `-`): other characters become `-`.
pub(crate) fn process_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" => "app".to_owned(),
        "proj" => "proj-app".to_owned(),
        _ => cleaned,
    }
}

/// A duration for proj (`"10s"`, `"250ms"`) from seconds.
pub(crate) fn seconds(value: f64) -> String {
    if value.fract() == 0.0 && value >= 0.0 {
        format!("{}s", value as u64)
    } else {
        format!("{}ms", (value * 1000.0).round().max(0.0) as u64)
    }
}

/// `words` joined into one shell line, each quoted when it needs to be.
pub(crate) fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|word| shell_quote(word.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,$".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(process_name("web"), "web");
        assert_eq!(process_name("celery.beat"), "celery-beat");
        assert_eq!(process_name("proj"), "proj-app");
        assert_eq!(process_name(""), "app");
    }

    #[test]
    fn durations_and_quoting() {
        assert_eq!(seconds(10.0), "10s");
        assert_eq!(seconds(0.5), "500ms");
        assert_eq!(
            shell_join(&["node", "app.js", "--name", "a b"]),
            "node app.js --name 'a b'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
