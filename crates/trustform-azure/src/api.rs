//! What every resource implementation works with: the client, the retry policy, and small
//! helpers to read attributes out of values, build them back, and handle ARM scopes.

use crate::config::Clients;
use crate::error::retryable;
use std::future::Future;
use trustform_lang::{normalize_set, Value};
use trustform_provider::{retry, ProviderError, RetryPolicy};

/// The client of a configured provider, with the policy every call retries under.
pub(crate) struct Api<'a> {
    pub clients: &'a Clients,
    pub policy: &'a RetryPolicy,
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
}

/// The SDK builds paths as `/{scope}/providers/...`: it wants the scope without its leading
/// slash.
pub(crate) fn sdk_scope(scope: &str) -> &str {
    scope.trim_start_matches('/')
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

/// A string attribute, `None` when null, unknown or absent.
pub(crate) fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// A string attribute the schema requires.
pub(crate) fn required<'v>(value: &'v Value, name: &str) -> Result<&'v str, ProviderError> {
    text(value, name).ok_or_else(|| ProviderError::invalid(format!("the argument `{name}` is required")))
}

/// A set-of-strings attribute; empty when null.
pub(crate) fn strings(value: &Value, name: &str) -> Vec<String> {
    value
        .get(name)
        .and_then(Value::as_list)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Strings read from the cloud as a set value, sorted and without duplicates as the schema's
/// conform step stores them; an empty set keeps the prior spelling of "none" (`null` or `[]`).
pub(crate) fn string_set(prior: Option<&Value>, items: &[String]) -> Value {
    if items.is_empty() && !prior.is_some_and(|prior| matches!(prior.unmarked(), Value::List(_))) {
        return Value::Null;
    }
    Value::List(normalize_set(items.iter().map(|item| Value::string(item.as_str())).collect()))
}

/// A string read from the cloud, where an empty string and absence both read back as the
/// prior spelling.
pub(crate) fn optional_text(prior: Option<&Value>, live: Option<&str>) -> Value {
    match live.filter(|live| !live.is_empty()) {
        Some(live) => Value::string(live),
        None => match prior.map(Value::unmarked) {
            Some(Value::String(empty)) if empty.is_empty() => Value::string(""),
            _ => Value::Null,
        },
    }
}

/// `planned` with each of `names` taken from `prior` when both are empty (null, `""` or `[]`).
pub(crate) fn keep_empty_spelling(prior: &Value, planned: Value, names: &[&str]) -> Value {
    let empty = |value: Option<&Value>| match value.map(Value::unmarked) {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(Value::List(items)) => items.is_empty(),
        _ => false,
    };
    let Value::Object(mut map) = planned else { return planned };
    for name in names {
        if empty(map.get(*name)) && empty(prior.get(name)) {
            map.insert((*name).to_owned(), prior.get(name).cloned().unwrap_or_default());
        }
    }
    Value::Object(map)
}

/// `planned` with the given attributes set.
pub(crate) fn with(planned: &Value, attributes: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut map = planned.as_object().cloned().unwrap_or_default();
    for (name, value) in attributes {
        map.insert(name.to_owned(), value);
    }
    Value::Object(map)
}

/// Normalises a scope for comparison: ARM ids are case-insensitive and a trailing slash means
/// nothing, except on the root scope `/`.
fn normal(scope: &str) -> String {
    let trimmed = scope.trim_end_matches('/');
    trimmed.to_ascii_lowercase()
}

/// Whether `scope` lies at or below `ancestor`.
pub(crate) fn scope_within(scope: &str, ancestor: &str) -> bool {
    let (scope, ancestor) = (normal(scope), normal(ancestor));
    ancestor.is_empty() || scope == ancestor || scope.strip_prefix(&ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a scope is a management group.
pub(crate) fn is_management_group(scope: &str) -> bool {
    normal(scope).starts_with("/providers/microsoft.management/managementgroups/")
}

/// The scope an ARM resource id lives at: everything before its last
/// `/providers/Microsoft.Authorization/`.
pub(crate) fn scope_of_id(id: &str) -> Option<&str> {
    let at = id.to_ascii_lowercase().rfind("/providers/microsoft.authorization/")?;
    Some(&id[..at])
}

/// The last segment of a resource id: a definition's GUID or an assignment's name.
pub(crate) fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_by_segment_and_ignore_case() {
        assert!(scope_within("/subscriptions/S/resourceGroups/rg", "/subscriptions/s"));
        assert!(scope_within("/subscriptions/s", "/"));
        assert!(!scope_within("/subscriptions/s/resourceGroups/rg2", "/subscriptions/s/resourceGroups/rg"));
        assert!(is_management_group("/providers/Microsoft.Management/managementGroups/root"));
        assert!(!is_management_group("/subscriptions/s"));
    }

    #[test]
    fn ids_split_into_scope_and_name() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/abc";
        assert_eq!(scope_of_id(id), Some("/subscriptions/s/resourceGroups/rg"));
        assert_eq!(last_segment(id), "abc");
        assert_eq!(scope_of_id("/providers/Microsoft.Authorization/roleDefinitions/x"), Some(""));
    }

    #[test]
    fn empty_reads_keep_the_prior_spelling() {
        assert_eq!(string_set(None, &[]), Value::Null);
        assert_eq!(string_set(Some(&Value::List(Vec::new())), &[]), Value::List(Vec::new()));
        assert_eq!(string_set(None, &["b".to_owned(), "a".to_owned()]), Value::List(vec!["a".into(), "b".into()]));
        assert_eq!(optional_text(None, Some("")), Value::Null);
        assert_eq!(optional_text(Some(&Value::string("")), None), Value::string(""));
    }
}
