//! A small typed client for the ARM resource types no generated SDK in the build covers
//! (`Microsoft.ManagedIdentity`): JSON over the same [`ArmTransport`] the authorization SDK
//! client uses, so the token, the capped bodies, `Retry-After` and ARM's error codes are
//! handled once.
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
    fn url(&self, id: &str, api_version: &str) -> Result<Url, ProviderError> {
        let mut url = self.endpoint.join(id.trim_start_matches('/')).map_err(|error| {
            ProviderError::invalid(format!("{id:?} is not a resource id that can be sent to ARM ({error})"))
        })?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    async fn send(
        &self,
        operation: &str,
        method: Method,
        id: &str,
        api_version: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let mut request = Request::new(self.url(id, api_version)?, method);
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
        self.send(operation, Method::Get, id, api_version, None)
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
        self.send(operation, Method::Put, id, api_version, Some(body)).await?.ok_or_else(|| {
            ProviderError::undecodable(operation, "an empty body where the written resource was expected")
        })
    }

    /// `DELETE {id}`: `200` or `204`, both success (ARM answers `204` for a resource already gone).
    pub(crate) async fn delete(&self, operation: &str, id: &str, api_version: &str) -> Result<(), ProviderError> {
        self.send(operation, Method::Delete, id, api_version, None).await.map(drop)
    }
}
