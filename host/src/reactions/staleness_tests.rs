//! Staleness kept by the reaction, through the real store and commit path: causes and
//! paths after a chain and a diamond, stale at birth, superseding, contracts; and the
//! queries' refusals.

use serde_json::json;

use crate::lineage::*;
use crate::model::artifacts::VersionRef;
use crate::artifacts::{self, PublishRequest};
use crate::contracts::{self, CompleteRequest, ContractIdRequest, CreateRequest};
use crate::model::Caller;
use crate::store::Store;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("clearctx.db"), std::sync::Arc::new(super::run)).unwrap();
    (dir, store)
}

fn who() -> Caller {
    Caller::new("worker", "default")
}

/// Publishes the next version of `id`, derived from `inputs`, in its own commit.
fn publish(store: &mut Store, id: &str, inputs: &[(&str, u32)]) -> u32 {
    let req: PublishRequest = serde_json::from_value(json!({
        "artifact_id": id, "type": "json", "data": {}, "new_type": true,
        "derived_from": inputs.iter().map(|(a, v)| json!({"artifact_id": a, "version": v})).collect::<Vec<_>>(),
    }))
    .unwrap();
    store
        .write(|tx| artifacts::publish(tx, &who(), &req, None))
        .unwrap()
        .version
}

fn r(id: &str, v: u32) -> VersionRef {
    VersionRef { artifact_id: id.to_string(), version: v }
}

fn cause(input: &str, used: u32, latest: u32, path: &[(&str, u32)]) -> Cause {
    Cause {
        input_id: input.into(),
        version_used: used,
        latest_version: latest,
        path: path.iter().map(|(a, v)| r(a, *v)).collect(),
        path_truncated: false,
    }
}

fn causes_of(store: &mut Store, id: &str, v: u32) -> Vec<Cause> {
    store.read(|tx| causes(tx, &r(id, v))).unwrap()
}

/// `stale_check` as (kind:id@version or contract id, causes or outputs), in order.
fn stale(store: &mut Store, team: Option<&str>) -> Vec<String> {
    let req = StaleRequest {
        team: team.map(String::from),
        ..Default::default()
    };
    let page = store.read(|tx| stale_check(tx, &req)).unwrap();
    page.items
        .iter()
        .map(|i| match i {
            StaleItem::Artifact {
                artifact_id,
                version,
                cause_count,
                ..
            } => format!("{artifact_id}@{version}:{cause_count}"),
            StaleItem::Contract {
                contract_id,
                stale_outputs,
                ..
            } => format!(
                "contract {contract_id}: {}",
                stale_outputs
                    .iter()
                    .map(|o| format!("{}@{}", o.artifact_id, o.version))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        })
        .collect()
}

/// The `artifact.stale` events, as `id@version`.
fn stale_events(store: &mut Store) -> Vec<String> {
    store
        .read(|tx| tx.events_after(0, 10_000))
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "artifact.stale")
        .map(|e| {
            format!(
                "{}@{}",
                e.payload["artifact_id"].as_str().unwrap(),
                e.payload["version"]
            )
        })
        .collect()
}

#[test]
fn a_chain_of_three_derivations_has_exact_causes_and_paths() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    publish(&mut s, "b", &[("a", 1)]);
    publish(&mut s, "c", &[("b", 1)]);
    publish(&mut s, "d", &[("c", 1)]);
    assert!(stale(&mut s, None).is_empty(), "nothing moved on yet");
    publish(&mut s, "a", &[]);
    assert_eq!(causes_of(&mut s, "b", 1), vec![cause("a", 1, 2, &[])]);
    assert_eq!(
        causes_of(&mut s, "c", 1),
        vec![cause("a", 1, 2, &[("b", 1)])]
    );
    assert_eq!(
        causes_of(&mut s, "d", 1),
        vec![cause("a", 1, 2, &[("c", 1), ("b", 1)])]
    );
    assert!(causes_of(&mut s, "a", 2).is_empty());
    assert_eq!(stale(&mut s, None), ["b@1:1", "c@1:1", "d@1:1"]);
    assert_eq!(stale_events(&mut s), ["b@1", "c@1", "d@1"]);

    // b is re-derived from a@2: b@1 is superseded (no longer listed), c@1 has a second,
    // direct cause and d@1 the same one level down; no version becomes stale twice.
    publish(&mut s, "b", &[("a", 2)]);
    assert!(causes_of(&mut s, "b", 2).is_empty());
    assert_eq!(
        causes_of(&mut s, "c", 1),
        vec![cause("b", 1, 2, &[]), cause("a", 1, 2, &[("b", 1)])]
    );
    assert_eq!(
        causes_of(&mut s, "d", 1),
        vec![
            cause("b", 1, 2, &[("c", 1)]),
            cause("a", 1, 2, &[("c", 1), ("b", 1)])
        ]
    );
    assert_eq!(stale(&mut s, None), ["c@1:2", "d@1:2"]);
    assert_eq!(stale_events(&mut s), ["b@1", "c@1", "d@1"]);
    // The latest version of a cause is read when asked: a third version of `a` shows.
    publish(&mut s, "a", &[]);
    assert_eq!(causes_of(&mut s, "c", 1)[1], cause("a", 1, 3, &[("b", 1)]));
    assert_eq!(causes_of(&mut s, "b", 2), vec![cause("a", 2, 3, &[])]);
    assert_eq!(stale_events(&mut s), ["b@1", "c@1", "d@1", "b@2"]);
}

#[test]
fn a_diamond_records_one_cause_per_root_with_the_shortest_path() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    publish(&mut s, "b", &[("a", 1)]);
    publish(&mut s, "c", &[("a", 1)]);
    publish(&mut s, "d", &[("b", 1), ("c", 1)]);
    // e reaches a both directly and through d: the direct path is the shortest.
    publish(&mut s, "e", &[("d", 1), ("a", 1)]);
    publish(&mut s, "a", &[]);
    assert_eq!(causes_of(&mut s, "b", 1), vec![cause("a", 1, 2, &[])]);
    assert_eq!(causes_of(&mut s, "c", 1), vec![cause("a", 1, 2, &[])]);
    assert_eq!(
        causes_of(&mut s, "d", 1),
        vec![cause("a", 1, 2, &[("b", 1)])]
    );
    assert_eq!(causes_of(&mut s, "e", 1), vec![cause("a", 1, 2, &[])]);
    assert_eq!(stale_events(&mut s), ["b@1", "c@1", "e@1", "d@1"]);
    assert_eq!(stale(&mut s, None), ["b@1:1", "c@1:1", "d@1:1", "e@1:1"]);
}

#[test]
fn a_version_derived_from_a_stale_or_superseded_input_is_stale_at_birth() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    publish(&mut s, "a", &[]);
    publish(&mut s, "b", &[("a", 1)]); // a@1 was already superseded
    assert_eq!(causes_of(&mut s, "b", 1), vec![cause("a", 1, 2, &[])]);
    publish(&mut s, "c", &[("b", 1), ("a", 2)]); // b@1 is stale
    assert_eq!(
        causes_of(&mut s, "c", 1),
        vec![cause("a", 1, 2, &[("b", 1)])]
    );
    assert_eq!(stale_events(&mut s), ["b@1", "c@1"]);
    let events = s.read(|tx| tx.events_after(0, 100)).unwrap();
    let ev = events
        .iter()
        .find(|e| e.kind == "artifact.stale" && e.payload["artifact_id"] == "c")
        .unwrap();
    assert_eq!(ev.subject, "artifact:c");
    assert_eq!(
        ev.payload["causes"],
        json!([{"input_id": "a", "version_used": 1, "latest_version": 2, "via": {"artifact_id": "b", "version": 1}, "depth": 1}])
    );
    // Derived from an older version of itself is no cause.
    publish(&mut s, "x", &[]);
    publish(&mut s, "x", &[("x", 1)]);
    assert!(causes_of(&mut s, "x", 2).is_empty());
    publish(&mut s, "y", &[("x", 2)]);
    publish(&mut s, "x", &[("x", 2)]);
    assert!(causes_of(&mut s, "x", 3).is_empty());
    assert_eq!(causes_of(&mut s, "y", 1), vec![cause("x", 2, 3, &[])]);
}

#[test]
fn stale_check_filters_by_team_and_pages() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    for id in ["p", "q", "r"] {
        publish(&mut s, id, &[("a", 1)]);
    }
    let other: PublishRequest = serde_json::from_value(json!({
        "artifact_id": "z", "type": "json", "data": {}, "team": "blue",
        "derived_from": [{"artifact_id": "a", "version": 1}],
    }))
    .unwrap();
    s.write(|tx| artifacts::publish(tx, &who(), &other, None))
        .unwrap();
    publish(&mut s, "a", &[]);
    // By team, then artifact.
    assert_eq!(stale(&mut s, None), ["z@1:1", "p@1:1", "q@1:1", "r@1:1"]);
    assert_eq!(stale(&mut s, Some("blue")), ["z@1:1"]);
    let req = StaleRequest {
        limit: Some(2),
        ..Default::default()
    };
    let first = s.read(|tx| stale_check(tx, &req)).unwrap();
    assert_eq!(first.items.len(), 2);
    let next = StaleRequest {
        cursor: first.next_cursor.clone(),
        ..req
    };
    let second = s.read(|tx| stale_check(tx, &next)).unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(second.next_cursor.is_none());
}

#[test]
fn a_completed_contract_is_stale_when_an_output_it_recorded_is() {
    let (_d, mut s) = store();
    publish(&mut s, "spec", &[]);
    let create: CreateRequest = serde_json::from_value(json!({
        "contract_id": "build", "title": "build it", "assignee": "worker",
        "expected_outputs": [{"artifact_id": "impl"}],
    }))
    .unwrap();
    let id = |c: &str| ContractIdRequest {
        contract_id: c.into(),
        by: None,
        override_roles: false,
    };
    s.write(|tx| contracts::create(tx, &Caller::new("lead", "default"), &create))
        .unwrap();
    s.write(|tx| contracts::start(tx, &who(), &id("build")))
        .unwrap();
    publish(&mut s, "impl", &[("spec", 1)]);
    let done = CompleteRequest {
        contract_id: "build".into(),
        summary: None,
        result: None,
        by: None,
        override_roles: false,
    };
    s.write(|tx| contracts::complete(tx, &who(), &done))
        .unwrap();
    assert!(stale(&mut s, None).is_empty());
    publish(&mut s, "spec", &[]);
    assert_eq!(stale(&mut s, None), ["impl@1:1", "contract build: impl@1"]);
    // Reopened, it is no longer a completed contract with stale outputs.
    let reopen = contracts::ReasonRequest {
        contract_id: "build".into(),
        reason: "spec changed".into(),
        by: None,
        override_roles: false,
    };
    s.write(|tx| contracts::reopen(tx, &Caller::new("lead", "default"), &reopen))
        .unwrap();
    assert_eq!(stale(&mut s, None), ["impl@1:1"]);
    // Completed again with a fresh output: not stale.
    s.write(|tx| contracts::start(tx, &who(), &id("build")))
        .unwrap();
    publish(&mut s, "impl", &[("spec", 2)]);
    s.write(|tx| contracts::complete(tx, &who(), &done))
        .unwrap();
    assert!(stale(&mut s, None).is_empty());
}

#[test]
fn impact_lists_downstream_contracts_and_readers_page_by_page() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    publish(&mut s, "b", &[("a", 1)]);
    publish(&mut s, "c", &[("b", 1), ("a", 1)]);
    publish(&mut s, "d", &[("c", 1)]);
    let create: CreateRequest = serde_json::from_value(json!({
        "contract_id": "use-d", "title": "use d", "assignee": "worker",
        "dependencies": [{"type": "artifact", "id": "d"}],
    }))
    .unwrap();
    s.write(|tx| contracts::create(tx, &Caller::new("lead", "default"), &create))
        .unwrap();
    let get = artifacts::GetRequest {
        artifact_id: "c".into(),
        version: None,
        reader: Some("qa".into()),
    };
    s.write(|tx| {
        let (_, read) = artifacts::get(tx, &Caller::new("cli", "default"), &get)?;
        artifacts::record_reads(tx, &[read])
    })
    .unwrap();
    let req = ImpactRequest {
        artifact_id: "a".into(),
        version: None,
        limit: None,
        cursor: None,
    };
    let i = s.read(|tx| impact(tx, &req)).unwrap();
    let down: Vec<_> = i
        .downstream
        .iter()
        .map(|d| format!("{}@{}/{}", d.artifact_id, d.version, d.depth))
        .collect();
    assert_eq!(down, ["b@1/1", "c@1/1", "d@1/2"]);
    assert_eq!(i.contracts.len(), 1);
    assert_eq!(
        (i.contracts[0].contract_id.as_str(), i.contracts[0].relation),
        ("use-d", "dependency")
    );
    assert_eq!(i.readers.len(), 1);
    assert_eq!(
        (
            i.readers[0].reader.as_str(),
            i.readers[0].artifact_id.as_str()
        ),
        ("qa", "c")
    );
    let paged = ImpactRequest {
        limit: Some(2),
        ..req.clone()
    };
    let p1 = s.read(|tx| impact(tx, &paged)).unwrap();
    assert_eq!(p1.downstream.len(), 2);
    let p2 = s
        .read(|tx| {
            impact(
                tx,
                &ImpactRequest {
                    cursor: p1.next_cursor.clone(),
                    ..paged
                },
            )
        })
        .unwrap();
    assert_eq!(p2.downstream.len(), 1);
    assert_eq!(p2.downstream[0].artifact_id, "d");
    assert!(p2.next_cursor.is_none());
}

#[test]
fn trace_renders_upstream_and_downstream_and_refuses_bad_arguments() {
    let (_d, mut s) = store();
    publish(&mut s, "a", &[]);
    publish(&mut s, "b", &[("a", 1)]);
    publish(&mut s, "c", &[("b", 1), ("a", 1)]);
    publish(&mut s, "a", &[]);
    let req = |id: &str, dir, depth, format| TraceRequest {
        artifact_id: id.into(),
        version: None,
        direction: Some(dir),
        depth,
        format: Some(format),
    };
    let t = s
        .read(|tx| trace(tx, &req("c", Direction::Upstream, None, Format::Mermaid)))
        .unwrap();
    assert_eq!(t.nodes.len(), 3);
    assert_eq!(t.edges.len(), 3);
    let g = t.graph.unwrap();
    assert!(g.starts_with("graph LR\n"), "{g}");
    assert!(g.contains("n0[\"c v1 (stale)\"]:::stale"), "{g}");
    assert!(g.contains("[\"a v1 (latest v2)\"]"), "{g}");
    let t = s
        .read(|tx| trace(tx, &req("c", Direction::Upstream, Some(1), Format::Dot)))
        .unwrap();
    assert_eq!(t.nodes.len(), 3, "a is a direct input too");
    let g = t.graph.unwrap();
    assert!(g.contains("\"b@1\" -> \"c@1\";"), "{g}");
    assert!(g.starts_with("digraph lineage {"), "{g}");
    let down = TraceRequest {
        version: Some(1),
        ..req("a", Direction::Downstream, Some(1), Format::Json)
    };
    let t = s.read(|tx| trace(tx, &down)).unwrap();
    assert_eq!(
        t.nodes
            .iter()
            .map(|n| n.artifact_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert!(t.graph.is_none());

    let mut err = |r: TraceRequest| s.read(|tx| trace(tx, &r)).unwrap_err().to_string();
    let e = err(req("nope", Direction::Upstream, None, Format::Json));
    assert!(e.contains("nope") && e.contains("artifact_list"), "{e}");
    let e = err(TraceRequest {
        version: Some(3),
        ..req("a", Direction::Upstream, None, Format::Json)
    });
    assert!(e.contains("no version 3") && e.contains("1 to 2"), "{e}");
    let e = err(req("a", Direction::Upstream, Some(0), Format::Json));
    assert!(e.contains("depth"), "{e}");
    let e = err(req("a", Direction::Upstream, Some(21), Format::Json));
    assert!(e.contains("depth") && e.contains("1..=20"), "{e}");
    let bad: std::result::Result<TraceRequest, _> =
        serde_json::from_value(json!({"artifact_id": "a", "format": "svg"}));
    assert!(bad.unwrap_err().to_string().contains("mermaid"));
}
