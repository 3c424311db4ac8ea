//! The contract state machine as a table: a status reached by a real sequence of calls,
//! an action, who acts, and what must come of it.
//!
//! Each case runs in one write that is rolled back at the end, so every case starts from
//! an empty store without paying a commit (an fsync) per step; after each step the
//! reactions run, exactly as [`Store::write`] runs them before it commits.

use serde_json::{Value, json};

use super::tests::{rolled_back, store};
use crate::contracts::*;
use crate::error::ErrorKind;
use crate::error::Result;
use crate::model::Caller;
use crate::store::Store;
use crate::store::{Event, Tx};

const TEAM: &str = "default";
/// One step, then the reactions, as one `Store::write` does them.
fn step(tx: &Tx<'_>, r: Result<()>) -> Result<()> {
    r?;
    crate::reactions::run(tx)
}

fn unbound(session: &str) -> Caller {
    Caller::new(session, TEAM)
}

fn bound(session: &str) -> Caller {
    Caller {
        session: session.into(),
        team: TEAM.into(),
        bound: true,
    }
}

/// Creates contract `id` assigned by `lead` to `worker`, with `extra` merged in.
fn create_as(tx: &Tx<'_>, id: &str, extra: Value) -> Result<()> {
    let mut v = json!({ "contract_id": id, "title": format!("do {id}"), "assignee": "worker" });
    for (k, x) in extra.as_object().expect("an object") {
        v[k] = x.clone();
    }
    let req: CreateRequest = serde_json::from_value(v).unwrap();
    step(tx, create(tx, &unbound("lead"), &req))
}

fn start_as(tx: &Tx<'_>, id: &str, who: &str) -> Result<()> {
    let req = ContractIdRequest {
        contract_id: id.into(),
        by: None,
        override_roles: false,
    };
    step(tx, start(tx, &unbound(who), &req))
}

fn complete_as(tx: &Tx<'_>, id: &str, who: &str) -> Result<()> {
    let req = CompleteRequest {
        contract_id: id.into(),
        summary: Some("done".into()),
        result: None,
        by: None,
        override_roles: false,
    };
    step(tx, complete(tx, &unbound(who), &req))
}

fn reason_req(id: &str, reason: &str) -> ReasonRequest {
    ReasonRequest {
        contract_id: id.into(),
        reason: reason.into(),
        by: None,
        override_roles: false,
    }
}

fn fail_as(tx: &Tx<'_>, id: &str, who: &str) -> Result<()> {
    step(tx, fail(tx, &unbound(who), &reason_req(id, "it broke")))
}

fn reopen_as(tx: &Tx<'_>, id: &str, who: &str) -> Result<()> {
    step(tx, reopen(tx, &unbound(who), &reason_req(id, "once more")))
}

fn publish(tx: &Tx<'_>, artifact_id: &str, artifact_type: &str) -> Result<()> {
    publish_as(tx, &unbound("worker"), artifact_id, artifact_type)
}

fn publish_as(tx: &Tx<'_>, who: &Caller, artifact_id: &str, artifact_type: &str) -> Result<()> {
    let req: crate::artifacts::PublishRequest = serde_json::from_value(json!({
        "artifact_id": artifact_id, "type": artifact_type, "data": { "n": 1 }, "new_type": true,
    }))
    .unwrap();
    let published = crate::artifacts::publish(tx, who, &req, None);
    step(tx, published.map(|_| ()))
}

/// How contract `c` got where the case starts.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// Never created.
    Missing,
    /// Waits for artifact `gate`, never published.
    Pending,
    /// No dependencies: ready as soon as created.
    Ready,
    InProgress,
    Completed,
    /// Failed by its assignee while in progress.
    Failed,
    /// `max_retries: 0`, completed.
    CompletedNoRetries,
    /// `max_retries: 1`: completed, reopened, completed again.
    RetriesUsed,
    /// Depends on contract `dep`; completed after `dep` was, and `dep` reopened since.
    CompletedDepReopened,
    /// In progress; requires artifact `report` and an artifact of type `test-results`,
    /// neither published.
    AwaitsOutputs,
    /// As `AwaitsOutputs`, but both were published before the contract was created.
    OutputsStale,
    /// As `AwaitsOutputs`, with both published after the contract started.
    OutputsPublished,
    /// As `AwaitsOutputs`, with `report` published and the type satisfied by an
    /// unrelated artifact another session published in another team.
    OutputTypeFromElsewhere,
    /// In progress; its only expected output (`notes`) is optional and missing.
    OptionalOutputMissing,
}

fn setup(tx: &Tx<'_>, s: Setup) -> Result<()> {
    let outputs = json!({ "expected_outputs": [
        { "artifact_id": "report" },
        { "artifact_type": "test-results" },
    ] });
    match s {
        Setup::Missing => {}
        Setup::Pending => create_as(
            tx,
            "c",
            json!({ "dependencies": [{ "type": "artifact", "id": "gate" }] }),
        )?,
        Setup::Ready => create_as(tx, "c", json!({}))?,
        Setup::InProgress => {
            setup(tx, Setup::Ready)?;
            start_as(tx, "c", "worker")?;
        }
        Setup::Completed => {
            setup(tx, Setup::InProgress)?;
            complete_as(tx, "c", "worker")?;
        }
        Setup::Failed => {
            setup(tx, Setup::InProgress)?;
            fail_as(tx, "c", "worker")?;
        }
        Setup::CompletedNoRetries => {
            create_as(tx, "c", json!({ "max_retries": 0 }))?;
            start_as(tx, "c", "worker")?;
            complete_as(tx, "c", "worker")?;
        }
        Setup::RetriesUsed => {
            create_as(tx, "c", json!({ "max_retries": 1 }))?;
            start_as(tx, "c", "worker")?;
            complete_as(tx, "c", "worker")?;
            reopen_as(tx, "c", "lead")?;
            start_as(tx, "c", "worker")?;
            complete_as(tx, "c", "worker")?;
        }
        Setup::CompletedDepReopened => {
            create_as(tx, "dep", json!({}))?;
            start_as(tx, "dep", "worker")?;
            complete_as(tx, "dep", "worker")?;
            create_as(
                tx,
                "c",
                json!({ "dependencies": [{ "type": "contract", "id": "dep" }] }),
            )?;
            start_as(tx, "c", "worker")?;
            complete_as(tx, "c", "worker")?;
            reopen_as(tx, "dep", "lead")?;
        }
        Setup::AwaitsOutputs => {
            create_as(tx, "c", outputs)?;
            start_as(tx, "c", "worker")?;
        }
        Setup::OutputsStale => {
            publish(tx, "report", "json")?;
            publish(tx, "tr", "test-results")?;
            setup(tx, Setup::AwaitsOutputs)?;
        }
        Setup::OutputsPublished => {
            setup(tx, Setup::AwaitsOutputs)?;
            publish(tx, "report", "json")?;
            publish(tx, "tr", "test-results")?;
        }
        Setup::OutputTypeFromElsewhere => {
            setup(tx, Setup::AwaitsOutputs)?;
            publish(tx, "report", "json")?;
            let stranger = Caller::new("stranger", "elsewhere");
            publish_as(tx, &stranger, "unrelated", "test-results")?;
        }
        Setup::OptionalOutputMissing => {
            create_as(
                tx,
                "c",
                json!({ "expected_outputs": [{ "artifact_id": "notes", "required": false }] }),
            )?;
            start_as(tx, "c", "worker")?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Start,
    Complete,
    Fail,
    Reopen,
}

impl Action {
    fn event(self) -> &'static str {
        match self {
            Action::Start => "contract.started",
            Action::Complete => "contract.completed",
            Action::Fail => "contract.failed",
            Action::Reopen => "contract.reopened",
        }
    }
}

/// Who calls. `worker` is the assignee and `lead` the assigner of every contract here.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    /// `worker` through an unbound server (as the CLI or a test opens one).
    Assignee,
    /// `worker`'s own server.
    AssigneeBound,
    /// `lead` through an unbound server.
    Assigner,
    /// `lead`'s own server.
    AssignerBound,
    /// Another worker's own server.
    Other,
    /// The orchestrator, unbound, acting as itself.
    Orchestrator,
    /// The orchestrator acting for the assignee (`by` = `worker`).
    ForAssignee,
    /// A person at the CLI overriding the roles.
    Override,
    /// Another worker's own server asking for an override it may not have.
    OtherOverride,
    /// `worker`'s own server claiming to be `lead`.
    AssigneeAsAssigner,
}

impl Who {
    /// The caller, `by` and `override_roles`.
    fn call(self) -> (Caller, Option<&'static str>, bool) {
        match self {
            Who::Assignee => (unbound("worker"), None, false),
            Who::AssigneeBound => (bound("worker"), None, false),
            Who::Assigner => (unbound("lead"), None, false),
            Who::AssignerBound => (bound("lead"), None, false),
            Who::Other => (bound("other"), None, false),
            Who::Orchestrator => (unbound("orchestrator"), None, false),
            Who::ForAssignee => (unbound("orchestrator"), Some("worker"), false),
            Who::Override => (unbound("orchestrator"), None, true),
            Who::OtherOverride => (bound("other"), None, true),
            Who::AssigneeAsAssigner => (bound("worker"), Some("lead"), false),
        }
    }
}

fn act(tx: &Tx<'_>, action: Action, who: Who) -> Result<()> {
    let (caller, by, override_roles) = who.call();
    let by = by.map(String::from);
    let contract_id = "c".to_string();
    match action {
        Action::Start => start(
            tx,
            &caller,
            &ContractIdRequest {
                contract_id,
                by,
                override_roles,
            },
        ),
        Action::Complete => complete(
            tx,
            &caller,
            &CompleteRequest {
                contract_id,
                summary: Some("all done".into()),
                result: None,
                by,
                override_roles,
            },
        ),
        Action::Fail => fail(
            tx,
            &caller,
            &ReasonRequest {
                contract_id,
                reason: "cannot go on".into(),
                by,
                override_roles,
            },
        ),
        Action::Reopen => reopen(
            tx,
            &caller,
            &ReasonRequest {
                contract_id,
                reason: "try again".into(),
                by,
                override_roles,
            },
        ),
    }
}

enum Expect {
    Becomes(Status),
    Refused(ErrorKind, &'static str),
}
use Expect::{Becomes, Refused};

/// What a case saw: contract `c` (status, retries) and its events, before and after the
/// action, and what the action returned.
struct Seen {
    before: Option<(Status, u32)>,
    history_before: Vec<Event>,
    got: Result<()>,
    after: Option<(Status, u32)>,
    history: Vec<Event>,
}

fn run_case(store: &mut Store, s: Setup, action: Action, who: Who) -> Seen {
    rolled_back(store, |tx| {
        let state =
            |tx: &Tx<'_>| -> Result<_> { Ok(tx.contract("c")?.map(|r| (r.status, r.retries))) };
        setup(tx, s)?;
        let before = state(tx)?;
        let history_before = tx.events_for_subject(&subject("c"))?;
        let got = act(tx, action, who);
        // A refused action returns before the reactions would run; look at what it left.
        if got.is_ok() {
            crate::reactions::run(tx)?;
        }
        Ok(Seen {
            before,
            history_before,
            got,
            after: state(tx)?,
            history: tx.events_for_subject(&subject("c"))?,
        })
    })
}

#[test]
fn transitions_table() {
    use Action::*;
    use ErrorKind::{Conflict, Forbidden, NotFound};
    use Status::{Completed, Failed, InProgress, Pending, Ready};
    use Who::*;
    #[rustfmt::skip]
    let cases: &[(Setup, Action, Who, Expect)] = &[
        // start: ready only, by the assignee only.
        (Setup::Missing, Start, Assignee, Refused(NotFound, "contract `c` does not exist; `contract_list` shows")),
        (Setup::Pending, Start, Assignee, Refused(Conflict, "cannot start contract `c`: it is pending, not ready; it is waiting for its dependencies")),
        (Setup::Ready, Start, Assignee, Becomes(InProgress)),
        (Setup::Ready, Start, AssigneeBound, Becomes(InProgress)),
        (Setup::Ready, Start, Assigner, Refused(Forbidden, "only `worker`, its assignee, may start contract `c`; `lead` may not (to act for it, give `by` = `worker`)")),
        (Setup::Ready, Start, Other, Refused(Forbidden, "only `worker`, its assignee, may start contract `c`; `other` may not")),
        (Setup::Ready, Start, Orchestrator, Refused(Forbidden, "`orchestrator` may not (to act for it, give `by` = `worker`)")),
        (Setup::Ready, Start, ForAssignee, Becomes(InProgress)),
        (Setup::Ready, Start, Override, Becomes(InProgress)),
        (Setup::Ready, Start, OtherOverride, Refused(Forbidden, "`other` may not")),
        (Setup::Ready, Start, AssigneeAsAssigner, Refused(Forbidden, "by: this server acts only as `worker`")),
        (Setup::InProgress, Start, Assignee, Refused(Conflict, "it is in_progress, not ready")),
        (Setup::Completed, Start, Assignee, Refused(Conflict, "it is completed, not ready; `contract_reopen` runs it again")),
        (Setup::Failed, Start, Assignee, Refused(Conflict, "it is failed, not ready; `contract_reopen` runs it again")),
        // complete: in_progress only, by the assignee, with every required output.
        (Setup::Pending, Complete, Assignee, Refused(Conflict, "cannot complete contract `c`: it is pending, not in_progress")),
        (Setup::Ready, Complete, Assignee, Refused(Conflict, "cannot complete contract `c`: it is ready, not in_progress; call `contract_start` first")),
        (Setup::InProgress, Complete, Assignee, Becomes(Completed)),
        (Setup::InProgress, Complete, AssigneeBound, Becomes(Completed)),
        (Setup::InProgress, Complete, Assigner, Refused(Forbidden, "only `worker`, its assignee, may complete contract `c`; `lead` may not")),
        (Setup::InProgress, Complete, AssignerBound, Refused(Forbidden, "only `worker`, its assignee, may complete contract `c`; `lead` may not")),
        (Setup::InProgress, Complete, Other, Refused(Forbidden, "may complete contract `c`; `other` may not")),
        (Setup::InProgress, Complete, ForAssignee, Becomes(Completed)),
        (Setup::InProgress, Complete, Override, Becomes(Completed)),
        (Setup::Completed, Complete, Assignee, Refused(Conflict, "it is completed, not in_progress")),
        (Setup::Failed, Complete, Assignee, Refused(Conflict, "it is failed, not in_progress")),
        (Setup::AwaitsOutputs, Complete, Assignee, Refused(Conflict, "cannot complete contract `c`: required output missing: artifact `report`, an artifact of type `test-results` (publish it")),
        // Who may comes before what is missing.
        (Setup::AwaitsOutputs, Complete, Other, Refused(Forbidden, "`other` may not")),
        (Setup::OutputsStale, Complete, Assignee, Refused(Conflict, "required output missing: artifact `report`, an artifact of type `test-results`")),
        (Setup::OutputsPublished, Complete, Assignee, Becomes(Completed)),
        (Setup::OptionalOutputMissing, Complete, Assignee, Becomes(Completed)),
        // An output by type is met by any artifact of that type, whoever published it.
        (Setup::OutputTypeFromElsewhere, Complete, Assignee, Becomes(Completed)),
        // fail: anything not finished, by the assignee.
        (Setup::Pending, Fail, Assignee, Becomes(Failed)),
        (Setup::Ready, Fail, Assignee, Becomes(Failed)),
        (Setup::InProgress, Fail, Assignee, Becomes(Failed)),
        (Setup::InProgress, Fail, AssigneeBound, Becomes(Failed)),
        (Setup::InProgress, Fail, Assigner, Refused(Forbidden, "only `worker`, its assignee, may fail contract `c`; `lead` may not")),
        (Setup::InProgress, Fail, Other, Refused(Forbidden, "may fail contract `c`; `other` may not")),
        (Setup::InProgress, Fail, ForAssignee, Becomes(Failed)),
        (Setup::InProgress, Fail, Override, Becomes(Failed)),
        (Setup::Completed, Fail, Assignee, Refused(Conflict, "cannot fail contract `c`: it is completed, not pending, ready or in_progress; `contract_reopen` runs it again")),
        // The state first: a finished contract says so to anyone.
        (Setup::Completed, Fail, Other, Refused(Conflict, "it is completed, not pending, ready or in_progress")),
        (Setup::Failed, Fail, Assignee, Refused(Conflict, "cannot fail contract `c`: it is failed, not pending, ready or in_progress")),
        // reopen: completed, failed or in_progress; by the assigner or any unbound caller.
        (Setup::Completed, Reopen, Assigner, Becomes(Ready)),
        (Setup::Completed, Reopen, AssignerBound, Becomes(Ready)),
        (Setup::Completed, Reopen, Orchestrator, Becomes(Ready)),
        // An unbound caller is the orchestrator's seat, whoever it names itself.
        (Setup::Completed, Reopen, Assignee, Becomes(Ready)),
        (Setup::Completed, Reopen, AssigneeBound, Refused(Forbidden, "only `lead`, who assigned it, or the orchestrator may reopen contract `c`; `worker` may not")),
        (Setup::Completed, Reopen, Other, Refused(Forbidden, "only `lead`, who assigned it, or the orchestrator may reopen contract `c`; `other` may not")),
        (Setup::Completed, Reopen, OtherOverride, Refused(Forbidden, "`other` may not")),
        (Setup::Failed, Reopen, Assigner, Becomes(Ready)),
        (Setup::Failed, Reopen, AssignerBound, Becomes(Ready)),
        (Setup::InProgress, Reopen, Assigner, Becomes(Ready)),
        (Setup::CompletedDepReopened, Reopen, Assigner, Becomes(Pending)),
        (Setup::Pending, Reopen, Assigner, Refused(Conflict, "cannot reopen contract `c`: it is already open (pending)")),
        (Setup::Ready, Reopen, Assigner, Refused(Conflict, "cannot reopen contract `c`: it is already open (ready)")),
        (Setup::CompletedNoRetries, Reopen, Assigner, Refused(Conflict, "cannot reopen contract `c`: it has used all 0 of its retries (max_retries)")),
        (Setup::RetriesUsed, Reopen, Assigner, Refused(Conflict, "it has used all 1 of its retries (max_retries); create a new contract to go on")),
        // Retries are checked before who asks.
        (Setup::RetriesUsed, Reopen, Other, Refused(Conflict, "it has used all 1 of its retries")),
    ];
    let (_dir, mut store) = store();
    let mut failures = Vec::new();
    for (i, (s, action, who, expect)) in cases.iter().enumerate() {
        let seen = run_case(&mut store, *s, *action, *who);
        let case = format!("case {i}: {s:?} --{action:?} by {who:?}-->");
        match (expect, seen.got) {
            (Becomes(want), Ok(())) => {
                let (status, retries) = seen.after.expect("the contract exists");
                if status != *want {
                    failures.push(format!("{case} became {status:?}, expected {want:?}"));
                    continue;
                }
                let new = &seen.history[seen.history_before.len()..];
                let ev = &new[0];
                assert_eq!(ev.kind, action.event(), "{case} first new event");
                // The event records who acted, for whom, and any override.
                let (caller, by, overridden) = who.call();
                let actor = by.unwrap_or(&caller.session);
                assert_eq!(ev.actor, actor, "{case} event actor");
                assert_eq!(ev.payload["by"], json!(actor), "{case} payload.by");
                let via = (actor != caller.session).then_some(caller.session.as_str());
                assert_eq!(
                    ev.payload.get("via").and_then(Value::as_str),
                    via,
                    "{case} via"
                );
                assert_eq!(
                    ev.payload.get("override") == Some(&json!(true)),
                    overridden,
                    "{case} override"
                );
                let (_, retries_before) = seen.before.unwrap();
                let want_retries = retries_before + u32::from(*action == Reopen);
                assert_eq!(retries, want_retries, "{case} retries");
                if *action == Reopen {
                    let kinds: Vec<&str> = new.iter().map(|e| e.kind.as_str()).collect();
                    let want_kinds: &[&str] = match want {
                        Ready => &["contract.reopened", "contract.ready"],
                        _ => &["contract.reopened"],
                    };
                    assert_eq!(kinds, want_kinds, "{case} events");
                }
            }
            (Refused(kind, text), Err(e)) => {
                let msg = e.to_string();
                if e.kind() != *kind || !msg.contains(text) {
                    failures.push(format!(
                        "{case} refused as {:?} `{msg}`, expected {kind:?} containing `{text}`",
                        e.kind()
                    ));
                    continue;
                }
                // A bound caller cannot act for the assignee, so is not told how to.
                if who.call().0.bound {
                    assert!(!msg.contains("give `by`"), "{case} `{msg}`");
                }
                // Refused before it touched anything.
                assert_eq!(seen.after, seen.before, "{case} changed the contract");
                assert_eq!(
                    seen.history.len(),
                    seen.history_before.len(),
                    "{case} appended events"
                );
            }
            (Becomes(want), Err(e)) => failures.push(format!(
                "{case} was refused ({:?}: {e}), expected {want:?}",
                e.kind()
            )),
            (Refused(kind, text), Ok(())) => failures.push(format!(
                "{case} succeeded ({:?}), expected {kind:?} containing `{text}`",
                seen.after.map(|a| a.0)
            )),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A refused action commits nothing: the write that tried it leaves the store as it was.
#[test]
fn a_refused_action_commits_nothing() {
    let (_dir, mut store) = store();
    store.write(|tx| setup(tx, Setup::Ready)).unwrap();
    let seq = store.read(|tx| tx.last_seq()).unwrap();
    let e = store
        .write(|tx| {
            start(
                tx,
                &unbound("worker"),
                &ContractIdRequest {
                    contract_id: "c".into(),
                    by: None,
                    override_roles: false,
                },
            )?;
            act(tx, Action::Start, Who::Assignee)
        })
        .unwrap_err();
    assert!(
        e.to_string().contains("it is in_progress, not ready"),
        "{e}"
    );
    let c = store.read(|tx| get(tx, "c")).unwrap();
    assert_eq!(c.status, Status::Ready);
    assert_eq!(store.read(|tx| tx.last_seq()).unwrap(), seq);
}

/// What a completion counted (the newest version since the contract became ready) is kept
/// on the contract; an optional output that is missing is left out.
#[test]
fn completion_keeps_the_outputs_it_counted() {
    let (_dir, mut store) = store();
    let c = rolled_back(&mut store, |tx| {
        create_as(
            tx,
            "c",
            json!({ "expected_outputs": [
                { "artifact_id": "report" },
                { "artifact_type": "test-results" },
                { "artifact_id": "notes", "required": false },
            ] }),
        )?;
        start_as(tx, "c", "worker")?;
        publish(tx, "report", "json")?;
        publish(tx, "report", "json")?;
        publish(tx, "tr", "test-results")?;
        complete_as(tx, "c", "worker")?;
        get(tx, "c")
    });
    assert_eq!(c.status, Status::Completed);
    let outputs: Vec<(String, u32)> = c
        .outputs
        .unwrap()
        .into_iter()
        .map(|v| (v.artifact_id, v.version))
        .collect();
    assert_eq!(outputs, [("report".to_string(), 2), ("tr".to_string(), 1)]);
    assert_eq!(c.result, Some(json!({ "summary": "done" })));
    assert_eq!(c.deadline_at, None);
}

/// Reopening clears what the last run left and counts a retry; the reason is kept.
#[test]
fn reopen_resets_the_run() {
    let (_dir, mut store) = store();
    let (started, failed, reopened) = rolled_back(&mut store, |tx| {
        create_as(tx, "c", json!({ "timeout_s": 600, "max_retries": 2 }))?;
        start_as(tx, "c", "worker")?;
        let started = tx.contract("c")?.unwrap();
        fail_as(tx, "c", "worker")?;
        let failed = get(tx, "c")?;
        reopen_as(tx, "c", "lead")?;
        Ok((started, failed, get(tx, "c")?))
    });
    // Started: the deadline is timeout_s after the start.
    let at = started.started_at_ms.expect("started");
    assert_eq!(started.deadline_at_ms, Some(at + 600_000));
    assert_eq!(
        (failed.status, failed.reason.as_deref(), failed.deadline_at),
        (Status::Failed, Some("it broke"), None)
    );
    assert_eq!(reopened.status, Status::Ready);
    assert_eq!(reopened.retries, 1);
    assert_eq!(reopened.reason.as_deref(), Some("once more"));
    assert_eq!((reopened.started_at, reopened.deadline_at), (None, None));
    let ev = reopened
        .history
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "contract.reopened")
        .unwrap();
    assert_eq!(ev.payload["from"], json!("failed"));
    assert_eq!(ev.payload["retry"], json!(1));
}
