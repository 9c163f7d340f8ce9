//! Google API errors normalised into the engine's [`ProviderErrorKind`] taxonomy.
//!
//! Google answers every failure with `{"error": {"code": 409, "message": "...", "status":
//! "ALREADY_EXISTS"}}`; the generated clients hand that JSON back as `Error::BadRequest` (any
//! non-2xx with a JSON body) and anything else as `Error::Failure` with the raw response.

use google_iam1::Error;
use trustform_provider::{clip, ProviderError, ProviderErrorKind};

/// Maps the failure of `method` (`iam.projects.serviceAccounts.create`, say) to a
/// [`ProviderError`] that keeps Google's status as its code.
pub(crate) fn from_google(method: &str, error: Error) -> ProviderError {
    match error {
        Error::BadRequest(body) => {
            let error = body.get("error");
            let code = error.and_then(|e| e.get("code")).and_then(serde_json::Value::as_u64);
            let status = error.and_then(|e| e.get("status")).and_then(serde_json::Value::as_str);
            let message = error.and_then(|e| e.get("message")).and_then(serde_json::Value::as_str).unwrap_or("");
            let kind = kind_of(status, code.and_then(|c| u16::try_from(c).ok()));
            let error = ProviderError::new(kind, format!("{method}: {}", clip(message)));
            match status {
                Some(status) => error.with_code(status),
                None => error,
            }
        }
        Error::Failure(response) => {
            let status = response.status().as_u16();
            ProviderError::new(kind_of(None, Some(status)), format!("{method}: HTTP {status}"))
        }
        Error::HttpError(error) => ProviderError::transient(format!("{method}: {error}")),
        Error::Io(error) => ProviderError::transient(format!("{method}: {error}")),
        Error::MissingToken(error) => {
            ProviderError::denied(format!("{method}: could not get a Google access token: {error}"))
        }
        // The generated clients read a body cut off mid-answer as an empty one.
        Error::JsonDecodeError(body, _) if body.is_empty() => {
            ProviderError::undecodable(method, "the answer ended before its body: the connection closed mid-answer")
        }
        Error::JsonDecodeError(_, error) => ProviderError::undecodable(
            method,
            format!("a success whose body is not the JSON the API documents: {error}"),
        ),
        other => ProviderError::invalid(format!("{method}: {}", other.to_string().trim_end())),
    }
}

/// Whether `error` is IAM refusing a policy that names a service account it does not know yet:
/// `400 INVALID_ARGUMENT` "Service account X does not exist.", which IAM answers for a few
/// seconds after the account's create (<https://cloud.google.com/iam/docs/overview#consistency>).
/// Terraform's google provider retries exactly this on IAM policy writes
/// (GoogleCloudPlatform/magic-modules#4441, for hashicorp/terraform-provider-google#8280).
pub(crate) fn is_new_member_not_yet_known(error: &ProviderError) -> bool {
    error.code.as_deref() == Some("INVALID_ARGUMENT")
        && error.message.contains("Service account ")
        && error.message.contains(" does not exist")
}

/// The kind of an error from its canonical status first, its HTTP status otherwise.
fn kind_of(status: Option<&str>, code: Option<u16>) -> ProviderErrorKind {
    match status {
        Some("NOT_FOUND") => ProviderErrorKind::NotFound,
        Some("ALREADY_EXISTS") => ProviderErrorKind::AlreadyExists,
        // An etag that no longer matches: read the policy again and retry.
        Some("ABORTED") => ProviderErrorKind::Conflict,
        Some("RESOURCE_EXHAUSTED") => ProviderErrorKind::Throttled { retry_after: None },
        Some("UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "UNKNOWN") => ProviderErrorKind::Transient,
        Some("PERMISSION_DENIED" | "UNAUTHENTICATED") => ProviderErrorKind::Denied,
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "UNIMPLEMENTED") => {
            ProviderErrorKind::Invalid
        }
        _ => match code {
            Some(404) => ProviderErrorKind::NotFound,
            Some(409) => ProviderErrorKind::Conflict,
            Some(429) => ProviderErrorKind::Throttled { retry_after: None },
            Some(401 | 403) => ProviderErrorKind::Denied,
            Some(code) if code >= 500 => ProviderErrorKind::Transient,
            _ => ProviderErrorKind::Invalid,
        },
    }
}

/// The error a finished long-running operation carries (`google.rpc.Status`, whose numeric
/// code is the canonical one: 5 NOT_FOUND, 6 ALREADY_EXISTS, ...).
pub(crate) fn from_status(method: &str, code: Option<i32>, message: Option<&str>) -> ProviderError {
    let status = match code {
        Some(3) => "INVALID_ARGUMENT",
        Some(5) => "NOT_FOUND",
        Some(6) => "ALREADY_EXISTS",
        Some(7) => "PERMISSION_DENIED",
        Some(8) => "RESOURCE_EXHAUSTED",
        Some(9) => "FAILED_PRECONDITION",
        Some(10) => "ABORTED",
        Some(13) => "INTERNAL",
        Some(14) => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
    ProviderError::new(kind_of(Some(status), None), format!("{method}: {}", message.unwrap_or("the operation failed")))
        .with_code(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bad_request(code: u16, status: &str) -> ProviderError {
        from_google("m", Error::BadRequest(json!({"error": {"code": code, "message": "why", "status": status}})))
    }

    #[test]
    fn google_statuses_map_to_kinds() {
        assert_eq!(bad_request(404, "NOT_FOUND").kind, ProviderErrorKind::NotFound);
        assert_eq!(bad_request(409, "ALREADY_EXISTS").kind, ProviderErrorKind::AlreadyExists);
        assert_eq!(bad_request(409, "ABORTED").kind, ProviderErrorKind::Conflict);
        assert_eq!(bad_request(429, "RESOURCE_EXHAUSTED").kind, ProviderErrorKind::Throttled { retry_after: None });
        assert_eq!(bad_request(503, "UNAVAILABLE").kind, ProviderErrorKind::Transient);
        assert_eq!(bad_request(403, "PERMISSION_DENIED").kind, ProviderErrorKind::Denied);
        assert_eq!(bad_request(400, "INVALID_ARGUMENT").kind, ProviderErrorKind::Invalid);
        let error = bad_request(409, "ALREADY_EXISTS");
        assert_eq!(error.code.as_deref(), Some("ALREADY_EXISTS"));
        assert_eq!(error.message, "m: why");
    }

    #[test]
    fn unknown_statuses_fall_back_to_the_http_code() {
        assert_eq!(bad_request(503, "SOMETHING_NEW").kind, ProviderErrorKind::Transient);
        assert_eq!(kind_of(None, Some(429)), ProviderErrorKind::Throttled { retry_after: None });
    }

    #[test]
    fn an_unknown_new_member_is_told_apart_from_other_invalid_arguments() {
        let body = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Service account sa@p.iam.gserviceaccount.com does not exist."}});
        let error = from_google("cloudresourcemanager.projects.setIamPolicy", Error::BadRequest(body));
        assert!(is_new_member_not_yet_known(&error), "{error}");
        assert!(!is_new_member_not_yet_known(&bad_request(400, "INVALID_ARGUMENT")));
        let denied = json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
            "message": "Service account sa@p.iam.gserviceaccount.com does not exist."}});
        assert!(!is_new_member_not_yet_known(&from_google("m", Error::BadRequest(denied))));
    }

    #[test]
    fn an_undecodable_answer_names_the_method_and_is_not_retried() {
        let garbage = serde_json::from_str::<serde_json::Value>("<html>").unwrap_err();
        let error = from_google("iam.projects.serviceAccounts.get", Error::JsonDecodeError("<html>".into(), garbage));
        assert!(error.is_undecodable() && !error.is_retryable());
        assert!(error.message.starts_with("iam.projects.serviceAccounts.get: "), "{error}");
        let cut = serde_json::from_str::<serde_json::Value>("").unwrap_err();
        let error = from_google("m", Error::JsonDecodeError(String::new(), cut));
        assert!(error.message.contains("closed mid-answer"), "{error}");
    }

    #[test]
    fn a_huge_error_message_is_clipped() {
        let body = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x".repeat(1 << 20)}});
        let error = from_google("m", Error::BadRequest(body));
        assert!(error.message.len() < 700, "{}", error.message.len());
    }

    #[test]
    fn operation_errors_use_canonical_codes() {
        let error = from_status("op", Some(6), Some("exists"));
        assert_eq!((error.kind, error.code.as_deref()), (ProviderErrorKind::AlreadyExists, Some("ALREADY_EXISTS")));
    }
}
