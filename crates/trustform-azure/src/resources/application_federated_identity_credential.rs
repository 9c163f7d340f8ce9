//! `azuread_application_federated_identity_credential`: `POST /applications/{id}/
//! federatedIdentityCredentials`, `GET/PATCH/DELETE .../federatedIdentityCredentials/{id}` on
//! Microsoft Graph v1.0
//! (<https://learn.microsoft.com/graph/api/resources/federatedidentitycredential>). The id is
//! `{application_id}/federatedIdentityCredential/{credential_id}`, as the azuread provider
//! writes it.
//!
//! What users depend on: the application trusts tokens whose `iss`, `sub` and `aud` are
//! `issuer`, `subject` and one of `audiences`. A credential of an application created a moment
//! ago is `404` until the application has replicated; the create retries that.

use crate::api::{required, strings, text, with};
use crate::azuread::GraphApi;
use crate::graph::{json_strings, Graph};
use async_trait::async_trait;
use trustform_lang::{Type, Value};
use trustform_provider::{Checkpoint, ProviderError, ResourceType, Session, ValidationIssue};
use trustform_schema::{Attribute, Block, ResourceSchema};

pub(crate) const TYPE: &str = "azuread_application_federated_identity_credential";
const SEGMENT: &str = "/federatedIdentityCredential/";

/// azuread's attributes (<https://registry.terraform.io/providers/hashicorp/azuread/latest/docs/resources/application_federated_identity_credential>).
pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::new(
        TYPE,
        Block::new()
            .attr(
                "application_id",
                Attribute::required(Type::String).force_new().describe("`/applications/{object_id}`."),
            )
            .attr("display_name", Attribute::required(Type::String).force_new().describe("The credential's name."))
            .attr("description", Attribute::optional(Type::String))
            .attr("issuer", Attribute::required(Type::String))
            .attr("subject", Attribute::required(Type::String))
            .attr("audiences", Attribute::required(Type::list(Type::String)))
            .attr("credential_id", Attribute::computed(Type::String))
            .attr(
                "id",
                Attribute::computed(Type::String)
                    .describe("`{application_id}/federatedIdentityCredential/{credential_id}`."),
            ),
    )
    .import_id("`/applications/OBJECT_ID/federatedIdentityCredential/CREDENTIAL_ID`")
}

/// What Graph refuses: the name rule of `federatedIdentityCredential` (3 to 120 characters of
/// letters, digits, `-` and `_`), a non-https issuer, other than one audience.
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let issue = |attribute: &str, summary: &str, detail: String| ValidationIssue {
        attribute: attribute.to_owned(),
        summary: summary.to_owned(),
        detail,
        is_error: true,
    };
    let mut issues = Vec::new();
    if let Some(name) = text(config, "display_name") {
        let valid =
            (3..=120).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            issues.push(issue(
                "display_name",
                "Invalid federated credential name",
                format!("A federated credential's name is 3 to 120 letters, digits, '-' and '_'; {name:?} is not. Rename it, for example to \"gateway-eks\"."),
            ));
        }
    }
    if text(config, "issuer").is_some_and(|issuer| !issuer.starts_with("https://")) {
        issues.push(issue(
            "issuer",
            "Issuer is not an https URL",
            "Entra ID only trusts issuers it can fetch keys from over https. Use the identity provider's https issuer URL.".to_owned(),
        ));
    }
    if let Some(Value::List(audiences)) = config.get("audiences").map(Value::unmarked) {
        if audiences.len() != 1 {
            issues.push(issue(
                "audiences",
                "One audience expected",
                format!(
                    "Graph takes exactly one audience, not {}. Write audiences = [\"api://AzureADTokenExchange\"].",
                    audiences.len()
                ),
            ));
        }
    }
    issues
}

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    let (application, credential) = id.split_once(SEGMENT).unwrap_or_default();
    if !application.starts_with("/applications/") || credential.is_empty() || credential.contains('/') {
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a federated identity credential id; write it as \
             `/applications/OBJECT_ID/federatedIdentityCredential/CREDENTIAL_ID`."
        )));
    }
    Ok((application, credential))
}

fn body(planned: &Value) -> Result<serde_json::Value, ProviderError> {
    Ok(serde_json::json!({
        "name": required(planned, "display_name")?,
        "description": text(planned, "description"),
        "issuer": required(planned, "issuer")?,
        "subject": required(planned, "subject")?,
        "audiences": strings(planned, "audiences"),
    }))
}

pub(crate) async fn create(graph: &Graph<'_>, planned: &Value) -> Result<Value, ProviderError> {
    let application = required(planned, "application_id")?;
    let path = format!("{application}/federatedIdentityCredentials");
    let live = graph.post("federatedIdentityCredentials/create", &path, &body(planned)?, true).await?;
    state_of(Some(planned), application, &live)
}

pub(crate) async fn read(graph: &Graph<'_>, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (application, credential) = split_id(required(state, "id")?)?;
    let path = format!("{application}/federatedIdentityCredentials/{credential}");
    match trustform_provider::attrs::found(graph.get("federatedIdentityCredentials/read", &path).await)? {
        Some(live) => state_of(Some(state), application, &live).map(Some),
        None => Ok(None),
    }
}

/// Issuer, subject, audiences and description change in place (the name cannot).
pub(crate) async fn update(graph: &Graph<'_>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let (application, credential) = split_id(required(prior, "id")?)?;
    let path = format!("{application}/federatedIdentityCredentials/{credential}");
    let mut patch = body(planned)?;
    if let Some(object) = patch.as_object_mut() {
        object.remove("name");
    }
    graph.patch("federatedIdentityCredentials/update", &path, &patch).await?;
    let live = graph.get("federatedIdentityCredentials/read", &path).await?;
    state_of(Some(planned), application, &live)
}

pub(crate) async fn delete(graph: &Graph<'_>, state: &Value) -> Result<(), ProviderError> {
    let (application, credential) = split_id(required(state, "id")?)?;
    let path = format!("{application}/federatedIdentityCredentials/{credential}");
    trustform_provider::attrs::gone(graph.delete("federatedIdentityCredentials/delete", &path).await)
}

pub(crate) async fn import(graph: &Graph<'_>, id: &str) -> Result<Value, ProviderError> {
    let (application, credential) = split_id(id)?;
    let path = format!("{application}/federatedIdentityCredentials/{credential}");
    let live = graph.get("federatedIdentityCredentials/read", &path).await?;
    state_of(None, application, &live)
}

fn state_of(prior: Option<&Value>, application: &str, live: &serde_json::Value) -> Result<Value, ProviderError> {
    let field = |name: &str| live.get(name).and_then(serde_json::Value::as_str);
    let credential =
        field("id").ok_or_else(|| ProviderError::undecodable("federatedIdentityCredentials/read", "no id"))?;
    let description =
        match (field("description").filter(|text| !text.is_empty()), prior.and_then(|p| p.get("description"))) {
            (Some(text), _) => Value::string(text),
            (None, Some(Value::String(empty))) if empty.is_empty() => Value::string(""),
            _ => Value::Null,
        };
    let base = prior.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    Ok(with(
        &base,
        [
            ("application_id", Value::string(application)),
            ("display_name", Value::string(field("name").unwrap_or_default())),
            ("description", description),
            ("issuer", Value::string(field("issuer").unwrap_or_default())),
            ("subject", Value::string(field("subject").unwrap_or_default())),
            ("audiences", Value::List(json_strings(live, "audiences").into_iter().map(Value::string).collect())),
            ("credential_id", Value::string(credential)),
            ("id", Value::string(format!("{application}{SEGMENT}{credential}"))),
        ],
    ))
}

/// `azuread_application_federated_identity_credential`, as the provider serves it.
pub(crate) struct ApplicationFederatedIdentityCredential;

#[async_trait]
impl ResourceType<GraphApi> for ApplicationFederatedIdentityCredential {
    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
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

    #[test]
    fn ids_split_into_application_and_credential() {
        assert_eq!(split_id("/applications/a/federatedIdentityCredential/c").unwrap(), ("/applications/a", "c"));
        assert!(split_id("/applications/a").is_err());
        assert!(split_id("/servicePrincipals/a/federatedIdentityCredential/c").is_err());
    }
}
