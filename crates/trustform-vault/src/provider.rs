//! [`VaultProvider`]: how `configure` builds the client, and the table of types it serves.

use crate::client::Vault;
use crate::config::VaultSettings;
use crate::resources::auth_backend::VaultAuthBackend;
use crate::resources::kubernetes::{KubernetesAuthConfig, KubernetesAuthRole};
use crate::resources::kv_secret_v2::{VaultKvSecretV2, VaultKvSecretV2Data};
use crate::resources::mount::VaultMount;
use crate::resources::policy::VaultPolicy;
use crate::schema;
use async_trait::async_trait;
use std::path::PathBuf;
use trustform_lang::Value;
use trustform_provider::{Adapter, ProviderError, Registry, RetryPolicy, TableProvider};
use trustform_schema::Block;

/// The `vault` provider, for Vault and OpenBao alike (one HTTP API).
pub type VaultProvider = TableProvider<VaultAdapter>;

/// The Vault adapter, as [`TableProvider`] runs it: `VAULT_*` come from the process
/// environment.
#[derive(Debug, Default)]
pub struct VaultAdapter;

fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[async_trait]
impl Adapter for VaultAdapter {
    type Clients = Vault;
    const NAME: &'static str = "vault";

    fn provider_block() -> Block {
        schema::provider_block()
    }

    fn register(types: &mut Registry<Vault>) {
        types
            .resource(VaultMount)
            .resource(VaultKvSecretV2)
            .resource(VaultPolicy)
            .resource(VaultAuthBackend)
            .resource(KubernetesAuthConfig)
            .resource(KubernetesAuthRole)
            .data_source(VaultKvSecretV2Data);
    }

    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<Vault, ProviderError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let settings = VaultSettings::from_config(config, process_environment, home)?;
        tracing::debug!(address = %settings.address, namespace = ?settings.namespace, token_from = settings.token_origin(), "configuring the vault provider");
        Vault::build(&settings, retry_policy.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AUTH_BACKEND, KUBERNETES_CONFIG, KUBERNETES_ROLE, KV_SECRET_V2};
    use trustform_provider::Provider;

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
