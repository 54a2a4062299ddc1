//! One problem in one file, pinned to the exact bytes that cause it, rendered rustc-style.
//!
//! Every check in the config module reports a [`Diagnostic`] built from a byte span of
//! the file the user wrote (proj.toml, a Procfile, a .env file). Keeping the span, not a
//! line number, lets the renderer put the caret under the offending token and lets tests
//! assert the exact `line:column`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A file as the user knows it: the path they gave (or proj found) and its text.
///
/// One config can be read from several files stacked on each other (proj.toml, the
/// Procfile it names, proj.local.toml: see `layers`). They share one `SourceFile`, as
/// rustc's source map does: the texts one after the other, each a *segment* with its own
/// path, so a byte offset alone says which file and line it is in, and every span kept
/// while reading (in `raw`, in diagnostics) stays a plain `Range<usize>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SourceFile {
    text: String,
    /// The byte offset where each line starts: line and excerpt lookups are a binary
    /// search, so a file with thousands of errors renders in linear time.
    line_starts: Vec<usize>,
    /// In text order; the first starts at 0.
    segments: Vec<Segment>,
}

/// One file of a [`SourceFile`].
#[derive(Debug, PartialEq, Eq)]
struct Segment {
    path: PathBuf,
    /// Where its text starts in the whole text.
    start: usize,
    /// The 0-based index of its first line in the whole text.
    first_line: usize,
}

impl SourceFile {
    pub(crate) fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Self::stacked(vec![(path.into(), text.into())])
    }

    /// Several files, one segment each, in the order given. A text without a final
    /// newline gets one, so that the next file starts on a line of its own.
    pub(crate) fn stacked(files: Vec<(PathBuf, String)>) -> Arc<Self> {
        let mut text = String::new();
        let mut segments = Vec::with_capacity(files.len());
        for (path, part) in files {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let first_line = text.matches('\n').count();
            segments.push(Segment {
                path,
                start: text.len(),
                first_line,
            });
            text.push_str(&part);
        }
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(newline, _)| newline + 1))
            .collect();
        Arc::new(SourceFile {
            text,
            line_starts,
            segments,
        })
    }

    /// The path of the first (main) file.
    pub(crate) fn path(&self) -> &Path {
        &self.segments[0].path
    }

    /// The path of the file holding byte `offset`.
    pub(crate) fn path_at(&self, offset: usize) -> &Path {
        &self.segments[self.segment_index(offset)].path
    }

    /// The whole text (every segment).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The byte range of segment `index` in the whole text.
    pub(crate) fn segment_range(&self, index: usize) -> Range<usize> {
        let start = self.segments[index].start;
        let end = self
            .segments
            .get(index + 1)
            .map_or(self.text.len(), |next| next.start);
        start..end
    }

    /// Segment `index`'s text with everything before it blanked (each byte a space,
    /// newlines kept): a parser that reports offsets into the text it was given (toml)
    /// then reports offsets into the whole text, and lines stay where they are.
    pub(crate) fn text_in_place(&self, index: usize) -> String {
        let range = self.segment_range(index);
        let mut text: String = self.text.as_bytes()[..range.start]
            .iter()
            .map(|&byte| if byte == b'\n' { '\n' } else { ' ' })
            .collect();
        text.push_str(&self.text[range]);
        text
    }

    fn segment_index(&self, offset: usize) -> usize {
        // segments[0].start == 0, so the partition point is at least 1.
        self.segments
            .partition_point(|segment| segment.start <= offset)
            .saturating_sub(1)
    }

    /// 1-based line (within its own file) and column (in chars) of a byte offset.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let line = self.line_index(offset);
        let line_start = self.line_starts[line];
        let first_line = self.segments[self.segment_index(offset)].first_line;
        (
            line + 1 - first_line,
            self.text[line_start..offset].chars().count() + 1,
        )
    }

    /// 0-based index of the line holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        // line_starts[0] == 0, so the partition point is at least 1.
        self.line_starts.partition_point(|&start| start <= offset) - 1
    }

    /// The whole lines covering `spans`: their byte range and the 0-based index of the
    /// first, so the renderer is handed those lines only, not the whole file.
    fn excerpt<'a>(&self, spans: impl Iterator<Item = &'a Range<usize>>) -> (Range<usize>, usize) {
        let (mut first, mut last) = (usize::MAX, 0);
        for span in spans {
            first = first.min(self.line_index(span.start.min(self.text.len())));
            last = last.max(self.line_index(span.end.min(self.text.len())));
        }
        let first = first.min(last);
        let end = self
            .line_starts
            .get(last + 1)
            .copied()
            .unwrap_or(self.text.len());
        (self.line_starts[first]..end, first)
    }
}

/// What is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    file: Arc<SourceFile>,
    span: Range<usize>,
    message: String,
    // Boxed: keeps a `Result<_, Diagnostic>` small.
    label: Box<str>,
    context: Vec<(Range<usize>, String)>,
    help: Option<String>,
    severity: Severity,
}

/// Whether a diagnostic refuses the file or only points something out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    /// The file is used as it is; `proj check` (and `proj up`) show the warning.
    Warning,
}

impl Diagnostic {
    /// An error about `span` of `file`; add a label and a help with the builder methods.
    pub(crate) fn new(
        file: &Arc<SourceFile>,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: Arc::clone(file),
            span,
            message: message.into(),
            label: Box::default(),
            context: Vec::new(),
            help: None,
            severity: Severity::Error,
        }
    }

    /// A warning rather than an error: the file is still used.
    pub(crate) fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The short text under the caret.
    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into().into_boxed_str();
        self
    }

    /// How to fix it: rendered as `= help: …`.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Another place in the same file that explains the error (`first defined here`).
    pub(crate) fn context(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.context.push((span, label.into()));
        self
    }

    /// The headline, e.g. "unknown key `comand` in process `web`".
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The text under the caret.
    pub fn label_text(&self) -> &str {
        &self.label
    }

    /// The fix, without the `help: ` prefix.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The file, as the user named it.
    pub fn path(&self) -> &Path {
        self.file.path_at(self.span.start)
    }

    /// The byte range of the offending token.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// 1-based line of the offending token.
    pub fn line(&self) -> usize {
        self.file.line_column(self.span.start).0
    }

    /// 1-based column (in chars) of the offending token.
    pub fn column(&self) -> usize {
        self.file.line_column(self.span.start).1
    }

    /// The file this diagnostic points into.
    pub(crate) fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    /// The rustc-style report: headline, `--> path:line:col`, the source line with a
    /// caret under the span, and the help.
    pub fn render(&self, color: bool) -> String {
        let whole = self.file.text.as_str();
        // One snippet per file the spans are in (a context can point into another layer
        // of a stacked config), the primary span's file first.
        let primary_segment = self.file.segment_index(self.span.start);
        let mut segments = vec![primary_segment];
        for (span, _) in &self.context {
            let segment = self.file.segment_index(span.start);
            if !segments.contains(&segment) {
                segments.push(segment);
            }
        }
        let mut snippets = Vec::with_capacity(segments.len());
        for segment in segments {
            let in_segment = |span: &&Range<usize>| self.file.segment_index(span.start) == segment;
            let primary = (segment == primary_segment).then_some(&self.span);
            let spans = primary
                .into_iter()
                .chain(self.context.iter().map(|(span, _)| span))
                .filter(in_segment);
            let (lines, first_line) = self.file.excerpt(spans);
            let text = &whole[lines.clone()];
            // Spans are offsets into the whole text; the renderer counts from the excerpt.
            let local = |span: &Range<usize>| {
                let span = clamp(whole, span);
                span.start.saturating_sub(lines.start).min(text.len())
                    ..span.end.saturating_sub(lines.start).min(text.len())
            };
            let info = &self.file.segments[segment];
            let mut snippet = Snippet::source(text)
                .line_start(first_line + 1 - info.first_line)
                .path(info.path.to_string_lossy());
            if let Some(span) = primary {
                snippet = snippet.annotation(
                    AnnotationKind::Primary
                        .span(local(span))
                        .label(&*self.label),
                );
            }
            snippet = snippet.annotations(
                self.context
                    .iter()
                    .filter(|(span, _)| in_segment(&span))
                    .map(|(span, label)| {
                        AnnotationKind::Context
                            .span(local(span))
                            .label(label.as_str())
                    }),
            );
            snippets.push(snippet);
        }
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut group = level
            .primary_title(self.message.as_str())
            .elements(snippets);
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        renderer(color).render(&[group])
    }
}

impl fmt::Display for Diagnostic {
    /// One line, for logs: `proj.toml:4:1: unknown key `comand` in process `web``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path().display(),
            self.line(),
            self.column(),
            self.message
        )
    }
}

/// A report without a source snippet: the headline and a help line.
pub(crate) fn render_plain(message: &str, help: &str, color: bool) -> String {
    let group =
        Group::with_title(Level::ERROR.primary_title(message)).element(Level::HELP.message(help));
    renderer(color).render(&[group])
}

/// A warning without a source snippet: the headline and a help line.
pub(crate) fn render_plain_warning(message: &str, help: &str, color: bool) -> String {
    let group =
        Group::with_title(Level::WARNING.primary_title(message)).element(Level::HELP.message(help));
    renderer(color).render(&[group])
}

/// The closing summary after several reports, like rustc's "aborting due to 3 previous errors".
pub(crate) fn render_summary(message: &str, color: bool) -> String {
    renderer(color).render(&[Group::with_title(Level::ERROR.primary_title(message))])
}

fn renderer(color: bool) -> Renderer {
    if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

/// Keeps a span inside the text and on char boundaries, so a bad span can never make
/// the renderer panic; an empty span is widened to one char so the caret shows.
fn clamp(text: &str, span: &Range<usize>) -> Range<usize> {
    let start = floor_char_boundary(text, span.start);
    let end = floor_char_boundary(text, span.end.max(start));
    if start < end {
        return start..end;
    }
    match text[start..].chars().next() {
        Some(c) if c != '\n' => start..start + c.len_utf8(),
        _ => start..start,
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<SourceFile> {
        SourceFile::new(
            "proj.toml",
            "[processes.web]\ncomand = \"x\"\n# é\nport = 1\n",
        )
    }

    #[test]
    fn line_and_column_are_one_based() {
        let file = file();
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(16), (2, 1));
        assert_eq!(file.line_column(25), (2, 10));
        // Columns count chars, not bytes: `é` is two bytes.
        let port = file.text().find("port").unwrap();
        assert_eq!(file.line_column(port), (4, 1));
        let after_e = file.text().find('é').unwrap() + 'é'.len_utf8();
        assert_eq!(file.line_column(after_e), (3, 4));
    }

    #[test]
    fn renders_rustc_style() {
        let diagnostic = Diagnostic::new(&file(), 16..22, "unknown key `comand` in process `web`")
            .label("unknown key")
            .help("did you mean `command`?");
        assert_eq!(
            diagnostic.render(false),
            "error: unknown key `comand` in process `web`\n \
             --> proj.toml:2:1\n  \
             |\n\
             2 | comand = \"x\"\n  \
             | ^^^^^^ unknown key\n  \
             |\n  \
             = help: did you mean `command`?"
        );
        assert_eq!(
            diagnostic.to_string(),
            "proj.toml:2:1: unknown key `comand` in process `web`"
        );
    }

    #[test]
    fn only_the_lines_of_the_spans_are_rendered_numbered_as_in_the_file() {
        // No trailing newline, a context line far above the primary one.
        let file = SourceFile::new("Procfile", "web: a\nx\ny\nz\nweb: b");
        let diagnostic = Diagnostic::new(&file, 13..16, "process `web` is defined twice")
            .label("second definition")
            .context(0..3, "first defined here");
        let rendered = diagnostic.render(false);
        assert!(rendered.contains("--> Procfile:5:1"), "{rendered}");
        assert!(rendered.contains("1 | web: a"), "{rendered}");
        assert!(rendered.contains("5 | web: b"), "{rendered}");
        assert!(rendered.contains("^^^ second definition"), "{rendered}");
        assert!(rendered.contains("--- first defined here"), "{rendered}");
        // A span past the end (a truncated file) still renders, on the last line.
        let past = Diagnostic::new(&file, 100..200, "cut short").label("here");
        assert!(
            past.render(false).contains("5 | web: b"),
            "{}",
            past.render(false)
        );
        assert_eq!(past.line(), 5);
    }

    #[test]
    fn stacked_files_name_their_own_file_and_line() {
        let file = SourceFile::stacked(vec![
            ("proj.toml".into(), "[env]\nA = \"1\"".into()),
            ("proj.local.toml".into(), "[env]\nB = 2\n".into()),
        ]);
        let b = file.text().find('B').unwrap();
        let diagnostic = Diagnostic::new(&file, b..b + 1, "bad").label("here");
        assert_eq!(diagnostic.to_string(), "proj.local.toml:2:1: bad");
        let rendered = diagnostic.render(false);
        assert!(rendered.contains("--> proj.local.toml:2:1"), "{rendered}");
        assert!(rendered.contains("2 | B = 2"), "{rendered}");
        // A context in the other file gets a snippet of its own, under that file's name.
        let a = file.text().find('A').unwrap();
        let rendered = diagnostic.context(a..a + 1, "first here").render(false);
        assert!(rendered.contains("proj.toml:2:1"), "{rendered}");
        assert!(rendered.contains("2 | A = \"1\""), "{rendered}");
        // Parsing a segment in place keeps offsets global.
        let in_place = file.text_in_place(1);
        assert_eq!(in_place.find('B'), Some(b));
        assert!(in_place.starts_with("     \n"));
    }

    #[test]
    fn color_adds_escapes_only_when_asked() {
        let diagnostic = Diagnostic::new(&file(), 16..22, "x").label("y");
        assert!(!diagnostic.render(false).contains('\u{1b}'));
        assert!(diagnostic.render(true).contains('\u{1b}'));
    }

    #[test]
    fn spans_are_clamped() {
        let text = "a = é\n";
        assert_eq!(clamp(text, &(4..4)), 4..6, "empty span widened to one char");
        assert_eq!(
            clamp(text, &(5..5)),
            4..6,
            "inside a char: moved to its start"
        );
        assert_eq!(clamp(text, &(6..6)), 6..6, "a newline is not widened");
        assert_eq!(clamp(text, &(3..100)), 3..7);
    }
}
