//! `aws_iam_role_policy_attachment`: AttachRolePolicy, ListAttachedRolePolicies,
//! DetachRolePolicy. The id is `role/policy_arn`, Terraform's import format.

use crate::api::{found, gone, required, split_id, text, with, Api};
use crate::error::from_sdk;
use crate::resources::iam_role::attached_policy_arns;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

const ID_FORMAT: &str = "`role_name/policy_arn`";

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let (role, arn) = (required(planned, "role")?, required(planned, "policy_arn")?);
    // AttachRolePolicy succeeds for an attachment that exists; one this configuration did not
    // make must be imported rather than silently shared (its destroy would detach it).
    if is_attached(api, role, arn).await? {
        return Err(ProviderError::already_exists(format!(
            "{arn} is already attached to role {role:?}; import it with the id \"{role}/{arn}\""
        )));
    }
    let iam = &api.clients.iam;
    api.call_propagating(|| async move {
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("iam:AttachRolePolicy", e))
    })
    .await?;
    Ok(with(planned, [("id", Value::string(format!("{role}/{arn}")))]))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (role, arn) = split_id(required(state, "id")?, '/', ID_FORMAT)?;
    Ok(is_attached(api, role, arn).await?.then(|| state_of(role, arn)))
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let (role, arn) = split_id(id, '/', ID_FORMAT)?;
    if is_attached(api, role, arn).await? {
        Ok(state_of(role, arn))
    } else {
        Err(ProviderError::not_found(format!("{arn} is not attached to role {role:?}")))
    }
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let (role, arn) = split_id(required(state, "id")?, '/', ID_FORMAT)?;
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:DetachRolePolicy", e))
        })
        .await,
    )
}

/// Whether `arn` is attached to `role`; a role that does not exist has nothing attached.
async fn is_attached(api: &Api, role: &str, arn: &str) -> Result<bool, ProviderError> {
    let attached = found(attached_policy_arns(api, role).await)?.unwrap_or_default();
    Ok(attached.iter().any(|attached| attached == arn))
}

fn state_of(role: &str, arn: &str) -> Value {
    Value::object([
        ("id", Value::string(format!("{role}/{arn}"))),
        ("role", Value::string(role)),
        ("policy_arn", Value::string(arn)),
    ])
}

/// `aws_iam_role_policy_attachment`, as the provider serves it.
pub(crate) struct IamRolePolicyAttachment;

#[async_trait]
impl ResourceType<Api> for IamRolePolicyAttachment {
    fn schema(&self) -> ResourceSchema {
        schema::iam_role_policy_attachment()
    }

    /// The id, `ROLE/POLICY_ARN`, follows from the arguments.
    fn plan(&self, _: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match text(&planned, "role").zip(text(&planned, "policy_arn")) {
            Some((role, arn)) => {
                let id = format!("{role}/{arn}");
                with(&planned, [("id", Value::String(id))])
            }
            None => planned,
        })
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        _: &dyn trustform_provider::Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, planned).await
    }

    /// Both arguments force replacement: an update can only carry the id over.
    async fn update(&self, _: &Session<Api>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Ok(with(planned, [("id", prior.get("id").cloned().unwrap_or_default())]))
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, id).await
    }
}
