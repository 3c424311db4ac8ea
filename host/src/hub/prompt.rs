//! Prompts: the templates of the enabled template plugins, listed with their arguments and
//! rendered with the caller's defaults (what MCP's `prompts/list` / `prompts/get` and
//! `clearctx prompt` show).

use serde_json::{Map, Value};

use super::*;

/// A template offered as a prompt.
#[derive(Debug, Clone, Serialize)]
pub struct PromptInfo {
    pub name: String,
    pub description: String,
    /// In the template's declared order, which is how a slash command takes them.
    pub arguments: Vec<PromptArgument>,
    /// The plugin that renders it.
    pub plugin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromptArgument {
    pub name: String,
    pub description: String,
    /// The template needs it and clearctx has no default for it.
    pub required: bool,
}

/// A rendered prompt.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedPrompt {
    pub name: String,
    pub description: String,
    pub plugin: String,
    /// The variables it was rendered with, defaults included.
    pub arguments: Map<String, Value>,
    pub text: String,
}

/// Splits a template's description from its list of optional variables, which template
/// plugins say at its end as `(optional: a, b)` (the SDK's convention); every other declared
/// variable is one the template needs.
fn split_description(description: &str) -> (&str, Vec<&str>) {
    if let Some(start) = description.rfind("(optional:")
        && description.ends_with(')')
    {
        let list = &description[start + "(optional:".len()..description.len() - 1];
        let optional = list
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        return (description[..start].trim_end(), optional);
    }
    (description, Vec::new())
}

impl Hub {
    /// What clearctx fills in for a variable nobody gave, from the caller and the place.
    fn prompt_default(&self, variable: &str) -> Option<Value> {
        let value = match variable {
            "team" => self.caller.team.clone(),
            "name" => self.caller.session.clone(),
            "role" => "worker".to_string(),
            "project" => std::env::current_dir()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "this project".to_string()),
            "data_dir" => self.home.display().to_string(),
            _ => return None,
        };
        Some(Value::String(value))
    }

    fn argument_description(&self, variable: &str) -> String {
        match variable {
            "team" => format!("Team name [default: the caller's team, `{}`]", self.caller.team),
            "budget" => "Total budget in US dollars (e.g. 5), split 60/20/20 between the work, tests and a reserve".into(),
            "project" => "What the team works on [default: the working directory's name]".into(),
            "goal" => "What the team is to build".into(),
            "name" => format!("The session's name [default: the caller, `{}`]", self.caller.session),
            "role" => "The session's role, e.g. backend developer [default: worker]".into(),
            "task" => "The task, when it is not (only) a contract".into(),
            "contract_id" => "The contract the session works on".into(),
            "conventions" => "The team's conventions: text, a list or an object".into(),
            "data_dir" => "The clearctx data dir [default: this server's]".into(),
            other => format!("The template's variable `{other}`"),
        }
    }

    fn prompt_info(&self, t: plugins::TemplateInfo) -> PromptInfo {
        let (description, optional) = split_description(&t.description);
        let arguments = t
            .variables
            .iter()
            .map(|v| PromptArgument {
                name: v.clone(),
                description: self.argument_description(v),
                required: !optional.contains(&v.as_str()) && self.prompt_default(v).is_none(),
            })
            .collect();
        PromptInfo {
            name: t.name.clone(),
            description: description.to_string(),
            arguments,
            plugin: t.plugin,
        }
    }

    /// Every template of the enabled template plugins (an installed one overrides a
    /// standard one of the same name), as a prompt.
    pub fn prompts(&self) -> Result<Vec<PromptInfo>> {
        Ok(self
            .plugins
            .templates()?
            .into_iter()
            .map(|t| self.prompt_info(t))
            .collect())
    }

    /// Renders prompt `name` with `arguments`; variables it declares and nobody gave take
    /// the caller's defaults (team, name, project, …). An unknown name or a missing
    /// required argument is invalid input naming what is known or needed.
    pub fn prompt(&self, name: &str, arguments: &Map<String, Value>) -> Result<RenderedPrompt> {
        let prompts = self.prompts()?;
        let Some(info) = prompts.iter().find(|p| p.name == name) else {
            let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::invalid(
                "name",
                format!(
                    "no prompt `{name}`; the prompts are: {} (a template plugin adds more)",
                    names.join(", ")
                ),
            ));
        };
        if let Some(unknown) = arguments
            .keys()
            .find(|k| !info.arguments.iter().any(|a| &a.name == *k))
        {
            let known: Vec<&str> = info.arguments.iter().map(|a| a.name.as_str()).collect();
            return Err(Error::invalid(
                format!("arguments.{unknown}"),
                format!(
                    "prompt `{name}` takes no argument `{unknown}`; it takes {}",
                    known.join(", ")
                ),
            ));
        }
        let missing: Vec<&str> = info
            .arguments
            .iter()
            .filter(|a| a.required && !arguments.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if let Some(first) = missing.first() {
            let usage: Vec<&str> = info.arguments.iter().map(|a| a.name.as_str()).collect();
            return Err(Error::invalid(
                format!("arguments.{first}"),
                format!(
                    "prompt `{name}` needs the argument{} {} (it takes {})",
                    if missing.len() > 1 { "s" } else { "" },
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    usage.join(", ")
                ),
            ));
        }
        let mut variables = Map::new();
        for a in &info.arguments {
            // An empty value (a slash command's missing word) is as good as none.
            let given = arguments
                .get(&a.name)
                .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""));
            if let Some(v) = given.cloned().or_else(|| self.prompt_default(&a.name)) {
                variables.insert(a.name.clone(), v);
            }
        }
        let vars = Value::Object(variables.clone());
        let (text, _, plugin) = self.plugins.render(name, &vars)?;
        Ok(RenderedPrompt {
            name: name.to_string(),
            description: info.description.clone(),
            plugin,
            arguments: variables,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_description;

    #[test]
    fn the_optional_variables_are_read_off_the_description() {
        assert_eq!(
            split_description("Briefs a worker (optional: task, contract_id)"),
            ("Briefs a worker", vec!["task", "contract_id"])
        );
        assert_eq!(split_description("Greets someone"), ("Greets someone", vec![]));
        assert_eq!(split_description("x (optional: )"), ("x", vec![]));
    }
}
