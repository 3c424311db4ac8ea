//! Pipeline conditions: the `pipeline-conditions` world (1.1: `condition` and the batch
//! interface `conditions`).

use std::marker::PhantomData;

use crate::bindings::condition::exports::clearctx::plugin::condition::Guest;
use crate::bindings::condition::exports::clearctx::plugin::conditions::Guest as BatchGuest;
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

    /// Evaluates every expression against one `context`: one result per expression, in
    /// order. The host asks this once per event with the conditions of every rule that
    /// matches it, and the context arrives parsed once. Defaults to [`Self::evaluate`] for
    /// each; override it when work on the context can be shared between expressions.
    fn evaluate_all(expressions: &[String], context: &Value) -> Vec<Result<bool, PluginError>> {
        expressions
            .iter()
            .map(|e| Self::evaluate(e, context))
            .collect()
    }

    /// [`Self::evaluate`] on the context as the host sends it, JSON text. Defaults to
    /// parsing it and calling `evaluate`; override it (and [`Self::evaluate_all_text`]) to
    /// parse only what an expression reads, when parsing the whole context costs more than
    /// evaluating (std-cel-condition reads it with a `serde::de::DeserializeSeed` that
    /// builds only the fields its expressions select and skips the rest with `IgnoredAny`).
    /// An override must answer as `evaluate` would, and refuse text that is not a JSON
    /// object the same way.
    fn evaluate_text(expression: &str, context: &str) -> Result<bool, PluginError> {
        Self::evaluate(expression, &parse_json("context", context)?)
    }

    /// [`Self::evaluate_all`] on the context as JSON text; see [`Self::evaluate_text`].
    /// Defaults to parsing it once and calling `evaluate_all`; on text that is not JSON,
    /// every expression gets the parse error.
    fn evaluate_all_text(expressions: &[String], context: &str) -> Vec<Result<bool, PluginError>> {
        match parse_json("context", context) {
            Ok(context) => Self::evaluate_all(expressions, &context),
            Err(e) => vec![Err(e); expressions.len()],
        }
    }

    /// Whether `expression` compiles, without evaluating it: the host asks when a rule is
    /// created, and refuses the rule on `Err(PluginError::InvalidInput(..))`, whose message
    /// should say where the mistake is (line and column). Defaults to `Ok(())`: every
    /// expression is accepted, and a mistake surfaces when the rule is evaluated.
    fn check(expression: &str) -> Result<(), PluginError> {
        let _ = expression;
        Ok(())
    }
}

/// Adapts a [`Condition`] to the generated bindings; used by [`condition!`](crate::condition!).
#[doc(hidden)]
pub struct ConditionExport<T>(PhantomData<T>);

impl<T: Condition> Guest for ConditionExport<T> {
    fn evaluate(expression: String, context: String) -> Result<bool, PluginError> {
        T::evaluate_text(&expression, &context)
    }
}

impl<T: Condition> BatchGuest for ConditionExport<T> {
    fn evaluate_all(expressions: Vec<String>, context: String) -> Vec<Result<bool, PluginError>> {
        let mut results = T::evaluate_all_text(&expressions, &context);
        // One result per expression, whatever the implementation returned.
        results.resize_with(expressions.len(), || {
            Err(PluginError::Failed(
                "`evaluate_all` returned fewer results than expressions".into(),
            ))
        });
        results
    }

    fn check(expression: String) -> Result<(), PluginError> {
        T::check(&expression)
    }
}

/// Exports a type implementing [`Condition`] as the plugin's
/// `clearctx:plugin/condition@1.1.0` and `clearctx:plugin/conditions@1.1.0`. Use it once,
/// at the crate's top level; the crate documentation has an example.
#[macro_export]
macro_rules! condition {
    ($plugin:ty) => {
        // Only a wasm32 build exports anything: native builds (a plugin's own `cargo test`)
        // cannot link export names like `clearctx:plugin/validator@1.1.0#validate`.
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
            if expression.is_empty() {
                return Err(PluginError::InvalidInput("empty".into()));
            }
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

    #[test]
    fn evaluate_all_defaults_to_evaluate_for_each_in_order() {
        let all = <ConditionExport<HasData> as BatchGuest>::evaluate_all;
        let expressions = vec!["data".to_string(), "".into(), "other".into()];
        assert_eq!(
            all(expressions.clone(), r#"{"data": 1}"#.into()),
            vec![
                Ok(true),
                Err(PluginError::InvalidInput("empty".into())),
                Ok(false)
            ]
        );
        // A context that is not JSON is every expression's error.
        let results = all(expressions, "{".into());
        assert_eq!(results.len(), 3);
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(PluginError::InvalidInput(m)) if m.starts_with("`context`")))
        );
    }

    #[test]
    fn check_defaults_to_accepting_every_expression() {
        let check = <ConditionExport<HasData> as BatchGuest>::check;
        assert_eq!(check("".into()), Ok(()));
        assert_eq!(check("anything at all (".into()), Ok(()));
    }
}
