//! IAM policies (`google.iam.v1.Policy`), shared by projects and service accounts: versions,
//! conditional bindings, base64 etags and the read-modify-write contract of `setIamPolicy`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{parse_update_mask, GcpError};

/// The etag of a policy nobody has written yet: Google answers `ACAB` for it.
const EMPTY_POLICY_ETAG: [u8; 3] = [0x00, 0x20, 0x01];

/// The `updateMask` `setIamPolicy` uses when the request names none.
const DEFAULT_UPDATE_MASK: &[&str] = &["bindings", "etag"];

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Expr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Binding {
    role: String,
    members: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<Expr>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingInput {
    role: Option<String>,
    members: Option<Vec<String>>,
    condition: Option<Expr>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyInput {
    version: Option<i32>,
    bindings: Option<Vec<BindingInput>>,
    audit_configs: Option<Value>,
    etag: Option<String>,
}

/// The body of `setIamPolicy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SetIamPolicyRequest {
    policy: Option<PolicyInput>,
    update_mask: Option<String>,
}

/// The body of Resource Manager's `getIamPolicy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetIamPolicyRequest {
    pub(super) options: Option<GetPolicyOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetPolicyOptions {
    pub(super) requested_policy_version: Option<i32>,
}

/// A validated `setIamPolicy` request, not yet applied.
pub(super) struct PolicyUpdate {
    expected_etag: Option<Vec<u8>>,
    bindings: Option<Vec<Binding>>,
    audit_configs: Option<Option<Value>>,
}

impl PolicyUpdate {
    pub(super) fn parse(request: SetIamPolicyRequest) -> Result<PolicyUpdate, GcpError> {
        let policy = request.policy.ok_or_else(|| GcpError::invalid_argument("policy is required."))?;
        let mask = match request.update_mask.as_deref() {
            Some(mask) if !mask.trim().is_empty() => {
                parse_update_mask(Some(mask), &["bindings", "etag", "auditConfigs"])?
            }
            _ => DEFAULT_UPDATE_MASK.iter().map(|field| (*field).to_owned()).collect(),
        };
        let masks = |field: &str| mask.iter().any(|masked| masked == field);
        let version = policy.version.unwrap_or(0);
        if !matches!(version, 0 | 1 | 3) {
            return Err(GcpError::invalid_argument(format!(
                "Invalid policy version {version}: valid versions are 0, 1 and 3."
            )));
        }
        let expected_etag = match policy.etag.as_deref() {
            Some(etag) if !etag.is_empty() => Some(
                STANDARD
                    .decode(etag)
                    .map_err(|_| GcpError::invalid_argument(format!("Invalid etag \"{etag}\": it is not base64.")))?,
            ),
            _ => None,
        };
        let bindings = if masks("bindings") {
            let bindings = normalise(policy.bindings.unwrap_or_default())?;
            if version < 3 && bindings.iter().any(|binding| binding.condition.is_some()) {
                return Err(GcpError::invalid_argument("Bindings with conditions require the policy version to be 3."));
            }
            Some(bindings)
        } else {
            None
        };
        let audit_configs = masks("auditConfigs").then_some(policy.audit_configs);
        Ok(PolicyUpdate { expected_etag, bindings, audit_configs })
    }

    /// Every member the update would grant a role to.
    pub(super) fn members(&self) -> impl Iterator<Item = &str> {
        self.bindings.iter().flatten().flat_map(|binding| binding.members.iter().map(String::as_str))
    }
}

/// The policy of one resource.
#[derive(Debug, Clone)]
pub(super) struct PolicyStore {
    bindings: Vec<Binding>,
    audit_configs: Option<Value>,
    etag: Vec<u8>,
}

impl Default for PolicyStore {
    fn default() -> Self {
        PolicyStore { bindings: Vec::new(), audit_configs: None, etag: EMPTY_POLICY_ETAG.to_vec() }
    }
}

impl PolicyStore {
    /// `getIamPolicy`: a policy with conditional bindings is only shown to version 3 readers.
    pub(super) fn read(&self, requested_version: Option<i32>) -> Result<Value, GcpError> {
        let requested = requested_version.unwrap_or(0);
        if !matches!(requested, 0 | 1 | 3) {
            return Err(GcpError::invalid_argument(format!(
                "Invalid requested policy version {requested}: valid versions are 0, 1 and 3."
            )));
        }
        if requested < 3 && self.is_conditional() {
            return Err(GcpError::invalid_argument(
                "The policy has conditional role bindings: request policy version 3 to read it.",
            ));
        }
        Ok(self.to_json())
    }

    /// `setIamPolicy`: applies `update` unless its etag is stale, then takes `next_etag`.
    pub(super) fn write(&mut self, update: PolicyUpdate, next_etag: Vec<u8>) -> Result<Value, GcpError> {
        if update.expected_etag.as_ref().is_some_and(|expected| *expected != self.etag) {
            return Err(GcpError::aborted(
                "There were concurrent policy changes. Please retry the whole read-modify-write with exponential \
                 backoff.",
            ));
        }
        if let Some(bindings) = update.bindings {
            self.bindings = bindings;
        }
        if let Some(audit_configs) = update.audit_configs {
            self.audit_configs = audit_configs.filter(|configs| configs.as_array().is_none_or(|list| !list.is_empty()));
        }
        self.etag = next_etag;
        Ok(self.to_json())
    }

    /// Replaces `from` by `to` in every binding, as IAM does to the members of a service account
    /// that is deleted or undeleted; answers whether the policy changed.
    pub(super) fn rename_member(&mut self, from: &str, to: &str, next_etag: impl FnOnce() -> Vec<u8>) -> bool {
        let mut changed = false;
        for binding in &mut self.bindings {
            if let Some(member) = binding.members.iter_mut().find(|member| *member == from) {
                to.clone_into(member);
                binding.members.sort();
                binding.members.dedup();
                changed = true;
            }
        }
        if changed {
            self.etag = next_etag();
        }
        changed
    }

    /// The members that hold any of `roles` without a condition (what a token exchange may rely on;
    /// a conditional binding is not evaluated by the sandbox, so it grants nothing here).
    pub(super) fn unconditional_members(&self, roles: &[&str]) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|binding| binding.condition.is_none() && roles.contains(&binding.role.as_str()))
            .flat_map(|binding| binding.members.iter().cloned())
            .collect()
    }

    fn is_conditional(&self) -> bool {
        self.bindings.iter().any(|binding| binding.condition.is_some())
    }

    fn to_json(&self) -> Value {
        let mut policy = json!({
            "version": if self.is_conditional() { 3 } else { 1 },
            "etag": STANDARD.encode(&self.etag),
        });
        if !self.bindings.is_empty() {
            policy["bindings"] = json!(self.bindings);
        }
        if let Some(audit_configs) = &self.audit_configs {
            policy["auditConfigs"] = audit_configs.clone();
        }
        policy
    }
}

/// Checks every binding and merges those with the same role and condition, members sorted and
/// deduplicated and bindings without members dropped, so the stored policy reads back in one
/// canonical order.
fn normalise(inputs: Vec<BindingInput>) -> Result<Vec<Binding>, GcpError> {
    let mut merged: std::collections::BTreeMap<(String, Option<Expr>), std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for input in inputs {
        let role = input.role.unwrap_or_default();
        validate_role(&role)?;
        let members = input.members.unwrap_or_default();
        for member in &members {
            validate_member(member)?;
        }
        merged.entry((role, input.condition)).or_default().extend(members);
    }
    Ok(merged
        .into_iter()
        .filter(|(_, members)| !members.is_empty())
        .map(|((role, condition), members)| Binding { role, members: members.into_iter().collect(), condition })
        .collect())
}

fn validate_role(role: &str) -> Result<(), GcpError> {
    let predefined = role.strip_prefix("roles/").is_some_and(|name| !name.is_empty());
    let custom = (role.starts_with("projects/") || role.starts_with("organizations/"))
        && role.split_once("/roles/").is_some_and(|(_, name)| !name.is_empty());
    if predefined || custom {
        Ok(())
    } else {
        Err(GcpError::invalid_argument(format!(
            "Role \"{role}\" is not a valid role name: use roles/NAME or a custom role's full name."
        )))
    }
}

/// Checks a member's type prefix and, for workload identity principals, that the project is named
/// by its number, which Google requires there.
fn validate_member(member: &str) -> Result<(), GcpError> {
    const TYPED: &[&str] =
        &["user:", "serviceAccount:", "group:", "domain:", "deleted:", "principal://", "principalSet://"];
    let valid = matches!(member, "allUsers" | "allAuthenticatedUsers")
        || TYPED.iter().any(|prefix| member.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty()));
    if !valid {
        return Err(GcpError::invalid_argument(format!("Invalid member \"{member}\": unknown member type.")));
    }
    let principal = member.strip_prefix("principal://").or_else(|| member.strip_prefix("principalSet://"));
    if let Some(principal) = principal {
        let project = principal.strip_prefix("iam.googleapis.com/projects/").and_then(|rest| rest.split('/').next());
        if let Some(project) = project {
            if project.is_empty() || !project.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(GcpError::invalid_argument(format!(
                    "Invalid principal \"{member}\": workload identity principals name the project by its number."
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(body: Value) -> Result<PolicyUpdate, GcpError> {
        PolicyUpdate::parse(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn an_unwritten_policy_has_googles_empty_etag() {
        assert_eq!(PolicyStore::default().read(Some(3)).unwrap(), json!({ "version": 1, "etag": "ACAB" }));
    }

    #[test]
    fn bindings_are_merged_sorted_and_deduplicated() {
        let mut store = PolicyStore::default();
        let update = update(json!({ "policy": { "bindings": [
            { "role": "roles/viewer", "members": ["user:b@example.com", "user:a@example.com"] },
            { "role": "roles/editor", "members": [] },
            { "role": "roles/viewer", "members": ["user:a@example.com"] },
        ] } }))
        .unwrap();
        let policy = store.write(update, vec![1, 2, 3]).unwrap();
        assert_eq!(
            policy,
            json!({ "version": 1, "etag": "AQID", "bindings": [
                { "role": "roles/viewer", "members": ["user:a@example.com", "user:b@example.com"] }
            ] })
        );
    }

    #[test]
    fn a_stale_etag_is_aborted_and_no_etag_writes_unconditionally() {
        let mut store = PolicyStore::default();
        store.write(update(json!({ "policy": { "etag": "ACAB" } })).unwrap(), vec![9]).unwrap();
        let stale = store.write(update(json!({ "policy": { "etag": "ACAB" } })).unwrap(), vec![10]).unwrap_err();
        assert_eq!((stale.status.as_u16(), stale.reason), (409, "ABORTED"));
        store.write(update(json!({ "policy": {} })).unwrap(), vec![11]).unwrap();
        assert_eq!(store.read(None).unwrap()["etag"], "Cw==");
    }

    #[test]
    fn renaming_a_member_keeps_members_sorted_and_moves_the_etag() {
        let mut store = PolicyStore::default();
        let body = json!({ "policy": { "bindings": [
            { "role": "roles/viewer", "members": ["serviceAccount:sa@p.iam.gserviceaccount.com", "user:a@example.com"] }
        ] } });
        store.write(update(body).unwrap(), vec![1]).unwrap();
        let deleted = "deleted:serviceAccount:sa@p.iam.gserviceaccount.com?uid=1";
        assert!(store.rename_member("serviceAccount:sa@p.iam.gserviceaccount.com", deleted, || vec![2]));
        let policy = store.read(None).unwrap();
        assert_eq!(policy["bindings"][0]["members"], json!([deleted, "user:a@example.com"]));
        assert_eq!(policy["etag"], "Ag==");
        assert!(!store.rename_member("user:nobody@example.com", "x", || vec![3]));
    }

    #[test]
    fn conditions_need_version_three() {
        let conditional = json!({ "role": "roles/viewer", "members": ["user:a@example.com"],
            "condition": { "title": "t", "expression": "true" } });
        assert!(update(json!({ "policy": { "version": 1, "bindings": [conditional] } })).is_err());
        let mut store = PolicyStore::default();
        let update = update(json!({ "policy": { "version": 3, "bindings": [conditional] } })).unwrap();
        store.write(update, vec![1]).unwrap();
        assert!(store.read(Some(1)).is_err());
        assert_eq!(store.read(Some(3)).unwrap()["version"], 3);
    }

    #[test]
    fn members_and_roles_are_checked() {
        for member in ["alice@example.com", "user:", "principalSet://iam.googleapis.com/projects/my-project/x"] {
            let body = json!({ "policy": { "bindings": [{ "role": "roles/viewer", "members": [member] }] } });
            assert_eq!(update(body).err().map(|error| error.reason), Some("INVALID_ARGUMENT"), "{member}");
        }
        let body = json!({ "policy": { "bindings": [{ "role": "viewer", "members": ["allUsers"] }] } });
        assert!(update(body).is_err());
        let principal = "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/*";
        let body = json!({ "policy": { "bindings": [{ "role": "roles/viewer", "members": [principal] }] } });
        assert!(update(body).is_ok());
    }
}
