//! What keeps a running process in check: `health` (a probe repeated while it runs) and
//! `max_memory` (a limit on its process group's resident memory).
//!
//! ```toml
//! health = { http = "http://127.0.0.1:$PORT/health", interval = "10s", timeout = "2s", retries = 3 }
//! max_memory = "512MiB"
//! ```
//!
//! The probe is one of `ready`'s tcp/http/exec probes (read by the same code). A `log`
//! probe is refused: a line printed once says nothing about whether the process still
//! answers. `retries = 0` would restart on the first hiccup and is refused too, and so is
//! a `timeout` longer than the `interval` (attempts would overlap).

use toml::de::DeValue;

use super::fields::{Expected, Field, Key, Reader, Value, entries};
use super::process::read_one_probe;
use crate::config::plan::{
    DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT, HealthCheck,
};
use crate::config::values;

const HEALTH_KEYS: [&str; 6] = ["tcp", "http", "exec", "interval", "timeout", "retries"];
const HEALTH_EXAMPLE: &str = r#"write e.g. `health = { http = "http://127.0.0.1:$PORT/health", interval = "10s", timeout = "2s", retries = 3 }`, or a `tcp = …` / `exec = "…"` probe"#;

/// `health = { tcp | http | exec = …, interval, timeout, retries }`.
pub(super) fn read_health(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<HealthCheck> {
    let Some(table) = value.get_ref().as_table() else {
        reader.wrong_type(field, value, Expected::Table);
        return None;
    };
    let place = field.inner_place();
    let mut broken = false;
    let mut chosen: Option<&Key<'_>> = None;
    let mut probe = None;
    let mut interval = None;
    let mut timeout = None;
    let mut retries = DEFAULT_HEALTH_RETRIES;
    for (key, value) in entries(table) {
        let inner = Field {
            key: key.get_ref().as_ref(),
            place: &place,
        };
        match inner.key {
            "tcp" | "http" | "exec" => {
                if let Some(first) = chosen {
                    let diagnostic = reader
                        .error(
                            key.span(),
                            format!("`health` of {} has more than one probe", field.owner()),
                        )
                        .label("second probe")
                        .context(first.span(), "first probe")
                        .help(format!(
                            "keep one of `{}` and `{}`",
                            first.get_ref(),
                            inner.key
                        ));
                    reader.report(diagnostic);
                    broken = true;
                    continue;
                }
                chosen = Some(key);
                probe = read_one_probe(reader, inner, value);
                broken |= probe.is_none();
            }
            "log" => {
                reader.invalid(
                    inner,
                    key.span(),
                    "a `log` probe cannot check a running process",
                    "a line printed once says nothing about whether the process still answers; \
                     use `tcp`, `http` or `exec` (keep `log` in `ready`)",
                );
                broken = true;
            }
            "interval" | "timeout" => match reader.duration(inner, value) {
                Some(duration) if duration.get_ref().is_zero() => {
                    reader.invalid(
                        inner,
                        duration.span(),
                        "must be more than 0",
                        r#"durations look like "250ms", "10s" or "1m""#,
                    );
                    broken = true;
                }
                Some(duration) if inner.key == "interval" => interval = Some(duration),
                Some(duration) => timeout = Some(duration),
                None => broken = true,
            },
            "retries" => {
                let help =
                    "the number of failed checks in a row that restart the process; at least 1";
                match reader.integer(inner, value, 1..=i64::from(u32::MAX), help) {
                    Some(count) => retries = u32::try_from(count).unwrap_or(u32::MAX),
                    None => broken = true,
                }
            }
            _ => {
                reader.unknown_key(
                    key,
                    &place,
                    &HEALTH_KEYS,
                    &[
                        ("cmd", "exec"),
                        ("command", "exec"),
                        ("port", "tcp"),
                        ("every", "interval"),
                        ("period", "interval"),
                        ("attempts", "retries"),
                        ("failures", "retries"),
                    ],
                );
                broken = true;
            }
        }
    }
    if chosen.is_none() && !broken {
        let diagnostic = reader
            .error(
                value.span(),
                format!("`health` of {} has no probe", field.owner()),
            )
            .label("no `tcp`, `http` or `exec` here")
            .help(HEALTH_EXAMPLE);
        reader.report(diagnostic);
        return None;
    }
    let interval_value = interval
        .as_ref()
        .map_or(DEFAULT_HEALTH_INTERVAL, |d| *d.get_ref());
    let timeout_value = timeout
        .as_ref()
        .map_or(DEFAULT_HEALTH_TIMEOUT, |d| *d.get_ref());
    if interval_value < timeout_value {
        let span = interval
            .as_ref()
            .or(timeout.as_ref())
            .map_or_else(|| value.span(), toml::Spanned::span);
        let mut diagnostic = reader
            .error(
                span,
                format!(
                    "the `health` interval of {} is shorter than its timeout",
                    field.owner()
                ),
            )
            .label(format!(
                "interval {} < timeout {}",
                humantime::format_duration(interval_value),
                humantime::format_duration(timeout_value)
            ))
            .help(
                "one check must end before the next begins: make `interval` at least `timeout` \
                 (defaults: interval 10s, timeout 2s)",
            );
        if let (Some(_), Some(timeout)) = (&interval, &timeout) {
            diagnostic = diagnostic.context(timeout.span(), "timeout here");
        }
        reader.report(diagnostic);
        return None;
    }
    if broken {
        return None;
    }
    Some(HealthCheck {
        probe: probe?,
        interval: interval_value,
        timeout: timeout_value,
        retries,
    })
}

/// `max_memory = "512MiB"`: a size with a unit. A bare number is refused: is `512`
/// bytes or megabytes? pm2 and docker disagree, so proj asks.
pub(super) fn read_max_memory(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<u64> {
    let help = r#"write a size with a unit, e.g. `max_memory = "512MiB"` or `"2GiB"`"#;
    let text = match value.get_ref() {
        DeValue::String(text) => text.trim().to_owned(),
        DeValue::Integer(_) | DeValue::Float(_) => {
            reader.invalid(field, value.span(), "a size needs a unit", help);
            return None;
        }
        _ => {
            reader.wrong_type(field, value, Expected::Size);
            return None;
        }
    };
    if text.ends_with(|c: char| c.is_ascii_digit()) {
        reader.invalid(field, value.span(), format!("`{text}` has no unit"), help);
        return None;
    }
    match values::parse_size(&text) {
        Ok(0) => reader.invalid(field, value.span(), "must be more than 0 bytes", help),
        Ok(bytes) => return Some(bytes),
        Err(why) => reader.invalid(field, value.span(), why, help),
    }
    None
}
