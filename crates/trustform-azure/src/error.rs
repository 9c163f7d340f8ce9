//! ARM errors normalised into the engine's [`ProviderErrorKind`] taxonomy.
//!
//! ARM answers `{"error":{"code","message"}}` with an HTTP status; the transport keeps both and
//! the `Retry-After` header in an [`ArmFailure`], and the kind follows from the code first and
//! the status when the code is not one we know.

use crate::transport::ArmFailure;
use azure_core::error::ErrorKind;
use std::time::Duration;
use trustform_provider::{clip, ProviderError, ProviderErrorKind};

/// Maps the failure of the SDK call `operation` (`roleAssignments/write`, say) to a
/// [`ProviderError`] that keeps ARM's error code.
pub(crate) fn from_azure(operation: &str, error: azure_core::Error) -> ProviderError {
    if let Some(failure) = error.downcast_ref::<ArmFailure>() {
        let kind = kind_of(failure.code.as_deref(), failure.status, failure.retry_after);
        let message = match &failure.message {
            Some(message) => format!("{operation}: {}", clip(message)),
            None => format!("{operation}: HTTP {} without an error message", failure.status),
        };
        let error = ProviderError::new(kind, message);
        return match &failure.code {
            Some(code) => error.with_code(code.clone()),
            None => error,
        };
    }
    // A success whose body is not the API's model, or one cut off or too large to read (the
    // transport's `UnreadableBody`): the same endpoint answers the same way next time.
    if matches!(error.kind(), ErrorKind::DataConversion) {
        return ProviderError::undecodable(operation, clip(&error.to_string()));
    }
    let kind = match error.kind() {
        ErrorKind::Io => ProviderErrorKind::Transient,
        ErrorKind::Credential => ProviderErrorKind::Denied,
        ErrorKind::HttpResponse { status, .. } => kind_of(None, u16::from(*status), None),
        _ => ProviderErrorKind::Invalid,
    };
    ProviderError::new(kind, format!("{operation}: {error}"))
}

/// The kind of an ARM error.
fn kind_of(code: Option<&str>, status: u16, retry_after: Option<Duration>) -> ProviderErrorKind {
    match code {
        Some("RoleAssignmentNotFound" | "ResourceNotFound" | "ResourceGroupNotFound" | "ParentResourceNotFound") => {
            ProviderErrorKind::NotFound
        }
        // Microsoft Graph (<https://learn.microsoft.com/graph/errors>).
        Some("Request_ResourceNotFound") => ProviderErrorKind::NotFound,
        Some("Authorization_RequestDenied") => ProviderErrorKind::Denied,
        Some("Request_MultipleObjectsWithSameKeyValue") => ProviderErrorKind::AlreadyExists,
        // A GET of a definition that is gone; to an assignment PUT the same code means the
        // definition has not replicated yet, which the assignment's retry predicate handles.
        Some("RoleDefinitionDoesNotExist" | "RoleDefinitionNotFound") => ProviderErrorKind::NotFound,
        Some("RoleAssignmentExists" | "RoleDefinitionWithSameNameExists") => ProviderErrorKind::AlreadyExists,
        Some("SubscriptionRequestsThrottled" | "TenantRequestsThrottled" | "TooManyRequests") => {
            ProviderErrorKind::Throttled { retry_after }
        }
        Some("InternalServerError" | "ServiceUnavailable" | "GatewayTimeout" | "RetryableError") => {
            ProviderErrorKind::Transient
        }
        Some(
            "AuthorizationFailed"
            | "AuthenticationFailed"
            | "InvalidAuthenticationToken"
            | "InvalidAuthenticationTokenTenant"
            | "ExpiredAuthenticationToken"
            | "LinkedAuthorizationFailed",
        ) => ProviderErrorKind::Denied,
        Some("RoleDefinitionHasAssignments") => ProviderErrorKind::Conflict,
        _ => match status {
            404 => ProviderErrorKind::NotFound,
            409 => ProviderErrorKind::Conflict,
            429 => ProviderErrorKind::Throttled { retry_after },
            401 | 403 => ProviderErrorKind::Denied,
            status if status >= 500 => ProviderErrorKind::Transient,
            _ => ProviderErrorKind::Invalid,
        },
    }
}

/// Azure AD and the RBAC store replicate: a principal or custom role created a moment ago may
/// be unknown to a role assignment PUT for seconds to minutes. Terraform's azurerm provider
/// retries these two codes on create for the same reason.
pub(crate) fn is_replication_delay(error: &ProviderError) -> bool {
    matches!(error.code.as_deref(), Some("PrincipalNotFound" | "RoleDefinitionDoesNotExist"))
}

/// What every call retries: throttling, transient faults, conflicts.
pub(crate) fn retryable(error: &ProviderError) -> bool {
    error.is_retryable()
}

/// What a role assignment PUT retries: the above plus replication delays.
pub(crate) fn retryable_assignment_write(error: &ProviderError) -> bool {
    error.is_retryable() || is_replication_delay(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of(Some("RoleAssignmentNotFound"), 404, None), ProviderErrorKind::NotFound);
        assert_eq!(kind_of(Some("RoleDefinitionDoesNotExist"), 400, None), ProviderErrorKind::NotFound);
        assert_eq!(kind_of(Some("RoleAssignmentExists"), 409, None), ProviderErrorKind::AlreadyExists);
        assert_eq!(
            kind_of(Some("SubscriptionRequestsThrottled"), 429, Some(Duration::from_secs(2))),
            ProviderErrorKind::Throttled { retry_after: Some(Duration::from_secs(2)) }
        );
        assert_eq!(kind_of(Some("PrincipalNotFound"), 400, None), ProviderErrorKind::Invalid);
        assert_eq!(kind_of(Some("AuthorizationFailed"), 403, None), ProviderErrorKind::Denied);
        assert_eq!(kind_of(Some("RoleDefinitionHasAssignments"), 409, None), ProviderErrorKind::Conflict);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        assert_eq!(kind_of(None, 503, None), ProviderErrorKind::Transient);
        assert_eq!(kind_of(Some("Weird"), 429, None), ProviderErrorKind::Throttled { retry_after: None });
        assert_eq!(kind_of(Some("Weird"), 409, None), ProviderErrorKind::Conflict);
        assert_eq!(kind_of(Some("InvalidRequestContent"), 400, None), ProviderErrorKind::Invalid);
    }

    #[test]
    fn an_undecodable_answer_names_the_operation_and_is_not_retried() {
        let error = azure_core::Error::message(ErrorKind::DataConversion, "expected value at line 1 column 1");
        let error = from_azure("roleDefinitions/read", error);
        assert!(error.is_undecodable() && !error.is_retryable(), "{error}");
        assert!(error.message.starts_with("roleDefinitions/read: the answer could not be decoded"), "{error}");
    }

    #[test]
    fn a_huge_error_message_is_clipped() {
        let failure =
            ArmFailure { status: 400, code: Some("Bad".into()), message: Some("x".repeat(1 << 20)), retry_after: None };
        let error = from_azure("roleAssignments/write", azure_core::Error::new(ErrorKind::Other, failure));
        assert!(error.message.len() < 700, "{}", error.message.len());
    }

    #[test]
    fn only_replication_codes_are_retried_on_assignment_writes() {
        let principal = ProviderError::invalid("no such principal").with_code("PrincipalNotFound");
        let bad = ProviderError::invalid("bad body").with_code("InvalidRequestContent");
        assert!(retryable_assignment_write(&principal));
        assert!(!retryable(&principal));
        assert!(!retryable_assignment_write(&bad));
    }
}
