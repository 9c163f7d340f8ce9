//! [`VaultProvider`]: the `Provider` implementation, dispatching each call to its resource type.

use crate::client::Vault;
use crate::config::VaultSettings;
use crate::resources::{auth_backend, kubernetes, kv_secret_v2, mount, policy};
use crate::schema::{AUTH_BACKEND, KUBERNETES_CONFIG, KUBERNETES_ROLE, KV_SECRET_V2, MOUNT, POLICY, SCHEMA};
use async_trait::async_trait;
use std::path::PathBuf;
use trustform_lang::Value;
use trustform_provider::attrs::{text, with};
use trustform_provider::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, ValidationIssue};
use trustform_schema::ProviderSchema;

/// The `vault` provider, for Vault and OpenBao alike (one HTTP API).
pub struct VaultProvider {
    vault: Configured<Vault>,
    retry_policy: RetryPolicy,
    environment: fn(&str) -> Option<String>,
}

impl Default for VaultProvider {
    fn default() -> Self {
        VaultProvider::new()
    }
}

impl std::fmt::Debug for VaultProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultProvider").field("configured", &self.vault.is_set()).finish_non_exhaustive()
    }
}

fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl VaultProvider {
    /// An unconfigured provider reading `VAULT_*` from the process environment, with the
    /// default retry policy.
    pub fn new() -> VaultProvider {
        VaultProvider {
            vault: Configured::new("vault"),
            retry_policy: RetryPolicy::default(),
            environment: process_environment,
        }
    }

    /// Replaces the retry policy: shorter deadlines for tests.
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> VaultProvider {
        self.retry_policy = retry_policy;
        self
    }

    fn vault(&self) -> Result<Vault, ProviderError> {
        self.vault.get()
    }
}

fn unknown_type(kind: &str, type_name: &str) -> ProviderError {
    ProviderError::invalid(format!("the vault provider has no {kind} {type_name:?}"))
}

/// A path argument written with a leading or trailing `/`: Vault would answer for another
/// path than the state records, and the next plan would not find it.
fn slashes(config: &Value, names: &[&str]) -> Vec<ValidationIssue> {
    names
        .iter()
        .filter_map(|name| {
            let value = text(config, name)?;
            (value.starts_with('/') || value.ends_with('/')).then(|| ValidationIssue {
                attribute: (*name).to_owned(),
                summary: "Invalid Vault path".to_owned(),
                detail: format!(
                    "{name} = {value:?} starts or ends with `/`; write it as {:?}.",
                    value.trim_matches('/')
                ),
                is_error: true,
            })
        })
        .collect()
}

#[async_trait]
impl Provider for VaultProvider {
    fn name(&self) -> &str {
        "vault"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let settings = VaultSettings::from_config(config, self.environment, home)?;
        tracing::debug!(address = %settings.address, namespace = ?settings.namespace, token_from = settings.token_origin(), "configuring the vault provider");
        self.vault.set(Vault::build(&settings, self.retry_policy.clone())?);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            MOUNT => slashes(config, &["path"]),
            AUTH_BACKEND => slashes(config, &["path"]),
            KV_SECRET_V2 => [slashes(config, &["mount", "name"]), kv_secret_v2::validate(config)].concat(),
            KUBERNETES_CONFIG | KUBERNETES_ROLE => slashes(config, &["backend"]),
            _ => Vec::new(),
        }
    }

    /// Fills the ids (and an auth method's default path) that follow from the arguments, so
    /// dependents see them at plan time.
    fn plan(&self, type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let known = |name: &str| text(&planned, name).map(str::to_owned);
        // An unset backend is the default mount; one still unknown (another resource's path)
        // leaves the id unknown too.
        let backend = match planned.get("backend") {
            None => Some("kubernetes".to_owned()),
            Some(value) if value.is_null() => Some("kubernetes".to_owned()),
            Some(_) => known("backend"),
        };
        let filled: Vec<(&'static str, Value)> = match type_name {
            MOUNT => known("path").map(|path| vec![("id", Value::String(path))]).unwrap_or_default(),
            POLICY => known("name").map(|name| vec![("id", Value::String(name))]).unwrap_or_default(),
            KV_SECRET_V2 => known("mount")
                .zip(known("name"))
                .map(|(mount, name)| {
                    let id = kv_secret_v2::id(&mount, &name);
                    vec![("path", Value::string(id.clone())), ("id", Value::String(id))]
                })
                .unwrap_or_default(),
            AUTH_BACKEND => {
                // The path defaults to the type; the engine hands the configuration over before
                // it fills computed attributes, so an unset path is null or unknown here.
                let unset = planned.get("path").is_none_or(|path| path.is_null() || path.is_unknown());
                let path = if unset { known("type") } else { known("path") };
                path.map(|path| vec![("path", Value::string(path.clone())), ("id", Value::String(path))])
                    .unwrap_or_default()
            }
            KUBERNETES_CONFIG => {
                backend.map(|backend| vec![("id", Value::string(kubernetes::config_id(&backend)))]).unwrap_or_default()
            }
            KUBERNETES_ROLE => backend
                .zip(known("role_name"))
                .map(|(backend, role)| vec![("id", Value::string(kubernetes::role_id(&backend, &role)))])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(if filled.is_empty() { planned } else { with(&planned, filled) })
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let vault = self.vault()?;
        match type_name {
            MOUNT => mount::read(&vault, state).await,
            KV_SECRET_V2 => kv_secret_v2::read(&vault, state).await,
            POLICY => policy::read(&vault, state).await,
            AUTH_BACKEND => auth_backend::read(&vault, state).await,
            KUBERNETES_CONFIG => kubernetes::read_config(&vault, state).await,
            KUBERNETES_ROLE => kubernetes::read_role(&vault, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn create(&self, type_name: &str, planned: &Value, _: &dyn Checkpoint) -> Result<Value, ProviderError> {
        let vault = self.vault()?;
        match type_name {
            MOUNT => mount::create(&vault, planned).await,
            KV_SECRET_V2 => kv_secret_v2::write(&vault, planned).await,
            POLICY => policy::put(&vault, planned).await,
            AUTH_BACKEND => auth_backend::create(&vault, planned).await,
            KUBERNETES_CONFIG => kubernetes::write_config(&vault, planned).await,
            KUBERNETES_ROLE => kubernetes::write_role(&vault, planned).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn update(&self, type_name: &str, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let vault = self.vault()?;
        match type_name {
            MOUNT => mount::update(&vault, planned).await,
            KV_SECRET_V2 => kv_secret_v2::write(&vault, planned).await,
            POLICY => policy::put(&vault, planned).await,
            AUTH_BACKEND => auth_backend::update(&vault, planned).await,
            KUBERNETES_CONFIG => kubernetes::write_config(&vault, planned).await,
            KUBERNETES_ROLE => kubernetes::write_role(&vault, planned).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let vault = self.vault()?;
        match type_name {
            MOUNT => mount::delete(&vault, state).await,
            KV_SECRET_V2 => kv_secret_v2::delete(&vault, state).await,
            POLICY => policy::delete(&vault, state).await,
            AUTH_BACKEND => auth_backend::delete(&vault, state).await,
            // Vault has no delete for it: it goes with its auth method.
            KUBERNETES_CONFIG => Ok(()),
            KUBERNETES_ROLE => kubernetes::delete_role(&vault, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let vault = self.vault()?;
        let by_id = Value::object([("id", Value::from(id))]);
        let found = |read: Option<Value>| {
            read.ok_or_else(|| ProviderError::not_found(format!("no {type_name} {id:?} in Vault")))
        };
        match type_name {
            MOUNT => found(mount::read(&vault, &by_id).await?),
            KV_SECRET_V2 => kv_secret_v2::import(&vault, id).await,
            POLICY => found(policy::read(&vault, &by_id).await?),
            AUTH_BACKEND => found(auth_backend::read(&vault, &by_id).await?),
            KUBERNETES_CONFIG => kubernetes::import_config(&vault, id).await,
            KUBERNETES_ROLE => kubernetes::import_role(&vault, id).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        let vault = self.vault()?;
        match type_name {
            KV_SECRET_V2 => kv_secret_v2::read_data(&vault, config).await,
            _ => Err(unknown_type("data source", type_name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_fills_ids_and_the_default_auth_path_but_never_guesses_an_unknown_backend() {
        let provider = VaultProvider::new();
        let method = Value::object([("type", "kubernetes".into()), ("path", Value::Null)]);
        let planned = provider.plan(AUTH_BACKEND, None, method).unwrap();
        assert_eq!((planned.get("path"), planned.get("id")), (Some(&"kubernetes".into()), Some(&"kubernetes".into())));
        let named = Value::object([("type", "kubernetes".into()), ("path", "eks".into())]);
        assert_eq!(provider.plan(AUTH_BACKEND, None, named).unwrap().get("id"), Some(&"eks".into()));

        let default_backend = Value::object([("role_name", "eso".into())]);
        let planned = provider.plan(KUBERNETES_ROLE, None, default_backend).unwrap();
        assert_eq!(planned.get("id"), Some(&"auth/kubernetes/role/eso".into()));
        let unknown_backend = Value::object([("backend", Value::Unknown), ("id", Value::Unknown)]);
        let planned = provider.plan(KUBERNETES_CONFIG, None, unknown_backend.clone()).unwrap();
        assert_eq!(planned, unknown_backend, "the id waits for the backend");
        let secret = Value::object([("mount", "kv".into()), ("name", "gw".into())]);
        assert_eq!(provider.plan(KV_SECRET_V2, None, secret).unwrap().get("path"), Some(&"kv/data/gw".into()));
    }
}
