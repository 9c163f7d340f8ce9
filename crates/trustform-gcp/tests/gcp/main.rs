//! The Google adapter through the real generated clients against the sandbox, which follows
//! Google's REST reference: the conformance suite for every resource type, soft delete and
//! undelete, IAM members coalesced per policy, concurrent policy writers, API enablement through
//! Service Usage, and faults.

mod credentials;
mod iam;
mod lifecycle;
mod services;
mod undecodable;

use std::time::Duration;
use trustform_gcp::GoogleProvider;
use trustform_lang::Value;
use trustform_provider::{NoCheckpoint, Provider, RetryPolicy};
use trustform_sandbox::{Sandbox, SandboxConfig};
use trustform_schema::conform;

pub const PROJECT: &str = "litellm-prod";
pub const NUMBER: u64 = 123456789012;

/// Short waits so that a retry or operation poll against the sandbox never slows a test down.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
        deadline: Duration::from_secs(20),
        multiplier: 2.0,
    }
}

/// The project preloaded, operations done on the second poll, new service accounts invisible
/// for a moment, as Google does.
pub fn google() -> SandboxConfig {
    SandboxConfig::default()
        .gcp_project(PROJECT, NUMBER)
        .gcp_operation_polls(2)
        .gcp_service_account_visibility_delay(Duration::from_millis(200))
}

/// The `provider "google"` block a user would write to point Trustform at an emulator: the
/// endpoints with their version suffix, as Terraform users spell them, and a fixed token.
pub fn provider_block(endpoint: &str) -> Value {
    Value::object([
        ("project", PROJECT.into()),
        ("iam_custom_endpoint", format!("{endpoint}/v1/").into()),
        ("resource_manager_custom_endpoint", format!("{endpoint}/v3/").into()),
        ("service_usage_custom_endpoint", format!("{endpoint}/v1/").into()),
        ("access_token", Value::from("sandbox-token").sensitive()),
    ])
}

pub async fn start(config: SandboxConfig) -> (Sandbox, GoogleProvider) {
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let provider = provider(&sandbox).await;
    (sandbox, provider)
}

pub async fn provider(sandbox: &Sandbox) -> GoogleProvider {
    let provider = GoogleProvider::new().with_retry_policy(fast_retries());
    provider.configure(&provider_block(&sandbox.endpoint())).await.expect("configure");
    provider
}

/// The planned value the engine would hand to `create`: conformed, the provider's plan, and
/// what is left for the cloud to compute sent as null.
pub fn planned(provider: &dyn Provider, type_name: &str, body: Value) -> Value {
    let config = conform(&provider.schema().resources[type_name].block, &body).expect("the body fits the schema");
    let planned = provider.plan(type_name, None, config).expect("plan");
    match planned {
        Value::Object(map) => Value::Object(
            map.into_iter().map(|(k, v)| (k, if v.contains_unknown() { Value::Null } else { v })).collect(),
        ),
        other => other,
    }
}

pub async fn create(provider: &dyn Provider, type_name: &str, body: Value) -> Value {
    let planned = planned(provider, type_name, body);
    provider.create(type_name, &planned, &NoCheckpoint).await.unwrap_or_else(|e| panic!("create {type_name}: {e}"))
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|item| Value::from(*item)).collect())
}
