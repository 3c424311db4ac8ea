//! Pipeline actions (`pipeline-action` world): a plugin proposes host commands; the host checks each against the grants.

use super::*;

impl PluginHost {
    /// Runs an action and checks each command it returns against the plugin's grants.
    /// Nothing is executed here: executing belongs to the pipeline that fired the action.
    pub fn run_action(
        &self,
        plugin: &Resolved,
        config: &Value,
        context: &Value,
    ) -> Result<(Vec<Command>, Receipt)> {
        let (config, context) = (config.to_string(), context.to_string());
        let (result, receipt) = self.call(plugin, "run", |guest| {
            let (store, a) = guest.bound(|s, i| bindings::action::PipelineAction::new(s, i))?;
            a.clearctx_plugin_action()
                .call_run(store, &config, &context)
        })?;
        let commands = result.map_err(|e| plugin_error(plugin, e))?;
        use bindings::action::exports::clearctx::plugin::action::HostCommand as H;
        let out: Vec<Command> = commands
            .into_iter()
            .map(|c| {
                let (command, capability, args) = match c {
                    H::NotifySession(n) => (
                        "notify_session",
                        "notify",
                        serde_json::json!({"target": n.target, "message": n.message}),
                    ),
                    H::ReopenContract(r) => (
                        "reopen_contract",
                        "contracts:write",
                        serde_json::json!({"contract_id": r.contract_id, "reason": r.reason}),
                    ),
                    H::CompleteContract(id) => (
                        "complete_contract",
                        "contracts:write",
                        serde_json::json!({"contract_id": id}),
                    ),
                    H::CreateContract(json) => (
                        "create_contract",
                        "contracts:write",
                        serde_json::from_str(&json).unwrap_or(Value::String(json)),
                    ),
                    H::PublishArtifact(json) => (
                        "publish_artifact",
                        "artifacts:write",
                        serde_json::from_str(&json).unwrap_or(Value::String(json)),
                    ),
                };
                Command {
                    command: command.to_string(),
                    allowed: plugin.granted.iter().any(|g| g == capability),
                    capability: capability.to_string(),
                    args,
                }
            })
            .collect();
        Self::output_limit(plugin, out.iter().map(|c| c.args.to_string().len()).sum())?;
        Ok((out, receipt))
    }
}
