//! `azuread_application`: `POST /applications`, `GET/PATCH/DELETE /applications/{id}` on
//! Microsoft Graph v1.0 (<https://learn.microsoft.com/graph/api/resources/application>). The id
//! is `/applications/{object id}`, as the azuread provider (v3) writes it; `client_id` is the
//! application's `appId`, what `AZURE_CLIENT_ID` holds.
//!
//! What users depend on: `app_role` blocks define the roles tokens for this application carry
//! in their `roles` claim (seed 004's gateway maps them to its own roles). A role's `id` is a
//! GUID Graph requires; unset, it is derived from the role's value at plan time, so that it is
//! stable across plans and a role keeps its id while its description changes.

use crate::api::{required, text, with};
use crate::azuread::GraphApi;
use crate::graph::{json_strings, Graph};
use async_trait::async_trait;
use std::collections::BTreeMap;
use trustform_lang::{normalize_set, Type, Value};
use trustform_provider::{Checkpoint, ProviderError, ResourceType, Session, ValidationIssue};
use trustform_schema::{Attribute, Block, Nesting, ResourceSchema};

pub(crate) const TYPE: &str = "azuread_application";
const ROLE_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x2c4b_7d1e_9a0f_5e3b_8c6d_4f2a_1b9e_0d7c);

/// azuread's attributes (<https://registry.terraform.io/providers/hashicorp/azuread/latest/docs/resources/application>).
pub(crate) fn schema() -> ResourceSchema {
    let app_role = Block::new()
        .attr(
            "allowed_member_types",
            Attribute::required(Type::set(Type::String)).describe("`User` and/or `Application`."),
        )
        .attr("description", Attribute::required(Type::String))
        .attr("display_name", Attribute::required(Type::String))
        .attr("enabled", Attribute::optional(Type::Bool).default(true))
        .attr("id", Attribute::optional_computed(Type::String).describe("A GUID; derived from the value when unset."))
        .attr("value", Attribute::optional(Type::String).describe("What the token's `roles` claim carries."));
    ResourceSchema::new(
        TYPE,
        Block::new()
            .attr("display_name", Attribute::required(Type::String))
            .attr(
                "sign_in_audience",
                Attribute::optional(Type::String)
                    .default("AzureADMyOrg")
                    .describe("AzureADMyOrg, AzureADMultipleOrgs, ..."),
            )
            .attr("identifier_uris", Attribute::optional(Type::set(Type::String)))
            .block("app_role", Nesting::Set, app_role)
            .attr("client_id", Attribute::computed(Type::String).describe("The appId: AZURE_CLIENT_ID."))
            .attr("object_id", Attribute::computed(Type::String))
            .attr("id", Attribute::computed(Type::String).describe("`/applications/{object_id}`.")),
    )
    .import_id("`/applications/OBJECT_ID`")
}

fn issue(attribute: &str, summary: &str, detail: String) -> ValidationIssue {
    ValidationIssue { attribute: attribute.to_owned(), summary: summary.to_owned(), detail, is_error: true }
}

/// What Graph refuses: `allowed_member_types` other than `User` and `Application`, a role id
/// that is not a GUID, two roles with one value.
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let roles = config.get("app_role").and_then(Value::as_list).unwrap_or_default();
    let mut values = BTreeMap::new();
    for role in roles {
        for kind in trustform_provider::attrs::strings(role, "allowed_member_types") {
            if kind != "User" && kind != "Application" {
                issues.push(issue(
                    "app_role",
                    "Invalid allowed member type",
                    format!("An app role is allowed for \"User\" or \"Application\" members, not {kind:?}. Use one of those."),
                ));
            }
        }
        if let Some(id) = text(role, "id") {
            if uuid::Uuid::parse_str(id).is_err() {
                issues.push(issue(
                    "app_role",
                    "Invalid app role id",
                    format!("An app role's id is a GUID, not {id:?}. Remove it to have one derived from the value."),
                ));
            }
        }
        if let Some(value) = text(role, "value") {
            if values.insert(value.to_owned(), ()).is_some() {
                issues.push(issue(
                    "app_role",
                    "Duplicate app role value",
                    format!(
                        "Two app roles have the value {value:?}; Graph refuses that. Give each role its own value."
                    ),
                ));
            }
        }
    }
    issues
}

/// The id of a role without one: the prior role's with the same value, else derived from it.
pub(crate) fn plan(prior: Option<&Value>, planned: Value) -> Value {
    let Some(roles) = planned.get("app_role").and_then(Value::as_list) else { return planned };
    let prior_roles = prior.and_then(|prior| prior.get("app_role")).and_then(Value::as_list).unwrap_or_default();
    let roles: Vec<Value> = roles
        .iter()
        .map(|role| {
            // A role with its id, or whose value is not known yet, is left as it is.
            if text(role, "id").is_some() || role.get("value").is_some_and(Value::is_unknown) {
                return role.clone();
            }
            let Some(key) = text(role, "value").or_else(|| text(role, "display_name")) else { return role.clone() };
            let id = prior_roles
                .iter()
                .find(|prior| text(prior, "value").or_else(|| text(prior, "display_name")) == Some(key))
                .and_then(|prior| text(prior, "id"))
                .map(str::to_owned)
                .unwrap_or_else(|| uuid::Uuid::new_v5(&ROLE_NAMESPACE, key.as_bytes()).to_string());
            with(role, [("id", Value::string(id))])
        })
        .collect();
    with(&planned, [("app_role", Value::List(normalize_set(roles)))])
}

fn body(planned: &Value) -> serde_json::Value {
    let roles: Vec<serde_json::Value> = planned
        .get("app_role")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|role| {
            serde_json::json!({
                "allowedMemberTypes": trustform_provider::attrs::strings(role, "allowed_member_types"),
                "description": text(role, "description"),
                "displayName": text(role, "display_name"),
                "id": text(role, "id"),
                "isEnabled": !matches!(role.get("enabled"), Some(Value::Bool(false))),
                "value": text(role, "value"),
            })
        })
        .collect();
    serde_json::json!({
        "displayName": text(planned, "display_name"),
        "signInAudience": text(planned, "sign_in_audience").unwrap_or("AzureADMyOrg"),
        "identifierUris": trustform_provider::attrs::strings(planned, "identifier_uris"),
        "appRoles": roles,
    })
}

fn object_id(state: &Value) -> Result<&str, ProviderError> {
    let id = required(state, "id")?;
    id.strip_prefix("/applications/").filter(|rest| !rest.is_empty() && !rest.contains('/')).ok_or_else(|| {
        ProviderError::invalid(format!("{id:?} is not an application id; write it as `/applications/OBJECT_ID`."))
    })
}

pub(crate) async fn create(graph: &Graph<'_>, planned: &Value) -> Result<Value, ProviderError> {
    let created = graph.post("applications/create", "/applications", &body(planned), false).await?;
    let object_id = created.get("id").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    // Reads of a new application 404 for a while: the state is what reads give.
    let live = graph.get_created("applications/read", &format!("/applications/{object_id}")).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn read(graph: &Graph<'_>, state: &Value) -> Result<Option<Value>, ProviderError> {
    match trustform_provider::attrs::found(
        graph.get("applications/read", &format!("/applications/{}", object_id(state)?)).await,
    )? {
        Some(live) => state_of(Some(state), &live).map(Some),
        None => Ok(None),
    }
}

/// Graph refuses to remove an enabled app role: it is disabled first, in a PATCH of its own,
/// as the azuread provider does.
pub(crate) async fn update(graph: &Graph<'_>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let path = format!("/applications/{}", object_id(prior)?);
    let kept: Vec<&str> = planned
        .get("app_role")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|role| text(role, "id"))
        .collect();
    let prior_roles = prior.get("app_role").and_then(Value::as_list).unwrap_or_default();
    let removed_enabled = prior_roles.iter().any(|role| {
        !kept.contains(&text(role, "id").unwrap_or_default())
            && !matches!(role.get("enabled"), Some(Value::Bool(false)))
    });
    if removed_enabled {
        let disabled: Vec<Value> =
            prior_roles.iter().map(|role| with(role, [("enabled", Value::Bool(false))])).collect();
        let step = with(prior, [("app_role", Value::List(disabled))]);
        graph.patch("applications/update", &path, &serde_json::json!({ "appRoles": body(&step)["appRoles"] })).await?;
    }
    graph.patch("applications/update", &path, &body(planned)).await?;
    let live = graph.get("applications/read", &path).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn delete(graph: &Graph<'_>, state: &Value) -> Result<(), ProviderError> {
    trustform_provider::attrs::gone(
        graph.delete("applications/delete", &format!("/applications/{}", object_id(state)?)).await,
    )
}

pub(crate) async fn import(graph: &Graph<'_>, id: &str) -> Result<Value, ProviderError> {
    let probe = Value::object([("id", Value::string(id))]);
    let live = graph.get("applications/read", &format!("/applications/{}", object_id(&probe)?)).await?;
    state_of(None, &live)
}

fn state_of(prior: Option<&Value>, live: &serde_json::Value) -> Result<Value, ProviderError> {
    let field = |name: &str| live.get(name).and_then(serde_json::Value::as_str).unwrap_or_default();
    let object_id = field("id");
    if object_id.is_empty() {
        return Err(ProviderError::undecodable("applications/read", "an application without an id"));
    }
    let roles: Vec<Value> = live
        .get("appRoles")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|role| {
            let member_types: Vec<Value> =
                json_strings(role, "allowedMemberTypes").into_iter().map(Value::string).collect();
            let text_of = |name: &str| match role.get(name).and_then(serde_json::Value::as_str) {
                Some(text) => Value::string(text),
                None => Value::Null,
            };
            Value::object([
                ("allowed_member_types", Value::List(normalize_set(member_types))),
                ("description", text_of("description")),
                ("display_name", text_of("displayName")),
                ("enabled", Value::Bool(role.get("isEnabled").and_then(serde_json::Value::as_bool).unwrap_or(true))),
                ("id", text_of("id")),
                ("value", text_of("value")),
            ])
        })
        .collect();
    let uris: Vec<Value> = json_strings(live, "identifierUris").into_iter().map(Value::string).collect();
    let uris = if uris.is_empty()
        && !prior.is_some_and(|prior| matches!(prior.get("identifier_uris"), Some(Value::List(_))))
    {
        Value::Null
    } else {
        Value::List(normalize_set(uris))
    };
    let base = prior.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    Ok(with(
        &base,
        [
            ("display_name", Value::string(field("displayName"))),
            ("sign_in_audience", Value::string(field("signInAudience"))),
            ("identifier_uris", uris),
            ("app_role", Value::List(normalize_set(roles))),
            ("client_id", Value::string(field("appId"))),
            ("object_id", Value::string(object_id)),
            ("id", Value::string(format!("/applications/{object_id}"))),
        ],
    ))
}

/// `azuread_application`, as the provider serves it.
pub(crate) struct Application;

#[async_trait]
impl ResourceType<GraphApi> for Application {
    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    fn plan(&self, _: &Session<GraphApi>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(prior, planned))
    }

    async fn read(&self, session: &Session<GraphApi>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(&session.clients()?.graph(), state).await
    }

    async fn create(
        &self,
        session: &Session<GraphApi>,
        planned: &Value,
        _: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(&session.clients()?.graph(), planned).await
    }

    async fn update(
        &self,
        session: &Session<GraphApi>,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        update(&session.clients()?.graph(), prior, planned).await
    }

    async fn delete(&self, session: &Session<GraphApi>, state: &Value) -> Result<(), ProviderError> {
        delete(&session.clients()?.graph(), state).await
    }

    async fn import(&self, session: &Session<GraphApi>, id: &str) -> Result<Value, ProviderError> {
        import(&session.clients()?.graph(), id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(value: &str) -> Value {
        Value::object([
            ("allowed_member_types", Value::List(vec!["User".into()])),
            ("description", "d".into()),
            ("display_name", value.into()),
            ("enabled", Value::Bool(true)),
            ("id", Value::Null),
            ("value", value.into()),
        ])
    }

    #[test]
    fn role_ids_are_derived_from_the_value_and_kept() {
        let planned = plan(None, Value::object([("app_role", Value::List(vec![role("basic_user")]))]));
        let roles = planned.get("app_role").and_then(Value::as_list).unwrap();
        let id = text(&roles[0], "id").unwrap().to_owned();
        assert_eq!(id, uuid::Uuid::new_v5(&ROLE_NAMESPACE, b"basic_user").to_string());
        let prior = Value::object([(
            "app_role",
            Value::List(vec![with(
                &role("basic_user"),
                [("id", Value::string("11111111-2222-4333-8444-555555555555"))],
            )]),
        )]);
        let again = plan(Some(&prior), Value::object([("app_role", Value::List(vec![role("basic_user")]))]));
        let roles = again.get("app_role").and_then(Value::as_list).unwrap();
        assert_eq!(text(&roles[0], "id"), Some("11111111-2222-4333-8444-555555555555"));
    }

    #[test]
    fn what_graph_refuses_is_caught_at_plan() {
        let mut bad = role("basic_user");
        bad = with(&bad, [("allowed_member_types", Value::List(vec!["Group".into()])), ("id", "x".into())]);
        let config = Value::object([("app_role", Value::List(vec![bad, role("basic_user")]))]);
        let summaries: Vec<String> = validate(&config).into_iter().map(|issue| issue.summary).collect();
        assert_eq!(summaries, ["Invalid allowed member type", "Invalid app role id", "Duplicate app role value"]);
    }
}
