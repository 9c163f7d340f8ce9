//! IAM members and bindings: the conformance suite, one read-modify-write per policy for many
//! members, concurrent writers, members the spec does not own.

use crate::{create, google, provider, start, strings, PROJECT};
use futures::future::join_all;
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::Provider;

const MEMBER: &str = "google_project_iam_member";
const BINDING: &str = "google_project_iam_binding";
const SA_MEMBER: &str = "google_service_account_iam_member";
const GET: &str = "POST /v3/projects/{}:getIamPolicy";
const SET: &str = "POST /v3/projects/{}:setIamPolicy";

fn member(role: &str, member: &str) -> Value {
    Value::object([("role", role.into()), ("member", member.into())])
}

fn other_member(state: &Value) -> Value {
    let mut map = state.as_object().cloned().unwrap_or_default();
    map.insert("member".into(), "user:nobody@example.com".into());
    Value::Object(map)
}

#[tokio::test]
async fn project_iam_member_conforms() {
    let (_sandbox, provider) = start(google()).await;
    let case = Case::new(MEMBER, member("roles/aiplatform.user", "user:ops@example.com"))
        .with_import_id(|_| format!("{PROJECT} roles/aiplatform.user user:ops@example.com"))
        .with_missing_state(other_member)
        .with_idempotent_create();
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn project_iam_binding_conforms() {
    let (_sandbox, provider) = start(google()).await;
    let body = |members: &[&str]| Value::object([("role", "roles/viewer".into()), ("members", strings(members))]);
    let case = Case::new(BINDING, body(&["user:a@example.com"]))
        .with_update(body(&["user:a@example.com", "user:b@example.com"]))
        .with_import_id(|_| format!("{PROJECT} roles/viewer"))
        .with_missing_state(|state| {
            let mut map = state.as_object().cloned().unwrap_or_default();
            map.insert("role".into(), "roles/never.granted".into());
            Value::Object(map)
        })
        .with_idempotent_create();
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn service_account_iam_member_conforms() {
    let (_sandbox, provider) = start(google()).await;
    let account =
        create(&provider, "google_service_account", Value::object([("account_id", "litellm-wif-sa".into())])).await;
    let name = account.get("name").and_then(Value::as_str).unwrap().to_owned();
    let principal_set = "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/litellm-pod";
    let body = Value::object([
        ("service_account_id", Value::string(&name)),
        ("role", "roles/iam.workloadIdentityUser".into()),
        ("member", principal_set.into()),
    ]);
    let case = Case::new(SA_MEMBER, body)
        .with_import_id(move |_| format!("{name} roles/iam.workloadIdentityUser {principal_set}"))
        .with_missing_state(other_member)
        .with_idempotent_create();
    conformance::run(&provider, &case).await.unwrap();
}

/// The N members a spec grants on one project, started together as the walker starts them,
/// cost one getIamPolicy and one setIamPolicy; a refresh of all of them one more read.
#[tokio::test]
async fn many_members_of_one_policy_cost_one_read_modify_write() {
    let (sandbox, provider) = start(google()).await;
    const N: usize = 8;
    let bodies: Vec<Value> =
        (0..N).map(|i| member("roles/aiplatform.user", &format!("user:member{i}@example.com"))).collect();
    let states = join_all(bodies.into_iter().map(|body| create(&provider, MEMBER, body))).await;
    println!("{N} members: {} getIamPolicy, {} setIamPolicy", sandbox.requests_for(GET), sandbox.requests_for(SET));
    assert_eq!((sandbox.requests_for(GET), sandbox.requests_for(SET)), (1, 1), "{:?}", sandbox.requests_by_route());

    // A fresh provider (a new `trustform plan`) refreshes all N with one read.
    let refresher = provider_for(&sandbox).await;
    let reads = join_all(states.iter().map(|state| refresher.read(MEMBER, state))).await;
    assert!(reads.iter().all(|read| matches!(read, Ok(Some(_)))));
    assert_eq!(sandbox.requests_for(GET), 2);
}

async fn provider_for(sandbox: &trustform_sandbox::Sandbox) -> trustform_gcp::GoogleProvider {
    provider(sandbox).await
}

/// Two processes (two providers, so no shared batching) writing the same policy at once: the
/// loser's etag is stale, it reads again and retries, and nobody's member is lost.
#[tokio::test]
async fn concurrent_writers_to_one_policy_both_land() {
    let (sandbox, first) = start(google()).await;
    let second = provider(&sandbox).await;
    let writes = (0..4).map(|i| {
        let provider = if i % 2 == 0 { &first } else { &second };
        create(provider, MEMBER, member("roles/viewer", &format!("user:writer{i}@example.com")))
    });
    let states = join_all(writes).await;
    let reader = provider(&sandbox).await;
    for state in &states {
        assert!(reader.read(MEMBER, state).await.unwrap().is_some(), "lost {:?}", state.get("member"));
    }
}

/// A `_member` adds and removes only its own member; a `_binding` reads every member of its
/// role, so a member added behind Trustform's back shows as drift to remove.
#[tokio::test]
async fn members_not_owned_by_the_spec_survive_and_bindings_see_them() {
    let (sandbox, provider) = start(google()).await;
    let outsider = create(&provider, MEMBER, member("roles/viewer", "user:outsider@example.com")).await;
    let ours = create(&provider, MEMBER, member("roles/viewer", "user:ours@example.com")).await;
    provider.delete(MEMBER, &ours).await.unwrap();
    assert!(provider.read(MEMBER, &outsider).await.unwrap().is_some(), "a _member removed someone else");

    let binding = create(
        &provider,
        BINDING,
        Value::object([("role", "roles/editor".into()), ("members", strings(&["user:ours@example.com"]))]),
    )
    .await;
    create(&provider, MEMBER, member("roles/editor", "user:sneaky@example.com")).await;
    // The next command's refresh: a fresh provider, so nothing is reused from this one's reads.
    let refreshed = provider_for(&sandbox).await.read(BINDING, &binding).await.unwrap().expect("the binding");
    assert_eq!(refreshed.get("members"), Some(&strings(&["user:ours@example.com", "user:sneaky@example.com"])));
}

/// Regression: with its service account deleted, a service-account IAM member failed to refresh
/// ("Unknown service account") instead of reading as gone, and its delete failed the same way.
#[tokio::test]
async fn members_of_a_deleted_service_account_read_as_gone() {
    let (_sandbox, provider) = start(google()).await;
    let account =
        create(&provider, "google_service_account", Value::object([("account_id", "short-lived".into())])).await;
    let grant = create(
        &provider,
        SA_MEMBER,
        Value::object([
            ("service_account_id", account.get("name").cloned().unwrap()),
            ("role", "roles/iam.serviceAccountUser".into()),
            ("member", "user:ops@example.com".into()),
        ]),
    )
    .await;
    provider.delete("google_service_account", &account).await.unwrap();
    let fresh = provider_for(&_sandbox).await;
    assert_eq!(fresh.read(SA_MEMBER, &grant).await.unwrap(), None);
    fresh.delete(SA_MEMBER, &grant).await.unwrap();
}

/// Seed 001's first apply: a project member naming a service account created a moment ago is
/// refused `400 INVALID_ARGUMENT` "Service account X does not exist." for a while after the
/// account reads back. The write is retried under the one retry policy and lands.
#[tokio::test]
async fn a_member_naming_a_new_service_account_waits_out_iams_window() {
    let window = google().gcp_service_account_member_delay(std::time::Duration::from_millis(800));
    let (sandbox, provider) = start(window).await;
    let account =
        create(&provider, "google_service_account", Value::object([("account_id", "litellm-wif-sa".into())])).await;
    let email = account.get("email").and_then(Value::as_str).unwrap().to_owned();
    let granted = create(&provider, MEMBER, member("roles/aiplatform.user", &format!("serviceAccount:{email}"))).await;
    // The first write (at least) was refused, the last one landed.
    assert!(sandbox.requests_for(SET) >= 2, "{:?}", sandbox.requests_by_route());
    assert!(provider.read(MEMBER, &granted).await.unwrap().is_some());
}

/// A member IAM never comes to know (a typo in an email of a known project) is refused in IAM's
/// own words once the retry deadline has passed, and nothing else is retried as if it were one.
#[tokio::test]
async fn a_member_that_never_exists_fails_in_iams_words() {
    let sandbox = trustform_sandbox::Sandbox::start(google()).await.unwrap();
    let provider = trustform_gcp::GoogleProvider::new().with_retry_policy(trustform_provider::RetryPolicy {
        deadline: std::time::Duration::from_millis(300),
        ..crate::fast_retries()
    });
    provider.configure(&crate::provider_block(&sandbox.endpoint())).await.unwrap();
    let typo = format!("serviceAccount:nobody@{PROJECT}.iam.gserviceaccount.com");
    let planned = crate::planned(&provider, MEMBER, member("roles/aiplatform.user", &typo));
    let error = provider.create(MEMBER, &planned, &trustform_provider::NoCheckpoint).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("INVALID_ARGUMENT"), "{error}");
    assert!(
        error.message.contains(&format!("Service account nobody@{PROJECT}.iam.gserviceaccount.com does not exist.")),
        "{error}"
    );
}
