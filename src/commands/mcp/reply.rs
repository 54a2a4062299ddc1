//! What a tool answers: the text the CLI prints for the same command, the structured
//! content where the CLI has `--json` (or the answer has an obvious shape), and the
//! verdict. A failed verdict makes the result a tool error (`isError`), whose text ends
//! with the message the CLI prints on stderr: the agent reads what a person would.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use crate::Error;

pub(super) struct Reply {
    text: String,
    structured: Option<Value>,
    failure: Option<Error>,
}

impl Reply {
    pub(super) fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            structured: None,
            failure: None,
        }
    }

    /// A failure before anything was done: the error alone.
    pub(super) fn failed(error: Error) -> Reply {
        Reply::text("").fail(error)
    }

    pub(super) fn with(mut self, structured: Value) -> Reply {
        self.structured = Some(structured);
        self
    }

    pub(super) fn fail(mut self, error: Error) -> Reply {
        self.failure = Some(error);
        self
    }

    /// Fail when `verdict` is an error.
    pub(super) fn verdict(self, verdict: Result<(), Error>) -> Reply {
        match verdict {
            Ok(()) => self,
            Err(error) => self.fail(error),
        }
    }

    pub(super) fn is_error(&self) -> bool {
        self.failure.is_some()
    }

    pub(super) fn into_result(self) -> CallToolResult {
        let mut text = self.text;
        if let Some(error) = &self.failure {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&error.render(false));
        }
        let mut result = if self.failure.is_some() {
            CallToolResult::error(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(text)])
        };
        result.structured_content = self.structured;
        result
    }
}

/// `{"instances": [...]}`: `ps --json`'s array under a key, because structured content
/// is a JSON object.
pub(super) fn instances(instances: &[crate::control::protocol::InstanceStatus]) -> Value {
    serde_json::json!({ "instances": instances })
}
