//! JSON Schema helpers for tool arguments.
//!
//! schemars describes a `serde_json::Value` field as the boolean schema `true`, and Claude
//! Code drops every tool of a server whose input schema contains a boolean subschema. Fields
//! that take any JSON use [`any_json`] instead, and a test walks every tool schema.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Any JSON value, written as an object schema rather than `true`.
pub fn any_json(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "description": "any JSON value" })
}

/// An optional JSON object.
pub fn json_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "description": "a JSON object" })
}

/// Returns the JSON pointer of the first boolean subschema in `schema`, if any.
pub fn find_boolean_subschema(schema: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &str, schema_position: bool) -> Option<String> {
        use serde_json::Value;
        match v {
            Value::Bool(_) if schema_position => Some(path.to_string()),
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}/{k}");
                    let found = match k.as_str() {
                        // Keywords whose value is a schema.
                        "items"
                        | "not"
                        | "additionalItems"
                        | "contains"
                        | "propertyNames"
                        | "if"
                        | "then"
                        | "else"
                        | "unevaluatedItems"
                        | "unevaluatedProperties" => walk(child, &p, true),
                        // `additionalProperties: false` is fine for Claude Code; `true` is not.
                        "additionalProperties" => match child {
                            Value::Bool(false) => None,
                            _ => walk(child, &p, true),
                        },
                        // Keywords whose value maps names to schemas.
                        "properties" | "$defs" | "definitions" | "patternProperties"
                        | "dependentSchemas" => child.as_object().and_then(|m| {
                            m.iter()
                                .find_map(|(name, s)| walk(s, &format!("{p}/{name}"), true))
                        }),
                        // Keywords whose value lists schemas.
                        "anyOf" | "allOf" | "oneOf" | "prefixItems" => {
                            child.as_array().and_then(|a| {
                                a.iter()
                                    .enumerate()
                                    .find_map(|(i, s)| walk(s, &format!("{p}/{i}"), true))
                            })
                        }
                        _ => None,
                    };
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            _ => None,
        }
    }
    walk(schema, "", true)
}

#[cfg(test)]
mod tests {
    use super::find_boolean_subschema;
    use serde_json::json;

    #[test]
    fn finds_the_schemars_value_trap() {
        let bad = json!({"type": "object", "properties": {"data": true}});
        assert_eq!(
            find_boolean_subschema(&bad).as_deref(),
            Some("/properties/data")
        );
        let ok = json!({"type": "object", "additionalProperties": false,
                        "properties": {"data": {"description": "any JSON value"}, "flag": {"type": "boolean", "default": true}}});
        assert_eq!(find_boolean_subschema(&ok), None);
        let nested = json!({"$defs": {"X": {"type": "array", "items": true}}});
        assert_eq!(
            find_boolean_subschema(&nested).as_deref(),
            Some("/$defs/X/items")
        );
    }
}
