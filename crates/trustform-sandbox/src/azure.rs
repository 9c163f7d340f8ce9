//! Azure Resource Manager, `Microsoft.Authorization`: custom role definitions and role
//! assignments at any scope, as the REST reference (api-version `2022-04-01`) describes them.
//!
//! Paths are `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{roleDefinitionId}]`
//! and `{scope}/providers/Microsoft.Authorization/roleAssignments[/{roleAssignmentName}]`, the
//! scope being `/subscriptions/{id}`, a resource group, a resource id, or
//! `/providers/Microsoft.Management/managementGroups/{mg}`. Every request needs the
//! `api-version` query parameter and an `Authorization: Bearer` header (any token is accepted).
//! Errors are ARM's `{"error":{"code","message"}}`.
//!
//! Replication, which the real service shows for seconds to minutes, is modelled in three
//! places: a definition created a moment ago is `RoleDefinitionDoesNotExist` to an assignment
//! PUT; an update of a definition shows in reads only after the same delay; and a principal the
//! configuration registers is `PrincipalNotFound` for a window after the sandbox starts (a
//! principal it does not name is taken to exist). Unlike Azure, the sandbox checks the
//! principal even when `principalType` is set, so that the retry path is always exercised.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::config::SandboxConfig;
use crate::graph::{self, GraphState};
use crate::ids::iso8601_now;
use crate::msi::{self, MsiState};
use crate::server::Shared;

const AUTHORIZATION_PROVIDER: &str = "/providers/microsoft.authorization/";
const SUPPORTED_API_VERSIONS: &[&str] =
    &["2015-07-01", "2018-01-01-preview", "2020-04-01-preview", "2020-10-01-preview", "2022-04-01"];

/// Whether `path` belongs to Azure: Resource Manager, or Microsoft Graph (same error shape).
pub(crate) fn serves(path: &str) -> bool {
    path.starts_with("/subscriptions/") || path.starts_with("/providers/") || crate::graph::serves(path)
}

/// An ARM error as the wire shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArmError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_seconds: Option<u64>,
}

impl ArmError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError { status, code, message: message.into(), retry_after_seconds: None }
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &str {
        self.code
    }

    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn throttled(retry_after: Duration) -> ArmError {
        let seconds = retry_after.as_secs();
        let mut error = ArmError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "SubscriptionRequestsThrottled",
            format!(
                "Number of requests for subscription exceeded the limit. Please try again after '{seconds}' seconds."
            ),
        );
        error.retry_after_seconds = Some(seconds);
        error
    }

    pub(crate) fn internal() -> ArmError {
        ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Encountered internal server error. Please try again.",
        )
    }

    pub(crate) fn unavailable() -> ArmError {
        ArmError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The server is currently unable to handle the request. Please try again.",
        )
    }

    fn no_route(method: &Method, path: &str) -> ArmError {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource type could not be found for {method} '{path}'."),
        )
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        let mut response = (self.status, [(header::CONTENT_TYPE.as_str(), "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Permission {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    not_actions: Vec<String>,
    #[serde(default)]
    data_actions: Vec<String>,
    #[serde(default)]
    not_data_actions: Vec<String>,
}

/// The writable part of a role definition, as stored.
#[derive(Debug, Clone, PartialEq)]
struct DefinitionProperties {
    role_name: String,
    description: Option<String>,
    permissions: Vec<Permission>,
    assignable_scopes: Vec<String>,
}

struct StoredDefinition {
    name: String,
    /// The scope the definition was written at; `None` for built-in roles.
    scope: Option<String>,
    properties: DefinitionProperties,
    /// An update that reads do not show yet, and when they start to.
    pending: Option<(DefinitionProperties, OffsetDateTime)>,
    /// Assignments may name the definition from this instant on.
    assignable_at: OffsetDateTime,
    created_on: String,
    updated_on: String,
}

impl StoredDefinition {
    fn visible(&mut self, now: OffsetDateTime) -> &DefinitionProperties {
        if self.pending.as_ref().is_some_and(|(_, at)| *at <= now) {
            if let Some((properties, _)) = self.pending.take() {
                self.properties = properties;
            }
        }
        &self.properties
    }

    /// The latest written properties, visible or not: what writes conflict with.
    fn latest(&self) -> &DefinitionProperties {
        self.pending.as_ref().map_or(&self.properties, |(properties, _)| properties)
    }

    fn is_custom(&self) -> bool {
        self.scope.is_some()
    }

    /// The resource id. Built-in roles are named under the subscription of the scope they are
    /// read at, or at the root outside a subscription.
    fn id(&self, read_at: &str) -> String {
        let scope = match &self.scope {
            Some(scope) => scope.clone(),
            None => subscription_of(read_at).map(|id| format!("/subscriptions/{id}")).unwrap_or_default(),
        };
        format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{}", self.name)
    }

    fn render(&mut self, read_at: &str, now: OffsetDateTime) -> Value {
        let id = self.id(read_at);
        let is_custom = self.is_custom();
        let (created_on, updated_on) = (self.created_on.clone(), self.updated_on.clone());
        let properties = self.visible(now);
        json!({
            "id": id,
            "name": self_name(&id),
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": properties.role_name,
                "type": if is_custom { "CustomRole" } else { "BuiltInRole" },
                "description": properties.description.clone().unwrap_or_default(),
                "assignableScopes": properties.assignable_scopes,
                "permissions": properties.permissions,
                "createdOn": created_on,
                "updatedOn": updated_on,
                "createdBy": Value::Null,
                "updatedBy": Value::Null,
            }
        })
    }
}

fn self_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DefinitionBody {
    properties: Option<DefinitionBodyProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefinitionBodyProperties {
    role_name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    permissions: Option<Vec<Permission>>,
    assignable_scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct StoredAssignment {
    id: String,
    name: String,
    scope: String,
    role_definition_id: String,
    principal_id: String,
    principal_type: String,
    description: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
    created_on: String,
    updated_on: String,
}

impl StoredAssignment {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": self.role_definition_id,
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": self.scope,
                "condition": self.condition,
                "conditionVersion": self.condition_version,
                "description": self.description,
                "createdOn": self.created_on,
                "updatedOn": self.updated_on,
                "createdBy": Value::Null,
                "updatedBy": Value::Null,
                "delegatedManagedIdentityResourceId": Value::Null,
            }
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AssignmentBody {
    properties: Option<AssignmentBodyProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentBodyProperties {
    role_definition_id: Option<String>,
    principal_id: Option<String>,
    principal_type: Option<String>,
    description: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
}

/// The emulated tenant: one subscription, its role definitions and assignments, and the
/// principals whose directory replication is modelled.
pub(crate) struct AzureState {
    tenant_id: String,
    subscription_id: String,
    /// Further subscriptions (lower case) made on first use (see the crate's `world` module).
    more_subscriptions: std::collections::BTreeSet<String>,
    definition_delay: Duration,
    /// Keyed by the lower-case definition GUID: definition ids are unique in a tenant.
    definitions: BTreeMap<String, StoredDefinition>,
    /// Keyed by the lower-case assignment id (scope and name).
    assignments: BTreeMap<String, StoredAssignment>,
    /// Registered principals (lower case) and when the directory starts to know them.
    principals: BTreeMap<String, OffsetDateTime>,
    /// How long a principal created in the tenant (a managed identity's) stays unknown.
    principal_delay: Duration,
    /// User-assigned managed identities and their federated credentials.
    msi: MsiState,
    /// Microsoft Graph: applications, their federated credentials, service principals.
    graph: GraphState,
}

impl AzureState {
    /// The federated credentials Entra matches a client assertion for `client_id` against: an
    /// application's (by app id) or a user-assigned managed identity's (by client id).
    pub(crate) fn federated_credentials(&self, client_id: &str) -> Option<Vec<crate::graph::FederatedMatch>> {
        self.graph.federated_credentials(client_id).or_else(|| self.msi.federated_credentials(client_id))
    }

    pub(crate) fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
}

/// Built-in roles with their real, well-known GUIDs. Permissions are abridged to what plans
/// and tests look at.
fn built_in_roles() -> Vec<(&'static str, &'static str, &'static str, Permission)> {
    let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<Vec<_>>();
    vec![
        (
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "Reader",
            "View all resources, but does not allow you to make any changes.",
            Permission { actions: strings(&["*/read"]), ..Permission::default() },
        ),
        (
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
            "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
            Permission {
                actions: strings(&["*"]),
                not_actions: strings(&[
                    "Microsoft.Authorization/*/Delete",
                    "Microsoft.Authorization/*/Write",
                    "Microsoft.Authorization/elevateAccess/Action",
                ]),
                ..Permission::default()
            },
        ),
        (
            "a97b65f3-24c7-4388-baec-2e87135dc908",
            "Cognitive Services User",
            "Lets you read and list keys of Cognitive Services.",
            Permission {
                actions: strings(&[
                    "Microsoft.CognitiveServices/*/read",
                    "Microsoft.CognitiveServices/accounts/listkeys/action",
                ]),
                data_actions: strings(&["Microsoft.CognitiveServices/*"]),
                ..Permission::default()
            },
        ),
        (
            "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            "Cognitive Services OpenAI User",
            "Read access to view files, models, deployments. The ability to create completion and embedding calls.",
            Permission {
                actions: strings(&[
                    "Microsoft.CognitiveServices/*/read",
                    "Microsoft.Authorization/roleAssignments/read",
                ]),
                data_actions: strings(&[
                    "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
                    "Microsoft.CognitiveServices/accounts/OpenAI/engines/completions/action",
                    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
                    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
                    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
                ]),
                ..Permission::default()
            },
        ),
    ]
}

impl AzureState {
    pub(crate) fn new(config: &SandboxConfig) -> AzureState {
        let now = crate::ids::now();
        let stamp = "2015-02-02T21:55:09.8806423Z".to_owned();
        let definitions = built_in_roles()
            .into_iter()
            .map(|(guid, role_name, description, permission)| {
                let stored = StoredDefinition {
                    name: guid.to_owned(),
                    scope: None,
                    properties: DefinitionProperties {
                        role_name: role_name.to_owned(),
                        description: Some(description.to_owned()),
                        permissions: vec![permission],
                        assignable_scopes: vec!["/".to_owned()],
                    },
                    pending: None,
                    assignable_at: now,
                    created_on: stamp.clone(),
                    updated_on: stamp.clone(),
                };
                (guid.to_owned(), stored)
            })
            .collect();
        let principals = config
            .azure
            .principals
            .iter()
            .map(|id| (id.to_ascii_lowercase(), now + config.azure.principal_delay))
            .collect();
        AzureState {
            tenant_id: config.azure.tenant_id.clone(),
            subscription_id: config.azure.subscription_id.clone(),
            more_subscriptions: std::collections::BTreeSet::new(),
            definition_delay: config.azure.definition_delay,
            definitions,
            assignments: BTreeMap::new(),
            principals,
            principal_delay: config.azure.principal_delay,
            msi: MsiState::new(StdRng::seed_from_u64(config.seed ^ 0x4d53_4900)),
            graph: GraphState::new(StdRng::seed_from_u64(config.seed ^ 0x4752_4150), config.azure.directory_delay),
        }
    }

    /// Serves a Microsoft Graph request; a new service principal starts replicating to ARM.
    fn serve_graph(
        &mut self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<(StatusCode, Option<Value>), ArmError> {
        let (status, value, created) = self.graph.serve(method, path, body)?;
        if let Some(graph::NewPrincipal(id)) = created {
            let known_at = crate::ids::now() + self.principal_delay;
            self.principals.insert(id.to_ascii_lowercase(), known_at);
        }
        Ok((status, value))
    }

    /// Serves a managed identity request; a new identity's principal starts replicating.
    fn serve_msi(
        &mut self,
        method: &Method,
        target: &msi::Target,
        body: &[u8],
    ) -> Result<(StatusCode, Option<Value>), ArmError> {
        let (status, value, created) = self.msi.serve(&self.tenant_id, method, target, body)?;
        if let Some(created) = created {
            let known_at = crate::ids::now() + self.principal_delay;
            self.principals.insert(created.principal_id.to_ascii_lowercase(), known_at);
        }
        Ok((status, value))
    }

    /// Makes the subscription a request names exist, when it is a GUID, as subscription ids are.
    pub(crate) fn materialize_subscription(&mut self, id: &str) {
        if let Some(id) = parse_guid(id) {
            if !id.eq_ignore_ascii_case(&self.subscription_id) {
                self.more_subscriptions.insert(id);
            }
        }
    }

    /// Checks that the scope names the emulated subscription, or a management group or the
    /// root, which need no subscription.
    fn check_scope(&self, scope: &str) -> Result<(), ArmError> {
        match subscription_of(scope) {
            Some(id)
                if !id.eq_ignore_ascii_case(&self.subscription_id)
                    && !self.more_subscriptions.contains(&id.to_ascii_lowercase()) =>
            {
                Err(ArmError::new(
                    StatusCode::NOT_FOUND,
                    "SubscriptionNotFound",
                    format!("The subscription '{id}' could not be found."),
                ))
            }
            _ => Ok(()),
        }
    }

    fn put_definition(&mut self, scope: &str, guid: &str, body: &[u8]) -> Result<(StatusCode, Value), ArmError> {
        let guid = parse_guid(guid).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRoleDefinitionId",
                format!("The role definition ID '{guid}' is not valid. The role definition ID must be a GUID."),
            )
        })?;
        let body: DefinitionBody = parse_body(body)?;
        let properties = body.properties.unwrap_or_default();
        let role_name = properties.role_name.filter(|name| !name.trim().is_empty()).ok_or_else(|| {
            ArmError::bad_request("InvalidRequestContent", "The role definition must have a non-empty 'roleName'.")
        })?;
        if properties.type_.as_deref().is_some_and(|kind| !kind.eq_ignore_ascii_case("CustomRole")) {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "Only role definitions of type 'CustomRole' can be created or updated.",
            ));
        }
        let assignable_scopes = properties.assignable_scopes.unwrap_or_default();
        if assignable_scopes.is_empty() {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The role definition must have at least one assignable scope.",
            ));
        }
        for assignable in &assignable_scopes {
            self.check_scope(assignable)?;
        }
        let permissions = properties.permissions.unwrap_or_default();
        if permissions.iter().any(|p| !p.data_actions.is_empty() || !p.not_data_actions.is_empty())
            && assignable_scopes.iter().any(|scope| is_management_group(scope))
        {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "Custom roles with data actions cannot have a management group as an assignable scope.",
            ));
        }
        let taken = self.definitions.values().any(|stored| {
            stored.name != guid && stored.latest().role_name.eq_ignore_ascii_case(&role_name) && stored.is_custom()
        });
        if taken {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "RoleDefinitionWithSameNameExists",
                "A custom role with the same name already exists in this directory. Use a different name.",
            ));
        }
        let written =
            DefinitionProperties { role_name, description: properties.description, permissions, assignable_scopes };
        let now = crate::ids::now();
        let status = match self.definitions.get_mut(&guid) {
            Some(stored) if !stored.is_custom() => {
                return Err(ArmError::new(
                    StatusCode::FORBIDDEN,
                    "AuthorizationFailed",
                    format!("Built-in role definition '{guid}' cannot be modified."),
                ))
            }
            Some(stored) => {
                stored.visible(now);
                stored.pending = Some((written, now + self.definition_delay));
                stored.updated_on = iso8601_now();
                StatusCode::CREATED
            }
            None => {
                let stamp = iso8601_now();
                let stored = StoredDefinition {
                    name: guid.clone(),
                    scope: Some(scope.to_owned()),
                    properties: written,
                    pending: None,
                    assignable_at: now + self.definition_delay,
                    created_on: stamp.clone(),
                    updated_on: stamp,
                };
                self.definitions.insert(guid.clone(), stored);
                StatusCode::CREATED
            }
        };
        // The PUT answers with what was written, even while reads still show the old version.
        let stored = self.definitions.get_mut(&guid).ok_or_else(ArmError::internal)?;
        let mut answer = stored.render(scope, now);
        if let Some((latest, _)) = &stored.pending {
            answer["properties"]["roleName"] = json!(latest.role_name);
            answer["properties"]["description"] = json!(latest.description.clone().unwrap_or_default());
            answer["properties"]["permissions"] = json!(latest.permissions);
            answer["properties"]["assignableScopes"] = json!(latest.assignable_scopes);
        }
        Ok((status, answer))
    }

    fn get_definition(&mut self, scope: &str, guid: &str) -> Result<Value, ArmError> {
        let now = crate::ids::now();
        let key = guid.to_ascii_lowercase();
        self.definitions
            .get_mut(&key)
            .map(|stored| stored.render(scope, now))
            .ok_or_else(|| definition_does_not_exist(guid))
    }

    fn delete_definition(&mut self, scope: &str, guid: &str) -> Result<Option<Value>, ArmError> {
        let key = guid.to_ascii_lowercase();
        let Some(stored) = self.definitions.get(&key) else { return Ok(None) };
        if !stored.is_custom() {
            return Err(ArmError::new(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!("Built-in role definition '{guid}' cannot be deleted."),
            ));
        }
        if self.assignments.values().any(|assignment| definition_guid(&assignment.role_definition_id) == key) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "RoleDefinitionHasAssignments",
                "There are existing role assignments referencing role. Remove the role assignments and try again.",
            ));
        }
        let now = crate::ids::now();
        let mut removed = self.definitions.remove(&key).ok_or_else(ArmError::internal)?;
        Ok(Some(removed.render(scope, now)))
    }

    fn list_definitions(&mut self, scope: &str, filter: Option<&str>) -> Result<Value, ArmError> {
        let filter = DefinitionFilter::parse(filter)?;
        let now = crate::ids::now();
        let value: Vec<Value> = self
            .definitions
            .values_mut()
            .filter_map(|stored| {
                let is_custom = stored.is_custom();
                let properties = stored.visible(now);
                let matches = match &filter {
                    DefinitionFilter::All => true,
                    DefinitionFilter::RoleName(name) => properties.role_name == *name,
                    DefinitionFilter::Type(kind) => {
                        kind.eq_ignore_ascii_case(if is_custom { "CustomRole" } else { "BuiltInRole" })
                    }
                };
                let in_scope =
                    !is_custom || properties.assignable_scopes.iter().any(|assignable| related(assignable, scope));
                (matches && in_scope).then(|| stored.render(scope, now))
            })
            .collect();
        Ok(json!({ "value": value }))
    }

    fn put_assignment(&mut self, scope: &str, name: &str, body: &[u8]) -> Result<(StatusCode, Value), ArmError> {
        let name = parse_guid(name).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRoleAssignmentId",
                format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
            )
        })?;
        let body: AssignmentBody = parse_body(body)?;
        let properties = body.properties.unwrap_or_default();
        let role_definition_id = properties.role_definition_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            ArmError::bad_request("InvalidRequestContent", "The role assignment must have a 'roleDefinitionId'.")
        })?;
        let principal_id = properties.principal_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            ArmError::bad_request("InvalidRequestContent", "The role assignment must have a 'principalId'.")
        })?;
        let now = crate::ids::now();
        let guid = definition_guid(&role_definition_id);
        let definition = self
            .definitions
            .get_mut(&guid)
            .filter(|stored| stored.assignable_at <= now)
            .ok_or_else(|| definition_does_not_exist(&guid))?;
        let assignable = definition.visible(now).assignable_scopes.iter().any(|assignable| within(scope, assignable));
        if !assignable {
            return Err(ArmError::bad_request(
                "InvalidRoleAssignmentScope",
                format!(
                    "The role definition '{guid}' is not assignable at scope '{scope}': it lies outside the role's \
                     assignable scopes."
                ),
            ));
        }
        if self.principals.get(&principal_id.to_ascii_lowercase()).is_some_and(|known_at| *known_at > now) {
            return Err(ArmError::bad_request(
                "PrincipalNotFound",
                format!(
                    "Principal {principal_id} does not exist in the directory {}. Check that you have the correct \
                     principal ID. If you are creating this principal and then immediately assigning a role, this \
                     error might be related to a replication delay. In this case, set the role assignment \
                     principalType property to a value, such as ServicePrincipal, User, or Group.  See \
                     https://aka.ms/docs-principaltype",
                    self.tenant_id
                ),
            ));
        }
        let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        let key = id.to_ascii_lowercase();
        let same_grant = |assignment: &StoredAssignment| {
            definition_guid(&assignment.role_definition_id) == guid
                && assignment.principal_id.eq_ignore_ascii_case(&principal_id)
        };
        if let Some(existing) = self.assignments.get_mut(&key) {
            if !same_grant(existing) {
                return Err(ArmError::bad_request(
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                ));
            }
            existing.description = properties.description;
            existing.condition = properties.condition;
            existing.condition_version = properties.condition_version;
            existing.updated_on = iso8601_now();
            return Ok((StatusCode::OK, existing.to_json()));
        }
        if self.assignments.values().any(|other| other.scope.eq_ignore_ascii_case(scope) && same_grant(other)) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ));
        }
        let stamp = iso8601_now();
        let assignment = StoredAssignment {
            id,
            name,
            scope: scope.to_owned(),
            role_definition_id,
            principal_id,
            principal_type: properties.principal_type.unwrap_or_else(|| "User".to_owned()),
            description: properties.description,
            condition: properties.condition,
            condition_version: properties.condition_version,
            created_on: stamp.clone(),
            updated_on: stamp,
        };
        let answer = assignment.to_json();
        self.assignments.insert(key, assignment);
        Ok((StatusCode::CREATED, answer))
    }

    fn get_assignment(&self, scope: &str, name: &str) -> Result<Value, ArmError> {
        let key = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}").to_ascii_lowercase();
        self.assignments.get(&key).map(StoredAssignment::to_json).ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "RoleAssignmentNotFound",
                format!("The role assignment '{name}' is not found."),
            )
        })
    }

    fn delete_assignment(&mut self, scope: &str, name: &str) -> Option<Value> {
        let key = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}").to_ascii_lowercase();
        self.assignments.remove(&key).map(|removed| removed.to_json())
    }

    fn list_assignments(&self, scope: &str, filter: Option<&str>) -> Result<Value, ArmError> {
        let filter = AssignmentFilter::parse(filter)?;
        let value: Vec<Value> = self
            .assignments
            .values()
            .filter(|assignment| match &filter {
                AssignmentFilter::All => related(&assignment.scope, scope),
                AssignmentFilter::AtScope => within(scope, &assignment.scope),
                AssignmentFilter::Principal(id) => {
                    related(&assignment.scope, scope) && assignment.principal_id.eq_ignore_ascii_case(id)
                }
            })
            .map(StoredAssignment::to_json)
            .collect();
        Ok(json!({ "value": value }))
    }
}

enum DefinitionFilter {
    All,
    RoleName(String),
    Type(String),
}

impl DefinitionFilter {
    fn parse(filter: Option<&str>) -> Result<DefinitionFilter, ArmError> {
        let Some(filter) = filter.map(str::trim).filter(|filter| !filter.is_empty()) else {
            return Ok(DefinitionFilter::All);
        };
        if let Some(name) = quoted_operand(filter, "roleName") {
            return Ok(DefinitionFilter::RoleName(name));
        }
        if let Some(kind) = quoted_operand(filter, "type") {
            return Ok(DefinitionFilter::Type(kind));
        }
        Err(unsupported_filter(filter))
    }
}

enum AssignmentFilter {
    All,
    AtScope,
    Principal(String),
}

impl AssignmentFilter {
    fn parse(filter: Option<&str>) -> Result<AssignmentFilter, ArmError> {
        let Some(filter) = filter.map(str::trim).filter(|filter| !filter.is_empty()) else {
            return Ok(AssignmentFilter::All);
        };
        if filter.eq_ignore_ascii_case("atScope()") {
            return Ok(AssignmentFilter::AtScope);
        }
        if let Some(id) = quoted_operand(filter, "principalId") {
            return Ok(AssignmentFilter::Principal(id));
        }
        Err(unsupported_filter(filter))
    }
}

/// The value of `FIELD eq 'value'`, with `''` standing for one quote as OData spells it.
fn quoted_operand(filter: &str, field: &str) -> Option<String> {
    let rest = filter.strip_prefix(field)?.trim_start();
    let rest = rest.strip_prefix("eq")?.trim_start();
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

fn unsupported_filter(filter: &str) -> ArmError {
    ArmError::bad_request("UnsupportedQuery", format!("The filter '{filter}' is not supported."))
}

fn definition_does_not_exist(guid: &str) -> ArmError {
    ArmError::bad_request(
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{guid}' does not exist."),
    )
}

/// The lower-case GUID at the end of a role definition id (or the GUID itself).
fn definition_guid(role_definition_id: &str) -> String {
    role_definition_id.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_ascii_lowercase()
}

/// A GUID in its canonical lower-case hyphenated form, or `None`.
fn parse_guid(text: &str) -> Option<String> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let well_formed = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(group, length)| group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit()));
    well_formed.then(|| text.to_ascii_lowercase())
}

fn subscription_of(scope: &str) -> Option<&str> {
    let mut segments = scope.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => Some(id),
        _ => None,
    }
}

fn is_management_group(scope: &str) -> bool {
    scope.to_ascii_lowercase().starts_with("/providers/microsoft.management/managementgroups/")
}

/// Whether `scope` lies at or below `ancestor` (`/` being above everything). Management groups
/// are taken to hold every subscription, as the sandbox does not model the hierarchy.
fn within(scope: &str, ancestor: &str) -> bool {
    let (scope, ancestor) = (scope.to_ascii_lowercase(), ancestor.trim_end_matches('/').to_ascii_lowercase());
    ancestor.is_empty()
        || is_management_group(&ancestor)
        || scope == ancestor
        || scope.strip_prefix(&ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether one scope lies within the other: what "applies to" means for listing.
fn related(a: &str, b: &str) -> bool {
    within(a, b) || within(b, a)
}

fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{error}'."),
        )
    })
}

/// What a request asks for, from its path.
enum Target {
    Definitions,
    Definition(String),
    Assignments,
    Assignment(String),
}

/// Splits `{scope}/providers/Microsoft.Authorization/{collection}[/{name}]`.
fn route(path: &str) -> Option<(String, Target)> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let path = decoded.trim_end_matches('/');
    let at = path.to_ascii_lowercase().rfind(AUTHORIZATION_PROVIDER)?;
    let scope = path[..at].to_owned();
    let rest = &path[at + AUTHORIZATION_PROVIDER.len()..];
    let (collection, name) = match rest.split_once('/') {
        Some((collection, name)) if !name.contains('/') && !name.is_empty() => (collection, Some(name)),
        Some(_) => return None,
        None => (rest, None),
    };
    let target = match (collection.to_ascii_lowercase().as_str(), name) {
        ("roledefinitions", None) => Target::Definitions,
        ("roledefinitions", Some(name)) => Target::Definition(name.to_owned()),
        ("roleassignments", None) => Target::Assignments,
        ("roleassignments", Some(name)) => Target::Assignment(name.to_owned()),
        _ => return None,
    };
    Some((scope, target))
}

/// Serves every ARM request: checks the api-version and the bearer token, then routes.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let served = if msi::serves(uri.path()) {
        serve_managed_identity(&shared, &method, &uri, &headers, &body).await
    } else {
        serve(&shared, &method, &uri, &headers, &body)
    };
    match served {
        Ok((status, Some(body))) => (status, Json(body)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(error) => error.into_response(),
    }
}

/// The `api-version` query parameter, which every ARM request needs.
fn api_version(query: &BTreeMap<String, String>) -> Result<&str, ArmError> {
    query.get("api-version").map(String::as_str).ok_or_else(|| {
        ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    })
}

/// Any bearer token is accepted; none at all is `401 AuthenticationFailed`.
fn check_bearer(headers: &HeaderMap) -> Result<(), ArmError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer "));
    if bearer {
        return Ok(());
    }
    Err(ArmError::new(
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    ))
}

/// Serves Microsoft Graph (`/v1.0/...`, `/beta/...`): a bearer token, then the directory.
pub(crate) async fn handle_graph(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let served = if check_bearer(&headers).is_err() {
        Err(ArmError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty."))
    } else {
        let path = uri.path().trim_start_matches("/v1.0").trim_start_matches("/beta");
        shared.azure().serve_graph(&method, path, &body)
    };
    match served {
        Ok((status, Some(body))) => (status, Json(body)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(error) => error.into_response(),
    }
}

/// `Microsoft.ManagedIdentity` (see the `msi` module). A federated credential write keeps its
/// identity busy for the configured write time, without holding the tenant's lock, so that a
/// second write arriving meanwhile meets the conflict the real service answers.
async fn serve_managed_identity(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, Option<Value>), ArmError> {
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let api_version = api_version(&query)?;
    check_bearer(headers)?;
    let path = uri.path();
    let target = msi::route(path).ok_or_else(|| ArmError::no_route(method, path))?;
    msi::check_api_version(&target, api_version)?;
    shared.azure().check_scope(path)?;
    if !msi::writes_credentials(method, &target) {
        return shared.azure().serve_msi(method, &target, body);
    }
    let identity = target.identity_key();
    shared.azure().msi.begin_write(&identity)?;
    let write_time = shared.config.azure.credential_write_time;
    if !write_time.is_zero() {
        tokio::time::sleep(write_time).await;
    }
    let mut azure = shared.azure();
    let served = azure.serve_msi(method, &target, body);
    azure.msi.end_write(&identity);
    served
}

fn serve(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, Option<Value>), ArmError> {
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let api_version = api_version(&query)?;
    if !SUPPORTED_API_VERSIONS.contains(&api_version) {
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{api_version}' is invalid. The supported versions are '{}'.",
                SUPPORTED_API_VERSIONS.join(",")
            ),
        ));
    }
    check_bearer(headers)?;
    let path = uri.path();
    let (scope, target) = route(path).ok_or_else(|| ArmError::no_route(method, path))?;
    let mut azure = shared.azure();
    azure.check_scope(&scope)?;
    let filter = query.get("$filter").map(String::as_str);
    let found = |value: Option<Value>| match value {
        Some(value) => (StatusCode::OK, Some(value)),
        None => (StatusCode::NO_CONTENT, None),
    };
    match (method.clone(), target) {
        (Method::GET, Target::Definitions) => Ok((StatusCode::OK, Some(azure.list_definitions(&scope, filter)?))),
        (Method::GET, Target::Definition(guid)) => Ok((StatusCode::OK, Some(azure.get_definition(&scope, &guid)?))),
        (Method::PUT, Target::Definition(guid)) => {
            azure.put_definition(&scope, &guid, body).map(|(status, value)| (status, Some(value)))
        }
        (Method::DELETE, Target::Definition(guid)) => Ok(found(azure.delete_definition(&scope, &guid)?)),
        (Method::GET, Target::Assignments) => Ok((StatusCode::OK, Some(azure.list_assignments(&scope, filter)?))),
        (Method::GET, Target::Assignment(name)) => Ok((StatusCode::OK, Some(azure.get_assignment(&scope, &name)?))),
        (Method::PUT, Target::Assignment(name)) => {
            azure.put_assignment(&scope, &name, body).map(|(status, value)| (status, Some(value)))
        }
        (Method::DELETE, Target::Assignment(name)) => Ok(found(azure.delete_assignment(&scope, &name))),
        _ => Err(ArmError::no_route(method, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_scope_and_target() {
        let (scope, target) = route(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/providers/\
             Microsoft.Authorization/roleAssignments/x",
        )
        .unwrap();
        assert_eq!(scope, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a");
        assert!(matches!(target, Target::Assignment(name) if name == "x"));
        let (scope, target) = route("/providers/Microsoft.Authorization/roleDefinitions").unwrap();
        assert_eq!(scope, "");
        assert!(matches!(target, Target::Definitions));
        assert!(route("/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/x").is_none());
    }

    #[test]
    fn scopes_nest_by_path_segment() {
        assert!(within("/subscriptions/s/resourceGroups/rg", "/subscriptions/s"));
        assert!(within("/subscriptions/s/resourceGroups/RG", "/subscriptions/s/resourceGroups/rg"));
        assert!(!within("/subscriptions/s/resourceGroups/rg2", "/subscriptions/s/resourceGroups/rg"));
        assert!(within("/subscriptions/s", "/"));
        assert!(!within("/subscriptions/s", "/subscriptions/s/resourceGroups/rg"));
    }

    #[test]
    fn filters_and_guids_parse() {
        assert_eq!(quoted_operand("roleName eq 'Owner''s'", "roleName"), Some("Owner's".to_owned()));
        assert!(DefinitionFilter::parse(Some("startswith(roleName,'x')")).is_err());
        assert_eq!(
            parse_guid("BAF42808-99FF-466D-B9DA-F95BB0422C5F").as_deref(),
            Some("baf42808-99ff-466d-b9da-f95bb0422c5f")
        );
        assert_eq!(parse_guid("baf42808-99ff-466d-b9da"), None);
    }
}
