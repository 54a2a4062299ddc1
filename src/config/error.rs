//! [`ConfigError`]: why a project's configuration could not be loaded.

use std::io;
use std::path::PathBuf;

use super::diagnostic::{self, Diagnostic};

/// Why no [`Plan`](super::Plan) could be built. Every variant is a usage error: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Walking up from `dir` found neither a proj.toml nor a Procfile.
    #[error("no proj.toml or Procfile found in `{}` or any parent directory", dir.display())]
    NotFound { dir: PathBuf },

    /// A config file (or a Procfile's `.env`) exists but cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file is fine but the command line asks for what it cannot give (`-m db=2`
    /// without a `db`).
    #[error("{message}")]
    Usage { message: String, help: String },

    /// The file was read but is wrong: one diagnostic per problem, in file order.
    #[error("{}", summary(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// proj's exit code for a bad config (SPEC §4): always 2.
    pub fn exit_code(&self) -> i32 {
        2
    }

    /// The problems with their locations, when the file was read (empty otherwise).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid(diagnostics) => diagnostics,
            _ => &[],
        }
    }

    /// How many reports an invalid file shows, as clang's `-ferror-limit` does: a file
    /// that is not a config at all (a binary named `Procfile`) would otherwise print
    /// thousands. The summary still counts them all.
    pub const SHOWN_ERRORS: usize = 20;

    /// The full human message, rustc-style, ready for stderr (without a trailing newline).
    pub fn render(&self, color: bool) -> String {
        match self {
            ConfigError::NotFound { .. } => diagnostic::render_plain(
                &self.to_string(),
                "create a proj.toml in the project's root directory (or a Procfile), \
                 or name the file with `-f PATH`",
                color,
            ),
            ConfigError::Read { source, .. } => {
                let help = if source.kind() == io::ErrorKind::NotFound {
                    "check the path; `-f PATH` names the config file directly"
                } else {
                    "check that the file is a readable UTF-8 text file"
                };
                diagnostic::render_plain(&self.to_string(), help, color)
            }
            ConfigError::Usage { message, help } => diagnostic::render_plain(message, help, color),
            ConfigError::Invalid(diagnostics) => {
                let mut reports: Vec<String> = diagnostics
                    .iter()
                    .take(Self::SHOWN_ERRORS)
                    .map(|diagnostic| diagnostic.render(color))
                    .collect();
                if let [first, _, ..] = diagnostics.as_slice() {
                    let shown = if diagnostics.len() > Self::SHOWN_ERRORS {
                        format!(" (the first {} are shown)", Self::SHOWN_ERRORS)
                    } else {
                        String::new()
                    };
                    let message = format!(
                        "could not load `{}` due to {} previous errors{shown}",
                        first.file().path().display(),
                        diagnostics.len()
                    );
                    reports.push(diagnostic::render_summary(&message, color));
                }
                reports.join("\n\n")
            }
        }
    }
}

/// The one-line form of an invalid config: the first problem, and how many more there are.
fn summary(diagnostics: &[Diagnostic]) -> String {
    match diagnostics {
        [] => "invalid configuration".to_owned(),
        [only] => only.to_string(),
        [first, _] => format!("{first} (and 1 more error)"),
        [first, rest @ ..] => format!("{first} (and {} more errors)", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::SourceFile;

    #[test]
    fn not_found_says_how_to_fix_it() {
        let error = ConfigError::NotFound {
            dir: PathBuf::from("/home/me/src"),
        };
        assert_eq!(error.exit_code(), 2);
        let text = error.render(false);
        assert!(text.starts_with(
            "error: no proj.toml or Procfile found in `/home/me/src` or any parent directory"
        ));
        assert!(text.contains("help: create a proj.toml"));
        assert!(text.contains("`-f PATH`"));
    }

    #[test]
    fn several_errors_end_with_a_count() {
        let file = SourceFile::new("proj.toml", "a = 1\nb = 2\n");
        let error = ConfigError::Invalid(vec![
            Diagnostic::new(&file, 0..1, "first").label("here"),
            Diagnostic::new(&file, 6..7, "second").label("there"),
        ]);
        assert_eq!(error.to_string(), "proj.toml:1:1: first (and 1 more error)");
        let text = error.render(false);
        assert!(text.contains("error: first\n --> proj.toml:1:1"));
        assert!(text.contains("error: second\n --> proj.toml:2:1"));
        assert!(text.ends_with("error: could not load `proj.toml` due to 2 previous errors"));
    }
}
