//! What every resource implementation works with: the client, the retry policy, ARM's scope
//! helpers and the spellings ARM gives back, and (re-exported) the attribute helpers every
//! adapter shares.

use crate::config::Clients;
use crate::error::retryable;
use std::future::Future;
use trustform_lang::{normalize_set, Value};
pub(crate) use trustform_provider::attrs::{found, gone, required, strings, text, with};
use trustform_provider::{retry, ProviderError, RetryPolicy};

/// The client of a configured provider, with the policy every call retries under: what
/// `configure` builds and every resource type is handed. Public only as the adapter's client
/// type; its module is private.
#[derive(Clone)]
pub struct Api {
    pub(crate) clients: Clients,
    pub(crate) policy: RetryPolicy,
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
}

/// The SDK builds paths as `/{scope}/providers/...`: it wants the scope without its leading
/// slash.
pub(crate) fn sdk_scope(scope: &str) -> &str {
    scope.trim_start_matches('/')
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
