//! Procfile → [`RawConfig`]: one `name: command` per line, every setting at its default.
//!
//! The format is Heroku's (`^[A-Za-z0-9_-]+:\s*.+$`), with `#` comments and blank lines
//! as foreman allows, and leading or trailing spaces tolerated. A `.env` beside the
//! Procfile is loaded, as foreman and honcho do.

use std::ops::Range;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::raw::{RawConfig, RawProcess, check_process_name};

/// Whether `path` names a Procfile (`Procfile`, `Procfile.dev`, …) rather than a proj.toml.
pub(crate) fn is_procfile(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    name.starts_with("Procfile") && !name.ends_with(".toml")
}

/// Reads a Procfile, reporting every malformed line and duplicate name.
pub(crate) fn read(file: &Arc<SourceFile>) -> (RawConfig, Vec<Diagnostic>) {
    let mut raw = RawConfig::new(Arc::clone(file));
    let mut diagnostics = Vec::new();
    read_segment(file, 0, &mut raw.processes, &mut diagnostics);
    (raw, diagnostics)
}

/// Reads the Procfile that is segment `index` of `file`, appending its processes (in
/// line order) to `processes`: alone, or the `[project] procfile` of a proj.toml.
pub(crate) fn read_segment(
    file: &Arc<SourceFile>,
    index: usize,
    processes: &mut Vec<RawProcess>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let range = file.segment_range(index);
    let mut offset = range.start;
    for line in file.text()[range].split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        match parse_line(content, start) {
            Line::Blank => {}
            Line::Malformed(span) => diagnostics.push(
                Diagnostic::new(file, span, "invalid Procfile line")
                    .label("expected `name: command`")
                    .help("each line is `name: command`, e.g. `web: python3 app.py`; comments start with `#`"),
            ),
            Line::Process { name, name_span, command, command_at } => {
                if let Err((message, help)) = check_process_name(name) {
                    diagnostics.push(
                        Diagnostic::new(file, name_span.clone(), message)
                            .label("process name")
                            .help(help),
                    );
                }
                if command.is_empty() {
                    diagnostics.push(
                        Diagnostic::new(file, command_at..command_at, format!("process `{name}` has no command"))
                            .label("command expected here")
                            .help(format!("write the command after the colon: `{name}: python3 app.py`")),
                    );
                }
                if let Some(first) = processes.iter().find(|p| p.spec.name == name) {
                    diagnostics.push(
                        Diagnostic::new(file, name_span, format!("duplicate process `{name}`"))
                            .label("defined again here")
                            .context(first.spans.name.clone(), "first defined here")
                            .help("each process name can appear once; rename one of them (e.g. `web2`)"),
                    );
                    continue;
                }
                processes.push(RawProcess::new(name.to_owned(), name_span, command.to_owned()));
            }
        }
    }
}

/// One Procfile line, with byte offsets into the whole file.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    /// No `name:` at all; the span covers the line's text.
    Malformed(Range<usize>),
    Process {
        name: &'a str,
        name_span: Range<usize>,
        command: &'a str,
        /// Where the command starts (or would start, when it is empty).
        command_at: usize,
    },
}

/// Splits `content` (a line without its newline, starting at byte `start` of the file).
fn parse_line(content: &str, start: usize) -> Line<'_> {
    let trimmed = content.trim_start();
    let indent = content.len() - trimmed.len();
    if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
        return Line::Blank;
    }
    let Some(colon) = trimmed.find(':') else {
        let end = start + indent + trimmed.trim_end().len();
        return Line::Malformed(start + indent..end);
    };
    let name = trimmed[..colon].trim_end();
    if name.is_empty() {
        // `: command`: point at the colon, where the name is missing.
        return Line::Malformed(start + indent..start + indent + 1);
    }
    let after = &trimmed[colon + 1..];
    let command = after.trim();
    let command_at = start + indent + colon + 1 + (after.len() - after.trim_start().len());
    Line::Process {
        name,
        name_span: start + indent..start + indent + name.len(),
        command,
        command_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn procfile_names() {
        assert!(is_procfile(Path::new("Procfile")));
        assert!(is_procfile(Path::new("/x/Procfile.dev")));
        assert!(!is_procfile(Path::new("proj.toml")));
        assert!(!is_procfile(Path::new("Procfile.toml")));
    }

    #[test]
    fn lines() {
        assert_eq!(parse_line("", 0), Line::Blank);
        assert_eq!(parse_line("   ", 0), Line::Blank);
        assert_eq!(parse_line("  # web: x", 0), Line::Blank);
        assert_eq!(
            parse_line("web: python3 -m http.server $PORT", 10),
            Line::Process {
                name: "web",
                name_span: 10..13,
                command: "python3 -m http.server $PORT",
                command_at: 15,
            }
        );
        assert_eq!(
            parse_line("worker:bundle exec sidekiq ", 0),
            Line::Process {
                name: "worker",
                name_span: 0..6,
                command: "bundle exec sidekiq",
                command_at: 7,
            }
        );
        assert_eq!(parse_line("  just a command", 5), Line::Malformed(7..21));
        assert_eq!(parse_line(": x", 0), Line::Malformed(0..1));
    }

    #[test]
    fn reads_processes_in_order() {
        let file = SourceFile::new(
            "Procfile",
            "# dev\nweb: python3 app.py\n\nworker: celery\r\n",
        );
        let (raw, diagnostics) = read(&file);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let names: Vec<_> = raw.processes.iter().map(|p| p.spec.name.as_str()).collect();
        assert_eq!(names, ["web", "worker"]);
        assert_eq!(raw.processes[1].spec.command, "celery");
        assert_eq!(raw.env_files, [(".env".to_owned(), None)]);
    }

    #[test]
    fn reports_every_bad_line() {
        let file = SourceFile::new("Procfile", "web: a\nnonsense\nweb: b\nweb.1: c\nempty:\n");
        let (raw, diagnostics) = read(&file);
        assert_eq!(raw.processes.len(), 3, "the duplicate is dropped");
        let found: Vec<(usize, usize, &str)> = diagnostics
            .iter()
            .map(|d| (d.line(), d.column(), d.message()))
            .collect();
        assert_eq!(
            found,
            [
                (2, 1, "invalid Procfile line"),
                (3, 1, "duplicate process `web`"),
                (4, 1, "invalid process name `web.1`"),
                (5, 7, "process `empty` has no command"),
            ]
        );
    }
}
