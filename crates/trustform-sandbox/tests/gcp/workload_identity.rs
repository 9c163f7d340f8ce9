use std::collections::HashMap;

use google_iam1::api::{
    Aws, Oidc, Operation, UndeleteWorkloadIdentityPoolProviderRequest, UndeleteWorkloadIdentityPoolRequest,
    WorkloadIdentityPool, WorkloadIdentityPoolProvider,
};
use google_iam1::FieldMask;
use trustform_sandbox::SandboxConfig;

use crate::clients::{self, status, Connector, AWS_ACCOUNT, PROJECT_NUMBER};

const PARENT: &str = "projects/my-project/locations/global";
const POOL: &str = "projects/my-project/locations/global/workloadIdentityPools/aws-pool";
const PROVIDER: &str = "projects/my-project/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider";

type Iam = google_iam1::Iam<Connector>;

fn pool(display_name: &str) -> WorkloadIdentityPool {
    WorkloadIdentityPool { display_name: Some(display_name.to_owned()), ..Default::default() }
}

fn aws_provider() -> WorkloadIdentityPoolProvider {
    WorkloadIdentityPoolProvider { aws: Some(Aws { account_id: Some(AWS_ACCOUNT.to_owned()) }), ..Default::default() }
}

async fn create_pool(iam: &Iam, id: &str) -> Result<Operation, google_iam1::Error> {
    let call = iam.projects().locations_workload_identity_pools_create(pool("AWS Pool"), PARENT);
    call.workload_identity_pool_id(id).doit().await.map(|(_, operation)| operation)
}

/// Polls a pool operation until it is done, counting the polls that answered it running.
async fn wait(iam: &Iam, operation: &Operation) -> (usize, HashMap<String, serde_json::Value>) {
    let name = operation.name.clone().unwrap();
    for running in 0..10 {
        let (_, polled) = if name.contains("/providers/") {
            iam.projects().locations_workload_identity_pools_providers_operations_get(&name).doit().await.unwrap()
        } else {
            iam.projects().locations_workload_identity_pools_operations_get(&name).doit().await.unwrap()
        };
        assert_eq!(polled.name.as_deref(), Some(name.as_str()));
        if polled.done == Some(true) {
            assert!(polled.error.is_none(), "{polled:?}");
            return (running, polled.response.unwrap());
        }
    }
    panic!("operation {name} never finished");
}

#[tokio::test]
async fn pool_create_answers_an_operation_polled_to_done() {
    let sandbox = clients::sandbox(SandboxConfig::default().gcp_operation_polls(2)).await;
    let iam = clients::iam(&sandbox);

    let operation = create_pool(&iam, "aws-pool").await.unwrap();
    let name = operation.name.clone().unwrap();
    let prefix = format!("projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/aws-pool/operations/");
    assert!(name.strip_prefix(&prefix).is_some_and(|id| id.len() == 26), "{name}");
    assert_eq!(operation.done, None, "a started operation leaves `done: false` out");

    let (running, response) = wait(&iam, &operation).await;
    assert_eq!(running, 2);
    assert_eq!(response["@type"], "type.googleapis.com/google.iam.v1.WorkloadIdentityPool");
    let pool_name = format!("projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/aws-pool");
    assert_eq!(response["name"], pool_name.as_str());
    assert_eq!(response["state"], "ACTIVE");

    let (_, got) = iam.projects().locations_workload_identity_pools_get(POOL).doit().await.unwrap();
    assert_eq!(got.name.as_deref(), Some(pool_name.as_str()));
    assert_eq!(got.display_name.as_deref(), Some("AWS Pool"));
    assert_eq!(got.state.as_deref(), Some("ACTIVE"));
    assert_eq!((got.disabled, got.expire_time), (None, None));
    assert_eq!(sandbox.requests_for("GET /v1/projects/{}/locations/{}/workloadIdentityPools/{}/operations/{}"), 3);

    let (_, listed) = iam.projects().locations_workload_identity_pools_list(PARENT).doit().await.unwrap();
    assert_eq!(listed.workload_identity_pools.map(|pools| pools.len()), Some(1));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_deleted_pool_blocks_its_id_until_undeleted() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);
    wait(&iam, &create_pool(&iam, "aws-pool").await.unwrap()).await;

    let (_, deleting) = iam.projects().locations_workload_identity_pools_delete(POOL).doit().await.unwrap();
    let (_, response) = wait(&iam, &deleting).await;
    assert_eq!(response["state"], "DELETED");
    let (_, deleted) = iam.projects().locations_workload_identity_pools_get(POOL).doit().await.unwrap();
    assert_eq!(deleted.state.as_deref(), Some("DELETED"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expires_in = deleted.expire_time.unwrap().timestamp() - i64::try_from(now).unwrap();
    assert!((29 * 86_400..=30 * 86_400).contains(&expires_in), "expires in {expires_in}s, not 30 days");

    let (_, listed) = iam.projects().locations_workload_identity_pools_list(PARENT).doit().await.unwrap();
    assert!(listed.workload_identity_pools.is_none());
    let (_, listed) =
        iam.projects().locations_workload_identity_pools_list(PARENT).show_deleted(true).doit().await.unwrap();
    assert_eq!(listed.workload_identity_pools.map(|pools| pools.len()), Some(1));

    assert_eq!(status(create_pool(&iam, "aws-pool").await), "ALREADY_EXISTS");
    let update = iam.projects().locations_workload_identity_pools_patch(pool("renamed"), POOL);
    assert_eq!(status(update.update_mask(FieldMask::new(&["displayName"])).doit().await), "FAILED_PRECONDITION");

    let undelete = UndeleteWorkloadIdentityPoolRequest::default();
    let (_, undeleting) =
        iam.projects().locations_workload_identity_pools_undelete(undelete, POOL).doit().await.unwrap();
    wait(&iam, &undeleting).await;
    let (_, active) = iam.projects().locations_workload_identity_pools_get(POOL).doit().await.unwrap();
    assert_eq!((active.state.as_deref(), active.expire_time), (Some("ACTIVE"), None));

    let update = iam.projects().locations_workload_identity_pools_patch(pool("renamed"), POOL);
    let (_, patching) = update.update_mask(FieldMask::new(&["displayName"])).doit().await.unwrap();
    let (_, response) = wait(&iam, &patching).await;
    assert_eq!(response["displayName"], "renamed");
    assert_eq!(status(create_pool(&iam, "aws-pool").await), "ALREADY_EXISTS");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_pool_requests_answer_googles_errors() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);

    assert_eq!(status(create_pool(&iam, "gcp-reserved").await), "INVALID_ARGUMENT");
    assert_eq!(status(create_pool(&iam, "x").await), "INVALID_ARGUMENT");
    let missing = iam.projects().locations_workload_identity_pools_get(POOL).doit().await;
    assert_eq!(status(missing), "NOT_FOUND");
    let elsewhere =
        iam.projects().locations_workload_identity_pools_create(pool("p"), "projects/other/locations/global");
    assert_eq!(status(elsewhere.workload_identity_pool_id("aws-pool").doit().await), "PERMISSION_DENIED");
    wait(&iam, &create_pool(&iam, "aws-pool").await.unwrap()).await;
    let no_mask = iam.projects().locations_workload_identity_pools_patch(pool("renamed"), POOL).doit().await;
    assert_eq!(status(no_mask), "INVALID_ARGUMENT");
    let unknown = iam.projects().locations_workload_identity_pools_operations_get(&format!("{POOL}/operations/none"));
    assert_eq!(status(unknown.doit().await), "NOT_FOUND");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn provider_lifecycle_with_the_default_aws_mapping() {
    let sandbox = clients::sandbox(SandboxConfig::default().gcp_operation_polls(1)).await;
    let iam = clients::iam(&sandbox);
    wait(&iam, &create_pool(&iam, "aws-pool").await.unwrap()).await;

    let create = iam.projects().locations_workload_identity_pools_providers_create(aws_provider(), POOL);
    let (_, operation) = create.workload_identity_pool_provider_id("aws-provider").doit().await.unwrap();
    let (running, response) = wait(&iam, &operation).await;
    assert_eq!(running, 1);
    assert_eq!(response["@type"], "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider");

    let (_, provider) = iam.projects().locations_workload_identity_pools_providers_get(PROVIDER).doit().await.unwrap();
    let name =
        format!("projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider");
    assert_eq!(provider.name.as_deref(), Some(name.as_str()));
    assert_eq!(provider.state.as_deref(), Some("ACTIVE"));
    assert_eq!(provider.aws.and_then(|aws| aws.account_id).as_deref(), Some(AWS_ACCOUNT));
    let mapping = provider.attribute_mapping.unwrap();
    assert_eq!(mapping.len(), 2);
    assert_eq!(mapping["google.subject"], "assertion.arn");
    assert_eq!(
        mapping["attribute.aws_role"],
        "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + \
         'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"
    );

    let again = iam.projects().locations_workload_identity_pools_providers_create(aws_provider(), POOL);
    assert_eq!(status(again.workload_identity_pool_provider_id("aws-provider").doit().await), "ALREADY_EXISTS");

    let condition = WorkloadIdentityPoolProvider {
        attribute_condition: Some("attribute.aws_role.contains('litellm')".to_owned()),
        ..Default::default()
    };
    let patch = iam.projects().locations_workload_identity_pools_providers_patch(condition, PROVIDER);
    let (_, patching) = patch.update_mask(FieldMask::new(&["attributeCondition"])).doit().await.unwrap();
    let (_, response) = wait(&iam, &patching).await;
    assert_eq!(response["attributeCondition"], "attribute.aws_role.contains('litellm')");
    assert_eq!(response["attributeMapping"]["google.subject"], "assertion.arn");

    let (_, deleting) =
        iam.projects().locations_workload_identity_pools_providers_delete(PROVIDER).doit().await.unwrap();
    let (_, response) = wait(&iam, &deleting).await;
    assert_eq!(response["state"], "DELETED");
    assert!(response["expireTime"].is_string());
    let again = iam.projects().locations_workload_identity_pools_providers_create(aws_provider(), POOL);
    assert_eq!(status(again.workload_identity_pool_provider_id("aws-provider").doit().await), "ALREADY_EXISTS");

    let undelete = UndeleteWorkloadIdentityPoolProviderRequest::default();
    let call = iam.projects().locations_workload_identity_pools_providers_undelete(undelete, PROVIDER);
    let (_, undeleting) = call.doit().await.unwrap();
    wait(&iam, &undeleting).await;
    let (_, provider) = iam.projects().locations_workload_identity_pools_providers_get(PROVIDER).doit().await.unwrap();
    assert_eq!((provider.state.as_deref(), provider.expire_time), (Some("ACTIVE"), None));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn providers_are_validated_against_their_pool_and_kind() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);

    let orphan = iam.projects().locations_workload_identity_pools_providers_create(aws_provider(), POOL);
    assert_eq!(status(orphan.workload_identity_pool_provider_id("aws-provider").doit().await), "NOT_FOUND");

    wait(&iam, &create_pool(&iam, "aws-pool").await.unwrap()).await;
    let github = |mapping: Option<HashMap<String, String>>| WorkloadIdentityPoolProvider {
        oidc: Some(Oidc {
            issuer_uri: Some("https://token.actions.githubusercontent.com".to_owned()),
            allowed_audiences: Some(vec!["https://github.com/octo-org".to_owned()]),
            jwks_json: None,
        }),
        attribute_mapping: mapping,
        ..Default::default()
    };
    let unmapped = iam.projects().locations_workload_identity_pools_providers_create(github(None), POOL);
    assert_eq!(status(unmapped.workload_identity_pool_provider_id("github").doit().await), "INVALID_ARGUMENT");
    let mapping = HashMap::from([("google.subject".to_owned(), "assertion.sub".to_owned())]);
    let mapped = iam.projects().locations_workload_identity_pools_providers_create(github(Some(mapping)), POOL);
    let (_, operation) = mapped.workload_identity_pool_provider_id("github").doit().await.unwrap();
    let (_, response) = wait(&iam, &operation).await;
    assert_eq!(response["oidc"]["allowedAudiences"][0], "https://github.com/octo-org");
    assert_eq!(response["attributeMapping"], serde_json::json!({ "google.subject": "assertion.sub" }));

    let (_, listed) = iam.projects().locations_workload_identity_pools_providers_list(POOL).doit().await.unwrap();
    assert_eq!(listed.workload_identity_pool_providers.map(|providers| providers.len()), Some(1));

    let (_, deleting) = iam.projects().locations_workload_identity_pools_delete(POOL).doit().await.unwrap();
    wait(&iam, &deleting).await;
    let in_deleted = iam.projects().locations_workload_identity_pools_providers_create(aws_provider(), POOL);
    assert_eq!(
        status(in_deleted.workload_identity_pool_provider_id("aws-provider").doit().await),
        "FAILED_PRECONDITION"
    );
    sandbox.shutdown().await;
}
