//! `azurerm_role_assignment`: `PUT/GET/DELETE {scope}/providers/Microsoft.Authorization/
//! roleAssignments/{name}`. The id and the import id are the assignment's resource id.
//!
//! The name is a GUID derived from scope, role and principal ([`deterministic_name`]), filled in
//! at plan time, so that a PUT retried after a lost answer writes the same assignment instead
//! of a second one. A new principal or custom role is unknown to ARM for a while after it was
//! created (`PrincipalNotFound`, `RoleDefinitionDoesNotExist`): the PUT retries those within
//! the retry policy's deadline.

use crate::api::{
    found, gone, keep_empty_spelling, last_segment, optional_text, required, scope_of_id, sdk_scope, text, with, Api,
};
use crate::error::{from_azure, retryable_assignment_write};
use crate::schema;
use async_trait::async_trait;
use azure_mgmt_authorization::package_2022_04_01::models::role_assignment_properties::PrincipalType;
use azure_mgmt_authorization::package_2022_04_01::models::{
    RoleAssignment, RoleAssignmentCreateParameters, RoleAssignmentProperties, RoleDefinition,
};
use futures::StreamExt;
use std::str::FromStr;
use trustform_lang::Value;
use trustform_provider::attrs::derived_text;
use trustform_provider::{retry, ProviderError};
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

/// The UUIDv5 namespace of assignment names (itself `uuidv5(url, "trustform:azurerm_role_assignment")`
/// would do as well; what matters is that it never changes).
const NAME_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2a52_8a3e_5c0b_9d47_31e8_a2c4_77b1);

/// The assignment name for a grant: the same scope, role and principal always give the same
/// GUID. Case does not matter, as it does not to ARM.
pub(crate) fn deterministic_name(scope: &str, role: &str, principal_id: &str) -> String {
    let key = format!("{}|{}|{}", scope.trim_end_matches('/'), role, principal_id).to_ascii_lowercase();
    uuid::Uuid::new_v5(&NAME_NAMESPACE, key.as_bytes()).to_string()
}

/// Fills `name` at plan time: the prior name while the grant is unchanged (an imported
/// assignment keeps its own), else the deterministic one once its inputs are known.
/// Then the id follows from scope and name.
pub(crate) fn plan(prior: Option<&Value>, planned: Value) -> Value {
    with_planned_id(prior, with_planned_name(prior, planned))
}

fn with_planned_name(prior: Option<&Value>, planned: Value) -> Value {
    let planned = match prior {
        Some(prior) => keep_empty_spelling(prior, planned, &["description", "condition"]),
        None => planned,
    };
    if text(&planned, "name").is_some() {
        return planned;
    }
    let same = |name: &str| {
        prior.is_some_and(|prior| {
            let (a, b) = (prior.get(name).map(Value::unmarked), planned.get(name).map(Value::unmarked));
            matches!(b, None | Some(Value::Null | Value::Unknown | Value::Partial(_))) || a == b
        })
    };
    if let Some(prior_name) = prior.and_then(|prior| text(prior, "name")) {
        if ["scope", "principal_id", "role_definition_id", "role_definition_name"].iter().all(|name| same(name)) {
            return with(&planned, [("name", Value::string(prior_name))]);
        }
    }
    let role = text(&planned, "role_definition_id").or_else(|| text(&planned, "role_definition_name"));
    match (text(&planned, "scope"), role, text(&planned, "principal_id")) {
        (Some(scope), Some(role), Some(principal)) => {
            let name = deterministic_name(scope, role, principal);
            with(&planned, [("name", Value::string(name))])
        }
        _ => planned,
    }
}

/// The assignment's resource id, `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`
/// (<https://learn.microsoft.com/rest/api/authorization/role-assignments/create>, the response's
/// `id`), once the name is known, partially known while the scope is. The prior's spelling is
/// kept when it names the same assignment in other case: ARM ids are case-insensitive
/// (<https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules>).
fn with_planned_id(prior: Option<&Value>, planned: Value) -> Value {
    let (Some(scope), Some(name)) = (planned.get("scope"), text(&planned, "name")) else {
        return planned;
    };
    let scope = match scope.as_str() {
        Some(scope) => Value::string(scope.trim_end_matches('/')),
        None => scope.clone(),
    };
    let tail = Value::string(format!("/providers/Microsoft.Authorization/roleAssignments/{name}"));
    match derived_text([&scope, &tail]) {
        Some(id) => with(&planned, [("id", same_id_as_prior(prior, id))]),
        None => planned,
    }
}

/// `id`, spelt as the prior spells it when both name the same object.
pub(crate) fn same_id_as_prior(prior: Option<&Value>, id: Value) -> Value {
    match (prior.and_then(|prior| text(prior, "id")), id.as_str()) {
        (Some(prior), Some(id)) if prior.eq_ignore_ascii_case(id) => Value::string(prior),
        _ => id,
    }
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let scope = required(planned, "scope")?;
    let principal_id = required(planned, "principal_id")?;
    let role_definition_id = match text(planned, "role_definition_id") {
        Some(id) => id.to_owned(),
        None => {
            let role_name = text(planned, "role_definition_name").ok_or_else(|| {
                ProviderError::invalid(
                    "A role assignment needs the role it grants. Set role_definition_id or role_definition_name.",
                )
            })?;
            definition_id_by_name(api, scope, role_name).await?
        }
    };
    let name = match text(planned, "name") {
        Some(name) => name.to_owned(),
        None => deterministic_name(scope, &role_definition_id, principal_id),
    };
    if let Some(existing) = found(get(api, scope, &name).await)? {
        let id = existing.id.unwrap_or_default();
        return Err(ProviderError::already_exists(format!(
            "The role assignment {name} exists already ({id}). To manage it with trustform, import it: \
             `trustform import azurerm_role_assignment.NAME '{id}'`."
        )));
    }
    let live = match put(api, scope, &name, &role_definition_id, principal_id, planned).await {
        Err(error) if error.code.as_deref() == Some("RoleAssignmentExists") => {
            return Err(already_assigned(api, scope, &role_definition_id, principal_id, error).await)
        }
        other => other?,
    };
    state_of(Some(planned), &live)
}

/// The assignment an interrupted create of `planned` made, read by its scope and derived name;
/// adopted only when it grants the planned role to the planned principal with the planned
/// description and condition.
pub(crate) async fn find(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    if text(planned, "name").is_none() {
        return Ok(None);
    }
    let Some(live) = read(api, planned).await? else {
        return Ok(None);
    };
    let same_role = match (text(&live, "role_definition_id"), text(planned, "role_definition_id")) {
        (Some(live), Some(planned)) => last_segment(live).eq_ignore_ascii_case(last_segment(planned)),
        _ => true,
    };
    let mut differences = Vec::new();
    if !same_role {
        differences.push("role");
    }
    if !text(&live, "principal_id")
        .unwrap_or_default()
        .eq_ignore_ascii_case(text(planned, "principal_id").unwrap_or_default())
    {
        differences.push("principal");
    }
    for attribute in ["description", "condition"] {
        let planned_text = text(planned, attribute).unwrap_or_default();
        if text(&live, attribute).unwrap_or_default() != planned_text {
            differences.push(attribute);
        }
    }
    if !differences.is_empty() {
        let id = text(&live, "id").unwrap_or_default();
        return Err(ProviderError::already_exists(format!(
            "the role assignment {id} exists but does not match the plan (its {}), so it is not adopted; if it is the one this spec describes, import it with the id '{id}', otherwise delete it",
            differences.join(", ")
        ))
        .with_code("RoleAssignmentExists"));
    }
    Ok(Some(live))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (scope, name) = scope_and_name(state)?;
    match found(get(api, scope, name).await)? {
        Some(live) => state_of(Some(state), &live).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let scope = scope_of_id(id).filter(|_| id.to_ascii_lowercase().contains("/roleassignments/")).ok_or_else(|| {
        ProviderError::invalid(format!(
            "{id:?} is not a role assignment id; write it as \
             `/subscriptions/SUB/providers/Microsoft.Authorization/roleAssignments/GUID`."
        ))
    })?;
    let live = get(api, scope, last_segment(id)).await?;
    state_of(None, &live)
}

/// Only description and condition change in place; ARM takes them in a PUT of the same name.
pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let (scope, name) = scope_and_name(prior)?;
    let role_definition_id = required(prior, "role_definition_id")?;
    let principal_id = required(prior, "principal_id")?;
    let planned = with(planned, [("role_definition_id", Value::string(role_definition_id))]);
    let live = put(api, scope, name, role_definition_id, principal_id, &planned).await?;
    state_of(Some(&planned), &live)
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let (scope, name) = scope_and_name(state)?;
    let client = api.clients.authorization.role_assignments_client();
    gone(
        api.call(|| {
            let request = client.delete(sdk_scope(scope), name);
            async move { request.send().await.map(drop).map_err(|e| from_azure("roleAssignments/delete", e)) }
        })
        .await,
    )
}

async fn get(api: &Api, scope: &str, name: &str) -> Result<RoleAssignment, ProviderError> {
    let client = api.clients.authorization.role_assignments_client();
    api.call(|| {
        let request = client.get(sdk_scope(scope), name);
        async move { request.await.map_err(|e| from_azure("roleAssignments/read", e)) }
    })
    .await
}

/// The PUT, retried through replication delays of the role and the principal.
async fn put(
    api: &Api,
    scope: &str,
    name: &str,
    role_definition_id: &str,
    principal_id: &str,
    planned: &Value,
) -> Result<RoleAssignment, ProviderError> {
    let properties = RoleAssignmentProperties {
        principal_type: text(planned, "principal_type").and_then(|kind| PrincipalType::from_str(kind).ok()),
        description: text(planned, "description").map(str::to_owned),
        condition: text(planned, "condition").map(str::to_owned),
        condition_version: text(planned, "condition_version")
            .map(str::to_owned)
            .or_else(|| text(planned, "condition").map(|_| "2.0".to_owned())),
        ..RoleAssignmentProperties::new(role_definition_id.to_owned(), principal_id.to_owned())
    };
    let parameters = RoleAssignmentCreateParameters::new(properties);
    let client = api.clients.authorization.role_assignments_client();
    retry(&api.policy, retryable_assignment_write, || {
        let request = client.create(sdk_scope(scope), name, parameters.clone());
        async move { request.await.map_err(|e| from_azure("roleAssignments/write", e)) }
    })
    .await
}

/// The full resource id of the role called `role_name`, built in or custom, as seen at `scope`.
async fn definition_id_by_name(api: &Api, scope: &str, role_name: &str) -> Result<String, ProviderError> {
    let definition = find_definition_by_name(api, scope, role_name).await?.ok_or_else(|| {
        ProviderError::invalid(format!(
            "No role called {role_name:?} is visible at {scope}. Check the spelling (role names are exact, e.g. \
             `Cognitive Services OpenAI User`), or set role_definition_id instead."
        ))
    })?;
    definition.id.ok_or_else(|| ProviderError::transient("roleDefinitions/list: a definition came back without an id"))
}

/// Lists the definitions called `role_name` at `scope` (`$filter=roleName eq '...'`).
pub(crate) async fn find_definition_by_name(
    api: &Api,
    scope: &str,
    role_name: &str,
) -> Result<Option<RoleDefinition>, ProviderError> {
    let client = api.clients.authorization.role_definitions_client();
    let filter = format!("roleName eq '{}'", role_name.replace('\'', "''"));
    api.call(|| {
        let mut pages = client.list(sdk_scope(scope)).filter(filter.clone()).into_stream();
        async move {
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| from_azure("roleDefinitions/list", e))?;
                let wanted = page.value.into_iter().find(|definition| {
                    definition.properties.as_ref().and_then(|p| p.role_name.as_deref()) == Some(role_name)
                });
                if wanted.is_some() {
                    return Ok(wanted);
                }
            }
            Ok(None)
        }
    })
    .await
}

/// The error for a grant that exists under another name: names it and says how to import it.
async fn already_assigned(
    api: &Api,
    scope: &str,
    role_definition_id: &str,
    principal_id: &str,
    error: ProviderError,
) -> ProviderError {
    let client = api.clients.authorization.role_assignments_client();
    let filter = format!("principalId eq '{principal_id}'");
    let mut pages = client.list_for_scope(sdk_scope(scope)).filter(filter).into_stream();
    let wanted_role = last_segment(role_definition_id).to_ascii_lowercase();
    let mut existing = None;
    while let Some(Ok(page)) = pages.next().await {
        existing = page.value.into_iter().find(|assignment| {
            assignment.properties.as_ref().is_some_and(|p| {
                last_segment(&p.role_definition_id).eq_ignore_ascii_case(&wanted_role)
                    && p.scope.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(scope))
            })
        });
        if existing.is_some() {
            break;
        }
    }
    let message = match existing.and_then(|assignment| assignment.id) {
        Some(id) => format!(
            "{}. It is {id}; to manage it with trustform, import it: \
             `trustform import azurerm_role_assignment.NAME '{id}'`, or remove this resource from the spec.",
            error.message.trim_end_matches('.')
        ),
        None => format!(
            "{}. Another assignment grants this role to principal {principal_id} at {scope}; import it with \
             `trustform import azurerm_role_assignment.NAME ID` (ID from `az role assignment list --scope {scope}`).",
            error.message.trim_end_matches('.')
        ),
    };
    ProviderError { message, ..error }
}

fn scope_and_name(state: &Value) -> Result<(&str, &str), ProviderError> {
    let scope = required(state, "scope")?;
    let name = text(state, "name")
        .or_else(|| text(state, "id").map(last_segment))
        .ok_or_else(|| ProviderError::invalid("the role assignment state has no name"))?;
    Ok((scope, name))
}

/// The state of a live assignment, keeping the prior state's spelling where ARM agrees.
fn state_of(prior: Option<&Value>, live: &RoleAssignment) -> Result<Value, ProviderError> {
    let properties = live
        .properties
        .as_ref()
        .ok_or_else(|| ProviderError::transient("roleAssignments/read: the answer has no properties"))?;
    let live_id = live.id.clone().unwrap_or_default();
    let id = same_id_as_prior(prior, Value::string(&live_id)).as_str().unwrap_or_default().to_owned();
    let prior_text = |name: &str| prior.and_then(|prior| text(prior, name));
    let live_scope = properties.scope.clone().or_else(|| scope_of_id(&id).map(str::to_owned)).unwrap_or_default();
    let scope = match prior_text("scope") {
        Some(scope) if scope.eq_ignore_ascii_case(&live_scope) => scope.to_owned(),
        _ => live_scope,
    };
    let role_definition_id = match prior_text("role_definition_id") {
        Some(prior_id) if last_segment(prior_id).eq_ignore_ascii_case(last_segment(&properties.role_definition_id)) => {
            prior_id.to_owned()
        }
        _ => properties.role_definition_id.clone(),
    };
    let principal_type = properties.principal_type.as_ref().map(|kind| match kind {
        PrincipalType::User => "User".to_owned(),
        PrincipalType::Group => "Group".to_owned(),
        PrincipalType::ServicePrincipal => "ServicePrincipal".to_owned(),
        PrincipalType::ForeignGroup => "ForeignGroup".to_owned(),
        PrincipalType::Device => "Device".to_owned(),
        PrincipalType::UnknownValue(other) => other.clone(),
    });
    let prior_value = |name: &str| prior.and_then(|prior| prior.get(name));
    Ok(Value::object([
        ("name", Value::string(live.name.clone().unwrap_or_else(|| last_segment(&id).to_owned()))),
        ("scope", Value::string(scope)),
        ("role_definition_id", Value::string(role_definition_id)),
        ("role_definition_name", prior_value("role_definition_name").cloned().unwrap_or_default()),
        ("principal_id", Value::string(&properties.principal_id)),
        ("principal_type", principal_type.map(Value::string).unwrap_or_default()),
        ("description", optional_text(prior_value("description"), properties.description.as_deref())),
        ("condition", optional_text(prior_value("condition"), properties.condition.as_deref())),
        ("condition_version", optional_text(prior_value("condition_version"), properties.condition_version.as_deref())),
        ("id", Value::string(id)),
    ]))
}

/// `azurerm_role_assignment`, as the provider serves it.
pub(crate) struct AzureRoleAssignment;

#[async_trait]
impl ResourceType<Api> for AzureRoleAssignment {
    fn schema(&self) -> ResourceSchema {
        schema::role_assignment()
    }

    /// Fills the assignment name, derived from scope, role and principal, so that it is known
    /// at plan time and a retried PUT never makes a second assignment.
    fn plan(&self, _: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(prior, planned))
    }

    /// The name and id are known at plan time once scope, role and principal are; while one of
    /// them is only known after apply, the interrupted create is found by scope and name.
    fn findable(&self) -> bool {
        true
    }

    async fn find(&self, session: &Session<Api>, planned: &Value) -> Result<Option<Value>, ProviderError> {
        find(session.clients()?, planned).await
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

    const SCOPE: &str = "/subscriptions/s/resourceGroups/openai";
    const ROLE: &str =
        "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/baf42808-99ff-466d-b9da-f95bb0422c5f";

    #[test]
    fn names_are_deterministic_and_ignore_case() {
        let name = deterministic_name(SCOPE, ROLE, "91a43c21-cf21-4f34-9085-331015ea4f91");
        assert_eq!(name, deterministic_name(&SCOPE.to_uppercase(), ROLE, "91A43C21-CF21-4F34-9085-331015EA4F91"));
        assert_ne!(name, deterministic_name(SCOPE, ROLE, "00000000-cf21-4f34-9085-331015ea4f91"));
        assert!(uuid::Uuid::parse_str(&name).is_ok());
    }

    #[test]
    fn plan_fills_the_name_once_its_inputs_are_known() {
        let planned = Value::object([
            ("scope", SCOPE.into()),
            ("role_definition_id", Value::Unknown),
            ("role_definition_name", Value::Null),
            ("principal_id", "p".into()),
            ("name", Value::Unknown),
        ]);
        assert_eq!(plan(None, planned.clone()).get("name"), Some(&Value::Unknown));
        let known = with(&planned, [("role_definition_id", ROLE.into())]);
        let name = deterministic_name(SCOPE, ROLE, "p");
        assert_eq!(plan(None, known.clone()).get("name"), Some(&Value::string(&name)));
        // An imported assignment keeps its own name while the grant is unchanged.
        let prior = with(&known, [("name", "imported-guid".into())]);
        assert_eq!(plan(Some(&prior), known).get("name"), Some(&Value::string("imported-guid")));
    }

    #[test]
    fn plan_derives_the_id_from_scope_and_name() {
        let planned = Value::object([
            ("scope", format!("{SCOPE}/").into()),
            ("role_definition_id", ROLE.into()),
            ("principal_id", "p".into()),
            ("name", Value::Null),
        ]);
        let name = deterministic_name(SCOPE, ROLE, "p");
        let expected = format!("{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{name}");
        assert_eq!(plan(None, planned.clone()).get("id"), Some(&Value::string(&expected)));
        // A prior spelling of the same id in other case is kept, so nothing changes.
        let prior =
            with(&planned, [("id", Value::string(expected.to_ascii_lowercase())), ("name", Value::string(&name))]);
        assert_eq!(plan(Some(&prior), planned.clone()).get("id"), Some(&Value::string(expected.to_ascii_lowercase())));
        let unknown_principal = with(&planned, [("principal_id", Value::Unknown)]);
        assert_eq!(plan(None, unknown_principal).get("id"), None, "no name, no id");
    }
}
