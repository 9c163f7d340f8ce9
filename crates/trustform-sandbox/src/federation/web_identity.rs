//! STS `AssumeRoleWithWebIdentity`
//! (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html):
//! the token's issuer must be an IAM OpenID Connect provider of the account, its audience one of
//! the provider's client ids, and the role's trust policy must let that provider's principal
//! assume it with the token's `aud` and `sub` as condition keys. The errors and their wording
//! are the reference's: `InvalidIdentityToken` ("No OpenIDConnect provider found in your account
//! for ...", "Incorrect token audience"), `ExpiredTokenException`, and `AccessDenied` ("Not
//! authorized to perform sts:AssumeRoleWithWebIdentity") for a trust that refuses.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use super::trust_policy::{self, Principal};
use super::{claim_strings, verified_claims, SessionCredentials, TokenError};
use crate::ids::rfc3339;
use crate::query::{Params, QueryError, Xml};
use crate::server::Shared;

fn invalid_token(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", message)
}

pub(crate) fn assume_role_with_web_identity(shared: &Shared, params: &Params) -> Result<Option<String>, QueryError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    let token = params.required("WebIdentityToken")?;
    let claims = verified_claims(token).map_err(|error| match error {
        TokenError::Expired => QueryError::new(
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            "Token expired: current date/time must be before the expiration date/time.",
        ),
        TokenError::Malformed => invalid_token(
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the \
             identity provider and then retry the request.",
        ),
    })?;
    let issuer = claims.get("iss").and_then(serde_json::Value::as_str).unwrap_or_default();
    let host_path = issuer.strip_prefix("https://").unwrap_or(issuer).trim_end_matches('/');
    // The call is unsigned: the role's ARN names the account whose IAM answers (each emulated
    // account has its own, see `iam::dispatch`).
    let account_id = crate::federation::arn_account(role_arn).unwrap_or(&shared.config.account_id).to_owned();
    let provider_arn = format!("arn:aws:iam::{account_id}:oidc-provider/{host_path}");
    let audiences = claim_strings(&claims, "aud");
    let (client_ids, trust) = {
        let accounts = shared.iam();
        let iam = accounts.get(&account_id);
        (iam.and_then(|iam| iam.oidc_audiences(&provider_arn)), iam.and_then(|iam| iam.trust_of(role_arn)))
    };
    let Some(client_ids) = client_ids else {
        return Err(invalid_token(format!("No OpenIDConnect provider found in your account for {issuer}")));
    };
    let Some(audience) = audiences.iter().find(|aud| client_ids.contains(aud)) else {
        return Err(invalid_token("Incorrect token audience"));
    };
    let subject = claims.get("sub").and_then(serde_json::Value::as_str).unwrap_or_default();
    let mut context = BTreeMap::new();
    context.insert(format!("{host_path}:aud"), audiences.clone());
    context.insert(format!("{host_path}:sub"), vec![subject.to_owned()]);
    let amr = claim_strings(&claims, "amr");
    if !amr.is_empty() {
        context.insert(format!("{host_path}:amr"), amr);
    }
    let request = trust_policy::Request {
        principal: Principal::Federated(&provider_arn),
        actions: &["sts:AssumeRoleWithWebIdentity"],
        context,
    };
    let Some((role_name, _)) = trust.filter(|(_, policy)| trust_policy::allows(policy, &request)) else {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ));
    };
    let arn = format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}");
    let credentials = SessionCredentials::issue(&arn);
    let mut xml = Xml::default();
    xml.open("Credentials")
        .leaf("AccessKeyId", &credentials.access_key_id)
        .leaf("SecretAccessKey", &credentials.secret_access_key)
        .leaf("SessionToken", &credentials.session_token)
        .leaf("Expiration", &rfc3339(credentials.expiration))
        .close("Credentials")
        .leaf("SubjectFromWebIdentityToken", subject)
        .open("AssumedRoleUser")
        .leaf("Arn", &arn)
        .leaf("AssumedRoleId", &format!("{}:{session_name}", credentials.role_id))
        .close("AssumedRoleUser")
        .leaf("Provider", host_path)
        .leaf("Audience", audience);
    Ok(Some(xml.into_string()))
}
