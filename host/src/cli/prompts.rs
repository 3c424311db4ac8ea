//! `clearctx prompt`: the prompts MCP serves (`prompts/list`, `prompts/get`), for people.

use clap::Subcommand;
use serde_json::{Map, Value};

use super::{Output, out};
use crate::error::{Error, Result};
use crate::hub::Hub;

#[derive(Debug, Subcommand)]
pub enum PromptCommand {
    /// List the prompts (the templates of the enabled template plugins) and their arguments
    List,
    /// Print a prompt rendered as Claude Code's `/mcp__clearctx__<name>` would get it
    Get {
        /// The prompt, e.g. orchestrator or worker
        name: String,
        /// An argument as name=value, e.g. --arg team=core --arg budget=5 (repeatable)
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
}

pub(super) fn run(hub: &Hub, c: PromptCommand) -> Result<Output> {
    match c {
        PromptCommand::List => {
            let prompts = hub.prompts()?;
            let mut text = String::new();
            for p in &prompts {
                text.push_str(&format!("{}  ({})\n  {}\n", p.name, p.plugin, p.description));
                for a in &p.arguments {
                    let req = if a.required { ", required" } else { "" };
                    text.push_str(&format!("    {}{req}: {}\n", a.name, a.description));
                }
            }
            Ok(out(&serde_json::json!({ "prompts": prompts }), text.trim_end().to_string()))
        }
        PromptCommand::Get { name, args } => {
            let mut arguments = Map::new();
            for a in args {
                let Some((k, v)) = a.split_once('=') else {
                    return Err(Error::invalid(
                        "--arg",
                        format!("`{a}` is not NAME=VALUE (e.g. --arg team=core)"),
                    ));
                };
                arguments.insert(k.trim().to_string(), Value::String(v.to_string()));
            }
            let p = hub.prompt(&name, &arguments)?;
            let text = p.text.trim_end().to_string();
            Ok(out(&p, text))
        }
    }
}
