//! `aws_eks_pod_identity_association`: Create/Describe/Update/DeletePodIdentityAssociation and
//! the EKS tag calls. The id is the association id; the import id is
//! `cluster_name,association_id`, as in Terraform.
//!
//! New associations are eventually consistent: Describe may answer `ResourceNotFoundException`
//! for a moment after the create succeeded, so create polls until it is visible.

use crate::api::{found, gone, required, string_map, tag_changes, tags_value, text, with, Api};
use crate::error::{from_sdk, retryable_after_create};
use crate::schema;
use async_trait::async_trait;
use aws_sdk_eks::types::PodIdentityAssociation;
use std::collections::{BTreeMap, HashMap};
use trustform_lang::Value;
use trustform_provider::{retry, Checkpoint, ProviderError};
use trustform_provider::{ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

const ID_FORMAT: &str = "`cluster_name,association_id`";

pub(crate) async fn create(api: &Api, planned: &Value, checkpoint: &dyn Checkpoint) -> Result<Value, ProviderError> {
    let cluster = required(planned, "cluster_name")?;
    let namespace = required(planned, "namespace")?;
    let service_account = required(planned, "service_account")?;
    let role_arn = required(planned, "role_arn")?;
    let target_role_arn = text(planned, "target_role_arn");
    let disable_session_tags = planned.get("disable_session_tags").and_then(Value::as_bool);
    let tags: HashMap<String, String> = string_map(planned, "tags").into_iter().collect();
    // One token for every attempt: EKS answers a repeated token with the association the
    // first attempt made, so an attempt whose answer was lost never makes a second one, while a
    // genuine duplicate still meets ResourceInUseException.
    let token = request_token();
    let eks = &api.clients.eks;
    let (token, tags) = (token.as_str(), &tags);
    let output = retry(&api.policy, retryable_after_create, || async move {
        eks.create_pod_identity_association()
            .cluster_name(cluster)
            .namespace(namespace)
            .service_account(service_account)
            .role_arn(role_arn)
            .set_target_role_arn(target_role_arn.map(str::to_owned))
            .set_disable_session_tags(disable_session_tags)
            .client_request_token(token)
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send()
            .await
            .map_err(|e| from_sdk("eks:CreatePodIdentityAssociation", e))
    })
    .await?;
    let association_id = output
        .association
        .and_then(|association| association.association_id)
        .ok_or_else(|| ProviderError::transient("eks:CreatePodIdentityAssociation returned no association"))?;
    let accepted = with(
        planned,
        [
            ("id", Value::string(&association_id)),
            ("association_id", Value::string(&association_id)),
            ("disable_session_tags", Value::Bool(disable_session_tags.unwrap_or(false))),
        ],
    );
    // Recorded before the wait, so that an apply interrupted while EKS catches up still knows
    // the association exists.
    checkpoint.record(&accepted).await;
    let association = wait_until_visible(api, cluster, &association_id).await?;
    Ok(with(&accepted, [("association_arn", association.association_arn().map(Value::string).unwrap_or_default())]))
}

/// `role_arn` and `target_role_arn`, when known, must be IAM role ARNs
/// (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`): EKS refuses anything else with an
/// InvalidParameterException only at apply (CreatePodIdentityAssociation in the EKS API
/// reference: "The Amazon Resource Name (ARN) of the IAM role").
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    ["role_arn", "target_role_arn"]
        .into_iter()
        .filter_map(|attribute| {
            let arn = text(config, attribute)?;
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let is_role = matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
                if !partition.is_empty() && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()));
            (!is_role).then(|| ValidationIssue {
                attribute: attribute.to_owned(),
                summary: "Invalid role ARN".to_owned(),
                detail: format!(
                    "{attribute} = {arn:?} is not an IAM role ARN. Give the role's `arn` attribute (aws_iam_role.NAME.arn), which reads arn:aws:iam::ACCOUNT:role/NAME."
                ),
                is_error: true,
            })
        })
        .collect()
}

/// The association an interrupted create of `planned` made, found by its natural key: EKS
/// allows one association per cluster, namespace and service account, and
/// ListPodIdentityAssociations filters by the last two. Adopted only when its role and tags are
/// the planned ones.
pub(crate) async fn find(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let cluster = required(planned, "cluster_name")?;
    let namespace = required(planned, "namespace")?;
    let service_account = required(planned, "service_account")?;
    let eks = &api.clients.eks;
    let listed = api
        .call(|| async move {
            eks.list_pod_identity_associations()
                .cluster_name(cluster)
                .namespace(namespace)
                .service_account(service_account)
                .send()
                .await
                .map_err(|e| from_sdk("eks:ListPodIdentityAssociations", e))
        })
        .await?;
    let ids: Vec<String> = listed
        .associations()
        .iter()
        .filter(|summary| summary.namespace() == Some(namespace) && summary.service_account() == Some(service_account))
        .filter_map(|summary| summary.association_id().map(str::to_owned))
        .collect();
    for id in ids {
        let Some(association) = found(describe(api, cluster, &id).await)? else {
            continue;
        };
        let state = state_of(Some(planned), cluster, &association);
        let mut differences = Vec::new();
        if text(&state, "role_arn") != text(planned, "role_arn") {
            differences.push(format!("its role is {}", text(&state, "role_arn").unwrap_or("unknown")));
        }
        if text(&state, "target_role_arn") != text(planned, "target_role_arn") {
            differences.push(format!("its target role is {}", text(&state, "target_role_arn").unwrap_or("none")));
        }
        if string_map(&state, "tags") != string_map(planned, "tags") {
            differences.push("its tags differ".to_owned());
        }
        if !differences.is_empty() {
            return Err(ProviderError::already_exists(format!(
                "cluster {cluster} already has a pod identity association for {namespace}/{service_account} ({id}), but {}, so it is not adopted; if it is the one this spec describes, import it with the id \"{cluster},{id}\", otherwise delete it or change the service account",
                differences.join(" and ")
            ))
            .with_code("ResourceInUseException"));
        }
        return Ok(Some(state));
    }
    Ok(None)
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let cluster = required(state, "cluster_name")?;
    let association = found(describe(api, cluster, association_id(state)?).await)?;
    Ok(association.map(|association| state_of(Some(state), cluster, &association)))
}

pub(crate) async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let (cluster, association_id) = crate::api::split_id(id, ',', ID_FORMAT)?;
    let association = describe(api, cluster, association_id).await?;
    Ok(state_of(None, cluster, &association))
}

pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let cluster = required(prior, "cluster_name")?;
    let id = association_id(prior)?;
    let eks = &api.clients.eks;
    let role_arn = required(planned, "role_arn")?;
    let target_role_arn = text(planned, "target_role_arn");
    let disable_session_tags = planned.get("disable_session_tags").and_then(Value::as_bool);
    let target_changed = target_role_arn != text(prior, "target_role_arn");
    let session_tags_changed = disable_session_tags.is_some()
        && disable_session_tags != prior.get("disable_session_tags").and_then(Value::as_bool);
    if Some(role_arn) != text(prior, "role_arn") || target_changed || session_tags_changed {
        // A target role taken out of the spec is cleared with an empty string, as
        // UpdatePodIdentityAssociation takes it (and the sandbox's eks.rs emulates).
        let target = target_changed.then(|| target_role_arn.unwrap_or_default().to_owned());
        let target = &target;
        api.call_propagating(|| async move {
            eks.update_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .role_arn(role_arn)
                .set_target_role_arn(target.clone())
                .set_disable_session_tags(disable_session_tags)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:UpdatePodIdentityAssociation", e))
        })
        .await?;
    }
    let arn = required(prior, "association_arn")?;
    let (set, removed) = tag_changes(prior, planned);
    if !removed.is_empty() {
        let removed = &removed;
        api.call(|| async move {
            eks.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:UntagResource", e))
        })
        .await?;
    }
    if !set.is_empty() {
        let set: &HashMap<String, String> = &set.into_iter().collect();
        api.call(|| async move {
            eks.tag_resource()
                .resource_arn(arn)
                .set_tags(Some(set.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:TagResource", e))
        })
        .await?;
    }
    let computed = ["id", "association_id", "association_arn"]
        .map(|attribute| (attribute, prior.get(attribute).cloned().unwrap_or_default()));
    let session_tags =
        disable_session_tags.or_else(|| prior.get("disable_session_tags").and_then(Value::as_bool)).unwrap_or(false);
    Ok(with(&with(planned, computed), [("disable_session_tags", Value::Bool(session_tags))]))
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let cluster = required(state, "cluster_name")?;
    let id = association_id(state)?;
    let eks = &api.clients.eks;
    gone(
        api.call(|| async move {
            eks.delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:DeletePodIdentityAssociation", e))
        })
        .await,
    )
}

async fn describe(api: &Api, cluster: &str, id: &str) -> Result<PodIdentityAssociation, ProviderError> {
    let eks = &api.clients.eks;
    let output = api
        .call(|| async move {
            eks.describe_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await
                .map_err(|e| from_sdk("eks:DescribePodIdentityAssociation", e))
        })
        .await?;
    output.association.ok_or_else(|| ProviderError::transient("eks:DescribePodIdentityAssociation returned nothing"))
}

/// Describes the association until EKS shows it, within the retry policy's deadline.
async fn wait_until_visible(api: &Api, cluster: &str, id: &str) -> Result<PodIdentityAssociation, ProviderError> {
    let eks = &api.clients.eks;
    retry(
        &api.policy,
        |error| error.is_retryable() || error.is_not_found(),
        || async move {
            eks.describe_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await
                .map_err(|e| from_sdk("eks:DescribePodIdentityAssociation", e))
        },
    )
    .await?
    .association
    .ok_or_else(|| ProviderError::transient("eks:DescribePodIdentityAssociation returned nothing"))
}

fn association_id(state: &Value) -> Result<&str, ProviderError> {
    text(state, "id")
        .or_else(|| text(state, "association_id"))
        .ok_or_else(|| ProviderError::invalid("the association state has no association_id"))
}

fn state_of(prior: Option<&Value>, cluster: &str, association: &PodIdentityAssociation) -> Value {
    let tags: BTreeMap<String, String> =
        association.tags().map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let text_value = |value: Option<&str>| value.map(Value::string).unwrap_or_default();
    Value::object([
        ("id", text_value(association.association_id())),
        ("association_id", text_value(association.association_id())),
        ("association_arn", text_value(association.association_arn())),
        ("cluster_name", Value::string(association.cluster_name().unwrap_or(cluster))),
        ("namespace", text_value(association.namespace())),
        ("service_account", text_value(association.service_account())),
        ("role_arn", text_value(association.role_arn())),
        ("target_role_arn", text_value(association.target_role_arn().filter(|target| !target.is_empty()))),
        ("disable_session_tags", Value::Bool(association.disable_session_tags().unwrap_or(false))),
        ("tags", tags_value(prior, tags)),
    ])
}

/// A unique client request token; EKS accepts any string up to 64 characters.
fn request_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `aws_eks_pod_identity_association`, as the provider serves it.
pub(crate) struct EksPodIdentityAssociation;

#[async_trait]
impl ResourceType<Api> for EksPodIdentityAssociation {
    fn schema(&self) -> ResourceSchema {
        schema::eks_pod_identity_association()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    /// EKS chooses the id, but cluster, namespace and service account are a natural key an
    /// interrupted create is found by.
    fn findable(&self) -> bool {
        true
    }

    async fn find(&self, session: &Session<Api>, planned: &Value) -> Result<Option<Value>, ProviderError> {
        find(session.clients()?, planned).await
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

    #[test]
    fn role_arns_are_checked_at_plan() {
        let body =
            |role: &str, target: Value| Value::object([("role_arn", Value::from(role)), ("target_role_arn", target)]);
        assert!(validate(&body("arn:aws:iam::123456789012:role/pods/ledger", Value::Null)).is_empty());
        assert!(validate(&body("arn:aws-cn:iam::123456789012:role/x", "arn:aws:iam::210987654321:role/y".into()))
            .is_empty());
        let unknown = Value::object([("role_arn", Value::Unknown), ("target_role_arn", Value::Unknown)]);
        assert!(validate(&unknown).is_empty(), "an unknown ARN is checked when it is known");
        let issues = validate(&body("ledger-pod", "arn:aws:iam::123456789012:user/ci".into()));
        let attributes: Vec<&str> = issues.iter().map(|issue| issue.attribute.as_str()).collect();
        assert_eq!(attributes, ["role_arn", "target_role_arn"]);
        assert!(issues[0].detail.contains("aws_iam_role.NAME.arn"));
    }
}
