//! Data sources: `azurerm_client_config` (no API call: the configured identity) and
//! `azurerm_role_definition` (a lookup by name, `$filter=roleName eq '...'`, or by id, mostly
//! of built-in roles such as `Cognitive Services OpenAI User`).

use crate::api::{last_segment, sdk_scope, text, with, Api};
use crate::error::from_azure;
use crate::resources::role_assignment::find_definition_by_name;
use crate::schema;
use async_trait::async_trait;
use azure_mgmt_authorization::package_2022_04_01::models::RoleDefinition;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{DataSource, Session};
use trustform_schema::ResourceSchema;

pub(crate) fn client_config(api: &Api, config: &Value) -> Value {
    let settings = &api.clients.settings;
    let text_value = |value: &Option<String>| Value::string(value.clone().unwrap_or_default());
    let object_id = api.clients.object_id.clone().unwrap_or_default();
    let id = format!(
        "clientConfigs/clientId={};objectId={object_id};subscriptionId={};tenantId={}",
        settings.client_id.as_deref().unwrap_or_default(),
        settings.subscription_id.as_deref().unwrap_or_default(),
        settings.tenant_id.as_deref().unwrap_or_default(),
    );
    with(
        config,
        [
            ("client_id", text_value(&settings.client_id)),
            ("tenant_id", text_value(&settings.tenant_id)),
            ("subscription_id", text_value(&settings.subscription_id)),
            ("object_id", Value::string(object_id)),
            ("id", Value::string(id)),
        ],
    )
}

pub(crate) async fn role_definition(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let scope = match text(config, "scope") {
        Some(scope) => scope.to_owned(),
        None => match &api.clients.settings.subscription_id {
            Some(subscription) => format!("/subscriptions/{subscription}"),
            None => {
                return Err(ProviderError::invalid(
                    "data \"azurerm_role_definition\" needs a scope to look in. Set `scope`, or the provider's \
                     subscription_id (ARM_SUBSCRIPTION_ID).",
                ))
            }
        },
    };
    let definition = match (text(config, "role_definition_id"), text(config, "name")) {
        (Some(guid), _) => {
            let client = api.clients.authorization.role_definitions_client();
            let guid = last_segment(guid);
            api.call(|| {
                let request = client.get(sdk_scope(&scope), guid);
                async move { request.await.map_err(|e| from_azure("roleDefinitions/read", e)) }
            })
            .await?
        }
        (None, Some(name)) => find_definition_by_name(api, &scope, name).await?.ok_or_else(|| {
            ProviderError::not_found(format!(
                "No role called {name:?} is visible at {scope}. Role names are exact, e.g. `Cognitive Services \
                 OpenAI User`; check the spelling, or look the role up by role_definition_id."
            ))
        })?,
        (None, None) => {
            return Err(ProviderError::invalid(
                "data \"azurerm_role_definition\" needs the role to look up. Set `name` or `role_definition_id`.",
            ))
        }
    };
    Ok(with(config, definition_attributes(&definition)))
}

fn definition_attributes(definition: &RoleDefinition) -> Vec<(&'static str, Value)> {
    let strings = |items: &[String]| Value::List(items.iter().map(|item| Value::string(item.as_str())).collect());
    let properties = definition.properties.clone().unwrap_or_default();
    let permissions = properties
        .permissions
        .iter()
        .map(|p| {
            Value::object([
                ("actions", strings(&p.actions)),
                ("not_actions", strings(&p.not_actions)),
                ("data_actions", strings(&p.data_actions)),
                ("not_data_actions", strings(&p.not_data_actions)),
            ])
        })
        .collect();
    let id = definition.id.clone().unwrap_or_default();
    vec![
        ("id", Value::string(&id)),
        ("role_definition_id", Value::string(definition.name.clone().unwrap_or_else(|| last_segment(&id).to_owned()))),
        ("name", Value::string(properties.role_name.unwrap_or_default())),
        ("description", Value::string(properties.description.unwrap_or_default())),
        ("type", Value::string(properties.type_.unwrap_or_default())),
        ("permissions", Value::List(permissions)),
        ("assignable_scopes", strings(&properties.assignable_scopes)),
    ]
}

/// `data "azurerm_client_config"`.
pub(crate) struct ClientConfig;

#[async_trait]
impl DataSource<Api> for ClientConfig {
    fn schema(&self) -> ResourceSchema {
        schema::client_config()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        Ok(client_config(session.clients()?, config))
    }
}

/// `data "azurerm_role_definition"`.
pub(crate) struct RoleDefinitionData;

#[async_trait]
impl DataSource<Api> for RoleDefinitionData {
    fn schema(&self) -> ResourceSchema {
        schema::role_definition_data()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        role_definition(session.clients()?, config).await
    }
}
