//! Pipelines: rules checked (conditions compiled by their plugins) before the transaction,
//! stored in it; they fire in the pipelines reaction of every later write.

use super::*;
use crate::pipelines::{
    self, CreateRequest, Firing, ListRequest, LogsRequest, Pipeline, PluginCheck, SetEnabledRequest,
};

/// What `pipeline_create` asks of the plugin host.
struct Checks<'a>(&'a PluginHost);

impl PluginCheck for Checks<'_> {
    fn condition(&self, plugin: Option<&str>, expression: &str) -> Result<Option<String>> {
        let id = plugin.unwrap_or(plugins::STANDARD_CONDITION);
        let resolved = self.0.resolve_as(id, plugins::Kind::PipelineCondition)?;
        self.0.check_condition(&resolved, expression)
    }

    fn action(&self, plugin: &str) -> Result<()> {
        self.0
            .resolve_as(plugin, plugins::Kind::PipelineAction)
            .map(|_| ())
    }
}

impl Hub {
    pub fn pipeline_create(&self, req: &CreateRequest) -> Result<Pipeline> {
        // Plugin calls (compiling each condition) happen before the write lock is taken.
        pipelines::check(req, &Checks(&self.plugins))?;
        self.command(
            |tx, caller| pipelines::create(tx, caller, req),
            |tx, ()| pipelines::get(tx, &req.pipeline_id),
        )
    }

    pub fn pipeline_get(&self, id: &str) -> Result<Pipeline> {
        self.query(|tx| pipelines::get(tx, id))
    }

    pub fn pipeline_list(&self, req: &ListRequest) -> Result<Page<Pipeline>> {
        self.query(|tx| pipelines::list(tx, req))
    }

    pub fn pipeline_delete(&self, id: &str) -> Result<Pipeline> {
        self.command(|tx, caller| pipelines::delete(tx, caller, id), |_, p| Ok(p))
    }

    pub fn pipeline_set_enabled(&self, req: &SetEnabledRequest) -> Result<Pipeline> {
        self.command(
            |tx, caller| pipelines::set_enabled(tx, caller, req),
            |tx, ()| pipelines::get(tx, &req.pipeline_id),
        )
    }

    pub fn pipeline_logs(&self, req: &LogsRequest) -> Result<Page<Firing>> {
        self.query(|tx| pipelines::logs(tx, req))
    }
}
