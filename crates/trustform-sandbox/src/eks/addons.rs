//! EKS add-ons: CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon
//! (<https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAddon.html>, `API_DescribeAddon.html`,
//! `API_UpdateAddon.html`, `API_DeleteAddon.html>`; the `Addon` and `Update` shapes of
//! `API_Addon.html`, `API_Update.html`).
//!
//! What clients meet:
//! * a new add-on is `CREATING`, an updated one `UPDATING`, a deleted one `DELETING`, for the
//!   EKS window ([`SandboxConfig::visibility_delay`](crate::SandboxConfig::visibility_delay), on
//!   `ids::now`, so a replayed journal sees the same), then `ACTIVE` (or gone:
//!   `ResourceNotFoundException`); the call that starts a change always answers the transitional
//!   status. A client must wait on the status, as terraform-provider-aws's `waitAddonCreated` /
//!   `waitAddonDeleted` do;
//! * an unknown cluster is `404 ResourceNotFoundException` "No cluster found for name: X.";
//!   creating an add-on the cluster has is `409 ResourceInUseException` "Addon already exists."
//!   (what Terraform users report for an add-on made outside their state); an add-on name or
//!   version outside the emulated catalogue is `400 InvalidParameterException`;
//! * `clientRequestToken` makes a retried create return the first one's add-on.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::{cluster_not_found, parse_body, validate_role_arn, EksError, EksState};
use crate::ids::{epoch_seconds, random_id};
use crate::server::Shared;

/// The add-ons the emulated clusters (Kubernetes 1.31) offer, with their versions, newest first:
/// the first is the default a create without `addonVersion` gets.
const CATALOGUE: &[(&str, &[&str])] = &[
    ("eks-pod-identity-agent", &["v1.3.4-eksbuild.1", "v1.3.2-eksbuild.2", "v1.2.0-eksbuild.1"]),
    ("vpc-cni", &["v1.19.0-eksbuild.1", "v1.18.5-eksbuild.1"]),
    ("coredns", &["v1.11.3-eksbuild.2", "v1.11.3-eksbuild.1"]),
    ("kube-proxy", &["v1.31.2-eksbuild.3", "v1.31.0-eksbuild.5"]),
    ("aws-ebs-csi-driver", &["v1.37.0-eksbuild.1", "v1.36.0-eksbuild.1"]),
];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Addon {
    addon_name: String,
    cluster_name: String,
    status: &'static str,
    addon_version: String,
    health: serde_json::Value,
    addon_arn: String,
    created_at: f64,
    modified_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account_role_arn: Option<String>,
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration_values: Option<String>,
}

pub(super) struct StoredAddon {
    addon: Addon,
    /// When a transitional status settles: `ACTIVE`, or gone after `DELETING`.
    settles_at: OffsetDateTime,
    /// The `clientRequestToken` of its create.
    create_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRequest {
    addon_name: Option<String>,
    addon_version: Option<String>,
    service_account_role_arn: Option<String>,
    resolve_conflicts: Option<String>,
    client_request_token: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    configuration_values: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateRequest {
    addon_version: Option<String>,
    service_account_role_arn: Option<String>,
    resolve_conflicts: Option<String>,
    /// Accepted, as EKS does; an update is not made twice by the emulator anyway.
    #[serde(rename = "clientRequestToken")]
    _client_request_token: Option<String>,
    configuration_values: Option<String>,
}

fn addon_not_found(name: &str, cluster: &str) -> EksError {
    EksError::not_found(format!("No addon: {name} found in cluster: {cluster}"))
}

fn check_resolve_conflicts(value: Option<&str>) -> Result<(), EksError> {
    match value {
        None | Some("OVERWRITE" | "NONE" | "PRESERVE") => Ok(()),
        Some(other) => Err(EksError::invalid_parameter(format!(
            "1 validation error detected: Value '{other}' at 'resolveConflicts' failed to satisfy constraint: Member must satisfy enum value set: [OVERWRITE, NONE, PRESERVE]"
        ))),
    }
}

/// The version to install: the one asked for if the catalogue has it, else the default.
fn version_for(name: &str, asked: Option<&str>) -> Result<String, EksError> {
    let (_, versions) = CATALOGUE.iter().find(|(known, _)| *known == name).ok_or_else(|| {
        EksError::invalid_parameter(format!("Addon {name} specified is not supported in 1.31 kubernetes version"))
    })?;
    match asked {
        None => Ok(versions[0].to_owned()),
        Some(version) if versions.contains(&version) => Ok(version.to_owned()),
        Some(version) => Err(EksError::invalid_parameter(format!(
            "Addon version specified {version} is not supported for addon {name} in 1.31 kubernetes version"
        ))),
    }
}

impl EksState {
    /// Settles the add-on's status if its window has passed: what every call sees first.
    fn settle_addon(&mut self, cluster_name: &str, name: &str) {
        let now = crate::ids::now();
        let Some(cluster) = self.clusters.get_mut(cluster_name) else { return };
        let Some(stored) = cluster.addons.get_mut(name) else { return };
        if stored.settles_at > now || stored.addon.status == "ACTIVE" {
            return;
        }
        if stored.addon.status == "DELETING" {
            cluster.addons.remove(name);
        } else {
            stored.addon.status = "ACTIVE";
        }
    }

    fn settles_at(&self) -> OffsetDateTime {
        crate::ids::now() + self.visibility_delay
    }

    fn create_addon(&mut self, cluster_name: &str, request: CreateRequest) -> Result<Addon, EksError> {
        let name = super::required(&request.addon_name, "addonName")?.to_owned();
        self.settle_addon(cluster_name, &name);
        let settles_at = self.settles_at();
        check_resolve_conflicts(request.resolve_conflicts.as_deref())?;
        if let Some(role) = &request.service_account_role_arn {
            validate_role_arn(role, "serviceAccountRoleArn")?;
        }
        let (region, account) = (self.region.clone(), self.account_id.clone());
        let arn_id = format!(
            "{}-{}-{}-{}-{}",
            random_id(&mut self.rng, 8, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 12, "0123456789abcdef"),
        );
        let cluster = self.clusters.get_mut(cluster_name).ok_or_else(|| cluster_not_found(cluster_name))?;
        if let Some(existing) = cluster.addons.get(&name) {
            let same_token =
                request.client_request_token.is_some() && existing.create_token == request.client_request_token;
            if same_token {
                return Ok(existing.addon.clone());
            }
            return Err(EksError::in_use("Addon already exists."));
        }
        let version = version_for(&name, request.addon_version.as_deref())?;
        let now = epoch_seconds();
        let addon = Addon {
            addon_arn: format!("arn:aws:eks:{region}:{account}:addon/{cluster_name}/{name}/{arn_id}"),
            addon_name: name.clone(),
            cluster_name: cluster_name.to_owned(),
            status: "CREATING",
            addon_version: version,
            health: json!({ "issues": [] }),
            created_at: now,
            modified_at: now,
            service_account_role_arn: request.service_account_role_arn,
            tags: request.tags,
            configuration_values: request.configuration_values.filter(|values| !values.is_empty()),
        };
        cluster
            .addons
            .insert(name, StoredAddon { addon: addon.clone(), settles_at, create_token: request.client_request_token });
        Ok(addon)
    }

    fn describe_addon(&mut self, cluster_name: &str, name: &str) -> Result<Addon, EksError> {
        self.settle_addon(cluster_name, name);
        let cluster = self.clusters.get(cluster_name).ok_or_else(|| cluster_not_found(cluster_name))?;
        let stored = cluster.addons.get(name).ok_or_else(|| addon_not_found(name, cluster_name))?;
        Ok(stored.addon.clone())
    }

    fn update_addon(
        &mut self,
        cluster_name: &str,
        name: &str,
        request: UpdateRequest,
    ) -> Result<serde_json::Value, EksError> {
        check_resolve_conflicts(request.resolve_conflicts.as_deref())?;
        self.settle_addon(cluster_name, name);
        let settles_at = self.settles_at();
        if let Some(role) = request.service_account_role_arn.as_deref().filter(|role| !role.is_empty()) {
            validate_role_arn(role, "serviceAccountRoleArn")?;
        }
        let update_id = format!(
            "{}-{}-{}-{}-{}",
            random_id(&mut self.rng, 8, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 4, "0123456789abcdef"),
            random_id(&mut self.rng, 12, "0123456789abcdef"),
        );
        let cluster = self.clusters.get_mut(cluster_name).ok_or_else(|| cluster_not_found(cluster_name))?;
        let stored = cluster.addons.get_mut(name).ok_or_else(|| addon_not_found(name, cluster_name))?;
        if stored.addon.status == "DELETING" {
            return Err(EksError::in_use(format!("Addon {name} is being deleted.")));
        }
        let mut params = Vec::new();
        if let Some(version) = &request.addon_version {
            stored.addon.addon_version = version_for(name, Some(version))?;
            params.push(json!({ "type": "AddonVersion", "value": version }));
        }
        if let Some(role) = request.service_account_role_arn {
            params.push(json!({ "type": "ServiceAccountRoleArn", "value": role }));
            // An empty string removes the role: the add-on falls back to the node role.
            stored.addon.service_account_role_arn = Some(role).filter(|role| !role.is_empty());
        }
        if let Some(values) = request.configuration_values {
            params.push(json!({ "type": "ConfigurationValues", "value": values }));
            stored.addon.configuration_values = Some(values).filter(|values| !values.is_empty());
        }
        if let Some(resolve) = request.resolve_conflicts {
            params.push(json!({ "type": "ResolveConflicts", "value": resolve }));
        }
        let now = epoch_seconds();
        stored.addon.status = "UPDATING";
        stored.addon.modified_at = now;
        stored.settles_at = settles_at;
        Ok(json!({
            "id": update_id,
            "status": "InProgress",
            "type": "AddonUpdate",
            "params": params,
            "createdAt": now,
            "errors": [],
        }))
    }

    fn delete_addon(&mut self, cluster_name: &str, name: &str) -> Result<Addon, EksError> {
        self.settle_addon(cluster_name, name);
        let settles_at = self.settles_at();
        let cluster = self.clusters.get_mut(cluster_name).ok_or_else(|| cluster_not_found(cluster_name))?;
        let stored = cluster.addons.get_mut(name).ok_or_else(|| addon_not_found(name, cluster_name))?;
        stored.addon.status = "DELETING";
        stored.addon.modified_at = epoch_seconds();
        stored.settles_at = settles_at;
        Ok(stored.addon.clone())
    }
}

/// `preserve=true|false` of DeleteAddon: keeping the add-on's software on the cluster changes
/// nothing the API shows, so it is only checked.
fn check_preserve(raw: Option<&str>) -> Result<(), EksError> {
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key == "preserve" && value != "true" && value != "false" {
            return Err(EksError::invalid_parameter(format!("preserve must be true or false, not {value}")));
        }
    }
    Ok(())
}

pub(crate) async fn create_addon(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, EksError> {
    let addon = parse_body(&body)
        .and_then(|request| shared.eks().create_addon(&cluster, request))
        .map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "addon": addon })))
}

pub(crate) async fn describe_addon(
    State(shared): State<Arc<Shared>>,
    Path((cluster, name)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, EksError> {
    let addon = shared.eks().describe_addon(&cluster, &name).map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "addon": addon })))
}

pub(crate) async fn update_addon(
    State(shared): State<Arc<Shared>>,
    Path((cluster, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, EksError> {
    let update = parse_body(&body)
        .and_then(|request| shared.eks().update_addon(&cluster, &name, request))
        .map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "update": update })))
}

pub(crate) async fn delete_addon(
    State(shared): State<Arc<Shared>>,
    Path((cluster, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, EksError> {
    check_preserve(raw.as_deref()).map_err(|error| error.in_cluster(&cluster))?;
    let addon = shared.eks().delete_addon(&cluster, &name).map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "addon": addon })))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::config::SandboxConfig;

    const WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

    fn eks() -> EksState {
        let config = SandboxConfig::default()
            .cluster("gateway", "https://oidc.eks.us-east-1.amazonaws.com/id/X")
            .visibility_delay(WINDOW);
        EksState::new(&config, StdRng::seed_from_u64(0))
    }

    /// What `describe_addon` answers once the window has passed.
    fn later(eks: &mut EksState, name: &str) -> Result<Addon, EksError> {
        crate::ids::at_time(crate::ids::now() + WINDOW, || eks.describe_addon("gateway", name))
    }

    fn request(name: &str) -> CreateRequest {
        CreateRequest { addon_name: Some(name.to_owned()), ..CreateRequest::default() }
    }

    #[test]
    fn an_addon_is_creating_then_active_then_deleting_then_gone() {
        let mut eks = eks();
        let created = eks.create_addon("gateway", request("eks-pod-identity-agent")).unwrap();
        assert_eq!((created.status, created.addon_version.as_str()), ("CREATING", "v1.3.4-eksbuild.1"));
        assert_eq!(eks.describe_addon("gateway", "eks-pod-identity-agent").unwrap().status, "CREATING");
        assert_eq!(later(&mut eks, "eks-pod-identity-agent").unwrap().status, "ACTIVE");
        let update = UpdateRequest { addon_version: Some("v1.3.2-eksbuild.2".into()), ..UpdateRequest::default() };
        let update = crate::ids::at_time(crate::ids::now() + WINDOW, || {
            eks.update_addon("gateway", "eks-pod-identity-agent", update)
        })
        .unwrap();
        assert_eq!(update["status"], "InProgress");
        assert_eq!(later(&mut eks, "eks-pod-identity-agent").unwrap().status, "UPDATING");
        let active = crate::ids::at_time(crate::ids::now() + WINDOW * 2, || {
            eks.describe_addon("gateway", "eks-pod-identity-agent")
        })
        .unwrap();
        assert_eq!((active.status, active.addon_version.as_str()), ("ACTIVE", "v1.3.2-eksbuild.2"));
        let deleting = crate::ids::at_time(crate::ids::now() + WINDOW * 2, || {
            eks.delete_addon("gateway", "eks-pod-identity-agent")
        });
        assert_eq!(deleting.unwrap().status, "DELETING");
        let gone = crate::ids::at_time(crate::ids::now() + WINDOW * 3, || {
            eks.describe_addon("gateway", "eks-pod-identity-agent")
        })
        .unwrap_err();
        assert_eq!(
            (gone.code, gone.message.as_str()),
            ("ResourceNotFoundException", "No addon: eks-pod-identity-agent found in cluster: gateway")
        );
    }

    #[test]
    fn errors_for_an_unknown_cluster_a_duplicate_and_an_unknown_addon() {
        let mut eks = eks();
        let error = eks.create_addon("nope", request("vpc-cni")).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            ("ResourceNotFoundException", "No cluster found for name: nope.")
        );
        eks.create_addon("gateway", request("vpc-cni")).unwrap();
        let error = eks.create_addon("gateway", request("vpc-cni")).unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code, error.message.as_str()),
            (409, "ResourceInUseException", "Addon already exists.")
        );
        assert_eq!(eks.create_addon("gateway", request("pod-identity")).unwrap_err().code, "InvalidParameterException");
        let old = CreateRequest { addon_version: Some("v0.0.1".into()), ..request("coredns") };
        assert_eq!(eks.create_addon("gateway", old).unwrap_err().code, "InvalidParameterException");
    }

    #[test]
    fn a_retried_create_with_its_token_returns_the_first_addon() {
        let mut eks = eks();
        let first = CreateRequest { client_request_token: Some("t-1".into()), ..request("kube-proxy") };
        let created = eks.create_addon("gateway", first.clone()).unwrap();
        assert_eq!(eks.create_addon("gateway", first).unwrap().addon_arn, created.addon_arn);
    }
}
