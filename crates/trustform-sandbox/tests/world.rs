//! The spec's world (projects, clusters and subscriptions created on first use, derived from
//! their names, and replayed identically from a journal) and the sandbox's refusal of requests
//! that do not come from its own clients.

use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trustform_sandbox::world::{cluster_issuer, project_number};
use trustform_sandbox::{Sandbox, SandboxConfig};

const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

fn eks(sandbox: &Sandbox, region: &str) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url(sandbox.endpoint())
            .build(),
    )
}

/// One raw HTTP/1.1 exchange with the given extra header lines: the status and the body.
async fn raw(sandbox: &Sandbox, request_line: &str, headers: &str, body: &str) -> (u16, String) {
    let address = sandbox.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "{request_line} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_owned())
}

fn own_host(sandbox: &Sandbox) -> String {
    format!("Host: {}\r\nAuthorization: Bearer t\r\n", sandbox.endpoint().trim_start_matches("http://"))
}

async fn get_project(sandbox: &Sandbox, project: &str) -> (u16, serde_json::Value) {
    let (status, body) = raw(sandbox, &format!("GET /v3/projects/{project}"), &own_host(sandbox), "").await;
    (status, serde_json::from_str(&body).unwrap_or_default())
}

async fn role_definitions(sandbox: &Sandbox, subscription: &str) -> u16 {
    let path = format!(
        "GET /subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01"
    );
    raw(sandbox, &path, &own_host(sandbox), "").await.0
}

#[tokio::test]
async fn without_materialization_unknown_names_are_refused_as_the_clouds_refuse_them() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let error = eks(&sandbox, "eu-west-1").describe_cluster().name("gateway").send().await.unwrap_err();
    assert!(error.into_service_error().is_resource_not_found_exception());
    assert_eq!(get_project(&sandbox, "acme-llm-prod").await.0, 403);
    assert_eq!(role_definitions(&sandbox, SUBSCRIPTION).await, 404);
}

#[tokio::test]
async fn the_specs_project_cluster_and_subscription_exist_on_first_use_with_derived_values() {
    let sandbox = Sandbox::start(SandboxConfig::default().materialize_on_first_use(true)).await.unwrap();

    let cluster = eks(&sandbox, "eu-west-1").describe_cluster().name("gateway").send().await.unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(cluster.status().map(|status| status.as_str()), Some("ACTIVE"));
    let issuer = cluster.identity().and_then(|identity| identity.oidc()).and_then(|oidc| oidc.issuer());
    assert_eq!(issuer, Some(cluster_issuer("gateway", "eu-west-1").as_str()), "derived from name and region");
    assert_eq!(cluster.arn(), Some("arn:aws:eks:eu-west-1:123456789012:cluster/gateway"));

    let (status, by_id) = get_project(&sandbox, "acme-llm-prod").await;
    assert_eq!(status, 200, "{by_id}");
    let number = project_number("acme-llm-prod");
    assert_eq!(by_id["name"], format!("projects/{number}"));
    assert_eq!(by_id["projectId"], "acme-llm-prod");
    // The same project, asked for by number.
    assert_eq!(get_project(&sandbox, &number.to_string()).await.1, by_id);
    // A project named only by its number exists too.
    let (status, by_number) = get_project(&sandbox, "987654321012").await;
    assert_eq!((status, by_number["name"].as_str()), (200, Some("projects/987654321012")));

    assert_eq!(role_definitions(&sandbox, SUBSCRIPTION).await, 200);
    // What is no valid name stays unknown.
    assert_eq!(get_project(&sandbox, "Not_A_Project").await.0, 403);
    assert_eq!(role_definitions(&sandbox, "not-a-guid").await, 404);
}

#[tokio::test]
async fn materialized_objects_replay_identically_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let config = || SandboxConfig::default().materialize_on_first_use(true).journal(&journal);

    let first = Sandbox::start(config()).await.unwrap();
    // Only a read names the cluster and the project here: nothing about them is journaled.
    let described = eks(&first, "ap-south-1").describe_cluster().name("gateway").send().await.unwrap();
    let project = get_project(&first, "acme-llm-prod").await.1;
    let association = eks(&first, "ap-south-1")
        .create_pod_identity_association()
        .cluster_name("gateway")
        .namespace("llm")
        .service_account("gateway")
        .role_arn("arn:aws:iam::111122223333:role/gateway")
        .send()
        .await
        .unwrap();
    let id = association.association().unwrap().association_id().unwrap().to_owned();
    first.shutdown().await;

    let second = Sandbox::start(config()).await.unwrap();
    let again = eks(&second, "ap-south-1").describe_cluster().name("gateway").send().await.unwrap();
    assert_eq!(format!("{:?}", again.cluster()), format!("{:?}", described.cluster()));
    assert_eq!(get_project(&second, "acme-llm-prod").await.1, project);
    let found = eks(&second, "ap-south-1")
        .describe_pod_identity_association()
        .cluster_name("gateway")
        .association_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(found.association().unwrap().role_arn(), Some("arn:aws:iam::111122223333:role/gateway"));

    // A journal written without materialization is another world, and refused.
    let other = Sandbox::start(SandboxConfig::default().journal(&journal)).await;
    assert!(other.is_err());
}

#[tokio::test]
async fn only_the_sandboxs_own_clients_are_answered() {
    let sandbox = Sandbox::start(SandboxConfig::default().materialize_on_first_use(true)).await.unwrap();
    let port = sandbox.endpoint().rsplit(':').next().unwrap().to_owned();
    let form = "Action=GetCallerIdentity&Version=2011-06-15";
    let sandbox = &sandbox;
    let post = |headers: String| async move {
        raw(sandbox, "POST /", &format!("{headers}Content-Type: application/x-www-form-urlencoded\r\n"), form).await
    };

    let (status, body) = post(own_host(sandbox)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Account>123456789012</Account>"), "{body}");
    for host in [format!("localhost:{port}"), "127.0.0.1".to_owned(), format!("[::1]:{port}")] {
        assert_eq!(post(format!("Host: {host}\r\n")).await.0, 200, "{host}");
    }

    // DNS rebinding: a web page's own name resolved to 127.0.0.1, or another port.
    for host in [format!("attacker.example:{port}"), "attacker.example".to_owned(), "127.0.0.1:1".to_owned()] {
        let (status, body) = post(format!("Host: {host}\r\n")).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(body.contains("Host"), "{body}");
    }
    // No Host at all.
    assert_eq!(post(String::new()).await.0, 403);
    // A page on another origin posting to loopback (CSRF).
    let (status, body) = post(format!("{}Origin: https://attacker.example\r\n", own_host(sandbox))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Origin"), "{body}");
    assert_eq!(post(format!("{}Origin: null\r\n", own_host(sandbox))).await.0, 403);

    // Bodies a page may send without a preflight.
    for content_type in ["text/plain", "text/plain;charset=UTF-8", "multipart/form-data; boundary=x"] {
        let headers = format!("{}Content-Type: {content_type}\r\n", own_host(sandbox));
        let (status, _) = raw(sandbox, "POST /v1/projects/acme-llm-prod/serviceAccounts", &headers, "{}").await;
        assert_eq!(status, 403, "{content_type}");
    }
    // Refused requests changed nothing and reached no service.
    assert_eq!(sandbox.requests_for("POST /v1/projects/{}/serviceAccounts"), 0);
    // A read with its own Host and no body passes.
    assert_eq!(get_project(sandbox, "acme-llm-prod").await.0, 200);
}
