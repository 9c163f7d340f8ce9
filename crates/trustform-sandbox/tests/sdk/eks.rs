use std::time::{Duration, Instant};

use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
use aws_sdk_eks::types::ClusterStatus;
use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients;

const CLUSTER: &str = "prod";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ROLE: &str = "arn:aws:iam::123456789012:role/litellm";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/litellm-v2";

async fn sandbox(config: SandboxConfig) -> (Sandbox, aws_sdk_eks::Client) {
    let sandbox = Sandbox::start(config.cluster(CLUSTER, ISSUER)).await.unwrap();
    let eks = clients::eks(&sandbox, clients::single_attempt());
    (sandbox, eks)
}

fn is_association_id(id: &str) -> bool {
    id.strip_prefix("a-")
        .is_some_and(|rest| rest.len() == 17 && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

#[tokio::test]
async fn describe_cluster_reports_the_preloaded_cluster() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;

    let output = eks.describe_cluster().name(CLUSTER).send().await.unwrap();
    let cluster = output.cluster().unwrap();

    assert_eq!(cluster.name(), Some(CLUSTER));
    assert_eq!(cluster.arn(), Some("arn:aws:eks:us-east-1:123456789012:cluster/prod"));
    assert_eq!(cluster.status(), Some(&ClusterStatus::Active));
    assert_eq!(cluster.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()), Some(ISSUER));
    assert!(cluster.version().is_some());
    assert!(cluster.created_at().is_some());
    assert!(cluster.endpoint().is_some_and(|endpoint| endpoint.starts_with("https://")));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn describe_cluster_of_an_unknown_name_is_resource_not_found() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;

    let error = eks.describe_cluster().name("nope").send().await.unwrap_err();

    match error.as_service_error() {
        Some(DescribeClusterError::ResourceNotFoundException(not_found)) => {
            assert_eq!(not_found.cluster_name(), Some("nope"));
            assert!(not_found.message().is_some_and(|m| m.contains("nope")));
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 404);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn association_lifecycle_create_describe_update_list_delete() {
    let (sandbox, eks) = sandbox(SandboxConfig::default().region("eu-west-1")).await;

    let created = eks
        .create_pod_identity_association()
        .cluster_name(CLUSTER)
        .namespace("ai")
        .service_account("litellm")
        .role_arn(ROLE)
        .tags("team", "platform")
        .send()
        .await
        .unwrap();
    let association = created.association().unwrap();
    let id = association.association_id().unwrap().to_owned();
    assert!(is_association_id(&id), "{id}");
    assert_eq!(
        association.association_arn(),
        Some(format!("arn:aws:eks:eu-west-1:123456789012:podidentityassociation/prod/{id}").as_str())
    );
    assert_eq!(association.cluster_name(), Some(CLUSTER));
    assert_eq!(association.namespace(), Some("ai"));
    assert_eq!(association.service_account(), Some("litellm"));
    assert_eq!(association.role_arn(), Some(ROLE));
    assert_eq!(association.tags().and_then(|tags| tags.get("team")), Some(&"platform".to_owned()));
    assert!(association.created_at().is_some());
    assert_eq!(association.created_at(), association.modified_at());

    let described =
        eks.describe_pod_identity_association().cluster_name(CLUSTER).association_id(&id).send().await.unwrap();
    assert_eq!(described.association(), Some(association));

    let updated = eks
        .update_pod_identity_association()
        .cluster_name(CLUSTER)
        .association_id(&id)
        .role_arn(OTHER_ROLE)
        .client_request_token("update-1")
        .send()
        .await
        .unwrap();
    let updated = updated.association().unwrap();
    assert_eq!(updated.role_arn(), Some(OTHER_ROLE));
    assert_eq!(updated.association_id(), Some(id.as_str()));
    assert!(updated.modified_at().unwrap() >= association.created_at().unwrap());

    let listed = eks.list_pod_identity_associations().cluster_name(CLUSTER).send().await.unwrap();
    let summaries = listed.associations();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].association_id(), Some(id.as_str()));
    assert_eq!(summaries[0].namespace(), Some("ai"));
    assert_eq!(summaries[0].service_account(), Some("litellm"));
    assert_eq!(listed.next_token(), None);

    let deleted = eks.delete_pod_identity_association().cluster_name(CLUSTER).association_id(&id).send().await.unwrap();
    assert_eq!(deleted.association().and_then(|a| a.role_arn()), Some(OTHER_ROLE));

    let gone =
        eks.describe_pod_identity_association().cluster_name(CLUSTER).association_id(&id).send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    let deleted_twice =
        eks.delete_pod_identity_association().cluster_name(CLUSTER).association_id(&id).send().await.unwrap_err();
    assert!(deleted_twice.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    let updated_after_delete = eks
        .update_pod_identity_association()
        .cluster_name(CLUSTER)
        .association_id(&id)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(updated_after_delete.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn create_is_idempotent_by_client_request_token() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;
    let create = || {
        eks.create_pod_identity_association()
            .cluster_name(CLUSTER)
            .namespace("ai")
            .service_account("litellm")
            .role_arn(ROLE)
            .client_request_token("token-1")
    };

    let first = create().send().await.unwrap();
    let second = create().send().await.unwrap();
    assert_eq!(first.association(), second.association());

    let mismatch = create().role_arn(OTHER_ROLE).send().await.unwrap_err();
    assert!(mismatch.as_service_error().is_some_and(|e| e.is_invalid_parameter_exception()));

    let listed = eks.list_pod_identity_associations().cluster_name(CLUSTER).send().await.unwrap();
    assert_eq!(listed.associations().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_second_association_for_the_same_service_account_is_resource_in_use() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;
    let create = || {
        eks.create_pod_identity_association()
            .cluster_name(CLUSTER)
            .namespace("ai")
            .service_account("litellm")
            .role_arn(ROLE)
    };
    create().send().await.unwrap();

    let error = create().send().await.unwrap_err();

    assert!(error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()));
    let raw = error.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 409);
    assert_eq!(raw.headers().get("x-amzn-ErrorType"), Some("ResourceInUseException"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn create_rejects_unknown_clusters_and_malformed_fields() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;

    let no_cluster = eks
        .create_pod_identity_association()
        .cluster_name("staging")
        .namespace("ai")
        .service_account("litellm")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(no_cluster.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));

    for bad_role in ["arn:aws:iam::123456789012:user/bob", "litellm", ""] {
        let error = eks
            .create_pod_identity_association()
            .cluster_name(CLUSTER)
            .namespace("ai")
            .service_account("litellm")
            .role_arn(bad_role)
            .send()
            .await
            .unwrap_err();
        assert!(error.as_service_error().is_some_and(|e| e.is_invalid_parameter_exception()), "{bad_role}: {error:?}");
    }

    let empty_namespace = eks
        .create_pod_identity_association()
        .cluster_name(CLUSTER)
        .namespace("")
        .service_account("litellm")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(empty_namespace.as_service_error().is_some_and(|e| e.is_invalid_parameter_exception()));

    let bad_update = eks
        .update_pod_identity_association()
        .cluster_name(CLUSTER)
        .association_id("a-00000000000000000")
        .role_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert!(bad_update.as_service_error().is_some_and(|e| e.is_invalid_parameter_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn list_paginates_and_filters() {
    let (sandbox, eks) = sandbox(SandboxConfig::default()).await;
    for (namespace, account) in [("ai", "a"), ("ai", "b"), ("ai", "c"), ("web", "a"), ("web", "b")] {
        eks.create_pod_identity_association()
            .cluster_name(CLUSTER)
            .namespace(namespace)
            .service_account(account)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap();
    }

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next_token = None;
    loop {
        let page = eks
            .list_pod_identity_associations()
            .cluster_name(CLUSTER)
            .max_results(2)
            .set_next_token(next_token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.associations().len() <= 2);
        seen.extend(
            page.associations().iter().map(|a| format!("{}/{}", a.namespace().unwrap(), a.service_account().unwrap())),
        );
        next_token = page.next_token().map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen, ["ai/a", "ai/b", "ai/c", "web/a", "web/b"]);

    let in_web = eks.list_pod_identity_associations().cluster_name(CLUSTER).namespace("web").send().await.unwrap();
    assert_eq!(in_web.associations().len(), 2);
    assert!(in_web.associations().iter().all(|a| a.namespace() == Some("web")));

    let one = eks
        .list_pod_identity_associations()
        .cluster_name(CLUSTER)
        .namespace("ai")
        .service_account("b")
        .send()
        .await
        .unwrap();
    assert_eq!(one.associations().len(), 1);

    let too_many =
        eks.list_pod_identity_associations().cluster_name(CLUSTER).max_results(101).send().await.unwrap_err();
    assert!(too_many.as_service_error().is_some_and(|e| e.is_invalid_parameter_exception()));

    let unknown_cluster = eks.list_pod_identity_associations().cluster_name("staging").send().await.unwrap_err();
    assert!(unknown_cluster.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_new_association_becomes_visible_after_the_delay() {
    let delay = Duration::from_secs(2);
    let (sandbox, eks) = sandbox(SandboxConfig::default().visibility_delay(delay)).await;

    let created = eks
        .create_pod_identity_association()
        .cluster_name(CLUSTER)
        .namespace("ai")
        .service_account("litellm")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let id = created.association().unwrap().association_id().unwrap().to_owned();
    let describe = || eks.describe_pod_identity_association().cluster_name(CLUSTER).association_id(&id).send();

    let hidden = describe().await.unwrap_err();
    assert!(hidden.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    let listed = eks.list_pod_identity_associations().cluster_name(CLUSTER).send().await.unwrap();
    assert!(listed.associations().is_empty());

    let deadline = Instant::now() + delay * 10;
    let visible = loop {
        match describe().await {
            Ok(output) => break output,
            Err(error) => {
                assert!(error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()), "{error:?}");
                assert!(Instant::now() < deadline, "association never became visible");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(visible.association(), created.association());
    let listed = eks.list_pod_identity_associations().cluster_name(CLUSTER).send().await.unwrap();
    assert_eq!(listed.associations().len(), 1);
    sandbox.shutdown().await;
}
