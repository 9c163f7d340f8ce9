//! The Google side of the token exchanges `trustform verify` performs, read-only: Security Token
//! Service `token` (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token), the
//! RFC 8693 exchange of an AWS or OIDC credential for a federated token, and IAM Service Account
//! Credentials `generateAccessToken`
//! (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken).
//! No client library of the build covers either, so this is a small typed client on `reqwest`.
//!
//! Endpoints: `GOOGLE_STS_CUSTOM_ENDPOINT` (default `https://sts.googleapis.com/v1/`) and
//! `GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT` (the Terraform Google provider's variable, default
//! `https://iamcredentials.googleapis.com/v1/`). Tokens never appear in `Debug` or errors.

/// The subject token type of a serialised, signed AWS `GetCallerIdentity` request.
pub const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
/// The subject token type of an OIDC token.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A federated access token, redacted in `Debug`.
pub struct FederatedToken(String);

impl std::fmt::Debug for FederatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FederatedToken(..)")
    }
}

/// Why an exchange failed: Google refused (its error code, e.g. `invalid_grant` or
/// `PERMISSION_DENIED`, and message), or it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    Refused { code: String, message: String },
    Unreachable(String),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Refused { code, message } => write!(f, "{code}: {message}"),
            ExchangeError::Unreachable(why) => write!(f, "{why}"),
        }
    }
}

fn endpoint(variable: &str, default: &str) -> String {
    let base = std::env::var(variable).ok().filter(|value| !value.is_empty()).unwrap_or_else(|| default.to_owned());
    if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    }
}

async fn post(url: &str, bearer: Option<&str>, body: serde_json::Value) -> Result<serde_json::Value, ExchangeError> {
    let mut request =
        reqwest::Client::new().post(url).header("content-type", "application/json").body(body.to_string());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request
        .send()
        .await
        .map_err(|error| ExchangeError::Unreachable(format!("{url} could not be reached: {error}")))?;
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        return Ok(answer);
    }
    // OAuth errors (`error`, `error_description`) from STS, google.rpc errors from IAM.
    let (code, message) = match answer.get("error") {
        Some(serde_json::Value::String(code)) => {
            (code.clone(), answer.get("error_description").and_then(|v| v.as_str()).unwrap_or_default().to_owned())
        }
        Some(error) => (
            error.get("status").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            error.get("message").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        ),
        None => (status.as_u16().to_string(), String::new()),
    };
    Err(ExchangeError::Refused { code, message })
}

/// Exchanges `subject_token` at STS for a federated token of the pool provider `audience`
/// (`//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID`).
pub async fn exchange(
    audience: &str,
    subject_token: &str,
    subject_token_type: &str,
) -> Result<FederatedToken, ExchangeError> {
    let url = format!("{}token", endpoint("GOOGLE_STS_CUSTOM_ENDPOINT", "https://sts.googleapis.com/v1/"));
    let answer = post(
        &url,
        None,
        serde_json::json!({
            "grantType": "urn:ietf:params:oauth:grant-type:token-exchange",
            "audience": audience,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "requestedTokenType": "urn:ietf:params:oauth:token-type:access_token",
            "subjectToken": subject_token,
            "subjectTokenType": subject_token_type,
        }),
    )
    .await?;
    answer
        .get("access_token")
        .and_then(|v| v.as_str())
        .map(|token| FederatedToken(token.to_owned()))
        .ok_or_else(|| ExchangeError::Unreachable("STS answered no access_token".to_owned()))
}

/// Asks for an access token of the service account `email` with the federated token: what the
/// workload's client library does to impersonate it.
pub async fn generate_access_token(token: &FederatedToken, email: &str) -> Result<(), ExchangeError> {
    let base = endpoint("GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT", "https://iamcredentials.googleapis.com/v1/");
    let url = format!("{base}projects/-/serviceAccounts/{email}:generateAccessToken");
    let answer = post(
        &url,
        Some(&token.0),
        serde_json::json!({ "scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "600s" }),
    )
    .await?;
    answer
        .get("accessToken")
        .map(|_| ())
        .ok_or_else(|| ExchangeError::Unreachable("IAM Credentials answered no accessToken".to_owned()))
}
