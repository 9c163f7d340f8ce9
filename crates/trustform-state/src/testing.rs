//! The conformance suite every state backend must pass, like object_store's
//! `put_get_delete_list`. Compiled for this crate's tests and, for backends in other crates,
//! behind the `testing` feature:
//!
//! ```toml
//! [dev-dependencies]
//! trustform-state = { workspace = true, features = ["testing"] }
//! ```
//!
//! Failures panic with a message naming the rule that was broken, as a test assertion does.

use crate::{
    LockError, LockInfo, Locker, OutputState, ResourceState, State, StateChange, StateError, StateStore, StateUpdate,
};
use time::macros::datetime;
use trustform_lang::Value;

/// Runs every rule against a store and its locker, which must start empty and unlocked.
pub async fn conformance(store: &dyn StateStore, locker: &dyn Locker) {
    state_rules(store).await;
    update_rules(store).await;
    lock_rules(locker).await;
}

async fn state_rules(store: &dyn StateStore) {
    let target = store.describe();
    assert!(!target.is_empty(), "describe() must name the store");
    assert!(read(store).await.is_none(), "{target}: a store that was never written must read as None");

    let first = sample_state();
    store.write(&first).await.unwrap_or_else(|err| panic!("{target}: first write failed: {err}"));
    let back = read(store).await.unwrap_or_else(|| panic!("{target}: a written state must read back"));
    assert_eq!(back.to_json_bytes(), first.to_json_bytes(), "{target}: the state must round-trip byte for byte");
    let marked = back.resources.values().next().map(ResourceState::value).unwrap_or_default();
    assert!(marked.get("password").is_some_and(Value::is_sensitive), "{target}: sensitive marks must survive");

    let mut second = first.clone();
    second.serial += 1;
    second.outputs.insert("added".to_owned(), OutputState { value: "later".into(), sensitive: false });
    store.write(&second).await.unwrap_or_else(|err| panic!("{target}: a later serial must be accepted: {err}"));
    store
        .write(&second)
        .await
        .unwrap_or_else(|err| panic!("{target}: rewriting the same serial must be accepted: {err}"));
    assert_eq!(read(store).await.as_ref(), Some(&second), "{target}: the latest write must win");

    let stale = first.clone();
    match store.write(&stale).await {
        Err(StateError::SerialBackwards { stored, incoming, .. }) => {
            assert_eq!((stored, incoming), (second.serial, first.serial), "{target}: wrong serials reported");
        }
        other => panic!("{target}: writing an older serial must fail with SerialBackwards, got {other:?}"),
    }

    let mut foreign = second.clone();
    foreign.lineage = "00000000-0000-4000-8000-000000000000".to_owned();
    foreign.serial += 1;
    match store.write(&foreign).await {
        Err(StateError::LineageChanged { stored, incoming, .. }) => {
            assert_eq!((stored, incoming), (second.lineage.clone(), foreign.lineage), "{target}: wrong lineages");
        }
        other => panic!("{target}: writing another lineage must fail with LineageChanged, got {other:?}"),
    }
    assert_eq!(read(store).await.as_ref(), Some(&second), "{target}: a refused write must change nothing");
}

/// The per-resource updates of an apply ([`StateStore::persist`]): each one reads back at once,
/// on top of whatever came before; the serial and lineage rules hold for them as for whole
/// writes; a whole write and a checkpoint leave exactly the state they were given.
async fn update_rules(store: &dyn StateStore) {
    let target = store.describe();
    let mut state = read(store).await.unwrap_or_else(|| panic!("{target}: the state written before must read back"));
    // Large enough that a journaling store folds its journal in at least once on the way.
    let padding = "x".repeat(4096);
    for i in 0..40 {
        let address = format!("trustform_data.r{i}").parse().unwrap_or_else(|err| panic!("{err}"));
        let value = Value::object([
            ("id", Value::from(format!("r{i}"))),
            ("padding", Value::from(padding.as_str())),
            ("token", Value::from(format!("secret-{i}")).sensitive()),
        ]);
        let resource = ResourceState::from_value("trustform_data", "trustform", &value, [])
            .unwrap_or_else(|err| panic!("the sample resource must be storable: {err}"));
        let mut changes = vec![StateChange::Put { address, resource }];
        if i % 10 == 9 {
            let earlier = format!("trustform_data.r{}", i - 5).parse().unwrap_or_else(|err| panic!("{err}"));
            changes.push(StateChange::Remove { address: earlier });
            let outputs = [(format!("o{i}"), OutputState { value: i.into(), sensitive: i % 20 == 19 })];
            changes.push(StateChange::Outputs(outputs.into_iter().collect()));
        }
        persist(store, &mut state, &changes).await.unwrap_or_else(|err| panic!("{target}: update {i} failed: {err}"));
        if i % 7 == 0 || i % 10 == 9 {
            let back = read(store).await;
            assert_eq!(back.as_ref(), Some(&state), "{target}: after update {i}, a read must give every update so far");
        }
    }
    let back = read(store).await.unwrap_or_else(|| panic!("{target}: updated state must read back"));
    assert_eq!(back.to_json_bytes(), state.to_json_bytes(), "{target}: updates must round-trip byte for byte");
    let marked = back.resources.values().last().map(ResourceState::value).unwrap_or_default();
    assert!(marked.get("token").is_some_and(Value::is_sensitive), "{target}: sensitive marks must survive updates");

    // What the update would lead to, for a store that writes whole states.
    let older = State { serial: state.serial - 1, ..state.clone() };
    let whole = || older.clone();
    let stale =
        StateUpdate { lineage: &state.lineage, serial: state.serial - 1, changes: Vec::new().into(), whole: &whole };
    match store.persist(&stale).await {
        Err(StateError::SerialBackwards { stored, incoming, .. }) => {
            assert_eq!((stored, incoming), (state.serial, state.serial - 1), "{target}: wrong serials reported");
        }
        other => panic!("{target}: an update to an older serial must fail with SerialBackwards, got {other:?}"),
    }
    let foreign = "00000000-0000-4000-8000-000000000000";
    let other = State { lineage: foreign.to_owned(), serial: state.serial + 1, ..state.clone() };
    let whole = || other.clone();
    let update = StateUpdate { lineage: foreign, serial: state.serial + 1, changes: Vec::new().into(), whole: &whole };
    match store.persist(&update).await {
        Err(StateError::LineageChanged { .. }) => {}
        other => panic!("{target}: an update of another lineage must fail with LineageChanged, got {other:?}"),
    }
    assert_eq!(read(store).await.as_ref(), Some(&state), "{target}: a refused update must change nothing");

    state.serial += 1;
    state.outputs.insert("written".to_owned(), OutputState { value: "whole".into(), sensitive: false });
    store.write(&state).await.unwrap_or_else(|err| panic!("{target}: a whole write after updates failed: {err}"));
    assert_eq!(read(store).await.as_ref(), Some(&state), "{target}: a whole write must replace what updates left");

    let removed = state.resources.keys().last().cloned().unwrap_or_else(|| panic!("{target}: resources expected"));
    persist(store, &mut state, &[StateChange::Remove { address: removed }])
        .await
        .unwrap_or_else(|err| panic!("{target}: an update after a whole write failed: {err}"));
    store.checkpoint(&state).await.unwrap_or_else(|err| panic!("{target}: checkpoint failed: {err}"));
    let back = read(store).await.unwrap_or_else(|| panic!("{target}: a checkpointed state must read back"));
    assert_eq!(back.to_json_bytes(), state.to_json_bytes(), "{target}: checkpoint must keep the state byte for byte");
    store.checkpoint(&state).await.unwrap_or_else(|err| panic!("{target}: a second checkpoint failed: {err}"));
    assert_eq!(read(store).await.as_ref(), Some(&state), "{target}: a second checkpoint must change nothing");
}

/// Makes `changes` to `state` at the next serial, and persists them as one update.
pub async fn persist(store: &dyn StateStore, state: &mut State, changes: &[StateChange]) -> Result<(), StateError> {
    state.serial += 1;
    for change in changes {
        change.apply(state);
    }
    let whole = {
        let state = state.clone();
        move || state.clone()
    };
    let changes = changes.into();
    store.persist(&StateUpdate { lineage: &state.lineage, serial: state.serial, changes, whole: &whole }).await
}

async fn lock_rules(locker: &dyn Locker) {
    let first = lock_info("4a1c0f0e-1111-4c1e-9a51-000000000001", "alice@conformance.invalid", "apply");
    let second = lock_info("4a1c0f0e-2222-4c1e-9a51-000000000002", "bob@conformance.invalid", "plan");

    let first_id = locker.lock(first.clone()).await.unwrap_or_else(|err| panic!("an unlocked state must lock: {err}"));
    assert_eq!(first_id, first.id, "lock must return the id of the lock it recorded");
    expect_held_by(locker.lock(second.clone()).await, &first);

    match locker.unlock("not-the-lock-id").await {
        Err(LockError::WrongId { holder, .. }) => assert_eq!(*holder, first, "WrongId must name the holder"),
        other => panic!("unlock with the wrong id must fail with WrongId, got {other:?}"),
    }
    match locker.force_unlock("not-the-lock-id").await {
        Err(LockError::WrongId { .. }) => {}
        other => panic!("force_unlock with the wrong id must fail with WrongId, got {other:?}"),
    }
    expect_held_by(locker.lock(second.clone()).await, &first);

    locker.force_unlock(&first_id).await.unwrap_or_else(|err| panic!("force_unlock with the held id must work: {err}"));
    let second_id =
        locker.lock(second.clone()).await.unwrap_or_else(|err| panic!("a force-unlocked state must lock: {err}"));
    expect_held_by(locker.lock(first.clone()).await, &second);

    locker.unlock(&second_id).await.unwrap_or_else(|err| panic!("unlock with the held id must work: {err}"));
    match locker.unlock(&second_id).await {
        Err(LockError::NotHeld { .. }) => {}
        other => panic!("unlocking an unlocked state must fail with NotHeld, got {other:?}"),
    }
    let again =
        locker.lock(first.clone()).await.unwrap_or_else(|err| panic!("an unlocked state must lock again: {err}"));
    locker.unlock(&again).await.unwrap_or_else(|err| panic!("unlock after relocking must work: {err}"));
}

async fn read(store: &dyn StateStore) -> Option<State> {
    store.read().await.unwrap_or_else(|err| panic!("{}: read failed: {err}", store.describe()))
}

fn expect_held_by(result: Result<String, LockError>, holder: &LockInfo) {
    match result {
        Err(LockError::Held { holder: found, .. }) => assert_eq!(&*found, holder, "Held must name the lock's holder"),
        other => panic!("locking a held lock must fail with Held naming {}, got {other:?}", holder.who),
    }
}

fn lock_info(id: &str, who: &str, operation: &str) -> LockInfo {
    LockInfo {
        id: id.to_owned(),
        operation: operation.to_owned(),
        who: who.to_owned(),
        // A host that is never this one, so that no backend judges the holder gone by its pid.
        pid: 4711,
        host: "conformance.invalid".to_owned(),
        created: datetime!(2026-11-23 18:40:00 UTC),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

fn sample_state() -> State {
    let mut state = State::new();
    state.serial = 1;
    let role = Value::object([
        ("id", Value::from("litellm")),
        ("description", Value::from("gateway — ünïcode and \"quotes\"")),
        ("password", Value::from("hunter2").sensitive()),
        ("max_session_duration", Value::from(3600)),
    ]);
    let address = "aws_iam_role.litellm".parse().unwrap_or_else(|err| panic!("{err}"));
    let resource = ResourceState::from_value("aws_iam_role", "aws", &role, [])
        .unwrap_or_else(|err| panic!("the sample resource must be storable: {err}"));
    state.resources.insert(address, resource);
    state.outputs.insert("role".to_owned(), OutputState { value: "litellm".into(), sensitive: false });
    state
}
