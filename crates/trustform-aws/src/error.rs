//! SDK errors normalised into the engine's [`ProviderErrorKind`] taxonomy.
//!
//! The AWS services we call speak three protocols (IAM and STS query/XML, EKS REST/JSON), but the
//! SDK hands every failure back as an [`SdkError`] with an error code and the raw response, so
//! one mapping serves them all.

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::time::Duration;
use trustform_provider::{clip, ProviderError, ProviderErrorKind};

/// Maps the failure of the SDK call `operation` (`iam:CreateRole`, say) to a [`ProviderError`]
/// that keeps the service's error code.
pub(crate) fn from_sdk<E>(operation: &str, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().map(str::to_owned);
    let status = error.raw_response().map(|response| response.status().as_u16());
    // A success, or no answer at all, that could not be parsed: a body cut off mid-answer or
    // one that is not the service's (the SDK hands a 200 it cannot parse back as an unhandled
    // service error). The same endpoint answers the same way next time.
    let success = status.is_some_and(|status| (200..300).contains(&status));
    let undecodable = match &error {
        SdkError::ResponseError(_) => status.is_none() || success,
        SdkError::ServiceError(_) => success,
        _ => false,
    };
    if undecodable {
        tracing::debug!(operation, error = %DisplayErrorContext(&error), "undecodable answer");
        let what = match status {
            Some(status) => format!("an HTTP {status} answer whose body is not the service's"),
            None => "the connection closed mid-answer".to_owned(),
        };
        return ProviderError::undecodable(operation, what);
    }
    let retry_after = error.raw_response().and_then(|response| retry_after(response.headers().get("retry-after")));
    let kind = match &error {
        SdkError::ServiceError(_) => kind_of(code.as_deref(), status, retry_after),
        SdkError::TimeoutError(_) => ProviderErrorKind::Transient,
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => ProviderErrorKind::Transient,
        // A response we could not parse is most often a truncated one or an error page from a
        // proxy in between; neither says anything about the request.
        SdkError::ResponseError(_) => match status {
            Some(status) if (400..500).contains(&status) && status != 429 => ProviderErrorKind::Invalid,
            Some(429) => ProviderErrorKind::Throttled { retry_after },
            _ => ProviderErrorKind::Transient,
        },
        _ => ProviderErrorKind::Invalid,
    };
    // The full error context of a service error dumps the raw response; its status says it all.
    let message = match (error.message(), &error, status) {
        (Some(message), _, _) => format!("{operation}: {}", clip(message)),
        (None, SdkError::ServiceError(_), Some(status)) => {
            format!("{operation}: HTTP {status} without an error message")
        }
        (None, _, _) => format!("{operation}: {}", DisplayErrorContext(&error)),
    };
    let error = ProviderError::new(kind, message);
    match code {
        Some(code) => error.with_code(code),
        None => error,
    }
}

/// The kind of a service error, from its code first and its HTTP status when the code is not
/// one we know.
fn kind_of(code: Option<&str>, status: Option<u16>, retry_after: Option<Duration>) -> ProviderErrorKind {
    match code {
        Some("NoSuchEntity" | "ResourceNotFoundException" | "NotFoundException") => ProviderErrorKind::NotFound,
        Some("EntityAlreadyExists" | "ResourceInUseException") => ProviderErrorKind::AlreadyExists,
        Some(
            "Throttling"
            | "ThrottlingException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestThrottled",
        ) => ProviderErrorKind::Throttled { retry_after },
        Some("ConcurrentModification" | "ConcurrentModificationException" | "DeleteConflict") => {
            ProviderErrorKind::Conflict
        }
        Some(
            "ServiceFailure"
            | "ServiceFailureException"
            | "InternalFailure"
            | "InternalError"
            | "ServerException"
            | "ServiceUnavailable"
            | "ServiceUnavailableException",
        ) => ProviderErrorKind::Transient,
        Some(
            "MalformedPolicyDocument"
            | "InvalidInput"
            | "InvalidParameterException"
            | "InvalidParameterValue"
            | "InvalidParameterCombination"
            | "ValidationError"
            | "ValidationException"
            | "InvalidRequestException"
            | "LimitExceeded"
            | "UnmodifiableEntity"
            | "PolicyNotAttachable",
        ) => ProviderErrorKind::Invalid,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "UnrecognizedClientException",
        ) => ProviderErrorKind::Denied,
        _ => match status {
            Some(404) => ProviderErrorKind::NotFound,
            Some(409) => ProviderErrorKind::Conflict,
            Some(429) => ProviderErrorKind::Throttled { retry_after },
            Some(401 | 403) => ProviderErrorKind::Denied,
            Some(status) if status >= 500 => ProviderErrorKind::Transient,
            _ => ProviderErrorKind::Invalid,
        },
    }
}

/// `Retry-After` in delta-seconds, the only form AWS services send.
fn retry_after(header: Option<&str>) -> Option<Duration> {
    header?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// IAM is eventually consistent: a role or OIDC provider created a moment ago may not yet be
/// valid as a principal elsewhere. These errors right after a create are worth retrying for a
/// bounded time, unlike the same codes for a policy that is simply wrong.
pub(crate) fn is_propagation_delay(error: &ProviderError) -> bool {
    let code = error.code.as_deref();
    let message = error.message.to_ascii_lowercase();
    match code {
        Some("MalformedPolicyDocument") => message.contains("invalid principal"),
        Some("InvalidParameterException" | "InvalidParameterValue") => {
            message.contains("role") && (message.contains("not") || message.contains("cannot be assumed"))
        }
        _ => false,
    }
}

/// What every call retries: throttling, transient faults, conflicts.
pub(crate) fn retryable(error: &ProviderError) -> bool {
    error.is_retryable()
}

/// What calls that follow a create retry: the above plus IAM propagation delays.
pub(crate) fn retryable_after_create(error: &ProviderError) -> bool {
    error.is_retryable() || is_propagation_delay(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of(Some("NoSuchEntity"), Some(404), None), ProviderErrorKind::NotFound);
        assert_eq!(kind_of(Some("ResourceNotFoundException"), Some(404), None), ProviderErrorKind::NotFound);
        assert_eq!(kind_of(Some("EntityAlreadyExists"), Some(409), None), ProviderErrorKind::AlreadyExists);
        assert_eq!(kind_of(Some("ResourceInUseException"), Some(409), None), ProviderErrorKind::AlreadyExists);
        assert_eq!(
            kind_of(Some("Throttling"), Some(400), Some(Duration::from_secs(3))),
            ProviderErrorKind::Throttled { retry_after: Some(Duration::from_secs(3)) }
        );
        assert_eq!(kind_of(Some("MalformedPolicyDocument"), Some(400), None), ProviderErrorKind::Invalid);
        assert_eq!(kind_of(Some("InvalidParameterException"), Some(400), None), ProviderErrorKind::Invalid);
        assert_eq!(kind_of(Some("ValidationError"), Some(400), None), ProviderErrorKind::Invalid);
        assert_eq!(kind_of(Some("AccessDenied"), Some(403), None), ProviderErrorKind::Denied);
        assert_eq!(kind_of(Some("ServiceFailure"), Some(500), None), ProviderErrorKind::Transient);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        assert_eq!(kind_of(None, Some(503), None), ProviderErrorKind::Transient);
        assert_eq!(kind_of(Some("Weird"), Some(429), None), ProviderErrorKind::Throttled { retry_after: None });
        assert_eq!(kind_of(None, Some(404), None), ProviderErrorKind::NotFound);
        assert_eq!(kind_of(Some("Weird"), Some(400), None), ProviderErrorKind::Invalid);
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        assert_eq!(retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn only_principal_errors_count_as_propagation() {
        let invalid_principal = ProviderError::invalid("iam:CreateRole: Invalid principal in policy: \"AWS\":\"arn\"")
            .with_code("MalformedPolicyDocument");
        let syntax =
            ProviderError::invalid("iam:CreateRole: Syntax errors in policy.").with_code("MalformedPolicyDocument");
        assert!(retryable_after_create(&invalid_principal));
        assert!(!retryable_after_create(&syntax));
        assert!(!retryable(&invalid_principal));
    }
}
