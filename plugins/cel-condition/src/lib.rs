//! `std-cel-condition`: pipeline conditions written in CEL, the Common Expression Language.
//!
//! Each top-level key of the event context (`event`, `data`, `artifact`, `contract`, …)
//! is a variable, so a rule can say `data.failed > 0`, `artifact.type == "test-results"`
//! or `size(data.failures) >= 2`. The expression must yield a bool.
//!
//! The plugin is pure, so clearctx reuses an instance for many calls: compiled programs
//! are kept per instance (a pipeline asks the same few conditions on every event).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use cel::{Context, Env, Program};
use clearctx_plugin_sdk::{Condition, PluginError, Value, condition};

/// Compiled programs kept per instance; past this many the cache starts over.
const KEPT_PROGRAMS: usize = 256;

/// A compiled expression and the context variables it reads: only those are converted to
/// CEL values on a call (a context holds the whole artifact, most conditions read a field).
struct Compiled {
    program: Program,
    reads: Vec<String>,
}

thread_local! {
    static PROGRAMS: RefCell<HashMap<String, Rc<Compiled>>> = RefCell::new(HashMap::new());
    /// CEL's standard library, built once per instance rather than per call.
    static STDLIB: Arc<Env> = Arc::new(Env::stdlib());
}

/// The compiled `expression`, from the instance's cache or compiled now.
fn compiled(expression: &str) -> Result<Rc<Compiled>, PluginError> {
    if let Some(p) = PROGRAMS.with_borrow(|m| m.get(expression).cloned()) {
        return Ok(p);
    }
    let program = Program::compile(expression).map_err(|e| {
        PluginError::InvalidInput(format!("`{expression}` is not valid CEL: {e}"))
    })?;
    let reads = program
        .references()
        .variables()
        .into_iter()
        .map(String::from)
        .collect();
    let compiled = Rc::new(Compiled { program, reads });
    PROGRAMS.with_borrow_mut(|m| {
        if m.len() >= KEPT_PROGRAMS {
            m.clear();
        }
        m.insert(expression.to_string(), compiled.clone());
    });
    Ok(compiled)
}

struct Cel;

impl Condition for Cel {
    fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {
        let compiled = compiled(expression)?;
        let Value::Object(fields) = context else {
            return Err(PluginError::InvalidInput(
                "the context must be a JSON object".into(),
            ));
        };
        let mut variables = Context::with_env(STDLIB.with(Arc::clone));
        for name in &compiled.reads {
            if let Some(value) = fields.get(name) {
                variables.add_variable_from_value(name.as_str(), to_cel(value));
            }
        }
        match compiled.program.execute(&variables) {
            Ok(cel::Value::Bool(fired)) => Ok(fired),
            Ok(other) => Err(PluginError::InvalidInput(format!(
                "`{expression}` must yield a bool, but yielded a {}",
                other.type_of()
            ))),
            Err(e) => Err(PluginError::InvalidInput(format!(
                "`{expression}` failed: {e}"
            ))),
        }
    }
}

condition!(Cel);

/// Converts JSON to CEL by hand rather than through serde, which would make every
/// non-negative JSON integer a CEL `uint`: CEL literals are `int`, and arithmetic such as
/// `data.failed - 1` does not mix the two.
fn to_cel(value: &Value) -> cel::Value {
    use cel::Value as Cel;
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cel::Int(i),
            (None, Some(u)) => Cel::UInt(u),
            _ => Cel::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => items.iter().map(to_cel).collect::<Vec<_>>().into(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.as_str(), to_cel(v)))
            .collect::<HashMap<_, _>>()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearctx_plugin_sdk::json;

    fn context() -> Value {
        json!({
            "event": {"kind": "artifact.published"},
            "artifact": {"id": "unit-tests", "type": "test-results", "version": 3},
            "data": {"passed": 10, "failed": 2, "ratio": 0.8, "failures": [
                {"name": "a", "message": "x"}, {"name": "b", "message": "y"}
            ]},
        })
    }

    #[test]
    fn top_level_keys_of_the_context_are_variables() {
        for (expression, expected) in [
            ("data.failed > 0", true),
            ("data.failed == 2", true),
            ("data.failed - 2 == 0", true),
            ("data.ratio < 0.9", true),
            ("artifact.type == \"test-results\"", true),
            ("size(data.failures) >= 2", true),
            ("data.failures.exists(f, f.name == \"b\")", true),
            ("event.kind.startsWith(\"contract.\")", false),
            ("has(data.skipped) && data.skipped > 0", false),
        ] {
            assert_eq!(
                Cel::evaluate(expression, &context()),
                Ok(expected),
                "{expression}"
            );
        }
    }

    #[test]
    fn a_non_bool_result_is_invalid_input_naming_its_type() {
        assert_eq!(
            Cel::evaluate("data.failed", &context()),
            Err(PluginError::InvalidInput(
                "`data.failed` must yield a bool, but yielded a int".into()
            ))
        );
        assert_eq!(
            Cel::evaluate("data.failures", &context()),
            Err(PluginError::InvalidInput(
                "`data.failures` must yield a bool, but yielded a list".into()
            ))
        );
    }

    #[test]
    fn parse_and_evaluation_errors_are_invalid_input_with_the_reason() {
        // cel-interpreter 0.10 panicked on several of these.
        for expression in [
            "data.failed >",
            ".",
            "/",
            "(",
            ")",
            "1 +",
            "",
            "a.b.",
            "[1,",
        ] {
            let result = Cel::evaluate(expression, &context());
            let Err(PluginError::InvalidInput(message)) = &result else {
                panic!("{expression:?} gave {result:?}, not invalid input");
            };
            assert!(
                message.starts_with(&format!("`{expression}` is not valid CEL: ")),
                "{message}"
            );
        }
        assert_eq!(
            Cel::evaluate("data.failed >", &context()),
            Err(PluginError::InvalidInput(
                "`data.failed >` is not valid CEL: ERROR: <input>:1:14: Syntax error: mismatched \
                 input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', \
                 NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n| data.failed >\n| \
                 .............^"
                    .into()
            ))
        );
        assert_eq!(
            Cel::evaluate("contract.id == \"x\"", &context()),
            Err(PluginError::InvalidInput(
                "`contract.id == \"x\"` failed: Undeclared reference to 'contract'".into()
            ))
        );
        assert_eq!(
            Cel::evaluate("true", &json!([1])),
            Err(PluginError::InvalidInput(
                "the context must be a JSON object".into()
            ))
        );
    }
}
