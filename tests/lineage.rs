//! Lineage over both surfaces: `clearctx serve` driven by rmcp's client (publishes by two
//! sessions, then `stale_check`, `impact_analysis`, `lineage_trace`), and `clearctx lineage`
//! printing Mermaid and DOT.

mod common;

use common::DataDir;
use serde_json::{Value, json};

fn publish(id: &str, inputs: &[(&str, u32)]) -> Value {
    json!({
        "artifact_id": id, "type": "json", "data": {"id": id}, "new_type": true,
        "derived_from": inputs.iter().map(|(a, v)| json!({"artifact_id": a, "version": v})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn a_new_input_version_makes_its_chain_stale_with_causes_over_mcp() {
    let dir = DataDir::new();
    let orch = dir.connect(None).await;
    let dev = dir.connect(Some("api-dev")).await;
    orch.ok("artifact_publish", publish("schema", &[])).await;
    dev.ok("artifact_publish", publish("api", &[("schema", 1)]))
        .await;
    dev.ok("artifact_publish", publish("tests", &[("api", 1)]))
        .await;
    dev.ok("artifact_get", json!({"artifact_id": "tests"}))
        .await;
    let none = orch.ok("stale_check", json!({})).await;
    assert_eq!(none["count"], 0, "{none}");

    orch.ok("artifact_publish", publish("schema", &[])).await;
    let s = orch.ok("stale_check", json!({})).await;
    assert_eq!(s["count"], 2, "{s}");
    assert_eq!(s["stale"][0]["kind"], "artifact");
    assert_eq!(s["stale"][0]["artifact_id"], "api");
    assert_eq!(
        s["stale"][0]["causes"],
        json!([{"input_id": "schema", "version_used": 1, "latest_version": 2, "path": []}])
    );
    assert_eq!(
        s["stale"][1]["causes"],
        json!([{"input_id": "schema", "version_used": 1, "latest_version": 2,
                "path": [{"artifact_id": "api", "version": 1}]}])
    );
    let team = orch.ok("stale_check", json!({"team": "nobody"})).await;
    assert_eq!(team["count"], 0);

    let i = orch
        .ok(
            "impact_analysis",
            json!({"artifact_id": "schema", "version": 1}),
        )
        .await;
    let down: Vec<&str> = i["downstream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["artifact_id"].as_str().unwrap())
        .collect();
    assert_eq!(down, ["api", "tests"]);
    assert_eq!(i["readers"][0]["reader"], "api-dev");
    let none = orch
        .ok("impact_analysis", json!({"artifact_id": "schema"}))
        .await;
    assert_eq!(none["downstream"], json!([]), "nothing derives from v2 yet");

    let t = orch
        .ok(
            "lineage_trace",
            json!({"artifact_id": "tests", "format": "mermaid"}),
        )
        .await;
    assert_eq!(t["nodes"].as_array().unwrap().len(), 3);
    assert!(t["graph"].as_str().unwrap().contains("-->"), "{t}");
    let t = orch
        .ok(
            "lineage_trace",
            json!({"artifact_id": "schema", "version": 1, "direction": "downstream", "depth": 1}),
        )
        .await;
    assert_eq!(t["nodes"].as_array().unwrap().len(), 2, "{t}");

    let e = orch
        .err("lineage_trace", json!({"artifact_id": "nope"}))
        .await;
    assert!(e.contains("nope"), "{e}");
    let e = orch
        .err("lineage_trace", json!({"artifact_id": "api", "version": 9}))
        .await;
    assert!(e.contains("no version 9"), "{e}");
    let e = orch
        .err("lineage_trace", json!({"artifact_id": "api", "depth": 99}))
        .await;
    assert!(e.contains("depth"), "{e}");
    let e = orch
        .err(
            "lineage_trace",
            json!({"artifact_id": "api", "format": "svg"}),
        )
        .await;
    assert!(e.contains("format") || e.contains("svg"), "{e}");
    let e = orch
        .err(
            "impact_analysis",
            json!({"artifact_id": "api", "version": 0}),
        )
        .await;
    assert!(e.contains("version"), "{e}");
    dev.close().await;
    orch.close().await;
}

#[test]
fn clearctx_lineage_prints_mermaid_dot_and_a_tree() {
    let dir = DataDir::new();
    let run = |args: &[&str]| {
        let out = dir.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&[
        "artifact",
        "publish",
        "spec",
        "--type",
        "json",
        "--data",
        "{}",
        "--new-type",
    ]);
    run(&[
        "artifact",
        "publish",
        "impl",
        "--type",
        "json",
        "--data",
        "{}",
        "--derived-from",
        "spec@1",
    ]);
    run(&[
        "artifact", "publish", "spec", "--type", "json", "--data", "{}",
    ]);
    // Not a terminal: Mermaid by default.
    let m = run(&["lineage", "impl"]);
    assert!(m.starts_with("graph LR\n"), "{m}");
    assert!(m.contains("n0[\"impl v1 (stale)\"]:::stale"), "{m}");
    assert!(m.contains("n1[\"spec v1 (latest v2)\"]"), "{m}");
    assert!(m.contains("n1 --> n0"), "{m}");
    let d = run(&["lineage", "impl", "--format", "dot"]);
    assert!(d.starts_with("digraph lineage {"), "{d}");
    assert!(d.contains("\"spec@1\" -> \"impl@1\";"), "{d}");
    let t = run(&[
        "lineage",
        "spec",
        "--version",
        "1",
        "--direction",
        "downstream",
        "--format",
        "tree",
    ]);
    assert_eq!(
        t.trim_end(),
        "spec v1 (json), latest v2\n└── impl v1 (json)  STALE"
    );
    let s = run(&["stale"]);
    assert!(
        s.contains("impl v1 (default) is stale:\n  spec v1 used, v2 is the latest"),
        "{s}"
    );
    let i = run(&["impact", "spec", "--version", "1"]);
    assert!(i.contains("impl"), "{i}");
    let bad = dir.cli(&["lineage", "impl", "--depth", "0"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("depth"));
}
