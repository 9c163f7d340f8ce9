//! The built-in `trustform` provider, for wiring without any cloud:
//!
//! * `trustform_data` (Terraform's `terraform_data`) stores `input` and echoes it as `output`;
//!   a change to `triggers_replace` replaces it.
//! * `trustform_sleep` (the time provider's `time_sleep`) waits `create_duration` after create
//!   and `destroy_duration` before delete: the usual answer to IAM propagation delays between
//!   clouds when no API says "ready".

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;
use trustform_lang::{Type, Value};
use trustform_provider::{Checkpoint, Provider, ProviderError, ValidationIssue};
use trustform_schema::{Attribute, Block, ProviderSchema, ResourceSchema};

pub const TRUSTFORM_DATA: &str = "trustform_data";
pub const TRUSTFORM_SLEEP: &str = "trustform_sleep";

static SCHEMA: LazyLock<ProviderSchema> = LazyLock::new(|| {
    ProviderSchema::default()
        .resource(ResourceSchema::new(
            TRUSTFORM_DATA,
            Block::new()
                .attr("input", Attribute::optional(Type::Any).describe("A value to store; echoed as output."))
                .attr("output", Attribute::computed(Type::Any).describe("The input, once applied."))
                .attr(
                    "triggers_replace",
                    Attribute::optional(Type::Any).force_new().describe("Any change replaces the resource."),
                )
                .attr("id", Attribute::computed(Type::String)),
        ))
        .resource(ResourceSchema::new(
            TRUSTFORM_SLEEP,
            Block::new()
                .attr(
                    "create_duration",
                    Attribute::optional(Type::String)
                        .force_new()
                        .describe("How long to wait after create, e.g. \"30s\"."),
                )
                .attr("destroy_duration", Attribute::optional(Type::String).describe("How long to wait before delete."))
                .attr(
                    "triggers",
                    Attribute::optional(Type::map(Type::String))
                        .force_new()
                        .describe("Any change replaces (and waits again)."),
                )
                .attr("id", Attribute::computed(Type::String)),
        ))
});

/// The longest duration Go's `time.Duration` holds (`math.MaxInt64` nanoseconds), which is the
/// time provider's limit too.
const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

/// Parses Go-style durations as the time provider takes them: `500ms`, `30s`, `1m30s`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration; write it like \"500ms\", \"30s\" or \"1m30s\"");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(invalid)?;
        let amount: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        let unit_len = rest[digits..].find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len() - digits);
        let seconds = match &rest[digits..digits + unit_len] {
            "ms" => amount / 1000.0,
            "s" => amount,
            "m" => amount * 60.0,
            "h" => amount * 3600.0,
            _ => return Err(invalid()),
        };
        // Go's time.ParseDuration refuses what does not fit its int64 nanoseconds (about 290
        // years) rather than wrapping; anything this long is a typo, so refuse it here too.
        total = Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|part| total.checked_add(part))
            .filter(|total| *total <= MAX_DURATION)
            .ok_or_else(|| format!("{text:?} is longer than the longest duration, 2562047h (about 292 years)"))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

fn duration_of(value: &Value, attribute: &str) -> Result<Duration, ProviderError> {
    match value.get(attribute).and_then(Value::as_str) {
        Some(text) => parse_duration(text).map_err(ProviderError::invalid),
        None => Ok(Duration::ZERO),
    }
}

/// The provider behind `trustform_data`; state lives only in Trustform's state.
#[derive(Debug, Default)]
pub struct BuiltinProvider;

impl BuiltinProvider {
    fn check(type_name: &str) -> Result<(), ProviderError> {
        if type_name == TRUSTFORM_DATA || type_name == TRUSTFORM_SLEEP {
            Ok(())
        } else {
            Err(ProviderError::invalid(format!("the trustform provider has no resource type {type_name:?}")))
        }
    }

    fn with_output(planned: &Value, id: String) -> Value {
        let mut map = planned.as_object().cloned().unwrap_or_default();
        map.insert("output".into(), map.get("input").cloned().unwrap_or(Value::Null));
        map.insert("id".into(), Value::String(id));
        Value::Object(map)
    }
}

#[async_trait]
impl Provider for BuiltinProvider {
    fn name(&self) -> &str {
        "trustform"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, _config: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        if type_name != TRUSTFORM_SLEEP {
            return Vec::new();
        }
        ["create_duration", "destroy_duration"]
            .into_iter()
            .filter_map(|attribute| {
                let text = config.get(attribute)?.as_str()?;
                let problem = parse_duration(text).err()?;
                Some(ValidationIssue {
                    attribute: attribute.into(),
                    summary: "Invalid duration".into(),
                    detail: format!("{problem}."),
                    is_error: true,
                })
            })
            .collect()
    }

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        if type_name == TRUSTFORM_SLEEP {
            return Ok(planned);
        }
        // As Terraform's terraform_data (internal/builtin/providers/terraform/resource_data.go):
        // a new or changed input makes `output` unknown until apply (a null input stays
        // null on create), so dependents cannot use it where a known value is required, such
        // as for_each; an unchanged input keeps the prior output.
        let input_is_null = planned.get("input").is_none_or(Value::is_null);
        let id = prior.and_then(|p| p.get("id")).cloned().unwrap_or(Value::Unknown);
        let unchanged = |name: &str| {
            prior.is_some_and(|p| {
                p.get(name).unwrap_or(&Value::Null).eq_ignoring_marks(planned.get(name).unwrap_or(&Value::Null))
            })
        };
        let output = match prior {
            Some(p) if unchanged("input") && unchanged("triggers_replace") => {
                p.get("output").cloned().unwrap_or(Value::Null)
            }
            _ if input_is_null => Value::Null,
            _ => Value::Unknown,
        };
        let mut map = match planned {
            Value::Object(map) => map,
            _ => BTreeMap::new(),
        };
        map.insert("output".into(), output);
        map.insert("id".into(), id);
        Ok(Value::Object(map))
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        Self::check(type_name)?;
        Ok(Some(state.clone()))
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        let id = uuid::Uuid::new_v4().to_string();
        if type_name == TRUSTFORM_SLEEP {
            tokio::time::sleep(duration_of(planned, "create_duration")?).await;
            let mut map = planned.as_object().cloned().unwrap_or_default();
            map.insert("id".into(), Value::String(id));
            return Ok(Value::Object(map));
        }
        Ok(Self::with_output(planned, id))
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        let id = prior.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        if type_name == TRUSTFORM_SLEEP {
            let mut map = planned.as_object().cloned().unwrap_or_default();
            map.insert("id".into(), Value::String(id));
            return Ok(Value::Object(map));
        }
        Ok(Self::with_output(planned, id))
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        Self::check(type_name)?;
        if type_name == TRUSTFORM_SLEEP {
            tokio::time::sleep(duration_of(state, "destroy_duration")?).await;
        }
        Ok(())
    }

    async fn import(&self, type_name: &str, _id: &str) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        Err(ProviderError::invalid(format!(
            "{type_name} lives only in state and cannot be imported; declare it and apply instead"
        )))
    }

    async fn read_data(&self, type_name: &str, _config: &Value) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!("the trustform provider has no data source {type_name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_the_time_provider() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "10", "5 minutes", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_too_long_for_go_are_refused_not_a_panic() {
        assert_eq!(parse_duration("2562047h"), Ok(Duration::from_secs(2_562_047 * 3600)));
        for huge in ["99999999999999999999999h", "2562048h", "2562047h2562047h", "1e400s", "184467440737095516160s"] {
            let error = parse_duration(huge).unwrap_err();
            assert!(
                error.contains("longer than the longest duration") || error.contains("not a duration"),
                "{huge}: {error}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sleep_waits_after_create() {
        let provider = BuiltinProvider;
        let planned = Value::object([
            ("create_duration", Value::from("30s")),
            ("destroy_duration", Value::Null),
            ("triggers", Value::Null),
            ("id", Value::Null),
        ]);
        let started = tokio::time::Instant::now();
        let state = provider.create(TRUSTFORM_SLEEP, &planned, &trustform_provider::NoCheckpoint).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert!(state.get("id").and_then(Value::as_str).is_some());
    }
}
