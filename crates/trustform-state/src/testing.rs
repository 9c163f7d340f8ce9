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

use crate::{LockError, LockInfo, Locker, OutputState, ResourceState, State, StateError, StateStore};
use time::macros::datetime;
use trustform_lang::Value;

/// Runs every rule against a store and its locker, which must start empty and unlocked.
pub async fn conformance(store: &dyn StateStore, locker: &dyn Locker) {
    state_rules(store).await;
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
