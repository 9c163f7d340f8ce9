//! Cloud Resource Manager v3: `projects.get` by id or number, and the project IAM policy.
//!
//! A project that is not preloaded answers `403 PERMISSION_DENIED`, never `404`: Google does not
//! tell callers whether a project they cannot see exists.

use serde_json::json;

use super::policy::{PolicyUpdate, SetIamPolicyRequest};
use super::{Answer, GcpError, GcpState};

fn denied(permission: &str, project: &str) -> GcpError {
    GcpError::permission_denied(format!(
        "Permission '{permission}' denied on resource '//cloudresourcemanager.googleapis.com/projects/{project}' (or \
         it may not exist)."
    ))
}

impl GcpState {
    pub(super) fn get_project(&self, project: &str) -> Answer {
        let found = self.project(project).ok_or_else(|| denied("resourcemanager.projects.get", project))?;
        Ok(json!({
            "name": format!("projects/{}", found.number),
            "projectId": found.id,
            "state": "ACTIVE",
            "displayName": found.id,
            "createTime": found.create_time,
            "updateTime": found.create_time,
            "etag": found.etag,
        }))
    }

    pub(super) fn get_project_policy(&self, project: &str, requested_version: Option<i32>) -> Answer {
        let found = self.project(project).ok_or_else(|| denied("resourcemanager.projects.getIamPolicy", project))?;
        found.policy.read(requested_version)
    }

    pub(super) fn set_project_policy(&mut self, project: &str, request: SetIamPolicyRequest) -> Answer {
        if self.project(project).is_none() {
            return Err(denied("resourcemanager.projects.setIamPolicy", project));
        }
        let update = PolicyUpdate::parse(request)?;
        self.check_members(&update)?;
        let etag = self.next_policy_etag();
        let found =
            self.project_mut(project).ok_or_else(|| denied("resourcemanager.projects.setIamPolicy", project))?;
        found.policy.write(update, etag)
    }
}
