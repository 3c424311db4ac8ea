//! Helpers the bench programs share (each includes this file as a module).

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
