//! Delegated tasks: a session started for one bounded task, and the task statuses its turns end in.

use super::*;

impl Manager {
    /// Runs a task in a new session limited by a preset and a budget, and waits for it.
    pub fn delegate(
        &self,
        caller: &Caller,
        req: &DelegateRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TaskReply> {
        check_message("task", &req.task)?;
        check_wait(req.timeout_s)?;
        let preset = req.preset.unwrap_or(Preset::Edit);
        let spawn = SpawnRequest {
            name: req.name.clone(),
            prompt: Some(req.task.clone()),
            model: req.model.clone(),
            work_dir: req.work_dir.clone(),
            permission_mode: Some(preset.permission_mode()),
            allowed_tools: Some(preset.allowed_tools()),
            system_prompt: req.system_prompt.clone(),
            team: req.team.clone(),
            max_turns: req.max_turns,
            max_cost: req.max_cost,
            turn_timeout_s: req.turn_timeout_s,
            wait: Some(true),
            timeout_s: req.timeout_s,
            ..SpawnRequest::default()
        };
        let reply = self.spawn(caller, &spawn, "delegate", Some(preset), follow)?;
        self.task_reply(reply)
    }

    pub fn continue_task(
        &self,
        caller: &Caller,
        req: &ContinueRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TaskReply> {
        check_id("name", &req.name)?;
        check_message("message", &req.message)?;
        check_wait(req.timeout_s)?;
        // Out of budget is the task's status, not an error of the call.
        let refusal = self.read(|tx| {
            let row = get_row(tx, &req.name)?;
            Ok(budget(tx, &row)?.refusal(&row))
        })?;
        if let Some((status, why)) = refusal {
            return self.task_status(&req.name, status, Some(why));
        }
        let send = SendRequest {
            name: req.name.clone(),
            message: req.message.clone(),
            wait: Some(true),
            timeout_s: req.timeout_s,
        };
        let reply = self.send(caller, &send, follow)?;
        self.task_reply(reply)
    }

    pub fn finish_task(&self, caller: &Caller, name: &str) -> Result<TaskReply> {
        self.control(caller, name, RequestKind::Stop)?;
        let status = self
            .read(|tx| Ok(get_row(tx, name)?.task_status))?
            .unwrap_or_else(|| "completed".into());
        self.task_status(name, &status, None)
    }

    pub fn abort_task(&self, caller: &Caller, name: &str) -> Result<TaskReply> {
        self.control(caller, name, RequestKind::Kill)?;
        self.task_status(
            name,
            "aborted",
            Some(format!("aborted by {}", caller.session)),
        )
    }

    pub(super) fn task_status(
        &self,
        name: &str,
        status: &str,
        error: Option<String>,
    ) -> Result<TaskReply> {
        self.write(|tx| tx.set_session_task_status(name, status))?;
        let session = self.read(|tx| get(tx, name))?;
        Ok(TaskReply {
            name: name.to_string(),
            status: status.to_string(),
            response: session.last_output.clone().unwrap_or_default(),
            error,
            cost_usd: session.cost_usd,
            turns: session.turns,
            permission_denials: vec![],
            waited_ms: None,
            session,
        })
    }

    pub(super) fn task_reply(&self, reply: TurnReply) -> Result<TaskReply> {
        // The task status itself was recorded with the turn's outcome.
        let status = reply.status.clone();
        let waited_ms = reply.waited_ms;
        let session = self.read(|tx| get(tx, &reply.name))?;
        let o = reply
            .outcome
            .unwrap_or_else(|| TurnOutcome::failed(&status, "", None));
        Ok(TaskReply {
            name: reply.name,
            status,
            response: o.response,
            error: o.error.filter(|e| !e.is_empty()),
            cost_usd: session.cost_usd,
            turns: session.turns,
            permission_denials: o.permission_denials,
            waited_ms,
            session,
        })
    }
}
