//! Service Usage v1 (<https://cloud.google.com/service-usage/docs/reference/rest/v1/services>):
//! `services.get`, `services.enable`, `services.disable` on `projects/{id or number}/services/{service}`
//! and `operations.get` on `operations/{id}`, which share the `/v1/` prefix with IAM (whose
//! names never start with `services` under a project, nor with `operations`).
//!
//! What is modelled, and from where:
//! * a `Service` is `{name: "projects/NUMBER/services/S", parent: "projects/NUMBER", config:
//!   {name, title}, state: ENABLED|DISABLED}` (google/api/serviceusage/v1/resources.proto);
//! * a service the catalogue does not know answers `403 PERMISSION_DENIED` "Not found or
//!   permission denied for service(s): S." with the `ErrorInfo` reason
//!   `SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED` (what gcloud and the Go client show for a
//!   misspelt service);
//! * `enable` and `disable` return a long-running operation named `operations/acf.p2-...`, done
//!   after the configured polls, whose response is an `EnableServiceResponse` /
//!   `DisableServiceResponse` carrying the service; enabling an enabled service answers
//!   `operations/noop.DONE_OPERATION`, already done (gcloud's "Operation
//!   operations/noop.DONE_OPERATION finished successfully");
//! * enabling a service enables what it depends on (`container.googleapis.com` brings
//!   `compute.googleapis.com`), and disabling a service that enabled services depend on answers
//!   `400 FAILED_PRECONDITION` "The service S is depended on by the following active
//!   service(s): D; Please specify disable_dependent_services=true if you want to proceed with
//!   disabling all services." (reason `COMMON_SU_SERVICE_HAS_DEPENDENT_SERVICES`, as Terraform
//!   users report it on destroy) unless `disableDependentServices` is set;
//! * `checkIfServiceHasUsage: CHECK` refuses with `FAILED_PRECONDITION` to disable a service
//!   with usage (serviceusage.proto's `CheckIfServiceHasUsage`); the sandbox counts as usage
//!   the objects it holds for that API in the project (IAM: service accounts and pools);
//! * a new project has only `serviceusage.googleapis.com` enabled. (The other emulated APIs do
//!   not refuse calls to a project whose API is disabled.)

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Answer, GcpError, GcpState};
use crate::ids::random_id;

/// The services the emulated catalogue knows, with their titles and the services each one
/// enables along with it.
const CATALOGUE: &[(&str, &str, &[&str])] = &[
    ("aiplatform.googleapis.com", "Vertex AI API", &[]),
    ("cloudresourcemanager.googleapis.com", "Cloud Resource Manager API", &[]),
    ("compute.googleapis.com", "Compute Engine API", &[]),
    ("container.googleapis.com", "Kubernetes Engine API", &["compute.googleapis.com"]),
    ("iam.googleapis.com", "Identity and Access Management (IAM) API", &[]),
    ("iamcredentials.googleapis.com", "IAM Service Account Credentials API", &[]),
    ("secretmanager.googleapis.com", "Secret Manager API", &[]),
    ("serviceusage.googleapis.com", "Service Usage API", &[]),
    ("storage.googleapis.com", "Cloud Storage API", &[]),
    ("sts.googleapis.com", "Security Token Service API", &[]),
];

/// Enabled before anyone asks: the API that enables the others.
pub(super) const ENABLED_ON_CREATION: &[&str] = &["serviceusage.googleapis.com"];

const ENABLE_RESPONSE: &str = "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse";
const DISABLE_RESPONSE: &str = "type.googleapis.com/google.api.serviceusage.v1.DisableServiceResponse";
const DONE_OPERATION: &str = "operations/noop.DONE_OPERATION";

fn known(service: &str) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    CATALOGUE.iter().find(|(name, _, _)| *name == service)
}

fn not_found_or_denied(service: &str) -> GcpError {
    GcpError::new(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        format!("Not found or permission denied for service(s): {service}."),
    )
    .with_details(json!([{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED",
        "domain": "serviceusage.googleapis.com",
        "metadata": { "services": service },
    }]))
}

/// `DisableServiceRequest`; unknown members are refused, as Google's JSON parser does.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DisableRequest {
    #[serde(default)]
    disable_dependent_services: bool,
    #[serde(default)]
    check_if_service_has_usage: Option<String>,
}

/// `EnableServiceRequest` has no fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnableRequest {}

impl GcpState {
    fn service_project(&self, project: &str, service: &str, permission: &str) -> Result<u64, GcpError> {
        let number = self
            .project(project)
            .ok_or_else(|| {
                GcpError::permission_denied(format!(
                    "Permission denied to {permission} on resource 'projects/{project}' (or it may not exist)."
                ))
            })?
            .number;
        known(service).ok_or_else(|| not_found_or_denied(service))?;
        Ok(number)
    }

    fn enabled_services(&self, number: u64) -> BTreeSet<String> {
        match self.services.get(&number) {
            Some(enabled) => enabled.clone(),
            None => ENABLED_ON_CREATION.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The project's enabled services, for a change: created from the defaults on first write.
    fn enabled_services_mut(&mut self, number: u64) -> &mut BTreeSet<String> {
        self.services.entry(number).or_insert_with(|| ENABLED_ON_CREATION.iter().map(|s| (*s).to_owned()).collect())
    }

    fn service_json(number: u64, service: &str, enabled: bool) -> Value {
        let title = known(service).map(|(_, title, _)| *title).unwrap_or_default();
        json!({
            "name": format!("projects/{number}/services/{service}"),
            "parent": format!("projects/{number}"),
            "config": { "name": service, "title": title },
            "state": if enabled { "ENABLED" } else { "DISABLED" },
        })
    }

    pub(super) fn get_service(&self, project: &str, service: &str) -> Answer {
        let number = self.service_project(project, service, "get service")?;
        let enabled = self.enabled_services(number).contains(service);
        Ok(Self::service_json(number, service, enabled))
    }

    pub(super) fn enable_service(&mut self, project: &str, service: &str, _request: EnableRequest) -> Answer {
        let number = self.service_project(project, service, "enable service")?;
        let response = json!({ "service": Self::service_json(number, service, true) });
        if self.enabled_services(number).contains(service) {
            let mut done = json!({ "@type": ENABLE_RESPONSE });
            if let (Some(done), Value::Object(fields)) = (done.as_object_mut(), response) {
                done.extend(fields);
            }
            return Ok(json!({ "name": DONE_OPERATION, "done": true, "response": done }));
        }
        let mut with_dependencies = vec![service.to_owned()];
        if let Some((_, _, dependencies)) = known(service) {
            with_dependencies.extend(dependencies.iter().map(|s| (*s).to_owned()));
        }
        self.enabled_services_mut(number).extend(with_dependencies);
        Ok(self.start_service_operation(number, ENABLE_RESPONSE, response))
    }

    pub(super) fn disable_service(&mut self, project: &str, service: &str, request: DisableRequest) -> Answer {
        let number = self.service_project(project, service, "disable service")?;
        let check_usage = match request.check_if_service_has_usage.as_deref() {
            None | Some("CHECK_IF_SERVICE_HAS_USAGE_UNSPECIFIED" | "SKIP") => false,
            Some("CHECK") => true,
            Some(other) => {
                return Err(GcpError::invalid_argument(format!(
                    "Invalid value at 'check_if_service_has_usage' (type.googleapis.com/google.api.serviceusage.v1.DisableServiceRequest.CheckIfServiceHasUsage), \"{other}\""
                )))
            }
        };
        let enabled = self.enabled_services(number);
        let dependents: Vec<&str> = CATALOGUE
            .iter()
            .filter(|(name, _, dependencies)| dependencies.contains(&service) && enabled.contains(*name))
            .map(|(name, _, _)| *name)
            .collect();
        if !dependents.is_empty() && !request.disable_dependent_services {
            return Err(GcpError::failed_precondition(format!(
                "The service {service} is depended on by the following active service(s): {}; Please specify \
                 disable_dependent_services=true if you want to proceed with disabling all services.",
                dependents.join(",")
            ))
            .with_details(json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "COMMON_SU_SERVICE_HAS_DEPENDENT_SERVICES",
                "domain": "serviceusage.googleapis.com",
                "metadata": { "service": service, "dependent_services": dependents.join(",") },
            }])));
        }
        let mut disabled = vec![service];
        disabled.extend(&dependents);
        if check_usage {
            if let Some(used) = disabled.iter().find(|candidate| self.has_usage(number, candidate)) {
                return Err(GcpError::failed_precondition(format!(
                    "The service {used} has usage in the last 30 days; it was not disabled. Set \
                     check_if_service_has_usage to SKIP to disable it anyway."
                )));
            }
        }
        let enabled = self.enabled_services_mut(number);
        for service in disabled {
            enabled.remove(service);
        }
        let response = json!({ "service": Self::service_json(number, service, false) });
        Ok(self.start_service_operation(number, DISABLE_RESPONSE, response))
    }

    /// Whether the project holds objects the service serves: the sandbox's stand-in for 30 days
    /// of usage.
    fn has_usage(&self, number: u64, service: &str) -> bool {
        match service {
            "iam.googleapis.com" => {
                let project_id = self.projects.iter().find(|p| p.number == number).map(|p| p.id.as_str());
                self.pools.keys().any(|(pool_project, _)| *pool_project == number)
                    || self
                        .service_accounts
                        .values()
                        .any(|account| Some(account.project_id()) == project_id && !account.is_deleted())
            }
            _ => false,
        }
    }

    fn start_service_operation(&mut self, number: u64, type_url: &str, response: Value) -> Value {
        let id = format!(
            "operations/acf.p2-{number}-{}-{}-{}-{}-{}",
            random_id(&mut self.rng, 8, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 12, "0123456789abcdef"),
        );
        self.operations.start_named(id, type_url, response)
    }

    /// `operations.get` on `operations/{id}`.
    pub(super) fn get_service_operation(&mut self, id: &str) -> Answer {
        if format!("operations/{id}") == DONE_OPERATION {
            return Ok(json!({ "name": DONE_OPERATION, "done": true }));
        }
        self.operations.poll(&format!("operations/{id}"))
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::Method;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::super::GcpRequest;
    use super::*;
    use crate::config::SandboxConfig;

    fn state() -> GcpState {
        GcpState::new(
            &SandboxConfig::default().gcp_project("my-project", 42).gcp_operation_polls(1),
            StdRng::seed_from_u64(0),
        )
    }

    fn call(state: &mut GcpState, method: Method, uri: &str, body: Value) -> Result<Value, GcpError> {
        let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
        let request = GcpRequest::parse("/v1/", method, &uri.parse().unwrap(), body).unwrap();
        state.iam_v1(&request)
    }

    fn finish(state: &mut GcpState, operation: &Value) -> Value {
        let name = operation["name"].as_str().unwrap().to_owned();
        assert!(name.starts_with("operations/acf.p2-42-"), "{name}");
        assert_eq!(call(state, Method::GET, &format!("/v1/{name}"), Value::Null).unwrap().get("done"), None);
        call(state, Method::GET, &format!("/v1/{name}"), Value::Null).unwrap()
    }

    #[test]
    fn enable_is_an_operation_and_get_shows_the_state() {
        let mut gcp = state();
        let get = |gcp: &mut GcpState| {
            call(gcp, Method::GET, "/v1/projects/my-project/services/sts.googleapis.com", Value::Null).unwrap()
        };
        assert_eq!(
            get(&mut gcp),
            json!({
                "name": "projects/42/services/sts.googleapis.com",
                "parent": "projects/42",
                "config": { "name": "sts.googleapis.com", "title": "Security Token Service API" },
                "state": "DISABLED",
            })
        );
        let started =
            call(&mut gcp, Method::POST, "/v1/projects/42/services/sts.googleapis.com:enable", json!({})).unwrap();
        let done = finish(&mut gcp, &started);
        assert_eq!(done["done"], true);
        assert_eq!(done["response"]["@type"], ENABLE_RESPONSE);
        assert_eq!(done["response"]["service"]["state"], "ENABLED");
        assert_eq!(get(&mut gcp)["state"], "ENABLED");

        let again =
            call(&mut gcp, Method::POST, "/v1/projects/my-project/services/sts.googleapis.com:enable", Value::Null)
                .unwrap();
        assert_eq!((again["name"].as_str(), again["done"].as_bool()), (Some(DONE_OPERATION), Some(true)));
    }

    #[test]
    fn unknown_services_and_fields_are_refused_as_google_does() {
        let mut gcp = state();
        let error =
            call(&mut gcp, Method::POST, "/v1/projects/my-project/services/nope.googleapis.com:enable", json!({}))
                .unwrap_err();
        assert_eq!((error.status, error.reason), (StatusCode::FORBIDDEN, "PERMISSION_DENIED"));
        assert_eq!(error.message, "Not found or permission denied for service(s): nope.googleapis.com.");
        let error = call(
            &mut gcp,
            Method::POST,
            "/v1/projects/my-project/services/iam.googleapis.com:disable",
            json!({ "force": true }),
        )
        .unwrap_err();
        assert_eq!(error.reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn dependents_block_a_disable_unless_asked_to_go_too() {
        let mut gcp = state();
        let started =
            call(&mut gcp, Method::POST, "/v1/projects/my-project/services/container.googleapis.com:enable", json!({}))
                .unwrap();
        finish(&mut gcp, &started);
        let compute = "/v1/projects/my-project/services/compute.googleapis.com";
        assert_eq!(call(&mut gcp, Method::GET, compute, Value::Null).unwrap()["state"], "ENABLED");
        let error = call(&mut gcp, Method::POST, &format!("{compute}:disable"), json!({})).unwrap_err();
        assert_eq!(error.reason, "FAILED_PRECONDITION");
        assert!(error.message.contains("depended on by the following active service(s): container.googleapis.com"));
        let started = call(
            &mut gcp,
            Method::POST,
            &format!("{compute}:disable"),
            json!({ "disableDependentServices": true, "checkIfServiceHasUsage": "SKIP" }),
        )
        .unwrap();
        assert_eq!(finish(&mut gcp, &started)["response"]["service"]["state"], "DISABLED");
        let container = "/v1/projects/my-project/services/container.googleapis.com";
        assert_eq!(call(&mut gcp, Method::GET, container, Value::Null).unwrap()["state"], "DISABLED");
    }

    #[test]
    fn a_usage_check_refuses_to_disable_a_service_in_use() {
        let mut gcp = state();
        let iam = "/v1/projects/my-project/services/iam.googleapis.com";
        let started = call(&mut gcp, Method::POST, &format!("{iam}:enable"), json!({})).unwrap();
        finish(&mut gcp, &started);
        call(&mut gcp, Method::POST, "/v1/projects/my-project/serviceAccounts", json!({ "accountId": "in-use-sa" }))
            .unwrap();
        let check = json!({ "checkIfServiceHasUsage": "CHECK" });
        let error = call(&mut gcp, Method::POST, &format!("{iam}:disable"), check).unwrap_err();
        assert_eq!(error.reason, "FAILED_PRECONDITION");
        let started = call(&mut gcp, Method::POST, &format!("{iam}:disable"), json!({})).unwrap();
        finish(&mut gcp, &started);
        assert_eq!(call(&mut gcp, Method::GET, iam, Value::Null).unwrap()["state"], "DISABLED");
    }
}
