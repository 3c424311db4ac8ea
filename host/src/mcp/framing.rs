//! The stdio framing in front of rmcp: every line a client sends gets an answer.
//!
//! rmcp drops a line it cannot parse (not JSON, nested past serde_json's limit, longer than
//! its 16 MiB cap) with only a log line, which leaves the caller waiting forever. Each line
//! is checked here first. One that rmcp could not take is answered with a JSON-RPC error
//! carrying the request's `id` (when one can be recovered); the rest pass through unchanged.
//! Our replies and rmcp's share stdout through one writer, a whole line at a time.

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The longest line passed on (rmcp's own cap, less the newline).
pub const MAX_LINE_BYTES: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH - 1;
/// The deepest nesting a message may have; serde_json, and so rmcp, stops at 128.
pub const MAX_DEPTH: usize = 100;
/// How much of an oversized line is kept to find its `id` in.
const ID_PREFIX_BYTES: usize = 64 * 1024;

/// What to do with one line from the client.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Forward,
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
    Verdict::Forward
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
async fn read_line(
    r: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<Read> {
    buf.clear();
    let mut len = 0usize;
    loop {
        let chunk = r.fill_buf().await?;
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

/// Puts the framing between the client (`input`, `output`) and rmcp: returns the pair rmcp
/// serves on, and a task that ends once the client has closed its side and every answer,
/// ours and rmcp's, is written.
pub fn guard<R, W>(
    input: R,
    output: W,
) -> (
    (
        impl AsyncRead + Send + Unpin + 'static,
        impl AsyncWrite + Send + Unpin + 'static,
    ),
    tokio::task::JoinHandle<()>,
)
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    const PIPE: usize = 1 << 20;
    let (mut to_rmcp, rmcp_in) = tokio::io::duplex(PIPE);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE);
    let (answers, mut answers_rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let mut buf = Vec::new();
        loop {
            let verdict = match read_line(&mut input, &mut buf).await {
                Ok(Read::Eof) => break,
                Ok(Read::Line) => check(&buf),
                Ok(Read::Oversized { len }) => Verdict::Answer(oversized(&buf, len)),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the MCP client's input failed");
                    break;
                }
            };
            match verdict {
                Verdict::Forward => {
                    buf.push(b'\n');
                    if to_rmcp.write_all(&buf).await.is_err() {
                        break;
                    }
                }
                Verdict::Skip => {}
                Verdict::Answer(reply) => {
                    tracing::warn!(error = %reply["error"]["message"], "refused a malformed MCP message");
                    if answers.send(reply).is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `to_rmcp` tells rmcp the client is gone.
    });
    let (rmcp_read, _) = tokio::io::split(rmcp_in);
    let (_, rmcp_write) = tokio::io::split(rmcp_out);
    let writer = tokio::spawn(async move {
        let mut output = output;
        let mut lines = BufReader::new(from_rmcp);
        let mut line = Vec::new();
        let mut rmcp_open = true;
        let mut answers_open = true;
        while rmcp_open || answers_open {
            line.clear();
            tokio::select! {
                n = lines.read_until(b'\n', &mut line), if rmcp_open => match n {
                    Ok(0) | Err(_) => rmcp_open = false,
                    Ok(_) => {
                        if output.write_all(&line).await.is_err() { return; }
                    }
                },
                a = answers_rx.recv(), if answers_open => match a {
                    None => answers_open = false,
                    Some(reply) => {
                        let mut bytes = reply.to_string().into_bytes();
                        bytes.push(b'\n');
                        if output.write_all(&bytes).await.is_err() { return; }
                    }
                },
            }
            if output.flush().await.is_err() {
                return;
            }
        }
    });
    ((rmcp_read, rmcp_write), writer)
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
        assert_eq!(check(ok.as_bytes()), Verdict::Forward);
        assert_eq!(
            check(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Verdict::Forward
        );
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
        assert_eq!(check(s.as_bytes()), Verdict::Forward);
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
            if check(&m) == Verdict::Forward {
                assert!(serde_json::from_slice::<Value>(&m).is_ok());
            }
        }
    }

    #[tokio::test]
    async fn reads_an_oversized_line_to_its_end_keeping_only_its_start() {
        let mut input =
            br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"x":""#.to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
        input.extend_from_slice(b"\"}}\n{\"next\":1}\n");
        let mut r = BufReader::new(&input[..]);
        let mut buf = Vec::new();
        let Read::Oversized { len } = read_line(&mut r, &mut buf).await.unwrap() else {
            panic!("not oversized")
        };
        assert!(len > MAX_LINE_BYTES && buf.len() <= ID_PREFIX_BYTES);
        assert_eq!(oversized(&buf, len)["id"], 9);
        assert!(matches!(
            read_line(&mut r, &mut buf).await.unwrap(),
            Read::Line
        ));
        assert_eq!(buf, b"{\"next\":1}");
        assert!(matches!(
            read_line(&mut r, &mut buf).await.unwrap(),
            Read::Eof
        ));
    }
}
