//! How requests reach ARM: the SDK client's last pipeline policy, which attaches the bearer
//! token, sends the request, and turns an unsuccessful answer into an [`ArmFailure`] that keeps
//! what the SDK's own error drops (the `Retry-After` header).
//!
//! Bodies are read here too, with a cap ([`MAX_BODY`], [`MAX_ERROR_BODY`]), so that an endpoint
//! answering without end cannot exhaust memory, and a body cut off mid-answer is reported as an
//! answer that could not be read rather than as a passing fault.
//!
//! The token is attached here rather than by the SDK for a reason: `azure_core` 0.21 logs every
//! request at debug level before the transport, and its header redaction is inverted (it prints
//! `Authorization` and hides the rest). The SDK therefore holds only a [`Placeholder`]
//! credential, and the real token exists in the request for the moment it is sent.

use async_trait::async_trait;
use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::{Error, ErrorKind};
use azure_core::headers::{HeaderName, AUTHORIZATION};
use azure_core::{BytesStream, Context, HttpClient, Policy, PolicyResult, Request, Response, ResponseBody};
use futures::StreamExt;
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

/// The most bytes of a success body read. The largest answer Trustform asks ARM for, every role
/// definition of a scope with the few hundred built-in ones, is a few megabytes.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;
/// The most bytes of an error body read: ARM's errors are a few hundred bytes, and a larger one
/// is a proxy's page, whose first bytes say all it can.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// A success body that could not be read whole: cut off mid-answer, or larger than [`MAX_BODY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnreadableBody(pub String);

impl fmt::Display for UnreadableBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnreadableBody {}

/// Reads at most `limit` bytes of `body`: the bytes, and whether more followed.
async fn read_capped(mut body: ResponseBody, limit: usize) -> azure_core::Result<(Vec<u8>, bool)> {
    let mut read = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if read.len() + chunk.len() > limit {
            read.extend_from_slice(&chunk[..limit - read.len()]);
            return Ok((read, true));
        }
        read.extend_from_slice(&chunk);
    }
    Ok((read, false))
}

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
            let (status, headers, body) = response.deconstruct();
            let unreadable =
                |what: String| Err(Error::full(ErrorKind::DataConversion, UnreadableBody(what.clone()), what));
            return match read_capped(body, MAX_BODY).await {
                Ok((body, false)) => Ok(Response::new(status, headers, Box::pin(BytesStream::new(body)))),
                Ok((_, true)) => unreadable(format!("the body is larger than {MAX_BODY} bytes")),
                Err(error) => unreadable(format!("the connection closed mid-answer: {error}")),
            };
        }
        let retry_after =
            response.headers().get_optional_str(&HeaderName::from_static("retry-after")).and_then(parse_retry_after);
        let (status, _headers, body) = response.deconstruct();
        let (code, message) = match read_capped(body, MAX_ERROR_BODY).await {
            Ok((body, false)) => error_of(&body),
            Ok((_, true)) => (None, Some(format!("an error body larger than {MAX_ERROR_BODY} bytes, not read"))),
            Err(_) => (None, None),
        };
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

    fn stream(chunks: Vec<&'static [u8]>) -> ResponseBody {
        let chunks = futures::stream::iter(chunks).flat_map(BytesStream::new);
        let (_, _, body) =
            Response::new(azure_core::StatusCode::Ok, Default::default(), Box::pin(chunks)).deconstruct();
        body
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_their_cap() {
        let (read, more) = read_capped(stream(vec![b"abc", b"def"]), 10).await.unwrap();
        assert_eq!((read.as_slice(), more), (b"abcdef".as_slice(), false));
        let (read, more) = read_capped(stream(vec![b"abc", b"def", b"ghi"]), 5).await.unwrap();
        assert_eq!((read.as_slice(), more), (b"abcde".as_slice(), true));
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let debug = format!("{:?}", StaticToken(Secret::new("eyJ0eXAiOiJKV1Qi")));
        assert!(!debug.contains("eyJ0eXAi"), "{debug}");
    }
}
