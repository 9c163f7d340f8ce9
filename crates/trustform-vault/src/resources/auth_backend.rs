//! `vault_auth_backend`: an auth method at `sys/auth/:path` (the path defaults to the type).
//! The description changes in place through `sys/auth/:path/tune`.

use crate::client::{api_path, data, Vault};
use crate::resources::{arg, flag, read_back, written};
use crate::resources::{imported, slashes};
use crate::schema;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::text;
use trustform_provider::attrs::{required, with};
use trustform_provider::ProviderError;
use trustform_provider::{Checkpoint, ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

fn what(path: &str) -> String {
    format!("vault_auth_backend {path}")
}

pub(crate) async fn create(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let path = required(planned, "path")?;
    let body = json!({
        "type": required(planned, "type")?,
        "description": arg(planned, "description").unwrap_or(json!("")),
        "local": flag(planned, "local"),
    });
    vault.write(&what(path), Method::POST, &api_path(&["sys/auth", path]), &body, &[]).await?;
    written(&what(path), read(vault, &with(planned, [("id", Value::from(path))])).await?)
}

pub(crate) async fn update(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let path = required(planned, "path")?;
    let body = json!({ "description": arg(planned, "description").unwrap_or(json!("")) });
    vault.write(&what(path), Method::POST, &api_path(&["sys/auth", path, "tune"]), &body, &[]).await?;
    written(&what(path), read(vault, &with(planned, [("id", Value::from(path))])).await?)
}

pub(crate) async fn read(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let path = required(state, "id")?;
    let Some(answer) = vault.read(&what(path), &api_path(&["sys/auth", path])).await? else { return Ok(None) };
    let method = data(&answer);
    let disable_remount = state.get("disable_remount").and_then(Value::as_bool).unwrap_or(false);
    Ok(Some(with(
        state,
        [
            ("path", Value::from(path)),
            ("type", read_back(state, "type", method.get("type"))),
            ("description", read_back(state, "description", method.get("description"))),
            ("local", Value::Bool(method.get("local").and_then(Json::as_bool).unwrap_or(false))),
            ("disable_remount", Value::Bool(disable_remount)),
            ("accessor", read_back(state, "accessor", method.get("accessor"))),
            ("id", Value::from(path)),
        ],
    )))
}

pub(crate) async fn delete(vault: &Vault, state: &Value) -> Result<(), ProviderError> {
    let path = required(state, "id")?;
    vault.delete(&what(path), &api_path(&["sys/auth", path])).await
}

/// `vault_auth_backend`, as the provider serves it.
pub(crate) struct VaultAuthBackend;

#[async_trait]
impl ResourceType<Vault> for VaultAuthBackend {
    fn schema(&self) -> ResourceSchema {
        schema::auth_backend()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        slashes(config, &["path"])
    }

    /// The path defaults to the type, and the id is the path. The engine hands the
    /// configuration over before it fills computed attributes, so an unset path is null or
    /// unknown here.
    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let unset = planned.get("path").is_none_or(|path| path.is_null() || path.is_unknown());
        let path = if unset { text(&planned, "type") } else { text(&planned, "path") };
        Ok(match path.map(str::to_owned) {
            Some(path) => with(&planned, [("path", Value::string(path.clone())), ("id", Value::String(path))]),
            None => planned,
        })
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
        create(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Vault>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(session.clients()?, planned).await
    }

    async fn delete(&self, session: &Session<Vault>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Vault>, id: &str) -> Result<Value, ProviderError> {
        let by_id = Value::object([("id", Value::from(id))]);
        imported(schema::AUTH_BACKEND, id, read(session.clients()?, &by_id).await?)
    }
}
