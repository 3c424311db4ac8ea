//! Sessions whose owning process died: found by pid and heartbeat, and stopped so anyone can resume them.

use super::*;

pub(super) fn owner_gone(pid: Option<i64>, heartbeat_ms: Option<i64>, now: i64) -> bool {
    match pid {
        None => true,
        Some(pid) => !pid_alive(pid) || heartbeat_ms.is_none_or(|h| now - h > OWNER_SILENCE_MS),
    }
}

pub(super) fn pid_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A zombie (exited, not yet reaped: common in containers whose init does not reap)
    // still answers signal 0.
    exists && !is_zombie(pid)
}

pub(super) fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

impl Manager {
    /// Marks sessions whose owning process is gone as `stopped` (resumable). Writes only
    /// when there is such a session.
    pub fn reap(&self) -> Result<()> {
        let now = now_ms();
        let owners = self.read(|tx| tx.live_session_owners())?;
        let dead: Vec<String> = owners
            .into_iter()
            .filter(|(name, owner, pid, heartbeat)| match owner {
                Some(o) if *o == self.owner_id => self
                    .running()
                    .get(name)
                    .is_some_and(|r| r.thread.is_finished()),
                _ => owner_gone(*pid, *heartbeat, now),
            })
            .map(|(name, ..)| name)
            .collect();
        if dead.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for name in &dead {
                let Some(row) = tx.session(name)? else {
                    continue;
                };
                if !row.status.is_live() {
                    continue;
                }
                let mine = row.owner_id.as_deref() == Some(self.owner_id.as_str());
                if !mine && !owner_gone(row.owner_pid, row.heartbeat_ms, tx.now_ms()) {
                    continue;
                }
                // Its claude may outlive the owner until it notices its stdin closed.
                if let Some(pid) = row.pid
                    && pid_alive(pid)
                {
                    // SAFETY: the group was created for this session's claude process.
                    unsafe {
                        libc::kill(-(pid as i32), libc::SIGTERM);
                    }
                }
                let why = format!(
                    "the clearctx process (pid {}) that ran it is gone",
                    row.owner_pid.unwrap_or(0)
                );
                tx.end_session_process(
                    name,
                    SessionStatus::Stopped,
                    "owner_exited",
                    Some(&why),
                    None,
                )?;
                let row = get_row(tx, name)?;
                supervisor::end_requests(tx, &row, "failed", Some(&why), None)?;
                event(
                    tx,
                    "clearctx",
                    &row,
                    "session.stopped",
                    json!({ "reason": "owner_exited", "error": why }),
                )?;
            }
            Ok(())
        })
    }
}
