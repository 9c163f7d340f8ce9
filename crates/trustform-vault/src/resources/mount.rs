//! `vault_mount`: a secrets engine at `sys/mounts/:path` (KV v2 is `type = "kv"` with
//! `options = { version = "2" }`). Changes to the description, lease TTLs and options are
//! made in place with `sys/mounts/:path/tune`; a new path or type is a new mount.

use crate::client::{api_path, data, Vault};
use crate::resources::{arg, flag, number, read_back, written};
use crate::resources::{imported, slashes, with_id};
use crate::schema;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Map, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::{required, text, with};
use trustform_provider::ProviderError;
use trustform_provider::{Checkpoint, ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

fn what(path: &str) -> String {
    format!("vault_mount {path}")
}

fn lease_config(planned: &Value) -> Json {
    let mut config = Map::new();
    if let Some(ttl) = number(planned, "default_lease_ttl_seconds") {
        config.insert("default_lease_ttl".into(), json!(ttl));
    }
    if let Some(ttl) = number(planned, "max_lease_ttl_seconds") {
        config.insert("max_lease_ttl".into(), json!(ttl));
    }
    Json::Object(config)
}

pub(crate) async fn create(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let path = required(planned, "path")?;
    let mut body = json!({
        "type": required(planned, "type")?,
        "description": arg(planned, "description").unwrap_or(json!("")),
        "config": lease_config(planned),
        "local": flag(planned, "local"),
        "external_entropy_access": flag(planned, "external_entropy_access"),
    });
    if let Some(options) = arg(planned, "options") {
        body["options"] = options;
    }
    if let Some(seal_wrap) = planned.get("seal_wrap").and_then(Value::as_bool) {
        body["seal_wrap"] = json!(seal_wrap);
    }
    vault.write(&what(path), Method::POST, &api_path(&["sys/mounts", path]), &body, &[]).await?;
    written(&what(path), read(vault, &with(planned, [("id", Value::from(path))])).await?)
}

pub(crate) async fn update(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let path = required(planned, "path")?;
    let mut body = lease_config(planned);
    body["description"] = arg(planned, "description").unwrap_or(json!(""));
    if let Some(options) = arg(planned, "options") {
        body["options"] = options;
    }
    vault.write(&what(path), Method::POST, &api_path(&["sys/mounts", path, "tune"]), &body, &[]).await?;
    written(&what(path), read(vault, &with(planned, [("id", Value::from(path))])).await?)
}

pub(crate) async fn read(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let path = required(state, "id")?;
    let Some(answer) = vault.read(&what(path), &api_path(&["sys/mounts", path])).await? else { return Ok(None) };
    let mount = data(&answer);
    let config = mount.get("config");
    let ttl = |name: &str| config.and_then(|c| c.get(name)).and_then(Json::as_i64).map_or(Value::Null, Value::from);
    Ok(Some(with(
        state,
        [
            ("path", Value::from(path)),
            ("type", read_back(state, "type", mount.get("type"))),
            ("description", read_back(state, "description", mount.get("description"))),
            ("default_lease_ttl_seconds", ttl("default_lease_ttl")),
            ("max_lease_ttl_seconds", ttl("max_lease_ttl")),
            ("options", read_back(state, "options", mount.get("options"))),
            ("local", Value::Bool(mount.get("local").and_then(Json::as_bool).unwrap_or(false))),
            ("seal_wrap", Value::Bool(mount.get("seal_wrap").and_then(Json::as_bool).unwrap_or(false))),
            (
                "external_entropy_access",
                Value::Bool(mount.get("external_entropy_access").and_then(Json::as_bool).unwrap_or(false)),
            ),
            ("accessor", read_back(state, "accessor", mount.get("accessor"))),
            ("id", Value::from(path)),
        ],
    )))
}

pub(crate) async fn delete(vault: &Vault, state: &Value) -> Result<(), ProviderError> {
    let path = required(state, "id")?;
    vault.delete(&what(path), &api_path(&["sys/mounts", path])).await
}

/// `vault_mount`, as the provider serves it.
pub(crate) struct VaultMount;

#[async_trait]
impl ResourceType<Vault> for VaultMount {
    fn schema(&self) -> ResourceSchema {
        schema::mount()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        slashes(config, &["path"])
    }

    /// The id is the path.
    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let id = text(&planned, "path").map(str::to_owned);
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
        imported(schema::MOUNT, id, read(session.clients()?, &by_id).await?)
    }
}
