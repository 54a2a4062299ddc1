//! `proj init`: another tool's config → a proj.toml (SPEC §9.4).
//!
//! Theory of operation. Each format has a converter (one file each) that reads the
//! source with a real parser ([`ini`] for supervisord's dialect, serde-saphyr through
//! [`yaml`] for process-compose and pm2, which also reads pm2's JSON with lines), and
//! fills a [`model::Project`] — the proj.toml to write, with a comment on every key
//! where a decision was taken — and [`Note`]s: each decision and each key that could not
//! be carried over, with its `file:line`. [`writer`] lays the project out as text.
//! The command (`commands::init`) checks the text with proj's own loader before writing
//! it, so a converter bug cannot leave a proj.toml that `proj check` refuses.

mod cwd;
mod ini;
mod model;
mod pm2;
mod process_compose;
mod procfile;
mod supervisord;
mod writer;
mod yaml;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use self::model::{Note, NoteKind, Place};

/// The formats `proj init` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Procfile,
    Supervisord,
    ProcessCompose,
    Pm2,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Procfile => "Procfile",
            Format::Supervisord => "supervisord",
            Format::ProcessCompose => "process-compose",
            Format::Pm2 => "pm2",
        }
    }
}

/// The files looked for without `--from`, in order (SPEC §9.4: a Procfile, a supervisord
/// config, a process-compose file, a pm2 ecosystem file).
const CANDIDATES: [&str; 14] = [
    "Procfile.dev",
    "Procfile",
    "supervisord.conf",
    "supervisor.conf",
    "etc/supervisord.conf",
    "process-compose.yaml",
    "process-compose.yml",
    "ecosystem.config.json",
    "ecosystem.json",
    "ecosystem.config.yaml",
    "ecosystem.config.yml",
    "ecosystem.yaml",
    "ecosystem.yml",
    "ecosystem.config.js",
];

/// Why no proj.toml could be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImportError {
    #[error("no Procfile, supervisord.conf, process-compose.yaml or pm2 ecosystem file in `{}`", dir.display())]
    NothingFound { dir: PathBuf },

    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot tell which tool `{}` is for", path.display())]
    UnknownFormat { path: PathBuf },

    /// The file is not valid for its format: where, and what.
    #[error("{place}: {message}")]
    Syntax { place: Place, message: String },

    /// A file proj can name but not read (pm2's JavaScript), with the way out.
    #[error("{message}")]
    Unsupported { message: String, help: String },

    /// The file was read but defines no process.
    #[error("`{}` defines no process", path.display())]
    Empty { path: PathBuf },
}

impl ImportError {
    /// How to fix it, for the `help:` line.
    pub(crate) fn help(&self) -> String {
        match self {
            ImportError::NothingFound { .. } => {
                "name the file to convert: `proj init --from supervisord.conf`".to_owned()
            }
            ImportError::Read { .. } => "check the path and that the file is readable".to_owned(),
            ImportError::UnknownFormat { .. } => "proj init reads a Procfile, a supervisord config (`[program:x]` sections), a process-compose file (`processes:`) and a pm2 ecosystem file (`apps:`) in JSON or YAML".to_owned(),
            ImportError::Syntax { .. } => "fix the file (the tool it is for would refuse it too), then run `proj init` again".to_owned(),
            ImportError::Unsupported { help, .. } => help.clone(),
            ImportError::Empty { .. } => "add a process to it, or write proj.toml by hand (see the README)".to_owned(),
        }
    }
}

/// A converted config.
#[derive(Debug)]
pub(crate) struct Conversion {
    pub format: Format,
    /// The proj.toml text.
    pub text: String,
    /// Decisions and what was not carried over, in source order.
    pub notes: Vec<Note>,
    /// How many processes the file has.
    pub processes: usize,
}

/// The first file `proj init` would convert in `dir`.
pub(crate) fn find(dir: &Path) -> Result<PathBuf, ImportError> {
    CANDIDATES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| ImportError::NothingFound {
            dir: dir.to_path_buf(),
        })
}

/// Converts the file at `path` (named as the user named it) into a proj.toml to be
/// written in `root`, which relative paths are made relative to.
pub(crate) fn convert(path: &Path, root: &Path) -> Result<Conversion, ImportError> {
    let text = read(path)?;
    let format = detect(path, &text)?;
    let (project, notes) = match format {
        Format::Procfile => procfile::convert(path, &text, root)?,
        Format::Supervisord => supervisord::convert(path, &text, root)?,
        Format::ProcessCompose => process_compose::convert(path, &text, root)?,
        Format::Pm2 => pm2::convert(path, &text, root)?,
    };
    let processes = if project.procfile.is_some() {
        procfile::count(&text)
    } else {
        project.processes.len()
    };
    if processes == 0 {
        return Err(ImportError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Source order, file by file (the main file first), whatever order they were found in.
    let mut notes = notes.notes;
    let mut files: Vec<PathBuf> = Vec::new();
    for note in &notes {
        if !files.contains(&note.place.file) {
            files.push(note.place.file.clone());
        }
    }
    if let Some(main) = files.iter().position(|file| file == path) {
        let main = files.remove(main);
        files.insert(0, main);
    }
    notes.sort_by_key(|note| {
        let file = files.iter().position(|file| *file == note.place.file);
        (file, note.place.line)
    });
    let header = vec![
        format!(
            "Converted from {} ({}) by `proj init`.",
            path.display(),
            format.name()
        ),
        "Comments mark the decisions it took; `proj init` listed them and what it could not"
            .to_owned(),
        "carry over. Personal settings go in proj.local.toml (not committed).".to_owned(),
    ];
    Ok(Conversion {
        format,
        text: writer::write(&project, &header),
        notes,
        processes,
    })
}

pub(crate) fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The format, from the file's name and, when that does not say, its content.
fn detect(path: &Path, text: &str) -> Result<Format, ImportError> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".js") || name.ends_with(".cjs") || name.ends_with(".mjs") {
        return Err(pm2::javascript(path));
    }
    if name.starts_with("procfile") {
        return Ok(Format::Procfile);
    }
    if name.contains("supervisor") || name.ends_with(".conf") || name.ends_with(".ini") {
        return Ok(Format::Supervisord);
    }
    if name.contains("process-compose") {
        return Ok(Format::ProcessCompose);
    }
    if name.contains("ecosystem") || name.contains("pm2") {
        return Ok(Format::Pm2);
    }
    // Otherwise by what it holds.
    if text
        .lines()
        .any(|line| line.trim_start().starts_with("[program:"))
    {
        return Ok(Format::Supervisord);
    }
    if let Ok(root) = yaml::parse(text) {
        if root.value.get("processes").is_some() {
            return Ok(Format::ProcessCompose);
        }
        if root.value.get("apps").is_some() || matches!(root.value, yaml::Node::List(_)) {
            return Ok(Format::Pm2);
        }
    }
    Err(ImportError::UnknownFormat {
        path: path.to_path_buf(),
    })
}

/// `path` for proj.toml in `root`: relative to it when inside it (`.` for `root`).
pub(crate) fn relative_to(path: &Path, root: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    match absolute.strip_prefix(&root) {
        Ok(inside) if inside.as_os_str().is_empty() => ".".to_owned(),
        Ok(inside) => inside.display().to_string(),
        Err(_) => absolute.display().to_string(),
    }
}

/// The directory of `path` (`.` for a bare file name).
pub(crate) fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_then_content() {
        let detect_named = |name: &str, text: &str| detect(Path::new(name), text).ok();
        assert_eq!(detect_named("Procfile.dev", ""), Some(Format::Procfile));
        assert_eq!(
            detect_named("supervisord.conf", ""),
            Some(Format::Supervisord)
        );
        assert_eq!(
            detect_named("pc.yml", "processes:\n  a:\n    command: x\n"),
            Some(Format::ProcessCompose)
        );
        assert_eq!(
            detect_named("apps.json", "{\"apps\": []}"),
            Some(Format::Pm2)
        );
        assert_eq!(
            detect_named("x.cfg", "[program:a]\ncommand=x\n"),
            Some(Format::Supervisord)
        );
        assert!(matches!(
            detect(Path::new("ecosystem.config.js"), ""),
            Err(ImportError::Unsupported { .. })
        ));
        assert!(matches!(
            detect(Path::new("notes.txt"), "hello"),
            Err(ImportError::UnknownFormat { .. })
        ));
    }

    #[test]
    fn paths_inside_the_root_become_relative() {
        assert_eq!(relative_to(Path::new("/a/b/c"), Path::new("/a")), "b/c");
        assert_eq!(relative_to(Path::new("/a"), Path::new("/a")), ".");
        assert_eq!(relative_to(Path::new("/x/y"), Path::new("/a")), "/x/y");
    }
}
