//! Microsoft Entra ID's token endpoint with a federated client assertion
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential):
//! `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, `client_id`,
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and the
//! workload's token as `client_assertion`. The assertion is accepted when a federated identity
//! credential of the application (by app id) or user-assigned managed identity (by client id)
//! names its issuer and subject exactly and lists its audience
//! (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation#how-it-works).
//! Errors carry Entra's AADSTS codes and texts
//! (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes): 700211,
//! 700213 and 700212 "No matching federated identity record found for presented assertion
//! issuer / subject / audience", 700016 for an unknown client, 700024 for an expired assertion.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{claim_strings, verified_claims, TokenError};
use crate::server::Shared;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn error(status: StatusCode, error: &str, code: u32, description: String) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}"),
        "error_codes": [code],
    });
    (status, Json(body)).into_response()
}

pub(crate) async fn token(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let form: std::collections::BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" || field("client_assertion_type") != JWT_BEARER {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain grant_type=client_credentials and a jwt-bearer client_assertion.".to_owned(),
        );
    }
    let client_id = field("client_id");
    let (tenant_id, credentials) = {
        let azure = shared.azure();
        (azure.tenant_id().to_owned(), azure.federated_credentials(client_id))
    };
    let Some(credentials) = credentials.filter(|_| tenant.eq_ignore_ascii_case(&tenant_id)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        );
    };
    let claims = match verified_claims(field("client_assertion")) {
        Ok(claims) => claims,
        Err(TokenError::Expired) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.".to_owned(),
            )
        }
        Err(TokenError::Malformed) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                50027,
                "JWT token is invalid or malformed.".to_owned(),
            )
        }
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (issuer, subject, audiences) = (text("iss"), text("sub"), claim_strings(&claims, "aud"));
    // Issuer, then subject, then audience, each compared case-sensitively; the first that no
    // credential (of those matching so far) names is the error.
    let by_issuer: Vec<_> = credentials.iter().filter(|(want, _, _)| *want == issuer).collect();
    let by_subject: Vec<_> = by_issuer.iter().filter(|(_, want, _)| *want == subject).collect();
    let matched = by_subject.iter().any(|(_, _, want)| audiences.iter().any(|aud| want.contains(aud)));
    let refusal = if by_issuer.is_empty() {
        Some((700211, format!("assertion issuer '{issuer}'")))
    } else if by_subject.is_empty() {
        Some((700213, format!("assertion subject '{subject}'")))
    } else if !matched {
        Some((700212, format!("assertion audience '{}'", audiences.join(","))))
    } else {
        None
    };
    if let Some((code, what)) = refusal {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            format!(
                "No matching federated identity record found for presented {what}. Please note that the matching is \
                 done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and \
                 Issuer against the presented assertion."
            ),
        );
    }
    let token = super::seal("tfsandbox-entra", client_id.as_bytes());
    Json(json!({ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token }))
        .into_response()
}
