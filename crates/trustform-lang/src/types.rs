//! Type constraints (`type = list(string)` on a variable, attribute types in schemas) and the
//! conversions Terraform performs when a value meets one.

use crate::value::{Number, Value};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attribute names to types; attributes listed in `optional` may be absent.
    Object(BTreeMap<String, Type>, Vec<String>),
    Tuple(Vec<Type>),
    /// An optional object attribute with a default, `optional(T, default)`: a null or absent
    /// value becomes the default (kept as JSON text, so types stay comparable).
    WithDefault(Box<Type>, String),
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }
    pub fn set(of: Type) -> Type {
        Type::Set(Box::new(of))
    }
    pub fn map(of: Type) -> Type {
        Type::Map(Box::new(of))
    }

    /// Converts `value` to this type the way Terraform does: numbers and bools to strings and
    /// back where the text allows, tuples to lists, objects to maps, lists to sets (sorted,
    /// duplicates removed). Unknown and null pass through; sensitive marks are kept.
    pub fn convert(&self, value: Value) -> Result<Value, String> {
        if let Value::Sensitive(inner) = value {
            return self.convert(*inner).map(Value::sensitive);
        }
        if let Type::WithDefault(inner, default) = self {
            return match value {
                Value::Null => {
                    let json: serde_json::Value =
                        serde_json::from_str(default).map_err(|e| format!("the default is not valid: {e}"))?;
                    inner.convert(Value::from_json(&json))
                }
                other => inner.convert(other),
            };
        }
        if matches!(value, Value::Unknown | Value::Null) || *self == Type::Any {
            return Ok(value);
        }
        // A partially known string keeps its shape as a string; a number or bool made from it
        // is plain unknown, and any other type refuses it as it refuses a string.
        if let Value::Partial(_) = value {
            return match self {
                Type::String => Ok(value),
                Type::Number | Type::Bool => Ok(Value::Unknown),
                _ => self.convert(Value::String(String::new())).map(|_| Value::Unknown),
            };
        }
        match (self, value) {
            (Type::String, Value::String(s)) => Ok(Value::String(s)),
            (Type::String, Value::Number(n)) => Ok(Value::String(crate::functions::number_to_string(&n))),
            (Type::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
            (Type::Number, Value::Number(n)) => Ok(Value::Number(n)),
            (Type::Number, Value::String(s)) => parse_number(&s)
                .map(Value::Number)
                .ok_or_else(|| format!("a number is required, but {s:?} is not a number")),
            (Type::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
            (Type::Bool, Value::String(s)) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            (Type::List(elem), Value::List(items)) => convert_items(elem, items).map(Value::List),
            (Type::Set(elem), Value::List(items)) => {
                convert_items(elem, items).map(|items| Value::List(normalize_set(items)))
            }
            (Type::Tuple(types), Value::List(items)) => {
                if types.len() != items.len() {
                    return Err(format!(
                        "a tuple of {} elements is required, but this has {}",
                        types.len(),
                        items.len()
                    ));
                }
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, v))| t.convert(v).map_err(|e| format!("element {i}: {e}")))
                    .collect::<Result<_, _>>()
                    .map(Value::List)
            }
            (Type::Map(elem), Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| elem.convert(v).map(|v| (k.clone(), v)).map_err(|e| format!("element {k:?}: {e}")))
                .collect::<Result<_, _>>()
                .map(Value::Object),
            (Type::Object(attrs, optional), Value::Object(mut map)) => {
                let mut out = BTreeMap::new();
                for (name, ty) in attrs {
                    match map.remove(name) {
                        Some(v) => {
                            out.insert(name.clone(), ty.convert(v).map_err(|e| format!("attribute {name:?}: {e}"))?);
                        }
                        None if optional.contains(name) => {
                            out.insert(name.clone(), ty.convert(Value::Null)?);
                        }
                        None => return Err(format!("attribute {name:?} is required")),
                    }
                }
                if let Some(extra) = map.keys().next() {
                    return Err(format!("unexpected attribute {extra:?}"));
                }
                Ok(Value::Object(out))
            }
            (ty, value) => Err(format!("{} is required, but got {}", ty.with_article(), value.type_name())),
        }
    }

    fn with_article(&self) -> String {
        let name = self.to_string();
        match name.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {name}"),
            _ => format!("a {name}"),
        }
    }
}

fn convert_items(elem: &Type, items: Vec<Value>) -> Result<Vec<Value>, String> {
    items.into_iter().enumerate().map(|(i, v)| elem.convert(v).map_err(|e| format!("element {i}: {e}"))).collect()
}

/// Sorts and deduplicates set elements so two equal sets have one representation, in cty's
/// order: numbers by value, strings by their bytes, `false` before `true`, and anything else
/// by its rendering.
pub fn normalize_set(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(set_order);
    items.dedup_by(|a, b| set_order(a, b) == std::cmp::Ordering::Equal && a.is_sensitive() == b.is_sensitive());
    items
}

fn set_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.unmarked(), b.unmarked()) {
        (Value::Number(x), Value::Number(y)) => crate::functions::compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (x, y) => x.render().cmp(&y.render()),
    }
}

pub(crate) fn parse_number(s: &str) -> Option<Number> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(Number::from_f64)
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(attrs, optional) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let (true, Type::WithDefault(inner, default)) = (optional.contains(k), t) {
                        write!(f, "{k} = optional({inner}, {default})")?;
                    } else if optional.contains(k) {
                        write!(f, "{k} = optional({t})")?;
                    } else {
                        write!(f, "{k} = {t}")?;
                    }
                }
                f.write_str("})")
            }
            Type::WithDefault(inner, _) => write!(f, "{inner}"),
            Type::Tuple(types) => {
                f.write_str("tuple([")?;
                for (i, t) in types.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_terraform() {
        assert_eq!(Type::String.convert(Value::from(5)).unwrap(), Value::from("5"));
        assert_eq!(Type::Number.convert(Value::from("42")).unwrap(), Value::from(42));
        assert!(Type::Number.convert(Value::from("x")).is_err());
        let set = Type::set(Type::String).convert(Value::List(vec!["b".into(), "a".into(), "b".into()])).unwrap();
        assert_eq!(set, Value::List(vec!["a".into(), "b".into()]));
        let err = Type::Bool.convert(Value::from("yes")).unwrap_err();
        assert_eq!(err, "a bool is required, but got string");
    }

    #[test]
    fn keeps_marks_and_unknowns() {
        let secret = Type::String.convert(Value::from(1).sensitive()).unwrap();
        assert_eq!(secret, Value::from("1").sensitive());
        assert_eq!(Type::list(Type::String).convert(Value::Unknown).unwrap(), Value::Unknown);
    }

    #[test]
    fn objects_check_attributes() {
        let ty = Type::Object(
            BTreeMap::from([("a".to_owned(), Type::String), ("b".to_owned(), Type::Number)]),
            vec!["b".to_owned()],
        );
        let ok = ty.convert(Value::object([("a", Value::from("x"))])).unwrap();
        assert_eq!(ok, Value::object([("a", Value::from("x")), ("b", Value::Null)]));
        assert!(ty.convert(Value::object([("c", Value::from("x"))])).is_err());
    }

    /// developer.hashicorp.com/terraform/language/expressions/type-constraints#optional-object-type-attributes
    #[test]
    fn optional_attributes_take_their_defaults() {
        let ty = Type::Object(
            BTreeMap::from([
                ("a".to_owned(), Type::String),
                ("b".to_owned(), Type::WithDefault(Box::new(Type::Number), "127".to_owned())),
                ("c".to_owned(), Type::WithDefault(Box::new(Type::list(Type::String)), r#"["x"]"#.to_owned())),
            ]),
            vec!["b".to_owned(), "c".to_owned()],
        );
        let converted = ty.convert(Value::object([("a", Value::from("x")), ("c", Value::Null)])).unwrap();
        assert_eq!(converted.render(), r#"{a = "x", b = 127, c = ["x"]}"#);
        let given = ty.convert(Value::object([("a", Value::from("x")), ("b", Value::from("5"))])).unwrap();
        assert_eq!(given.render(), r#"{a = "x", b = 5, c = ["x"]}"#);
        assert_eq!(
            ty.to_string(),
            r#"object({a = string, b = optional(number, 127), c = optional(list(string), ["x"])})"#
        );
    }
}
