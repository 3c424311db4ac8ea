//! A turn's `result` line classified: what the turn cost, its status (completed, failed, needs_input, cost_exceeded, turns_exceeded) and whether the budget stops the session.

use super::*;

/// What a turn cost. Where the CLI reports it, its own figure; else what is new in its
/// running total since the previous result of this process (`seen`).
pub(super) fn turn_cost(r: &TurnResult, seen: f64) -> f64 {
    match r.turn_cost_usd {
        Some(cost) => cost.max(0.0),
        None if r.total_cost_usd >= seen => r.total_cost_usd - seen,
        None => r.total_cost_usd,
    }
}

pub(super) fn to_json(o: &TurnOutcome) -> serde_json::Value {
    serde_json::to_value(o).expect("outcomes serialize")
}

impl Supervisor {
    pub(super) fn on_result(&mut self, r: TurnResult) -> Result<()> {
        let name = self.name.clone();
        let current = self.current.take();
        let paused = self.paused;
        let stop_for_budget = self.store.write(|tx| {
            let row = crate::sessions::get_row(tx, &name)?;
            let delta = turn_cost(&r, row.process_cost_usd);
            let text = r.text.clone().unwrap_or_default();
            let output = (!r.is_error).then(|| clip(&text, LAST_OUTPUT_BYTES));
            tx.add_session_usage(&name, delta, r.total_cost_usd, r.num_turns, output.as_deref())?;
            let row = crate::sessions::get_row(tx, &name)?;
            let b = budget(tx, &row)?;
            let overspent = b.left_usd.is_some_and(|l| l < -1e-9);
            let over_turns = b.turns_left.is_some_and(|t| t < 0);
            let (status, error) = match r.subtype.as_str() {
                "error_max_budget_usd" => ("cost_exceeded", Some(r.errors.join("; "))),
                "error_max_turns" => ("turns_exceeded", Some(r.errors.join("; "))),
                _ if r.is_error => (
                    "failed",
                    Some(if r.errors.is_empty() {
                        format!("claude ended the turn with `{}`", r.subtype)
                    } else {
                        r.errors.join("; ")
                    }),
                ),
                _ if overspent => ("cost_exceeded", b.refusal(&row).map(|(_, w)| w)),
                _ if over_turns => ("turns_exceeded", b.refusal(&row).map(|(_, w)| w)),
                _ if !r.permission_denials.is_empty() => (
                    "needs_input",
                    Some(format!(
                        "{} tool call(s) were refused: {}",
                        r.permission_denials.len(),
                        r.permission_denials
                            .iter()
                            .map(|d| d["tool_name"].as_str().unwrap_or("?").to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ),
                _ => ("completed", None),
            };
            let outcome = TurnOutcome {
                status: status.to_string(),
                response: text.clone(),
                error,
                cost_usd: delta,
                turns: r.num_turns,
                session_cost_usd: row.cost_usd,
                session_turns: row.turns,
                permission_denials: r.permission_denials.clone(),
                subtype: Some(r.subtype.clone()),
                duration_ms: r.duration_ms,
            };
            let shown = if text.is_empty() {
                outcome.error.clone().unwrap_or_default()
            } else {
                text
            };
            tx.append_session_message(
                &name,
                "result",
                &clip(&shown, HISTORY_TEXT_BYTES),
                Some(&json!({
                    "status": status, "cost_usd": delta, "turns": r.num_turns,
                    "subtype": r.subtype, "permission_denials": r.permission_denials,
                })),
            )?;
            record_outcome(tx, &row, current.as_ref().map(|c| c.request_id), &outcome)?;
            tx.set_session_status(
                &name,
                if paused {
                    SessionStatus::Paused
                } else {
                    SessionStatus::Idle
                },
            )?;
            event(
                tx,
                &name,
                &row,
                "session.turn_completed",
                json!({ "status": status, "cost_usd": delta, "turns": r.num_turns, "session_cost_usd": row.cost_usd }),
            )?;
            // Out of budget: no later turn may run, so let the process go. The reason is
            // recorded now, in case the process dies before it has exited cleanly.
            let refusal = b.refusal(&row);
            if let Some((status, _)) = &refusal {
                tx.set_session_stop_reason(&name, status)?;
            }
            Ok(refusal)
        })?;
        if let Some((status, why)) = stop_for_budget {
            self.store.write(|tx| {
                let row = crate::sessions::get_row(tx, &name)?;
                event(
                    tx,
                    &name,
                    &row,
                    "session.budget_exceeded",
                    json!({ "reason": why }),
                )?;
                Ok(())
            })?;
            self.stop(Ending {
                status: SessionStatus::Stopped,
                stop_reason: status,
                error: Some(why),
                turn_status: status,
            });
        }
        Ok(())
    }
}
