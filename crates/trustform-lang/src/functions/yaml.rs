//! `yamlencode` and `yamldecode`, writing YAML the way terraform's go-cty-yaml does: every
//! string and key double-quoted, block style, sequences inside mappings not indented.

use super::args::Args;
use super::json::number_to_string;
use super::{FunctionContext, FunctionError};
use crate::value::{Number, Value};
use std::fmt::Write as _;
use yaml_rust2::{Yaml, YamlLoader};

pub(super) fn yamlencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out = String::new();
    match args.get(0) {
        Value::List(items) if !items.is_empty() => sequence(items, 0, &mut out),
        Value::Object(map) if !map.is_empty() => mapping(map, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    Ok(Value::String(out))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null | Value::Unknown | Value::Partial(_) | Value::Sensitive(_) => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => quoted(s),
        Value::List(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nested(value: &Value) -> bool {
    matches!(value, Value::List(items) if !items.is_empty()) || matches!(value, Value::Object(map) if !map.is_empty())
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push_str("- ");
        match item {
            Value::List(inner) if !inner.is_empty() => {
                // The first element goes on the dash's line, the rest under it.
                let mut text = String::new();
                sequence(inner, indent + 2, &mut text);
                out.push_str(text.trim_start());
            }
            Value::Object(map) if !map.is_empty() => {
                let mut text = String::new();
                mapping(map, indent + 2, &mut text);
                out.push_str(text.trim_start());
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn mapping(map: &std::collections::BTreeMap<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (key, value) in map {
        out.push_str(&pad);
        out.push_str(&quoted(key));
        out.push(':');
        if nested(value) {
            out.push('\n');
            match value {
                Value::List(items) => sequence(items, indent, out),
                Value::Object(inner) => mapping(inner, indent + 2, out),
                _ => {}
            }
        } else {
            out.push(' ');
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
}

pub(super) fn yamldecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let documents = YamlLoader::load_from_str(&text)
        .map_err(|e| args.error(0, format!("the string is not valid YAML{}.", args.detail(e))))?;
    match documents.as_slice() {
        [] => Ok(Value::Null),
        [one] => convert(one).map_err(|e| args.error(0, e)),
        _ => Err(args.error(0, "unexpected extra content after value: yamldecode() reads one YAML document.")),
    }
}

fn convert(yaml: &Yaml) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number(Number::from(*i)),
        Yaml::Real(text) => {
            let f: f64 = text.parse().map_err(|_| format!("the number {text} cannot be read"))?;
            Value::Number(Number::from_f64(f).ok_or_else(|| format!("the number {text} is not finite"))?)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::List(items.iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Hash(map) => {
            let mut out = std::collections::BTreeMap::new();
            for (key, value) in map {
                let key = match key {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Null => "null".to_owned(),
                    _ => return Err("a mapping key must be a string".to_owned()),
                };
                out.insert(key, convert(value)?);
            }
            Value::Object(out)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err("aliases are not supported".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    /// The examples of developer.hashicorp.com/terraform/language/functions/yamlencode and
    /// yamldecode.
    #[test]
    fn documented_examples() {
        let list = |items: Vec<Value>| Value::List(items);
        check(&[
            (
                "yamlencode",
                vec![Value::object([("a", "b".into()), ("c", "d".into())])],
                r#""\"a\": \"b\"\n\"c\": \"d\"\n""#,
            ),
            (
                "yamlencode",
                vec![Value::object([("foo", list(vec![1.into(), 2.into(), 3.into()])), ("bar", "baz".into())])],
                r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n""#,
            ),
            (
                "yamlencode",
                vec![Value::object([
                    ("foo", list(vec![1.into(), Value::object([("a", "b".into()), ("c", "d".into())]), 3.into()])),
                    ("bar", "baz".into()),
                ])],
                r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n""#,
            ),
            (
                "yamlencode",
                vec![Value::object([("a", Value::object([("b", true.into())]))])],
                r#""\"a\":\n  \"b\": true\n""#,
            ),
            ("yamldecode", vec!["hello: world".into()], r#"{hello = "world"}"#),
            ("yamldecode", vec!["true".into()], "true"),
            ("yamldecode", vec!["{a: &foo [1, 2, 3], b: *foo}".into()], "{a = [1, 2, 3], b = [1, 2, 3]}"),
            ("yamldecode", vec!["- a\n- 1\n- null\n".into()], r#"["a", 1, null]"#),
        ]);
    }
}
