//! Shared set-up for the tests against moto.

use std::time::Duration;
use trustform_aws::AwsProvider;
use trustform_lang::Value;
use trustform_provider::{Provider, RetryPolicy};

/// Short waits so that a retry loop against an emulator never slows a test down.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        deadline: Duration::from_secs(10),
        multiplier: 2.0,
    }
}

/// The `provider "aws"` block a user would write to point Trustform at an emulator.
pub fn provider_block(iam_sts: &str, eks: Option<&str>) -> Value {
    let mut endpoints = vec![("iam", Value::from(iam_sts)), ("sts", Value::from(iam_sts))];
    if let Some(eks) = eks {
        endpoints.push(("eks", Value::from(eks)));
    }
    Value::object([
        ("region", "us-east-1".into()),
        ("access_key", "testing".into()),
        ("secret_key", Value::from("testing").sensitive()),
        ("endpoints", Value::List(vec![Value::object(endpoints)])),
    ])
}

pub async fn provider(iam_sts: &str, eks: Option<&str>) -> AwsProvider {
    let provider = AwsProvider::new().with_retry_policy(fast_retries());
    provider.configure(&provider_block(iam_sts, eks)).await.expect("configure");
    provider
}

/// A raw IAM client, for changes behind the provider's back.
pub async fn raw_iam(endpoint: &str) -> aws_sdk_iam::Client {
    let credentials = aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "test");
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_iam::Client::from_conf(config)
}
