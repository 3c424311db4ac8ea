//! Helpers the bench programs share (each includes this file as a module and uses some
//! of it).
#![allow(dead_code)]

use serde_json::{Value, json};

/// A `kB` field (`VmHWM`, `VmRSS`) of `/proc/<pid>/status`, in bytes.
pub fn proc_kb(pid: u32, field: &str) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .ok_or_else(|| std::io::Error::other(format!("no {field} in /proc/{pid}/status")))?;
    let kb: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(std::io::Error::other)?;
    Ok(kb * 1024)
}

/// `doc` with one number changed to `i`, so every call carries different content (a pure
/// plugin would answer repeated content from its memo).
pub fn vary(doc: &Value, i: usize) -> Value {
    let mut d = doc.clone();
    match d.get("duration_ms") {
        Some(_) => d["duration_ms"] = json!(i as f64 + 0.5),
        None => d["seq"] = json!(i),
    }
    d
}
