//! Names as the targets accept them. proj allows `A-Za-z0-9_-` in process names;
//! Kubernetes object names are DNS labels (lower case, digits, `-`, starting with a
//! letter for a Service), Compose project names are lower case.

/// A DNS-1035 label: lower case letters, digits and `-`, starting with a letter and
/// ending with a letter or digit, at most 63 characters. `Web_API` → `web-api`.
pub(crate) fn dns_label(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let mut label = match trimmed.chars().next() {
        Some(first) if first.is_ascii_lowercase() => trimmed.to_owned(),
        Some(_) => format!("p-{trimmed}"),
        None => "proj".to_owned(),
    };
    label.truncate(63);
    label.trim_end_matches('-').to_owned()
}

/// A label value: at most 63 of `A-Za-z0-9-_.`, starting and ending alphanumeric.
pub(crate) fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_names_become_dns_labels() {
        assert_eq!(dns_label("web"), "web");
        assert_eq!(dns_label("Web_API"), "web-api");
        assert_eq!(dns_label("_worker_"), "worker");
        assert_eq!(dns_label("1st"), "p-1st");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn label_values_keep_dots_and_underscores() {
        assert_eq!(label_value("my shop_2.0"), "my-shop_2.0");
        assert_eq!(label_value("-x-"), "x");
    }
}
