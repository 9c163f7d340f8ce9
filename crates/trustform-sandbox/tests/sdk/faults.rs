use aws_sdk_iam::error::ProvideErrorMetadata;
use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn faulty(rate: f64) -> SandboxConfig {
    SandboxConfig::default().cluster("prod", "https://oidc.example").fault_rate(rate).seed(42)
}

#[tokio::test]
async fn every_call_fails_with_a_retryable_error_at_full_fault_rate() {
    let sandbox = Sandbox::start(faulty(1.0)).await.unwrap();
    let eks = clients::eks(&sandbox, clients::single_attempt());
    let iam = clients::iam(&sandbox, clients::single_attempt());
    let sts = clients::sts(&sandbox, clients::single_attempt());

    for _ in 0..10 {
        let error = eks.describe_cluster().name("prod").send().await.unwrap_err();
        let status = error.raw_response().unwrap().status().as_u16();
        match error.code() {
            Some("ThrottlingException") => assert_eq!(status, 429),
            Some("ServerException") => assert_eq!(status, 500),
            Some("ServiceUnavailableException") => assert_eq!(status, 503),
            other => panic!("unexpected EKS fault {other:?} with status {status}"),
        }

        let error = iam.get_role().role_name("any").send().await.unwrap_err();
        let status = error.raw_response().unwrap().status().as_u16();
        match error.code() {
            Some("Throttling") => assert_eq!(status, 400),
            Some("ServiceFailure") => assert_eq!(status, 500),
            other => panic!("unexpected IAM fault {other:?} with status {status}"),
        }

        let error = sts.get_caller_identity().send().await.unwrap_err();
        assert!(matches!(error.code(), Some("Throttling" | "ServiceFailure")), "{error:?}");
    }
    assert_eq!(sandbox.request_count(), 30);

    // The SDK's standard strategy retries exactly the errors it classifies as throttling or
    // transient, so each call spending every attempt proves the classification.
    let eks = clients::eks(&sandbox, clients::standard_retries(3));
    let iam = clients::iam(&sandbox, clients::standard_retries(3));
    let before = sandbox.request_count();
    eks.describe_cluster().name("prod").send().await.unwrap_err();
    assert_eq!(sandbox.request_count(), before + 3);
    iam.get_role().role_name("any").send().await.unwrap_err();
    assert_eq!(sandbox.request_count(), before + 6);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn standard_retries_ride_out_a_fifth_of_requests_failing() {
    let sandbox = Sandbox::start(faulty(0.2)).await.unwrap();
    let eks = clients::eks(&sandbox, clients::standard_retries(6));
    let iam = clients::iam(&sandbox, clients::standard_retries(6));
    let sts = clients::sts(&sandbox, clients::standard_retries(6));

    sts.get_caller_identity().send().await.unwrap();
    for index in 0..10 {
        let name = format!("role-{index}");
        iam.create_role().role_name(&name).assume_role_policy_document(TRUST).send().await.unwrap();
        iam.get_role().role_name(&name).send().await.unwrap();
        eks.create_pod_identity_association()
            .cluster_name("prod")
            .namespace("ai")
            .service_account(&name)
            .role_arn(format!("arn:aws:iam::123456789012:role/{name}"))
            .client_request_token(&name)
            .send()
            .await
            .unwrap();
    }
    let listed = eks.list_pod_identity_associations().cluster_name("prod").send().await.unwrap();

    // No retried create was processed twice: faults are answered before the request is.
    assert_eq!(listed.associations().len(), 10);
    let calls = 1 + 10 * 3 + 1;
    assert!(sandbox.request_count() > calls, "no faults were injected in {} requests", sandbox.request_count());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn latency_and_shutdown() {
    let sandbox = Sandbox::start(SandboxConfig::default().latency(std::time::Duration::from_millis(20))).await.unwrap();
    let sts = clients::sts(&sandbox, clients::single_attempt());
    sts.get_caller_identity().send().await.unwrap();
    assert_eq!(sandbox.request_count(), 1);

    let endpoint = sandbox.endpoint();
    sandbox.shutdown().await;
    let address = endpoint.trim_start_matches("http://");
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}
