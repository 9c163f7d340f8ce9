//! Workload identity federation's two calls: Security Token Service `POST /v1/token`
//! (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token), which exchanges an
//! AWS or OIDC credential for a federated access token against a pool provider's mapping and
//! condition, and IAM Service Account Credentials `generateAccessToken`
//! (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken),
//! which lets the federated principal impersonate a service account when a member of the
//! account's policy (or its project's) with `roles/iam.workloadIdentityUser` names it
//! (https://cloud.google.com/iam/docs/principal-identifiers).
//!
//! STS takes its fields as JSON (`grantType`, `subjectToken`, ...) or, as google-auth sends
//! them, form-encoded in snake case (`grant_type`, ...), and answers errors OAuth-style,
//! `{"error": "invalid_grant", "error_description": ...}`: a condition that refuses is
//! `unauthorized_client` "The given credential is rejected by the attribute condition." (as
//! reported in terraform-google-modules/terraform-example-foundation#1362), an audience naming
//! no usable provider `invalid_target`. The AWS subject token is google-auth's serialised
//! `GetCallerIdentity` request (google-auth-library-python `google/auth/aws.py`): URL-encoded
//! JSON of `url`, `method` and `headers`, among them the SigV4 `Authorization` and
//! `x-goog-cloud-target-resource`, the audience. Where Google would send the request to AWS,
//! the sandbox answers it as its own STS does (by the session token the request carries).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::GcpError;
use crate::federation::{self, cel, TokenError};
use crate::server::Shared;

const FEDERATED_PREFIX: &str = "tfsandbox-federated";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const JWT_TOKEN_TYPES: [&str; 2] =
    ["urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token"];
/// The roles that carry `iam.serviceAccounts.getAccessToken`
/// (https://cloud.google.com/iam/docs/understanding-roles#service-accounts-roles).
const TOKEN_ROLES: [&str; 2] = ["roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator"];

/// An OAuth error of the token endpoint (RFC 6749 section 5.2, as STS answers them).
struct OauthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OauthError {
    fn new(error: &'static str, description: impl Into<String>) -> OauthError {
        let status = if error == "unauthorized_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        OauthError { status, error, description: description.into() }
    }
}

impl IntoResponse for OauthError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.error, "error_description": self.description }))).into_response()
    }
}

/// The principal a federated token stands for.
#[derive(serde::Serialize, serde::Deserialize)]
struct Federated {
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL`.
    pool: String,
    subject: String,
    groups: Vec<String>,
    attributes: BTreeMap<String, String>,
}

/// The request's fields, from a JSON body (camel case) or a form (snake case).
fn fields(body: &[u8]) -> BTreeMap<String, String> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        return object.into_iter().filter_map(|(key, value)| Some((key, value.as_str()?.to_owned()))).collect();
    }
    form_urlencoded::parse(body)
        .map(|(key, value)| {
            let camel = key.split('_').enumerate().fold(String::new(), |mut out, (i, part)| {
                if i == 0 {
                    out.push_str(part);
                } else {
                    let mut chars = part.chars();
                    out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                    out.push_str(chars.as_str());
                }
                out
            });
            (camel, value.into_owned())
        })
        .collect()
}

pub(crate) fn token(shared: &Shared, body: &Bytes) -> Response {
    match exchange(shared, body) {
        Ok(federated) => {
            let token = federation::seal(FEDERATED_PREFIX, &serde_json::to_vec(&federated).unwrap_or_default());
            Json(json!({
                "access_token": token,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": 3600,
            }))
            .into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn exchange(shared: &Shared, body: &Bytes) -> Result<Federated, OauthError> {
    let fields = fields(body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("grantType") != TOKEN_EXCHANGE {
        return Err(OauthError::new(
            "unsupported_grant_type",
            format!("Unsupported grant type: {:?}.", field("grantType")),
        ));
    }
    let audience = field("audience");
    let invalid_target = || {
        OauthError::new(
            "invalid_target",
            "The target service indicated by the \"audience\" parameters is invalid. This might either be because the \
             pool or provider is disabled or deleted or because it doesn't exist.",
        )
    };
    let Some(["projects", number, "locations", "global", "workloadIdentityPools", pool, "providers", provider]) =
        audience
            .strip_prefix("//iam.googleapis.com/")
            .map(|name| name.split('/').collect::<Vec<_>>())
            .as_deref()
            .and_then(|parts| <[&str; 8]>::try_from(parts).ok())
    else {
        return Err(OauthError::new(
            "invalid_request",
            "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. \
             See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.",
        ));
    };
    // The audience names the project by number: an id here names no provider.
    let number: u64 = number.parse().map_err(|_| invalid_target())?;
    let provider = shared.gcp().exchange_provider(number, pool, provider).ok_or_else(invalid_target)?;
    let token_type = field("subjectTokenType");
    let assertion = match (&provider.aws_account, &provider.oidc_issuer) {
        (Some(account), _) if token_type == AWS_TOKEN_TYPE => {
            aws_assertion(shared, field("subjectToken"), audience, account)?
        }
        (None, Some(issuer)) if JWT_TOKEN_TYPES.contains(&token_type) => {
            oidc_assertion(field("subjectToken"), audience, issuer, &provider.allowed_audiences)?
        }
        _ => {
            return Err(OauthError::new(
                "invalid_request",
                format!("The subject token type {token_type:?} is not accepted by this provider."),
            ))
        }
    };
    let mut env = cel::Env { assertion, ..cel::Env::default() };
    for (key, expression) in &provider.mapping {
        let value = cel::eval(expression, &env).map_err(|error| {
            OauthError::new("invalid_grant", format!("The attribute mapping {key} could not be evaluated: {error}."))
        })?;
        let (scope, name) = key.split_once('.').unwrap_or(("attribute", key));
        let target = if scope == "google" { &mut env.google } else { &mut env.attribute };
        target.insert(name.to_owned(), value);
    }
    if !provider.condition.is_empty() {
        let admitted = cel::eval(&provider.condition, &env).ok().and_then(|value| value.as_bool()).unwrap_or(false);
        if !admitted {
            return Err(OauthError::new(
                "unauthorized_client",
                "The given credential is rejected by the attribute condition.",
            ));
        }
    }
    let subject = env.google.get("subject").and_then(Value::as_str).unwrap_or_default().to_owned();
    if subject.is_empty() {
        return Err(OauthError::new("invalid_grant", "The mapped google.subject is empty."));
    }
    let groups = match env.google.get("groups") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let attributes = env
        .attribute
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())))
        .collect();
    Ok(Federated { pool: provider.pool, subject, groups, attributes })
}

/// The claims of an AWS caller: `arn`, `account`, as Google's AWS provider exposes them.
fn aws_assertion(
    shared: &Shared,
    token: &str,
    audience: &str,
    trusted_account: &str,
) -> Result<Map<String, Value>, OauthError> {
    let invalid = |why: &str| OauthError::new("invalid_grant", why.to_owned());
    let decoded = percent_encoding::percent_decode_str(token)
        .decode_utf8()
        .map_err(|_| invalid("The subject token is not a serialised AWS request."))?;
    let request: Value =
        serde_json::from_str(&decoded).map_err(|_| invalid("The subject token is not a serialised AWS request."))?;
    let url = request.get("url").and_then(Value::as_str).unwrap_or_default();
    if !url.contains("Action=GetCallerIdentity") {
        return Err(invalid("The subject token must be a signed sts:GetCallerIdentity request."));
    }
    let headers: BTreeMap<String, String> = request
        .get("headers")
        .and_then(Value::as_array)
        .map(|headers| {
            headers
                .iter()
                .filter_map(|h| {
                    Some((h.get("key")?.as_str()?.to_ascii_lowercase(), h.get("value")?.as_str()?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    if !headers.get("authorization").is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 ")) {
        return Err(invalid("The AWS request is not signed with SigV4."));
    }
    if headers.get("x-goog-cloud-target-resource").map(String::as_str) != Some(audience) {
        return Err(invalid("The x-goog-cloud-target-resource header of the AWS request does not match the audience."));
    }
    let arn =
        federation::caller_arn(headers.get("x-amz-security-token").map(String::as_str), &shared.config.account_id);
    let account = federation::arn_account(&arn).unwrap_or_default().to_owned();
    if account != trusted_account {
        return Err(invalid(&format!(
            "The AWS account {account} of the caller is not the account {trusted_account} the provider trusts."
        )));
    }
    let mut claims = Map::new();
    claims.insert("arn".to_owned(), Value::String(arn));
    claims.insert("account".to_owned(), Value::String(account));
    Ok(claims)
}

/// The claims of an OIDC token, once its issuer and audience are the provider's: the allowed
/// audiences, or by default the provider's own resource name with `https:` in front
/// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers).
fn oidc_assertion(
    token: &str,
    audience: &str,
    issuer: &str,
    allowed: &[String],
) -> Result<Map<String, Value>, OauthError> {
    let claims = federation::verified_claims(token).map_err(|error| match error {
        TokenError::Expired => OauthError::new("invalid_grant", "ID Token issued at a time in the past has expired."),
        TokenError::Malformed => OauthError::new("invalid_grant", "Unable to parse the ID Token."),
    })?;
    let given = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    if given.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OauthError::new(
            "invalid_grant",
            format!("The issuer in ID Token {given} does not match the expected ones: {issuer}."),
        ));
    }
    let default = format!("https:{audience}");
    let accepted: Vec<&str> =
        if allowed.is_empty() { vec![default.as_str()] } else { allowed.iter().map(String::as_str).collect() };
    let audiences = federation::claim_strings(&claims, "aud");
    if !audiences.iter().any(|aud| accepted.contains(&aud.as_str())) {
        return Err(OauthError::new(
            "invalid_grant",
            format!("The audience in ID Token [{}] does not match the expected audience.", audiences.join(", ")),
        ));
    }
    Ok(claims)
}

/// `generateAccessToken` for `email`, by the bearer of `headers`.
pub(crate) fn generate_access_token(shared: &Shared, email: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    match generate(shared, email, headers, body) {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

fn generate(shared: &Shared, email: &str, headers: &HeaderMap, body: &Bytes) -> Result<Value, GcpError> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if request.get("scope").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        return Err(GcpError::invalid_argument("Scope required."));
    }
    let denied = || {
        GcpError::permission_denied(
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        )
    };
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let gcp = shared.gcp();
    let account = gcp.account_grants(email).ok_or_else(denied)?;
    if let Some(payload) = federation::unseal(FEDERATED_PREFIX, bearer) {
        let federated: Federated = serde_json::from_slice(&payload).map_err(|_| denied())?;
        let mut members = account.policy.unconditional_members(&TOKEN_ROLES);
        if let Some(project) = gcp.project(&account.project_id) {
            members.extend(project.policy.unconditional_members(&TOKEN_ROLES));
        }
        if !members.iter().any(|member| names(member, &federated)) {
            return Err(denied());
        }
    }
    if account.disabled {
        return Err(GcpError::failed_precondition(format!("Service account {} is disabled.", account.email)));
    }
    // Whole seconds, as the reference's example (`"2014-10-02T15:01:23Z"`); google-auth parses
    // no fraction.
    let expires = crate::ids::now() + time::Duration::hours(1);
    let expire = crate::ids::rfc3339(expires.replace_nanosecond(0).unwrap_or(expires));
    let token = federation::seal("tfsandbox-access", account.email.as_bytes());
    Ok(json!({ "accessToken": token, "expireTime": expire }))
}

/// Whether an IAM member names the federated principal
/// (https://cloud.google.com/iam/docs/principal-identifiers#v2).
fn names(member: &str, principal: &Federated) -> bool {
    let set = format!("principalSet://iam.googleapis.com/{}/", principal.pool);
    if let Some(subject) = member.strip_prefix(&format!("principal://iam.googleapis.com/{}/subject/", principal.pool)) {
        return subject == principal.subject;
    }
    let Some(rest) = member.strip_prefix(&set) else { return false };
    if rest == "*" {
        return true;
    }
    if let Some(group) = rest.strip_prefix("group/") {
        return principal.groups.iter().any(|g| g == group);
    }
    rest.strip_prefix("attribute.")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(name, value)| principal.attributes.get(name).is_some_and(|given| given == value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Federated {
        Federated {
            pool: "projects/42/locations/global/workloadIdentityPools/aws".to_owned(),
            subject: "arn:aws:sts::1:assumed-role/gw/s".to_owned(),
            groups: vec!["ops".to_owned()],
            attributes: BTreeMap::from([("aws_role".to_owned(), "arn:aws:sts::1:assumed-role/gw".to_owned())]),
        }
    }

    #[test]
    fn members_name_a_principal_by_subject_attribute_group_or_pool() {
        let pool = "iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/aws";
        for member in [
            format!("principal://{pool}/subject/arn:aws:sts::1:assumed-role/gw/s"),
            format!("principalSet://{pool}/attribute.aws_role/arn:aws:sts::1:assumed-role/gw"),
            format!("principalSet://{pool}/group/ops"),
            format!("principalSet://{pool}/*"),
        ] {
            assert!(names(&member, &principal()), "{member}");
        }
        for member in [
            format!("principalSet://{pool}/attribute.aws_role/arn:aws:iam::1:role/gw"),
            format!("principalSet://{pool}2/*"),
            "principalSet://iam.googleapis.com/projects/litellm-prod/locations/global/workloadIdentityPools/aws/*"
                .to_owned(),
            "serviceAccount:gw@p.iam.gserviceaccount.com".to_owned(),
        ] {
            assert!(!names(&member, &principal()), "{member}");
        }
    }

    #[test]
    fn form_fields_read_as_the_json_names() {
        let form = fields(b"grant_type=x&subject_token_type=y");
        assert_eq!(form.get("grantType").map(String::as_str), Some("x"));
        assert_eq!(form.get("subjectTokenType").map(String::as_str), Some("y"));
        let json = fields(br#"{"grantType":"x"}"#);
        assert_eq!(json.get("grantType").map(String::as_str), Some("x"));
    }
}
