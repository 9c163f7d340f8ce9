//! A small typed client over Vault's HTTP API (`/v1/...`, JSON, `X-Vault-Token`), which OpenBao
//! serves unchanged. Every call runs under the one [`RetryPolicy`]; answers are turned into
//! [`ProviderError`]s from the status and Vault's `{"errors": [...]}` body.
//!
//! The token travels only in a header marked sensitive (so no `Debug` of a request shows it);
//! bodies are never logged; error messages are Vault's own words, cut with [`clip`] and with
//! every secret the request carried redacted.

use crate::config::VaultSettings;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;
use trustform_lang::redact_texts;
use trustform_provider::{clip, retry, ProviderError, RetryPolicy};

/// The largest answer read: Vault's own answers for these endpoints are a few kilobytes.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Unreserved characters stay as they are in a path segment; everything else is escaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `parts` joined into a request path, each `/`-separated piece escaped on its own (a secret
/// name `apps/gateway` stays two segments, a space becomes `%20`).
pub(crate) fn api_path(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|part| part.split('/'))
        .filter(|piece| !piece.is_empty())
        .map(|piece| utf8_percent_encode(piece, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    address: String,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("address", &self.inner.address).finish_non_exhaustive()
    }
}

/// One answer: its status and body, before interpretation.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Vault {
    pub(crate) fn build(settings: &VaultSettings, policy: RetryPolicy) -> Result<Vault, ProviderError> {
        let mut headers = HeaderMap::new();
        let mut token = HeaderValue::from_str(settings.token.0.as_str()).map_err(|_| {
            ProviderError::invalid(format!(
                "provider \"vault\": the token from {} cannot be sent in an HTTP header",
                settings.token_origin()
            ))
        })?;
        token.set_sensitive(true);
        headers.insert("X-Vault-Token", token);
        headers.insert("X-Vault-Request", HeaderValue::from_static("true"));
        if let Some(namespace) = &settings.namespace {
            let value = HeaderValue::from_str(namespace).map_err(|_| {
                ProviderError::invalid("provider \"vault\": `namespace` (or VAULT_NAMESPACE) cannot be sent in an HTTP header; use a path such as `team/prod`")
            })?;
            headers.insert("X-Vault-Namespace", value);
        }
        // A standby node redirects to the active one; the token follows the redirect, so it may
        // go only where `address` itself could point.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if trustform_provider::check_endpoint("redirect", attempt.url().as_str()).is_err() {
                attempt.error("Vault redirected to an address the token may not be sent to in clear text")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(redirects)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .danger_accept_invalid_certs(settings.skip_tls_verify);
        if let Some(path) = &settings.ca_cert_file {
            let pem = std::fs::read(path).map_err(|e| {
                ProviderError::invalid(format!(
                    "provider \"vault\": ca_cert_file (or VAULT_CACERT) {} cannot be read ({e}); point it at the PEM file of the CA that signed Vault's certificate",
                    path.display()
                ))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ProviderError::invalid(format!(
                    "provider \"vault\": ca_cert_file (or VAULT_CACERT) {} is not a PEM certificate bundle ({e})",
                    path.display()
                ))
            })?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|e| {
            ProviderError::invalid(format!("provider \"vault\": the HTTP client cannot be built ({e})"))
        })?;
        Ok(Vault { inner: Arc::new(Inner { http, address: settings.address.clone(), policy }) })
    }

    /// `GET /v1/{path}`: the answer's JSON, or `None` when Vault answers that nothing is there.
    pub(crate) async fn read(&self, what: &str, path: &str) -> Result<Option<Json>, ProviderError> {
        match self.call(what, Method::GET, path, None, &[]).await {
            Ok(json) => Ok(Some(json.unwrap_or(Json::Null))),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST`/`PUT /v1/{path}` with `body`; `secrets` are redacted from any error message.
    pub(crate) async fn write(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: &Json,
        secrets: &[String],
    ) -> Result<Option<Json>, ProviderError> {
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec(body)
                .map_err(|e| ProviderError::invalid(format!("{what}: the request cannot be encoded ({e})")))?,
        );
        self.call(what, method, path, Some(bytes.as_slice()), secrets).await
    }

    /// `DELETE /v1/{path}`; an object already gone counts as deleted.
    pub(crate) async fn delete(&self, what: &str, path: &str) -> Result<(), ProviderError> {
        match self.call(what, Method::DELETE, path, None, &[]).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        secrets: &[String],
    ) -> Result<Option<Json>, ProviderError> {
        let url = format!("{}/v1/{path}", self.inner.address);
        let answer = retry(&self.inner.policy, ProviderError::is_retryable, || {
            let method = method.clone();
            let url = url.as_str();
            async move {
                let answer = self.once(what, method, url, body).await?;
                if answer.status.is_success() {
                    Ok(answer)
                } else {
                    Err(status_error(what, &answer))
                }
            }
        })
        .await
        .map_err(|mut error| {
            error.message = redact_texts(&error.message, secrets);
            error
        })?;
        tracing::debug!(method = %method, path, status = answer.status.as_u16(), "vault answered");
        if answer.body.is_empty() || answer.status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        serde_json::from_slice(&answer.body).map(Some).map_err(|e| ProviderError::undecodable(what, e))
    }

    async fn once(&self, what: &str, method: Method, url: &str, body: Option<&[u8]>) -> Result<Answer, ProviderError> {
        let mut request = self.inner.http.request(method, url);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_vec());
        }
        let mut response = request.send().await.map_err(|e| {
            ProviderError::transient(format!(
                "{what}: no answer from Vault at {} ({}); check the address and that the server is running and unsealed",
                self.inner.address,
                e.without_url()
            ))
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > BODY_LIMIT => {
                    return Err(ProviderError::undecodable(what, format!("an answer over {BODY_LIMIT} bytes")))
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(ProviderError::undecodable(
                        what,
                        format!("the answer was cut off: {}", e.without_url()),
                    ))
                }
            }
        }
        Ok(Answer { status, retry_after, body: bytes })
    }
}

/// Vault's answer as an error. Vault reports a missing mount or auth method on `GET
/// sys/mounts/:path` and `sys/auth/:path` as 400 with "No secret engine mount at" / "No auth
/// engine at" (as OpenBao 2.7 answers; checked by this crate's tests); those mean not found.
fn status_error(what: &str, answer: &Answer) -> ProviderError {
    let errors: Vec<String> = serde_json::from_slice::<Json>(&answer.body)
        .ok()
        .and_then(|json| {
            json.get("errors")?
                .as_array()
                .map(|items| items.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        })
        .unwrap_or_default();
    let said = if errors.is_empty() {
        answer.status.canonical_reason().unwrap_or("no reason given").to_owned()
    } else {
        errors.join("; ")
    };
    let message = format!("{what}: Vault answered {}: {}", answer.status.as_u16(), clip(&said));
    let missing =
        errors.iter().any(|e| e.starts_with("No secret engine mount at") || e.starts_with("No auth engine at"));
    let taken = errors.iter().any(|e| e.contains("path is already in use"));
    match answer.status.as_u16() {
        404 => ProviderError::not_found(message),
        400 if missing => ProviderError::not_found(message),
        400 if taken => ProviderError::already_exists(message),
        401 | 403 => ProviderError::denied(format!(
            "{message}. The token lacks a policy allowing this path, or has expired; check it with `vault token lookup`"
        )),
        // Vault's "precondition failed": a performance standby has not caught up yet.
        412 => ProviderError::transient(message),
        429 => ProviderError::throttled(answer.retry_after, message),
        // 503 is a sealed or standby-without-forwarding node; 5xx may pass.
        500..=599 => ProviderError::transient(message),
        _ => ProviderError::invalid(message),
    }
    .with_code(answer.status.as_u16().to_string())
}

/// The `data` object of an answer (Vault wraps every read in `{"data": ...}`).
pub(crate) fn data(answer: &Json) -> &Json {
    answer.get("data").unwrap_or(&Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status: StatusCode::from_u16(status).unwrap(), retry_after: None, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn paths_keep_slashes_between_pieces_and_escape_the_rest() {
        assert_eq!(api_path(&["kv", "data", "apps/gateway"]), "kv/data/apps/gateway");
        assert_eq!(api_path(&["sys/mounts", "/kv v2/"]), "sys/mounts/kv%20v2");
        assert_eq!(api_path(&["kv", "data", "a?b#c"]), "kv/data/a%3Fb%23c");
    }

    #[test]
    fn answers_map_to_error_kinds() {
        let missing = status_error("read", &answer(400, r#"{"errors":["No secret engine mount at nope/"]}"#));
        assert!(missing.is_not_found(), "{missing}");
        assert!(status_error("read", &answer(400, r#"{"errors":["No auth engine at nope/"]}"#)).is_not_found());
        let taken = status_error("create", &answer(400, r#"{"errors":["path is already in use at kv/"]}"#));
        assert_eq!(taken.kind, trustform_provider::ProviderErrorKind::AlreadyExists);
        let denied = status_error("read", &answer(403, r#"{"errors":["permission denied"]}"#));
        assert_eq!(denied.kind, trustform_provider::ProviderErrorKind::Denied);
        assert!(denied.message.contains("permission denied"), "{denied}");
        assert!(status_error("read", &answer(503, r#"{"errors":["Vault is sealed"]}"#)).is_retryable());
        assert!(!status_error("write", &answer(400, r#"{"errors":["bad"]}"#)).is_retryable());
        let html = status_error("read", &answer(502, "<html>proxy</html>"));
        assert!(html.message.ends_with("Vault answered 502: Bad Gateway"), "{html}");
    }
}
