//! SDK clients pointed at a sandbox with static test credentials, as the adapter configures them.

use std::time::Duration;

use aws_sdk_eks::config::retry::RetryConfig;
use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
use trustform_sandbox::Sandbox;

fn credentials() -> Credentials {
    Credentials::new("AKIDSANDBOXTEST", "sandbox-secret", None, None, "test")
}

/// One attempt per call, so each test sees exactly the answer the sandbox gave.
pub fn single_attempt() -> RetryConfig {
    RetryConfig::disabled()
}

/// The SDK's standard retry strategy with backoff shrunk so fault tests run quickly.
pub fn standard_retries(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// A client of one AWS service, configured the same way for each: region, static keys, the
/// sandbox's endpoint and the given retry strategy.
macro_rules! sandbox_client {
    ($name:ident, $sdk:ident) => {
        pub fn $name(sandbox: &Sandbox, retry: RetryConfig) -> $sdk::Client {
            let config = $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(credentials())
                .endpoint_url(sandbox.endpoint())
                .retry_config(retry)
                .build();
            $sdk::Client::from_conf(config)
        }
    };
}

sandbox_client!(eks, aws_sdk_eks);
sandbox_client!(iam, aws_sdk_iam);
sandbox_client!(sts, aws_sdk_sts);
