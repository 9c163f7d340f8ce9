//! `azuread_service_principal`: `POST /servicePrincipals`, `GET/DELETE /servicePrincipals/{id}`
//! on Microsoft Graph v1.0 (<https://learn.microsoft.com/graph/api/resources/serviceprincipal>).
//! The id is `/servicePrincipals/{object id}`; `object_id` is what role assignments name.
//!
//! A service principal for an application created a moment ago is refused until the
//! application has replicated; the create retries that (see `graph`).

use crate::api::{required, with};
use crate::azuread::GraphApi;
use crate::graph::Graph;
use async_trait::async_trait;
use trustform_lang::{Type, Value};
use trustform_provider::{Checkpoint, ProviderError, ResourceType, Session};
use trustform_schema::{Attribute, Block, ResourceSchema};

pub(crate) const TYPE: &str = "azuread_service_principal";

/// azuread's attributes (<https://registry.terraform.io/providers/hashicorp/azuread/latest/docs/resources/service_principal>).
pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::new(
        TYPE,
        Block::new()
            .attr("client_id", Attribute::required(Type::String).force_new().describe("The application's client id."))
            .attr("display_name", Attribute::computed(Type::String))
            .attr("object_id", Attribute::computed(Type::String).describe("What role assignments name."))
            .attr("id", Attribute::computed(Type::String).describe("`/servicePrincipals/{object_id}`.")),
    )
    .import_id("`/servicePrincipals/OBJECT_ID`")
}

fn object_id(state: &Value) -> Result<&str, ProviderError> {
    let id = required(state, "id")?;
    id.strip_prefix("/servicePrincipals/").filter(|rest| !rest.is_empty() && !rest.contains('/')).ok_or_else(|| {
        ProviderError::invalid(format!(
            "{id:?} is not a service principal id; write it as `/servicePrincipals/OBJECT_ID`."
        ))
    })
}

pub(crate) async fn create(graph: &Graph<'_>, planned: &Value) -> Result<Value, ProviderError> {
    let body = serde_json::json!({ "appId": required(planned, "client_id")? });
    let created = graph.post("servicePrincipals/create", "/servicePrincipals", &body, true).await?;
    let object_id = created.get("id").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let live = graph.get_created("servicePrincipals/read", &format!("/servicePrincipals/{object_id}")).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn read(graph: &Graph<'_>, state: &Value) -> Result<Option<Value>, ProviderError> {
    let path = format!("/servicePrincipals/{}", object_id(state)?);
    match trustform_provider::attrs::found(graph.get("servicePrincipals/read", &path).await)? {
        Some(live) => state_of(Some(state), &live).map(Some),
        None => Ok(None),
    }
}

/// Nothing changes in place: every argument forces a new service principal.
pub(crate) async fn update(graph: &Graph<'_>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let live = graph.get("servicePrincipals/read", &format!("/servicePrincipals/{}", object_id(prior)?)).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn delete(graph: &Graph<'_>, state: &Value) -> Result<(), ProviderError> {
    let path = format!("/servicePrincipals/{}", object_id(state)?);
    trustform_provider::attrs::gone(graph.delete("servicePrincipals/delete", &path).await)
}

pub(crate) async fn import(graph: &Graph<'_>, id: &str) -> Result<Value, ProviderError> {
    let probe = Value::object([("id", Value::string(id))]);
    let live = graph.get("servicePrincipals/read", &format!("/servicePrincipals/{}", object_id(&probe)?)).await?;
    state_of(None, &live)
}

fn state_of(prior: Option<&Value>, live: &serde_json::Value) -> Result<Value, ProviderError> {
    let field = |name: &str| live.get(name).and_then(serde_json::Value::as_str).unwrap_or_default();
    if field("id").is_empty() {
        return Err(ProviderError::undecodable("servicePrincipals/read", "a service principal without an id"));
    }
    let base = prior.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    Ok(with(
        &base,
        [
            ("client_id", Value::string(field("appId"))),
            ("display_name", Value::string(field("displayName"))),
            ("object_id", Value::string(field("id"))),
            ("id", Value::string(format!("/servicePrincipals/{}", field("id")))),
        ],
    ))
}

/// `azuread_service_principal`, as the provider serves it.
pub(crate) struct ServicePrincipal;

#[async_trait]
impl ResourceType<GraphApi> for ServicePrincipal {
    fn schema(&self) -> ResourceSchema {
        schema()
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
