//! [`AzureProvider`]: the `Provider` implementation, dispatching each call to its resource type.

use crate::api::Api;
use crate::config::{AzureSettings, Clients};
use crate::resources::{data, role_assignment, role_definition};
use crate::resources::{federated_identity_credential as fic, user_assigned_identity as uai};
use crate::schema::{CLIENT_CONFIG, ROLE_ASSIGNMENT, ROLE_DEFINITION, SCHEMA};
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, ValidationIssue};
use trustform_schema::ProviderSchema;

/// The `azurerm` provider: custom role definitions and role assignments, plus the
/// `azurerm_client_config` and `azurerm_role_definition` data sources.
///
/// Every call is retried under one [`RetryPolicy`] (throttling with `Retry-After`, 5xx,
/// transport faults, and RBAC replication delays on assignment writes); the SDK's own retries
/// are off.
pub struct AzureProvider {
    clients: Configured<Clients>,
    retry_policy: RetryPolicy,
}

impl Default for AzureProvider {
    fn default() -> Self {
        AzureProvider::new()
    }
}

impl std::fmt::Debug for AzureProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configured = self.clients.is_set();
        f.debug_struct("AzureProvider")
            .field("configured", &configured)
            .field("retry_policy", &self.retry_policy)
            .finish()
    }
}

impl AzureProvider {
    /// An unconfigured provider with the default retry policy (two minutes of backoff).
    pub fn new() -> AzureProvider {
        AzureProvider { clients: Configured::new("azurerm"), retry_policy: RetryPolicy::default() }
    }

    /// Replaces the retry policy: shorter deadlines for tests, longer ones for slow tenants.
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> AzureProvider {
        self.retry_policy = retry_policy;
        self
    }

    fn clients(&self) -> Result<Clients, ProviderError> {
        self.clients.get()
    }
}

fn unknown_type(kind: &str, type_name: &str) -> ProviderError {
    ProviderError::invalid(format!("the azurerm provider has no {kind} {type_name:?}"))
}

#[async_trait]
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        "azurerm"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let settings = AzureSettings::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?settings, "configuring the azurerm provider");
        let clients = Clients::build(&settings)?;
        self.clients.set(clients);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            ROLE_DEFINITION => role_definition::validate(config),
            uai::TYPE => uai::validate(config),
            fic::TYPE => fic::validate(config),
            _ => Vec::new(),
        }
    }

    /// Fills the assignment name, derived from scope, role and principal, so that it is known
    /// at plan time and a retried PUT never makes a second assignment; keeps the prior spelling
    /// of empty descriptions and action lists.
    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match type_name {
            ROLE_DEFINITION => role_definition::plan(prior, planned),
            ROLE_ASSIGNMENT => role_assignment::plan(prior, planned),
            uai::TYPE => uai::plan(prior, planned),
            _ => planned,
        })
    }

    /// An assignment's name is derived from its scope, role and principal at plan time, but its
    /// id only comes back from ARM (and is unknown while the role is): the interrupted create is
    /// found by scope and name.
    fn findable(&self, type_name: &str) -> bool {
        type_name == ROLE_ASSIGNMENT
    }

    async fn find(&self, type_name: &str, planned: &Value) -> Result<Option<Value>, ProviderError> {
        if type_name != ROLE_ASSIGNMENT {
            return Ok(None);
        }
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        role_assignment::find(&api, planned).await
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            ROLE_DEFINITION => role_definition::read(&api, state).await,
            ROLE_ASSIGNMENT => role_assignment::read(&api, state).await,
            uai::TYPE => uai::read(&api, state).await,
            fic::TYPE => fic::read(&api, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            ROLE_DEFINITION => role_definition::create(&api, planned).await,
            ROLE_ASSIGNMENT => role_assignment::create(&api, planned).await,
            uai::TYPE => uai::create(&api, planned).await,
            fic::TYPE => fic::create(&api, planned).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            ROLE_DEFINITION => role_definition::update(&api, prior, planned).await,
            ROLE_ASSIGNMENT => role_assignment::update(&api, prior, planned).await,
            uai::TYPE => uai::update(&api, prior, planned).await,
            fic::TYPE => fic::update(&api, prior, planned).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            ROLE_DEFINITION => role_definition::delete(&api, state).await,
            ROLE_ASSIGNMENT => role_assignment::delete(&api, state).await,
            uai::TYPE => uai::delete(&api, state).await,
            fic::TYPE => fic::delete(&api, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            ROLE_DEFINITION => role_definition::import(&api, id).await,
            ROLE_ASSIGNMENT => role_assignment::import(&api, id).await,
            uai::TYPE => uai::import(&api, id).await,
            fic::TYPE => fic::import(&api, id).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            CLIENT_CONFIG => Ok(data::client_config(&api, config)),
            ROLE_DEFINITION => data::role_definition(&api, config).await,
            _ => Err(unknown_type("data source", type_name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
