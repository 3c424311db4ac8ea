//! Plugins: what is installed, and installs, removals and switches recorded as events.

use super::*;

impl Hub {
    pub fn plugins(&self) -> &PluginHost {
        &self.plugins
    }

    pub fn plugin_list(&self) -> Result<Vec<plugins::Summary>> {
        self.plugins.list()
    }

    pub fn plugin_info(&self, id: &str) -> Result<plugins::Detail> {
        self.plugins.info(id)
    }

    /// Installs a plugin the user consented to, and records it in the event log.
    pub fn plugin_commit(&self, report: &plugins::AddReport) -> Result<plugins::Entry> {
        let entry = self.plugins.commit(report)?;
        self.record_plugin_event(
            "plugin.installed",
            &entry.id,
            serde_json::to_value(&entry).expect("entries serialize"),
        )?;
        Ok(entry)
    }

    pub fn plugin_remove(&self, id: &str) -> Result<plugins::Summary> {
        let removed = self.plugins.remove(id)?;
        self.record_plugin_event(
            "plugin.removed",
            id,
            serde_json::json!({ "id": id, "version": removed.version }),
        )?;
        Ok(removed)
    }

    pub fn plugin_set_enabled(&self, id: &str, enabled: bool) -> Result<plugins::Summary> {
        let s = self.plugins.set_enabled(id, enabled)?;
        let kind = if enabled {
            "plugin.enabled"
        } else {
            "plugin.disabled"
        };
        self.record_plugin_event(
            kind,
            id,
            serde_json::json!({ "id": id, "version": s.version }),
        )?;
        Ok(s)
    }

    fn record_plugin_event(&self, kind: &str, id: &str, payload: serde_json::Value) -> Result<()> {
        let caller = &self.caller;
        self.store().write(|tx| {
            tx.append_event(NewEvent {
                kind,
                actor: &caller.session,
                team: &caller.team,
                subject: format!("plugin:{id}"),
                payload,
            })?;
            Ok(())
        })
    }
}
