//! What every resource implementation works with: the clients, the retry policy, the tag and
//! set helpers of AWS's APIs, and (re-exported) the attribute helpers every adapter shares.

use crate::account::Account;
use crate::config::Clients;
use crate::error::{retryable, retryable_after_create};
use aws_sdk_iam::primitives::DateTime;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trustform_lang::{normalize_set, Value};
pub(crate) use trustform_provider::attrs::{found, gone, required, split_id, string_map, strings, text, with};
use trustform_provider::{retry, ProviderError, ProviderErrorKind, RetryPolicy};

/// The clients of a configured provider, with the policy every call retries under: what
/// `configure` builds and every resource type is handed. Public only as the adapter's
/// client type; its module is private, so nothing outside the crate can name it.
#[derive(Clone, Debug)]
pub struct Api {
    pub(crate) clients: Clients,
    pub(crate) policy: RetryPolicy,
    /// The account the credentials act in, looked up once at `configure` (see `account`):
    /// what plans derive ARNs from. `None` when skipped or unanswered.
    pub(crate) account: Option<Account>,
}

/// What a create call gave: the cloud's answer, or word that an earlier attempt whose answer
/// was lost may have created the object, so the caller must look it up and check
/// [`created_since`] `started` before adopting it.
pub(crate) enum Created<T> {
    Now(T),
    ByLostAttempt { started: SystemTime },
}

/// How far the cloud's clock may run behind ours when judging whether an object is new.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Whether an object created at `created` (the cloud's clock) can have come from a create we
/// started at `started`: an older object with the same name belongs to someone else.
pub(crate) fn created_since(started: SystemTime, created: &DateTime) -> bool {
    let started = started.checked_sub(CLOCK_SKEW).unwrap_or(UNIX_EPOCH);
    let started_secs = started.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    created.secs() >= i64::try_from(started_secs).unwrap_or(i64::MAX)
}

impl Api {
    /// Runs a call, retrying throttling and transient faults.
    pub(crate) async fn call<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(&self.policy, retryable, operation).await
    }

    /// Runs a call that depends on an object created moments ago (a role in a trust policy, a
    /// role an inline policy goes to): IAM propagation errors are retried too, within the same
    /// bounded deadline.
    pub(crate) async fn call_propagating<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(&self.policy, |error| retryable_after_create(error) || error.is_not_found(), operation).await
    }

    /// Runs a create call. An attempt that timed out or failed with a 5xx may still have
    /// created the object; when a later attempt then hears `AlreadyExists`, the object may be
    /// ours, and the caller adopts it if it is new enough rather than leaving it orphaned.
    pub(crate) async fn create<T, F, Fut>(&self, mut operation: F) -> Result<Created<T>, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let started = SystemTime::now();
        let earlier_attempt_was_ambiguous = AtomicBool::new(false);
        let result = retry(&self.policy, retryable_after_create, || {
            let attempt = operation();
            let ambiguous = &earlier_attempt_was_ambiguous;
            async move {
                let result = attempt.await;
                if let Err(error) = &result {
                    if matches!(error.kind, ProviderErrorKind::Transient) {
                        ambiguous.store(true, Ordering::Relaxed);
                    }
                }
                result
            }
        })
        .await;
        match result {
            Ok(value) => Ok(Created::Now(value)),
            Err(error)
                if error.kind == ProviderErrorKind::AlreadyExists
                    && earlier_attempt_was_ambiguous.load(Ordering::Relaxed) =>
            {
                Ok(Created::ByLostAttempt { started })
            }
            Err(error) => Err(error),
        }
    }
}

/// Strings as a set value: sorted, without duplicates, as the schema's conform step stores them.
pub(crate) fn string_set<'s>(items: impl IntoIterator<Item = &'s str>) -> Value {
    Value::List(normalize_set(items.into_iter().map(Value::from).collect()))
}

/// Tags read from the cloud, spelt as the prior state spelt "none" (`null` or `{}`).
pub(crate) fn tags_value(prior: Option<&Value>, live: BTreeMap<String, String>) -> Value {
    if live.is_empty() {
        let prior_tags = prior.and_then(|prior| prior.get("tags"));
        return match prior_tags {
            Some(empty @ Value::Object(map)) if map.is_empty() => empty.clone(),
            _ => Value::Null,
        };
    }
    Value::Object(live.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// Which tags to set and which keys to remove to go from `prior` to `planned`.
pub(crate) fn tag_changes(prior: &Value, planned: &Value) -> (BTreeMap<String, String>, Vec<String>) {
    let (old, new) = (string_map(prior, "tags"), string_map(planned, "tags"));
    let removed = old.keys().filter(|key| !new.contains_key(*key)).cloned().collect();
    let changed = new.into_iter().filter(|(key, value)| old.get(key) != Some(value)).collect();
    (changed, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_split_into_sets_and_removals() {
        let prior = Value::object([("tags", Value::object([("a", "1".into()), ("b", "2".into())]))]);
        let planned = Value::object([("tags", Value::object([("b", "3".into()), ("c", "4".into())]))]);
        let (set, removed) = tag_changes(&prior, &planned);
        assert_eq!(set, BTreeMap::from([("b".to_owned(), "3".to_owned()), ("c".to_owned(), "4".to_owned())]));
        assert_eq!(removed, ["a"]);
    }

    #[test]
    fn no_tags_keep_the_prior_spelling() {
        let empty = Value::object([("tags", Value::object(Vec::<(String, Value)>::new()))]);
        assert_eq!(tags_value(Some(&empty), BTreeMap::new()), Value::object(Vec::<(String, Value)>::new()));
        assert_eq!(tags_value(None, BTreeMap::new()), Value::Null);
    }

    #[test]
    fn only_objects_younger_than_the_create_are_adopted() {
        let started = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(created_since(started, &DateTime::from_secs(1_000_005)));
        assert!(created_since(started, &DateTime::from_secs(1_000_000 - 30)), "within the clock skew");
        assert!(!created_since(started, &DateTime::from_secs(1_000_000 - 3600)));
    }
}
