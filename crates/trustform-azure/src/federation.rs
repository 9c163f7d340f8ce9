//! The Entra ID side of the token exchanges `trustform verify` performs, read-only: the client
//! credentials grant with a federated client assertion
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential),
//! what a workload does with its OIDC token to act as an application or a user-assigned managed
//! identity. The authority is `AZURE_AUTHORITY_HOST` (azure-identity's variable, default
//! `https://login.microsoftonline.com`). The assertion never appears in an error.

/// Why the exchange failed: Entra refused (its first AADSTS code and description), or could not
/// be asked.
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

/// Exchanges `assertion` for a token of `client_id` in `tenant`, for `scope`.
pub async fn client_assertion_token(
    tenant: &str,
    client_id: &str,
    assertion: &str,
    scope: &str,
) -> Result<(), ExchangeError> {
    let authority = std::env::var("AZURE_AUTHORITY_HOST")
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "https://login.microsoftonline.com".to_owned());
    let url = format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'));
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("scope", scope)
        .append_pair("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        .append_pair("client_assertion", assertion)
        .finish();
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|error| ExchangeError::Unreachable(format!("{url} could not be reached: {error}")))?;
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if status.is_success() && answer.get("access_token").is_some() {
        return Ok(());
    }
    let code = answer
        .get("error_codes")
        .and_then(|codes| codes.get(0))
        .map(|code| format!("AADSTS{code}"))
        .unwrap_or_else(|| status.as_u16().to_string());
    // The description starts with the code again ("AADSTS70021: No matching ..."): shown once.
    let description = answer.get("error_description").and_then(|v| v.as_str()).unwrap_or_default();
    let message = description.strip_prefix(&format!("{code}: ")).unwrap_or(description).to_owned();
    Err(ExchangeError::Refused { code, message })
}
