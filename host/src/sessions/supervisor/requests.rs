//! The session's requests (turns and controls queued as rows by any process): picking them up, and recording how each ended.

use super::*;

/// Records the end of a session's process: its status and reason, the stderr tail, and an
/// outcome for every request still open.
pub(super) fn finish(
    store: &mut Store,
    name: &str,
    ending: &Ending,
    running: Option<i64>,
    stderr_tail: &str,
) -> Result<()> {
    store.write(|tx| finish_tx(tx, name, ending, running, stderr_tail))
}

pub(super) fn finish_tx(
    tx: &Tx<'_>,
    name: &str,
    ending: &Ending,
    running: Option<i64>,
    stderr_tail: &str,
) -> Result<()> {
    let tail = (!stderr_tail.is_empty()).then_some(stderr_tail);
    tx.end_session_process(
        name,
        ending.status,
        ending.stop_reason,
        ending.error.as_deref(),
        tail,
    )?;
    let Some(row) = tx.session(name)? else {
        return Ok(()); // deleted meanwhile
    };
    end_requests(
        tx,
        &row,
        ending.turn_status,
        ending.error.as_deref(),
        running,
    )?;
    if ending.status == SessionStatus::Failed {
        let why = ending
            .error
            .clone()
            .unwrap_or_else(|| ending.stop_reason.to_string());
        let text = match tail {
            Some(t) => format!("{why}\nstderr (tail):\n{}", clip(t, 2048)),
            None => why,
        };
        tx.append_session_message(name, "error", &text, None)?;
    }
    event(
        tx,
        name,
        &row,
        if ending.status == SessionStatus::Failed {
            "session.failed"
        } else {
            "session.stopped"
        },
        json!({ "reason": ending.stop_reason, "error": ending.error }),
    )?;
    Ok(())
}

/// Gives every open request of a session whose process is gone an outcome: the running turn
/// ends with `turn_status`, queued turns were never sent, controls are done.
pub(crate) fn end_requests(
    tx: &Tx<'_>,
    row: &SessionRow,
    turn_status: &str,
    error: Option<&str>,
    running: Option<i64>,
) -> Result<()> {
    for req in tx.open_session_requests(&row.name)? {
        let outcome = match req.kind {
            RequestKind::Turn
                if req.status == RequestStatus::Running || Some(req.id) == running =>
            {
                TurnOutcome::failed(
                    turn_status,
                    error.unwrap_or("the session stopped during the turn"),
                    Some(row),
                )
            }
            RequestKind::Turn => TurnOutcome::failed(
                "failed",
                match (&row.last_error, row.status) {
                    (Some(e), SessionStatus::Failed) => format!(
                        "session `{}` failed before this message was sent: {e}",
                        row.name
                    ),
                    _ => format!(
                        "session `{}` ended ({}) before this message was sent; resume_session and send it again",
                        row.name,
                        row.stop_reason.as_deref().unwrap_or("stopped")
                    ),
                },
                Some(row),
            ),
            _ => {
                tx.finish_session_request(req.id, &json!({ "status": RequestStatus::Done }))?;
                continue;
            }
        };
        record_outcome(tx, row, Some(req.id), &outcome)?;
    }
    Ok(())
}

/// Gives a turn its outcome. A delegated task's status is its last turn's, recorded in the
/// same transaction so it survives the owner being killed right after.
pub(super) fn record_outcome(
    tx: &Tx<'_>,
    row: &SessionRow,
    request: Option<i64>,
    outcome: &TurnOutcome,
) -> Result<()> {
    if let Some(id) = request {
        tx.finish_session_request(id, &to_json(outcome))?;
    }
    if row.kind == "delegate" {
        tx.set_session_task_status(&row.name, &outcome.status)?;
    }
    Ok(())
}

impl Supervisor {
    /// Looks at the queue and the budget; starts the next turn when the process is free.
    pub(super) fn poll(&mut self) {
        let name = self.name.clone();
        if self.last_heartbeat.elapsed() >= HEARTBEAT {
            self.last_heartbeat = Instant::now();
            log_err(
                &name,
                self.store
                    .write(|tx| tx.session_heartbeat(&name).map(|_| ())),
            );
        }
        let state = self.store.read(|tx| {
            let open = tx.open_session_requests(&name)?;
            let row = crate::sessions::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            Ok((open, row, b))
        });
        let (open, row, b) = match state {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(session = %name, error = %e, "reading the session queue failed");
                return;
            }
        };
        // The tree's budget ran out (this session, a child or a sibling spent it). A turn
        // in flight stops now, mid-turn; an idle process is let go, since no turn of it
        // could run. Both stay resumable once someone raises the budget.
        if self.ending.is_none()
            && let Some(("cost_exceeded", why)) = b.refusal(&row)
        {
            let ending = Ending {
                status: SessionStatus::Stopped,
                stop_reason: "cost_exceeded",
                error: Some(why),
                turn_status: "cost_exceeded",
            };
            if self.current.is_some() {
                self.kill_now(ending);
            } else {
                self.stop(ending);
            }
        }
        if let Some(c) = &self.current
            && c.started.elapsed() > self.launch.turn_timeout
            && self.ending.is_none()
        {
            let secs = self.launch.turn_timeout.as_secs();
            self.fail(
                "turn_timeout",
                format!(
                    "the turn ran longer than its turn_timeout_s ({secs} s); the process was killed"
                ),
            );
        }
        // Controls first: an unpause queued after a turn must let that turn run, in order.
        let (turns, controls): (Vec<_>, Vec<_>) =
            open.into_iter().partition(|r| r.kind == RequestKind::Turn);
        for req in controls.into_iter().chain(turns) {
            match req.kind {
                RequestKind::Kill => {
                    self.done(req.id);
                    self.kill_now(Ending {
                        status: SessionStatus::Stopped,
                        stop_reason: "killed",
                        error: Some(format!("killed by {}", req.created_by)),
                        turn_status: "failed",
                    });
                }
                // Done when the process has ended (see `finish`).
                RequestKind::Stop if req.status == RequestStatus::Queued => {
                    log_err(
                        &name,
                        self.store
                            .write(|tx| tx.set_session_request_running(req.id)),
                    );
                    self.stop(Ending {
                        status: SessionStatus::Stopped,
                        stop_reason: "stopped",
                        error: None,
                        turn_status: "failed",
                    });
                }
                RequestKind::Pause => {
                    self.paused = true;
                    let busy = self.current.is_some();
                    log_err(
                        &name,
                        self.store.write(|tx| {
                            if !busy {
                                tx.set_session_status(&name, SessionStatus::Paused)?;
                            }
                            tx.finish_session_request(
                                req.id,
                                &json!({ "status": SessionStatus::Paused }),
                            )
                        }),
                    );
                }
                RequestKind::Unpause => {
                    self.paused = false;
                    let status = if self.current.is_some() {
                        SessionStatus::Busy
                    } else {
                        SessionStatus::Idle
                    };
                    log_err(
                        &name,
                        self.store.write(|tx| {
                            tx.set_session_status(&name, status)?;
                            tx.finish_session_request(req.id, &json!({ "status": status }))
                        }),
                    );
                }
                RequestKind::Turn
                    if req.status == RequestStatus::Queued
                        && self.current.is_none()
                        && !self.paused
                        && self.ending.is_none() =>
                {
                    self.start_turn(req.id, req.message.as_deref().unwrap_or_default());
                }
                _ => {}
            }
        }
        manager::ring();
    }

    pub(super) fn done(&mut self, id: i64) {
        log_err(
            &self.name,
            self.store.write(|tx| {
                tx.finish_session_request(id, &json!({ "status": RequestStatus::Done }))
            }),
        );
    }

    pub(super) fn start_turn(&mut self, id: i64, message: &str) {
        let name = self.name.clone();
        let refused = self.store.write(|tx| {
            let row = crate::sessions::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            if let Some((status, why)) = b.refusal(&row) {
                let outcome = TurnOutcome::failed(status, why, Some(&row));
                record_outcome(tx, &row, Some(id), &outcome)?;
                return Ok(Some(()));
            }
            tx.set_session_request_running(id)?;
            tx.set_session_status(&name, SessionStatus::Busy)?;
            tx.append_session_message(
                &name,
                "user",
                &clip(message, HISTORY_TEXT_BYTES),
                Some(&json!({ "request_id": id })),
            )?;
            Ok(None)
        });
        match refused {
            Ok(Some(())) => {}
            Ok(None) => {
                self.current = Some(Current {
                    request_id: id,
                    started: Instant::now(),
                });
                self.write_stdin(&protocol::user_turn(message));
                tracing::debug!(session = %name, "turn written to claude");
            }
            Err(e) => log_err(&name, Err(e)),
        }
    }
}
