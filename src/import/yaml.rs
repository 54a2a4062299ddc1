//! YAML (process-compose, pm2) as a tree that keeps each key's line.
//!
//! The converters report "what could not be carried over" key by key with `file:line`,
//! so a derive into typed structs (which would drop unknown keys and lines) will not do:
//! this is serde-saphyr's parser with its [`Spanned`] locations, into a [`Node`] that
//! keeps every key, in file order.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML value. Maps keep their keys in file order, each with its line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    List(Vec<Located<Node>>),
    Map(Vec<(Located<String>, Located<Node>)>),
}

/// A value and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) line: usize,
}

impl<T> From<Spanned<T>> for Located<T> {
    fn from(spanned: Spanned<T>) -> Self {
        Located {
            line: usize::try_from(spanned.referenced.line()).unwrap_or(0),
            value: spanned.value,
        }
    }
}

/// Why a YAML file could not be read: the parser's message and, when it has one, the line.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub(crate) message: String,
    pub(crate) line: Option<usize>,
}

/// Parses `text` (YAML, or JSON, which YAML 1.2 contains).
pub(crate) fn parse(text: &str) -> Result<Located<Node>, YamlError> {
    serde_saphyr::from_str::<Spanned<Node>>(text)
        .map(Located::from)
        .map_err(|error| YamlError {
            line: error
                .location()
                .and_then(|location| usize::try_from(location.line()).ok()),
            message: error.to_string(),
        })
}

impl Node {
    /// The entry `key` of a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Located<Node>> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(name, _)| name.value == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// A scalar as text, as YAML wrote it (`8080`, `true`, `web`); `None` for a list or map.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Null => Some(String::new()),
            Node::Bool(value) => Some(value.to_string()),
            Node::Integer(value) => Some(value.to_string()),
            Node::Float(value) => Some(value.to_string()),
            Node::String(value) => Some(value.clone()),
            Node::List(_) | Node::Map(_) => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(value) => Some(*value),
            Node::String(text) => match text.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A number, also written as a string (`"2"`).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Integer(value) => Some(*value as f64),
            Node::Float(value) => Some(*value),
            Node::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[(Located<String>, Located<Node>)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
        Ok(i64::try_from(value).map_or(Node::Float(value as f64), Node::Integer))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        Ok(Node::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
        Ok(Node::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Node, E> {
        Ok(Node::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item.into());
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            // Keys are names here; a number or boolean key (`8080:`) is kept as its text.
            let name = key.value.scalar_text().unwrap_or_default();
            let key = Located {
                value: name,
                line: usize::try_from(key.referenced.line()).unwrap_or(0),
            };
            entries.push((key, value.into()));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_lines_and_order() {
        let root =
            parse("version: \"0.5\"\nprocesses:\n  web:\n    command: a\n  db:\n    command: b\n")
                .unwrap();
        let processes = root.value.get("processes").unwrap();
        let names: Vec<(&str, usize)> = processes
            .value
            .entries()
            .iter()
            .map(|(key, _)| (key.value.as_str(), key.line))
            .collect();
        assert_eq!(names, [("web", 3), ("db", 5)]);
        let command = processes
            .value
            .get("db")
            .unwrap()
            .value
            .get("command")
            .unwrap();
        assert_eq!(command.value, Node::String("b".into()));
        assert_eq!(command.line, 6);
    }

    #[test]
    fn json_is_read_with_lines() {
        let root = parse("{\n  \"apps\": [\n    {\n      \"name\": \"api\",\n      \"instances\": 2\n    }\n  ]\n}\n").unwrap();
        let Node::List(apps) = &root.value.get("apps").unwrap().value else {
            panic!("not a list");
        };
        let (key, value) = &apps[0].value.entries()[1];
        assert_eq!((key.value.as_str(), key.line), ("instances", 5));
        assert_eq!(value.value, Node::Integer(2));
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let error = parse("processes:\n  web: [\n").unwrap_err();
        assert!(error.line.is_some(), "{error:?}");
    }
}
