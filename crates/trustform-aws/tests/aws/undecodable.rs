//! Answers the adapter cannot decode are not passing faults: a success whose body is not IAM's,
//! or a body cut off mid-answer, fails after at most two tries (not after the two-minute retry
//! deadline), naming the API method; an error body of megabytes is not echoed whole.

use crate::support::{fast_retries, provider_block};
use trustform_aws::AwsProvider;
use trustform_lang::Value;
use trustform_provider::{Provider, RetryPolicy};
use trustform_test_provider::bad_endpoint::{BadAnswer, BadEndpoint};

async fn provider_at(endpoint: &str) -> AwsProvider {
    // The deadline is long enough that a retry loop would show in the request count.
    let provider = AwsProvider::new()
        .with_retry_policy(RetryPolicy { deadline: std::time::Duration::from_secs(5), ..fast_retries() });
    // No account lookup at configure: the requests counted are the call's own.
    let mut block = provider_block(endpoint, Some(endpoint));
    if let Value::Object(map) = &mut block {
        map.insert("skip_requesting_account_id".to_owned(), true.into());
    }
    provider.configure(&block).await.expect("configure");
    provider
}

fn role_state() -> Value {
    Value::object([("name", "litellm-pod".into()), ("id", "litellm-pod".into())])
}

#[tokio::test]
async fn a_success_whose_body_is_not_iams_fails_fast_naming_the_method() {
    let endpoint = BadEndpoint::start(BadAnswer::Garbage {
        content_type: "text/html",
        body: b"<html><body>Welcome to nginx!</body></html>".to_vec(),
    });
    let provider = provider_at(endpoint.endpoint()).await;
    let error = provider.read("aws_iam_role", &role_state()).await.unwrap_err();
    assert!(error.is_undecodable(), "{error}");
    assert!(error.message.starts_with("iam:GetRole: the answer could not be decoded"), "{error}");
    assert!(endpoint.requests() <= 2, "{} requests", endpoint.requests());
}

#[tokio::test]
async fn an_answer_cut_off_mid_body_fails_fast_naming_the_method() {
    let endpoint = BadEndpoint::start(BadAnswer::CutOff {
        content_type: "text/xml",
        sent: b"<GetRoleResponse><GetRoleResult><Role>".to_vec(),
        announced: 4096,
    });
    let provider = provider_at(endpoint.endpoint()).await;
    let error = provider.read("aws_iam_role", &role_state()).await.unwrap_err();
    assert!(error.message.starts_with("iam:GetRole: "), "{error}");
    assert!(endpoint.requests() <= 2, "{} requests: {error}", endpoint.requests());
}

#[tokio::test]
async fn a_huge_error_message_is_not_echoed_whole() {
    let message = "x".repeat(4 << 20);
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{message}</Message></Error></ErrorResponse>"
    );
    let endpoint =
        BadEndpoint::start(BadAnswer::Status { status: 400, content_type: "text/xml", body: body.into_bytes() });
    let provider = provider_at(endpoint.endpoint()).await;
    let error = provider.read("aws_iam_role", &role_state()).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("ValidationError"), "{}", &error.message[..100.min(error.message.len())]);
    assert!(error.to_string().len() < 1024, "{} bytes", error.to_string().len());
}
