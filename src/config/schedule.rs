//! `schedule = "*/15 * * * *"`: when a scheduled oneshot runs. Five cron fields
//! (minute, hour, day of month, month, day of week), local time; matched by the `croner`
//! crate. This module only adds what a user needs when the expression is wrong: which
//! field, and why.

use std::fmt;
use std::str::FromStr;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The five fields, in order, as messages name them.
pub const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

/// What each field allows, for the help line.
const RANGES: [&str; 5] = ["0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-7 or SUN-SAT"];

/// A parsed `schedule`. Two are equal when their expressions are (a reload compares
/// definitions).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expression: String,
    pub cron: Cron,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.expression == other.expression
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

/// Why an expression is not a schedule: the field at fault (if one is) and the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// Index into [`FIELDS`].
    pub field: Option<usize>,
    pub reason: String,
    pub help: String,
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(expression: &str) -> Result<Schedule, ScheduleError> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleError {
                field: None,
                reason: format!("{} fields; a schedule has 5", fields.len()),
                help: r#"write minute, hour, day of month, month and day of week, e.g. "*/15 * * * *" (every 15 minutes) or "30 2 * * *" (02:30 every day)"#.into(),
            });
        }
        match parser().parse(expression) {
            Ok(cron) => Ok(Schedule {
                expression: expression.split_whitespace().collect::<Vec<_>>().join(" "),
                cron,
            }),
            Err(whole) => {
                // croner names no field: find the first that fails on its own.
                let culprit = (0..5).find(|&index| {
                    let alone: Vec<&str> = (0..5)
                        .map(|other| if other == index { fields[index] } else { "*" })
                        .collect();
                    parser().parse(&alone.join(" ")).is_err()
                });
                Err(match culprit {
                    Some(index) => ScheduleError {
                        field: Some(index),
                        reason: format!(
                            "the {} field `{}` is invalid: {}",
                            FIELDS[index],
                            fields[index],
                            reason_of(&whole)
                        ),
                        help: format!(
                            "the {} field takes {}, `*`, lists (`1,15`), ranges (`1-5`) and steps (`*/10`)",
                            FIELDS[index], RANGES[index]
                        ),
                    },
                    None => ScheduleError {
                        field: None,
                        reason: reason_of(&whole),
                        help: r#"e.g. "*/15 * * * *" or "30 2 * * 1-5""#.into(),
                    },
                })
            }
        }
    }
}

/// croner's message without its type prefix, lower-cased at the start.
fn reason_of(error: &croner::errors::CronError) -> String {
    let text = error.to_string();
    let text = text
        .strip_prefix("Component error: ")
        .or_else(|| text.strip_prefix("Invalid pattern: "))
        .unwrap_or(&text)
        .trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Schedule {
    /// The next time after `after` (local time) this schedule matches.
    pub fn next_after(&self, after: &jiff::Zoned) -> Option<jiff::Zoned> {
        self.cron.find_next_occurrence(after, false).ok()
    }
}

/// RFC 3339 with the local offset: `2026-12-01T10:15:00+01:00`.
pub fn rfc3339(time: &jiff::Zoned) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_parse_and_match() {
        let schedule: Schedule = "*/15  * * * *".parse().unwrap();
        assert_eq!(schedule.expression, "*/15 * * * *");
        let at: jiff::Zoned = "2026-12-01T10:07:30+00:00[UTC]".parse().unwrap();
        let next = schedule.next_after(&at).unwrap();
        assert_eq!(rfc3339(&next), "2026-12-01T10:15:00+00:00");
        let after = schedule.next_after(&next).unwrap();
        assert_eq!(rfc3339(&after), "2026-12-01T10:30:00+00:00");
    }

    #[test]
    fn a_wrong_field_is_named() {
        let error = "61 * * * *".parse::<Schedule>().unwrap_err();
        assert_eq!(error.field, Some(0));
        assert!(
            error.reason.starts_with("the minute field `61` is invalid"),
            "{error:?}"
        );
        let error = "0 0 * 13 *".parse::<Schedule>().unwrap_err();
        assert_eq!(error.field, Some(3), "{error:?}");
        let error = "0 0 * * MOO".parse::<Schedule>().unwrap_err();
        assert_eq!(error.field, Some(4), "{error:?}");
    }

    #[test]
    fn seconds_and_years_are_not_fields_here() {
        let error = "0 */5 * * * *".parse::<Schedule>().unwrap_err();
        assert_eq!(error.field, None);
        assert!(error.reason.contains("6 fields"), "{error:?}");
    }
}
