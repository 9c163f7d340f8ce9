use aws_sdk_iam::types::Tag;
use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;
const OTHER_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const BEDROCK: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#;
const BEDROCK_MANAGED: &str = "arn:aws:iam::aws:policy/AmazonBedrockReadOnly";
const CUSTOMER_MANAGED: &str = "arn:aws:iam::123456789012:policy/team/invoke";
const GITHUB: &str = "https://token.actions.githubusercontent.com";
const THUMBPRINT: &str = "6938fd4d98bab03faadb97b34396831e3780aea1";
const OTHER_THUMBPRINT: &str = "1c58a3a8518e8759bf075b76b750d4f2df264fcd";

/// IAM answers policy documents URL-encoded; clients decode them before comparing.
fn decode(document: &str) -> String {
    percent_encoding::percent_decode_str(document).decode_utf8().unwrap().into_owned()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn sandbox() -> (Sandbox, aws_sdk_iam::Client) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let iam = clients::iam(&sandbox, clients::single_attempt());
    (sandbox, iam)
}

async fn create_role(iam: &aws_sdk_iam::Client, name: &str) {
    iam.create_role().role_name(name).assume_role_policy_document(TRUST).send().await.unwrap();
}

#[tokio::test]
async fn role_round_trip() {
    let (sandbox, iam) = sandbox().await;

    let created = iam
        .create_role()
        .role_name("litellm")
        .path("/ai/")
        .description("LiteLLM pods")
        .max_session_duration(7200)
        .assume_role_policy_document(TRUST)
        .permissions_boundary(CUSTOMER_MANAGED)
        .tags(tag("team", "platform"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap();
    let role = created.role().unwrap();
    assert_eq!(role.arn(), "arn:aws:iam::123456789012:role/ai/litellm");
    assert!(role.role_id().starts_with("AROA"), "{}", role.role_id());
    assert_eq!(role.path(), "/ai/");

    let fetched = iam.get_role().role_name("litellm").send().await.unwrap();
    let role = fetched.role().unwrap();
    assert_eq!(role.role_name(), "litellm");
    assert_eq!(role.description(), Some("LiteLLM pods"));
    assert_eq!(role.max_session_duration(), Some(7200));
    assert_eq!(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()), Some(CUSTOMER_MANAGED));
    let encoded = role.assume_role_policy_document().unwrap();
    assert!(encoded.starts_with("%7B"), "{encoded}");
    assert_eq!(decode(encoded), TRUST);
    let mut tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    tags.sort();
    assert_eq!(tags, [("env", "prod"), ("team", "platform")]);

    iam.update_assume_role_policy().role_name("litellm").policy_document(OTHER_TRUST).send().await.unwrap();
    iam.update_role()
        .role_name("litellm")
        .description("LiteLLM gateway")
        .max_session_duration(3600)
        .send()
        .await
        .unwrap();
    iam.tag_role().role_name("litellm").tags(tag("env", "staging")).tags(tag("owner", "ai")).send().await.unwrap();
    iam.untag_role().role_name("litellm").tag_keys("team").send().await.unwrap();

    let fetched = iam.get_role().role_name("litellm").send().await.unwrap();
    let role = fetched.role().unwrap();
    assert_eq!(decode(role.assume_role_policy_document().unwrap()), OTHER_TRUST);
    assert_eq!(role.description(), Some("LiteLLM gateway"));
    assert_eq!(role.max_session_duration(), Some(3600));
    let mut tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    tags.sort();
    assert_eq!(tags, [("env", "staging"), ("owner", "ai")]);

    iam.delete_role().role_name("litellm").send().await.unwrap();
    let gone = iam.get_role().role_name("litellm").send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));
    assert_eq!(gone.raw_response().unwrap().status().as_u16(), 404);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn role_errors_as_the_sdk_sees_them() {
    let (sandbox, iam) = sandbox().await;
    create_role(&iam, "litellm").await;

    let duplicate = iam.create_role().role_name("LiteLLM").assume_role_policy_document(TRUST).send().await.unwrap_err();
    assert!(duplicate.as_service_error().is_some_and(|e| e.is_entity_already_exists_exception()));
    assert_eq!(duplicate.raw_response().unwrap().status().as_u16(), 409);

    let malformed =
        iam.create_role().role_name("broken").assume_role_policy_document("{not json").send().await.unwrap_err();
    assert!(malformed.as_service_error().is_some_and(|e| e.is_malformed_policy_document_exception()));

    let bad_name =
        iam.create_role().role_name("has space").assume_role_policy_document(TRUST).send().await.unwrap_err();
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&bad_name), Some("ValidationError"));
    assert_eq!(bad_name.raw_response().unwrap().status().as_u16(), 400);

    let update_missing =
        iam.update_assume_role_policy().role_name("missing").policy_document(TRUST).send().await.unwrap_err();
    assert!(update_missing.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));

    let bad_update =
        iam.update_assume_role_policy().role_name("litellm").policy_document("[]").send().await.unwrap_err();
    assert!(bad_update.as_service_error().is_some_and(|e| e.is_malformed_policy_document_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn list_roles_filters_by_path_and_paginates() {
    let (sandbox, iam) = sandbox().await;
    for name in ["c", "a"] {
        create_role(&iam, name).await;
    }
    iam.create_role().role_name("b").path("/ci/").assume_role_policy_document(TRUST).send().await.unwrap();

    let first = iam.list_roles().max_items(2).send().await.unwrap();
    let names: Vec<&str> = first.roles().iter().map(|role| role.role_name()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(first.is_truncated());
    assert_eq!(decode(first.roles()[0].assume_role_policy_document().unwrap()), TRUST);
    let rest = iam.list_roles().set_marker(first.marker().map(str::to_owned)).send().await.unwrap();
    let names: Vec<&str> = rest.roles().iter().map(|role| role.role_name()).collect();
    assert_eq!(names, ["c"]);
    assert!(!rest.is_truncated());

    let ci = iam.list_roles().path_prefix("/ci/").send().await.unwrap();
    let names: Vec<&str> = ci.roles().iter().map(|role| role.role_name()).collect();
    assert_eq!(names, ["b"]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn inline_policies_round_trip_and_paginate() {
    let (sandbox, iam) = sandbox().await;
    create_role(&iam, "ci").await;
    for name in ["bedrock", "logs", "s3"] {
        iam.put_role_policy().role_name("ci").policy_name(name).policy_document(BEDROCK).send().await.unwrap();
    }

    let policy = iam.get_role_policy().role_name("ci").policy_name("bedrock").send().await.unwrap();
    assert_eq!(policy.role_name(), "ci");
    assert_eq!(policy.policy_name(), "bedrock");
    assert_eq!(decode(policy.policy_document()), BEDROCK);

    let first = iam.list_role_policies().role_name("ci").max_items(2).send().await.unwrap();
    assert_eq!(first.policy_names(), ["bedrock", "logs"]);
    assert!(first.is_truncated());
    let rest =
        iam.list_role_policies().role_name("ci").set_marker(first.marker().map(str::to_owned)).send().await.unwrap();
    assert_eq!(rest.policy_names(), ["s3"]);
    assert!(!rest.is_truncated());

    iam.delete_role_policy().role_name("ci").policy_name("logs").send().await.unwrap();
    let gone = iam.get_role_policy().role_name("ci").policy_name("logs").send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));

    let malformed = iam
        .put_role_policy()
        .role_name("ci")
        .policy_name("bad")
        .policy_document(r#"{"Version":"2012-10-17"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(malformed.as_service_error().is_some_and(|e| e.is_malformed_policy_document_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn managed_policies_attach_list_and_detach() {
    let (sandbox, iam) = sandbox().await;
    create_role(&iam, "ci").await;
    // A customer managed policy must exist to be attached; an AWS managed one always does.
    let missing = iam.attach_role_policy().role_name("ci").policy_arn(CUSTOMER_MANAGED).send().await.unwrap_err();
    assert!(missing.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()), "{missing:?}");
    iam.create_policy()
        .policy_name("invoke")
        .path("/team/")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    for arn in [BEDROCK_MANAGED, CUSTOMER_MANAGED] {
        iam.attach_role_policy().role_name("ci").policy_arn(arn).send().await.unwrap();
    }

    let attached = iam.list_attached_role_policies().role_name("ci").send().await.unwrap();
    let pairs: Vec<(Option<&str>, Option<&str>)> =
        attached.attached_policies().iter().map(|p| (p.policy_name(), p.policy_arn())).collect();
    assert_eq!(
        pairs,
        [(Some("invoke"), Some(CUSTOMER_MANAGED)), (Some("AmazonBedrockReadOnly"), Some(BEDROCK_MANAGED)),]
    );
    assert!(!attached.is_truncated());

    iam.detach_role_policy().role_name("ci").policy_arn(BEDROCK_MANAGED).send().await.unwrap();
    let detached_twice = iam.detach_role_policy().role_name("ci").policy_arn(BEDROCK_MANAGED).send().await.unwrap_err();
    assert!(detached_twice.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));

    let bad_arn =
        iam.attach_role_policy().role_name("ci").policy_arn("AmazonBedrockReadOnly").send().await.unwrap_err();
    assert!(bad_arn.as_service_error().is_some_and(|e| e.is_invalid_input_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn delete_role_conflicts_while_policies_remain() {
    let (sandbox, iam) = sandbox().await;
    create_role(&iam, "ci").await;
    iam.put_role_policy().role_name("ci").policy_name("bedrock").policy_document(BEDROCK).send().await.unwrap();
    iam.attach_role_policy().role_name("ci").policy_arn(BEDROCK_MANAGED).send().await.unwrap();
    let delete = || iam.delete_role().role_name("ci").send();

    let with_inline = delete().await.unwrap_err();
    assert!(with_inline.as_service_error().is_some_and(|e| e.is_delete_conflict_exception()));
    assert_eq!(with_inline.raw_response().unwrap().status().as_u16(), 409);

    iam.delete_role_policy().role_name("ci").policy_name("bedrock").send().await.unwrap();
    let with_attached = delete().await.unwrap_err();
    assert!(with_attached.as_service_error().is_some_and(|e| e.is_delete_conflict_exception()));

    iam.detach_role_policy().role_name("ci").policy_arn(BEDROCK_MANAGED).send().await.unwrap();
    delete().await.unwrap();
    let gone = delete().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn openid_connect_provider_round_trip() {
    let (sandbox, iam) = sandbox().await;

    let created = iam
        .create_open_id_connect_provider()
        .url(GITHUB)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list(THUMBPRINT)
        .tags(tag("ci", "github"))
        .send()
        .await
        .unwrap();
    let arn = created.open_id_connect_provider_arn().unwrap().to_owned();
    assert_eq!(arn, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");

    let duplicate =
        iam.create_open_id_connect_provider().url(GITHUB).client_id_list("sts.amazonaws.com").send().await.unwrap_err();
    assert!(duplicate.as_service_error().is_some_and(|e| e.is_entity_already_exists_exception()));

    let provider = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await.unwrap();
    assert_eq!(provider.url(), Some("token.actions.githubusercontent.com"));
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(provider.thumbprint_list(), [THUMBPRINT]);
    assert!(provider.create_date().is_some());
    assert_eq!(provider.tags().len(), 1);

    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    let arns: Vec<Option<&str>> = listed.open_id_connect_provider_list().iter().map(|entry| entry.arn()).collect();
    assert_eq!(arns, [Some(arn.as_str())]);

    iam.update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .thumbprint_list(OTHER_THUMBPRINT)
        .send()
        .await
        .unwrap();
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("https://github.com/trustform")
        .send()
        .await
        .unwrap();
    iam.remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    iam.tag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tags(tag("owner", "platform"))
        .send()
        .await
        .unwrap();
    iam.untag_open_id_connect_provider().open_id_connect_provider_arn(&arn).tag_keys("ci").send().await.unwrap();

    let provider = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await.unwrap();
    assert_eq!(provider.thumbprint_list(), [OTHER_THUMBPRINT]);
    assert_eq!(provider.client_id_list(), ["https://github.com/trustform"]);
    let tags: Vec<(&str, &str)> = provider.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("owner", "platform")]);

    iam.delete_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await.unwrap();
    let gone = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()));
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert!(listed.open_id_connect_provider_list().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn openid_connect_provider_rejects_malformed_urls_arns_and_thumbprints() {
    let (sandbox, iam) = sandbox().await;

    let plain_http = iam.create_open_id_connect_provider().url("http://issuer.example").send().await.unwrap_err();
    assert!(plain_http.as_service_error().is_some_and(|e| e.is_invalid_input_exception()));

    let not_an_oidc_arn = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn("arn:aws:iam::123456789012:role/ci")
        .send()
        .await
        .unwrap_err();
    assert!(not_an_oidc_arn.as_service_error().is_some_and(|e| e.is_invalid_input_exception()));

    let short_thumbprint = iam
        .create_open_id_connect_provider()
        .url("https://issuer.example")
        .thumbprint_list("abc")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&short_thumbprint), Some("ValidationError"));
    sandbox.shutdown().await;
}
