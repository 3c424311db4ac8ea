//! Artifact validators: the `artifact-validator` world.

use std::marker::PhantomData;

use crate::bindings::validator::exports::clearctx::plugin::validator::Guest;
pub use crate::bindings::validator::exports::clearctx::plugin::validator::TypeInfo;
use crate::{PluginError, Value, Violation, not_implemented, parse_json};

/// Decides whether a published artifact's data is acceptable.
///
/// Export an implementation with [`validator!`](crate::validator!). The host calls
/// [`types`](Validator::types) once at install, then [`validate`](Validator::validate) for
/// every artifact published with one of those types.
pub trait Validator {
    /// The artifact types this plugin validates. Defaults to none.
    fn types() -> Vec<TypeInfo> {
        Vec::new()
    }

    /// Checks `data` of an artifact of `artifact_type` and returns every violation, not
    /// only the first; an empty list means the data is valid. Return
    /// `Err(PluginError::InvalidInput(..))` for a type this plugin does not know.
    /// Defaults to `Err(PluginError::Failed(..))` naming the method.
    fn validate(artifact_type: &str, data: &Value) -> Result<Vec<Violation>, PluginError> {
        let _ = (artifact_type, data);
        Err(not_implemented("validate"))
    }

    /// Whether every JSON document is valid data of `artifact_type`. When it is, the
    /// export answers "no violations" without parsing the data (the host sends only
    /// well-formed JSON), so a permissive type costs a publish almost nothing: parsing
    /// a 1 KB document is most of a small validator's time. Defaults to `false`.
    fn accepts_any(artifact_type: &str) -> bool {
        let _ = artifact_type;
        false
    }
}

impl TypeInfo {
    /// A type named `name` (1-128 of `[A-Za-z0-9._-]`) with a one-line `description` and
    /// no schema.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        TypeInfo {
            name: name.into(),
            description: description.into(),
            schema: None,
        }
    }

    /// Attaches the JSON Schema (as JSON text) that data of this type follows, so the
    /// host can show it to the sessions that publish such artifacts.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// Adapts a [`Validator`] to the generated bindings; used by [`validator!`](crate::validator!).
#[doc(hidden)]
pub struct ValidatorExport<T>(PhantomData<T>);

impl<T: Validator> Guest for ValidatorExport<T> {
    fn types() -> Vec<TypeInfo> {
        T::types()
    }

    fn validate(artifact_type: String, data: String) -> Result<Vec<Violation>, PluginError> {
        if T::accepts_any(&artifact_type) {
            return Ok(Vec::new());
        }
        T::validate(&artifact_type, &parse_json("data", &data)?)
    }
}

/// Exports a type implementing [`Validator`] as the plugin's
/// `clearctx:plugin/validator@1.1.0`. Use it once, at the crate's top level; the crate
/// documentation has an example.
#[macro_export]
macro_rules! validator {
    ($plugin:ty) => {
        // Only a wasm32 build exports anything: native builds (a plugin's own `cargo test`)
        // cannot link export names like `clearctx:plugin/validator@1.1.0#validate`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ClearctxValidator = $crate::__private::ValidatorExport<$plugin>;
            $crate::bindings::validator::__export_validator!(
                __ClearctxValidator with_types_in $crate::bindings::validator
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    struct FailedMustBeZero;

    impl Validator for FailedMustBeZero {
        fn validate(_: &str, data: &Value) -> Result<Vec<Violation>, PluginError> {
            Ok(match data["failed"].as_u64() {
                Some(0) => vec![],
                _ => vec![Violation::new("/failed", "`failed` must be 0", "const")],
            })
        }
    }

    struct Empty;
    impl Validator for Empty {}

    #[test]
    fn export_parses_the_data_before_calling_the_validator() {
        let validate = <ValidatorExport<FailedMustBeZero> as Guest>::validate;
        assert_eq!(
            validate("t".into(), json!({"failed": 0}).to_string()),
            Ok(vec![])
        );
        assert_eq!(
            validate("t".into(), r#"{"failed": 2}"#.into()),
            Ok(vec![Violation::new(
                "/failed",
                "`failed` must be 0",
                "const"
            )])
        );
        assert!(matches!(
            validate("t".into(), "nope".into()),
            Err(PluginError::InvalidInput(_))
        ));
    }

    #[test]
    fn defaults_have_no_types_and_refuse_to_validate() {
        assert_eq!(<ValidatorExport<Empty> as Guest>::types(), vec![]);
        assert_eq!(
            <ValidatorExport<Empty> as Guest>::validate("t".into(), "{}".into()),
            Err(PluginError::Failed(
                "this plugin does not implement `validate`".into()
            ))
        );
    }

    struct AnyJson;
    impl Validator for AnyJson {
        fn accepts_any(artifact_type: &str) -> bool {
            artifact_type == "json"
        }
        fn validate(_: &str, _: &Value) -> Result<Vec<Violation>, PluginError> {
            Err(PluginError::Failed("validate was called".into()))
        }
    }

    #[test]
    fn a_type_that_accepts_any_document_is_answered_without_validate() {
        let validate = <ValidatorExport<AnyJson> as Guest>::validate;
        assert_eq!(validate("json".into(), "[1, 2]".into()), Ok(vec![]));
        assert_eq!(
            validate("other".into(), "{}".into()),
            Err(PluginError::Failed("validate was called".into()))
        );
    }

    #[test]
    fn type_info_carries_an_optional_schema() {
        let info = TypeInfo::new("x", "An x").with_schema("{}");
        assert_eq!(
            (info.name.as_str(), info.schema.as_deref()),
            ("x", Some("{}"))
        );
    }
}
