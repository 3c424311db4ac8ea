//! What a rule sees of an event: its context (`event`, `data`, `artifact`, `contract`,
//! `session`), and `${path}` references to it in an action's strings.
//!
//! The references are a dotted path with `[n]` for list items, nothing more: a whole
//! template language would be a second way to compute, next to the condition plugins.

use serde_json::{Value, json};

use super::TriggerType;
use crate::error::{Error, Result};
use crate::store::{Event, Tx};

/// The names a context has at its top.
pub const ROOTS: [&str; 5] = ["event", "data", "artifact", "contract", "session"];

/// The context of `ev`: the event itself, and what it is about as it stands now.
/// `data` is the artifact's data for artifact events, else the event's payload.
pub(crate) fn for_event(tx: &Tx<'_>, ev: &Event, trigger: TriggerType) -> Result<Value> {
    let event = json!({
        "seq": ev.seq,
        "kind": ev.kind,
        "actor": ev.actor,
        "team": ev.team,
        "subject": ev.subject,
        "at": ev.at,
        "payload": ev.payload,
    });
    let id = ev.subject.split_once(':').map_or("", |(_, id)| id);
    let mut ctx = json!({
        "event": event,
        "data": ev.payload,
        "artifact": null,
        "contract": null,
        "session": null,
    });
    if trigger.is_artifact() {
        let version = ev.payload["version"].as_u64().unwrap_or(0) as u32;
        if let Some(mut v) = tx.version(id, version, true)? {
            ctx["data"] = v.data.take().unwrap_or(Value::Null);
            let head = tx.artifact_head(id)?;
            let mut a = serde_json::to_value(&v).expect("versions serialize");
            a["latest_version"] = json!(head.map_or(version, |h| h.latest_version));
            ctx["artifact"] = a;
        }
    } else if trigger.is_contract() {
        if let Some(c) = tx.contract(id)? {
            ctx["contract"] = json!({
                "contract_id": c.contract_id,
                "title": c.title,
                "description": c.description,
                "assignee": c.assignee,
                "assigner": c.assigner,
                "team": c.team,
                "status": c.status.as_str(),
                "priority": c.priority,
                "inputs": c.inputs,
                "reason": c.reason,
                "retries": c.retries,
                "result": c.result,
            });
        }
    } else if let Some(s) = tx.session(id)? {
        ctx["session"] = json!({
            "name": s.name,
            "team": s.team,
            "status": s.status,
            "parent": s.parent,
            "cost_usd": s.cost_usd,
            "turns": s.turns,
            "last_output": s.last_output,
            "last_error": s.last_error,
        });
    }
    Ok(ctx)
}

/// One `${...}` in a template: where it starts and ends (bytes) and its path.
struct Reference<'a> {
    start: usize,
    end: usize,
    path: &'a str,
}

fn references(s: &str) -> std::result::Result<Vec<Reference<'_>>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("${") {
        let start = from + i;
        let Some(len) = s[start + 2..].find('}') else {
            return Err(format!("`${{` at byte {start} has no closing `}}`"));
        };
        let path = s[start + 2..start + 2 + len].trim();
        let end = start + 2 + len + 1;
        out.push(Reference { start, end, path });
        from = end;
    }
    Ok(out)
}

/// The path's steps: keys, and list indexes written `[n]`.
fn steps(path: &str) -> std::result::Result<Vec<Step<'_>>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() && out.is_empty() {
            return Err(format!("`${{{path}}}` does not start with a name"));
        }
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("`${{{path}}}` has a `[` without `]`"))?;
            let n = rest[1..close]
                .parse()
                .map_err(|_| format!("`${{{path}}}`: `{}` is not a list index", &rest[1..close]))?;
            out.push(Step::Index(n));
            rest = &rest[close + 1..];
        }
    }
    Ok(out)
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Checks the `${...}` references of a template when a pipeline is created.
pub fn check_template(field: &str, s: &str) -> Result<()> {
    let refs = references(s).map_err(|m| Error::invalid(field, m))?;
    for r in refs {
        let st = steps(r.path).map_err(|m| Error::invalid(field, m))?;
        match st.first() {
            Some(Step::Key(root)) if ROOTS.contains(root) => {}
            _ => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "`${{{}}}` must start with one of {}",
                        r.path,
                        ROOTS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Replaces each `${path}` in `s` with that value of `ctx`: a string as it is, anything
/// else as JSON. A path the context does not have is an error, not an empty string.
pub fn interpolate(s: &str, ctx: &Value) -> Result<String> {
    let refs = references(s).map_err(|m| Error::invalid("template", m))?;
    if refs.is_empty() {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    for r in refs {
        out.push_str(&s[from..r.start]);
        let mut v = ctx;
        for step in steps(r.path).map_err(|m| Error::invalid("template", m))? {
            let next = match step {
                Step::Key(k) => v.get(k),
                Step::Index(n) => v.get(n),
            };
            v = next.filter(|x| !x.is_null() || matches!(step, Step::Key(_))).ok_or_else(|| {
                Error::invalid(
                    "template",
                    format!("`${{{}}}`: the event's context has no such value", r.path),
                )
            })?;
        }
        match v {
            Value::String(text) => out.push_str(text),
            other => out.push_str(&other.to_string()),
        }
        from = r.end;
    }
    out.push_str(&s[from..]);
    Ok(out)
}

/// [`interpolate`] applied to every string inside `v`.
pub(crate) fn interpolate_value(v: &Value, ctx: &Value) -> Result<Value> {
    Ok(match v {
        Value::String(s) => Value::String(interpolate(s, ctx)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| interpolate_value(x, ctx))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| Ok((k.clone(), interpolate_value(x, ctx)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_replaced_and_checked() {
        let ctx = json!({"data": {"failed": 2, "names": ["a", "b"], "note": "x"}, "contract": null});
        assert_eq!(
            interpolate("Tests failing: ${data.failed} failures", &ctx).unwrap(),
            "Tests failing: 2 failures"
        );
        assert_eq!(interpolate("${data.names[1]}/${ data.note }", &ctx).unwrap(), "b/x");
        assert_eq!(interpolate("${data.names}", &ctx).unwrap(), r#"["a","b"]"#);
        assert_eq!(interpolate("no refs", &ctx).unwrap(), "no refs");
        let e = interpolate("${data.passed}", &ctx).unwrap_err().to_string();
        assert!(e.contains("data.passed"), "{e}");
        assert!(interpolate("${contract.assignee}", &ctx).is_err());
        assert!(check_template("f", "${data.failed} and ${artifact.version}").is_ok());
        for bad in ["${nope.x}", "${data.failed", "${}", "${data.x[y]}", "${data.x[1}"] {
            assert!(check_template("f", bad).is_err(), "{bad}");
        }
    }
}
