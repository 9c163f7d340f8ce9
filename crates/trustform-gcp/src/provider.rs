//! [`GoogleProvider`]: how `configure` builds the clients, and the table of types it serves.

use crate::api::Api;
use crate::config::{Clients, GoogleSettings};
use crate::resources::credential_config::CredentialConfig;
use crate::resources::iam_member::{Kind as MemberKind, Member};
use crate::resources::pool::{Kind as PoolKind, Pool};
use crate::resources::project::Project;
use crate::resources::project_service::ProjectService;
use crate::resources::service_account::GoogleServiceAccount;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Adapter, ProviderError, Registry, RetryPolicy, TableProvider};
use trustform_schema::Block;

/// The `google` provider: service accounts, project and service-account IAM members and
/// bindings, workload identity pools and providers, enabled APIs (`google_project_service`), the
/// `google_credential_config` file, and the `google_project` data source.
///
/// Every call is retried under one [`RetryPolicy`]; long-running operations are polled under
/// the same policy's backoff and deadline; IAM policy edits are coalesced per policy.
pub type GoogleProvider = TableProvider<Google>;

/// The Google Cloud adapter, as [`TableProvider`] runs it.
#[derive(Debug, Default)]
pub struct Google;

#[async_trait]
impl Adapter for Google {
    type Clients = Api;
    const NAME: &'static str = "google";

    fn provider_block() -> Block {
        schema::provider_block()
    }

    fn register(types: &mut Registry<Api>) {
        types
            .resource(GoogleServiceAccount)
            .resource(Member(MemberKind::ProjectMember))
            .resource(Member(MemberKind::ProjectBinding))
            .resource(Member(MemberKind::ServiceAccountMember))
            .resource(Pool(PoolKind::Pool))
            .resource(Pool(PoolKind::Provider))
            .resource(CredentialConfig)
            .resource(ProjectService)
            .data_source(Project);
    }

    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<Api, ProviderError> {
        let settings = GoogleSettings::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?settings, "configuring the google provider");
        let mut api = Api {
            clients: Clients::build(&settings)?,
            policy: retry_policy.clone(),
            policies: Default::default(),
            project_number: None,
        };
        api.project_number = crate::resources::project::look_up_number(&api).await;
        Ok(api)
    }
}
