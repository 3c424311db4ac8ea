//! `ops`: every operation declared once, beside the hub call it makes.
//!
//! A row of the `ops!` table is one operation: its name (the MCP tool), the CLI command
//! that runs it, whose first turn needs it loaded, the words a model's tool search finds it
//! by, its argument type (whose JSON Schema the tool lists), a description a model can act
//! on, the one hub call, and the headline and JSON its result shows as. `mcp` lists and
//! calls the table; the CLI builds the same argument types from its flags, calls the same
//! functions, and prints [`Reply::json`] for `--json`. Flags and the CLI's text tables are
//! the only per-surface code.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::artifacts;
use crate::chat;
use crate::continuity;
use crate::contracts::{self, Contract};
use crate::decisions;
use crate::error::Result;
use crate::hub::Hub;
use crate::inbox;
use crate::pipelines;
use crate::lineage;
use crate::plugins;
use crate::sessions::{self, Session, TaskReply, TurnReply};
use crate::snapshots;
use crate::teams;
use crate::store::page::Page;

/// The MCP protocol version clearctx speaks (rmcp's latest; `mcp` checks they agree).
pub const PROTOCOL_VERSION: &str = "2026-07-28";

/// Who a server speaks for: the orchestrator (a plain Claude Code session, or the CLI's
/// user) or one worker that clearctx started (`CLEARCTX_SESSION` set by clearctx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Orchestrator,
    Worker,
}

/// Arguments of operations that take none.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Arguments of `plugin_info`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginIdRequest {
    /// The plugin's id, e.g. `std-json-schema`.
    pub plugin: String,
}

/// What an operation's result shows as: a headline for people and the JSON for clients.
#[derive(Debug, Clone)]
pub struct Reply {
    pub headline: String,
    pub json: Value,
}

impl From<(String, Value)> for Reply {
    fn from((headline, json): (String, Value)) -> Reply {
        Reply { headline, json }
    }
}

/// Arguments that do not match an operation's type: a malformed call, not a refusal.
#[derive(Debug, Clone)]
pub struct BadArgs {
    pub message: String,
    /// Where in the arguments, as a path (`.` for the whole object).
    pub field: String,
}

/// One operation, as the adapters see it.
pub struct Op {
    pub name: &'static str,
    /// The CLI command that runs it (`None`: MCP only, with the reason in [`MCP_ONLY`]).
    pub cli: Option<&'static str>,
    pub description: &'static str,
    /// Words a model's tool search should find it by (Claude Code's `anthropic/searchHint`).
    pub hint: &'static str,
    /// Whose first turn needs it: Claude Code defers every other tool behind its tool
    /// search, so these are listed with `anthropic/alwaysLoad`.
    pub core_for: &'static [Audience],
    pub schema: fn() -> Value,
    /// Parses JSON arguments and runs the operation.
    pub call: fn(&Hub, Value) -> std::result::Result<Result<Reply>, BadArgs>,
    /// Answered from the store (and plugins) alone, never waiting on a worker, a timer or
    /// a process: `serve` runs it on the thread that reads the client's input, with no
    /// hand-off to another thread. Marked `#[quick]` in [`ops!`].
    pub quick: bool,
}

/// Operations without a CLI command, and why.
pub const MCP_ONLY: &[(&str, &str)] = &[(
    "server_version",
    "what a model calls first about the server it talks to; people have `clearctx --version` and `clearctx status`",
)];

/// CLI commands that are no operation, and why.
pub const CLI_ONLY: &[(&str, &str)] = &[
    ("serve", "runs the MCP server itself"),
    (
        "status",
        "a summary for people of everything in the data dir",
    ),
    ("completions", "a shell completion script"),
    ("inbox", "the short form of `team inbox` (team_check_inbox)"),
    (
        "doctor",
        "checks this machine's files and binaries; a person's or a script's",
    ),
    (
        "hook",
        "Claude Code runs it as a hook: it reads the hook's JSON on stdin and never fails",
    ),
    (
        "setup",
        "writes Claude Code's own config files: a person's act, not a tool",
    ),
    (
        "plugin add",
        "installing runs code: only a person consents, at the CLI",
    ),
    ("plugin remove", "changing what runs is a person's act"),
    ("plugin enable", "changing what runs is a person's act"),
    ("plugin disable", "changing what runs is a person's act"),
    ("plugin new", "writes a plugin crate on disk"),
    (
        "plugin test",
        "builds and runs a plugin on a person's input",
    ),
    (
        "prompt list",
        "MCP lists prompts with prompts/list, not as a tool",
    ),
    (
        "prompt get",
        "MCP renders prompts with prompts/get, not as a tool",
    ),
    (
        "pipeline disable",
        "the words people expect for `pipeline enable --enabled false` (pipeline_set_enabled)",
    ),
];

pub fn schema_of<T: JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).expect("schemas serialize");
    // Clients read `type: object` at the top; the `$schema` and `title` keys only add noise,
    // and so does the type's own "Arguments of `x`." description.
    if let Some(map) = value.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
        if map
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("Arguments of"))
        {
            map.remove("description");
        }
    }
    compact(&mut value);
    inline_single_use_defs(&mut value);
    drop_item_descriptions(&mut value);
    value
}

/// An array's description says what its items are: the items' own one only restates it.
fn drop_item_descriptions(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("description")
                && let Some(Value::Object(items)) = map.get_mut("items")
            {
                items.remove("description");
            }
            map.values_mut().for_each(drop_item_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_item_descriptions),
        _ => {}
    }
}

/// Writes each `$defs` entry referenced once in place of its `$ref`: the name and the
/// pointer are bytes a model gains nothing from. The field's description stays, unless it
/// only lists the enum's values and the definition has one of its own.
fn inline_single_use_defs(root: &mut Value) {
    fn count(v: &Value, uses: &mut BTreeMap<String, usize>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    *uses.entry(r.to_string()).or_default() += 1;
                }
                map.values().for_each(|x| count(x, uses));
            }
            Value::Array(items) => items.iter().for_each(|x| count(x, uses)),
            _ => {}
        }
    }
    fn names_its_values(description: &str, def: &Map<String, Value>) -> bool {
        def.get("enum").and_then(Value::as_array).is_some_and(|values| {
            values.len() > 2
                && values.iter().all(|x| x.as_str().is_some_and(|x| description.contains(x)))
        })
    }
    fn inline(v: &mut Value, defs: &Map<String, Value>, once: &BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str).map(str::to_string)
                    && once.contains(&r)
                    && let Some(Value::Object(def)) =
                        r.strip_prefix("#/$defs/").and_then(|n| defs.get(n))
                {
                    map.remove("$ref");
                    let own = map.remove("description");
                    let theirs = def.get("description").cloned();
                    let lists = own
                        .as_ref()
                        .and_then(Value::as_str)
                        .is_some_and(|o| names_its_values(o, def));
                    let description = match (lists, theirs) {
                        (true, Some(t)) => Some(t),
                        (_, theirs) => own.or(theirs),
                    };
                    for (k, x) in def {
                        if k != "description" {
                            map.entry(k.clone()).or_insert_with(|| x.clone());
                        }
                    }
                    if let Some(d) = description {
                        map.insert("description".into(), d);
                    }
                }
                map.values_mut().for_each(|x| inline(x, defs, once));
            }
            Value::Array(items) => items.iter_mut().for_each(|x| inline(x, defs, once)),
            _ => {}
        }
    }
    let Some(Value::Object(defs)) = root.get("$defs").cloned() else {
        return;
    };
    let mut uses = BTreeMap::new();
    count(root, &mut uses);
    let once: BTreeSet<String> =
        uses.into_iter().filter(|(_, n)| *n == 1).map(|(r, _)| r).collect();
    if let Some(map) = root.as_object_mut() {
        map.remove("$defs");
    }
    inline(root, &defs, &once);
    let kept: Map<String, Value> = defs
        .into_iter()
        .filter(|(name, _)| !once.contains(&format!("#/$defs/{name}")))
        .collect();
    if !kept.is_empty()
        && let Some(map) = root.as_object_mut()
    {
        map.insert("$defs".into(), Value::Object(kept));
    }
}

/// Shrinks a schema schemars wrote without changing what it accepts in practice: Claude
/// Code reads every tool's schema at the start of a session, so bytes are context. Drops
/// `default: null` and `[]`, Rust's integer `format`s with the `minimum: 0` of unsigned
/// ones and `additionalProperties: false` (the argument types refuse negative numbers and
/// unknown fields themselves, with an error naming the field); an optional field's `[T, "null"]` or
/// `anyOf [T, null]` becomes `T` (leaving a field out is how a model says "none"); an enum
/// written as `oneOf` of described constants becomes a plain `enum` (the field's own
/// description names the values).
fn compact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("default").is_some_and(|d| d.is_null() || d == &json!([])) {
                map.remove("default");
            }
            if map.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("uint"))
                && map.get("minimum") == Some(&json!(0))
            {
                map.remove("minimum");
            }
            if map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int") || f == "double" || f == "float")
            {
                map.remove("format");
            }
            // A constant's or a string enum's type is its values' own.
            if map.get("type") == Some(&json!("string"))
                && (map.get("const").is_some_and(Value::is_string)
                    || map
                        .get("enum")
                        .and_then(Value::as_array)
                        .is_some_and(|values| values.iter().all(Value::is_string)))
            {
                map.remove("type");
            }
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            if let Some(Value::Array(types)) = map.get("type")
                && types.len() == 2
                && types.contains(&json!("null"))
            {
                let t = types.iter().find(|t| **t != json!("null")).cloned();
                if let Some(t) = t {
                    map.insert("type".into(), t);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf")
                && any.len() == 2
                && any.contains(&json!({ "type": "null" }))
                && let Some(Value::Object(inner)) = any.iter().find(|x| **x != json!({ "type": "null" })).cloned()
            {
                map.remove("anyOf");
                for (k, x) in inner {
                    map.entry(k).or_insert(x);
                }
            }
            if let Some(Value::Array(variants)) = map.get("oneOf")
                && variants.iter().all(|x| x.get("const").is_some_and(Value::is_string))
            {
                let values: Vec<Value> = variants.iter().map(|x| x["const"].clone()).collect();
                map.remove("oneOf");
                map.remove("type");
                map.insert("enum".into(), Value::Array(values));
            }
            for (_, x) in map.iter_mut() {
                compact(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(compact),
        _ => {}
    }
}

fn parse<T: DeserializeOwned>(args: Value) -> std::result::Result<T, BadArgs> {
    serde_path_to_error::deserialize(args).map_err(|e| BadArgs {
        message: e.inner().to_string(),
        field: e.path().to_string(),
    })
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("hub results serialize")
}

/// Whether an operation is marked `#[quick]`.
macro_rules! quick {
    () => {
        false
    };
    (quick) => {
        true
    };
}

/// Declares each operation: `pub fn <name>(hub, &Args) -> Result<Reply>`, the result's
/// `replies::<name>(&Args, &Result) -> Reply` for callers that ran the hub call their own
/// way (the CLI streams a turn as it happens), and its row in [`OPS`].
macro_rules! ops {
    ($( $(#[$quick:ident])? $name:ident $cli:expr, [$($core:ident),*] $hint:literal, $args:ty => $res:ty, $desc:literal,
        |$hub:ident, $req:ident| $call:expr, |$rreq:ident, $val:ident| $reply:expr; )*) => {
        $(
            #[doc = $desc]
            pub fn $name($hub: &Hub, $req: &$args) -> Result<Reply> {
                let value: $res = $call?;
                Ok(replies::$name($req, &value))
            }
        )*

        /// The headline and JSON of each operation's result.
        pub mod replies {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[allow(unused_variables)]
                pub fn $name($rreq: &$args, $val: &$res) -> Reply {
                    Reply::from($reply)
                }
            )*
        }

        /// Every operation, in listing order.
        pub const OPS: &[Op] = &[
            $(Op {
                name: stringify!($name),
                cli: $cli,
                description: $desc,
                hint: $hint,
                core_for: &[$(Audience::$core),*],
                schema: schema_of::<$args>,
                call: |hub, args| Ok($name(hub, &parse::<$args>(args)?)),
                quick: quick!($($quick)?),
            },)*
        ];
    };
}

ops! {
    #[quick] artifact_publish Some("artifact publish"), [Orchestrator, Worker] "publish share save result output artifact version data", artifacts::PublishRequest => artifacts::Version,
    "Publish a new immutable version (1, 2, 3...) of an artifact: `data` is its JSON, `derived_from` the exact input versions it was made from. Contracts waiting on it become ready.",
    |hub, req| hub.artifact_publish(req),
    |req, v| (format!("published `{}` v{} ({}){}", v.artifact_id, v.version, v.artifact_type, v.warnings.iter().map(|w| format!("; warning: {w}")).collect::<String>()), to_value(v));

    #[quick] artifact_get Some("artifact get"), [Orchestrator, Worker] "read get fetch artifact result output latest version data", artifacts::GetRequest => artifacts::Version,
    "Read an artifact's latest version (or a given `version`) with its data. The read is recorded for artifact_readers and phase gates.",
    |hub, req| hub.artifact_get(req),
    |req, v| (format!("`{}` v{} of {} ({})", v.artifact_id, v.version, v.latest_version, v.artifact_type), to_value(v));

    #[quick] artifact_list Some("artifact list"), [Orchestrator] "list browse find artifacts outputs results by type publisher", artifacts::ListRequest => Page<artifacts::Version>,
    "List artifacts with their latest version (no data), optionally filtered by type, publisher or team.",
    |hub, req| hub.artifact_list(req),
    |req, p| (format!("{} artifact(s){}", p.items.len(), more(p)), p.envelope("artifacts"));

    #[quick] artifact_history Some("artifact history"), [] "history versions of an artifact changes over time lineage", artifacts::HistoryRequest => Page<artifacts::Version>,
    "List every version of an artifact, oldest first, with publisher, summary, sha256 and lineage inputs (no data).",
    |hub, req| hub.artifact_history_page(req),
    |req, p| (format!("`{}`: {} version(s){}", req.artifact_id, p.items.len(), more(p)), json!({ "artifact_id": req.artifact_id, "versions": p.items, "next_cursor": p.next_cursor }));

    #[quick] artifact_readers Some("artifact readers"), [] "who read an artifact readers seen latest", artifacts::ArtifactIdRequest => artifacts::Readers,
    "Who read which version of an artifact, and whether each reader has seen the latest.",
    |hub, req| hub.artifact_readers(&req.artifact_id),
    |req, r| (format!("`{}`: {} reader(s)", r.artifact_id, r.readers.len()), to_value(r));

    #[quick] artifact_diff Some("artifact diff"), [] "diff compare two versions of an artifact changes", artifacts::DiffRequest => artifacts::Diff,
    "Structural JSON diff (RFC 6902 operations) between two versions of an artifact, by default the latest and the one before.",
    |hub, req| hub.artifact_diff(req),
    |req, d| (format!("`{}` v{} -> v{}: {} added, {} removed, {} changed", d.artifact_id, d.from_version, d.to_version, d.added, d.removed, d.changed), to_value(d));

    #[quick] artifact_types Some("artifact types"), [] "artifact types schema validator json schema", NoArgs => Vec<artifacts::TypeInfo>,
    "Artifact types known here: the built-in ones and every type in use, with how many artifacts each has and what validates them.",
    |hub, req| hub.artifact_types(),
    |req, t| (format!("{} type(s)", t.len()), json!({ "types": t }));

    #[quick] contract_create Some("contract create"), [Orchestrator, Worker] "assign work task job to a worker session dependencies create contract", contracts::CreateRequest => Contract,
    "Assign work to any session. It is `ready` at once, or `pending` until the contracts it depends on complete and its artifacts reach `min_version` (cycles and missing contracts are refused); the assignee's inbox is told when ready.",
    |hub, req| hub.contract_create(req),
    |req, c| (format!("contract `{}` created for {}: {}", c.contract_id, c.assignee, c.status.as_str()), to_value(c));

    #[quick] contract_start Some("contract start"), [Worker] "start begin work on an assigned contract task", contracts::ContractIdRequest => Contract,
    "Start a ready contract (ready -> in_progress). Its timeout, if any, starts counting now.",
    |hub, req| hub.contract_start(req),
    |req, c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(c));

    #[quick] contract_complete Some("contract complete"), [Worker] "complete finish done deliver assigned contract task", contracts::CompleteRequest => Contract,
    "Complete an in-progress contract; refused until each required expected output has a version published since it became ready. Contracts depending on it become ready.",
    |hub, req| hub.contract_complete(req),
    |req, c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(c));

    #[quick] contract_fail Some("contract fail"), [Worker] "fail give up cannot do assigned contract task reason", contracts::ReasonRequest => Contract,
    "Mark an unfinished contract failed, with the reason. The assigner is notified.",
    |hub, req| hub.contract_fail(req),
    |req, c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(c));

    #[quick] contract_reopen Some("contract reopen"), [] "reopen redo retry contract task again reason", contracts::ReasonRequest => Contract,
    "Reopen a completed, failed or in-progress contract with a reason (counts against max_retries). It is ready again when its dependencies hold; the assignee is told the reason.",
    |hub, req| hub.contract_reopen(req),
    |req, c| (format!("contract `{}` reopened: {}", c.contract_id, c.status.as_str()), to_value(c));

    #[quick] contract_get Some("contract get"), [Worker] "contract task details dependencies inputs status history", contracts::GetRequest => Contract,
    "One contract with its dependencies (and whether each holds), expected outputs and full history of events.",
    |hub, req| hub.contract_get(&req.contract_id),
    |req, c| (format!("contract `{}`: {}", c.contract_id, c.status.as_str()), to_value(c));

    #[quick] contract_list Some("contract list"), [Orchestrator] "list contracts tasks work assigned status progress", contracts::ListRequest => Page<Contract>,
    "List contracts, highest priority first, optionally filtered by assignee, assigner, status or team.",
    |hub, req| hub.contract_list(req),
    |req, p| (format!("{} contract(s){}", p.items.len(), more(p)), p.envelope("contracts"));

    #[quick] lineage_trace Some("lineage"), [] "lineage provenance derived from inputs upstream downstream graph mermaid dot", lineage::TraceRequest => lineage::Trace,
    "The lineage graph around an artifact version, `upstream` (what it was derived from) or `downstream`, up to 500 nodes, each saying whether it is stale; `format` `mermaid` or `dot` adds it as text.",
    |hub, req| hub.lineage_trace(req),
    |req, t| (format!("`{}` v{} {}: {} node(s), {} edge(s){}", t.artifact_id, t.version, match t.direction { lineage::Direction::Upstream => "upstream", lineage::Direction::Downstream => "downstream" }, t.nodes.len(), t.edges.len(), if t.truncated { " (truncated)" } else { "" }), to_value(t));

    #[quick] impact_analysis Some("impact"), [] "impact change what depends on downstream affected contracts readers", lineage::ImpactRequest => lineage::Impact,
    "What a change to an artifact version reaches: every version derived from it, transitively (nearest first, paged), the contracts outputting or depending on those, and the sessions that read them.",
    |hub, req| hub.impact_analysis(req),
    |req, i| (format!("`{}` v{}: {} downstream version(s), {} contract(s), {} reader(s){}", i.artifact_id, i.version, i.downstream.len(), i.contracts.len(), i.readers.len(), if i.next_cursor.is_some() { "; more with `cursor`: next_cursor" } else { "" }), to_value(i));

    #[quick] stale_check Some("stale"), [] "stale outdated out of date inputs changed rebuild redo", lineage::StaleRequest => Page<lineage::StaleItem>,
    "What is stale: latest versions with newer inputs (directly or via a stale input), each with its causes (input, version used, latest, path), and completed contracts with stale outputs.",
    |hub, req| hub.stale_check(req),
    |req, p| (format!("{} stale item(s){}", p.items.len(), more(p)), p.envelope("stale"));

    #[quick] team_check_inbox Some("team inbox"), [Orchestrator, Worker] "inbox notifications messages questions unread", inbox::CheckRequest => inbox::Inbox,
    "Unread first: messages, questions (answer by ask_id) and contract notifications for the caller (or `recipient`). Marks them read unless `mark_read` is false.",
    |hub, req| hub.inbox_check(req),
    |req, i| (format!("{} unread item(s) for {}{}{}", i.unread.len(), i.recipient, if i.read.is_empty() { String::new() } else { format!(", {} read", i.read.len()) }, if i.next_cursor.is_some() { "; more with `cursor`: next_cursor" } else { "" }), to_value(i));

    #[quick] team_send_message Some("team send"), [] "message tell teammate chat", chat::SendRequest => chat::Sent,
    "Message a member or the orchestrator; an idle worker gets it as a turn.",
    |hub, req| hub.team_send_message(req),
    |req, s| (sent_headline(s), to_value(s));

    #[quick] team_broadcast Some("team broadcast"), [] "broadcast tell everyone chat", chat::BroadcastRequest => chat::Sent,
    "Message every member of the team but you.",
    |hub, req| hub.team_broadcast(req),
    |req, s| (sent_headline(s), to_value(s));

    team_ask Some("team ask"), [Worker] "ask question wait teammate", chat::AskRequest => chat::AskOutcome,
    "Ask a member and wait up to `timeout_s` for its team_reply. A timeout says so; the question stays open.",
    |hub, req| hub.team_ask(req),
    |req, a| (match &a.answer { Some(ans) => format!("{} answered {}{}: {ans}", a.to, a.ask_id, waited(Some(a.waited_ms))), None => format!("{}: {}", a.ask_id, a.note.as_deref().unwrap_or("timed out")) }, to_value(a));

    #[quick] team_reply Some("team reply"), [Worker] "reply answer question", chat::ReplyRequest => chat::Replied,
    "Answer a question asked of you, once.",
    |hub, req| hub.team_reply(req),
    |req, r| (format!("answered {} for {}{}", r.ask_id, r.to, if r.late { " (late: it went to their inbox)" } else { "" }), to_value(r));

    plugin_list Some("plugin list"), [] "plugins installed validators rules webassembly", NoArgs => Vec<plugins::Summary>,
    "Installed and standard WebAssembly plugins: kinds, API version, enabled, artifact types or templates provided, capabilities and limits. Installing needs the user (`clearctx plugin add`).",
    |hub, req| hub.plugin_list(),
    |req, list| (format!("{} plugin(s)", list.len()), json!({ "count": list.len(), "plugins": list }));

    plugin_info Some("plugin info"), [] "plugin health limits failures details", PluginIdRequest => plugins::Detail,
    "One plugin in detail: health, limits, granted capabilities, recent failures and the most fuel, time and memory its calls used.",
    |hub, req| hub.plugin_info(&req.plugin),
    |req, d| (format!("plugin `{}`: {}", d.summary.id, d.health), to_value(d));

    #[quick] pipeline_create Some("pipeline create"), [] "pipeline rules trigger condition action react automate self-healing reopen notify when tests fail", pipelines::CreateRequest => pipelines::Pipeline,
    "Declare rules that react to events, e.g. reopen contract `build-api` when tests fail: {\"trigger\": {\"type\": \"artifact_published\", \"artifact_type\": \"test-results\"}, \"condition\": \"data.failed > 0\", \"action\": {\"type\": \"reopen_contract\", \"contract_id\": \"build-api\", \"reason\": \"${data.failed} failed\"}}. Each event fires each matching rule once; see pipeline_logs.",
    |hub, req| hub.pipeline_create(req),
    |req, p| (format!("pipeline `{}`: {} rule(s), {}", p.pipeline_id, p.rules.len(), if p.enabled { "enabled" } else { "disabled" }), to_value(p));

    #[quick] pipeline_list Some("pipeline list"), [] "list pipelines rules automations", pipelines::ListRequest => Page<pipelines::Pipeline>,
    "List pipelines with their rules, optionally of one team.",
    |hub, req| hub.pipeline_list(req),
    |req, p| (format!("{} pipeline(s){}", p.items.len(), more(p)), p.envelope("pipelines"));

    #[quick] pipeline_get Some("pipeline get"), [] "pipeline rules details recent firings", pipelines::PipelineIdRequest => pipelines::Pipeline,
    "One pipeline: its rules and its latest firings.",
    |hub, req| hub.pipeline_get(&req.pipeline_id),
    |req, p| (format!("pipeline `{}`: {} rule(s), {}", p.pipeline_id, p.rules.len(), if p.enabled { "enabled" } else { "disabled" }), to_value(p));

    #[quick] pipeline_delete Some("pipeline delete"), [] "delete remove pipeline rules", pipelines::PipelineIdRequest => pipelines::Pipeline,
    "Delete a pipeline (its creator or the orchestrator); its firings stay in pipeline_logs.",
    |hub, req| hub.pipeline_delete(&req.pipeline_id),
    |req, p| (format!("pipeline `{}` deleted", p.pipeline_id), json!({ "deleted": p.pipeline_id }));

    #[quick] pipeline_set_enabled Some("pipeline enable"), [] "enable disable pause pipeline rules", pipelines::SetEnabledRequest => pipelines::Pipeline,
    "Turn a pipeline's rules on or off; a disabled pipeline fires for nothing.",
    |hub, req| hub.pipeline_set_enabled(req),
    |req, p| (format!("pipeline `{}`: {}", p.pipeline_id, if p.enabled { "enabled" } else { "disabled" }), to_value(p));

    #[quick] pipeline_logs Some("pipeline logs"), [] "pipeline logs firings history errors what fired why", pipelines::LogsRequest => Page<pipelines::Firing>,
    "Each firing, newest first: event, rule, the condition's value, outcome (done, skipped, failed, refused, cascade_stopped) with the commands run or the error, and plugin calls' fuel, time and memory.",
    |hub, req| hub.pipeline_logs(req),
    |req, p| (format!("{} firing(s){}", p.items.len(), more(p)), p.envelope("firings"));

    spawn_session Some("spawn"), [Orchestrator] "spawn start launch new worker session claude agent teammate", sessions::SpawnRequest => TurnReply,
    "Start a Claude Code worker: a long-lived `claude` process with clearctx's tools, knowing its own name. With a `prompt`, waits for the first turn's result. Its budget covers all it delegates.",
    |hub, req| hub.session_spawn(req, None),
    |req, r| turn(r, "started");

    send_message Some("send"), [Orchestrator] "send message talk tell ask a worker session reply turn", sessions::SendRequest => TurnReply,
    "Send a session a message and wait for its reply, the turn's cost and turns, and the session's totals. A stopped session is resumed first; a paused one keeps it until resume_session (returns at once).",
    |hub, req| hub.sessions().send(hub.caller(), req, None),
    |req, r| turn(r, "answered");

    resume_session Some("resume"), [] "resume restart continue a stopped session worker", sessions::ResumeRequest => TurnReply,
    "Bring back a stopped or failed session (also after a server restart) with its conversation, or un-pause a paused one; optionally send a `message`.",
    |hub, req| hub.sessions().resume(hub.caller(), req, None),
    |req, r| turn(r, "resumed");

    pause_session Some("pause"), [] "pause hold a worker session", sessions::NameRequest => Session,
    "Pause a session: its process stays, the turn it is on finishes, and later messages wait until resume_session.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, sessions::RequestKind::Pause),
    |req, s| (format!("session `{}`: {}", s.name, s.status), to_value(s));

    stop_session Some("stop"), [] "stop end a worker session gracefully", sessions::NameRequest => Session,
    "Stop a session gracefully: it finishes its current turn and its process exits. It stays resumable.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, sessions::RequestKind::Stop),
    |req, s| (format!("session `{}`: {}", s.name, s.status), to_value(s));

    kill_session Some("kill"), [] "kill terminate a worker session now", sessions::NameRequest => Session,
    "Kill a session's process at once (its current turn is lost). It stays resumable from its last completed turn.",
    |hub, req| hub.sessions().control(hub.caller(), &req.name, sessions::RequestKind::Kill),
    |req, s| (format!("session `{}`: {}", s.name, s.status), to_value(s));

    fork_session Some("fork"), [] "fork branch copy a worker session conversation", sessions::ForkRequest => TurnReply,
    "Branch a session: `new_name` continues the same conversation (`--fork-session`), the original is left as it is; optionally send the branch a first `message`.",
    |hub, req| hub.sessions().fork(hub.caller(), req, None),
    |req, r| turn(r, "forked");

    get_session_status Some("session show"), [] "session status cost budget left worker health error", sessions::NameRequest => Session,
    "A session's status (starting, idle, busy, paused, stopped, failed), cost, turns, budget left, process, last error and stderr tail.",
    |hub, req| hub.sessions().get(&req.name),
    |req, s| (format!("session `{}`: {} (${:.4}, {} turns)", s.name, s.status, s.cost_usd, s.turns), to_value(s));

    get_last_output Some("session output"), [] "last output reply answer result of a worker session", sessions::NameRequest => Session,
    "The final text of a session's last completed turn, with its status and cost.",
    |hub, req| hub.sessions().get(&req.name),
    |req, s| (format!("session `{}`: last output", s.name), json!({ "name": s.name, "status": s.status, "last_output": s.last_output, "cost_usd": s.cost_usd, "turns": s.turns, "last_error": s.last_error }));

    get_history Some("session history"), [] "session history transcript conversation log worker", sessions::HistoryRequest => Vec<sessions::HistoryEntry>,
    "A session's history, oldest first: user messages, assistant replies and tool calls, tool results, turn results and errors. `after_seq` follows it.",
    |hub, req| hub.sessions().history(req),
    |req, h| (format!("session `{}`: {} entries", req.name, h.len()), json!({ "name": req.name, "entries": h }));

    list_sessions Some("sessions"), [Orchestrator] "list workers sessions team status cost budget", sessions::ListRequest => Page<Session>,
    "Sessions with status, cost, turns and budget, optionally filtered by status, team or parent (the delegating session). A dead server's sessions show as stopped.",
    |hub, req| hub.sessions().list(req),
    |req, p| (format!("{} session(s){}", p.items.len(), more(p)), p.envelope("sessions"));

    delete_session Some("session delete"), [] "delete remove a worker session", sessions::DeleteRequest => Session,
    "Delete a session and its history. A running session is refused unless `force` (then it is killed first).",
    |hub, req| hub.sessions().delete(hub.caller(), req),
    |req, s| (format!("session `{}` deleted", s.name), json!({ "deleted": s.name }));

    batch_spawn Some("session batch-spawn"), [] "spawn start several many workers sessions at once parallel", sessions::BatchSpawnRequest => Vec<Value>,
    "Start several sessions at once; their first turns run side by side and the call waits for all of them. A failing item is reported in place.",
    |hub, req| hub.session_batch_spawn(req),
    |req, l| (format!("{} session(s) started", l.len()), json!({ "count": l.len(), "sessions": l }));

    cleanup_sessions Some("session cleanup"), [] "cleanup remove old stopped sessions", sessions::CleanupRequest => Vec<String>,
    "Delete stopped and failed sessions unchanged for `older_than_s` seconds (default 3600).",
    |hub, req| hub.sessions().cleanup(hub.caller(), req),
    |req, n| (format!("{} session(s) removed", n.len()), json!({ "removed": n }));

    delegate_task Some("delegate"), [Orchestrator, Worker] "delegate hand off subtask to a worker budget max cost preset", sessions::DelegateRequest => TaskReply,
    "Run a task in a new worker limited by a `preset`, `max_cost` and `max_turns`, and wait for it. `status` is completed, needs_input (it was refused tools: answer with continue_task), failed, cost_exceeded or turns_exceeded.",
    |hub, req| hub.sessions().delegate(hub.caller(), req, None),
    |req, t| task(t);

    continue_task Some("task continue"), [] "continue answer correct a delegated task worker", sessions::ContinueRequest => TaskReply,
    "Send a delegated worker a correction or an answer and wait for its next result (same statuses as delegate_task).",
    |hub, req| hub.sessions().continue_task(hub.caller(), req, None),
    |req, t| task(t);

    finish_task Some("task finish"), [] "finish end a delegated task result", sessions::NameRequest => TaskReply,
    "End a delegated task: its worker stops (resumable) and the final result is returned.",
    |hub, req| hub.sessions().finish_task(hub.caller(), &req.name),
    |req, t| task(t);

    abort_task Some("task abort"), [] "abort cancel kill a delegated task", sessions::NameRequest => TaskReply,
    "Stop a delegated task at once (its worker is killed).",
    |hub, req| hub.sessions().abort_task(hub.caller(), &req.name),
    |req, t| task(t);

    team_spawn Some("team spawn"), [Orchestrator] "team spawn member role worker worktree isolation phase", teams::SpawnRequest => teams::Spawned,
    "Start a team member: a worker whose system prompt the `template` renders from its `role`, the team's `shared-conventions` artifact, the roster and its contracts; `isolation` may give it its own git worktree.",
    |hub, req| hub.team_spawn(req, None),
    |req, r| { let (h, mut v) = turn(&r.reply, "joined"); if let Some(m) = v.as_object_mut() { for (k, x) in [("role", json!(r.role)), ("team", json!(r.team)), ("phase", json!(r.phase)), ("isolation", json!(r.isolation)), ("worktree", json!(r.worktree)), ("branch", json!(r.branch))] { m.insert(k.into(), x); } } (h, v) };

    team_roster Some("team roster"), [] "team roster members status role cost budget contract worktree branch", teams::RosterRequest => teams::Roster,
    "A team's members: status (working, idle, stopped, failed), role, phase, cost, budget left, contract, unread notifications, and isolated ones' worktree, branch and files changed.",
    |hub, req| hub.team_roster(req),
    |req, r| (format!("team `{}`: {} member(s)", r.team, r.count), to_value(r));

    phase_gate Some("team gate"), [] "phase gate check team ready next phase artifacts idle readers", teams::GateRequest => teams::GateReport,
    "Check whether a team may go from `phase_completing` to `phase_starting`: `expected_artifacts` validated, `expected_idle` sessions idle or stopped, `expected_readers` read the latest. Records pass/fail per item; the later phase's team_spawn needs a pass.",
    |hub, req| hub.phase_gate(req),
    |req, g| (format!("gate {} -> {} of team `{}`: {} ({} of {} item(s) failed)", g.phase_completing, g.phase_starting, g.team, if g.passed { "passed" } else { "failed" }, g.failed, g.items.len()), to_value(g));

    team_remove Some("team remove"), [] "remove member team worktree delete", teams::RemoveRequest => teams::Removal,
    "Remove a team member: deletes its session (refused while running unless `force`), then its worktree unless it holds uncommitted changes (kept, with the reason).",
    |hub, req| hub.team_remove(req),
    |req, r| (format!("member `{}` removed{}", r.name, match (&r.worktree, r.worktree_removed, &r.kept_because) { (Some(_), true, _) => "; worktree removed".to_string(), (Some(w), false, Some(why)) => format!("; worktree `{w}` kept: {why}"), _ => String::new() }), to_value(r));

    team_snapshot Some("snapshot create"), [] "snapshot checkpoint label state", snapshots::SnapshotRequest => snapshots::Snapshot,
    "Label a team's state (contracts, current artifact versions, pipelines, roster) for snapshot_diff, team_rollback, team_replay.",
    |hub, req| hub.team_snapshot(req),
    |req, s| (format!("snapshot `{}` of team `{}` at event {}: {} contract(s), {} artifact(s)", s.label, s.team, s.seq, s.contracts, s.artifacts), to_value(s));

    #[quick] snapshot_list Some("snapshot list"), [] "list team snapshots", snapshots::ListRequest => Page<snapshots::Snapshot>,
    "A team's snapshots, oldest first.",
    |hub, req| hub.snapshot_list(req),
    |req, p| (format!("{} snapshot(s){}", p.items.len(), more(p)), p.envelope("snapshots"));

    #[quick] snapshot_diff Some("snapshot diff"), [] "diff compare snapshots", snapshots::DiffRequest => snapshots::Diff,
    "Contracts, current artifact versions, pipelines and members that differ between two snapshots, or one and now (paged).",
    |hub, req| hub.snapshot_diff(req),
    |req, d| (format!("team `{}` {} -> {}: {} contract(s), {} artifact(s) changed{}", d.team, d.from, d.to, d.contracts.len(), d.artifacts.len(), if d.next_cursor.is_some() { "; more with `cursor`: next_cursor" } else { "" }), to_value(d));

    team_rollback Some("rollback"), [] "rollback undo snapshot", snapshots::RollbackRequest => snapshots::Rollback,
    "Return a team to a snapshot. Later artifact versions stay readable by number; workers whose contract moved stop (resumable).",
    |hub, req| hub.team_rollback(req),
    |req, r| (format!("team `{}` rolled back to `{}`: {} contract(s) restored, {} withdrawn, {} artifact(s) moved", r.team, r.label, r.contracts_restored.len(), r.contracts_withdrawn.len(), r.artifacts.len()), to_value(r));

    team_replay Some("replay"), [] "replay rerun snapshot overrides", snapshots::ReplayRequest => snapshots::Replay,
    "Roll back to a snapshot, re-open its contracts with `overrides` merged into their inputs, re-send live assignees their contract.",
    |hub, req| hub.team_replay(req),
    |req, r| (format!("team `{}` replayed from `{}`: {} contract(s) re-opened, {} overridden, {} worker(s) re-sent", r.rollback.team, r.rollback.label, r.reopened.len(), r.overridden.len(), r.sent.len()), to_value(r));

    team_resume Some("team resume"), [] "resume team after crash interrupted", snapshots::ResumeRequest => snapshots::Resumed,
    "After a crash: resume every stopped member of a team with its conversation and a turn handing it its current contract.",
    |hub, req| hub.team_resume(req),
    |req, r| (format!("team `{}`: {} member(s) resumed{}", r.team, r.resumed.len(), if r.not_resumed.is_empty() { String::new() } else { format!(", {} not", r.not_resumed.len()) }), to_value(r));

    continuity_briefing Some("briefing"), [] "briefing changes since last session", continuity::BriefingRequest => continuity::Briefing,
    "What changed in a project since its last checkpoint: commits, files, new versions, stale items, contracts, decisions, unread.",
    |hub, req| hub.continuity_briefing(req),
    |req, b| (format!("briefing for {}: {} commit(s), {} new version(s), {} open contract(s)", b.project, b.git.commit_count, b.new_versions.len(), b.open_contracts.len()), to_value(b));

    session_checkpoint Some("checkpoint"), [] "checkpoint save note", continuity::CheckpointRequest => continuity::Checkpoint,
    "Save a project checkpoint (git, contracts, unread) and a note; the next briefing reports changes since.",
    |hub, req| hub.session_checkpoint(req),
    |req, c| (format!("checkpoint {} of {} saved", c.id, c.project), to_value(c));

    #[quick] decision_record Some("decision record"), [] "decision record why adr", decisions::RecordRequest => decisions::Decision,
    "Record a decision: what, why, alternatives, tags, files and artifact versions it rests on (briefings flag it when they change).",
    |hub, req| hub.decision_record(req),
    |req, d| (format!("decision {} recorded: {}", d.decision_id, d.what), to_value(d));

    #[quick] decision_list Some("decision list"), [] "decisions list recent", decisions::ListRequest => Page<decisions::Decision>,
    "The team's decisions, newest first.",
    |hub, req| hub.decision_list(req),
    |req, p| (format!("{} decision(s){}", p.items.len(), more(p)), p.envelope("decisions"));

    #[quick] decision_search Some("decision search"), [] "decision search text", decisions::SearchRequest => Page<decisions::Decision>,
    "Full-text search (FTS5) of the team's decisions, every word matching; best first.",
    |hub, req| hub.decision_search(req),
    |req, p| (format!("{} decision(s) match `{}`{}", p.items.len(), req.query, more(p)), p.envelope("decisions"));

    #[quick] pattern_register Some("pattern register"), [] "pattern convention register example", decisions::PatternRequest => decisions::Pattern,
    "Register a team pattern (a reusable way of doing a thing, with an example); again makes its next version.",
    |hub, req| hub.pattern_register(req),
    |req, p| (format!("pattern `{}` v{} registered", p.name, p.version), to_value(p));

    #[quick] pattern_list Some("pattern list"), [] "patterns conventions list", decisions::ListRequest => Page<decisions::Pattern>,
    "The team's patterns by name (no bodies).",
    |hub, req| hub.pattern_list(req),
    |req, p| (format!("{} pattern(s){}", p.items.len(), more(p)), p.envelope("patterns"));

    #[quick] pattern_get Some("pattern get"), [] "pattern get read convention", decisions::PatternNameRequest => decisions::Pattern,
    "Read a team pattern with its body.",
    |hub, req| hub.pattern_get(&req.name),
    |req, p| (format!("pattern `{}` v{}", p.name, p.version), to_value(p));

    #[quick] server_version None, [Orchestrator, Worker] "clearctx version data dir caller identity status", NoArgs => Value,
    "Call this first: server and MCP protocol versions, data dir, caller identity, loaded plugins, and `stale: true` when the binary on disk is newer than this server (restart Claude Code then).",
    |hub, req| Ok::<_, crate::error::Error>(version_info(hub)),
    |_req, v| (version_headline(v), v.clone());
}

/// The operation called `name`.
pub fn find(name: &str) -> Option<&'static Op> {
    OPS.iter().find(|o| o.name == name)
}

/// A headline's note that the list goes on.
fn more<T>(p: &Page<T>) -> &'static str {
    if p.next_cursor.is_some() {
        "; more with `cursor`: next_cursor"
    } else {
        ""
    }
}

fn sent_headline(s: &chat::Sent) -> String {
    let mut h = format!("{} from {} to {}", s.kind, s.from, s.to.join(", "));
    if !s.delivered_as_turn.is_empty() {
        h.push_str(&format!("; delivered as a turn to {}", s.delivered_as_turn.join(", ")));
    }
    if !s.in_inbox.is_empty() {
        h.push_str(&format!("; waiting in the inbox of {}", s.in_inbox.join(", ")));
    }
    h
}

fn turn(r: &TurnReply, verb: &str) -> (String, Value) {
    let waited = waited(r.waited_ms);
    let headline = match &r.outcome {
        Some(o) => format!(
            "session `{}` {verb}: {} (${:.4}, {} turn(s); session total ${:.4}){waited}",
            r.name, o.status, o.cost_usd, o.turns, o.session_cost_usd
        ),
        None => format!("session `{}` {verb}: {}{waited}", r.name, r.status),
    };
    (headline, to_value(r))
}

fn task(t: &TaskReply) -> (String, Value) {
    (
        format!(
            "task `{}`: {} (${:.4}, {} turn(s)){}",
            t.name, t.status, t.cost_usd, t.turns, waited(t.waited_ms)
        ),
        to_value(t),
    )
}

/// "; waited 12.3 s" for a call that waited, so a long answer says why it took long.
fn waited(ms: Option<u64>) -> String {
    match ms {
        Some(ms) if ms >= 100 => format!("; waited {:.1} s", ms as f64 / 1000.0),
        _ => String::new(),
    }
}

/// When this process started and the mtime its binary had then, for `stale`.
static STARTED: std::sync::OnceLock<(SystemTime, Option<SystemTime>)> = std::sync::OnceLock::new();

fn exe_mtime() -> Option<SystemTime> {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
}

/// Notes when the process started, so `server_version` can tell a rebuilt binary.
pub fn mark_start() {
    STARTED.get_or_init(|| (SystemTime::now(), exe_mtime()));
}

fn version_info(hub: &Hub) -> Value {
    let (_, mtime_at_start) = STARTED.get_or_init(|| (SystemTime::now(), exe_mtime()));
    let stale = match (mtime_at_start, exe_mtime()) {
        (Some(then), Some(now)) => now > *then,
        _ => false,
    };
    json!({
        "name": crate::model::MCP_SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "protocol_version": PROTOCOL_VERSION,
        "data_dir": hub.home().display().to_string(),
        "caller": hub.caller().session,
        "team": hub.caller().team,
        "plugins": hub.plugin_list().map(|l| l.into_iter().map(|p| format!("{}@{}", p.id, p.version)).collect::<Vec<_>>()).unwrap_or_default(),
        "stale": stale,
    })
}

fn version_headline(v: &Value) -> String {
    format!(
        "clearctx {}{}",
        v["version"].as_str().unwrap_or_default(),
        if v["stale"] == true {
            " (stale: restart Claude Code)"
        } else {
            ""
        }
    )
}
