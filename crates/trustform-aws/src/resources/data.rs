//! Data sources: `aws_caller_identity` (STS GetCallerIdentity), `aws_eks_cluster` (EKS
//! DescribeCluster, for the OIDC issuer IRSA trust policies name) and `aws_iam_policy_document`
//! (no API call).

use crate::api::{required, with, Api};
use crate::error::from_sdk;
use crate::policy_document::{hashcode, render};
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{DataSource, Session};
use trustform_schema::ResourceSchema;

pub(crate) async fn caller_identity(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let sts = &api.clients.sts;
    let output = api
        .call(
            || async move { sts.get_caller_identity().send().await.map_err(|e| from_sdk("sts:GetCallerIdentity", e)) },
        )
        .await?;
    let text = |value: Option<&str>| value.map(Value::string).unwrap_or_default();
    Ok(with(
        config,
        [
            ("id", text(output.account())),
            ("account_id", text(output.account())),
            ("arn", text(output.arn())),
            ("user_id", text(output.user_id())),
        ],
    ))
}

pub(crate) async fn eks_cluster(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let name = required(config, "name")?;
    let eks = &api.clients.eks;
    let output = api
        .call(|| async move {
            eks.describe_cluster().name(name).send().await.map_err(|e| from_sdk("eks:DescribeCluster", e))
        })
        .await?;
    let cluster = output
        .cluster
        .ok_or_else(|| ProviderError::not_found(format!("eks:DescribeCluster returned no cluster {name:?}")))?;
    let text = |value: Option<&str>| value.map(Value::string).unwrap_or_default();
    // Terraform shapes it `identity = [{ oidc = [{ issuer }] }]`, so configurations read
    // `identity[0].oidc[0].issuer`.
    let identity = match cluster.identity().and_then(|identity| identity.oidc()) {
        Some(oidc) => Value::List(vec![Value::object([(
            "oidc",
            Value::List(vec![Value::object([("issuer", text(oidc.issuer()))])]),
        )])]),
        None => Value::List(Vec::new()),
    };
    // Terraform shapes it `certificate_authority = [{ data }]`.
    let certificate_authority = match cluster.certificate_authority().and_then(|ca| ca.data()) {
        Some(data) => Value::List(vec![Value::object([("data", Value::string(data))])]),
        None => Value::List(Vec::new()),
    };
    let created_at = cluster
        .created_at()
        .and_then(|date| date.fmt(aws_sdk_eks::primitives::DateTimeFormat::DateTime).ok())
        .map(Value::string)
        .unwrap_or_default();
    Ok(with(
        config,
        [
            ("id", Value::string(name)),
            ("arn", text(cluster.arn())),
            ("endpoint", text(cluster.endpoint())),
            ("version", text(cluster.version())),
            ("platform_version", text(cluster.platform_version())),
            ("status", text(cluster.status().map(|status| status.as_str()))),
            ("role_arn", text(cluster.role_arn())),
            ("created_at", created_at),
            ("identity", identity),
            ("certificate_authority", certificate_authority),
        ],
    ))
}

pub(crate) fn iam_policy_document(config: &Value) -> Result<Value, ProviderError> {
    let rendered = render(config)?;
    let id = hashcode(&rendered.json);
    Ok(with(
        config,
        [
            ("json", Value::string(rendered.json)),
            ("minified_json", Value::string(rendered.minified)),
            ("id", Value::string(id)),
        ],
    ))
}

/// `data "aws_caller_identity"`.
pub(crate) struct CallerIdentity;

#[async_trait]
impl DataSource<Api> for CallerIdentity {
    fn schema(&self) -> ResourceSchema {
        schema::caller_identity()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        caller_identity(session.clients()?, config).await
    }
}

/// `data "aws_eks_cluster"`.
pub(crate) struct EksCluster;

#[async_trait]
impl DataSource<Api> for EksCluster {
    fn schema(&self) -> ResourceSchema {
        schema::eks_cluster()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        eks_cluster(session.clients()?, config).await
    }
}

/// `data "aws_iam_policy_document"`: rendered from its arguments, so it needs no configuration.
pub(crate) struct IamPolicyDocument;

#[async_trait]
impl DataSource<Api> for IamPolicyDocument {
    fn schema(&self) -> ResourceSchema {
        schema::iam_policy_document()
    }

    async fn read_data(&self, _: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        iam_policy_document(config)
    }
}
