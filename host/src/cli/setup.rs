//! `clearctx setup`: wires clearctx into Claude Code, in the files Claude Code itself reads
//! and in the format it writes them (checked against `claude mcp add`, 2.1.332):
//! - the MCP server: `mcpServers.clearctx` in `~/.claude.json` (user scope) or the
//!   project's `.mcp.json` (`--project`), `{"type": "stdio", "command", "args", "env"}`;
//! - the continuity hooks: one `command` hook per event in `~/.claude/settings.json` (or
//!   the project's `.claude/settings.json`);
//! - the orchestrator's rules, rendered by the `orchestrator` template, in `CLAUDE.md`
//!   between markers;
//! - the standard plugins compiled into the machine's cache, so the first call is fast.
//!
//! Every change is planned before anything is written: a file that cannot be read or is
//! not JSON stops the command with nothing changed. Writes are atomic (a temp file in the
//! same folder, then a rename). Running it twice changes nothing; `--uninstall` takes out
//! exactly the entries it owns (found by name and by their `clearctx` command), leaving
//! every other server, hook and line of the user's where it was.

use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Output;
use super::ojson::Json;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::model::MCP_SERVER_NAME;

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Set up this project only: its .mcp.json, .claude/settings.json and CLAUDE.md
    #[arg(long)]
    pub project: bool,
    /// Print each change as a unified diff and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Remove what setup added (server, hooks, rules) and nothing else
    #[arg(long)]
    pub uninstall: bool,
    /// The data dir the wiring points at, when the hub was opened elsewhere: a dry run
    /// for a data dir that does not exist yet renders on a scratch one, creating nothing.
    #[arg(skip)]
    pub home: Option<std::path::PathBuf>,
}

/// Claude Code's hook events and the `clearctx hook` argument each runs.
pub const HOOK_EVENTS: &[(&str, &str)] = &[
    ("SessionStart", "session-start"),
    ("Stop", "stop"),
    ("PreCompact", "pre-compact"),
    ("SessionEnd", "session-end"),
];

pub const RULES_BEGIN: &str = "<!-- clearctx:begin (written by `clearctx setup`; `clearctx setup --uninstall` removes it) -->";
pub const RULES_END: &str = "<!-- clearctx:end -->";

/// The files setup writes, for one scope.
#[derive(Debug, Clone)]
pub struct Targets {
    pub project: bool,
    /// Where the MCP server is registered (`~/.claude.json` or `.mcp.json`).
    pub mcp: PathBuf,
    /// Claude Code's settings, which hold the hooks.
    pub settings: PathBuf,
    /// The memory file the rules go into.
    pub memory: PathBuf,
}

impl Targets {
    /// The user's files (`CLAUDE_CONFIG_DIR` moves them, as it does for Claude Code), or
    /// the project's in the working directory.
    pub fn resolve(project: bool) -> Result<Targets> {
        if project {
            let dir = std::env::current_dir()
                .map_err(|e| Error::invalid("--project", format!("no working directory: {e}")))?;
            return Ok(Targets {
                project,
                mcp: dir.join(".mcp.json"),
                settings: dir.join(".claude/settings.json"),
                memory: dir.join("CLAUDE.md"),
            });
        }
        let var = |n| std::env::var_os(n).filter(|v| !v.is_empty()).map(PathBuf::from);
        let (config, mcp) = match (var("CLAUDE_CONFIG_DIR"), var("HOME")) {
            (Some(c), _) => (c.clone(), c.join(".claude.json")),
            (None, Some(h)) => (h.join(".claude"), h.join(".claude.json")),
            (None, None) => {
                return Err(Error::invalid(
                    "HOME",
                    "is not set, so Claude Code's user files cannot be found; set HOME (or use --project)",
                ));
            }
        };
        Ok(Targets {
            project,
            mcp,
            settings: config.join("settings.json"),
            memory: config.join("CLAUDE.md"),
        })
    }
}

/// What clearctx registers: this binary, with the data dir when it is not the default.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub exe: PathBuf,
    /// `Some` when the data dir is not `~/.clearctx`, so Claude Code's processes use it too.
    pub home: Option<PathBuf>,
}

impl Wiring {
    pub fn current(hub_home: &Path) -> Result<Wiring> {
        let exe = std::env::current_exe()
            .and_then(|e| e.canonicalize())
            .map_err(|e| Error::invalid("clearctx", format!("cannot find this binary: {e}")))?;
        let default = crate::hub::resolve_home(None).ok().filter(|_| {
            std::env::var_os("CLEARCTX_HOME").is_none_or(|v| v.is_empty())
        });
        let home = (default.as_deref() != Some(hub_home)).then(|| hub_home.to_path_buf());
        Ok(Wiring { exe, home })
    }

    fn prefix(&self) -> Vec<String> {
        match &self.home {
            Some(h) => vec!["--home".into(), h.display().to_string()],
            None => Vec::new(),
        }
    }

    /// The `mcpServers` entry, exactly as `claude mcp add` writes a stdio server.
    pub fn server_entry(&self) -> Json {
        let mut args: Vec<Json> = self.prefix().iter().map(|a| Json::str(a)).collect();
        args.push(Json::str("serve"));
        Json::Object(vec![
            ("type".into(), Json::str("stdio")),
            ("command".into(), Json::String(self.exe.display().to_string())),
            ("args".into(), Json::Array(args)),
            ("env".into(), Json::Object(Vec::new())),
        ])
    }

    /// The shell command of the hook for `event` (`session-start`, …).
    pub fn hook_command(&self, event: &str) -> String {
        let mut words = vec![self.exe.display().to_string()];
        words.extend(self.prefix());
        words.push("hook".into());
        words.push(event.into());
        words.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ")
    }
}

fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The program of a shell command line (first word, single quotes understood).
fn program_of(command: &str) -> &str {
    let c = command.trim_start();
    if let Some(rest) = c.strip_prefix('\'') {
        return rest.split('\'').next().unwrap_or_default();
    }
    c.split_whitespace().next().unwrap_or_default()
}

fn is_clearctx_program(program: &str) -> bool {
    Path::new(program).file_name().and_then(|n| n.to_str()) == Some("clearctx")
}

/// A hook command setup wrote for `event`, from this binary or an older one elsewhere.
pub fn is_our_hook(command: &str, event: &str) -> bool {
    is_clearctx_program(program_of(command))
        && command.trim_end().ends_with(&format!(" hook {event}"))
}

/// A `mcpServers` entry that runs a `clearctx` binary (so not someone else's server that
/// happens to be called `clearctx`).
pub fn is_our_server(entry: &Json) -> bool {
    entry
        .get("command")
        .and_then(Json::as_str)
        .is_some_and(is_clearctx_program)
}

/// One file's change: its text before (`None`: absent) and after (`None`: deleted).
#[derive(Debug, Clone)]
pub struct Change {
    pub path: PathBuf,
    pub what: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Permissions for a file that does not exist yet (an existing one keeps its own).
    pub new_mode: u32,
}

impl Change {
    pub fn changes(&self) -> bool {
        self.before != self.after
    }

    /// A unified diff of the change (`/dev/null` for a file created or deleted).
    pub fn diff(&self) -> String {
        let path = self.path.display().to_string();
        let before = self.before.as_deref().unwrap_or("");
        let after = self.after.as_deref().unwrap_or("");
        let old = if self.before.is_some() { format!("a{path}") } else { "/dev/null".into() };
        let new = if self.after.is_some() { format!("b{path}") } else { "/dev/null".into() };
        similar::TextDiff::from_lines(before, after)
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .missing_newline_hint(true)
            .to_string()
    }
}

fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Error::invalid(
                path.display().to_string(),
                "is not UTF-8 text; it was left untouched and nothing was changed",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::invalid(
            path.display().to_string(),
            format!("cannot be read ({e}); nothing was changed"),
        )),
    }
}

/// Reads a JSON settings file as an object (absent: an empty one). Anything else is an
/// error naming the file: setup never rewrites what it cannot understand.
fn read_json(path: &Path) -> Result<(Option<String>, Json)> {
    let text = read_text(path)?;
    let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Ok((text, Json::Object(Vec::new())));
    };
    let value: Json = serde_json::from_str(t).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            format!(
                "is not valid JSON ({e}); it was left untouched and nothing was changed: fix the file (Claude Code cannot read it either), then run `clearctx setup` again"
            ),
        )
    })?;
    if !matches!(value, Json::Object(_)) {
        return Err(Error::invalid(
            path.display().to_string(),
            "holds JSON that is not an object; it was left untouched and nothing was changed",
        ));
    }
    Ok((text, value))
}

/// `parent[key]` as an object, made when absent; an error naming the path when it is
/// something else.
fn object_at<'a>(parent: &'a mut Json, key: &str, path: &Path, empty: Json) -> Result<&'a mut Json> {
    if parent.get(key).is_none() {
        parent.set(key, empty.clone());
    }
    let child = parent.get_mut(key).expect("just set");
    if std::mem::discriminant(child) != std::mem::discriminant(&empty) {
        return Err(Error::invalid(
            path.display().to_string(),
            format!("`{key}` is not {}; the file was left untouched and nothing was changed", match empty {
                Json::Array(_) => "a list",
                _ => "an object",
            }),
        ));
    }
    Ok(child)
}

/// The file's new text: unchanged when the value is (so formatting a user chose survives
/// a no-op), absent when nothing is left in it, else as Claude Code prints it, keeping the
/// file's trailing newline or its lack.
fn json_after(before: &Option<String>, old: &Json, new: &Json) -> Option<String> {
    if old == new {
        return before.clone();
    }
    if new.is_empty_container() {
        return None;
    }
    let newline = before.as_deref().is_some_and(|b| b.ends_with('\n'));
    Some(new.pretty() + if newline { "\n" } else { "" })
}

fn plan_mcp(t: &Targets, w: &Wiring, uninstall: bool) -> Result<Change> {
    let (before, old) = read_json(&t.mcp)?;
    let mut new = old.clone();
    let what;
    if uninstall {
        what = format!("MCP server `{MCP_SERVER_NAME}` removed");
        if let Some(servers) = new.get_mut("mcpServers")
            && servers.get(MCP_SERVER_NAME).is_some_and(is_our_server)
        {
            servers.remove(MCP_SERVER_NAME);
            if servers.is_empty_container() {
                new.remove("mcpServers");
            }
        }
    } else {
        what = format!(
            "MCP server `{MCP_SERVER_NAME}` registered ({} scope): {} serve",
            if t.project { "project" } else { "user" },
            w.exe.display()
        );
        let servers = object_at(&mut new, "mcpServers", &t.mcp, Json::Object(Vec::new()))?;
        servers.set(MCP_SERVER_NAME, w.server_entry());
    }
    Ok(Change {
        after: json_after(&before, &old, &new),
        path: t.mcp.clone(),
        what,
        before,
        // Claude Code keeps ~/.claude.json private (it holds the user's account).
        new_mode: if t.project { 0o644 } else { 0o600 },
    })
}

/// Takes every hook of ours for `event` out of `groups`; a group left without hooks goes
/// too (it was ours alone).
fn remove_our_hooks(groups: &mut Vec<Json>, event: &str) {
    groups.retain_mut(|group| {
        let Some(Json::Array(hooks)) = group.get_mut("hooks") else {
            return true;
        };
        let had = hooks.len();
        hooks.retain(|h| !h.get("command").and_then(Json::as_str).is_some_and(|c| is_our_hook(c, event)));
        !(hooks.is_empty() && had > 0)
    });
}

fn our_hooks<'a>(groups: &'a [Json], event: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    groups
        .iter()
        .filter_map(|g| match g.get("hooks") {
            Some(Json::Array(hooks)) => Some(hooks),
            _ => None,
        })
        .flatten()
        .filter_map(|h| h.get("command").and_then(Json::as_str))
        .filter(move |c| is_our_hook(c, event))
}

fn plan_hooks(t: &Targets, w: &Wiring, uninstall: bool) -> Result<Change> {
    let (before, old) = read_json(&t.settings)?;
    let mut new = old.clone();
    let path = &t.settings;
    if uninstall {
        if let Some(hooks) = new.get_mut("hooks") {
            for (event, arg) in HOOK_EVENTS {
                if let Some(Json::Array(groups)) = hooks.get_mut(event) {
                    remove_our_hooks(groups, arg);
                    if groups.is_empty() {
                        hooks.remove(event);
                    }
                }
            }
            if hooks.is_empty_container() {
                new.remove("hooks");
            }
        }
    } else {
        let hooks = object_at(&mut new, "hooks", path, Json::Object(Vec::new()))?;
        for (event, arg) in HOOK_EVENTS {
            let command = w.hook_command(arg);
            let groups = object_at(hooks, event, path, Json::Array(Vec::new()))?;
            let Json::Array(list) = groups else { unreachable!("checked to be a list") };
            // Ours, once and current: left where it is, so a rerun changes nothing.
            let ours: Vec<&str> = our_hooks(list, arg).collect();
            if ours == [command.as_str()] {
                continue;
            }
            remove_our_hooks(list, arg);
            list.push(Json::Object(vec![(
                "hooks".into(),
                Json::Array(vec![Json::Object(vec![
                    ("type".into(), Json::str("command")),
                    ("command".into(), Json::String(command)),
                ])]),
            )]));
        }
    }
    let events: Vec<&str> = HOOK_EVENTS.iter().map(|(e, _)| *e).collect();
    Ok(Change {
        after: json_after(&before, &old, &new),
        path: path.clone(),
        what: format!(
            "continuity hooks {} ({})",
            if uninstall { "removed" } else { "installed" },
            events.join(", ")
        ),
        before,
        new_mode: 0o644,
    })
}

/// Where our block is in `text`: the byte range from the begin marker's line to the end
/// marker's line, newline included.
fn rules_block(text: &str) -> Option<std::ops::Range<usize>> {
    let start = text.find(RULES_BEGIN)?;
    let end_marker = start + text[start..].find(RULES_END)?;
    let mut end = end_marker + RULES_END.len();
    if text[end..].starts_with('\n') {
        end += 1;
    }
    Some(start..end)
}

fn plan_rules(t: &Targets, rules: Option<&str>) -> Result<Change> {
    let before = read_text(&t.memory)?;
    let text = before.clone().unwrap_or_default();
    let after = match rules {
        Some(rules) => {
            let block = format!("{RULES_BEGIN}\n{}\n{RULES_END}\n", rules.trim_end());
            match rules_block(&text) {
                Some(range) => {
                    let mut t = text.clone();
                    t.replace_range(range, &block);
                    t
                }
                None if text.is_empty() => block,
                // Our block goes after the user's text, a blank line between them.
                None => format!("{text}{}\n{block}", if text.ends_with('\n') { "" } else { "\n" }),
            }
        }
        None => match rules_block(&text) {
            Some(range) => {
                let mut head = text[..range.start].to_string();
                // The blank line setup put before the block goes with it.
                if head.ends_with("\n\n") {
                    head.pop();
                }
                head + &text[range.end..]
            }
            None => text.clone(),
        },
    };
    let after = match (&before, after) {
        (None, a) if a.is_empty() => None,
        (Some(_), a) if a.trim().is_empty() => None,
        (_, a) => Some(a),
    };
    Ok(Change {
        path: t.memory.clone(),
        what: format!(
            "orchestrator rules {} (between clearctx markers)",
            if rules.is_some() { "written" } else { "removed" }
        ),
        before,
        after,
        new_mode: 0o644,
    })
}

/// Every change setup (or `--uninstall`) would make, read and planned before any write.
pub fn plan(t: &Targets, w: &Wiring, rules: Option<&str>) -> Result<Vec<Change>> {
    let uninstall = rules.is_none();
    Ok(vec![
        plan_mcp(t, w, uninstall)?,
        plan_hooks(t, w, uninstall)?,
        plan_rules(t, rules)?,
    ])
}

/// Writes `text` to `path` through a temp file in the same folder and a rename, so a
/// reader (Claude Code starting meanwhile) sees the old file or the new one, never half.
fn write_atomic(path: &Path, text: &str, new_mode: u32) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::invalid(path.display().to_string(), format!("cannot be written: {e}"))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(new_mode);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.clearctx-{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

fn apply(c: &Change) -> Result<()> {
    match &c.after {
        Some(text) => write_atomic(&c.path, text, c.new_mode),
        None => std::fs::remove_file(&c.path).map_err(|e| {
            Error::invalid(c.path.display().to_string(), format!("cannot be removed: {e}"))
        }),
    }
}

#[derive(Debug, Serialize)]
struct ChangeReport {
    path: String,
    what: String,
    /// `created`, `updated`, `deleted` or `unchanged`.
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

fn action(c: &Change) -> &'static str {
    match (&c.before, &c.after) {
        _ if !c.changes() => "unchanged",
        (None, Some(_)) => "created",
        (Some(_), None) => "deleted",
        _ => "updated",
    }
}

/// The orchestrator's rules for `CLAUDE.md`, rendered by the template plugin (an
/// installed `orchestrator` template overrides the standard one, as for the prompt).
fn render_rules(hub: &Hub, project: bool) -> Result<String> {
    let mut arguments = Map::new();
    if !project {
        // The user's CLAUDE.md is read in every project.
        arguments.insert("project".into(), Value::String("the project in the working directory".into()));
    }
    Ok(hub.prompt("orchestrator", &arguments)?.text)
}

/// Compiles the standard plugins into the machine's cache, saying so on a terminal.
fn precompile(hub: &Hub) -> Result<Vec<Value>> {
    let plugins = crate::plugins::standard_plugins();
    let tty = std::io::stderr().is_terminal();
    let mut done = Vec::new();
    for (i, plugin) in plugins.iter().enumerate() {
        if tty {
            eprint!("\rcompiling plugin {}/{} {} …", i + 1, plugins.len(), plugin.id);
        }
        let started = std::time::Instant::now();
        hub.plugins().precompile(plugin)?;
        let ms = started.elapsed().as_millis() as u64;
        if tty {
            eprintln!("\rcompiled plugin {}/{} {} ({ms} ms)  ", i + 1, plugins.len(), plugin.id);
        }
        done.push(serde_json::json!({ "plugin": plugin.id, "version": plugin.version, "ms": ms }));
    }
    Ok(done)
}

pub(super) fn run(hub: &Hub, a: SetupArgs) -> Result<Output> {
    let targets = Targets::resolve(a.project)?;
    let wiring = Wiring::current(a.home.as_deref().unwrap_or(hub.home()))?;
    let rules = if a.uninstall { None } else { Some(render_rules(hub, a.project)?) };
    let changes = plan(&targets, &wiring, rules.as_deref())?;
    if !a.dry_run {
        for c in changes.iter().filter(|c| c.changes()) {
            apply(c)?;
        }
    }
    let precompiled = if a.dry_run || a.uninstall { Vec::new() } else { precompile(hub)? };
    let reports: Vec<ChangeReport> = changes
        .iter()
        .map(|c| ChangeReport {
            path: c.path.display().to_string(),
            what: c.what.clone(),
            action: action(c),
            diff: (a.dry_run && c.changes()).then(|| c.diff()),
        })
        .collect();
    let mut text = String::new();
    for r in &reports {
        match (&r.diff, a.dry_run) {
            (Some(d), _) => text.push_str(d),
            (None, true) => text.push_str(&format!("unchanged: {}\n", r.path)),
            (None, false) => text.push_str(&format!("{}: {} — {}\n", r.action, r.path, r.what)),
        }
    }
    if a.dry_run {
        text.push_str("(dry run: nothing was changed)\n");
    }
    for p in &precompiled {
        text.push_str(&format!("ready: plugin {} (compiled in the machine's cache)\n", p["plugin"].as_str().unwrap_or("")));
    }
    if a.project && !a.uninstall && !a.dry_run {
        text.push_str("Claude Code asks once to approve a project's .mcp.json server: run `claude` in this project and accept `clearctx`.\n");
    }
    Ok(Output {
        json: serde_json::json!({
            "scope": if a.project { "project" } else { "user" },
            "uninstall": a.uninstall,
            "dry_run": a.dry_run,
            "changes": reports,
            "precompiled": precompiled,
        }),
        text: text.trim_end().to_string(),
        code: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_commands_are_recognized_by_program_and_event() {
        let w = Wiring {
            exe: "/opt/my tools/clearctx".into(),
            home: Some("/data/x".into()),
        };
        let c = w.hook_command("session-start");
        assert_eq!(c, "'/opt/my tools/clearctx' --home /data/x hook session-start");
        assert!(is_our_hook(&c, "session-start"));
        assert!(!is_our_hook(&c, "stop"));
        assert!(is_our_hook("/usr/bin/clearctx hook stop", "stop"));
        assert!(!is_our_hook("/usr/bin/other hook stop", "stop"));
        assert!(!is_our_hook("echo clearctx hook stop", "stop"));
    }

    #[test]
    fn the_rules_block_goes_and_leaves_the_users_text() {
        let dir = tempfile::tempdir().unwrap();
        let t = Targets {
            project: true,
            mcp: dir.path().join(".mcp.json"),
            settings: dir.path().join("s.json"),
            memory: dir.path().join("CLAUDE.md"),
        };
        let mine = "# My notes\n\nkeep this\n";
        std::fs::write(&t.memory, mine).unwrap();
        let added = plan_rules(&t, Some("rule one\n")).unwrap();
        let text = added.after.clone().unwrap();
        assert!(text.starts_with(mine) && text.contains("rule one"), "{text}");
        std::fs::write(&t.memory, &text).unwrap();
        assert!(!plan_rules(&t, Some("rule one")).unwrap().changes());
        assert_eq!(plan_rules(&t, None).unwrap().after.as_deref(), Some(mine));
    }
}
