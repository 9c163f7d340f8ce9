//! `aws_iam_role_policy`, an inline policy: PutRolePolicy, GetRolePolicy, DeleteRolePolicy.
//! The id is `role:name`, as in Terraform.

use crate::api::{found, gone, required, split_id, text, with, Api};
use crate::error::from_sdk;
use crate::policy::policy_value;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

const ID_FORMAT: &str = "`role_name:policy_name`";

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let (role, name) = (required(planned, "role")?, required(planned, "name")?);
    // PutRolePolicy overwrites silently; a policy of the same name that someone else owns must
    // be imported, not taken over.
    if found(get_policy(api, role, name).await)?.is_some() {
        return Err(ProviderError::already_exists(format!(
            "role {role:?} already has an inline policy named {name:?}; import it with the id \"{role}:{name}\""
        )));
    }
    put(api, planned).await?;
    Ok(with(planned, [("id", Value::string(format!("{role}:{name}")))]))
}

pub(crate) async fn update(api: &Api, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    put(api, planned).await?;
    let (role, name) = (required(planned, "role")?, required(planned, "name")?);
    Ok(with(planned, [("id", Value::string(format!("{role}:{name}")))]))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (role, name) = split_id(required(state, "id")?, ':', ID_FORMAT)?;
    let document = found(get_policy(api, role, name).await)?;
    Ok(document.map(|document| state_of(Some(state), role, name, &document)))
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let (role, name) = split_id(id, ':', ID_FORMAT)?;
    let document = get_policy(api, role, name).await?;
    Ok(state_of(None, role, name, &document))
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let (role, name) = split_id(required(state, "id")?, ':', ID_FORMAT)?;
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:DeleteRolePolicy", e))
        })
        .await,
    )
}

async fn put(api: &Api, planned: &Value) -> Result<(), ProviderError> {
    let (role, name, policy) = (required(planned, "role")?, required(planned, "name")?, required(planned, "policy")?);
    let iam = &api.clients.iam;
    // The role may have been created a moment ago and not be visible to IAM everywhere yet.
    api.call_propagating(|| async move {
        iam.put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(policy)
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("iam:PutRolePolicy", e))
    })
    .await
}

/// The policy document, URL-encoded as IAM returns it.
async fn get_policy(api: &Api, role: &str, name: &str) -> Result<String, ProviderError> {
    let iam = &api.clients.iam;
    let output = api
        .call(|| async move {
            iam.get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| from_sdk("iam:GetRolePolicy", e))
        })
        .await?;
    Ok(output.policy_document)
}

fn state_of(prior: Option<&Value>, role: &str, name: &str, raw_document: &str) -> Value {
    Value::object([
        ("id", Value::string(format!("{role}:{name}"))),
        ("role", Value::string(role)),
        ("name", Value::string(name)),
        ("policy", policy_value(prior.and_then(|prior| prior.get("policy")), raw_document)),
    ])
}

/// `aws_iam_role_policy`, as the provider serves it.
pub(crate) struct IamRolePolicy;

#[async_trait]
impl ResourceType<Api> for IamRolePolicy {
    fn schema(&self) -> ResourceSchema {
        schema::iam_role_policy()
    }

    /// The id, `ROLE:NAME`, follows from the arguments.
    fn plan(&self, _: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match text(&planned, "role").zip(text(&planned, "name")) {
            Some((role, name)) => {
                let id = format!("{role}:{name}");
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

    async fn update(&self, session: &Session<Api>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(session.clients()?, prior, planned).await
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, id).await
    }
}
