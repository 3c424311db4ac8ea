//! Readiness, priority order, deadlines and catching up on the log, driven through the
//! real store and the contract and artifact functions.

use serde_json::{Value, json};

use super::*;
use crate::contracts::{
    CompleteRequest, ContractIdRequest, CreateRequest, Priority, ReasonRequest, Status,
};
use crate::model::Caller;
use crate::store::Store;

const ROLLBACK: &str = "test: roll the case back";

pub(super) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("clearctx.db"), std::sync::Arc::new(run)).unwrap();
    (dir, store)
}

/// Runs `f` in a write and rolls it back, returning what `f` returned: each case starts
/// from an empty store without paying for commits.
pub(super) fn rolled_back<T>(store: &mut Store, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> T {
    let mut out = None;
    let e = store
        .write(|tx| {
            out = Some(f(tx)?);
            Err::<(), _>(Error::conflict(ROLLBACK))
        })
        .unwrap_err();
    assert_eq!(e.to_string(), ROLLBACK, "the case itself failed");
    out.unwrap()
}

fn caller(session: &str) -> Caller {
    Caller::new(session, "default")
}

/// Creates contract `id`, assigned by `lead` to `worker`, with `extra` merged in.
fn create(tx: &Tx<'_>, id: &str, extra: Value) -> Result<()> {
    let mut v = json!({ "contract_id": id, "title": format!("do {id}"), "assignee": "worker" });
    for (k, x) in extra.as_object().expect("an object") {
        v[k] = x.clone();
    }
    let req: CreateRequest = serde_json::from_value(v).unwrap();
    contracts::create(tx, &caller("lead"), &req)
}

fn start(tx: &Tx<'_>, id: &str) -> Result<()> {
    contracts::start(
        tx,
        &caller("worker"),
        &ContractIdRequest {
            contract_id: id.into(),
            by: None,
            override_roles: false,
        },
    )
}

fn complete(tx: &Tx<'_>, id: &str) -> Result<()> {
    contracts::complete(
        tx,
        &caller("worker"),
        &CompleteRequest {
            contract_id: id.into(),
            summary: None,
            result: None,
            by: None,
            override_roles: false,
        },
    )
}

fn reason(id: &str) -> ReasonRequest {
    ReasonRequest {
        contract_id: id.into(),
        reason: "because".into(),
        by: None,
        override_roles: false,
    }
}

/// Publishes versions of `artifact_id` until its latest is `version`.
fn publish_up_to(tx: &Tx<'_>, artifact_id: &str, version: u32) -> Result<()> {
    let req: crate::artifacts::PublishRequest = serde_json::from_value(json!({
        "artifact_id": artifact_id, "type": "json", "data": {}, "new_type": true,
    }))
    .unwrap();
    while tx
        .artifact_head(artifact_id)?
        .map_or(0, |h| h.latest_version)
        < version
    {
        crate::artifacts::publish(tx, &caller("worker"), &req, None)?;
    }
    Ok(())
}

/// One write's worth of work on the way to a case.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Publish artifact `.0` until its latest version is `.1`.
    Publish(&'static str, u32),
    Start(&'static str),
    /// Start and complete the contract.
    Complete(&'static str),
    Fail(&'static str),
    Reopen(&'static str),
}

/// Does `s`, then the reactions, as one `Store::write` would.
fn step(tx: &Tx<'_>, s: Step) -> Result<()> {
    match s {
        Step::Publish(id, n) => publish_up_to(tx, id, n)?,
        Step::Start(id) => start(tx, id)?,
        Step::Complete(id) => {
            start(tx, id)?;
            run(tx)?;
            complete(tx, id)?;
        }
        Step::Fail(id) => contracts::fail(tx, &caller("worker"), &reason(id))?,
        Step::Reopen(id) => contracts::reopen(tx, &caller("lead"), &reason(id))?,
    }
    run(tx)
}

#[test]
fn readiness_table() {
    use Status::{Pending, Ready};
    use Step::*;
    let artifact = |id: &str| json!({ "type": "artifact", "id": id });
    let artifact_min = |id: &str, v: u32| json!({ "type": "artifact", "id": id, "min_version": v });
    let contract = |id: &str| json!({ "type": "contract", "id": id });
    // (what, done before `c` is created, c's dependencies, done after,
    //  c's status, each dependency's (satisfied, detail)).
    // Contract `d` (no dependencies, so ready) exists in every case.
    type Case<'a> = (
        &'a str,
        &'a [Step],
        Vec<Value>,
        &'a [Step],
        Status,
        &'a [(bool, &'a str)],
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("no dependencies", &[], vec![], &[], Ready, &[]),
        ("artifact never published", &[], vec![artifact("a")], &[], Pending,
            &[(false, "waiting for the artifact to be published")]),
        ("artifact published after", &[], vec![artifact("a")], &[Publish("a", 1)], Ready,
            &[(true, "version 1 published")]),
        ("artifact published before", &[Publish("a", 1)], vec![artifact("a")], &[], Ready,
            &[(true, "version 1 published")]),
        ("another artifact published", &[], vec![artifact("a")], &[Publish("z", 1)], Pending,
            &[(false, "waiting for the artifact to be published")]),
        ("min_version not reached", &[], vec![artifact_min("a", 3)], &[Publish("a", 2)], Pending,
            &[(false, "waiting for version 3; latest is 2")]),
        ("min_version reached exactly", &[], vec![artifact_min("a", 3)], &[Publish("a", 2), Publish("a", 3)], Ready,
            &[(true, "version 3 published")]),
        ("min_version passed in one write", &[Publish("a", 1)], vec![artifact_min("a", 3)], &[Publish("a", 4)], Ready,
            &[(true, "version 4 published")]),
        ("min_version reached before", &[Publish("a", 3)], vec![artifact_min("a", 3)], &[], Ready,
            &[(true, "version 3 published")]),
        ("min_version 1 is the default", &[], vec![artifact_min("a", 1)], &[Publish("a", 1)], Ready,
            &[(true, "version 1 published")]),
        ("two artifacts, one missing", &[], vec![artifact("a"), artifact("b")], &[Publish("a", 1)], Pending,
            &[(true, "version 1 published"), (false, "waiting for the artifact to be published")]),
        ("two artifacts, both published", &[], vec![artifact("a"), artifact("b")], &[Publish("b", 1), Publish("a", 1)], Ready,
            &[(true, "version 1 published"), (true, "version 1 published")]),
        ("contract ready, not done", &[], vec![contract("d")], &[], Pending,
            &[(false, "contract is ready")]),
        ("contract in progress", &[], vec![contract("d")], &[Start("d")], Pending,
            &[(false, "contract is in_progress")]),
        ("contract completed after", &[], vec![contract("d")], &[Complete("d")], Ready,
            &[(true, "completed")]),
        ("contract completed before", &[Complete("d")], vec![contract("d")], &[], Ready,
            &[(true, "completed")]),
        ("contract failed", &[], vec![contract("d")], &[Fail("d")], Pending,
            &[(false, "contract is failed")]),
        ("contract failed, reopened, completed", &[], vec![contract("d")], &[Fail("d"), Reopen("d"), Complete("d")], Ready,
            &[(true, "completed")]),
        ("artifact and contract, only the contract", &[], vec![artifact("a"), contract("d")], &[Complete("d")], Pending,
            &[(false, "waiting for the artifact to be published"), (true, "completed")]),
        ("artifact and contract, both", &[], vec![artifact("a"), contract("d")], &[Complete("d"), Publish("a", 1)], Ready,
            &[(true, "version 1 published"), (true, "completed")]),
        // Readiness only moves forward: a dependency that stops holding does not take it back.
        ("ready, then its dependency reopened", &[], vec![contract("d")], &[Complete("d"), Reopen("d")], Ready,
            &[(false, "contract is ready")]),
    ];
    let (_dir, mut store) = store();
    let mut failures = Vec::new();
    for (what, before, deps, after, want, want_deps) in &cases {
        let (c, ready_events) = rolled_back(&mut store, |tx| {
            create(tx, "d", json!({}))?;
            run(tx)?;
            for s in *before {
                step(tx, *s)?;
            }
            create(tx, "c", json!({ "dependencies": deps }))?;
            run(tx)?;
            for s in *after {
                step(tx, *s)?;
            }
            let ready_events = tx
                .events_for_subject(&contracts::subject("c"))?
                .iter()
                .filter(|e| e.kind == "contract.ready")
                .count();
            Ok((contracts::get(tx, "c")?, ready_events))
        });
        let got_deps: Vec<(bool, &str)> = c
            .dependencies
            .iter()
            .map(|d| (d.satisfied, d.detail.as_str()))
            .collect();
        if c.status != *want || got_deps != *want_deps {
            failures.push(format!(
                "{what}: {:?} {got_deps:?}, expected {want:?} {want_deps:?}",
                c.status
            ));
        }
        // Made ready once, or not at all.
        let once = usize::from(*want == Ready);
        if ready_events != once {
            failures.push(format!(
                "{what}: {ready_events} contract.ready events, expected {once}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Contracts made ready by one write get their `contract.ready` events highest priority
/// first, then oldest first, then by ID.
#[test]
fn ready_in_priority_order() {
    let (_dir, mut store) = store();
    let on_spec = json!([{ "type": "artifact", "id": "spec" }]);
    // Created in one write: the same creation time.
    store
        .write(|tx| {
            create(tx, "n-b", json!({ "dependencies": on_spec }))?;
            create(
                tx,
                "n-a",
                json!({ "dependencies": on_spec, "priority": "normal" }),
            )
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    store
        .write(|tx| {
            for (id, p) in [
                ("low", "low"),
                ("n-0", "normal"),
                ("high", "high"),
                ("crit", "critical"),
            ] {
                create(tx, id, json!({ "dependencies": on_spec, "priority": p }))?;
            }
            Ok(())
        })
        .unwrap();
    let seen = store.read(|tx| tx.last_seq()).unwrap();
    store.write(|tx| publish_up_to(tx, "spec", 1)).unwrap();
    let (events, rows) = store
        .read(|tx| {
            let events = tx.events_after(seen, 100)?;
            let mut rows = Vec::new();
            for e in events.iter().filter(|e| e.kind == "contract.ready") {
                let id = e.payload["contract_id"].as_str().unwrap().to_string();
                rows.push(tx.contract(&id)?.unwrap());
            }
            Ok((events, rows))
        })
        .unwrap();
    let order: Vec<(&str, Priority)> = rows
        .iter()
        .map(|r| (r.contract_id.as_str(), r.priority))
        .collect();
    assert_eq!(
        order,
        [
            ("crit", Priority::Critical),
            ("high", Priority::High),
            ("n-a", Priority::Normal),
            ("n-b", Priority::Normal),
            ("n-0", Priority::Normal),
            ("low", Priority::Low),
        ]
    );
    // The publish came first; each row keeps the seq of its own ready event.
    assert_eq!(events[0].kind, "artifact.published");
    let ready: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == "contract.ready")
        .collect();
    for (row, ev) in rows.iter().zip(&ready) {
        assert_eq!(row.status, Status::Ready, "{}", row.contract_id);
        assert_eq!(row.ready_seq, Some(ev.seq), "{}", row.contract_id);
    }
    assert!(ready.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// A started contract past its `timeout_s` is failed by the next write, whoever makes
/// it; reads leave it alone but say there is due work. The one test that waits.
#[test]
fn deadlines_fail_overdue_contracts() {
    let (_dir, mut store) = store();
    store
        .write(|tx| {
            create(tx, "slow", json!({ "timeout_s": 1 }))?;
            create(tx, "quick", json!({ "timeout_s": 1 }))?;
            create(tx, "long", json!({ "timeout_s": 3600 }))?;
            create(tx, "untimed", json!({}))?;
            create(tx, "not-started", json!({ "timeout_s": 1 }))
        })
        .unwrap();
    store
        .write(|tx| {
            for id in ["slow", "quick", "long", "untimed"] {
                start(tx, id)?;
            }
            Ok(())
        })
        .unwrap();
    store.write(|tx| complete(tx, "quick")).unwrap();
    let status = |store: &mut Store| {
        store
            .read(|tx| {
                let mut out = Vec::new();
                for id in ["slow", "quick", "long", "untimed", "not-started"] {
                    out.push(tx.contract(id)?.unwrap().status);
                }
                Ok(out)
            })
            .unwrap()
    };
    use Status::{Completed, Failed, InProgress, Ready};
    store.write(|_| Ok(())).unwrap();
    assert_eq!(
        status(&mut store),
        [InProgress, Completed, InProgress, InProgress, Ready]
    );
    assert!(!store.read(has_due_work).unwrap());

    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(store.read(has_due_work).unwrap());
    assert_eq!(status(&mut store)[0], InProgress, "a read fails nothing");

    store.write(|_| Ok(())).unwrap();
    assert_eq!(
        status(&mut store),
        [Failed, Completed, InProgress, InProgress, Ready]
    );
    assert!(!store.read(has_due_work).unwrap());
    let (slow, failed) = store
        .read(|tx| {
            let row = tx.contract("slow")?.unwrap();
            let events = tx.events_for_subject(&contracts::subject("slow"))?;
            Ok((row, events.into_iter().last().unwrap()))
        })
        .unwrap();
    assert_eq!(
        slow.reason.as_deref(),
        Some("timed out: in progress for more than 1s (timeout_s)")
    );
    assert_eq!(slow.deadline_at_ms, None);
    assert_eq!(failed.kind, "contract.failed");
    assert_eq!(failed.actor, "clearctx");
    assert!(
        failed.payload["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        failed.payload
    );
}

/// The reactions this version runs are the ones schema 14 lists: a change to them needs a
/// new schema version, whose migration lists a new reaction in `reactions_behind` (to run
/// over the log so far) or not (to start at its end). Every process writing a data dir of
/// one version then runs the same reactions, which is what lets a caught-up reaction keep
/// no cursor.
#[test]
fn the_reactions_are_the_ones_the_schema_lists() {
    let names: Vec<&str> = ORDER.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        ["readiness", "staleness", "pipelines", "chat", "witness"]
    );
}

/// A reaction listed as behind sees the events after its mark on the next write, once, and
/// is caught up after it; the others do not see those events again.
#[test]
fn a_reaction_behind_the_log_catches_up_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clearctx.db");
    // Written without reactions: the dependency is published, nothing made `c` ready.
    let mut bare = Store::open(&path, std::sync::Arc::new(|_: &Tx<'_>| Ok(()))).unwrap();
    bare.write(|tx| {
        create(
            tx,
            "c",
            json!({ "dependencies": [{ "type": "artifact", "id": "a" }] }),
        )?;
        publish_up_to(tx, "a", 1)?;
        tx.set_reaction_behind("readiness", 0)
    })
    .unwrap();
    drop(bare);
    let mut store = Store::open(&path, std::sync::Arc::new(run)).unwrap();
    let status = |store: &mut Store| {
        store
            .read(|tx| Ok(tx.contract("c")?.unwrap().status))
            .unwrap()
    };
    assert_eq!(status(&mut store), Status::Pending);
    let before = store.read(|tx| tx.last_seq()).unwrap();
    store.write(|_| Ok(())).unwrap();
    assert_eq!(status(&mut store), Status::Ready);
    let (behind, events) = store
        .read(|tx| Ok((tx.reactions_behind()?, tx.events_after(before, 100)?)))
        .unwrap();
    assert_eq!(behind, []);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["contract.ready"], "made ready once");
    store.write(|_| Ok(())).unwrap();
    assert_eq!(
        store.read(|tx| tx.last_seq()).unwrap(),
        before + 1,
        "and not again"
    );
}

/// Every write hands the reactions what it appended, including what they appended
/// themselves, and leaves none of them behind; a write that fails leaves nothing.
#[test]
fn every_write_leaves_the_reactions_caught_up() {
    let (_dir, mut store) = store();
    let check = |store: &mut Store, when: &str| -> i64 {
        let (behind, last) = store
            .read(|tx| Ok((tx.reactions_behind()?, tx.last_seq()?)))
            .unwrap();
        assert_eq!(behind, [], "{when}");
        last
    };
    assert_eq!(check(&mut store, "fresh"), 0);
    store.write(|_| Ok(())).unwrap();
    assert_eq!(check(&mut store, "empty write"), 0);
    store
        .write(|tx| {
            create(
                tx,
                "c",
                json!({ "dependencies": [{ "type": "artifact", "id": "a" }] }),
            )
        })
        .unwrap();
    assert_eq!(check(&mut store, "created"), 1);
    // The publish, then the ready event the readiness reaction appended.
    store.write(|tx| publish_up_to(tx, "a", 1)).unwrap();
    let last = check(&mut store, "published");
    assert_eq!(last, 3);
    let e = store.write(|tx| start(tx, "nope")).unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::NotFound);
    assert_eq!(check(&mut store, "failed write"), last);
    store.write(|tx| start(tx, "c")).unwrap();
    let after_start = check(&mut store, "started");
    assert!(after_start > last);
    store.write(|tx| complete(tx, "c")).unwrap();
    let after_complete = check(&mut store, "completed");
    assert!(after_complete > after_start);
    store.write(|_| Ok(())).unwrap();
    assert_eq!(check(&mut store, "empty write again"), after_complete);
}
