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
