//! Workload identity federation: the token exchanges the emulated clouds serve, and the tokens
//! they trust.
//!
//! A real cloud checks an OIDC token's signature against its issuer's published keys (JWKS);
//! the sandbox has no issuers to ask, so it trusts one key for every issuer, [`SIGNING_KEY`],
//! and [`mint_token`] signs with it (HS256, RFC 7519). Everything else about a token (its
//! issuer, audience, subject, expiry) is checked as the cloud checks it. AWS session
//! credentials the sandbox issues carry the assumed-role ARN in their session token, signed with
//! the same key, so that a later signed request (`GetCallerIdentity`, or Google's verification
//! of one) names the session that made it.

pub(crate) mod cel;
pub(crate) mod entra;
pub(crate) mod trust_policy;
pub(crate) mod web_identity;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The key every token the sandbox accepts is signed with. Public on purpose: it proves nothing
/// outside the sandbox.
pub const SIGNING_KEY: &[u8] = b"trustform-sandbox-federation-key";

/// The `kid` of tokens signed with [`SIGNING_KEY`].
const KEY_ID: &str = "trustform-sandbox";

/// The prefix of a session token the sandbox's STS issues.
const SESSION_PREFIX: &str = "TFSANDBOXSESSION";

fn sign(input: &str) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_KEY).unwrap_or_else(|_| unreachable!());
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn signature_matches(input: &str, signature: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_KEY).unwrap_or_else(|_| unreachable!());
    mac.update(input.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// A JWT (JWS compact serialisation, HS256) carrying `claims`, signed with [`SIGNING_KEY`]: what
/// `trustform verify --sandbox` presents as a workload's OIDC token.
pub fn mint_token(claims: &Value) -> String {
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": KEY_ID });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = sign(&input);
    format!("{input}.{signature}")
}

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not three base64url parts of JSON, or not signed by the sandbox key.
    Malformed,
    /// Its `exp` has passed.
    Expired,
}

/// The claims of a token [`mint_token`] made, once its signature and expiry are checked.
pub(crate) fn verified_claims(token: &str) -> Result<Map<String, Value>, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    if !signature_matches(&format!("{header}.{payload}"), signature) {
        return Err(TokenError::Malformed);
    }
    let header: Value = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(TokenError::Malformed);
    }
    let Value::Object(claims) = decode_json(payload)? else { return Err(TokenError::Malformed) };
    let now = crate::ids::now().unix_timestamp();
    if claims.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp <= now) {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

fn decode_json(part: &str) -> Result<Value, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// A claim as the list of strings it holds: a string is a list of one (`aud` may be either,
/// RFC 7519 section 4.1.3).
pub(crate) fn claim_strings(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// `payload` sealed under [`SIGNING_KEY`] behind `prefix`: `PREFIX.BASE64URL.SIGNATURE`, for the
/// opaque tokens the emulated clouds issue and later read back.
pub(crate) fn seal(prefix: &str, payload: &[u8]) -> String {
    let input = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature = sign(&input);
    format!("{input}.{signature}")
}

/// The payload of a token [`seal`] made with `prefix`, if it is one.
pub(crate) fn unseal(prefix: &str, token: &str) -> Option<Vec<u8>> {
    let mut parts = token.split('.');
    let (Some(given), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if given != prefix || !signature_matches(&format!("{prefix}.{payload}"), signature) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(payload).ok()
}

/// The session token of AWS credentials issued for `assumed_role_arn`.
pub(crate) fn session_token(assumed_role_arn: &str) -> String {
    seal(SESSION_PREFIX, assumed_role_arn.as_bytes())
}

/// The assumed-role ARN a session token from [`session_token`] was issued for.
pub(crate) fn session_arn(token: &str) -> Option<String> {
    String::from_utf8(unseal(SESSION_PREFIX, token)?).ok()
}

/// The identity behind a SigV4-signed request: the session its `X-Amz-Security-Token` names,
/// else the sandbox's one IAM user of `account_id` (any long-term key is accepted).
pub(crate) fn caller_arn(session_token: Option<&str>, account_id: &str) -> String {
    session_token.and_then(session_arn).unwrap_or_else(|| format!("arn:aws:iam::{account_id}:user/sandbox"))
}

/// The account of an IAM or STS ARN (`arn:aws:sts::ACCOUNT:...`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// Whether a `POST` to `path` is a token exchange, which changes nothing and is not journaled.
pub(crate) fn is_exchange(path: &str) -> bool {
    path.ends_with("/assume-role-for-pod-identity")
        || path == "/v1/token"
        || path.ends_with(":generateAccessToken")
        || path.ends_with("/oauth2/v2.0/token")
}

/// Temporary AWS credentials for an assumed role: the session token names the session.
#[derive(Debug, Clone)]
pub(crate) struct SessionCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) expiration: time::OffsetDateTime,
    /// The `AROA...` id of the role, derived from its ARN.
    pub(crate) role_id: String,
}

impl SessionCredentials {
    /// Credentials for the session `assumed_role_arn`, valid for an hour (STS's default).
    pub(crate) fn issue(assumed_role_arn: &str) -> SessionCredentials {
        use sha2::Digest as _;
        let digest = Sha256::digest(assumed_role_arn.as_bytes());
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let id = |skip: usize| -> String {
            digest.iter().skip(skip).take(16).map(|b| char::from(alphabet[usize::from(*b) % 32])).collect()
        };
        let role = assumed_role_arn.rsplit_once('/').map_or(assumed_role_arn, |(role, _)| role);
        let role_digest = Sha256::digest(role.as_bytes());
        SessionCredentials {
            access_key_id: format!("ASIA{}", id(0)),
            secret_access_key: URL_SAFE_NO_PAD.encode(&digest[..30]),
            session_token: session_token(assumed_role_arn),
            expiration: crate::ids::now() + time::Duration::hours(1),
            role_id: format!(
                "AROA{}",
                role_digest.iter().take(17).map(|b| char::from(alphabet[usize::from(*b) % 32])).collect::<String>()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_minted_token_verifies_and_a_tampered_one_does_not() {
        let token = mint_token(&json!({ "iss": "https://issuer.example", "sub": "a", "exp": 4_102_444_800_i64 }));
        assert_eq!(verified_claims(&token).unwrap()["sub"], "a");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(json!({ "iss": "https://issuer.example", "sub": "b" }).to_string());
        parts[1] = &forged;
        assert_eq!(verified_claims(&parts.join(".")), Err(TokenError::Malformed));
        assert_eq!(verified_claims("not a token"), Err(TokenError::Malformed));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = mint_token(&json!({ "sub": "a", "exp": 1 }));
        assert_eq!(verified_claims(&token), Err(TokenError::Expired));
    }

    #[test]
    fn session_tokens_name_their_role_and_cannot_be_forged() {
        let arn = "arn:aws:sts::123456789012:assumed-role/gateway/eks-litellm";
        assert_eq!(session_arn(&session_token(arn)).as_deref(), Some(arn));
        let forged = format!("{SESSION_PREFIX}.{}.AAAA", URL_SAFE_NO_PAD.encode(arn));
        assert_eq!(session_arn(&forged), None);
        assert_eq!(caller_arn(Some(&forged), "123456789012"), "arn:aws:iam::123456789012:user/sandbox");
        assert_eq!(arn_account(arn), Some("123456789012"));
    }
}
