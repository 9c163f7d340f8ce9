//! What every resource implementation works with: the clients, the retry policy, the IAM policy
//! batcher, and the wait for Google's long-running operations.

use crate::config::Clients;
use crate::error::{from_google, from_status};
use crate::iam_policy::Policies;
use google_iam1::api::Operation;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use tokio::time::Instant;
use trustform_provider::{retry, ProviderError, ProviderErrorKind, RetryPolicy};

pub(crate) use trustform_provider::attrs::{found, gone, required, string_map, strings, text, with};

/// The clients of a configured provider, with the policy every call retries under and the
/// provider's IAM policy queues: what `configure` builds and every resource type is handed.
/// Public only as the adapter's client type; its module is private.
#[derive(Clone)]
pub struct Api {
    pub(crate) clients: Clients,
    pub(crate) policy: RetryPolicy,
    pub(crate) policies: Arc<Policies>,
    /// The number of the provider's project, looked up once at `configure`
    /// (`project::look_up_number`): what plans derive pool and provider names from.
    pub(crate) project_number: Option<String>,
}

impl Api {
    /// Runs a call, retrying throttling and transient faults.
    pub(crate) async fn call<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(&self.policy, ProviderError::is_retryable, operation).await
    }

    /// Runs a call that reads an object created a moment ago, which Google may not show yet:
    /// "not found" is retried too, within the same bounded deadline, and so is "permission
    /// denied", IAM's answer for an account it cannot see yet (terraform-provider-google#15042;
    /// Terraform's provider polls through both, GoogleCloudPlatform/magic-modules#11811). The
    /// create just succeeded, so the caller does hold the permission.
    pub(crate) async fn call_until_visible<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let not_yet_visible = |error: &ProviderError| {
            error.is_retryable() || error.is_not_found() || error.kind == ProviderErrorKind::Denied
        };
        retry(&self.policy, not_yet_visible, operation).await
    }

    /// Polls a long-running operation until it is done and returns its `response` as `T` (the
    /// pool or provider it made, the service it enabled). Polling backs off like a retry and gives up at the policy's
    /// deadline, naming the operation so the user can look it up.
    pub(crate) async fn wait<T: DeserializeOwned>(
        &self,
        method: &str,
        operation: Operation,
    ) -> Result<T, ProviderError> {
        let started = Instant::now();
        let mut operation = operation;
        let mut polls = 0u32;
        loop {
            if operation.done == Some(true) {
                if let Some(status) = &operation.error {
                    return Err(from_status(method, status.code, status.message.as_deref()));
                }
                let response = operation.response.unwrap_or_default();
                let response = serde_json::Value::Object(response.into_iter().collect());
                return serde_json::from_value(response).map_err(|e| {
                    ProviderError::undecodable(method, format!("the operation's response was not the resource: {e}"))
                });
            }
            let name = operation.name.clone().ok_or_else(|| {
                ProviderError::transient(format!("{method}: the operation has neither a name nor a result"))
            })?;
            let delay = self.policy.backoff_ceiling(polls);
            if started.elapsed() + delay > self.policy.deadline {
                return Err(ProviderError::transient(format!(
                    "{method}: operation {name} was not done after {:?}; it may still finish, so run the plan again \
                     before retrying",
                    started.elapsed()
                )));
            }
            tokio::time::sleep(delay).await;
            polls += 1;
            operation = self.call(|| self.poll(&name)).await?;
        }
    }
}

impl Api {
    /// One `operations.get`, at the API that started the operation: Service Usage names its
    /// operations `operations/ID`, IAM `projects/NUMBER/locations/global/.../operations/ID`.
    async fn poll(&self, name: &str) -> Result<Operation, ProviderError> {
        if name.starts_with("operations/") {
            return self
                .clients
                .service_usage
                .operation(name)
                .await
                .map_err(|e| from_google("serviceusage.operations.get", e));
        }
        self.clients
            .iam
            .projects()
            .locations_workload_identity_pools_operations_get(name)
            .doit()
            .await
            .map(|(_, operation)| operation)
            .map_err(|e| from_google("iam.operations.get", e))
    }
}

/// The answer of a generated client's call, without the raw response.
pub(crate) fn answer<T>(
    method: &str,
    result: google_iam1::Result<(google_iam1::common::Response, T)>,
) -> Result<T, ProviderError> {
    result.map(|(_, value)| value).map_err(|e| from_google(method, e))
}
