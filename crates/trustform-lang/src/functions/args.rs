//! Typed access to a call's arguments, with Terraform's parameter conversions and error
//! messages that never quote a sensitive argument.

use super::json::number_to_string;
use super::FunctionError;
use crate::value::{Number, Value, REDACTED};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The arguments of one call: known and unmarked. `sensitive` remembers whether any of them
/// carried a mark, so that messages can leave their text out.
pub(super) struct Args {
    values: Vec<Value>,
    sensitive: bool,
}

impl Args {
    pub(super) fn new(values: Vec<Value>, sensitive: bool) -> Args {
        Args { values, sensitive }
    }

    pub(super) fn all(&self) -> &[Value] {
        &self.values
    }

    pub(super) fn get(&self, index: usize) -> &Value {
        &self.values[index]
    }

    /// `text` quoted for an error message, or a placeholder if the call involves a secret.
    pub(super) fn show(&self, text: &str) -> String {
        if self.sensitive {
            REDACTED.to_owned()
        } else {
            serde_json::Value::String(text.to_owned()).to_string()
        }
    }

    /// A library's own error text, which may echo its input, or nothing if that is secret.
    pub(super) fn detail(&self, text: impl ToString) -> String {
        if self.sensitive {
            String::new()
        } else {
            format!(": {}", text.to_string())
        }
    }

    pub(super) fn error(&self, index: usize, message: impl Into<String>) -> FunctionError {
        FunctionError::Argument { index, message: message.into() }
    }

    pub(super) fn string(&self, index: usize) -> Result<Cow<'_, str>, FunctionError> {
        to_string(self.get(index)).ok_or_else(|| self.type_error(index, "a string"))
    }

    pub(super) fn number(&self, index: usize) -> Result<Number, FunctionError> {
        let value = self.get(index);
        match value {
            Value::Number(n) => Ok(*n),
            Value::String(s) => parse_number(s).ok_or_else(|| {
                self.error(index, format!("a number is required, but {} is not a number.", self.show(s)))
            }),
            _ => Err(self.type_error(index, "a number")),
        }
    }

    /// A whole number that fits in an `i64`.
    pub(super) fn integer(&self, index: usize) -> Result<i64, FunctionError> {
        let n = self.number(index)?;
        n.as_i64().ok_or_else(|| {
            self.error(index, format!("a whole number is required, but got {}.", self.show(&n.to_string())))
        })
    }

    pub(super) fn list(&self, index: usize) -> Result<&[Value], FunctionError> {
        self.get(index).as_list().ok_or_else(|| self.type_error(index, "a list"))
    }

    pub(super) fn object(&self, index: usize) -> Result<&BTreeMap<String, Value>, FunctionError> {
        self.get(index).as_object().ok_or_else(|| self.type_error(index, "a map or object"))
    }

    pub(super) fn type_error(&self, index: usize, expected: &str) -> FunctionError {
        self.error(index, format!("{expected} is required, but got {}.", kind(self.get(index))))
    }
}

/// A value's kind with an article, for messages: "a list", "null".
pub(super) fn kind(value: &Value) -> String {
    match value.type_name() {
        "null" => "null".to_owned(),
        name if name.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {name}"),
        name => format!("a {name}"),
    }
}

/// Terraform's conversion of a primitive to a string; `None` for null and collections.
pub(super) fn to_string(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(number_to_string(n))),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Terraform's conversion to a bool: bools, and the strings `true` and `false`.
pub(super) fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Terraform's conversion of a string to a number: decimal or exponent notation, nothing
/// around it.
pub(super) fn parse_number(s: &str) -> Option<Number> {
    if s.trim() != s {
        return None;
    }
    crate::types::parse_number(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_convert_primitives_like_terraform() {
        let args =
            Args::new(vec![Value::from(5), Value::from(true), Value::from("7"), Value::from(" 7"), Value::Null], false);
        assert_eq!(args.string(0).unwrap(), "5");
        assert_eq!(args.string(1).unwrap(), "true");
        assert_eq!(args.number(2).unwrap(), Number::from(7));
        assert_eq!(
            args.number(3).unwrap_err().to_string(),
            "Invalid value for argument 4: a number is required, but \" 7\" is not a number."
        );
        assert_eq!(
            args.string(4).unwrap_err().to_string(),
            "Invalid value for argument 5: a string is required, but got null."
        );
        assert_eq!(
            args.list(0).unwrap_err().to_string(),
            "Invalid value for argument 1: a list is required, but got a number."
        );
    }
}
