//! Cost that must not grow with the data dir (issue 8), each figure beside the same
//! measurement on an empty data dir in the same run:
//!
//! 1. `artifact_publish` of an unrelated artifact on a data dir holding N pending
//!    contracts (each waiting for an artifact nobody publishes) and N artifact versions;
//! 2. the first page of `contract_list` at N contracts.
//!
//! N is 10,000 and 100,000. Preloading goes through the store and the nouns' own
//! functions, 5,000 per transaction (with the reactions), so it takes seconds, not the
//! hours one fsync per contract would. Run with `cargo bench -p clearctx --bench scale`;
//! it prints a Markdown table. A plain program (`harness = false`): it asserts nothing.

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use clearctx::artifacts::{self, PublishRequest};
use clearctx::contracts::{self, CreateRequest, ListRequest};
use clearctx::hub::{Caller, Hub};
use clearctx::reactions;
use clearctx::store::{DB_FILE, Store};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error>>;

const SIZES: &[usize] = &[10_000, 100_000];
const PER_TX: usize = 5_000;
/// Timed publishes per data dir; rounds alternate empty and loaded dirs.
const PUBLISHES: usize = 1_000;
const ROUNDS: usize = 3;
/// Timed first-page reads per data dir.
const PAGES: usize = 50;

const TARGET_RATIO: f64 = 0.8;
const TARGET_PAGE_MS: f64 = 10.0;

fn main() -> Res<()> {
    // `SCALE_SIZES=100000` runs only that size; `SCALE_KEEP=1` keeps the loaded data dirs.
    let sizes: Vec<usize> = match std::env::var("SCALE_SIZES") {
        Ok(v) => v
            .split(',')
            .map(|n| n.trim().parse())
            .collect::<Result<_, _>>()?,
        Err(_) => SIZES.to_vec(),
    };
    let keep = std::env::var_os("SCALE_KEEP").is_some();
    let mut rows = Vec::new();
    for n in sizes {
        let empty = tempfile::tempdir()?;
        Hub::open(empty.path(), caller())?;
        let loaded = tempfile::tempdir()?;
        if keep {
            eprintln!("keeping {}", loaded.path().display());
        }
        let t = Instant::now();
        preload(loaded.path(), n)?;
        eprintln!(
            "preloaded {n} contracts and {n} versions in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        let (mut base, mut full) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            base.push(publishes(empty.path(), round)?);
            full.push(publishes(loaded.path(), round)?);
        }
        let (base, full) = (median(&mut base), median(&mut full));
        let page_empty = first_page(empty.path())?;
        let page_full = first_page(loaded.path())?;
        eprintln!(
            "N={n}: publish {full:.0}/s vs {base:.0}/s empty; first page {page_full:?} vs {page_empty:?}"
        );
        rows.push((n, base, full, page_empty, page_full));
        if keep {
            let _ = loaded.keep();
        }
    }
    println!(
        "| N (pending contracts, artifact versions) | publish, loaded | publish, empty (same run) | ratio (target >= {TARGET_RATIO}) | `contract_list` first page (100), loaded | the same, empty | target <= {TARGET_PAGE_MS} ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (n, base, full, pe, pf) in rows {
        let ratio = full / base;
        println!(
            "| {n} | {full:.0} ops/s | {base:.0} ops/s | {ratio:.2}x {} | median {:.2} ms | median {:.2} ms | {} |",
            met(ratio >= TARGET_RATIO),
            ms(pf),
            ms(pe),
            met(ms(pf) <= TARGET_PAGE_MS)
        );
    }
    Ok(())
}

fn caller() -> Caller {
    Caller::new("bench", "default")
}

/// `n` pending contracts, each waiting for one of 100 artifacts nobody publishes, and `n`
/// versions spread over 1,000 other artifacts.
fn preload(home: &Path, n: usize) -> Res<()> {
    Hub::open(home, caller())?; // creates the dir and the schema
    let mut store = Store::open(&home.join(DB_FILE), std::sync::Arc::new(reactions::run))?;
    let who = caller();
    for start in (0..n).step_by(PER_TX) {
        store.write(|tx| {
            for i in start..(start + PER_TX).min(n) {
                let priority = ["low", "normal", "high", "critical"][i % 4];
                let req: CreateRequest = serde_json::from_value(json!({
                    "contract_id": format!("c-{i:06}"),
                    "title": "waits forever",
                    "assignee": format!("w{}", i % 50),
                    "priority": priority,
                    "dependencies": [{"type": "artifact", "id": format!("never-{}", i % 100)}],
                }))
                .expect("a valid request");
                contracts::create(tx, &who, &req)?;
                let publish: PublishRequest = serde_json::from_value(json!({
                    "artifact_id": format!("old-{}", i % 1000),
                    "type": "bench-unvalidated",
                    "data": {"i": i},
                    "new_type": true,
                }))
                .expect("a valid request");
                artifacts::publish(tx, &who, &publish, None)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Publishes per second of an artifact no contract waits for, through the hub.
fn publishes(home: &Path, round: usize) -> Res<f64> {
    let hub = Hub::open(home, caller())?;
    let req: PublishRequest = serde_json::from_value(json!({
        "artifact_id": format!("unrelated-{round}"),
        "type": "bench-unvalidated",
        "data": {"doc": "x".repeat(1000)},
        "new_type": true,
    }))?;
    hub.artifact_publish(&req)?; // warm: statement cache, page cache
    let t = Instant::now();
    for _ in 0..PUBLISHES {
        hub.artifact_publish(&req)?;
    }
    Ok(PUBLISHES as f64 / t.elapsed().as_secs_f64())
}

/// Median time of `contract_list`'s first page (the default 100) over [`PAGES`] reads.
fn first_page(home: &Path) -> Res<Duration> {
    let hub = Hub::open(home, caller())?;
    hub.contract_list(&ListRequest::default())?;
    let mut times = Vec::with_capacity(PAGES);
    for _ in 0..PAGES {
        let t = Instant::now();
        let page = hub.contract_list(&ListRequest::default())?;
        times.push(t.elapsed());
        std::hint::black_box(page);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}
