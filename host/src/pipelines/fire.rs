//! The pipelines reaction: for each new event, the enabled rules whose trigger matches it,
//! their conditions (one plugin call per condition plugin per event), and their actions,
//! each in a savepoint so a failing action leaves the event and everything else as it was.

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use super::context::{self, interpolate, interpolate_value};
use super::{Action, Outcome, Rule, TriggerType};
use crate::artifacts::{self, PublishRequest};
use crate::contracts::{self, CompleteRequest, CreateRequest as ContractCreate, ReasonRequest};
use crate::error::{Error, Result};
use crate::ids::check_id;
use crate::inbox;
use crate::model::{Caller, Receipt};
use crate::plugins::{Kind, PluginHost};
use crate::sessions;
use crate::store::{Event, NewFiring, StoredRule, Tx};

/// How deep a chain of firings may go (an event a rule's action appended triggering a rule
/// whose action appends another...). Past it the action does not run and the log names
/// the chain.
pub const MAX_DEPTH: u32 = 8;

/// A stored rule, parsed.
struct Armed {
    stored: StoredRule,
    rule: Rule,
    /// What a `skipped` row lists for this rule, as JSON text.
    skip_entry: String,
}

/// The enabled rules of one trigger type as of one revision of the rules, parsed, with
/// the conditions grouped by plugin ahead of any event.
struct RuleSet {
    rules: Vec<Armed>,
    groups: Vec<Group>,
}

/// The rules whose condition one plugin evaluates (`None`: the standard CEL plugin).
struct Group {
    plugin: Option<String>,
    /// Indexes into [`RuleSet::rules`].
    rules: Vec<usize>,
    /// Their conditions, in the same order: what one call takes when every rule matched.
    expressions: Vec<String>,
}

/// The rule set of `trigger`, parsed once per revision of the rules per process rather
/// than once per event: an event reads the revision (one row), not every rule.
fn rule_set(tx: &Tx<'_>, trigger: TriggerType) -> Result<Arc<RuleSet>> {
    type Key = (i64, i64, &'static str);
    static CACHE: OnceLock<quick_cache::sync::Cache<Key, Arc<RuleSet>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| quick_cache::sync::Cache::new(64));
    let (epoch, rev) = tx.pipeline_revision()?;
    let key = (epoch, rev, trigger.as_str());
    if let Some(set) = cache.get(&key) {
        return Ok(set);
    }
    let rules = tx
        .rules_for_trigger(trigger.as_str())?
        .into_iter()
        .map(|stored| {
            let rule = super::parse_rule(&stored.rule)?;
            let skip_entry = json!({ "rule_index": stored.rule_index, "rule": rule.label(stored.rule_index as usize) }).to_string();
            Ok(Armed { rule, stored, skip_entry })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut groups: Vec<Group> = Vec::new();
    for (i, a) in rules.iter().enumerate() {
        let Some(condition) = &a.rule.condition else {
            continue;
        };
        let plugin = a.rule.condition_plugin.clone();
        let g = match groups.iter().position(|g| g.plugin == plugin) {
            Some(g) => g,
            None => {
                groups.push(Group { plugin, rules: Vec::new(), expressions: Vec::new() });
                groups.len() - 1
            }
        };
        groups[g].rules.push(i);
        groups[g].expressions.push(condition.clone());
    }
    let set = Arc::new(RuleSet { rules, groups });
    cache.insert(key, set.clone());
    Ok(set)
}

/// What a rule's condition came to.
enum Verdict {
    /// No condition: the rule fires.
    Always,
    Value(bool, Option<Receipt>),
    /// The condition could not be evaluated: the error's detail.
    Failed(Value, Option<Receipt>),
}

/// What firing works with: the transaction, and the plugin host for conditions, action
/// plugins and validating what an action publishes (`None`: such rules fail, logged).
struct Env<'a> {
    tx: &'a Tx<'a>,
    plugins: Option<&'a PluginHost>,
}

/// The pipelines reaction: fires the rules `events` match, in `seq` order.
pub fn react(tx: &Tx<'_>, plugins: Option<&PluginHost>, events: &[Event]) -> Result<()> {
    let env = &Env { tx, plugins };
    for ev in events {
        let Some(trigger) = TriggerType::for_event(&ev.kind) else {
            continue;
        };
        let set = rule_set(env.tx, trigger)?;
        if set.rules.is_empty() {
            continue;
        }
        let ctx = context::for_event(env.tx, ev, trigger)?;
        let matched: Vec<bool> = set
            .rules
            .iter()
            .map(|a| matches(&a.rule, &a.stored, ev, &ctx))
            .collect();
        if !matched.contains(&true) {
            continue;
        }
        let depth = env.tx.event_cause(ev.seq)?.map_or(0, |(_, d)| d) + 1;
        let verdicts = conditions(env.plugins, &set, &matched, &ctx);
        // Rules whose condition was false: one row per pipeline, not one per rule.
        let mut skipped: Vec<(&str, String)> = Vec::new();
        // A rule that did not match has no verdict.
        for (a, verdict) in set.rules.iter().zip(verdicts) {
            let Some(verdict) = verdict else { continue };
            if let Verdict::Value(false, _) = verdict {
                // `{"rules": [...]}`, built as text: a row lists every false rule.
                match skipped.last_mut() {
                    Some((p, rules)) if *p == a.stored.pipeline_id => {
                        rules.push(',');
                        rules.push_str(&a.skip_entry);
                    }
                    _ => skipped.push((&a.stored.pipeline_id, format!("{{\"rules\":[{}", a.skip_entry))),
                }
                continue;
            }
            fire(env, ev, &ctx, depth, a, verdict)?;
        }
        for (pipeline_id, mut rules) in skipped {
            rules.push_str("]}");
            env.tx.insert_firing(&NewFiring {
                pipeline_id,
                rule_index: None,
                rule_name: None,
                seq: ev.seq,
                event_kind: &ev.kind,
                depth,
                condition: Some(false),
                outcome: Outcome::Skipped.as_str(),
                detail: &rules,
                receipt: None,
            })?;
        }
    }
    Ok(())
}

/// Whether every filter of the rule's trigger holds for `ev`.
fn matches(rule: &Rule, stored: &StoredRule, ev: &Event, ctx: &Value) -> bool {
    let t = &rule.trigger;
    let id = ev.subject.split_once(':').map_or("", |(_, id)| id);
    let team = t.team.as_deref().unwrap_or(&stored.team);
    let is = |want: &Option<String>, got: Option<&str>| want.as_deref().is_none_or(|w| Some(w) == got);
    let artifact_type = ctx["artifact"]["type"]
        .as_str()
        .or_else(|| ev.payload["type"].as_str());
    let session = if t.kind.is_contract() {
        ctx["contract"]["assignee"].as_str()
    } else {
        Some(id)
    };
    ev.team == team
        && is(&t.artifact_id, Some(id))
        && is(&t.artifact_type, artifact_type)
        && is(&t.contract_id, Some(id))
        && is(&t.session, session)
}

/// Evaluates the conditions of the `matched` rules of `set`: one call per condition
/// plugin, every expression of that plugin against the one context. One verdict per rule
/// of the set; `None` for a rule that did not match.
fn conditions(plugins: Option<&PluginHost>, set: &RuleSet, matched: &[bool], ctx: &Value) -> Vec<Option<Verdict>> {
    let mut out: Vec<Option<Verdict>> = set
        .rules
        .iter()
        .zip(matched)
        .map(|(a, &m)| (m && a.rule.condition.is_none()).then_some(Verdict::Always))
        .collect();
    for g in &set.groups {
        let ix: Vec<usize> = g.rules.iter().copied().filter(|&i| matched[i]).collect();
        if ix.is_empty() {
            continue;
        }
        // Usually every rule matched: the group's own list, with nothing copied.
        let subset: Vec<String>;
        let exprs = if ix.len() == g.rules.len() {
            &g.expressions
        } else {
            subset = ix.iter().map(|&i| set.rules[i].rule.condition.clone().unwrap_or_default()).collect();
            &subset
        };
        match evaluate(plugins, g.plugin.as_deref(), exprs, ctx) {
            Ok((values, receipt)) => {
                for (&i, v) in ix.iter().zip(values) {
                    out[i] = Some(match v {
                        Ok(b) => Verdict::Value(b, Some(receipt.clone())),
                        Err(e) => Verdict::Failed(e.detail(), Some(receipt.clone())),
                    });
                }
            }
            Err(e) => {
                for &i in &ix {
                    out[i] = Some(Verdict::Failed(e.detail(), None));
                }
            }
        }
    }
    out
}

fn host(plugins: Option<&PluginHost>) -> Result<&PluginHost> {
    plugins.ok_or_else(|| {
        Error::conflict("this process runs the reactions without a plugin host; nothing ran")
    })
}

/// Every expression against `ctx` with the condition plugin `plugin` (default: the
/// standard CEL one).
fn evaluate(
    plugins: Option<&PluginHost>,
    plugin: Option<&str>,
    exprs: &[String],
    ctx: &Value,
) -> Result<(Vec<Result<bool>>, Receipt)> {
    let plugins = host(plugins)?;
    let resolved = plugins.resolve_as(
        plugin.unwrap_or(crate::plugins::STANDARD_CONDITION),
        Kind::PipelineCondition,
    )?;
    plugins.evaluate_all(&resolved, exprs, ctx)
}

/// One firing: log the condition's value, run the action in a savepoint, log the outcome.
fn fire(env: &Env<'_>, ev: &Event, ctx: &Value, depth: u32, a: &Armed, verdict: Verdict) -> Result<()> {
    let tx = env.tx;
    let log = |condition: Option<bool>, outcome: Outcome, detail: Value, receipt: Option<Value>| {
        tx.insert_firing(&NewFiring {
            pipeline_id: &a.stored.pipeline_id,
            rule_index: Some(a.stored.rule_index),
            rule_name: Some(&a.rule.label(a.stored.rule_index as usize)),
            seq: ev.seq,
            event_kind: &ev.kind,
            depth,
            condition,
            outcome: outcome.as_str(),
            detail: &detail.to_string(),
            receipt: receipt.as_ref(),
        })
    };
    let receipts = |r: Option<&Receipt>| r.map(|r| json!({ "condition": r }));
    let (condition, receipt) = match verdict {
        Verdict::Always => (None, None),
        Verdict::Value(false, _) => return Ok(()), // logged with the others by `react`
        Verdict::Value(true, r) => (Some(true), r),
        Verdict::Failed(e, r) => {
            let detail = json!({ "stage": "condition", "error": e });
            log(None, Outcome::Failed, detail, receipts(r.as_ref()))?;
            return Ok(());
        }
    };
    if depth > MAX_DEPTH {
        let chain = chain(tx, ev.seq)?;
        let label = format!("{}/{}", a.stored.pipeline_id, a.rule.label(a.stored.rule_index as usize));
        tracing::warn!(rule = %label, depth, "pipeline cascade stopped");
        let detail = json!({
            "stage": "cascade",
            "error": format!(
                "rule `{label}` did not run: the chain of firings that led to event {} is {depth} deep, past the limit of {MAX_DEPTH}; a rule's action keeps triggering rules (see `chain`, oldest first)",
                ev.seq
            ),
            "rule": label,
            "chain": chain,
        });
        log(condition, Outcome::CascadeStopped, detail, receipts(receipt.as_ref()))?;
        return Ok(());
    }
    let caller = Caller {
        session: a.stored.created_by.clone(),
        team: a.stored.team.clone(),
        bound: a.stored.creator_bound,
    };
    tx.savepoint()?;
    let before = tx.last_seq()?;
    let ran = run(env, &caller, &a.rule.action, ctx, &a.stored.pipeline_id, ev);
    let mut receipt_json = receipts(receipt.as_ref()).unwrap_or_else(|| json!({}));
    let (outcome, detail) = match ran {
        Ok(Ran { outcome, detail, receipt }) => {
            if let Some(r) = receipt {
                receipt_json["action"] = json!(r);
            }
            (outcome, detail)
        }
        Err(e) => (
            Outcome::Failed,
            json!({ "stage": "action", "action": a.rule.action.type_name(), "error": e.detail() }),
        ),
    };
    if outcome == Outcome::Done {
        tx.release_savepoint()?;
    } else {
        tx.rollback_to_savepoint()?;
    }
    let after = tx.last_seq()?;
    let receipt_json = (receipt_json != json!({})).then_some(receipt_json);
    let id = log(condition, outcome, detail, receipt_json)?;
    for seq in before + 1..=after {
        tx.insert_event_cause(seq, id, depth)?;
    }
    Ok(())
}

/// The firings that led to the event `seq`, oldest first: `pipeline/rule` and the event
/// each one fired on.
fn chain(tx: &Tx<'_>, mut seq: i64) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    while let Some((firing, _)) = tx.event_cause(seq)? {
        let Some((pipeline_id, rule, fired_on, kind)) = tx.firing_origin(firing)? else {
            break;
        };
        let rule = rule.unwrap_or_default();
        out.push(json!({ "rule": format!("{pipeline_id}/{rule}"), "event": fired_on, "event_kind": kind, "caused": seq }));
        seq = fired_on;
        if out.len() > MAX_DEPTH as usize + 1 {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

/// What an action did.
struct Ran {
    outcome: Outcome,
    detail: Value,
    receipt: Option<Receipt>,
}

fn run(env: &Env<'_>, caller: &Caller, action: &Action, ctx: &Value, pipeline_id: &str, ev: &Event) -> Result<Ran> {
    let done = |detail: Value| Ran {
        outcome: Outcome::Done,
        detail,
        receipt: None,
    };
    let Action::Plugin { plugin, config } = action else {
        return builtin(env, caller, action, Some(ctx), pipeline_id, ev).map(|d| done(json!({ "commands": [d] })));
    };
    let plugins = host(env.plugins)?;
    let resolved = plugins.resolve_as(plugin, Kind::PipelineAction)?;
    let config = config.clone().unwrap_or_else(|| json!({}));
    let (commands, receipt) = plugins.run_action(&resolved, &config, ctx)?;
    let refused: Vec<&str> = commands
        .iter()
        .filter(|c| !c.allowed)
        .map(|c| c.command.as_str())
        .collect();
    if !refused.is_empty() {
        let granted = resolved.granted.join(", ");
        tracing::warn!(plugin = %resolved.id, ?refused, "pipeline action refused");
        return Ok(Ran {
            outcome: Outcome::Refused,
            detail: json!({
                "stage": "action",
                "error": format!(
                    "plugin `{}` returned commands it was not granted ({}; granted: {}); none of this firing's {} command(s) ran",
                    resolved.id,
                    commands.iter().filter(|c| !c.allowed).map(|c| format!("{} needs `{}`", c.command, c.capability)).collect::<Vec<_>>().join(", "),
                    if granted.is_empty() { "nothing" } else { &granted },
                    commands.len()
                ),
                "commands": commands,
            }),
            receipt: Some(receipt),
        });
    }
    let mut ran = Vec::new();
    for c in &commands {
        let action = command_action(&c.command, &c.args)?;
        ran.push(builtin(env, caller, &action, None, pipeline_id, ev)?);
    }
    Ok(Ran {
        outcome: Outcome::Done,
        detail: json!({ "plugin": resolved.id, "commands": ran }),
        receipt: Some(receipt),
    })
}

/// A checked command of an action plugin, as the built-in action that carries it out.
fn command_action(command: &str, args: &Value) -> Result<Action> {
    let mut tagged = match command {
        "create_contract" => json!({ "contract": args }),
        "publish_artifact" => json!({ "artifact": args }),
        _ => args.clone(),
    };
    tagged["type"] = json!(command);
    serde_json::from_value(tagged)
        .map_err(|e| Error::invalid("command", format!("`{command}` with arguments {args}: {e}")))
}

/// Runs a built-in action; `ctx` interpolates its strings (a plugin's commands are literal).
fn builtin(
    env: &Env<'_>,
    caller: &Caller,
    action: &Action,
    ctx: Option<&Value>,
    pipeline_id: &str,
    ev: &Event,
) -> Result<Value> {
    let tx = env.tx;
    let text = |field: &str, s: &str| -> Result<String> {
        match ctx {
            Some(c) => interpolate(s, c).map_err(|e| retarget(e, field)),
            None => Ok(s.to_string()),
        }
    };
    let value = |field: &str, v: &Value| -> Result<Value> {
        match ctx {
            Some(c) => interpolate_value(v, c).map_err(|e| retarget(e, field)),
            None => Ok(v.clone()),
        }
    };
    Ok(match action {
        Action::NotifySession { target, message } => {
            let (target, message) = (text("target", target)?, text("message", message)?);
            check_id("target", &target)?;
            inbox::notify(tx, &target, &ev.team, "pipeline", &format!("pipeline:{pipeline_id}"), &message, ev.seq)?;
            json!({ "command": "notify_session", "target": target, "message": message })
        }
        Action::SendMessage { to, message } => {
            let (to, message) = (text("to", to)?, text("message", message)?);
            let request = sessions::queue_turn(tx, &caller.session, &to, &message)?;
            json!({ "command": "send_message", "to": to, "message": message, "request": request })
        }
        Action::ReopenContract { contract_id, reason } => {
            let req = ReasonRequest {
                contract_id: text("contract_id", contract_id)?,
                reason: text("reason", reason)?,
                by: None,
                override_roles: false,
            };
            contracts::reopen(tx, caller, &req)?;
            json!({ "command": "reopen_contract", "contract_id": req.contract_id, "reason": req.reason })
        }
        Action::CompleteContract { contract_id, summary } => {
            let contract_id = text("contract_id", contract_id)?;
            // An orchestrator's pipeline completes for the assignee, as the orchestrator may.
            let by = match tx.contract(&contract_id)? {
                Some(c) if !caller.bound => Some(c.assignee),
                _ => None,
            };
            let req = CompleteRequest {
                contract_id: contract_id.clone(),
                summary: summary.as_deref().map(|s| text("summary", s)).transpose()?,
                result: None,
                by,
                override_roles: false,
            };
            contracts::complete(tx, caller, &req)?;
            json!({ "command": "complete_contract", "contract_id": contract_id })
        }
        Action::CreateContract { contract } => {
            let args = value("contract", contract)?;
            let req: ContractCreate = serde_json::from_value(args.clone())
                .map_err(|e| Error::invalid("contract", e.to_string()))?;
            contracts::create(tx, caller, &req)?;
            json!({ "command": "create_contract", "contract_id": req.contract_id })
        }
        Action::PublishArtifact { artifact } => {
            let args = value("artifact", artifact)?;
            let req: PublishRequest = serde_json::from_value(args)
                .map_err(|e| Error::invalid("artifact", e.to_string()))?;
            let v = publish(env, caller, &req)?;
            json!({ "command": "publish_artifact", "artifact_id": v.artifact_id, "version": v.version })
        }
        Action::Plugin { .. } => {
            return Err(Error::invalid("command", "a plugin's command cannot run another plugin"));
        }
    })
}

/// A publish from inside the transaction, validated like any other (here the validator
/// runs under the write lock, held to its limits).
fn publish(env: &Env<'_>, caller: &Caller, req: &PublishRequest) -> Result<artifacts::Version> {
    let data = artifacts::check_publish(req)?;
    let plugins = host(env.plugins)?;
    let checked = plugins.validate(&req.artifact_type, &data)?;
    let (validated_by, _) = artifacts::verdict(&req.artifact_type, checked)?;
    if validated_by.is_none() {
        artifacts::check_unvalidated_type(env.tx, req, || {
            Ok(plugins.all_types()?.into_iter().map(|t| t.name).collect())
        })?;
    }
    artifacts::publish_checked(env.tx, caller, req, &data, validated_by)
}

/// An interpolation error, said about the action's field.
fn retarget(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid { message, .. } => Error::invalid(format!("action.{field}"), message),
        other => other,
    }
}
