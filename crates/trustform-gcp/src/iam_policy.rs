//! IAM policies edited the way Google wants them edited: one read-modify-write of the whole
//! policy with its etag (policy version 3, so conditional bindings survive), retried when a
//! concurrent writer wins (409 ABORTED).
//!
//! Every `*_iam_member` and `*_iam_binding` of one policy (a project, a service account) goes
//! through [`Policies`], which coalesces them: edits that arrive while a write is under way, or
//! while its read is in flight, join the next write, so the N members of a spec that the
//! walker starts together cost one `getIamPolicy` and one `setIamPolicy`, not N of each, and
//! never race each other into etag conflicts. Reads made within [`READ_REUSE`] of the last one
//! share it, so a refresh reads each policy once, not once per member.
//!
//! Edits touch only the unconditional binding of their role; members the spec does not own
//! are never removed by a `_member`.

use crate::api::{answer, Api};
use crate::error::{from_google, is_new_member_not_yet_known};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use trustform_provider::{retry, ProviderError};

/// The policy version that keeps conditional role bindings intact through a write.
const POLICY_VERSION: i32 = 3;
/// How long one read of a policy answers further reads: long enough for one refresh to read
/// each policy once, short enough that a later command sees changes made meanwhile. Writes
/// always read afresh.
pub(crate) const READ_REUSE: Duration = Duration::from_secs(5);

/// Whose policy it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PolicyTarget {
    /// A project id: Cloud Resource Manager `projects.getIamPolicy`/`setIamPolicy`.
    Project(String),
    /// A service account's resource name: IAM `serviceAccounts.getIamPolicy`/`setIamPolicy`.
    ServiceAccount(String),
}

/// An IAM policy as both APIs serialise it; fields we do not edit travel through untouched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct IamPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub bindings: Vec<IamBinding>,
    #[serde(default, rename = "auditConfigs", skip_serializing_if = "Option::is_none")]
    pub audit_configs: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct IamBinding {
    pub role: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
}

impl IamPolicy {
    /// The members of `role`'s unconditional binding, sorted.
    pub(crate) fn members(&self, role: &str) -> Vec<String> {
        let mut members: Vec<String> = self
            .bindings
            .iter()
            .filter(|binding| binding.role == role && binding.condition.is_none())
            .flat_map(|binding| binding.members.iter().cloned())
            .collect();
        members.sort();
        members.dedup();
        members
    }

    pub(crate) fn has_member(&self, role: &str, member: &str) -> bool {
        self.bindings.iter().any(|binding| {
            binding.role == role && binding.condition.is_none() && binding.members.iter().any(|m| m == member)
        })
    }

    /// Applies `edit`; returns whether anything changed.
    fn apply(&mut self, edit: &Edit) -> bool {
        let before = self.bindings.clone();
        match edit {
            Edit::AddMember { role, member } => {
                if !self.has_member(role, member) {
                    self.unconditional(role).members.push(member.clone());
                }
            }
            Edit::RemoveMember { role, member } => {
                for binding in self.bindings.iter_mut().filter(|b| &b.role == role && b.condition.is_none()) {
                    binding.members.retain(|m| m != member);
                }
            }
            Edit::SetMembers { role, members } => {
                self.bindings.retain(|b| !(&b.role == role && b.condition.is_none()));
                if !members.is_empty() {
                    self.unconditional(role).members = members.clone();
                }
            }
        }
        self.bindings.retain(|binding| !binding.members.is_empty());
        self.bindings != before
    }

    fn unconditional(&mut self, role: &str) -> &mut IamBinding {
        let index = match self.bindings.iter().position(|b| b.role == role && b.condition.is_none()) {
            Some(index) => index,
            None => {
                self.bindings.push(IamBinding { role: role.to_owned(), ..IamBinding::default() });
                self.bindings.len() - 1
            }
        };
        &mut self.bindings[index]
    }
}

/// One change to a policy, as a resource asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Edit {
    AddMember {
        role: String,
        member: String,
    },
    RemoveMember {
        role: String,
        member: String,
    },
    /// The whole unconditional binding of a role (`_binding` resources); empty removes it.
    SetMembers {
        role: String,
        members: Vec<String>,
    },
}

struct Pending {
    edit: Edit,
    done: oneshot::Sender<Result<IamPolicy, ProviderError>>,
}

/// The queue and read cache of one policy.
#[derive(Default)]
struct PolicyQueue {
    pending: Mutex<Vec<Pending>>,
    /// Held by the one write in flight; waiters take the next batch when it is released.
    writer: tokio::sync::Mutex<()>,
    last_read: tokio::sync::Mutex<Option<(Instant, IamPolicy)>>,
}

/// The IAM policies of one provider instance, each with its own queue.
#[derive(Default)]
pub(crate) struct Policies {
    queues: Mutex<BTreeMap<PolicyTarget, Arc<PolicyQueue>>>,
}

impl Policies {
    fn queue(&self, target: &PolicyTarget) -> Arc<PolicyQueue> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues.entry(target.clone()).or_default().clone()
    }

    /// The policy, read at most once per [`READ_REUSE`] however many members ask.
    pub(crate) async fn read(&self, api: &Api, target: &PolicyTarget) -> Result<IamPolicy, ProviderError> {
        let queue = self.queue(target);
        let mut last_read = queue.last_read.lock().await;
        if let Some((at, policy)) = last_read.as_ref() {
            if at.elapsed() < READ_REUSE {
                return Ok(policy.clone());
            }
        }
        let policy = api.call(|| get_policy(api, target)).await?;
        *last_read = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// Applies `edit` in the next write of the policy and returns the policy that write left.
    pub(crate) async fn edit(&self, api: &Api, target: &PolicyTarget, edit: Edit) -> Result<IamPolicy, ProviderError> {
        let queue = self.queue(target);
        let (done, result) = oneshot::channel();
        queue.pending.lock().unwrap_or_else(PoisonError::into_inner).push(Pending { edit, done });
        {
            let _writer = queue.writer.lock().await;
            // Empty when an earlier writer already took this edit along.
            let batch = take(&queue.pending);
            if !batch.is_empty() {
                let (policy, waiters) = write(api, &queue, target, batch).await;
                *queue.last_read.lock().await = policy.as_ref().ok().map(|p| (Instant::now(), p.clone()));
                for waiter in waiters {
                    let _ = waiter.send(policy.clone());
                }
            }
        }
        result.await.map_err(|_| ProviderError::transient("the IAM policy write was abandoned"))?
    }
}

fn take(pending: &Mutex<Vec<Pending>>) -> Vec<Pending> {
    std::mem::take(&mut *pending.lock().unwrap_or_else(PoisonError::into_inner))
}

type Waiters = Vec<oneshot::Sender<Result<IamPolicy, ProviderError>>>;

fn join(batch: Vec<Pending>, edits: &mut Vec<Edit>, waiters: &mut Waiters) {
    for pending in batch {
        edits.push(pending.edit);
        waiters.push(pending.done);
    }
}

/// One read-modify-write for `batch` and every edit that joins while its read is in flight,
/// retried from the read when the etag no longer matches. Returns the outcome and everyone
/// waiting for it.
async fn write(
    api: &Api,
    queue: &PolicyQueue,
    target: &PolicyTarget,
    batch: Vec<Pending>,
) -> (Result<IamPolicy, ProviderError>, Waiters) {
    let (mut edits, mut waiters) = (Vec::new(), Vec::new());
    join(batch, &mut edits, &mut waiters);
    let joined = Mutex::new((edits, waiters));
    // A conflict (409 ABORTED: the etag moved) is retryable: the loop reads the policy again. So
    // is a member IAM does not know yet: a service account created a moment ago is refused as
    // "does not exist" for a few seconds.
    let retryable = |error: &ProviderError| error.is_retryable() || is_new_member_not_yet_known(error);
    let result = retry(&api.policy, retryable, || async {
        let mut policy = api.call(|| get_policy(api, target)).await?;
        // Edits that arrived while the read was in flight ride along.
        tokio::task::yield_now().await;
        let edits = {
            let mut joined = joined.lock().unwrap_or_else(PoisonError::into_inner);
            let (edits, waiters) = &mut *joined;
            join(take(&queue.pending), edits, waiters);
            edits.clone()
        };
        let mut changed = false;
        for edit in &edits {
            changed |= policy.apply(edit);
        }
        if !changed {
            return Ok(policy);
        }
        policy.version = Some(POLICY_VERSION);
        set_policy(api, target, &policy).await
    })
    .await;
    let (_, waiters) = joined.into_inner().unwrap_or_else(PoisonError::into_inner);
    (result, waiters)
}

/// Between the generated clients' policy types and ours, through their shared JSON form (the
/// clients spell absent fields as null).
fn convert<T: Serialize, U: serde::de::DeserializeOwned>(value: &T) -> Result<U, ProviderError> {
    let mut json = serde_json::to_value(value).map_err(|e| ProviderError::transient(format!("IAM policy: {e}")))?;
    google_iam1::common::remove_json_null_values(&mut json);
    serde_json::from_value(json).map_err(|e| ProviderError::transient(format!("IAM policy: {e}")))
}

async fn get_policy(api: &Api, target: &PolicyTarget) -> Result<IamPolicy, ProviderError> {
    match target {
        PolicyTarget::Project(project) => {
            use google_cloudresourcemanager3::api::{GetIamPolicyRequest, GetPolicyOptions};
            let request = GetIamPolicyRequest {
                options: Some(GetPolicyOptions { requested_policy_version: Some(POLICY_VERSION) }),
            };
            let resource = format!("projects/{project}");
            let method = "cloudresourcemanager.projects.getIamPolicy";
            let policy = answer(
                method,
                api.clients.resource_manager.projects().get_iam_policy(request, &resource).doit().await,
            )?;
            convert(&policy)
        }
        PolicyTarget::ServiceAccount(name) => {
            let method = "iam.projects.serviceAccounts.getIamPolicy";
            let call = api.clients.iam.projects().service_accounts_get_iam_policy(name);
            let policy = answer(method, call.options_requested_policy_version(POLICY_VERSION).doit().await)?;
            convert(&policy)
        }
    }
}

async fn set_policy(api: &Api, target: &PolicyTarget, policy: &IamPolicy) -> Result<IamPolicy, ProviderError> {
    // auditConfigs are left out of the write (and so out of its default update mask,
    // `bindings,etag`): a member edit never touches audit logging.
    let written = IamPolicy { audit_configs: None, ..policy.clone() };
    match target {
        PolicyTarget::Project(project) => {
            use google_cloudresourcemanager3::api::SetIamPolicyRequest;
            let request = SetIamPolicyRequest { policy: Some(convert(&written)?), update_mask: None };
            let resource = format!("projects/{project}");
            let result = api.clients.resource_manager.projects().set_iam_policy(request, &resource).doit().await;
            let policy = result
                .map(|(_, policy)| policy)
                .map_err(|e| from_google("cloudresourcemanager.projects.setIamPolicy", e))?;
            convert(&policy)
        }
        PolicyTarget::ServiceAccount(name) => {
            use google_iam1::api::SetIamPolicyRequest;
            let request = SetIamPolicyRequest { policy: Some(convert(&written)?), update_mask: None };
            let result = api.clients.iam.projects().service_accounts_set_iam_policy(request, name).doit().await;
            let policy = result
                .map(|(_, policy)| policy)
                .map_err(|e| from_google("iam.projects.serviceAccounts.setIamPolicy", e))?;
            convert(&policy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bindings: &[(&str, &[&str])]) -> IamPolicy {
        IamPolicy {
            bindings: bindings
                .iter()
                .map(|(role, members)| IamBinding {
                    role: role.to_string(),
                    members: members.iter().map(|m| m.to_string()).collect(),
                    condition: None,
                })
                .collect(),
            ..IamPolicy::default()
        }
    }

    fn add(role: &str, member: &str) -> Edit {
        Edit::AddMember { role: role.to_owned(), member: member.to_owned() }
    }

    #[test]
    fn adding_keeps_members_the_spec_does_not_own() {
        let mut p = policy(&[("roles/viewer", &["user:a@x.com"])]);
        assert!(p.apply(&add("roles/viewer", "serviceAccount:sa@p.iam.gserviceaccount.com")));
        assert_eq!(p.members("roles/viewer"), ["serviceAccount:sa@p.iam.gserviceaccount.com", "user:a@x.com"]);
        assert!(!p.apply(&add("roles/viewer", "user:a@x.com")), "adding a present member changes nothing");
    }

    #[test]
    fn removing_the_last_member_drops_the_binding() {
        let mut p = policy(&[("roles/viewer", &["user:a@x.com"]), ("roles/owner", &["user:o@x.com"])]);
        assert!(p.apply(&Edit::RemoveMember { role: "roles/viewer".into(), member: "user:a@x.com".into() }));
        assert_eq!(p, policy(&[("roles/owner", &["user:o@x.com"])]));
    }

    #[test]
    fn conditional_bindings_are_never_touched() {
        let conditional = IamBinding {
            role: "roles/viewer".into(),
            members: vec!["user:c@x.com".into()],
            condition: Some(serde_json::json!({"title": "t", "expression": "true"})),
        };
        let mut p = IamPolicy { bindings: vec![conditional.clone()], ..IamPolicy::default() };
        assert!(!p.has_member("roles/viewer", "user:c@x.com"));
        p.apply(&Edit::SetMembers { role: "roles/viewer".into(), members: vec!["user:b@x.com".into()] });
        assert!(p.bindings.contains(&conditional));
        assert_eq!(p.members("roles/viewer"), ["user:b@x.com"]);
    }

    #[test]
    fn policies_round_trip_through_the_api_json() {
        let json = serde_json::json!({
            "version": 3, "etag": "BwXhqDa5Mzo=",
            "bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}],
            "auditConfigs": [{"service": "allServices"}]
        });
        let policy: IamPolicy = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(policy.etag.as_deref(), Some("BwXhqDa5Mzo="));
        assert_eq!(serde_json::to_value(&policy).unwrap(), json);
        let crm: google_cloudresourcemanager3::api::Policy = convert(&policy).unwrap();
        let back: IamPolicy = convert(&crm).unwrap();
        assert_eq!(back, policy);
    }
}
