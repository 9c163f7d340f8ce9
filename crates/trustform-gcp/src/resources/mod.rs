//! One module per resource type, plus `google_project` and the helpers they share.

pub(crate) mod credential_config;
pub(crate) mod iam_member;
pub(crate) mod pool;
pub(crate) mod project;
pub(crate) mod project_service;
pub(crate) mod service_account;

use crate::api::Api;
use trustform_lang::Value;
use trustform_provider::Session;

/// The provider's project, if `configure` ran and set one: what resources without their own
/// `project` live in.
pub(crate) fn default_project(session: &Session<Api>) -> Option<&str> {
    session.peek().and_then(|api| api.clients.project.as_deref())
}

/// The project a resource will live in, as far as plan time knows it: its own `project` when
/// given and known, the provider's when the configuration leaves it unset, `None` when it is
/// given but only known after apply. (`Provider::plan` sees the configuration, where unset is
/// null and unknown is unknown.)
pub(crate) fn planned_project<'v>(planned: &'v Value, default: Option<&'v str>) -> Option<&'v str> {
    match planned.get("project").map(Value::unmarked) {
        Some(Value::String(project)) => Some(project),
        None | Some(Value::Null) => default,
        Some(_) => None,
    }
}
