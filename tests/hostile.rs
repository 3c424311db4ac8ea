//! A hostile client over raw stdio: every line gets an answer with its `id` (or `null` when
//! none can be read), and the server keeps serving after each.

mod common;

use std::time::Duration;

use common::DataDir;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// `clearctx serve` driven line by line.
struct Raw {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Raw {
    async fn start(dir: &DataDir) -> Raw {
        let mut child = tokio::process::Command::from(common::serve_command(dir.path()))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut raw = Raw {
            _child: child,
            stdin,
            lines,
        };
        raw.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "hostile", "version": "0"}}}).to_string()).await;
        raw.reply().await;
        raw.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
            .await;
        raw
    }

    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next line the server writes; panics if none comes within 30 s.
    async fn reply(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("the server answered within 30 s")
            .unwrap()
            .expect("the server is still running");
        serde_json::from_str(&line).expect("the server writes JSON")
    }

    async fn call(&mut self, id: u64, tool: &str, args: Value) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": args}})
            .to_string(),
        )
        .await;
        self.reply().await
    }
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn every_line_is_answered_with_its_id_and_the_server_keeps_serving() {
    let dir = DataDir::new();
    let mut s = Raw::start(&dir).await;
    let cases: Vec<(String, Value, i64, &str)> = vec![
        ("{not json".into(), Value::Null, -32700, "not valid JSON"),
        (
            r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":[1,2]}"#.into(),
            json!(11),
            -32600,
            "`params` must be an object",
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{{"name":"artifact_publish","arguments":{{"artifact_id":"deep","type":"json","data":{}}}}}}}"#,
                nested(125)
            ),
            json!(12),
            -32600,
            "at most 100 levels",
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","id":"thirteen","method":"tools/call","params":{{"name":"contract_create","arguments":{{"contract_id":"c","title":"t","assignee":"a","inputs":{}}}}}}}"#,
                nested(10_000)
            ),
            json!("thirteen"),
            -32600,
            "at most 100 levels",
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{{"name":"artifact_publish","arguments":{{"artifact_id":"big","type":"json","data":"{}"}}}}}}"#,
                "x".repeat(17 * 1024 * 1024)
            ),
            json!(14),
            -32600,
            "at most 16777215 bytes",
        ),
    ];
    for (line, id, code, says) in cases {
        s.send(&line).await;
        let r = s.reply().await;
        assert_eq!(r["id"], id, "{r}");
        assert_eq!(r["error"]["code"], code, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        // Still serving, and nothing was written by the refused line.
        let ok = s.call(99, "artifact_list", json!({})).await;
        assert_eq!(ok["id"], 99, "{ok}");
        assert_eq!(ok["result"]["structuredContent"]["count"], 0, "{ok}");
    }
    // Nesting within the limit still works.
    let r = s
        .call(20, "artifact_publish", json!({"artifact_id": "ok", "type": "json", "data": serde_json::from_str::<Value>(&nested(90)).unwrap()}))
        .await;
    assert_eq!(r["result"]["structuredContent"]["version"], 1, "{r}");
}

/// Stored values are capped (a reply can always be read back), and each refusal names the
/// field that caused it.
#[tokio::test]
async fn stored_values_are_bounded_and_refusals_name_their_cause() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    let big = json!({"blob": "x".repeat(2 * 1024 * 1024)});
    let e = c
        .err(
            "contract_create",
            json!({"contract_id": "c", "title": "t", "assignee": "me", "inputs": big}),
        )
        .await;
    assert!(
        e.contains("inputs: is") && e.contains("the limit is 1048576"),
        "{e}"
    );
    c.ok(
        "contract_create",
        json!({"contract_id": "c", "title": "t", "assignee": "orchestrator"}),
    )
    .await;
    c.ok("contract_start", json!({"contract_id": "c"})).await;
    let e = c
        .err(
            "contract_complete",
            json!({"contract_id": "c", "result": big}),
        )
        .await;
    assert!(e.contains("result: is"), "{e}");
    let still = c.ok("contract_get", json!({"contract_id": "c"})).await;
    assert_eq!(
        still["status"], "in_progress",
        "the refused completion changed nothing"
    );
    // `contract_get` has no `by` to ignore.
    let e = c
        .err("contract_get", json!({"contract_id": "c", "by": "someone"}))
        .await;
    assert!(e.contains("by"), "{e}");

    c.ok(
        "artifact_publish",
        json!({"artifact_id": "a", "type": "json", "data": {}}),
    )
    .await;
    let e = c
        .err(
            "artifact_diff",
            json!({"artifact_id": "a", "to_version": 4294967295u64}),
        )
        .await;
    assert!(
        e.contains("to_version: artifact `a` has no version 4294967295"),
        "{e}"
    );

    // An unknown template is the caller's mistake, said as such, with the known names.
    let r = c
        .call_raw(
            "spawn_session",
            json!({"name": "w", "template": "no-such-template"}),
        )
        .await
        .unwrap();
    let error = &r.structured_content.as_ref().unwrap()["error"];
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str()),
        (Some("invalid_input"), Some("template")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("worker"),
        "{error}"
    );
    c.close().await;
}

/// The CLI reads at most what it could take, whatever is piped in.
#[test]
fn the_cli_refuses_oversized_input_before_holding_it() {
    let dir = DataDir::new();
    let out = std::process::Command::new(common::bin())
        .args(["--home"])
        .arg(dir.path())
        .args([
            "artifact",
            "publish",
            "big",
            "--type",
            "json",
            "--data-file",
            "/dev/zero",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--data-file: `/dev/zero` holds more than"),
        "{stderr}"
    );
}

/// The largest artifact there may be comes back in a reply a client can read: under the
/// 16 MiB a line may be, although its JSON, quoted again as text, would be three times that.
#[tokio::test]
async fn the_largest_result_fits_in_a_readable_reply() {
    let dir = DataDir::new();
    let mut s = Raw::start(&dir).await;
    let data = json!({"q": "\"".repeat(4_000_000)});
    // A type no validator declares: the standard JSON Schema plugin runs out of fuel on
    // data this size (plugin speed is an issue of its own).
    let r = s
        .call(
            1,
            "artifact_publish",
            json!({"artifact_id": "big", "type": "big-blob", "data": data, "new_type": true}),
        )
        .await;
    assert_eq!(
        r["result"]["structuredContent"]["version"],
        1,
        "{}",
        &r.to_string()[..300.min(r.to_string().len())]
    );
    s.send(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "artifact_get", "arguments": {"artifact_id": "big"}}})
        .to_string(),
    )
    .await;
    let line = tokio::time::timeout(Duration::from_secs(30), s.lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        line.len() < 16 * 1024 * 1024,
        "a reply of {} bytes",
        line.len()
    );
    let r: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(r["result"]["structuredContent"]["data"], data);
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("too large to repeat as text"),
        "{}",
        &text[..200.min(text.len())]
    );
}

/// Every list pages: at most `limit` items, and a `next_cursor` that leads through the rest
/// exactly once; the CLI says how to go on.
#[tokio::test]
async fn lists_page_through_everything_exactly_once() {
    let dir = DataDir::new();
    let c = dir.connect(None).await;
    for i in 0..5 {
        c.ok(
            "contract_create",
            json!({"contract_id": format!("c{i}"), "title": "t", "assignee": "a"}),
        )
        .await;
        c.ok(
            "artifact_publish",
            json!({"artifact_id": format!("a{i}"), "type": "json", "data": {}}),
        )
        .await;
        c.ok(
            "artifact_publish",
            json!({"artifact_id": "many", "type": "json", "data": {"i": i}}),
        )
        .await;
    }
    for (tool, key, args, expected) in [
        ("contract_list", "contracts", json!({}), 5),
        ("artifact_list", "artifacts", json!({}), 6),
        (
            "artifact_history",
            "versions",
            json!({"artifact_id": "many"}),
            5,
        ),
    ] {
        let mut seen = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let mut a = args.clone();
            a["limit"] = json!(2);
            if !cursor.is_null() {
                a["cursor"] = cursor.clone();
            }
            let p = c.ok(tool, a).await;
            let items = p[key].as_array().unwrap();
            assert!(items.len() <= 2, "{tool}: {p}");
            seen.extend(items.iter().map(|i| i.to_string()));
            cursor = p["next_cursor"].clone();
            if cursor.is_null() {
                break;
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (expected, expected), "{tool}");
    }
    let e = c.err("contract_list", json!({"limit": 0})).await;
    assert!(e.contains("limit: 0 is out of range 1..=1000"), "{e}");
    let e = c.err("artifact_list", json!({"cursor": "nonsense"})).await;
    assert!(e.contains("cursor: `nonsense` is not a cursor"), "{e}");
    c.close().await;

    let out = dir.cli(&["contract", "list", "--limit", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("more: add --cursor o2"), "{text}");
    let page = dir.cli_json(&["contract", "list", "--limit", "2", "--cursor", "o4"]);
    assert_eq!(
        (page["count"].as_u64(), page["next_cursor"].is_null()),
        (Some(1), true),
        "{page}"
    );
}
