//! Lineage and staleness at scale (issue 10), each figure beside a baseline in the same run:
//!
//! 1. `impact_analysis` (first page of 100, and a page of 1,000) and `stale_check` (first
//!    page, all teams and one team) on a lineage graph of 100,000 versions, against
//!    `artifact_get` on the same data dir and `stale_check` on an empty one;
//! 2. an `artifact_publish` that makes 1,000 downstream versions stale, against one that
//!    makes none, on the same data dir.
//!
//! The graph: 10,000 artifacts `n-00000`… in a binary tree (artifact i is derived from
//! artifact (i-1)/2), published in 10 rounds, each round a new version of every artifact
//! derived from its parent's version of the same round: 100,000 versions, each round making
//! the one before stale (and superseded). Then the root gets version 11, so the latest
//! version of every other artifact (9,999) is stale, with paths up to 13 hops. 100
//! completed contracts recorded outputs in the tree and 1,000 versions were read. Beside
//! it, 5 fans of 1,000 versions (100 direct consumers of `hub-k` v1, each the head of a
//! chain of 10) for figure 2. Preloading runs through the store with the reactions (the
//! staleness reaction included) and the nouns' own functions, 5,000 publishes per
//! transaction; timed calls go through the `Hub`. Run with `cargo bench -p clearctx --bench
//! lineage`; it prints a Markdown table. A plain program (`harness = false`).

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use clearctx::artifacts::{self, GetRequest, PublishRequest};
use clearctx::contracts::{self, CompleteRequest, ContractIdRequest, CreateRequest};
use clearctx::hub::{Caller, Hub};
use clearctx::lineage::{ImpactRequest, StaleRequest};
use clearctx::reactions;
use clearctx::store::{DB_FILE, Store, Tx};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error>>;

const ARTIFACTS: usize = 10_000;
const ROUNDS: u32 = 10;
const PER_TX: usize = 5_000;
const FANS: usize = 5;
const FAN_HEADS: usize = 100;
const CHAIN: usize = 10;
const CALLS: usize = 200;
const TARGET_MS: f64 = 20.0;

fn main() -> Res<()> {
    let empty = tempfile::tempdir()?;
    Hub::open(empty.path(), caller())?;
    let loaded = tempfile::tempdir()?;
    let t = Instant::now();
    let versions = preload(loaded.path())?;
    eprintln!(
        "preloaded {versions} versions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let hub = Hub::open(loaded.path(), caller())?;
    let hub_empty = Hub::open(empty.path(), caller())?;
    let stale_count = count_stale(&hub)?;
    eprintln!("{stale_count} stale latest versions");

    let get = GetRequest {
        artifact_id: "n-05000".into(),
        version: None,
        reader: None,
    };
    let base_get = median_of(|| hub.artifact_get(&get).map(drop))?;
    let impact_root = ImpactRequest {
        artifact_id: "n-00000".into(),
        version: Some(ROUNDS),
        limit: None,
        cursor: None,
    };
    let impact_100 = median_of(|| hub.impact_analysis(&impact_root).map(drop))?;
    let impact_1000 = median_of(|| {
        hub.impact_analysis(&ImpactRequest {
            limit: Some(1000),
            ..impact_root.clone()
        })
        .map(drop)
    })?;
    let mid = ImpactRequest {
        artifact_id: "n-00100".into(),
        ..impact_root.clone()
    };
    let impact_mid = median_of(|| hub.impact_analysis(&mid).map(drop))?;
    let check = StaleRequest::default();
    let stale_all = median_of(|| hub.stale_check(&check).map(drop))?;
    let team = StaleRequest {
        team: Some("t3".into()),
        ..Default::default()
    };
    let stale_team = median_of(|| hub.stale_check(&team).map(drop))?;
    let stale_empty = median_of(|| hub_empty.stale_check(&check).map(drop))?;
    let first = hub.stale_check(&check)?;
    let causes_shown: usize = first
        .items
        .iter()
        .map(|i| match i {
            clearctx::lineage::StaleItem::Artifact { causes, .. } => {
                causes.iter().map(|c| c.path.len()).sum()
            }
            _ => 0,
        })
        .sum();
    eprintln!(
        "stale_check first page: {} items, {causes_shown} path hops",
        first.items.len()
    );

    // Figure 2: alternate a publish that makes a fan of 1,000 stale and one that makes none.
    let (mut fan, mut lone) = (Vec::new(), Vec::new());
    for k in 0..FANS {
        let t = Instant::now();
        hub.artifact_publish(&publish_req(&format!("hub-{k}"), &[], "t0"))?;
        fan.push(t.elapsed());
        let t = Instant::now();
        hub.artifact_publish(&publish_req(&format!("lone-{k}"), &[], "t0"))?;
        lone.push(t.elapsed());
    }
    let made_stale = count_stale(&hub)? - stale_count;
    eprintln!("the fan publishes made {made_stale} more latest versions stale");
    let (fan, lone) = (median(&mut fan), median(&mut lone));

    println!("| Figure | Measured | Baseline (same run) | Target | Met |");
    println!("|---|---|---|---|---|");
    let row = |what: &str, d: Duration, base: String, target: bool| {
        println!(
            "| {what} | median {:.2} ms | {base} | {} | {} |",
            ms(d),
            if target {
                format!("<= {TARGET_MS} ms")
            } else {
                "—".into()
            },
            if !target {
                "—"
            } else if ms(d) <= TARGET_MS {
                "yes"
            } else {
                "**no**"
            }
        );
    };
    let get_base = format!(
        "`artifact_get` of a latest version, same data dir: median {:.2} ms",
        ms(base_get)
    );
    row(
        &format!(
            "1a. `impact_analysis` of `n-00000` v{ROUNDS} (9,999 versions downstream), first page (100), {versions} versions"
        ),
        impact_100,
        get_base.clone(),
        true,
    );
    row(
        "1b. the same, `limit` 1000",
        impact_1000,
        get_base.clone(),
        true,
    );
    row(
        "1c. `impact_analysis` of `n-00100` v10 (126 versions downstream), first page",
        impact_mid,
        get_base.clone(),
        true,
    );
    row(
        &format!(
            "1d. `stale_check`, first page (100 of {stale_count} stale latest versions, causes with paths)"
        ),
        stale_all,
        format!(
            "{get_base}; `stale_check` on an empty data dir: median {:.2} ms",
            ms(stale_empty)
        ),
        true,
    );
    row(
        "1e. `stale_check`, `team` t3 (a quarter), first page",
        stale_team,
        get_base,
        true,
    );
    println!(
        "| 2. `artifact_publish` (through the `Hub`) that makes 1,000 downstream versions stale (100 direct consumers, each heading a chain of 10), median of {FANS} | median {:.2} ms ({made_stale} newly stale in all) | `artifact_publish` of an artifact nothing derives from, same data dir: median {:.2} ms | — | — |",
        ms(fan),
        ms(lone)
    );
    Ok(())
}

fn caller() -> Caller {
    Caller::new("bench", "default")
}

fn publish_req(id: &str, inputs: &[(String, u32)], team: &str) -> PublishRequest {
    serde_json::from_value(json!({
        "artifact_id": id,
        "type": "bench-unvalidated",
        "data": {"doc": "x"},
        "new_type": true,
        "team": team,
        "derived_from": inputs.iter().map(|(a, v)| json!({"artifact_id": a, "version": v})).collect::<Vec<_>>(),
    }))
    .expect("a valid request")
}

fn node(i: usize) -> String {
    format!("n-{i:05}")
}

/// The graph described at the top; returns how many versions it holds.
fn preload(home: &Path) -> Res<usize> {
    Hub::open(home, caller())?;
    let mut store = Store::open(&home.join(DB_FILE), std::sync::Arc::new(reactions::run))?;
    let who = caller();
    let mut pending: Vec<PublishRequest> = Vec::new();
    let flush = |store: &mut Store, pending: &mut Vec<PublishRequest>| -> Res<()> {
        store.write(|tx: &Tx<'_>| {
            for req in pending.iter() {
                artifacts::publish(tx, &who, req, None)?;
            }
            Ok(())
        })?;
        pending.clear();
        Ok(())
    };
    let mut versions = 0;
    for round in 1..=ROUNDS {
        if round == ROUNDS {
            flush(&mut store, &mut pending)?;
            // 100 contracts whose expected output is published in the last round.
            store.write(|tx| {
                for c in 0..100 {
                    let req: CreateRequest = serde_json::from_value(json!({
                        "contract_id": format!("c-{c:03}"),
                        "title": "derive a node",
                        "assignee": "bench",
                        "expected_outputs": [{"artifact_id": node(5000 + c)}],
                    }))
                    .expect("a valid request");
                    contracts::create(tx, &who, &req)?;
                }
                Ok(())
            })?;
            store.write(|tx| {
                for c in 0..100 {
                    contracts::start(
                        tx,
                        &who,
                        &ContractIdRequest {
                            contract_id: format!("c-{c:03}"),
                            by: None,
                            override_roles: false,
                        },
                    )?;
                }
                Ok(())
            })?;
        }
        for i in 0..ARTIFACTS {
            let inputs = if i == 0 {
                vec![]
            } else {
                vec![(node((i - 1) / 2), round)]
            };
            pending.push(publish_req(&node(i), &inputs, &format!("t{}", i % 4)));
            versions += 1;
            if pending.len() == PER_TX {
                flush(&mut store, &mut pending)?;
            }
        }
    }
    flush(&mut store, &mut pending)?;
    store.write(|tx| {
        for c in 0..100 {
            contracts::complete(
                tx,
                &who,
                &CompleteRequest {
                    contract_id: format!("c-{c:03}"),
                    summary: None,
                    result: None,
                    by: None,
                    override_roles: false,
                },
            )?;
        }
        for i in (0..ARTIFACTS).step_by(10) {
            artifacts::get(
                tx,
                &who,
                &GetRequest {
                    artifact_id: node(i),
                    version: None,
                    reader: Some(format!("reader-{}", i % 7)),
                },
            )?;
        }
        Ok(())
    })?;
    // The root moves on: every other latest version becomes stale.
    pending.push(publish_req(&node(0), &[], "t0"));
    versions += 1;
    // The fans for figure 2, and the lone artifacts of its baseline.
    for k in 0..FANS {
        let hub = format!("hub-{k}");
        pending.push(publish_req(&hub, &[], "t0"));
        pending.push(publish_req(&format!("lone-{k}"), &[], "t0"));
        versions += 2;
        for h in 0..FAN_HEADS {
            let mut prev = (hub.clone(), 1);
            for j in 0..CHAIN {
                let id = format!("fan-{k}-{h:03}-{j}");
                pending.push(publish_req(&id, &[prev], "t0"));
                versions += 1;
                prev = (id, 1);
            }
        }
    }
    flush(&mut store, &mut pending)?;
    Ok(versions)
}

fn count_stale(hub: &Hub) -> Res<usize> {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let p = hub.stale_check(&StaleRequest {
            team: None,
            limit: Some(1000),
            cursor,
        })?;
        n += p.items.len();
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}

/// Median time of `f` over [`CALLS`] calls, after one to warm.
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
