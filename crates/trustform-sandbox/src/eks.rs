//! EKS, REST-JSON: `DescribeCluster`, the Pod Identity association operations, and add-ons
//! (`addons.rs`).
//!
//! Errors carry the `x-amzn-ErrorType` header, which aws-sdk-eks reads to pick the modeled error
//! variant, and a `{"message": ..., "clusterName": ...}` body, which fills the variant's fields.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::SandboxConfig;
use crate::ids::{epoch_seconds, random_id};
use crate::server::Shared;

mod addons;
pub(crate) use addons::{create_addon, delete_addon, describe_addon, update_addon};

/// The page size EKS uses when `maxResults` is absent, and the largest it accepts.
const MAX_RESULTS: usize = 100;

/// Whether `path` belongs to the EKS REST API rather than the query protocol.
pub(crate) fn serves(path: &str) -> bool {
    path.starts_with("/clusters")
}

/// An EKS error as the wire shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EksError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// EKS names the cluster a request was about in its modeled errors.
    cluster_name: Option<String>,
}

impl EksError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> EksError {
        EksError { status, code, message: message.into(), cluster_name: None }
    }

    fn in_cluster(mut self, cluster_name: &str) -> EksError {
        self.cluster_name = Some(cluster_name.to_owned());
        self
    }

    pub(crate) fn unknown_operation() -> EksError {
        EksError::new(StatusCode::NOT_FOUND, "UnknownOperationException", "No operation matches this method and path.")
    }

    fn not_found(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    fn invalid_parameter(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::BAD_REQUEST, "InvalidParameterException", message)
    }

    fn in_use(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::CONFLICT, "ResourceInUseException", message)
    }

    pub(crate) fn throttled() -> EksError {
        EksError::new(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded")
    }

    pub(crate) fn server() -> EksError {
        EksError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "An internal error occurred. Please try again.",
        )
    }

    pub(crate) fn unavailable() -> EksError {
        EksError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "The service is unavailable. Please try again.",
        )
    }
}

impl IntoResponse for EksError {
    fn into_response(self) -> Response {
        (
            self.status,
            [("x-amzn-ErrorType", self.code), (header::CONTENT_TYPE.as_str(), "application/json")],
            Json(match self.cluster_name {
                Some(cluster_name) => json!({ "message": self.message, "clusterName": cluster_name }),
                None => json!({ "message": self.message }),
            }),
        )
            .into_response()
    }
}

/// The emulated EKS control plane: preloaded clusters and their associations.
pub(crate) struct EksState {
    account_id: String,
    region: String,
    visibility_delay: Duration,
    clusters: BTreeMap<String, Cluster>,
    rng: StdRng,
    /// When the emulated cloud was created: the creation time of every cluster.
    created_at: f64,
}

struct Cluster {
    description: ClusterDescription,
    associations: BTreeMap<String, StoredAssociation>,
    /// `clientRequestToken` of each create, with the request it came with and what it created.
    create_tokens: BTreeMap<String, (CreateRequest, String)>,
    /// Add-ons by name.
    addons: BTreeMap<String, addons::StoredAddon>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterDescription {
    name: String,
    arn: String,
    created_at: f64,
    version: String,
    endpoint: String,
    role_arn: String,
    identity: Identity,
    /// `certificateAuthority.data`: the base64 of the cluster CA's PEM (EKS `DescribeCluster`).
    certificate_authority: CertificateAuthority,
    status: &'static str,
    platform_version: &'static str,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
struct CertificateAuthority {
    data: String,
}

impl CertificateAuthority {
    fn emulated() -> CertificateAuthority {
        use base64::Engine as _;
        CertificateAuthority { data: base64::engine::general_purpose::STANDARD.encode(crate::world::CLUSTER_CA_PEM) }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Identity {
    oidc: Oidc,
}

#[derive(Debug, Clone, Serialize)]
struct Oidc {
    issuer: String,
}

struct StoredAssociation {
    association: Association,
    /// Describe and List pretend the association does not exist before this instant.
    visible_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Association {
    cluster_name: String,
    namespace: String,
    service_account: String,
    role_arn: String,
    association_arn: String,
    association_id: String,
    tags: BTreeMap<String, String>,
    created_at: f64,
    modified_at: f64,
    disable_session_tags: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_role_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationSummary {
    cluster_name: String,
    namespace: String,
    service_account: String,
    association_arn: String,
    association_id: String,
}

impl From<&Association> for AssociationSummary {
    fn from(association: &Association) -> Self {
        AssociationSummary {
            cluster_name: association.cluster_name.clone(),
            namespace: association.namespace.clone(),
            service_account: association.service_account.clone(),
            association_arn: association.association_arn.clone(),
            association_id: association.association_id.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    namespace: Option<String>,
    service_account: Option<String>,
    role_arn: Option<String>,
    client_request_token: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    disable_session_tags: Option<bool>,
    target_role_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    role_arn: Option<String>,
    disable_session_tags: Option<bool>,
    target_role_arn: Option<String>,
}

impl EksState {
    pub(crate) fn new(config: &SandboxConfig, mut rng: StdRng) -> EksState {
        let now = epoch_seconds();
        let clusters = config
            .clusters
            .iter()
            .map(|seed| {
                let endpoint_id = random_id(&mut rng, 32, "0123456789ABCDEF");
                let description = ClusterDescription {
                    name: seed.name.clone(),
                    arn: format!("arn:aws:eks:{}:{}:cluster/{}", config.region, config.account_id, seed.name),
                    created_at: now,
                    version: "1.31".to_owned(),
                    endpoint: format!("https://{endpoint_id}.gr7.{}.eks.amazonaws.com", config.region),
                    role_arn: format!("arn:aws:iam::{}:role/{}-cluster-role", config.account_id, seed.name),
                    identity: Identity { oidc: Oidc { issuer: seed.oidc_issuer.clone() } },
                    certificate_authority: CertificateAuthority::emulated(),
                    status: "ACTIVE",
                    platform_version: "eks.1",
                    tags: BTreeMap::new(),
                };
                let cluster = Cluster {
                    description,
                    associations: BTreeMap::new(),
                    create_tokens: BTreeMap::new(),
                    addons: BTreeMap::new(),
                };
                (seed.name.clone(), cluster)
            })
            .collect();
        EksState {
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            visibility_delay: config.visibility_delay,
            clusters,
            rng,
            created_at: now,
        }
    }

    /// Creates the `ACTIVE` cluster a request names, unless it exists: its OIDC issuer and
    /// endpoint derive from its name and `region`, its creation time is the cloud's.
    pub(crate) fn materialize_cluster(&mut self, name: &str, region: &str) {
        if self.clusters.contains_key(name) {
            return;
        }
        let description = ClusterDescription {
            name: name.to_owned(),
            arn: format!("arn:aws:eks:{region}:{}:cluster/{name}", self.account_id),
            created_at: self.created_at,
            version: "1.31".to_owned(),
            endpoint: crate::world::cluster_endpoint(name, region),
            role_arn: format!("arn:aws:iam::{}:role/{name}-cluster-role", self.account_id),
            identity: Identity { oidc: Oidc { issuer: crate::world::cluster_issuer(name, region) } },
            certificate_authority: CertificateAuthority::emulated(),
            status: "ACTIVE",
            platform_version: "eks.1",
            tags: BTreeMap::new(),
        };
        let cluster = Cluster {
            description,
            associations: BTreeMap::new(),
            create_tokens: BTreeMap::new(),
            addons: BTreeMap::new(),
        };
        self.clusters.insert(name.to_owned(), cluster);
    }

    fn cluster(&mut self, name: &str) -> Result<&mut Cluster, EksError> {
        self.clusters.get_mut(name).ok_or_else(|| cluster_not_found(name))
    }

    fn create(&mut self, cluster_name: &str, request: CreateRequest) -> Result<Association, EksError> {
        let namespace = required(&request.namespace, "namespace")?;
        let service_account = required(&request.service_account, "serviceAccount")?;
        let role_arn = required(&request.role_arn, "roleArn")?;
        validate_role_arn(role_arn, "roleArn")?;
        if let Some(target) = &request.target_role_arn {
            validate_role_arn(target, "targetRoleArn")?;
        }
        // Field-level borrow: the id generator is used while the cluster is borrowed.
        let cluster = self.clusters.get_mut(cluster_name).ok_or_else(|| cluster_not_found(cluster_name))?;

        if let Some(token) = &request.client_request_token {
            if let Some((earlier, id)) = cluster.create_tokens.get(token) {
                if let Some(stored) = cluster.associations.get(id) {
                    if *earlier != request {
                        return Err(EksError::invalid_parameter(format!(
                            "Client request token {token} was already used with different parameters."
                        )));
                    }
                    return Ok(stored.association.clone());
                }
            }
        }
        if let Some(existing) = cluster.associations.values().find(|stored| {
            stored.association.namespace == namespace && stored.association.service_account == service_account
        }) {
            return Err(EksError::in_use(format!(
                "Association already exists: {}",
                existing.association.association_id
            )));
        }

        let association_id = format!("a-{}", random_id(&mut self.rng, 17, "abcdefghijklmnopqrstuvwxyz0123456789"));
        let association_arn = format!(
            "arn:aws:eks:{}:{}:podidentityassociation/{cluster_name}/{association_id}",
            self.region, self.account_id
        );
        let now = epoch_seconds();
        let association = Association {
            cluster_name: cluster_name.to_owned(),
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            role_arn: role_arn.to_owned(),
            association_arn,
            association_id: association_id.clone(),
            tags: request.tags.clone(),
            created_at: now,
            modified_at: now,
            disable_session_tags: request.disable_session_tags.unwrap_or(false),
            target_role_arn: request.target_role_arn.clone(),
        };
        if let Some(token) = &request.client_request_token {
            cluster.create_tokens.insert(token.clone(), (request.clone(), association_id.clone()));
        }
        cluster.associations.insert(
            association_id,
            StoredAssociation {
                association: association.clone(),
                visible_at: crate::ids::now() + self.visibility_delay,
            },
        );
        Ok(association)
    }

    fn describe(&mut self, cluster_name: &str, id: &str) -> Result<Association, EksError> {
        let now = crate::ids::now();
        let cluster = self.cluster(cluster_name)?;
        cluster
            .associations
            .get(id)
            .filter(|stored| stored.visible_at <= now)
            .map(|stored| stored.association.clone())
            .ok_or_else(|| association_not_found(id))
    }

    fn update(&mut self, cluster_name: &str, id: &str, request: UpdateRequest) -> Result<Association, EksError> {
        if let Some(role_arn) = &request.role_arn {
            validate_role_arn(role_arn, "roleArn")?;
        }
        if let Some(target) = &request.target_role_arn {
            if !target.is_empty() {
                validate_role_arn(target, "targetRoleArn")?;
            }
        }
        let cluster = self.cluster(cluster_name)?;
        let stored = cluster.associations.get_mut(id).ok_or_else(|| association_not_found(id))?;
        let association = &mut stored.association;
        if let Some(role_arn) = request.role_arn {
            association.role_arn = role_arn;
        }
        if let Some(disable) = request.disable_session_tags {
            association.disable_session_tags = disable;
        }
        if let Some(target) = request.target_role_arn {
            // An empty string is how the API removes the target role.
            association.target_role_arn = Some(target).filter(|target| !target.is_empty());
        }
        association.modified_at = epoch_seconds();
        Ok(association.clone())
    }

    fn delete(&mut self, cluster_name: &str, id: &str) -> Result<Association, EksError> {
        let cluster = self.cluster(cluster_name)?;
        let stored = cluster.associations.remove(id).ok_or_else(|| association_not_found(id))?;
        cluster.create_tokens.retain(|_, (_, created)| created != id);
        Ok(stored.association)
    }

    fn list(
        &mut self,
        cluster_name: &str,
        query: &ListQuery,
    ) -> Result<(Vec<AssociationSummary>, Option<String>), EksError> {
        let now = crate::ids::now();
        let cluster = self.cluster(cluster_name)?;
        let mut matching = cluster
            .associations
            .range(query.next_token.clone().unwrap_or_default()..)
            .map(|(_, stored)| stored)
            .filter(|stored| stored.visible_at <= now)
            .map(|stored| &stored.association)
            .filter(|association| {
                query.namespace.as_ref().is_none_or(|namespace| *namespace == association.namespace)
                    && query.service_account.as_ref().is_none_or(|account| *account == association.service_account)
            });
        let page: Vec<AssociationSummary> =
            matching.by_ref().take(query.max_results).map(AssociationSummary::from).collect();
        let next_token = matching.next().map(|association| association.association_id.clone());
        Ok((page, next_token))
    }
}

fn cluster_not_found(name: &str) -> EksError {
    EksError::not_found(format!("No cluster found for name: {name}."))
}

fn association_not_found(id: &str) -> EksError {
    EksError::not_found(format!("No Pod Identity Association found for ID: {id}"))
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, EksError> {
    match value.as_deref() {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(EksError::invalid_parameter(format!("{field} must be specified and not empty"))),
    }
}

/// Accepts `arn:PARTITION:iam::ACCOUNT:role/NAME` the way EKS does before it ever calls IAM.
fn validate_role_arn(arn: &str, field: &str) -> Result<(), EksError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|byte| byte.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty())
    );
    if valid {
        Ok(())
    } else {
        Err(EksError::invalid_parameter(format!("{field} {arn} is not a valid IAM role ARN")))
    }
}

fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, EksError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| EksError::invalid_parameter(format!("The request body is invalid: {error}")))
}

struct ListQuery {
    namespace: Option<String>,
    service_account: Option<String>,
    max_results: usize,
    next_token: Option<String>,
}

impl ListQuery {
    fn parse(raw: Option<&str>) -> Result<ListQuery, EksError> {
        let mut query =
            ListQuery { namespace: None, service_account: None, max_results: MAX_RESULTS, next_token: None };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "namespace" => query.namespace = Some(value.into_owned()),
                "serviceAccount" => query.service_account = Some(value.into_owned()),
                "nextToken" => {
                    if !value.starts_with("a-") {
                        return Err(EksError::invalid_parameter(format!("The nextToken {value} is invalid.")));
                    }
                    query.next_token = Some(value.into_owned());
                }
                "maxResults" => {
                    query.max_results =
                        value.parse().ok().filter(|max| (1..=MAX_RESULTS).contains(max)).ok_or_else(|| {
                            EksError::invalid_parameter(format!(
                                "maxResults must be between 1 and {MAX_RESULTS}, got {value}"
                            ))
                        })?;
                }
                _ => {}
            }
        }
        Ok(query)
    }
}

pub(crate) async fn describe_cluster(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, EksError> {
    let mut eks = shared.eks();
    let cluster = eks.cluster(&name).map_err(|error| error.in_cluster(&name))?;
    Ok(Json(json!({ "cluster": cluster.description })))
}

pub(crate) async fn create_association(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, EksError> {
    let association = parse_body(&body)
        .and_then(|request| shared.eks().create(&cluster, request))
        .map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "association": association })))
}

pub(crate) async fn describe_association(
    State(shared): State<Arc<Shared>>,
    Path((cluster, id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, EksError> {
    let association = shared.eks().describe(&cluster, &id).map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "association": association })))
}

pub(crate) async fn update_association(
    State(shared): State<Arc<Shared>>,
    Path((cluster, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, EksError> {
    let association = parse_body(&body)
        .and_then(|request| shared.eks().update(&cluster, &id, request))
        .map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "association": association })))
}

pub(crate) async fn delete_association(
    State(shared): State<Arc<Shared>>,
    Path((cluster, id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, EksError> {
    let association = shared.eks().delete(&cluster, &id).map_err(|error| error.in_cluster(&cluster))?;
    Ok(Json(json!({ "association": association })))
}

pub(crate) async fn list_associations(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, EksError> {
    let (associations, next_token) = ListQuery::parse(raw.as_deref())
        .and_then(|query| shared.eks().list(&cluster, &query))
        .map_err(|error| error.in_cluster(&cluster))?;
    let mut body = json!({ "associations": associations });
    if let Some(token) = next_token {
        body["nextToken"] = json!(token);
    }
    Ok(Json(body))
}

/// EKS Auth `AssumeRoleForPodIdentity`
/// (https://docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html),
/// what the Pod Identity Agent calls with a pod's service account token: the token must be the
/// cluster's (its issuer) for the audience `pods.eks.amazonaws.com`, an association must name
/// its namespace and service account, and the association's role must trust
/// `pods.eks.amazonaws.com` for `sts:AssumeRole` and `sts:TagSession`
/// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
pub(crate) async fn assume_role_for_pod_identity(
    State(shared): State<Arc<Shared>>,
    Path(cluster_name): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, EksError> {
    use crate::federation::{self, trust_policy, TokenError};
    let invalid_token = |message: &str| EksError::new(StatusCode::BAD_REQUEST, "InvalidTokenException", message);
    let denied = |message: String| EksError::new(StatusCode::BAD_REQUEST, "AccessDeniedException", message);
    let request: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        EksError::new(StatusCode::BAD_REQUEST, "InvalidRequestException", "The request body is not JSON.")
    })?;
    let token = request.get("token").and_then(serde_json::Value::as_str).unwrap_or_default();
    let claims = federation::verified_claims(token).map_err(|error| match error {
        TokenError::Expired => {
            EksError::new(StatusCode::BAD_REQUEST, "ExpiredTokenException", "The token has expired.")
        }
        TokenError::Malformed => invalid_token("The service account token is not valid."),
    })?;
    let (issuer, account_id, associations) = {
        let mut eks = shared.eks();
        let cluster = eks.cluster(&cluster_name).map_err(|error| error.in_cluster(&cluster_name))?;
        let associations: Vec<Association> =
            cluster.associations.values().map(|stored| stored.association.clone()).collect();
        (cluster.description.identity.oidc.issuer.clone(), eks.account_id.clone(), associations)
    };
    if claims.get("iss").and_then(serde_json::Value::as_str) != Some(issuer.as_str()) {
        return Err(invalid_token("The token was not issued by this cluster's service account issuer."));
    }
    if !federation::claim_strings(&claims, "aud").iter().any(|aud| aud == POD_IDENTITY_AUDIENCE) {
        return Err(invalid_token("The token's audience is not pods.eks.amazonaws.com."));
    }
    let subject = claims.get("sub").and_then(serde_json::Value::as_str).unwrap_or_default();
    let Some((namespace, service_account)) =
        subject.strip_prefix("system:serviceaccount:").and_then(|rest| rest.split_once(':'))
    else {
        return Err(invalid_token("The token's subject is not a service account."));
    };
    let Some(association) =
        associations.iter().find(|a| a.namespace == namespace && a.service_account == service_account)
    else {
        return Err(denied(format!(
            "No Pod Identity association in cluster {cluster_name} for service account {service_account} in namespace {namespace}."
        )));
    };
    let role_arn = association.role_arn.clone();
    let account = crate::federation::arn_account(&role_arn).unwrap_or(&shared.config.account_id).to_owned();
    let trust = shared.iam().get(&account).and_then(|iam| iam.trust_of(&role_arn));
    let trusted = trust.is_some_and(|(_, policy)| {
        trust_policy::allows(
            &policy,
            &trust_policy::Request {
                principal: trust_policy::Principal::Service(POD_IDENTITY_AUDIENCE),
                actions: &["sts:AssumeRole", "sts:TagSession"],
                context: BTreeMap::new(),
            },
        )
    });
    if !trusted {
        return Err(denied(format!(
            "The role {role_arn} does not let pods.eks.amazonaws.com perform sts:AssumeRole and sts:TagSession."
        )));
    }
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    let session = format!(
        "eks-{cluster_name}-{}",
        claims
            .get("kubernetes.io")
            .and_then(|k| k.get("pod"))
            .and_then(|p| p.get("name"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(service_account)
    );
    let arn = format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session}");
    let credentials = federation::SessionCredentials::issue(&arn);
    Ok(Json(json!({
        "assumedRoleUser": { "arn": arn, "assumeRoleId": format!("{}:{session}", credentials.role_id) },
        "audience": POD_IDENTITY_AUDIENCE,
        "credentials": {
            "accessKeyId": credentials.access_key_id,
            "secretAccessKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token,
            "expiration": credentials.expiration.unix_timestamp(),
        },
        "podIdentityAssociation": {
            "associationArn": association.association_arn,
            "associationId": association.association_id,
        },
        "subject": { "namespace": namespace, "serviceAccount": service_account },
    })))
}

/// The audience of a Pod Identity token and the service principal its roles trust.
const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_checked_for_shape() {
        assert!(validate_role_arn("arn:aws:iam::123456789012:role/app", "roleArn").is_ok());
        assert!(validate_role_arn("arn:aws-cn:iam::123456789012:role/a/b", "roleArn").is_ok());
        for bad in [
            "arn:aws:iam::123456789012:user/app",
            "arn:aws:iam::12345:role/app",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
            "not-an-arn",
        ] {
            let error = validate_role_arn(bad, "roleArn").unwrap_err();
            assert_eq!(error.code, "InvalidParameterException", "{bad}");
        }
    }

    #[test]
    fn list_query_rejects_out_of_range_page_sizes() {
        assert_eq!(ListQuery::parse(None).unwrap().max_results, MAX_RESULTS);
        assert_eq!(ListQuery::parse(Some("maxResults=7&namespace=ns")).unwrap().max_results, 7);
        for bad in ["maxResults=0", "maxResults=101", "maxResults=x", "nextToken=zz"] {
            assert!(ListQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_body_means_no_fields() {
        let request: CreateRequest = parse_body(b"  ").unwrap();
        assert_eq!(request, CreateRequest::default());
        assert!(parse_body::<CreateRequest>(b"{nope").is_err());
    }
}
