//! How a turn's `result` line becomes its outcome (status, cost, error) and whether the
//! session may go on, as a table over the recorded lines of Claude Code and the budget
//! the session had. Runs `on_result` on a real store; the child is `true`, never talked to.

use serde_json::Value;

use super::*;
use crate::model::Caller;
use crate::sessions::{Config, SpawnRequest, insert, request_outcome};
use crate::store::Event;

const RECORDED: &str = include_str!("../../../../tests/fixtures/stream-json/claude-2.1.332.jsonl");
const RESUMED: &str =
    include_str!("../../../../tests/fixtures/stream-json/claude-2.1.332-resumed.jsonl");

/// The `result` lines of a recording, in order.
fn results(recording: &str) -> Vec<Value> {
    recording
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "result")
        .collect()
}

fn parsed(v: &Value) -> TurnResult {
    match protocol::parse(&v.to_string()) {
        Ok(Line::Result(r)) => r,
        other => panic!("not a result line: {other:?}"),
    }
}

#[test]
fn turn_cost_table() {
    let r = |turn: Option<f64>, total: f64| TurnResult {
        turn_cost_usd: turn,
        total_cost_usd: total,
        ..TurnResult::default()
    };
    // (result, what the process had reported before, the turn's cost)
    let cases = [
        // The CLI's own figure wins, whatever the running total says.
        (r(Some(0.006), 0.018), 0.0, 0.006),
        (r(Some(0.006), 0.018), 0.012, 0.006),
        (r(Some(0.0), 5.0), 0.0, 0.0),
        (r(Some(-0.5), 1.0), 0.0, 0.0),
        // Without it: what is new in the running total.
        (r(None, 0.05), 0.02, 0.03),
        (r(None, 0.05), 0.05, 0.0),
        (r(None, 0.012), 0.0, 0.012),
        // A total below what was seen started again from zero: all of it is new.
        (r(None, 0.01), 0.02, 0.01),
    ];
    for (i, (result, seen, want)) in cases.iter().enumerate() {
        let got = turn_cost(result, *seen);
        assert!(
            (got - want).abs() < 1e-12,
            "case {i}: {:?}/{} seen {seen} cost {got}, expected {want}",
            result.turn_cost_usd,
            result.total_cost_usd
        );
    }
    // Each recorded result with what its process had reported before it.
    let mut seen = 0.0;
    let mut costs = Vec::new();
    for v in results(RECORDED) {
        let r = parsed(&v);
        costs.push(turn_cost(&r, seen));
        seen = r.total_cost_usd;
    }
    let want = [0.012, 0.006, 0.006];
    assert_eq!(costs.len(), want.len());
    for (got, want) in costs.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{costs:?}");
    }
}

/// What the session had before the turn.
#[derive(Debug, Clone, Copy, Default)]
struct Before {
    max_cost: Option<f64>,
    max_turns: Option<u32>,
    spent: f64,
    turns: i64,
    /// The process's running total as of its previous result.
    process_cost: f64,
    /// A delegating session: its max_cost and what it spent itself.
    parent: Option<(f64, f64)>,
}

/// What the turn must come to.
struct Want {
    status: &'static str,
    cost: f64,
    /// A part of the outcome's error; `None`: no error.
    error: Option<&'static str>,
    /// The session is let go for its budget, with this stop reason.
    stop: Option<&'static str>,
}

fn want(status: &'static str, cost: f64) -> Want {
    Want {
        status,
        cost,
        error: None,
        stop: None,
    }
}

impl Want {
    fn error(mut self, e: &'static str) -> Want {
        self.error = Some(e);
        self
    }
    fn stop(mut self, s: &'static str) -> Want {
        self.stop = Some(s);
        self
    }
}

/// Records session `name` as `before` says, with a running turn; then hands `line` to a
/// supervisor as the end of that turn. Returns the outcome, the row after, and why the
/// supervisor is letting the process go, if it is.
fn run_turn(
    store: Store,
    name: &str,
    before: Before,
    line: &Value,
) -> (Store, TurnOutcome, SessionRow, Option<Ending>, Vec<Event>) {
    let mut store = store;
    let request_id = store
        .write(|tx| {
            let mut by = Caller::new("orchestrator", "default");
            if let Some((max, spent)) = before.parent {
                let lead = format!("{name}-lead");
                let req = SpawnRequest {
                    name: lead.clone(),
                    max_cost: Some(max),
                    ..SpawnRequest::default()
                };
                insert(tx, &by, &req, "session", &Config::default(), None, None)?;
                tx.add_session_usage(&lead, spent, spent, 1, None)?;
                by = Caller::new(lead, "default");
            }
            let req = SpawnRequest {
                name: name.into(),
                max_cost: before.max_cost,
                max_turns: before.max_turns,
                ..SpawnRequest::default()
            };
            insert(tx, &by, &req, "delegate", &Config::default(), None, None)?;
            tx.add_session_usage(name, before.spent, before.process_cost, before.turns, None)?;
            let id =
                tx.insert_session_request(name, RequestKind::Turn, Some("go"), "orchestrator")?;
            tx.set_session_request_running(id)?;
            tx.set_session_status(name, SessionStatus::Busy)?;
            Ok(id)
        })
        .unwrap();
    let seq = store.read(|tx| tx.last_seq()).unwrap();
    let mut sup = Supervisor {
        store,
        name: name.into(),
        launch: Launch {
            name: name.into(),
            program: "true".into(),
            args: vec![],
            env: vec![],
            env_remove: vec![],
            work_dir: None,
            turn_timeout: Duration::from_secs(60),
        },
        child: Command::new("true").spawn().expect("`true` runs"),
        stdin: None,
        stderr: Arc::new(Mutex::new(VecDeque::new())),
        stderr_reader: None,
        current: Some(Current {
            request_id,
            started: Instant::now(),
        }),
        paused: false,
        ending: None,
        kill_at: None,
        claude_id: None,
        last_heartbeat: Instant::now(),
    };
    sup.on_result(parsed(line)).unwrap();
    assert!(sup.current.is_none(), "the turn is over");
    let _ = sup.child.wait();
    let Supervisor {
        mut store, ending, ..
    } = sup;
    let (outcome, row, events) = store
        .read(|tx| {
            let req = tx.session_request(request_id)?.unwrap();
            let outcome = request_outcome(&req).expect("the request has its outcome");
            Ok((
                outcome,
                tx.session(name)?.unwrap(),
                tx.events_after(seq, 100)?,
            ))
        })
        .unwrap();
    (store, outcome, row, ending, events)
}

#[test]
fn turn_outcome_table() {
    let recorded = results(RECORDED);
    let resumed = results(RESUMED);
    // The first recorded turn: two model requests, $0.012, `done reading`.
    let first = &recorded[0];
    let edit = |base: &Value, f: fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    // An older CLI, without `model_usage_since_last_result`: only the running total.
    let old_cli = |total: f64| {
        let mut v = first.clone();
        v.as_object_mut()
            .unwrap()
            .remove("model_usage_since_last_result");
        v["total_cost_usd"] = json!(total);
        v
    };
    let denied = |v: &mut Value| {
        v["permission_denials"] = json!([
            { "tool_name": "Write", "tool_use_id": "t1", "tool_input": {} },
            { "tool_name": "Bash", "tool_use_id": "t2", "tool_input": {} },
        ])
    };
    let b = Before::default();
    #[rustfmt::skip]
    let cases: Vec<(&str, Before, Value, Want)> = vec![
        ("recorded first turn", b, first.clone(), want("completed", 0.012)),
        ("recorded second turn", Before { process_cost: 0.012, ..b }, recorded[1].clone(), want("completed", 0.006)),
        // The CLI's own per-turn figure, not the running total, even if they disagree.
        ("recorded second turn, total unknown", b, recorded[1].clone(), want("completed", 0.006)),
        ("recorded turn of a resumed process", Before { spent: 0.012, ..b }, resumed[0].clone(), want("completed", 0.006)),
        ("older CLI: what is new in the total", Before { process_cost: 0.02, ..b }, old_cli(0.05), want("completed", 0.03)),
        ("older CLI: a total that started again", Before { process_cost: 0.02, ..b }, old_cli(0.01), want("completed", 0.01)),
        ("a negative turn cost counts as none", b,
            edit(first, |v| v["model_usage_since_last_result"] = json!({ "m": { "costUSD": -0.5 } })),
            want("completed", 0.0)),
        ("Claude Code's own budget stop", b,
            edit(first, |v| { v["subtype"] = json!("error_max_budget_usd"); v["is_error"] = json!(true); v["errors"] = json!(["Reached maximum budget ($0.01)"]); }),
            want("cost_exceeded", 0.012).error("Reached maximum budget ($0.01)")),
        ("Claude Code's own turn limit", b,
            edit(first, |v| { v["subtype"] = json!("error_max_turns"); v["is_error"] = json!(true); v["errors"] = json!(["Reached maximum number of turns (2)", "stopped"]); }),
            want("turns_exceeded", 0.012).error("Reached maximum number of turns (2); stopped")),
        ("an error without a message", b,
            edit(first, |v| { v["subtype"] = json!("error_during_execution"); v["is_error"] = json!(true); }),
            want("failed", 0.012).error("claude ended the turn with `error_during_execution`")),
        ("an error with messages", b,
            edit(first, |v| { v["subtype"] = json!("error_during_execution"); v["is_error"] = json!(true); v["errors"] = json!(["API Error: 500", {"code": 7}]); }),
            want("failed", 0.012).error(r#"API Error: 500; {"code":7}"#)),
        // An error is the turn's status even over budget; the budget still ends the session.
        ("an error over budget", Before { max_cost: Some(0.01), ..b },
            edit(first, |v| { v["subtype"] = json!("error_during_execution"); v["is_error"] = json!(true); }),
            want("failed", 0.012).error("`error_during_execution`").stop("cost_exceeded")),
        ("within max_cost", Before { max_cost: Some(1.0), ..b }, first.clone(), want("completed", 0.012)),
        ("over max_cost", Before { max_cost: Some(0.01), ..b }, first.clone(),
            want("cost_exceeded", 0.012).error("has no budget left: it spent $0.0120, reaching its max_cost ($0.0100)").stop("cost_exceeded")),
        // Spending all of it completes the turn, but no later turn may run.
        ("exactly max_cost", Before { max_cost: Some(0.012), ..b }, first.clone(),
            want("completed", 0.012).stop("cost_exceeded")),
        ("over max_cost with what it had spent", Before { max_cost: Some(0.02), spent: 0.01, ..b }, first.clone(),
            want("cost_exceeded", 0.012).error("it spent $0.0220, reaching its max_cost ($0.0200)").stop("cost_exceeded")),
        ("over the delegator's budget", Before { parent: Some((0.02, 0.015)), ..b }, first.clone(),
            want("cost_exceeded", 0.012).error("reaching the budget of `").stop("cost_exceeded")),
        ("within the delegator's budget", Before { parent: Some((1.0, 0.015)), ..b }, first.clone(),
            want("completed", 0.012)),
        ("within max_turns", Before { max_turns: Some(5), ..b }, first.clone(), want("completed", 0.012)),
        ("over max_turns", Before { max_turns: Some(1), ..b }, first.clone(),
            want("turns_exceeded", 0.012).error("used its 1 turns (max_turns)").stop("turns_exceeded")),
        ("exactly max_turns", Before { max_turns: Some(2), ..b }, first.clone(),
            want("completed", 0.012).stop("turns_exceeded")),
        ("over max_turns with what it had", Before { max_turns: Some(3), turns: 2, ..b }, first.clone(),
            want("turns_exceeded", 0.012).error("used its 3 turns").stop("turns_exceeded")),
        ("cost before turns", Before { max_cost: Some(0.01), max_turns: Some(1), ..b }, first.clone(),
            want("cost_exceeded", 0.012).error("has no budget left").stop("cost_exceeded")),
        ("refused tool calls", b, edit(first, denied),
            want("needs_input", 0.012).error("2 tool call(s) were refused: Write, Bash")),
        ("over budget before refused tool calls", Before { max_cost: Some(0.01), ..b }, edit(first, denied),
            want("cost_exceeded", 0.012).error("has no budget left").stop("cost_exceeded")),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("clearctx.db"), std::sync::Arc::new(|_: &crate::store::Tx<'_>| Ok(()))).unwrap();
    let mut failures = Vec::new();
    for (i, (what, before, line, want)) in cases.into_iter().enumerate() {
        let name = format!("s{i}");
        let (back, outcome, row, ending, events) = run_turn(store, &name, before, &line);
        store = back;
        let case = format!("case {i} ({what})");
        let got = (outcome.status.as_str(), outcome.error.as_deref());
        let error_ok = match (want.error, outcome.error.as_deref()) {
            (None, None) => true,
            (Some(w), Some(e)) => e.contains(w),
            _ => false,
        };
        if outcome.status != want.status || !error_ok || (outcome.cost_usd - want.cost).abs() > 1e-9
        {
            failures.push(format!(
                "{case}: {got:?} ${}, expected {:?} {:?} ${}",
                outcome.cost_usd, want.status, want.error, want.cost
            ));
            continue;
        }
        let r = parsed(&line);
        // The turn's figures, and the session's totals with it.
        assert_eq!(outcome.turns, r.num_turns, "{case}");
        assert!(
            (row.cost_usd - (before.spent + want.cost)).abs() < 1e-9,
            "{case}: {}",
            row.cost_usd
        );
        assert_eq!(row.turns, before.turns + r.num_turns, "{case}");
        assert_eq!(
            (outcome.session_cost_usd, outcome.session_turns),
            (row.cost_usd, row.turns),
            "{case}"
        );
        assert_eq!(row.process_cost_usd, r.total_cost_usd, "{case}");
        assert_eq!(
            outcome.subtype.as_deref(),
            Some(r.subtype.as_str()),
            "{case}"
        );
        assert_eq!(outcome.permission_denials, r.permission_denials, "{case}");
        // The text of a turn that did not error is the session's last output.
        let output = (!r.is_error).then(|| r.text.clone().unwrap_or_default());
        assert_eq!(row.last_output, output, "{case}");
        // A delegated task's status is its last turn's; the process is idle again.
        assert_eq!(row.task_status.as_deref(), Some(want.status), "{case}");
        assert_eq!(row.status, SessionStatus::Idle, "{case}");
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let turn = events
            .iter()
            .find(|e| e.kind == "session.turn_completed")
            .unwrap();
        assert_eq!(turn.payload["status"], json!(want.status), "{case}");
        // Out of budget: the reason is recorded and the process let go gently.
        match want.stop {
            Some(reason) => {
                assert_eq!(row.stop_reason.as_deref(), Some(reason), "{case}");
                let e = ending.as_ref().expect("stopping");
                assert_eq!(
                    (e.status, e.stop_reason, e.turn_status),
                    (SessionStatus::Stopped, reason, reason),
                    "{case}"
                );
                assert_eq!(
                    kinds,
                    ["session.turn_completed", "session.budget_exceeded"],
                    "{case}"
                );
            }
            None => {
                assert_eq!(row.stop_reason, None, "{case}");
                assert!(ending.is_none(), "{case}: {ending:?}");
                assert_eq!(kinds, ["session.turn_completed"], "{case}");
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
