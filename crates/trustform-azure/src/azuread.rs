//! [`AzureAdProvider`]: the `azuread` provider (`TableProvider<AzureAd>`), Entra ID applications,
//! their service principals and federated credentials over Microsoft Graph, one registration
//! line per type.
//!
//! It lives beside `azurerm` rather than in a crate of its own because everything below the
//! resource types is shared: the logins (`ARM_*`, `azure_identity`), the transport that keeps
//! the token out of every log, the error mapping (Graph answers ARM's `{"error":{"code",
//! "message"}}` shape) and the retry policy. A Graph SDK (graph-rs-sdk) is not in the build's
//! package set; the nine calls used are a few lines each over that transport.

use crate::config::GraphClients;
use crate::graph::Graph;
use crate::resources::application::Application;
use crate::resources::application_federated_identity_credential::ApplicationFederatedIdentityCredential;
use crate::resources::service_principal::ServicePrincipal;
use async_trait::async_trait;
use trustform_lang::{Type, Value};
use trustform_provider::{Adapter, ProviderError, Registry, RetryPolicy, TableProvider};
use trustform_schema::{Attribute, Block};

/// The `azuread` provider.
///
/// Every Graph call is retried under one [`RetryPolicy`], whose deadline also bounds how long
/// Graph's replication of a new object is waited out.
pub type AzureAdProvider = TableProvider<AzureAd>;

/// The Microsoft Graph adapter, as [`TableProvider`] runs it.
#[derive(Debug, Default)]
pub struct AzureAd;

/// The Graph client of a configured provider and the policy every call retries under: what
/// `configure` builds and every resource type is handed. Public only as the adapter's client
/// type; its module is private.
#[derive(Clone, Debug)]
pub struct GraphApi {
    clients: GraphClients,
    policy: RetryPolicy,
}

impl GraphApi {
    /// The Graph calls, under the provider's retry policy.
    pub(crate) fn graph(&self) -> Graph<'_> {
        Graph { client: &self.clients.graph, policy: &self.policy }
    }
}

#[async_trait]
impl Adapter for AzureAd {
    type Clients = GraphApi;
    const NAME: &'static str = "azuread";

    fn provider_block() -> Block {
        let text = |describe: &'static str| Attribute::optional(Type::String).describe(describe);
        Block::new()
            .attr("tenant_id", text("Defaults to ARM_TENANT_ID."))
            .attr("client_id", text("Defaults to ARM_CLIENT_ID."))
            .attr(
                "client_secret",
                Attribute::optional(Type::String).sensitive().describe("Defaults to ARM_CLIENT_SECRET."),
            )
            .attr("use_oidc", Attribute::optional(Type::Bool).describe("Workload identity federation; ARM_USE_OIDC."))
            .attr("use_msi", Attribute::optional(Type::Bool).describe("Managed identity; ARM_USE_MSI."))
            .attr("oidc_token", Attribute::optional(Type::String).sensitive().describe("Defaults to ARM_OIDC_TOKEN."))
            .attr("oidc_token_file_path", text("Defaults to ARM_OIDC_TOKEN_FILE_PATH."))
            .attr("msgraph_endpoint", text("Defaults to ARM_MSGRAPH_ENDPOINT, then https://graph.microsoft.com."))
    }

    fn register(types: &mut Registry<GraphApi>) {
        types.resource(Application).resource(ServicePrincipal).resource(ApplicationFederatedIdentityCredential);
    }

    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<GraphApi, ProviderError> {
        let clients = GraphClients::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?clients, "configuring the azuread provider");
        Ok(GraphApi { clients, policy: retry_policy.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_provider::Provider;

    #[tokio::test]
    async fn the_table_serves_the_three_graph_types_under_their_names() {
        let provider = AzureAdProvider::new();
        assert_eq!(provider.name(), "azuread");
        for type_name in
            ["azuread_application", "azuread_service_principal", "azuread_application_federated_identity_credential"]
        {
            assert!(provider.schema().resources.contains_key(type_name), "{type_name}");
        }
        let error = provider.read("azuread_application", &Value::Null).await.unwrap_err();
        assert!(error.message.contains("before `configure`"), "{error}");
        assert!(provider.schema().provider.attributes.contains_key("msgraph_endpoint"));
    }
}
