//! Service accounts, pools and providers: the conformance suite, soft delete and undelete,
//! operations, eventual consistency, the project data source, and faults.

use crate::{create, google, planned, provider, start, strings, NUMBER, PROJECT};
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{Checkpoint, NoCheckpoint, Provider};
use trustform_sandbox::Sandbox;

const SA: &str = "google_service_account";
const POOL: &str = "google_iam_workload_identity_pool";
const POOL_PROVIDER: &str = "google_iam_workload_identity_pool_provider";

fn pool_body(id: &str, description: &str) -> Value {
    Value::object([
        ("workload_identity_pool_id", id.into()),
        ("display_name", "AWS Pool".into()),
        ("description", description.into()),
    ])
}

fn aws_provider_body(pool: &str, condition: Option<&str>) -> Value {
    let mut body = vec![
        ("workload_identity_pool_id", Value::from(pool)),
        ("workload_identity_pool_provider_id", "aws-provider".into()),
        ("aws", Value::object([("account_id", "111122223333".into())])),
    ];
    if let Some(condition) = condition {
        body.push(("attribute_condition", condition.into()));
    }
    Value::object(body)
}

fn is_soft_deleted(state: &Value) -> bool {
    state.get("state") == Some(&Value::from("DELETED"))
}

#[tokio::test]
async fn service_account_conforms() {
    let (_sandbox, provider) = start(google()).await;
    let case =
        Case::new(SA, Value::object([("account_id", "litellm-wif-sa".into()), ("display_name", "LiteLLM".into())]))
            .with_update(Value::object([
                ("account_id", "litellm-wif-sa".into()),
                ("display_name", "LiteLLM gateway".into()),
                ("description", "Impersonated by the gateway's AWS role".into()),
            ]))
            .with_import_id(|state| state.get("email").and_then(Value::as_str).unwrap_or_default().to_owned())
            .with_missing_state(|state| {
                let mut map = state.as_object().cloned().unwrap_or_default();
                let missing = format!("projects/{PROJECT}/serviceAccounts/missing@{PROJECT}.iam.gserviceaccount.com");
                map.insert("name".into(), Value::string(&missing));
                map.insert("id".into(), Value::string(missing));
                Value::Object(map)
            });
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn pool_conforms_with_soft_delete() {
    let (_sandbox, provider) = start(google()).await;
    let case = Case::new(POOL, pool_body("aws-pool", "for the gateway"))
        .with_update(pool_body("aws-pool", "changed in place"))
        .with_soft_delete(is_soft_deleted);
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn pool_provider_conforms_with_soft_delete() {
    let (_sandbox, provider) = start(google()).await;
    create(&provider, POOL, pool_body("aws-pool", "")).await;
    let case = Case::new(POOL_PROVIDER, aws_provider_body("aws-pool", None))
        .with_update(aws_provider_body("aws-pool", Some("attribute.aws_role.contains('litellm')")))
        .with_soft_delete(is_soft_deleted);
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn names_carry_the_project_number_and_aws_gets_the_default_mapping() {
    let (_sandbox, provider) = start(google()).await;
    // The plan already knows the names, from the number `configure` looked up.
    let planned_pool = planned(&provider, POOL, pool_body("aws-pool", ""));
    let planned_provider = planned(&provider, POOL_PROVIDER, aws_provider_body("aws-pool", None));
    let pool = create(&provider, POOL, pool_body("aws-pool", "")).await;
    assert_eq!(planned_pool.get("name"), pool.get("name"));
    assert_eq!(
        planned_provider.get("name"),
        Some(&Value::string(format!(
            "projects/{NUMBER}/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider"
        )))
    );
    assert_eq!(
        pool.get("name"),
        Some(&Value::string(format!("projects/{NUMBER}/locations/global/workloadIdentityPools/aws-pool")))
    );
    assert_eq!(
        pool.get("id"),
        Some(&Value::string(format!("projects/{PROJECT}/locations/global/workloadIdentityPools/aws-pool")))
    );
    let aws = create(&provider, POOL_PROVIDER, aws_provider_body("aws-pool", None)).await;
    assert_eq!(aws.get("name"), planned_provider.get("name"));
    let mapping = aws.get("attribute_mapping").and_then(Value::as_object).expect("a default mapping");
    assert_eq!(mapping.get("google.subject"), Some(&Value::from("assertion.arn")));
    assert!(mapping.contains_key("attribute.aws_role"), "{mapping:?}");

    let oidc = Value::object([
        ("workload_identity_pool_id", "aws-pool".into()),
        ("workload_identity_pool_provider_id", "github".into()),
        ("attribute_mapping", Value::object([("google.subject", "assertion.sub".into())])),
        (
            "oidc",
            Value::object([
                ("issuer_uri", "https://token.actions.githubusercontent.com".into()),
                ("allowed_audiences", strings(&["sts.amazonaws.com"])),
            ]),
        ),
    ]);
    let github = create(&provider, POOL_PROVIDER, oidc).await;
    assert_eq!(
        github.get("oidc").and_then(|o| o.get("issuer_uri")),
        Some(&Value::from("https://token.actions.githubusercontent.com"))
    );
}

/// Records what the engine would persist while a create waits on its operation.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl Checkpoint for Recorded {
    async fn record(&self, state: &Value) {
        self.0.lock().unwrap().push(state.clone());
    }
}

#[tokio::test]
async fn a_pool_is_checkpointed_before_its_operation_is_polled_and_polls_are_counted() {
    let (sandbox, provider) = start(google().gcp_operation_polls(3)).await;
    let recorded = Recorded::default();
    let planned = planned(&provider, POOL, pool_body("aws-pool", ""));
    let created = provider.create(POOL, &planned, &recorded).await.unwrap();
    let checkpoints = recorded.0.lock().unwrap().clone();
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0].get("id"), created.get("id"));
    // Three polls answered "running", the fourth "done".
    let polls = sandbox.requests_for("GET /v1/projects/{}/locations/{}/workloadIdentityPools/{}/operations/{}");
    assert_eq!(polls, 4, "{:?}", sandbox.requests_by_route());
}

#[tokio::test]
async fn a_soft_deleted_pool_plans_an_undelete_and_a_recreate_undeletes() {
    let (_sandbox, provider) = start(google()).await;
    let pool = create(&provider, POOL, pool_body("aws-pool", "first")).await;
    provider.delete(POOL, &pool).await.unwrap();

    // Refresh keeps the soft-deleted pool; the plan wants it ACTIVE again: an in-place update.
    let refreshed = provider.read(POOL, &pool).await.unwrap().expect("a soft-deleted pool is still there");
    assert_eq!(refreshed.get("state"), Some(&Value::from("DELETED")));
    let config =
        trustform_schema::conform(&provider.schema().resources[POOL].block, &pool_body("aws-pool", "second")).unwrap();
    let wanted = provider.plan(POOL, Some(&refreshed), config).unwrap();
    assert_eq!(wanted.get("state"), Some(&Value::from("ACTIVE")));
    let restored = provider.update(POOL, &refreshed, &wanted).await.unwrap();
    assert_eq!(restored.get("state"), Some(&Value::from("ACTIVE")));
    assert_eq!(restored.get("description"), Some(&Value::from("second")));

    // With the state lost, a create of the same ID meets Google's 409 and undeletes instead.
    provider.delete(POOL, &restored).await.unwrap();
    let again = create(&provider, POOL, pool_body("aws-pool", "third")).await;
    assert_eq!(again.get("state"), Some(&Value::from("ACTIVE")));
    assert_eq!(again.get("description"), Some(&Value::from("third")));

    // An active pool of the same ID is someone else's: refused with how to import it.
    let planned = planned(&provider, POOL, pool_body("aws-pool", "third"));
    let error = provider.create(POOL, &planned, &NoCheckpoint).await.unwrap_err();
    assert!(error.message.contains("import it with the id"), "{error}");
}

#[tokio::test]
async fn a_new_service_account_is_readable_when_create_returns() {
    let (sandbox, provider) = start(google()).await;
    let account = create(&provider, SA, Value::object([("account_id", "litellm-wif-sa".into())])).await;
    assert_eq!(account.get("email"), Some(&Value::string(format!("litellm-wif-sa@{PROJECT}.iam.gserviceaccount.com"))));
    // The sandbox hid the account for a moment: create polled through the 404s.
    let gets = sandbox.requests_for("GET /v1/projects/{}/serviceAccounts/{}");
    assert!(gets >= 2, "{:?}", sandbox.requests_by_route());
    assert!(provider.read(SA, &account).await.unwrap().is_some());
}

#[tokio::test]
async fn the_project_data_source_gives_the_number() {
    let (_sandbox, provider) = start(google()).await;
    let project = provider.read_data("google_project", &Value::Null).await.unwrap();
    assert_eq!(project.get("number"), Some(&Value::string(NUMBER.to_string())));
    assert_eq!(project.get("project_id"), Some(&Value::from(PROJECT)));
    let unknown = provider.read_data("google_project", &Value::object([("project_id", "nope".into())])).await;
    assert!(unknown.is_err());
}

/// Creates, reads and deletes one of everything; returns the requests it took.
async fn full_lifecycle(sandbox: &Sandbox) -> u64 {
    let provider = provider(sandbox).await;
    let account = create(&provider, SA, Value::object([("account_id", "flaky-sa".into())])).await;
    let pool = create(&provider, POOL, pool_body("flaky-pool", "")).await;
    let aws = create(&provider, POOL_PROVIDER, aws_provider_body("flaky-pool", None)).await;
    let member = create(
        &provider,
        "google_project_iam_member",
        Value::object([("role", "roles/aiplatform.user".into()), ("member", account.get("member").cloned().unwrap())]),
    )
    .await;
    for (type_name, state) in
        [(SA, &account), (POOL, &pool), (POOL_PROVIDER, &aws), ("google_project_iam_member", &member)]
    {
        assert!(provider.read(type_name, state).await.unwrap().is_some(), "{type_name} is gone");
    }
    for (type_name, state) in
        [("google_project_iam_member", &member), (POOL_PROVIDER, &aws), (POOL, &pool), (SA, &account)]
    {
        provider.delete(type_name, state).await.unwrap_or_else(|e| panic!("delete {type_name}: {e}"));
    }
    assert_eq!(provider.read(SA, &account).await.unwrap(), None);
    assert_eq!(provider.read("google_project_iam_member", &member).await.unwrap(), None);
    sandbox.request_count()
}

#[tokio::test]
async fn every_operation_rides_out_injected_faults() {
    let clean = Sandbox::start(google()).await.unwrap();
    let without_faults = full_lifecycle(&clean).await;
    let faulty = Sandbox::start(google().fault_rate(0.2).seed(5)).await.unwrap();
    let with_faults = full_lifecycle(&faulty).await;
    println!("requests for the same work: {without_faults} without faults, {with_faults} with 20% faults");
    assert!(with_faults > without_faults, "no fault was injected");
}
