//! `google_service_account`: iam v1 `projects.serviceAccounts` create, get, patch and delete.
//!
//! A new service account is eventually consistent: `get` may answer 404 for a moment after the
//! create succeeded, and dependents (IAM bindings naming it) fail until it is readable, so
//! create polls until it is.

use crate::api::{answer, found, gone, required, text, with, Api};
use crate::schema;
use async_trait::async_trait;
use google_iam1::api::{CreateServiceAccountRequest, PatchServiceAccountRequest, ServiceAccount};
use google_iam1::FieldMask;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

/// `ACCOUNT_ID@PROJECT.iam.gserviceaccount.com`, the address Google gives.
/// `account_id` as the Google provider checks it before any call (`validateRFC1035Name(6, 30)`
/// in terraform-provider-google's `resource_google_service_account.go`; IAM's own rule for
/// `accountId`): 6 to 30 characters of `[a-z0-9-]`, a letter first, no hyphen last. A value
/// not known yet is left for IAM.
pub(crate) fn validate(config: &Value) -> Vec<trustform_provider::ValidationIssue> {
    let Some(id) = config.get("account_id").and_then(Value::as_str) else { return Vec::new() };
    let bytes = id.as_bytes();
    let valid = (6..=30).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.last() != Some(&b'-');
    if valid {
        return Vec::new();
    }
    vec![trustform_provider::ValidationIssue {
        attribute: "account_id".to_owned(),
        summary: "Invalid service account id".to_owned(),
        detail: format!(
            "account_id = {id:?} is not one Google accepts: it must be 6 to 30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen. Choose an id such as \"{}\".",
            suggestion(id)
        ),
        is_error: true,
    }]
}

/// A valid id close to `id`: lowercased, other characters as hyphens, a letter first, padded or
/// cut to fit.
fn suggestion(id: &str) -> String {
    let mut out: String =
        id.chars().map(|c| c.to_ascii_lowercase()).map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "sa-");
    }
    out.truncate(30);
    let mut out = out.trim_end_matches('-').to_owned();
    while out.len() < 6 {
        out.push_str(if out.ends_with('-') { "sa" } else { "-sa" });
    }
    out
}

pub(crate) fn email(account_id: &str, project: &str) -> String {
    format!("{account_id}@{project}.iam.gserviceaccount.com")
}

pub(crate) fn name(project: &str, email: &str) -> String {
    format!("projects/{project}/serviceAccounts/{email}")
}

/// Fills what follows from the arguments, so that IAM members can name the account at plan time.
pub(crate) fn plan(planned: Value, project: Option<&str>) -> Value {
    let (Some(account_id), Some(project)) = (text(&planned, "account_id"), super::planned_project(&planned, project))
    else {
        return planned;
    };
    let (account_id, project) = (account_id.to_owned(), project.to_owned());
    let email = email(&account_id, &project);
    let name = name(&project, &email);
    with(
        &planned,
        [
            ("project", Value::string(&project)),
            ("member", Value::string(format!("serviceAccount:{email}"))),
            ("email", Value::string(&email)),
            ("id", Value::string(&name)),
            ("name", Value::string(name)),
        ],
    )
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let project = api.clients.project_of(planned)?;
    let account_id = required(planned, "account_id")?;
    let request = CreateServiceAccountRequest {
        account_id: Some(account_id.to_owned()),
        service_account: Some(ServiceAccount {
            display_name: text(planned, "display_name").map(str::to_owned),
            description: text(planned, "description").map(str::to_owned),
            ..ServiceAccount::default()
        }),
    };
    let iam = &api.clients.iam;
    let parent = format!("projects/{project}");
    let (request, parent) = (&request, parent.as_str());
    let created = api
        .call(|| async move {
            let call = iam.projects().service_accounts_create(request.clone(), parent);
            answer("iam.projects.serviceAccounts.create", call.doit().await)
        })
        .await
        .map_err(|error| match error.kind {
            trustform_provider::ProviderErrorKind::AlreadyExists => ProviderError::already_exists(format!(
                "{}; import it with the id \"{}\"",
                error.message,
                name(project, &email(account_id, project))
            ))
            .with_code("ALREADY_EXISTS"),
            _ => error,
        })?;
    let name = created.name.clone().unwrap_or_else(|| name(project, &email(account_id, project)));
    // Readable before dependents run: an IAM binding naming it fails until then.
    let visible = api.call_until_visible(|| get(api, &name)).await?;
    Ok(state_of(project, &visible))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let project = api.clients.project_of(state)?;
    let name = account_name(state)?;
    Ok(found(api.call(|| get(api, name)).await)?.map(|account| state_of(project, &account)))
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let name = if id.starts_with("projects/") { id.to_owned() } else { format!("projects/-/serviceAccounts/{id}") };
    let account = api.call(|| get(api, &name)).await?;
    let project =
        account.project_id.clone().ok_or_else(|| ProviderError::transient("the service account has no project"))?;
    Ok(state_of(&project, &account))
}

pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let name = account_name(prior)?;
    let mut mask = Vec::new();
    for (attribute, field) in [("display_name", "displayName"), ("description", "description")] {
        if text(prior, attribute) != text(planned, attribute) {
            mask.push(field);
        }
    }
    if !mask.is_empty() {
        let request = PatchServiceAccountRequest {
            service_account: Some(ServiceAccount {
                // An empty string is how a patch clears a field.
                display_name: Some(text(planned, "display_name").unwrap_or_default().to_owned()),
                description: Some(text(planned, "description").unwrap_or_default().to_owned()),
                ..ServiceAccount::default()
            }),
            update_mask: Some(FieldMask::new(&mask)),
        };
        let iam = &api.clients.iam;
        let request = &request;
        api.call(|| async move {
            let call = iam.projects().service_accounts_patch(request.clone(), name);
            answer("iam.projects.serviceAccounts.patch", call.doit().await)
        })
        .await?;
    }
    let computed = ["project", "email", "member", "name", "unique_id", "id"]
        .map(|attribute| (attribute, prior.get(attribute).cloned().unwrap_or_default()));
    Ok(with(planned, computed))
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let name = account_name(state)?;
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            answer("iam.projects.serviceAccounts.delete", iam.projects().service_accounts_delete(name).doit().await)
                .map(drop)
        })
        .await,
    )
}

async fn get(api: &Api, name: &str) -> Result<ServiceAccount, ProviderError> {
    answer("iam.projects.serviceAccounts.get", api.clients.iam.projects().service_accounts_get(name).doit().await)
}

fn account_name(state: &Value) -> Result<&str, ProviderError> {
    text(state, "name")
        .or_else(|| text(state, "id"))
        .ok_or_else(|| ProviderError::invalid("the service account state has no name"))
}

fn state_of(project: &str, account: &ServiceAccount) -> Value {
    let email = account.email.clone().unwrap_or_default();
    let text =
        |value: &Option<String>| value.as_deref().filter(|v| !v.is_empty()).map(Value::string).unwrap_or_default();
    let account_id = email.split('@').next().unwrap_or_default().to_owned();
    let name = account.name.clone().unwrap_or_else(|| name(project, &email));
    Value::object([
        ("account_id", Value::string(account_id)),
        ("project", Value::string(account.project_id.as_deref().unwrap_or(project))),
        ("display_name", text(&account.display_name)),
        ("description", text(&account.description)),
        ("member", Value::string(format!("serviceAccount:{email}"))),
        ("email", Value::string(email)),
        ("id", Value::string(&name)),
        ("name", Value::string(name)),
        ("unique_id", text(&account.unique_id)),
    ])
}

/// `google_service_account`, as the provider serves it.
pub(crate) struct GoogleServiceAccount;

#[async_trait]
impl ResourceType<Api> for GoogleServiceAccount {
    fn schema(&self) -> ResourceSchema {
        schema::service_account()
    }

    fn validate(&self, config: &Value) -> Vec<trustform_provider::ValidationIssue> {
        validate(config)
    }

    fn plan(&self, session: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(planned, super::default_project(session)))
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
    fn account_ids_google_refuses_are_refused_at_validate_with_a_valid_suggestion() {
        for good in ["gateway", "litellm-wif-sa", "a12345", "abcdefghijklmnopqrstuvwxyz1234"] {
            assert!(validate(&Value::object([("account_id", Value::from(good))])).is_empty(), "{good}");
        }
        for bad in ["gw-a", "1gateway", "gateway-", "Gateway", "gate_way", "abcdefghijklmnopqrstuvwxyz12345", "-"] {
            let issues = validate(&Value::object([("account_id", Value::from(bad))]));
            assert_eq!(issues.len(), 1, "{bad}");
            let suggested = issues[0].detail.rsplit('"').nth(1).unwrap();
            assert!(
                validate(&Value::object([("account_id", Value::from(suggested))])).is_empty(),
                "{bad} -> {suggested}"
            );
        }
        assert!(validate(&Value::object([("account_id", Value::Unknown)])).is_empty());
    }

    #[test]
    fn plan_derives_the_email_and_member() {
        let planned = Value::object([("account_id", "litellm-wif-sa".into()), ("project", Value::Null)]);
        let planned = plan(planned, Some("litellm-prod"));
        assert_eq!(planned.get("email"), Some(&Value::from("litellm-wif-sa@litellm-prod.iam.gserviceaccount.com")));
        assert_eq!(
            planned.get("member"),
            Some(&Value::from("serviceAccount:litellm-wif-sa@litellm-prod.iam.gserviceaccount.com"))
        );
        assert_eq!(
            planned.get("name"),
            Some(&Value::from(
                "projects/litellm-prod/serviceAccounts/litellm-wif-sa@litellm-prod.iam.gserviceaccount.com"
            ))
        );
        let unknown = Value::object([("account_id", Value::Unknown)]);
        assert_eq!(plan(unknown.clone(), Some("p")), unknown);
    }
}
