use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients;

#[tokio::test]
async fn caller_identity_names_the_configured_account() {
    let sandbox = Sandbox::start(SandboxConfig::default().account_id("210987654321")).await.unwrap();
    let sts = clients::sts(&sandbox, clients::single_attempt());

    let identity = sts.get_caller_identity().send().await.unwrap();

    assert_eq!(identity.account(), Some("210987654321"));
    assert_eq!(identity.arn(), Some("arn:aws:iam::210987654321:user/sandbox"));
    assert!(identity.user_id().is_some_and(|id| id.starts_with("AIDA")));
    sandbox.shutdown().await;
}

/// A GitHub Actions token as the workload would present it, signed with the sandbox's key.
fn github_token(sub: &str, aud: &str, exp: i64) -> String {
    trustform_sandbox::federation::mint_token(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": sub,
        "aud": aud,
        "exp": exp,
    }))
}

const NEVER: i64 = 4_102_444_800;

/// `AssumeRoleWithWebIdentity` through the real SDK: the provider, its client ids and the trust's
/// conditions decide, with the reference's error codes; the session names itself afterwards.
#[tokio::test]
async fn web_identity_is_judged_by_provider_audience_and_trust_conditions() {
    use aws_sdk_sts::error::ProvideErrorMetadata as _;
    let sandbox = Sandbox::start(SandboxConfig::default().account_id("123456789012")).await.unwrap();
    let iam = clients::iam(&sandbox, clients::single_attempt());
    let sts = clients::sts(&sandbox, clients::single_attempt());
    let provider = iam
        .create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let provider_arn = provider.open_id_connect_provider_arn().unwrap().to_owned();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                "StringLike": { "token.actions.githubusercontent.com:sub": "repo:acme/models:ref:refs/heads/release/*" }
            }
        }]
    });
    let role = iam
        .create_role()
        .role_name("models-release")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    let assume = |token: String| {
        sts.assume_role_with_web_identity().role_arn(&role_arn).role_session_name("ci").web_identity_token(token).send()
    };

    let session =
        assume(github_token("repo:acme/models:ref:refs/heads/release/2.1", "sts.amazonaws.com", NEVER)).await.unwrap();
    let assumed = session.assumed_role_user().unwrap().arn().to_owned();
    assert_eq!(assumed, "arn:aws:sts::123456789012:assumed-role/models-release/ci");
    assert_eq!(session.subject_from_web_identity_token(), Some("repo:acme/models:ref:refs/heads/release/2.1"));
    let credentials = session.credentials().unwrap();
    assert!(credentials.access_key_id().starts_with("ASIA"));

    type WebIdentityError = aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
        aws_sdk_sts::config::http::HttpResponse,
    >;
    let refused = |error: WebIdentityError| {
        let error = error.into_service_error();
        (error.code().unwrap_or_default().to_owned(), error.message().unwrap_or_default().to_owned())
    };
    let other_branch =
        assume(github_token("repo:acme/models:ref:refs/heads/dev", "sts.amazonaws.com", NEVER)).await.unwrap_err();
    assert_eq!(
        refused(other_branch),
        ("AccessDenied".to_owned(), "Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned())
    );
    let other_audience =
        assume(github_token("repo:acme/models:ref:refs/heads/release/2.1", "api://AzureADTokenExchange", NEVER))
            .await
            .unwrap_err();
    assert_eq!(refused(other_audience), ("InvalidIdentityToken".to_owned(), "Incorrect token audience".to_owned()));
    let expired =
        assume(github_token("repo:acme/models:ref:refs/heads/release/2.1", "sts.amazonaws.com", 1)).await.unwrap_err();
    assert_eq!(refused(expired).0, "ExpiredTokenException");
    let unknown_issuer = trustform_sandbox::federation::mint_token(&serde_json::json!({
        "iss": "https://gitlab.example.com", "sub": "x", "aud": "sts.amazonaws.com"
    }));
    let (code, message) = refused(assume(unknown_issuer).await.unwrap_err());
    assert_eq!(code, "InvalidIdentityToken");
    assert_eq!(message, "No OpenIDConnect provider found in your account for https://gitlab.example.com");

    // The session's own credentials name the assumed role.
    let as_session = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new("us-east-1"))
            .endpoint_url(sandbox.endpoint())
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_owned()),
                None,
                "session",
            ))
            .build(),
    );
    let identity = as_session.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.arn(), Some(assumed.as_str()));
    // One request per call: two IAM writes, five exchanges, one GetCallerIdentity.
    assert_eq!(sandbox.requests_for("POST /"), 8);
    sandbox.shutdown().await;
}
