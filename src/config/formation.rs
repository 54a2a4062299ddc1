//! `-m/--formation web=2,worker=3`: how many instances of each process to run this time,
//! as foreman's `-m` (and honcho's `-c`) say it. `all=N` sets every process; a named
//! entry wins over `all` whatever their order; `NAME=0` runs none of that process.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A parsed `-m` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Formation {
    /// `all=N`, if given.
    pub all: Option<u32>,
    /// `NAME=N` entries, by process name.
    pub named: BTreeMap<String, u32>,
}

impl Formation {
    /// The number of instances for `process`, when this formation says one.
    pub fn scale_of(&self, process: &str) -> Option<u32> {
        self.named.get(process).copied().or(self.all)
    }

    /// Named processes that are not in `known`.
    pub fn unknown<'a>(&'a self, known: &[&str]) -> Vec<&'a str> {
        self.named
            .keys()
            .map(String::as_str)
            .filter(|name| !known.contains(name))
            .collect()
    }
}

impl FromStr for Formation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut formation = Formation::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((name, count)) = entry.split_once('=') else {
                return Err(format!(
                    "`{entry}` is not `NAME=COUNT`; write e.g. `web=2,worker=3` or `all=1`"
                ));
            };
            let (name, count) = (name.trim(), count.trim());
            let count: u32 = count.parse().map_err(|_| {
                format!("`{count}` in `{entry}` is not a number of instances (0 or more)")
            })?;
            if name.is_empty() {
                return Err(format!("`{entry}` has no process name; write e.g. `web=2`"));
            }
            if name == "all" {
                formation.all = Some(count);
            } else {
                formation.named.insert(name.to_owned(), count);
            }
        }
        Ok(formation)
    }
}

impl fmt::Display for Formation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<String> = self.all.iter().map(|n| format!("all={n}")).collect();
        entries.extend(self.named.iter().map(|(name, n)| format!("{name}={n}")));
        f.write_str(&entries.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_entries_win_over_all() {
        let formation: Formation = "worker=0, all=2,web=3".parse().unwrap();
        assert_eq!(formation.scale_of("web"), Some(3));
        assert_eq!(formation.scale_of("worker"), Some(0));
        assert_eq!(formation.scale_of("clock"), Some(2));
        assert_eq!(formation.to_string(), "all=2,web=3,worker=0");
        assert_eq!(formation.unknown(&["web"]), ["worker"]);
    }

    #[test]
    fn bad_entries_say_what_an_entry_looks_like() {
        assert!(
            "web"
                .parse::<Formation>()
                .unwrap_err()
                .contains("NAME=COUNT")
        );
        assert!(
            "web=two"
                .parse::<Formation>()
                .unwrap_err()
                .contains("`two`")
        );
        assert!(
            "=2".parse::<Formation>()
                .unwrap_err()
                .contains("no process name")
        );
    }
}
