//! `vault_policy`: an ACL policy at `sys/policies/acl/:name`.

use crate::client::{api_path, data, Vault};
use crate::resources::{imported, with_id};
use crate::schema;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use trustform_lang::Value;
use trustform_provider::attrs::text;
use trustform_provider::attrs::{required, with};
use trustform_provider::ProviderError;
use trustform_provider::{Checkpoint, ResourceType, Session};
use trustform_schema::ResourceSchema;

fn path(name: &str) -> String {
    api_path(&["sys/policies/acl", name])
}

pub(crate) async fn put(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let name = required(planned, "name")?;
    let what = format!("vault_policy {name}");
    let policy = required(planned, "policy")?;
    vault.write(&what, Method::PUT, &path(name), &json!({ "policy": policy }), &[]).await?;
    let state = with(planned, [("id", Value::from(name))]);
    crate::resources::written(&what, read(vault, &state).await?)
}

pub(crate) async fn read(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required(state, "id").or_else(|_| required(state, "name"))?;
    let Some(answer) = vault.read(&format!("vault_policy {name}"), &path(name)).await? else { return Ok(None) };
    let policy = data(&answer).get("policy").and_then(|p| p.as_str()).unwrap_or_default();
    Ok(Some(with(state, [("name", Value::from(name)), ("policy", Value::from(policy)), ("id", Value::from(name))])))
}

pub(crate) async fn delete(vault: &Vault, state: &Value) -> Result<(), ProviderError> {
    let name = required(state, "id")?;
    vault.delete(&format!("vault_policy {name}"), &path(name)).await
}

/// `vault_policy`, as the provider serves it.
pub(crate) struct VaultPolicy;

#[async_trait]
impl ResourceType<Vault> for VaultPolicy {
    fn schema(&self) -> ResourceSchema {
        schema::policy()
    }

    /// The id is the name.
    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let id = text(&planned, "name").map(str::to_owned);
        Ok(with_id(planned, id))
    }

    async fn read(&self, session: &Session<Vault>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Vault>,
        planned: &Value,
        _: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        put(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Vault>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        put(session.clients()?, planned).await
    }

    async fn delete(&self, session: &Session<Vault>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Vault>, id: &str) -> Result<Value, ProviderError> {
        let by_id = Value::object([("id", Value::from(id))]);
        imported(schema::POLICY, id, read(session.clients()?, &by_id).await?)
    }
}
