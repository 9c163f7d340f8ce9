//! One module per resource type; each reads Vault's answers back into the state's shape.

pub(crate) mod auth_backend;
pub(crate) mod kubernetes;
pub(crate) mod kv_secret_v2;
pub(crate) mod mount;
pub(crate) mod policy;

use serde_json::{Map, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::text;
use trustform_provider::{ProviderError, ValidationIssue};

/// A whole-number argument, `None` when unset.
pub(crate) fn number(value: &Value, name: &str) -> Option<i64> {
    value.get(name).and_then(Value::as_number).and_then(|n| n.as_i64())
}

/// A boolean argument, `false` when unset.
pub(crate) fn flag(value: &Value, name: &str) -> bool {
    value.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// A string, list, map or bool argument as JSON for a request body, `None` when unset.
pub(crate) fn arg(value: &Value, name: &str) -> Option<Json> {
    value.get(name).filter(|v| !v.is_null()).map(Value::to_json)
}

/// A request body from the arguments that are set (Vault keeps its default for the others).
pub(crate) fn body(value: &Value, names: &[&str]) -> Json {
    let mut map = Map::new();
    for name in names {
        if let Some(json) = arg(value, name) {
            map.insert((*name).to_owned(), json);
        }
    }
    Json::Object(map)
}

/// What Vault answered for an attribute, in the state's shape. An empty answer (`""`, `[]`,
/// `{}`) for an attribute the state holds as null stays null, so an argument left unset does not
/// show up as a change.
pub(crate) fn read_back(prior: &Value, name: &str, answer: Option<&Json>) -> Value {
    let read = answer.map(Value::from_json).unwrap_or(Value::Null);
    let empty = match &read {
        Value::String(text) => text.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
        _ => false,
    };
    let prior_value = prior.get(name).filter(|v| !v.is_unknown());
    if empty && prior_value.is_none_or(Value::is_null) {
        return Value::Null;
    }
    read
}

/// A set of strings as Vault answered it: sorted, without duplicates, as sets are held.
pub(crate) fn string_set(prior: &Value, name: &str, answer: Option<&Json>) -> Value {
    let mut items: Vec<String> = answer
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    items.sort();
    items.dedup();
    read_back(prior, name, Some(&Json::Array(items.into_iter().map(Json::String).collect())))
}

/// A map of strings from a JSON object: strings as they are, anything else as its JSON text.
pub(crate) fn string_map(object: &Map<String, Json>) -> Value {
    Value::Object(
        object
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    Json::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), Value::String(text))
            })
            .collect(),
    )
}

/// The state a create or update returns, read back right after the write. An object Vault
/// accepted but does not show is a fault that may pass.
pub(crate) fn written(what: &str, read: Option<Value>) -> Result<Value, ProviderError> {
    read.ok_or_else(|| {
        ProviderError::transient(format!("{what}: Vault accepted the write but a read right after it found nothing"))
    })
}

/// A path argument written with a leading or trailing `/`: Vault would answer for another
/// path than the state records, and the next plan would not find it.
pub(crate) fn slashes(config: &Value, names: &[&str]) -> Vec<ValidationIssue> {
    names
        .iter()
        .filter_map(|name| {
            let value = text(config, name)?;
            (value.starts_with('/') || value.ends_with('/')).then(|| ValidationIssue {
                attribute: (*name).to_owned(),
                summary: "Invalid Vault path".to_owned(),
                detail: format!(
                    "{name} = {value:?} starts or ends with `/`; write it as {:?}.",
                    value.trim_matches('/')
                ),
                is_error: true,
            })
        })
        .collect()
}

/// `planned` with `id` set to `id` when it is known.
pub(crate) fn with_id(planned: Value, id: Option<String>) -> Value {
    match id {
        Some(id) => trustform_provider::attrs::with(&planned, [("id", Value::String(id))]),
        None => planned,
    }
}

/// What an import by id reads, or the error for an id Vault does not know.
pub(crate) fn imported(type_name: &str, id: &str, read: Option<Value>) -> Result<Value, ProviderError> {
    read.ok_or_else(|| ProviderError::not_found(format!("no {type_name} {id:?} in Vault")))
}
