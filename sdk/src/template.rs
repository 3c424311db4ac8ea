//! Prompt templates: the `prompt-template` world.

use std::marker::PhantomData;

use crate::bindings::template::exports::clearctx::plugin::template::Guest;
pub use crate::bindings::template::exports::clearctx::plugin::template::TemplateInfo;
use crate::{PluginError, Value, not_implemented, parse_json};

/// Renders what orchestrators and workers are told.
///
/// Export an implementation with [`template!`](crate::template!). The host calls
/// [`templates`](Template::templates) once at install, then [`render`](Template::render).
pub trait Template {
    /// The templates this plugin provides. Defaults to none.
    fn templates() -> Vec<TemplateInfo> {
        Vec::new()
    }

    /// Renders template `name` with `variables` (a JSON object). Return
    /// `Err(PluginError::InvalidInput(..))` for an unknown template or a missing variable.
    /// Defaults to `Err(PluginError::Failed(..))` naming the method.
    fn render(name: &str, variables: &Value) -> Result<String, PluginError> {
        let _ = (name, variables);
        Err(not_implemented("render"))
    }
}

impl TemplateInfo {
    /// A template named `name` with a one-line `description`, reading `variables`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        variables: &[&str],
    ) -> Self {
        TemplateInfo {
            name: name.into(),
            description: description.into(),
            variables: variables.iter().map(|v| v.to_string()).collect(),
        }
    }
}

/// Adapts a [`Template`] to the generated bindings; used by [`template!`](crate::template!).
#[doc(hidden)]
pub struct TemplateExport<T>(PhantomData<T>);

impl<T: Template> Guest for TemplateExport<T> {
    fn templates() -> Vec<TemplateInfo> {
        T::templates()
    }

    fn render(name: String, variables: String) -> Result<String, PluginError> {
        T::render(&name, &parse_json("variables", &variables)?)
    }
}

/// Exports a type implementing [`Template`] as the plugin's
/// `clearctx:plugin/template@1.1.0`. Use it once, at the crate's top level; the crate
/// documentation has an example.
#[macro_export]
macro_rules! template {
    ($plugin:ty) => {
        // Only a wasm32 build exports anything: native builds (a plugin's own `cargo test`)
        // cannot link export names like `clearctx:plugin/validator@1.1.0#validate`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ClearctxTemplate = $crate::__private::TemplateExport<$plugin>;
            $crate::bindings::template::__export_template!(
                __ClearctxTemplate with_types_in $crate::bindings::template
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hello;

    impl Template for Hello {
        fn templates() -> Vec<TemplateInfo> {
            vec![TemplateInfo::new("hello", "Greets someone", &["name"])]
        }

        fn render(_: &str, variables: &Value) -> Result<String, PluginError> {
            Ok(format!(
                "Hello, {}!",
                variables["name"].as_str().unwrap_or("world")
            ))
        }
    }

    #[test]
    fn export_lists_templates_and_parses_variables() {
        assert_eq!(
            <TemplateExport<Hello> as Guest>::templates()[0].variables,
            vec!["name".to_string()]
        );
        let render = <TemplateExport<Hello> as Guest>::render;
        assert_eq!(
            render("hello".into(), r#"{"name": "dev"}"#.into()),
            Ok("Hello, dev!".into())
        );
        assert!(
            matches!(render("hello".into(), "x".into()), Err(PluginError::InvalidInput(m)) if m.starts_with("`variables`"))
        );
    }
}
