use crate::{Block, Mode, Nesting};
use std::collections::BTreeMap;
use std::fmt;
use trustform_lang::{Path, PathStep, Value};

/// One way a configuration does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformError {
    /// Where in the body the problem is (`aws.account_id`); empty for the body itself.
    pub path: Path,
    pub kind: ConformErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConformErrorKind {
    MissingRequired,
    Unsupported { suggestion: Option<String> },
    ComputedOnly,
    Type(String),
    TooMany { max: usize, got: usize },
    TooFew { min: usize, got: usize },
}

impl fmt::Display for ConformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.path;
        match &self.kind {
            ConformErrorKind::MissingRequired => {
                write!(f, "the argument \"{at}\" is required, but no definition was found")
            }
            ConformErrorKind::Unsupported { suggestion: Some(s) } => {
                write!(f, "an argument named \"{at}\" is not expected here; did you mean \"{s}\"?")
            }
            ConformErrorKind::Unsupported { suggestion: None } => {
                write!(f, "an argument named \"{at}\" is not expected here")
            }
            ConformErrorKind::ComputedOnly => write!(f, "\"{at}\" is computed by the provider and cannot be set"),
            ConformErrorKind::Type(msg) => write!(f, "inappropriate value for \"{at}\": {msg}"),
            ConformErrorKind::TooMany { max, got } => {
                write!(f, "at most {max} \"{at}\" block(s) are allowed, but {got} were given")
            }
            ConformErrorKind::TooFew { min, got } => {
                write!(f, "at least {min} \"{at}\" block(s) are required, but {got} were given")
            }
        }
    }
}

/// Checks an evaluated body against `block` and returns the value the planner works with:
/// every attribute of the schema present, unset ones as their default or `null` (the planner
/// decides what an unset computed attribute becomes), values converted to their declared types, single nested
/// blocks as an object (or null), list and set blocks as lists.
///
/// `config` is an object whose nested blocks are lists of objects, as the evaluator produces.
pub fn conform(block: &Block, config: &Value) -> Result<Value, Vec<ConformError>> {
    let mut errors = Vec::new();
    let value = conform_at(block, config, &mut Path::root(), &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

fn conform_at(block: &Block, config: &Value, path: &mut Path, errors: &mut Vec<ConformError>) -> Value {
    let empty = BTreeMap::new();
    let given = config.as_object().unwrap_or(&empty);
    let mut out = BTreeMap::new();

    for name in given.keys() {
        if !block.attributes.contains_key(name) && !block.blocks.contains_key(name) {
            let candidates = block.attributes.keys().chain(block.blocks.keys()).map(String::as_str);
            let suggestion = trustform_lang::closest(name, candidates);
            errors.push(error_at(path, name, ConformErrorKind::Unsupported { suggestion }));
        }
    }

    for (name, attr) in &block.attributes {
        let value = match given.get(name) {
            Some(v) if !v.is_null() => {
                if attr.mode == Mode::Computed {
                    errors.push(error_at(path, name, ConformErrorKind::ComputedOnly));
                    continue;
                }
                match attr.ty.convert(v.clone()) {
                    Ok(v) => v.mark_if(attr.sensitive),
                    Err(msg) => {
                        errors.push(error_at(path, name, ConformErrorKind::Type(msg)));
                        continue;
                    }
                }
            }
            _ => match attr.mode {
                Mode::Required => {
                    errors.push(error_at(path, name, ConformErrorKind::MissingRequired));
                    continue;
                }
                // Computed values are filled in by the planner from prior state, or become unknown.
                Mode::Optional | Mode::Computed | Mode::OptionalComputed => attr.default.clone().unwrap_or(Value::Null),
            },
        };
        out.insert(name.clone(), value);
    }

    for (name, nested) in &block.blocks {
        let items: Vec<Value> = match given.get(name).map(Value::unmarked) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(items)) => items.clone(),
            Some(single @ Value::Object(_)) => vec![single.clone()],
            // Blocks a `dynamic` block makes from a collection not known yet: how many and what
            // they hold is decided when it is known.
            Some(unknown) if unknown.is_unknown() => {
                out.insert(name.clone(), Value::Unknown);
                continue;
            }
            Some(other) => {
                let msg = format!("a block is required, but got {}", other.type_name());
                errors.push(error_at(path, name, ConformErrorKind::Type(msg)));
                continue;
            }
        };
        if let Some(max) = nested.max_items.filter(|&max| items.len() > max) {
            errors.push(error_at(path, name, ConformErrorKind::TooMany { max, got: items.len() }));
            continue;
        }
        if items.len() < nested.min_items {
            errors.push(error_at(path, name, ConformErrorKind::TooFew { min: nested.min_items, got: items.len() }));
            continue;
        }
        path.0.push(PathStep::Key(name.clone()));
        let conformed: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                if nested.nesting != Nesting::Single {
                    path.0.push(PathStep::Index(i));
                }
                let v = conform_at(&nested.block, item, path, errors);
                if nested.nesting != Nesting::Single {
                    path.0.pop();
                }
                v
            })
            .collect();
        path.0.pop();
        let value = match nested.nesting {
            Nesting::Single => conformed.into_iter().next().unwrap_or(Value::Null),
            Nesting::List | Nesting::Set => Value::List(conformed),
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn error_at(path: &Path, name: &str, kind: ConformErrorKind) -> ConformError {
    let mut path = path.clone();
    path.0.push(PathStep::Key(name.to_owned()));
    ConformError { path, kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attribute;
    use trustform_lang::Type;

    fn pool_provider() -> Block {
        Block::new()
            .attr("id", Attribute::required(Type::String).force_new())
            .attr("display_name", Attribute::optional(Type::String))
            .attr("name", Attribute::computed(Type::String))
            .attr("disabled", Attribute::optional(Type::Bool).default(false))
            .block("aws", Nesting::Single, Block::new().attr("account_id", Attribute::required(Type::String)))
    }

    #[test]
    fn fills_defaults_unknowns_and_single_blocks() {
        let config = Value::object([
            ("id", Value::from("aws")),
            ("aws", Value::List(vec![Value::object([("account_id", Value::from(123))])])),
        ]);
        let out = conform(&pool_provider(), &config).unwrap();
        assert_eq!(
            out.render(),
            r#"{aws = {account_id = "123"}, disabled = false, display_name = null, id = "aws", name = null}"#
        );
    }

    #[test]
    fn blocks_not_known_yet_stay_unknown_rather_than_incomplete() {
        let config = Value::object([("id", Value::from("aws")), ("aws", Value::Unknown)]);
        let out = conform(&pool_provider(), &config).unwrap();
        assert_eq!(out.get("aws"), Some(&Value::Unknown));
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let config = Value::object([
            ("display_nme", Value::from("x")),
            ("name", Value::from("x")),
            ("aws", Value::List(vec![Value::object([("account", Value::from("1"))])])),
        ]);
        let errors: Vec<String> =
            conform(&pool_provider(), &config).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "an argument named \"display_nme\" is not expected here; did you mean \"display_name\"?",
                "the argument \"id\" is required, but no definition was found",
                "\"name\" is computed by the provider and cannot be set",
                "an argument named \"aws.account\" is not expected here",
                "the argument \"aws.account_id\" is required, but no definition was found",
            ]
        );
    }
}
