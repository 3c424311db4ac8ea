//! Sessions: starting workers (with a template plugin's prompt) through the session manager.

use super::*;

impl Hub {
    /// The session manager: spawning and talking to Claude Code workers. Its methods wait
    /// on turns with their own connection, never holding the hub's.
    pub fn sessions(&self) -> &sessions::Manager {
        &self.sessions
    }

    /// Starts a session; a `template` is rendered by a template plugin into its system prompt.
    pub fn session_spawn(
        &self,
        req: &SpawnRequest,
        follow: Option<&mut dyn FnMut(&HistoryEntry)>,
    ) -> Result<TurnReply> {
        let req = self.render_session_template(req)?;
        self.sessions
            .spawn(&self.caller, &req, "session", None, follow)
    }

    pub fn session_batch_spawn(
        &self,
        req: &sessions::BatchSpawnRequest,
    ) -> Result<Vec<serde_json::Value>> {
        let reqs = req
            .sessions
            .iter()
            .map(|r| self.render_session_template(r))
            .collect::<Result<Vec<_>>>()?;
        self.sessions.batch_spawn(&self.caller, &reqs)
    }

    fn render_session_template(&self, req: &SpawnRequest) -> Result<SpawnRequest> {
        let Some(template) = &req.template else {
            return Ok(req.clone());
        };
        sessions::check_spawn(req)?;
        let vars = serde_json::json!({
            "name": req.name,
            "role": req.role.as_deref().unwrap_or("worker"),
            "team": req.team.as_deref().unwrap_or(&self.caller.team),
            "task": req.prompt.as_deref().unwrap_or(""),
        });
        let (text, _, _) = self.plugins.render(template, &vars)?;
        let mut out = req.clone();
        out.template = None;
        out.system_prompt = Some(text);
        Ok(out)
    }
}
