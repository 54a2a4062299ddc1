//! `state = ["var/postgres"]` (SPEC §9.2): the directories that hold a process's data,
//! relative to the project root. Each must stay inside the root: proj creates them, and
//! exports mount a volume at each, so an absolute path or one that climbs out with `..`
//! would be a directory of the machine, not of the project.

use std::path::{Component, Path, PathBuf};

use super::fields::{Field, Reader, Value};

const HELP: &str = "`state` lists directories inside the project that hold the process's \
                    data, relative to the project root: `state = [\"var/postgres\"]`";

/// The directories, normalized (`./var//pg/` → `var/pg`), each once, in file order.
pub(super) fn read_state(reader: &mut Reader, field: Field<'_>, value: &Value<'_>) -> Vec<PathBuf> {
    let Some(entries) = reader.string_list(field, value) else {
        return Vec::new();
    };
    let mut directories = Vec::new();
    for entry in entries {
        match normalize(entry.get_ref()) {
            Ok(directory) => {
                if !directories.contains(&directory) {
                    directories.push(directory);
                }
            }
            Err(reason) => reader.invalid(field, entry.span(), reason, HELP),
        }
    }
    directories
}

/// `text` as a relative path inside the root, or why it is not one.
fn normalize(text: &str) -> Result<PathBuf, &'static str> {
    let path = Path::new(text);
    if path.is_absolute() {
        return Err("an absolute path: the directory must be inside the project");
    }
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => normalized.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normalized.pop() {
                    return Err("`..` leaves the project root");
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path: the directory must be inside the project");
            }
        }
    }
    if normalized.as_os_str().is_empty() {
        return Err("the project root itself: name a directory inside it");
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_directories_stay_inside_the_root() {
        assert_eq!(normalize("./var//pg/"), Ok(PathBuf::from("var/pg")));
        assert_eq!(normalize("var/../data"), Ok(PathBuf::from("data")));
        assert!(normalize("/var/lib/pg").is_err());
        assert!(normalize("../data").is_err());
        assert!(normalize("var/../../data").is_err());
        assert!(normalize(".").is_err());
        assert!(normalize("").is_err());
    }
}
