//! Snapshots at scale (issue 12), each figure beside a baseline in the same run:
//!
//! 1. `team_snapshot` on a data dir whose log holds 1,000 events and on one with 100,000,
//!    against `artifact_publish` on the same data dir (target <= 10 ms at both: a
//!    snapshot copies the team's rows, so its cost follows the team's state, not the log);
//! 2. `team_rollback` of a team with 10,000 events between the snapshot and now (every
//!    artifact and contract moved; target <= 1 s), alternating between the two snapshots;
//! 3. `snapshot_diff` of two snapshots 10,000 events apart, against `contract_list`.
//!
//! The team: 50 contracts, 50 artifacts and 2 pipelines; the log grows by publishing new
//! versions of its artifacts (and, for 2 and 3, by moving its contracts through
//! start/complete/reopen). Preloading runs through the store with the reactions and the
//! nouns' own functions, 5,000 per transaction; timed calls go through the `Hub`. Run with
//! `cargo bench -p clearctx --bench snapshots`; it prints a Markdown table.

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use clearctx::artifacts::{self, PublishRequest};
use clearctx::contracts::{self, CreateRequest};
use clearctx::hub::{Caller, Hub};
use clearctx::reactions;
use clearctx::snapshots::{DiffRequest, RollbackRequest, SnapshotRequest};
use clearctx::store::{DB_FILE, Store, Tx};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error>>;

const CONTRACTS: usize = 50;
const ARTIFACTS: usize = 50;
const PER_TX: usize = 5_000;
const CALLS: usize = 50;

fn caller() -> Caller {
    Caller::new("bench", "default")
}

fn publish_req(i: usize, n: usize) -> PublishRequest {
    serde_json::from_value(json!({
        "artifact_id": format!("a-{:02}", i % ARTIFACTS), "type": "bench-unvalidated",
        "data": {"n": n}, "new_type": true,
    }))
    .expect("a valid request")
}

/// The team's state, then `events` more events of publishes.
fn preload(home: &Path, events: usize) -> Res<()> {
    Hub::open(home, caller())?;
    let mut store = Store::open(&home.join(DB_FILE), std::sync::Arc::new(reactions::run))?;
    let who = caller();
    store.write(|tx: &Tx<'_>| {
        for c in 0..CONTRACTS {
            let req: CreateRequest = serde_json::from_value(json!({
                "contract_id": format!("c-{c:02}"), "title": "t", "assignee": "bench", "inputs": {"c": c},
            }))
            .expect("a valid request");
            contracts::create(tx, &who, &req)?;
        }
        Ok(())
    })?;
    let hub = Hub::open(home, caller())?;
    for p in 0..2 {
        hub.pipeline_create(&serde_json::from_value(json!({
            "pipeline_id": format!("p-{p}"),
            "rules": [{"trigger": {"type": "contract_completed"}, "action": {"type": "notify_session", "target": "bench", "message": "done"}}],
        }))?)?;
    }
    publish_many(&mut store, 0, events)
}

fn publish_many(store: &mut Store, from: usize, n: usize) -> Res<()> {
    let who = caller();
    let mut i = from;
    while i < from + n {
        let end = (i + PER_TX).min(from + n);
        store.write(|tx: &Tx<'_>| {
            for k in i..end {
                artifacts::publish(tx, &who, &publish_req(k, k), None)?;
            }
            Ok(())
        })?;
        i = end;
    }
    Ok(())
}

fn last_seq(hub: &Hub) -> Res<i64> {
    Ok(hub.status()?.last_seq)
}

fn main() -> Res<()> {
    println!("| Figure | Measured | Baseline (same run) | Target | Met |");
    println!("|---|---|---|---|---|");
    // Figure 1.
    for events in [1_000, 100_000] {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        preload(dir.path(), events)?;
        let hub = Hub::open(dir.path(), caller())?;
        eprintln!("preloaded {} events in {:.1} s", last_seq(&hub)?, t.elapsed().as_secs_f64());
        let mut k = 0;
        let snap = median_of(|| {
            k += 1;
            hub.team_snapshot(&SnapshotRequest { label: format!("s-{k}"), ..Default::default() }).map(drop)
        })?;
        let mut n = 0;
        let publish = median_of(|| {
            n += 1;
            hub.artifact_publish(&publish_req(n, n)).map(drop)
        })?;
        row(
            &format!("1. `team_snapshot`, {CONTRACTS} contracts, {ARTIFACTS} artifacts, 2 pipelines, log of {events} events"),
            snap,
            format!("`artifact_publish`, same data dir: median {:.2} ms", ms(publish)),
            Some(10.0),
        );
    }

    // Figures 2 and 3: 10,000 events between two snapshots.
    let dir = tempfile::tempdir()?;
    preload(dir.path(), 1_000)?;
    let hub = Hub::open(dir.path(), caller())?;
    hub.team_snapshot(&SnapshotRequest { label: "start".into(), ..Default::default() })?;
    let from = last_seq(&hub)?;
    // Every contract completed, reopened and completed again, and the rest publishes.
    for round in 0..2 {
        for c in 0..CONTRACTS {
            let id = json!({"contract_id": format!("c-{c:02}")});
            if round == 1 {
                hub.contract_reopen(&serde_json::from_value(json!({"contract_id": format!("c-{c:02}"), "reason": "again"}))?)?;
            }
            hub.contract_start(&serde_json::from_value(id.clone())?)?;
            hub.contract_complete(&serde_json::from_value(id)?)?;
        }
    }
    {
        let mut store = Store::open(&dir.path().join(DB_FILE), std::sync::Arc::new(reactions::run))?;
        let so_far = (last_seq(&hub)? - from) as usize;
        publish_many(&mut store, 1_000, 10_000 - so_far)?;
    }
    hub.team_snapshot(&SnapshotRequest { label: "end".into(), ..Default::default() })?;
    let apart = last_seq(&hub)? - from;
    eprintln!("snapshots `start` and `end` are {apart} events apart");
    let mut rollbacks = Vec::new();
    for i in 0..10 {
        let label = if i % 2 == 0 { "start" } else { "end" };
        let t = Instant::now();
        let r = hub.team_rollback(&RollbackRequest { label: label.into(), team: None })?;
        rollbacks.push(t.elapsed());
        assert_eq!(r.artifacts.len(), ARTIFACTS, "every artifact moved");
    }
    let mut k = 0;
    let snap = median_of(|| {
        k += 1;
        hub.team_snapshot(&SnapshotRequest { label: format!("b-{k}"), ..Default::default() }).map(drop)
    })?;
    row(
        &format!("2. `team_rollback` across {apart} events ({ARTIFACTS} artifacts and {CONTRACTS} contracts moved), median of 10"),
        median(&mut rollbacks),
        format!("`team_snapshot`, same data dir: median {:.2} ms", ms(snap)),
        Some(1000.0),
    );
    let req = DiffRequest { from: "start".into(), to: Some("end".into()), ..Default::default() };
    let d = hub.snapshot_diff(&req)?;
    assert_eq!(d.artifacts.len(), ARTIFACTS);
    let diff = median_of(|| hub.snapshot_diff(&req).map(drop))?;
    let list = median_of(|| hub.contract_list(&Default::default()).map(drop))?;
    row(
        &format!("3. `snapshot_diff` of two snapshots {apart} events apart ({} contracts, {} artifacts differ)", d.contracts.len(), d.artifacts.len()),
        diff,
        format!("`contract_list` (first page), same data dir: median {:.2} ms", ms(list)),
        None,
    );
    Ok(())
}

fn row(what: &str, d: Duration, base: String, target_ms: Option<f64>) {
    println!(
        "| {what} | median {:.2} ms | {base} | {} | {} |",
        ms(d),
        target_ms.map_or("—".to_string(), |t| format!("<= {t} ms")),
        match target_ms {
            None => "—",
            Some(t) if ms(d) <= t => "yes",
            Some(_) => "**no**",
        }
    );
}

fn median_of(mut f: impl FnMut() -> clearctx::Result<()>) -> Res<Duration> {
    f()?;
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    Ok(median(&mut times))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
