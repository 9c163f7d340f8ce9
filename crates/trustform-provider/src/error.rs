use std::fmt;
use std::time::Duration;

/// What went wrong, normalised across clouds so the engine and the retry policy can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// The object does not exist (404, `NoSuchEntity`, `ResourceNotFoundException`).
    NotFound,
    /// An object with this identity exists already (409 on create, `EntityAlreadyExists`).
    AlreadyExists,
    /// A concurrent change won (etag mismatch, `ConcurrentModification`): read again and retry.
    Conflict,
    /// The cloud asked us to slow down; `retry_after` is its hint, when it gave one.
    Throttled { retry_after: Option<Duration> },
    /// A fault that may pass: 5xx, a timeout, a reset connection, a propagation delay.
    Transient,
    /// The request is wrong and will stay wrong: fix the spec.
    Invalid,
    /// The caller lacks permission.
    Denied,
}

/// An error from a provider call, with the cloud's own code kept for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    /// The cloud's error code (`NoSuchEntity`, `PrincipalNotFound`), if any.
    pub code: Option<String>,
    /// What happened, in the cloud's words plus ours. Never contains secret values.
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError { kind, code: None, message: message.into() }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::NotFound, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::AlreadyExists, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::Conflict, message)
    }
    pub fn throttled(retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::Throttled { retry_after }, message)
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::Transient, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::Invalid, message)
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ProviderErrorKind::Denied, message)
    }

    /// Conflicts, throttling and transient faults are worth another try; the rest are not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ProviderErrorKind::Conflict | ProviderErrorKind::Throttled { .. } | ProviderErrorKind::Transient
        )
    }

    /// Whether the cloud surely did not act on the request: it refused it (invalid, denied,
    /// throttled, a conflict, an existing object, a missing parent). A timeout or server fault
    /// is not definite: the request may have been carried out before the answer was lost.
    pub fn is_definite(&self) -> bool {
        self.kind != ProviderErrorKind::Transient
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ProviderErrorKind::NotFound
    }

    /// The server's `Retry-After` hint, if this error carries one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ProviderErrorKind::Throttled { retry_after } => retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
