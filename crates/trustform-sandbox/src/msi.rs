//! Azure Resource Manager, `Microsoft.ManagedIdentity`: user-assigned identities and their
//! federated identity credentials, as the REST reference describes them
//! (<https://learn.microsoft.com/rest/api/managedidentity/user-assigned-identities> and
//! <https://learn.microsoft.com/rest/api/managedidentity/federated-identity-credentials>).
//!
//! Paths are `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/
//! userAssignedIdentities/{name}[/federatedIdentityCredentials[/{name}]]`, served on the ARM
//! routes with their own api-versions. What the real service does and the emulator models:
//! * an api-version the resource type does not have is `400 NoRegisteredProviderFound`
//!   (<https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider>);
//! * a body member the type does not define is `400 InvalidRequestContent`, in the words of
//!   ARM's deserialiser ("Could not find member ..."), and a missing `location` is
//!   `400 LocationRequired`;
//! * a credential of an identity that does not exist is `404 ParentResourceNotFound`, a missing
//!   resource `404 ResourceNotFound`;
//! * a new identity's service principal replicates through the directory: role assignments
//!   naming it are `PrincipalNotFound` for the configured principal delay;
//! * one identity's federated credentials take one write at a time: a write arriving while
//!   another is in flight is `409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity`
//!   (<https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations#concurrent-updates-arent-supported-user-assigned-managed-identities>).
//!   A write takes the configured credential write time, during which the identity is busy.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::azure::ArmError;

const PROVIDER: &str = "/providers/microsoft.managedidentity/userassignedidentities/";
const CREDENTIALS: &str = "federatedidentitycredentials";
const IDENTITY_API_VERSIONS: &[&str] = &[
    "2015-08-31-preview",
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
];
/// Federated credentials arrived with `2022-01-31-preview`.
const CREDENTIAL_API_VERSIONS: &[&str] = &["2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30"];

/// Whether `path` is a managed identity request.
pub(crate) fn serves(path: &str) -> bool {
    path.to_ascii_lowercase().contains(PROVIDER)
}

/// What a managed identity request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Identity { id: String, group: String, name: String },
    Credentials { identity: String },
    Credential { identity: String, name: String },
}

impl Target {
    /// The identity a request concerns: a credential write makes it busy.
    pub(crate) fn identity_key(&self) -> String {
        match self {
            Target::Identity { id, .. } => id.to_ascii_lowercase(),
            Target::Credentials { identity } | Target::Credential { identity, .. } => identity.to_ascii_lowercase(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Target::Identity { .. } => "userAssignedIdentities",
            _ => "userAssignedIdentities/federatedIdentityCredentials",
        }
    }
}

/// Splits a managed identity path; `None` when it is not one the emulator serves.
pub(crate) fn route(path: &str) -> Option<Target> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let path = decoded.trim_end_matches('/');
    let at = path.to_ascii_lowercase().find(PROVIDER)?;
    let scope: Vec<&str> = path[..at].trim_start_matches('/').split('/').collect();
    let group = match scope.as_slice() {
        [subscriptions, _, groups, group]
            if subscriptions.eq_ignore_ascii_case("subscriptions") && groups.eq_ignore_ascii_case("resourceGroups") =>
        {
            (*group).to_owned()
        }
        _ => return None,
    };
    let rest: Vec<&str> = path[at + PROVIDER.len()..].split('/').collect();
    let identity = |name: &str| format!("{}{}", &path[..at + PROVIDER.len()], name);
    match rest.as_slice() {
        [name] if !name.is_empty() => Some(Target::Identity { id: identity(name), group, name: (*name).to_owned() }),
        [name, collection] if collection.eq_ignore_ascii_case(CREDENTIALS) => {
            Some(Target::Credentials { identity: identity(name) })
        }
        [name, collection, credential] if collection.eq_ignore_ascii_case(CREDENTIALS) && !credential.is_empty() => {
            Some(Target::Credential { identity: identity(name), name: (*credential).to_owned() })
        }
        _ => None,
    }
}

/// Whether a request writes federated credentials: those take the write time and conflict.
pub(crate) fn writes_credentials(method: &Method, target: &Target) -> bool {
    matches!(target, Target::Credential { .. }) && (*method == Method::PUT || *method == Method::DELETE)
}

/// Checks the api-version against the versions the addressed type has.
pub(crate) fn check_api_version(target: &Target, api_version: &str) -> Result<(), ArmError> {
    let versions = match target {
        Target::Identity { .. } => IDENTITY_API_VERSIONS,
        _ => CREDENTIAL_API_VERSIONS,
    };
    if versions.contains(&api_version) {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location 'global' and API version '{api_version}' for type \
             '{}'. The supported api-versions are '{}'.",
            target.type_name(),
            versions.join(", ")
        ),
    ))
}

struct Identity {
    /// The id as first written (ARM keeps the creator's casing).
    id: String,
    name: String,
    location: String,
    tags: BTreeMap<String, String>,
    client_id: String,
    principal_id: String,
    /// Keyed by the lower-case name.
    credentials: BTreeMap<String, Credential>,
}

struct Credential {
    name: String,
    issuer: String,
    subject: String,
    audiences: Vec<String>,
}

/// The request body of an identity: `location` and `tags` are what it sets.
#[derive(Debug, Default, Deserialize)]
struct IdentityBody {
    location: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

/// The members an identity body may have: what it sets, and the read-only members a client
/// may echo back from a GET, which ARM accepts and ignores.
const IDENTITY_MEMBERS: &[&str] = &["location", "tags", "properties", "id", "name", "type", "systemData"];

#[derive(Debug, Default, Deserialize)]
struct CredentialBody {
    properties: Option<CredentialProperties>,
}

const CREDENTIAL_MEMBERS: &[&str] = &["properties", "id", "name", "type", "systemData"];

#[derive(Debug, Default, Deserialize)]
struct CredentialProperties {
    issuer: Option<String>,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
}

const CREDENTIAL_PROPERTIES: &[&str] = &["issuer", "subject", "audiences"];

/// A member the type does not define, in the words ARM's deserialiser uses.
fn unknown_member(member: &str, model: &str, path: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: 'Could not find member '{member}' on \
             object of type '{model}'. Path '{path}'.'."
        ),
    )
}

/// Parses a body after checking its members (and, with `nested`, those of one member's object)
/// against the type's.
fn parse<T: for<'de> Deserialize<'de> + Default>(
    body: &[u8],
    model: &str,
    members: &[&str],
    nested: Option<(&str, &str, &[&str])>,
) -> Result<T, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let invalid = |error: serde_json::Error| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{error}'."),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(invalid)?;
    if let Some(object) = value.as_object() {
        if let Some(member) = object.keys().find(|key| !members.contains(&key.as_str())) {
            return Err(unknown_member(member, model, member));
        }
        if let Some((name, nested_model, nested_members)) = nested {
            if let Some(inner) = object.get(name).and_then(Value::as_object) {
                if let Some(member) = inner.keys().find(|key| !nested_members.contains(&key.as_str())) {
                    return Err(unknown_member(member, nested_model, &format!("{name}.{member}")));
                }
            }
        }
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The emulated managed identities of the tenant.
pub(crate) struct MsiState {
    /// Keyed by the lower-case identity id.
    identities: BTreeMap<String, Identity>,
    rng: StdRng,
    /// Identities (lower-case id) with a credential write in flight.
    busy: BTreeMap<String, u32>,
}

/// What a create makes known to the rest of the tenant: the new principal to replicate.
#[derive(Debug)]
pub(crate) struct Created {
    pub(crate) principal_id: String,
}

impl MsiState {
    pub(crate) fn new(rng: StdRng) -> MsiState {
        MsiState { identities: BTreeMap::new(), rng, busy: BTreeMap::new() }
    }

    fn guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let mut hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        // Version 4, variant 1, as Entra ID's ids are.
        hex.replace_range(12..13, "4");
        let variant = ["8", "9", "a", "b"][usize::from(bytes[8] & 3)];
        hex.replace_range(16..17, variant);
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }

    /// Marks the start of a credential write of `identity`; a conflict when one is in flight.
    /// The federated credentials of the identity with this client id.
    pub(crate) fn federated_credentials(&self, client_id: &str) -> Option<Vec<crate::graph::FederatedMatch>> {
        let identity = self.identities.values().find(|identity| identity.client_id.eq_ignore_ascii_case(client_id))?;
        Some(
            identity.credentials.values().map(|c| (c.issuer.clone(), c.subject.clone(), c.audiences.clone())).collect(),
        )
    }

    pub(crate) fn begin_write(&mut self, identity: &str) -> Result<(), ArmError> {
        let writers = self.busy.entry(identity.to_owned()).or_default();
        if *writers > 0 {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                "Too many Federated Identity Credentials are written concurrently for the managed identity. Please \
                 retry the request.",
            ));
        }
        *writers += 1;
        Ok(())
    }

    pub(crate) fn end_write(&mut self, identity: &str) {
        self.busy.remove(identity);
    }

    fn not_found(target: &Target) -> ArmError {
        let (kind, name, group) = match target {
            Target::Identity { name, group, .. } => ("userAssignedIdentities", name.clone(), group.clone()),
            Target::Credential { name, identity } => {
                ("userAssignedIdentities/federatedIdentityCredentials", name.clone(), group_of(identity))
            }
            Target::Credentials { identity } => ("userAssignedIdentities", identity.clone(), group_of(identity)),
        };
        ArmError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ManagedIdentity/{kind}/{name}' under resource group '{group}' was not \
                 found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    fn parent<'s>(&'s mut self, identity: &str, verb: &str) -> Result<&'s mut Identity, ArmError> {
        self.identities.get_mut(&identity.to_ascii_lowercase()).ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "ParentResourceNotFound",
                format!(
                    "Failed to perform '{verb}' on resource(s) of type 'userAssignedIdentities/\
                     federatedIdentityCredentials', because the parent resource '{identity}' could not be found."
                ),
            )
        })
    }

    /// Serves one request. `tenant_id` is the tenant identities belong to.
    pub(crate) fn serve(
        &mut self,
        tenant_id: &str,
        method: &Method,
        target: &Target,
        body: &[u8],
    ) -> Result<(StatusCode, Option<Value>, Option<Created>), ArmError> {
        match (method.clone(), target) {
            (Method::GET, Target::Identity { id, .. }) => match self.identities.get(&id.to_ascii_lowercase()) {
                Some(identity) => Ok((StatusCode::OK, Some(identity.to_json(tenant_id)), None)),
                None => Err(MsiState::not_found(target)),
            },
            (Method::PUT, Target::Identity { id, name, .. }) => {
                let body: IdentityBody = parse(body, "Identity", IDENTITY_MEMBERS, None)?;
                let location = body.location.filter(|location| !location.is_empty()).ok_or_else(|| {
                    ArmError::bad_request("LocationRequired", "The location property is required for this definition.")
                })?;
                let location = location.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
                let key = id.to_ascii_lowercase();
                if let Some(identity) = self.identities.get_mut(&key) {
                    if identity.location != location {
                        return Err(ArmError::bad_request(
                            "InvalidResourceLocation",
                            format!(
                                "The resource '{name}' already exists in location '{}' in resource group. A resource \
                                 with the same name cannot be created in location '{location}'. Please select a new \
                                 resource name.",
                                identity.location
                            ),
                        ));
                    }
                    identity.tags = body.tags.unwrap_or_default();
                    return Ok((StatusCode::OK, Some(identity.to_json(tenant_id)), None));
                }
                let (client_id, principal_id) = (self.guid(), self.guid());
                let identity = Identity {
                    id: id.clone(),
                    name: name.clone(),
                    location,
                    tags: body.tags.unwrap_or_default(),
                    client_id,
                    principal_id: principal_id.clone(),
                    credentials: BTreeMap::new(),
                };
                let answer = identity.to_json(tenant_id);
                self.identities.insert(key, identity);
                Ok((StatusCode::CREATED, Some(answer), Some(Created { principal_id })))
            }
            // Deleting an identity takes its credentials with it; one already gone is 204.
            (Method::DELETE, Target::Identity { id, .. }) => match self.identities.remove(&id.to_ascii_lowercase()) {
                Some(_) => Ok((StatusCode::OK, None, None)),
                None => Ok((StatusCode::NO_CONTENT, None, None)),
            },
            (Method::GET, Target::Credentials { identity }) => {
                let parent = self.parent(identity, "read")?;
                let value: Vec<Value> = parent.credentials.values().map(|c| c.to_json(&parent.id)).collect();
                Ok((StatusCode::OK, Some(json!({ "value": value })), None))
            }
            (Method::GET, Target::Credential { identity, name }) => {
                let parent = self.parent(identity, "read")?;
                let parent_id = parent.id.clone();
                match parent.credentials.get(&name.to_ascii_lowercase()) {
                    Some(credential) => Ok((StatusCode::OK, Some(credential.to_json(&parent_id)), None)),
                    None => Err(MsiState::not_found(target)),
                }
            }
            (Method::PUT, Target::Credential { identity, name }) => {
                let valid_name = (3..=120).contains(&name.len())
                    && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !valid_name {
                    return Err(ArmError::bad_request(
                        "InvalidRequestContent",
                        format!(
                            "The federated identity credential name '{name}' does not match the pattern \
                             '^[a-zA-Z0-9]{{1}}[a-zA-Z0-9-_]{{2,119}}$'."
                        ),
                    ));
                }
                let body: CredentialBody = parse(
                    body,
                    "FederatedIdentityCredential",
                    CREDENTIAL_MEMBERS,
                    Some(("properties", "FederatedIdentityCredentialProperties", CREDENTIAL_PROPERTIES)),
                )?;
                let properties = body.properties.unwrap_or_default();
                let missing = |field: &str| {
                    ArmError::bad_request(
                        "InvalidRequestContent",
                        format!("The federated identity credential must have a non-empty 'properties.{field}'."),
                    )
                };
                let issuer = properties.issuer.filter(|text| !text.is_empty()).ok_or_else(|| missing("issuer"))?;
                let subject = properties.subject.filter(|text| !text.is_empty()).ok_or_else(|| missing("subject"))?;
                let audiences =
                    properties.audiences.filter(|items| !items.is_empty()).ok_or_else(|| missing("audiences"))?;
                if !issuer.starts_with("https://") {
                    return Err(ArmError::bad_request(
                        "InvalidRequestContent",
                        format!("The issuer '{issuer}' is not a valid https URL."),
                    ));
                }
                let parent = self.parent(identity, "write")?;
                let key = name.to_ascii_lowercase();
                let status = if parent.credentials.contains_key(&key) { StatusCode::OK } else { StatusCode::CREATED };
                let credential = Credential { name: name.clone(), issuer, subject, audiences };
                let answer = credential.to_json(&parent.id);
                parent.credentials.insert(key, credential);
                Ok((status, Some(answer), None))
            }
            (Method::DELETE, Target::Credential { identity, name }) => {
                let parent = self.parent(identity, "delete")?;
                match parent.credentials.remove(&name.to_ascii_lowercase()) {
                    Some(_) => Ok((StatusCode::OK, None, None)),
                    None => Ok((StatusCode::NO_CONTENT, None, None)),
                }
            }
            _ => Err(ArmError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("The method '{method}' is not allowed on this resource."),
            )),
        }
    }
}

/// The resource group named in an identity id.
fn group_of(identity: &str) -> String {
    identity.split('/').nth(4).unwrap_or_default().to_owned()
}

impl Identity {
    fn to_json(&self, tenant_id: &str) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "tenantId": tenant_id,
                "principalId": self.principal_id,
                "clientId": self.client_id,
                "isolationScope": "None",
            }
        })
    }
}

impl Credential {
    fn to_json(&self, identity_id: &str) -> Value {
        json!({
            "id": format!("{identity_id}/federatedIdentityCredentials/{}", self.name),
            "name": self.name,
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            "properties": {
                "issuer": self.issuer,
                "subject": self.subject,
                "audiences": self.audiences,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const IDENTITY: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gateway";

    #[test]
    fn paths_route_to_identities_and_credentials() {
        assert!(
            matches!(route(IDENTITY), Some(Target::Identity { name, group, .. }) if name == "gateway" && group == "rg")
        );
        let credential = format!("{IDENTITY}/federatedIdentityCredentials/eks");
        assert_eq!(
            route(&credential),
            Some(Target::Credential { identity: IDENTITY.to_owned(), name: "eks".to_owned() })
        );
        assert!(route("/subscriptions/s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x").is_none());
        assert!(route(&format!("{IDENTITY}/other/eks")).is_none());
    }

    #[test]
    fn api_versions_are_those_of_the_type() {
        let identity = route(IDENTITY).unwrap();
        let credential = route(&format!("{IDENTITY}/federatedIdentityCredentials/eks")).unwrap();
        assert!(check_api_version(&identity, "2018-11-30").is_ok());
        let error = check_api_version(&credential, "2018-11-30").unwrap_err();
        assert_eq!(error.code(), "NoRegisteredProviderFound");
        assert!(check_api_version(&credential, "2023-01-31").is_ok());
    }

    #[test]
    fn unknown_members_are_refused_in_arms_words() {
        let mut state = MsiState::new(StdRng::seed_from_u64(0));
        let target = route(IDENTITY).unwrap();
        let error = state.serve("t", &Method::PUT, &target, br#"{"location":"westeurope","sku":"x"}"#).unwrap_err();
        assert_eq!(error.code(), "InvalidRequestContent");
        assert!(error.message().contains("Could not find member 'sku'"), "{}", error.message());
        let error = state.serve("t", &Method::PUT, &target, br#"{"tags":{}}"#).unwrap_err();
        assert_eq!(error.code(), "LocationRequired");
    }

    #[test]
    fn one_credential_write_at_a_time_per_identity() {
        let mut state = MsiState::new(StdRng::seed_from_u64(0));
        let key = IDENTITY.to_ascii_lowercase();
        state.begin_write(&key).unwrap();
        let error = state.begin_write(&key).unwrap_err();
        assert_eq!(error.code(), "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity");
        state.end_write(&key);
        assert!(state.begin_write(&key).is_ok());
    }

    #[test]
    fn credentials_need_their_identity_and_go_with_it() {
        let mut state = MsiState::new(StdRng::seed_from_u64(0));
        let credential = route(&format!("{IDENTITY}/federatedIdentityCredentials/eks")).unwrap();
        let body = br#"{"properties":{"issuer":"https://oidc.example","subject":"system:serviceaccount:a:b","audiences":["api://AzureADTokenExchange"]}}"#;
        assert_eq!(state.serve("t", &Method::PUT, &credential, body).unwrap_err().code(), "ParentResourceNotFound");
        let identity = route(IDENTITY).unwrap();
        let (status, _, created) = state.serve("t", &Method::PUT, &identity, br#"{"location":"West Europe"}"#).unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert!(created.is_some());
        assert_eq!(state.serve("t", &Method::PUT, &credential, body).unwrap().0, StatusCode::CREATED);
        assert_eq!(state.serve("t", &Method::PUT, &credential, body).unwrap().0, StatusCode::OK);
        let unknown = br#"{"properties":{"issuer":"https://x","subject":"s","audiences":["a"],"claims":"x"}}"#;
        assert_eq!(state.serve("t", &Method::PUT, &credential, unknown).unwrap_err().code(), "InvalidRequestContent");
        state.serve("t", &Method::DELETE, &identity, b"").unwrap();
        assert_eq!(state.serve("t", &Method::GET, &credential, b"").unwrap_err().code(), "ParentResourceNotFound");
    }
}
