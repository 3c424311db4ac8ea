//! A scripted mock of the Anthropic Messages API, enough to drive the real `claude` CLI.
//!
//! The test gives a script: a closure that sees each `POST /v1/messages` request and returns
//! the [`Reply`] to stream back (text and/or `tool_use` blocks, with scriptable `usage`, since
//! the CLI computes cost from it). Every request is recorded so tests can assert on what the
//! CLI sent, e.g. the `tool_result` of an MCP call. Anything unexpected is logged to stderr
//! and answered with a JSON error, so a failing test says why.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One `POST /v1/messages` as the CLI sent it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Path with query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// A `tool_result` block, with the name of the `tool_use` it answers.
#[derive(Clone, Debug)]
pub struct ToolResult {
    pub tool_use_id: String,
    pub name: Option<String>,
    /// The result's text (text blocks joined with newlines; a `tool_reference` block, as
    /// Claude Code's tool search answers, counts as the tool's name).
    pub content: String,
    pub is_error: bool,
}

impl Request {
    /// How many tool results the model has had since the message that started this turn.
    pub fn step_in_turn(&self) -> usize {
        let mut n = 0;
        for m in self.body["messages"].as_array().into_iter().flatten().rev() {
            let blocks = match &m["content"] {
                Value::Array(b) => b.clone(),
                Value::String(s) => vec![json!({"type": "text", "text": s})],
                _ => vec![],
            };
            if m["role"] != "user" {
                continue;
            }
            let results = blocks.iter().filter(|b| b["type"] == "tool_result").count();
            if results > 0 {
                n += results;
            } else if blocks.iter().any(|b| b["type"] == "text") {
                break;
            }
        }
        n
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    fn messages(&self, role: &str) -> impl Iterator<Item = &Value> {
        let role = role.to_string();
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(move |m| m["role"] == role.as_str())
    }

    /// Content blocks of a message; a plain-string content counts as one text block.
    fn blocks(message: &Value) -> Vec<Value> {
        match &message["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(blocks) => blocks.clone(),
            _ => vec![],
        }
    }

    /// Names of the tools the CLI offered the model (MCP ones are `mcp__<server>__<tool>`).
    pub fn tool_names(&self) -> Vec<String> {
        let tools = self.body["tools"].as_array().into_iter().flatten();
        tools
            .filter_map(|t| t["name"].as_str().map(String::from))
            .collect()
    }

    /// Whether any text in any user message contains `needle`. The CLI wraps the prompt in
    /// its own user content (reminders, hook context), so the prompt is not the whole message.
    pub fn user_text_contains(&self, needle: &str) -> bool {
        self.messages("user")
            .flat_map(Self::blocks)
            .any(|b| b["type"] == "text" && b["text"].as_str().is_some_and(|t| t.contains(needle)))
    }

    /// Whether the newest user message with text (the turn being answered; tool results
    /// carry none) contains `needle`.
    pub fn last_user_text_contains(&self, needle: &str) -> bool {
        self.messages("user")
            .filter(|m| {
                let blocks = Self::blocks(m);
                blocks.iter().any(|b| b["type"] == "text")
                    && !blocks.iter().any(|b| b["type"] == "tool_result")
            })
            .last()
            .is_some_and(|m| {
                Self::blocks(m).iter().any(|b| {
                    b["type"] == "text" && b["text"].as_str().is_some_and(|t| t.contains(needle))
                })
            })
    }

    /// Whether the last message is a tool result (the model is mid-turn, after a tool call).
    /// Claude Code 2.1.3xx puts `system`-role messages (environment, deferred tools) among
    /// the turns; they are not the conversation's last word.
    pub fn answers_tool(&self) -> bool {
        self.body["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] != "system"))
            .is_some_and(|m| Self::blocks(m).iter().any(|b| b["type"] == "tool_result"))
    }

    /// Every text block the CLI sent, in `system` (string or blocks) and in any message.
    pub fn all_text(&self) -> String {
        let mut out = match &self.body["system"] {
            Value::String(s) => s.clone(),
            other => other
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        for m in self.body["messages"].as_array().into_iter().flatten() {
            for b in Self::blocks(m) {
                if let Some(t) = b["text"].as_str() {
                    out.push('\n');
                    out.push_str(t);
                }
            }
        }
        out
    }

    /// Every `tool_result` in the conversation, oldest first.
    pub fn tool_results(&self) -> Vec<ToolResult> {
        self.messages("user")
            .flat_map(|m| self.results_in(m))
            .collect()
    }

    /// The `tool_result`s of the last user message: a request carrying them is the follow-up
    /// to the previous reply's `tool_use`. Empty when the last turn was not a tool call.
    pub fn last_tool_results(&self) -> Vec<ToolResult> {
        self.messages("user")
            .last()
            .map(|m| self.results_in(m))
            .unwrap_or_default()
    }

    /// The name of the tool whose result the last user message carries, if any.
    pub fn last_tool_name(&self) -> Option<String> {
        self.last_tool_results().into_iter().find_map(|r| r.name)
    }

    fn results_in(&self, message: &Value) -> Vec<ToolResult> {
        Self::blocks(message)
            .into_iter()
            .filter(|b| b["type"] == "tool_result")
            .map(|b| {
                let id = b["tool_use_id"].as_str().unwrap_or_default().to_string();
                let content = match &b["content"] {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|p| p["text"].as_str().or(p["tool_name"].as_str()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                ToolResult {
                    name: self.tool_use_name(&id),
                    tool_use_id: id,
                    content,
                    is_error: b["is_error"] == true,
                }
            })
            .collect()
    }

    fn tool_use_name(&self, id: &str) -> Option<String> {
        self.messages("assistant")
            .flat_map(Self::blocks)
            .find(|b| b["type"] == "tool_use" && b["id"] == id)
            .and_then(|b| b["name"].as_str().map(String::from))
    }

    /// A short description for logs: the last user message's text.
    pub fn summary(&self) -> String {
        let last = self
            .messages("user")
            .last()
            .map(Self::blocks)
            .unwrap_or_default();
        let text: Vec<String> = last
            .iter()
            .map(|b| match b["type"].as_str() {
                Some("text") => b["text"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
                Some("tool_result") => format!("[tool_result {}]", b["tool_use_id"]),
                other => format!("[{other:?}]"),
            })
            .collect();
        format!("{} {}", self.path, text.join(" | "))
    }
}

#[derive(Clone, Debug)]
pub enum Block {
    Text(String),
    ToolUse { name: String, input: Value },
}

/// One assistant message to stream back. `stop_reason` is `tool_use` when it has a
/// `tool_use` block, else `end_turn`.
#[derive(Clone, Debug)]
pub struct Reply {
    pub blocks: Vec<Block>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Answer with this API error instead (a 400 is not retried by the CLI).
    pub api_error: Option<String>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            blocks: vec![Block::Text(text.into())],
            input_tokens: 10,
            output_tokens: 5,
            api_error: None,
        }
    }

    pub fn tool_use(name: impl Into<String>, input: Value) -> Reply {
        Reply {
            blocks: vec![],
            input_tokens: 10,
            output_tokens: 5,
            api_error: None,
        }
        .and_tool_use(name, input)
    }

    /// A deliberate `invalid_request_error` (HTTP 400), which the CLI reports and does not retry.
    pub fn api_error(message: impl Into<String>) -> Reply {
        Reply {
            api_error: Some(message.into()),
            ..Reply::text("")
        }
    }

    pub fn and_text(mut self, text: impl Into<String>) -> Reply {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    pub fn and_tool_use(mut self, name: impl Into<String>, input: Value) -> Reply {
        self.blocks.push(Block::ToolUse {
            name: name.into(),
            input,
        });
        self
    }

    /// The token counts the CLI bills this turn with.
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Reply {
        self.input_tokens = input_tokens;
        self.output_tokens = output_tokens;
        self
    }

    fn sse(&self, model: &Value) -> String {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let n = IDS.fetch_add(1, Ordering::Relaxed);
        let mut out = String::new();
        let mut event =
            |name: &str, data: Value| out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
        event(
            "message_start",
            json!({"type": "message_start", "message": {
            "id": format!("msg_mock_{n}"), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        );
        for (index, block) in self.blocks.iter().enumerate() {
            let (start, delta) = match block {
                Block::Text(text) => (
                    json!({"type": "text", "text": ""}),
                    json!({"type": "text_delta", "text": text}),
                ),
                Block::ToolUse { name, input } => (
                    json!({"type": "tool_use", "id": format!("toolu_mock_{n}_{index}"), "name": name, "input": {}}),
                    json!({"type": "input_json_delta", "partial_json": input.to_string()}),
                ),
            };
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": index, "content_block": start}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            );
        }
        let tool = self
            .blocks
            .iter()
            .any(|b| matches!(b, Block::ToolUse { .. }));
        event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": if tool { "tool_use" } else { "end_turn" }, "stop_sequence": null},
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}),
        );
        event("message_stop", json!({"type": "message_stop"}));
        out
    }
}

/// Decides the reply to each request; `None` means "not scripted", answered with a 400
/// (which the CLI does not retry) and logged.
pub type Script = dyn Fn(&Request) -> Option<Reply> + Send + Sync;

struct Shared {
    script: Box<Script>,
    requests: Mutex<Vec<Request>>,
    unexpected: Mutex<Vec<String>>,
}

/// The running mock; stops accepting connections when dropped.
pub struct MockModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl MockModel {
    pub fn start(script: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static) -> MockModel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind mock model");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            script: Box::new(script),
            requests: Mutex::default(),
            unexpected: Mutex::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || serve_connection(conn, &s));
                }
            }
        });
        MockModel { addr, shared, stop }
    }

    /// The value for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `POST /v1/messages` received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests the mock could not answer (unknown endpoint, unscripted turn, bad body).
    pub fn unexpected(&self) -> Vec<String> {
        self.shared.unexpected.lock().unwrap().clone()
    }
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

/// Serves HTTP/1.1 requests on one keep-alive connection until the client closes it.
fn serve_connection(conn: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
    let mut writer = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if header("transfer-encoding").is_some() {
            log(
                shared,
                format!("{method} {path}: chunked bodies are not supported"),
            );
            let _ = respond(
                &mut writer,
                400,
                "application/json",
                &error_body("chunked bodies are not supported"),
            );
            return;
        }
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, kind, payload) = answer(shared, &method, &path, headers, &body);
        if respond(&mut writer, status, kind, &payload).is_err() {
            return;
        }
    }
}

fn answer(
    shared: &Shared,
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> (u16, &'static str, String) {
    match (method, path.split('?').next().unwrap_or("")) {
        ("HEAD", "/") => (200, "text/plain", String::new()),
        ("POST", "/v1/messages") => {
            let body: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => {
                    log(shared, format!("POST {path}: body is not JSON: {e}"));
                    return (400, "application/json", error_body("body is not JSON"));
                }
            };
            let request = Request {
                path: path.to_string(),
                headers,
                body,
            };
            shared.requests.lock().unwrap().push(request.clone());
            if request.body["stream"] != true {
                log(
                    shared,
                    format!("POST {path}: only streaming requests are mocked"),
                );
                return (
                    400,
                    "application/json",
                    error_body("mock model only streams"),
                );
            }
            match (shared.script)(&request) {
                Some(Reply {
                    api_error: Some(message),
                    ..
                }) => (400, "application/json", error_body(&message)),
                Some(reply) => (200, "text/event-stream", reply.sse(&request.body["model"])),
                None => {
                    log(
                        shared,
                        format!("no scripted reply for {}", request.summary()),
                    );
                    (
                        400,
                        "application/json",
                        error_body("the mock model's script has no reply for this request"),
                    )
                }
            }
        }
        _ => {
            log(shared, format!("unexpected request: {method} {path}"));
            (
                404,
                "application/json",
                error_body(&format!("mock model: no endpoint {method} {path}")),
            )
        }
    }
}

fn log(shared: &Shared, message: String) {
    eprintln!("mock model: {message}");
    shared.unexpected.lock().unwrap().push(message);
}

fn error_body(message: &str) -> String {
    json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
        .to_string()
}

fn respond(w: &mut TcpStream, status: u16, kind: &str, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}
