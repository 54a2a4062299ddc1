//! A proj `schedule` (cron, 5 fields, local time) as systemd `OnCalendar=` expressions
//! (`systemd.time(7)`), for the `.timer` units of `proj export systemd --per-process`.
//!
//! Field by field: `*` stays, `a-b` is `a..b`, `*/n` is `first/n`, lists stay lists,
//! month and weekday names become what systemd reads (`Mon..Fri`). Cron runs when the
//! day of month *or* the weekday matches if both are restricted; systemd requires both,
//! so that case is two expressions (a timer fires on any of its `OnCalendar=`).
//! What systemd has no form for (`L`, `W`, `#`) is `None`: the export says so.

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// The `OnCalendar=` values for `expression`, or `None` when one field has no systemd
/// form.
pub(super) fn on_calendar(expression: &str) -> Option<Vec<String>> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let [minute, hour, day, month, weekday] = fields.as_slice() else {
        return None;
    };
    let minute = numeric(minute, 0, &[])?;
    let hour = numeric(hour, 0, &[])?;
    let day_field = numeric(day, 1, &[])?;
    let month = numeric(month, 1, &MONTHS)?;
    let weekday_field = weekdays(weekday)?;
    let time = format!("{hour}:{minute}:00");
    let at = |weekday: &str, day: &str| {
        let prefix = if weekday == "*" {
            String::new()
        } else {
            format!("{weekday} ")
        };
        format!("{prefix}*-{month}-{day} {time}")
    };
    Some(if day_field != "*" && weekday_field != "*" {
        vec![at("*", &day_field), at(&weekday_field, "*")]
    } else {
        vec![at(&weekday_field, &day_field)]
    })
}

/// A numeric field: `first` is where `*/n` starts; `names` (upper case) map to 1, 2, …
fn numeric(field: &str, first: u32, names: &[&str]) -> Option<String> {
    let value = |text: &str| -> Option<String> {
        if let Some(index) = names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Some((index + 1).to_string());
        }
        text.parse::<u32>().ok().map(|n| n.to_string())
    };
    let items: Option<Vec<String>> = field
        .split(',')
        .map(|item| {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step.parse::<u32>().ok()?)),
                None => (item, None),
            };
            let base = match range {
                "*" | "?" if step.is_some() => first.to_string(),
                "*" | "?" => "*".to_owned(),
                _ => match range.split_once('-') {
                    Some((from, to)) => format!("{}..{}", value(from)?, value(to)?),
                    None => value(range)?,
                },
            };
            Some(match step {
                Some(step) => format!("{base}/{step}"),
                None => base,
            })
        })
        .collect();
    Some(items?.join(","))
}

/// The weekday field: `0`/`7` and `SUN` are Sunday; ranges as `Mon..Fri`.
fn weekdays(field: &str) -> Option<String> {
    if field == "*" || field == "?" {
        return Some("*".to_owned());
    }
    let day = |text: &str| -> Option<usize> {
        if let Some(index) = WEEKDAYS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Some(index);
        }
        text.parse::<usize>()
            .ok()
            .filter(|n| *n <= 7)
            .map(|n| n % 7)
    };
    let items: Option<Vec<String>> = field
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                // `5-0` / `5-7` (Friday to Sunday): systemd ranges go Mon..Sun.
                let to = if to == 0 && from > 0 { 7 } else { to };
                if from == 0 && to > 0 {
                    Some(format!("Sun,Mon..{}", WEEKDAYS[to % 7]))
                } else {
                    Some(format!("{}..{}", WEEKDAYS[from], WEEKDAYS[to % 7]))
                }
            }
            None => Some(WEEKDAYS[day(item)?].to_owned()),
        })
        .collect();
    Some(items?.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_fields_become_systemd_calendar_fields() {
        assert_eq!(on_calendar("*/15 * * * *").unwrap(), ["*-*-* *:0/15:00"]);
        assert_eq!(
            on_calendar("30 2 * * 1-5").unwrap(),
            ["Mon..Fri *-*-* 2:30:00"]
        );
        assert_eq!(
            on_calendar("0 9-17/2 1,15 JAN-MAR *").unwrap(),
            ["*-1..3-1,15 9..17/2:0:00"]
        );
        assert_eq!(
            on_calendar("0 0 * * 0,6").unwrap(),
            ["Sun,Sat *-*-* 0:0:00"]
        );
        // Cron's either-or of day and weekday: two expressions.
        assert_eq!(
            on_calendar("0 3 1 * MON").unwrap(),
            ["*-*-1 3:0:00", "Mon *-*-* 3:0:00"]
        );
        assert_eq!(on_calendar("0 0 L * *"), None);
    }

    #[test]
    fn systemd_reads_what_is_written() {
        let Ok(output) = std::process::Command::new("systemd-analyze")
            .arg("calendar")
            .args(
                [
                    "*/15 * * * *",
                    "30 2 * * 1-5",
                    "0 9-17/2 1,15 JAN-MAR *",
                    "0 0 * * 5-7",
                    "0 3 1 * MON",
                ]
                .iter()
                .flat_map(|cron| on_calendar(cron).unwrap()),
            )
            .output()
        else {
            return; // systemd-analyze is not installed: the shapes are checked above.
        };
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
