//! The Kubernetes auth method's configuration (`auth/:backend/config`: the cluster's API
//! server, CA and service-account token issuer) and its roles (`auth/:backend/role/:name`:
//! which service accounts in which namespaces get which policies).
//!
//! Vault has no delete for the configuration: destroying it forgets it, and it goes with its
//! auth method (as the Terraform provider does). `token_reviewer_jwt` is never read back.

use crate::client::{api_path, data, Vault};
use crate::resources::{body, read_back, string_set, written};
use crate::resources::{slashes, with_id};
use crate::schema;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value as Json;
use trustform_lang::Value;
use trustform_provider::attrs::{required, text, with};
use trustform_provider::ProviderError;
use trustform_provider::{Checkpoint, ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

const CONFIG_FIELDS: &[&str] = &[
    "kubernetes_host",
    "kubernetes_ca_cert",
    "token_reviewer_jwt",
    "pem_keys",
    "issuer",
    "disable_iss_validation",
    "disable_local_ca_jwt",
];

const ROLE_FIELDS: &[&str] = &[
    "bound_service_account_names",
    "bound_service_account_namespaces",
    "bound_service_account_namespace_selector",
    "audience",
    "alias_name_source",
    "token_policies",
    "token_bound_cidrs",
    "token_ttl",
    "token_max_ttl",
    "token_explicit_max_ttl",
    "token_period",
    "token_num_uses",
    "token_no_default_policy",
    "token_type",
];

fn backend(value: &Value) -> &str {
    text(value, "backend").unwrap_or("kubernetes")
}

pub(crate) fn config_id(backend: &str) -> String {
    format!("auth/{}/config", backend.trim_matches('/'))
}

pub(crate) fn role_id(backend: &str, role: &str) -> String {
    format!("auth/{}/role/{role}", backend.trim_matches('/'))
}

/// `auth/<backend>/config` or `auth/<backend>/role/<name>` split into its backend (and role).
fn parse_id<'i>(id: &'i str, kind: &str) -> Option<(&'i str, &'i str)> {
    let rest = id.strip_prefix("auth/")?;
    if kind == "config" {
        return rest.strip_suffix("/config").filter(|b| !b.is_empty()).map(|b| (b, ""));
    }
    let (backend, role) = rest.rsplit_once("/role/")?;
    (!backend.is_empty() && !role.is_empty()).then_some((backend, role))
}

pub(crate) async fn write_config(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let backend = backend(planned);
    let what = format!("vault_kubernetes_auth_backend_config auth/{backend}");
    let secrets: Vec<String> = text(planned, "token_reviewer_jwt").map(str::to_owned).into_iter().collect();
    let body = body(planned, CONFIG_FIELDS);
    vault.write(&what, Method::POST, &api_path(&["auth", backend, "config"]), &body, &secrets).await?;
    let state = with(planned, [("id", Value::string(config_id(backend)))]);
    written(&what, read_config(vault, &state).await?)
}

pub(crate) async fn read_config(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required(state, "id")?;
    let (backend, _) = parse_id(id, "config")
        .ok_or_else(|| ProviderError::invalid(format!("{id:?} is not a valid id; expected `auth/<backend>/config`")))?;
    let what = format!("vault_kubernetes_auth_backend_config auth/{backend}");
    let Some(answer) = vault.read(&what, &api_path(&["auth", backend, "config"])).await? else { return Ok(None) };
    let config = data(&answer);
    let flag = |name: &str| Value::Bool(config.get(name).and_then(Json::as_bool).unwrap_or(false));
    Ok(Some(with(
        state,
        [
            ("backend", Value::from(backend)),
            ("kubernetes_host", read_back(state, "kubernetes_host", config.get("kubernetes_host"))),
            ("kubernetes_ca_cert", read_back(state, "kubernetes_ca_cert", config.get("kubernetes_ca_cert"))),
            ("token_reviewer_jwt", state.get("token_reviewer_jwt").cloned().unwrap_or_default()),
            ("pem_keys", read_back(state, "pem_keys", config.get("pem_keys"))),
            ("issuer", read_back(state, "issuer", config.get("issuer"))),
            ("disable_iss_validation", flag("disable_iss_validation")),
            ("disable_local_ca_jwt", flag("disable_local_ca_jwt")),
            ("id", Value::string(config_id(backend))),
        ],
    )))
}

pub(crate) async fn import_config(vault: &Vault, id: &str) -> Result<Value, ProviderError> {
    let state = Value::object([("id", Value::from(id))]);
    read_config(vault, &state).await?.ok_or_else(|| ProviderError::not_found(format!("no configuration at {id}")))
}

pub(crate) async fn write_role(vault: &Vault, planned: &Value) -> Result<Value, ProviderError> {
    let (backend, role) = (backend(planned), required(planned, "role_name")?);
    let what = format!("vault_kubernetes_auth_backend_role {}", role_id(backend, role));
    let body = body(planned, ROLE_FIELDS);
    vault.write(&what, Method::POST, &api_path(&["auth", backend, "role", role]), &body, &[]).await?;
    let state = with(planned, [("id", Value::string(role_id(backend, role)))]);
    written(&what, read_role(vault, &state).await?)
}

pub(crate) async fn read_role(vault: &Vault, state: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required(state, "id")?;
    let (backend, role) = parse_id(id, "role").ok_or_else(|| {
        ProviderError::invalid(format!("{id:?} is not a valid id; expected `auth/<backend>/role/<role_name>`"))
    })?;
    let what = format!("vault_kubernetes_auth_backend_role {id}");
    let Some(answer) = vault.read(&what, &api_path(&["auth", backend, "role", role])).await? else { return Ok(None) };
    let read = data(&answer);
    let number = |name: &str| read.get(name).and_then(Json::as_i64).map_or(Value::from(0), Value::from);
    let mut fields = vec![
        ("backend", Value::from(backend)),
        ("role_name", Value::from(role)),
        (
            "token_no_default_policy",
            Value::Bool(read.get("token_no_default_policy").and_then(Json::as_bool).unwrap_or(false)),
        ),
        ("id", Value::string(role_id(backend, role))),
    ];
    for name in
        ["bound_service_account_names", "bound_service_account_namespaces", "token_policies", "token_bound_cidrs"]
    {
        fields.push((name, string_set(state, name, read.get(name))));
    }
    for name in ["bound_service_account_namespace_selector", "audience", "alias_name_source", "token_type"] {
        fields.push((name, read_back(state, name, read.get(name))));
    }
    for name in ["token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period", "token_num_uses"] {
        fields.push((name, number(name)));
    }
    Ok(Some(with(state, fields)))
}

pub(crate) async fn delete_role(vault: &Vault, state: &Value) -> Result<(), ProviderError> {
    let id = required(state, "id")?;
    let (backend, role) = parse_id(id, "role").ok_or_else(|| {
        ProviderError::invalid(format!("{id:?} is not a valid id; expected `auth/<backend>/role/<role_name>`"))
    })?;
    vault.delete(&format!("vault_kubernetes_auth_backend_role {id}"), &api_path(&["auth", backend, "role", role])).await
}

pub(crate) async fn import_role(vault: &Vault, id: &str) -> Result<Value, ProviderError> {
    let state = Value::object([("id", Value::from(id))]);
    read_role(vault, &state).await?.ok_or_else(|| ProviderError::not_found(format!("no role at {id}")))
}

/// `vault_kubernetes_auth_backend_config`, as the provider serves it.
pub(crate) struct KubernetesAuthConfig;

#[async_trait]
impl ResourceType<Vault> for KubernetesAuthConfig {
    fn schema(&self) -> ResourceSchema {
        schema::kubernetes_config()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        slashes(config, &["backend"])
    }

    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let id = planned_backend(&planned).map(|backend| config_id(&backend));
        Ok(with_id(planned, id))
    }

    async fn read(&self, session: &Session<Vault>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read_config(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Vault>,
        planned: &Value,
        _: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        write_config(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Vault>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        write_config(session.clients()?, planned).await
    }

    /// Vault has no delete for it: it goes with its auth method.
    async fn delete(&self, _: &Session<Vault>, _: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn import(&self, session: &Session<Vault>, id: &str) -> Result<Value, ProviderError> {
        import_config(session.clients()?, id).await
    }
}

/// `vault_kubernetes_auth_backend_role`, as the provider serves it.
pub(crate) struct KubernetesAuthRole;

#[async_trait]
impl ResourceType<Vault> for KubernetesAuthRole {
    fn schema(&self) -> ResourceSchema {
        schema::kubernetes_role()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        slashes(config, &["backend"])
    }

    fn plan(&self, _: &Session<Vault>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let id =
            planned_backend(&planned).zip(text(&planned, "role_name")).map(|(backend, role)| role_id(&backend, role));
        Ok(with_id(planned, id))
    }

    async fn read(&self, session: &Session<Vault>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read_role(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Vault>,
        planned: &Value,
        _: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        write_role(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Vault>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        write_role(session.clients()?, planned).await
    }

    async fn delete(&self, session: &Session<Vault>, state: &Value) -> Result<(), ProviderError> {
        delete_role(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Vault>, id: &str) -> Result<Value, ProviderError> {
        import_role(session.clients()?, id).await
    }
}

/// The auth method a config or role belongs to: an unset backend is the default mount
/// (`kubernetes`); one still unknown (another resource's path) leaves the id unknown too.
fn planned_backend(planned: &Value) -> Option<String> {
    match planned.get("backend") {
        None => Some("kubernetes".to_owned()),
        Some(value) if value.is_null() => Some("kubernetes".to_owned()),
        Some(_) => text(planned, "backend").map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_backend_and_role() {
        assert_eq!(parse_id("auth/kubernetes/config", "config"), Some(("kubernetes", "")));
        assert_eq!(parse_id("auth/eks/prod/config", "config"), Some(("eks/prod", "")));
        assert_eq!(parse_id("auth/kubernetes/role/eso", "role"), Some(("kubernetes", "eso")));
        assert_eq!(parse_id("kubernetes/role/eso", "role"), None);
        assert_eq!(parse_id("auth//config", "config"), None);
        assert_eq!(role_id("kubernetes/", "eso"), "auth/kubernetes/role/eso");
    }
}
