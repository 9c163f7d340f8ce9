//! `azurerm_user_assigned_identity`: `PUT/GET/DELETE /subscriptions/{s}/resourceGroups/{rg}/
//! providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}` (api-version
//! `2023-01-31`, <https://learn.microsoft.com/rest/api/managedidentity/user-assigned-identities>).
//! The id and the import id are the identity's resource id.
//!
//! What users depend on: `client_id` (the gateway's `AZURE_CLIENT_ID`), `principal_id` (what
//! role assignments name) and `tenant_id`, all assigned by Azure at create. The identity's
//! service principal replicates through the directory for a while after the PUT answers; the
//! role assignment that names it rides that out (`PrincipalNotFound`, see `role_assignment`).

use crate::api::{found, gone, required, text, with, Api};
use crate::resources::role_assignment::same_id_as_prior;
use trustform_lang::{Type, Value};
use trustform_provider::attrs::derived_text;
use trustform_provider::{ProviderError, Session, ValidationIssue};
use trustform_schema::{Attribute, Block, ResourceSchema};

pub(crate) const TYPE: &str = "azurerm_user_assigned_identity";

pub(crate) const API_VERSION: &str = "2023-01-31";
const PROVIDER_PATH: &str = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/";

/// azurerm's attributes (<https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/user_assigned_identity>).
pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::new(
        TYPE,
        Block::new()
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("resource_group_name", Attribute::required(Type::String).force_new())
            .attr("location", Attribute::required(Type::String).force_new())
            .attr("tags", Attribute::optional(Type::map(Type::String)))
            .attr("client_id", Attribute::computed(Type::String).describe("The application id: AZURE_CLIENT_ID."))
            .attr("principal_id", Attribute::computed(Type::String).describe("The service principal's object id."))
            .attr("tenant_id", Attribute::computed(Type::String))
            .attr("id", Attribute::computed(Type::String).describe("The identity's resource id.")),
    )
    .import_id("the identity's resource id, e.g. `/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME`")
}

/// Plan-time checks of what ARM would refuse. The name rule is azurerm's
/// (`internal/services/managedidentity/validate/user_assigned_identity_name.go`: 3 to 128 of
/// letters, digits, `-` and `_`, starting with a letter or digit).
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    if let Some(name) = text(config, "name") {
        let valid = (3..=128).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            issues.push(ValidationIssue {
                attribute: "name".to_owned(),
                summary: "Invalid managed identity name".to_owned(),
                detail: format!(
                    "A user-assigned identity's name is 3 to 128 letters, digits, '-' and '_', starting with a \
                     letter or digit; {name:?} is not. Write it as, for example, \"{}\".",
                    suggest_name(name)
                ),
                is_error: true,
            });
        }
    }
    issues
}

/// A valid name close to `name`: other characters become `-`, padded to three.
fn suggest_name(name: &str) -> String {
    let mut fixed: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).take(128).collect();
    while fixed.starts_with(['-', '_']) {
        fixed.remove(0);
    }
    while fixed.len() < 3 {
        fixed.push_str(if fixed.is_empty() { "id" } else { "-id" });
    }
    fixed.truncate(128);
    fixed
}

/// Keeps the prior spelling of the location when the configuration names the same region
/// another way (an imported identity reads `westeurope`, the spec says `West Europe`): a
/// location change forces a new identity, and this one is no change.
/// Fills the resource id, which follows from the subscription, group and name, when the
/// provider knows its subscription.
pub(crate) fn plan(prior: Option<&Value>, planned: Value, subscription: Option<&str>) -> Value {
    let prior_location = prior.and_then(|prior| text(prior, "location"));
    let planned = match (prior_location, text(&planned, "location")) {
        (Some(prior), Some(wanted)) if prior != wanted && same_location(prior, wanted) => {
            with(&planned, [("location", Value::string(prior))])
        }
        _ => planned,
    };
    match subscription.and_then(|subscription| planned_id(subscription, &planned)) {
        Some(id) => with(&planned, [("id", same_id_as_prior(prior, id))]),
        None => planned,
    }
}

/// The identity's resource id as far as plan time knows it (the path of its PUT, which ARM
/// answers as the `id`), partially known while the name or group is.
fn planned_id(subscription: &str, planned: &Value) -> Option<Value> {
    let start = Value::string(format!("/subscriptions/{subscription}/resourceGroups/"));
    derived_text([&start, planned.get("resource_group_name")?, &Value::from(PROVIDER_PATH), planned.get("name")?])
}

/// The resource id of an identity.
pub(crate) fn identity_id(subscription: &str, group: &str, name: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}{PROVIDER_PATH}{name}")
}

/// Resource group and name from an identity's resource id.
pub(crate) fn parse_id(id: &str) -> Option<(&str, &str)> {
    let lower = id.to_ascii_lowercase();
    let at = lower.find(&PROVIDER_PATH.to_ascii_lowercase())?;
    let name = &id[at + PROVIDER_PATH.len()..];
    let scope: Vec<&str> = id[..at].trim_start_matches('/').split('/').collect();
    match scope.as_slice() {
        [subscriptions, _, groups, group]
            if subscriptions.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups")
                && !name.is_empty()
                && !name.contains('/') =>
        {
            Some((group, name))
        }
        _ => None,
    }
}

fn subscription(api: &Api) -> Result<String, ProviderError> {
    api.clients.settings.subscription_id.clone().ok_or_else(|| {
        ProviderError::invalid(
            "azurerm_user_assigned_identity needs the subscription it lives in. Set the provider's \
             subscription_id (or ARM_SUBSCRIPTION_ID).",
        )
    })
}

fn body(planned: &Value) -> Result<serde_json::Value, ProviderError> {
    let tags: serde_json::Map<String, serde_json::Value> = trustform_provider::attrs::string_map(planned, "tags")
        .into_iter()
        .map(|(key, value)| (key, serde_json::Value::String(value)))
        .collect();
    Ok(serde_json::json!({ "location": required(planned, "location")?, "tags": tags }))
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let id = identity_id(&subscription(api)?, required(planned, "resource_group_name")?, required(planned, "name")?);
    // azurerm refuses to take over an identity it did not create ("requires import"); so do we.
    if found(get(api, &id).await)?.is_some() {
        return Err(ProviderError::already_exists(format!(
            "The managed identity {id} exists already. To manage it with trustform, import it: \
             `trustform import azurerm_user_assigned_identity.NAME '{id}'`."
        )));
    }
    let live = put(api, &id, planned).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    match found(get(api, required(state, "id")?).await)? {
        Some(live) => state_of(Some(state), &live).map(Some),
        None => Ok(None),
    }
}

/// Only `tags` change in place (everything else forces a new identity); ARM takes them in a
/// PUT of the whole resource, which keeps the identity's ids.
pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let live = put(api, required(prior, "id")?, planned).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let id = required(state, "id")?;
    gone(api.call(|| api.clients.arm.delete("userAssignedIdentities/delete", id, API_VERSION)).await)
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    if parse_id(id).is_none() {
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a user-assigned identity id; write it as \
             `/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME`."
        )));
    }
    state_of(None, &get(api, id).await?)
}

async fn get(api: &Api, id: &str) -> Result<serde_json::Value, ProviderError> {
    api.call(|| api.clients.arm.get("userAssignedIdentities/read", id, API_VERSION)).await
}

async fn put(api: &Api, id: &str, planned: &Value) -> Result<serde_json::Value, ProviderError> {
    let body = body(planned)?;
    api.call(|| api.clients.arm.put("userAssignedIdentities/write", id, API_VERSION, &body)).await
}

/// ARM writes a location in its short form (`West Europe` comes back `westeurope`); the
/// configured spelling is kept when both name the same region, as azurerm's
/// `location.Normalize` does.
pub(crate) fn same_location(a: &str, b: &str) -> bool {
    let normal = |text: &str| text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    normal(a) == normal(b)
}

/// The state of an identity from ARM's answer, keeping the configuration's spellings of what
/// ARM normalises.
fn state_of(prior: Option<&Value>, live: &serde_json::Value) -> Result<Value, ProviderError> {
    let field = |pointer: &str| live.pointer(pointer).and_then(serde_json::Value::as_str);
    let id = field("/id").ok_or_else(|| ProviderError::undecodable("userAssignedIdentities/read", "no id"))?;
    // ARM answers `resourcegroups` in lower case for identities (hashicorp/terraform-provider-azurerm#10296,
    // Azure/azure-cli#27099); ids are case-insensitive, so the planned spelling stays.
    let kept = same_id_as_prior(prior, Value::string(id));
    let id = kept.as_str().unwrap_or(id);
    let (group, name) = parse_id(id)
        .ok_or_else(|| ProviderError::undecodable("userAssignedIdentities/read", format!("the id {id:?}")))?;
    let live_location = field("/location").unwrap_or_default();
    let location = match prior.and_then(|prior| text(prior, "location")) {
        Some(prior) if same_location(prior, live_location) => prior.to_owned(),
        _ => live_location.to_owned(),
    };
    let group = match prior.and_then(|prior| text(prior, "resource_group_name")) {
        Some(prior) if prior.eq_ignore_ascii_case(group) => prior.to_owned(),
        _ => group.to_owned(),
    };
    let tags: std::collections::BTreeMap<String, Value> = live
        .get("tags")
        .and_then(serde_json::Value::as_object)
        .map(|tags| {
            tags.iter().filter_map(|(key, value)| Some((key.clone(), Value::string(value.as_str()?)))).collect()
        })
        .unwrap_or_default();
    let tags = if tags.is_empty() && !prior.is_some_and(|prior| matches!(prior.get("tags"), Some(Value::Object(_)))) {
        Value::Null
    } else {
        Value::Object(tags)
    };
    let base = prior.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    Ok(with(
        &base,
        [
            ("id", Value::string(id)),
            ("name", Value::string(name)),
            ("resource_group_name", Value::string(group)),
            ("location", Value::string(location)),
            ("tags", tags),
            ("client_id", Value::string(field("/properties/clientId").unwrap_or_default())),
            ("principal_id", Value::string(field("/properties/principalId").unwrap_or_default())),
            ("tenant_id", Value::string(field("/properties/tenantId").unwrap_or_default())),
        ],
    ))
}

/// `azurerm_user_assigned_identity`, as the table-driven provider serves it.
pub(crate) struct UserAssignedIdentity;

#[async_trait::async_trait]
impl trustform_provider::ResourceType<Api> for UserAssignedIdentity {
    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    fn plan(&self, session: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let subscription = session.peek().and_then(|api| api.clients.settings.subscription_id.as_deref());
        Ok(plan(prior, planned, subscription))
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
    fn ids_round_trip() {
        let id = identity_id("s", "rg", "gateway");
        assert_eq!(
            id,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gateway"
        );
        assert_eq!(parse_id(&id), Some(("rg", "gateway")));
        assert_eq!(parse_id(&id.to_ascii_lowercase()), Some(("rg", "gateway")));
        assert_eq!(parse_id("/subscriptions/s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"), None);
        assert_eq!(parse_id(&format!("{id}/federatedIdentityCredentials/c")), None);
    }

    #[test]
    fn plan_derives_the_id_and_keeps_a_prior_spelling() {
        let planned = Value::object([("name", "gateway".into()), ("resource_group_name", "rg".into())]);
        let id = identity_id("s", "rg", "gateway");
        assert_eq!(plan(None, planned.clone(), Some("s")).get("id"), Some(&Value::string(&id)));
        assert_eq!(plan(None, planned.clone(), None).get("id"), None, "no subscription, no id");
        // What ARM answered (`resourcegroups`) names the same identity: no change planned.
        let lower = id.replace("resourceGroups", "resourcegroups");
        let prior = Value::object([("id", Value::string(&lower))]);
        assert_eq!(plan(Some(&prior), planned.clone(), Some("s")).get("id"), Some(&Value::string(&lower)));
        let partial = Value::object([("name", Value::Unknown), ("resource_group_name", "rg".into())]);
        let shape = plan(None, partial, Some("s")).get("id").and_then(|id| id.as_partial().cloned()).unwrap();
        assert_eq!(shape.to_template(), format!("{}${{...}}", identity_id("s", "rg", "")));
    }

    #[test]
    fn names_are_checked_with_a_valid_suggestion() {
        let issues = validate(&Value::object([("name", "-my identity!".into())]));
        assert_eq!(issues.len(), 1);
        assert!(issues[0].detail.contains("\"my-identity-\""), "{}", issues[0].detail);
        assert!(validate(&Value::object([("name", suggest_name("-my identity!").into())])).is_empty());
        assert_eq!(suggest_name("a"), "a-id");
        assert!(validate(&Value::object([("name", "litellm-gateway".into())])).is_empty());
    }

    #[test]
    fn locations_compare_as_arm_normalises_them() {
        assert!(same_location("West Europe", "westeurope"));
        assert!(!same_location("West Europe", "northeurope"));
        let imported = Value::object([("location", "westeurope".into())]);
        let planned = plan(Some(&imported), Value::object([("location", "West Europe".into())]), None);
        assert_eq!(text(&planned, "location"), Some("westeurope"));
        let moved = plan(Some(&imported), Value::object([("location", "North Europe".into())]), None);
        assert_eq!(text(&moved, "location"), Some("North Europe"));
    }
}
