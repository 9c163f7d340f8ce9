//! A small typed client for the ARM resource types no generated SDK in the build covers
//! (`Microsoft.ManagedIdentity`), and for Microsoft Graph: JSON over the same [`ArmTransport`]
//! the authorization SDK client uses, so the token, the capped bodies, `Retry-After` and the
//! `{"error":{"code","message"}}` bodies both services answer are handled once.
//!
//! `azure_mgmt_msi` is not in the dependency set of this build; the three calls the managed
//! identity resources need (PUT, GET, DELETE of one resource by id, with an `api-version`) are
//! shorter to write here than a generated crate is to compile.

use crate::error::from_azure;
use crate::transport::ArmTransport;
use azure_core::{Context, Method, Policy, Request, Url};
use std::sync::Arc;
use trustform_provider::ProviderError;

/// A JSON client for ARM resources addressed by resource id.
#[derive(Clone)]
pub(crate) struct ArmJson {
    pub endpoint: Url,
    pub transport: Arc<ArmTransport>,
}

impl ArmJson {
    fn url(&self, id: &str, api_version: Option<&str>) -> Result<Url, ProviderError> {
        let mut url = self.endpoint.join(id.trim_start_matches('/')).map_err(|error| {
            ProviderError::invalid(format!("{id:?} is not a path that can be sent to {} ({error})", self.endpoint))
        })?;
        if let Some(api_version) = api_version {
            url.query_pairs_mut().append_pair("api-version", api_version);
        }
        Ok(url)
    }

    /// One request to `path` below the endpoint: the JSON answer, or `None` for an empty body.
    /// ARM resources carry an `api-version`; Microsoft Graph versions its paths instead.
    pub(crate) async fn send(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        api_version: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let mut request = Request::new(self.url(path, api_version)?, method);
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(serde_json::to_vec(body).unwrap_or_default());
        }
        let response = self
            .transport
            .send(&Context::new(), &mut request, &[])
            .await
            .map_err(|error| from_azure(operation, error))?;
        let bytes = response.into_body().collect().await.map_err(|error| from_azure(operation, error))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|error| ProviderError::undecodable(operation, error))
    }

    /// `GET {id}`: the resource, or a `NotFound` error.
    pub(crate) async fn get(
        &self,
        operation: &str,
        id: &str,
        api_version: &str,
    ) -> Result<serde_json::Value, ProviderError> {
        self.send(operation, Method::Get, id, Some(api_version), None)
            .await?
            .ok_or_else(|| ProviderError::undecodable(operation, "an empty body where the resource was expected"))
    }

    /// `PUT {id}`: creates or replaces the resource and answers it.
    pub(crate) async fn put(
        &self,
        operation: &str,
        id: &str,
        api_version: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ProviderError> {
        self.send(operation, Method::Put, id, Some(api_version), Some(body)).await?.ok_or_else(|| {
            ProviderError::undecodable(operation, "an empty body where the written resource was expected")
        })
    }

    /// `DELETE {id}`: `200` or `204`, both success (ARM answers `204` for a resource already gone).
    pub(crate) async fn delete(&self, operation: &str, id: &str, api_version: &str) -> Result<(), ProviderError> {
        self.send(operation, Method::Delete, id, Some(api_version), None).await.map(drop)
    }
}
