//! The generated bindings, one module per world. Not part of the API: they are `pub` only
//! because the export macros expand inside plugin crates and must name them.
//!
//! The validator world generates the shared `types` and `host` interfaces; the other worlds
//! reuse them through `with`, so `Violation`, `PluginError` and the `log` import are one
//! type and one import whichever kinds a plugin implements.

pub mod validator {
    wit_bindgen::generate!({
        path: "../wit",
        world: "artifact-validator",
        pub_export_macro: true,
        export_macro_name: "__export_validator",
        default_bindings_module: "clearctx_plugin_sdk::bindings::validator",
        additional_derives: [PartialEq],
    });
}

/// Conditions export the 1.1 world: `condition` and the batch interface `conditions`.
pub mod condition {
    wit_bindgen::generate!({
        path: "../wit",
        world: "pipeline-conditions",
        pub_export_macro: true,
        export_macro_name: "__export_condition",
        default_bindings_module: "clearctx_plugin_sdk::bindings::condition",
        with: {
            "clearctx:plugin/types@1.1.0": crate::bindings::validator::clearctx::plugin::types,
            "clearctx:plugin/host@1.1.0": crate::bindings::validator::clearctx::plugin::host,
        },
    });
}

pub mod action {
    wit_bindgen::generate!({
        path: "../wit",
        world: "pipeline-action",
        pub_export_macro: true,
        export_macro_name: "__export_action",
        default_bindings_module: "clearctx_plugin_sdk::bindings::action",
        additional_derives: [PartialEq],
        with: {
            "clearctx:plugin/types@1.1.0": crate::bindings::validator::clearctx::plugin::types,
            "clearctx:plugin/host@1.1.0": crate::bindings::validator::clearctx::plugin::host,
        },
    });
}

pub mod template {
    wit_bindgen::generate!({
        path: "../wit",
        world: "prompt-template",
        pub_export_macro: true,
        export_macro_name: "__export_template",
        default_bindings_module: "clearctx_plugin_sdk::bindings::template",
        additional_derives: [PartialEq],
        with: {
            "clearctx:plugin/types@1.1.0": crate::bindings::validator::clearctx::plugin::types,
            "clearctx:plugin/host@1.1.0": crate::bindings::validator::clearctx::plugin::host,
        },
    });
}
