//! How proj writes durations and sizes for people: one place, so `ps`, `why`, the TUI
//! and proj's own messages say `1.2s` and `23.4MiB` the same way.

use std::time::Duration;

/// `250ms`, `1.2s`, `2m 5s`: precise enough for a human reading a start-up log.
pub(crate) fn short_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        0..1000 => format!("{millis}ms"),
        1000..60_000 => format!("{:.1}s", duration.as_secs_f64()),
        _ => humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string(),
    }
}

/// Memory for a table: `812KiB`, `23.4MiB`, `1.2GiB`.
pub(crate) fn memory(bytes: u64) -> String {
    scaled(bytes, ["KiB", "MiB", "GiB"])
}

/// Memory in at most 7 characters (the TUI's list): `812K`, `23.4M`, `1.2G`.
pub(crate) fn short_memory(bytes: u64) -> String {
    scaled(bytes, ["K", "M", "G"])
}

fn scaled(bytes: u64, [kib, mib, gib]: [&str; 3]) -> String {
    const KIB: f64 = 1024.0;
    // Display only: f64's 53 bits hold any memory size to the digit shown.
    #[allow(clippy::cast_precision_loss)]
    let bytes = bytes as f64;
    if bytes < KIB * KIB {
        format!("{:.0}{kib}", bytes / KIB)
    } else if bytes < KIB * KIB * KIB {
        format!("{:.1}{mib}", bytes / (KIB * KIB))
    } else {
        format!("{:.1}{gib}", bytes / (KIB * KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(short_duration(Duration::from_millis(42)), "42ms");
        assert_eq!(short_duration(Duration::from_millis(1250)), "1.2s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m 5s");
    }

    #[test]
    fn sizes_use_powers_of_1024() {
        assert_eq!(memory(812 * 1024), "812KiB");
        assert_eq!(memory(24_536_000), "23.4MiB");
        assert_eq!(short_memory(24_536_000), "23.4M");
        assert_eq!(short_memory(1_288_490_189), "1.2G");
    }
}
