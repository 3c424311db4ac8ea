//! Write clearctx plugins in Rust: one trait and one export macro per kind of plugin.
//!
//! The README below is also this crate's documentation; its examples are compiled as tests.
#![doc = include_str!("../README.md")]

#[doc(hidden)]
pub mod bindings;

mod action;
mod condition;
pub mod log;
mod template;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod validator;

pub use action::{Action, HostCommand, NotifySession, ReopenContract};
pub use bindings::validator::clearctx::plugin::types::{PluginError, Violation};
pub use condition::Condition;
pub use serde_json::{self, Value, json};
pub use template::{Template, TemplateInfo};
pub use validator::{TypeInfo, Validator};

#[doc(hidden)]
pub mod __private {
    pub use crate::action::ActionExport;
    pub use crate::condition::ConditionExport;
    pub use crate::template::TemplateExport;
    pub use crate::validator::ValidatorExport;
}

impl Violation {
    /// A violation at `path`, a JSON pointer into the artifact's data (`""` for the whole
    /// document, `"/failures/0/name"` for a nested field), with a `message` saying what is
    /// wrong and a short `code` such as `"required"`, `"type"` or `"minimum"`.
    pub fn new(
        path: impl Into<String>,
        message: impl Into<String>,
        code: impl Into<String>,
    ) -> Self {
        Violation {
            path: path.into(),
            message: message.into(),
            code: code.into(),
        }
    }
}

/// Parses JSON text handed over by the host; `what` names the argument in the error.
fn parse_json(what: &str, text: &str) -> Result<Value, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::InvalidInput(format!("`{what}` is not valid JSON: {e}")))
}

/// The error a trait method's default returns: the host called something the plugin does
/// not implement.
fn not_implemented(method: &str) -> PluginError {
    PluginError::Failed(format!("this plugin does not implement `{method}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_that_does_not_parse_is_invalid_input_naming_the_argument() {
        assert_eq!(
            parse_json("data", "{"),
            Err(PluginError::InvalidInput(
                "`data` is not valid JSON: EOF while parsing an object at line 1 column 1".into()
            ))
        );
    }
}
