//! `std-json-schema`: the artifact validator for clearctx's built-in artifact types.
//!
//! Each type has a JSON Schema in `schemas/`, compiled on first use. `validate`
//! returns every violation with the JSON pointer of the offending value and the schema
//! keyword that failed as its code.

use std::sync::OnceLock;

use clearctx_plugin_sdk::{
    PluginError, TypeInfo, Validator, Value, Violation, serde_json, validator,
};
use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;

/// A built-in artifact type and the schema its data follows.
struct BuiltinType {
    name: &'static str,
    description: &'static str,
    schema: &'static str,
}

const TYPES: &[BuiltinType] = &[
    BuiltinType {
        name: "api-contract",
        description: "An API one session provides and others build against: its endpoints",
        schema: include_str!("../schemas/api-contract.json"),
    },
    BuiltinType {
        name: "schema-change",
        description: "A database schema change: the tables it defines and the changes it makes",
        schema: include_str!("../schemas/schema-change.json"),
    },
    BuiltinType {
        name: "test-results",
        description: "Outcome of a test run: passed and failed counts, and each failure",
        schema: include_str!("../schemas/test-results.json"),
    },
    BuiltinType {
        name: "shared-conventions",
        description: "Conventions the whole team follows: naming, error format, layout, style",
        schema: include_str!("../schemas/shared-conventions.json"),
    },
    BuiltinType {
        name: "json",
        description: "Any JSON document",
        schema: include_str!("../schemas/json.json"),
    },
];

/// The validator for `TYPES[index]`, compiled on first use. The host may give each call a
/// fresh instance, so only the type asked about is compiled.
fn compiled(index: usize) -> &'static jsonschema::Validator {
    static COMPILED: [OnceLock<jsonschema::Validator>; TYPES.len()] =
        [const { OnceLock::new() }; TYPES.len()];
    COMPILED[index].get_or_init(|| {
        // The schemas are part of this crate and a unit test compiles each of them, so a
        // failure here is a bug in this crate, not bad input. Naming the draft keeps
        // jsonschema from loading every draft's meta-schema: a fresh instance's first
        // validation then costs about 15 million fuel instead of 70.
        let schema: Value =
            serde_json::from_str(TYPES[index].schema).expect("built-in schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("built-in schema compiles")
    })
}

struct JsonSchema;

impl Validator for JsonSchema {
    fn types() -> Vec<TypeInfo> {
        TYPES
            .iter()
            .map(|t| TypeInfo::new(t.name, t.description).with_schema(t.schema))
            .collect()
    }

    /// `json` is any document: neither a schema nor the data needs looking at.
    fn accepts_any(artifact_type: &str) -> bool {
        artifact_type == "json"
    }

    fn validate(artifact_type: &str, data: &Value) -> Result<Vec<Violation>, PluginError> {
        let Some(index) = TYPES.iter().position(|t| t.name == artifact_type) else {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            return Err(PluginError::InvalidInput(format!(
                "unknown artifact type `{artifact_type}`; this plugin validates {}",
                known.join(", ")
            )));
        };
        // `accepts_any` answers for `json` before the data is parsed; this is for a direct
        // call (the unit tests): no schema is compiled when nothing can fail.
        if Self::accepts_any(artifact_type) {
            return Ok(Vec::new());
        }
        Ok(compiled(index)
            .iter_errors(data)
            .map(|e| to_violation(&e))
            .collect())
    }
}

validator!(JsonSchema);

fn to_violation(error: &ValidationError) -> Violation {
    Violation::new(
        error.instance_path().as_str(),
        describe(error),
        error.kind().keyword(),
    )
}

/// jsonschema's message, with a long offending value (for a root error, the whole
/// artifact) replaced by "value", and with what jsonschema leaves out spelled out: every
/// allowed value of an `enum` (it names two), and why each alternative of an `anyOf` or
/// `oneOf` failed ("not valid under any of the schemas" alone does not say what to fix).
fn describe(error: &ValidationError) -> String {
    let short = is_short(error.instance());
    let message = if short {
        error.to_string()
    } else {
        error.masked().to_string()
    };
    match error.kind() {
        ValidationErrorKind::Enum { options } => {
            let value = if short {
                error.instance().to_string()
            } else {
                "value".into()
            };
            format!("{value} is not one of {options}")
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let path = error.instance_path().as_str();
            let alternatives: Vec<String> = context
                .iter()
                .map(|errors| {
                    let reasons: Vec<String> = errors
                        .iter()
                        .map(|e| match e.instance_path().as_str() {
                            p if p == path => describe(e),
                            p => format!("{} at {p}", describe(e)),
                        })
                        .collect();
                    reasons.join(", ")
                })
                .collect();
            format!("{message}: {}", alternatives.join("; or "))
        }
        _ => message,
    }
}

fn is_short(value: &Value) -> bool {
    match value {
        Value::String(s) => s.len() <= 60,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearctx_plugin_sdk::json;

    fn check(artifact_type: &str, data: Value) -> Vec<(String, String, String)> {
        JsonSchema::validate(artifact_type, &data)
            .unwrap()
            .into_iter()
            .map(|v| (v.path, v.message, v.code))
            .collect()
    }

    fn v(path: &str, message: &str, code: &str) -> (String, String, String) {
        (path.into(), message.into(), code.into())
    }

    #[test]
    fn every_built_in_schema_compiles_and_is_listed_with_its_text() {
        (0..TYPES.len()).for_each(|i| _ = compiled(i));
        let names: Vec<String> = JsonSchema::types().into_iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "api-contract",
                "schema-change",
                "test-results",
                "shared-conventions",
                "json"
            ]
        );
        assert!(JsonSchema::types().iter().all(|t| t.schema.is_some()));
    }

    #[test]
    fn test_results_report_every_violation_with_its_pointer_and_keyword() {
        assert_eq!(check("test-results", json!({"passed": 3, "failed": 0})), []);
        assert_eq!(
            check(
                "test-results",
                json!({"passed": -1, "failed": "2", "failures": [{"name": "a"}], "skipped": 1.5})
            ),
            [
                v("/failed", r#""2" is not of type "integer""#, "type"),
                v(
                    "/failures/0",
                    r#""message" is a required property"#,
                    "required"
                ),
                v("/passed", "-1 is less than the minimum of 0", "minimum"),
                v("/skipped", r#"1.5 is not of type "integer""#, "type"),
            ]
        );
        assert_eq!(
            check("test-results", json!({"passed": 1, "results": [1, 2]})),
            [v("", r#""failed" is a required property"#, "required")]
        );
    }

    #[test]
    fn api_contract_endpoints_are_method_and_path_strings_or_objects() {
        let ok = json!({"endpoints": ["GET /users", {"method": "POST", "path": "/users", "request": {}}]});
        assert_eq!(check("api-contract", ok), []);
        assert_eq!(
            check(
                "api-contract",
                json!({"endpoints": ["users", {"method": "FETCH", "path": "users"}, 3]})
            ),
            [
                v(
                    "/endpoints/0",
                    r#""users" does not match "^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /""#,
                    "pattern"
                ),
                v(
                    "/endpoints/1/method",
                    r#""FETCH" is not one of ["GET","HEAD","POST","PUT","PATCH","DELETE","OPTIONS"]"#,
                    "enum"
                ),
                v(
                    "/endpoints/1/path",
                    r#""users" does not match "^/""#,
                    "pattern"
                ),
                v(
                    "/endpoints/2",
                    r#"3 is not of types "string", "object""#,
                    "type"
                ),
            ]
        );
    }

    #[test]
    fn schema_change_needs_tables_or_changes_and_says_so() {
        assert_eq!(check("schema-change", json!({"tables": ["users"]})), []);
        assert_eq!(
            check(
                "schema-change",
                json!({"changes": ["ALTER TABLE users ADD email"]})
            ),
            []
        );
        assert_eq!(
            check(
                "schema-change",
                json!({"sql": "ALTER TABLE users ADD email"})
            ),
            [v(
                "",
                r#"value is not valid under any of the schemas listed in the 'anyOf' keyword: "tables" is a required property; or "changes" is a required property"#,
                "anyOf"
            )]
        );
    }

    #[test]
    fn shared_conventions_and_json_are_permissive() {
        assert_eq!(
            check("shared-conventions", json!({"naming": "snake_case"})),
            []
        );
        assert_eq!(
            check("shared-conventions", json!({})),
            [v("", "{} has less than 1 property", "minProperties")]
        );
        assert_eq!(check("json", json!([1, "two", null])), []);
    }

    #[test]
    fn an_unknown_type_is_invalid_input_naming_the_known_ones() {
        assert_eq!(
            JsonSchema::validate("yaml", &json!({})),
            Err(PluginError::InvalidInput(
                "unknown artifact type `yaml`; this plugin validates api-contract, schema-change, test-results, shared-conventions, json".into()
            ))
        );
    }
}
