//! `.proj/state.json`: what setup has finished, so a re-run resumes.
//!
//! ```json
//! {
//!   "version": 1,
//!   "setup": {
//!     "python deps": {
//!       "finished_at": "2026-05-01T07:12:03.511Z",
//!       "duration_ms": 2304,
//!       "sources": "sha256:9f2c…"
//!     }
//!   }
//! }
//! ```
//!
//! A step is recorded after each success, `sources` being the fingerprint of its
//! sources at that moment (absent for a step without `sources`). The file is replaced
//! atomically (written beside, then renamed), so an interrupted write never leaves half
//! a file. Keys this version does not know are kept as they are. A file that cannot be
//! read or parsed is treated as empty (every step then runs by its other rules) and is
//! rewritten; a file from a newer version is read the same way but never overwritten.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) const VERSION: u32 = 1;

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    pub version: u32,
    #[serde(default)]
    pub setup: BTreeMap<String, StepRecord>,
    /// Keys of other versions or other parts of proj, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One step's last success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    pub finished_at: String,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<String>,
}

/// The state file of the project at `root`, and whether proj may write it.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    pub state: State,
    writable: bool,
    /// Why the file was not used, for a note to the user.
    pub problem: Option<String>,
}

impl StateFile {
    pub(crate) fn path_in(root: &Path) -> PathBuf {
        crate::layout::state_file(root)
    }

    pub(crate) fn load(root: &Path) -> StateFile {
        let path = StateFile::path_in(root);
        let empty = State {
            version: VERSION,
            ..State::default()
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return StateFile::new(path, empty, true, None);
            }
            Err(error) => {
                let problem = format!("cannot read {}: {error}", path.display());
                return StateFile::new(path, empty, true, Some(problem));
            }
        };
        // The version first: a newer file may not parse as this version's `State`.
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.get("version")?.as_u64());
        if let Some(version) = version.filter(|v| *v > u64::from(VERSION)) {
            let problem = format!(
                "{} is version {version} (this proj knows {VERSION}): it is left as it is",
                path.display(),
            );
            return StateFile::new(path, empty, false, Some(problem));
        }
        match serde_json::from_str::<State>(&text) {
            Ok(state) if state.version == VERSION => StateFile::new(path, state, true, None),
            Ok(_) => {
                let problem = format!("{} is from an older proj: starting afresh", path.display());
                StateFile::new(path, empty, true, Some(problem))
            }
            Err(error) => {
                let problem = format!("{} is not valid ({error}): starting afresh", path.display());
                StateFile::new(path, empty, true, Some(problem))
            }
        }
    }

    fn new(path: PathBuf, state: State, writable: bool, problem: Option<String>) -> StateFile {
        StateFile {
            path,
            state,
            writable,
            problem,
        }
    }

    pub(crate) fn record(&self, step: &str) -> Option<&StepRecord> {
        self.state.setup.get(step)
    }

    /// Record a success and write the file at once, so a later failure keeps it.
    pub(crate) fn save_success(&mut self, step: &str, record: StepRecord) -> io::Result<()> {
        self.state.setup.insert(step.to_string(), record);
        self.write()
    }

    /// Forget the records of steps that no longer exist (renamed or removed).
    pub(crate) fn retain_steps(&mut self, steps: &[&str]) {
        self.state
            .setup
            .retain(|name, _| steps.contains(&name.as_str()));
    }

    fn write(&self) -> io::Result<()> {
        if !self.writable {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
            if dir.file_name() == Some(std::ffi::OsStr::new(crate::layout::DIR)) {
                crate::layout::ensure_gitignore(dir)?;
            }
        }
        let text = serde_json::to_string_pretty(&self.state).map_err(io::Error::other)?;
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, text + "\n")?;
        std::fs::rename(&temporary, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sources: Option<&str>) -> StepRecord {
        StepRecord {
            finished_at: "2026-05-01T09:12:03+00:00".into(),
            duration_ms: 12,
            sources: sources.map(String::from),
        }
    }

    #[test]
    fn a_success_survives_a_reload_and_other_keys_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".proj")).unwrap();
        std::fs::write(
            StateFile::path_in(dir.path()),
            r#"{"version": 1, "setup": {}, "socket": {"path": "/tmp/x"}}"#,
        )
        .unwrap();
        let mut file = StateFile::load(dir.path());
        assert!(file.problem.is_none());
        file.save_success("deps", record(Some("sha256:ab")))
            .unwrap();

        let again = StateFile::load(dir.path());
        assert_eq!(again.record("deps"), Some(&record(Some("sha256:ab"))));
        assert_eq!(again.state.other["socket"]["path"], "/tmp/x");
        let text = std::fs::read_to_string(StateFile::path_in(dir.path())).unwrap();
        assert!(text.contains("\"version\": 1"), "{text}");
    }

    #[test]
    fn a_corrupt_file_starts_afresh_and_a_newer_one_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = StateFile::path_in(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();

        std::fs::write(&path, "{not json").unwrap();
        let mut file = StateFile::load(dir.path());
        assert!(file.problem.as_deref().unwrap().contains("not valid"));
        file.save_success("a", record(None)).unwrap();
        assert!(StateFile::load(dir.path()).record("a").is_some());

        let newer = r#"{"version": 99, "setup": {"a": 1}}"#;
        std::fs::write(&path, newer).unwrap();
        let mut file = StateFile::load(dir.path());
        assert!(file.record("a").is_none());
        assert!(file.problem.as_deref().unwrap().contains("version 99"));
        file.save_success("a", record(None)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), newer);
    }

    #[test]
    fn removed_steps_are_forgotten() {
        let mut file = StateFile::load(Path::new("/nonexistent"));
        file.state.setup.insert("old".into(), record(None));
        file.state.setup.insert("kept".into(), record(None));
        file.retain_steps(&["kept"]);
        assert_eq!(file.state.setup.keys().collect::<Vec<_>>(), ["kept"]);
    }
}
