//! The stdio framing in front of rmcp: every line a client sends gets an answer, and the
//! calls that need no other thread get it without one.
//!
//! rmcp drops a line it cannot parse (not JSON, nested past serde_json's limit, longer than
//! its 16 MiB cap) with only a log line, which leaves the caller waiting forever. Each line
//! is checked here first. One that rmcp could not take is answered with a JSON-RPC error
//! carrying the request's `id` (when one can be recovered).
//!
//! The client's input is read on a thread of its own, outside the async runtime. Once the
//! handshake is done, a `tools/call` of a tool the [`Inline`] handler takes (one answered
//! from the store alone) is answered right there: read, call, write, with no hand-off to
//! another thread, which on a 2-core machine cost more than the call. Everything else goes
//! on to rmcp unchanged. Our replies and rmcp's share stdout, a whole line at a time.
//!
//! What follows an answer ([`Inline::after`]: recording the reads `artifact_get` answered)
//! waits while the client's next line is already there: the reading thread answers that
//! first, so calls a client sends together share one `after` (at most [`MAX_DEFERRED`]
//! calls apart). A client that waits for each answer gets its `after` at once, so another
//! process sees the read as soon as it could before.

use std::io::{BufRead, Write};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use rmcp::model::RequestId;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The longest line passed on (rmcp's own cap, less the newline).
pub const MAX_LINE_BYTES: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH - 1;
/// The deepest nesting a message may have; serde_json, and so rmcp, stops at 128.
pub const MAX_DEPTH: usize = 100;
/// How much of an oversized line is kept to find its `id` in.
const ID_PREFIX_BYTES: usize = 64 * 1024;
/// Calls answered before `after` runs however busy the client is.
pub const MAX_DEFERRED: u32 = 64;

/// What to do with one line from the client.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Pass it on; this is what it parsed to.
    Forward(Value),
    Skip,
    /// Answer with this JSON-RPC error response instead.
    Answer(Value),
}

/// Judges a complete line (without its newline).
pub fn check(line: &[u8]) -> Verdict {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    let scan = scan(line);
    if scan.max_depth > MAX_DEPTH {
        return Verdict::Answer(error(
            scan.id,
            -32600,
            format!(
                "the message is nested {} levels deep; clearctx takes at most {MAX_DEPTH} levels",
                scan.max_depth
            ),
            "too_deep",
        ));
    }
    // The same full parse rmcp makes, so what passes here passes there (a cheaper skim
    // would let through what it rejects: invalid UTF-8 in strings, numbers out of range).
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Answer(error(
                scan.id,
                -32700,
                format!("the line is not valid JSON: {e}"),
                "parse_error",
            ));
        }
    };
    // MCP requests carry their arguments as an object; rmcp answers others without the id.
    if let Some(obj) = value.as_object()
        && obj.contains_key("method")
        && let Some(id) = obj.get("id")
        && obj
            .get("params")
            .is_some_and(|p| !p.is_object() && !p.is_null())
    {
        return Verdict::Answer(error(
            Some(id.clone()),
            -32600,
            "`params` must be an object".to_string(),
            "invalid_request",
        ));
    }
    Verdict::Forward(value)
}

/// The answer to a line longer than [`MAX_LINE_BYTES`], from what was kept of its start.
pub fn oversized(prefix: &[u8], len: usize) -> Value {
    error(
        scan(prefix).id,
        -32600,
        format!(
            "the message is {len} bytes or more; clearctx takes at most {MAX_LINE_BYTES} bytes a line \
             (publish large data in parts, or keep it in files and publish their paths)"
        ),
        "too_large",
    )
}

fn error(id: Option<Value>, code: i64, message: String, kind: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(Value::Null),
        "error": { "code": code, "message": message, "data": { "code": kind } },
    })
}

struct Scan {
    max_depth: usize,
    /// The top-level `id`, if it is a string or a number seen in full.
    id: Option<Value>,
}

/// One pass over the bytes, outside strings: the deepest nesting, and the top-level `id`.
fn scan(bytes: &[u8]) -> Scan {
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut id = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(bytes, i);
                if depth == 1 && id.is_none() && &bytes[i..end] == b"\"id\"" {
                    id = value_after_colon(&bytes[end..]);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Scan { max_depth, id }
}

/// The index just past the string starting at `start` (a `"`), or the end of the bytes.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The string or number after `: `, if it is one.
fn value_after_colon(rest: &[u8]) -> Option<Value> {
    let rest = rest.trim_ascii_start().strip_prefix(b":")?;
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
    match values.next()? {
        Ok(v @ (Value::String(_) | Value::Number(_))) => Some(v),
        _ => None,
    }
}

/// One read from the client.
enum Read {
    Line,
    Oversized { len: usize },
    Eof,
}

/// Reads a line into `buf` without letting it grow past the cap; an oversized line is
/// consumed to its newline, and only its start is kept.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Read> {
    buf.clear();
    let mut len = 0usize;
    loop {
        let chunk = match r.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(if len == 0 {
                Read::Eof
            } else if len > MAX_LINE_BYTES {
                Read::Oversized { len }
            } else {
                Read::Line
            });
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(n) => (&chunk[..n], Some(n + 1)),
            None => (chunk, None),
        };
        let room = if len > MAX_LINE_BYTES {
            ID_PREFIX_BYTES.saturating_sub(buf.len())
        } else {
            part.len()
        };
        buf.extend_from_slice(&part[..room.min(part.len())]);
        len += part.len();
        if len > MAX_LINE_BYTES && buf.len() > ID_PREFIX_BYTES {
            buf.truncate(ID_PREFIX_BYTES);
        }
        let consumed = done.unwrap_or(chunk.len());
        r.consume(consumed);
        if done.is_some() {
            return Ok(if len > MAX_LINE_BYTES {
                Read::Oversized { len }
            } else {
                Read::Line
            });
        }
    }
}

/// Where replies go: the client's stdout, shared by the reading thread and rmcp's writer.
pub type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// Writes one whole reply line (ending in a newline) and flushes it.
fn write_line(out: &Output, line: &[u8]) -> std::io::Result<()> {
    let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
    out.write_all(line)?;
    out.flush()
}

/// The calls answered on the reading thread, and how.
pub trait Inline: Send + 'static {
    /// Whether `tools/call` of `tool` is answered here rather than by rmcp.
    fn takes(&self, tool: &str) -> bool;
    /// The JSON-RPC reply to `tools/call` of a tool it takes, serialized.
    fn answer(&self, id: RequestId, tool: &str, arguments: Map<String, Value>) -> Vec<u8>;
    /// Runs after one or more replies are written, once no next line is waiting (see the
    /// module documentation), before the reading thread blocks on its next line.
    fn after(&self);
    /// Whether [`Self::after`] has anything to do; when not, an answer adds nothing for
    /// it to do.
    fn pending(&self) -> bool {
        true
    }
}

/// The `tools/call` in `message`, if it is a plain one of a tool `inline` takes: anything
/// unusual (an `id` rmcp would refuse, arguments that are not an object, a task request)
/// is left to rmcp, which answers it as it always has.
fn inline_call(
    message: Value,
    inline: &dyn Inline,
) -> Option<(RequestId, String, Map<String, Value>)> {
    let Value::Object(mut message) = message else {
        return None;
    };
    if message.get("jsonrpc")? != "2.0" || message.get("method")? != "tools/call" {
        return None;
    }
    let Value::Object(mut params) = message.remove("params")? else {
        return None;
    };
    let Value::String(tool) = params.remove("name")? else {
        return None;
    };
    if !inline.takes(&tool) || params.keys().any(|k| k != "arguments" && k != "_meta") {
        return None;
    }
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(arguments)) => arguments,
        Some(_) => return None,
    };
    let id = serde_json::from_value(message.remove("id")?).ok()?;
    Some((id, tool, arguments))
}

/// Puts the framing between the client (`input`, `output`) and rmcp: starts the thread that
/// reads `input` (answering what `inline` takes), and returns the pair rmcp serves on and a
/// task that ends once rmcp's side is closed and every answer of its is written.
pub fn guard<R>(
    input: std::io::BufReader<R>,
    input_fd: Option<RawFd>,
    output: Output,
    inline: impl Inline,
) -> std::io::Result<(
    (
        impl AsyncRead + Send + Unpin + 'static,
        impl AsyncWrite + Send + Unpin + 'static,
    ),
    tokio::task::JoinHandle<()>,
)>
where
    R: std::io::Read + Send + 'static,
{
    const PIPE: usize = 1 << 20;
    let (mut to_rmcp, rmcp_in) = tokio::io::duplex(PIPE);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE);
    let (lines, mut lines_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let out = output.clone();
    std::thread::Builder::new()
        .name("clearctx-stdin".into())
        .spawn(move || read_input(input, input_fd, &out, &inline, &lines))?;
    // The lines for rmcp, in order; dropping `to_rmcp` when the reader is done tells rmcp
    // the client is gone.
    tokio::spawn(async move {
        while let Some(line) = lines_rx.recv().await {
            if to_rmcp.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    let (rmcp_read, _) = tokio::io::split(rmcp_in);
    let (_, rmcp_write) = tokio::io::split(rmcp_out);
    let writer = tokio::spawn(async move {
        let mut lines = BufReader::new(from_rmcp);
        loop {
            let mut line = Vec::new();
            match lines.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            // A blocking write, right on this task: a line into the pipe of a client that
            // reads is immediate, and one that stops reading stalls every reply alike. A
            // hand-off to the blocking pool per line cost two context switches a message.
            if write_line(&output, &line).is_err() {
                return;
            }
        }
    });
    Ok(((rmcp_read, rmcp_write), writer))
}

/// The reading thread: judges each line, answers the ones it can, passes on the rest.
/// With `input_fd` (the fd `input` reads), [`Inline::after`] waits while the client's next
/// line is already there; without it, it runs after every answer.
fn read_input<R: std::io::Read>(
    mut input: std::io::BufReader<R>,
    input_fd: Option<RawFd>,
    out: &Output,
    inline: &dyn Inline,
    to_rmcp: &mpsc::UnboundedSender<Vec<u8>>,
) {
    let mut buf = Vec::new();
    // Calls are answered here only after the handshake, which rmcp carries out.
    let mut ready = false;
    // Answers whose `after` has not run yet.
    let mut deferred = 0u32;
    loop {
        if deferred > 0
            && input.buffer().is_empty()
            && !input_fd.is_some_and(has_input)
        {
            inline.after();
            deferred = 0;
        }
        let verdict = match read_line(&mut input, &mut buf) {
            Ok(Read::Eof) => break,
            Ok(Read::Line) => check(&buf),
            Ok(Read::Oversized { len }) => Verdict::Answer(oversized(&buf, len)),
            Err(e) => {
                tracing::warn!(error = %e, "reading the MCP client's input failed");
                break;
            }
        };
        match verdict {
            Verdict::Forward(message) => {
                let initialized = message
                    .get("method")
                    .is_some_and(|m| m == "notifications/initialized");
                if ready && let Some((id, tool, arguments)) = inline_call(message, inline) {
                    let mut reply = inline.answer(id, &tool, arguments);
                    reply.push(b'\n');
                    if write_line(out, &reply).is_err() {
                        break;
                    }
                    if inline.pending() {
                        deferred += 1;
                    }
                    if deferred > 0 && (input_fd.is_none() || deferred >= MAX_DEFERRED) {
                        inline.after();
                        deferred = 0;
                    }
                    continue;
                }
                ready |= initialized;
                buf.push(b'\n');
                if to_rmcp.send(std::mem::take(&mut buf)).is_err() {
                    break;
                }
            }
            Verdict::Skip => {}
            Verdict::Answer(reply) => {
                tracing::warn!(error = %reply["error"]["message"], "refused a malformed MCP message");
                let mut bytes = reply.to_string().into_bytes();
                bytes.push(b'\n');
                if write_line(out, &bytes).is_err() {
                    break;
                }
            }
        }
    }
    if deferred > 0 {
        inline.after();
    }
}

/// Whether `fd` has input now (or an end, or an error: the read that follows says which).
/// It never waits: waiting even a millisecond for a client's next call let a read go
/// unrecorded while another process, told by that client, looked for it.
fn has_input(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid `pollfd`, alive for the whole call.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    // On an error (EINTR) say no: `after` runs, then the blocking read sorts it out.
    n > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match check(line.as_bytes()) {
            Verdict::Answer(v) => v,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn passes_what_rmcp_can_read() {
        let ok = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"data":[[1]]}}}"#;
        assert!(matches!(check(ok.as_bytes()), Verdict::Forward(_)));
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Verdict::Forward(_)
        ));
        assert_eq!(check(b"   "), Verdict::Skip);
    }

    #[test]
    fn answers_what_rmcp_would_drop_with_its_id() {
        let e = answer("{not json");
        assert_eq!(
            (e["id"].clone(), e["error"]["code"].clone()),
            (Value::Null, json!(-32700))
        );
        let e = answer(r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":[1,2]}"#);
        assert_eq!(
            (e["id"].clone(), e["error"]["code"].clone()),
            (json!("a-1"), json!(-32600))
        );
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"x","arguments":{{"data":{}1{}}}}}}}"#,
            "[".repeat(125),
            "]".repeat(125)
        );
        let e = answer(&deep);
        assert_eq!(e["id"], 7);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 100 levels"),
            "{e}"
        );
        // An `id` inside the arguments is not the request's.
        let e = answer(r#"{"jsonrpc":"2.0","method":"x","params":{"id":3},"id":4,"#);
        assert_eq!(e["id"], 4);
        // Brackets inside strings do not count.
        let s = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"t":"{}"}}}}"#,
            "[".repeat(500)
        );
        assert!(matches!(check(s.as_bytes()), Verdict::Forward(_)));
    }

    /// Random bytes and mutations of a real request are judged without a panic, and what
    /// is forwarded is JSON rmcp can read.
    #[test]
    fn mangled_lines_never_panic() {
        let base = br#"{"jsonrpc":"2.0","id":"x-1","method":"tools/call","params":{"name":"artifact_publish","arguments":{"artifact_id":"a","data":{"k":[1,""]",{}]}}}}"#;
        let mut seed = 0x5eed_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut m = base.to_vec();
            for _ in 0..1 + next() % 4 {
                if m.is_empty() {
                    break;
                }
                let at = (next() % m.len() as u64) as usize;
                match next() % 4 {
                    0 => m.truncate(at.max(1)),
                    1 => m[at] = (next() % 256) as u8,
                    2 => m.insert(at, b"{[\"]}"[(next() % 5) as usize]),
                    _ => {
                        m.remove(at);
                    }
                };
            }
            if matches!(check(&m), Verdict::Forward(_)) {
                assert!(serde_json::from_slice::<Value>(&m).is_ok());
            }
        }
    }

    /// Answers `tools/call` of `quick` with its arguments; counts what ran after.
    struct Echo(std::sync::atomic::AtomicUsize);

    impl Inline for Echo {
        fn takes(&self, tool: &str) -> bool {
            tool == "quick"
        }
        fn answer(&self, id: RequestId, tool: &str, arguments: Map<String, Value>) -> Vec<u8> {
            json!({ "jsonrpc": "2.0", "id": id, "result": { "tool": tool, "args": arguments } })
                .to_string()
                .into_bytes()
        }
        fn after(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A buffer the test reads back after the reader wrote to it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Echo's answers, counting `after` where the test can see it from another thread.
    struct Counting(Arc<std::sync::atomic::AtomicUsize>);

    impl Inline for Counting {
        fn takes(&self, tool: &str) -> bool {
            tool == "quick"
        }
        fn answer(&self, id: RequestId, tool: &str, arguments: Map<String, Value>) -> Vec<u8> {
            Echo(Default::default()).answer(id, tool, arguments)
        }
        fn after(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn after_waits_while_the_next_line_is_there_and_runs_once_for_the_calls_sent_together() {
        use std::os::fd::AsRawFd;
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let (reader, mut writer) = std::io::pipe().unwrap();
        let fd = reader.as_raw_fd();
        let afters = Arc::new(AtomicUsize::new(0));
        let shared = Shared::default();
        let out: Output = Arc::new(Mutex::new(Box::new(shared.clone())));
        let (tx, _rx) = mpsc::unbounded_channel();
        let inline = Counting(afters.clone());
        let thread = std::thread::spawn(move || {
            read_input(
                std::io::BufReader::new(reader),
                Some(fd),
                &out,
                &inline,
                &tx,
            )
        });
        let call = |id: i64| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"quick","arguments":{{}}}}}}"#
            ) + "\n"
        };
        let replies = || {
            shared
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        let wait_for = |what: &dyn Fn() -> bool| {
            let start = std::time::Instant::now();
            while !what() {
                assert!(start.elapsed() < std::time::Duration::from_secs(10), "timed out");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        writer
            .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .unwrap();
        // Three calls in one write, so each next one is already read when the one before
        // is answered.
        writer
            .write_all((call(1) + &call(2) + &call(3)).as_bytes())
            .unwrap();
        wait_for(&|| afters.load(SeqCst) == 1);
        assert_eq!(
            replies(),
            3,
            "every call of the burst was answered before its after"
        );
        // The client waited, so one more call gets an `after` of its own.
        writer.write_all(call(4).as_bytes()).unwrap();
        wait_for(&|| afters.load(SeqCst) == 2);
        assert_eq!(replies(), 4);
        drop(writer);
        thread.join().unwrap();
        assert_eq!(afters.load(SeqCst), 2, "nothing was left to do at the end");
    }

    #[test]
    fn answers_quick_calls_itself_after_the_handshake_and_passes_on_the_rest() {
        let call = |id: i64, tool: &str, extra: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"k":{id}}}{extra}}}}}"#
            )
        };
        let lines = [
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#.to_string(),
            call(1, "quick", ""), // before the handshake: rmcp's
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string(),
            call(2, "quick", r#","_meta":{"progressToken":"p"}"#),
            call(3, "slow", ""),
            call(4, "quick", r#","task":{}"#), // something unusual: rmcp's
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"quick","arguments":[1]}}"#.to_string(),
            "{not json".to_string(),
            call(6, "quick", ""),
        ];
        let input = lines.join("\n") + "\n";
        let shared = Shared::default();
        let out: Output = Arc::new(Mutex::new(Box::new(shared.clone())));
        let echo = Echo(Default::default());
        let (tx, mut rx) = mpsc::unbounded_channel();
        read_input(
            std::io::BufReader::new(input.as_bytes()),
            None,
            &out,
            &echo,
            &tx,
        );

        let written = String::from_utf8(shared.0.lock().unwrap().clone()).unwrap();
        let replies: Vec<Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ids: Vec<Value> = replies.iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, [json!(2), Value::Null, json!(6)], "{written}");
        assert_eq!(
            replies[0]["result"],
            json!({ "tool": "quick", "args": { "k": 2 } })
        );
        assert_eq!(replies[1]["error"]["code"], -32700);
        assert_eq!(
            echo.0.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "after() follows each answer"
        );

        let mut forwarded = Vec::new();
        while let Ok(line) = rx.try_recv() {
            assert!(line.ends_with(b"\n"));
            let v: Value = serde_json::from_slice(&line).unwrap();
            forwarded.push(v.get("id").cloned().unwrap_or(json!("initialized")));
        }
        assert_eq!(
            forwarded,
            [
                json!(0),
                json!(1),
                json!("initialized"),
                json!(3),
                json!(4),
                json!(5)
            ]
        );
    }

    #[test]
    fn reads_an_oversized_line_to_its_end_keeping_only_its_start() {
        let mut input =
            br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"x":""#.to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
        input.extend_from_slice(b"\"}}\n{\"next\":1}\n");
        let mut r = std::io::BufReader::new(&input[..]);
        let mut buf = Vec::new();
        let Read::Oversized { len } = read_line(&mut r, &mut buf).unwrap() else {
            panic!("not oversized")
        };
        assert!(len > MAX_LINE_BYTES && buf.len() <= ID_PREFIX_BYTES);
        assert_eq!(oversized(&buf, len)["id"], 9);
        assert!(matches!(read_line(&mut r, &mut buf).unwrap(), Read::Line));
        assert_eq!(buf, b"{\"next\":1}");
        assert!(matches!(read_line(&mut r, &mut buf).unwrap(), Read::Eof));
    }
}
