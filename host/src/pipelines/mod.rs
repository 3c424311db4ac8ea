//! `pipelines`: rules that react to events. A rule is a trigger (an event kind and
//! filters), an optional condition (an expression a condition plugin evaluates over the
//! event's context) and an action (a built-in one, or a `pipeline-action` plugin whose
//! commands are checked against its grants).
//!
//! Rules fire in the pipelines reaction ([`react`], in `fire.rs`), inside the transaction
//! that appended the event, so each event fires each matching rule exactly once however many
//! processes share the data dir; every firing is a row of `pipeline_firings`. A pipeline
//! acts with the authority of whoever created it: an orchestrator's may reopen any contract,
//! a worker's only what that worker could do itself.

mod context;
mod fire;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::artifacts::PublishRequest;
use crate::contracts::CreateRequest as ContractCreate;
use crate::error::{Error, Result};
use crate::ids::{check_id, check_opt_id};
use crate::model::Caller;
use crate::store::page::{self, Page};
use crate::store::{NewEvent, Tx};

pub use crate::model::pipelines::{Firing, Outcome};
pub(crate) use crate::model::pipelines::Row;
pub use context::interpolate;
pub use fire::{MAX_DEPTH, react};

/// Rules one pipeline may hold.
pub const MAX_RULES: usize = 200;
/// Longest condition expression, in bytes.
pub const MAX_CONDITION: usize = 4096;

/// The events a rule can react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    /// A new version of an artifact was published (`artifact.published`).
    ArtifactPublished,
    /// An artifact version became stale: an input it was derived from moved on (`artifact.stale`).
    ArtifactStale,
    /// A contract's dependencies all hold (`contract.ready`).
    ContractReady,
    /// A contract was completed (`contract.completed`).
    ContractCompleted,
    /// A contract failed, or timed out (`contract.failed`).
    ContractFailed,
    /// A contract was reopened (`contract.reopened`).
    ContractReopened,
    /// A session finished a turn and waits (`session.turn_completed`).
    SessionIdle,
    /// A session's process failed (`session.failed`).
    SessionFailed,
}

impl TriggerType {
    pub const ALL: [TriggerType; 8] = [
        TriggerType::ArtifactPublished,
        TriggerType::ArtifactStale,
        TriggerType::ContractReady,
        TriggerType::ContractCompleted,
        TriggerType::ContractFailed,
        TriggerType::ContractReopened,
        TriggerType::SessionIdle,
        TriggerType::SessionFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerType::ArtifactPublished => "artifact_published",
            TriggerType::ArtifactStale => "artifact_stale",
            TriggerType::ContractReady => "contract_ready",
            TriggerType::ContractCompleted => "contract_completed",
            TriggerType::ContractFailed => "contract_failed",
            TriggerType::ContractReopened => "contract_reopened",
            TriggerType::SessionIdle => "session_idle",
            TriggerType::SessionFailed => "session_failed",
        }
    }

    /// The event kind this trigger fires on.
    pub fn event_kind(self) -> &'static str {
        match self {
            TriggerType::ArtifactPublished => "artifact.published",
            TriggerType::ArtifactStale => "artifact.stale",
            TriggerType::ContractReady => "contract.ready",
            TriggerType::ContractCompleted => "contract.completed",
            TriggerType::ContractFailed => "contract.failed",
            TriggerType::ContractReopened => "contract.reopened",
            TriggerType::SessionIdle => "session.turn_completed",
            TriggerType::SessionFailed => "session.failed",
        }
    }

    pub fn for_event(kind: &str) -> Option<TriggerType> {
        TriggerType::ALL.into_iter().find(|t| t.event_kind() == kind)
    }

    fn is_artifact(self) -> bool {
        matches!(
            self,
            TriggerType::ArtifactPublished | TriggerType::ArtifactStale
        )
    }

    fn is_contract(self) -> bool {
        self.as_str().starts_with("contract_")
    }
}

/// Which events of a kind a rule reacts to; every filter given must match.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The event kind: artifact_published, artifact_stale, contract_ready,
    /// contract_completed, contract_failed, contract_reopened, session_idle or session_failed.
    #[serde(rename = "type")]
    pub kind: TriggerType,
    /// Only artifacts of this type (artifact triggers).
    #[serde(default, alias = "artifactType", skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Only this artifact (artifact triggers).
    #[serde(default, alias = "artifactId", skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    /// Only this contract (contract triggers).
    #[serde(default, alias = "contractId", skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// Only this session (session triggers) or its contracts (contract triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Only events of this team; default: the pipeline's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// What a rule does when it fires. String fields may interpolate the event's context:
/// `${data.failed}`, `${artifact.version}`, `${contract.assignee}`, `${event.seq}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Put a message in a session's inbox (see team_check_inbox).
    NotifySession {
        /// The session to notify.
        target: String,
        /// The message.
        message: String,
    },
    /// Send a running worker a turn.
    SendMessage {
        /// The worker session.
        to: String,
        /// What the worker is told.
        message: String,
    },
    /// Reopen a completed, failed or in-progress contract with a reason.
    ReopenContract {
        /// The contract.
        #[serde(alias = "contractId")]
        contract_id: String,
        /// Why; shown to the assignee.
        reason: String,
    },
    /// Create a contract.
    CreateContract {
        /// The arguments of contract_create, e.g. {"contract_id": "fix-${artifact.version}", "title": "...", "assignee": "..."}.
        #[schemars(schema_with = "crate::schema::json_object")]
        contract: Value,
    },
    /// Complete an in-progress contract (for its assignee).
    CompleteContract {
        /// The contract.
        #[serde(alias = "contractId")]
        contract_id: String,
        /// What was done.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
    },
    /// Publish an artifact version (validated like any publish).
    PublishArtifact {
        /// The arguments of artifact_publish, e.g. {"artifact_id": "report", "type": "note", "data": {...}}.
        #[schemars(schema_with = "crate::schema::json_object")]
        artifact: Value,
    },
    /// Run a `pipeline-action` plugin; its commands run only if all were granted at `plugin add`.
    Plugin {
        /// The installed plugin's id.
        plugin: String,
        /// Its configuration (JSON), passed to it as given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(schema_with = "crate::schema::any_json")]
        config: Option<Value>,
    },
}

impl Action {
    pub fn type_name(&self) -> &'static str {
        match self {
            Action::NotifySession { .. } => "notify_session",
            Action::SendMessage { .. } => "send_message",
            Action::ReopenContract { .. } => "reopen_contract",
            Action::CreateContract { .. } => "create_contract",
            Action::CompleteContract { .. } => "complete_contract",
            Action::PublishArtifact { .. } => "publish_artifact",
            Action::Plugin { .. } => "plugin",
        }
    }
}

/// One rule: when `trigger` matches an event and `condition` holds, do `action`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name for the logs; default `rule-<index>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which events it reacts to; every filter given must match.
    pub trigger: Trigger,
    /// Over `data`, `artifact`, `contract`, `session`, `event`, e.g. `data.failed > 0`; CEL
    /// unless `condition_plugin` names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The `pipeline-condition` plugin evaluating `condition` [default std-cel-condition].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_plugin: Option<String>,
    /// What to do; its strings may use the event's `${data.failed}`, `${artifact.version}`,
    /// `${contract.assignee}`, `${event.seq}`.
    pub action: Action,
}

impl Rule {
    pub fn label(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("rule-{index}"))
    }
}

/// Arguments of `pipeline_create`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// ID of the pipeline, e.g. `ci-loop`.
    pub pipeline_id: String,
    /// The rules, in the order they fire for one event.
    pub rules: Vec<Rule>,
    /// What the pipeline is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The team whose events it reacts to [default: the caller's].
    #[serde(default)]
    pub team: Option<String>,
    /// Start disabled [default: enabled at once].
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Replace a pipeline with this id (else an existing id is refused).
    #[serde(default)]
    pub replace: Option<bool>,
}

/// Arguments of `pipeline_get` and `pipeline_delete`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineIdRequest {
    /// ID of the pipeline.
    pub pipeline_id: String,
}

/// Arguments of `pipeline_set_enabled`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnabledRequest {
    /// ID of the pipeline.
    pub pipeline_id: String,
    /// true: its rules fire; false: they are kept but fire for nothing.
    pub enabled: bool,
}

/// Arguments of `pipeline_list`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only this team's pipelines.
    #[serde(default)]
    pub team: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `pipeline_logs`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsRequest {
    /// Only this pipeline's firings (deleted pipelines' too).
    #[serde(default)]
    pub pipeline_id: Option<String>,
    /// Only firings that ended so.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Page size [default 100, at most 1000].
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A pipeline as the tools show it.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub pipeline_id: String,
    pub team: String,
    pub description: String,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub rules: Vec<Rule>,
    /// The latest firings, newest first (pipeline_get only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_firings: Option<Vec<Firing>>,
}

/// What a plugin check at `pipeline_create` needs: the hub answers from its plugin host.
pub trait PluginCheck {
    /// Whether `expression` compiles for condition plugin `plugin` (None: the standard
    /// one): `Ok(None)` it does, `Ok(Some(why))` it does not.
    fn condition(&self, plugin: Option<&str>, expression: &str) -> Result<Option<String>>;
    /// That `plugin` is installed, enabled and of the `pipeline-action` kind.
    fn action(&self, plugin: &str) -> Result<()>;
}

/// Checks a whole request before the store is touched: shapes, ids, conditions (compiled
/// by their plugin), action plugins. Every error names the rule index and the field.
pub fn check(req: &CreateRequest, plugins: &dyn PluginCheck) -> Result<()> {
    check_id("pipeline_id", &req.pipeline_id)?;
    check_opt_id("team", req.team.as_deref())?;
    if req.rules.is_empty() {
        return Err(Error::invalid("rules", "a pipeline needs at least one rule"));
    }
    if req.rules.len() > MAX_RULES {
        return Err(Error::invalid(
            "rules",
            format!(
                "{} rules; a pipeline holds at most {MAX_RULES}",
                req.rules.len()
            ),
        ));
    }
    if let Some(d) = &req.description
        && d.len() > 4096
    {
        return Err(Error::invalid(
            "description",
            "is over 4096 bytes".to_string(),
        ));
    }
    for (i, rule) in req.rules.iter().enumerate() {
        check_rule(i, rule, plugins)?;
    }
    Ok(())
}

fn check_rule(i: usize, rule: &Rule, plugins: &dyn PluginCheck) -> Result<()> {
    let f = |field: &str| format!("rules[{i}].{field}");
    check_opt_id(&f("name"), rule.name.as_deref())?;
    let t = &rule.trigger;
    check_opt_id(&f("trigger.artifact_type"), t.artifact_type.as_deref())?;
    check_opt_id(&f("trigger.artifact_id"), t.artifact_id.as_deref())?;
    check_opt_id(&f("trigger.contract_id"), t.contract_id.as_deref())?;
    check_opt_id(&f("trigger.session"), t.session.as_deref())?;
    check_opt_id(&f("trigger.team"), t.team.as_deref())?;
    let misplaced = [
        ("artifact_type", t.artifact_type.is_some() && !t.kind.is_artifact()),
        ("artifact_id", t.artifact_id.is_some() && !t.kind.is_artifact()),
        ("contract_id", t.contract_id.is_some() && !t.kind.is_contract()),
        ("session", t.session.is_some() && t.kind.is_artifact()),
    ];
    if let Some((name, _)) = misplaced.iter().find(|(_, bad)| *bad) {
        return Err(Error::invalid(
            f(&format!("trigger.{name}")),
            format!(
                "a `{}` trigger has no {name} to filter on",
                t.kind.as_str()
            ),
        ));
    }
    if rule.condition_plugin.is_some() && rule.condition.is_none() {
        return Err(Error::invalid(
            f("condition_plugin"),
            "names a condition plugin but the rule has no `condition`",
        ));
    }
    check_opt_id(&f("condition_plugin"), rule.condition_plugin.as_deref())?;
    if let Some(expr) = &rule.condition {
        if expr.trim().is_empty() {
            return Err(Error::invalid(
                f("condition"),
                "is empty; leave `condition` out for a rule that always fires",
            ));
        }
        if expr.len() > MAX_CONDITION {
            return Err(Error::invalid(
                f("condition"),
                format!("is {} bytes; the limit is {MAX_CONDITION}", expr.len()),
            ));
        }
        if let Some(why) = plugins
            .condition(rule.condition_plugin.as_deref(), expr)
            .map_err(|e| in_rule(e, &f("condition_plugin")))?
        {
            return Err(Error::invalid(
                f("condition"),
                format!("`{expr}` does not compile: {why}"),
            ));
        }
    }
    check_action(&rule.action, &|field| f(&format!("action.{field}")), plugins)
}

/// An error from a plugin lookup, said about the rule's field.
fn in_rule(e: Error, field: &str) -> Error {
    match e {
        Error::NotFound { what, id, .. } => Error::invalid(
            field,
            format!("{what} `{id}` is not installed (`plugin_list` shows what is)"),
        ),
        Error::Invalid { message, .. } => Error::invalid(field, message),
        other => other,
    }
}

fn check_action(a: &Action, f: &dyn Fn(&str) -> String, plugins: &dyn PluginCheck) -> Result<()> {
    // Ids with `${...}` in them are known only when the rule fires.
    let id = |field: &str, v: &str| {
        if v.contains("${") {
            context::check_template(&f(field), v)
        } else {
            check_id(&f(field), v)
        }
    };
    let text = |field: &str, v: &str| {
        if v.trim().is_empty() {
            return Err(Error::invalid(f(field), "must not be empty"));
        }
        context::check_template(&f(field), v)
    };
    match a {
        Action::NotifySession { target, message } => {
            id("target", target)?;
            text("message", message)
        }
        Action::SendMessage { to, message } => {
            id("to", to)?;
            text("message", message)
        }
        Action::ReopenContract {
            contract_id,
            reason,
        } => {
            id("contract_id", contract_id)?;
            text("reason", reason)
        }
        Action::CompleteContract {
            contract_id,
            summary,
        } => {
            id("contract_id", contract_id)?;
            summary.as_deref().map_or(Ok(()), |s| text("summary", s))
        }
        Action::CreateContract { contract } => {
            templates_in(contract, &f("contract"))?;
            serde_json::from_value::<ContractCreate>(contract.clone())
                .map(|_| ())
                .map_err(|e| Error::invalid(f("contract"), format!("not contract_create's arguments: {e}")))
        }
        Action::PublishArtifact { artifact } => {
            templates_in(artifact, &f("artifact"))?;
            serde_json::from_value::<PublishRequest>(artifact.clone())
                .map(|_| ())
                .map_err(|e| Error::invalid(f("artifact"), format!("not artifact_publish's arguments: {e}")))
        }
        Action::Plugin { plugin, .. } => {
            check_id(&f("plugin"), plugin)?;
            plugins.action(plugin).map_err(|e| in_rule(e, &f("plugin")))
        }
    }
}

/// Checks every `${...}` in the strings of `v`.
fn templates_in(v: &Value, field: &str) -> Result<()> {
    match v {
        Value::String(s) => context::check_template(field, s),
        Value::Array(items) => items.iter().try_for_each(|x| templates_in(x, field)),
        Value::Object(map) => map.values().try_for_each(|x| templates_in(x, field)),
        _ => Ok(()),
    }
}

/// Contracts a rule names literally must exist when the pipeline is created, and a
/// worker's pipeline may act on one only as that worker could (it acts with its creator's
/// authority).
fn check_references(tx: &Tx<'_>, caller: &Caller, req: &CreateRequest) -> Result<()> {
    for (i, rule) in req.rules.iter().enumerate() {
        let named = match &rule.action {
            Action::ReopenContract { contract_id, .. }
            | Action::CompleteContract { contract_id, .. } => Some(("action.contract_id", contract_id)),
            _ => None,
        };
        if let (Some((_, id)), true) = (named, caller.bound)
            && let Some(c) = tx.contract(id)?
        {
            let (may, role) = match rule.action {
                Action::ReopenContract { .. } => (c.assigner == caller.session, "assigned"),
                _ => (c.assignee == caller.session, "is assigned"),
            };
            if !may {
                return Err(Error::Forbidden(format!(
                    "rules[{i}].action: this pipeline acts as `{}`, who neither {role} contract `{id}` nor may {} it",
                    caller.session,
                    rule.action.type_name().trim_end_matches("_contract")
                )));
            }
        }
        let filters = rule
            .trigger
            .contract_id
            .as_ref()
            .map(|c| ("trigger.contract_id", c));
        for (field, id) in named.into_iter().chain(filters) {
            if !id.contains("${") && tx.contract(id)?.is_none() {
                return Err(Error::invalid(
                    format!("rules[{i}].{field}"),
                    format!("contract `{id}` does not exist (create it first; `contract_list` shows what exists)"),
                ));
            }
        }
    }
    Ok(())
}

/// Creates (or, with `replace`, replaces) a pipeline. [`check`] ran before.
pub fn create(tx: &Tx<'_>, caller: &Caller, req: &CreateRequest) -> Result<()> {
    let existing = tx.pipeline(&req.pipeline_id)?;
    if let Some(p) = &existing {
        if req.replace != Some(true) {
            return Err(Error::conflict(format!(
                "pipeline `{}` already exists ({} rule(s), created by {}); pass `replace: true` to replace it, or pick another id",
                p.pipeline_id,
                tx.pipeline_rules(&p.pipeline_id)?.len(),
                p.created_by
            )));
        }
        may_change(caller, p, "replace")?;
    }
    check_references(tx, caller, req)?;
    let now = tx.now_ms();
    let row = Row {
        pipeline_id: req.pipeline_id.clone(),
        team: req
            .team
            .clone()
            .or_else(|| existing.as_ref().map(|p| p.team.clone()))
            .unwrap_or_else(|| caller.team.clone()),
        description: req.description.clone().unwrap_or_default(),
        enabled: req.disabled != Some(true),
        created_by: caller.session.clone(),
        creator_bound: caller.bound,
        created_at_ms: existing.as_ref().map_or(now, |p| p.created_at_ms),
        updated_at_ms: now,
    };
    if existing.is_some() {
        tx.delete_pipeline(&req.pipeline_id)?;
    }
    tx.insert_pipeline(&row)?;
    for (i, rule) in req.rules.iter().enumerate() {
        let json = serde_json::to_string(rule).expect("rules serialize");
        tx.insert_pipeline_rule(&row.pipeline_id, i as u32, rule.trigger.kind.as_str(), row.enabled, &json)?;
    }
    tx.append_event(NewEvent {
        kind: "pipeline.created",
        actor: &caller.session,
        team: &row.team,
        subject: subject(&row.pipeline_id),
        payload: json!({
            "pipeline_id": row.pipeline_id,
            "rules": req.rules.len(),
            "enabled": row.enabled,
            "replaced": existing.is_some(),
        }),
    })?;
    Ok(())
}

fn subject(id: &str) -> String {
    format!("pipeline:{id}")
}

fn load(tx: &Tx<'_>, id: &str) -> Result<Row> {
    check_id("pipeline_id", id)?;
    tx.pipeline(id)?.ok_or_else(|| {
        Error::not_found_hint("pipeline", id, "`pipeline_list` shows the pipelines that exist")
    })
}

/// Who may delete, disable or replace a pipeline: its creator, or an unbound caller (the
/// orchestrator, a person at the CLI).
fn may_change(caller: &Caller, p: &Row, verb: &str) -> Result<()> {
    if caller.bound && caller.session != p.created_by {
        return Err(Error::Forbidden(format!(
            "only `{}`, who created pipeline `{}`, or the orchestrator may {verb} it; `{}` may not",
            p.created_by, p.pipeline_id, caller.session
        )));
    }
    Ok(())
}

pub fn delete(tx: &Tx<'_>, caller: &Caller, id: &str) -> Result<Pipeline> {
    let row = load(tx, id)?;
    may_change(caller, &row, "delete")?;
    let view = view(tx, row, false)?;
    tx.delete_pipeline(id)?;
    tx.append_event(NewEvent {
        kind: "pipeline.deleted",
        actor: &caller.session,
        team: &view.team,
        subject: subject(id),
        payload: json!({ "pipeline_id": id }),
    })?;
    Ok(view)
}

pub fn set_enabled(tx: &Tx<'_>, caller: &Caller, req: &SetEnabledRequest) -> Result<()> {
    let row = load(tx, &req.pipeline_id)?;
    may_change(caller, &row, if req.enabled { "enable" } else { "disable" })?;
    if row.enabled == req.enabled {
        return Ok(());
    }
    tx.set_pipeline_enabled(&req.pipeline_id, req.enabled)?;
    tx.append_event(NewEvent {
        kind: if req.enabled {
            "pipeline.enabled"
        } else {
            "pipeline.disabled"
        },
        actor: &caller.session,
        team: &row.team,
        subject: subject(&req.pipeline_id),
        payload: json!({ "pipeline_id": req.pipeline_id }),
    })?;
    Ok(())
}

/// Firings pipeline_get shows.
const RECENT: u32 = 5;

pub fn get(tx: &Tx<'_>, id: &str) -> Result<Pipeline> {
    let row = load(tx, id)?;
    view(tx, row, true)
}

fn view(tx: &Tx<'_>, row: Row, with_firings: bool) -> Result<Pipeline> {
    let rules = tx
        .pipeline_rules(&row.pipeline_id)?
        .into_iter()
        .map(|(_, json)| parse_rule(&json))
        .collect::<Result<Vec<_>>>()?;
    let recent_firings = if with_firings {
        let w = page::window(Some(RECENT), None)?;
        Some(firings(tx, Some(&row.pipeline_id), None, w)?.items)
    } else {
        None
    };
    Ok(Pipeline {
        pipeline_id: row.pipeline_id,
        team: row.team,
        description: row.description,
        enabled: row.enabled,
        created_by: row.created_by,
        created_at: crate::time::rfc3339(row.created_at_ms),
        updated_at: crate::time::rfc3339(row.updated_at_ms),
        rules,
        recent_firings,
    })
}

pub(crate) fn parse_rule(json: &str) -> Result<Rule> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("a stored pipeline rule: {e}")))
}

pub fn list(tx: &Tx<'_>, req: &ListRequest) -> Result<Page<Pipeline>> {
    check_opt_id("team", req.team.as_deref())?;
    let w = page::window(req.limit, req.cursor.as_deref())?;
    let rows = tx.list_pipelines(req.team.as_deref(), w)?;
    page::page(w, rows).try_map(|r| view(tx, r, false))
}

pub fn logs(tx: &Tx<'_>, req: &LogsRequest) -> Result<Page<Firing>> {
    check_opt_id("pipeline_id", req.pipeline_id.as_deref())?;
    let w = page::window(req.limit, req.cursor.as_deref())?;
    firings(tx, req.pipeline_id.as_deref(), req.outcome, w)
}

fn firings(
    tx: &Tx<'_>,
    pipeline_id: Option<&str>,
    outcome: Option<Outcome>,
    w: crate::store::Window,
) -> Result<Page<Firing>> {
    Ok(page::page(w, tx.pipeline_firings(pipeline_id, outcome, w)?))
}

/// The latest firings that went wrong, for `clearctx status`.
pub fn problems(tx: &Tx<'_>, n: u32) -> Result<Vec<Firing>> {
    tx.problem_firings(n)
}
