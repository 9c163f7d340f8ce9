//! Functions over lists and objects (maps share the object representation).

use super::args::{kind, parse_number, to_bool, to_string, Args};
use super::conversion::unify;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use std::collections::BTreeMap;

pub(super) fn merge(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut merged = BTreeMap::new();
    for (index, arg) in args.all().iter().enumerate() {
        // Terraform skips null arguments so `merge(var.base, var.optional_extra)` works.
        if arg.is_null() {
            continue;
        }
        merged.extend(args.object(index)?.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(Value::Object(merged))
}

pub(super) fn concat(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut items = Vec::new();
    for index in 0..args.all().len() {
        items.extend_from_slice(args.list(index)?);
    }
    Ok(Value::List(items))
}

pub(super) fn lookup(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let map = args.object(0)?;
    let key = args.string(1)?;
    match (map.get(key.as_ref()), args.all().get(2)) {
        (Some(found), _) => Ok(found.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(args.error(
            1,
            format!("the key {} is not in the map; give lookup() a default as its third argument.", args.show(&key)),
        )),
    }
}

/// Characters of a string, elements of a list, attributes of an object. The only function
/// that accepts unknowns inside its argument: the count is known even if the elements are not.
pub(super) fn length(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let count = match args.get(0) {
        Value::String(s) => super::strings::grapheme_count(s),
        Value::List(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => return Err(args.type_error(0, "a string, list or map")),
    };
    Ok(Value::from(i64::try_from(count).unwrap_or(i64::MAX)))
}

pub(super) fn keys(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::List(args.object(0)?.keys().map(|k| Value::from(k.as_str())).collect()))
}

/// The values in the order of their (sorted) keys, so `zipmap(keys(m), values(m))` is `m`.
pub(super) fn values(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::List(args.object(0)?.values().cloned().collect()))
}

pub(super) fn contains(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let wanted = args.get(1);
    Ok(Value::Bool(args.list(0)?.iter().any(|element| loosely_equal(element, wanted))))
}

/// Equality after converting `value` to the element's primitive type, as Terraform converts
/// the searched-for value to the list's element type: `contains([1, 2], "1")` is true.
fn loosely_equal(element: &Value, value: &Value) -> bool {
    match (element, value) {
        (Value::String(s), Value::Number(_) | Value::Bool(_)) => to_string(value).is_some_and(|v| v == s.as_str()),
        (Value::Number(n), Value::String(s)) => parse_number(s).is_some_and(|v| v == *n),
        (Value::Bool(b), Value::String(_)) => to_bool(value) == Some(*b),
        _ => element == value,
    }
}

/// `element(list, index)` wraps around: index 3 of a 2-element list is element 1.
pub(super) fn element(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let list = args.list(0)?;
    let index = args.integer(1)?;
    if list.is_empty() {
        return Err(args.error(0, "the list is empty, so element() has nothing to return."));
    }
    let index = usize::try_from(index).map_err(|_| {
        args.error(1, format!("element() needs an index of 0 or more, but got {}.", args.show(&index.to_string())))
    })?;
    Ok(list[index % list.len()].clone())
}

pub(super) fn flatten(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    fn walk(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::List(inner) => walk(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    walk(args.list(0)?, &mut out);
    Ok(Value::List(out))
}

/// Drops repeated elements, keeping the first occurrence of each.
pub(super) fn distinct(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out: Vec<Value> = Vec::new();
    for item in args.list(0)? {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(Value::List(out))
}

/// The first argument that is neither null nor an empty string, after converting all of
/// them to a common type.
pub(super) fn coalesce(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let unified = unify(args.all()).map_err(|e| FunctionError::Failed(format!("coalesce() arguments {e}.")))?;
    unified.into_iter().find(|v| !v.is_null() && v.as_str() != Some("")).ok_or_else(|| {
        FunctionError::Failed(
            "Every argument of coalesce() is null or an empty string, so there is nothing to return.".to_owned(),
        )
    })
}

/// Removes null and empty-string elements from a list of strings.
pub(super) fn compact(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out = Vec::new();
    for (position, item) in args.list(0)?.iter().enumerate() {
        if item.is_null() {
            continue;
        }
        let text = to_string(item).ok_or_else(|| {
            args.error(0, format!("element {position} is {}; compact() needs a list of strings.", kind(item)))
        })?;
        if !text.is_empty() {
            out.push(Value::from(text.as_ref()));
        }
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::object(entries.iter().cloned())
    }

    #[test]
    fn merge_later_wins_and_skips_nulls() {
        check(&[
            (
                "merge",
                vec![obj(&[("a", 1.into()), ("b", 2.into())]), obj(&[("b", 3.into())]), Value::Null],
                "{a = 1, b = 3}",
            ),
            ("merge", vec![], "{}"),
            (
                "merge",
                vec![obj(&[]), list(vec![])],
                "error: Invalid value for argument 2: a map or object is required, but got a list.",
            ),
        ]);
    }

    #[test]
    fn concat_lookup_keys_values() {
        check(&[
            ("concat", vec![list(vec!["a".into()]), list(vec![]), list(vec![1.into()])], r#"["a", 1]"#),
            ("concat", vec![list(vec![]), "x".into()], "error: Invalid value for argument 2: a list is required, but got a string."),
            ("lookup", vec![obj(&[("a", "x".into())]), "a".into()], r#""x""#),
            ("lookup", vec![obj(&[("a", "x".into())]), "b".into(), "dflt".into()], r#""dflt""#),
            (
                "lookup",
                vec![obj(&[("a", "x".into())]), "b".into()],
                "error: Invalid value for argument 2: the key \"b\" is not in the map; give lookup() a default as its third argument.",
            ),
            ("keys", vec![obj(&[("b", 1.into()), ("a", 2.into())])], r#"["a", "b"]"#),
            ("values", vec![obj(&[("b", 1.into()), ("a", 2.into())])], "[2, 1]"),
        ]);
    }

    #[test]
    fn length_of_strings_lists_and_objects() {
        check(&[
            ("length", vec!["héllo".into()], "5"),
            ("length", vec![list(vec![1.into(), 2.into()])], "2"),
            ("length", vec![obj(&[("a", Value::Null)])], "1"),
            (
                "length",
                vec![Value::Null],
                "error: Invalid value for argument 1: a string, list or map is required, but got null.",
            ),
            (
                "length",
                vec![3.into()],
                "error: Invalid value for argument 1: a string, list or map is required, but got a number.",
            ),
        ]);
    }

    #[test]
    fn contains_element_flatten_distinct() {
        let abc = || list(vec!["a".into(), "b".into(), "c".into()]);
        check(&[
            ("contains", vec![abc(), "b".into()], "true"),
            ("contains", vec![abc(), "z".into()], "false"),
            ("contains", vec![list(vec![1.into(), 2.into()]), "2".into()], "true"),
            ("contains", vec![list(vec!["1".into()]), 1.into()], "true"),
            ("contains", vec![list(vec![true.into()]), "true".into()], "true"),
            ("element", vec![abc(), 1.into()], r#""b""#),
            ("element", vec![abc(), 4.into()], r#""b""#),
            (
                "element",
                vec![abc(), (-1).into()],
                "error: Invalid value for argument 2: element() needs an index of 0 or more, but got \"-1\".",
            ),
            (
                "element",
                vec![list(vec![]), 0.into()],
                "error: Invalid value for argument 1: the list is empty, so element() has nothing to return.",
            ),
            (
                "flatten",
                vec![list(vec![list(vec!["a".into(), list(vec!["b".into()])]), "c".into(), list(vec![])])],
                r#"["a", "b", "c"]"#,
            ),
            ("distinct", vec![list(vec!["b".into(), "a".into(), "b".into(), "a".into()])], r#"["b", "a"]"#),
        ]);
    }

    #[test]
    fn coalesce_and_compact() {
        check(&[
            ("coalesce", vec![Value::Null, "".into(), "x".into(), "y".into()], r#""x""#),
            ("coalesce", vec![Value::Null, 2.into(), "x".into()], r#""2""#),
            ("coalesce", vec![Value::Null, 2.into(), 3.into()], "2"),
            (
                "coalesce",
                vec![Value::Null, "".into()],
                "error: Every argument of coalesce() is null or an empty string, so there is nothing to return.",
            ),
            (
                "coalesce",
                vec!["a".into(), list(vec![])],
                "error: coalesce() arguments have no common type: string and list.",
            ),
            ("compact", vec![list(vec!["a".into(), Value::Null, "".into(), 1.into()])], r#"["a", "1"]"#),
            (
                "compact",
                vec![list(vec![list(vec![])])],
                "error: Invalid value for argument 1: element 0 is a list; compact() needs a list of strings.",
            ),
        ]);
    }
}
