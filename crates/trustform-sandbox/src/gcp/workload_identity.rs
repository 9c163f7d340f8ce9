//! IAM v1 workload identity pools and their providers: create, get, list, patch, delete (a
//! 30-day soft delete: `state: DELETED` with an `expireTime`) and undelete, each change answered
//! with a long-running operation.
//!
//! Resource names carry the project number whichever of id or number the request used, as
//! Google's do. An id that exists, active or soft-deleted, cannot be created again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{check_length, is_false, parse_update_mask, validate_pool_style_id, Answer, GcpError, GcpState};
use crate::ids::rfc3339;

const POOL_TYPE: &str = "type.googleapis.com/google.iam.v1.WorkloadIdentityPool";
const PROVIDER_TYPE: &str = "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider";

/// How long a deleted pool or provider can be undeleted.
const SOFT_DELETE_RETENTION: time::Duration = time::Duration::days(30);

/// The list page size when `pageSize` is absent, and the largest accepted.
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// The mapping an AWS provider gets when it is created without one.
const DEFAULT_AWS_MAPPING: [(&str, &str); 2] = [
    (
        "attribute.aws_role",
        concat!(
            "assertion.arn.contains('assumed-role')",
            " ? assertion.arn.extract('{account_arn}assumed-role/')",
            " + 'assumed-role/'",
            " + assertion.arn.extract('assumed-role/{role_name}/')",
            " : assertion.arn"
        ),
    ),
    ("google.subject", "assertion.arn"),
];

const POOL_MASK: &[&str] = &["displayName", "description", "disabled"];
const PROVIDER_MASK: &[&str] = &[
    "displayName",
    "description",
    "disabled",
    "attributeMapping",
    "attributeCondition",
    "aws",
    "aws.accountId",
    "oidc",
    "oidc.issuerUri",
    "oidc.allowedAudiences",
    "oidc.jwksJson",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum LifecycleState {
    Active,
    Deleted,
}

/// Soft-delete bookkeeping shared by pools and providers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Lifecycle {
    state: LifecycleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_time: Option<String>,
}

impl Lifecycle {
    fn active() -> Lifecycle {
        Lifecycle { state: LifecycleState::Active, expire_time: None }
    }

    fn delete(&mut self) -> Result<(), GcpError> {
        if self.state == LifecycleState::Deleted {
            return Err(GcpError::failed_precondition("The resource is already deleted."));
        }
        let expires = crate::ids::now() + SOFT_DELETE_RETENTION;
        *self = Lifecycle { state: LifecycleState::Deleted, expire_time: Some(rfc3339(expires)) };
        Ok(())
    }

    fn undelete(&mut self) -> Result<(), GcpError> {
        if self.state == LifecycleState::Active {
            return Err(GcpError::failed_precondition("The resource is not deleted."));
        }
        *self = Lifecycle::active();
        Ok(())
    }

    fn require_active(&self) -> Result<(), GcpError> {
        match self.state {
            LifecycleState::Active => Ok(()),
            LifecycleState::Deleted => {
                Err(GcpError::failed_precondition("The resource is deleted: undelete it first."))
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoredPool {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    display_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(flatten)]
    lifecycle: Lifecycle,
    #[serde(skip_serializing_if = "is_false")]
    disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PoolInput {
    display_name: Option<String>,
    description: Option<String>,
    disabled: Option<bool>,
}

impl PoolInput {
    fn check(&self) -> Result<(), GcpError> {
        check_length(self.display_name.as_deref(), 32, "displayName")?;
        check_length(self.description.as_deref(), 256, "description")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Aws {
    account_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Oidc {
    issuer_uri: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_audiences: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    jwks_json: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoredProvider {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    display_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(flatten)]
    lifecycle: Lifecycle,
    #[serde(skip_serializing_if = "is_false")]
    disabled: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attribute_mapping: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    attribute_condition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws: Option<Aws>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc: Option<Oidc>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsInput {
    account_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OidcInput {
    issuer_uri: Option<String>,
    allowed_audiences: Option<Vec<String>>,
    jwks_json: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProviderInput {
    display_name: Option<String>,
    description: Option<String>,
    disabled: Option<bool>,
    attribute_mapping: Option<BTreeMap<String, String>>,
    attribute_condition: Option<String>,
    aws: Option<AwsInput>,
    oidc: Option<OidcInput>,
    saml: Option<Value>,
    x509: Option<Value>,
}

impl StoredProvider {
    /// The provider `input` describes, every field checked the way IAM checks it.
    fn from_input(name: String, lifecycle: Lifecycle, input: ProviderInput) -> Result<StoredProvider, GcpError> {
        check_length(input.display_name.as_deref(), 32, "displayName")?;
        check_length(input.description.as_deref(), 256, "description")?;
        if input.saml.is_some() || input.x509.is_some() {
            return Err(GcpError::invalid_argument("The sandbox serves aws and oidc providers only."));
        }
        let (aws, oidc) = match (input.aws, input.oidc) {
            (Some(aws), None) => (Some(validate_aws(aws)?), None),
            (None, Some(oidc)) => (None, Some(validate_oidc(oidc)?)),
            _ => {
                return Err(GcpError::invalid_argument(
                    "A workload identity pool provider must have exactly one of aws and oidc.",
                ))
            }
        };
        let mut attribute_mapping = input.attribute_mapping.unwrap_or_default();
        if attribute_mapping.is_empty() && aws.is_some() {
            attribute_mapping =
                DEFAULT_AWS_MAPPING.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
        }
        validate_mapping(&attribute_mapping)?;
        Ok(StoredProvider {
            name,
            display_name: input.display_name.unwrap_or_default(),
            description: input.description.unwrap_or_default(),
            lifecycle,
            disabled: input.disabled.unwrap_or(false),
            attribute_mapping,
            attribute_condition: input.attribute_condition.unwrap_or_default(),
            aws,
            oidc,
        })
    }

    fn to_input(&self) -> ProviderInput {
        ProviderInput {
            display_name: Some(self.display_name.clone()),
            description: Some(self.description.clone()),
            disabled: Some(self.disabled),
            attribute_mapping: Some(self.attribute_mapping.clone()),
            attribute_condition: Some(self.attribute_condition.clone()),
            aws: self.aws.as_ref().map(|aws| AwsInput { account_id: Some(aws.account_id.clone()) }),
            oidc: self.oidc.as_ref().map(|oidc| OidcInput {
                issuer_uri: Some(oidc.issuer_uri.clone()),
                allowed_audiences: Some(oidc.allowed_audiences.clone()),
                jwks_json: Some(oidc.jwks_json.clone()),
            }),
            saml: None,
            x509: None,
        }
    }
}

fn validate_aws(aws: AwsInput) -> Result<Aws, GcpError> {
    let account_id = aws.account_id.unwrap_or_default();
    if account_id.len() != 12 || !account_id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(GcpError::invalid_argument(format!(
            "Invalid aws.accountId \"{account_id}\": an AWS account id is 12 digits."
        )));
    }
    Ok(Aws { account_id })
}

fn validate_oidc(oidc: OidcInput) -> Result<Oidc, GcpError> {
    let issuer_uri = oidc.issuer_uri.unwrap_or_default();
    if issuer_uri.strip_prefix("https://").is_none_or(str::is_empty) {
        return Err(GcpError::invalid_argument(format!(
            "Invalid oidc.issuerUri \"{issuer_uri}\": the issuer must be an https:// URL."
        )));
    }
    let jwks_json = oidc.jwks_json.unwrap_or_default();
    if !jwks_json.is_empty() {
        let keys = serde_json::from_str::<Value>(&jwks_json).ok().and_then(|jwks| jwks.get("keys").cloned());
        if !keys.is_some_and(|keys| keys.is_array()) {
            return Err(GcpError::invalid_argument("Invalid oidc.jwksJson: it must be a JWK Set with a keys array."));
        }
    }
    Ok(Oidc { issuer_uri, allowed_audiences: oidc.allowed_audiences.unwrap_or_default(), jwks_json })
}

fn validate_mapping(mapping: &BTreeMap<String, String>) -> Result<(), GcpError> {
    if !mapping.contains_key("google.subject") {
        return Err(GcpError::invalid_argument("The attribute mapping must include a google.subject mapping."));
    }
    for key in mapping.keys() {
        let valid =
            matches!(key.as_str(), "google.subject" | "google.groups" | "google.display_name" | "google.profile_photo")
                || key.strip_prefix("attribute.").is_some_and(|name| {
                    (1..=100).contains(&name.len())
                        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
                });
        if !valid {
            return Err(GcpError::invalid_argument(format!("Invalid attribute mapping key \"{key}\".")));
        }
    }
    Ok(())
}

fn denied(permission: &str, project: &str) -> GcpError {
    GcpError::permission_denied(format!(
        "Permission '{permission}' denied on resource '//iam.googleapis.com/projects/{project}/locations/global' (or \
         it may not exist)."
    ))
}

/// `pageSize` and `pageToken` of a list call; the token is the id the next page starts at.
fn page(query: &BTreeMap<String, String>) -> Result<(usize, String), GcpError> {
    let size = match query.get("pageSize") {
        None => DEFAULT_PAGE_SIZE,
        Some(size) => size
            .parse::<usize>()
            .ok()
            .filter(|size| *size <= MAX_PAGE_SIZE)
            .map(|size| if size == 0 { DEFAULT_PAGE_SIZE } else { size })
            .ok_or_else(|| GcpError::invalid_argument(format!("Invalid pageSize \"{size}\".")))?,
    };
    Ok((size, query.get("pageToken").cloned().unwrap_or_default()))
}

fn show_deleted(query: &BTreeMap<String, String>) -> Result<bool, GcpError> {
    match query.get("showDeleted").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(GcpError::invalid_argument(format!("Invalid showDeleted \"{other}\"."))),
    }
}

/// One list page of `items`, keyed by id, in id order.
fn list_page<'a, T: Serialize + 'a>(
    items: impl Iterator<Item = (&'a str, &'a T)>,
    size: usize,
    token: &str,
    field: &str,
) -> Value {
    let mut items = items.filter(|(id, _)| *id >= token).peekable();
    let page: Vec<&T> = items.by_ref().take(size).map(|(_, item)| item).collect();
    let mut body = json!({});
    if !page.is_empty() {
        body[field] = json!(page);
    }
    if let Some((next, _)) = items.peek() {
        body["nextPageToken"] = json!(next);
    }
    body
}

/// What a token exchange reads of a pool provider.
pub(super) struct ExchangeProvider {
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL`.
    pub(super) pool: String,
    pub(super) aws_account: Option<String>,
    pub(super) oidc_issuer: Option<String>,
    pub(super) allowed_audiences: Vec<String>,
    pub(super) mapping: BTreeMap<String, String>,
    pub(super) condition: String,
}

impl GcpState {
    /// The active, enabled provider `POOL/PROVIDER` of the project with this number, in an
    /// active, enabled pool.
    pub(super) fn exchange_provider(&self, number: u64, pool: &str, provider: &str) -> Option<ExchangeProvider> {
        let usable_pool = self
            .pools
            .get(&(number, pool.to_owned()))
            .is_some_and(|stored| stored.lifecycle.state == LifecycleState::Active && !stored.disabled);
        let stored = self.providers.get(&(number, pool.to_owned(), provider.to_owned()))?;
        if !usable_pool || stored.lifecycle.state != LifecycleState::Active || stored.disabled {
            return None;
        }
        Some(ExchangeProvider {
            pool: format!("projects/{number}/locations/global/workloadIdentityPools/{pool}"),
            aws_account: stored.aws.as_ref().map(|aws| aws.account_id.clone()),
            oidc_issuer: stored.oidc.as_ref().map(|oidc| oidc.issuer_uri.clone()),
            allowed_audiences: stored.oidc.as_ref().map(|oidc| oidc.allowed_audiences.clone()).unwrap_or_default(),
            mapping: stored.attribute_mapping.clone(),
            condition: stored.attribute_condition.clone(),
        })
    }

    fn pool_key(&self, project: &str, pool: &str, permission: &str) -> Result<(u64, String), GcpError> {
        let number = self.project(project).ok_or_else(|| denied(permission, project))?.number;
        Ok((number, pool.to_owned()))
    }

    fn pool_mut(&mut self, project: &str, pool: &str, permission: &str) -> Result<&mut StoredPool, GcpError> {
        let key = self.pool_key(project, pool, permission)?;
        self.pools.get_mut(&key).ok_or_else(GcpError::entity_not_found)
    }

    fn start_operation(&mut self, parent: &str, type_url: &str, resource: Value) -> Value {
        self.operations.start(&mut self.rng, parent, type_url, resource)
    }

    pub(super) fn create_pool(&mut self, project: &str, id: Option<&str>, input: PoolInput) -> Answer {
        let key = self.pool_key(project, id.unwrap_or_default(), "iam.workloadIdentityPools.create")?;
        validate_pool_style_id(&key.1, "workloadIdentityPoolId")?;
        input.check()?;
        if self.pools.contains_key(&key) {
            return Err(GcpError::already_exists("Requested entity already exists"));
        }
        let pool = StoredPool {
            name: format!("projects/{}/locations/global/workloadIdentityPools/{}", key.0, key.1),
            display_name: input.display_name.unwrap_or_default(),
            description: input.description.unwrap_or_default(),
            lifecycle: Lifecycle::active(),
            disabled: input.disabled.unwrap_or(false),
        };
        let (name, resource) = (pool.name.clone(), json!(pool));
        self.pools.insert(key, pool);
        Ok(self.start_operation(&name, POOL_TYPE, resource))
    }

    pub(super) fn get_pool(&self, project: &str, pool: &str) -> Answer {
        let key = self.pool_key(project, pool, "iam.workloadIdentityPools.get")?;
        self.pools.get(&key).map(|pool| json!(pool)).ok_or_else(GcpError::entity_not_found)
    }

    pub(super) fn list_pools(&self, project: &str, query: &BTreeMap<String, String>) -> Answer {
        let number = self.pool_key(project, "", "iam.workloadIdentityPools.list")?.0;
        let (size, token) = page(query)?;
        let show_deleted = show_deleted(query)?;
        let pools = self
            .pools
            .iter()
            .filter(|((pool_project, _), pool)| {
                *pool_project == number && (show_deleted || pool.lifecycle.state == LifecycleState::Active)
            })
            .map(|((_, id), pool)| (id.as_str(), pool));
        Ok(list_page(pools, size, &token, "workloadIdentityPools"))
    }

    pub(super) fn patch_pool(&mut self, project: &str, pool: &str, mask: Option<&str>, input: PoolInput) -> Answer {
        let mask = parse_update_mask(mask, POOL_MASK)?;
        input.check()?;
        let stored = self.pool_mut(project, pool, "iam.workloadIdentityPools.update")?;
        stored.lifecycle.require_active()?;
        for field in mask {
            match field.as_str() {
                "displayName" => stored.display_name = input.display_name.clone().unwrap_or_default(),
                "description" => stored.description = input.description.clone().unwrap_or_default(),
                _ => stored.disabled = input.disabled.unwrap_or(false),
            }
        }
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, POOL_TYPE, resource))
    }

    pub(super) fn delete_pool(&mut self, project: &str, pool: &str) -> Answer {
        let stored = self.pool_mut(project, pool, "iam.workloadIdentityPools.delete")?;
        stored.lifecycle.delete()?;
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, POOL_TYPE, resource))
    }

    pub(super) fn undelete_pool(&mut self, project: &str, pool: &str) -> Answer {
        let stored = self.pool_mut(project, pool, "iam.workloadIdentityPools.undelete")?;
        stored.lifecycle.undelete()?;
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, POOL_TYPE, resource))
    }

    /// The key of a provider in an existing pool; a pool that is not there is `NOT_FOUND`.
    fn provider_key(
        &self,
        project: &str,
        pool: &str,
        provider: &str,
        permission: &str,
    ) -> Result<(u64, String, String), GcpError> {
        let (number, pool) = self.pool_key(project, pool, permission)?;
        if !self.pools.contains_key(&(number, pool.clone())) {
            return Err(GcpError::entity_not_found());
        }
        Ok((number, pool, provider.to_owned()))
    }

    fn provider_mut(
        &mut self,
        project: &str,
        pool: &str,
        provider: &str,
        permission: &str,
    ) -> Result<&mut StoredProvider, GcpError> {
        let key = self.provider_key(project, pool, provider, permission)?;
        self.providers.get_mut(&key).ok_or_else(GcpError::entity_not_found)
    }

    pub(super) fn create_provider(
        &mut self,
        project: &str,
        pool: &str,
        id: Option<&str>,
        input: ProviderInput,
    ) -> Answer {
        let key =
            self.provider_key(project, pool, id.unwrap_or_default(), "iam.workloadIdentityPoolProviders.create")?;
        if let Some(pool) = self.pools.get(&(key.0, key.1.clone())) {
            if pool.lifecycle.state == LifecycleState::Deleted {
                return Err(GcpError::failed_precondition(format!(
                    "The workload identity pool {} is deleted: undelete it before adding providers.",
                    pool.name
                )));
            }
        }
        validate_pool_style_id(&key.2, "workloadIdentityPoolProviderId")?;
        if self.providers.contains_key(&key) {
            return Err(GcpError::already_exists("Requested entity already exists"));
        }
        let name = format!("projects/{}/locations/global/workloadIdentityPools/{}/providers/{}", key.0, key.1, key.2);
        let provider = StoredProvider::from_input(name.clone(), Lifecycle::active(), input)?;
        let resource = json!(provider);
        self.providers.insert(key, provider);
        Ok(self.start_operation(&name, PROVIDER_TYPE, resource))
    }

    pub(super) fn get_provider(&self, project: &str, pool: &str, provider: &str) -> Answer {
        let key = self.provider_key(project, pool, provider, "iam.workloadIdentityPoolProviders.get")?;
        self.providers.get(&key).map(|provider| json!(provider)).ok_or_else(GcpError::entity_not_found)
    }

    pub(super) fn list_providers(&self, project: &str, pool: &str, query: &BTreeMap<String, String>) -> Answer {
        let (number, pool, _) = self.provider_key(project, pool, "", "iam.workloadIdentityPoolProviders.list")?;
        let (size, token) = page(query)?;
        let show_deleted = show_deleted(query)?;
        let providers = self
            .providers
            .iter()
            .filter(|((provider_project, provider_pool, _), provider)| {
                *provider_project == number
                    && *provider_pool == pool
                    && (show_deleted || provider.lifecycle.state == LifecycleState::Active)
            })
            .map(|((_, _, id), provider)| (id.as_str(), provider));
        Ok(list_page(providers, size, &token, "workloadIdentityPoolProviders"))
    }

    pub(super) fn patch_provider(
        &mut self,
        project: &str,
        pool: &str,
        provider: &str,
        mask: Option<&str>,
        input: ProviderInput,
    ) -> Answer {
        let mask = parse_update_mask(mask, PROVIDER_MASK)?;
        let stored = self.provider_mut(project, pool, provider, "iam.workloadIdentityPoolProviders.update")?;
        stored.lifecycle.require_active()?;
        let mut merged = stored.to_input();
        for field in mask {
            match field.as_str() {
                "displayName" => merged.display_name = input.display_name.clone(),
                "description" => merged.description = input.description.clone(),
                "disabled" => merged.disabled = input.disabled,
                "attributeMapping" => merged.attribute_mapping = input.attribute_mapping.clone(),
                "attributeCondition" => merged.attribute_condition = input.attribute_condition.clone(),
                "aws" => merged.aws = input.aws.clone(),
                "aws.accountId" => {
                    merged.aws.get_or_insert_with(AwsInput::default).account_id =
                        input.aws.as_ref().and_then(|aws| aws.account_id.clone());
                }
                "oidc" => merged.oidc = input.oidc.clone(),
                "oidc.issuerUri" => {
                    merged.oidc.get_or_insert_with(OidcInput::default).issuer_uri =
                        input.oidc.as_ref().and_then(|oidc| oidc.issuer_uri.clone());
                }
                "oidc.allowedAudiences" => {
                    merged.oidc.get_or_insert_with(OidcInput::default).allowed_audiences =
                        input.oidc.as_ref().and_then(|oidc| oidc.allowed_audiences.clone());
                }
                _ => {
                    merged.oidc.get_or_insert_with(OidcInput::default).jwks_json =
                        input.oidc.as_ref().and_then(|oidc| oidc.jwks_json.clone());
                }
            }
        }
        *stored = StoredProvider::from_input(stored.name.clone(), stored.lifecycle.clone(), merged)?;
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, PROVIDER_TYPE, resource))
    }

    pub(super) fn delete_provider(&mut self, project: &str, pool: &str, provider: &str) -> Answer {
        let stored = self.provider_mut(project, pool, provider, "iam.workloadIdentityPoolProviders.delete")?;
        stored.lifecycle.delete()?;
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, PROVIDER_TYPE, resource))
    }

    pub(super) fn undelete_provider(&mut self, project: &str, pool: &str, provider: &str) -> Answer {
        let stored = self.provider_mut(project, pool, provider, "iam.workloadIdentityPoolProviders.undelete")?;
        stored.lifecycle.undelete()?;
        let (name, resource) = (stored.name.clone(), json!(stored));
        Ok(self.start_operation(&name, PROVIDER_TYPE, resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(input: Value) -> Result<StoredProvider, GcpError> {
        StoredProvider::from_input("n".to_owned(), Lifecycle::active(), serde_json::from_value(input).unwrap())
    }

    #[test]
    fn an_aws_provider_without_a_mapping_gets_the_default() {
        let provider = provider(json!({ "aws": { "accountId": "123456789012" } })).unwrap();
        assert_eq!(provider.attribute_mapping["google.subject"], "assertion.arn");
        assert_eq!(
            provider.attribute_mapping["attribute.aws_role"],
            "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + \
             'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"
        );
    }

    #[test]
    fn providers_are_checked_like_iam_checks_them() {
        for bad in [
            json!({}),
            json!({ "aws": { "accountId": "1234" } }),
            json!({ "aws": { "accountId": "123456789012" }, "oidc": { "issuerUri": "https://a" } }),
            json!({ "oidc": { "issuerUri": "https://token.actions.githubusercontent.com" } }),
            json!({ "oidc": { "issuerUri": "http://insecure" }, "attributeMapping": { "google.subject": "assertion.sub" } }),
            json!({ "aws": { "accountId": "123456789012" }, "attributeMapping": { "attribute.aws_role": "x" } }),
            json!({ "aws": { "accountId": "123456789012" }, "attributeMapping": { "google.subject": "x", "Bad": "y" } }),
        ] {
            assert_eq!(provider(bad.clone()).err().map(|error| error.reason), Some("INVALID_ARGUMENT"), "{bad}");
        }
        let oidc = json!({ "oidc": { "issuerUri": "https://token.actions.githubusercontent.com",
            "allowedAudiences": ["sts"] }, "attributeMapping": { "google.subject": "assertion.sub" } });
        assert!(provider(oidc).is_ok());
    }

    #[test]
    fn a_soft_delete_expires_thirty_days_on_and_undeletes_once() {
        let mut lifecycle = Lifecycle::active();
        lifecycle.delete().unwrap();
        assert_eq!(lifecycle.state, LifecycleState::Deleted);
        assert!(lifecycle.expire_time.is_some());
        assert!(lifecycle.delete().is_err());
        lifecycle.undelete().unwrap();
        assert!(lifecycle.undelete().is_err());
        assert_eq!(lifecycle.expire_time, None);
    }
}
