//! Human-readable rendering, kept apart so the command code reads as plain calls.

use std::fmt::Write as _;

use crate::artifacts::{Diff, Readers, TypeInfo, Version};
use crate::contracts::Contract;
use crate::hub::StatusReport;
use crate::inbox::Inbox;

/// Left-aligned columns sized to their widest cell.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, cells: Vec<String>| {
        let last = cells.len() - 1;
        for (i, c) in cells.into_iter().enumerate() {
            if i == last {
                s.push_str(&c);
            } else {
                let _ = write!(s, "{c:<w$}  ", w = widths[i]);
            }
        }
        s.push('\n');
    };
    line(&mut s, header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(&mut s, row);
    }
    s.trim_end().to_string()
}

fn date(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

pub fn version(v: &Version) -> String {
    let mut s = format!(
        "{} v{} of {} ({}), published by {} at {}",
        v.artifact_id,
        v.version,
        v.latest_version,
        v.artifact_type,
        v.publisher,
        date(&v.published_at)
    );
    if let Some(summary) = &v.summary {
        let _ = write!(s, "\n{summary}");
    }
    if !v.derived_from.is_empty() {
        let inputs: Vec<String> = v
            .derived_from
            .iter()
            .map(|r| format!("{}@{}", r.artifact_id, r.version))
            .collect();
        let _ = write!(s, "\nderived from {}", inputs.join(", "));
    }
    if let Some(data) = &v.data {
        let _ = write!(
            s,
            "\n{}",
            serde_json::to_string_pretty(data).unwrap_or_default()
        );
    }
    s
}

pub fn artifacts(list: &[Version]) -> String {
    if list.is_empty() {
        return "no artifacts".to_string();
    }
    table(
        &[
            "ARTIFACT",
            "TYPE",
            "VERSION",
            "PUBLISHER",
            "PUBLISHED",
            "SUMMARY",
        ],
        list.iter()
            .map(|v| {
                vec![
                    v.artifact_id.clone(),
                    v.artifact_type.clone(),
                    v.version.to_string(),
                    v.publisher.clone(),
                    date(&v.published_at),
                    v.summary.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

pub fn history(list: &[Version]) -> String {
    table(
        &["VERSION", "PUBLISHER", "PUBLISHED", "SHA256", "SUMMARY"],
        list.iter()
            .map(|v| {
                vec![
                    v.version.to_string(),
                    v.publisher.clone(),
                    date(&v.published_at),
                    v.sha256[..12].to_string(),
                    v.summary.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

pub fn readers(r: &Readers) -> String {
    if r.readers.is_empty() {
        return format!("nobody has read {} yet", r.artifact_id);
    }
    table(
        &["READER", "LAST READ", "LATEST", "READS"],
        r.readers
            .iter()
            .map(|s| {
                vec![
                    s.reader.clone(),
                    format!("v{}", s.last_version_read),
                    if s.read_latest {
                        "yes".into()
                    } else {
                        format!("no (v{} exists)", r.latest_version)
                    },
                    s.reads.to_string(),
                ]
            })
            .collect(),
    )
}

pub fn diff(d: &Diff) -> String {
    if d.identical {
        return format!(
            "{} v{} and v{} are identical",
            d.artifact_id, d.from_version, d.to_version
        );
    }
    let mut s = format!(
        "{} v{} -> v{}: {} added, {} removed, {} changed",
        d.artifact_id, d.from_version, d.to_version, d.added, d.removed, d.changed
    );
    for op in d.operations.as_array().into_iter().flatten() {
        let kind = op["op"].as_str().unwrap_or("?");
        let path = op["path"].as_str().unwrap_or("");
        let sign = match kind {
            "add" => "+",
            "remove" => "-",
            _ => "~",
        };
        match op.get("value") {
            Some(v) => {
                let _ = write!(s, "\n{sign} {path}: {v}");
            }
            None => {
                let _ = write!(s, "\n{sign} {path}");
            }
        }
    }
    s
}

pub fn types(t: &[TypeInfo]) -> String {
    table(
        &["TYPE", "ARTIFACTS", "VALIDATOR", "DESCRIPTION"],
        t.iter()
            .map(|t| {
                vec![
                    t.artifact_type.clone(),
                    t.artifacts.to_string(),
                    t.validator.clone().unwrap_or_else(|| "-".into()),
                    t.description.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

pub fn contract(c: &Contract) -> String {
    let mut s = format!(
        "{} [{}] {} -> {}: {}",
        c.contract_id,
        c.status.as_str(),
        c.assigner,
        c.assignee,
        c.title
    );
    let _ = write!(
        s,
        "\npriority {} · team {}{}",
        c.priority.as_str(),
        c.team,
        c.timeout_s
            .map(|t| format!(" · timeout {t} s"))
            .unwrap_or_default()
    );
    if !c.description.is_empty() {
        let _ = write!(s, "\n{}", c.description);
    }
    if c.inputs.as_object().is_some_and(|o| !o.is_empty()) {
        let inputs = serde_json::to_string_pretty(&c.inputs).unwrap_or_default();
        let _ = write!(s, "\ninputs: {inputs}");
    }
    for a in &c.acceptance_criteria {
        let _ = write!(s, "\n  accept when: {a}");
    }
    if let Some(reason) = &c.reason {
        let _ = write!(s, "\nreason: {reason}");
    }
    if let Some(result) = &c.result {
        let _ = write!(s, "\nresult: {result}");
    }
    for d in &c.dependencies {
        let _ = write!(
            s,
            "\n  {} {} {}: {}",
            if d.satisfied { "✔" } else { "…" },
            d.dependency.kind.as_str(),
            d.dependency.id,
            d.detail
        );
    }
    for o in &c.expected_outputs {
        let what = match (&o.artifact_id, &o.artifact_type) {
            (Some(id), _) => format!("artifact {id}"),
            (_, Some(t)) => format!("an artifact of type {t}"),
            _ => String::new(),
        };
        let _ = write!(
            s,
            "\n  expects {what}{}",
            if o.required { "" } else { " (optional)" }
        );
    }
    if let Some(history) = &c.history {
        for e in history {
            let _ = write!(
                s,
                "\n  {} #{} {} by {}",
                date(&e.at),
                e.seq,
                e.kind,
                e.actor
            );
        }
    }
    s
}

pub fn contracts(list: &[Contract]) -> String {
    if list.is_empty() {
        return "no contracts".to_string();
    }
    table(
        &["CONTRACT", "STATUS", "PRIORITY", "ASSIGNEE", "TITLE"],
        list.iter()
            .map(|c| {
                vec![
                    c.contract_id.clone(),
                    c.status.as_str().to_string(),
                    serde_json::to_value(c.priority)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    c.assignee.clone(),
                    c.title.clone(),
                ]
            })
            .collect(),
    )
}

pub fn inbox(i: &Inbox) -> String {
    if i.unread.is_empty() && i.read.is_empty() {
        return format!("no unread notifications for {}", i.recipient);
    }
    let mut s = String::new();
    for (n, read) in i.unread.iter().map(|n| (n, "")).chain(i.read.iter().map(|n| (n, " (read)"))) {
        let from = n.sender.as_ref().map(|f| format!(" from {f}")).unwrap_or_default();
        let ask = n.ask_id.as_ref().map(|a| format!(" {a}")).unwrap_or_default();
        let _ = writeln!(s, "{} {}{ask}{from}{read}: {}", date(&n.created_at), n.kind, n.message);
    }
    if let Some(c) = &i.next_cursor {
        let _ = writeln!(s, "… more: add --cursor {c}");
    }
    s.trim_end().to_string()
}

fn limits(l: &crate::plugins::Limits) -> String {
    format!(
        "fuel {}, {} ms, {} MiB memory, {} KiB output",
        l.fuel, l.timeout_ms, l.memory_mib, l.output_kib
    )
}

fn kinds(k: &[crate::plugins::Kind]) -> String {
    k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

pub fn add_report(r: &crate::plugins::AddReport) -> String {
    let mut s = format!(
        "plugin {} {} ({}), clearctx:plugin@{}",
        r.id,
        r.version,
        kinds(&r.kinds),
        r.api
    );
    if !r.description.is_empty() {
        let _ = write!(s, "\n  {}", r.description);
    }
    let _ = write!(s, "\n  from     {}\n  sha256   {}", r.source, r.sha256);
    if let Some(v) = &r.replaces {
        let _ = write!(s, "\n  replaces version {v}");
    }
    if !r.types.is_empty() {
        let _ = write!(s, "\n  validates {}", r.types.join(", "));
    }
    for c in &r.conflicts {
        let what = if r.replace.contains(&c.plugin) {
            "takes over from"
        } else {
            "CONFLICTS with"
        };
        let _ = write!(
            s,
            "\n  {what} `{}`, which validates `{}` now",
            c.plugin, c.artifact_type
        );
    }
    if !r.templates.is_empty() {
        let _ = write!(s, "\n  templates {}", r.templates.join(", "));
    }
    let _ = write!(s, "\n  limits   {}", limits(&r.limits));
    let _ = write!(s, "\n  {}", purity(r.pure));
    if r.requested.is_empty() {
        let _ = write!(
            s,
            "\n  capabilities: none (it cannot act outside its sandbox)"
        );
    } else {
        for cap in &r.requested {
            let what = crate::plugins::CAPABILITIES
                .iter()
                .find(|(c, _)| c == cap)
                .map(|(_, w)| *w)
                .unwrap_or("");
            let granted = if r.granted.contains(cap) {
                "grant"
            } else {
                "deny "
            };
            let _ = write!(s, "\n  {granted} {cap}: {what}");
        }
    }
    s
}

pub fn plugins(list: &[crate::plugins::Summary]) -> String {
    table(
        &["PLUGIN", "VERSION", "KINDS", "STATE", "PROVIDES"],
        list.iter()
            .map(|p| {
                let mut provides = p.types.clone();
                provides.extend(p.templates.iter().cloned());
                vec![
                    p.id.clone(),
                    p.version.clone(),
                    kinds(&p.kinds),
                    if p.standard {
                        "standard".into()
                    } else if p.enabled {
                        "enabled".into()
                    } else {
                        "disabled".into()
                    },
                    provides.join(", "),
                ]
            })
            .collect(),
    )
}

/// What `pure` lets clearctx do, as a consent line.
fn purity(pure: bool) -> &'static str {
    if pure {
        "pure     yes: declares its answers depend only on its input; clearctx reuses its instances and remembers its answers"
    } else {
        "pure     no: every call runs in a fresh instance"
    }
}

pub fn plugin_detail(d: &crate::plugins::Detail) -> String {
    let p = &d.summary;
    let mut s = format!("{} {} ({})", p.id, p.version, kinds(&p.kinds));
    if !p.description.is_empty() {
        let _ = write!(s, "\n  {}", p.description);
    }
    let _ = write!(
        s,
        "\n  health   {}\n  source   {}\n  sha256   {}",
        d.health, d.source, p.sha256
    );
    let _ = write!(s, "\n  limits   {}", limits(&p.limits));
    let _ = write!(s, "\n  {}", purity(p.pure));
    let _ = write!(
        s,
        "\n  granted  {}",
        if p.granted.is_empty() {
            "nothing".to_string()
        } else {
            p.granted.join(", ")
        }
    );
    let _ = write!(
        s,
        "\n  calls    {} ({} failed); most fuel {}, longest {} µs, peak memory {} KiB",
        d.calls,
        d.failures,
        d.max_fuel_used,
        d.max_wall_us,
        d.max_peak_memory_bytes / 1024
    );
    if p.pure {
        let _ = write!(
            s,
            "\n  reuse    {} call(s) in a reused instance, {} answered from the memo",
            d.reused_calls, d.memo_hits
        );
    }
    for c in &d.recent_calls {
        let how = match (c.ok, c.memoized, c.reused) {
            (false, _, _) => c.code.clone().unwrap_or_else(|| "failed".into()),
            (true, true, _) => "memo".into(),
            (true, false, true) => "reused".into(),
            (true, false, false) => "fresh".into(),
        };
        let _ = write!(
            s,
            "\n  call     {} {} {how}: fuel {}, {} µs, peak memory {} KiB",
            date(&c.at),
            c.function,
            c.fuel_used,
            c.wall_us,
            c.peak_memory_bytes / 1024
        );
    }
    for f in &d.recent_failures {
        let _ = write!(
            s,
            "\n  failed   {} {}: {}",
            date(&f.at),
            f.function,
            f.error.clone().unwrap_or_default()
        );
    }
    s
}

pub fn test_outcome(o: &crate::plugins::TestOutcome) -> String {
    let r = &o.receipt;
    let used = format!(
        "(fuel {}, {} µs, peak memory {} KiB)",
        r.fuel_used,
        r.wall_us,
        r.peak_memory_bytes / 1024
    );
    let body = match o.kind {
        crate::plugins::Kind::ArtifactValidator => {
            let violations = o.result["violations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if violations.is_empty() {
                format!("valid `{}`", o.result["type"].as_str().unwrap_or(""))
            } else {
                let mut s = format!(
                    "invalid `{}`: {} violation(s)",
                    o.result["type"].as_str().unwrap_or(""),
                    violations.len()
                );
                for v in violations {
                    let path = v["path"]
                        .as_str()
                        .filter(|p| !p.is_empty())
                        .unwrap_or("(root)");
                    let _ = write!(s, "\n  {path}: {}", v["message"].as_str().unwrap_or(""));
                }
                s
            }
        }
        crate::plugins::Kind::PipelineCondition => format!(
            "{} => {}",
            o.result["expression"].as_str().unwrap_or(""),
            o.result["result"]
        ),
        crate::plugins::Kind::PromptTemplate => o.result["text"].as_str().unwrap_or("").to_string(),
        crate::plugins::Kind::PipelineAction => {
            let mut s = String::from("commands:");
            for c in o.result["commands"].as_array().into_iter().flatten() {
                let _ = write!(
                    s,
                    "\n  {} {} {}",
                    if c["allowed"] == true {
                        "allowed"
                    } else {
                        "DENIED "
                    },
                    c["command"].as_str().unwrap_or(""),
                    c["args"]
                );
            }
            s
        }
    };
    format!("{} {}: {body}\n{used}", o.plugin, o.version)
}

pub fn status(st: &StatusReport) -> String {
    let mut s = format!(
        "data dir   {}\nevents     {} (last seq {})\nartifacts  {} ({} versions)\n",
        st.data_dir, st.events, st.last_seq, st.artifacts, st.artifact_versions
    );
    let counts: Vec<String> = st
        .contracts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        s,
        "contracts  {}",
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    );
    for t in &st.interrupted_teams {
        let _ = writeln!(
            s,
            "interrupted team {}: {} stopped with an open contract; `clearctx team resume {}` brings them back",
            t.team,
            t.members.join(", "),
            t.team
        );
    }
    if !st.unread_notifications.is_empty() {
        let unread: Vec<String> = st
            .unread_notifications
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "unread     {}", unread.join(", "));
    }
    if !st.sessions.is_empty() {
        let counts: Vec<String> = st
            .sessions
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(
            s,
            "sessions   {} (${:.4} spent)",
            counts.join(", "),
            st.sessions_cost_usd
        );
    }
    if st.pipelines > 0 {
        let _ = writeln!(s, "pipelines  {} ({} enabled)", st.pipelines, st.pipelines_enabled);
    }
    if !st.open_contracts.is_empty() {
        let _ = write!(s, "\n{}", contracts(&st.open_contracts));
    }
    if !st.pipeline_problems.is_empty() {
        let _ = write!(s, "\n\npipeline firings that went wrong (latest first):\n{}", firings(&st.pipeline_problems));
    }
    s.trim_end().to_string()
}

pub fn pipeline(p: &crate::pipelines::Pipeline) -> String {
    let mut s = format!(
        "pipeline {} ({}, team {}, by {})\n",
        p.pipeline_id,
        if p.enabled { "enabled" } else { "disabled" },
        p.team,
        p.created_by
    );
    if !p.description.is_empty() {
        let _ = writeln!(s, "{}", p.description);
    }
    for (i, r) in p.rules.iter().enumerate() {
        let t = &r.trigger;
        let filters: Vec<String> = [
            ("type", &t.artifact_type),
            ("artifact", &t.artifact_id),
            ("contract", &t.contract_id),
            ("session", &t.session),
            ("team", &t.team),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        let _ = writeln!(
            s,
            "  {}. {}: on {}{}{} -> {}",
            i,
            r.label(i),
            t.kind.as_str(),
            if filters.is_empty() { String::new() } else { format!(" [{}]", filters.join(", ")) },
            r.condition.as_ref().map(|c| format!(" if {c}")).unwrap_or_default(),
            serde_json::to_string(&r.action).unwrap_or_default()
        );
    }
    if let Some(f) = &p.recent_firings
        && !f.is_empty()
    {
        let _ = write!(s, "\nlatest firings:\n{}", firings(f));
    }
    s.trim_end().to_string()
}

pub fn pipelines(list: &[crate::pipelines::Pipeline]) -> String {
    if list.is_empty() {
        return "no pipelines".to_string();
    }
    table(
        &["PIPELINE", "ENABLED", "RULES", "TEAM", "DESCRIPTION"],
        list.iter()
            .map(|p| {
                vec![
                    p.pipeline_id.clone(),
                    if p.enabled { "yes" } else { "no" }.to_string(),
                    p.rules.len().to_string(),
                    p.team.clone(),
                    p.description.clone(),
                ]
            })
            .collect(),
    )
}

/// What a firing did, in a few words: the commands, or the error.
fn firing_what(f: &crate::pipelines::Firing) -> String {
    if let Some(rules) = f.detail["rules"].as_array() {
        let names: Vec<&str> = rules.iter().filter_map(|r| r["rule"].as_str()).collect();
        return format!("not fired: {}", names.join(", "));
    }
    if let Some(e) = f.detail.get("error") {
        return e
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| e.as_str())
            .unwrap_or_default()
            .to_string();
    }
    f.detail["commands"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let target = ["contract_id", "target", "to", "artifact_id"]
                        .iter()
                        .find_map(|k| c[*k].as_str())
                        .unwrap_or_default();
                    format!("{} {target}", c["command"].as_str().unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub fn firings(list: &[crate::pipelines::Firing]) -> String {
    if list.is_empty() {
        return "no firings".to_string();
    }
    table(
        &["ID", "EVENT", "RULE", "CONDITION", "OUTCOME", "WHAT"],
        list.iter()
            .map(|f| {
                vec![
                    f.id.to_string(),
                    format!("{} {}", f.seq, f.event_kind),
                    match &f.rule {
                        Some(rule) => format!("{}/{rule}", f.pipeline_id),
                        None => format!("{}/*", f.pipeline_id),
                    },
                    f.condition.map_or("-".to_string(), |c| c.to_string()),
                    f.outcome.as_str().to_string(),
                    firing_what(f),
                ]
            })
            .collect(),
    )
}

/// A trace as an indented tree from its start: inputs (upstream) or what was derived
/// (downstream) below each version; a version met again is named, not repeated.
pub fn lineage_tree(t: &crate::lineage::Trace) -> String {
    use crate::lineage::Direction;
    use std::collections::{HashMap, HashSet};
    let key = |id: &str, v: u32| format!("{id}@{v}");
    let mut below: HashMap<String, Vec<String>> = HashMap::new();
    for e in &t.edges {
        let (from, to) = match t.direction {
            Direction::Upstream => (&e.output, &e.input),
            Direction::Downstream => (&e.input, &e.output),
        };
        below
            .entry(key(&from.artifact_id, from.version))
            .or_default()
            .push(key(&to.artifact_id, to.version));
    }
    let nodes: HashMap<String, &crate::lineage::Node> = t
        .nodes
        .iter()
        .map(|n| (key(&n.artifact_id, n.version), n))
        .collect();
    let describe = |k: &str| -> String {
        match nodes.get(k) {
            Some(n) => {
                let mut s = format!("{} v{} ({})", n.artifact_id, n.version, n.artifact_type);
                if n.version < n.latest_version {
                    let _ = write!(s, ", latest v{}", n.latest_version);
                }
                if n.stale {
                    s.push_str("  STALE");
                }
                s
            }
            None => k.to_string(),
        }
    };
    fn walk(
        k: &str,
        prefix: &str,
        below: &HashMap<String, Vec<String>>,
        shown: &mut HashSet<String>,
        describe: &dyn Fn(&str) -> String,
        out: &mut String,
    ) {
        let Some(children) = below.get(k) else { return };
        for (i, c) in children.iter().enumerate() {
            let last = i + 1 == children.len();
            let again = !shown.insert(c.clone());
            let _ = writeln!(
                out,
                "{prefix}{}{}{}",
                if last { "└── " } else { "├── " },
                describe(c),
                if again && below.contains_key(c) {
                    " (see above)"
                } else {
                    ""
                }
            );
            if !again {
                let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
                walk(c, &deeper, below, shown, describe, out);
            }
        }
    }
    let start = key(&t.artifact_id, t.version);
    let mut out = format!("{}\n", describe(&start));
    let mut shown = HashSet::from([start.clone()]);
    walk(&start, "", &below, &mut shown, &describe, &mut out);
    if t.edges.is_empty() {
        out.push_str(match t.direction {
            Direction::Upstream => "(derived from nothing)\n",
            Direction::Downstream => "(nothing derived from it)\n",
        });
    }
    if t.truncated {
        out.push_str("… cut at 500 versions; trace a version further down with --version\n");
    }
    out.trim_end().to_string()
}

pub fn impact(i: &crate::lineage::Impact) -> String {
    if i.downstream.is_empty() {
        return format!("nothing is derived from {} v{}", i.artifact_id, i.version);
    }
    let mut s = format!("downstream of {} v{}:\n", i.artifact_id, i.version);
    s.push_str(&table(
        &["ARTIFACT", "VERSION", "HOPS", "STALE"],
        i.downstream
            .iter()
            .map(|d| {
                vec![
                    d.artifact_id.clone(),
                    d.version.to_string(),
                    d.depth.to_string(),
                    if d.stale { "stale" } else { "" }.to_string(),
                ]
            })
            .collect(),
    ));
    if !i.contracts.is_empty() {
        s.push_str("\n\ncontracts:\n");
        s.push_str(&table(
            &["CONTRACT", "STATUS", "RELATION", "ARTIFACT"],
            i.contracts
                .iter()
                .map(|c| {
                    vec![
                        c.contract_id.clone(),
                        c.status.clone(),
                        c.relation.to_string(),
                        format!("{}@{}", c.artifact_id, c.version),
                    ]
                })
                .collect(),
        ));
    }
    if !i.readers.is_empty() {
        s.push_str("\n\nread by:\n");
        s.push_str(&table(
            &["READER", "ARTIFACT", "LAST READ"],
            i.readers
                .iter()
                .map(|r| {
                    vec![
                        r.reader.clone(),
                        format!("{}@{}", r.artifact_id, r.version),
                        date(&r.last_read_at),
                    ]
                })
                .collect(),
        ));
    }
    if let Some(c) = &i.next_cursor {
        let _ = write!(s, "\n… more: add --cursor {c}");
    }
    s
}

pub fn stale(items: &[crate::lineage::StaleItem]) -> String {
    use crate::lineage::StaleItem;
    if items.is_empty() {
        return "nothing is stale".to_string();
    }
    let mut s = String::new();
    for item in items {
        match item {
            StaleItem::Artifact {
                artifact_id,
                version,
                team,
                causes,
                cause_count,
                ..
            } => {
                let _ = writeln!(s, "{artifact_id} v{version} ({team}) is stale:");
                for c in causes {
                    let via: String = c
                        .path
                        .iter()
                        .map(|p| format!(" via {}@{}", p.artifact_id, p.version))
                        .collect();
                    let _ = writeln!(
                        s,
                        "  {} v{} used, v{} is the latest{via}{}",
                        c.input_id,
                        c.version_used,
                        c.latest_version,
                        if c.path_truncated { " …" } else { "" }
                    );
                }
                if *cause_count as usize > causes.len() {
                    let _ = writeln!(
                        s,
                        "  … {} more cause(s)",
                        *cause_count as usize - causes.len()
                    );
                }
            }
            StaleItem::Contract {
                contract_id,
                title,
                stale_outputs,
                ..
            } => {
                let outs: Vec<String> = stale_outputs
                    .iter()
                    .map(|o| format!("{}@{}", o.artifact_id, o.version))
                    .collect();
                let _ = writeln!(
                    s,
                    "contract {contract_id} ({title}) is stale: its output {} is",
                    outs.join(", ")
                );
            }
        }
    }
    s.trim_end().to_string()
}
