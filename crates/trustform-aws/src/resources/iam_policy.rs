//! `aws_iam_policy`, a customer managed policy: CreatePolicy, GetPolicy and GetPolicyVersion,
//! CreatePolicyVersion, ListPolicyVersions and DeletePolicyVersion, TagPolicy and UntagPolicy,
//! DeletePolicy. Attached to roles through `aws_iam_role_policy_attachment`.
//!
//! What users depend on (as terraform-provider-aws's `internal/service/iam/policy.go` does it):
//! * the document is the policy's default version; a change is a new version made the default
//!   in one `CreatePolicyVersion` (`SetAsDefault`), never a replacement, so attachments stay;
//! * IAM keeps at most five versions (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>):
//!   when five exist, the oldest version that is not the default is deleted first;
//! * delete removes every non-default version, then the policy (IAM refuses otherwise);
//! * the document compares as JSON, so IAM's URL-encoded, reordered answer is no drift;
//! * import by ARN.

use super::iam_role::{iam_tags, name_to_create};
use crate::api::{created_since, found, gone, required, string_map, tag_changes, tags_value, text, with, Api, Created};
use crate::error::from_sdk;
use crate::policy::policy_value;
use crate::schema;
use async_trait::async_trait;
use aws_sdk_iam::types::{Policy, PolicyVersion};
use trustform_lang::Value;
use trustform_provider::{Checkpoint, ProviderError, ResourceType, Session, ValidationIssue};
use trustform_schema::{json_documents_equal, ResourceSchema};

/// The most versions IAM keeps of one managed policy.
const MAX_VERSIONS: usize = 5;

fn validate(config: &Value) -> Vec<ValidationIssue> {
    if text(config, "name").is_some() && text(config, "name_prefix").is_some() {
        return vec![ValidationIssue {
            attribute: "name_prefix".to_owned(),
            summary: "Conflicting arguments".to_owned(),
            detail: "A policy has either a name or a generated name with a prefix, not both. Remove `name` or \
                     `name_prefix`."
                .to_owned(),
            is_error: true,
        }];
    }
    Vec::new()
}

async fn create(api: &Api, planned: &Value, checkpoint: &dyn Checkpoint) -> Result<Value, ProviderError> {
    let name = name_to_create(planned);
    let document = required(planned, "policy")?;
    let path = text(planned, "path").unwrap_or("/");
    let tags = iam_tags(&string_map(planned, "tags"))?;
    let iam = &api.clients.iam;
    let (name_ref, tags_ref) = (name.as_str(), &tags);
    let created = api
        .create(|| async move {
            iam.create_policy()
                .policy_name(name_ref)
                .path(path)
                .policy_document(document)
                .set_description(text(planned, "description").map(str::to_owned))
                .set_tags((!tags_ref.is_empty()).then(|| tags_ref.clone()))
                .send()
                .await
                .map_err(|e| from_sdk("iam:CreatePolicy", e))
        })
        .await?;
    let policy = match created {
        Created::Now(output) => {
            output.policy.ok_or_else(|| ProviderError::transient("iam:CreatePolicy returned no policy"))?
        }
        Created::ByLostAttempt { started } => {
            // The ARN follows from the account, path and name; the account from the caller.
            let arn = policy_arn(api, path, &name).await?;
            let policy = get_policy(api, &arn).await?;
            if !policy.create_date().is_some_and(|created| created_since(started, created)) {
                return Err(ProviderError::already_exists(format!(
                    "a policy named {name:?} already exists; import it with the id \"{arn}\""
                ))
                .with_code("EntityAlreadyExists"));
            }
            policy
        }
    };
    let arn = policy.arn().ok_or_else(|| ProviderError::transient("iam:CreatePolicy returned no ARN"))?;
    let state = with(
        planned,
        [
            ("name", Value::string(&name)),
            ("id", Value::string(arn)),
            ("arn", Value::string(arn)),
            ("policy_id", Value::string(policy.policy_id().unwrap_or_default())),
        ],
    );
    checkpoint.record(&state).await;
    Ok(state)
}

/// `arn:aws:iam::ACCOUNT:policy{path}{name}`, the account from STS.
async fn policy_arn(api: &Api, path: &str, name: &str) -> Result<String, ProviderError> {
    let sts = &api.clients.sts;
    let identity = api
        .call(
            || async move { sts.get_caller_identity().send().await.map_err(|e| from_sdk("sts:GetCallerIdentity", e)) },
        )
        .await?;
    let account = identity.account().unwrap_or_default();
    Ok(format!("arn:aws:iam::{account}:policy{path}{name}"))
}

async fn get_policy(api: &Api, arn: &str) -> Result<Policy, ProviderError> {
    let iam = &api.clients.iam;
    let output = api
        .call(|| async move { iam.get_policy().policy_arn(arn).send().await.map_err(|e| from_sdk("iam:GetPolicy", e)) })
        .await?;
    output.policy.ok_or_else(|| ProviderError::transient("iam:GetPolicy returned no policy"))
}

/// The policy and its default version's document, URL-encoded as IAM returns it.
async fn get_with_document(api: &Api, arn: &str) -> Result<(Policy, String), ProviderError> {
    let policy = get_policy(api, arn).await?;
    let version = policy.default_version_id().unwrap_or("v1").to_owned();
    let iam = &api.clients.iam;
    let version = version.as_str();
    let output = api
        .call(|| async move {
            iam.get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| from_sdk("iam:GetPolicyVersion", e))
        })
        .await?;
    let document = output.policy_version.and_then(|version| version.document).unwrap_or_default();
    Ok((policy, document))
}

async fn list_tags(api: &Api, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let iam = &api.clients.iam;
    let output = api
        .call(|| async move {
            iam.list_policy_tags().policy_arn(arn).send().await.map_err(|e| from_sdk("iam:ListPolicyTags", e))
        })
        .await?;
    Ok(output.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect())
}

async fn state_of(api: &Api, prior: Option<&Value>, policy: &Policy, document: &str) -> Result<Value, ProviderError> {
    let arn = policy.arn().unwrap_or_default();
    let tags = list_tags(api, arn).await?;
    let prior_text = |name: &str| prior.and_then(|prior| prior.get(name)).cloned().unwrap_or_default();
    Ok(Value::object([
        ("id", Value::string(arn)),
        ("arn", Value::string(arn)),
        ("name", Value::string(policy.policy_name().unwrap_or_default())),
        // Not IAM's to say: the prefix the name was generated from, kept as configured.
        ("name_prefix", prior_text("name_prefix")),
        ("path", Value::string(policy.path().unwrap_or("/"))),
        ("description", policy.description().filter(|d| !d.is_empty()).map(Value::string).unwrap_or_default()),
        ("policy", policy_value(prior.and_then(|prior| prior.get("policy")), document)),
        ("tags", tags_value(prior, tags.into_iter().collect())),
        ("policy_id", Value::string(policy.policy_id().unwrap_or_default())),
    ]))
}

async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let arn = required(state, "id")?;
    match found(get_with_document(api, arn).await)? {
        Some((policy, document)) => Ok(Some(state_of(api, Some(state), &policy, &document).await?)),
        None => Ok(None),
    }
}

async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    if !id.starts_with("arn:") || !id.contains(":policy/") {
        return Err(ProviderError::invalid(format!(
            "{id:?} is not a policy ARN; import an aws_iam_policy by its ARN, e.g. \
             arn:aws:iam::123456789012:policy/bedrock-invoke"
        )));
    }
    let (policy, document) = get_with_document(api, id).await?;
    state_of(api, None, &policy, &document).await
}

async fn list_versions(api: &Api, arn: &str) -> Result<Vec<PolicyVersion>, ProviderError> {
    let iam = &api.clients.iam;
    let mut versions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page_marker = marker.clone();
        let page = api
            .call(|| {
                let page_marker = page_marker.clone();
                async move {
                    iam.list_policy_versions()
                        .policy_arn(arn)
                        .set_marker(page_marker)
                        .send()
                        .await
                        .map_err(|e| from_sdk("iam:ListPolicyVersions", e))
                }
            })
            .await?;
        versions.extend(page.versions().iter().cloned());
        match (page.is_truncated(), page.marker()) {
            (true, Some(next)) => marker = Some(next.to_owned()),
            _ => return Ok(versions),
        }
    }
}

async fn delete_version(api: &Api, arn: &str, version: &str) -> Result<(), ProviderError> {
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:DeletePolicyVersion", e))
        })
        .await,
    )
}

/// The version `CreatePolicyVersion` would push past IAM's limit: the oldest that is not the
/// default, when the policy has five already.
fn version_to_prune(versions: &[PolicyVersion]) -> Option<&str> {
    if versions.len() < MAX_VERSIONS {
        return None;
    }
    versions
        .iter()
        .filter(|version| !version.is_default_version())
        // IAM dates versions to the second; their ids (`v1`, `v2`, ...) count up, so they break
        // a tie between versions made in the same second.
        .min_by_key(|version| {
            let number = version.version_id().and_then(|id| id.strip_prefix('v')).and_then(|n| n.parse::<u64>().ok());
            (version.create_date().map(|date| (date.secs(), date.subsec_nanos())), number)
        })
        .and_then(PolicyVersion::version_id)
}

async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let arn = required(prior, "id")?;
    let iam = &api.clients.iam;
    let document = required(planned, "policy")?;
    if !json_documents_equal(text(prior, "policy").unwrap_or_default(), document) {
        let versions = list_versions(api, arn).await?;
        if let Some(oldest) = version_to_prune(&versions) {
            tracing::info!(%arn, version = oldest, "deleting the oldest policy version: IAM keeps five");
            delete_version(api, arn, oldest).await?;
        }
        api.call(|| async move {
            iam.create_policy_version()
                .policy_arn(arn)
                .policy_document(document)
                .set_as_default(true)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:CreatePolicyVersion", e))
        })
        .await?;
    }
    let (set, removed) = tag_changes(prior, planned);
    if !set.is_empty() {
        let tags = iam_tags(&set)?;
        let tags = &tags;
        api.call(|| async move {
            iam.tag_policy()
                .policy_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:TagPolicy", e))
        })
        .await?;
    }
    if !removed.is_empty() {
        let removed = &removed;
        api.call(|| async move {
            iam.untag_policy()
                .policy_arn(arn)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:UntagPolicy", e))
        })
        .await?;
    }
    let (policy, live) = get_with_document(api, arn).await?;
    state_of(api, Some(planned), &policy, &live).await
}

async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let arn = required(state, "id")?;
    let Some(versions) = found(list_versions(api, arn).await)? else { return Ok(()) };
    for version in versions.iter().filter(|version| !version.is_default_version()) {
        if let Some(id) = version.version_id() {
            delete_version(api, arn, id).await?;
        }
    }
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            iam.delete_policy().policy_arn(arn).send().await.map(drop).map_err(|e| from_sdk("iam:DeletePolicy", e))
        })
        .await,
    )
}

/// `aws_iam_policy`, as the provider serves it.
pub(crate) struct IamPolicy;

#[async_trait]
impl ResourceType<Api> for IamPolicy {
    fn schema(&self) -> ResourceSchema {
        schema::iam_policy()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, planned, checkpoint).await
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
    use aws_sdk_iam::primitives::DateTime;

    fn version(id: &str, default: bool, created: i64) -> PolicyVersion {
        PolicyVersion::builder()
            .version_id(id)
            .is_default_version(default)
            .create_date(DateTime::from_secs(created))
            .build()
    }

    #[test]
    fn the_oldest_non_default_version_goes_when_five_exist() {
        let four: Vec<_> = (1..=4).map(|n| version(&format!("v{n}"), n == 4, n)).collect();
        assert_eq!(version_to_prune(&four), None);
        // v1 is the default (it was set back); v2 is the oldest of the others.
        let five = vec![
            version("v1", true, 1),
            version("v3", false, 30),
            version("v2", false, 20),
            version("v5", false, 50),
            version("v4", false, 40),
        ];
        assert_eq!(version_to_prune(&five), Some("v2"));
        let same_second: Vec<_> =
            ["v9", "v10", "v6", "v7", "v8"].iter().map(|id| version(id, *id == "v10", 7)).collect();
        assert_eq!(version_to_prune(&same_second), Some("v6"));
    }

    #[test]
    fn a_name_and_a_prefix_conflict() {
        let config = Value::object([("name", "a".into()), ("name_prefix", "b".into())]);
        assert_eq!(validate(&config)[0].attribute, "name_prefix");
        assert!(validate(&Value::object([("name", "a".into())])).is_empty());
    }
}
