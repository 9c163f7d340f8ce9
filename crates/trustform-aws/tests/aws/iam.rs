//! IAM resources and STS against moto: the conformance suite, drift, and the normalisation of
//! what IAM hands back.

use crate::support::{provider, raw_iam};
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider};
use trustform_schema::{conform, values_equal};
use trustform_test_provider::moto::Moto;

const POD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const BEDROCK_INVOKE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"VisualEditor0","Effect":"Allow","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":["arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0","arn:aws:bedrock:*::foundation-model/cohere.command-r-v1:0"]}]}"#;
const CIRCLECI: &str = "https://oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd";
const CIRCLECI_ORG: &str = "c5a99188-154f-4f69-8da2-b442b1bf78dd";

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|item| Value::from(*item)).collect())
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (*k, Value::from(*v))))
}

async fn raw_role(iam: &aws_sdk_iam::Client, name: &str) {
    iam.create_role().role_name(name).assume_role_policy_document(POD_TRUST).send().await.expect("CreateRole");
}

/// The planned value the engine would hand to `create`.
fn planned(provider: &dyn Provider, type_name: &str, body: &Value) -> Value {
    conform(&provider.schema().resources[type_name].block, body).expect("the body fits the schema")
}

#[tokio::test]
async fn iam_role_conforms() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let boundary = raw_iam(moto.endpoint())
        .await
        .create_policy()
        .policy_name("boundary")
        .policy_document(BEDROCK_INVOKE)
        .send()
        .await
        .expect("CreatePolicy");
    let boundary = boundary.policy().and_then(|policy| policy.arn()).expect("a policy ARN").to_owned();
    let case = Case::new(
        "aws_iam_role",
        Value::object([
            ("name", "litellm-pod".into()),
            ("assume_role_policy", POD_TRUST.into()),
            ("description", "EKS Pod Identity role for LiteLLM".into()),
            ("tags", tags(&[("team", "ml")])),
        ]),
    )
    .with_update(Value::object([
        ("name", "litellm-pod".into()),
        ("assume_role_policy", EC2_TRUST.into()),
        ("description", "changed in place".into()),
        ("max_session_duration", Value::from(7200)),
        ("permissions_boundary", boundary.as_str().into()),
        ("tags", tags(&[("team", "platform"), ("env", "test")])),
    ]));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn iam_role_policy_conforms() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    raw_role(&raw_iam(moto.endpoint()).await, "litellm-circleci").await;
    let case = Case::new(
        "aws_iam_role_policy",
        Value::object([
            ("role", "litellm-circleci".into()),
            ("name", "bedrock-invoke".into()),
            ("policy", BEDROCK_INVOKE.into()),
        ]),
    )
    .with_update(Value::object([
        ("role", "litellm-circleci".into()),
        ("name", "bedrock-invoke".into()),
        ("policy", BEDROCK_INVOKE.replace(",\"bedrock:InvokeModelWithResponseStream\"", "").into()),
    ]));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn iam_role_policy_attachment_conforms() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let iam = raw_iam(moto.endpoint()).await;
    raw_role(&iam, "litellm-attach").await;
    let policy = iam
        .create_policy()
        .policy_name("bedrock-invoke")
        .policy_document(BEDROCK_INVOKE)
        .send()
        .await
        .expect("CreatePolicy");
    let arn = policy.policy().and_then(|policy| policy.arn()).expect("a policy ARN").to_owned();
    let case = Case::new(
        "aws_iam_role_policy_attachment",
        Value::object([("role", "litellm-attach".into()), ("policy_arn", arn.as_str().into())]),
    );
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn iam_openid_connect_provider_conforms() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let case = Case::new(
        "aws_iam_openid_connect_provider",
        Value::object([
            ("url", CIRCLECI.into()),
            ("client_id_list", strings(&[CIRCLECI_ORG])),
            ("thumbprint_list", strings(&["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])),
        ]),
    )
    // moto lacks Add/RemoveClientIDTo/FromOpenIDConnectProvider: the sandbox tests those.
    .with_update(Value::object([
        ("url", CIRCLECI.into()),
        ("client_id_list", strings(&[CIRCLECI_ORG])),
        ("thumbprint_list", strings(&["06b25927c42a721631c1efd9431e648fa62e1e39"])),
        ("tags", tags(&[("ci", "circleci")])),
    ]));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn a_trust_policy_changed_behind_our_back_shows_on_read() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let body = Value::object([("name", "drifting".into()), ("assume_role_policy", POD_TRUST.into())]);
    let planned = planned(&provider, "aws_iam_role", &body);
    let created = provider.create("aws_iam_role", &planned, &NoCheckpoint).await.unwrap();

    raw_iam(moto.endpoint())
        .await
        .update_assume_role_policy()
        .role_name("drifting")
        .policy_document(EC2_TRUST)
        .send()
        .await
        .expect("UpdateAssumeRolePolicy");

    let read = provider.read("aws_iam_role", &created).await.unwrap().expect("the role exists");
    let attribute = &provider.schema().resources["aws_iam_role"].block.attributes["assume_role_policy"];
    let live = read.get("assume_role_policy").unwrap();
    assert!(values_equal(attribute, live, &Value::from(EC2_TRUST)), "read {live}");
    assert!(!values_equal(attribute, live, &Value::from(POD_TRUST)));
}

#[tokio::test]
async fn policies_read_back_in_the_users_spelling() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    // Another spelling of POD_TRUST: keys reordered, one-element lists, whitespace.
    let respelt = r#"{
        "Statement": [{"Action": ["sts:TagSession", "sts:AssumeRole"], "Principal": {"Service": ["pods.eks.amazonaws.com"]}, "Effect": "Allow"}],
        "Version": "2012-10-17"
    }"#;
    let body = Value::object([("name", "respelt".into()), ("assume_role_policy", respelt.into())]);
    let created =
        provider.create("aws_iam_role", &planned(&provider, "aws_iam_role", &body), &NoCheckpoint).await.unwrap();

    let read = provider.read("aws_iam_role", &created).await.unwrap().expect("the role exists");
    assert_eq!(read.get("assume_role_policy"), Some(&Value::from(respelt)));

    // With no prior spelling to keep (import), the document comes back decoded, as JSON.
    let imported = provider.import("aws_iam_role", "respelt").await.unwrap();
    let document = imported.get("assume_role_policy").and_then(Value::as_str).unwrap();
    assert!(document.starts_with('{'), "not decoded: {document}");
    let attribute = &provider.schema().resources["aws_iam_role"].block.attributes["assume_role_policy"];
    assert!(values_equal(attribute, &Value::from(document), &Value::from(POD_TRUST)));
}

#[tokio::test]
async fn a_role_without_a_name_gets_one_from_its_prefix() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let body = Value::object([("name_prefix", "litellm-".into()), ("assume_role_policy", POD_TRUST.into())]);
    let created =
        provider.create("aws_iam_role", &planned(&provider, "aws_iam_role", &body), &NoCheckpoint).await.unwrap();
    let name = created.get("name").and_then(Value::as_str).unwrap();
    assert!(name.starts_with("litellm-") && name.len() == "litellm-".len() + 26, "{name}");
    assert_eq!(created.get("id"), created.get("name"));
    let read = provider.read("aws_iam_role", &created).await.unwrap().expect("the role exists");
    assert_eq!(read.get("name_prefix"), Some(&Value::from("litellm-")));
    assert_eq!(read.get("name"), created.get("name"));
}

#[tokio::test]
async fn oidc_urls_come_back_with_their_scheme() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let body = Value::object([("url", CIRCLECI.into()), ("client_id_list", strings(&[CIRCLECI_ORG]))]);
    let planned = planned(&provider, "aws_iam_openid_connect_provider", &body);
    let created = provider.create("aws_iam_openid_connect_provider", &planned, &NoCheckpoint).await.unwrap();
    let arn = created.get("id").and_then(Value::as_str).unwrap().to_owned();
    assert!(arn.ends_with(":oidc-provider/oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd"), "{arn}");

    let live = raw_iam(moto.endpoint())
        .await
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(live.url(), Some("oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd"));
    let imported = provider.import("aws_iam_openid_connect_provider", &arn).await.unwrap();
    assert_eq!(imported.get("url"), Some(&Value::from(CIRCLECI)));
}

#[tokio::test]
async fn deleting_a_role_detaches_and_deletes_its_policies_first() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let iam = raw_iam(moto.endpoint()).await;
    raw_role(&iam, "busy").await;
    iam.put_role_policy().role_name("busy").policy_name("inline").policy_document(BEDROCK_INVOKE).send().await.unwrap();
    let policy = iam.create_policy().policy_name("managed").policy_document(BEDROCK_INVOKE).send().await.unwrap();
    let arn = policy.policy().and_then(|p| p.arn()).unwrap();
    iam.attach_role_policy().role_name("busy").policy_arn(arn).send().await.unwrap();

    let state = provider.import("aws_iam_role", "busy").await.unwrap();
    provider.delete("aws_iam_role", &state).await.unwrap();
    assert_eq!(provider.read("aws_iam_role", &state).await.unwrap(), None);
    let error = iam.get_role().role_name("busy").send().await.unwrap_err();
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&error), Some("NoSuchEntity"));
}

#[tokio::test]
async fn missing_objects_read_as_none_and_import_as_not_found() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let state = Value::object([("id", "nobody:p".into())]);
    assert_eq!(provider.read("aws_iam_role_policy", &state).await.unwrap(), None);
    let error = provider.import("aws_iam_role_policy", "nobody:p").await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(error.code.as_deref(), Some("NoSuchEntity"));
    let error = provider.import("aws_iam_role_policy", "no-separator").await.unwrap_err();
    assert_eq!(error.message, "\"no-separator\" is not a valid id; expected `role_name:policy_name`");
}

#[tokio::test]
async fn malformed_policies_are_invalid_and_not_retried() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    raw_role(&raw_iam(moto.endpoint()).await, "strict").await;
    let body = Value::object([("role", "strict".into()), ("name", "p".into()), ("policy", "{\"Version\": 1".into())]);
    let planned = planned(&provider, "aws_iam_role_policy", &body);
    let error = provider.create("aws_iam_role_policy", &planned, &NoCheckpoint).await.unwrap_err();
    assert_eq!(error.kind, trustform_provider::ProviderErrorKind::Invalid, "{error:?}");
    assert_eq!(error.code.as_deref(), Some("MalformedPolicyDocument"));
}

#[tokio::test]
async fn caller_identity_comes_from_sts() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let identity =
        provider.read_data("aws_caller_identity", &Value::object(Vec::<(String, Value)>::new())).await.unwrap();
    assert_eq!(identity.get("account_id"), Some(&Value::from("123456789012")));
    assert_eq!(identity.get("id"), identity.get("account_id"));
    assert!(identity.get("arn").and_then(Value::as_str).is_some_and(|arn| arn.starts_with("arn:aws:")));
}

/// Issue 13, item 12(b): an OIDC provider whose create was sent by a run killed before it saved
/// the answer is found again by its URL (its ARN ends in it), and adopted only when it is what
/// was planned. One that differs is an error naming the difference and the import id.
#[tokio::test]
async fn an_interrupted_oidc_provider_is_found_by_its_url_and_adopted_only_as_planned() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let oidc = "aws_iam_openid_connect_provider";
    assert!(provider.findable(oidc));
    let body = |client: &str| {
        Value::object([
            ("url", CIRCLECI.into()),
            ("client_id_list", strings(&[client])),
            ("thumbprint_list", strings(&["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])),
            ("tags", tags(&[("team", "ml")])),
        ])
    };
    let wanted = planned(&provider, oidc, &body(CIRCLECI_ORG));
    assert_eq!(provider.find(oidc, &wanted).await.unwrap(), None, "nothing was created yet");

    let created = provider.create(oidc, &wanted, &NoCheckpoint).await.unwrap();
    let found = provider.find(oidc, &wanted).await.unwrap().expect("the provider is found by its URL");
    assert_eq!(found.get("id"), created.get("id"));
    assert_eq!(found.get("url"), Some(&Value::from(CIRCLECI)));
    let read = provider.read(oidc, &created).await.unwrap().expect("it exists");
    assert_eq!(found, read, "found as read finds it, so the next plan is empty");

    let other = planned(&provider, oidc, &body("another-org"));
    let error = provider.find(oidc, &other).await.unwrap_err();
    assert_eq!(error.kind, trustform_provider::ProviderErrorKind::AlreadyExists);
    let arn = created.get("id").and_then(Value::as_str).unwrap();
    assert!(error.message.contains("client ids are not the planned ones"), "{error}");
    assert!(error.message.contains(&format!("import it with the id \"{arn}\"")), "{error}");

    let elsewhere = Value::object([("url", "https://token.actions.githubusercontent.com".into())]);
    let elsewhere = planned(&provider, oidc, &with_clients(&elsewhere));
    assert_eq!(provider.find(oidc, &elsewhere).await.unwrap(), None, "another URL is another provider");
}

fn with_clients(body: &Value) -> Value {
    let mut map = body.as_object().cloned().unwrap_or_default();
    map.insert("client_id_list".into(), strings(&["sts.amazonaws.com"]));
    Value::Object(map)
}

/// `allowed_account_ids`, as the Terraform AWS provider checks it (internal/conns/config.go):
/// the account STS names for the credentials (moto's is 123456789012) must be listed.
#[tokio::test]
async fn allowed_account_ids_refuse_credentials_for_another_account() {
    let moto = Moto::start();
    let with_accounts = |accounts: &[&str]| {
        let Value::Object(mut block) = crate::support::provider_block(moto.endpoint(), None) else { unreachable!() };
        block.insert("allowed_account_ids".into(), strings(accounts));
        Value::Object(block)
    };
    let provider = trustform_aws::AwsProvider::new().with_retry_policy(crate::support::fast_retries());
    let refused = provider.configure(&with_accounts(&["210987654321"])).await.expect_err("another account");
    assert!(
        refused.to_string().contains("AWS account 123456789012, which is not in allowed_account_ids (210987654321)"),
        "{refused}"
    );
    provider.configure(&with_accounts(&["210987654321", "123456789012"])).await.expect("a listed account");
}

const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::litellm-prompts/*"}]}"#;

#[tokio::test]
async fn iam_policy_conforms() {
    let moto = Moto::start();
    iam_policy_conforms_on(moto.endpoint()).await;
}

/// The sandbox's managed policies answer as moto does: the same suite passes on both.
#[tokio::test]
async fn iam_policy_conforms_on_the_sandbox_too() {
    let sandbox = trustform_sandbox::Sandbox::start(Default::default()).await.expect("the sandbox starts");
    iam_policy_conforms_on(&sandbox.endpoint()).await;
    policy_versions_on(&sandbox.endpoint()).await;
}

async fn iam_policy_conforms_on(endpoint: &str) {
    let provider = provider(endpoint, None).await;
    let case = Case::new(
        "aws_iam_policy",
        Value::object([
            ("name", "litellm-bedrock-invoke".into()),
            ("path", "/gateway/".into()),
            ("description", "Invoke the gateway's foundation models".into()),
            ("policy", BEDROCK_INVOKE.into()),
            ("tags", tags(&[("team", "ml")])),
        ]),
    )
    .with_update(Value::object([
        ("name", "litellm-bedrock-invoke".into()),
        ("path", "/gateway/".into()),
        ("description", "Invoke the gateway's foundation models".into()),
        ("policy", S3_READ.into()),
        ("tags", tags(&[("team", "platform")])),
    ]));
    conformance::run(&provider, &case).await.unwrap();
}

/// IAM keeps five versions of a managed policy; every change makes a new default version, so
/// the sixth change deletes the oldest one that is not the default first
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>).
/// Delete removes the other versions, then the policy, after its attachment is gone.
#[tokio::test]
async fn a_policy_changed_many_times_keeps_five_versions_and_stays_attached() {
    let moto = Moto::start();
    policy_versions_on(moto.endpoint()).await;
}

async fn policy_versions_on(endpoint: &str) {
    let provider = provider(endpoint, None).await;
    let iam = raw_iam(endpoint).await;
    raw_role(&iam, "litellm-versions").await;
    let document = |n: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{n}/*"}}]}}"#
        )
    };
    let body = |n: usize| Value::object([("name", "litellm-versioned".into()), ("policy", document(n).into())]);
    let mut state = provider
        .create("aws_iam_policy", &planned(&provider, "aws_iam_policy", &body(0)), &NoCheckpoint)
        .await
        .unwrap();
    let arn = state.get("arn").and_then(Value::as_str).unwrap().to_owned();
    let attachment = Value::object([("role", "litellm-versions".into()), ("policy_arn", arn.as_str().into())]);
    let attachment = provider
        .create(
            "aws_iam_role_policy_attachment",
            &planned(&provider, "aws_iam_role_policy_attachment", &attachment),
            &NoCheckpoint,
        )
        .await
        .unwrap();
    for n in 1..=7 {
        state =
            provider.update("aws_iam_policy", &state, &planned(&provider, "aws_iam_policy", &body(n))).await.unwrap();
        assert_eq!(state.get("policy"), Some(&Value::from(document(n))), "update {n}");
    }
    let versions = iam.list_policy_versions().policy_arn(&arn).send().await.unwrap();
    let versions = versions.versions();
    assert_eq!(versions.len(), 5, "{versions:?}");
    let default: Vec<_> = versions.iter().filter(|v| v.is_default_version()).filter_map(|v| v.version_id()).collect();
    assert_eq!(default, ["v8"]);
    let mut kept: Vec<_> = versions.iter().filter_map(|v| v.version_id()).collect();
    kept.sort_by_key(|id| id.trim_start_matches('v').parse::<u32>().unwrap_or_default());
    assert_eq!(kept, ["v4", "v5", "v6", "v7", "v8"], "the oldest went first");
    assert_eq!(provider.read("aws_iam_policy", &state).await.unwrap(), Some(state.clone()));
    let attached = iam.list_attached_role_policies().role_name("litellm-versions").send().await.unwrap();
    assert_eq!(attached.attached_policies().len(), 1, "the policy was changed in place, not replaced");

    provider.delete("aws_iam_role_policy_attachment", &attachment).await.unwrap();
    provider.delete("aws_iam_policy", &state).await.unwrap();
    assert_eq!(provider.read("aws_iam_policy", &state).await.unwrap(), None);
    let error = provider.import("aws_iam_policy", "litellm-versioned").await.unwrap_err();
    assert!(error.message.contains("is not a policy ARN"), "{error}");
}

/// What the engine hands to `create`: what is still unknown goes as null.
fn sendable(planned: &Value) -> Value {
    let map = planned.as_object().cloned().unwrap_or_default();
    Value::Object(map.into_iter().map(|(k, v)| if v.is_unknown() { (k, Value::Null) } else { (k, v) }).collect())
}

/// The ARNs a plan derives from the caller's account are the ones moto assigns: a role under a
/// path, a role named from a prefix (known up to the generated suffix), an OIDC provider.
#[tokio::test]
async fn derived_arns_are_the_ones_iam_assigns() {
    let moto = Moto::start();
    let provider = provider(moto.endpoint(), None).await;
    let identity =
        provider.read_data("aws_caller_identity", &Value::object(Vec::<(String, Value)>::new())).await.unwrap();
    let account = identity.get("account_id").and_then(Value::as_str).unwrap().to_owned();

    let role = Value::object([
        ("name", "derive-check".into()),
        ("path", "/gateway/".into()),
        ("assume_role_policy", POD_TRUST.into()),
    ]);
    let planned_role = planned(&provider, "aws_iam_role", &role);
    let planned_role = provider.plan("aws_iam_role", None, planned_role).unwrap();
    let derived = planned_role.get("arn").and_then(Value::as_str).unwrap().to_owned();
    assert_eq!(derived, format!("arn:aws:iam::{account}:role/gateway/derive-check"));
    let created = provider.create("aws_iam_role", &sendable(&planned_role), &NoCheckpoint).await.unwrap();
    assert_eq!(created.get("arn").and_then(Value::as_str), Some(derived.as_str()));

    let prefixed = Value::object([("name_prefix", "derive-".into()), ("assume_role_policy", POD_TRUST.into())]);
    let planned_prefixed = provider.plan("aws_iam_role", None, planned(&provider, "aws_iam_role", &prefixed)).unwrap();
    let shape = planned_prefixed.get("arn").and_then(Value::as_partial).unwrap().clone();
    let created = provider.create("aws_iam_role", &sendable(&planned_prefixed), &NoCheckpoint).await.unwrap();
    let arn = created.get("arn").and_then(Value::as_str).unwrap();
    assert!(arn.starts_with(shape.prefix()) && shape.prefix().ends_with(":role/derive-"), "{arn} against {shape:?}");

    let oidc = Value::object([("url", format!("{CIRCLECI}/").into()), ("client_id_list", strings(&[CIRCLECI_ORG]))]);
    let planned_oidc = provider
        .plan("aws_iam_openid_connect_provider", None, planned(&provider, "aws_iam_openid_connect_provider", &oidc))
        .unwrap();
    let derived = planned_oidc.get("arn").and_then(Value::as_str).unwrap().to_owned();
    let created =
        provider.create("aws_iam_openid_connect_provider", &sendable(&planned_oidc), &NoCheckpoint).await.unwrap();
    assert_eq!(created.get("arn").and_then(Value::as_str), Some(derived.as_str()));
    assert_eq!(created.get("id").and_then(Value::as_str), Some(derived.as_str()));
}
