//! Run a plugin through the real clearctx host from a plugin's own tests (native builds).
//!
//! Each function calls `clearctx plugin test <plugin> --json …`, which builds the crate
//! for `wasm32-wasip2` (when given its folder), loads the component into the same sandbox
//! `clearctx serve` uses (fuel, deadline, memory limit, no files/network/env) and runs it
//! once. The binary is `$CLEARCTX_BIN`, else `clearctx` on `PATH`. Nothing is installed: a
//! throwaway data dir is used.
//!
//! ```no_run
//! use clearctx_plugin_sdk::{json, testing};
//! let violations = testing::validate(env!("CARGO_MANIFEST_DIR"), "release-notes", &json!({})).unwrap();
//! assert!(!violations.is_empty());
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Value, Violation};

fn clearctx() -> PathBuf {
    std::env::var_os("CLEARCTX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "clearctx".into())
}

/// Runs `clearctx plugin test <plugin> --json <args>` and returns its `result`.
pub fn run(plugin: impl AsRef<Path>, args: &[&str]) -> Result<Value, String> {
    let home = std::env::temp_dir().join(format!(
        "clearctx-sdk-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let out = Command::new(clearctx())
        .arg("--home")
        .arg(&home)
        .args(["--json", "plugin", "test"])
        .arg(plugin.as_ref())
        .args(args)
        // Its messages, and cargo's progress while the first build of the component takes
        // its time, go straight to the terminal (libtest captures only `print!`).
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            format!(
                "cannot run `{}`: {e}; install clearctx or set CLEARCTX_BIN",
                clearctx().display()
            )
        })?;
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: Value = serde_json::from_str(&stdout)
        .map_err(|_| format!("clearctx failed (its messages are above): {stdout}"))?;
    if let Some(error) = parsed.get("error") {
        return Err(error["message"]
            .as_str()
            .unwrap_or("clearctx failed")
            .to_string());
    }
    Ok(parsed["result"].clone())
}

/// Validates `data` as `artifact_type` with the validator at `plugin`.
pub fn validate(
    plugin: impl AsRef<Path>,
    artifact_type: &str,
    data: &Value,
) -> Result<Vec<Violation>, String> {
    let result = run(
        plugin,
        &["--type", artifact_type, "--input", &data.to_string()],
    )?;
    Ok(result["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            Violation::new(
                v["path"].as_str().unwrap_or(""),
                v["message"].as_str().unwrap_or(""),
                v["code"].as_str().unwrap_or(""),
            )
        })
        .collect())
}

/// Evaluates `expression` against `context` with the condition at `plugin`.
pub fn evaluate(
    plugin: impl AsRef<Path>,
    expression: &str,
    context: &Value,
) -> Result<bool, String> {
    let result = run(
        plugin,
        &["--expression", expression, "--input", &context.to_string()],
    )?;
    result["result"]
        .as_bool()
        .ok_or_else(|| format!("no boolean in {result}"))
}

/// Renders `template` with `variables` with the template plugin at `plugin`.
pub fn render(
    plugin: impl AsRef<Path>,
    template: &str,
    variables: &Value,
) -> Result<String, String> {
    let result = run(
        plugin,
        &["--template", template, "--input", &variables.to_string()],
    )?;
    result["text"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("no text in {result}"))
}

/// Runs the action at `plugin`; returns its commands, each with `allowed` per the
/// capabilities its manifest requests.
pub fn run_action(
    plugin: impl AsRef<Path>,
    config: &Value,
    context: &Value,
) -> Result<Vec<Value>, String> {
    let result = run(
        plugin,
        &[
            "--config",
            &config.to_string(),
            "--input",
            &context.to_string(),
        ],
    )?;
    Ok(result["commands"].as_array().cloned().unwrap_or_default())
}
