//! `clearctx doctor`: checks what clearctx needs, one line each, ok or the problem and the
//! exact command that fixes it. It runs before (and without) opening the hub, so a damaged
//! database is reported rather than stopping it, and it changes nothing but the plugin
//! cache (a plugin is checked by loading it, which compiles it when the cache lacks it).

use std::path::Path;

use serde::Serialize;

use super::Output;
use super::ojson::Json;
use super::setup::{self, HOOK_EVENTS, Targets, Wiring};
use crate::model::MCP_SERVER_NAME;
use crate::plugins::PluginHost;

/// The oldest Claude Code release clearctx is tested with (scripts/test.sh).
pub const OLDEST_CLAUDE: &str = "2.1.197";

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `data_dir`, `database`, `plugin:<id>`, `plugin_cache`,
    /// `registration`, `hooks`, `claude`.
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// The command (or step) that fixes it, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn ok(check: &str, detail: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn problem(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn data_dir(home: &Path) -> Check {
    match std::fs::metadata(home) {
        Ok(m) if m.is_dir() => {
            let probe = home.join(format!(".doctor-{}", std::process::id()));
            match std::fs::write(&probe, b"") {
                Ok(()) => {
                    let _ = std::fs::remove_file(&probe);
                    ok("data_dir", home.display().to_string())
                }
                Err(e) => problem(
                    "data_dir",
                    format!("{} is not writable: {e}", home.display()),
                    format!("chmod u+rwx {}", home.display()),
                ),
            }
        }
        Ok(_) => problem(
            "data_dir",
            format!("{} is not a directory", home.display()),
            "move it aside, or choose another data dir with --home or CLEARCTX_HOME",
        ),
        Err(_) => problem(
            "data_dir",
            format!("{} does not exist", home.display()),
            "clearctx setup (any clearctx command creates it)",
        ),
    }
}

fn database(home: &Path) -> Check {
    let path = home.join(crate::store::DB_FILE);
    if !path.exists() {
        return problem(
            "database",
            format!("{} does not exist yet", path.display()),
            "clearctx status (creates it)",
        );
    }
    let aside = format!(
        "mv {0} {0}.damaged && clearctx status (starts an empty database; the damaged file is kept for recovery)",
        path.display()
    );
    match crate::store::inspect(&path) {
        Err(e) => problem("database", format!("{} cannot be read: {e}", path.display()), aside),
        Ok(h) if h.check != "ok" => problem(
            "database",
            format!("{} fails PRAGMA quick_check: {}", path.display(), h.check),
            aside,
        ),
        Ok(h) if h.schema_version > h.supported => problem(
            "database",
            format!(
                "schema version {} was written by a newer clearctx (this one reads up to {})",
                h.schema_version, h.supported
            ),
            "upgrade clearctx",
        ),
        Ok(h) => ok(
            "database",
            format!(
                "{}: quick_check ok, schema version {}{}",
                path.display(),
                h.schema_version,
                if h.schema_version < h.supported {
                    format!(" (upgraded to {} on next use)", h.supported)
                } else {
                    String::new()
                }
            ),
        ),
    }
}

fn plugins(home: &Path) -> Vec<Check> {
    let host = PluginHost::new(home);
    let list = match host.list() {
        Ok(l) => l,
        Err(e) => {
            return vec![problem(
                "plugins",
                e.to_string(),
                format!("fix or remove {}", crate::plugins::LockFile::path(home).display()),
            )];
        }
    };
    let mut checks = Vec::new();
    for p in list.iter().filter(|p| p.enabled) {
        let name = format!("plugin:{}", p.id);
        let loaded = host.resolve(&p.id).and_then(|r| host.precompile(&r));
        checks.push(match loaded {
            Ok(()) => ok(
                &name,
                format!("{} {} loads{}", p.id, p.version, if p.standard { " (standard)" } else { "" }),
            ),
            Err(e) => problem(
                &name,
                e.to_string(),
                format!(
                    "clearctx plugin remove {0} (then, if it is yours, clearctx plugin add <its folder or .wasm> again)",
                    p.id
                ),
            ),
        });
    }
    let cache = crate::plugins::machine_cache_dir().unwrap_or_else(|| home.join("cache"));
    let entries = std::fs::read_dir(&cache)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
                .count()
        })
        .unwrap_or(0);
    let probe = cache.join(format!(".doctor-{}", std::process::id()));
    checks.push(match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            ok("plugin_cache", format!("{}: {entries} compiled components", cache.display()))
        }
        Err(e) => problem(
            "plugin_cache",
            format!("{} is not writable ({e}): every process compiles plugins again", cache.display()),
            format!("rm -rf {0} (it is rebuilt), or set CLEARCTX_CACHE_DIR to a writable folder", cache.display()),
        ),
    });
    checks
}

fn read_json(path: &Path) -> Result<Option<Json>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim().is_empty() => Ok(None),
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{} cannot be read: {e}", path.display())),
    }
}

/// The registration, user scope or this project's, and whether its binary is this one.
fn registration(wiring: &Wiring) -> Check {
    let mut places = Vec::new();
    for project in [false, true] {
        if let Ok(t) = Targets::resolve(project) {
            places.push((project, t));
        }
    }
    for (project, t) in &places {
        let entry = match read_json(&t.mcp) {
            Err(e) => return problem("registration", e, format!("fix {} by hand, then clearctx setup", t.mcp.display())),
            Ok(v) => v.and_then(|v| v.get("mcpServers")?.get(MCP_SERVER_NAME).cloned()),
        };
        let Some(entry) = entry else { continue };
        let scope = if *project { "project" } else { "user" };
        let again = if *project { "clearctx setup --project" } else { "clearctx setup" };
        let command = entry.get("command").and_then(Json::as_str).unwrap_or("").to_string();
        let registered = Path::new(&command).canonicalize();
        return match registered {
            Err(_) => problem(
                "registration",
                format!("`{MCP_SERVER_NAME}` ({scope} scope, {}) runs {command}, which does not exist", t.mcp.display()),
                again,
            ),
            // A stale serve: Claude Code would start another clearctx than this one.
            Ok(p) if p != wiring.exe => problem(
                "registration",
                format!(
                    "stale serve binary: `{MCP_SERVER_NAME}` ({scope} scope) runs {}, not this clearctx ({})",
                    p.display(),
                    wiring.exe.display()
                ),
                again,
            ),
            Ok(_) if entry.get("args") != wiring.server_entry().get("args") => problem(
                "registration",
                format!("`{MCP_SERVER_NAME}` ({scope} scope) serves another data dir than this one"),
                again,
            ),
            Ok(p) => ok(
                "registration",
                format!("`{MCP_SERVER_NAME}` in {} ({scope} scope): {} serve", t.mcp.display(), p.display()),
            ),
        };
    }
    problem(
        "registration",
        format!("Claude Code has no MCP server `{MCP_SERVER_NAME}` (user scope or this project)"),
        "clearctx setup",
    )
}

fn hooks(wiring: &Wiring) -> Check {
    let mut problems = Vec::new();
    for project in [false, true] {
        let Ok(t) = Targets::resolve(project) else { continue };
        let settings = match read_json(&t.settings) {
            Err(e) => return problem("hooks", e, format!("fix {} by hand, then clearctx setup", t.settings.display())),
            Ok(v) => v,
        };
        let mut found = Vec::new();
        for (event, arg) in HOOK_EVENTS {
            let commands: Vec<String> = settings
                .as_ref()
                .and_then(|s| s.get("hooks")?.get(event).cloned())
                .map(|groups| match groups {
                    Json::Array(g) => g,
                    _ => Vec::new(),
                })
                .unwrap_or_default()
                .iter()
                .filter_map(|g| match g.get("hooks") {
                    Some(Json::Array(h)) => Some(h.clone()),
                    _ => None,
                })
                .flatten()
                .filter_map(|h| h.get("command").and_then(Json::as_str).map(str::to_string))
                .filter(|c| setup::is_our_hook(c, arg))
                .collect();
            found.push((event, commands.iter().any(|c| *c == wiring.hook_command(arg)), commands.len()));
        }
        if found.iter().all(|(_, current, _)| *current) {
            return ok("hooks", format!("{} continuity hooks in {}", HOOK_EVENTS.len(), t.settings.display()));
        }
        if found.iter().any(|(_, _, n)| *n > 0) {
            let missing: Vec<&str> = found.iter().filter(|(_, c, _)| !c).map(|(e, _, _)| **e).collect();
            problems.push(problem(
                "hooks",
                format!("{}: {} hook missing or from another clearctx binary", t.settings.display(), missing.join(", ")),
                if project { "clearctx setup --project" } else { "clearctx setup" },
            ));
        }
    }
    problems.into_iter().next().unwrap_or_else(|| {
        problem("hooks", "no clearctx continuity hooks in Claude Code's settings", "clearctx setup")
    })
}

fn version_tuple(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| p.parse().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn claude_binary() -> Check {
    let program = crate::sessions::claude_program();
    let install = "npm install -g @anthropic-ai/claude-code (or set CLEARCTX_CLAUDE_BIN to its path)";
    let out = std::process::Command::new(&program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Err(e) => {
            return problem("claude", format!("`{}` cannot be run: {e}", program.display()), install);
        }
        Ok(o) if !o.status.success() => {
            return problem(
                "claude",
                format!("`{} --version` failed: {}", program.display(), String::from_utf8_lossy(&o.stderr).trim()),
                install,
            );
        }
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
    };
    let version = out.split_whitespace().next().unwrap_or("").to_string();
    match (version_tuple(&version), version_tuple(OLDEST_CLAUDE)) {
        (Some(v), Some(oldest)) if v < oldest => problem(
            "claude",
            format!("Claude Code {version} is older than {OLDEST_CLAUDE}, the oldest clearctx supports"),
            "npm install -g @anthropic-ai/claude-code@latest",
        ),
        (Some(_), _) => ok("claude", format!("{} ({out})", program.display())),
        (None, _) => problem(
            "claude",
            format!("`{} --version` printed `{out}`, not a Claude Code version", program.display()),
            install,
        ),
    }
}

/// Every check, in the order a fix depends on: files, then Claude Code.
pub fn checks(home: &Path) -> Vec<Check> {
    let mut all = vec![data_dir(home), database(home)];
    all.extend(plugins(home));
    match Wiring::current(home) {
        Ok(w) => {
            all.push(registration(&w));
            all.push(hooks(&w));
        }
        Err(e) => all.push(problem("registration", e.to_string(), "run clearctx from its installed path")),
    }
    all.push(claude_binary());
    all
}

pub fn run(home: &Path) -> Output {
    let checks = checks(home);
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut text = String::new();
    for c in &checks {
        text.push_str(&format!("{:<5} {:<24} {}\n", if c.ok { "ok" } else { "FAIL" }, c.check, c.detail));
        if let Some(fix) = &c.fix {
            text.push_str(&format!("{:<30} fix: {fix}\n", ""));
        }
    }
    text.push_str(&match failed {
        0 => "all checks passed".to_string(),
        n => format!("{n} problem{} found", if n > 1 { "s" } else { "" }),
    });
    Output {
        json: serde_json::json!({ "ok": failed == 0, "problems": failed, "checks": checks }),
        text,
        // A script can tell a healthy setup from a broken one by the exit code.
        code: if failed == 0 { 0 } else { 1 },
    }
}
