//! `clearctx plugin new --kind <kind> <name>`: a plugin crate that builds, passes its own
//! tests (`cargo test`) and installs (`clearctx plugin add <dir>`) as it is.

use std::path::{Path, PathBuf};

use super::Kind;
use crate::error::{Error, Result};

pub struct NewOptions {
    pub kind: Kind,
    pub name: String,
    /// Parent folder; the crate goes into `<dir>/<name>`.
    pub dir: PathBuf,
    /// The SDK crate to depend on; defaults to the copy this clearctx carries, written
    /// into the data dir.
    pub sdk: Option<PathBuf>,
    /// The data dir, where the carried SDK is written.
    pub home: PathBuf,
}

/// The SDK's sources, carried in the binary so a scaffold never points at the machine
/// clearctx was built on. `carries_every_sdk_file` keeps the list whole.
const SDK_FILES: &[(&str, &str)] = &[
    ("sdk/Cargo.toml", include_str!("../../../sdk/Cargo.toml")),
    ("sdk/README.md", include_str!("../../../sdk/README.md")),
    ("sdk/src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    (
        "sdk/src/action.rs",
        include_str!("../../../sdk/src/action.rs"),
    ),
    (
        "sdk/src/bindings.rs",
        include_str!("../../../sdk/src/bindings.rs"),
    ),
    (
        "sdk/src/condition.rs",
        include_str!("../../../sdk/src/condition.rs"),
    ),
    ("sdk/src/log.rs", include_str!("../../../sdk/src/log.rs")),
    (
        "sdk/src/template.rs",
        include_str!("../../../sdk/src/template.rs"),
    ),
    (
        "sdk/src/testing.rs",
        include_str!("../../../sdk/src/testing.rs"),
    ),
    (
        "sdk/src/validator.rs",
        include_str!("../../../sdk/src/validator.rs"),
    ),
    (
        "wit/clearctx-plugin.wit",
        include_str!("../../../wit/clearctx-plugin.wit"),
    ),
];

/// Writes the carried SDK under `<home>/sdk/<version>/` (once; a copy left half-written by
/// a crash is written again) and returns its crate folder.
fn carried_sdk(home: &Path) -> Result<PathBuf> {
    let root = home.join("sdk").join(env!("CARGO_PKG_VERSION"));
    let io = |path: &Path, source| Error::DataDir {
        path: path.to_path_buf(),
        source,
    };
    let done = root.join(".complete");
    if !done.is_file() {
        for (rel, text) in SDK_FILES {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("has a folder"))
                .map_err(|e| io(&path, e))?;
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }
        std::fs::write(&done, "").map_err(|e| io(&done, e))?;
    }
    Ok(root.join("sdk"))
}

/// Where the SDK is: `--sdk`, `CLEARCTX_SDK_PATH`, or the copy this clearctx carries.
fn sdk_path(explicit: Option<&Path>, home: &Path) -> Result<PathBuf> {
    let chosen = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CLEARCTX_SDK_PATH").map(PathBuf::from));
    let path = match chosen {
        Some(c) if c.join("Cargo.toml").is_file() => c,
        Some(c) => {
            return Err(Error::invalid(
                "--sdk",
                format!(
                    "`{}` holds no Cargo.toml of the clearctx-plugin-sdk crate",
                    c.display()
                ),
            ));
        }
        None => carried_sdk(home)?,
    };
    path.canonicalize()
        .map_err(|e| Error::invalid("--sdk", format!("{}: {e}", path.display())))
}

/// Writes the crate and returns its folder.
pub fn scaffold(options: &NewOptions) -> Result<PathBuf> {
    crate::ids::check_id("name", &options.name)?;
    let root = options.dir.join(&options.name);
    if root.exists() {
        return Err(Error::conflict(format!(
            "`{}` already exists; pick another name or folder",
            root.display()
        )));
    }
    let sdk = sdk_path(options.sdk.as_deref(), &options.home)?;
    let name = &options.name;
    let type_name = name.replace(['-', '.'], "_");
    let files: Vec<(&str, String)> = vec![
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "A clearctx {kind} plugin"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
clearctx-plugin-sdk = {{ path = "{sdk}" }}

[profile.release]
opt-level = "s"
lto = true
strip = true
codegen-units = 1
panic = "abort"

# A plugin is its own workspace, wherever it is created.
[workspace]
"#,
                kind = options.kind.as_str(),
                sdk = sdk.display()
            ),
        ),
        (
            "clearctx-plugin.toml",
            format!(
                r#"[plugin]
id = "{name}"
version = "0.1.0"
description = "A clearctx {kind} plugin"

# Capabilities the plugin asks for (actions only): notify, contracts:write, artifacts:write.
[capabilities]
requested = [{caps}]

# Per-call limits; omit to take the host defaults for the kind.
[limits]
# fuel = 100_000_000
# timeout_ms = 2_000
# memory_mib = 64
"#,
                kind = options.kind.as_str(),
                caps = if options.kind == Kind::PipelineAction {
                    "\"notify\""
                } else {
                    ""
                }
            ),
        ),
        (".gitignore", "target/\n".to_string()),
        ("src/lib.rs", lib_rs(options.kind, &type_name)),
        ("tests/in_host.rs", in_host_rs(options.kind)),
        (
            "README.md",
            format!(
                "# {name}\n\nA clearctx {kind} plugin.\n\n```sh\ncargo test                                    # its own tests, natively\nclearctx plugin add .                         # build for wasm32-wasip2 and install\nclearctx plugin test {name} --input <json>    # run it in the real sandbox\n```\n",
                kind = options.kind.as_str()
            ),
        ),
    ];
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a folder"))
            .and_then(|_| std::fs::write(&path, text))
            .map_err(|e| Error::DataDir {
                path: path.clone(),
                source: e,
            })?;
    }
    Ok(root)
}

/// A test that runs the built component through the real host (`clearctx plugin test`).
fn in_host_rs(kind: Kind) -> String {
    let body = match kind {
        Kind::ArtifactValidator => {
            r#"    let dir = env!("CARGO_MANIFEST_DIR");
    let problems = testing::validate(dir, "release-notes", &json!({"changes": []})).unwrap();
    let paths: Vec<&str> = problems.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["/version", "/changes"]);
    let ok = testing::validate(dir, "release-notes", &json!({"version": "1.0.0", "changes": ["x"]})).unwrap();
    assert!(ok.is_empty());"#
        }
        Kind::PipelineCondition => {
            r#"    let dir = env!("CARGO_MANIFEST_DIR");
    assert!(testing::evaluate(dir, "failed > 0", &json!({"data": {"failed": 1}})).unwrap());"#
        }
        Kind::PipelineAction => {
            r#"    let dir = env!("CARGO_MANIFEST_DIR");
    let commands = testing::run_action(dir, &json!({"target": "qa-dev"}), &json!({})).unwrap();
    assert_eq!(commands[0]["command"], "notify_session");
    assert_eq!(commands[0]["allowed"], true);"#
        }
        Kind::PromptTemplate => {
            r#"    let dir = env!("CARGO_MANIFEST_DIR");
    let text = testing::render(dir, "reviewer", &json!({"name": "rev-1"})).unwrap();
    assert!(text.contains("rev-1"));"#
        }
    };
    format!(
        "//! Runs the built component in the real clearctx sandbox (needs `clearctx` on PATH,\n//! or CLEARCTX_BIN).\n\nuse clearctx_plugin_sdk::{{json, testing}};\n\n#[test]\nfn runs_in_the_real_host() {{\n{body}\n}}\n"
    )
}

fn lib_rs(kind: Kind, ty: &str) -> String {
    // `my-rules` → `MyRules`: each word capitalised, as a Rust type is named.
    let ty: String = ty
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| format!("{}{}", w[..1].to_uppercase(), &w[1..]))
        .collect();
    match kind {
        Kind::ArtifactValidator => format!(
            r#"//! An artifact validator: says what is wrong with an artifact's data, every problem at once.

use clearctx_plugin_sdk::{{PluginError, TypeInfo, Validator, Value, Violation, validator}};

// Only its functions are called (by the host, through the macro): never constructed.
#[allow(dead_code)]
struct {ty};

impl Validator for {ty} {{
    fn types() -> Vec<TypeInfo> {{
        // The artifact types this plugin validates. Declaring a built-in type (e.g.
        // "test-results") overrides the standard validator for it.
        vec![TypeInfo::new("release-notes", "Notes for a release: a version and its changes")]
    }}

    fn validate(artifact_type: &str, data: &Value) -> Result<Vec<Violation>, PluginError> {{
        // The host only sends the types declared above; anything else is a mistake.
        if artifact_type != "release-notes" {{
            return Err(PluginError::InvalidInput(format!(
                "this plugin validates release-notes, not `{{artifact_type}}`"
            )));
        }}
        let mut problems = Vec::new();
        if !data.get("version").is_some_and(Value::is_string) {{
            problems.push(Violation::new("/version", "a release needs a `version` string", "required"));
        }}
        match data.get("changes").and_then(Value::as_array) {{
            Some(changes) if !changes.is_empty() => {{}}
            _ => problems.push(Violation::new("/changes", "list at least one change", "min_items")),
        }}
        Ok(problems)
    }}
}}

validator!({ty});

#[cfg(test)]
mod tests {{
    use super::*;
    use clearctx_plugin_sdk::json;

    #[test]
    fn accepts_a_complete_release() {{
        let ok = json!({{"version": "1.2.0", "changes": ["faster publish"]}});
        assert!({ty}::validate("release-notes", &ok).unwrap().is_empty());
    }}

    #[test]
    fn names_every_problem() {{
        let bad = json!({{"changes": []}});
        let paths: Vec<String> = {ty}::validate("release-notes", &bad).unwrap().into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["/version", "/changes"]);
    }}
}}
"#
        ),
        Kind::PipelineCondition => format!(
            r#"//! A pipeline condition: decides whether a rule fires for an event.

use clearctx_plugin_sdk::{{Condition, PluginError, Value, condition}};

// Only its functions are called (by the host, through the macro): never constructed.
#[allow(dead_code)]
struct {ty};

impl Condition for {ty} {{
    /// Supports one expression form: `<field> > <number>`, read from `data`.
    fn evaluate(expression: &str, context: &Value) -> Result<bool, PluginError> {{
        let (field, number) = expression
            .split_once('>')
            .ok_or_else(|| PluginError::InvalidInput(format!("expected `<field> > <number>`, got `{{expression}}`")))?;
        let limit: f64 = number.trim().parse().map_err(|_| PluginError::InvalidInput(format!("`{{}}` is not a number", number.trim())))?;
        let value = context["data"][field.trim()].as_f64().unwrap_or(0.0);
        Ok(value > limit)
    }}
}}

condition!({ty});

#[cfg(test)]
mod tests {{
    use super::*;
    use clearctx_plugin_sdk::json;

    #[test]
    fn compares_a_data_field() {{
        let ctx = json!({{"data": {{"failed": 2}}}});
        assert!({ty}::evaluate("failed > 0", &ctx).unwrap());
        assert!(!{ty}::evaluate("failed > 5", &ctx).unwrap());
    }}
}}
"#
        ),
        Kind::PipelineAction => format!(
            r#"//! A pipeline action: returns commands; clearctx checks them against the granted
//! capabilities (see clearctx-plugin.toml) and executes them.

use clearctx_plugin_sdk::{{Action, HostCommand, PluginError, Value, action}};

// Only its functions are called (by the host, through the macro): never constructed.
#[allow(dead_code)]
struct {ty};

impl Action for {ty} {{
    fn run(config: &Value, context: &Value) -> Result<Vec<HostCommand>, PluginError> {{
        let target = config["target"].as_str().ok_or_else(|| PluginError::BadConfig("set `target`".into()))?;
        let what = context["artifact"]["artifact_id"].as_str().unwrap_or("something");
        Ok(vec![HostCommand::notify(target, &format!("{{what}} changed"))])
    }}
}}

action!({ty});

#[cfg(test)]
mod tests {{
    use super::*;
    use clearctx_plugin_sdk::json;

    #[test]
    fn notifies_the_target() {{
        let commands = {ty}::run(&json!({{"target": "qa-dev"}}), &json!({{"artifact": {{"artifact_id": "api-spec"}}}})).unwrap();
        assert_eq!(commands.len(), 1);
    }}
}}
"#
        ),
        Kind::PromptTemplate => format!(
            r#"//! Prompt templates: what sessions are told.

use clearctx_plugin_sdk::{{PluginError, Template, TemplateInfo, Value, template}};

// Only its functions are called (by the host, through the macro): never constructed.
#[allow(dead_code)]
struct {ty};

impl Template for {ty} {{
    fn templates() -> Vec<TemplateInfo> {{
        vec![TemplateInfo::new("reviewer", "A code reviewer worker", &["name"])]
    }}

    fn render(name: &str, variables: &Value) -> Result<String, PluginError> {{
        match name {{
            "reviewer" => {{
                let who = variables["name"].as_str().ok_or_else(|| PluginError::InvalidInput("`name` is required".into()))?;
                Ok(format!("You are {{who}}, a careful code reviewer."))
            }}
            other => Err(PluginError::InvalidInput(format!("no template `{{other}}`"))),
        }}
    }}
}}

template!({ty});

#[cfg(test)]
mod tests {{
    use super::*;
    use clearctx_plugin_sdk::json;

    #[test]
    fn renders_the_reviewer() {{
        let text = {ty}::render("reviewer", &json!({{"name": "rev-1"}})).unwrap();
        assert!(text.contains("rev-1"));
    }}
}}
"#
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to the SDK must be carried too, or scaffolds would not build.
    #[test]
    fn carries_every_sdk_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join("sdk/src"))
            .unwrap()
            .map(|e| format!("sdk/src/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut carried: Vec<String> = SDK_FILES
            .iter()
            .map(|(p, _)| p.to_string())
            .filter(|p| p.starts_with("sdk/src/"))
            .collect();
        carried.sort();
        assert_eq!(carried, on_disk);
    }
}
