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

/// The code of an error whose answer could not be decoded (see [`ProviderError::undecodable`]).
pub const UNDECODABLE: &str = "UndecodableResponse";

/// The most characters of a cloud's own message an error repeats: a proxy's error page or a
/// body of megabytes says nothing more useful past this, and would bury the fix.
pub const MESSAGE_LIMIT: usize = 512;

/// `text` cut to [`MESSAGE_LIMIT`] characters (on a character boundary), saying how much was
/// left out; shorter text is returned as it is.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MESSAGE_LIMIT) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => {
            std::borrow::Cow::Owned(format!("{}... ({} more bytes left out)", &text[..end], text.len() - end))
        }
    }
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

    /// An answer to `method` that could not be decoded: a success whose body is not what the API
    /// documents, or a body cut off mid-answer. It is transient in that the request may have
    /// been carried out (so never [definite](Self::is_definite)), but it is not worth retrying:
    /// the same endpoint answers the same way (a wrong custom endpoint, a proxy's page), and
    /// retrying it until the deadline only hides that for two minutes.
    pub fn undecodable(method: &str, what: impl fmt::Display) -> Self {
        Self::transient(format!(
            "{method}: the answer could not be decoded ({what}); check that the endpoint is the cloud's API and \
             not a proxy or another service, then run again"
        ))
        .with_code(UNDECODABLE)
    }

    /// Conflicts, throttling and transient faults are worth another try; the rest, and answers
    /// that could not be decoded, are not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ProviderErrorKind::Conflict | ProviderErrorKind::Throttled { .. } | ProviderErrorKind::Transient
        ) && !self.is_undecodable()
    }

    /// Whether the answer could not be decoded (see [`undecodable`](Self::undecodable)).
    pub fn is_undecodable(&self) -> bool {
        self.code.as_deref() == Some(UNDECODABLE)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecodable_answer_is_neither_retried_nor_definite() {
        let error = ProviderError::undecodable("iam.projects.serviceAccounts.get", "expected value at line 1 column 1");
        assert!(error.is_undecodable());
        assert!(!error.is_retryable());
        assert!(!error.is_definite(), "the request may have been carried out");
        assert!(error.to_string().starts_with("UndecodableResponse: iam.projects.serviceAccounts.get: "), "{error}");
        assert!(ProviderError::transient("reset").is_retryable());
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MESSAGE_LIMIT + 10);
        let clipped = clip(&long);
        assert!(clipped.starts_with(&"é".repeat(MESSAGE_LIMIT)), "{clipped}");
        assert!(clipped.ends_with("... (20 more bytes left out)"), "{clipped}");
    }
}
