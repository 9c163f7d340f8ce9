//! A sandbox with a journal serves the same cloud after a restart: what one process created,
//! the next reads back identically, ids, timestamps and all.

use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients::{self, single_attempt};

const CLUSTER: &str = "prod";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn config(journal: &std::path::Path) -> SandboxConfig {
    SandboxConfig::default().cluster(CLUSTER, ISSUER).journal(journal)
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;

#[tokio::test]
async fn a_restarted_sandbox_serves_what_the_last_one_created_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("sandbox/journal.jsonl");

    let sandbox = Sandbox::start(config(&journal)).await.unwrap();
    let (iam, eks) = (clients::iam(&sandbox, single_attempt()), clients::eks(&sandbox, single_attempt()));
    let role = iam.create_role().role_name("gateway").assume_role_policy_document(TRUST).send().await.unwrap();
    let role = role.role().unwrap().clone();
    iam.create_role().role_name("doomed").assume_role_policy_document(TRUST).send().await.unwrap();
    iam.delete_role().role_name("doomed").send().await.unwrap();
    let association = eks
        .create_pod_identity_association()
        .cluster_name(CLUSTER)
        .namespace("litellm")
        .service_account("litellm")
        .role_arn(role.arn())
        .send()
        .await
        .unwrap();
    let association = association.association().unwrap().clone();
    let cluster = eks.describe_cluster().name(CLUSTER).send().await.unwrap().cluster().unwrap().clone();
    sandbox.shutdown().await;

    let sandbox = Sandbox::start(config(&journal)).await.unwrap();
    let (iam, eks) = (clients::iam(&sandbox, single_attempt()), clients::eks(&sandbox, single_attempt()));
    let again = iam.get_role().role_name("gateway").send().await.unwrap();
    let again = again.role().unwrap();
    assert_eq!(again.role_id(), role.role_id());
    assert_eq!(again.create_date(), role.create_date());
    assert_eq!(again.assume_role_policy_document(), role.assume_role_policy_document());
    let gone = iam.get_role().role_name("doomed").send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()), "{gone:?}");
    let described = eks
        .describe_pod_identity_association()
        .cluster_name(CLUSTER)
        .association_id(association.association_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(described.association(), Some(&association));
    let cluster_again = eks.describe_cluster().name(CLUSTER).send().await.unwrap();
    assert_eq!(cluster_again.cluster().unwrap().created_at(), cluster.created_at());
    assert_eq!(cluster_again.cluster().unwrap().endpoint(), cluster.endpoint());
    // Reads were served but not journaled: only the changes are in the file.
    let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert_eq!(lines, 1 + 4, "a header and four changes");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_journal_never_holds_the_callers_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let sandbox = Sandbox::start(config(&journal)).await.unwrap();
    let iam = clients::iam(&sandbox, single_attempt());
    iam.create_role().role_name("gateway").assume_role_policy_document(TRUST).send().await.unwrap();
    sandbox.shutdown().await;
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("CreateRole"), "{text}");
    assert!(!text.contains("AKIDSANDBOXTEST"), "the access key id leaked: {text}");
    let signatures: Vec<&str> = text.split("Signature=").skip(1).map(|rest| &rest[..1]).collect();
    assert_eq!(signatures, ["0"], "only the placeholder signature: {text}");
}

#[tokio::test]
async fn a_journal_of_another_world_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    Sandbox::start(config(&journal)).await.unwrap().shutdown().await;
    let error = Sandbox::start(config(&journal).account_id("999999999999")).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}
