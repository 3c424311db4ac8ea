//! Generated bindings for `clearctx:plugin@1` (the 1.1.0 WIT, which a 1.0.0 plugin's
//! exports match: wasmtime looks names up semver-compatibly), all in one place.
//!
//! The validator world is generated first; the other worlds reuse its `types` and `host`
//! interfaces (`with:`), so the host implements `log` once and every world shares one set
//! of Rust types. A future `@2` gets its own module here, beside these.

pub mod validator {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "artifact-validator",
    });
}

pub mod condition {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "pipeline-condition",
        with: {
            "clearctx:plugin/types": super::validator::clearctx::plugin::types,
            "clearctx:plugin/host": super::validator::clearctx::plugin::host,
        },
    });
}

/// The 1.1 world of conditions: `condition` and the batch interface `conditions`.
pub mod conditions {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "pipeline-conditions",
        with: {
            "clearctx:plugin/types": super::validator::clearctx::plugin::types,
            "clearctx:plugin/host": super::validator::clearctx::plugin::host,
        },
    });
}

pub mod action {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "pipeline-action",
        with: {
            "clearctx:plugin/types": super::validator::clearctx::plugin::types,
            "clearctx:plugin/host": super::validator::clearctx::plugin::host,
        },
    });
}

pub mod template {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "prompt-template",
        with: {
            "clearctx:plugin/types": super::validator::clearctx::plugin::types,
            "clearctx:plugin/host": super::validator::clearctx::plugin::host,
        },
    });
}

pub use validator::clearctx::plugin::host;
pub use validator::clearctx::plugin::types::{Level, PluginError, Violation};
