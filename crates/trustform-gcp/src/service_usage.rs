//! A typed client for the four Service Usage v1 methods `google_project_service` calls, on the
//! same HTTP client, connector and token source as the generated IAM and Resource Manager
//! clients (<https://cloud.google.com/service-usage/docs/reference/rest/v1/services>):
//!
//! * `services.get`: `GET v1/{name=*/*/services/*}`, a `Service` with `state` ENABLED or DISABLED;
//! * `services.enable`: `POST v1/{name}:enable` with an empty `EnableServiceRequest`;
//! * `services.disable`: `POST v1/{name}:disable` with `disableDependentServices` and
//!   `checkIfServiceHasUsage` (`SKIP` or `CHECK`);
//! * `operations.get`: `GET v1/{name=operations/*}`, for the long-running operation the two
//!   writes return.
//!
//! google-apis-rs publishes no `google-serviceusage1` crate, and Google's own
//! `google-cloud-api-serviceusage-v1` brings a second HTTP stack (reqwest 0.13 through
//! `google-cloud-gax-internal`) and its own credential type; four calls do not need either. Every
//! failure is handed back as the generated clients' `Error`, so `error::from_google` maps it the
//! same way.

use crate::auth::TokenSource;
use crate::config::Connector;
use google_iam1::api::Operation;
use google_iam1::common::{self, GetToken};
use google_iam1::hyper::{header, Method, Request};
use google_iam1::Error;
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The Service Usage v1 API at one base URL (`https://serviceusage.googleapis.com/` or an
/// emulator's), its paths starting with `v1/`.
#[derive(Clone)]
pub(crate) struct ServiceUsage {
    http: common::Client<Connector>,
    tokens: TokenSource,
    base_url: String,
}

impl ServiceUsage {
    pub(crate) fn new(http: common::Client<Connector>, tokens: TokenSource, base_url: String) -> ServiceUsage {
        ServiceUsage { http, tokens, base_url }
    }

    /// `services.get` of `projects/PROJECT/services/SERVICE`.
    pub(crate) async fn get(&self, name: &str) -> Result<Json, Error> {
        self.send(Method::GET, &format!("v1/{name}"), None).await
    }

    /// `services.enable`: an operation whose response is an `EnableServiceResponse`.
    pub(crate) async fn enable(&self, name: &str) -> Result<Operation, Error> {
        self.send(Method::POST, &format!("v1/{name}:enable"), Some(json!({}))).await
    }

    /// `services.disable`: an operation whose response is a `DisableServiceResponse`.
    pub(crate) async fn disable(
        &self,
        name: &str,
        disable_dependent_services: bool,
        check_usage: bool,
    ) -> Result<Operation, Error> {
        let body = json!({
            "disableDependentServices": disable_dependent_services,
            "checkIfServiceHasUsage": if check_usage { "CHECK" } else { "SKIP" },
        });
        self.send(Method::POST, &format!("v1/{name}:disable"), Some(body)).await
    }

    /// `operations.get` of `operations/ID`.
    pub(crate) async fn operation(&self, name: &str) -> Result<Operation, Error> {
        self.send(Method::GET, &format!("v1/{name}"), None).await
    }

    async fn send<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Json>) -> Result<T, Error> {
        let token = self.tokens.get_token(&[SCOPE]).await.map_err(Error::MissingToken)?;
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base_url, encode_path(path)))
            .header(header::USER_AGENT, concat!("trustform/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Some(body.to_string())
            }
            None => None,
        };
        // The path is encoded and the base URL checked by `check_endpoint`; should the URI still
        // be refused, that is the user's input, not worth a retry.
        let request = request.body(common::to_body(body)).map_err(|error| {
            Error::BadRequest(json!({"error": {"status": "INVALID_ARGUMENT", "message": format!("not a valid request URI: {error}")}}))
        })?;
        let response = self.http.request(request).await.map_err(Error::HttpError)?;
        let (parts, body) = response.into_parts();
        let bytes = common::to_bytes(body).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !parts.status.is_success() {
            return Err(match serde_json::from_str::<Json>(&text) {
                Ok(json) if json.get("error").is_some() => Error::BadRequest(json),
                _ => Error::Failure(common::to_response(parts, Some(bytes))),
            });
        }
        serde_json::from_str(&text).map_err(|error| Error::JsonDecodeError(text, error))
    }
}

/// The path with every byte outside RFC 3986's `pchar` (and `/`) percent-encoded, as the
/// generated clients encode a `name`.
fn encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&byte);
        if keep {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sent_percent_encoded() {
        assert_eq!(
            encode_path("v1/projects/p/services/iam.googleapis.com:enable"),
            "v1/projects/p/services/iam.googleapis.com:enable"
        );
        assert_eq!(encode_path("v1/projects/p/services/a b?c#d"), "v1/projects/p/services/a%20b%3Fc%23d");
    }
}
