//! Pipeline conditions (`pipeline-condition` world).

use super::*;

impl PluginHost {
    /// Evaluates a condition expression with `plugin` (default: the standard CEL plugin).
    pub fn evaluate(
        &self,
        plugin: Option<&str>,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt, String)> {
        let plugin = match plugin {
            Some(id) => self.resolve(id)?,
            None => standard::require(standard::CONDITION)?,
        };
        let (b, r) = self.evaluate_with(&plugin, expression, context)?;
        Ok((b, r, plugin.id))
    }

    pub fn evaluate_with(
        &self,
        plugin: &Resolved,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt)> {
        let context = context.to_string();
        let (result, receipt) = self.call_memo(
            plugin,
            "evaluate",
            &[expression, &context],
            |_| 64,
            |guest| {
                let (store, c) =
                    guest.bound(|s, i| bindings::condition::PipelineCondition::new(s, i))?;
                c.clearctx_plugin_condition()
                    .call_evaluate(store, expression, &context)
            },
        )?;
        Ok((result.map_err(|e| plugin_error(plugin, e))?, receipt))
    }
}
