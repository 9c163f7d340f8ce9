//! `azurerm_role_definition`: `PUT/GET/DELETE {scope}/providers/Microsoft.Authorization/
//! roleDefinitions/{roleDefinitionId}`. The id is `{role_definition_resource_id}|{scope}`, and
//! so is the import id, as in Terraform.
//!
//! Writes replicate: after a PUT, reads may show the previous version for a while, so create and
//! update read until the definition shows what was written before they report success.

use crate::api::{
    found, gone, is_management_group, keep_empty_spelling, last_segment, optional_text, required, scope_of_id,
    scope_within, sdk_scope, string_set, strings, text, with, Api,
};
use crate::error::{from_azure, retryable};
use crate::schema;
use async_trait::async_trait;
use azure_mgmt_authorization::package_2022_04_01::models::{Permission, RoleDefinition, RoleDefinitionProperties};
use std::collections::BTreeSet;
use trustform_lang::Value;
use trustform_provider::{retry, ProviderError, ValidationIssue};
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

const ID_FORMAT: &str = "`{role_definition_resource_id}|{scope}`";
const NOT_YET_VISIBLE: &str = "WriteNotYetVisible";
const PERMISSION_LISTS: [&str; 4] = ["actions", "not_actions", "data_actions", "not_data_actions"];

/// Plan-time checks: the definition must be written where it can be assigned, and data actions
/// cannot be granted at management group scope.
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    if let Some(id) = text(config, "role_definition_id") {
        if uuid::Uuid::parse_str(id).is_err() {
            issues.push(issue(
                "role_definition_id",
                "Invalid role definition id",
                format!(
                    "A role definition id is a GUID, not {id:?}. Remove it to have one generated, or write a GUID."
                ),
            ));
        }
    }
    let scope = text(config, "scope");
    let assignable = known_strings(config, "assignable_scopes");
    if let (Some(scope), Some(assignable)) = (scope, &assignable) {
        let related = assignable.is_empty()
            || assignable.iter().any(|other| scope_within(scope, other) || scope_within(other, scope));
        if !related {
            issues.push(issue(
                "scope",
                "Scope outside the assignable scopes",
                format!(
                    "The role definition is written at {scope:?}, which lies outside every one of its \
                     assignable_scopes ({}). Set scope to the subscription or resource group the role is meant \
                     for, or add it to assignable_scopes.",
                    assignable.join(", ")
                ),
            ));
        }
    }
    let grants_data_actions = config.get("permissions").and_then(Value::as_list).is_some_and(|blocks| {
        blocks
            .iter()
            .any(|block| !strings(block, "data_actions").is_empty() || !strings(block, "not_data_actions").is_empty())
    });
    let management_group = scope
        .into_iter()
        .chain(assignable.iter().flatten().map(String::as_str))
        .find(|scope| is_management_group(scope));
    if let (true, Some(group)) = (grants_data_actions, management_group) {
        issues.push(issue(
            "permissions",
            "Data actions at management group scope",
            format!(
                "Azure does not allow custom roles with data_actions or not_data_actions to be assignable at a \
                 management group ({group}). Assign the role at subscriptions or resource groups instead, or move \
                 the data actions to a role of their own."
            ),
        ));
    }
    issues
}

fn issue(attribute: &str, summary: &str, detail: String) -> ValidationIssue {
    ValidationIssue { attribute: attribute.to_owned(), summary: summary.to_owned(), detail, is_error: true }
}

/// The strings of a set attribute when the whole list is known.
fn known_strings(value: &Value, name: &str) -> Option<Vec<String>> {
    let items = value.get(name)?.as_list()?;
    items.iter().map(|item| item.as_str().map(str::to_owned)).collect()
}

/// Keeps the prior state's spelling of "none" where the configuration spells it the other way:
/// ARM makes no difference between an absent and an empty description or action list, and an
/// imported definition cannot know which one the spec uses.
pub(crate) fn plan(prior: Option<&Value>, planned: Value) -> Value {
    let Some(prior) = prior else { return with_planned_id(planned) };
    let mut planned = keep_empty_spelling(prior, planned, &["description", "assignable_scopes"]);
    let prior_blocks = prior.get("permissions").and_then(Value::as_list).unwrap_or_default();
    if let Value::Object(map) = &mut planned {
        if let Some(Value::List(blocks)) = map.get_mut("permissions") {
            for (block, prior_block) in blocks.iter_mut().zip(prior_blocks) {
                *block = keep_empty_spelling(prior_block, std::mem::take(block), &PERMISSION_LISTS);
            }
        }
    }
    planned
}

/// The namespace of role definition GUIDs derived from scope and role name (UUIDv5).
const GUID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x3b9e_41d0_7c2a_5e8f_a1d4_62c0_9f57_e2b3);

/// The GUID of a new definition: the same scope and role name always give the same one (case
/// does not matter, as it does not to ARM), so a create retried after a killed run writes the
/// same definition, never a second one that ARM refuses as `RoleDefinitionWithSameNameExists`.
pub(crate) fn deterministic_guid(scope: &str, role_name: &str) -> String {
    let key = format!("{}|{}", scope.trim_end_matches('/'), role_name).to_ascii_lowercase();
    uuid::Uuid::new_v5(&GUID_NAMESPACE, key.as_bytes()).to_string()
}

/// A new definition's id, planned once its scope and name are known, so the engine records the
/// create before it is sent and finds the definition again after a kill.
fn with_planned_id(planned: Value) -> Value {
    let (Some(scope), Some(name)) = (text(&planned, "scope"), text(&planned, "name")) else { return planned };
    let scope = scope.trim_end_matches('/').to_owned();
    let guid = match text(&planned, "role_definition_id") {
        Some(guid) => guid.to_owned(),
        None => deterministic_guid(&scope, name),
    };
    let resource_id = format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
    with(
        &planned,
        [
            ("role_definition_id", Value::string(&guid)),
            ("role_definition_resource_id", Value::string(&resource_id)),
            ("id", Value::string(format!("{resource_id}|{scope}"))),
        ],
    )
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let scope = required(planned, "scope")?;
    let guid = match text(planned, "role_definition_id") {
        Some(guid) => {
            if let Some(existing) = found(get(api, scope, guid).await)? {
                let id = existing.id.unwrap_or_default();
                return Err(ProviderError::already_exists(format!(
                    "A role definition with id {guid} exists already ({id}). To manage it with trustform, import \
                     it: `trustform import azurerm_role_definition.NAME '{id}|{scope}'`."
                )));
            }
            guid.to_owned()
        }
        None => deterministic_guid(scope, required(planned, "name")?),
    };
    let properties = properties_of(planned);
    put(api, scope, &guid, &properties).await?;
    let live = wait_until_reads_show(api, scope, &guid, &properties).await?;
    state_of(Some(planned), scope, &live)
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let scope = required(state, "scope")?;
    let guid = guid_of(state)?;
    match found(get(api, scope, guid).await)? {
        Some(live) => state_of(Some(state), scope, &live).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let (resource_id, scope) = match id.split_once('|') {
        Some((resource_id, scope)) if !scope.is_empty() => (resource_id, scope),
        _ => (id, scope_of_id(id).unwrap_or_default()),
    };
    if scope_of_id(resource_id).is_none() {
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a role definition id; write it as {ID_FORMAT}, e.g. \
             `/subscriptions/SUB/providers/Microsoft.Authorization/roleDefinitions/GUID|/subscriptions/SUB`."
        )));
    }
    let scope = if scope.is_empty() { "/" } else { scope };
    let live = get(api, scope, last_segment(resource_id)).await?;
    state_of(None, scope, &live)
}

pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let scope = required(prior, "scope")?;
    let guid = guid_of(prior)?;
    let properties = properties_of(planned);
    put(api, scope, guid, &properties).await?;
    let live = wait_until_reads_show(api, scope, guid, &properties).await?;
    state_of(Some(planned), scope, &live)
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let scope = required(state, "scope")?;
    let guid = guid_of(state)?;
    let client = api.clients.authorization.role_definitions_client();
    // A definition still referenced by an assignment that is being deleted answers
    // RoleDefinitionHasAssignments (a conflict) until the deletion replicates: retried.
    gone(
        api.call(|| {
            let request = client.delete(sdk_scope(scope), guid);
            async move { request.send().await.map(drop).map_err(|e| from_azure("roleDefinitions/delete", e)) }
        })
        .await,
    )
}

async fn get(api: &Api, scope: &str, guid: &str) -> Result<RoleDefinition, ProviderError> {
    let client = api.clients.authorization.role_definitions_client();
    api.call(|| {
        let request = client.get(sdk_scope(scope), guid);
        async move { request.await.map_err(|e| from_azure("roleDefinitions/read", e)) }
    })
    .await
}

async fn put(api: &Api, scope: &str, guid: &str, properties: &RoleDefinitionProperties) -> Result<(), ProviderError> {
    let client = api.clients.authorization.role_definitions_client();
    let body = RoleDefinition { properties: Some(properties.clone()), ..RoleDefinition::default() };
    api.call(|| {
        let request = client.create_or_update(sdk_scope(scope), guid, body.clone());
        async move { request.send().await.map(drop).map_err(|e| from_azure("roleDefinitions/write", e)) }
    })
    .await
}

/// Reads the definition until it shows `written`, within the retry policy's deadline.
async fn wait_until_reads_show(
    api: &Api,
    scope: &str,
    guid: &str,
    written: &RoleDefinitionProperties,
) -> Result<RoleDefinition, ProviderError> {
    let client = api.clients.authorization.role_definitions_client();
    retry(
        &api.policy,
        |error| retryable(error) || error.is_not_found() || error.code.as_deref() == Some(NOT_YET_VISIBLE),
        || {
            let request = client.get(sdk_scope(scope), guid);
            async move {
                let live = request.await.map_err(|e| from_azure("roleDefinitions/read", e))?;
                match &live.properties {
                    Some(properties) if same_definition(properties, written) => Ok(live),
                    _ => Err(ProviderError::transient(format!(
                        "roleDefinitions/read: role definition {guid} does not show the last write yet"
                    ))
                    .with_code(NOT_YET_VISIBLE)),
                }
            }
        },
    )
    .await
}

/// What the PUT body holds for a planned value; assignable scopes default to `[scope]`.
fn properties_of(planned: &Value) -> RoleDefinitionProperties {
    let permissions = planned
        .get("permissions")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|block| Permission {
            actions: strings(block, "actions"),
            not_actions: strings(block, "not_actions"),
            data_actions: strings(block, "data_actions"),
            not_data_actions: strings(block, "not_data_actions"),
        })
        .collect();
    let mut assignable_scopes = strings(planned, "assignable_scopes");
    if assignable_scopes.is_empty() {
        assignable_scopes.extend(text(planned, "scope").map(str::to_owned));
    }
    RoleDefinitionProperties {
        role_name: text(planned, "name").map(str::to_owned),
        description: text(planned, "description").map(str::to_owned),
        type_: Some("CustomRole".to_owned()),
        permissions,
        assignable_scopes,
        ..RoleDefinitionProperties::default()
    }
}

/// Whether a read shows what was written: lists compare as sets, scopes and actions without
/// regard to case, an absent description as an empty one.
fn same_definition(live: &RoleDefinitionProperties, written: &RoleDefinitionProperties) -> bool {
    let set = |items: &[String]| items.iter().map(|item| item.to_ascii_lowercase()).collect::<BTreeSet<_>>();
    let permissions = |list: &[Permission]| {
        list.iter()
            .map(|p| [set(&p.actions), set(&p.not_actions), set(&p.data_actions), set(&p.not_data_actions)])
            .collect::<Vec<_>>()
    };
    live.role_name == written.role_name
        && live.description.as_deref().unwrap_or_default() == written.description.as_deref().unwrap_or_default()
        && permissions(&live.permissions) == permissions(&written.permissions)
        && set(&live.assignable_scopes) == set(&written.assignable_scopes)
}

fn guid_of(state: &Value) -> Result<&str, ProviderError> {
    text(state, "role_definition_id")
        .or_else(|| text(state, "role_definition_resource_id").map(last_segment))
        .ok_or_else(|| ProviderError::invalid("the role definition state has no role_definition_id"))
}

/// The state of a live definition, keeping the prior state's spelling of "none".
fn state_of(prior: Option<&Value>, scope: &str, live: &RoleDefinition) -> Result<Value, ProviderError> {
    let properties = live
        .properties
        .as_ref()
        .ok_or_else(|| ProviderError::transient("roleDefinitions/read: the answer has no properties"))?;
    let resource_id = live.id.clone().unwrap_or_default();
    let guid = live.name.clone().unwrap_or_else(|| last_segment(&resource_id).to_owned());
    let prior_blocks = prior.and_then(|prior| prior.get("permissions")).and_then(Value::as_list).unwrap_or_default();
    let permissions = properties
        .permissions
        .iter()
        .enumerate()
        .map(|(index, permission)| {
            let prior_block = prior_blocks.get(index);
            let lists =
                [&permission.actions, &permission.not_actions, &permission.data_actions, &permission.not_data_actions];
            Value::object(
                PERMISSION_LISTS
                    .into_iter()
                    .zip(lists)
                    .map(|(name, items)| (name, string_set(prior_block.and_then(|block| block.get(name)), items))),
            )
        })
        .collect();
    let prior_attribute = |name: &str| prior.and_then(|prior| prior.get(name));
    let state = Value::object([
        ("role_definition_id", Value::string(guid)),
        ("name", properties.role_name.clone().map(Value::string).unwrap_or_default()),
        ("scope", Value::string(scope)),
        ("description", optional_text(prior_attribute("description"), properties.description.as_deref())),
        ("permissions", Value::List(permissions)),
        ("assignable_scopes", string_set(prior_attribute("assignable_scopes"), &properties.assignable_scopes)),
        ("role_definition_resource_id", Value::string(&resource_id)),
        ("id", Value::string(format!("{resource_id}|{scope}"))),
    ]);
    // Scopes are case-insensitive: keep the spelling the user wrote when ARM agrees.
    Ok(match prior_attribute("assignable_scopes") {
        Some(prior_scopes) if same_scopes(prior_scopes, state.get("assignable_scopes")) => {
            with(&state, [("assignable_scopes", prior_scopes.clone())])
        }
        _ => state,
    })
}

fn same_scopes(a: &Value, b: Option<&Value>) -> bool {
    let lower = |value: &Value| -> Option<BTreeSet<String>> {
        value.as_list().map(|items| items.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect())
    };
    matches!((lower(a), b.and_then(lower)), (Some(x), Some(y)) if x == y)
}

/// `azurerm_role_definition`, as the provider serves it.
pub(crate) struct AzureRoleDefinition;

#[async_trait]
impl ResourceType<Api> for AzureRoleDefinition {
    fn schema(&self) -> ResourceSchema {
        schema::role_definition()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    /// Keeps the prior spelling of empty descriptions and action lists.
    fn plan(&self, _: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(prior, planned))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_definition_gets_a_guid_derived_from_scope_and_name() {
        let config = |scope: &str, name: &str| Value::object([("scope", scope.into()), ("name", name.into())]);
        let planned = plan(None, config("/subscriptions/s1", "Invoke Only"));
        let guid = text(&planned, "role_definition_id").unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&guid).is_ok());
        assert_eq!(
            text(&planned, "id").unwrap(),
            format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}|/subscriptions/s1")
        );
        let again = plan(None, config("/SUBSCRIPTIONS/s1/", "invoke only"));
        assert_eq!(text(&again, "role_definition_id"), Some(guid.as_str()), "case and a trailing slash do not matter");
        assert_ne!(text(&plan(None, config("/subscriptions/s1", "Other")), "role_definition_id"), Some(guid.as_str()));
        let chosen = with(&config("/subscriptions/s1", "Invoke Only"), [("role_definition_id", "0b6c".into())]);
        assert_eq!(text(&plan(None, chosen), "role_definition_id"), Some("0b6c"), "a GUID the spec gives wins");
        let unknown = Value::object([("scope", Value::Unknown), ("name", "n".into())]);
        assert_eq!(plan(None, unknown.clone()), unknown, "nothing to derive from yet");
    }

    fn permissions(data_actions: &[&str]) -> Value {
        let items = data_actions.iter().map(|action| Value::string(*action)).collect();
        Value::List(vec![Value::object([("data_actions", Value::List(items))])])
    }

    #[test]
    fn a_scope_unrelated_to_the_assignable_scopes_is_an_error() {
        let config = Value::object([
            ("scope", "/subscriptions/s/resourceGroups/a".into()),
            ("assignable_scopes", Value::List(vec!["/subscriptions/s/resourceGroups/b".into()])),
        ]);
        let issues = validate(&config);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].summary, "Scope outside the assignable scopes");
        let seed = Value::object([
            ("scope", "/subscriptions/s".into()),
            ("assignable_scopes", Value::List(vec!["/subscriptions/s/resourceGroups/openai".into()])),
        ]);
        assert!(validate(&seed).is_empty());
    }

    #[test]
    fn data_actions_at_a_management_group_are_an_error() {
        let config = Value::object([
            ("scope", "/providers/Microsoft.Management/managementGroups/platform".into()),
            (
                "permissions",
                permissions(&["Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"]),
            ),
        ]);
        let issues = validate(&config);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].attribute, "permissions");
        assert!(issues[0].detail.ends_with("move the data actions to a role of their own."));
    }

    #[test]
    fn plan_keeps_the_prior_spelling_of_none() {
        let prior = Value::object([
            ("description", Value::Null),
            (
                "permissions",
                Value::List(vec![Value::object([("actions", Value::Null), ("data_actions", strings(&["a"]))])]),
            ),
        ]);
        let planned = Value::object([
            ("description", "".into()),
            (
                "permissions",
                Value::List(vec![Value::object([
                    ("actions", Value::List(Vec::new())),
                    ("data_actions", strings(&["b"])),
                ])]),
            ),
        ]);
        let planned = plan(Some(&prior), planned);
        assert_eq!(planned.get("description"), Some(&Value::Null));
        let block = &planned.get("permissions").and_then(Value::as_list).unwrap()[0];
        assert_eq!(block.get("actions"), Some(&Value::Null));
        assert_eq!(block.get("data_actions"), Some(&strings(&["b"])));
    }

    fn strings(items: &[&str]) -> Value {
        Value::List(items.iter().map(|item| Value::string(*item)).collect())
    }

    #[test]
    fn reads_compare_lists_as_sets() {
        let mut written = properties_of(&Value::object([
            ("name", "invoke-only".into()),
            ("scope", "/subscriptions/s".into()),
            ("permissions", permissions(&["b/action", "a/action"])),
        ]));
        let mut live = written.clone();
        live.permissions[0].data_actions.reverse();
        live.description = Some(String::new());
        assert!(same_definition(&live, &written));
        written.permissions[0].data_actions.pop();
        assert!(!same_definition(&live, &written));
        assert_eq!(written.assignable_scopes, ["/subscriptions/s"]);
    }
}
