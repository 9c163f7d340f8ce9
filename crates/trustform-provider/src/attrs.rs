//! Reading attributes out of resource values and building states back, the same way in every
//! adapter, plus the two answers a read and a delete give for an object that is gone.

use crate::ProviderError;
use std::collections::BTreeMap;
use trustform_lang::{Hole, Part, Partial, Value};

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

/// A string a provider derives at plan time from literal text and planned values, in order: the
/// known string when every piece is, else a [`Value::Partial`] keeping the known text (a
/// partially known piece keeps its own shape, an unknown one is a hole), so the checks still
/// read `arn:aws:iam::123456789012:role/gw-${random_id.x.hex}`. `None` when a piece is null or
/// not a string (nothing to derive); the result is sensitive when a piece is.
pub fn derived_text<'v>(pieces: impl IntoIterator<Item = &'v Value>) -> Option<Value> {
    let mut parts = Vec::new();
    let mut sensitive = false;
    for piece in pieces {
        sensitive |= piece.is_sensitive();
        match piece.unmarked() {
            Value::String(text) => parts.push(Part::Text(text.clone())),
            Value::Partial(shape) => parts.extend(shape.parts().iter().cloned()),
            Value::Unknown => parts.push(Part::Hole(Hole { reference: None, not_null: true })),
            _ => return None,
        }
    }
    let value = match Partial::new(parts.clone()) {
        Some(shape) => Value::Partial(Box::new(shape)),
        None => Value::String(
            parts
                .into_iter()
                .filter_map(|part| match part {
                    Part::Text(text) => Some(text),
                    Part::Hole(_) => None,
                })
                .collect(),
        ),
    };
    Some(value.mark_if(sensitive))
}

/// What a provider's plan puts in `attribute`: `derived`, unless `prior` (the object as the cloud
/// last answered) is the same object, its `identity` arguments equal in `planned` or left unset
/// there (an optional-computed name IAM chose), and holds a known value: the cloud's own word
/// then stands, so an existing object never plans a change of what only a new one could change.
pub fn derived_or_prior(
    prior: Option<&Value>,
    planned: &Value,
    identity: &[&str],
    attribute: &str,
    derived: Option<Value>,
) -> Option<Value> {
    let same_object = |prior: &Value| {
        identity.iter().all(|name| match planned.get(name) {
            None | Some(Value::Null) => true,
            Some(given) => prior.get(name).is_some_and(|was| was.eq_ignoring_marks(given)),
        })
    };
    match prior.filter(|prior| same_object(prior)).and_then(|prior| prior.get(attribute)) {
        Some(known) if known.as_str().is_some() => Some(known.clone()),
        _ => derived,
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

    #[test]
    fn derived_text_is_known_partial_or_nothing() {
        let text = |t: &str| Value::from(t);
        assert_eq!(derived_text([&text("arn:"), &text("x")]), Some(text("arn:x")));
        let name = Value::Partial(Box::new(
            Partial::new([Part::Text("gw-".into()), Part::Hole(Hole::reference("random_id.x.hex"))]).unwrap(),
        ));
        let derived = derived_text([&text("role/"), &name]).unwrap();
        assert_eq!(derived.as_partial().unwrap().to_template(), "role/gw-${random_id.x.hex}");
        let unknown = derived_text([&text("role/"), &Value::Unknown, &text("/x")]).unwrap();
        assert_eq!(unknown.as_partial().unwrap().to_template(), "role/${...}/x");
        assert_eq!(unknown.as_partial().unwrap().prefix(), "role/");
        assert_eq!(derived_text([&text("role/"), &Value::Null]), None);
        assert!(derived_text([&text("a"), &text("b").sensitive()]).unwrap().is_sensitive());
    }

    #[test]
    fn an_existing_object_keeps_what_the_cloud_said() {
        let prior = Value::object([("name", "gw-1234".into()), ("path", "/".into()), ("arn", "arn:cloud".into())]);
        let derived = || Some(Value::from("arn:derived"));
        let generated = Value::object([("name", Value::Null), ("path", "/".into())]);
        assert_eq!(
            derived_or_prior(Some(&prior), &generated, &["name", "path"], "arn", derived()),
            Some("arn:cloud".into())
        );
        let renamed = Value::object([("name", "other".into()), ("path", "/".into())]);
        assert_eq!(derived_or_prior(Some(&prior), &renamed, &["name", "path"], "arn", derived()), derived());
        assert_eq!(derived_or_prior(None, &generated, &["name", "path"], "arn", derived()), derived());
        let unknown_prior = Value::object([("name", "gw-1234".into()), ("arn", Value::Unknown)]);
        assert_eq!(derived_or_prior(Some(&unknown_prior), &generated, &["name"], "arn", None), None);
    }
}
