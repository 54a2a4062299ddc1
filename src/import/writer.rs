//! [`Project`] → the text of proj.toml.
//!
//! Laid out the way the README's examples are: `[project]`, `[env]`, then one
//! `[processes.NAME]` table per process, a comment above each key that records a
//! decision. Values are written by the toml crate, so quoting and escapes are right.

use std::fmt::Write;

use super::model::{Entry, Process, Project};

/// The file's text; `header` is the comment block at its top.
pub(crate) fn write(project: &Project, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        comment(&mut out, line);
    }
    if project.procfile.is_some() || project.env_files.is_some() {
        out.push_str("\n[project]\n");
        if let Some(procfile) = &project.procfile {
            comment(
                &mut out,
                "The Procfile stays the list of processes (foreman's PORT rule included);",
            );
            comment(
                &mut out,
                "a [processes.NAME] table adds keys to one of them: tty, ready, depends_on, …",
            );
            let _ = writeln!(out, "procfile = {}", toml::Value::from(procfile.as_str()));
        }
        if let Some(files) = &project.env_files {
            let _ = writeln!(out, "env_file = {}", toml::Value::from(files.clone()));
        }
    }
    if !project.env.is_empty() {
        out.push_str("\n[env]\n");
        for (key, value) in &project.env {
            let _ = writeln!(
                out,
                "{} = {}",
                key_text(key),
                toml::Value::from(value.as_str())
            );
        }
    }
    for process in &project.processes {
        write_process(&mut out, process);
    }
    out
}

fn write_process(out: &mut String, process: &Process) {
    out.push('\n');
    for line in &process.comments {
        comment(out, line);
    }
    let _ = writeln!(out, "[processes.{}]", key_text(&process.name));
    for entry in &process.entries {
        write_entry(out, entry);
    }
    if process.env.is_empty() {
        return;
    }
    let inline = process
        .env
        .iter()
        .map(|(key, value)| format!("{} = {}", key_text(key), toml::Value::from(value.as_str())))
        .collect::<Vec<_>>()
        .join(", ");
    if process.env.len() <= 3 && inline.len() <= 70 {
        let _ = writeln!(out, "env = {{ {inline} }}");
    } else {
        let _ = writeln!(out, "\n[processes.{}.env]", key_text(&process.name));
        for (key, value) in &process.env {
            let _ = writeln!(
                out,
                "{} = {}",
                key_text(key),
                toml::Value::from(value.as_str())
            );
        }
    }
}

fn write_entry(out: &mut String, entry: &Entry) {
    if let Some(why) = &entry.comment {
        for line in why.lines() {
            comment(out, line);
        }
    }
    let hash = if entry.commented_out { "# " } else { "" };
    let _ = writeln!(
        out,
        "{hash}{} = {}",
        key_text(&entry.key),
        inline_value(&entry.value)
    );
}

/// A value on one line (a table as an inline table).
fn inline_value(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let items: Vec<String> = table
                .iter()
                .map(|(key, value)| format!("{} = {}", key_text(key), inline_value(value)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A key, quoted when it is not a bare TOML key.
fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        toml::Value::from(key).to_string()
    }
}

fn comment(out: &mut String, line: &str) {
    if line.is_empty() {
        out.push_str("#\n");
    } else {
        let _ = writeln!(out, "# {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_file() {
        let mut web = Process::new("web");
        web.set("command", "gunicorn app:app --bind 127.0.0.1:$PORT");
        web.set_because("stop_target", "main", "supervisord's stopasgroup = false");
        web.suggest("user", "www-data", "only as root");
        web.env.push(("A B".into(), "x \"y\"".into()));
        let project = Project {
            env: vec![("LANG".into(), "C.UTF-8".into())],
            processes: vec![web],
            ..Project::default()
        };
        let text = write(&project, &["Written by proj init".into()]);
        assert_eq!(
            text,
            "# Written by proj init\n\n[env]\nLANG = \"C.UTF-8\"\n\n[processes.web]\n\
             command = \"gunicorn app:app --bind 127.0.0.1:$PORT\"\n\
             # supervisord's stopasgroup = false\nstop_target = \"main\"\n\
             # only as root\n# user = \"www-data\"\n\
             env = { \"A B\" = 'x \"y\"' }\n"
        );
        toml::from_str::<toml::Table>(&text).unwrap();
    }
}
