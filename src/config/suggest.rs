//! "Did you mean …?" suggestions for misspelled keys, values and process names.
//!
//! A suggestion is only worth showing when it is clearly what the user meant, so the
//! threshold is tight: a case-insensitive match, an edit distance of at most a third of
//! the word's length (at least 1), or a truncation of the candidate. Anything looser and
//! the help line would be noise; the callers then list every valid choice instead.

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lowered = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| {
            let candidate_lowered = candidate.to_lowercase();
            // A truncated word (`proces`, `depends`) is as clear as a one-letter typo.
            let truncated = lowered.chars().count() >= 3 && candidate_lowered.starts_with(&lowered);
            let distance = if truncated {
                1
            } else {
                distance(&lowered, &candidate_lowered)
            };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        // `min_by_key` keeps the first of equal distances: the order the caller listed them.
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `word` itself when it is one of `aliases`' left-hand sides: the spellings other tools use
/// for the same setting (`cmd` for `command`, `replicas` for `scale`), which edit distance
/// cannot find.
pub(crate) fn alias<'a>(word: &str, aliases: &[(&str, &'a str)]) -> Option<&'a str> {
    let lowered = word.to_lowercase();
    aliases
        .iter()
        .find(|(from, _)| *from == lowered)
        .map(|(_, to)| *to)
}

/// The help line for an unknown word: "did you mean `x`?", or the list of valid ones.
pub(crate) fn help_for_unknown(word: &str, valid: &[&str], what: &str) -> String {
    match closest(word, valid.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("{what}: {}", backticked(valid)),
    }
}

/// `a`, `b`, `c` — for listing choices in help lines.
pub(crate) fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|item| format!("`{}`", item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Edit distance over chars where insertions, deletions, substitutions and swaps of two
/// neighbours each cost 1 (optimal string alignment): `TREM` is one typo from `TERM`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between the first i chars of a and the first j of b.
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(rows[i - 1][j] + 1).min(rows[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("comand", "command"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("TREM", "TERM"), 1);
        assert_eq!(distance("prot", "port"), 1);
    }

    #[test]
    fn closest_match_is_suggested() {
        let keys = ["command", "port", "scale"];
        assert_eq!(closest("comand", keys), Some("command"));
        assert_eq!(closest("Port", keys), Some("port"));
        assert_eq!(closest("prot", keys), Some("port"));
        assert_eq!(closest("xyz", keys), None);
        assert_eq!(closest("comm", keys), Some("command"), "truncated");
        assert_eq!(closest("po", keys), None, "too short to be a prefix guess");
        assert_eq!(
            closest("port", keys),
            None,
            "an exact match is not a suggestion"
        );
    }

    #[test]
    fn unknown_help_lists_choices_without_a_close_match() {
        let valid = ["always", "on-failure", "never"];
        assert_eq!(
            help_for_unknown("alwys", &valid, "valid values"),
            "did you mean `always`?"
        );
        assert_eq!(
            help_for_unknown("sometimes", &valid, "valid values"),
            "valid values: `always`, `on-failure`, `never`"
        );
    }

    #[test]
    fn aliases_are_case_insensitive() {
        let aliases = [("cmd", "command")];
        assert_eq!(alias("CMD", &aliases), Some("command"));
        assert_eq!(alias("run", &aliases), None);
    }
}
