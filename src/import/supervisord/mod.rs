//! supervisord's config → proj.toml.
//!
//! supervisord reads `[program:x]` sections (an INI dialect, see `ini`), follows
//! `[include] files` (globs relative to the main file, one level: included files'
//! own `[include]` are not read), and expands `%(name)s` in values itself. proj's
//! equivalents, and the decisions where there is none:
//!
//! - `%(here)s` is the config file's directory: in a command or env value, the way
//!   there from the process's `cwd`; in `directory`, relative to proj.toml.
//! - `%(program_name)s`, `%(group_name)s`, `%(numprocs)d`, `%(host_node_name)s` are
//!   expanded now; `%(ENV_X)s` becomes `${X}`, read when the process starts.
//! - `numprocs = N` is `scale = N`. supervisord numbers from `numprocs_start` (0),
//!   proj's `PROJ_INSTANCE` from 1, so `%(process_num)d` in a command becomes
//!   `$((PROJ_INSTANCE - 1))` (plus the start).
//! - `stopasgroup = false`, supervisord's default, is `stop_target = "main"`: proj's
//!   default signals the whole group.
//! - `priority` orders the processes in the file (proj starts independent ones in file
//!   order) but cannot wait for anything: each gets a comment pointing at `depends_on`.

mod expand;
mod program;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use self::expand::Expansions;
use self::program::{Program, parse_environment};
use super::ini::{self, Entry, Section};
use super::model::{Notes, Place, Project, process_name};
use super::{ImportError, directory_of};

/// Sections that configure supervisord itself and its control server: proj is both.
const SERVER_SECTIONS: [&str; 5] = [
    "supervisord",
    "supervisorctl",
    "unix_http_server",
    "inet_http_server",
    "include",
];

pub(super) fn convert(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<(Project, Notes), ImportError> {
    let mut notes = Notes::default();
    let mut sections = Vec::new();
    read_file(path, text, &mut sections)?;
    let here = directory_of(path);
    let main_include = sections
        .iter()
        .find(|section| section.name == "include")
        .cloned();
    if let Some(include) = main_include {
        read_includes(&include, &here, root, &mut sections, &mut notes)?;
    }
    let mut project = Project::default();
    let groups = read_groups(&sections, &mut notes);
    let mut programs: Vec<&Section> = Vec::new();
    for section in &sections {
        let (kind, _) = section.name.split_once(':').unwrap_or((&section.name, ""));
        match kind {
            "program" => programs.push(section),
            "group" => {}
            "supervisord" => read_server_environment(section, root, &mut project, &mut notes),
            kind if SERVER_SECTIONS.contains(&kind) || kind.starts_with("rpcinterface") => {}
            "eventlistener" | "fcgi-program" => notes.dropped(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                "proj has no event listeners or FastCGI sockets: run it as a process (or use `socket`) by hand",
            ),
            _ => notes.dropped(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                "not a section proj knows",
            ),
        }
    }
    let server_sections: Vec<&str> = sections
        .iter()
        .map(|section| section.name.as_str())
        .filter(|name| {
            let kind = name.split(':').next().unwrap_or_default();
            (SERVER_SECTIONS.contains(&kind) && *name != "include") || kind == "rpcinterface"
        })
        .collect();
    if let Some(first) = sections
        .iter()
        .find(|s| server_sections.contains(&s.name.as_str()))
    {
        notes.dropped(
            place(&first.file, first.line),
            server_sections
                .iter()
                .map(|name| format!("[{name}]"))
                .collect::<Vec<_>>()
                .join(", "),
            "not needed: proj is its own supervisor and control server (`proj ps`, `proj restart`, `proj logs`)",
        );
    }
    // supervisord starts lower priorities first; proj starts independent processes in
    // file order, so writing them by priority keeps the start order.
    programs.sort_by_key(|section| priority(section).map_or(999, |(value, _)| value));
    let mut used = Vec::new();
    for section in programs {
        let program = &section.name["program:".len()..];
        let mut name = process_name(program);
        while used.contains(&name) {
            name.push('2');
        }
        if name != program {
            notes.decision(
                place(&section.file, section.line),
                format!("[{}]", section.name),
                format!("named `{name}` (process names are letters, digits, `_` and `-`)"),
            );
        }
        used.push(name.clone());
        let context = Program {
            section,
            program,
            group: groups.get(program).map(String::as_str),
            here: &here,
            root,
        };
        project.processes.push(context.convert(name, &mut notes));
    }
    Ok((project, notes))
}

fn read_file(path: &Path, text: &str, sections: &mut Vec<Section>) -> Result<(), ImportError> {
    ini::read_into(path, text, sections).map_err(|error| ImportError::Syntax {
        place: place(path, error.line),
        message: error.message,
    })
}

pub(super) fn place(file: &Path, line: usize) -> Place {
    Place {
        file: file.to_path_buf(),
        line: Some(line),
    }
}

pub(super) fn entry_place(entry: &Entry) -> Place {
    place(&entry.file, entry.line)
}

/// `[include] files = a.conf conf.d/*.conf`: globs relative to the main file.
fn read_includes(
    include: &Section,
    here: &Path,
    root: &Path,
    sections: &mut Vec<Section>,
    notes: &mut Notes,
) -> Result<(), ImportError> {
    let Some(files) = include.get("files") else {
        return Ok(());
    };
    let vars = Expansions::fixed(here, root, "", None);
    for pattern in files.value.split_whitespace() {
        let pattern = vars.expand_static(pattern);
        let pattern = here.join(pattern);
        let found = glob(&pattern);
        if found.is_empty() {
            notes.dropped(
                entry_place(files),
                "[include] files",
                format!("`{}` matches no file here", pattern.display()),
            );
        }
        for path in found {
            let text = super::read(&path)?;
            let before = sections.len();
            read_file(&path, &text, sections)?;
            notes.decision(
                entry_place(files),
                "[include] files",
                format!(
                    "read `{}` ({} section{})",
                    path.display(),
                    sections.len() - before,
                    if sections.len() - before == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
            );
        }
    }
    Ok(())
}

/// The files matching `pattern`, sorted: wildcards in its last component only, as in
/// every supervisord config seen (`conf.d/*.conf`).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Some(name) = pattern
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return Vec::new();
    };
    if !name.contains(['*', '?', '[']) {
        return if pattern.is_file() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let Ok(matcher) = globset::Glob::new(&name).map(|glob| glob.compile_matcher()) else {
        return Vec::new();
    };
    let dir = directory_of(pattern);
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .filter(|entry| matcher.is_match(entry.file_name()))
        .map(|entry| dir.join(entry.file_name()))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
}

/// Each program's heterogeneous group (`[group:x] programs = a,b`).
fn read_groups(sections: &[Section], notes: &mut Notes) -> BTreeMap<String, String> {
    let mut groups = BTreeMap::new();
    for section in sections {
        let Some(group) = section.name.strip_prefix("group:") else {
            continue;
        };
        let members: Vec<&str> = section
            .get("programs")
            .map(|entry| {
                entry
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for member in &members {
            groups.insert((*member).to_owned(), group.to_owned());
        }
        notes.decision(
            place(&section.file, section.line),
            format!("[{}]", section.name),
            format!(
                "proj has no groups: {} are processes of their own (`proj restart {}` names several)",
                members.join(", "),
                members.join(" ")
            ),
        );
        if let Some(entry) = section.get("priority") {
            notes.dropped(
                entry_place(entry),
                format!("[{}] priority", section.name),
                "proj has no priorities: `depends_on` orders processes and waits for them",
            );
        }
    }
    groups
}

/// `[supervisord] environment` reached every program: it becomes `[env]`.
fn read_server_environment(
    section: &Section,
    root: &Path,
    project: &mut Project,
    notes: &mut Notes,
) {
    let Some(entry) = section.get("environment") else {
        return;
    };
    let vars = Expansions::fixed(&directory_of(&entry.file), root, "", None);
    match parse_environment(&entry.value) {
        Ok(pairs) => {
            for (key, value) in pairs {
                project.env.push((key, vars.expand_env_value(&value)));
            }
            notes.decision(
                entry_place(entry),
                "[supervisord] environment",
                "became `[env]`, for every process",
            );
        }
        Err(why) => notes.dropped(entry_place(entry), "[supervisord] environment", why),
    }
}

pub(super) fn priority(section: &Section) -> Option<(i64, &Entry)> {
    let entry = section.get("priority")?;
    entry.value.trim().parse().ok().map(|value| (value, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_programs_with_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("supervisord.conf");
        let text = "[supervisord]\nnodaemon=true\nenvironment=LANG=\"C.UTF-8\"\n\n\
            [program:web]\ncommand=gunicorn app:app -b 127.0.0.1:8000\npriority=20\n\
            stopasgroup=true\nstdout_logfile=/var/log/web.log\n\n\
            [program:worker]\ncommand=celery -A app worker -n w%(process_num)d\nnumprocs=2\n\
            process_name=%(program_name)s_%(process_num)02d\npriority=10\nautorestart=true\n\
            directory=/does/not/exist\nstopwaitsecs=600\nstartsecs=10\n";
        std::fs::write(&conf, text).unwrap();
        let (project, notes) = convert(&conf, text, dir.path()).unwrap();
        let names: Vec<_> = project.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["worker", "web"], "priority order");
        assert_eq!(project.env, [("LANG".to_owned(), "C.UTF-8".to_owned())]);
        let worker = &project.processes[0];
        assert!(worker.has("scale") && worker.has("stop_target") && worker.has("restart"));
        assert!(!worker.has("cwd"), "missing directory is commented out");
        assert!(
            !project.processes[1].has("stop_target"),
            "stopasgroup = true is proj's default"
        );
        let found = |key: &str, line: usize| {
            notes
                .notes
                .iter()
                .any(|note| note.key == key && note.place.line == Some(line))
        };
        assert!(
            found("[program:worker] startsecs", 19),
            "{:#?}",
            notes.notes
        );
        assert!(
            found("[program:worker] stopasgroup", 11),
            "{:#?}",
            notes.notes
        );
        assert!(
            found("[program:web] stdout_logfile", 9),
            "{:#?}",
            notes.notes
        );
        assert!(found("[program:worker] numprocs", 13), "{:#?}", notes.notes);
    }

    #[test]
    fn includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(
            dir.path().join("conf.d/a.conf"),
            "[program:a]\ncommand=sleep 1\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("conf.d/b.ini"),
            "[program:b]\ncommand=sleep 2\n",
        )
        .unwrap();
        let conf = dir.path().join("supervisord.conf");
        let text = "[include]\nfiles = conf.d/*.conf\n";
        let (project, _) = convert(&conf, text, dir.path()).unwrap();
        let names: Vec<_> = project.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a"]);
    }
}
