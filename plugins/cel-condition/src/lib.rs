//! `std-cel-condition`: pipeline conditions written in CEL, the Common Expression Language.
//!
//! Each top-level key of the event context (`event`, `data`, `artifact`, `contract`, …)
//! is a variable, so a rule can say `data.failed > 0`, `artifact.type == "test-results"`
//! or `size(data.failures) >= 2`. The expression must yield a bool.
//!
//! The plugin is pure, so clearctx reuses an instance for many calls: compiled programs
//! are kept per instance (a pipeline asks the same few conditions on every event).
//! `evaluate_all` (API 1.1) converts each context variable the expressions read to CEL once
//! (only the fields they select, when that is all they do) and runs every program against
//! it; `check` compiles an expression without running it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use cel::{Context, Env, IdedExpr, ParseErrors, Program};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use clearctx_plugin_sdk::{Condition, PluginError, Value, condition};

/// Compiled programs kept per instance; past this many the cache starts over.
const KEPT_PROGRAMS: usize = 256;

/// A compiled expression and the context variables it reads: only those are converted to
/// CEL values on a call (a context holds the whole artifact, most conditions read a field).
struct Compiled {
    program: Program,
    reads: Vec<(String, Read)>,
}

/// How an expression reads a context variable. Converting JSON to CEL costs more than
/// running a typical condition, so a variable read only as `data.failed` or
/// `has(data.skipped)` is bound as a map of just those fields.
#[derive(Clone, Debug, PartialEq)]
enum Read {
    /// Used as a value in its own right (`size(data)`, `data["x"]`, `data == {}`).
    Whole,
    /// Only these fields of it are selected.
    Fields(BTreeSet<String>),
}

/// Every identifier of `expr` and how it is read. Scopes are ignored: a comprehension's
/// variable `f` shadowing a context key `f` only adds reads, so the binding is never
/// missing something the expression looks at.
fn reads(expr: &IdedExpr, out: &mut BTreeMap<String, Read>) {
    use cel::common::ast::{EntryExpr, Expr};
    match &expr.expr {
        Expr::Unspecified | Expr::Literal(_) => {}
        Expr::Ident(name) => note(out, name.clone(), Read::Whole),
        Expr::Select(select) => match &select.operand.expr {
            Expr::Ident(name) => {
                note(out, name.clone(), Read::Fields([select.field.clone()].into()))
            }
            _ => reads(&select.operand, out),
        },
        Expr::Call(call) => {
            call.target.iter().for_each(|t| reads(t, out));
            call.args.iter().for_each(|a| reads(a, out));
        }
        Expr::Comprehension(c) => {
            for e in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                reads(e, out);
            }
        }
        Expr::List(list) => list.elements.iter().for_each(|e| reads(e, out)),
        Expr::Map(cel::common::ast::MapExpr { entries, .. })
        | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
            for entry in entries {
                match &entry.expr {
                    EntryExpr::MapEntry(m) => {
                        reads(&m.key, out);
                        reads(&m.value, out);
                    }
                    EntryExpr::StructField(f) => reads(&f.value, out),
                }
            }
        }
    }
}

/// Adds one read of variable `name` to `reads`: fields add up, and a whole read wins.
fn note<K: Ord>(reads: &mut BTreeMap<K, Read>, name: K, read: Read) {
    use std::collections::btree_map::Entry;
    match reads.entry(name) {
        Entry::Vacant(v) => {
            v.insert(read);
        }
        Entry::Occupied(o) => match (o.into_mut(), read) {
            (Read::Whole, _) => {}
            (so_far, Read::Whole) => *so_far = Read::Whole,
            (Read::Fields(x), Read::Fields(y)) => x.extend(y),
        },
    }
}

/// `value` as CEL, read as `read` says: an object read by field keeps only those fields.
fn bind(value: &Value, read: &Read) -> cel::Value {
    match (value, read) {
        (Value::Object(fields), Read::Fields(wanted)) => wanted
            .iter()
            .filter_map(|k| fields.get(k).map(|v| (k.as_str(), to_cel(v))))
            .collect::<HashMap<_, _>>()
            .into(),
        _ => to_cel(value),
    }
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
    let mut found = BTreeMap::new();
    reads(program.expression(), &mut found);
    let reads = found.into_iter().collect();
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

/// A context's top-level values, converted to CEL on demand: parsed already, or still the
/// JSON text the host sent, read in one pass that builds only what the expressions read
/// (building a JSON tree of a whole 1 KB context costs more than running a condition).
enum Variables<'a> {
    Parsed(&'a serde_json::Map<String, Value>),
    Text(&'a str),
}

impl<'a> Variables<'a> {
    fn parsed(context: &'a Value) -> Result<Self, PluginError> {
        match context {
            Value::Object(fields) => Ok(Variables::Parsed(fields)),
            _ => Err(PluginError::InvalidInput(NOT_AN_OBJECT.into())),
        }
    }

    /// The variables in `wanted` that the context has, as CEL, each read as it says.
    fn bind(&self, wanted: &BTreeMap<&str, Read>) -> Result<Vec<(String, cel::Value)>, PluginError> {
        match self {
            Variables::Parsed(fields) => Ok(wanted
                .iter()
                .filter_map(|(name, read)| fields.get(*name).map(|v| (name.to_string(), bind(v, read))))
                .collect()),
            Variables::Text(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let bound = Top(wanted).deserialize(&mut de).and_then(|b| de.end().map(|()| b));
                match bound {
                    Ok(bound) => Ok(bound),
                    // Valid JSON of another type: as [`Self::parsed`] says it.
                    Err(e) if e.classify() == serde_json::error::Category::Data => {
                        Err(PluginError::InvalidInput(NOT_AN_OBJECT.into()))
                    }
                    Err(e) => Err(PluginError::InvalidInput(format!(
                        "`context` is not valid JSON: {e}"
                    ))),
                }
            }
        }
    }
}

/// The context's top level: a wanted variable is converted as it is met, anything else is
/// checked and skipped without being built.
struct Top<'w>(&'w BTreeMap<&'w str, Read>);

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Vec<(String, cel::Value)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Vec<(String, cel::Value)>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut bound: Vec<(String, cel::Value)> = Vec::with_capacity(self.0.len());
        while let Some(key) = map.next_key::<String>()? {
            match self.0.get(key.as_str()) {
                Some(read) => {
                    let value = map.next_value_seed(Bound(read))?;
                    // A repeated key: the last one counts, as in a parsed `Value`.
                    bound.retain(|(k, _)| *k != key);
                    bound.push((key, value));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(bound)
    }
}

/// One variable's value read as [`Read`] says: whole, or an object of which only the
/// selected fields are built (a value of another type is built whole, as [`bind`] does).
struct Bound<'r>(&'r Read);

impl<'de> DeserializeSeed<'de> for Bound<'_> {
    type Value = cel::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            Read::Whole => Value::deserialize(d).map(|v| to_cel(&v)),
            Read::Fields(wanted) => d.deserialize_any(Selected(wanted)),
        }
    }
}

struct Selected<'w>(&'w BTreeSet<String>);

impl Selected<'_> {
    fn whole<E>(v: Value) -> Result<cel::Value, E> {
        Ok(to_cel(&v))
    }
}

impl<'de> Visitor<'de> for Selected<'_> {
    type Value = cel::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::with_capacity(self.0.len());
        while let Some(key) = map.next_key::<String>()? {
            match self.0.get(key.as_str()) {
                Some(k) => {
                    let v: Value = map.next_value()?;
                    out.insert(k.as_str(), to_cel(&v));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out.into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Self::whole(Value::Array(items))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Self::whole(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Self::whole(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Self::whole(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Self::whole(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Self::whole(Value::String(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Self::whole(Value::Null)
    }
}

/// Every expression's answer against `variables`, in order. An expression that does not
/// compile gets its compile error before any error of the context.
fn answer_all<E: AsRef<str>>(
    expressions: &[E],
    variables: Result<Variables, PluginError>,
) -> Vec<Result<bool, PluginError>> {
    let programs: Vec<Result<Rc<Compiled>, PluginError>> =
        expressions.iter().map(|e| compiled(e.as_ref())).collect();
    let variables = match variables {
        Ok(v) => v,
        Err(e) => return programs.into_iter().map(|p| p.and(Err(e.clone()))).collect(),
    };
    // Every variable any of the expressions reads is converted once, then each program
    // runs against the same bindings: 100 conditions on `data` convert it once.
    let mut wanted: BTreeMap<&str, Read> = BTreeMap::new();
    for (name, read) in programs.iter().flatten().flat_map(|p| &p.reads) {
        note(&mut wanted, name.as_str(), read.clone());
    }
    let mut bound = Context::with_env(STDLIB.with(Arc::clone));
    match variables.bind(&wanted) {
        Ok(values) => {
            for (name, value) in values {
                bound.add_variable_from_value(name, value);
            }
        }
        Err(e) => return programs.into_iter().map(|p| p.and(Err(e.clone()))).collect(),
    }
    expressions
        .iter()
        .zip(&programs)
        .map(|(e, p)| run(e.as_ref(), p.as_ref().map_err(Clone::clone)?, &bound))
        .collect()
}

fn answer(expression: &str, variables: Result<Variables, PluginError>) -> Result<bool, PluginError> {
    answer_all(&[expression], variables)
        .pop()
        .expect("one answer per expression")
}

struct Cel;

impl Condition for Cel {
    fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {
        answer(expression, Variables::parsed(context))
    }

    fn evaluate_all(expressions: &[String], context: &Value) -> Vec<Result<bool, PluginError>> {
        answer_all(expressions, Variables::parsed(context))
    }

    fn evaluate_text(expression: &str, context: &str) -> Result<bool, PluginError> {
        answer(expression, Ok(Variables::Text(context)))
    }

    fn evaluate_all_text(expressions: &[String], context: &str) -> Vec<Result<bool, PluginError>> {
        answer_all(expressions, Ok(Variables::Text(context)))
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

    fn reads_of(expression: &str) -> Vec<(String, Read)> {
        compiled(expression).unwrap().reads.clone()
    }

    fn fields(names: &[&str]) -> Read {
        Read::Fields(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn a_variable_read_only_by_field_is_bound_with_only_those_fields() {
        assert_eq!(
            reads_of("data.failed > 0 && has(data.skipped) || artifact.type == \"x\""),
            vec![
                ("artifact".into(), fields(&["type"])),
                ("data".into(), fields(&["failed", "skipped"])),
            ]
        );
        // Any other use of the variable needs all of it.
        for expression in [
            "size(data) > 0 && data.failed > 0",
            "data[\"failed\"] > 0",
            "data == {}",
            "[data].size() == 1",
        ] {
            assert!(
                reads_of(expression).contains(&("data".into(), Read::Whole)),
                "{expression}: {:?}",
                reads_of(expression)
            );
        }
        // A comprehension's variable only adds reads of its own name.
        assert!(reads_of("data.failures.exists(f, f.name == \"b\")")
            .contains(&("data".into(), fields(&["failures"]))));
    }

    /// The answer with every context variable bound whole, as before pruning.
    fn unpruned(expression: &str, context: &Value) -> Result<bool, PluginError> {
        let compiled = compiled(expression)?;
        let mut variables = Context::with_env(STDLIB.with(Arc::clone));
        for (name, value) in context.as_object().unwrap() {
            variables.add_variable_from_value(name.as_str(), to_cel(value));
        }
        run(expression, &compiled, &variables)
    }

    #[test]
    fn pruned_bindings_give_the_answers_of_whole_ones() {
        let mut odd = context();
        odd["data"] = json!([1, 2, 3]);
        odd["artifact"] = json!("a string");
        for expression in [
            "data.failed > 0",
            "has(data.skipped)",
            "has(data.failed) && data.failed == 2",
            "size(data) == 4",
            "data.failed > 0 && size(data) == 4",
            "data.failures[0].name == \"a\"",
            "data.failures.exists(f, f.name == \"b\")",
            "[1, 2].exists(data, data > 1)",
            "[1, 2].exists(data, data > 1) && data.passed == 10",
            "data.failures.map(f, f.message).exists(m, m == \"y\")",
            "{\"k\": data.passed}.k == 10",
            "data.skipped == 0",
            "artifact.type == \"test-results\"",
            "size(artifact) == 3",
            "data[0] == 1",
        ] {
            for ctx in [context(), odd.clone()] {
                assert_eq!(
                    Cel::evaluate(expression, &ctx),
                    unpruned(expression, &ctx),
                    "{expression} on {ctx}"
                );
            }
        }
        // The context as the host sends it, JSON text parsed only where read, answers the same.
        for expression in [
            "data.failed > 0",
            "has(data.skipped)",
            "size(data) == 4",
            "data.failures[0].name == \"a\"",
            "data[0] == 1",
            "artifact.type == \"test-results\" && event.kind != \"\"",
            "contract.id == \"x\"",
            "data.failed >",
        ] {
            let mut scalars = context();
            scalars["data"] = json!(3.5);
            scalars["artifact"] = Value::Null;
            scalars["event"] = json!(true);
            let mut repeated = context().to_string();
            repeated.insert_str(repeated.len() - 1, r#", "data": {"failed": 0, "passed": 1}"#);
            assert!(
                Cel::evaluate_text(expression, &repeated) == Cel::evaluate(expression, &serde_json::from_str(&repeated).unwrap()),
                "{expression} on {repeated}"
            );
            for ctx in [context(), odd.clone(), scalars] {
                assert_eq!(
                    Cel::evaluate_text(expression, &ctx.to_string()),
                    Cel::evaluate(expression, &ctx),
                    "{expression} on {ctx}"
                );
            }
        }
        // Reads of the same variable by several expressions are merged.
        let both = ["data.failed > 0", "size(data) == 4"].map(String::from);
        assert_eq!(Cel::evaluate_all(&both, &context()), vec![Ok(true), Ok(true)]);
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
    fn a_context_text_that_is_not_a_json_object_is_refused_as_parsed_ones_are() {
        for text in ["[1]", "3", "\"x\"", "null"] {
            assert_eq!(
                Cel::evaluate_text("true", text),
                Err(PluginError::InvalidInput(NOT_AN_OBJECT.into())),
                "{text}"
            );
        }
        for text in ["{", "", "{\"data\": }", "{\"data\": {\"failed\": 1,}}", "{} x"] {
            let result = Cel::evaluate_text("true", text);
            assert!(
                matches!(&result, Err(PluginError::InvalidInput(m)) if m.starts_with("`context` is not valid JSON: ")),
                "{text:?}: {result:?}"
            );
        }
        // A broken value is refused even where no expression reads it.
        assert!(Cel::evaluate_text("true", "{\"data\": [1,, 2]}").is_err());
        // The expression's own mistake comes first.
        let Err(PluginError::InvalidInput(m)) = Cel::evaluate_text("data.failed >", "{") else {
            panic!("accepted");
        };
        assert!(m.contains("is not valid CEL"), "{m}");
        assert_eq!(
            Cel::evaluate_all_text(&["data.failed > 1".into(), "true".into()], "[]"),
            vec![
                Err(PluginError::InvalidInput(NOT_AN_OBJECT.into())),
                Err(PluginError::InvalidInput(NOT_AN_OBJECT.into()))
            ]
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

