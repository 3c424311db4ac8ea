//! What pipeline rules cost a publish (issue 10), each figure beside the same run's
//! publish with no rules:
//!
//! 1. `artifact_publish` of `test-results` through a `Hub` with 0, 10 and 100 matching
//!    rules, each with a distinct CEL condition that is false (every rule is matched,
//!    its condition evaluated and its firing logged as skipped);
//! 2. the same with 10 and 100 rules whose conditions are true and whose action
//!    (`notify_session`) runs.
//!
//! Rounds alternate the data dirs so drift in the machine hits each alike. Run with
//! `cargo bench -p clearctx --bench pipelines`; it prints a Markdown table. A plain program
//! (`harness = false`): it asserts nothing.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use clearctx::artifacts::PublishRequest;
use clearctx::hub::{Caller, Hub};
use clearctx::pipelines::CreateRequest;
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error>>;

const PUBLISHES: usize = 300;
const ROUNDS: usize = 3;
/// 100 matching rules may cost at most this many times a publish with none.
const TARGET_RATIO: f64 = 2.0;

/// A data dir with `n` rules on `test-results` publishes; `fire` makes their conditions true.
fn setup(home: &Path, n: usize, fire: bool) -> Res<Hub> {
    let hub = Hub::open(home, Caller::new("bench", "default"))?;
    if n > 0 {
        let rules: Vec<_> = (0..n)
            .map(|i| {
                let condition = if fire {
                    format!("data.failed >= 0 && data.passed != {}", 1_000_000 + i)
                } else {
                    format!("data.failed > {}", 1_000_000 + i)
                };
                json!({
                    "trigger": { "type": "artifact_published", "artifact_type": "test-results" },
                    "condition": condition,
                    "action": { "type": "notify_session", "target": format!("w{i}"), "message": "v${artifact.version}" }
                })
            })
            .collect();
        let req: CreateRequest = serde_json::from_value(json!({ "pipeline_id": "bench", "rules": rules }))?;
        hub.pipeline_create(&req)?;
    }
    // Warm: the validator and the condition plugin loaded, their instances ready.
    publish(&hub, 0)?;
    Ok(hub)
}

fn publish(hub: &Hub, i: usize) -> Res<()> {
    let req: PublishRequest = serde_json::from_value(json!({
        "artifact_id": format!("tests-{}", i % 10),
        "type": "test-results",
        "data": { "passed": i, "failed": 0, "duration_ms": i as f64 + 0.5 },
    }))?;
    hub.artifact_publish(&req)?;
    Ok(())
}

/// This process's CPU time (user + system) so far, in µs: what a publish costs apart from
/// waiting for the disk, which on a shared machine varies far more than the work does.
fn cpu_us() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 * 1e6 + v.tv_usec as f64;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Publishes per second over one round, and CPU µs per publish.
fn rate(hub: &Hub, round: usize) -> Res<(f64, f64)> {
    let (t, cpu) = (Instant::now(), cpu_us());
    for i in 0..PUBLISHES {
        publish(hub, 1 + round * PUBLISHES + i)?;
    }
    Ok((
        PUBLISHES as f64 / t.elapsed().as_secs_f64(),
        (cpu_us() - cpu) / PUBLISHES as f64,
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Res<()> {
    // For a profiler: `PIPELINES_PROFILE=100` publishes with 100 false rules only, 3000 times.
    if let Ok(n) = std::env::var("PIPELINES_PROFILE") {
        let dir = tempfile::tempdir()?;
        let hub = setup(dir.path(), n.parse()?, false)?;
        for i in 0..3000 {
            publish(&hub, 1 + i)?;
        }
        return Ok(());
    }
    let cases: &[(usize, bool)] = &[(0, false), (10, false), (100, false), (10, true), (100, true)];
    let dirs: Vec<tempfile::TempDir> = cases.iter().map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let hubs: Vec<Hub> = cases
        .iter()
        .zip(&dirs)
        .map(|(&(n, fire), d)| setup(d.path(), n, fire))
        .collect::<Res<_>>()?;
    let mut rates = vec![Vec::new(); cases.len()];
    let mut cpus = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS {
        for (i, hub) in hubs.iter().enumerate() {
            let (r, c) = rate(hub, round)?;
            rates[i].push(r);
            cpus[i].push(c);
        }
    }
    let rates: Vec<f64> = rates.into_iter().map(median).collect();
    let cpus: Vec<f64> = cpus.into_iter().map(median).collect();
    let (zero, zero_cpu) = (rates[0], cpus[0]);
    println!("| figure | measured | baseline (same run) | target | met |");
    println!("|---|---|---|---|---|");
    for ((&(n, fire), &r), &cpu) in cases.iter().zip(&rates).zip(&cpus).skip(1) {
        let cost = zero / r;
        let target = if n == 100 && !fire {
            format!("≤ {TARGET_RATIO}x")
        } else {
            "—".to_string()
        };
        let met = if n == 100 && !fire {
            if cost <= TARGET_RATIO { "yes" } else { "**no**" }
        } else {
            "—"
        };
        println!(
            "| {}. `artifact_publish` of `test-results` via `Hub`, {n} matching rules with distinct CEL conditions, {}; {PUBLISHES} publishes, median of {ROUNDS} rounds | {r:.0} publishes/s ({:.0} µs each, {cost:.2}x the publish with no rules); CPU {cpu:.0} µs each ({:.2}x) | 0 rules: {zero:.0} publishes/s ({:.0} µs); CPU {zero_cpu:.0} µs | {target} | {met} |",
            if fire { 2 } else { 1 },
            if fire { "all true: each fires `notify_session`" } else { "all false: each evaluated, one `skipped` entry per publish" },
            1e6 / r,
            cpu / zero_cpu,
            1e6 / zero,
        );
    }
    Ok(())
}
