//! Microsoft Graph v1.0 (and `beta`, served alike): Entra ID applications with app roles, their
//! federated identity credentials, and service principals, as the references describe them
//! (<https://learn.microsoft.com/graph/api/resources/application>,
//! <https://learn.microsoft.com/graph/api/resources/federatedidentitycredential>,
//! <https://learn.microsoft.com/graph/api/resources/serviceprincipal>). Errors are Graph's
//! `{"error":{"code","message"}}` (<https://learn.microsoft.com/graph/errors>).
//!
//! What the real service does and the emulator models:
//! * directory replication: an application or service principal created a moment ago is
//!   `404 Request_ResourceNotFound` to reads and to calls on it, and a service principal for a
//!   new application is `400 Request_BadRequest` "The appId '...' of the service principal does
//!   not reference a valid application object." (the error manicminer/hamilton, the azuread
//!   provider's Graph client, retries as `ErrorServicePrincipalInvalidAppId`), for the configured
//!   directory delay; a new service principal is `PrincipalNotFound` to ARM role assignments for
//!   the principal delay;
//! * a property the resource does not declare is `400 Request_BadRequest` "Property 'x' does not
//!   exist as a declared property or extension property.";
//! * an enabled app role cannot be removed: `400 CannotDeleteOrUpdateEnabledEntitlement`, it
//!   must be disabled in an update of its own first;
//! * app role ids are GUIDs, role values unique within an application.
//!
//! Any bearer token is accepted; none is `401 InvalidAuthenticationToken`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::azure::ArmError;

/// Whether `path` is a Microsoft Graph request.
pub(crate) fn serves(path: &str) -> bool {
    path.starts_with("/v1.0/") || path.starts_with("/beta/")
}

const APPLICATION_MEMBERS: &[&str] =
    &["displayName", "signInAudience", "identifierUris", "appRoles", "description", "tags"];
const ROLE_MEMBERS: &[&str] =
    &["allowedMemberTypes", "description", "displayName", "id", "isEnabled", "origin", "value"];
const CREDENTIAL_MEMBERS: &[&str] = &["name", "issuer", "subject", "audiences", "description"];
const PRINCIPAL_MEMBERS: &[&str] = &["appId", "accountEnabled", "tags"];

fn bad_request(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("Request_BadRequest", message)
}

fn not_found(id: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn check_members(object: &Map<String, Value>, members: &[&str]) -> Result<(), ArmError> {
    match object.keys().find(|key| !members.contains(&key.as_str())) {
        Some(key) => {
            Err(bad_request(format!("Property '{key}' does not exist as a declared property or extension property.")))
        }
        None => Ok(()),
    }
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ArmError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(bad_request("The request body must be a JSON object.")),
        Err(error) => Err(bad_request(format!("Unable to read JSON request payload: {error}"))),
    }
}

struct Application {
    id: String,
    app_id: String,
    fields: Map<String, Value>,
    credentials: BTreeMap<String, Map<String, Value>>,
    visible_at: OffsetDateTime,
}

struct ServicePrincipal {
    id: String,
    app_id: String,
    display_name: String,
    visible_at: OffsetDateTime,
}

/// What a create makes known to the rest of the tenant: a new principal to replicate.
#[derive(Debug)]
pub(crate) struct NewPrincipal(pub(crate) String);

/// The emulated directory.
pub(crate) struct GraphState {
    applications: BTreeMap<String, Application>,
    principals: BTreeMap<String, ServicePrincipal>,
    rng: StdRng,
    delay: Duration,
}

/// A federated identity credential as Entra matches it: issuer, subject, audiences.
pub(crate) type FederatedMatch = (String, String, Vec<String>);

impl GraphState {
    /// The federated credentials of the visible application with this client (app) id.
    pub(crate) fn federated_credentials(&self, app_id: &str) -> Option<Vec<FederatedMatch>> {
        let now = crate::ids::now();
        let app = self.applications.values().find(|app| app.app_id == app_id && app.visible_at <= now)?;
        let text =
            |fields: &Map<String, Value>, name: &str| fields.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        Some(
            app.credentials
                .values()
                .map(|fields| {
                    let audiences = fields
                        .get("audiences")
                        .and_then(Value::as_array)
                        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                        .unwrap_or_default();
                    (text(fields, "issuer"), text(fields, "subject"), audiences)
                })
                .collect(),
        )
    }

    pub(crate) fn new(rng: StdRng, delay: Duration) -> GraphState {
        GraphState { applications: BTreeMap::new(), principals: BTreeMap::new(), rng, delay }
    }

    fn guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let mut hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        hex.replace_range(12..13, "4");
        hex.replace_range(16..17, ["8", "9", "a", "b"][usize::from(bytes[8] & 3)]);
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }

    fn visible_application(&mut self, id: &str) -> Result<&mut Application, ArmError> {
        let now = crate::ids::now();
        self.applications
            .get_mut(&id.to_ascii_lowercase())
            .filter(|app| app.visible_at <= now)
            .ok_or_else(|| not_found(id))
    }

    /// Serves one request below the version segment (`/applications/...`).
    pub(crate) fn serve(
        &mut self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<(StatusCode, Option<Value>, Option<NewPrincipal>), ArmError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.clone(), segments.as_slice()) {
            (Method::POST, ["applications"]) => {
                self.create_application(body).map(|value| (StatusCode::CREATED, Some(value), None))
            }
            (Method::GET, ["applications", id]) => {
                let app = self.visible_application(id)?;
                Ok((StatusCode::OK, Some(app.to_json()), None))
            }
            (Method::PATCH, ["applications", id]) => {
                self.update_application(id, body)?;
                Ok((StatusCode::NO_CONTENT, None, None))
            }
            (Method::DELETE, ["applications", id]) => {
                self.visible_application(id)?;
                self.applications.remove(&id.to_ascii_lowercase());
                Ok((StatusCode::NO_CONTENT, None, None))
            }
            (Method::POST, ["applications", id, "federatedIdentityCredentials"]) => {
                let value = self.create_credential(id, body)?;
                Ok((StatusCode::CREATED, Some(value), None))
            }
            (Method::GET, ["applications", id, "federatedIdentityCredentials"]) => {
                let app = self.visible_application(id)?;
                let value: Vec<Value> = app.credentials.values().map(|c| Value::Object(c.clone())).collect();
                Ok((StatusCode::OK, Some(json!({ "value": value })), None))
            }
            (method, ["applications", id, "federatedIdentityCredentials", credential]) => {
                let app = self.visible_application(id)?;
                let key = app
                    .credentials
                    .iter()
                    .find(|(key, stored)| {
                        key.eq_ignore_ascii_case(credential)
                            || stored.get("name").and_then(Value::as_str) == Some(credential)
                    })
                    .map(|(key, _)| key.clone())
                    .ok_or_else(|| not_found(credential))?;
                match method {
                    Method::GET => Ok((StatusCode::OK, app.credentials.get(&key).cloned().map(Value::Object), None)),
                    Method::DELETE => {
                        app.credentials.remove(&key);
                        Ok((StatusCode::NO_CONTENT, None, None))
                    }
                    Method::PATCH => {
                        let patch = parse_object(body)?;
                        check_members(&patch, CREDENTIAL_MEMBERS)?;
                        let stored = app.credentials.get_mut(&key).ok_or_else(|| not_found(credential))?;
                        if patch.get("name").is_some_and(|name| Some(name) != stored.get("name")) {
                            return Err(bad_request("The name of a federated identity credential cannot be changed."));
                        }
                        stored.extend(patch);
                        Ok((StatusCode::NO_CONTENT, None, None))
                    }
                    _ => Err(method_not_allowed(&method)),
                }
            }
            (Method::POST, ["servicePrincipals"]) => self.create_principal(body),
            (Method::GET, ["servicePrincipals", id]) => {
                let now = crate::ids::now();
                let principal = self
                    .principals
                    .get(&id.to_ascii_lowercase())
                    .filter(|principal| principal.visible_at <= now)
                    .ok_or_else(|| not_found(id))?;
                Ok((StatusCode::OK, Some(principal.to_json()), None))
            }
            (Method::DELETE, ["servicePrincipals", id]) => match self.principals.remove(&id.to_ascii_lowercase()) {
                Some(_) => Ok((StatusCode::NO_CONTENT, None, None)),
                None => Err(not_found(id)),
            },
            _ => Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Resource not found for the segment '{}'.", segments.first().copied().unwrap_or_default()),
            )),
        }
    }

    fn create_application(&mut self, body: &[u8]) -> Result<Value, ArmError> {
        let mut fields = parse_object(body)?;
        check_members(&fields, APPLICATION_MEMBERS)?;
        if fields.get("displayName").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(bad_request("Property 'displayName' is required and cannot be empty."));
        }
        check_roles(fields.get("appRoles"), None)?;
        fields.entry("signInAudience").or_insert_with(|| json!("AzureADMyOrg"));
        fields.entry("identifierUris").or_insert_with(|| json!([]));
        fields.entry("appRoles").or_insert_with(|| json!([]));
        let (id, app_id) = (self.guid(), self.guid());
        let app = Application {
            id: id.clone(),
            app_id,
            fields,
            credentials: BTreeMap::new(),
            visible_at: crate::ids::now() + self.delay,
        };
        let answer = app.to_json();
        self.applications.insert(id, app);
        Ok(answer)
    }

    fn update_application(&mut self, id: &str, body: &[u8]) -> Result<(), ArmError> {
        let patch = parse_object(body)?;
        check_members(&patch, APPLICATION_MEMBERS)?;
        let app = self.visible_application(id)?;
        if let Some(roles) = patch.get("appRoles") {
            check_roles(Some(roles), app.fields.get("appRoles"))?;
        }
        app.fields.extend(patch);
        Ok(())
    }

    fn create_credential(&mut self, id: &str, body: &[u8]) -> Result<Value, ArmError> {
        let mut fields = parse_object(body)?;
        check_members(&fields, CREDENTIAL_MEMBERS)?;
        for required in ["name", "issuer", "subject"] {
            if fields.get(required).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(bad_request(format!("Property '{required}' is required and cannot be empty.")));
            }
        }
        if fields.get("audiences").and_then(Value::as_array).is_none_or(|items| items.len() != 1) {
            return Err(bad_request("Property 'audiences' must hold exactly one value."));
        }
        let credential_id = self.guid();
        let app = self.visible_application(id)?;
        let name = fields.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        if app.credentials.values().any(|stored| stored.get("name").and_then(Value::as_str) == Some(name.as_str())) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("FederatedIdentityCredential with name {name} already exists."),
            ));
        }
        fields.insert("id".to_owned(), json!(credential_id));
        fields.entry("description").or_insert(Value::Null);
        app.credentials.insert(credential_id, fields.clone());
        Ok(Value::Object(fields))
    }

    fn create_principal(&mut self, body: &[u8]) -> Result<(StatusCode, Option<Value>, Option<NewPrincipal>), ArmError> {
        let fields = parse_object(body)?;
        check_members(&fields, PRINCIPAL_MEMBERS)?;
        let app_id = fields.get("appId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let now = crate::ids::now();
        let app =
            self.applications.values().find(|app| app.app_id.eq_ignore_ascii_case(&app_id) && app.visible_at <= now);
        let Some(app) = app else {
            return Err(bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            )));
        };
        let display_name = app.fields.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned();
        let app_id = app.app_id.clone();
        if self.principals.values().any(|principal| principal.app_id == app_id) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property servicePrincipalNames already exists.",
            ));
        }
        let id = self.guid();
        let principal = ServicePrincipal { id: id.clone(), app_id, display_name, visible_at: now + self.delay };
        let answer = principal.to_json();
        self.principals.insert(id.clone(), principal);
        Ok((StatusCode::CREATED, Some(answer), Some(NewPrincipal(id))))
    }
}

fn method_not_allowed(method: &Method) -> ArmError {
    ArmError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        format!("The method '{method}' is not allowed."),
    )
}

/// App roles as Graph checks them: declared members, GUID ids, unique values, and (against
/// the current roles) no enabled role removed or changed in the same write.
fn check_roles(roles: Option<&Value>, current: Option<&Value>) -> Result<(), ArmError> {
    let roles = roles.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut values = BTreeSet::new();
    for role in &roles {
        let Some(object) = role.as_object() else { return Err(bad_request("An app role must be an object.")) };
        check_members(object, ROLE_MEMBERS)?;
        let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
        if uuid_like(id).is_none() {
            return Err(bad_request(format!(
                "Invalid value specified for property 'id' of resource 'AppRole': '{id}'."
            )));
        }
        if let Some(value) = object.get("value").and_then(Value::as_str) {
            if !values.insert(value.to_owned()) {
                return Err(bad_request("Request contains a property with duplicate values."));
            }
        }
    }
    let current = current.and_then(Value::as_array).cloned().unwrap_or_default();
    for existing in current.iter().filter(|role| role.get("isEnabled").and_then(Value::as_bool).unwrap_or(true)) {
        let kept = roles.iter().find(|role| role.get("id") == existing.get("id"));
        let unchanged = kept.is_some_and(|role| {
            ["value", "allowedMemberTypes"].iter().all(|name| role.get(*name) == existing.get(*name))
        });
        if !unchanged && kept.is_none_or(|role| role.get("isEnabled").and_then(Value::as_bool).unwrap_or(true)) {
            return Err(ArmError::bad_request(
                "CannotDeleteOrUpdateEnabledEntitlement",
                "Permission (scope or role) cannot be deleted or updated unless disabled first.",
            ));
        }
    }
    Ok(())
}

fn uuid_like(text: &str) -> Option<()> {
    let lengths = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = text.split('-').collect();
    (groups.len() == 5
        && groups.iter().zip(lengths).all(|(g, l)| g.len() == l && g.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(())
}

impl Application {
    fn to_json(&self) -> Value {
        let mut object = self.fields.clone();
        object.insert("id".to_owned(), json!(self.id));
        object.insert("appId".to_owned(), json!(self.app_id));
        Value::Object(object)
    }
}

impl ServicePrincipal {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "appId": self.app_id,
            "displayName": self.display_name,
            "servicePrincipalType": "Application",
            "accountEnabled": true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn state(delay: Duration) -> GraphState {
        GraphState::new(StdRng::seed_from_u64(0), delay)
    }

    #[test]
    fn a_new_application_is_invisible_then_its_principal_and_credentials_can_be_made() {
        let mut graph = state(Duration::from_secs(3600));
        let (_, created, _) = graph.serve(&Method::POST, "/applications", br#"{"displayName":"gw"}"#).unwrap();
        let created = created.unwrap();
        let (id, app_id) = (created["id"].as_str().unwrap().to_owned(), created["appId"].as_str().unwrap().to_owned());
        assert_eq!(
            graph.serve(&Method::GET, &format!("/applications/{id}"), b"").unwrap_err().code(),
            "Request_ResourceNotFound"
        );
        let principal = format!(r#"{{"appId":"{app_id}"}}"#);
        let error = graph.serve(&Method::POST, "/servicePrincipals", principal.as_bytes()).unwrap_err();
        assert!(error.message().contains("does not reference a valid application object"), "{}", error.message());
        let mut graph = state(Duration::ZERO);
        let (_, created, _) = graph.serve(&Method::POST, "/applications", br#"{"displayName":"gw"}"#).unwrap();
        let app_id = created.unwrap()["appId"].as_str().unwrap().to_owned();
        let (status, _, new) =
            graph.serve(&Method::POST, "/servicePrincipals", format!(r#"{{"appId":"{app_id}"}}"#).as_bytes()).unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert!(new.is_some());
    }

    #[test]
    fn undeclared_properties_and_enabled_role_removals_are_refused() {
        let mut graph = state(Duration::ZERO);
        let error = graph
            .serve(&Method::POST, "/applications", br#"{"displayName":"gw","passwordCredentials":[]}"#)
            .unwrap_err();
        assert!(error.message().contains("Property 'passwordCredentials' does not exist"), "{}", error.message());
        let role = r#"{"id":"11111111-2222-4333-8444-555555555555","value":"basic_user","displayName":"b","description":"d","allowedMemberTypes":["User"],"isEnabled":true}"#;
        let body = format!(r#"{{"displayName":"gw","appRoles":[{role}]}}"#);
        let (_, created, _) = graph.serve(&Method::POST, "/applications", body.as_bytes()).unwrap();
        let id = created.unwrap()["id"].as_str().unwrap().to_owned();
        let path = format!("/applications/{id}");
        let error = graph.serve(&Method::PATCH, &path, br#"{"appRoles":[]}"#).unwrap_err();
        assert_eq!(error.code(), "CannotDeleteOrUpdateEnabledEntitlement");
        let disabled = role.replace("\"isEnabled\":true", "\"isEnabled\":false");
        graph.serve(&Method::PATCH, &path, format!(r#"{{"appRoles":[{disabled}]}}"#).as_bytes()).unwrap();
        graph.serve(&Method::PATCH, &path, br#"{"appRoles":[]}"#).unwrap();
    }
}
