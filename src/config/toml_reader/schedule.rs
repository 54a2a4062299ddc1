//! `schedule = "*/15 * * * *"`: a cron expression (see [`crate::config::schedule`]). A
//! wrong field is pointed at by itself, not the whole string.

use std::ops::Range;

use super::fields::{Field, Reader, Value};
use crate::config::schedule::Schedule;

/// The schedule, and the span of its value.
pub(super) fn read_schedule(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<(Schedule, Range<usize>)> {
    let text = reader.string(field, value)?;
    match text.parse::<Schedule>() {
        Ok(schedule) => Some((schedule, value.span())),
        Err(error) => {
            let span = error
                .field
                .and_then(|index| field_span(reader.source(value.span()), &text, index))
                .map_or_else(
                    || value.span(),
                    |inner| value.span().start + inner.start..value.span().start + inner.end,
                );
            reader.invalid(field, span, error.reason, error.help);
            None
        }
    }
}

/// Where field `index` of `text` is inside the value as written (`written`, quotes
/// included), when the string has no escapes that would shift it.
fn field_span(written: &str, text: &str, index: usize) -> Option<Range<usize>> {
    let quote = written.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    if written.get(1..written.len().saturating_sub(1))? != text {
        return None;
    }
    let mut start = None;
    let mut count = 0;
    for (at, c) in text.char_indices() {
        let blank = c.is_whitespace();
        match (start, blank) {
            (None, false) => start = Some(at),
            (Some(begin), true) => {
                if count == index {
                    return Some(begin + quote.len_utf8()..at + quote.len_utf8());
                }
                count += 1;
                start = None;
            }
            _ => {}
        }
    }
    let begin = start?;
    (count == index).then(|| begin + quote.len_utf8()..text.len() + quote.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_field_inside_the_quotes() {
        assert_eq!(field_span("\"0 25 * * *\"", "0 25 * * *", 1), Some(3..5));
        assert_eq!(
            field_span("\"0 25 * * MOO\"", "0 25 * * MOO", 4),
            Some(10..13)
        );
        assert_eq!(field_span("\"0 25\\t* * *\"", "0 25\t* * *", 1), None);
    }
}
