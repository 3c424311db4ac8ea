//! Pipeline conditions: the `pipeline-condition` world.

use std::marker::PhantomData;

use crate::bindings::condition::exports::clearctx::plugin::condition::Guest;
use crate::{PluginError, Value, not_implemented, parse_json};

/// Decides whether a pipeline rule fires for an event.
///
/// Export an implementation with [`condition!`](crate::condition!).
pub trait Condition {
    /// Evaluates `expression` (the rule's `when`, e.g. `data.failed > 0`) against
    /// `context`, a JSON object with the event and what it is about (`event`, `data`,
    /// `artifact`, `contract`). Return `Err(PluginError::InvalidInput(..))` for an
    /// expression that does not parse or does not yield a boolean.
    /// Defaults to `Err(PluginError::Failed(..))` naming the method.
    fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {
        let _ = (expression, context);
        Err(not_implemented("evaluate"))
    }
}

/// Adapts a [`Condition`] to the generated bindings; used by [`condition!`](crate::condition!).
#[doc(hidden)]
pub struct ConditionExport<T>(PhantomData<T>);

impl<T: Condition> Guest for ConditionExport<T> {
    fn evaluate(expression: String, context: String) -> Result<bool, PluginError> {
        T::evaluate(&expression, &parse_json("context", &context)?)
    }
}

/// Exports a type implementing [`Condition`] as the plugin's
/// `clearctx:plugin/condition@1.0.0`. Use it once, at the crate's top level; the crate
/// documentation has an example.
#[macro_export]
macro_rules! condition {
    ($plugin:ty) => {
        // Only a wasm32 build exports anything: native builds (a plugin's own `cargo test`)
        // cannot link export names like `clearctx:plugin/validator@1.0.0#validate`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ClearctxCondition = $crate::__private::ConditionExport<$plugin>;
            $crate::bindings::condition::__export_condition!(
                __ClearctxCondition with_types_in $crate::bindings::condition
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct HasData;

    impl Condition for HasData {
        fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {
            Ok(context.get(expression).is_some())
        }
    }

    #[test]
    fn export_parses_the_context_before_calling_the_condition() {
        let evaluate = <ConditionExport<HasData> as Guest>::evaluate;
        assert_eq!(evaluate("data".into(), r#"{"data": 1}"#.into()), Ok(true));
        assert_eq!(evaluate("data".into(), "{}".into()), Ok(false));
        assert!(
            matches!(evaluate("data".into(), "".into()), Err(PluginError::InvalidInput(m)) if m.starts_with("`context`"))
        );
    }
}
