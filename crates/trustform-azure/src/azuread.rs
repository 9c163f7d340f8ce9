//! [`AzureAdProvider`]: the `azuread` provider, Entra ID applications, their service principals
//! and federated credentials over Microsoft Graph, dispatching each call to its resource type.
//!
//! It lives beside `azurerm` rather than in a crate of its own because everything below the
//! resource types is shared: the logins (`ARM_*`, `azure_identity`), the transport that keeps
//! the token out of every log, the error mapping (Graph answers ARM's `{"error":{"code",
//! "message"}}` shape) and the retry policy. A Graph SDK (graph-rs-sdk) is not in the build's
//! package set; the nine calls used are a few lines each over that transport.

use crate::config::GraphClients;
use crate::graph::Graph;
use crate::resources::{
    application, application_federated_identity_credential as application_credential, service_principal,
};
use async_trait::async_trait;
use std::sync::LazyLock;
use trustform_lang::{Type, Value};
use trustform_provider::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, ValidationIssue};
use trustform_schema::{Attribute, Block, ProviderSchema};

static SCHEMA: LazyLock<ProviderSchema> = LazyLock::new(|| {
    let text = |describe: &'static str| Attribute::optional(Type::String).describe(describe);
    let provider = Block::new()
        .attr("tenant_id", text("Defaults to ARM_TENANT_ID."))
        .attr("client_id", text("Defaults to ARM_CLIENT_ID."))
        .attr("client_secret", Attribute::optional(Type::String).sensitive().describe("Defaults to ARM_CLIENT_SECRET."))
        .attr("use_oidc", Attribute::optional(Type::Bool).describe("Workload identity federation; ARM_USE_OIDC."))
        .attr("use_msi", Attribute::optional(Type::Bool).describe("Managed identity; ARM_USE_MSI."))
        .attr("oidc_token", Attribute::optional(Type::String).sensitive().describe("Defaults to ARM_OIDC_TOKEN."))
        .attr("oidc_token_file_path", text("Defaults to ARM_OIDC_TOKEN_FILE_PATH."))
        .attr("msgraph_endpoint", text("Defaults to ARM_MSGRAPH_ENDPOINT, then https://graph.microsoft.com."));
    ProviderSchema { provider, ..ProviderSchema::default() }
        .resource(application::schema())
        .resource(service_principal::schema())
        .resource(application_credential::schema())
});

/// The `azuread` provider.
pub struct AzureAdProvider {
    clients: Configured<GraphClients>,
    retry_policy: RetryPolicy,
}

impl Default for AzureAdProvider {
    fn default() -> Self {
        AzureAdProvider::new()
    }
}

impl std::fmt::Debug for AzureAdProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureAdProvider").field("configured", &self.clients.is_set()).finish_non_exhaustive()
    }
}

impl AzureAdProvider {
    /// An unconfigured provider with the default retry policy.
    pub fn new() -> AzureAdProvider {
        AzureAdProvider { clients: Configured::new("azuread"), retry_policy: RetryPolicy::default() }
    }

    /// Replaces the retry policy (the deadline also bounds how long Graph's replication is waited out).
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> AzureAdProvider {
        self.retry_policy = retry_policy;
        self
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::invalid(format!("the azuread provider has no resource type {type_name:?}"))
}

#[async_trait]
impl Provider for AzureAdProvider {
    fn name(&self) -> &str {
        "azuread"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let clients = GraphClients::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?clients, "configuring the azuread provider");
        self.clients.set(clients);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            application::TYPE => application::validate(config),
            application_credential::TYPE => application_credential::validate(config),
            _ => Vec::new(),
        }
    }

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match type_name {
            application::TYPE => application::plan(prior, planned),
            _ => planned,
        })
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let clients = self.clients.get()?;
        let graph = Graph { client: &clients.graph, policy: &self.retry_policy };
        match type_name {
            application::TYPE => application::read(&graph, state).await,
            service_principal::TYPE => service_principal::read(&graph, state).await,
            application_credential::TYPE => application_credential::read(&graph, state).await,
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let clients = self.clients.get()?;
        let graph = Graph { client: &clients.graph, policy: &self.retry_policy };
        match type_name {
            application::TYPE => application::create(&graph, planned).await,
            service_principal::TYPE => service_principal::create(&graph, planned).await,
            application_credential::TYPE => application_credential::create(&graph, planned).await,
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let clients = self.clients.get()?;
        let graph = Graph { client: &clients.graph, policy: &self.retry_policy };
        match type_name {
            application::TYPE => application::update(&graph, prior, planned).await,
            service_principal::TYPE => service_principal::update(&graph, prior, planned).await,
            application_credential::TYPE => application_credential::update(&graph, prior, planned).await,
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let clients = self.clients.get()?;
        let graph = Graph { client: &clients.graph, policy: &self.retry_policy };
        match type_name {
            application::TYPE => application::delete(&graph, state).await,
            service_principal::TYPE => service_principal::delete(&graph, state).await,
            application_credential::TYPE => application_credential::delete(&graph, state).await,
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let clients = self.clients.get()?;
        let graph = Graph { client: &clients.graph, policy: &self.retry_policy };
        match type_name {
            application::TYPE => application::import(&graph, id).await,
            service_principal::TYPE => service_principal::import(&graph, id).await,
            application_credential::TYPE => application_credential::import(&graph, id).await,
            _ => Err(unknown_type(type_name)),
        }
    }

    async fn read_data(&self, type_name: &str, _config: &Value) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!("the azuread provider has no data source {type_name:?}")))
    }
}
