//! Plugin-host figures, each beside a baseline measured in the same run:
//!
//! 4. loading a precompiled standard plugin: a new `PluginHost` in a fresh process, with
//!    the on-disk cache warm, to its first call, minus a steady-state call; and the cold
//!    compile (empty cache) of each standard plugin;
//! 5. a validator call on a ~1 KB artifact, each call in a fresh instance, against the same
//!    check done natively;
//! 6. `clearctx serve` does not touch the plugins before `tools/list` (its start-up time is
//!    figure 3 of `core.rs`).
//!
//! Run with `cargo bench -p clearctx --bench plugins`; it prints a Markdown table at the end.
//! A plain program (`harness = false`) that asserts nothing about time. For figure 4 it
//! runs itself again as a child process (`__child ...`), once per measured load, so every
//! load starts from fresh process state.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clearctx::plugins::bindings::{Level, host};
use clearctx::plugins::{AddOptions, PluginHost, Resolved, Source};
use serde_json::{Value, json};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

#[path = "common/mod.rs"]
mod common;
use common::vary;

type Res<T> = Result<T, Box<dyn Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_clearctx");
/// First argument that makes this program a child process of figure 4.
const CHILD: &str = "__child";

const STANDARD: [&str; 3] = [
    "std-json-schema",
    "std-cel-condition",
    "std-prompt-templates",
];
/// Child processes per standard plugin loading from a warm cache (and as many running the
/// wasmtime steps by hand).
const LOADS: usize = 20;
/// Child processes per standard plugin compiling into an empty cache.
const COLD: usize = 3;
/// Calls after the first one in each child: their median is the steady-state call.
const STEADY: usize = 30;
/// Timed calls per case in figure 5, interleaved across cases.
const CALLS: usize = 2000;
/// Untimed calls first, per case.
const WARMUP: usize = 50;

/// Targets from the brief.
const TARGET_LOAD_MS: f64 = 2.0;
const TARGET_CALL_US: f64 = 20.0;
const TARGET_START_MS: f64 = 50.0;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CHILD) {
        return child(&args[2..]);
    }
    // The bench picks every cache dir itself (children get it explicitly).
    if std::env::var_os("CLEARCTX_CACHE_DIR").is_some() {
        // SAFETY: nothing else runs yet; no thread reads the environment concurrently.
        unsafe { std::env::remove_var("CLEARCTX_CACHE_DIR") };
    }

    eprintln!(
        "4/6 loading standard plugins ({COLD} cold compiles, {LOADS} warm loads and {LOADS} hand-made loads per plugin, each in a fresh process)..."
    );
    let loads = bench_loads()?;

    eprintln!("5/6 validator calls on ~1 KB artifacts ({CALLS} per case, interleaved)...");
    let calls = bench_calls()?;

    eprintln!("6/6 is `serve` lazy about plugins?");
    let lazy = check_serve_is_lazy()?;

    print_table(&loads, &calls, &lazy);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 4. Loading

/// One call that is cheap for the plugin, so the first one is dominated by the load.
fn probe(host: &PluginHost, plugin: &Resolved) -> Res<()> {
    match plugin.id.as_str() {
        // `json` skips compiling a schema inside the plugin.
        "std-json-schema" => {
            host.validate_with(plugin, "json", "{}")?;
        }
        "std-cel-condition" => {
            host.evaluate_with(plugin, "true", &json!({}))?;
        }
        _ => {
            host.declared_templates(plugin)?;
        }
    }
    Ok(())
}

/// Runs in the child process; prints one JSON line.
fn child(args: &[String]) -> Res<()> {
    match args {
        // `CLEARCTX_CACHE_DIR` is set by the parent.
        [mode, id, home] if mode == "first-call" => {
            let t = Instant::now();
            let host = PluginHost::new(Path::new(home));
            let plugin = host.resolve(id)?;
            probe(&host, &plugin)?;
            let first = t.elapsed();
            let mut steady = Vec::with_capacity(STEADY);
            for _ in 0..STEADY {
                let t = Instant::now();
                probe(&host, &plugin)?;
                steady.push(t.elapsed());
            }
            let steady = percentile(&mut steady, 50.0);
            // Every call of the probe does the same work; the call log has its fuel.
            let fuel = host.info(id)?.max_fuel_used;
            println!(
                "{}",
                json!({ "first_us": us(first), "steady_us": us(steady), "fuel": fuel })
            );
        }
        // The native baseline of a fresh instance: jsonschema's lazily built statics (the
        // meta-schemas, the registry of specifications) do not exist yet in a new process.
        [mode, schema, doc] if mode == "native-first" => {
            let schema = std::fs::read_to_string(schema)?;
            let doc = std::fs::read_to_string(doc)?;
            let t = Instant::now();
            let n = native_fresh(&schema, &doc)?;
            let first = t.elapsed();
            let t = Instant::now();
            let m = native_fresh(&schema, &doc)?;
            let second = t.elapsed();
            if n + m != 0 {
                return Err("the native validator rejects the document".into());
            }
            println!(
                "{}",
                json!({ "first_us": us(first), "second_us": us(second) })
            );
        }
        [mode, cwasm, wasm] if mode == "by-hand" => {
            let steps = load_by_hand(Path::new(cwasm), Path::new(wasm))?;
            println!("{}", serde_json::to_string(&steps)?);
        }
        _ => return Err(format!("unknown child arguments {args:?}").into()),
    }
    Ok(())
}

/// The store data of the hand-made loads: WASI and the `host` interface, as in the host.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for Bare {
    fn log(&mut self, _level: Level, _message: String) {}
}

impl clearctx::plugins::bindings::validator::clearctx::plugin::types::Host for Bare {}

/// The engine configuration of `host/src/plugins/sandbox.rs`; a different one could not
/// read the cached `.cwasm`.
fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(512 * 1024);
    Engine::new(&config)
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<Bare>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    host::add_to_linker::<Bare, HasSelf<Bare>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Microseconds of each step `PluginHost::load` takes on a warm cache, done by hand.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone, Copy)]
struct Steps {
    engine_us: f64,
    linker_us: f64,
    sha256_us: f64,
    /// Reading the cache entry and checking its BLAKE3 digest.
    verify_us: f64,
    deserialize_us: f64,
    instantiate_pre_us: f64,
}

fn load_by_hand(cwasm: &Path, wasm: &Path) -> Res<Steps> {
    let t = Instant::now();
    let engine = engine()?;
    let engine_us = us(t.elapsed());
    let t = Instant::now();
    let linker = linker(&engine)?;
    let linker_us = us(t.elapsed());
    // The host hashes the component's bytes on every load; for a standard plugin they are
    // embedded, so only the hashing is timed, not the read.
    let bytes = std::fs::read(wasm)?;
    let t = Instant::now();
    std::hint::black_box(clearctx::artifacts::sha256_hex(&bytes));
    let sha256_us = us(t.elapsed());
    // As `host/src/plugins/cache.rs` checks an entry: BLAKE3 over a memory map.
    let t = Instant::now();
    let digest = blake3::Hasher::new().update_mmap(cwasm)?.finalize();
    if std::fs::read(cwasm.with_extension("cwasm.blake3"))? != digest.as_bytes() {
        return Err("the cache entry fails its digest".into());
    }
    let verify_us = us(t.elapsed());
    let t = Instant::now();
    // SAFETY: the file was written by clearctx's host for this engine configuration.
    let component = unsafe { Component::deserialize_file(&engine, cwasm) }?;
    let deserialize_us = us(t.elapsed());
    let t = Instant::now();
    std::hint::black_box(linker.instantiate_pre(&component)?);
    let instantiate_pre_us = us(t.elapsed());
    Ok(Steps {
        engine_us,
        linker_us,
        sha256_us,
        verify_us,
        deserialize_us,
        instantiate_pre_us,
    })
}

fn run_child(args: &[&str], cache: &Path) -> Res<Value> {
    let out = Command::new(std::env::current_exe()?)
        .arg(CHILD)
        .args(args)
        .env("CLEARCTX_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("child {args:?} exited with {}", out.status).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

struct Load {
    id: &'static str,
    wasm_bytes: u64,
    cwasm_bytes: u64,
    /// First call minus steady-state call, empty cache.
    cold: Vec<Duration>,
    /// First call minus steady-state call, warm cache.
    warm: Vec<Duration>,
    /// The steady-state call of each warm child.
    steady: Vec<Duration>,
    /// Fuel of one probe call.
    fuel: u64,
    by_hand: Vec<Steps>,
}

/// The component built by `host/build.rs`, to time its hashing. `None` if it is not there
/// or not the embedded one.
fn std_wasm(id: &str, sha256: &str) -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let path = target
        .join("std-plugins/wasm32-wasip2/release")
        .join(format!("{}.wasm", id.replace('-', "_")));
    let bytes = std::fs::read(&path).ok()?;
    (clearctx::artifacts::sha256_hex(&bytes) == sha256).then_some(path)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

fn find_cwasm(cache: &Path, sha256: &str) -> Res<PathBuf> {
    for entry in std::fs::read_dir(cache)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(sha256) && name.ends_with(".cwasm") {
            return Ok(path);
        }
    }
    Err(format!("no .cwasm for {sha256} in {}", cache.display()).into())
}

fn load_time(v: &Value) -> Res<(Duration, Duration)> {
    let first = v["first_us"].as_f64().ok_or("no first_us")?;
    let steady = v["steady_us"].as_f64().ok_or("no steady_us")?;
    Ok((
        Duration::from_secs_f64((first - steady).max(0.0) / 1e6),
        Duration::from_secs_f64(steady / 1e6),
    ))
}

fn bench_loads() -> Res<Vec<Load>> {
    let home = tempfile::tempdir()?;
    let warm_cache = tempfile::tempdir()?;
    let summaries = PluginHost::with_cache(home.path(), &home.path().join("cache")).list()?;
    let mut out = Vec::new();
    for id in STANDARD {
        let sha = &summaries
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| format!("standard plugin {id} is not embedded"))?
            .sha256;
        let home_arg = home.path().to_str().ok_or("non-UTF-8 temp dir")?;
        let mut load = Load {
            id,
            wasm_bytes: 0,
            cwasm_bytes: 0,
            cold: Vec::new(),
            warm: Vec::new(),
            steady: Vec::new(),
            fuel: 0,
            by_hand: Vec::new(),
        };
        for _ in 0..COLD {
            let empty = tempfile::tempdir()?;
            let v = run_child(&["first-call", id, home_arg], empty.path())?;
            load.cold.push(load_time(&v)?.0);
        }
        // Fills the warm cache, off the clock.
        run_child(&["first-call", id, home_arg], warm_cache.path())?;
        let cwasm = find_cwasm(warm_cache.path(), sha)?;
        load.cwasm_bytes = std::fs::metadata(&cwasm)?.len();
        let wasm = std_wasm(id, sha);
        load.wasm_bytes = wasm
            .as_ref()
            .and_then(|w| std::fs::metadata(w).ok())
            .map_or(0, |m| m.len());
        for _ in 0..LOADS {
            let v = run_child(&["first-call", id, home_arg], warm_cache.path())?;
            let (l, s) = load_time(&v)?;
            load.warm.push(l);
            load.steady.push(s);
            load.fuel = v["fuel"].as_u64().unwrap_or(0);
            if let Some(wasm) = &wasm {
                let v = run_child(
                    &[
                        "by-hand",
                        cwasm.to_str().ok_or("non-UTF-8 path")?,
                        wasm.to_str().ok_or("non-UTF-8 path")?,
                    ],
                    warm_cache.path(),
                )?;
                load.by_hand.push(serde_json::from_value(v)?);
            }
        }
        eprintln!(
            "  {id}: cold {:.0} ms, warm load {:.2} ms (steady call {:.0} us)",
            ms(percentile(&mut load.cold.clone(), 50.0)),
            ms(percentile(&mut load.warm.clone(), 50.0)),
            us(percentile(&mut load.steady.clone(), 50.0)),
        );
        out.push(load);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// 5. Validator calls

/// A passing `test-results` document of about 1 KB, with a failures list.
fn test_results_doc() -> Value {
    let failures: Vec<Value> = (0..4)
        .map(|i| {
            json!({
                "name": format!("store::artifacts::tests::publish_rejects_case_{i}"),
                "message": format!("assertion `left == right` failed: expected 3 versions, found {i}; the resolver ran twice"),
                "file": format!("host/src/store/artifacts.rs:{}", 400 + i * 17),
            })
        })
        .collect();
    json!({
        "passed": 212,
        "failed": 4,
        "skipped": 3,
        "command": "cargo test --workspace --locked",
        "duration_ms": 48211.5,
        "failures": failures,
    })
}

/// Per-call samples of one case.
#[derive(Default, Clone)]
struct Samples {
    total: Vec<Duration>,
    /// `Receipt::wall_us`: the call inside the sandbox (with instantiation when fresh).
    wall: Vec<Duration>,
    /// What the host adds around the sandbox (lookup, memo key, call log...).
    host: Vec<Duration>,
    fuel: Vec<u64>,
    /// Calls whose receipt says the instance was reused / the answer memoized.
    reused: usize,
    memoized: usize,
}

impl Samples {
    fn plugin(&mut self, t: Instant, receipt: &clearctx::plugins::Receipt) {
        let total = t.elapsed();
        let wall = Duration::from_micros(receipt.wall_us);
        self.total.push(total);
        self.wall.push(wall);
        self.host.push(total.saturating_sub(wall));
        self.fuel.push(receipt.fuel_used);
        self.reused += receipt.reused as usize;
        self.memoized += receipt.memoized as usize;
    }

    fn native(&mut self, t: Instant) {
        self.total.push(t.elapsed());
    }
}

/// The cases of figure 5, by name, in the order they are printed.
struct Calls {
    doc_bytes: usize,
    owner_doc_bytes: usize,
    context_bytes: usize,
    cases: Vec<(&'static str, Samples)>,
    /// Native `jsonschema` as a fresh instance's first call, one per child process.
    native_first: Vec<Duration>,
    /// Publishes per second with N condition evaluations each (figure 5g).
    conditions: Vec<(usize, f64)>,
}

impl Calls {
    fn get(&self, name: &str) -> &Samples {
        &self
            .cases
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no case {name}"))
            .1
    }
}

/// Builds a fixture of `tests/fixtures/plugins` and returns its component.
fn build_fixture(name: &str) -> Res<PathBuf> {
    let root = root();
    let target = root.join("target/wasm-fixtures");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            name,
            "--manifest-path",
        ])
        .arg(root.join("tests/fixtures/plugins/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("building tests/fixtures/plugins/{name} failed").into());
    }
    Ok(target.join(format!(
        "wasm32-wasip2/release/{}.wasm",
        name.replace('-', "_")
    )))
}

/// What the plugin does per call, natively: parse the schema, compile it (with the same
/// options), parse the data, collect the errors.
fn native_fresh(schema_text: &str, text: &str) -> Res<usize> {
    let schema: Value = serde_json::from_str(schema_text)?;
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)?;
    let data: Value = serde_json::from_str(text)?;
    Ok(validator.iter_errors(&data).count())
}

/// require-owner's rule, natively, on the same input (a JSON string).
fn native_owner_check(text: &str) -> Res<usize> {
    let data: Value = serde_json::from_str(text)?;
    let violations = match &data {
        Value::Object(fields) => match fields.get("owner") {
            Some(Value::String(_)) => 0,
            _ => 1,
        },
        _ => 1,
    };
    Ok(violations)
}

/// JSON to CEL as `plugins/cel-condition` converts it.
fn to_cel(value: &Value) -> cel::Value {
    use cel::Value as Cel;
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cel::Int(i),
            (None, Some(u)) => Cel::UInt(u),
            _ => Cel::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => items.iter().map(to_cel).collect::<Vec<_>>().into(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.as_str(), to_cel(v)))
            .collect::<std::collections::HashMap<_, _>>()
            .into(),
    }
}

/// The native CEL baseline: the program compiled once; per call, parse the context text,
/// bind its keys, execute.
fn native_cel(program: &cel::Program, env: &std::sync::Arc<cel::Env>, context: &str) -> Res<bool> {
    let Value::Object(fields) = serde_json::from_str::<Value>(context)? else {
        return Err("the context is not an object".into());
    };
    // The standard library built once, each variable read bound whole: the plugin before
    // it bound only the fields an expression selects (kept as the baseline 5f was set on).
    let mut vars = cel::Context::with_env(env.clone());
    for name in program.references().variables() {
        if let Some(value) = fields.get(name) {
            vars.add_variable_from_value(name, to_cel(value));
        }
    }
    match program.execute(&vars)? {
        cel::Value::Bool(b) => Ok(b),
        other => Err(format!("not a bool: {other:?}").into()),
    }
}

/// The event context a pipeline condition sees for a published `test-results` artifact.
fn condition_context(data: &Value, version: u64) -> Value {
    json!({
        "event": {"kind": "artifact.published", "seq": version, "by": "qa-dev"},
        "artifact": {"id": "unit-tests", "type": "test-results", "version": version},
        "data": data,
    })
}

fn bench_calls() -> Res<Calls> {
    let home = tempfile::tempdir()?;
    let host = PluginHost::with_cache(home.path(), &home.path().join("cache"));
    let std_plugin = host.resolve("std-json-schema")?;
    let cel_plugin = host.resolve("std-cel-condition")?;
    // The same components as a plugin not declared pure would run: fresh instance, no memo.
    let std_fresh = {
        let mut p = std_plugin.clone();
        p.pure = false;
        p
    };
    let cel_fresh = {
        let mut p = cel_plugin.clone();
        p.pure = false;
        p
    };

    eprintln!("  building tests/fixtures/plugins/require-owner ...");
    let wasm = build_fixture("require-owner")?;
    let report = host.plan(&Source::Path(wasm), &AddOptions::default())?;
    host.commit(&report)?;
    let owner_plugin = host.resolve("require-owner")?;
    // The same fixture as its author would install it after declaring `pure = true`.
    let owner_pure = {
        let mut p = owner_plugin.clone();
        p.pure = true;
        p
    };

    // The schema as the plugin itself declares it, so both sides check the same thing.
    let schema_text = host
        .declared_types(&std_plugin)?
        .into_iter()
        .find(|t| t.name == "test-results")
        .and_then(|t| t.schema)
        .ok_or("std-json-schema declares no schema for test-results")?
        .to_string();
    let schema: Value = serde_json::from_str(&schema_text)?;
    let compiled = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)?;
    let expression = "data.failed > 0";
    let program = cel::Program::compile(expression)?;
    let env = std::sync::Arc::new(cel::Env::stdlib());

    let doc = test_results_doc();
    let text = doc.to_string();
    let mut owner_doc = test_results_doc();
    owner_doc["owner"] = json!("session-backend");

    // The native first call in a fresh process, once per child.
    let schema_file = home.path().join("test-results.schema.json");
    let doc_file = home.path().join("test-results.json");
    std::fs::write(&schema_file, &schema_text)?;
    std::fs::write(&doc_file, &text)?;
    let mut native_first = Vec::with_capacity(LOADS);
    for _ in 0..LOADS {
        let v = run_child(
            &[
                "native-first",
                schema_file.to_str().ok_or("non-UTF-8 path")?,
                doc_file.to_str().ok_or("non-UTF-8 path")?,
            ],
            &home.path().join("cache"),
        )?;
        native_first.push(Duration::from_secs_f64(
            v["first_us"].as_f64().ok_or("no first_us")? / 1e6,
        ));
    }

    let native_compiled = |text: &str| -> Res<usize> {
        let data: Value = serde_json::from_str(text)?;
        Ok(compiled.iter_errors(&data).count())
    };

    let names = [
        "schema",
        "schema_fresh",
        "schema_memo",
        "native_compiled",
        "native_fresh",
        "cel",
        "cel_fresh",
        "native_cel",
        "owner",
        "owner_pure",
        "native_owner",
        "schema_json",
    ];
    let mut cases: Vec<(&'static str, Samples)> =
        names.iter().map(|n| (*n, Samples::default())).collect();
    let mut contexts_bytes = 0;
    eprintln!("  test-results document: {} bytes", text.len());
    for i in 0..WARMUP + CALLS {
        let timed = i >= WARMUP;
        // Every case accepts its input, or the figures would measure something else.
        let fresh_text = vary(&doc, i).to_string();
        let owner_text = vary(&owner_doc, i).to_string();
        let context = condition_context(&serde_json::from_str(&fresh_text)?, i as u64);
        let context_text = context.to_string();
        contexts_bytes = context_text.len();
        let mut sample = |name: &str, t: Instant, receipt: Option<&clearctx::plugins::Receipt>| {
            if timed {
                let s = &mut cases.iter_mut().find(|(n, _)| *n == name).expect("case").1;
                match receipt {
                    Some(r) => s.plugin(t, r),
                    None => s.native(t),
                }
            }
        };
        let accept = |v: &clearctx::plugins::Validation| -> Res<()> {
            if v.violations.is_empty() {
                Ok(())
            } else {
                Err(format!("{} rejected the document: {:?}", v.plugin, v.violations).into())
            }
        };

        let t = Instant::now();
        let v = host.validate_with(&std_plugin, "test-results", &fresh_text)?;
        sample("schema", t, Some(&v.receipt));
        accept(&v)?;

        // A fresh instance per call is slow; a tenth as many samples keeps the run short.
        if i % 10 == 0 {
            let t = Instant::now();
            let v = host.validate_with(&std_fresh, "test-results", &fresh_text)?;
            sample("schema_fresh", t, Some(&v.receipt));
            accept(&v)?;
            let t = Instant::now();
            let (_, r) = host.evaluate_with(&cel_fresh, expression, &context)?;
            sample("cel_fresh", t, Some(&r));
            let t = Instant::now();
            let m = native_fresh(&schema_text, &fresh_text)?;
            sample("native_fresh", t, None);
            if m != 0 {
                return Err("the native validator rejects the document".into());
            }
        }

        // The same content every time: after the first call, the memo answers.
        let t = Instant::now();
        let v = host.validate_with(&std_plugin, "test-results", &text)?;
        sample("schema_memo", t, Some(&v.receipt));
        accept(&v)?;

        let t = Instant::now();
        let n = native_compiled(&fresh_text)?;
        sample("native_compiled", t, None);
        if n != 0 {
            return Err("the native validator rejects the document".into());
        }

        let t = Instant::now();
        let (fired, r) = host.evaluate_with(&cel_plugin, expression, &context)?;
        sample("cel", t, Some(&r));
        let t = Instant::now();
        let native = native_cel(&program, &env, &context_text)?;
        sample("native_cel", t, None);
        if !fired || !native {
            return Err("`data.failed > 0` did not fire".into());
        }

        let t = Instant::now();
        let v = host.validate_with(&owner_plugin, "json", &owner_text)?;
        sample("owner", t, Some(&v.receipt));
        accept(&v)?;
        let t = Instant::now();
        let v = host.validate_with(&owner_pure, "json", &owner_text)?;
        sample("owner_pure", t, Some(&v.receipt));
        accept(&v)?;
        let t = Instant::now();
        let n = native_owner_check(&owner_text)?;
        sample("native_owner", t, None);
        if n != 0 {
            return Err("the native require-owner check rejects its document".into());
        }

        let t = Instant::now();
        let v = host.validate_with(&std_plugin, "json", &fresh_text)?;
        sample("schema_json", t, Some(&v.receipt));
    }

    eprintln!("  publishes with 0, 10 and 100 condition evaluations each ...");
    let conditions = bench_conditions_per_publish(&doc)?;
    Ok(Calls {
        doc_bytes: text.len(),
        owner_doc_bytes: owner_doc.to_string().len(),
        context_bytes: contexts_bytes,
        cases,
        native_first,
        conditions,
    })
}

/// Publishes of `test-results` through the hub, each followed by N evaluations of
/// distinct CEL conditions on its event context, as pipelines will run them (called
/// through the plugin host directly until pipelines exist). Ops/s, median of 3 rounds.
fn bench_conditions_per_publish(doc: &Value) -> Res<Vec<(usize, f64)>> {
    const PUBLISHES: usize = 300;
    const ROUNDS: usize = 3;
    let counts = [0usize, 10, 100];
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for _ in 0..ROUNDS {
        for (k, &n) in counts.iter().enumerate() {
            let dir = tempfile::tempdir()?;
            let caller = clearctx::hub::Caller::new("bench", "default");
            let hub = clearctx::hub::Hub::open(dir.path(), caller)?;
            let expressions: Vec<String> = (0..n).map(|j| format!("data.failed > {j}")).collect();
            let publish = |i: usize| -> Res<u64> {
                let data = vary(doc, i);
                let v = hub.artifact_publish(&clearctx::artifacts::PublishRequest {
                    artifact_id: format!("unit-tests-{}", i % 10),
                    artifact_type: "test-results".into(),
                    data: data.clone(),
                    summary: None,
                    derived_from: Vec::new(),
                    publisher: None,
                    team: None,
                    new_type: false,
                })?;
                let context = condition_context(&data, u64::from(v.version));
                for e in &expressions {
                    hub.plugins().evaluate(None, e, &context)?;
                }
                Ok(u64::from(v.version))
            };
            publish(usize::MAX / 2)?;
            let t = Instant::now();
            for i in 0..PUBLISHES {
                publish(i)?;
            }
            rounds[k].push(PUBLISHES as f64 / t.elapsed().as_secs_f64());
        }
    }
    Ok(counts
        .iter()
        .zip(rounds)
        .map(|(&n, mut r)| {
            r.sort_by(f64::total_cmp);
            (n, r[r.len() / 2])
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// 6. serve stays lazy

struct Lazy {
    elapsed: Duration,
    tools: usize,
    /// Neither a `cache` dir nor a call log in the fresh data dir afterwards.
    untouched: bool,
}

fn check_serve_is_lazy() -> Res<Lazy> {
    let home = tempfile::tempdir()?;
    let t = Instant::now();
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--home")
        .arg(home.path())
        .env_remove("CLEARCTX_SESSION")
        .env_remove("CLEARCTX_TEAM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "clearctx-bench", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ] {
        writeln!(stdin, "{message}")?;
    }
    stdin.flush()?;
    let mut line = String::new();
    let tools = loop {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            return Err("serve closed stdout before tools/list".into());
        }
        let reply: Value = serde_json::from_str(&line)?;
        if reply["id"] == json!(2) {
            break reply["result"]["tools"].as_array().map_or(0, Vec::len);
        }
    };
    let elapsed = t.elapsed();
    drop(stdin);
    child.wait()?;
    let untouched =
        !home.path().join("cache").exists() && !home.path().join("plugins/calls.jsonl").exists();
    Ok(Lazy {
        elapsed,
        tools,
        untouched,
    })
}

// ---------------------------------------------------------------------------------------
// Statistics and the report

/// Nearest-rank percentile of `samples` (sorted in place), `p` in 0..=100.
fn percentile<T: Ord + Copy>(samples: &mut [T], p: f64) -> T {
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn p50_p90(samples: &[Duration]) -> (f64, f64) {
    let mut s = samples.to_vec();
    (us(percentile(&mut s, 50.0)), us(percentile(&mut s, 90.0)))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_table(loads: &[Load], calls: &Calls, lazy: &Lazy) {
    println!();
    println!("| Figure | Measured | Baseline (same run) | Target | Met |");
    println!("|---|---|---|---|---|");
    for (i, l) in loads.iter().enumerate() {
        let letter = (b'a' + i as u8) as char;
        let (mut warm, mut cold, mut steady) = (l.warm.clone(), l.cold.clone(), l.steady.clone());
        let warm_p50 = ms(percentile(&mut warm, 50.0));
        let steps = |f: fn(&Steps) -> f64| -> f64 {
            let mut v: Vec<Duration> = l
                .by_hand
                .iter()
                .map(|s| Duration::from_secs_f64(f(s) / 1e6))
                .collect();
            if v.is_empty() {
                f64::NAN
            } else {
                ms(percentile(&mut v, 50.0))
            }
        };
        let by_hand = format!(
            "by hand (medians): engine {:.2} ms, linker {:.2} ms, sha256 of the {:.1} MiB component {:.2} ms, BLAKE3 check (memory-mapped) of the {:.1} MiB cache entry {:.2} ms, deserialize {:.2} ms, instantiate_pre {:.2} ms",
            steps(|s| s.engine_us),
            steps(|s| s.linker_us),
            mib(l.wasm_bytes),
            steps(|s| s.sha256_us),
            mib(l.cwasm_bytes),
            steps(|s| s.verify_us),
            steps(|s| s.deserialize_us),
            steps(|s| s.instantiate_pre_us),
        );
        println!(
            "| 4{letter}. load `{}` from a warm cache: new `PluginHost` in a fresh process, first call minus steady call, {LOADS} processes | median {:.2} ms, p90 {:.2} ms; {by_hand} | steady-state call ({}) in the same processes: median {:.0} us, {} fuel | median < {TARGET_LOAD_MS} ms | {} |",
            l.id,
            warm_p50,
            ms(percentile(&mut warm, 90.0)),
            match l.id {
                "std-json-schema" => "`validate` of `{}` as `json`",
                "std-cel-condition" => "`evaluate` of `true`",
                _ => "`templates`",
            },
            us(percentile(&mut steady, 50.0)),
            l.fuel,
            met(warm_p50 < TARGET_LOAD_MS),
        );
        println!(
            "| 4{letter}'. cold compile of `{}` (empty cache), first call minus steady call, {COLD} processes | median {:.0} ms (min {:.0}, max {:.0}) | the warm load above | — | — |",
            l.id,
            ms(percentile(&mut cold, 50.0)),
            ms(*cold.iter().min().expect("samples")),
            ms(*cold.iter().max().expect("samples")),
        );
    }

    let fuel = |s: &Samples| {
        let mut f = s.fuel.clone();
        if f.is_empty() {
            0
        } else {
            percentile(&mut f, 50.0)
        }
    };
    let median = |s: &Samples| p50_p90(&s.total).0;
    let cell = |s: &Samples| {
        let (p50, p90) = p50_p90(&s.total);
        format!("median {p50:.1} us, p90 {p90:.1} us")
    };
    let measured = |s: &Samples| {
        let (p50, p90) = p50_p90(&s.total);
        let (w50, _) = p50_p90(&s.wall);
        let (h50, _) = p50_p90(&s.host);
        format!(
            "median **{p50:.1} us**, p90 {p90:.1} us; in the sandbox (receipt) {w50:.1} us, host around it {h50:.1} us; fuel {} per call; {} of {} calls in a reused instance, {} memoized",
            fuel(s),
            s.reused,
            s.total.len(),
            s.memoized
        )
    };
    let native_compiled = calls.get("native_compiled");
    let schema = calls.get("schema");
    let ratio = median(schema) / median(native_compiled);
    println!(
        "| 5a. `validate_with` std-json-schema (pure), `test-results`, {} B with 4 failures, content changed every call (no memo), {CALLS} calls | {} ({ratio:.2}x native) | native `jsonschema` 0.61, same schema compiled once, parse + validate: {} | median <= {TARGET_CALL_US} us and <= 2x native | {} |",
        calls.doc_bytes,
        measured(schema),
        cell(native_compiled),
        met(median(schema) <= TARGET_CALL_US && ratio <= 2.0),
    );
    println!(
        "| 5a'. diagnostic: the same, as a plugin not declared pure (fresh instance per call), {} calls | {} | native parse + compile + validate per call: {}; as the first call of a fresh process ({LOADS} processes): {} | — | — |",
        calls.get("schema_fresh").total.len(),
        measured(calls.get("schema_fresh")),
        cell(calls.get("native_fresh")),
        {
            let (p50, p90) = p50_p90(&calls.native_first);
            format!("median {p50:.0} us, p90 {p90:.0} us")
        }
    );
    let memo = calls.get("schema_memo");
    println!(
        "| 5e. the same content validated again by std-json-schema (memoized), {CALLS} calls | {} ({:.2}x native) | native compiled once, parse + validate: {} | <= 1x native | {} |",
        measured(memo),
        median(memo) / median(native_compiled),
        cell(native_compiled),
        met(median(memo) <= median(native_compiled)),
    );
    let cel = calls.get("cel");
    let native_cel = calls.get("native_cel");
    println!(
        "| 5f. `evaluate_with` std-cel-condition (pure), `{}`, {} B event context changed every call, {CALLS} calls | {} ({:.2}x native) | native `cel` 0.15, program and standard library built once, parse context + bind what it reads + execute: {} | median <= {TARGET_CALL_US} us | {} |",
        "data.failed > 0",
        calls.context_bytes,
        measured(cel),
        median(cel) / median(native_cel),
        cell(native_cel),
        met(median(cel) <= TARGET_CALL_US),
    );
    println!(
        "| 5f'. diagnostic: the same, fresh instance per call (not pure), {} calls | {} | — | — | — |",
        calls.get("cel_fresh").total.len(),
        measured(calls.get("cel_fresh")),
    );
    let owner = calls.get("owner");
    let owner_pure = calls.get("owner_pure");
    let native_owner = calls.get("native_owner");
    println!(
        "| 5b. `validate_with` require-owner fixture as installed from a bare `.wasm` (not pure: fresh instance per call), `json`, {} B, {CALLS} calls | {} | native closure, parse + the same check: {} | median <= {TARGET_CALL_US} us | {} |",
        calls.owner_doc_bytes,
        measured(owner),
        cell(native_owner),
        met(median(owner) <= TARGET_CALL_US),
    );
    println!(
        "| 5b'. the same fixture declared `pure = true` (reused instance), {CALLS} calls | {} | the native closure above | median <= {TARGET_CALL_US} us | {} |",
        measured(owner_pure),
        met(median(owner_pure) <= TARGET_CALL_US),
    );
    println!(
        "| 5c. diagnostic: std-json-schema, type `json` (returns before any schema), {} B, {CALLS} calls | {} | — | — | — |",
        calls.doc_bytes,
        measured(calls.get("schema_json")),
    );
    let zero = calls.conditions[0].1;
    for (n, ops) in &calls.conditions {
        println!(
            "| 5g. `artifact_publish` of `test-results` via `Hub` (content changed every publish), then {n} distinct CEL conditions evaluated on its event (through the plugin host; pipelines do not exist yet), 300 publishes, median of 3 rounds | {ops:.0} publishes/s ({:.2}x the 0-condition rate) | 0 conditions: {zero:.0} publishes/s | — | — |",
            ops / zero,
        );
    }
    println!(
        "| 6. `clearctx serve` to `tools/list` ({} tools), fresh data dir, 1 run; see figure 3 of core.rs | {:.1} ms; afterwards no `cache/` and no call log in the data dir: {} | — | < {TARGET_START_MS} ms | {} |",
        lazy.tools,
        ms(lazy.elapsed),
        if lazy.untouched {
            "no plugin was loaded"
        } else {
            "**a plugin was loaded**"
        },
        met(lazy.untouched && ms(lazy.elapsed) < TARGET_START_MS),
    );
}
