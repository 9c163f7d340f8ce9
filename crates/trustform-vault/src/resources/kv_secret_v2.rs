//! `vault_kv_secret_v2`: a secret in a KV v2 mount, written as a new version at
//! `:mount/data/:name` and read back from the current version, so a value changed in Vault
//! shows up as a change to `data_json` and the next apply writes the spec's value again.
//!
//! `data_json` is sensitive; every string of it is redacted from error messages, and the read
//! keeps the user's spelling of the JSON whenever Vault holds the same document.

use crate::client::{api_path, data, Vault};
use crate::resources::slashes;
use crate::resources::{flag, number, string_map, written};
use crate::schema;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Map, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::{required, split_id, string_map as arg_map, text, with};
use trustform_provider::DataSource;
use trustform_provider::ProviderError;
use trustform_provider::{Checkpoint, ResourceType, Session, ValidationIssue};
use trustform_schema::json_documents_equal;
use trustform_schema::ResourceSchema;

fn what(mount: &str, name: &str) -> String {
    format!("vault_kv_secret_v2 {mount}/data/{name}")
}

pub(crate) fn id(mount: &str, name: &str) -> String {
    format!("{}/data/{}", mount.trim_matches('/'), name.trim_matches('/'))
}

/// `data_json` as a JSON object; the error never quotes the document.
fn document(planned: &Value) -> Result<Map<String, Json>, String> {
    let text = text(planned, "data_json").unwrap_or_default();
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "data_json must be a JSON object (KV v2 stores key/value pairs), not {}; write it as jsonencode({{ key = value }}).",
            match other {
                Json::Array(_) => "an array",
                Json::String(_) => "a string",
                Json::Number(_) => "a number",
                Json::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(e) => Err(format!(
            "data_json is not valid JSON (line {}, column {}); build it with jsonencode({{ key = value }}).",
            e.line(),
            e.column()
        )),
    }
}

/// Every string inside the secret, to keep out of error messages.
fn secrets(planned: &Value, document: &Map<String, Json>) -> Vec<String> {
    fn collect(json: &Json, out: &mut Vec<String>) {
        match json {
            Json::String(text) => out.push(text.clone()),
            Json::Array(items) => items.iter().for_each(|item| collect(item, out)),
            Json::Object(map) => map.values().for_each(|item| collect(item, out)),
            Json::Number(n) => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut out: Vec<String> = text(planned, "data_json").map(str::to_owned).into_iter().collect();
    document.values().for_each(|value| collect(value, &mut out));
    out
}

pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let known = config.get("data_json").is_some_and(|v| !v.is_unknown() && !v.is_null());
    match known.then(|| document(config)) {
        Some(Err(detail)) => vec![ValidationIssue {
            attribute: "data_json".into(),
            summary: "Invalid secret data".into(),
            detail,
            is_error: true,
        }],
        _ => Vec::new(),
    }
}

/// Writes `data_json` as a new version (create and update alike).
pub(crate) async fn write(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let (mount, name) = (required(planned, "mount")?, required(planned, "name")?);
    let document = document(planned).map_err(ProviderError::invalid)?;
    let secrets = secrets(planned, &document);
    let mut options: Map<String, Json> = arg_map(planned, "options").into_iter().map(|(k, v)| (k, json!(v))).collect();
    if let Some(cas) = number(planned, "cas") {
        options.insert("cas".into(), json!(cas));
    }
    let data_map = string_map(&document);
    let mut body = json!({ "data": Json::Object(document) });
    if !options.is_empty() {
        body["options"] = Json::Object(options);
    }
    let what = what(mount, name);
    let answer = vault.write(&what, Method::POST, &api_path(&[mount, "data", name]), &body, &secrets).await?;
    let id = id(mount, name);
    let state = with(planned, [("id", Value::string(id.clone()))]);
    if flag(planned, "disable_read") {
        // No read back: the write's answer is the new version's metadata.
        let metadata = answer.as_ref().map(data).and_then(Json::as_object).map(metadata_map).unwrap_or_default();
        return Ok(with(&state, [("path", Value::String(id)), ("data", data_map.sensitive()), ("metadata", metadata)]));
    }
    written(&what, read(vault, &state).await?)
}

/// A version's metadata as the `metadata` map: created and deletion times, destroyed, version.
fn metadata_map(metadata: &Map<String, Json>) -> Value {
    let mut metadata = metadata.clone();
    metadata.remove("custom_metadata");
    string_map(&metadata)
}

pub(crate) async fn read(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (mount, name) = match (text(state, "mount"), text(state, "name")) {
        (Some(mount), Some(name)) => (mount.to_owned(), name.to_owned()),
        _ => {
            let id = required(state, "id")?;
            let (mount, name) = split_id(id, '/', "`<mount>/data/<name>`")?;
            let name = name.strip_prefix("data/").unwrap_or(name);
            (mount.to_owned(), name.to_owned())
        }
    };
    // `disable_read` (for tokens that may write but not read): the state is all there is.
    if flag(state, "disable_read") && text(state, "data_json").is_some() {
        return Ok(Some(state.clone()));
    }
    let Some(answer) = vault.read(&what(&mount, &name), &api_path(&[&mount, "data", &name])).await? else {
        return Ok(None);
    };
    let version = data(&answer);
    // A soft-deleted or destroyed current version answers 404 (handled above) or null data.
    let Some(document) = version.get("data").and_then(Json::as_object) else { return Ok(None) };
    let metadata = version.get("metadata").and_then(Json::as_object).map(metadata_map);
    let held = Json::Object(document.clone()).to_string();
    let data_json = match text(state, "data_json") {
        Some(prior) if json_documents_equal(prior, &held) => prior.to_owned(),
        _ => held,
    };
    let data = string_map(document);
    let id = id(&mount, &name);
    Ok(Some(with(
        state,
        [
            ("mount", Value::from(mount.as_str())),
            ("name", Value::from(name.as_str())),
            ("data_json", Value::String(data_json).sensitive()),
            ("data", data.sensitive()),
            ("metadata", metadata.unwrap_or_default()),
            ("path", Value::string(id.clone())),
            ("id", Value::String(id)),
            (
                "delete_all_versions",
                Value::Bool(state.get("delete_all_versions").and_then(Value::as_bool).unwrap_or(false)),
            ),
            ("disable_read", Value::Bool(flag(state, "disable_read"))),
        ],
    )))
}

/// Soft-deletes the current version, or with `delete_all_versions` removes every version and
/// the metadata (`DELETE :mount/metadata/:name`).
pub(crate) async fn delete(vault: &Vault, state: &Value) -> Result<(), ProviderError> {
    let (mount, name) = (required(state, "mount")?, required(state, "name")?);
    let kind = if flag(state, "delete_all_versions") { "metadata" } else { "data" };
    vault.delete(&what(mount, name), &api_path(&[mount, kind, name])).await
}

pub(crate) async fn import(vault: &Vault, id: &str) -> Result<Value, ProviderError> {
    let Some((mount, name)) = id.split_once("/data/").filter(|(m, n)| !m.is_empty() && !n.is_empty()) else {
        return Err(ProviderError::invalid(format!("{id:?} is not a valid id; expected `<mount>/data/<name>`")));
    };
    let state = Value::object([("mount", Value::from(mount)), ("name", Value::from(name))]);
    read(vault, &state).await?.ok_or_else(|| ProviderError::not_found(format!("no secret at {id}")))
}

/// The `vault_kv_secret_v2` data source: the current (or the given) version.
pub(crate) async fn read_data(vault: &Vault, config: &Value) -> Result<Value, ProviderError> {
    let (mount, name) = (required(config, "mount")?, required(config, "name")?);
    let mut path = api_path(&[mount, "data", name]);
    if let Some(version) = number(config, "version") {
        path.push_str(&format!("?version={version}"));
    }
    let what = what(mount, name);
    let answer = vault.read(&what, &path).await?.ok_or_else(|| {
        ProviderError::not_found(format!("{what}: no secret there (or its version is deleted); write it first"))
    })?;
    let version = data(&answer);
    let document = version.get("data").and_then(Json::as_object).cloned().unwrap_or_default();
    let metadata = version.get("metadata").cloned().unwrap_or(Json::Null);
    let field = |name: &str| metadata.get(name).and_then(Json::as_str).map_or(Value::Null, Value::from);
    let custom = metadata.get("custom_metadata").and_then(Json::as_object).map(string_map).unwrap_or(Value::Null);
    let id = id(mount, name);
    Ok(with(
        config,
        [
            ("data_json", Value::String(Json::Object(document.clone()).to_string()).sensitive()),
            ("data", string_map(&document).sensitive()),
            ("path", Value::string(id.clone())),
            ("created_time", field("created_time")),
            ("deletion_time", field("deletion_time")),
            ("destroyed", Value::Bool(metadata.get("destroyed").and_then(Json::as_bool).unwrap_or(false))),
            ("custom_metadata", custom),
            ("id", Value::String(id)),
        ],
    ))
}

/// `vault_kv_secret_v2`, as the provider serves it.
pub(crate) struct VaultKvSecretV2;

#[async_trait]
impl ResourceType<Vault> for VaultKvSecretV2 {
    fn schema(&self) -> ResourceSchema {
        schema::kv_secret_v2()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        [slashes(config, &["mount", "name"]), validate(config)].concat()
    }

    /// The path and id follow from mount and name.
    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match text(&planned, "mount").zip(text(&planned, "name")) {
            Some((mount, name)) => {
                let id = id(mount, name);
                with(&planned, [("path", Value::string(id.clone())), ("id", Value::String(id))])
            }
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
        write(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Vault>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        write(session.clients()?, planned).await
    }

    async fn delete(&self, session: &Session<Vault>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Vault>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, id).await
    }
}

/// `data "vault_kv_secret_v2"`.
pub(crate) struct VaultKvSecretV2Data;

#[async_trait]
impl DataSource<Vault> for VaultKvSecretV2Data {
    fn schema(&self) -> ResourceSchema {
        schema::kv_secret_v2_data()
    }

    async fn read_data(&self, session: &Session<Vault>, config: &Value) -> Result<Value, ProviderError> {
        read_data(session.clients()?, config).await
    }
}
