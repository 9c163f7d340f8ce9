//! [`RandomProvider`]: results are generated on create and only ever read back from the state.

use crate::generate::{self, PasswordParams};
use crate::schema::{ID, PASSWORD, SCHEMA};
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::attrs::{text, with};
use trustform_provider::{Checkpoint, Provider, ProviderError, ValidationIssue};
use trustform_schema::ProviderSchema;

/// The `random` provider. It needs no configuration and makes no network call.
#[derive(Debug, Default)]
pub struct RandomProvider;

impl RandomProvider {
    pub fn new() -> RandomProvider {
        RandomProvider
    }
}

/// The id of every random resource: a constant, because ids are printed.
const ID_VALUE: &str = "none";

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::invalid(format!("the random provider has no resource type {type_name:?}"))
}

/// A whole-number argument; `None` while unknown, an error when negative or fractional.
fn count(value: &Value, name: &str) -> Result<Option<usize>, String> {
    match value.get(name).map(Value::unmarked) {
        None | Some(Value::Null) => Ok(Some(0)),
        Some(Value::Unknown | Value::Partial(_)) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()).map(Some).ok_or_else(|| {
            format!("{name} must be a whole number of zero or more; write it without a sign or fraction.")
        }),
        Some(other) => Err(format!("{name} must be a number, not {}.", other.type_name())),
    }
}

fn flag(value: &Value, name: &str) -> Option<bool> {
    match value.get(name).map(Value::unmarked) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Unknown | Value::Partial(_)) => None,
        _ => Some(true),
    }
}

/// The password arguments, `Ok(None)` while any is unknown.
fn password_params(config: &Value) -> Result<Option<PasswordParams>, String> {
    let override_special = match config.get("override_special").map(Value::unmarked) {
        Some(Value::Unknown | Value::Partial(_)) => return Ok(None),
        _ => text(config, "override_special").map(str::to_owned),
    };
    let (Some(length), Some(min_upper), Some(min_lower), Some(min_numeric), Some(min_special)) = (
        count(config, "length")?,
        count(config, "min_upper")?,
        count(config, "min_lower")?,
        count(config, "min_numeric")?,
        count(config, "min_special")?,
    ) else {
        return Ok(None);
    };
    let (Some(upper), Some(lower), Some(numeric), Some(special)) =
        (flag(config, "upper"), flag(config, "lower"), flag(config, "numeric"), flag(config, "special"))
    else {
        return Ok(None);
    };
    Ok(Some(PasswordParams {
        length,
        upper,
        lower,
        numeric,
        special,
        override_special,
        min_upper,
        min_lower,
        min_numeric,
        min_special,
    }))
}

fn byte_length(config: &Value) -> Result<Option<usize>, String> {
    match count(config, "byte_length")? {
        Some(0) => Err("byte_length must be at least 1.".to_owned()),
        other => Ok(other),
    }
}

fn issue(attribute: &str, detail: String) -> ValidationIssue {
    ValidationIssue {
        attribute: attribute.to_owned(),
        summary: "Invalid random arguments".to_owned(),
        detail,
        is_error: true,
    }
}

#[async_trait]
impl Provider for RandomProvider {
    fn name(&self) -> &str {
        "random"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, _config: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            PASSWORD => match password_params(config) {
                Err(detail) => vec![issue("length", detail)],
                Ok(Some(params)) => params.problem().map(|detail| issue("length", detail)).into_iter().collect(),
                Ok(None) => Vec::new(),
            },
            ID => byte_length(config).err().map(|detail| issue("byte_length", detail)).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    fn plan(&self, type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        match type_name {
            PASSWORD | ID => Ok(with(&planned, [("id", Value::from(ID_VALUE))])),
            _ => Ok(planned),
        }
    }

    /// A generated value lives only in the state: reading it is reading the state.
    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        match type_name {
            PASSWORD | ID => Ok(Some(state.clone())),
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn create(&self, type_name: &str, planned: &Value, _: &dyn Checkpoint) -> Result<Value, ProviderError> {
        let failed = |e: generate::RandomnessUnavailable| ProviderError::transient(e.to_string());
        match type_name {
            PASSWORD => {
                let params = password_params(planned)
                    .map_err(ProviderError::invalid)?
                    .ok_or_else(|| ProviderError::invalid("random_password was given an unknown argument"))?;
                if let Some(problem) = params.problem() {
                    return Err(ProviderError::invalid(problem));
                }
                let result = generate::password(&params).map_err(failed)?;
                Ok(with(planned, [("result", Value::String(result).sensitive()), ("id", Value::from(ID_VALUE))]))
            }
            ID => {
                let length = byte_length(planned)
                    .map_err(ProviderError::invalid)?
                    .ok_or_else(|| ProviderError::invalid("random_id was given an unknown byte_length"))?;
                let ids = generate::id(length, text(planned, "prefix").unwrap_or_default()).map_err(failed)?;
                Ok(with(
                    planned,
                    [
                        ("b64_url", Value::String(ids.b64_url).sensitive()),
                        ("b64_std", Value::String(ids.b64_std).sensitive()),
                        ("hex", Value::String(ids.hex).sensitive()),
                        ("dec", Value::String(ids.dec).sensitive()),
                        ("id", Value::from(ID_VALUE)),
                    ],
                ))
            }
            _ => Err(unknown_type(type_name)),
        }
    }

    /// Every argument forces replacement, so an update only carries the results over.
    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let results: &[&'static str] = match type_name {
            PASSWORD => &["result", "id"],
            ID => &["b64_url", "b64_std", "hex", "dec", "id"],
            _ => return Err(unknown_type(type_name)),
        };
        Ok(with(planned, results.iter().map(|name| (*name, prior.get(name).cloned().unwrap_or_default()))))
    }

    async fn delete(&self, type_name: &str, _state: &Value) -> Result<(), ProviderError> {
        match type_name {
            PASSWORD | ID => Ok(()),
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn import(&self, type_name: &str, _id: &str) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!(
            "{type_name} cannot be imported: its import id would be the secret itself, and would end up in shell history and logs; let Trustform generate a new value, or write the existing one to Vault and read it with a data source"
        )))
    }

    async fn read_data(&self, type_name: &str, _config: &Value) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!("the random provider has no data source {type_name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_provider::NoCheckpoint;

    fn conformed(type_name: &str, config: Value) -> Value {
        let schema = &SCHEMA.resources[type_name];
        trustform_schema::conform(&schema.block, &config).expect("the body fits the schema")
    }

    #[tokio::test]
    async fn a_password_is_generated_once_sensitive_and_read_back_from_state() {
        let provider = RandomProvider::new();
        let planned =
            conformed(PASSWORD, Value::object([("length", Value::from(40)), ("min_special", Value::from(3))]));
        assert!(provider.validate(PASSWORD, &planned).is_empty());
        let planned = provider.plan(PASSWORD, None, planned).unwrap();
        let state = provider.create(PASSWORD, &planned, &NoCheckpoint).await.unwrap();
        let result = state.get("result").unwrap();
        assert!(result.is_sensitive());
        assert_eq!(result.as_str().unwrap().len(), 40);
        assert_eq!(state.get("id"), Some(&Value::from("none")));
        assert!(!format!("{state:?}").contains(result.as_str().unwrap()), "Debug redacts the result");
        assert_eq!(provider.read(PASSWORD, &state).await.unwrap(), Some(state.clone()));
        let again = provider.create(PASSWORD, &planned, &NoCheckpoint).await.unwrap();
        assert_ne!(again.get("result"), state.get("result"));
    }

    #[tokio::test]
    async fn an_id_has_every_encoding_of_the_same_bytes() {
        let provider = RandomProvider::new();
        let planned = conformed(ID, Value::object([("byte_length", Value::from(8)), ("prefix", "gw-".into())]));
        let state = provider.create(ID, &planned, &NoCheckpoint).await.unwrap();
        let hex = state.get("hex").and_then(Value::as_str).unwrap();
        assert!(hex.starts_with("gw-") && hex.len() == 3 + 16, "{hex}");
        let bytes: Vec<u8> = (0..8).map(|i| u8::from_str_radix(&hex[3 + 2 * i..5 + 2 * i], 16).unwrap()).collect();
        let expected = generate::encode_id(&bytes, "gw-");
        assert_eq!(state.get("b64_url").and_then(Value::as_str), Some(expected.b64_url.as_str()));
        assert_eq!(state.get("dec").and_then(Value::as_str), Some(expected.dec.as_str()));
        assert!(["b64_url", "b64_std", "hex", "dec"].iter().all(|k| state.get(k).unwrap().is_sensitive()));
    }

    #[test]
    fn impossible_or_unknown_arguments_are_checked_at_plan_time() {
        let provider = RandomProvider::new();
        let short = conformed(PASSWORD, Value::object([("length", Value::from(2)), ("min_upper", Value::from(3))]));
        let issues = provider.validate(PASSWORD, &short);
        assert_eq!(issues.len(), 1);
        assert!(issues[0].detail.contains("raise length"), "{issues:?}");
        let unknown = conformed(PASSWORD, Value::object([("length", Value::Unknown)]));
        assert!(provider.validate(PASSWORD, &unknown).is_empty());
        let zero = conformed(ID, Value::object([("byte_length", Value::from(0))]));
        assert!(provider.validate(ID, &zero)[0].detail.contains("at least 1"));
        let negative = conformed(ID, Value::object([("byte_length", Value::from(-4))]));
        assert!(provider.validate(ID, &negative)[0].detail.contains("whole number"));
    }

    #[tokio::test]
    async fn import_is_refused_because_the_id_would_be_the_secret() {
        let error = RandomProvider::new().import(PASSWORD, "hunter2-canary").await.unwrap_err();
        assert!(!error.message.contains("hunter2-canary"));
        assert!(error.message.contains("cannot be imported"));
    }
}
