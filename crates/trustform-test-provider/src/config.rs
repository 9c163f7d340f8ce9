use crate::{Call, CallKind};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use trustform_provider::{ProviderError, ProviderErrorKind};

/// How the test provider misbehaves: how long each call takes and which calls fail. The
/// default is a provider that answers at once and never fails.
#[derive(Default)]
pub struct TestProviderConfig {
    pub(crate) latency: Duration,
    /// Whether a `test_resource`'s id is `tr-NAME`, known at plan time (as an IAM role's name
    /// is its id), rather than chosen on create.
    pub(crate) names_as_ids: bool,
    /// The account a plan derives ARNs in, which the store does not use (it answers
    /// `arn:test:::resource/NAME`): `None` derives what the store answers.
    pub(crate) derived_account: Option<String>,
    failures: Vec<Failure>,
}

impl TestProviderConfig {
    /// Every call takes `latency` after the store has processed it, like a cloud operation the
    /// caller waits for: a create cancelled during the wait has still happened.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Makes every `test_resource`'s id `tr-NAME`, planned before the create (like an IAM role,
    /// whose name is its id), instead of a counter the create assigns.
    pub fn names_as_ids(mut self) -> Self {
        self.names_as_ids = true;
        self
    }

    /// Makes the plan derive each ARN in `account` (`arn:test:ACCOUNT:resource/NAME`) while the
    /// store answers `arn:test:::resource/NAME`: a provider whose plan-time derivation disagrees
    /// with its cloud, or one configured for another account than at plan time.
    pub fn derive_arns_in(mut self, account: impl Into<String>) -> Self {
        self.derived_account = Some(account.into());
        self
    }

    /// Fails every `kind` call about an object whose `name` is one of `names` with `error`.
    pub fn fail_named<S: Into<String>>(
        self,
        kind: CallKind,
        names: impl IntoIterator<Item = S>,
        error: ProviderErrorKind,
    ) -> Self {
        let names = names.into_iter().map(Into::into).collect();
        self.fail(kind, Matcher::Names(names), error, None)
    }

    /// Fails every `kind` call about an object whose `name` satisfies `predicate` with `error`.
    pub fn fail_matching(
        self,
        kind: CallKind,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
        error: ProviderErrorKind,
    ) -> Self {
        self.fail(kind, Matcher::Predicate(Box::new(predicate)), error, None)
    }

    /// Fails the first `calls` calls of `kind` with `error`, whatever they are about: with
    /// `Transient` or `Throttled`, a caller that retries succeeds in the end.
    pub fn fail_first(self, kind: CallKind, calls: usize, error: ProviderErrorKind) -> Self {
        self.fail(kind, Matcher::Any, error, Some(calls))
    }

    fn fail(mut self, kind: CallKind, matcher: Matcher, error: ProviderErrorKind, times: Option<usize>) -> Self {
        self.failures.push(Failure { kind, matcher, error, remaining: times.map(AtomicUsize::new) });
        self
    }

    /// The error the first matching rule injects into `call`, if any; a rule with a budget
    /// spends one unit on each call it fails.
    pub(crate) fn injected_failure(&self, call: &Call) -> Option<ProviderError> {
        let failure = self.failures.iter().find(|failure| failure.applies_to(call))?;
        let message = format!(
            "injected failure: {} of {} {}",
            call.kind,
            call.type_name,
            call.name.as_deref().or(call.id.as_deref()).unwrap_or("(unnamed)")
        );
        Some(ProviderError::new(failure.error.clone(), message).with_code("InjectedFailure"))
    }
}

struct Failure {
    kind: CallKind,
    matcher: Matcher,
    error: ProviderErrorKind,
    /// How many more calls this rule fails; `None` for every matching call.
    remaining: Option<AtomicUsize>,
}

enum Matcher {
    Any,
    Names(BTreeSet<String>),
    Predicate(Box<dyn Fn(&str) -> bool + Send + Sync>),
}

impl Failure {
    fn applies_to(&self, call: &Call) -> bool {
        let matches = call.kind == self.kind
            && match &self.matcher {
                Matcher::Any => true,
                Matcher::Names(names) => call.name.as_ref().is_some_and(|name| names.contains(name)),
                Matcher::Predicate(predicate) => call.name.as_deref().is_some_and(predicate),
            };
        matches
            && self.remaining.as_ref().is_none_or(|remaining| {
                remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
            })
    }
}
