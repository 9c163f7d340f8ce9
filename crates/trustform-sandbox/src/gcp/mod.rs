//! Google Cloud, JSON over REST: IAM v1 under `/v1/` (service accounts and their IAM policies,
//! workload identity pools and providers with their long-running operations), Service Usage v1
//! beside it (`projects/*/services/*` and `operations/*`, which no IAM route uses), and Cloud
//! Resource Manager v3 under `/v3/` (`projects.get` and project IAM policies).
//!
//! Answers follow Google's proto3 JSON mapping: lowerCamelCase names, and fields at their default
//! value left out (a `false` `disabled` or `done`, empty strings, lists and maps). Errors are
//! `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}`. Any bearer token is
//! accepted and none is required.

mod federation;
mod operations;
mod policy;
mod resource_manager;
mod service_accounts;
mod service_usage;
mod workload_identity;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::percent_decode_str;
use rand::rngs::StdRng;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::config::SandboxConfig;
use crate::ids::{random_id, rfc3339};
use crate::server::Shared;

use self::operations::Operations;
use self::policy::PolicyStore;
use self::service_accounts::StoredServiceAccount;
use self::workload_identity::{StoredPool, StoredProvider};

/// Whether `path` belongs to a Google API rather than to an AWS one.
pub(crate) fn serves(path: &str) -> bool {
    path.starts_with("/v1/") || path.starts_with("/v3/")
}

/// A Google API error as the wire shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GcpError {
    status: StatusCode,
    /// The `google.rpc.Code` name, e.g. `NOT_FOUND`.
    reason: &'static str,
    message: String,
    /// `google.rpc.Status.details` (an `ErrorInfo`, say), left out when empty.
    details: Option<Value>,
}

impl GcpError {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> GcpError {
        GcpError { status, reason, message: message.into(), details: None }
    }

    fn with_details(mut self, details: Value) -> GcpError {
        self.details = Some(details);
        self
    }

    fn invalid_argument(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    fn failed_precondition(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }

    fn permission_denied(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    fn not_found(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// What Google answers for a workload identity pool, provider or operation that is not there.
    fn entity_not_found() -> GcpError {
        GcpError::not_found("Requested entity was not found.")
    }

    fn already_exists(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }

    fn aborted(message: impl Into<String>) -> GcpError {
        GcpError::new(StatusCode::CONFLICT, "ABORTED", message)
    }

    fn unknown_route(method: &Method, path: &str) -> GcpError {
        GcpError::not_found(format!("No method {method} {path} is served by this API."))
    }

    pub(crate) fn resource_exhausted() -> GcpError {
        GcpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        )
    }

    pub(crate) fn unavailable() -> GcpError {
        GcpError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The service is currently unavailable.")
    }
}

impl IntoResponse for GcpError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": { "code": self.status.as_u16(), "message": self.message, "status": self.reason }
        });
        if let Some(details) = self.details {
            body["error"]["details"] = details;
        }
        (self.status, Json(body)).into_response()
    }
}

type Answer = Result<Value, GcpError>;

/// One request to a Google API, split the way Google's REST mapping reads it: the resource name
/// segments after the version, an optional `:verb` custom method, the query and the body.
struct GcpRequest {
    method: Method,
    path: String,
    segments: Vec<String>,
    verb: Option<String>,
    query: BTreeMap<String, String>,
    body: Bytes,
}

impl GcpRequest {
    fn parse(version_prefix: &str, method: Method, uri: &Uri, body: Bytes) -> Result<GcpRequest, GcpError> {
        let path = uri.path().to_owned();
        let rest = path.strip_prefix(version_prefix).unwrap_or_default();
        let last_start = rest.rfind('/').map_or(0, |slash| slash + 1);
        let (resource, verb) = match rest[last_start..].find(':') {
            Some(colon) => (&rest[..last_start + colon], Some(rest[last_start + colon + 1..].to_owned())),
            None => (rest, None),
        };
        let segments = resource
            .split('/')
            .map(|segment| {
                percent_decode_str(segment)
                    .decode_utf8()
                    .map(|decoded| decoded.into_owned())
                    .map_err(|_| GcpError::invalid_argument(format!("The request path {path} is not valid UTF-8.")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
        Ok(GcpRequest { method, path, segments, verb, query, body })
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The JSON body, an empty one meaning every field is unset.
    fn body<T: DeserializeOwned + Default>(&self) -> Result<T, GcpError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.body)
            .map_err(|error| GcpError::invalid_argument(format!("Invalid JSON payload received. {error}")))
    }

    fn unknown_route(&self) -> GcpError {
        GcpError::unknown_route(&self.method, &self.path)
    }
}

/// A preloaded project.
struct Project {
    id: String,
    number: u64,
    create_time: String,
    etag: String,
    policy: PolicyStore,
}

/// The emulated Google control plane: projects, service accounts, pools, providers, operations.
pub(crate) struct GcpState {
    projects: Vec<Project>,
    /// Keyed by unique id; deleted accounts stay, marked, so that they can be undeleted.
    service_accounts: BTreeMap<String, StoredServiceAccount>,
    /// Keyed by project number and pool id.
    pools: BTreeMap<(u64, String), StoredPool>,
    /// Keyed by project number, pool id and provider id.
    providers: BTreeMap<(u64, String, String), StoredProvider>,
    /// The enabled services of each project number that ever changed them (Service Usage).
    services: BTreeMap<u64, std::collections::BTreeSet<String>>,
    operations: Operations,
    service_account_visibility_delay: Duration,
    service_account_member_delay: Duration,
    /// [`SandboxConfig::gcp_windows_answer_at_least_once`].
    windows_answer_at_least_once: bool,
    policy_writes: u64,
    rng: StdRng,
    /// When the emulated cloud was created: the creation time of preloaded projects and of
    /// those made on first use.
    created: String,
}

impl GcpState {
    pub(crate) fn new(config: &SandboxConfig, mut rng: StdRng) -> GcpState {
        let created = rfc3339(crate::ids::now());
        let projects = config
            .gcp_projects
            .iter()
            .map(|seed| Project {
                id: seed.id.clone(),
                number: seed.number,
                create_time: created.clone(),
                etag: format!("W/\"{}\"", random_id(&mut rng, 16, "0123456789abcdef")),
                policy: PolicyStore::default(),
            })
            .collect();
        GcpState {
            projects,
            service_accounts: BTreeMap::new(),
            pools: BTreeMap::new(),
            providers: BTreeMap::new(),
            services: BTreeMap::new(),
            operations: Operations::new(config.gcp_operation_polls),
            service_account_visibility_delay: config.gcp_service_account_visibility_delay,
            service_account_member_delay: config.gcp_service_account_member_delay,
            windows_answer_at_least_once: config.gcp_windows_answer_at_least_once,
            policy_writes: 0,
            rng,
            created,
        }
    }

    /// Creates the project a request names, by id or number, unless it exists: its number (or
    /// id) and etag derive from the name, its creation time is the cloud's.
    pub(crate) fn materialize_project(&mut self, name: crate::world::ProjectName<'_>) {
        use crate::world::{project_id_for_number, project_number, ProjectName};
        let (id, number) = match name {
            ProjectName::Id(id) => (id.to_owned(), project_number(id)),
            ProjectName::Number(number) => (project_id_for_number(number), number),
        };
        if self.projects.iter().any(|project| project.id == id || project.number == number) {
            return;
        }
        self.projects.push(Project {
            etag: crate::world::derived_etag(&id),
            id,
            number,
            create_time: self.created.clone(),
            policy: PolicyStore::default(),
        });
    }

    /// The project named by its id or its number.
    fn project(&self, id_or_number: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id_or_number || project.number.to_string() == id_or_number)
    }

    fn project_mut(&mut self, id_or_number: &str) -> Option<&mut Project> {
        self.projects
            .iter_mut()
            .find(|project| project.id == id_or_number || project.number.to_string() == id_or_number)
    }

    /// A fresh policy etag, different after every write.
    fn next_policy_etag(&mut self) -> Vec<u8> {
        self.policy_writes += 1;
        policy_etag(self.policy_writes)
    }

    /// IAM v1: every route under `/v1/`.
    fn iam_v1(&mut self, request: &GcpRequest) -> Answer {
        let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
        let verb = request.verb.as_deref();
        match (request.method.as_str(), segments.as_slice(), verb) {
            ("POST", ["projects", project, "serviceAccounts"], None) => {
                self.create_service_account(project, request.body()?)
            }
            ("GET", ["projects", project, "serviceAccounts", account], None) => {
                self.get_service_account(project, account)
            }
            ("PATCH", ["projects", project, "serviceAccounts", account], None) => {
                self.patch_service_account(project, account, request.body()?)
            }
            ("DELETE", ["projects", project, "serviceAccounts", account], None) => {
                self.delete_service_account(project, account)
            }
            ("POST", ["projects", project, "serviceAccounts", account], Some("undelete")) => {
                self.undelete_service_account(project, account)
            }
            ("POST", ["projects", project, "serviceAccounts", account], Some("getIamPolicy")) => {
                let version = requested_policy_version(request)?;
                self.get_service_account_policy(project, account, version)
            }
            ("POST", ["projects", project, "serviceAccounts", account], Some("setIamPolicy")) => {
                self.set_service_account_policy(project, account, request.body()?)
            }
            ("POST", ["projects", project, "locations", "global", "workloadIdentityPools"], None) => {
                self.create_pool(project, request.query("workloadIdentityPoolId"), request.body()?)
            }
            ("GET", ["projects", project, "locations", "global", "workloadIdentityPools"], None) => {
                self.list_pools(project, &request.query)
            }
            ("GET", ["projects", project, "locations", "global", "workloadIdentityPools", pool], None) => {
                self.get_pool(project, pool)
            }
            ("PATCH", ["projects", project, "locations", "global", "workloadIdentityPools", pool], None) => {
                self.patch_pool(project, pool, request.query("updateMask"), request.body()?)
            }
            ("DELETE", ["projects", project, "locations", "global", "workloadIdentityPools", pool], None) => {
                self.delete_pool(project, pool)
            }
            ("POST", ["projects", project, "locations", "global", "workloadIdentityPools", pool], Some("undelete")) => {
                self.undelete_pool(project, pool)
            }
            (
                "POST",
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers"],
                None,
            ) => self.create_provider(project, pool, request.query("workloadIdentityPoolProviderId"), request.body()?),
            ("GET", ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers"], None) => {
                self.list_providers(project, pool, &request.query)
            }
            (
                "GET",
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers", provider],
                None,
            ) => self.get_provider(project, pool, provider),
            (
                "PATCH",
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers", provider],
                None,
            ) => self.patch_provider(project, pool, provider, request.query("updateMask"), request.body()?),
            (
                "DELETE",
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers", provider],
                None,
            ) => self.delete_provider(project, pool, provider),
            (
                "POST",
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers", provider],
                Some("undelete"),
            ) => self.undelete_provider(project, pool, provider),
            ("GET", ["projects", project, "services", service], None) => self.get_service(project, service),
            ("POST", ["projects", project, "services", service], Some("enable")) => {
                self.enable_service(project, service, request.body()?)
            }
            ("POST", ["projects", project, "services", service], Some("disable")) => {
                self.disable_service(project, service, request.body()?)
            }
            ("GET", ["operations", id], None) => self.get_service_operation(id),
            ("GET", ["projects", project, rest @ .., "operations", _], None) if is_operation_parent(rest) => {
                self.get_operation(project, &segments[2..])
            }
            _ => Err(request.unknown_route()),
        }
    }

    /// Cloud Resource Manager v3: every route under `/v3/`.
    fn resource_manager_v3(&mut self, request: &GcpRequest) -> Answer {
        let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
        match (request.method.as_str(), segments.as_slice(), request.verb.as_deref()) {
            ("GET", ["projects", project], None) => self.get_project(project),
            ("POST", ["projects", project], Some("getIamPolicy")) => {
                let version = requested_policy_version(request)?;
                self.get_project_policy(project, version)
            }
            ("POST", ["projects", project], Some("setIamPolicy")) => self.set_project_policy(project, request.body()?),
            _ => Err(request.unknown_route()),
        }
    }
}

/// The etag of the `write`-th policy write: eight bytes, like Google's `BwY...=`.
fn policy_etag(write: u64) -> Vec<u8> {
    let mut etag = vec![0x07, 0x06];
    etag.extend_from_slice(&write.to_be_bytes()[2..]);
    etag
}

/// `locations/global/workloadIdentityPools/{pool}` or `.../providers/{provider}`: the resources
/// whose long-running operations `operations.get` serves.
fn is_operation_parent(rest: &[&str]) -> bool {
    matches!(
        rest,
        ["locations", "global", "workloadIdentityPools", _]
            | ["locations", "global", "workloadIdentityPools", _, "providers", _]
    )
}

/// `getIamPolicy`'s requested policy version: the `options.requestedPolicyVersion` query
/// parameter (IAM v1 service accounts) or the `{"options": {...}}` body (Resource Manager).
fn requested_policy_version(request: &GcpRequest) -> Result<Option<i32>, GcpError> {
    if let Some(version) = request.query("options.requestedPolicyVersion") {
        return version.parse().map(Some).map_err(|_| {
            GcpError::invalid_argument(format!(
                "Invalid value at 'options.requested_policy_version' (TYPE_INT32), \"{version}\""
            ))
        });
    }
    let body: policy::GetIamPolicyRequest = request.body()?;
    Ok(body.options.and_then(|options| options.requested_policy_version))
}

fn answer(result: Answer) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

pub(crate) async fn iam_v1(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let request = match GcpRequest::parse("/v1/", method, &uri, body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    // IAM Service Account Credentials shares IAM's `/v1/projects/-/serviceAccounts/...` paths.
    if let ("POST", ["projects", _, "serviceAccounts", account], Some("generateAccessToken")) = (
        request.method.as_str(),
        request.segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        request.verb.as_deref(),
    ) {
        return federation::generate_access_token(&shared, account, &headers, &request.body);
    }
    answer(shared.gcp().iam_v1(&request))
}

/// Security Token Service `POST /v1/token` ([`federation`]).
pub(crate) async fn sts_token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    federation::token(&shared, &body)
}

pub(crate) async fn resource_manager_v3(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    answer(GcpRequest::parse("/v3/", method, &uri, body).and_then(|request| shared.gcp().resource_manager_v3(&request)))
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Checks a user-chosen id against Google's `[a-z0-9-]{4,32}` without the reserved `gcp-` prefix.
fn validate_pool_style_id(id: &str, field: &str) -> Result<(), GcpError> {
    let valid = (4..=32).contains(&id.len())
        && id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !id.starts_with("gcp-");
    if valid {
        Ok(())
    } else {
        Err(GcpError::invalid_argument(format!(
            "Invalid {field} \"{id}\": it must be 4 to 32 characters of [a-z0-9-] and must not start with \"gcp-\"."
        )))
    }
}

fn check_length(value: Option<&str>, max_bytes: usize, field: &str) -> Result<(), GcpError> {
    match value {
        Some(value) if value.len() > max_bytes => {
            Err(GcpError::invalid_argument(format!("{field} must be at most {max_bytes} bytes long.")))
        }
        _ => Ok(()),
    }
}

/// The fields of an `updateMask` (`a,b.c`), which must be present and name only `allowed`
/// fields. Google takes either spelling of a field, `display_name` or `displayName`; the
/// lowerCamelCase one is returned.
fn parse_update_mask(mask: Option<&str>, allowed: &[&str]) -> Result<Vec<String>, GcpError> {
    let fields: Vec<String> =
        mask.unwrap_or_default().split(',').map(str::trim).filter(|field| !field.is_empty()).map(camel_case).collect();
    if fields.is_empty() {
        return Err(GcpError::invalid_argument("update_mask is required and must name at least one field."));
    }
    if let Some(unknown) = fields.iter().find(|field| !allowed.contains(&field.as_str())) {
        return Err(GcpError::invalid_argument(format!("Invalid update_mask path \"{unknown}\".")));
    }
    Ok(fields)
}

/// `display_name` as `displayName`; a lowerCamelCase path is unchanged.
fn camel_case(path: &str) -> String {
    let mut camel = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            camel.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, uri: &str) -> GcpRequest {
        GcpRequest::parse("/v1/", method, &uri.parse().unwrap(), Bytes::new()).unwrap()
    }

    fn state() -> GcpState {
        use rand::SeedableRng;
        GcpState::new(&SandboxConfig::default().gcp_project("my-project", 42), StdRng::seed_from_u64(0))
    }

    /// Sends one request and answers the exact JSON on the wire.
    fn call(state: &mut GcpState, method: Method, uri: &str, body: Value) -> Value {
        let prefix = if uri.starts_with("/v3/") { "/v3/" } else { "/v1/" };
        let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
        let request = GcpRequest::parse(prefix, method, &uri.parse().unwrap(), body).unwrap();
        let answer = if prefix == "/v3/" { state.resource_manager_v3(&request) } else { state.iam_v1(&request) };
        answer.unwrap_or_else(|error| json!({ "status": error.status.as_u16(), "error": error.reason }))
    }

    #[test]
    fn wire_shapes_leave_default_fields_out() {
        let mut gcp = state();
        let account = call(
            &mut gcp,
            Method::POST,
            "/v1/projects/my-project/serviceAccounts",
            json!({ "accountId": "litellm-wif-sa", "serviceAccount": { "displayName": null } }),
        );
        let unique_id = account["uniqueId"].as_str().unwrap().to_owned();
        assert_eq!(
            account,
            json!({
                "name": "projects/my-project/serviceAccounts/litellm-wif-sa@my-project.iam.gserviceaccount.com",
                "projectId": "my-project",
                "uniqueId": unique_id,
                "email": "litellm-wif-sa@my-project.iam.gserviceaccount.com",
                "etag": "MDEwMjE5MjA=",
                "oauth2ClientId": unique_id,
            })
        );

        let operation = call(
            &mut gcp,
            Method::POST,
            "/v1/projects/my-project/locations/global/workloadIdentityPools?workloadIdentityPoolId=aws-pool",
            json!({ "displayName": "AWS Pool", "disabled": false }),
        );
        let name = operation["name"].as_str().unwrap().to_owned();
        assert!(name.starts_with("projects/42/locations/global/workloadIdentityPools/aws-pool/operations/"), "{name}");
        assert_eq!(operation, json!({ "name": name }));
        assert_eq!(
            call(&mut gcp, Method::GET, &format!("/v1/{name}"), Value::Null),
            json!({ "name": name, "done": true, "response": {
                "@type": "type.googleapis.com/google.iam.v1.WorkloadIdentityPool",
                "name": "projects/42/locations/global/workloadIdentityPools/aws-pool",
                "displayName": "AWS Pool",
                "state": "ACTIVE",
            } })
        );
        assert_eq!(
            call(&mut gcp, Method::GET, "/v3/projects/42", Value::Null)["name"],
            "projects/42",
            "projects are named by number"
        );
    }

    #[tokio::test]
    async fn errors_are_googles_error_json() {
        let response = GcpError::aborted("There were concurrent policy changes.").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({ "error": { "code": 409, "message": "There were concurrent policy changes.", "status": "ABORTED" } })
        );
        let mut gcp = state();
        let unknown_route = call(&mut gcp, Method::PUT, "/v1/projects/my-project/serviceAccounts", Value::Null);
        assert_eq!(unknown_route, json!({ "status": 404, "error": "NOT_FOUND" }));
    }

    #[test]
    fn custom_methods_are_split_off_the_last_segment() {
        let request = parse(Method::POST, "/v1/projects/-/serviceAccounts/sa%40p.iam.gserviceaccount.com:undelete");
        assert_eq!(request.segments, ["projects", "-", "serviceAccounts", "sa@p.iam.gserviceaccount.com"]);
        assert_eq!(request.verb.as_deref(), Some("undelete"));

        let request = parse(Method::GET, "/v1/projects/p/locations/global/workloadIdentityPools?pageSize=2");
        assert_eq!(request.segments.len(), 5);
        assert_eq!(request.verb, None);
        assert_eq!(request.query("pageSize"), Some("2"));
    }

    #[test]
    fn ids_follow_the_pool_id_rules() {
        assert!(validate_pool_style_id("aws-pool", "id").is_ok());
        for bad in ["abc", "gcp-pool", "Upper-case", "a_b_c_d", &"a".repeat(33)] {
            assert_eq!(validate_pool_style_id(bad, "id").unwrap_err().reason, "INVALID_ARGUMENT", "{bad}");
        }
    }

    #[test]
    fn update_masks_must_name_known_fields() {
        assert_eq!(
            parse_update_mask(Some("display_name, disabled"), &["displayName", "disabled"]).unwrap(),
            ["displayName", "disabled"]
        );
        assert_eq!(
            parse_update_mask(Some("oidc.allowed_audiences"), &["oidc.allowedAudiences"]).unwrap(),
            ["oidc.allowedAudiences"]
        );
        assert!(parse_update_mask(None, &["displayName"]).is_err());
        assert!(parse_update_mask(Some("name"), &["displayName"]).is_err());
    }

    #[test]
    fn bad_json_is_invalid_argument() {
        let mut request = parse(Method::POST, "/v1/projects/p/serviceAccounts");
        request.body = Bytes::from_static(b"{nope");
        let error = request.body::<serde_json::Map<String, Value>>().unwrap_err();
        assert_eq!((error.status, error.reason), (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"));
    }
}
