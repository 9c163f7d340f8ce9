//! EKS pod identity associations and `aws_eks_cluster` against the sandbox, which also serves
//! the IAM and STS calls, so these tests need no Python. Also the API calls each resource costs,
//! counted by the sandbox, and convergence under injected faults.

use crate::support::provider;
use std::time::Duration;
use trustform_aws::AwsProvider;
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider};
use trustform_sandbox::{Sandbox, SandboxConfig};
use trustform_schema::conform;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
const POD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;
const BEDROCK_INVOKE: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#;

async fn sandbox(config: SandboxConfig) -> (Sandbox, AwsProvider) {
    let sandbox = Sandbox::start(config.cluster("litellm", ISSUER)).await.expect("the sandbox starts");
    let endpoint = sandbox.endpoint();
    let provider = provider(&endpoint, Some(&endpoint)).await;
    (sandbox, provider)
}

async fn create(provider: &AwsProvider, type_name: &str, body: Value) -> Value {
    let planned = conform(&provider.schema().resources[type_name].block, &body).expect("the body fits the schema");
    provider.create(type_name, &planned, &NoCheckpoint).await.unwrap_or_else(|e| panic!("create {type_name}: {e}"))
}

async fn role(provider: &AwsProvider, name: &str) -> String {
    let role = create(
        provider,
        "aws_iam_role",
        Value::object([("name", name.into()), ("assume_role_policy", POD_TRUST.into())]),
    )
    .await;
    role.get("arn").and_then(Value::as_str).expect("an ARN").to_owned()
}

fn association(role_arn: &str) -> Value {
    Value::object([
        ("cluster_name", "litellm".into()),
        ("namespace", "litellm".into()),
        ("service_account", "litellm-sa".into()),
        ("role_arn", role_arn.into()),
    ])
}

#[tokio::test]
async fn pod_identity_association_conforms() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default().visibility_delay(Duration::from_millis(300))).await;
    let (first, second) = (role(&provider, "litellm-pod").await, role(&provider, "litellm-pod-2").await);
    let case = Case::new("aws_eks_pod_identity_association", association(&first))
        .with_update(association(&second))
        .with_import_id(|state| {
            let field = |name| state.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            format!("{},{}", field("cluster_name"), field("association_id"))
        });
    conformance::run(&provider, &case).await.unwrap();
}

/// moto lacks the client id calls; the sandbox has them.
#[tokio::test]
async fn openid_connect_provider_client_ids_change_in_place() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let url = "https://token.actions.githubusercontent.com";
    let ids = |items: &[&str]| Value::List(items.iter().map(|item| Value::from(*item)).collect());
    let case = Case::new(
        "aws_iam_openid_connect_provider",
        Value::object([("url", url.into()), ("client_id_list", ids(&["sts.amazonaws.com"]))]),
    )
    .with_update(Value::object([
        ("url", url.into()),
        ("client_id_list", ids(&["https://github.com/BerriAI", "sts.amazonaws.com"])),
        ("thumbprint_list", ids(&["6938fd4d98bab03faadb97b34396831e3780aea1"])),
    ]));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn a_new_association_is_visible_when_create_returns() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default().visibility_delay(Duration::from_millis(500))).await;
    let role_arn = role(&provider, "litellm-pod").await;
    let created = create(&provider, "aws_eks_pod_identity_association", association(&role_arn)).await;
    let read = provider.read("aws_eks_pod_identity_association", &created).await.unwrap();
    assert_eq!(read.as_ref().and_then(|state| state.get("role_arn")), Some(&Value::from(role_arn.as_str())));
    let id = created.get("association_id").and_then(Value::as_str).unwrap();
    assert!(created.get("association_arn").and_then(Value::as_str).is_some_and(|arn| arn.ends_with(id)));
}

/// Remembers what the provider records while it waits.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl trustform_provider::Checkpoint for Recorder {
    async fn record(&self, state: &Value) {
        self.0.lock().expect("not poisoned").push(state.clone());
    }
}

#[tokio::test]
async fn an_accepted_association_is_recorded_before_the_wait() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default().visibility_delay(Duration::from_millis(300))).await;
    let role_arn = role(&provider, "litellm-pod").await;
    let planned =
        conform(&provider.schema().resources["aws_eks_pod_identity_association"].block, &association(&role_arn))
            .expect("the body fits the schema");
    let recorder = Recorder::default();
    let created = provider.create("aws_eks_pod_identity_association", &planned, &recorder).await.unwrap();
    let recorded = recorder.0.into_inner().expect("not poisoned");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].get("id"), created.get("id"));
    assert_eq!(recorded[0].get("association_id"), created.get("association_id"));
}

#[tokio::test]
async fn the_cluster_data_source_gives_the_oidc_issuer() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let cluster = provider.read_data("aws_eks_cluster", &Value::object([("name", "litellm".into())])).await.unwrap();
    let issuer = cluster
        .get("identity")
        .and_then(|identity| identity.as_list()?.first()?.get("oidc")?.as_list()?.first()?.get("issuer"))
        .and_then(Value::as_str);
    assert_eq!(issuer, Some(ISSUER));
    let ca = cluster
        .get("certificate_authority")
        .and_then(|ca| ca.as_list()?.first()?.get("data"))
        .and_then(Value::as_str)
        .expect("certificate_authority[0].data, as Terraform shapes it");
    assert!(ca.starts_with("LS0tLS1CRUdJTi"), "the base64 of a PEM: {ca}");
    assert_eq!(cluster.get("id"), Some(&Value::from("litellm")));
    let missing = provider.read_data("aws_eks_cluster", &Value::object([("name", "nope".into())])).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}

/// Runs `operation` and returns how many requests it made to the sandbox.
async fn calls<T>(sandbox: &Sandbox, operation: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = sandbox.request_count();
    let value = operation.await;
    (value, sandbox.request_count() - before)
}

/// The API economy of each resource: calls on create, on refresh (read) and on delete.
#[tokio::test]
async fn api_calls_per_resource() {
    let (sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let body = |type_name: &str, body: Value| {
        conform(&provider.schema().resources[type_name].block, &body).expect("the body fits the schema")
    };
    let mut counts = Vec::new();
    let resources = [
        ("aws_iam_role", Value::object([("name", "counted".into()), ("assume_role_policy", POD_TRUST.into())])),
        (
            "aws_iam_role_policy",
            Value::object([("role", "counted".into()), ("name", "invoke".into()), ("policy", BEDROCK_INVOKE.into())]),
        ),
        (
            "aws_iam_role_policy_attachment",
            Value::object([
                ("role", "counted".into()),
                ("policy_arn", "arn:aws:iam::aws:policy/AmazonBedrockReadOnly".into()),
            ]),
        ),
        (
            "aws_iam_openid_connect_provider",
            Value::object([
                ("url", "https://oidc.circleci.com/org/counted".into()),
                ("client_id_list", Value::List(vec!["counted".into()])),
                ("thumbprint_list", Value::List(vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()])),
            ]),
        ),
        ("aws_eks_pod_identity_association", association("arn:aws:iam::123456789012:role/counted")),
    ];
    let mut states = Vec::new();
    for (type_name, config) in &resources {
        let planned = body(type_name, config.clone());
        let (created, on_create) = calls(&sandbox, provider.create(type_name, &planned, &NoCheckpoint)).await;
        let created = created.unwrap_or_else(|e| panic!("create {type_name}: {e}"));
        let (read, on_read) = calls(&sandbox, provider.read(type_name, &created)).await;
        assert!(read.unwrap().is_some());
        states.push((type_name, created, on_create, on_read));
    }
    // Delete in reverse, as a destroy does, so the role goes last and has nothing left on it.
    for (type_name, state, on_create, on_read) in states.into_iter().rev() {
        let (deleted, on_delete) = calls(&sandbox, provider.delete(type_name, &state)).await;
        deleted.unwrap();
        counts.push((type_name.to_string(), on_create, on_read, on_delete));
    }
    counts.reverse();
    println!("API calls per resource (create, refresh, delete): {counts:?}");
    let expected = [
        // CreateRole | GetRole | ListAttachedRolePolicies, ListRolePolicies, DeleteRole
        ("aws_iam_role", 1, 1, 3),
        // GetRolePolicy (refusing to take over), PutRolePolicy | GetRolePolicy | DeleteRolePolicy
        ("aws_iam_role_policy", 2, 1, 1),
        // ListAttachedRolePolicies, AttachRolePolicy | ListAttachedRolePolicies | DetachRolePolicy
        ("aws_iam_role_policy_attachment", 2, 1, 1),
        // CreateOpenIDConnectProvider | GetOpenIDConnectProvider | DeleteOpenIDConnectProvider
        ("aws_iam_openid_connect_provider", 1, 1, 1),
        // CreatePodIdentityAssociation, DescribePodIdentityAssociation (visible?) | Describe | Delete
        ("aws_eks_pod_identity_association", 2, 1, 1),
    ];
    let expected: Vec<_> = expected.iter().map(|(t, c, r, d)| (t.to_string(), *c, *r, *d)).collect();
    assert_eq!(counts, expected);
}

/// Creates, reads and deletes one of everything, checking each step, and returns the requests
/// the sandbox received.
async fn full_lifecycle(sandbox: &Sandbox, provider: &AwsProvider) -> u64 {
    let role_arn = role(provider, "flaky").await;
    let policy = create(
        provider,
        "aws_iam_role_policy",
        Value::object([("role", "flaky".into()), ("name", "invoke".into()), ("policy", BEDROCK_INVOKE.into())]),
    )
    .await;
    let oidc = create(
        provider,
        "aws_iam_openid_connect_provider",
        Value::object([
            ("url", "https://oidc.circleci.com/org/flaky".into()),
            ("client_id_list", Value::List(vec!["flaky".into()])),
        ]),
    )
    .await;
    let pod_identity = create(provider, "aws_eks_pod_identity_association", association(&role_arn)).await;

    for (type_name, state) in [
        ("aws_iam_role_policy", &policy),
        ("aws_iam_openid_connect_provider", &oidc),
        ("aws_eks_pod_identity_association", &pod_identity),
    ] {
        let read = provider.read(type_name, state).await.unwrap_or_else(|e| panic!("read {type_name}: {e}"));
        assert!(read.is_some(), "{type_name} is gone");
    }
    let identity = provider.read_data("aws_caller_identity", &Value::Null).await.unwrap();
    assert_eq!(identity.get("account_id"), Some(&Value::from("123456789012")));

    // A second association for the same service account would be a duplicate: EKS refuses it.
    let schema = &provider.schema().resources["aws_eks_pod_identity_association"].block;
    let planned = conform(schema, &association(&role_arn)).unwrap();
    let duplicate = provider.create("aws_eks_pod_identity_association", &planned, &NoCheckpoint).await;
    assert!(duplicate.is_err_and(|e| e.kind == trustform_provider::ProviderErrorKind::AlreadyExists));

    provider.delete("aws_eks_pod_identity_association", &pod_identity).await.unwrap();
    provider.delete("aws_iam_openid_connect_provider", &oidc).await.unwrap();
    let role = provider.import("aws_iam_role", "flaky").await.unwrap();
    provider.delete("aws_iam_role", &role).await.unwrap();
    for (type_name, state) in [
        ("aws_iam_role_policy", &policy),
        ("aws_iam_openid_connect_provider", &oidc),
        ("aws_eks_pod_identity_association", &pod_identity),
        ("aws_iam_role", &role),
    ] {
        assert_eq!(provider.read(type_name, state).await.unwrap(), None, "{type_name} is left behind");
    }
    sandbox.request_count()
}

/// With a fifth of all requests throttled or failing, every operation still succeeds and no
/// create leaves a duplicate behind; the faults cost only extra requests.
#[tokio::test]
async fn every_operation_rides_out_injected_faults() {
    let (clean, provider) = sandbox(SandboxConfig::default()).await;
    let without_faults = full_lifecycle(&clean, &provider).await;
    let (faulty, provider) = sandbox(SandboxConfig::default().fault_rate(0.2).seed(7)).await;
    let with_faults = full_lifecycle(&faulty, &provider).await;
    println!("requests for the same work: {without_faults} without faults, {with_faults} with 20% faults");
    assert!(with_faults > without_faults, "no fault was injected: {with_faults} requests");
}

/// Issue 13, item 12(b): a pod identity association whose create was sent by a run killed
/// before it saved the answer is found by cluster, namespace and service account
/// (ListPodIdentityAssociations filters by the last two), and adopted only when its role is
/// the planned one; another role is an error naming it and the import id.
#[tokio::test]
async fn an_interrupted_association_is_found_by_its_natural_key_and_adopted_only_as_planned() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let kind = "aws_eks_pod_identity_association";
    assert!(provider.findable(kind));
    let (first, second) = (role(&provider, "litellm-pod").await, role(&provider, "litellm-pod-2").await);
    let planned = |role_arn: &str| conform(&provider.schema().resources[kind].block, &association(role_arn)).unwrap();
    assert_eq!(provider.find(kind, &planned(&first)).await.unwrap(), None, "nothing was created yet");

    let created = create(&provider, kind, association(&first)).await;
    let found = provider.find(kind, &planned(&first)).await.unwrap().expect("found by its natural key");
    assert_eq!(found.get("association_id"), created.get("association_id"));
    let read = provider.read(kind, &created).await.unwrap().expect("it exists");
    assert_eq!(found, read, "found as read finds it, so the next plan is empty");

    let error = provider.find(kind, &planned(&second)).await.unwrap_err();
    assert_eq!(error.kind, trustform_provider::ProviderErrorKind::AlreadyExists);
    let id = created.get("association_id").and_then(Value::as_str).unwrap();
    assert!(error.message.contains(&format!("its role is {first}")), "{error}");
    assert!(error.message.contains(&format!("import it with the id \"litellm,{id}\"")), "{error}");

    let mut other_account = association(&first).as_object().cloned().unwrap();
    other_account.insert("service_account".into(), "other-sa".into());
    let other_account = conform(&provider.schema().resources[kind].block, &Value::Object(other_account)).unwrap();
    assert_eq!(provider.find(kind, &other_account).await.unwrap(), None);
}

/// `data "aws_iam_openid_connect_provider"` finds a provider by its ARN or by the issuer URL,
/// keeps the URL as the spec spells it, and refuses a block with neither or both.
#[tokio::test]
async fn the_openid_connect_provider_data_source_reads_by_arn_or_url() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let url = "https://issuer.skel-check.example/tenant/7";
    let created = create(
        &provider,
        "aws_iam_openid_connect_provider",
        Value::object([
            ("url", url.into()),
            ("client_id_list", Value::List(vec!["sts.amazonaws.com".into()])),
            ("tags", Value::object([("team", "skel".into())])),
        ]),
    )
    .await;
    let arn = created.get("arn").and_then(Value::as_str).expect("the create gives the ARN").to_owned();

    let by_url = provider
        .read_data("aws_iam_openid_connect_provider", &Value::object([("url", url.into()), ("arn", Value::Null)]))
        .await
        .unwrap();
    assert_eq!(by_url.get("arn"), Some(&Value::from(arn.as_str())));
    assert_eq!(by_url.get("id"), Some(&Value::from(arn.as_str())));
    assert_eq!(by_url.get("url"), Some(&Value::from(url)));
    assert_eq!(by_url.get("client_id_list"), Some(&Value::List(vec!["sts.amazonaws.com".into()])));
    assert_eq!(by_url.get("tags"), Some(&Value::object([("team", "skel".into())])));

    let by_arn = provider
        .read_data(
            "aws_iam_openid_connect_provider",
            &Value::object([("arn", arn.as_str().into()), ("url", Value::Null)]),
        )
        .await
        .unwrap();
    assert_eq!(by_arn.get("client_id_list"), by_url.get("client_id_list"));
    assert!(by_arn
        .get("url")
        .and_then(Value::as_str)
        .is_some_and(|read| read.ends_with("issuer.skel-check.example/tenant/7")));

    let neither = provider
        .read_data("aws_iam_openid_connect_provider", &Value::object([("arn", Value::Null), ("url", Value::Null)]))
        .await
        .unwrap_err();
    assert!(neither.message.contains("exactly one of `arn` and `url`"), "{}", neither.message);
    let missing = provider
        .read_data("aws_iam_openid_connect_provider", &Value::object([("url", "https://nobody.example".into())]))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}

/// Role chaining (`target_role_arn`) and `disable_session_tags` go through create, read,
/// update (the target taken away, the tags turned back on) and import like the other arguments.
#[tokio::test]
async fn pod_identity_association_with_a_target_role_conforms() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let (first, target) = (role(&provider, "ledger-pod").await, role(&provider, "ledger-cross-account").await);
    let chained = |target: Option<&str>, disable: bool| {
        let mut body = association(&first);
        if let Value::Object(fields) = &mut body {
            fields.insert("target_role_arn".into(), target.map(Value::from).unwrap_or_default());
            fields.insert("disable_session_tags".into(), Value::Bool(disable));
        }
        body
    };
    let case = Case::new("aws_eks_pod_identity_association", chained(Some(&target), true))
        .with_update(chained(None, false))
        .with_import_id(|state| {
            let field = |name| state.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            format!("{},{}", field("cluster_name"), field("association_id"))
        });
    conformance::run(&provider, &case).await.unwrap();

    let created = create(&provider, "aws_eks_pod_identity_association", chained(Some(&target), true)).await;
    let read = provider.read("aws_eks_pod_identity_association", &created).await.unwrap().expect("it exists");
    assert_eq!(read.get("target_role_arn"), Some(&Value::from(target.as_str())));
    assert_eq!(read.get("disable_session_tags"), Some(&Value::Bool(true)));
}

const ADDON: &str = "aws_eks_addon";

fn agent(version: Option<&str>) -> Value {
    let mut body = vec![("cluster_name", Value::from("litellm")), ("addon_name", "eks-pod-identity-agent".into())];
    if let Some(version) = version {
        body.push(("addon_version", version.into()));
    }
    Value::object(body)
}

/// `aws_eks_addon` on the sandbox (moto has no add-ons), which answers CREATING, UPDATING and
/// DELETING for a while before settling: the suite's reads right after each step see the
/// settled add-on only because the adapter waited.
#[tokio::test]
async fn eks_addon_conforms_waiting_on_its_status() {
    let (sandbox, provider) = sandbox(SandboxConfig::default().visibility_delay(Duration::from_millis(60))).await;
    let case = Case::new(ADDON, agent(None)).with_update(agent(Some("v1.3.2-eksbuild.2")));
    conformance::run(&provider, &case).await.unwrap();
    // Each create, update and delete described the add-on until it settled.
    let describes = sandbox.requests_for("GET /clusters/{}/addons/{}");
    let writes = ["POST /clusters/{}/addons", "POST /clusters/{}/addons/{}/update", "DELETE /clusters/{}/addons/{}"]
        .map(|route| sandbox.requests_for(route));
    assert!(describes > writes.iter().sum::<u64>(), "{describes} describes for {writes:?} writes");
}

#[tokio::test]
async fn an_addon_on_a_missing_cluster_or_one_made_outside_the_spec_is_named_with_the_fix() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let missing = Value::object([("cluster_name", "no-such-cluster".into()), ("addon_name", "vpc-cni".into())]);
    let error = provider
        .create(ADDON, &conform(&provider.schema().resources[ADDON].block, &missing).unwrap(), &NoCheckpoint)
        .await
        .unwrap_err();
    assert!(error.is_not_found() && error.message.contains("No cluster found for name: no-such-cluster."), "{error}");

    let existing = create(&provider, ADDON, agent(None)).await;
    assert_eq!(existing.get("addon_version"), Some(&Value::from("v1.3.4-eksbuild.1")), "the default version");
    let planned = conform(&provider.schema().resources[ADDON].block, &agent(None)).unwrap();
    let error = provider.create(ADDON, &planned, &NoCheckpoint).await.unwrap_err();
    assert!(error.message.contains("import it with the id \"litellm:eks-pod-identity-agent\""), "{error}");
    let imported = provider.import(ADDON, "litellm:eks-pod-identity-agent").await.unwrap();
    assert_eq!(imported.get("arn"), existing.get("arn"));

    let unknown = Value::object([("cluster_name", "litellm".into()), ("addon_name", "pod-identity".into())]);
    let planned = conform(&provider.schema().resources[ADDON].block, &unknown).unwrap();
    let error = provider.create(ADDON, &planned, &NoCheckpoint).await.unwrap_err();
    assert!(error.message.contains("not supported"), "{error}");
}
