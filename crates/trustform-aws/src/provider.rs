//! [`AwsProvider`]: how `configure` builds the clients, and the table of types it serves.

use crate::api::Api;
use crate::config::{AwsSettings, Clients};
use crate::resources::data::{CallerIdentity, EksCluster, IamPolicyDocument};
use crate::resources::eks_addon::EksAddon;
use crate::resources::eks_pod_identity::EksPodIdentityAssociation;
use crate::resources::iam_oidc_provider::{IamOidcProvider, IamOidcProviderData};
use crate::resources::iam_policy::IamPolicy;
use crate::resources::iam_role::IamRole;
use crate::resources::iam_role_policy::IamRolePolicy;
use crate::resources::iam_role_policy_attachment::IamRolePolicyAttachment;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::{Adapter, ProviderError, Registry, RetryPolicy, TableProvider};
use trustform_schema::Block;

/// The `aws` provider: IAM roles, inline and attached role policies, customer managed policies,
/// OIDC providers, EKS pod identity associations and add-ons, plus the `aws_caller_identity`, `aws_eks_cluster`,
/// `aws_iam_openid_connect_provider` and `aws_iam_policy_document` data sources.
///
/// Every call is retried under one [`RetryPolicy`] (throttling, 5xx, timeouts, and IAM
/// propagation errors right after a create); the SDK's own retries are off.
pub type AwsProvider = TableProvider<Aws>;

/// The AWS adapter, as [`TableProvider`] runs it.
#[derive(Debug, Default)]
pub struct Aws;

#[async_trait]
impl Adapter for Aws {
    type Clients = Api;
    const NAME: &'static str = "aws";

    fn provider_block() -> Block {
        schema::provider_block()
    }

    fn register(types: &mut Registry<Api>) {
        types
            .resource(IamRole)
            .resource(IamRolePolicy)
            .resource(IamRolePolicyAttachment)
            .resource(IamPolicy)
            .resource(IamOidcProvider)
            .resource(EksPodIdentityAssociation)
            .resource(EksAddon)
            .data_source(CallerIdentity)
            .data_source(EksCluster)
            .data_source(IamPolicyDocument)
            .data_source(IamOidcProviderData);
    }

    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<Api, ProviderError> {
        let settings = AwsSettings::from_config(config)?;
        tracing::debug!(?settings, "configuring the aws provider");
        let clients = Clients::build(&settings).await;
        let mut api = Api { clients, policy: retry_policy.clone(), account: None };
        api.account = match settings.skip_requesting_account_id {
            true => None,
            false => crate::account::look_up(&api.clients, retry_policy).await,
        };
        if !settings.allowed_account_ids.is_empty() {
            // As the Terraform AWS provider does (internal/conns/config.go, `verifyAccountIDAllowed`):
            // the credentials' account, from STS, must be one of those listed. The lookup above
            // answers it when it could; otherwise STS is asked here, and unlike the lookup a
            // failure stops the run: the list is a guard.
            let account = match &api.account {
                Some(account) => account.id.clone(),
                None => {
                    let sts = &api.clients.sts;
                    let identity = api
                        .call(|| async move {
                            sts.get_caller_identity()
                                .send()
                                .await
                                .map_err(|e| crate::error::from_sdk("sts:GetCallerIdentity", e))
                        })
                        .await?;
                    identity.account().unwrap_or_default().to_owned()
                }
            };
            if !settings.allowed_account_ids.contains(&account) {
                return Err(ProviderError::invalid(format!(
                    "provider \"aws\": the credentials are for AWS account {account}, which is not in allowed_account_ids ({}); use credentials for one of those accounts, or fix the list",
                    settings.allowed_account_ids.join(", ")
                )));
            }
        }
        Ok(api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{IAM_POLICY_DOCUMENT, IAM_ROLE, IAM_ROLE_POLICY};
    use trustform_provider::Provider;

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
        let offline = Value::object([("region", "us-east-1".into()), ("skip_requesting_account_id", true.into())]);
        provider.configure(&offline).await.unwrap();
        let error = provider.read("aws_s3_bucket", &Value::Null).await.unwrap_err();
        assert_eq!(error.message, "the aws provider has no resource type \"aws_s3_bucket\"");
    }
}
