//! Answers the adapter cannot decode are not passing faults: a success whose body is not the
//! API's JSON, or a body cut off mid-answer, fails after at most two tries (not after the
//! two-minute retry deadline), naming the API method; an error body of megabytes is not echoed
//! whole.

use crate::{fast_retries, provider_block, PROJECT};
use trustform_gcp::GoogleProvider;
use trustform_lang::Value;
use trustform_provider::{Provider, RetryPolicy};
use trustform_test_provider::bad_endpoint::{BadAnswer, BadEndpoint};

async fn provider_at(endpoint: &str) -> GoogleProvider {
    // The deadline is long enough that a retry loop would show in the request count.
    let provider = GoogleProvider::new()
        .with_retry_policy(RetryPolicy { deadline: std::time::Duration::from_secs(5), ..fast_retries() });
    provider.configure(&provider_block(endpoint)).await.expect("configure");
    provider
}

fn account() -> Value {
    let email = format!("litellm-wif-sa@{PROJECT}.iam.gserviceaccount.com");
    Value::object([
        ("name", Value::string(format!("projects/{PROJECT}/serviceAccounts/{email}"))),
        ("id", Value::string(format!("projects/{PROJECT}/serviceAccounts/{email}"))),
        ("email", Value::string(email)),
        ("account_id", "litellm-wif-sa".into()),
        ("project", PROJECT.into()),
    ])
}

#[tokio::test]
async fn a_success_whose_body_is_not_json_fails_fast_naming_the_method() {
    let endpoint = BadEndpoint::start(BadAnswer::Garbage {
        content_type: "text/html",
        body: b"<html><body>Welcome to nginx!</body></html>".to_vec(),
    });
    let provider = provider_at(endpoint.endpoint()).await;
    // `configure` asked for the project's number once; what counts is the read's own requests.
    let before = endpoint.requests();
    let error = provider.read("google_service_account", &account()).await.unwrap_err();
    assert!(error.is_undecodable(), "{error}");
    assert!(error.message.starts_with("iam.projects.serviceAccounts.get: the answer could not be decoded"), "{error}");
    assert!(endpoint.requests() - before <= 2, "{} requests", endpoint.requests() - before);
}

#[tokio::test]
async fn an_answer_cut_off_mid_body_fails_fast_naming_the_method() {
    let endpoint = BadEndpoint::start(BadAnswer::CutOff {
        content_type: "application/json",
        sent: b"{\"name\": \"proj".to_vec(),
        announced: 4096,
    });
    let provider = provider_at(endpoint.endpoint()).await;
    let before = endpoint.requests();
    let error = provider.read("google_service_account", &account()).await.unwrap_err();
    assert!(error.message.starts_with("iam.projects.serviceAccounts.get: "), "{error}");
    assert!(endpoint.requests() - before <= 2, "{} requests: {error}", endpoint.requests() - before);
}

#[tokio::test]
async fn a_huge_error_message_is_not_echoed_whole() {
    let body =
        serde_json::json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x".repeat(4 << 20)}});
    let endpoint = BadEndpoint::start(BadAnswer::Status {
        status: 400,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
    });
    let provider = provider_at(endpoint.endpoint()).await;
    let error = provider.read("google_service_account", &account()).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("INVALID_ARGUMENT"));
    assert!(error.to_string().len() < 1024, "{} bytes", error.to_string().len());
}
