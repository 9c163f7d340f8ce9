//! `google_project_iam_member`, `google_service_account_iam_member` and
//! `google_project_iam_binding`: edits of one IAM policy, coalesced per policy by
//! [`Policies`](crate::iam_policy::Policies) into one read-modify-write.
//!
//! A `_member` owns one member of one role and never removes anyone else; a `_binding` owns
//! the whole unconditional binding of its role, so refresh reads every member of it and the
//! plan shows the members it would remove.

use crate::api::{found, gone, required, strings, text, with, Api};
use crate::iam_policy::{Edit, PolicyTarget};
use crate::schema;
use async_trait::async_trait;
use trustform_lang::{normalize_set, Value};
use trustform_provider::{ProviderError, Review, ValidationIssue};
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

/// Which policy a resource type edits, and the attribute naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ProjectMember,
    ServiceAccountMember,
    ProjectBinding,
}

impl Kind {
    fn target_attribute(self) -> &'static str {
        match self {
            Kind::ProjectMember | Kind::ProjectBinding => "project",
            Kind::ServiceAccountMember => "service_account_id",
        }
    }

    fn target(self, api: &Api, value: &Value) -> Result<PolicyTarget, ProviderError> {
        Ok(match self {
            Kind::ProjectMember | Kind::ProjectBinding => {
                PolicyTarget::Project(api.clients.project_of(value)?.to_owned())
            }
            Kind::ServiceAccountMember => {
                PolicyTarget::ServiceAccount(service_account_name(required(value, "service_account_id")?))
            }
        })
    }
}

/// A service account named by its resource name or by its email, as Terraform accepts both.
fn service_account_name(id: &str) -> String {
    if id.starts_with("projects/") {
        id.to_owned()
    } else {
        format!("projects/-/serviceAccounts/{id}")
    }
}

/// `TARGET/ROLE/MEMBER` (`TARGET/ROLE` for a binding), as Terraform's ids read.
fn id_of(kind: Kind, target: &str, role: &str, member: Option<&str>) -> String {
    match (kind, member) {
        (Kind::ProjectBinding, _) | (_, None) => format!("{target}/{role}"),
        (_, Some(member)) => format!("{target}/{role}/{member}"),
    }
}

/// Fills the project and id when they follow from the arguments.
pub(crate) fn plan(kind: Kind, planned: Value, default_project: Option<&str>) -> Value {
    let target = match kind {
        Kind::ProjectMember | Kind::ProjectBinding => super::planned_project(&planned, default_project),
        Kind::ServiceAccountMember => text(&planned, "service_account_id"),
    };
    let (Some(target), Some(role)) = (target.map(str::to_owned), text(&planned, "role").map(str::to_owned)) else {
        return planned;
    };
    let member = text(&planned, "member").map(str::to_owned);
    if kind != Kind::ProjectBinding && member.is_none() {
        return planned;
    }
    let id = id_of(kind, &target, &role, member.as_deref());
    let planned = with(&planned, [("id", Value::string(id))]);
    match kind {
        Kind::ServiceAccountMember => planned,
        _ => with(&planned, [("project", Value::string(target))]),
    }
}

/// Creates a member or binding, or (bindings only) changes its members in place: one edit of
/// the policy either way.
pub(crate) async fn write(api: &Api, kind: Kind, planned: &Value) -> Result<Value, ProviderError> {
    let target = kind.target(api, planned)?;
    let role = required(planned, "role")?.to_owned();
    let edit = match kind {
        Kind::ProjectBinding => Edit::SetMembers { role: role.clone(), members: sorted(strings(planned, "members")) },
        _ => Edit::AddMember { role: role.clone(), member: required(planned, "member")?.to_owned() },
    };
    let policy = api.policies.edit(api, &target, edit).await?;
    let target_value = target_text(kind, api, planned)?;
    let member = text(planned, "member");
    if let Some(member) = member.filter(|_| kind != Kind::ProjectBinding) {
        if !policy.has_member(&role, member) {
            return Err(ProviderError::transient(format!(
                "{member} is not in the {role} binding after the policy write; another writer may have removed it"
            )));
        }
    }
    let id = id_of(kind, &target_value, &role, member);
    let state = with(planned, [("id", Value::string(id)), (kind.target_attribute(), Value::string(&target_value))]);
    Ok(match kind {
        Kind::ProjectBinding => with(&state, [("members", members_value(policy.members(&role)))]),
        _ => state,
    })
}

pub(crate) async fn read(api: &Api, kind: Kind, state: &Value) -> Result<Option<Value>, ProviderError> {
    let target = kind.target(api, state)?;
    let role = required(state, "role")?;
    // The policy's owner is gone (a deleted service account): so is every member of it.
    let Some(policy) = found(api.policies.read(api, &target).await)? else {
        return Ok(None);
    };
    Ok(match kind {
        Kind::ProjectBinding => {
            let members = policy.members(role);
            (!members.is_empty()).then(|| with(state, [("members", members_value(members))]))
        }
        _ => policy.has_member(role, required(state, "member")?).then(|| state.clone()),
    })
}

/// What a binding's create or update takes away. A create reads the role's members now (the
/// binding exists in the policy whenever anyone holds the role), since `setIamPolicy` with the
/// binding replaces them all; an update compares with the refreshed members. Either way, each
/// member that is not in `members` is named in a warning.
pub(crate) async fn review_binding(api: &Api, prior: Option<&Value>, planned: &Value) -> Result<Review, ProviderError> {
    let Some(role) = text(planned, "role") else {
        return Ok(Review::default());
    };
    let unknown = |name: &str| planned.get(name).is_some_and(Value::contains_unknown);
    if unknown("members") || unknown("project") {
        return Ok(Review::default());
    }
    let (live, existing) = match prior {
        Some(prior) => (strings(prior, "members"), None),
        None => {
            let target = Kind::ProjectBinding.target(api, planned)?;
            let Some(policy) = found(api.policies.read(api, &target).await)? else {
                return Ok(Review::default());
            };
            let members = policy.members(role);
            let existing = (!members.is_empty()).then(|| with(planned, [("members", members_value(members.clone()))]));
            (members, existing)
        }
    };
    let kept = strings(planned, "members");
    let removed: Vec<String> = sorted(live.into_iter().filter(|member| !kept.contains(member)).collect());
    let mut issues = Vec::new();
    if !removed.is_empty() {
        let project = text(planned, "project").unwrap_or("the project");
        let verb = if prior.is_some() { "updating" } else { "creating" };
        issues.push(ValidationIssue {
            attribute: "members".into(),
            summary: "Authoritative binding removes members".into(),
            detail: format!(
                "google_project_iam_binding owns every member of {role} in {project}, so {verb} it removes {}, who {} not in its members. Add them to members to keep them, or grant roles with google_project_iam_member, which adds one member and removes no one.",
                removed.join(", "),
                if removed.len() == 1 { "is" } else { "are" },
            ),
            is_error: false,
        });
    }
    Ok(Review { existing, issues })
}

pub(crate) async fn delete(api: &Api, kind: Kind, state: &Value) -> Result<(), ProviderError> {
    let target = kind.target(api, state)?;
    let role = required(state, "role")?.to_owned();
    let edit = match kind {
        Kind::ProjectBinding => Edit::SetMembers { role, members: Vec::new() },
        _ => Edit::RemoveMember { role, member: required(state, "member")?.to_owned() },
    };
    gone(api.policies.edit(api, &target, edit).await.map(drop))
}

/// Reads an existing member or binding from Terraform's import id: the parts separated by
/// spaces (`PROJECT ROLE MEMBER`, `PROJECT ROLE` for a binding).
pub(crate) async fn import(api: &Api, kind: Kind, id: &str) -> Result<Value, ProviderError> {
    let parts: Vec<&str> = id.split(' ').filter(|part| !part.is_empty()).collect();
    let expected = if kind == Kind::ProjectBinding { 2 } else { 3 };
    if parts.len() != expected {
        let format = match kind {
            Kind::ProjectMember => "`PROJECT ROLE MEMBER`",
            Kind::ServiceAccountMember => "`projects/PROJECT/serviceAccounts/EMAIL ROLE MEMBER`",
            Kind::ProjectBinding => "`PROJECT ROLE`",
        };
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a valid import id; expected {format}, separated by spaces"
        )));
    }
    let mut state =
        Value::object([(kind.target_attribute(), Value::string(parts[0])), ("role", Value::string(parts[1]))]);
    if kind == Kind::ProjectBinding {
        state = with(&state, [("members", Value::List(Vec::new()))]);
    } else {
        state = with(&state, [("member", Value::string(parts[2]))]);
    }
    state = with(&state, [("id", Value::string(id_of(kind, parts[0], parts[1], parts.get(2).copied())))]);
    read(api, kind, &state).await?.ok_or_else(|| ProviderError::not_found(format!("{id:?} is not in the policy")))
}

fn target_text(kind: Kind, api: &Api, value: &Value) -> Result<String, ProviderError> {
    Ok(match kind {
        Kind::ServiceAccountMember => required(value, "service_account_id")?.to_owned(),
        _ => api.clients.project_of(value)?.to_owned(),
    })
}

fn sorted(mut members: Vec<String>) -> Vec<String> {
    members.sort();
    members.dedup();
    members
}

/// Members as the set value the schema stores.
fn members_value(members: Vec<String>) -> Value {
    Value::List(normalize_set(members.into_iter().map(Value::from).collect()))
}

/// `google_project_iam_member`, `google_project_iam_binding` and
/// `google_service_account_iam_member`, as the provider serves them: one per [`Kind`].
pub(crate) struct Member(pub(crate) Kind);

#[async_trait]
impl ResourceType<Api> for Member {
    fn schema(&self) -> ResourceSchema {
        match self.0 {
            Kind::ProjectMember => schema::project_iam_member(),
            Kind::ProjectBinding => schema::project_iam_binding(),
            Kind::ServiceAccountMember => schema::service_account_iam_member(),
        }
    }

    fn plan(&self, session: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(self.0, planned, super::default_project(session)))
    }

    /// A binding owns every member of its role: a create overwrites the members there now,
    /// and any change that drops a member is warned about.
    async fn review(
        &self,
        session: &Session<Api>,
        prior: Option<&Value>,
        planned: &Value,
    ) -> Result<Review, ProviderError> {
        if self.0 != Kind::ProjectBinding {
            return Ok(Review::default());
        }
        review_binding(session.clients()?, prior, planned).await
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, self.0, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        _: &dyn trustform_provider::Checkpoint,
    ) -> Result<Value, ProviderError> {
        write(session.clients()?, self.0, planned).await
    }

    async fn update(&self, session: &Session<Api>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        write(session.clients()?, self.0, planned).await
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, self.0, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, self.0, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_fills_ids_from_the_arguments() {
        let member = Value::object([
            ("project", Value::Null),
            ("role", "roles/aiplatform.user".into()),
            ("member", "serviceAccount:sa@p.iam.gserviceaccount.com".into()),
        ]);
        let planned = plan(Kind::ProjectMember, member, Some("p"));
        assert_eq!(
            planned.get("id"),
            Some(&Value::from("p/roles/aiplatform.user/serviceAccount:sa@p.iam.gserviceaccount.com"))
        );
        assert_eq!(planned.get("project"), Some(&Value::from("p")));
        let binding = Value::object([("project", "p".into()), ("role", "roles/viewer".into())]);
        assert_eq!(plan(Kind::ProjectBinding, binding, None).get("id"), Some(&Value::from("p/roles/viewer")));
        let unknown = Value::object([("project", Value::Unknown), ("role", "r".into()), ("member", "m".into())]);
        assert_eq!(plan(Kind::ProjectMember, unknown.clone(), Some("p")), unknown);
    }

    #[test]
    fn service_accounts_are_named_by_name_or_email() {
        assert_eq!(
            service_account_name("projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"),
            "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"
        );
        assert_eq!(
            service_account_name("a@p.iam.gserviceaccount.com"),
            "projects/-/serviceAccounts/a@p.iam.gserviceaccount.com"
        );
    }
}
