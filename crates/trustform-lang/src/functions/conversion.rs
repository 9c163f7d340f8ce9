//! Explicit type conversions. Null converts to null, as in Terraform.

use super::args::{kind, parse_number, to_bool, to_string, Args};
use super::{FunctionContext, FunctionError};
use crate::types::normalize_set;
use crate::value::Value;

pub(super) fn tostring(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        value => to_string(value).map(|s| Value::from(s.as_ref())).ok_or_else(|| {
            args.error(
                0,
                format!("cannot convert {} to a string; use jsonencode() to write it as JSON text.", kind(value)),
            )
        }),
    }
}

pub(super) fn tonumber(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => parse_number(s)
            .map(Value::Number)
            .ok_or_else(|| args.error(0, format!("cannot convert {} to a number.", args.show(s)))),
        value => Err(args.error(0, format!("cannot convert {} to a number.", kind(value)))),
    }
}

pub(super) fn tobool(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::String(s) if to_bool(args.get(0)).is_none() => {
            Err(args
                .error(0, format!("cannot convert {} to a bool; only \"true\" and \"false\" convert.", args.show(s))))
        }
        value => to_bool(value)
            .map(Value::Bool)
            .ok_or_else(|| args.error(0, format!("cannot convert {} to a bool.", kind(value)))),
    }
}

pub(super) fn tolist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::List(items) => unify(items).map(Value::List).map_err(|e| args.error(0, format!("the elements {e}."))),
        value => Err(args.error(0, format!("cannot convert {} to a list.", kind(value)))),
    }
}

/// A list sorted and without duplicates: the set representation every value uses.
pub(super) fn toset(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::List(items) => unify(items)
            .map(|items| Value::List(normalize_set(items)))
            .map_err(|e| args.error(0, format!("the elements {e}."))),
        value => Err(args.error(0, format!("cannot convert {} to a set.", kind(value)))),
    }
}

pub(super) fn tomap(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Object(map) => {
            let values: Vec<Value> = map.values().cloned().collect();
            let unified = unify(&values).map_err(|e| args.error(0, format!("the values {e}.")))?;
            Ok(Value::Object(map.keys().cloned().zip(unified).collect()))
        }
        value => Err(args.error(0, format!("cannot convert {} to a map.", kind(value)))),
    }
}

/// Converts values to one type, as Terraform does for the elements of a list or map: values
/// of one kind stay as they are, a mix of strings, numbers and bools becomes strings, and
/// nulls stay null. Anything else has no common type; the error completes "the elements ...".
pub(super) fn unify(values: &[Value]) -> Result<Vec<Value>, String> {
    let mut kinds: Vec<&str> = Vec::new();
    for value in values.iter().filter(|v| !v.is_null()) {
        if !kinds.contains(&value.type_name()) {
            kinds.push(value.type_name());
        }
    }
    if kinds.len() <= 1 {
        return Ok(values.to_vec());
    }
    if kinds.iter().all(|k| matches!(*k, "string" | "number" | "bool")) {
        return Ok(values.iter().map(|v| to_string(v).map_or(Value::Null, |s| Value::from(s.as_ref()))).collect());
    }
    Err(format!("have no common type: {}", kinds.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    #[test]
    fn primitive_conversions() {
        check(&[
            ("tostring", vec![Value::from(5)], r#""5""#),
            ("tostring", vec![Value::from_json(&serde_json::json!(1.25))], r#""1.25""#),
            ("tostring", vec![true.into()], r#""true""#),
            ("tostring", vec![Value::Null], "null"),
            ("tostring", vec![Value::List(vec![])], "error: Invalid value for argument 1: cannot convert a list to a string; use jsonencode() to write it as JSON text."),
            ("tonumber", vec!["42".into()], "42"),
            ("tonumber", vec!["-1.5e3".into()], "-1500"),
            ("tonumber", vec![Value::from(3)], "3"),
            ("tonumber", vec!["abc".into()], "error: Invalid value for argument 1: cannot convert \"abc\" to a number."),
            ("tonumber", vec![true.into()], "error: Invalid value for argument 1: cannot convert a bool to a number."),
            ("tobool", vec!["true".into()], "true"),
            ("tobool", vec![false.into()], "false"),
            ("tobool", vec![Value::Null], "null"),
            ("tobool", vec!["yes".into()], "error: Invalid value for argument 1: cannot convert \"yes\" to a bool; only \"true\" and \"false\" convert."),
            ("tobool", vec![Value::from(1)], "error: Invalid value for argument 1: cannot convert a number to a bool."),
        ]);
    }

    #[test]
    fn collection_conversions_unify_element_types() {
        let mixed = || Value::List(vec!["b".into(), 1.into(), true.into(), "b".into(), Value::Null]);
        check(&[
            ("tolist", vec![mixed()], r#"["b", "1", "true", "b", null]"#),
            ("toset", vec![mixed()], r#"["1", "b", "true", null]"#),
            ("toset", vec![Value::List(vec!["b".into(), "a".into(), "b".into()])], r#"["a", "b"]"#),
            ("tomap", vec![Value::object([("a", Value::from(1)), ("b", "x".into())])], r#"{a = "1", b = "x"}"#),
            (
                "tolist",
                vec![Value::List(vec!["a".into(), Value::List(vec![])])],
                "error: Invalid value for argument 1: the elements have no common type: string and list.",
            ),
            (
                "tolist",
                vec![Value::object([("a", Value::Null)])],
                "error: Invalid value for argument 1: cannot convert an object to a list.",
            ),
            (
                "tomap",
                vec![Value::List(vec![])],
                "error: Invalid value for argument 1: cannot convert a list to a map.",
            ),
        ]);
    }
}
