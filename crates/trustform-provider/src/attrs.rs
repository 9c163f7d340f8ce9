//! Reading attributes out of resource values and building states back, the same way in every
//! adapter, plus the two answers a read and a delete give for an object that is gone.

use crate::ProviderError;
use std::collections::BTreeMap;
use trustform_lang::Value;

/// A string attribute, `None` when null or absent.
pub fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// A string setting of a `provider` block: `None` when absent, null or empty (so the
/// environment's value applies), an error naming the provider and setting for any other type.
pub fn setting(block: &Value, provider: &str, name: &str) -> Result<Option<String>, ProviderError> {
    match block.get(name).map(Value::unmarked) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(ProviderError::invalid(format!(
            "provider \"{provider}\": `{name}` must be a string, not {}",
            other.type_name()
        ))),
    }
}

/// A string attribute the schema requires.
pub fn required<'v>(value: &'v Value, name: &str) -> Result<&'v str, ProviderError> {
    text(value, name).ok_or_else(|| ProviderError::invalid(format!("the argument `{name}` is required")))
}

/// A list-of-strings attribute; empty when null.
pub fn strings(value: &Value, name: &str) -> Vec<String> {
    value
        .get(name)
        .and_then(Value::as_list)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A map-of-strings attribute (tags, labels, attribute mappings); empty when null.
pub fn string_map(value: &Value, name: &str) -> BTreeMap<String, String> {
    value
        .get(name)
        .and_then(Value::as_object)
        .map(|map| map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// `planned` with the given attributes set: the state of an object the cloud accepted as asked.
pub fn with(planned: &Value, attributes: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut map = planned.as_object().cloned().unwrap_or_default();
    for (name, value) in attributes {
        map.insert(name.to_owned(), value);
    }
    Value::Object(map)
}

/// Splits an import id or composite id at its first `separator`, naming the expected format
/// in the error.
pub fn split_id<'i>(id: &'i str, separator: char, format: &str) -> Result<(&'i str, &'i str), ProviderError> {
    match id.split_once(separator) {
        Some((left, right)) if !left.is_empty() && !right.is_empty() => Ok((left, right)),
        _ => Err(ProviderError::invalid(format!("{id:?} is not a valid id; expected {format}"))),
    }
}

/// Maps "not found" to `None`, the answer `read` gives for an object that is gone.
pub fn found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Maps "not found" to success, the answer `delete` gives for an object that is gone.
pub fn gone(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_at_the_first_separator() {
        assert_eq!(
            split_id("role/arn:aws:iam::aws:policy/X", '/', "f").unwrap(),
            ("role", "arn:aws:iam::aws:policy/X")
        );
        assert!(split_id("role", ':', "`role:name`").unwrap_err().message.contains("`role:name`"));
    }

    #[test]
    fn gone_objects_read_as_none_and_delete_as_done() {
        assert_eq!(found::<()>(Err(ProviderError::not_found("x"))).unwrap(), None);
        assert!(found::<()>(Err(ProviderError::invalid("x"))).is_err());
        assert!(gone(Err(ProviderError::not_found("x"))).is_ok());
    }

    #[test]
    fn attributes_read_with_defaults() {
        let value = Value::object([
            ("name", "a".into()),
            ("list", Value::List(vec!["x".into(), "y".into()])),
            ("map", Value::object([("k", "v".into())])),
        ]);
        assert_eq!(text(&value, "name"), Some("a"));
        assert!(required(&value, "missing").unwrap_err().message.contains("`missing`"));
        assert_eq!(strings(&value, "list"), ["x", "y"]);
        assert_eq!(strings(&value, "missing"), Vec::<String>::new());
        assert_eq!(string_map(&value, "map"), BTreeMap::from([("k".to_owned(), "v".to_owned())]));
        assert_eq!(with(&value, [("name", "b".into())]).get("name"), Some(&Value::from("b")));
    }
}
