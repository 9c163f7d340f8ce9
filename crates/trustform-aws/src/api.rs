//! What every resource implementation works with: the clients, the retry policy, and small
//! helpers to read attributes out of values and build them back.

use crate::config::Clients;
use crate::error::{retryable, retryable_after_create};
use aws_sdk_iam::primitives::DateTime;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trustform_lang::{normalize_set, Value};
use trustform_provider::{retry, ProviderError, ProviderErrorKind, RetryPolicy};

/// The clients of a configured provider, with the policy every call retries under.
pub(crate) struct Api<'a> {
    pub clients: &'a Clients,
    pub policy: &'a RetryPolicy,
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

impl Api<'_> {
    /// Runs a call, retrying throttling and transient faults.
    pub(crate) async fn call<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(self.policy, retryable, operation).await
    }

    /// Runs a call that depends on an object created moments ago (a role in a trust policy, a
    /// role an inline policy goes to): IAM propagation errors are retried too, within the same
    /// bounded deadline.
    pub(crate) async fn call_propagating<T, F, Fut>(&self, operation: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        retry(self.policy, |error| retryable_after_create(error) || error.is_not_found(), operation).await
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
        let result = retry(self.policy, retryable_after_create, || {
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

/// Maps "not found" to `None`, the answer `read` gives for an object that is gone.
pub(crate) fn found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Maps "not found" to success, the answer `delete` gives for an object that is gone.
pub(crate) fn gone(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}

/// A string attribute, `None` when null or absent.
pub(crate) fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// A string attribute the schema requires.
pub(crate) fn required<'v>(value: &'v Value, name: &str) -> Result<&'v str, ProviderError> {
    text(value, name).ok_or_else(|| ProviderError::invalid(format!("the argument `{name}` is required")))
}

/// A list-of-strings attribute; empty when null.
pub(crate) fn strings(value: &Value, name: &str) -> Vec<String> {
    value
        .get(name)
        .and_then(Value::as_list)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A map-of-strings attribute (tags); empty when null.
pub(crate) fn string_map(value: &Value, name: &str) -> BTreeMap<String, String> {
    value
        .get(name)
        .and_then(Value::as_object)
        .map(|map| map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
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

/// `planned` with the given attributes set: the state of an object the cloud accepted as asked.
pub(crate) fn with(planned: &Value, attributes: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut map = planned.as_object().cloned().unwrap_or_default();
    for (name, value) in attributes {
        map.insert(name.to_owned(), value);
    }
    Value::Object(map)
}

/// Splits an import id or composite id at its first `separator`, naming the expected format
/// in the error.
pub(crate) fn split_id<'i>(id: &'i str, separator: char, format: &str) -> Result<(&'i str, &'i str), ProviderError> {
    match id.split_once(separator) {
        Some((left, right)) if !left.is_empty() && !right.is_empty() => Ok((left, right)),
        _ => Err(ProviderError::invalid(format!("{id:?} is not a valid id; expected {format}"))),
    }
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

    #[test]
    fn ids_split_at_the_first_separator() {
        assert_eq!(
            split_id("role/arn:aws:iam::aws:policy/X", '/', "f").unwrap(),
            ("role", "arn:aws:iam::aws:policy/X")
        );
        assert!(split_id("role", ':', "`role:name`").unwrap_err().message.contains("`role:name`"));
    }
}
