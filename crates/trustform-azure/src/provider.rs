//! [`AzureProvider`]: how `configure` builds the client, and the table of types it serves.

use crate::api::Api;
use crate::config::{AzureSettings, Clients};
use crate::resources::data::{ClientConfig, RoleDefinitionData};
use crate::resources::federated_identity_credential::FederatedIdentityCredential;
use crate::resources::role_assignment::AzureRoleAssignment;
use crate::resources::role_definition::AzureRoleDefinition;
use crate::resources::user_assigned_identity::UserAssignedIdentity;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Adapter, ProviderError, Registry, RetryPolicy, TableProvider};
use trustform_schema::Block;

/// The `azurerm` provider: custom role definitions and role assignments, plus the
/// `azurerm_client_config` and `azurerm_role_definition` data sources.
///
/// Every call is retried under one [`RetryPolicy`] (throttling with `Retry-After`, 5xx,
/// transport faults, and RBAC replication delays on assignment writes); the SDK's own retries
/// are off.
pub type AzureProvider = TableProvider<Azure>;

/// The Azure Resource Manager adapter, as [`TableProvider`] runs it.
#[derive(Debug, Default)]
pub struct Azure;

#[async_trait]
impl Adapter for Azure {
    type Clients = Api;
    const NAME: &'static str = "azurerm";

    fn provider_block() -> Block {
        schema::provider_block()
    }

    fn register(types: &mut Registry<Api>) {
        types
            .resource(AzureRoleDefinition)
            .resource(AzureRoleAssignment)
            .resource(UserAssignedIdentity)
            .resource(FederatedIdentityCredential)
            .data_source(ClientConfig)
            .data_source(RoleDefinitionData);
    }

    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<Api, ProviderError> {
        let settings = AzureSettings::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?settings, "configuring the azurerm provider");
        Ok(Api { clients: Clients::build(&settings)?, policy: retry_policy.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CLIENT_CONFIG, ROLE_ASSIGNMENT, ROLE_DEFINITION};
    use trustform_provider::Provider;

    #[tokio::test]
    async fn calls_before_configure_and_unknown_types_are_invalid() {
        let provider = AzureProvider::new();
        let error = provider.read(ROLE_DEFINITION, &Value::Null).await.unwrap_err();
        assert!(error.message.contains("before `configure`"));
        assert_eq!(provider.name(), "azurerm");
        assert!(provider.schema().resources.contains_key(ROLE_ASSIGNMENT));
        assert!(provider.schema().data_sources.contains_key(CLIENT_CONFIG));
    }
}
