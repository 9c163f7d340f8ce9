//! IAM v1 `projects.serviceAccounts`: create, get, patch, delete, undelete, and the service
//! account's own IAM policy.
//!
//! IAM is eventually consistent (<https://cloud.google.com/iam/docs/overview#consistency>). A new
//! account is hidden from `get` until
//! [`SandboxConfig::gcp_service_account_visibility_delay`](crate::SandboxConfig::gcp_service_account_visibility_delay)
//! has passed: for the first half of that window `get` answers `403 PERMISSION_DENIED`, IAM's
//! answer for an account it cannot see (terraform-provider-google#15042, magic-modules#11811), then
//! `404 NOT_FOUND`. Naming it as a policy member is `400 INVALID_ARGUMENT` "Service account X does
//! not exist." until the longer of that window and
//! [`SandboxConfig::gcp_service_account_member_delay`](crate::SandboxConfig::gcp_service_account_member_delay)
//! has passed, even once `get` shows it (magic-modules#4441, terraform-provider-google#8280). A deleted account keeps its unique id and can be undeleted by it;
//! while it is deleted, every policy naming it shows `deleted:serviceAccount:EMAIL?uid=ID`.

use time::OffsetDateTime;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::policy::{PolicyStore, PolicyUpdate, SetIamPolicyRequest};
use super::{check_length, is_false, parse_update_mask, Answer, GcpError, GcpState};
use crate::ids::random_id;

/// Every service account answers this etag; the field is deprecated.
const ACCOUNT_ETAG: &str = "MDEwMjE5MjA=";

const EMAIL_DOMAIN: &str = ".iam.gserviceaccount.com";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceAccount {
    name: String,
    project_id: String,
    unique_id: String,
    email: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    display_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    etag: &'static str,
    oauth2_client_id: String,
    #[serde(skip_serializing_if = "is_false")]
    disabled: bool,
}

pub(super) struct StoredServiceAccount {
    account: ServiceAccount,
    deleted: bool,
    created_at: OffsetDateTime,
    /// `get` pretends the account does not exist before this instant.
    visible_at: OffsetDateTime,
    /// Policies refuse the account as a member before this instant.
    member_at: OffsetDateTime,
    /// Answers given so far in each phase (hidden as 403, hidden as 404, refused as a member),
    /// for [`SandboxConfig::gcp_windows_answer_at_least_once`](crate::SandboxConfig::gcp_windows_answer_at_least_once).
    answered: [std::cell::Cell<u32>; 3],
    policy: PolicyStore,
}

impl StoredServiceAccount {
    /// The project id the account belongs to.
    pub(super) fn project_id(&self) -> &str {
        &self.account.project_id
    }

    pub(super) fn is_deleted(&self) -> bool {
        self.deleted
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountFields {
    display_name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateRequest {
    account_id: Option<String>,
    service_account: Option<AccountFields>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PatchRequest {
    service_account: Option<AccountFields>,
    update_mask: Option<String>,
}

/// `[a-z]([-a-z0-9]*[a-z0-9])`, 6 to 30 characters, as IAM requires of an account id.
fn validate_account_id(id: &str) -> Result<(), GcpError> {
    let bytes = id.as_bytes();
    let valid = (6..=30).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
        && bytes.last().is_some_and(|byte| *byte != b'-');
    if valid {
        Ok(())
    } else {
        Err(GcpError::invalid_argument(format!(
            "Invalid accountId \"{id}\": it must be 6 to 30 characters of [a-z0-9-], start with a letter and not \
             end with a hyphen."
        )))
    }
}

fn unknown_account() -> GcpError {
    GcpError::not_found("Unknown service account")
}

fn denied(permission: &str) -> GcpError {
    GcpError::permission_denied(format!("Permission '{permission}' denied on resource (or it may not exist)."))
}

/// The policy member naming `account`, and the one IAM turns it into while the account is
/// deleted: `deleted:serviceAccount:EMAIL?uid=UNIQUE_ID`.
fn member_names(account: &ServiceAccount) -> (String, String) {
    let live = format!("serviceAccount:{}", account.email);
    let deleted = format!("deleted:{live}?uid={}", account.unique_id);
    (live, deleted)
}

fn check_fields(fields: &AccountFields) -> Result<(), GcpError> {
    check_length(fields.display_name.as_deref(), 100, "displayName")?;
    check_length(fields.description.as_deref(), 256, "description")
}

/// What `generateAccessToken` reads of a service account.
pub(super) struct AccountGrants {
    pub(super) email: String,
    pub(super) project_id: String,
    pub(super) disabled: bool,
    pub(super) policy: PolicyStore,
}

impl GcpState {
    /// The project id of a known project, by id or number, or `PERMISSION_DENIED`.
    fn account_project(&self, project: &str, permission: &str) -> Result<String, GcpError> {
        self.project(project).map(|project| project.id.clone()).ok_or_else(|| denied(permission))
    }

    /// The key of the live, visible account `projects/{project}/serviceAccounts/{account}`, the
    /// account given by email or unique id and the project possibly `-`.
    fn find_account(&self, project: &str, account: &str, permission: &str) -> Result<String, GcpError> {
        let project_id = if project == "-" { None } else { Some(self.account_project(project, permission)?) };
        let now = crate::ids::now();
        let found = if account.contains('@') {
            self.service_accounts.iter().find(|(_, stored)| !stored.deleted && stored.account.email == account)
        } else {
            self.service_accounts.get_key_value(account).filter(|(_, stored)| !stored.deleted)
        };
        match found {
            Some((key, stored)) if project_id.as_ref().is_none_or(|id| *id == stored.account.project_id) => {
                let windowed = stored.visible_at > stored.created_at;
                let unanswered =
                    |phase: usize| self.windows_answer_at_least_once && windowed && stored.answered[phase].get() == 0;
                let answer = |phase: usize, error: GcpError| {
                    stored.answered[phase].set(stored.answered[phase].get() + 1);
                    Err(error)
                };
                if now < stored.created_at + (stored.visible_at - stored.created_at) / 2 || unanswered(0) {
                    answer(0, denied(permission))
                } else if now < stored.visible_at || unanswered(1) {
                    answer(1, unknown_account())
                } else {
                    Ok(key.clone())
                }
            }
            // With the `-` wildcard an email whose project IAM cannot tell is answered as a
            // permission problem, not as a missing account.
            None if project_id.is_none() && account.contains('@') && self.project_of_email(account).is_none() => {
                Err(denied(permission))
            }
            _ => Err(unknown_account()),
        }
    }

    /// The preloaded project an `ACCOUNT@PROJECT.iam.gserviceaccount.com` email belongs to.
    fn project_of_email(&self, email: &str) -> Option<String> {
        let (_, domain) = email.rsplit_once('@')?;
        let project = domain.strip_suffix(EMAIL_DOMAIN)?;
        self.projects.iter().find(|known| known.id == project).map(|known| known.id.clone())
    }

    /// Whether `email` names a service account of a preloaded project that does not exist or is
    /// not visible yet; other emails are not IAM's to judge.
    pub(super) fn is_missing_service_account(&self, email: &str) -> bool {
        if self.project_of_email(email).is_none() {
            return false;
        }
        let now = crate::ids::now();
        let live = self.service_accounts.values().find(|stored| !stored.deleted && stored.account.email == email);
        let Some(stored) = live else { return true };
        let unanswered =
            self.windows_answer_at_least_once && stored.member_at > stored.created_at && stored.answered[2].get() == 0;
        if now < stored.member_at || unanswered {
            stored.answered[2].set(stored.answered[2].get() + 1);
            return true;
        }
        false
    }

    pub(super) fn create_service_account(&mut self, project: &str, request: CreateRequest) -> Answer {
        let project_id = self.account_project(project, "iam.serviceAccounts.create")?;
        let account_id = request.account_id.unwrap_or_default();
        validate_account_id(&account_id)?;
        let fields = request.service_account.unwrap_or_default();
        check_fields(&fields)?;
        let email = format!("{account_id}@{project_id}{EMAIL_DOMAIN}");
        if self.service_accounts.values().any(|stored| !stored.deleted && stored.account.email == email) {
            return Err(GcpError::already_exists(format!(
                "Service account {account_id} already exists within project projects/{project_id}."
            )));
        }
        let unique_id = format!("1{}", random_id(&mut self.rng, 20, "0123456789"));
        let account = ServiceAccount {
            name: format!("projects/{project_id}/serviceAccounts/{email}"),
            project_id,
            unique_id: unique_id.clone(),
            email,
            display_name: fields.display_name.unwrap_or_default(),
            description: fields.description.unwrap_or_default(),
            etag: ACCOUNT_ETAG,
            oauth2_client_id: unique_id.clone(),
            disabled: false,
        };
        let now = crate::ids::now();
        let visible_at = now + self.service_account_visibility_delay;
        let stored = StoredServiceAccount {
            account: account.clone(),
            deleted: false,
            created_at: now,
            visible_at,
            member_at: visible_at.max(now + self.service_account_member_delay),
            answered: Default::default(),
            policy: PolicyStore::default(),
        };
        self.service_accounts.insert(unique_id, stored);
        Ok(json!(account))
    }

    /// The live account with this email, with its policy.
    pub(super) fn account_grants(&self, email: &str) -> Option<AccountGrants> {
        self.service_accounts.values().find(|stored| !stored.deleted && stored.account.email == email).map(|stored| {
            AccountGrants {
                email: stored.account.email.clone(),
                project_id: stored.account.project_id.clone(),
                disabled: stored.account.disabled,
                policy: stored.policy.clone(),
            }
        })
    }

    pub(super) fn get_service_account(&self, project: &str, account: &str) -> Answer {
        let key = self.find_account(project, account, "iam.serviceAccounts.get")?;
        Ok(json!(self.service_accounts[&key].account))
    }

    pub(super) fn patch_service_account(&mut self, project: &str, account: &str, request: PatchRequest) -> Answer {
        let key = self.find_account(project, account, "iam.serviceAccounts.update")?;
        let mask = parse_update_mask(request.update_mask.as_deref(), &["displayName", "description"])?;
        let fields = request.service_account.unwrap_or_default();
        check_fields(&fields)?;
        let stored = self.service_accounts.get_mut(&key).ok_or_else(unknown_account)?;
        for field in mask {
            match field.as_str() {
                "displayName" => stored.account.display_name = fields.display_name.clone().unwrap_or_default(),
                _ => stored.account.description = fields.description.clone().unwrap_or_default(),
            }
        }
        Ok(json!(stored.account))
    }

    pub(super) fn delete_service_account(&mut self, project: &str, account: &str) -> Answer {
        let key = self.find_account(project, account, "iam.serviceAccounts.delete")?;
        if let Some(stored) = self.service_accounts.get_mut(&key) {
            stored.deleted = true;
            let (live, deleted) = member_names(&stored.account);
            self.rename_member_everywhere(&live, &deleted);
        }
        Ok(json!({}))
    }

    /// Renames a member in every policy: project policies and service account policies alike.
    fn rename_member_everywhere(&mut self, from: &str, to: &str) {
        let policies = self
            .projects
            .iter_mut()
            .map(|project| &mut project.policy)
            .chain(self.service_accounts.values_mut().map(|stored| &mut stored.policy));
        let writes = &mut self.policy_writes;
        for policy in policies {
            policy.rename_member(from, to, || {
                *writes += 1;
                super::policy_etag(*writes)
            });
        }
    }

    /// `projects/{project}/serviceAccounts/{uniqueId}:undelete`; only the unique id names a
    /// deleted account.
    pub(super) fn undelete_service_account(&mut self, project: &str, account: &str) -> Answer {
        let project_id =
            if project == "-" { None } else { Some(self.account_project(project, "iam.serviceAccounts.undelete")?) };
        let stored = self
            .service_accounts
            .get(account)
            .filter(|stored| project_id.as_ref().is_none_or(|id| *id == stored.account.project_id))
            .ok_or_else(unknown_account)?;
        if !stored.deleted {
            return Err(GcpError::failed_precondition(format!(
                "Service account {} is not deleted.",
                stored.account.email
            )));
        }
        let email = stored.account.email.clone();
        if self.service_accounts.values().any(|other| !other.deleted && other.account.email == email) {
            return Err(GcpError::failed_precondition(format!(
                "Cannot undelete service account {email}: a new account with that email exists."
            )));
        }
        let stored = self.service_accounts.get_mut(account).ok_or_else(unknown_account)?;
        stored.deleted = false;
        let restored = stored.account.clone();
        let (live, deleted) = member_names(&restored);
        self.rename_member_everywhere(&deleted, &live);
        Ok(json!({ "restoredAccount": restored }))
    }

    pub(super) fn get_service_account_policy(
        &self,
        project: &str,
        account: &str,
        requested_version: Option<i32>,
    ) -> Answer {
        let key = self.find_account(project, account, "iam.serviceAccounts.getIamPolicy")?;
        self.service_accounts[&key].policy.read(requested_version)
    }

    pub(super) fn set_service_account_policy(
        &mut self,
        project: &str,
        account: &str,
        request: SetIamPolicyRequest,
    ) -> Answer {
        let key = self.find_account(project, account, "iam.serviceAccounts.setIamPolicy")?;
        let update = PolicyUpdate::parse(request)?;
        self.check_members(&update)?;
        let etag = self.next_policy_etag();
        let stored = self.service_accounts.get_mut(&key).ok_or_else(unknown_account)?;
        stored.policy.write(update, etag)
    }

    /// Refuses an update granting a role to a service account IAM does not know (yet).
    pub(super) fn check_members(&self, update: &PolicyUpdate) -> Result<(), GcpError> {
        let missing = update
            .members()
            .filter_map(|member| member.strip_prefix("serviceAccount:"))
            .find(|email| self.is_missing_service_account(email));
        match missing {
            Some(email) => Err(GcpError::invalid_argument(format!("Service account {email} does not exist."))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_follow_iams_rules() {
        assert!(validate_account_id("litellm-wif-sa").is_ok());
        for bad in ["short", "1starts-with-digit", "ends-with-hyphen-", "Upper-case-id", &"a".repeat(31)] {
            assert!(validate_account_id(bad).is_err(), "{bad}");
        }
    }
}
