//! The built-in `trustform` provider: `trustform_data`, Terraform's `terraform_data`. It stores
//! `input` and echoes it as `output`; a change to `triggers_replace` replaces it. A spec can wire
//! and trigger things with it without any cloud.

use async_trait::async_trait;
use std::sync::LazyLock;
use trustform_lang::{Type, Value};
use trustform_provider::{Checkpoint, Provider, ProviderError};
use trustform_schema::{Attribute, Block, ProviderSchema, ResourceSchema};

pub const TRUSTFORM_DATA: &str = "trustform_data";

static SCHEMA: LazyLock<ProviderSchema> = LazyLock::new(|| {
    ProviderSchema::default().resource(ResourceSchema::new(
        TRUSTFORM_DATA,
        Block::new()
            .attr("input", Attribute::optional(Type::Any).describe("A value to store; echoed as output."))
            .attr("output", Attribute::computed(Type::Any).describe("The input, once applied."))
            .attr("triggers_replace", Attribute::optional(Type::Any).force_new().describe("Any change replaces the resource."))
            .attr("id", Attribute::computed(Type::String)),
    ))
});

/// The provider behind `trustform_data`; state lives only in Trustform's state.
#[derive(Debug, Default)]
pub struct BuiltinProvider;

impl BuiltinProvider {
    fn check(type_name: &str) -> Result<(), ProviderError> {
        if type_name == TRUSTFORM_DATA {
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

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        // `output` follows `input` as soon as the input is known, so dependents see it at plan.
        let input = planned.get("input").cloned().unwrap_or(Value::Null);
        let id = prior.and_then(|p| p.get("id")).cloned().unwrap_or(Value::Unknown);
        let mut map = planned.as_object().cloned().unwrap_or_default();
        map.insert("output".into(), input);
        map.insert("id".into(), id);
        Ok(Value::Object(map))
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        Self::check(type_name)?;
        Ok(Some(state.clone()))
    }

    async fn create(&self, type_name: &str, planned: &Value, _checkpoint: &dyn Checkpoint) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        Ok(Self::with_output(planned, uuid::Uuid::new_v4().to_string()))
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        let id = prior.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Self::with_output(planned, id))
    }

    async fn delete(&self, type_name: &str, _state: &Value) -> Result<(), ProviderError> {
        Self::check(type_name)
    }

    async fn import(&self, type_name: &str, _id: &str) -> Result<Value, ProviderError> {
        Self::check(type_name)?;
        Err(ProviderError::invalid("trustform_data lives only in state and cannot be imported; declare it and apply instead"))
    }

    async fn read_data(&self, type_name: &str, _config: &Value) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!("the trustform provider has no data source {type_name:?}")))
    }
}
