//! `std-cel-condition`: pipeline conditions written in CEL, the Common Expression Language.
//!
//! Each top-level key of the event context (`event`, `data`, `artifact`, `contract`, …)
//! is a variable, so a rule can say `data.failed > 0`, `artifact.type == "test-results"`
//! or `size(data.failures) >= 2`. The expression must yield a bool.
//!
//! The plugin is pure, so clearctx reuses an instance for many calls: compiled programs
//! are kept per instance (a pipeline asks the same few conditions on every event).
//! `evaluate_all` (API 1.1) converts each context variable the expressions read to CEL once
//! and runs every program against it; `check` compiles an expression without running it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use cel::{Context, Env, ParseErrors, Program};
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
        PluginError::InvalidInput(format!("`{expression}` is not valid CEL: {}", describe(&e)))
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

/// A parse error as `line L, column C: what` (1-based), with the line and a caret under the
/// spot, one per error CEL found.
fn describe(errors: &ParseErrors) -> String {
    if errors.errors.is_empty() {
        return errors.to_string();
    }
    errors
        .errors
        .iter()
        .map(|e| {
            let (line, column) = e.pos;
            let text = e.to_string();
            let header = format!("ERROR: <input>:{line}:{column}: ");
            let what = text.strip_prefix(&header).unwrap_or(&text);
            format!("line {line}, column {column}: {what}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const NOT_AN_OBJECT: &str = "the context must be a JSON object";

/// Runs a compiled `expression` against context variables already bound.
fn run(expression: &str, compiled: &Compiled, variables: &Context) -> Result<bool, PluginError> {
    match compiled.program.execute(variables) {
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

struct Cel;

impl Condition for Cel {
    fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {
        let compiled = compiled(expression)?;
        let Value::Object(fields) = context else {
            return Err(PluginError::InvalidInput(NOT_AN_OBJECT.into()));
        };
        let mut variables = Context::with_env(STDLIB.with(Arc::clone));
        for name in &compiled.reads {
            if let Some(value) = fields.get(name) {
                variables.add_variable_from_value(name.as_str(), to_cel(value));
            }
        }
        run(expression, &compiled, &variables)
    }

    /// Every variable any of the expressions reads is converted to CEL once, then each
    /// program runs against the same bindings: 100 conditions on `data` convert it once.
    fn evaluate_all(expressions: &[String], context: &Value) -> Vec<Result<bool, PluginError>> {
        let programs: Vec<Result<Rc<Compiled>, PluginError>> =
            expressions.iter().map(|e| compiled(e)).collect();
        let Value::Object(fields) = context else {
            return programs
                .into_iter()
                .map(|p| p.and(Err(PluginError::InvalidInput(NOT_AN_OBJECT.into()))))
                .collect();
        };
        let mut variables = Context::with_env(STDLIB.with(Arc::clone));
        let mut bound = HashSet::new();
        for name in programs.iter().flatten().flat_map(|p| &p.reads) {
            if bound.insert(name.as_str()) {
                if let Some(value) = fields.get(name) {
                    variables.add_variable_from_value(name.as_str(), to_cel(value));
                }
            }
        }
        expressions
            .iter()
            .zip(&programs)
            .map(|(e, p)| run(e, p.as_ref().map_err(Clone::clone)?, &variables))
            .collect()
    }

    fn check(expression: &str) -> Result<(), PluginError> {
        compiled(expression).map(|_| ())
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
                "`data.failed >` is not valid CEL: line 1, column 14: Syntax error: mismatched \
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

    #[test]
    fn evaluate_all_gives_one_result_per_expression_in_order() {
        let expressions: Vec<String> = [
            "data.failed > 0",
            "data.failed >",
            "data.passed == 0",
            "data.failed",
            "artifact.type == \"test-results\"",
            "contract.id == \"x\"",
        ]
        .map(String::from)
        .to_vec();
        let all = Cel::evaluate_all(&expressions, &context());
        // The same answers as one `evaluate` each.
        let each: Vec<_> = expressions
            .iter()
            .map(|e| Cel::evaluate(e, &context()))
            .collect();
        assert_eq!(all, each);
        assert_eq!(all[0], Ok(true));
        assert_eq!(all[2], Ok(false));
        assert_eq!(all[4], Ok(true));
        for i in [1, 3, 5] {
            assert!(matches!(all[i], Err(PluginError::InvalidInput(_))), "{:?}", all[i]);
        }
        assert_eq!(
            Cel::evaluate_all(&expressions[..2], &json!([1])),
            vec![
                Err(PluginError::InvalidInput(NOT_AN_OBJECT.into())),
                each[1].clone()
            ]
        );
    }

    #[test]
    fn check_compiles_without_evaluating_and_names_the_position() {
        assert_eq!(Cel::check("data.failed > 0"), Ok(()));
        // Valid CEL that would fail on this context still compiles.
        assert_eq!(Cel::check("contract.id == \"x\""), Ok(()));
        let Err(PluginError::InvalidInput(message)) = Cel::check("data.failed >") else {
            panic!("`data.failed >` compiled");
        };
        assert!(
            message.starts_with("`data.failed >` is not valid CEL: line 1, column 14: Syntax error"),
            "{message}"
        );
        let Err(PluginError::InvalidInput(message)) = Cel::check("true &&\n  (1 +") else {
            panic!("compiled");
        };
        assert!(message.contains("line 2, column "), "{message}");
    }
}
