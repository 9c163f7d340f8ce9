//! `vault_policy`: an ACL policy at `sys/policies/acl/:name`.

use crate::client::{api_path, data, Vault};
use reqwest::Method;
use serde_json::json;
use trustform_lang::Value;
use trustform_provider::attrs::{required, with};
use trustform_provider::ProviderError;

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
