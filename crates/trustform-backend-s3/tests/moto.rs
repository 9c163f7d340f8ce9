//! The S3 backend against moto's S3: the shared conformance suite, lockers racing for one lock
//! object, a writer whose lock was broken, stale-lock reports, and workspaces.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::sync::Arc;
use trustform_backend_s3::{S3Backend, S3Remote, S3Settings};
use trustform_state::{LockError, LockInfo, Locker, OutputState, State, StateError, StateStore};
use trustform_test_provider::moto::Moto;

const BUCKET: &str = "trustform-state";

/// A client of our own, for setting up buckets and looking at objects behind the backend's back.
fn raw_s3(moto: &Moto) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(moto.endpoint())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn remote(moto: &Moto, key: &str) -> S3Remote {
    raw_s3(moto).create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    let settings = S3Settings {
        endpoint: Some(moto.endpoint().to_owned()),
        use_path_style: true,
        region: Some("us-east-1".to_owned()),
        ..S3Settings::new(BUCKET, key)
    };
    S3Remote::connect_with_keys(settings, "testing", "testing").await
}

async fn object(moto: &Moto, key: &str) -> Option<Vec<u8>> {
    match raw_s3(moto).get_object().bucket(BUCKET).key(key).send().await {
        Ok(output) => Some(output.body.collect().await.expect("body").into_bytes().to_vec()),
        Err(error) if error.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
        Err(error) => panic!("GetObject {key}: {error:?}"),
    }
}

fn next(state: &State, output: &str) -> State {
    let mut next = state.clone();
    next.serial += 1;
    next.outputs.insert("o".to_owned(), OutputState { value: output.into(), sensitive: false });
    next
}

#[tokio::test]
async fn passes_the_conformance_suite() {
    let moto = Moto::start();
    let backend = remote(&moto, "identity/prod.tfstate").await.backend("default");
    trustform_state::testing::conformance(&backend, &backend).await;
    assert_eq!(backend.describe(), "S3 state s3://trustform-state/identity/prod.tfstate");
}

#[tokio::test]
async fn the_lock_object_sits_beside_the_state_and_records_the_holder() {
    let moto = Moto::start();
    let backend = remote(&moto, "identity/prod.tfstate").await.backend("default");
    assert_eq!(backend.lock_key(), "identity/prod.tfstate.tflock");
    let info = LockInfo::new("apply");
    let id = backend.lock(info.clone()).await.expect("lock");
    let recorded: LockInfo =
        serde_json::from_slice(&object(&moto, "identity/prod.tfstate.tflock").await.expect("lock object")).unwrap();
    assert_eq!(recorded, info);
    backend.unlock(&id).await.expect("unlock");
    assert_eq!(object(&moto, "identity/prod.tfstate.tflock").await, None);
}

#[tokio::test]
async fn of_lockers_racing_for_one_state_exactly_one_wins_and_the_rest_are_told_who() {
    let moto = Moto::start();
    let remote = remote(&moto, "race.tfstate").await;
    let racers: Vec<Arc<S3Backend>> = (0..6).map(|_| Arc::new(remote.backend("default"))).collect();
    let infos: Vec<LockInfo> =
        (0..6).map(|n| LockInfo { who: format!("racer{n}@ci"), ..LockInfo::new("apply") }).collect();
    let attempts = racers.iter().zip(&infos).map(|(backend, info)| {
        let (backend, info) = (Arc::clone(backend), info.clone());
        tokio::spawn(async move { backend.lock(info).await })
    });
    let results: Vec<Result<String, LockError>> =
        join_all(attempts.collect()).await.into_iter().map(|joined| joined.expect("task")).collect();
    let winners: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = infos.iter().find(|info| &info.id == winners[0]).expect("the winner is one of the racers");
    for result in &results {
        match result {
            Ok(_) => {}
            Err(LockError::Held { holder, .. }) => assert_eq!(**holder, *winner),
            Err(other) => panic!("a loser must be told who holds the lock, got {other}"),
        }
    }
}

async fn join_all<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await);
    }
    results
}

#[tokio::test]
async fn a_writer_whose_lock_was_broken_cannot_overwrite_the_next_holders_state() {
    let moto = Moto::start();
    let remote = remote(&moto, "broken.tfstate").await;
    let (first, second) = (remote.backend("default"), remote.backend("default"));

    let first_id = first.lock(LockInfo::new("apply")).await.expect("first lock");
    let v1 = next(&State::new(), "first run");
    first.write(&v1).await.expect("the holder writes");

    // The operator decides the first run is gone and breaks its lock; a second run takes over.
    second.force_unlock(&first_id).await.expect("force-unlock");
    let second_id = second.lock(LockInfo::new("apply")).await.expect("second lock");
    let current = second.read().await.expect("read").expect("state");
    let v2 = next(&current, "second run");
    second.write(&v2).await.expect("the new holder writes");

    // The first run wakes up and writes a state with a higher serial: refused all the same.
    let mut late = next(&v1, "first run, late");
    late.serial += 10;
    let err = first.write(&late).await.expect_err("the broken lock's writer is refused");
    assert!(matches!(err, StateError::ChangedSinceRead { .. }), "{err}");
    assert!(err.to_string().contains("force-unlocked"), "{err}");
    // And stays refused.
    assert!(matches!(first.write(&next(&late, "again")).await, Err(StateError::ChangedSinceRead { .. })));
    assert_eq!(object(&moto, "broken.tfstate").await, Some(v2.to_json_bytes()));
    second.unlock(&second_id).await.expect("unlock");
}

#[tokio::test]
async fn a_write_under_a_lock_is_refused_when_the_state_changed_after_locking() {
    let moto = Moto::start();
    let remote = remote(&moto, "changed.tfstate").await;
    let (ours, intruder) = (remote.backend("default"), remote.backend("default"));
    let v1 = next(&State::new(), "one");
    ours.write(&v1).await.expect("first write");
    // A fresh backend, as a new command is: it reads the ETag when it locks.
    let ours = remote.backend("default");
    let id = ours.lock(LockInfo::new("apply")).await.expect("lock");
    // Someone writes without taking the lock (an older tool, a hand edit).
    intruder.write(&next(&v1, "intruder")).await.expect("an unlocked write");
    let err = ours.write(&next(&next(&v1, "ours"), "ours")).await.expect_err("refused");
    assert!(matches!(err, StateError::ChangedSinceRead { .. }), "{err}");
    ours.unlock(&id).await.expect("unlock");
}

#[tokio::test]
async fn a_stale_lock_names_its_holder_host_pid_operation_and_age() {
    let moto = Moto::start();
    let backend = remote(&moto, "stale.tfstate").await.backend("default");
    let mut stale = LockInfo::new("apply");
    stale.who = "runner@ci-42".to_owned();
    stale.host = "ci-42".to_owned();
    stale.pid = 4711;
    stale.created -= time::Duration::minutes(3 * 60 + 12);
    backend.lock(stale.clone()).await.expect("the stale lock");
    let err = backend.lock(LockInfo::new("plan")).await.expect_err("held");
    let message = err.to_string();
    for part in ["runner@ci-42", "(pid 4711)", "for apply since", "held for 3h12m", &stale.id] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert!(message.starts_with("S3 state s3://trustform-state/stale.tfstate is locked"), "{message}");
}

#[tokio::test]
async fn unlock_leaves_a_lock_taken_by_someone_else_alone() {
    let moto = Moto::start();
    let backend = remote(&moto, "other.tfstate").await.backend("default");
    let holder = LockInfo::new("apply");
    backend.lock(holder.clone()).await.expect("lock");
    let err = backend.unlock("someone-else").await.expect_err("wrong id");
    assert!(matches!(&err, LockError::WrongId { holder: h, .. } if **h == holder), "{err}");
    assert!(object(&moto, "other.tfstate.tflock").await.is_some());
}

#[tokio::test]
async fn workspaces_keep_separate_states_under_the_prefix_and_are_listed() {
    let moto = Moto::start();
    let remote = remote(&moto, "identity/prod.tfstate").await;
    assert_eq!(remote.workspaces().await.expect("list"), ["default"]);
    let staging = remote.backend("staging");
    assert_eq!(staging.key(), "env:/staging/identity/prod.tfstate");
    let state = next(&State::new(), "staging");
    staging.write(&state).await.expect("write staging");
    remote.backend("qa").write(&State::new()).await.expect("write qa");
    assert_eq!(remote.workspaces().await.expect("list"), ["default", "qa", "staging"]);
    assert_eq!(remote.backend("default").read().await.expect("read"), None);
    assert_eq!(object(&moto, "env:/staging/identity/prod.tfstate").await, Some(state.to_json_bytes()));

    staging.delete_state().await.expect("delete");
    assert_eq!(remote.workspaces().await.expect("list"), ["default", "qa"]);
    assert_eq!(staging.read().await.expect("read"), None);
}

#[tokio::test]
async fn a_missing_bucket_is_reported_with_the_service_error() {
    let moto = Moto::start();
    let settings = S3Settings {
        endpoint: Some(moto.endpoint().to_owned()),
        use_path_style: true,
        ..S3Settings::new("no-such-bucket", "x.tfstate")
    };
    let backend = S3Remote::connect_with_keys(settings, "testing", "testing").await.backend("default");
    let err = backend.read().await.expect_err("no bucket");
    let message = err.to_string();
    assert!(message.starts_with("could not read S3 state s3://no-such-bucket/x.tfstate:"), "{message}");
    assert!(message.contains("NoSuchBucket"), "{message}");
    assert!(!message.contains("testing"), "credentials must not appear: {message}");
}

#[tokio::test]
async fn a_lock_request_retried_after_a_lost_answer_finds_its_own_lock() {
    let moto = Moto::start();
    let backend = remote(&moto, "retried.tfstate").await.backend("default");
    let info = LockInfo::new("apply");
    backend.lock(info.clone()).await.expect("first attempt");
    // The same record again, as the SDK's retry of a create whose 200 never arrived sends it.
    assert_eq!(backend.lock(info.clone()).await.expect("the retry is ours"), info.id);
    let err = backend.lock(LockInfo::new("apply")).await.expect_err("anyone else is refused");
    assert!(matches!(err, LockError::Held { holder, .. } if *holder == info));
}

#[tokio::test]
async fn a_write_retried_after_a_lost_answer_finds_its_own_bytes() {
    let moto = Moto::start();
    let backend = remote(&moto, "lost.tfstate").await.backend("default");
    let v1 = next(&State::new(), "one");
    backend.write(&v1).await.expect("first write");
    // The next write reached S3, but its answer was lost: the backend still holds v1's ETag.
    let v2 = next(&v1, "two");
    raw_s3(&moto)
        .put_object()
        .bucket(BUCKET)
        .key("lost.tfstate")
        .body(v2.to_json_bytes().into())
        .send()
        .await
        .expect("PutObject");
    backend.write(&v2).await.expect("the retried write recognises its own bytes");
    // And the ETag it now holds is the object's: the next write goes through.
    backend.write(&next(&v2, "three")).await.expect("a later write");
    // Bytes that are not ours are still refused.
    raw_s3(&moto)
        .put_object()
        .bucket(BUCKET)
        .key("lost.tfstate")
        .body(next(&v2, "someone else").to_json_bytes().into())
        .send()
        .await
        .expect("PutObject");
    let err = backend.write(&next(&next(&v2, "three"), "four")).await.expect_err("refused");
    assert!(matches!(err, StateError::ChangedSinceRead { .. }), "{err}");
}

/// A state encryption as the spec's `encryption` block builds it, at the lowest work factor.
fn encryption(passphrase: &str) -> trustform_state::Encryption {
    use trustform_state::encryption::{
        HashFunction, Method, Passphrase, Payload, Pbkdf2KeyProvider, Pbkdf2Settings, MIN_ITERATIONS,
    };
    let settings = Pbkdf2Settings { iterations: MIN_ITERATIONS, salt_length: 16, hash_function: HashFunction::Sha256 };
    let keys = Pbkdf2KeyProvider::new("main", Passphrase::new(passphrase), settings).unwrap();
    let primary = Method::AesGcm { name: "main".to_owned(), keys: std::sync::Arc::new(keys) };
    trustform_state::Encryption::new(Payload::State, primary, None, true).unwrap()
}

#[tokio::test]
async fn passes_the_conformance_suite_encrypted_and_no_secret_reaches_the_bucket() {
    let moto = Moto::start();
    let backend =
        remote(&moto, "secret.tfstate").await.backend("default").with_encryption(encryption("a bucket passphrase"));
    trustform_state::testing::conformance(&backend, &backend).await;
    let mut with_secret = backend.read().await.unwrap().unwrap();
    with_secret.serial += 1;
    with_secret
        .outputs
        .insert("client_secret".to_owned(), OutputState { value: "canary-51b7".into(), sensitive: true });
    backend.write(&with_secret).await.unwrap();
    let stored = object(&moto, "secret.tfstate").await.unwrap();
    assert!(trustform_state::Encryption::is_encrypted(&stored));
    assert!(!stored.windows(11).any(|w| w == b"canary-51b7"), "the secret reached the bucket in plain text");
    assert_eq!(backend.read().await.unwrap().unwrap(), with_secret, "and decrypts back");

    // Another passphrase cannot read it, and so never overwrites it.
    let intruder =
        remote(&moto, "secret.tfstate").await.backend("default").with_encryption(encryption("some other passphrase"));
    assert!(intruder.read().await.is_err());
    let mut next = with_secret.clone();
    next.serial += 1;
    assert!(intruder.write(&next).await.is_err());
    assert_eq!(object(&moto, "secret.tfstate").await.unwrap(), stored, "the object is untouched");
}
