//! Microsoft Graph v1.0 calls (<https://learn.microsoft.com/graph/api/overview>), over the same
//! JSON client as ARM's managed identities, every one under the provider's [`RetryPolicy`].
//!
//! Graph replicates: an application or service principal created a moment ago is
//! `404 Request_ResourceNotFound` to reads and to calls on it, and a service principal for a new
//! application is `400 Request_BadRequest` "The appId '...' of the service principal does not
//! reference a valid application object" (the error the azuread provider's client,
//! manicminer/hamilton `msgraph`, lists as `ErrorServicePrincipalInvalidAppId`). Creates retry
//! those for the policy's deadline and then poll until the new object reads back.

use crate::arm::ArmJson;
use crate::error::retryable;
use azure_core::Method;
use std::future::Future;
use trustform_provider::{retry, ProviderError, RetryPolicy};

const VERSION: &str = "/v1.0";

/// The Graph client of a configured provider, with the policy every call retries under.
pub(crate) struct Graph<'a> {
    pub client: &'a ArmJson,
    pub policy: &'a RetryPolicy,
}

/// A new object not replicated yet: not found, or the service principal's "does not reference
/// a valid application object".
pub(crate) fn is_replication_delay(error: &ProviderError) -> bool {
    error.is_not_found()
        || (error.code.as_deref() == Some("Request_BadRequest")
            && error.message.contains("does not reference a valid application object"))
}

impl Graph<'_> {
    async fn call<T, F, Fut>(&self, predicate: fn(&ProviderError) -> bool, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(self.policy, predicate, operation).await
    }

    pub(crate) async fn get(&self, operation: &str, path: &str) -> Result<serde_json::Value, ProviderError> {
        let path = format!("{VERSION}{path}");
        self.call(retryable, || async {
            self.client
                .send(operation, Method::Get, &path, None, None)
                .await?
                .ok_or_else(|| ProviderError::undecodable(operation, "an empty body where the object was expected"))
        })
        .await
    }

    /// A GET that waits through the replication of an object just created.
    pub(crate) async fn get_created(&self, operation: &str, path: &str) -> Result<serde_json::Value, ProviderError> {
        let path = format!("{VERSION}{path}");
        self.call(
            |error| retryable(error) || error.is_not_found(),
            || async {
                self.client
                    .send(operation, Method::Get, &path, None, None)
                    .await?
                    .ok_or_else(|| ProviderError::undecodable(operation, "an empty body where the object was expected"))
            },
        )
        .await
    }

    /// A POST that creates an object; with `waits_for_parent`, retried while what it names
    /// (its application) has not replicated yet.
    pub(crate) async fn post(
        &self,
        operation: &str,
        path: &str,
        body: &serde_json::Value,
        waits_for_parent: bool,
    ) -> Result<serde_json::Value, ProviderError> {
        let path = format!("{VERSION}{path}");
        let predicate: fn(&ProviderError) -> bool =
            if waits_for_parent { |error| retryable(error) || is_replication_delay(error) } else { retryable };
        self.call(predicate, || async {
            self.client.send(operation, Method::Post, &path, None, Some(body)).await?.ok_or_else(|| {
                ProviderError::undecodable(operation, "an empty body where the created object was expected")
            })
        })
        .await
    }

    /// A PATCH: `204 No Content` on success.
    pub(crate) async fn patch(
        &self,
        operation: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        let path = format!("{VERSION}{path}");
        self.call(retryable, || self.client.send(operation, Method::Patch, &path, None, Some(body))).await.map(drop)
    }

    pub(crate) async fn delete(&self, operation: &str, path: &str) -> Result<(), ProviderError> {
        let path = format!("{VERSION}{path}");
        self.call(retryable, || self.client.send(operation, Method::Delete, &path, None, None)).await.map(drop)
    }
}

/// The strings of a JSON array member.
pub(crate) fn json_strings(value: &serde_json::Value, name: &str) -> Vec<String> {
    value
        .get(name)
        .and_then(serde_json::Value::as_array)
        .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_delays_are_told_from_real_refusals() {
        let new_app = ProviderError::invalid(
            "servicePrincipals/create: The appId 'x' of the service principal does not reference a valid application object.",
        )
        .with_code("Request_BadRequest");
        assert!(is_replication_delay(&new_app));
        assert!(is_replication_delay(&ProviderError::not_found("gone").with_code("Request_ResourceNotFound")));
        let bad = ProviderError::invalid("Property 'x' does not exist").with_code("Request_BadRequest");
        assert!(!is_replication_delay(&bad));
    }
}
