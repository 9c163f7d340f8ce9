//! How requests reach ARM: the SDK client's last pipeline policy, which attaches the bearer
//! token, sends the request, and turns an unsuccessful answer into an [`ArmFailure`] that keeps
//! what the SDK's own error drops (the `Retry-After` header).
//!
//! The token is attached here rather than by the SDK for a reason: `azure_core` 0.21 logs every
//! request at debug level before the transport, and its header redaction is inverted (it prints
//! `Authorization` and hides the rest). The SDK therefore holds only a [`Placeholder`]
//! credential, and the real token exists in the request for the moment it is sent.

use async_trait::async_trait;
use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::{Error, ErrorKind};
use azure_core::headers::{HeaderName, AUTHORIZATION};
use azure_core::{Context, HttpClient, Policy, PolicyResult, Request};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// An ARM answer that was not a success, as the adapter needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArmFailure {
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ArmFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "HTTP {} {code}: {message}", self.status),
            (Some(code), None) => write!(f, "HTTP {} {code}", self.status),
            (None, Some(message)) => write!(f, "HTTP {}: {message}", self.status),
            (None, None) => write!(f, "HTTP {} without an error body", self.status),
        }
    }
}

impl std::error::Error for ArmFailure {}

/// A fixed bearer token (`ARM_ACCESS_TOKEN`): no login flow at all.
pub(crate) struct StaticToken(pub Secret);

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(")?;
        f.write_str(trustform_lang::REDACTED)?;
        f.write_str(")")
    }
}

#[async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        // The token's real lifetime is unknown; an hour is how long ARM tokens usually live.
        Ok(AccessToken::new(self.0.clone(), OffsetDateTime::now_utc() + time::Duration::hours(1)))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// What the SDK client is given as its credential: a token that authorises nothing, replaced
/// by [`ArmTransport`] before the request leaves the process.
#[derive(Debug)]
pub(crate) struct Placeholder;

#[async_trait]
impl TokenCredential for Placeholder {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            Secret::new("attached-by-the-transport"),
            OffsetDateTime::now_utc() + time::Duration::days(1),
        ))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// The last policy of the SDK pipeline.
pub(crate) struct ArmTransport {
    http: Arc<dyn HttpClient>,
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
}

impl fmt::Debug for ArmTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmTransport").field("credential", &self.credential).field("scopes", &self.scopes).finish()
    }
}

impl ArmTransport {
    pub(crate) fn new(credential: Arc<dyn TokenCredential>, scopes: Vec<String>) -> ArmTransport {
        ArmTransport { http: azure_core::new_http_client(), credential, scopes }
    }
}

#[async_trait]
impl Policy for ArmTransport {
    async fn send(&self, _ctx: &Context, request: &mut Request, _next: &[Arc<dyn Policy>]) -> PolicyResult {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self.credential.get_token(&scopes).await?;
        let mut outgoing = request.clone();
        outgoing.insert_header(AUTHORIZATION, format!("Bearer {}", token.token.secret()));
        let response = self.http.execute_request(&outgoing).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after =
            response.headers().get_optional_str(&HeaderName::from_static("retry-after")).and_then(parse_retry_after);
        let (status, _headers, body) = response.deconstruct();
        let body = body.collect().await.unwrap_or_default();
        let (code, message) = error_of(&body);
        let failure = ArmFailure { status: u16::from(status), code: code.clone(), message, retry_after };
        let text = failure.to_string();
        Err(Error::full(ErrorKind::http_response(status, code), failure, text))
    }
}

/// `Retry-After` in delta-seconds, the form ARM sends.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The `{"error":{"code","message"}}` of an ARM error body, when it has one.
fn error_of(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None) };
    let error = json.get("error").unwrap_or(&json);
    let text = |name: &str| error.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    (text("code"), text("message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_and_retry_after_parse() {
        let body = br#"{"error":{"code":"PrincipalNotFound","message":"Principal x does not exist."}}"#;
        assert_eq!(
            error_of(body),
            (Some("PrincipalNotFound".to_owned()), Some("Principal x does not exist.".to_owned()))
        );
        assert_eq!(error_of(b"<html>"), (None, None));
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let debug = format!("{:?}", StaticToken(Secret::new("eyJ0eXAiOiJKV1Qi")));
        assert!(!debug.contains("eyJ0eXAi"), "{debug}");
    }
}
