use crate::{Attribute, Block, Compare, Nesting};
use serde_json::Value as Json;
use trustform_lang::{normalize_set, Value};

/// True when two values of `attribute` mean the same thing, so the diff shows no change.
pub fn values_equal(attribute: &Attribute, a: &Value, b: &Value) -> bool {
    // Equal spellings are equal under every comparison, and are by far the common case.
    if a.eq_ignoring_marks(b) {
        return true;
    }
    match attribute.compare {
        Compare::Exact => false,
        Compare::Set => match (a.unmarked(), b.unmarked()) {
            (Value::List(x), Value::List(y)) => {
                normalize_set(x.iter().map(Value::deep_unmark).collect())
                    == normalize_set(y.iter().map(Value::deep_unmark).collect())
            }
            _ => false,
        },
        Compare::CaseInsensitive => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => false,
        },
        Compare::JsonDocument => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => json_documents_equal(x, y),
            _ => false,
        },
    }
}

/// Compares the values of a nested block, attribute by attribute, honouring set nesting.
pub fn blocks_equal(block: &Block, nesting: Nesting, a: &Value, b: &Value) -> bool {
    match (a.unmarked(), b.unmarked()) {
        (Value::List(x), Value::List(y)) if x.len() == y.len() => match nesting {
            Nesting::Set => x.iter().all(|item| y.iter().any(|other| block_body_equal(block, item, other))),
            _ => x.iter().zip(y).all(|(p, q)| block_body_equal(block, p, q)),
        },
        (Value::Object(_), Value::Object(_)) => block_body_equal(block, a, b),
        (x, y) => x.is_null() && y.is_null() || x.eq_ignoring_marks(y),
    }
}

/// Compares two values of a whole block body by its schema.
pub fn block_body_equal(block: &Block, a: &Value, b: &Value) -> bool {
    let null = Value::Null;
    block
        .attributes
        .iter()
        .all(|(name, attr)| values_equal(attr, a.get(name).unwrap_or(&null), b.get(name).unwrap_or(&null)))
        && block.blocks.iter().all(|(name, nested)| {
            blocks_equal(&nested.block, nested.nesting, a.get(name).unwrap_or(&null), b.get(name).unwrap_or(&null))
        })
}

/// Semantic equality of two JSON documents as IAM reads them: object key order and whitespace
/// do not matter, a one-element list equals its element, list order does not matter, and
/// numbers and booleans equal their string spellings. Text that is not JSON compares exactly.
pub fn json_documents_equal(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Json>(a), serde_json::from_str::<Json>(b)) {
        (Ok(x), Ok(y)) => canonical(&x) == canonical(&y),
        _ => a == b,
    }
}

fn canonical(json: &Json) -> Json {
    match json {
        Json::Number(n) => Json::String(n.to_string()),
        Json::Bool(b) => Json::String(b.to_string()),
        Json::Array(items) if items.len() == 1 => canonical(&items[0]),
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(canonical).collect();
            items.sort_by_key(|item| item.to_string());
            items.dedup();
            Json::Array(items)
        }
        Json::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Type;

    #[test]
    fn policy_documents_compare_semantically() {
        let ours = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Principal":{"Service":"pods.eks.amazonaws.com"}}]}"#;
        let iams = r#"{
          "Statement": {"Principal": {"Service": ["pods.eks.amazonaws.com"]}, "Action": ["sts:TagSession", "sts:AssumeRole"], "Effect": "Allow"},
          "Version": "2012-10-17"
        }"#;
        assert!(json_documents_equal(ours, iams));
        assert!(!json_documents_equal(ours, &ours.replace("TagSession", "SetSourceIdentity")));
        assert!(json_documents_equal(r#"{"n":1}"#, r#"{"n":"1"}"#));
    }

    #[test]
    fn sets_ignore_order_and_exact_does_not() {
        let a = Value::List(vec!["x".into(), "y".into()]);
        let b = Value::List(vec!["y".into(), "x".into()]);
        assert!(values_equal(&Attribute::optional(Type::set(Type::String)), &a, &b));
        assert!(!values_equal(&Attribute::optional(Type::list(Type::String)), &a, &b));
    }

    #[test]
    fn sensitive_marks_do_not_make_a_difference() {
        let attr = Attribute::optional(Type::String);
        assert!(values_equal(&attr, &Value::from("s").sensitive(), &Value::from("s")));
    }
}
