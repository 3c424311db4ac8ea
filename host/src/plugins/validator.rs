//! Artifact validators (`artifact-validator` world): checking data on publish and the types plugins declare.

use super::*;

impl PluginHost {
    /// Validates `data` with the validator for `artifact_type` (`validation` is `None` when
    /// the type has none), and names the installed validators of the type that are disabled.
    pub fn validate(&self, artifact_type: &str, data: &str) -> Result<Checked> {
        let (active, disabled) = self.validators_of(artifact_type)?;
        let validation = match active {
            Some(plugin) => Some(self.validate_with(&plugin, artifact_type, data)?),
            None => None,
        };
        Ok(Checked {
            validation,
            disabled,
        })
    }

    pub fn validate_with(
        &self,
        plugin: &Resolved,
        artifact_type: &str,
        data: &str,
    ) -> Result<Validation> {
        let (result, receipt) = self.call_memo(
            plugin,
            "validate",
            &[artifact_type, data],
            |r: &std::result::Result<Vec<bindings::Violation>, bindings::PluginError>| match r {
                Ok(vs) => violations_bytes(vs),
                Err(_) => 256,
            },
            |guest| {
                let (store, v) =
                    guest.bound(|s, i| bindings::validator::ArtifactValidator::new(s, i))?;
                v.clearctx_plugin_validator()
                    .call_validate(store, artifact_type, data)
            },
        )?;
        let violations = result.map_err(|e| plugin_error(plugin, e))?;
        Self::output_limit(plugin, violations_bytes(&violations))?;
        Ok(Validation {
            plugin: plugin.id.clone(),
            plugin_version: plugin.version.clone(),
            violations: violations
                .into_iter()
                .map(|v| Violation {
                    path: v.path,
                    message: v.message,
                    code: v.code,
                })
                .collect(),
            receipt,
        })
    }

    /// The types a validator declares.
    pub fn declared_types(&self, plugin: &Resolved) -> Result<Vec<TypeInfo>> {
        let (types, _) = self.call(plugin, "types", |guest| {
            let (store, v) =
                guest.bound(|s, i| bindings::validator::ArtifactValidator::new(s, i))?;
            v.clearctx_plugin_validator().call_types(store)
        })?;
        Ok(types
            .into_iter()
            .map(|t| TypeInfo {
                schema: t.schema.and_then(|s| serde_json::from_str(&s).ok()),
                name: t.name,
                description: t.description,
                plugin: plugin.id.clone(),
            })
            .collect())
    }

    /// Every artifact type some enabled validator declares, user plugins first.
    pub fn all_types(&self) -> Result<Vec<TypeInfo>> {
        let mut out: Vec<TypeInfo> = Vec::new();
        let mut plugins: Vec<Resolved> = {
            let state = self.state()?;
            state
                .lock
                .plugins
                .iter()
                .rev()
                .filter(|e| e.enabled && e.kinds.contains(&Kind::ArtifactValidator))
                .map(|e| self.resolve_entry(e))
                .collect()
        };
        plugins.extend(
            standard::all()
                .into_iter()
                .filter(|p| standard::kind_of(&p.id) == Some(Kind::ArtifactValidator)),
        );
        for p in plugins {
            for t in self.declared_types(&p)? {
                if !out.iter().any(|o| o.name == t.name) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }
}

/// The bytes of text in a verdict: what the output limit counts, and what the memo weighs.
fn violations_bytes(violations: &[bindings::Violation]) -> usize {
    violations
        .iter()
        .map(|v| v.path.len() + v.message.len() + v.code.len())
        .sum()
}
