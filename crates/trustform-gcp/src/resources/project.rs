//! `data "google_project"`: Cloud Resource Manager v3 `projects.get`, for the project **number**
//! that audiences and principalSets need (a project id there is the classic mistake).

use crate::api::{answer, text, Api};
use crate::config::no_project;
use crate::schema;
use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use trustform_provider::{DataSource, Session};
use trustform_schema::ResourceSchema;

pub(crate) async fn read(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let project_id = text(config, "project_id").or(api.clients.project.as_deref()).ok_or_else(no_project)?;
    let crm = &api.clients.resource_manager;
    let name = format!("projects/{project_id}");
    let name = name.as_str();
    let project = api
        .call(|| async move { answer("cloudresourcemanager.projects.get", crm.projects().get(name).doit().await) })
        .await?;
    let number = project.name.as_deref().and_then(|name| name.strip_prefix("projects/")).ok_or_else(|| {
        ProviderError::transient(format!(
            "cloudresourcemanager.projects.get returned no project number for {project_id:?}"
        ))
    })?;
    let project_id = project.project_id.as_deref().unwrap_or(project_id);
    Ok(Value::object([
        ("project_id", Value::string(project_id)),
        ("number", Value::string(number)),
        ("name", project.display_name.as_deref().map(Value::string).unwrap_or_default()),
        ("id", Value::string(format!("projects/{project_id}"))),
    ]))
}

/// The longest the number lookup at `configure` may take: a convenience for plans never holds a
/// run up for the whole retry deadline of an unreachable endpoint.
const LOOKUP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// The number of the provider's project, once per provider session, so that plans show the
/// names Google gives pools and providers (`projects/NUMBER/...`) rather than "(known after
/// apply)". A project given by number needs no call. `None` (logged at debug level) without a
/// project or an answer: the names then stay unknown until apply, as without the lookup, and
/// the calls that need the project report the real problem.
pub(crate) async fn look_up_number(api: &Api) -> Option<String> {
    let project = api.clients.project.as_deref()?;
    if is_number(project) {
        return Some(project.to_owned());
    }
    let policy = api.policy.clone().with_deadline(api.policy.deadline.min(LOOKUP_DEADLINE));
    let quick = Api { policy, ..api.clone() };
    match read(&quick, &Value::Null).await {
        Ok(found) => found.get("number").and_then(Value::as_str).map(str::to_owned),
        Err(error) => {
            tracing::debug!(%error, "no project number to derive names from: they stay unknown until apply");
            None
        }
    }
}

/// Whether a project is named by its number (Google accepts either in resource names).
pub(crate) fn is_number(project: &str) -> bool {
    !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit())
}

/// `data "google_project"`.
pub(crate) struct Project;

#[async_trait]
impl DataSource<Api> for Project {
    fn schema(&self) -> ResourceSchema {
        schema::project()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        read(session.clients()?, config).await
    }
}
