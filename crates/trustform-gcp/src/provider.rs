//! [`GoogleProvider`]: the `Provider` implementation, dispatching each call to its resource type.

use crate::api::Api;
use crate::config::{Clients, GoogleSettings};
use crate::iam_policy::Policies;
use crate::resources::iam_member::{self, Kind as Member};
use crate::resources::pool::{self, Kind as Pool};
use crate::resources::{credential_config, project, service_account};
use crate::schema::{
    CREDENTIAL_CONFIG, POOL, POOL_PROVIDER, PROJECT, PROJECT_IAM_BINDING, PROJECT_IAM_MEMBER, SCHEMA, SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_IAM_MEMBER,
};
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, Review, ValidationIssue};
use trustform_schema::ProviderSchema;

/// The `google` provider: service accounts, project and service-account IAM members and
/// bindings, workload identity pools and providers, the `google_credential_config` file, and
/// the `google_project` data source.
///
/// Every call is retried under one [`RetryPolicy`]; long-running operations are polled under
/// the same policy's backoff and deadline; IAM policy edits are coalesced per policy.
pub struct GoogleProvider {
    clients: Configured<Clients>,
    retry_policy: RetryPolicy,
    policies: Policies,
}

impl Default for GoogleProvider {
    fn default() -> Self {
        GoogleProvider::new()
    }
}

impl std::fmt::Debug for GoogleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clients = format!("{:?}", self.clients.peek());
        f.debug_struct("GoogleProvider").field("clients", &clients).field("retry_policy", &self.retry_policy).finish()
    }
}

/// How a type is served: a member kind, a pool kind, or one of its own.
enum Type {
    ServiceAccount,
    Member(Member),
    Pool(Pool),
    CredentialConfig,
}

fn type_of(type_name: &str) -> Result<Type, ProviderError> {
    Ok(match type_name {
        SERVICE_ACCOUNT => Type::ServiceAccount,
        PROJECT_IAM_MEMBER => Type::Member(Member::ProjectMember),
        PROJECT_IAM_BINDING => Type::Member(Member::ProjectBinding),
        SERVICE_ACCOUNT_IAM_MEMBER => Type::Member(Member::ServiceAccountMember),
        POOL => Type::Pool(Pool::Pool),
        POOL_PROVIDER => Type::Pool(Pool::Provider),
        CREDENTIAL_CONFIG => Type::CredentialConfig,
        _ => return Err(ProviderError::invalid(format!("the google provider has no resource type {type_name:?}"))),
    })
}

impl GoogleProvider {
    /// An unconfigured provider with the default retry policy (two minutes of backoff).
    pub fn new() -> GoogleProvider {
        GoogleProvider {
            clients: Configured::new("google"),
            retry_policy: RetryPolicy::default(),
            policies: Policies::default(),
        }
    }

    /// Replaces the retry policy: shorter deadlines for tests, longer ones for slow projects.
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> GoogleProvider {
        self.retry_policy = retry_policy;
        self
    }

    fn clients(&self) -> Result<Clients, ProviderError> {
        self.clients.get()
    }

    fn default_project(&self) -> Option<String> {
        self.clients.peek().and_then(|clients| clients.project)
    }

    fn api<'a>(&'a self, clients: &'a Clients) -> Api<'a> {
        Api { clients, policy: &self.retry_policy, policies: &self.policies }
    }
}

#[async_trait]
impl Provider for GoogleProvider {
    fn name(&self) -> &str {
        "google"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let settings = GoogleSettings::from_config(config, |name| std::env::var(name).ok())?;
        tracing::debug!(?settings, "configuring the google provider");
        let clients = Clients::build(&settings)?;
        self.clients.set(clients);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            CREDENTIAL_CONFIG => credential_config::validate(config),
            SERVICE_ACCOUNT => service_account::validate(config),
            _ => Vec::new(),
        }
    }

    /// Fills what follows from the arguments (emails, ids, the audience), so that dependents
    /// and outputs see them at plan time.
    fn plan(&self, type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let project = self.default_project();
        let project = project.as_deref();
        Ok(match type_of(type_name) {
            Ok(Type::ServiceAccount) => service_account::plan(planned, project),
            Ok(Type::Member(kind)) => iam_member::plan(kind, planned, project),
            Ok(Type::Pool(kind)) => pool::plan(kind, planned, project),
            Ok(Type::CredentialConfig) => credential_config::plan(planned),
            Err(_) => planned,
        })
    }

    /// A binding owns every member of its role: a create overwrites the members there now,
    /// and any change that drops a member is warned about.
    async fn review(&self, type_name: &str, prior: Option<&Value>, planned: &Value) -> Result<Review, ProviderError> {
        if type_name != PROJECT_IAM_BINDING {
            return Ok(Review::default());
        }
        let clients = self.clients()?;
        iam_member::review_binding(&self.api(&clients), prior, planned).await
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        if let Type::CredentialConfig = type_of(type_name)? {
            return credential_config::read(state).await;
        }
        let clients = self.clients()?;
        let api = self.api(&clients);
        match type_of(type_name)? {
            Type::ServiceAccount => service_account::read(&api, state).await,
            Type::Member(kind) => iam_member::read(&api, kind, state).await,
            Type::Pool(kind) => pool::read(&api, kind, state).await,
            Type::CredentialConfig => credential_config::read(state).await,
        }
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        if let Type::CredentialConfig = type_of(type_name)? {
            return credential_config::create(planned).await;
        }
        let clients = self.clients()?;
        let api = self.api(&clients);
        match type_of(type_name)? {
            Type::ServiceAccount => service_account::create(&api, planned).await,
            Type::Member(kind) => iam_member::write(&api, kind, planned).await,
            Type::Pool(kind) => pool::create(&api, kind, planned, checkpoint).await,
            Type::CredentialConfig => credential_config::create(planned).await,
        }
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        if let Type::CredentialConfig = type_of(type_name)? {
            return credential_config::update(planned).await;
        }
        let clients = self.clients()?;
        let api = self.api(&clients);
        match type_of(type_name)? {
            Type::ServiceAccount => service_account::update(&api, prior, planned).await,
            Type::Member(kind) => iam_member::write(&api, kind, planned).await,
            Type::Pool(kind) => pool::update(&api, kind, prior, planned).await,
            Type::CredentialConfig => credential_config::update(planned).await,
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        if let Type::CredentialConfig = type_of(type_name)? {
            return credential_config::delete(state).await;
        }
        let clients = self.clients()?;
        let api = self.api(&clients);
        match type_of(type_name)? {
            Type::ServiceAccount => service_account::delete(&api, state).await,
            Type::Member(kind) => iam_member::delete(&api, kind, state).await,
            Type::Pool(kind) => pool::delete(&api, kind, state).await,
            Type::CredentialConfig => credential_config::delete(state).await,
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = self.api(&clients);
        match type_of(type_name)? {
            Type::ServiceAccount => service_account::import(&api, id).await,
            Type::Member(kind) => iam_member::import(&api, kind, id).await,
            Type::Pool(kind) => pool::import(&api, kind, id).await,
            Type::CredentialConfig => Err(ProviderError::invalid(
                "google_credential_config is a local file that Trustform writes; it cannot be imported, apply instead",
            )),
        }
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        if type_name != PROJECT {
            return Err(ProviderError::invalid(format!("the google provider has no data source {type_name:?}")));
        }
        let clients = self.clients()?;
        project::read(&self.api(&clients), config).await
    }
}
