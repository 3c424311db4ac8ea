//! `clearctx plugin …`: install, inspect, scaffold and test WebAssembly plugins.

use std::path::PathBuf;

use clap::Subcommand;
use clap::builder::TypedValueParser as _;

use serde_json::json;

use super::{Output, out, parse_json, read_json_arg, render, reply};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ops;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin from a .wasm component, a folder with clearctx-plugin.toml, or a plugin crate
    Add {
        /// Path to the .wasm, the folder, or the crate (built for wasm32-wasip2)
        source: PathBuf,
        /// Consent without asking (for scripts)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Grant only this capability (repeatable); default: all the plugin requests
        #[arg(long = "grant", value_name = "CAPABILITY")]
        grants: Vec<String>,
        /// Take over the types this installed plugin validates (repeatable)
        #[arg(long = "replace", value_name = "PLUGIN")]
        replace: Vec<String>,
    },
    /// List installed and standard plugins
    List,
    /// Show a plugin's kinds, limits, grants, health and resource use
    Info {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Uninstall a plugin
    Remove {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Enable an installed plugin
    Enable {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Disable an installed plugin (it stays installed)
    Disable {
        /// The plugin id, e.g. `std-json-schema`
        id: String,
    },
    /// Create a plugin crate that builds, tests and installs as it is
    New {
        /// artifact-validator, pipeline-condition, pipeline-action or prompt-template
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["artifact-validator", "pipeline-condition", "pipeline-action", "prompt-template"]).try_map(|s: String| parse_kind(&s)))]
        kind: crate::plugins::Kind,
        /// Name of the plugin (and of its folder)
        name: String,
        /// Where to create the folder [default: the current directory]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The clearctx-plugin-sdk crate to depend on [default: the copy this clearctx carries, written into the data dir]
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Run a plugin once in the real sandbox on an input
    Test {
        /// An installed or standard plugin id, or a path as for `plugin add`
        plugin: String,
        /// The input as JSON: artifact data, a condition's context, template variables or an action's context
        #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the input from a file (`-` for stdin)
        #[arg(long, value_name = "PATH")]
        input_file: Option<PathBuf>,
        /// Validators: the artifact type [default: the first the plugin declares]
        #[arg(long = "type", value_name = "TYPE")]
        artifact_type: Option<String>,
        /// Conditions: the expression to evaluate
        #[arg(long)]
        expression: Option<String>,
        /// Templates: the template to render
        #[arg(long)]
        template: Option<String>,
        /// Actions: the rule's config, as JSON
        #[arg(long, value_name = "JSON")]
        config: Option<String>,
    },
}

fn parse_kind(s: &str) -> std::result::Result<crate::plugins::Kind, String> {
    crate::plugins::Kind::parse(s).ok_or_else(|| {
        format!("`{s}` is not artifact-validator, pipeline-condition, pipeline-action or prompt-template")
    })
}

/// Asks the person at the terminal to consent to an install; scripts pass `--yes`.
fn consent(report: &crate::plugins::AddReport) -> Result<()> {
    use std::io::{IsTerminal, Write};
    eprintln!("{}", render::add_report(report));
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "--yes",
            format!(
                "installing plugin `{}` needs your consent; rerun with --yes to grant what is listed above",
                report.id
            ),
        ));
    }
    eprint!("Install it? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::conflict(format!(
            "plugin `{}` was not installed: consent declined",
            report.id
        )))
    }
}

pub(super) fn run(hub: &Hub, command: PluginCommand) -> Result<Output> {
    use crate::plugins::{AddOptions, Kind, NewOptions, Source, TestInput};
    match command {
        PluginCommand::Add {
            source,
            yes,
            grants,
            replace,
        } => {
            let options = AddOptions {
                grants: (!grants.is_empty()).then_some(grants),
                replace,
            };
            let report = hub.plugins().plan(&Source::Path(source), &options)?;
            if let Err(e) = report.check_conflicts() {
                eprintln!("{}", render::add_report(&report));
                return Err(e);
            }
            if yes {
                eprintln!("{}", render::add_report(&report));
            } else {
                consent(&report)?;
            }
            let entry = hub.plugin_commit(&report)?;
            let text = format!(
                "installed {} {} ({}){}",
                entry.id,
                entry.version,
                entry
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                report
                    .replaces
                    .as_ref()
                    .map(|v| format!(", replacing {v}"))
                    .unwrap_or_default()
            );
            Ok(out(&entry, text))
        }
        PluginCommand::List => {
            let list = hub.plugin_list()?;
            let text = render::plugins(&list);
            Ok(reply(
                ops::replies::plugin_list(&ops::NoArgs {}, &list),
                text,
            ))
        }
        PluginCommand::Info { id } => {
            let req = ops::PluginIdRequest { plugin: id };
            let d = hub.plugin_info(&req.plugin)?;
            let text = render::plugin_detail(&d);
            Ok(reply(ops::replies::plugin_info(&req, &d), text))
        }
        PluginCommand::Remove { id } => {
            let s = hub.plugin_remove(&id)?;
            Ok(out(&s, format!("removed {} {}", s.id, s.version)))
        }
        PluginCommand::Enable { id } => {
            let s = hub.plugin_set_enabled(&id, true)?;
            Ok(out(&s, format!("enabled {}", s.id)))
        }
        PluginCommand::Disable { id } => {
            let s = hub.plugin_set_enabled(&id, false)?;
            Ok(out(&s, format!("disabled {}", s.id)))
        }
        PluginCommand::New {
            kind,
            name,
            dir,
            sdk,
        } => {
            let dir = match dir {
                Some(d) => d,
                None => {
                    std::env::current_dir().map_err(|e| Error::invalid("--dir", e.to_string()))?
                }
            };
            let path = crate::plugins::scaffold(&NewOptions {
                kind,
                name: name.clone(),
                dir,
                sdk,
                home: hub.home().to_path_buf(),
            })?;
            let text = format!(
                "created {} ({})\nnext: cd {} && cargo test && clearctx plugin add .",
                path.display(),
                kind.as_str(),
                path.display()
            );
            Ok(out(
                &json!({ "path": path, "kind": kind, "name": name }),
                text,
            ))
        }
        PluginCommand::Test {
            plugin,
            input,
            input_file,
            artifact_type,
            expression,
            template,
            config,
        } => {
            // A plain name is the installed (or standard) plugin, even if a folder of that
            // name is here; a path (with a `/`) is built and tested without installing.
            let path = PathBuf::from(&plugin);
            let installed = (!plugin.contains('/')).then(|| hub.plugins().resolve(&plugin));
            let (resolved, kinds, tested) = match installed {
                Some(Ok(r)) => {
                    let kinds = hub.plugin_info(&plugin)?.summary.kinds;
                    let what = format!("the installed plugin `{}` {}", r.id, r.version);
                    (r, kinds, what)
                }
                Some(Err(e)) if !path.exists() => return Err(e),
                _ => {
                    let report = hub
                        .plugins()
                        .plan(&Source::Path(path), &AddOptions::default())?;
                    let what = format!("the component built from `{}`", report.source);
                    (hub.plugins().probe(&report), report.kinds, what)
                }
            };
            let input = read_json_arg("input", input.as_deref(), input_file.as_ref())?
                .unwrap_or_else(|| json!({}));
            let test = if let Some(expression) = expression {
                TestInput::Evaluate {
                    expression,
                    context: input,
                }
            } else if let Some(template) = template {
                TestInput::Render {
                    template,
                    variables: input,
                }
            } else if let Some(config) = config {
                TestInput::Run {
                    config: parse_json("--config", &config)?,
                    context: input,
                }
            } else {
                match kinds.first() {
                    Some(Kind::ArtifactValidator) => TestInput::Validate {
                        artifact_type,
                        data: input,
                    },
                    Some(Kind::PipelineCondition) => {
                        return Err(Error::invalid(
                            "--expression",
                            "a condition plugin needs --expression",
                        ));
                    }
                    Some(Kind::PromptTemplate) => {
                        return Err(Error::invalid(
                            "--template",
                            "a template plugin needs --template",
                        ));
                    }
                    Some(Kind::PipelineAction) => TestInput::Run {
                        config: json!({}),
                        context: input,
                    },
                    None => return Err(Error::invalid("plugin", "it declares no kind")),
                }
            };
            let outcome = hub.plugins().test(&resolved, &test)?;
            let text = format!("tested {tested}\n{}", render::test_outcome(&outcome));
            let mut output = out(&outcome, text);
            // Invalid input fails the command, as `artifact publish` does.
            if outcome.result["valid"] == false {
                output.code = 1;
            }
            Ok(output)
        }
    }
}
