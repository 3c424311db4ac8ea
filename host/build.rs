//! Builds the standard plugins (`plugins/`, a separate cargo workspace) for
//! `wasm32-wasip2` and embeds them, so the binary carries them and a new user installs
//! nothing. The nested cargo uses its own target dir, so it never waits on the outer
//! build's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// (package, plugin id) of each standard plugin.
const STD: &[(&str, &str)] = &[
    ("std-json-schema", "std-json-schema"),
    ("std-cel-condition", "std-cel-condition"),
    ("std-prompt-templates", "std-prompt-templates"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=CLEARCTX_STD_PLUGINS_DIR");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let wasm_dir = match std::env::var_os("CLEARCTX_STD_PLUGINS_DIR") {
        // Prebuilt components (e.g. from a packager); used as they are.
        Some(dir) => PathBuf::from(dir),
        None => build(&root),
    };
    let mut code = String::from("pub static EMBEDDED: &[(&str, &str, &str, &[u8])] = &[\n");
    for (package, id) in STD {
        let file = wasm_dir.join(format!("{}.wasm", package.replace('-', "_")));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| {
            panic!(
                "standard plugin `{id}` was not built at {}: {e}",
                file.display()
            )
        });
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let version = package_version(&root.join("plugins"), package);
        code.push_str(&format!(
            "    ({id:?}, {version:?}, {sha:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out.join("std_plugins.rs"), code).unwrap();
}

/// Runs `cargo build --release --target wasm32-wasip2` on `plugins/` and returns the folder
/// holding the components.
fn build(root: &Path) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("std-plugins");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = root.join("plugins/Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(&manifest)
    .arg("--target-dir")
    .arg(&target_dir);
    if root.join("plugins/Cargo.lock").is_file() {
        cmd.arg("--locked");
    }
    // What cargo set for this build script must not leak into the nested wasm build.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the standard plugins: {e}"));
    if !status.success() {
        panic!(
            "building the standard plugins in {} for wasm32-wasip2 failed; is the target installed? run `rustup target add wasm32-wasip2`",
            manifest.display()
        );
    }
    target_dir.join("wasm32-wasip2/release")
}

/// The `version` of a plugin package: its own, or the plugins workspace's when it inherits it.
fn package_version(plugins: &Path, package: &str) -> String {
    let read = |p: PathBuf| -> toml::Value {
        toml::from_str(&std::fs::read_to_string(&p).unwrap_or_default())
            .unwrap_or(toml::Value::Table(Default::default()))
    };
    let dir = package.strip_prefix("std-").unwrap_or(package);
    let own = read(plugins.join(dir).join("Cargo.toml"));
    if let Some(v) = own
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
    {
        return v.to_string();
    }
    let workspace = read(plugins.join("Cargo.toml"));
    workspace
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .unwrap_or("0.0.0")
        .to_string()
}
