//! Procfile (foreman, honcho, overmind, hivemind) → a proj.toml that keeps the Procfile.
//!
//! The Procfile stays the list of processes (`[project] procfile`), so `bin/dev`,
//! foreman and Heroku go on reading the same file and its processes keep foreman's
//! `PORT` rule. What a Procfile cannot say goes in the tables: overmind's
//! `.overmind.env` says it ran every process in a terminal (tmux) and may name more env
//! files (`OVERMIND_ENV`) or turn `PORT` off (`OVERMIND_NO_PORT`).

use std::path::Path;

use super::model::{Notes, Place, Process, Project};
use super::{ImportError, directory_of, relative_to};

pub(super) fn convert(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<(Project, Notes), ImportError> {
    let mut notes = Notes::default();
    let names = process_names(path, text)?;
    let mut project = Project {
        procfile: Some(relative_to(path, root)),
        ..Project::default()
    };
    notes.decision(
        Place {
            file: path.to_path_buf(),
            line: None,
        },
        "Procfile",
        "kept as the list of processes (`[project] procfile`): they keep foreman's PORT rule (5000, 5100, …, `-p` sets the base) unless a table sets `port`",
    );
    let dotenv = path.with_file_name(".env");
    if dotenv.is_file() {
        notes.decision(
            Place {
                file: dotenv,
                line: None,
            },
            ".env",
            "loaded for every process, as foreman does (proj's default `env_file`)",
        );
    }
    let overmind = directory_of(path).join(".overmind.env");
    if overmind.is_file() {
        read_overmind_env(&overmind, root, &names, &mut project, &mut notes)?;
    }
    Ok((project, notes))
}

/// How many processes the Procfile defines.
pub(super) fn count(text: &str) -> usize {
    text.lines().filter_map(process_line).count()
}

/// `name: command` (foreman's rule); comments and blank lines are not processes.
fn process_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, command) = line.split_once(':')?;
    Some((name.trim(), command.trim()))
}

fn process_names(path: &Path, text: &str) -> Result<Vec<(String, usize)>, ImportError> {
    let mut names = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match process_line(line) {
            Some((name, command)) if !name.is_empty() && !command.is_empty() => {
                names.push((name.to_owned(), index + 1));
            }
            _ => {
                return Err(ImportError::Syntax {
                    place: Place {
                        file: path.to_path_buf(),
                        line: Some(index + 1),
                    },
                    message: "expected `name: command`".to_owned(),
                });
            }
        }
    }
    Ok(names)
}

/// overmind's settings file: `OVERMIND_*` variables are overmind's options, the rest
/// reached every process as part of overmind's environment.
fn read_overmind_env(
    file: &Path,
    root: &Path,
    names: &[(String, usize)],
    project: &mut Project,
    notes: &mut Notes,
) -> Result<(), ImportError> {
    let text = super::read(file)?;
    let variables = crate::config::parse_env_text(&text).map_err(|span| ImportError::Syntax {
        place: Place {
            file: file.to_path_buf(),
            line: Some(text[..span.start.min(text.len())].matches('\n').count() + 1),
        },
        message: "not a `NAME=value` line".to_owned(),
    })?;
    let line_of = |name: &str| {
        text.lines()
            .position(|line| {
                line.trim_start()
                    .trim_start_matches("export ")
                    .starts_with(name)
            })
            .map(|index| index + 1)
    };
    let place = |name: &str| Place {
        file: file.to_path_buf(),
        line: if name.is_empty() { None } else { line_of(name) },
    };
    for (name, _) in names {
        let mut process = Process::new(name.clone());
        process.set_because(
            "tty",
            true,
            "overmind ran it in a terminal (tmux): `proj connect NAME` types into it",
        );
        project.processes.push(process);
    }
    notes.decision(
        place(""),
        ".overmind.env",
        "overmind ran every process in a terminal: each gets `tty = true`",
    );
    for (name, value) in variables {
        match name.as_str() {
            "OVERMIND_ENV" => {
                let mut files = vec![".env".to_owned()];
                for extra in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    files.push(relative_to(&directory_of(file).join(extra), root));
                }
                notes.decision(place(&name), &name, format!("env files: `[project] env_file = {files:?}`"));
                project.env_files = Some(files);
            }
            "OVERMIND_NO_PORT" => notes.dropped(
                place(&name),
                &name,
                "proj sets PORT for the Procfile's processes; a program that must not see it can `unset PORT` first in its command",
            ),
            "OVERMIND_PORT" => notes.dropped(
                place(&name),
                &name,
                format!("the base port is `proj up -p {value}` (or `PORT={value}` in .env)"),
            ),
            "OVERMIND_PROCFILE" => notes.dropped(
                place(&name),
                &name,
                "`[project] procfile` names the Procfile; check it is the one you use",
            ),
            overmind if overmind.starts_with("OVERMIND_") => notes.dropped(
                place(&name),
                &name,
                "an overmind option with no proj equivalent",
            ),
            _ => project.env.push((name, value)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_procfile_and_reads_overmind_s_settings() {
        let dir = tempfile::tempdir().unwrap();
        let procfile = dir.path().join("Procfile.dev");
        std::fs::write(
            &procfile,
            "web: bin/rails server -p $PORT\n# css\ncss: bin/rails tailwindcss:watch\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".overmind.env"),
            "OVERMIND_ENV=.env.development\nOVERMIND_NO_PORT=1\nRAILS_LOG_LEVEL=debug\n",
        )
        .unwrap();
        let text = std::fs::read_to_string(&procfile).unwrap();
        let (project, notes) = convert(&procfile, &text, dir.path()).unwrap();
        assert_eq!(project.procfile.as_deref(), Some("Procfile.dev"));
        assert_eq!(
            project.env_files,
            Some(vec![".env".to_owned(), ".env.development".to_owned()])
        );
        assert_eq!(
            project.env,
            [("RAILS_LOG_LEVEL".to_owned(), "debug".to_owned())]
        );
        let names: Vec<_> = project.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web", "css"]);
        assert!(project.processes.iter().all(|p| p.has("tty")));
        assert!(
            notes
                .notes
                .iter()
                .any(|n| n.key == "OVERMIND_NO_PORT" && n.place.line == Some(2))
        );
        assert_eq!(count(&text), 2);
    }

    #[test]
    fn a_bad_line_is_refused_with_its_line() {
        let error = process_names(Path::new("Procfile"), "web: a\nnonsense\n").unwrap_err();
        assert!(matches!(error, ImportError::Syntax { place, .. } if place.line == Some(2)));
    }
}
