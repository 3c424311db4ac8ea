//! What is installed: listing, details and health, enabling, removing.

use super::*;

fn missing_installed(id: &str) -> Error {
    if standard::resolve(id).is_some() {
        Error::conflict(format!(
            "plugin `{id}` is a standard plugin, part of clearctx; install a plugin for the same types or templates to override it"
        ))
    } else {
        Error::not_found_hint(
            "plugin",
            id,
            "`clearctx plugin list` shows the installed plugins",
        )
    }
}

fn summary_of_entry(e: &Entry) -> Summary {
    Summary {
        id: e.id.clone(),
        version: e.version.clone(),
        description: e.description.clone(),
        kinds: e.kinds.clone(),
        api: e.api.clone(),
        standard: false,
        enabled: e.enabled,
        types: e.types.clone(),
        templates: e.templates.clone(),
        granted: e.granted.clone(),
        limits: e.limits,
        sha256: e.sha256.clone(),
        pure: e.pure,
    }
}

impl PluginHost {
    /// Every plugin: installed ones, then the standard ones.
    pub fn list(&self) -> Result<Vec<Summary>> {
        let state = self.state()?;
        let mut out: Vec<Summary> = state.lock.plugins.iter().map(summary_of_entry).collect();
        drop(state);
        out.extend(standard::summaries());
        Ok(out)
    }

    pub fn info(&self, id: &str) -> Result<Detail> {
        crate::ids::check_id("plugin", id)?;
        let (summary, source, path) = {
            let state = self.state()?;
            match state.lock.find(id) {
                Some(e) => (
                    summary_of_entry(e),
                    e.source.clone(),
                    Some(self.home.join(&e.path)),
                ),
                None => {
                    let s = standard::summaries()
                        .into_iter()
                        .find(|s| s.id == id)
                        .ok_or_else(|| {
                            Error::not_found_hint(
                                "plugin",
                                id,
                                "`clearctx plugin list` shows the installed and standard plugins",
                            )
                        })?;
                    (s, "embedded in clearctx".to_string(), None)
                }
            }
        };
        let intact = match &path {
            Some(p) => std::fs::read(p)
                .map(|b| crate::model::sha256_hex(&b) == summary.sha256)
                .unwrap_or(false),
            None => true,
        };
        self.log.flush(); // this process's queued lines first
        let records = calls::recent(&self.home, id);
        let memo_hits = records.iter().filter(|r| r.memoized).count() as u64;
        let reused_calls = records.iter().filter(|r| r.reused).count() as u64;
        let recent_calls = records[records.len().saturating_sub(5)..].to_vec();
        let failures: Vec<CallRecord> = records.iter().filter(|r| !r.ok).cloned().collect();
        let last_ok = records.last().is_none_or(|r| r.ok);
        let health = match (intact, summary.enabled, last_ok) {
            (false, _, _) => {
                "broken: its component changed or is missing since install; reinstall it"
                    .to_string()
            }
            (true, false, _) => "disabled".to_string(),
            (true, true, false) => format!(
                "failing: last call failed ({})",
                failures
                    .last()
                    .map(|f| f.error.clone().unwrap_or_default())
                    .unwrap_or_default()
            ),
            (true, true, true) => "ok".to_string(),
        };
        Ok(Detail {
            source,
            health,
            calls: records.len() as u64,
            failures: failures.len() as u64,
            max_fuel_used: records.iter().map(|r| r.fuel_used).max().unwrap_or(0),
            max_wall_us: records.iter().map(|r| r.wall_us).max().unwrap_or(0),
            max_peak_memory_bytes: records
                .iter()
                .map(|r| r.peak_memory_bytes)
                .max()
                .unwrap_or(0),
            recent_failures: failures.into_iter().rev().take(10).collect(),
            memo_hits,
            reused_calls,
            recent_calls,
            summary,
        })
    }

    /// Sets `enabled` of an installed plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<Summary> {
        crate::ids::check_id("plugin", id)?;
        let summary = LockFile::update(&self.home, |lock| {
            let entry = lock
                .plugins
                .iter_mut()
                .find(|e| e.id == id)
                .ok_or_else(|| missing_installed(id))?;
            entry.enabled = enabled;
            Ok(summary_of_entry(entry))
        })?;
        Ok(summary)
    }

    /// Removes an installed plugin and its files.
    pub fn remove(&self, id: &str) -> Result<Summary> {
        crate::ids::check_id("plugin", id)?;
        let removed = LockFile::update(&self.home, |lock| {
            let pos = lock
                .plugins
                .iter()
                .position(|e| e.id == id)
                .ok_or_else(|| missing_installed(id))?;
            Ok(lock.plugins.remove(pos))
        })?;
        let dir = self.home.join("plugins").join(&removed.id);
        let _ = std::fs::remove_dir_all(dir);
        Ok(summary_of_entry(&removed))
    }

    pub fn home(&self) -> &Path {
        &self.home
    }
}
