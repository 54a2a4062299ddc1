//! `watch` / `watch_ignore` globs, compiled once when the config is read.
//!
//! The reader parses each pattern (so a bad one is reported at its position) and the
//! set is built from those parsed globs; the file watcher matches with that set as it
//! is, instead of compiling the patterns again.

use std::fmt;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Patterns relative to a process's working directory, with their compiled set.
#[derive(Clone)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    /// Parse one pattern as `watch` means it: `*` stays within a directory, `**` crosses
    /// them (as in .gitignore); a leading `./` is the working directory itself.
    pub fn parse(pattern: &str) -> Result<Glob, globset::Error> {
        GlobBuilder::new(normalize(pattern))
            .literal_separator(true)
            .build()
    }

    /// The set of `parsed` patterns (each from [`Globs::parse`]), as written.
    pub fn from_parsed(parsed: Vec<(String, Glob)>) -> Result<Globs, globset::Error> {
        let mut set = GlobSetBuilder::new();
        let mut patterns = Vec::with_capacity(parsed.len());
        for (pattern, glob) in parsed {
            set.add(glob);
            patterns.push(pattern);
        }
        Ok(Globs {
            patterns,
            set: set.build()?,
        })
    }

    /// Parse and compile `patterns` (for plans built in code, such as tests').
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Globs, globset::Error> {
        let parsed = patterns
            .iter()
            .map(|pattern| {
                Ok((
                    pattern.as_ref().to_string(),
                    Globs::parse(pattern.as_ref())?,
                ))
            })
            .collect::<Result<Vec<_>, globset::Error>>()?;
        Globs::from_parsed(parsed)
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn set(&self) -> &GlobSet {
        &self.set
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// `./src/*.py` is `src/*.py`.
pub(crate) fn normalize(pattern: &str) -> &str {
    let mut pattern = pattern;
    while let Some(rest) = pattern.strip_prefix("./") {
        pattern = rest;
    }
    pattern
}

impl Default for Globs {
    fn default() -> Globs {
        Globs {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }
}

/// Two sets are the same when their patterns are (a reload compares definitions).
impl PartialEq for Globs {
    fn eq(&self, other: &Globs) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for Globs {}

impl<const N: usize> PartialEq<[&str; N]> for Globs {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.patterns
            .iter()
            .map(String::as_str)
            .eq(other.iter().copied())
    }
}

impl fmt::Debug for Globs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}
