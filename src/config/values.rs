//! The small value languages of proj.toml: durations, signal names and byte sizes.
//!
//! Each parser takes the text as written and returns a message fit for the caret label
//! of a diagnostic when it is wrong; the callers add the location.

use std::str::FromStr;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::suggest;

/// A duration such as `"250ms"`, `"10s"`, `"5m"` or `"1h 30m"` (humantime syntax).
///
/// A bare number is refused: `"10"` could mean seconds or milliseconds, and guessing
/// wrong makes a restart loop either hammer the machine or look hung.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(r#"empty duration; write one like "10s" or "250ms""#.to_owned());
    }
    if trimmed.parse::<f64>().is_ok() {
        return Err(format!(
            r#"`{trimmed}` has no unit; write "{trimmed}s" for seconds or "{trimmed}ms" for milliseconds"#
        ));
    }
    humantime::parse_duration(trimmed).map_err(|error| match error {
        humantime::DurationError::UnknownUnit { unit, .. } => {
            format!("unknown time unit `{unit}`; {DURATION_EXAMPLES}")
        }
        humantime::DurationError::NumberOverflow => {
            format!("`{trimmed}` is too long a duration")
        }
        // humantime says where it gave up (`expected number at 0`), which reads as
        // nonsense next to a caret that already points there.
        _ => format!("`{trimmed}` is not a duration; {DURATION_EXAMPLES}"),
    })
}

/// The tail of every bad-duration message.
const DURATION_EXAMPLES: &str = r#"expected a duration such as "250ms", "10s" or "5m""#;

/// The signals people actually use to stop or poke a process, for suggestions.
const COMMON_SIGNALS: [&str; 9] = [
    "TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2", "WINCH", "STOP",
];

/// A signal by name: `"TERM"`, `"SIGTERM"`, `"term"` and `"sigterm"` are all SIGTERM.
///
/// Case and the `SIG` prefix are ignored because every tool spells them differently
/// (`kill -s TERM`, systemd's `KillSignal=SIGTERM`, Docker's `STOPSIGNAL`). Numbers are
/// refused: they differ between platforms.
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    let upper = text.trim().to_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if bare.is_empty() {
        return Err(r#"empty signal name; write one like "TERM" or "INT""#.to_owned());
    }
    if bare.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            r#"signal numbers differ between systems; use a name like "TERM" instead of {bare}"#
        ));
    }
    Signal::from_str(&format!("SIG{bare}")).map_err(|_| {
        let names: Vec<&str> = Signal::iterator()
            .map(|signal| signal.as_str().trim_start_matches("SIG"))
            .collect();
        match suggest::closest(bare, names) {
            Some(best) => format!(r#"unknown signal `{text}`; did you mean "{best}"?"#),
            None => format!(
                "unknown signal `{text}`; common ones are {}",
                COMMON_SIGNALS.join(", ")
            ),
        }
    })
}

/// A byte size: a whole number with an optional unit.
///
/// `B` (or no unit) is bytes; `KiB`, `MiB`, `GiB`, `TiB` and the short `K`, `M`, `G`,
/// `T` are powers of 1024 (as in logrotate and `du`); `KB`, `MB`, `GB`, `TB` are powers
/// of 1000. Units are case-insensitive and may be separated by a space: `"10 mib"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!(
            r#"`{text}` is not a size; write one like "10MiB", "512KiB" or "4096""#
        ));
    }
    let multiplier: u64 = match unit.trim().to_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ if unit.starts_with('.') => {
            return Err(format!(
                "sizes are whole numbers; write `{text}` in a smaller unit (e.g. KiB)"
            ));
        }
        other => {
            return Err(format!(
                "unknown size unit `{}`; use B, KiB, MiB, GiB, KB, MB or GB",
                other.trim()
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_numbers_are_refused_with_a_hint() {
        assert_eq!(
            parse_duration("10"),
            Err(r#"`10` has no unit; write "10s" for seconds or "10ms" for milliseconds"#.into())
        );
        assert!(parse_duration("1.5").unwrap_err().contains(r#""1.5s""#));
    }

    #[test]
    fn bad_durations() {
        assert!(
            parse_duration("")
                .unwrap_err()
                .starts_with("empty duration")
        );
        assert!(
            parse_duration("10 parsecs")
                .unwrap_err()
                .contains("unknown time unit")
        );
        assert_eq!(
            parse_duration("ten").unwrap_err(),
            r#"`ten` is not a duration; expected a duration such as "250ms", "10s" or "5m""#
        );
    }

    #[test]
    fn signals_ignore_case_and_prefix() {
        for text in ["TERM", "SIGTERM", "term", "sigterm", " SigTerm "] {
            assert_eq!(parse_signal(text), Ok(Signal::SIGTERM), "{text}");
        }
        assert_eq!(parse_signal("KILL"), Ok(Signal::SIGKILL));
        assert_eq!(parse_signal("int"), Ok(Signal::SIGINT));
        assert_eq!(parse_signal("HUP"), Ok(Signal::SIGHUP));
        assert_eq!(parse_signal("QUIT"), Ok(Signal::SIGQUIT));
        assert_eq!(parse_signal("USR1"), Ok(Signal::SIGUSR1));
        assert_eq!(parse_signal("SIGUSR2"), Ok(Signal::SIGUSR2));
        assert_eq!(parse_signal("WINCH"), Ok(Signal::SIGWINCH));
    }

    #[test]
    fn bad_signals() {
        assert_eq!(
            parse_signal("TREM"),
            Err(r#"unknown signal `TREM`; did you mean "TERM"?"#.into())
        );
        assert!(parse_signal("15").unwrap_err().contains("use a name"));
        assert!(parse_signal("SIG").unwrap_err().starts_with("empty signal"));
        assert!(
            parse_signal("BANANA")
                .unwrap_err()
                .contains("common ones are TERM")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("10 mib"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("2kb"), Ok(2_000));
    }

    #[test]
    fn bad_sizes() {
        assert!(parse_size("MiB").unwrap_err().contains("is not a size"));
        assert!(
            parse_size("10 parsecs")
                .unwrap_err()
                .contains("unknown size unit `parsecs`")
        );
        assert!(parse_size("1.5GiB").unwrap_err().contains("whole numbers"));
        assert!(
            parse_size("99999999999TiB")
                .unwrap_err()
                .contains("too large")
        );
    }
}
