//! `azurerm_federated_identity_credential`: `PUT/GET/DELETE {identity id}/
//! federatedIdentityCredentials/{name}` (api-version `2023-01-31`,
//! <https://learn.microsoft.com/rest/api/managedidentity/federated-identity-credentials>). The
//! id and the import id are the credential's resource id.
//!
//! What users depend on: the identity trusts tokens whose `iss` is `issuer`, whose `sub` is
//! `subject` and whose `aud` is in `audience` (for AKS and EKS workload identity
//! `system:serviceaccount:NAMESPACE:SA` and `api://AzureADTokenExchange`).
//!
//! ARM refuses a write of one identity's credentials while another is in flight (`409
//! ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity`, see
//! <https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations#concurrent-updates-arent-supported-user-assigned-managed-identities>).
//! Writes are therefore serialised per identity in the adapter, as azurerm does with
//! `locks.ByID(parentId)`; a conflict from a writer outside this process is retried as any 409.

use crate::api::{found, gone, required, strings, text, with, Api};
use crate::resources::role_assignment::same_id_as_prior;
use crate::resources::user_assigned_identity::{self, API_VERSION};
use trustform_lang::{Type, Value};
use trustform_provider::attrs::derived_text;
use trustform_provider::{ProviderError, Session, ValidationIssue};
use trustform_schema::{Attribute, Block, ResourceSchema};

pub(crate) const TYPE: &str = "azurerm_federated_identity_credential";

const COLLECTION: &str = "/federatedIdentityCredentials/";

/// azurerm's attributes (<https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/federated_identity_credential>).
pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::new(
        TYPE,
        Block::new()
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("resource_group_name", Attribute::required(Type::String).force_new())
            .attr("parent_id", Attribute::required(Type::String).force_new().describe("The user-assigned identity's id."))
            .attr("issuer", Attribute::required(Type::String).describe("The OIDC issuer trusted, e.g. the cluster's."))
            .attr("subject", Attribute::required(Type::String).describe("`system:serviceaccount:NAMESPACE:SA` on Kubernetes."))
            .attr("audience", Attribute::required(Type::list(Type::String)).describe("`[\"api://AzureADTokenExchange\"]`."))
            .attr("id", Attribute::computed(Type::String).describe("The credential's resource id.")),
    )
    .import_id("the credential's resource id, e.g. `/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.ManagedIdentity/userAssignedIdentities/IDENTITY/federatedIdentityCredentials/NAME`")
}

fn issue(attribute: &str, summary: &str, detail: String) -> ValidationIssue {
    ValidationIssue { attribute: attribute.to_owned(), summary: summary.to_owned(), detail, is_error: true }
}

/// Plan-time checks of what ARM would refuse: the name pattern of the REST reference
/// (`^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$`), an `https` issuer, one audience (azurerm's
/// `MaxItems: 1`; ARM itself takes one), and a parent that is a user-assigned identity.
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    if let Some(name) = text(config, "name") {
        let valid = (3..=120).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            issues.push(issue(
                "name",
                "Invalid federated credential name",
                format!(
                    "A federated identity credential's name is 3 to 120 letters, digits, '-' and '_', starting \
                     with a letter or digit; {name:?} is not. Rename it, for example to \"gateway-eks\"."
                ),
            ));
        }
    }
    if let Some(issuer) = text(config, "issuer") {
        if !issuer.starts_with("https://") {
            issues.push(issue(
                "issuer",
                "Issuer is not an https URL",
                format!(
                    "Entra ID only trusts issuers it can fetch keys from over https; {issuer:?} is not one. Use the \
                     cluster's OIDC issuer URL (data.aws_eks_cluster.NAME.identity[0].oidc[0].issuer on EKS)."
                ),
            ));
        }
    }
    if let Some(Value::List(audiences)) = config.get("audience").map(Value::unmarked) {
        if audiences.len() != 1 {
            issues.push(issue(
                "audience",
                "One audience expected",
                format!(
                    "A federated identity credential takes exactly one audience, not {}. Write \
                     audience = [\"api://AzureADTokenExchange\"], the audience Azure's token exchange expects.",
                    audiences.len()
                ),
            ));
        }
    }
    if let Some(parent) = text(config, "parent_id") {
        if user_assigned_identity::parse_id(parent).is_none() {
            issues.push(issue(
                "parent_id",
                "Parent is not a user-assigned identity",
                format!(
                    "parent_id must be a user-assigned identity's id, not {parent:?}. Write \
                     parent_id = azurerm_user_assigned_identity.NAME.id."
                ),
            ));
        }
    }
    issues
}

fn credential_id(planned: &Value) -> Result<String, ProviderError> {
    Ok(format!("{}{COLLECTION}{}", required(planned, "parent_id")?, required(planned, "name")?))
}

/// The identity id and the credential name of a credential id.
fn parse_id(id: &str) -> Option<(&str, &str)> {
    let at = id.to_ascii_lowercase().rfind(&COLLECTION.to_ascii_lowercase())?;
    let (parent, name) = (&id[..at], &id[at + COLLECTION.len()..]);
    (user_assigned_identity::parse_id(parent).is_some() && !name.is_empty() && !name.contains('/'))
        .then_some((parent, name))
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let id = credential_id(planned)?;
    if found(get(api, &id).await)?.is_some() {
        return Err(ProviderError::already_exists(format!(
            "The federated identity credential {id} exists already. To manage it with trustform, import it: \
             `trustform import azurerm_federated_identity_credential.NAME '{id}'`."
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

/// Issuer, subject and audience change in place: a PUT of the same name.
pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let live = put(api, required(prior, "id")?, planned).await?;
    state_of(Some(planned), &live)
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let id = required(state, "id")?;
    let parent = parse_id(id).map_or(id, |(parent, _)| parent);
    let lock = api.clients.identity_writes.of(parent);
    let _one_writer = lock.lock().await;
    gone(api.call(|| api.clients.arm.delete("federatedIdentityCredentials/delete", id, API_VERSION)).await)
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    if parse_id(id).is_none() {
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a federated identity credential id; write it as \
             `/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.ManagedIdentity/userAssignedIdentities/\
             IDENTITY/federatedIdentityCredentials/NAME`."
        )));
    }
    state_of(None, &get(api, id).await?)
}

async fn get(api: &Api, id: &str) -> Result<serde_json::Value, ProviderError> {
    api.call(|| api.clients.arm.get("federatedIdentityCredentials/read", id, API_VERSION)).await
}

/// The PUT, one at a time per identity.
async fn put(api: &Api, id: &str, planned: &Value) -> Result<serde_json::Value, ProviderError> {
    let body = serde_json::json!({
        "properties": {
            "issuer": required(planned, "issuer")?,
            "subject": required(planned, "subject")?,
            "audiences": strings(planned, "audience"),
        }
    });
    let parent = required(planned, "parent_id")?;
    let lock = api.clients.identity_writes.of(parent);
    let _one_writer = lock.lock().await;
    api.call(|| api.clients.arm.put("federatedIdentityCredentials/write", id, API_VERSION, &body)).await
}

fn state_of(prior: Option<&Value>, live: &serde_json::Value) -> Result<Value, ProviderError> {
    let undecodable = |what: &str| ProviderError::undecodable("federatedIdentityCredentials/read", what.to_owned());
    let id = live.get("id").and_then(serde_json::Value::as_str).ok_or_else(|| undecodable("no id"))?;
    let (parent, name) = parse_id(id).ok_or_else(|| undecodable("an id that is not a credential's"))?;
    let (group, _) = user_assigned_identity::parse_id(parent).ok_or_else(|| undecodable("no resource group"))?;
    let keep = |attribute: &str, live: &str| match prior.and_then(|prior| text(prior, attribute)) {
        Some(prior) if prior.eq_ignore_ascii_case(live) => prior.to_owned(),
        _ => live.to_owned(),
    };
    let property = |name: &str| live.pointer(&format!("/properties/{name}")).and_then(serde_json::Value::as_str);
    let audiences: Vec<Value> = live
        .pointer("/properties/audiences")
        .and_then(serde_json::Value::as_array)
        .map(|items| items.iter().filter_map(|item| item.as_str().map(Value::string)).collect())
        .unwrap_or_default();
    let base = prior.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    Ok(with(
        &base,
        [
            ("id", Value::string(keep("id", id))),
            ("name", Value::string(name)),
            ("parent_id", Value::string(keep("parent_id", parent))),
            ("resource_group_name", Value::string(keep("resource_group_name", group))),
            ("issuer", Value::string(property("issuer").unwrap_or_default())),
            ("subject", Value::string(property("subject").unwrap_or_default())),
            ("audience", Value::List(audiences)),
        ],
    ))
}

/// Fills the resource id, `{parent_id}/federatedIdentityCredentials/{name}` (the path of its
/// PUT, which ARM answers as the `id`), partially known while the identity's id is; a prior
/// spelling in other case stays.
pub(crate) fn plan(prior: Option<&Value>, planned: Value) -> Value {
    let (Some(parent), Some(name)) = (planned.get("parent_id"), planned.get("name")) else {
        return planned;
    };
    match derived_text([parent, &Value::from("/federatedIdentityCredentials/"), name]) {
        Some(id) => with(&planned, [("id", same_id_as_prior(prior, id))]),
        None => planned,
    }
}

/// `azurerm_federated_identity_credential`, as the table-driven provider serves it.
pub(crate) struct FederatedIdentityCredential;

#[async_trait::async_trait]
impl trustform_provider::ResourceType<Api> for FederatedIdentityCredential {
    fn schema(&self) -> ResourceSchema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

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
    fn plan_derives_the_id_under_the_identity() {
        let parent = user_assigned_identity::identity_id("s", "rg", "gateway");
        let planned = Value::object([("parent_id", Value::string(&parent)), ("name", "eks-gateway".into())]);
        let id = format!("{parent}/federatedIdentityCredentials/eks-gateway");
        assert_eq!(plan(None, planned.clone()).get("id"), Some(&Value::string(&id)));
        let prior = Value::object([("id", Value::string(id.to_ascii_lowercase()))]);
        assert_eq!(plan(Some(&prior), planned).get("id"), Some(&Value::string(id.to_ascii_lowercase())));
        let unknown_parent = Value::object([("parent_id", Value::Unknown), ("name", "eks-gateway".into())]);
        let shape = plan(None, unknown_parent).get("id").and_then(|id| id.as_partial().cloned()).unwrap();
        assert_eq!(shape.to_template(), "${...}/federatedIdentityCredentials/eks-gateway");
    }

    const PARENT: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gateway";

    #[test]
    fn ids_split_into_identity_and_name() {
        let id = format!("{PARENT}/federatedIdentityCredentials/eks");
        assert_eq!(parse_id(&id), Some((PARENT, "eks")));
        assert_eq!(parse_id(PARENT), None);
        assert_eq!(parse_id("/subscriptions/s/federatedIdentityCredentials/eks"), None);
    }

    #[test]
    fn what_arm_refuses_is_caught_at_plan() {
        let config = Value::object([
            ("name", "-x".into()),
            ("issuer", "http://oidc.example".into()),
            ("audience", Value::List(vec!["a".into(), "b".into()])),
            ("parent_id", "/subscriptions/s/resourceGroups/rg".into()),
        ]);
        let attributes: Vec<String> = validate(&config).into_iter().map(|issue| issue.attribute).collect();
        assert_eq!(attributes, ["name", "issuer", "audience", "parent_id"]);
        let good = Value::object([
            ("name", "gateway-eks".into()),
            ("issuer", "https://oidc.eks.us-east-1.amazonaws.com/id/ABC".into()),
            ("audience", Value::List(vec!["api://AzureADTokenExchange".into()])),
            ("parent_id", PARENT.into()),
        ]);
        assert!(validate(&good).is_empty());
    }
}
