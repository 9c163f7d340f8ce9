//! `aws_iam_role`: CreateRole, GetRole, UpdateAssumeRolePolicy, UpdateRole, the permissions
//! boundary and tag calls, and a delete that first detaches managed policies and deletes
//! inline ones (IAM refuses to delete a role that still has any).

use crate::account::Account;
use crate::api::{created_since, found, gone, required, string_map, tag_changes, tags_value, text, with, Api, Created};
use crate::error::from_sdk;
use crate::policy::policy_value;
use crate::schema;
use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use trustform_lang::Value;
use trustform_provider::attrs::{derived_or_prior, derived_text};
use trustform_provider::{ProviderError, ValidationIssue};
use trustform_provider::{ResourceType, Session};
use trustform_schema::json_documents_equal;
use trustform_schema::ResourceSchema;

const DEFAULT_MAX_SESSION_DURATION: i64 = 3600;
/// IAM accepts one to twelve hours.
const SESSION_DURATION_RANGE: std::ops::RangeInclusive<i64> = 3600..=43200;

/// What IAM would refuse, found at plan time: `name` with `name_prefix`, and session lengths
/// out of range.
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    if text(config, "name").is_some() && text(config, "name_prefix").is_some() {
        issues.push(ValidationIssue {
            attribute: "name_prefix".to_owned(),
            summary: "Conflicting arguments".to_owned(),
            detail: "A role has either a name or a generated name with a prefix, not both. Remove `name` or \
                     `name_prefix`."
                .to_owned(),
            is_error: true,
        });
    }
    let duration = config.get("max_session_duration").and_then(Value::as_number).and_then(|n| n.as_i64());
    if let Some(seconds) = duration.filter(|seconds| !SESSION_DURATION_RANGE.contains(seconds)) {
        issues.push(ValidationIssue {
            attribute: "max_session_duration".to_owned(),
            summary: "Invalid session duration".to_owned(),
            detail: format!(
                "IAM accepts a max_session_duration from 3600 to 43200 seconds, not {seconds}. Choose a value \
                 in that range."
            ),
            is_error: true,
        });
    }
    issues
}

/// The role's ARN as far as plan time knows it: `arn:PARTITION:iam::ACCOUNT:role` followed by
/// the path (`/` unless set) and the name: `role/NAME`, or `role/division_abc/NAME` under the
/// path `/division_abc/` (IAM ARNs,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>). A name IAM is
/// given only at create (from `name_prefix`, `terraform-` by default, as `create` makes it) or
/// one still unknown leaves a partially known ARN, which the checks read up to the hole.
pub(crate) fn planned_arn(account: &Account, planned: &Value) -> Option<Value> {
    let start = Value::string(format!("{}role", account.iam_arn_prefix()));
    let path = match planned.get("path") {
        None | Some(Value::Null) => Value::from("/"),
        Some(path) => path.clone(),
    };
    let name = match planned.get("name") {
        None | Some(Value::Null) => {
            let prefix = match planned.get("name_prefix") {
                None | Some(Value::Null) => Value::from("terraform-"),
                Some(prefix) => prefix.clone(),
            };
            derived_text([&prefix, &Value::Unknown])?
        }
        Some(name) => name.clone(),
    };
    derived_text([&start, &path, &name])
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let name = name_to_create(planned);
    let policy = required(planned, "assume_role_policy")?;
    let path = text(planned, "path").unwrap_or("/");
    let max_session_duration = max_session_duration(planned)?;
    let tags = iam_tags(&string_map(planned, "tags"))?;
    let iam = &api.clients.iam;
    let (name_ref, tags_ref) = (name.as_str(), &tags);
    // A trust policy naming a principal created moments ago fails with "Invalid principal"
    // until IAM has propagated it: `api.create` retries that within the deadline.
    let created = api
        .create(|| async move {
            iam.create_role()
                .role_name(name_ref)
                .path(path)
                .assume_role_policy_document(policy)
                .set_description(text(planned, "description").map(str::to_owned))
                .max_session_duration(max_session_duration)
                .set_permissions_boundary(text(planned, "permissions_boundary").map(str::to_owned))
                .set_tags((!tags_ref.is_empty()).then(|| tags_ref.clone()))
                .send()
                .await
                .map_err(|e| from_sdk("iam:CreateRole", e))
        })
        .await?;
    let role = match created {
        Created::Now(output) => {
            output.role.ok_or_else(|| ProviderError::transient("iam:CreateRole returned no role"))?
        }
        Created::ByLostAttempt { started } => {
            let role = get_role(api, &name).await?;
            if !created_since(started, role.create_date()) {
                return Err(ProviderError::already_exists(format!(
                    "a role named {name:?} already exists; import it with the id \"{name}\""
                ))
                .with_code("EntityAlreadyExists"));
            }
            role
        }
    };
    Ok(with(
        planned,
        [
            ("name", Value::string(role.role_name())),
            ("id", Value::string(role.role_name())),
            ("arn", Value::string(role.arn())),
            ("unique_id", Value::string(role.role_id())),
            ("create_date", Value::string(date(role.create_date()))),
        ],
    ))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let name = role_name(state)?;
    let role = found(get_role(api, name).await)?;
    Ok(role.map(|role| state_of(Some(state), &role)))
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let role = get_role(api, id).await?;
    Ok(state_of(None, &role))
}

pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let name = role_name(prior)?;
    let iam = &api.clients.iam;

    let policy = required(planned, "assume_role_policy")?;
    if !json_documents_equal(text(prior, "assume_role_policy").unwrap_or_default(), policy) {
        api.call_propagating(|| async move {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(policy)
                .send()
                .await
                .map_err(|e| from_sdk("iam:UpdateAssumeRolePolicy", e))
        })
        .await?;
    }

    let description = text(planned, "description");
    let session_duration = max_session_duration(planned)?;
    if description != text(prior, "description") || max_session_duration(prior).ok() != Some(session_duration) {
        api.call(|| async move {
            iam.update_role()
                .role_name(name)
                // An empty description is how UpdateRole clears one.
                .description(description.unwrap_or_default())
                .max_session_duration(session_duration)
                .send()
                .await
                .map_err(|e| from_sdk("iam:UpdateRole", e))
        })
        .await?;
    }

    let boundary = text(planned, "permissions_boundary");
    if boundary != text(prior, "permissions_boundary") {
        match boundary {
            Some(arn) => {
                api.call(|| async move {
                    iam.put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .map_err(|e| from_sdk("iam:PutRolePermissionsBoundary", e))
                })
                .await?;
            }
            None => {
                api.call(|| async move {
                    iam.delete_role_permissions_boundary()
                        .role_name(name)
                        .send()
                        .await
                        .map_err(|e| from_sdk("iam:DeleteRolePermissionsBoundary", e))
                })
                .await?;
            }
        }
    }

    let (set, removed) = tag_changes(prior, planned);
    if !removed.is_empty() {
        let removed = &removed;
        api.call(|| async move {
            iam.untag_role()
                .role_name(name)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map_err(|e| from_sdk("iam:UntagRole", e))
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = &iam_tags(&set)?;
        api.call(|| async move {
            iam.tag_role()
                .role_name(name)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| from_sdk("iam:TagRole", e))
        })
        .await?;
    }

    let computed = ["name", "id", "arn", "unique_id", "create_date"]
        .map(|attribute| (attribute, prior.get(attribute).cloned().unwrap_or_default()));
    Ok(with(planned, computed))
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let name = role_name(state)?;
    let iam = &api.clients.iam;
    let Some(attached) = found(attached_policy_arns(api, name).await)? else {
        return Ok(());
    };
    for arn in &attached {
        gone(
            api.call(|| async move {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("iam:DetachRolePolicy", e))
            })
            .await,
        )?;
    }
    for policy_name in &inline_policy_names(api, name).await? {
        gone(
            api.call(|| async move {
                iam.delete_role_policy()
                    .role_name(name)
                    .policy_name(policy_name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| from_sdk("iam:DeleteRolePolicy", e))
            })
            .await,
        )?;
    }
    gone(
        api.call(|| async move {
            iam.delete_role().role_name(name).send().await.map(drop).map_err(|e| from_sdk("iam:DeleteRole", e))
        })
        .await,
    )
}

/// The ARNs of the managed policies attached to a role, across pages.
pub(crate) async fn attached_policy_arns(api: &Api, role: &str) -> Result<Vec<String>, ProviderError> {
    let iam = &api.clients.iam;
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let marker_ref = &marker;
        let page = api
            .call(|| async move {
                iam.list_attached_role_policies()
                    .role_name(role)
                    .set_marker(marker_ref.clone())
                    .send()
                    .await
                    .map_err(|e| from_sdk("iam:ListAttachedRolePolicies", e))
            })
            .await?;
        arns.extend(page.attached_policies().iter().filter_map(|policy| policy.policy_arn().map(str::to_owned)));
        match page.marker().filter(|_| page.is_truncated()) {
            Some(next) => marker = Some(next.to_owned()),
            None => return Ok(arns),
        }
    }
}

async fn inline_policy_names(api: &Api, role: &str) -> Result<Vec<String>, ProviderError> {
    let iam = &api.clients.iam;
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let marker_ref = &marker;
        let page = found(
            api.call(|| async move {
                iam.list_role_policies()
                    .role_name(role)
                    .set_marker(marker_ref.clone())
                    .send()
                    .await
                    .map_err(|e| from_sdk("iam:ListRolePolicies", e))
            })
            .await,
        )?;
        let Some(page) = page else { return Ok(names) };
        names.extend(page.policy_names().iter().cloned());
        match page.marker().filter(|_| page.is_truncated()) {
            Some(next) => marker = Some(next.to_owned()),
            None => return Ok(names),
        }
    }
}

async fn get_role(api: &Api, name: &str) -> Result<Role, ProviderError> {
    let iam = &api.clients.iam;
    let output = api
        .call(|| async move { iam.get_role().role_name(name).send().await.map_err(|e| from_sdk("iam:GetRole", e)) })
        .await?;
    output.role.ok_or_else(|| ProviderError::transient(format!("iam:GetRole returned no role for {name:?}")))
}

/// The state of a live role; `prior` supplies the user's spellings of what IAM rewrites.
fn state_of(prior: Option<&Value>, role: &Role) -> Value {
    let prior_text = |name: &str| prior.and_then(|prior| text(prior, name));
    let description = match role.description().filter(|d| !d.is_empty()) {
        Some(description) => Value::string(description),
        None if prior_text("description") == Some("") => Value::string(""),
        None => Value::Null,
    };
    let tags: BTreeMap<String, String> =
        role.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
    Value::object([
        ("id", Value::string(role.role_name())),
        ("name", Value::string(role.role_name())),
        ("name_prefix", prior_text("name_prefix").map(Value::string).unwrap_or_default()),
        ("path", Value::string(role.path())),
        (
            "assume_role_policy",
            policy_value(
                prior.and_then(|p| p.get("assume_role_policy")),
                role.assume_role_policy_document().unwrap_or(""),
            ),
        ),
        ("description", description),
        (
            "max_session_duration",
            Value::from(role.max_session_duration().map_or(DEFAULT_MAX_SESSION_DURATION, i64::from)),
        ),
        (
            "permissions_boundary",
            role.permissions_boundary()
                .and_then(|boundary| boundary.permissions_boundary_arn())
                .map(Value::string)
                .unwrap_or_default(),
        ),
        ("tags", tags_value(prior, tags)),
        ("arn", Value::string(role.arn())),
        ("unique_id", Value::string(role.role_id())),
        ("create_date", Value::string(date(role.create_date()))),
    ])
}

fn role_name(state: &Value) -> Result<&str, ProviderError> {
    text(state, "id")
        .or_else(|| text(state, "name"))
        .ok_or_else(|| ProviderError::invalid("the role state has no name"))
}

fn max_session_duration(value: &Value) -> Result<i32, ProviderError> {
    let Some(number) = value.get("max_session_duration").and_then(Value::as_number) else {
        return Ok(DEFAULT_MAX_SESSION_DURATION as i32);
    };
    number.as_i64().and_then(|seconds| i32::try_from(seconds).ok()).ok_or_else(|| {
        ProviderError::invalid(format!("max_session_duration must be a whole number of seconds, not {number}"))
    })
}

pub(crate) fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| ProviderError::invalid(format!("tag {key:?}: {e}")))
        })
        .collect()
}

fn date(date: &aws_sdk_iam::primitives::DateTime) -> String {
    date.fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime).unwrap_or_else(|_| date.secs().to_string())
}

/// Terraform's `PrefixedUniqueId`: the prefix, a UTC timestamp to 1/10000 s and a counter, so
/// names sort by creation and never collide within one process.
/// The name an IAM create gives: `name`, or one generated from `name_prefix` (Terraform's
/// `terraform-` when neither is set), as terraform-provider-aws names roles and policies.
pub(crate) fn name_to_create(planned: &Value) -> String {
    match text(planned, "name") {
        Some(name) => name.to_owned(),
        None => unique_name(text(planned, "name_prefix").unwrap_or("terraform-")),
    }
}

pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let datetime = aws_sdk_iam::primitives::DateTime::from_secs(now.as_secs() as i64);
    let stamp: String = date(&datetime).chars().filter(char::is_ascii_digit).collect();
    format!("{prefix}{stamp}{:04}{count:08x}", now.subsec_micros() / 100)
}

/// `aws_iam_role`, as the provider serves it.
pub(crate) struct IamRole;

#[async_trait]
impl ResourceType<Api> for IamRole {
    fn schema(&self) -> ResourceSchema {
        schema::iam_role()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    /// The id is the name, known at plan time unless it is generated from `name_prefix`.
    /// The id is the name; the ARN follows from the account and the path and name.
    fn plan(&self, session: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let planned = match text(&planned, "name").map(str::to_owned) {
            Some(name) => with(&planned, [("id", Value::String(name))]),
            None => planned,
        };
        let derived =
            session.peek().and_then(|api| api.account.as_ref()).and_then(|account| planned_arn(account, &planned));
        let arn = derived_or_prior(prior, &planned, &["name", "path"], "arn", derived);
        Ok(match arn {
            Some(arn) => with(&planned, [("arn", arn)]),
            None => planned,
        })
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        _: &dyn trustform_provider::Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Api>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(session.clients()?, prior, planned).await
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(partition: &str) -> Account {
        Account { id: "123456789012".into(), partition: partition.into() }
    }

    #[test]
    fn the_arn_follows_from_account_path_and_name() {
        let role = |pairs: Vec<(&'static str, Value)>| Value::object(pairs);
        let plain = role(vec![("name", "gateway".into()), ("path", "/".into())]);
        assert_eq!(planned_arn(&account("aws"), &plain), Some(Value::from("arn:aws:iam::123456789012:role/gateway")));
        let nested = role(vec![("name", "gateway".into()), ("path", "/division_abc/ml/".into())]);
        assert_eq!(
            planned_arn(&account("aws-cn"), &nested),
            Some(Value::from("arn:aws-cn:iam::123456789012:role/division_abc/ml/gateway"))
        );
        let no_path = role(vec![("name", "gateway".into())]);
        assert_eq!(planned_arn(&account("aws"), &no_path), Some(Value::from("arn:aws:iam::123456789012:role/gateway")));
        let shape = |value: Option<Value>| value.and_then(|v| v.as_partial().map(|shape| shape.to_template()));
        let prefixed = role(vec![("name", Value::Null), ("name_prefix", "gw-".into()), ("path", "/".into())]);
        assert_eq!(
            shape(planned_arn(&account("aws"), &prefixed)).as_deref(),
            Some("arn:aws:iam::123456789012:role/gw-${...}")
        );
        let generated = role(vec![("name", Value::Null), ("path", "/".into())]);
        assert_eq!(
            shape(planned_arn(&account("aws"), &generated)).as_deref(),
            Some("arn:aws:iam::123456789012:role/terraform-${...}")
        );
        let unknown = role(vec![("name", Value::Unknown), ("path", "/".into())]);
        assert_eq!(
            shape(planned_arn(&account("aws"), &unknown)).as_deref(),
            Some("arn:aws:iam::123456789012:role/${...}")
        );
    }

    #[test]
    fn validation_catches_conflicts_and_ranges() {
        let config = Value::object([
            ("name", "a".into()),
            ("name_prefix", "b".into()),
            ("max_session_duration", Value::from(60)),
        ]);
        let attributes: Vec<String> = validate(&config).into_iter().map(|issue| issue.attribute).collect();
        assert_eq!(attributes, ["name_prefix", "max_session_duration"]);
        assert!(validate(&Value::object([("name", Value::Unknown)])).is_empty());
    }

    #[test]
    fn generated_names_carry_the_prefix_and_differ() {
        let (a, b) = (unique_name("litellm-"), unique_name("litellm-"));
        assert!(a.starts_with("litellm-"));
        assert_eq!(a.len(), "litellm-".len() + 26, "{a}");
        assert_ne!(a, b);
    }
}
