//! [`AwsProvider`]: the `Provider` implementation, dispatching each call to its resource type.

use crate::api::{with, Api};
use crate::config::{AwsSettings, Clients};
use crate::resources::{
    data, eks_pod_identity, iam_oidc_provider, iam_role, iam_role_policy, iam_role_policy_attachment,
};
use crate::schema::{
    CALLER_IDENTITY, EKS_CLUSTER, EKS_POD_IDENTITY_ASSOCIATION, IAM_OIDC_PROVIDER, IAM_POLICY_DOCUMENT, IAM_ROLE,
    IAM_ROLE_POLICY, IAM_ROLE_POLICY_ATTACHMENT, SCHEMA,
};
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, ValidationIssue};
use trustform_schema::ProviderSchema;

/// The `aws` provider: IAM roles, inline and attached role policies, OIDC providers and EKS
/// pod identity associations, plus the `aws_caller_identity`, `aws_eks_cluster` and
/// `aws_iam_policy_document` data sources.
///
/// Every call is retried under one [`RetryPolicy`] (throttling, 5xx, timeouts, and IAM
/// propagation errors right after a create); the SDK's own retries are off.
pub struct AwsProvider {
    clients: Configured<Clients>,
    retry_policy: RetryPolicy,
}

impl Default for AwsProvider {
    fn default() -> Self {
        AwsProvider::new()
    }
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configured = self.clients.is_set();
        f.debug_struct("AwsProvider")
            .field("configured", &configured)
            .field("retry_policy", &self.retry_policy)
            .finish()
    }
}

impl AwsProvider {
    /// An unconfigured provider with the default retry policy (two minutes of backoff).
    pub fn new() -> AwsProvider {
        AwsProvider { clients: Configured::new("aws"), retry_policy: RetryPolicy::default() }
    }

    /// Replaces the retry policy: shorter deadlines for tests, longer ones for slow accounts.
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> AwsProvider {
        self.retry_policy = retry_policy;
        self
    }

    fn clients(&self) -> Result<Clients, ProviderError> {
        self.clients.get()
    }
}

fn unknown_type(kind: &str, type_name: &str) -> ProviderError {
    ProviderError::invalid(format!("the aws provider has no {kind} {type_name:?}"))
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    fn schema(&self) -> &ProviderSchema {
        &SCHEMA
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let settings = AwsSettings::from_config(config)?;
        tracing::debug!(?settings, "configuring the aws provider");
        let clients = Clients::build(&settings).await;
        if !settings.allowed_account_ids.is_empty() {
            // As the Terraform AWS provider does (internal/conns/config.go, `verifyAccountIDAllowed`):
            // the credentials' account, from STS, must be one of those listed.
            let api = Api { clients: &clients, policy: &self.retry_policy };
            let sts = &clients.sts;
            let identity = api
                .call(|| async move {
                    sts.get_caller_identity()
                        .send()
                        .await
                        .map_err(|e| crate::error::from_sdk("sts:GetCallerIdentity", e))
                })
                .await?;
            let account = identity.account().unwrap_or_default();
            if !settings.allowed_account_ids.iter().any(|allowed| allowed == account) {
                return Err(ProviderError::invalid(format!(
                    "provider \"aws\": the credentials are for AWS account {account}, which is not in allowed_account_ids ({}); use credentials for one of those accounts, or fix the list",
                    settings.allowed_account_ids.join(", ")
                )));
            }
        }
        self.clients.set(clients);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        match type_name {
            IAM_ROLE => iam_role::validate(config),
            _ => Vec::new(),
        }
    }

    /// Fills the ids that follow from the arguments, so that dependents see them at plan time.
    fn plan(&self, type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let known = |name: &str| planned.get(name).and_then(Value::as_str).map(str::to_owned);
        let id = match type_name {
            IAM_ROLE => known("name"),
            IAM_ROLE_POLICY => known("role").zip(known("name")).map(|(role, name)| format!("{role}:{name}")),
            IAM_ROLE_POLICY_ATTACHMENT => {
                known("role").zip(known("policy_arn")).map(|(role, arn)| format!("{role}/{arn}"))
            }
            _ => None,
        };
        Ok(match id {
            Some(id) => with(&planned, [("id", Value::String(id))]),
            None => planned,
        })
    }

    /// OIDC providers and pod identity associations get their ids from AWS, but each has a
    /// natural key an interrupted create can be found by.
    fn findable(&self, type_name: &str) -> bool {
        matches!(type_name, IAM_OIDC_PROVIDER | EKS_POD_IDENTITY_ASSOCIATION)
    }

    async fn find(&self, type_name: &str, planned: &Value) -> Result<Option<Value>, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_OIDC_PROVIDER => iam_oidc_provider::find(&api, planned).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::find(&api, planned).await,
            _ => Ok(None),
        }
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_ROLE => iam_role::read(&api, state).await,
            IAM_ROLE_POLICY => iam_role_policy::read(&api, state).await,
            IAM_ROLE_POLICY_ATTACHMENT => iam_role_policy_attachment::read(&api, state).await,
            IAM_OIDC_PROVIDER => iam_oidc_provider::read(&api, state).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::read(&api, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_ROLE => iam_role::create(&api, planned).await,
            IAM_ROLE_POLICY => iam_role_policy::create(&api, planned).await,
            IAM_ROLE_POLICY_ATTACHMENT => iam_role_policy_attachment::create(&api, planned).await,
            IAM_OIDC_PROVIDER => iam_oidc_provider::create(&api, planned).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::create(&api, planned, checkpoint).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_ROLE => iam_role::update(&api, prior, planned).await,
            IAM_ROLE_POLICY => iam_role_policy::update(&api, prior, planned).await,
            // Both arguments force replacement: an update can only carry the id over.
            IAM_ROLE_POLICY_ATTACHMENT => Ok(with(planned, [("id", prior.get("id").cloned().unwrap_or_default())])),
            IAM_OIDC_PROVIDER => iam_oidc_provider::update(&api, prior, planned).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::update(&api, prior, planned).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_ROLE => iam_role::delete(&api, state).await,
            IAM_ROLE_POLICY => iam_role_policy::delete(&api, state).await,
            IAM_ROLE_POLICY_ATTACHMENT => iam_role_policy_attachment::delete(&api, state).await,
            IAM_OIDC_PROVIDER => iam_oidc_provider::delete(&api, state).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::delete(&api, state).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            IAM_ROLE => iam_role::import(&api, id).await,
            IAM_ROLE_POLICY => iam_role_policy::import(&api, id).await,
            IAM_ROLE_POLICY_ATTACHMENT => iam_role_policy_attachment::import(&api, id).await,
            IAM_OIDC_PROVIDER => iam_oidc_provider::import(&api, id).await,
            EKS_POD_IDENTITY_ASSOCIATION => eks_pod_identity::import(&api, id).await,
            _ => Err(unknown_type("resource type", type_name)),
        }
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        if type_name == IAM_POLICY_DOCUMENT {
            return data::iam_policy_document(config);
        }
        let clients = self.clients()?;
        let api = Api { clients: &clients, policy: &self.retry_policy };
        match type_name {
            CALLER_IDENTITY => data::caller_identity(&api, config).await,
            EKS_CLUSTER => data::eks_cluster(&api, config).await,
            _ => Err(unknown_type("data source", type_name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_policy_document_needs_no_configuration() {
        let provider = AwsProvider::new();
        let config = Value::object([(
            "statement",
            Value::List(vec![Value::object([("actions", Value::List(vec!["sts:AssumeRole".into()]))])]),
        )]);
        let document = provider.read_data(IAM_POLICY_DOCUMENT, &config).await.unwrap();
        assert_eq!(
            document.get("minified_json").and_then(Value::as_str),
            Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#)
        );
    }

    #[test]
    fn plan_fills_ids_that_follow_from_the_arguments() {
        let provider = AwsProvider::new();
        let planned = Value::object([("role", "litellm".into()), ("name", "invoke".into()), ("id", Value::Unknown)]);
        let planned = provider.plan(IAM_ROLE_POLICY, None, planned).unwrap();
        assert_eq!(planned.get("id"), Some(&Value::from("litellm:invoke")));
        let unknown_name = Value::object([("name", Value::Unknown), ("id", Value::Unknown)]);
        assert_eq!(provider.plan(IAM_ROLE, None, unknown_name.clone()).unwrap(), unknown_name);
    }

    #[tokio::test]
    async fn calls_before_configure_and_unknown_types_are_invalid() {
        let provider = AwsProvider::new();
        let error = provider.read(IAM_ROLE, &Value::Null).await.unwrap_err();
        assert!(error.message.contains("before `configure`"));
        provider.configure(&Value::object([("region", "us-east-1".into())])).await.unwrap();
        let error = provider.read("aws_s3_bucket", &Value::Null).await.unwrap_err();
        assert_eq!(error.message, "the aws provider has no resource type \"aws_s3_bucket\"");
    }
}
