//! `google_project_service`: an API enabled on a project, through Service Usage v1
//! (<https://cloud.google.com/service-usage/docs/reference/rest/v1/services>), so that a plan
//! enables `sts`, `iam`, `iamcredentials` and `aiplatform` before the pool that needs them.
//!
//! What users depend on (modelled on terraform-provider-google's
//! `google/services/resourcemanager/resource_google_project_service.go`):
//! * create adopts an API that is already enabled, and otherwise waits for `services.enable`'s
//!   long-running operation;
//! * refresh reads `services.get`: a DISABLED API is gone from state, so the next plan enables
//!   it again;
//! * destroy leaves the API enabled unless `disable_on_destroy = true`: other specs and
//!   workloads in the project may use it. (The Terraform provider defaults that to `true`; this
//!   is the one deliberate difference.) Disabling sends `disable_dependent_services` and
//!   `checkIfServiceHasUsage` (`CHECK` when `check_if_service_has_usage_on_destroy`);
//! * the flags are Trustform's own, never sent but on destroy, so changing them is an update
//!   that calls nothing;
//! * import id `PROJECT/SERVICE`.

use crate::api::{found, text, with, Api};
use crate::error::from_google;
use crate::schema;
use async_trait::async_trait;
use serde_json::Value as Json;
use trustform_lang::Value;
use trustform_provider::{Checkpoint, ProviderError, ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

/// Services Google enables only as a side effect of others, and a renamed one that can no
/// longer be asked for: the Terraform provider refuses them (`ignoredProjectServices`,
/// `bannedProjectServices` in resource_google_project_service.go).
const NOT_ENABLED_DIRECTLY: &[&str] = &[
    "dataproc-control.googleapis.com",
    "source.googleapis.com",
    "stackdriverprovisioning.googleapis.com",
    "bigquery-json.googleapis.com",
];

fn validate(config: &Value) -> Vec<ValidationIssue> {
    let Some(service) = text(config, "service") else { return Vec::new() };
    let detail = if NOT_ENABLED_DIRECTLY.contains(&service) {
        format!(
            "{service:?} cannot be enabled on its own: Google enables it as a side effect of another API, or it was \
             renamed. Remove this resource, or enable the API that brings it in."
        )
    } else if !service.contains('.') || service.contains('/') || service.starts_with('.') || service.ends_with('.') {
        format!(
            "service = {service:?} is not an API's service name. Write its domain, as `gcloud services list \
             --available` shows it: \"iam.googleapis.com\", \"aiplatform.googleapis.com\"."
        )
    } else {
        return Vec::new();
    };
    vec![ValidationIssue {
        attribute: "service".to_owned(),
        summary: "Invalid service name".to_owned(),
        detail,
        is_error: true,
    }]
}

/// Where a service lives: the project (by id) and the service name.
struct Target {
    project: String,
    service: String,
}

impl Target {
    fn of(value: &Value, default_project: Option<&str>) -> Option<Target> {
        Some(Target {
            project: super::planned_project(value, default_project)?.to_owned(),
            service: text(value, "service")?.to_owned(),
        })
    }

    fn parse(id: &str) -> Result<Target, ProviderError> {
        match id.split('/').collect::<Vec<_>>().as_slice() {
            [project, service] if !project.is_empty() && !service.is_empty() => {
                Ok(Target { project: (*project).to_owned(), service: (*service).to_owned() })
            }
            _ => Err(ProviderError::invalid(format!(
                "{id:?} is not a valid google_project_service id; expected PROJECT/SERVICE, such as \
                 my-project/iam.googleapis.com"
            ))),
        }
    }

    fn id(&self) -> String {
        format!("{}/{}", self.project, self.service)
    }

    /// The name Service Usage takes: `projects/PROJECT/services/SERVICE`.
    fn name(&self) -> String {
        format!("projects/{}/services/{}", self.project, self.service)
    }
}

fn target(api: &Api, value: &Value) -> Result<Target, ProviderError> {
    match Target::of(value, api.clients.project.as_deref()) {
        Some(target) => Ok(target),
        None => match text(value, "id") {
            Some(id) => Target::parse(id),
            None => Err(crate::config::no_project()),
        },
    }
}

/// Whether the service is enabled: `services.get`'s `state`.
async fn enabled(api: &Api, target: &Target) -> Result<bool, ProviderError> {
    let name = target.name();
    let service = api
        .call(|| async {
            api.clients.service_usage.get(&name).await.map_err(|e| from_google("serviceusage.services.get", e))
        })
        .await?;
    Ok(service.get("state").and_then(Json::as_str) == Some("ENABLED"))
}

/// The state of an enabled service: the configuration's flags (never sent but on destroy) with
/// the project and id settled.
fn state_of(target: &Target, flags: &Value) -> Value {
    let flag = |name: &str| Value::from(flags.get(name).and_then(Value::as_bool).unwrap_or(false));
    Value::object([
        ("id", Value::string(target.id())),
        ("project", Value::string(&target.project)),
        ("service", Value::string(&target.service)),
        ("disable_on_destroy", flag("disable_on_destroy")),
        ("disable_dependent_services", flag("disable_dependent_services")),
        ("check_if_service_has_usage_on_destroy", flag("check_if_service_has_usage_on_destroy")),
    ])
}

async fn create(api: &Api, planned: &Value, checkpoint: &dyn Checkpoint) -> Result<Value, ProviderError> {
    let target = target(api, planned)?;
    let state = state_of(&target, planned);
    // Reading first, as the Terraform provider does, adopts an enabled API without needing
    // `serviceusage.services.enable`.
    if enabled(api, &target).await? {
        return Ok(state);
    }
    let name = target.name();
    let operation = api
        .call(|| async {
            api.clients.service_usage.enable(&name).await.map_err(|e| from_google("serviceusage.services.enable", e))
        })
        .await?;
    // Enabling is idempotent: an interrupted wait is finished by the next apply's enable.
    checkpoint.record(&state).await;
    api.wait::<Json>("serviceusage.services.enable", operation).await?;
    Ok(state)
}

async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let target = target(api, state)?;
    // A project that is gone has no enabled services.
    match found(enabled(api, &target).await)? {
        Some(true) => Ok(Some(state_of(&target, state))),
        Some(false) | None => Ok(None),
    }
}

async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    if state.get("disable_on_destroy").and_then(Value::as_bool) != Some(true) {
        tracing::info!(id = text(state, "id"), "disable_on_destroy is false: the API stays enabled");
        return Ok(());
    }
    let target = target(api, state)?;
    let flag = |name: &str| state.get(name).and_then(Value::as_bool).unwrap_or(false);
    let (dependents, check_usage) = (flag("disable_dependent_services"), flag("check_if_service_has_usage_on_destroy"));
    let name = target.name();
    let started = api
        .call(|| async {
            api.clients
                .service_usage
                .disable(&name, dependents, check_usage)
                .await
                .map_err(|e| from_google("serviceusage.services.disable", e))
        })
        .await;
    match found(started)? {
        Some(operation) => {
            found(api.wait::<Json>("serviceusage.services.disable", operation).await)?;
            Ok(())
        }
        None => Ok(()),
    }
}

async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let target = Target::parse(id)?;
    if !enabled(api, &target).await? {
        return Err(ProviderError::not_found(format!(
            "{} is not enabled on project {:?}; there is nothing to import: let the plan enable it",
            target.service, target.project
        )));
    }
    Ok(state_of(&target, &Value::Null))
}

/// `google_project_service`.
pub(crate) struct ProjectService;

#[async_trait]
impl ResourceType<Api> for ProjectService {
    fn schema(&self) -> ResourceSchema {
        schema::project_service()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    fn plan(&self, session: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match Target::of(&planned, super::default_project(session)) {
            Some(target) => {
                with(&planned, [("id", Value::string(target.id())), ("project", Value::string(&target.project))])
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
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, planned, checkpoint).await
    }

    async fn update(&self, session: &Session<Api>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        Ok(state_of(&target(session.clients()?, planned)?, planned))
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

    fn issues(service: &str) -> Vec<ValidationIssue> {
        validate(&Value::object([("service", service.into())]))
    }

    #[test]
    fn service_names_are_domains() {
        assert!(issues("iam.googleapis.com").is_empty());
        for bad in ["iam", "projects/p/services/iam.googleapis.com", ".googleapis.com", "iam."] {
            let found = issues(bad);
            assert_eq!(found.len(), 1, "{bad}");
            assert!(
                found[0].detail.contains("iam.googleapis.com"),
                "the fix names a real service: {}",
                found[0].detail
            );
        }
        assert!(issues("bigquery-json.googleapis.com")[0].detail.contains("cannot be enabled on its own"));
    }

    #[test]
    fn import_ids_are_project_slash_service() {
        let target = Target::parse("litellm-prod/sts.googleapis.com").unwrap();
        assert_eq!(target.name(), "projects/litellm-prod/services/sts.googleapis.com");
        assert_eq!(target.id(), "litellm-prod/sts.googleapis.com");
        for bad in ["sts.googleapis.com", "a/b/c", "/sts.googleapis.com", "p/"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
