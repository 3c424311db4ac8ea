//! Pipeline conditions: the `pipeline-condition` world of 1.0.0, and 1.1's
//! `pipeline-conditions`, which adds the `conditions` interface (a batch of expressions
//! against one context, and a check that compiles an expression without evaluating it).
//!
//! Whether a plugin has the 1.1 interface is read from its component's exports when it is
//! loaded ([`Loaded::conditions`]); a plugin without it is asked one `evaluate` at a time.

use super::*;
use bindings::PluginError;
use bindings::condition::PipelineCondition;
use bindings::conditions::PipelineConditions;

/// What a plugin error's message may keep, in characters (as [`plugin_error`] does).
const MESSAGE_CHARS: usize = 2000;

impl PluginHost {
    /// Evaluates a condition expression with `plugin` (default: the standard CEL plugin).
    pub fn evaluate(
        &self,
        plugin: Option<&str>,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt, String)> {
        let plugin = match plugin {
            Some(id) => self.resolve(id)?,
            None => standard::require(standard::CONDITION)?,
        };
        let (b, r) = self.evaluate_with(&plugin, expression, context)?;
        Ok((b, r, plugin.id))
    }

    pub fn evaluate_with(
        &self,
        plugin: &Resolved,
        expression: &str,
        context: &Value,
    ) -> Result<(bool, Receipt)> {
        let batch = self.load(plugin)?.conditions;
        let (result, receipt) = self.evaluate_one(plugin, batch, expression, &context.to_string())?;
        Ok((result.map_err(|e| plugin_error(plugin, e))?, receipt))
    }

    /// Evaluates every expression against one context: one plugin call when the plugin
    /// exports the 1.1 `conditions` interface, else one `evaluate` call each. One result
    /// per expression, in order; an expression the plugin reports an error for (e.g. one
    /// that does not compile) is an `Err` in its place, like [`Self::evaluate_with`]'s.
    /// A failure of the plugin itself (a trap, a limit) fails the whole batch. A batch of
    /// `n` is one call with `n` times the fuel, time and output of one `evaluate` (what the
    /// `n` calls would have had; a fresh instance compiles every expression in that call)
    /// and the same memory. The receipt is the call's; in the fallback, the sum of the
    /// calls' fuel and time. Conditions are never memoized (see [`Self::evaluate_one`]).
    pub fn evaluate_all(
        &self,
        plugin: &Resolved,
        expressions: &[String],
        context: &Value,
    ) -> Result<(Vec<std::result::Result<bool, Error>>, Receipt)> {
        let batch = self.load(plugin)?.conditions;
        let context = context.to_string();
        if expressions.is_empty() {
            return Ok((Vec::new(), Receipt::default()));
        }
        if !batch {
            let mut results = Vec::with_capacity(expressions.len());
            let mut total = Receipt {
                reused: true,
                ..Receipt::default()
            };
            for expression in expressions {
                let (result, r) = self.evaluate_one(plugin, false, expression, &context)?;
                results.push(result.map_err(|e| plugin_error(plugin, e)));
                total.fuel_used += r.fuel_used;
                total.wall_us += r.wall_us;
                total.peak_memory_bytes = total.peak_memory_bytes.max(r.peak_memory_bytes);
                total.reused &= r.reused;
            }
            return Ok((results, total));
        }
        let plugin = &Resolved {
            limits: plugin.limits.times(expressions.len()),
            ..plugin.clone()
        };
        let (results, receipt) = self.call(
            plugin,
            "evaluate-all",
            |guest| {
                let (store, c) = guest.bound(|s, i| PipelineConditions::new(s, i))?;
                c.clearctx_plugin_conditions()
                    .call_evaluate_all(store, expressions, &context)
            },
        )?;
        if results.len() != expressions.len() {
            return Err(Error::Plugin {
                plugin: plugin.id.clone(),
                code: "bad_output",
                message: format!(
                    "returned {} results for {} expressions from `evaluate-all`; it must return one per expression",
                    results.len(),
                    expressions.len()
                ),
            });
        }
        Self::output_limit(plugin, results_bytes(&results))?;
        let results = results
            .into_iter()
            .map(|r| r.map_err(|e| plugin_error(plugin, e)))
            .collect();
        Ok((results, receipt))
    }

    /// Whether `expression` compiles, without evaluating it: `Ok(None)` it does,
    /// `Ok(Some(message))` it does not (the plugin's message, which names the position),
    /// `Err` a failure of the plugin itself (or a `bad-config`/`failed` error it reported).
    ///
    /// A plugin without the 1.1 `conditions` interface cannot be asked: its expressions
    /// are accepted (`Ok(None)`) without a call, and a mistake in one surfaces when it is
    /// evaluated. (Evaluating against an empty context instead would refuse valid
    /// expressions that read data the empty context lacks, e.g. `data.failed > 0`.)
    pub fn check_condition(&self, plugin: &Resolved, expression: &str) -> Result<Option<String>> {
        if !self.load(plugin)?.conditions {
            return Ok(None);
        }
        let (result, _) = self.call_memo(
            plugin,
            "check",
            &[expression],
            |r: &std::result::Result<(), PluginError>| 64 + r.as_ref().err().map_or(0, error_bytes),
            |guest| {
                let (store, c) = guest.bound(|s, i| PipelineConditions::new(s, i))?;
                c.clearctx_plugin_conditions().call_check(store, expression)
            },
        )?;
        match result {
            Ok(()) => Ok(None),
            Err(PluginError::InvalidInput(message)) => {
                Ok(Some(message.chars().take(MESSAGE_CHARS).collect()))
            }
            Err(e) => Err(plugin_error(plugin, e)),
        }
    }

    /// One `condition.evaluate` call, through the world the plugin exports: a 1.1
    /// plugin's instance is bound to `pipeline-conditions` for every call, so single and
    /// batch calls share its bindings. Not memoized: an event's context carries its `seq`,
    /// so the same question never comes twice; hashing it would only cost time and push
    /// validators' useful answers out of the memo.
    fn evaluate_one(
        &self,
        plugin: &Resolved,
        batch: bool,
        expression: &str,
        context: &str,
    ) -> Result<(std::result::Result<bool, PluginError>, Receipt)> {
        self.call(
            plugin,
            "evaluate",
            |guest| {
                if batch {
                    let (store, c) = guest.bound(|s, i| PipelineConditions::new(s, i))?;
                    c.clearctx_plugin_condition()
                        .call_evaluate(store, expression, context)
                } else {
                    let (store, c) = guest.bound(|s, i| PipelineCondition::new(s, i))?;
                    c.clearctx_plugin_condition()
                        .call_evaluate(store, expression, context)
                }
            },
        )
    }
}

fn error_bytes(e: &PluginError) -> usize {
    match e {
        PluginError::InvalidInput(m) | PluginError::BadConfig(m) | PluginError::Failed(m) => {
            m.len()
        }
    }
}

/// The bytes of text in a batch's results: what the output limit counts, and what the
/// memo weighs.
fn results_bytes(results: &[std::result::Result<bool, PluginError>]) -> usize {
    results
        .iter()
        .map(|r| 1 + r.as_ref().err().map_or(0, error_bytes))
        .sum()
}
