//! `std-prompt-templates`: what clearctx tells orchestrators and workers.
//!
//! The templates are MiniJinja files in `templates/`. Rendering is strict: a required
//! variable that is missing is an error naming it, never a blank in the prompt.

use std::sync::OnceLock;

use clearctx_plugin_sdk::{PluginError, Template, TemplateInfo, Value, template};
use minijinja::{Environment, UndefinedBehavior};

struct Spec {
    name: &'static str,
    description: &'static str,
    source: &'static str,
    /// Every variable it reads, in the order a slash command takes them as arguments.
    variables: &'static [&'static str],
    /// Those it renders without; the host names them in the description.
    optional: &'static [&'static str],
}

impl Spec {
    fn required(&self) -> impl Iterator<Item = &&'static str> {
        self.variables.iter().filter(|v| !self.optional.contains(v))
    }
}

const TEMPLATES: &[Spec] = &[
    Spec {
        name: "orchestrator",
        description: "Briefs the session that plans the work, assigns contracts and judges results: when to delegate, conventions first, contracts instead of message routing, phase gates, the 60/20/20 budget and the correction loop",
        source: include_str!("../templates/orchestrator.j2"),
        variables: &["team", "budget", "project", "goal"],
        optional: &["budget", "goal"],
    },
    Spec {
        name: "worker",
        description: "Briefs a session that does one contract's work and publishes its results",
        source: include_str!("../templates/worker.j2"),
        variables: &["contract_id", "name", "role", "team", "task", "conventions", "roster", "contracts"],
        optional: &["contract_id", "task", "conventions", "roster", "contracts"],
    },
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Strict: a typo in a template fails loudly instead of rendering an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Block tags take their own line without leaving a blank one behind.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for spec in TEMPLATES {
            // The templates are part of this crate and a unit test renders each of them.
            env.add_template(spec.name, spec.source)
                .expect("built-in template parses");
        }
        env
    })
}

struct PromptTemplates;

impl Template for PromptTemplates {
    fn templates() -> Vec<TemplateInfo> {
        TEMPLATES
            .iter()
            .map(|t| {
                let optional = t.optional.join(", ");
                let description = format!("{} (optional: {optional})", t.description);
                TemplateInfo::new(t.name, description, t.variables)
            })
            .collect()
    }

    fn render(name: &str, variables: &Value) -> Result<String, PluginError> {
        let Some(spec) = TEMPLATES.iter().find(|t| t.name == name) else {
            let known: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
            return Err(PluginError::InvalidInput(format!(
                "unknown template `{name}`; this plugin renders {}",
                known.join(", ")
            )));
        };
        let Value::Object(given) = variables else {
            return Err(PluginError::InvalidInput(
                "the variables must be a JSON object".into(),
            ));
        };
        // MiniJinja's strict mode says "undefined value" without naming it, so check first.
        if let Some(missing) = spec.required().find(|v| !given.contains_key(**v)) {
            let required: Vec<&str> = spec.required().copied().collect();
            return Err(PluginError::InvalidInput(format!(
                "template `{name}` needs the variable `{missing}` (it reads {})",
                required.join(", ")
            )));
        }
        let template = environment()
            .get_template(name)
            .expect("every spec is added");
        template
            .render(variables)
            .map_err(|e| PluginError::InvalidInput(format!("rendering `{name}` failed: {e}")))
    }
}

template!(PromptTemplates);

#[cfg(test)]
mod tests {
    use super::*;
    use clearctx_plugin_sdk::json;

    fn render(name: &str, variables: Value) -> String {
        PromptTemplates::render(name, &variables).unwrap()
    }

    #[test]
    fn templates_list_every_variable_they_read() {
        let infos = PromptTemplates::templates();
        assert_eq!(infos[0].variables, ["team", "budget", "project", "goal"]);
        assert!(infos[0].description.ends_with("(optional: budget, goal)"));
        assert_eq!(
            infos[1].variables,
            ["contract_id", "name", "role", "team", "task", "conventions", "roster", "contracts"]
        );
        assert!(
            infos[1]
                .description
                .ends_with("(optional: contract_id, task, conventions, roster, contracts)")
        );
    }

    #[test]
    fn orchestrator_names_the_team_and_shows_the_goal_only_when_given() {
        let with_goal = render(
            "orchestrator",
            json!({"project": "shop", "team": "core", "goal": "Add login"}),
        );
        assert!(with_goal.starts_with("You are the orchestrator of team `core`, working on shop.\n\n## Goal\n\nAdd login\n\nYou run"), "{with_goal}");
        assert!(with_goal.contains("`contract_list` with `team: \"core\"`"));
        let without = render("orchestrator", json!({"project": "shop", "team": "core"}));
        assert!(
            without.starts_with(
                "You are the orchestrator of team `core`, working on shop.\n\nYou run"
            ),
            "{without}"
        );
        assert_eq!(without.matches("\n\n\n").count(), 0, "{without}");
    }

    #[test]
    fn orchestrator_teaches_the_strategy_and_splits_the_budget_60_20_20() {
        let text = render(
            "orchestrator",
            json!({"project": "shop", "team": "core", "budget": "$5"}),
        );
        for rule in [
            "## When to delegate",
            "Do it yourself when it is small",
            "`shared-conventions` artifact",
            "Never relay a message",
            "call `phase_gate`",
            "## The correction loop",
            "\"fix it\" is not a reason",
        ] {
            assert!(text.contains(rule), "no `{rule}` in:\n{text}");
        }
        assert!(
            text.contains("The team's budget is $5.0. Split it 60/20/20: $3.0 for the\ncontracts' main work, $1.0 for tests, $1.0 kept in reserve"),
            "{text}"
        );
        let plain = render("orchestrator", json!({"project": "shop", "team": "core"}));
        assert!(plain.contains("Split any budget 60/20/20: 60% for the contracts' main work"));
        assert_eq!(plain.matches("\n\n\n").count(), 0, "{plain}");
        assert_eq!(text.matches("\n\n\n").count(), 0, "{text}");
        let bad = PromptTemplates::render(
            "orchestrator",
            &json!({"project": "shop", "team": "core", "budget": "lots"}),
        );
        assert!(matches!(bad, Err(PluginError::InvalidInput(_))), "{bad:?}");
    }

    #[test]
    fn worker_points_at_its_contract_and_lists_conventions_of_any_shape() {
        let base = json!({"name": "api-dev", "role": "backend developer", "team": "core", "task": "Build the users API."});
        let plain = render("worker", base.clone());
        assert!(plain.contains("1. Call `team_check_inbox` to find the contract"));
        assert!(plain.contains("4. Read the team's `shared-conventions` artifact"));
        let contract_only = render(
            "worker",
            json!({"name": "api-dev", "role": "backend developer", "team": "core", "contract_id": "build-api"}),
        );
        assert!(
            contract_only.contains("## Your task\n\nThis task is contract `build-api`."),
            "{contract_only}"
        );
        assert!(!plain.contains("## Team conventions"));

        let mut full = base.clone();
        full["contract_id"] = json!("build-api");
        full["conventions"] = json!({"naming": "snake_case", "errors": {"format": "problem+json"}});
        let full = render("worker", full);
        assert!(full.contains("This task is contract `build-api`.\n\n1. Call `contract_get` with `contract_id: \"build-api\"`"));
        assert!(full.contains("## Team conventions\n\n- errors: {\"format\":\"problem+json\"}\n- naming: snake_case\n\n## Publish"), "{full}");

        let mut listed = base;
        listed["conventions"] = json!(["IDs are kebab-case", {"rule": "log to stderr"}]);
        assert!(
            render("worker", listed)
                .contains("- IDs are kebab-case\n- {\"rule\":\"log to stderr\"}\n")
        );
        assert_eq!(plain.matches("\n\n\n").count(), 0, "{plain}");
    }

    #[test]
    fn worker_lists_its_team_and_its_contracts_when_given() {
        let mut vars = json!({"name": "api-dev", "role": "backend developer", "team": "core", "task": "Build it."});
        vars["roster"] = json!([{"name": "api-dev", "role": "backend developer"}, {"name": "qa", "role": "tester"}]);
        vars["contracts"] = json!([{"contract_id": "build-api", "status": "ready", "title": "Build the API"}]);
        let text = render("worker", vars);
        assert!(text.contains("## Your team\n\n- `api-dev`: backend developer\n- `qa`: tester\n"), "{text}");
        assert!(text.contains("## Contracts assigned to you\n\n- `build-api` (ready): Build the API\n\n## Publish"), "{text}");
        assert_eq!(text.matches("\n\n\n").count(), 0, "{text}");
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        assert_eq!(
            PromptTemplates::render("worker", &json!({"name": "a", "role": "b"})),
            Err(PluginError::InvalidInput(
                "template `worker` needs the variable `team` (it reads name, role, team)"
                    .into()
            ))
        );
    }

    #[test]
    fn unknown_templates_and_non_object_variables_are_invalid_input() {
        assert_eq!(
            PromptTemplates::render("reviewer", &json!({})),
            Err(PluginError::InvalidInput(
                "unknown template `reviewer`; this plugin renders orchestrator, worker".into()
            ))
        );
        assert_eq!(
            PromptTemplates::render("worker", &json!("x")),
            Err(PluginError::InvalidInput(
                "the variables must be a JSON object".into()
            ))
        );
    }
}
