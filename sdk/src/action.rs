//! Pipeline actions: the `pipeline-action` world.

use std::marker::PhantomData;

use crate::bindings::action::exports::clearctx::plugin::action::Guest;
pub use crate::bindings::action::exports::clearctx::plugin::action::{
    HostCommand, NotifySession, ReopenContract,
};
use crate::{PluginError, Value, not_implemented, parse_json};

/// Decides what to do when a pipeline rule fires.
///
/// An action does not act: it returns [`HostCommand`]s, which the host checks against the
/// capabilities granted to the plugin and then executes in order. Export an implementation
/// with [`action!`](crate::action!).
pub trait Action {
    /// Runs the action with the rule's `config` for an event `context` (the same JSON
    /// object conditions see: `event`, `data`, `artifact`, `contract`) and returns the
    /// commands to execute. Return `Err(PluginError::BadConfig(..))` when `config` is not
    /// what the action needs. Defaults to `Err(PluginError::Failed(..))` naming the method.
    fn run(config: &Value, context: &Value) -> Result<Vec<HostCommand>, PluginError> {
        let _ = (config, context);
        Err(not_implemented("run"))
    }
}

impl HostCommand {
    /// Tells session `target` something (capability `notify`).
    pub fn notify(target: impl Into<String>, message: impl Into<String>) -> Self {
        HostCommand::NotifySession(NotifySession {
            target: target.into(),
            message: message.into(),
        })
    }

    /// Reopens contract `contract_id`, saying why (capability `contracts:write`).
    pub fn reopen_contract(contract_id: impl Into<String>, reason: impl Into<String>) -> Self {
        HostCommand::ReopenContract(ReopenContract {
            contract_id: contract_id.into(),
            reason: reason.into(),
        })
    }

    /// Completes in-progress contract `contract_id` (capability `contracts:write`).
    pub fn complete_contract(contract_id: impl Into<String>) -> Self {
        HostCommand::CompleteContract(contract_id.into())
    }

    /// Creates a contract; `args` are the arguments of the `contract_create` tool, e.g.
    /// `json!({"contract_id": "fix-tests", "title": "Fix the tests", "assignee": "dev"})`
    /// (capability `contracts:write`).
    pub fn create_contract(args: Value) -> Self {
        HostCommand::CreateContract(args.to_string())
    }

    /// Publishes an artifact; `args` are the arguments of the `artifact_publish` tool, e.g.
    /// `json!({"artifact_id": "report", "type": "json", "data": {..}})`
    /// (capability `artifacts:write`).
    pub fn publish_artifact(args: Value) -> Self {
        HostCommand::PublishArtifact(args.to_string())
    }
}

/// Adapts an [`Action`] to the generated bindings; used by [`action!`](crate::action!).
#[doc(hidden)]
pub struct ActionExport<T>(PhantomData<T>);

impl<T: Action> Guest for ActionExport<T> {
    fn run(config: String, context: String) -> Result<Vec<HostCommand>, PluginError> {
        T::run(
            &parse_json("config", &config)?,
            &parse_json("context", &context)?,
        )
    }
}

/// Exports a type implementing [`Action`] as the plugin's `clearctx:plugin/action@1.1.0`.
/// Use it once, at the crate's top level; the crate documentation has an example.
#[macro_export]
macro_rules! action {
    ($plugin:ty) => {
        // Only a wasm32 build exports anything: native builds (a plugin's own `cargo test`)
        // cannot link export names like `clearctx:plugin/validator@1.1.0#validate`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ClearctxAction = $crate::__private::ActionExport<$plugin>;
            $crate::bindings::action::__export_action!(
                __ClearctxAction with_types_in $crate::bindings::action
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    struct NotifyAssignee;

    impl Action for NotifyAssignee {
        fn run(config: &Value, context: &Value) -> Result<Vec<HostCommand>, PluginError> {
            let message = config["message"]
                .as_str()
                .ok_or_else(|| PluginError::BadConfig("`message` is required".into()))?;
            Ok(vec![HostCommand::notify(
                context["contract"]["assignee"]
                    .as_str()
                    .unwrap_or("orchestrator"),
                message,
            )])
        }
    }

    #[test]
    fn export_parses_config_and_context_before_calling_the_action() {
        let run = <ActionExport<NotifyAssignee> as Guest>::run;
        assert_eq!(
            run(
                r#"{"message": "tests fail"}"#.into(),
                r#"{"contract": {"assignee": "dev"}}"#.into()
            ),
            Ok(vec![HostCommand::notify("dev", "tests fail")])
        );
        assert_eq!(
            run("{}".into(), "{}".into()),
            Err(PluginError::BadConfig("`message` is required".into()))
        );
        assert!(
            matches!(run("{}".into(), "[".into()), Err(PluginError::InvalidInput(m)) if m.starts_with("`context`"))
        );
    }

    #[test]
    fn command_helpers_build_the_wit_variants() {
        assert_eq!(
            HostCommand::reopen_contract("c1", "tests fail"),
            HostCommand::ReopenContract(ReopenContract {
                contract_id: "c1".into(),
                reason: "tests fail".into()
            })
        );
        assert_eq!(
            HostCommand::complete_contract("c1"),
            HostCommand::CompleteContract("c1".into())
        );
        assert_eq!(
            HostCommand::create_contract(json!({"contract_id": "c2"})),
            HostCommand::CreateContract(r#"{"contract_id":"c2"}"#.into())
        );
        assert_eq!(
            HostCommand::publish_artifact(json!({"artifact_id": "a"})),
            HostCommand::PublishArtifact(r#"{"artifact_id":"a"}"#.into())
        );
    }
}
