//! supervisord's `%(name)s` expansions, and what each becomes in proj.toml.

use std::path::{Path, PathBuf};

use crate::import::relative_to;

/// supervisord's `%(name)s` expansions for one program.
pub(super) struct Expansions {
    /// `%(here)s` for a path proj reads (`cwd`): relative to proj.toml.
    here: String,
    /// `%(here)s` in a command or env value, which run in the process's own `cwd`:
    /// the way from there (`..` from a `directory` one level down).
    here_at_run: String,
    here_absolute: PathBuf,
    program: String,
    group: String,
    pub(super) numprocs: u32,
    start: u32,
}

impl Expansions {
    pub(super) fn fixed(here: &Path, root: &Path, program: &str, group: Option<&str>) -> Self {
        let relative = relative_to(here, root);
        // Until the process's own directory is known (`with_cwd`): the root's.
        let here_at_run = path_from(root, here);
        Expansions {
            here: relative,
            here_at_run,
            here_absolute: absolute(here),
            program: program.to_owned(),
            group: group.unwrap_or(program).to_owned(),
            numprocs: 1,
            start: 0,
        }
    }

    /// The process runs in `cwd` (absolute), not in the root.
    pub(super) fn with_cwd(mut self, cwd: &Path) -> Self {
        self.here_at_run = path_from(cwd, &self.here_absolute);
        self
    }

    pub(super) fn with_numprocs(mut self, numprocs: u32, start: u32) -> Self {
        self.numprocs = numprocs;
        self.start = start;
        self
    }

    /// For a command: per-instance numbers become shell arithmetic on PROJ_INSTANCE.
    pub(super) fn expand_command(&self, text: &str) -> String {
        self.expand(text, Target::Shell)
    }

    /// For an env value: `%(ENV_X)s` becomes proj's own `${X}` interpolation.
    pub(super) fn expand_env_value(&self, text: &str) -> String {
        self.expand(text, Target::Env)
    }

    /// For a path: everything now, the environment from proj's.
    pub(super) fn expand_static(&self, text: &str) -> String {
        self.expand(text, Target::Static)
    }

    fn expand(&self, text: &str, target: Target) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
                continue;
            }
            let Some((name, spec, after)) = placeholder(rest) else {
                out.push('%');
                rest = &rest[1..];
                continue;
            };
            out.push_str(&self.value(name, spec, target));
            rest = after;
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str, spec: &str, target: Target) -> String {
        if let Some(variable) = name.strip_prefix("ENV_") {
            return match target {
                Target::Static => std::env::var(variable).unwrap_or_default(),
                Target::Shell | Target::Env => format!("${{{variable}}}"),
            };
        }
        match name {
            "here" if target == Target::Static => self.here.clone(),
            "here" => self.here_at_run.clone(),
            "program_name" => self.program.clone(),
            "group_name" => self.group.clone(),
            // Linux's node name, as Python's `platform.node()` gives it.
            "host_node_name" => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_owned())
                .unwrap_or_default(),
            "numprocs" => format_number(i64::from(self.numprocs), spec),
            "process_num" if self.numprocs == 1 || target != Target::Shell => {
                format_number(i64::from(self.start), spec)
            }
            "process_num" => {
                let number = if self.start == 1 {
                    "$PROJ_INSTANCE".to_owned()
                } else if self.start == 0 {
                    "$((PROJ_INSTANCE - 1))".to_owned()
                } else {
                    format!("$((PROJ_INSTANCE - 1 + {}))", self.start)
                };
                match width(spec) {
                    Some((true, width)) => format!("$(printf %0{width}d {number})"),
                    _ => number,
                }
            }
            other => format!("%({other}){spec}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Shell,
    Env,
    Static,
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The relative path from directory `base` to `target` (`.`, `..`, `../conf`), or
/// `target` absolute when they share nothing but `/`.
fn path_from(base: &Path, target: &Path) -> String {
    use std::path::Component;
    let normal = |path: &Path| -> Vec<std::ffi::OsString> {
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for component in absolute(path).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_os_string()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let (base, target_parts) = (normal(base), normal(target));
    let common = base
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 && !base.is_empty() {
        return absolute(target).display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); base.len() - common];
    parts.extend(
        target_parts[common..]
            .iter()
            .map(|part| part.to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `%(name)02d` → (`name`, `02d`, the text after it).
fn placeholder(text: &str) -> Option<(&str, &str, &str)> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let name = &inner[..close];
    let after_name = &inner[close + 1..];
    let spec_len = after_name
        .char_indices()
        .find(|(_, c)| c.is_ascii_alphabetic())
        .map(|(at, c)| at + c.len_utf8())?;
    let spec = &after_name[..spec_len];
    if !spec[..spec.len() - 1]
        .chars()
        .all(|c| c.is_ascii_digit() || "-+ #.".contains(c))
    {
        return None;
    }
    Some((name, spec, &after_name[spec_len..]))
}

/// `02d` → (zero-padded, 2).
fn width(spec: &str) -> Option<(bool, usize)> {
    let digits = spec.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let zero = digits.starts_with('0');
    digits
        .trim_start_matches('0')
        .parse()
        .ok()
        .map(|width| (zero, width))
}

fn format_number(value: i64, spec: &str) -> String {
    match width(spec) {
        Some((true, width)) => format!("{value:0width$}"),
        Some((false, width)) => format!("{value:width$}"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expansions(numprocs: u32, start: u32) -> Expansions {
        Expansions::fixed(Path::new("/srv/app"), Path::new("/srv/app"), "worker", None)
            .with_numprocs(numprocs, start)
    }

    #[test]
    fn expansions_follow_supervisord() {
        let one = expansions(1, 0);
        assert_eq!(
            one.expand_command("%(here)s/run %(program_name)s_%(process_num)02d"),
            "./run worker_00"
        );
        assert_eq!(one.expand_command("x %(ENV_HOME)s 100%%"), "x ${HOME} 100%");
        let three = expansions(3, 0);
        assert_eq!(
            three.expand_command("celery -n w%(process_num)02d@%%h"),
            "celery -n w$(printf %02d $((PROJ_INSTANCE - 1)))@%h"
        );
        assert_eq!(
            three.expand_command("--id %(process_num)d"),
            "--id $((PROJ_INSTANCE - 1))"
        );
        assert_eq!(
            expansions(2, 1).expand_command("%(process_num)s"),
            "$PROJ_INSTANCE"
        );
        assert_eq!(three.expand_command("%(unknown)s 5%"), "%(unknown)s 5%");
    }
}
