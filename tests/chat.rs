//! Team chat: messages, broadcasts, asks and replies between team members.
//!
//! The refusals, delivery and paging run against `clearctx serve` with members played by
//! the fake `claude` (quick, and a delivered turn shows as its echo). End to end, real
//! Claude Code workers driven by the scripted mock model assign each other work through
//! contracts and messages, and answer (or let time out) each other's blocking questions.

#[path = "common/claude.rs"]
mod claude;
mod common;
#[path = "common/mock_model.rs"]
mod mock_model;

use std::time::{Duration, Instant};

use claude::Rig;
use common::{Client, DataDir, fake_claude_env};
use mock_model::{MockModel, Reply};
use serde_json::{Value, json};

/// A member's own server: bound to it, in its team, as clearctx starts it for a worker
/// (`DataDir::connect` leaves the team out).
async fn member(dir: &DataDir, name: &str, team: &str) -> Client {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.arg("serve").arg("--home").arg(dir.path());
    cmd.env("CLEARCTX_SESSION", name)
        .env("CLEARCTX_TEAM", team)
        .env("CLEARCTX_CACHE_DIR", common::plugin_cache());
    Client::spawn(cmd).await
}

/// Starts idle members of `team` (fake `claude`) from the orchestrator's server.
async fn spawn_members(orch: &Client, team: &str, names: &[&str]) {
    for name in names {
        orch.ok("team_spawn", json!({"name": name, "role": "dev", "team": team})).await;
    }
}

/// Waits (at most a minute: a bound for a broken build, not a timing check) until `f` holds.
async fn until<F, Fut>(what: &str, mut f: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn last_output(orch: &Client, name: &str, needle: &str) -> Value {
    until(&format!("{name}'s output to contain {needle:?}"), || async {
        let s = orch.ok("get_session_status", json!({"name": name})).await;
        (s["status"] == "idle" && s["last_output"].as_str().is_some_and(|o| o.contains(needle))).then_some(s)
    })
    .await
}

/// The chat events in the log, by kind.
fn chat_events(dir: &DataDir) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(dir.path().join("clearctx.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT kind, subject FROM events WHERE kind LIKE 'chat.%' ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_workers_get_messages_as_turns_and_busy_ones_when_their_turn_ends() {
    let dir = DataDir::new();
    let orch = dir.connect_with_env(None, &fake_claude_env()).await;
    spawn_members(&orch, "t", &["a", "b", "c"]).await;
    let a = member(&dir, "a", "t").await;
    let b = member(&dir, "b", "t").await;

    // Idle: delivered at once as a turn; it counts as read.
    let s = a.ok("team_send_message", json!({"to": "b", "message": "hello b"})).await;
    assert_eq!(s["delivered_as_turn"], json!(["b"]), "{s}");
    assert_eq!(s["team"], "t");
    last_output(&orch, "b", "Message from `a`: hello b").await;
    let i = b.ok("team_check_inbox", json!({"include_read": true})).await;
    assert_eq!(i["unread"], json!([]), "{i}");
    assert_eq!(i["read"][0]["kind"], "message", "{i}");
    assert_eq!(i["read"][0]["sender"], "a", "{i}");

    // Busy: it waits in the inbox, then comes as one turn when the busy turn ends.
    orch.ok("send_message", json!({"name": "b", "message": "SLEEP 3", "wait": false})).await;
    until("b to be busy", || async {
        let s = orch.ok("get_session_status", json!({"name": "b"})).await;
        (s["status"] == "busy").then_some(s)
    })
    .await;
    let s = a.ok("team_send_message", json!({"to": "b", "message": "while you were busy"})).await;
    assert_eq!(s["in_inbox"], json!(["b"]), "{s}");
    let i = b.ok("team_check_inbox", json!({"mark_read": false})).await;
    assert_eq!(i["unread"][0]["message"], "while you were busy", "{i}");
    last_output(&orch, "b", "Message from `a`: while you were busy").await;
    assert_eq!(b.ok("team_check_inbox", json!({})).await["unread"], json!([]));

    // Read during the busy turn: not delivered again.
    orch.ok("send_message", json!({"name": "b", "message": "SLEEP 3", "wait": false})).await;
    until("b to be busy", || async {
        let s = orch.ok("get_session_status", json!({"name": "b"})).await;
        (s["status"] == "busy").then_some(s)
    })
    .await;
    a.ok("team_send_message", json!({"to": "b", "message": "read me now"})).await;
    let i = b.ok("team_check_inbox", json!({})).await;
    assert_eq!(i["unread"][0]["message"], "read me now", "{i}");
    let s = last_output(&orch, "b", "SLEEP 3").await;
    let h = orch.ok("get_history", json!({"name": "b"})).await;
    let delivered = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "user" && e["text"].as_str().is_some_and(|t| t.contains("read me now")))
        .count();
    assert_eq!(delivered, 0, "{s} {h}");

    // A broadcast reaches every member but the sender, and the orchestrator may send too.
    let s = a.ok("team_broadcast", json!({"message": "standup"})).await;
    assert_eq!(s["to"], json!(["b", "c"]), "{s}");
    last_output(&orch, "c", "Broadcast from `a` to team `t`: standup").await;
    let s = orch.ok("team_send_message", json!({"to": "a", "message": "from the top"})).await;
    assert_eq!(s["team"], "t", "{s}");
    assert_eq!(s["from"], "orchestrator");
    last_output(&orch, "a", "Message from `orchestrator`: from the top").await;

    // Every send is an event.
    let kinds: Vec<String> = chat_events(&dir).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        ["chat.message", "chat.message", "chat.message", "chat.broadcast", "chat.message"],
    );
    for c in [orch, a, b] {
        c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_sends_and_loops_are_refused_naming_why_and_changing_nothing() {
    let dir = DataDir::new();
    let orch = dir.connect_with_env(None, &fake_claude_env()).await;
    spawn_members(&orch, "t", &["a", "b", "c", "d", "e"]).await;
    orch.ok("team_spawn", json!({"name": "x", "role": "dev", "team": "other"})).await;
    let a = member(&dir, "a", "t").await;

    for (tool, args, needle) in [
        ("team_send_message", json!({"to": "a", "message": "me"}), "`a` is you"),
        ("team_send_message", json!({"to": "zed", "message": "hi"}), "not a member of team `t`"),
        ("team_send_message", json!({"to": "x", "message": "hi"}), "not a member of team `t`"),
        ("team_broadcast", json!({"message": "hi", "team": "other"}), "speaks only for `a` in team `t`"),
        ("team_send_message", json!({"to": "b", "message": "  "}), "message: must not be empty"),
        ("team_send_message", json!({"to": "b/..", "message": "hi"}), "to: `b/..` contains"),
        ("team_broadcast", json!({"message": ""}), "message: must not be empty"),
        ("team_ask", json!({"to": "b", "question": "q", "timeout_s": 0}), "timeout_s: 0 is out of range"),
        ("team_ask", json!({"to": "b", "question": "q", "timeout_s": 901}), "timeout_s: 901 is out of range"),
        ("team_reply", json!({"ask_id": "seven", "answer": "x"}), "is not an ask id"),
        ("team_reply", json!({"ask_id": "ask-99", "answer": "x"}), "ask `ask-99` does not exist"),
        ("team_check_inbox", json!({"recipient": "b"}), "acts only as `a`"),
        ("team_check_inbox", json!({"cursor": "o3"}), "is not an inbox cursor"),
        ("team_check_inbox", json!({"limit": 0}), "limit: 0 is out of range"),
    ] {
        let e = a.err(tool, args.clone()).await;
        assert!(e.contains(needle), "{tool} {args}: {e}");
    }
    assert!(chat_events(&dir).is_empty());

    // The rate limit: the 21st send within a minute is refused, saying when to retry.
    for n in 0..20 {
        a.ok("team_send_message", json!({"to": "orchestrator", "message": format!("note {n}")})).await;
    }
    for (tool, args) in [
        ("team_send_message", json!({"to": "orchestrator", "message": "one more"})),
        ("team_broadcast", json!({"message": "one more"})),
        ("team_ask", json!({"to": "b", "question": "one more?"})),
    ] {
        let e = a.err(tool, args).await;
        assert!(e.contains("rate limit") && e.contains("Retry in") && e.contains("team_broadcast"), "{e}");
    }
    assert_eq!(chat_events(&dir).len(), 20);

    // Two members bouncing messages: the 11th in a row is refused.
    let (b, c) = (member(&dir, "b", "t").await, member(&dir, "c", "t").await);
    for n in 0..10 {
        let (from, to) = if n % 2 == 0 { (&b, "c") } else { (&c, "b") };
        from.ok("team_send_message", json!({"to": to, "message": format!("bounce {n}")})).await;
    }
    let e = b.err("team_send_message", json!({"to": "c", "message": "bounce 10"})).await;
    assert!(e.contains("bounced 10 messages back and forth") && e.contains("contract"), "{e}");
    // Someone else may still message either of them.
    let d = member(&dir, "d", "t").await;
    d.ok("team_send_message", json!({"to": "c", "message": "not a bounce"})).await;
    assert_eq!(chat_events(&dir).len(), 31);
    for cl in [a, b, c, d, orch] {
        cl.close().await;
    }
}

/// The open question `asker` asked of `asked`, once it is in `asked`'s inbox.
async fn question_for(orch: &Client, asked: &str, asker: &str) -> String {
    let i = until(&format!("{asker}'s question for {asked}"), || async {
        let i = orch.ok("team_check_inbox", json!({"recipient": asked, "include_read": true, "mark_read": false})).await;
        let all: Vec<Value> = i["unread"].as_array().unwrap().iter().chain(i["read"].as_array().unwrap()).cloned().collect();
        all.into_iter().find(|n| n["kind"] == "question" && n["sender"] == asker)
    })
    .await;
    i["ask_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn asks_block_until_answered_nest_three_deep_and_time_out_plainly() {
    let dir = DataDir::new();
    let orch = dir.connect_with_env(None, &fake_claude_env()).await;
    spawn_members(&orch, "t", &["a", "b", "c", "d", "e"]).await;
    let mut m = std::collections::HashMap::new();
    for n in ["a", "b", "c", "d", "e"] {
        m.insert(n, std::sync::Arc::new(member(&dir, n, "t").await));
    }
    let ask = |from: &str, to: &str| {
        let c = m[from].clone();
        let to = to.to_string();
        tokio::spawn(async move { c.call("team_ask", json!({"to": to, "question": "why?", "timeout_s": 120})).await })
    };

    // a asks b; b, answering, asks c; c asks d: three deep. d may not ask on.
    let ab = ask("a", "b");
    let q_ab = question_for(&orch, "b", "a").await;
    let bc = ask("b", "c");
    let q_bc = question_for(&orch, "c", "b").await;
    let cd = ask("c", "d");
    let q_cd = question_for(&orch, "d", "c").await;
    let e = m["d"].err("team_ask", json!({"to": "e", "question": "deeper?"})).await;
    assert!(e.contains(&format!("you are answering {q_cd} from `c`")) && e.contains("at most 3 deep"), "{e}");
    // Asking back someone who waits on you would leave both waiting.
    let e = m["b"].err("team_ask", json!({"to": "a", "question": "back?"})).await;
    assert!(e.contains(&format!("`a` is waiting for your answer to {q_ab}")), "{e}");

    // Only the asked may answer, once; each waiting ask returns its answer.
    let e = m["e"].err("team_reply", json!({"ask_id": q_cd, "answer": "me?"})).await;
    assert!(e.contains("only it may answer"), "{e}");
    m["d"].ok("team_reply", json!({"ask_id": q_cd, "answer": "because d"})).await;
    let e = m["d"].err("team_reply", json!({"ask_id": q_cd, "answer": "again"})).await;
    assert!(e.contains("already answered"), "{e}");
    let r = cd.await.unwrap().unwrap();
    assert_eq!((r["status"].as_str(), r["answer"].as_str()), (Some("answered"), Some("because d")), "{r}");
    m["c"].ok("team_reply", json!({"ask_id": q_bc, "answer": "because c"})).await;
    assert_eq!(bc.await.unwrap().unwrap()["answer"], "because c");
    let r = m["b"].ok("team_reply", json!({"ask_id": q_ab, "answer": "because b"})).await;
    assert_eq!(r["late"], false, "{r}");
    assert_eq!(ab.await.unwrap().unwrap()["answer"], "because b");
    // The asker got the answer in its call: nothing is left for it in the inbox.
    assert_eq!(m["a"].ok("team_check_inbox", json!({})).await["unread"], json!([]));

    // A timed-out ask says so; the question stays open and a late answer reaches the inbox.
    // While it waits, the asker's client hears progress (rmcp sends a token with each call).
    let r = m["e"].ok("team_ask", json!({"to": "orchestrator", "question": "anyone?", "timeout_s": 5})).await;
    assert_eq!(r["status"], "timed_out", "{r}");
    assert_eq!(r["answer"], Value::Null);
    assert!(r["note"].as_str().unwrap().contains("no answer from orchestrator within 5 s"), "{r}");
    assert!(r["waited_ms"].as_u64().unwrap() >= 5000, "{r}");
    let beats: Vec<(f64, String)> = m["e"].progress.lock().unwrap().iter().map(|p| (p.progress, p.message.clone().unwrap_or_default())).collect();
    assert!(beats.len() >= 2, "{beats:?}");
    assert!(beats.iter().all(|(_, m)| m.starts_with("team_ask: waiting for `orchestrator`")), "{beats:?}");
    assert!(beats.windows(2).all(|w| w[0].0 < w[1].0), "{beats:?}");
    let q = r["ask_id"].as_str().unwrap().to_string();
    let i = orch.ok("team_check_inbox", json!({})).await;
    assert_eq!(i["unread"][0]["ask_id"], q.as_str(), "{i}");
    let r = orch.ok("team_reply", json!({"ask_id": q, "answer": "late but here"})).await;
    assert_eq!(r["late"], true, "{r}");
    last_output(&orch, "e", &format!("Answer from `orchestrator` to your question {q}: late but here")).await;

    let subjects: Vec<(String, String)> = chat_events(&dir);
    assert_eq!(subjects.iter().filter(|(k, _)| k == "chat.asked").count(), 4, "{subjects:?}");
    assert_eq!(subjects.iter().filter(|(k, _)| k == "chat.answered").count(), 4, "{subjects:?}");
    assert!(subjects.contains(&("chat.answered".to_string(), format!("ask:{q}"))));
    orch.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_pages_unread_first_then_read_on_both_surfaces() {
    let dir = DataDir::new();
    let orch = dir.connect_with_env(None, &fake_claude_env()).await;
    spawn_members(&orch, "t", &["a"]).await;
    let a = member(&dir, "a", "t").await;
    for n in 0..7 {
        a.ok("team_send_message", json!({"to": "orchestrator", "message": format!("m{n}")})).await;
    }
    let texts = |i: &Value, key: &str| -> Vec<String> {
        i[key].as_array().unwrap().iter().map(|n| n["message"].as_str().unwrap().to_string()).collect()
    };
    // Unread, oldest first, three at a time, left unread.
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let i = orch.ok("team_check_inbox", json!({"limit": 3, "cursor": cursor, "mark_read": false})).await;
        seen.extend(texts(&i, "unread"));
        cursor = i["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
    // Marking each page read does not skip the next one.
    let p1 = orch.ok("team_check_inbox", json!({"limit": 3})).await;
    assert_eq!((texts(&p1, "unread"), p1["unread_left"].as_i64()), (vec!["m0".into(), "m1".into(), "m2".into()], Some(4)));
    let p2 = orch.ok("team_check_inbox", json!({"limit": 3, "cursor": p1["next_cursor"]})).await;
    assert_eq!(texts(&p2, "unread"), ["m3", "m4", "m5"], "{p2}");
    // Then, with include_read, the unread one first and the read ones newest first.
    let p = orch.ok("team_check_inbox", json!({"limit": 4, "include_read": true, "mark_read": false})).await;
    assert_eq!((texts(&p, "unread"), texts(&p, "read")), (vec!["m6".into()], vec!["m5".into(), "m4".into(), "m3".into()]), "{p}");
    let q = orch.ok("team_check_inbox", json!({"limit": 4, "include_read": true, "cursor": p["next_cursor"]})).await;
    assert_eq!(texts(&q, "read"), ["m2", "m1", "m0"], "{q}");
    assert_eq!(q["next_cursor"], Value::Null, "{q}");

    // The CLI: send, broadcast, ask (a timeout exits 1), reply and the same inbox pages.
    let as_a = [("CLEARCTX_SESSION".to_string(), "a".to_string()), ("CLEARCTX_TEAM".to_string(), "t".to_string())];
    let run = |args: &[&str], env: &[(String, String)]| {
        let out = dir.cli_env(args, env);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, text, err) = run(&["team", "send", "orchestrator", "from the cli"], &as_a);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("message from a to orchestrator; waiting in the inbox of orchestrator"), "{text}");
    let (code, text, err) = run(&["--json", "team", "ask", "orchestrator", "cli question?", "--timeout", "1"], &as_a);
    assert_eq!(code, Some(1), "{text}{err}");
    let asked: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(asked["status"], "timed_out", "{asked}");
    let as_orch = [("CLEARCTX_SESSION".to_string(), "orchestrator".to_string())];
    let (code, text, err) = run(&["team", "reply", asked["ask_id"].as_str().unwrap(), "cli answer"], &as_orch);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("(late: it went to their inbox)"), "{text}");
    let (code, text, err) = run(&["team", "broadcast", "all hands", "--team", "t"], &[]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("broadcast from cli to a"), "{text}");
    let page = dir.cli_json(&["team", "inbox", "--recipient", "orchestrator", "--keep-unread", "--limit", "1"]);
    assert_eq!(page["unread"][0]["message"], "m6", "{page}");
    assert_eq!(page["next_cursor"], "u7", "{page}");
    let (code, text, _) = run(&["team", "inbox", "--recipient", "orchestrator", "--cursor", "u7"], &[]);
    assert_eq!(code, Some(0));
    assert!(text.contains("message from a: from the cli") && text.contains("question ask-1 from a: cli question?"), "{text}");
    // The short form; m6, skipped by the cursor above, is still unread.
    let short = dir.cli_json(&["inbox", "--recipient", "orchestrator"]);
    assert_eq!((short["count"].as_i64(), short["unread"][0]["message"].as_str()), (Some(1), Some("m6")), "{short}");
    for c in [a, orch] {
        c.close().await;
    }
}

// --- end to end: real Claude Code workers and the scripted mock model ---

fn tool(name: &str, input: Value) -> Option<Reply> {
    Some(Reply::tool_use(format!("mcp__clearctx__{name}"), input))
}

/// The last tool result's text, for a reply that quotes it.
fn result_text(r: &mock_model::Request) -> String {
    r.last_tool_results().first().map(|t| t.content.clone()).unwrap_or_default()
}

/// `lead` assigns `builder` a contract and tells it so; `builder`, woken by the message,
/// finds the contract in its inbox and completes it. `asker` asks `expert`, who answers
/// with team_reply, except a question saying NO-ANSWER, which it leaves for later.
fn script(r: &mock_model::Request) -> Option<Reply> {
    let step = r.step_in_turn();
    if r.last_user_text_contains("ASSIGN-WORK") {
        let send = "mcp__clearctx__team_send_message";
        return match (step, r.last_tool_name().as_deref()) {
            (0, _) => tool("contract_create", json!({"contract_id": "write-docs", "title": "Write the docs", "assignee": "builder"})),
            // Claude Code 2.1.3xx defers non-core tools: find it first, as a model would.
            (_, Some("mcp__clearctx__contract_create")) if !r.tool_names().iter().any(|t| t == send) => {
                Some(Reply::tool_use("ToolSearch", json!({"query": format!("select:{send}"), "max_results": 1})))
            }
            (_, Some("mcp__clearctx__contract_create" | "ToolSearch")) => {
                tool("team_send_message", json!({"to": "builder", "message": "CHECK-INBOX: there is a contract for you"}))
            }
            _ => Some(Reply::text("assigned").usage(1000, 100)),
        };
    }
    if r.last_user_text_contains("CHECK-INBOX") {
        return match step {
            0 => tool("team_check_inbox", json!({})),
            1 => {
                let inbox = result_text(r);
                if !inbox.contains("write-docs") {
                    return Some(Reply::text(format!("no contract in my inbox: {inbox}")));
                }
                tool("contract_start", json!({"contract_id": "write-docs"}))
            }
            2 => tool("contract_complete", json!({"contract_id": "write-docs", "summary": "docs written"})),
            _ => Some(Reply::text("completed write-docs").usage(1000, 100)),
        };
    }
    for (prompt, question, timeout) in [("ASK-EXPERT", "WHAT-PORT?", 60), ("ASK-SLOW", "NO-ANSWER for now", 2)] {
        if r.last_user_text_contains(prompt) {
            return match step {
                0 => tool("team_ask", json!({"to": "expert", "question": question, "timeout_s": timeout})),
                _ => Some(Reply::text(format!("got: {}", result_text(r))).usage(1000, 100)),
            };
        }
    }
    if r.last_user_text_contains("Answer from `expert`") {
        return Some(Reply::text("noted the late answer"));
    }
    if r.last_user_text_contains("[clearctx team chat]") {
        let all = r.all_text();
        let at = all.rfind("Question ask-")? + "Question ".len();
        let ask_id: String = all[at..].chars().take_while(|c| *c != ' ').collect();
        if r.last_user_text_contains("NO-ANSWER") {
            return Some(Reply::text("not now"));
        }
        return match step {
            0 => tool("team_reply", json!({"ask_id": ask_id, "answer": "PORT-8080"})),
            _ => Some(Reply::text("replied")),
        };
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_assign_each_other_work_and_the_orchestrator_is_only_informed() {
    let model = MockModel::start(script);
    let rig = Rig::new(&model.url());
    let orch = rig.dir.connect_with_env(None, &rig.env).await;
    orch.ok("team_spawn", json!({"name": "builder", "role": "developer", "team": "p2p"})).await;
    let lead = orch
        .ok("team_spawn", json!({"name": "lead", "role": "tech lead", "team": "p2p", "prompt": "ASSIGN-WORK"}))
        .await;
    assert_eq!(lead["response"], "assigned", "{lead}");

    // The builder was woken by the message, found the contract in its inbox and did it.
    let done = until("write-docs to be completed", || async {
        let c = orch.ok("contract_get", json!({"contract_id": "write-docs"})).await;
        (c["status"] == "completed").then_some(c)
    })
    .await;
    assert_eq!((done["assigner"].as_str(), done["assignee"].as_str()), (Some("lead"), Some("builder")), "{done}");
    last_output(&orch, "builder", "completed write-docs").await;
    let inbox_seen = model
        .requests()
        .into_iter()
        .filter_map(|r| r.last_tool_results().into_iter().find(|t| t.name.as_deref() == Some("mcp__clearctx__team_check_inbox")))
        .next()
        .expect("the builder read its inbox");
    assert!(inbox_seen.content.contains("contract_ready") && inbox_seen.content.contains("write-docs"), "{}", inbox_seen.content);

    // The orchestrator only hears about it: the completion is in its inbox.
    let i = orch.ok("team_check_inbox", json!({})).await;
    let news: Vec<&str> = i["unread"].as_array().unwrap().iter().filter_map(|n| n["message"].as_str()).collect();
    assert!(
        news.iter().any(|m| m.contains("write-docs") && m.contains("which lead assigned to builder, was completed by builder")),
        "{i}"
    );
    // The lead, as assigner, was told too.
    let l = orch.ok("team_check_inbox", json!({"recipient": "lead", "mark_read": false})).await;
    assert!(l["unread"].as_array().unwrap().iter().any(|n| n["kind"] == "contract_completed"), "{l}");
    orch.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_asks_another_and_waits_for_the_answer_or_the_timeout() {
    let model = MockModel::start(script);
    let rig = Rig::new(&model.url());
    let orch = rig.dir.connect_with_env(None, &rig.env).await;
    orch.ok("team_spawn", json!({"name": "expert", "role": "ops", "team": "qa"})).await;

    // Answered: the asker's call returns the expert's team_reply.
    let a = orch
        .ok("team_spawn", json!({"name": "asker", "role": "developer", "team": "qa", "prompt": "ASK-EXPERT"}))
        .await;
    let got = a["response"].as_str().unwrap();
    // The model sees the headline (2.1.197) or the structured result (2.1.3xx).
    assert!(
        got.contains("expert answered ask-1: PORT-8080") || (got.contains(r#""answer":"PORT-8080""#) && got.contains(r#""status":"answered""#)),
        "{a}"
    );
    last_output(&orch, "expert", "replied").await;

    // Timed out: said plainly; the question stays open, and the late answer comes as a turn.
    let t = orch.ok("send_message", json!({"name": "asker", "message": "ASK-SLOW"})).await;
    let got = t["response"].as_str().unwrap();
    assert!(got.contains("timed out: no answer from expert within 2 s; ask-2 stays open"), "{t}");
    let i = orch.ok("team_check_inbox", json!({"recipient": "expert", "include_read": true, "mark_read": false})).await;
    let all: Vec<Value> = i["unread"].as_array().unwrap().iter().chain(i["read"].as_array().unwrap()).cloned().collect();
    assert!(all.iter().any(|n| n["ask_id"] == "ask-2" && n["message"] == "NO-ANSWER for now"), "{i}");
    let expert = member(&rig.dir, "expert", "qa").await;
    let r = expert.ok("team_reply", json!({"ask_id": "ask-2", "answer": "PORT-9090 after all"})).await;
    assert_eq!(r["late"], true, "{r}");
    last_output(&orch, "asker", "noted the late answer").await;
    expert.close().await;
    orch.close().await;
    assert!(model.unexpected().is_empty(), "{:?}", model.unexpected());
}
