//! Prompt templates (`prompt-template` world): rendering a session's system prompt.

use super::*;

impl PluginHost {
    /// The template named `name`: from an enabled installed plugin that declares it, else standard.
    pub fn template_plugin(&self, name: &str) -> Result<Resolved> {
        let state = self.state()?;
        if let Some(e) = state.lock.plugins.iter().rev().find(|e| {
            e.enabled
                && e.kinds.contains(&Kind::PromptTemplate)
                && e.templates.iter().any(|t| t == name)
        }) {
            return Ok(self.resolve_entry(e));
        }
        drop(state);
        standard::require(standard::TEMPLATES)
    }

    /// Renders template `name` with the plugin that provides it.
    pub fn render(&self, name: &str, variables: &Value) -> Result<(String, Receipt, String)> {
        let plugin = self.template_plugin(name)?;
        match self.render_with(&plugin, name, variables) {
            Ok((text, receipt)) => Ok((text, receipt, plugin.id)),
            // A name no plugin declares is the caller's mistake, not the plugin's failure.
            Err(
                e @ Error::Plugin {
                    code: "plugin_invalid_input",
                    ..
                },
            ) => {
                let known = self.declared_templates(&plugin)?;
                if known.iter().any(|t| t.name == name) {
                    return Err(e);
                }
                let names: Vec<&str> = known.iter().map(|t| t.name.as_str()).collect();
                Err(Error::invalid(
                    "template",
                    format!(
                        "no template `{name}`; the templates are: {} (a template plugin adds more)",
                        names.join(", ")
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    pub fn render_with(
        &self,
        plugin: &Resolved,
        name: &str,
        variables: &Value,
    ) -> Result<(String, Receipt)> {
        let vars = variables.to_string();
        let (result, receipt) = self.call(plugin, "render", |guest| {
            let (store, t) = guest.bound(|s, i| bindings::template::PromptTemplate::new(s, i))?;
            t.clearctx_plugin_template().call_render(store, name, &vars)
        })?;
        let text = result.map_err(|e| plugin_error(plugin, e))?;
        Self::output_limit(plugin, text.len())?;
        Ok((text, receipt))
    }

    pub fn declared_templates(&self, plugin: &Resolved) -> Result<Vec<TemplateInfo>> {
        let (list, _) = self.call(plugin, "templates", |guest| {
            let (store, t) = guest.bound(|s, i| bindings::template::PromptTemplate::new(s, i))?;
            t.clearctx_plugin_template().call_templates(store)
        })?;
        Ok(list
            .into_iter()
            .map(|t| TemplateInfo {
                name: t.name,
                description: t.description,
                variables: t.variables,
                plugin: plugin.id.clone(),
            })
            .collect())
    }
}

impl PluginHost {
    /// Every template the enabled template plugins offer, each from the plugin `render`
    /// would use for it (an installed plugin's template overrides a standard one of the same
    /// name, the latest installed wins), standard ones first, in declared order.
    pub fn templates(&self) -> Result<Vec<TemplateInfo>> {
        // The standard ones without running the plugin: `prompts/list` comes right after the
        // handshake, and a cold machine cache would make it wait seconds for a compile
        // (Claude Code 2.1.197 does not wait for it before a slash command).
        let mut out = standard::declared_templates();
        let installed: Vec<Resolved> = {
            let state = self.state()?;
            state
                .lock
                .plugins
                .iter()
                .filter(|e| e.enabled && e.kinds.contains(&Kind::PromptTemplate))
                .map(|e| self.resolve_entry(e))
                .collect()
        };
        for plugin in installed {
            // One broken plugin does not hide everyone else's templates; its own render says why.
            let declared = match self.declared_templates(&plugin) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(plugin = %plugin.id, error = %e, "listing its templates failed");
                    continue;
                }
            };
            for t in declared {
                match out.iter_mut().find(|o| o.name == t.name) {
                    Some(o) => *o = t,
                    None => out.push(t),
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard templates' declarations clearctx keeps are the plugin's own.
    #[test]
    fn the_standard_templates_are_listed_as_the_plugin_declares_them() {
        let dir = tempfile::tempdir().unwrap();
        let host = PluginHost::with_cache(dir.path(), &dir.path().join("cache"));
        let declared = host
            .declared_templates(&standard::require(standard::TEMPLATES).unwrap())
            .unwrap();
        let kept = standard::declared_templates();
        let shape = |l: &[TemplateInfo]| -> Vec<(String, String, Vec<String>, String)> {
            l.iter()
                .map(|t| (t.name.clone(), t.description.clone(), t.variables.clone(), t.plugin.clone()))
                .collect()
        };
        assert_eq!(shape(&kept), shape(&declared), "update standard::TEMPLATE_DECLARATIONS");
    }
}
