//! [`RandomProvider`]: results are generated on create and only ever read back from the state.
//! Each type is a `ResourceType` of the table-driven provider.

use crate::generate::{self, PasswordParams};
use crate::schema::{self, PASSWORD};
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::attrs::{text, with};
use trustform_provider::{
    Adapter, Checkpoint, ProviderError, Registry, ResourceType, RetryPolicy, Session, TableProvider, ValidationIssue,
};
use trustform_schema::{Block, ResourceSchema};

/// The `random` provider. It needs no configuration and makes no network call.
pub type RandomProvider = TableProvider<Random>;

/// The id of every random resource: a constant, because ids are printed.
const ID_VALUE: &str = "none";

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

/// The random adapter, as [`TableProvider`] runs it: it has no clients, so `configure` only
/// accepts the (empty) block.
#[derive(Debug, Default)]
pub struct Random;

#[async_trait]
impl Adapter for Random {
    type Clients = ();
    const NAME: &'static str = "random";

    fn provider_block() -> Block {
        Block::new()
    }

    fn register(types: &mut Registry<()>) {
        types.resource(RandomPassword).resource(RandomId);
    }

    async fn configure(&self, _config: &Value, _: &RetryPolicy) -> Result<(), ProviderError> {
        Ok(())
    }
}

fn randomness_failed(error: generate::RandomnessUnavailable) -> ProviderError {
    ProviderError::transient(error.to_string())
}

/// Import is refused for every random type: the id would be the secret itself.
fn no_import(type_name: &str) -> ProviderError {
    ProviderError::invalid(format!(
        "{type_name} cannot be imported: its import id would be the secret itself, and would end up in shell history and logs; let Trustform generate a new value, or write the existing one to Vault and read it with a data source"
    ))
}

/// Every argument forces replacement, so an update only carries the results over.
fn carried_over(prior: &Value, planned: &Value, results: &[&'static str]) -> Value {
    with(planned, results.iter().map(|name| (*name, prior.get(name).cloned().unwrap_or_default())))
}

/// `random_password`.
struct RandomPassword;

#[async_trait]
impl ResourceType<()> for RandomPassword {
    fn schema(&self) -> ResourceSchema {
        schema::password()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        match password_params(config) {
            Err(detail) => vec![issue("length", detail)],
            Ok(Some(params)) => params.problem().map(|detail| issue("length", detail)).into_iter().collect(),
            Ok(None) => Vec::new(),
        }
    }

    fn plan(&self, _: &Session<()>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(with(&planned, [("id", Value::from(ID_VALUE))]))
    }

    /// A generated value lives only in the state: reading it is reading the state.
    async fn read(&self, _: &Session<()>, state: &Value) -> Result<Option<Value>, ProviderError> {
        Ok(Some(state.clone()))
    }

    async fn create(&self, _: &Session<()>, planned: &Value, _: &dyn Checkpoint) -> Result<Value, ProviderError> {
        let params = password_params(planned)
            .map_err(ProviderError::invalid)?
            .ok_or_else(|| ProviderError::invalid("random_password was given an unknown argument"))?;
        if let Some(problem) = params.problem() {
            return Err(ProviderError::invalid(problem));
        }
        let result = generate::password(&params).map_err(randomness_failed)?;
        Ok(with(planned, [("result", Value::String(result).sensitive()), ("id", Value::from(ID_VALUE))]))
    }

    async fn update(&self, _: &Session<()>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Ok(carried_over(prior, planned, &["result", "id"]))
    }

    async fn delete(&self, _: &Session<()>, _state: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn import(&self, _: &Session<()>, _id: &str) -> Result<Value, ProviderError> {
        Err(no_import(PASSWORD))
    }
}

/// `random_id`.
struct RandomId;

#[async_trait]
impl ResourceType<()> for RandomId {
    fn schema(&self) -> ResourceSchema {
        schema::id()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        byte_length(config).err().map(|detail| issue("byte_length", detail)).into_iter().collect()
    }

    /// The id is the generated bytes (Terraform's `random_id`): known once created.
    fn plan(&self, _: &Session<()>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(planned)
    }

    /// A generated value lives only in the state: reading it is reading the state.
    async fn read(&self, _: &Session<()>, state: &Value) -> Result<Option<Value>, ProviderError> {
        Ok(Some(state.clone()))
    }

    async fn create(&self, _: &Session<()>, planned: &Value, _: &dyn Checkpoint) -> Result<Value, ProviderError> {
        let length = byte_length(planned)
            .map_err(ProviderError::invalid)?
            .ok_or_else(|| ProviderError::invalid("random_id was given an unknown byte_length"))?;
        let prefix = text(planned, "prefix").unwrap_or_default();
        let ids = generate::id(length, prefix).map_err(randomness_failed)?;
        Ok(id_state(planned, prefix, ids))
    }

    async fn update(&self, _: &Session<()>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Ok(carried_over(prior, planned, &["b64_url", "b64_std", "hex", "dec", "id"]))
    }

    async fn delete(&self, _: &Session<()>, _state: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// `trustform import random_id.x ID` or `PREFIX,ID`, as Terraform's random provider reads
    /// it (`ImportState` in `internal/provider/resource_id.go`: the prefix is everything before
    /// the last comma, the id URL-safe base64 without padding).
    async fn import(&self, _: &Session<()>, id: &str) -> Result<Value, ProviderError> {
        use base64::Engine as _;
        let (prefix, encoded) = id.rsplit_once(',').unwrap_or(("", id));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).map_err(|e| {
            ProviderError::invalid(format!(
                "the random_id import id {encoded:?} is not URL-safe base64 without padding ({e}); give the id attribute, or PREFIX,ID when the id has a prefix"
            ))
        })?;
        if bytes.is_empty() {
            return Err(ProviderError::invalid("the random_id import id is empty; give the id attribute"));
        }
        let planned = Value::object([
            ("byte_length", Value::from(bytes.len() as i64)),
            ("keepers", Value::Null),
            ("prefix", if prefix.is_empty() { Value::Null } else { Value::from(prefix) }),
        ]);
        Ok(id_state(&planned, prefix, generate::encode_id(&bytes, prefix)))
    }
}

/// A `random_id`'s state: its arguments and every encoding of its bytes, the id without the
/// prefix (Terraform's). None is sensitive: an id names things, it guards nothing.
fn id_state(planned: &Value, prefix: &str, ids: generate::IdEncodings) -> Value {
    let id = ids.b64_url.strip_prefix(prefix).unwrap_or(&ids.b64_url).to_owned();
    with(
        planned,
        [
            ("b64_url", Value::String(ids.b64_url)),
            ("b64_std", Value::String(ids.b64_std)),
            ("hex", Value::String(ids.hex)),
            ("dec", Value::String(ids.dec)),
            ("id", Value::String(id)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ID;
    use trustform_provider::{NoCheckpoint, Provider};

    fn conformed(type_name: &str, config: Value) -> Value {
        let provider = RandomProvider::new();
        let schema = &provider.schema().resources[type_name];
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
        // Identifiers, not secrets, as Terraform's random_id has them; the id is the bytes
        // without the prefix.
        assert!(["b64_url", "b64_std", "hex", "dec", "id"].iter().all(|k| !state.get(k).unwrap().is_sensitive()));
        assert_eq!(state.get("id").and_then(Value::as_str), expected.b64_url.strip_prefix("gw-"));
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

    /// Terraform's documented imports (the random provider's docs for `random_id`):
    /// `terraform import random_id.server p-9hUg` and, with a prefix, `my-prefix-,p-9hUg`.
    #[tokio::test]
    async fn an_id_imports_from_its_id_as_terraform_documents_it() {
        let provider = RandomProvider::new();
        let plain = provider.import(ID, "p-9hUg").await.unwrap();
        assert_eq!(plain.get("hex").and_then(Value::as_str), Some("a7ef6152"));
        assert_eq!(plain.get("dec").and_then(Value::as_str), Some("2817483090"));
        assert_eq!(plain.get("id").and_then(Value::as_str), Some("p-9hUg"));
        assert_eq!(plain.get("byte_length"), Some(&Value::from(4)));
        assert!(plain.get("prefix").is_some_and(Value::is_null));
        let prefixed = provider.import(ID, "my-prefix-,p-9hUg").await.unwrap();
        assert_eq!(prefixed.get("b64_url").and_then(Value::as_str), Some("my-prefix-p-9hUg"));
        assert_eq!(prefixed.get("id").and_then(Value::as_str), Some("p-9hUg"));
        assert_eq!(prefixed.get("prefix").and_then(Value::as_str), Some("my-prefix-"));
        let bad = provider.import(ID, "p+9hUg==").await.unwrap_err();
        assert!(bad.message.contains("URL-safe base64"), "{bad}");
    }

    #[tokio::test]
    async fn import_is_refused_because_the_id_would_be_the_secret() {
        let error = RandomProvider::new().import(PASSWORD, "hunter2-canary").await.unwrap_err();
        assert!(!error.message.contains("hunter2-canary"));
        assert!(error.message.contains("cannot be imported"));
    }
}
