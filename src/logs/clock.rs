//! Wall-clock timestamps for display: `HH:MM:SS.mmm` in local time.
//!
//! Only display uses the wall clock; every timer in proj runs on the monotonic clock.

use std::time::SystemTime;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Milliseconds since the Unix epoch (0 before it, `u64::MAX` far after it).
pub fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Formats instants as local `HH:MM:SS.mmm`. The time zone is read once.
#[derive(Debug, Clone)]
pub struct Clock {
    zone: TimeZone,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            zone: TimeZone::try_system().unwrap_or(TimeZone::UTC),
        }
    }
}

impl Clock {
    pub fn new(zone: TimeZone) -> Self {
        Clock { zone }
    }

    /// Append `HH:MM:SS.mmm` for `at` to `out`.
    pub fn write_time(&self, at: SystemTime, out: &mut Vec<u8>) {
        let Ok(timestamp) = Timestamp::try_from(at) else {
            out.extend_from_slice(b"??:??:??.???");
            return;
        };
        let offset = self.zone.to_offset(timestamp);
        let local = timestamp.as_second() + i64::from(offset.seconds());
        let of_day = local.rem_euclid(86_400);
        let millis = timestamp.subsec_millisecond();
        let (hours, minutes, seconds) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
        // Hand-formatted: this runs once per batch of lines on the hot output path.
        for (value, width) in [(hours, 2), (minutes, 2), (seconds, 2)] {
            push_padded(out, value, width);
            out.push(b':');
        }
        out.pop();
        out.push(b'.');
        push_padded(out, i64::from(millis), 3);
    }
}

fn push_padded(out: &mut Vec<u8>, value: i64, width: u32) {
    let mut divisor = 10i64.pow(width - 1);
    while divisor > 0 {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_hours_minutes_seconds_and_millis() {
        let clock = Clock::new(TimeZone::UTC);
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(3_723_045 + 86_400_000);
        let mut out = Vec::new();
        clock.write_time(at, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "01:02:03.045");
    }

    #[test]
    fn applies_the_zone_offset() {
        let clock = Clock::new(TimeZone::fixed(jiff::tz::offset(-5)));
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(3600);
        let mut out = Vec::new();
        clock.write_time(at, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "20:00:00.000");
    }
}
