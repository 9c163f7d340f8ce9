//! `vault_auth_backend`: an auth method at `sys/auth/:path` (the path defaults to the type).
//! The description changes in place through `sys/auth/:path/tune`.

use crate::client::{api_path, data, Vault};
use crate::resources::{arg, flag, read_back, written};
use reqwest::Method;
use serde_json::{json, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::{required, with};
use trustform_provider::ProviderError;

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
