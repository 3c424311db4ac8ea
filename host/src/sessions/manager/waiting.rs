//! Waiting on a request row until its owner has carried it out, woken at once within this process by the bell.

use super::*;

pub(crate) fn ring() {
    let mut n = BELL.0.lock().unwrap_or_else(|p| p.into_inner());
    *n += 1;
    BELL.1.notify_all();
}

pub(super) fn wait_bell(seen: u64, timeout: Duration) -> u64 {
    let n = BELL.0.lock().unwrap_or_else(|p| p.into_inner());
    let (n, _) = BELL
        .1
        .wait_timeout_while(n, timeout, |n| *n == seen)
        .unwrap_or_else(|p| p.into_inner());
    *n
}

/// When a wait of `timeout` ends. Waits are checked at each call's entry (`check_wait`);
/// a far deadline still must not panic.
pub(super) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(MAX_WAIT_S))
}

/// A request row as a wait left it, and how long the wait took.
pub(super) struct Waited {
    pub row: RequestRow,
    pub waited: Duration,
}

impl Manager {
    /// Waits until request `id` is done or `timeout` passes; `follow` sees each new history
    /// entry of `name` as it is recorded (live output for the CLI).
    pub fn wait(
        &self,
        name: &str,
        id: i64,
        timeout: Duration,
        mut follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<RequestRow> {
        let deadline = deadline_after(timeout);
        let mut last_reap = Instant::now();
        let mut seen = *BELL.0.lock().unwrap_or_else(|p| p.into_inner());
        // Output of this request's turn: what follows the user message it starts with.
        let mut after: Option<i64> = None;
        loop {
            let (req, new) = self.read(|tx| {
                let req = tx.session_request(id)?.ok_or_else(|| {
                    Error::not_found_hint(
                        "session request",
                        id.to_string(),
                        "its session was deleted",
                    )
                })?;
                if follow.is_some() && after.is_none() {
                    after = tx.session_turn_start(name, id)?;
                }
                let new = match after {
                    Some(a) if follow.is_some() => tx.session_messages(name, a, 10_000)?,
                    _ => vec![],
                };
                Ok((req, new))
            })?;
            if let Some(f) = follow.as_mut() {
                for m in new {
                    after = Some(m.seq);
                    f(&HistoryEntry::from(m));
                }
            }
            if req.status == RequestStatus::Done || Instant::now() >= deadline {
                tracing::debug!(session = %name, request = id, status = %req.status, "wait over");
                return Ok(req);
            }
            if last_reap.elapsed() >= Duration::from_secs(1) {
                last_reap = Instant::now();
                self.reap()?;
            }
            seen = wait_bell(seen, Duration::from_millis(50));
        }
    }

    pub(super) fn reply(
        &self,
        name: &str,
        done: Option<Waited>,
        resumed: bool,
    ) -> Result<TurnReply> {
        let waited_ms = done.as_ref().map(|d| d.waited.as_millis() as u64);
        let req = done.map(|d| d.row);
        // A turn that used up the budget ends the process too; answer once it has.
        if let Some(o) = req.as_ref().and_then(request_outcome)
            && matches!(o.status.as_str(), "cost_exceeded" | "turns_exceeded")
        {
            self.wait_until_ended(name, Duration::from_secs(15))?;
        }
        let session = self.read(|tx| get(tx, name))?;
        let (request_id, status, outcome) = match req {
            None => (None, session.status.to_string(), None),
            Some(r) => match request_outcome(&r) {
                Some(o) => (Some(r.id), o.status.clone(), Some(o)),
                None => (
                    Some(r.id),
                    if r.status == RequestStatus::Queued {
                        RequestStatus::Queued
                    } else {
                        RequestStatus::Running
                    }
                    .to_string(),
                    None,
                ),
            },
        };
        Ok(TurnReply {
            name: name.to_string(),
            request_id,
            status,
            outcome,
            resumed,
            waited_ms,
            session,
        })
    }

    pub(super) fn maybe_wait(
        &self,
        name: &str,
        id: Option<i64>,
        wait: Option<bool>,
        timeout_s: Option<u64>,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<Option<Waited>> {
        let Some(id) = id else { return Ok(None) };
        let timeout = if wait.unwrap_or(true) {
            Duration::from_secs(timeout_s.unwrap_or(DEFAULT_WAIT_S))
        } else {
            Duration::ZERO
        };
        let started = Instant::now();
        let row = self.wait(name, id, timeout, follow)?;
        Ok(Some(Waited { row, waited: started.elapsed() }))
    }

    /// Waits (a bounded time) until the session's status satisfies `done`, reaping a dead
    /// owner on the way so a gone process cannot keep it waiting.
    pub(super) fn wait_for_status(
        &self,
        name: &str,
        timeout: Duration,
        done: impl Fn(SessionStatus) -> bool,
    ) -> Result<()> {
        let deadline = deadline_after(timeout);
        let mut seen = *BELL.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut last_reap = Instant::now();
        while Instant::now() < deadline {
            if done(self.read(|tx| get_row(tx, name))?.status) {
                break;
            }
            if last_reap.elapsed() >= Duration::from_secs(1) {
                last_reap = Instant::now();
                self.reap()?;
            }
            seen = wait_bell(seen, Duration::from_millis(50));
        }
        Ok(())
    }

    /// Waits (a bounded time) for a session's process to be recorded as ended.
    pub(super) fn wait_until_ended(&self, name: &str, timeout: Duration) -> Result<()> {
        self.wait_for_status(name, timeout, |s| !s.is_live())
    }
}
