//! Running a plugin once in the real sandbox on an input (`clearctx plugin test`).

use super::*;

/// What `plugin test` feeds a plugin.
#[derive(Debug, Clone)]
pub enum TestInput {
    Validate {
        artifact_type: Option<String>,
        data: Value,
    },
    Evaluate {
        expression: String,
        context: Value,
    },
    Render {
        template: String,
        variables: Value,
    },
    Run {
        config: Value,
        context: Value,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub plugin: String,
    pub version: String,
    pub kind: Kind,
    pub result: Value,
    pub receipt: Receipt,
}

impl PluginHost {
    /// A plugin read by [`PluginHost::plan`] but not installed, for `plugin test <path>`.
    pub fn probe(&self, report: &AddReport) -> Resolved {
        Resolved {
            id: report.id.clone(),
            version: report.version.clone(),
            standard: false,
            pure: report.pure,
            limits: report.limits,
            granted: report.granted.clone(),
            bytes: Bytes::File(PathBuf::from(&report.wasm_path)),
            sha256: report.sha256.clone(),
        }
    }

    /// Runs `plugin` once on `input` in the real sandbox (`clearctx plugin test`).
    pub fn test(&self, plugin: &Resolved, input: &TestInput) -> Result<TestOutcome> {
        let (kind, result, receipt) = match input {
            TestInput::Validate {
                artifact_type,
                data,
            } => {
                let artifact_type = match artifact_type {
                    Some(t) => t.clone(),
                    None => self
                        .declared_types(plugin)?
                        .into_iter()
                        .next()
                        .map(|t| t.name)
                        .ok_or_else(|| {
                            Error::invalid(
                                "--type",
                                format!(
                                    "plugin `{}` declares no artifact type; give --type",
                                    plugin.id
                                ),
                            )
                        })?,
                };
                let v = self.validate_with(plugin, &artifact_type, &data.to_string())?;
                let value = serde_json::json!({ "type": artifact_type, "valid": v.violations.is_empty(), "violations": v.violations });
                (Kind::ArtifactValidator, value, v.receipt)
            }
            TestInput::Evaluate {
                expression,
                context,
            } => {
                let (b, r) = self.evaluate_with(plugin, expression, context)?;
                (
                    Kind::PipelineCondition,
                    serde_json::json!({ "expression": expression, "result": b }),
                    r,
                )
            }
            TestInput::Render {
                template,
                variables,
            } => {
                let (text, r) = self.render_with(plugin, template, variables)?;
                (
                    Kind::PromptTemplate,
                    serde_json::json!({ "template": template, "text": text }),
                    r,
                )
            }
            TestInput::Run { config, context } => {
                let (commands, r) = self.run_action(plugin, config, context)?;
                (
                    Kind::PipelineAction,
                    serde_json::json!({ "commands": commands }),
                    r,
                )
            }
        };
        Ok(TestOutcome {
            plugin: plugin.id.clone(),
            version: plugin.version.clone(),
            kind,
            result,
            receipt,
        })
    }
}
