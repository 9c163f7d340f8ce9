//! `aws_eks_addon`: CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon and the EKS tag calls,
//! for `eks-pod-identity-agent` (which EKS Pod Identity associations need on the nodes) and the
//! other add-ons (<https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAddon.html>).
//!
//! What users depend on (as terraform-provider-aws's `internal/service/eks/addon.go` does it):
//! * a create returns while the add-on is `CREATING`: it is recorded, then waited on until
//!   `ACTIVE` (`CREATE_FAILED` fails the apply with the add-on's health issues, and the add-on
//!   stays in state so the next plan replaces it); an update waits the same way through
//!   `UPDATING`; a delete waits through `DELETING` until the add-on is gone;
//! * one `clientRequestToken` for every attempt of a create, so a retried create never makes a
//!   second add-on; an add-on that already exists (`ResourceInUseException`) is named with its
//!   import id;
//! * the id and import id are `cluster_name:addon_name`.

use crate::api::{found, gone, required, string_map, tag_changes, tags_value, text, with, Api};
use crate::error::{from_sdk, retryable_after_create};
use crate::schema;
use async_trait::async_trait;
use aws_sdk_eks::types::{Addon, AddonStatus, ResolveConflicts};
use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;
use trustform_lang::Value;
use trustform_provider::{retry, Checkpoint, ProviderError, ProviderErrorKind};
use trustform_provider::{ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

const ID_FORMAT: &str = "`cluster_name:addon_name`";

fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    for (attribute, allowed) in [
        ("resolve_conflicts_on_create", &["NONE", "OVERWRITE"][..]),
        ("resolve_conflicts_on_update", &["NONE", "OVERWRITE", "PRESERVE"][..]),
    ] {
        if let Some(value) = text(config, attribute).filter(|value| !allowed.contains(value)) {
            issues.push(ValidationIssue {
                attribute: attribute.to_owned(),
                summary: "Invalid conflict resolution".to_owned(),
                detail: format!(
                    "{attribute} = {value:?} is not one EKS takes here. Use one of {}.",
                    allowed.join(", ")
                ),
                is_error: true,
            });
        }
    }
    if let Some(version) = text(config, "addon_version") {
        // EKS add-on versions are `v` and a semantic version (`v1.3.4-eksbuild.1`).
        let semantic = version.strip_prefix('v').is_some_and(|rest| {
            let core = rest.split(['-', '+']).next().unwrap_or_default();
            let parts: Vec<&str> = core.split('.').collect();
            parts.len() == 3 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        });
        if !semantic {
            issues.push(ValidationIssue {
                attribute: "addon_version".to_owned(),
                summary: "Invalid add-on version".to_owned(),
                detail: format!(
                    "addon_version = {version:?} is not an EKS add-on version. Write it as EKS lists it (`aws eks \
                     describe-addon-versions --addon-name NAME`), such as \"v1.3.4-eksbuild.1\", or leave it unset \
                     for the cluster's default."
                ),
                is_error: true,
            });
        }
    }
    issues
}

fn resolve(value: Option<&str>) -> Option<ResolveConflicts> {
    value.map(ResolveConflicts::from)
}

async fn create(api: &Api, planned: &Value, checkpoint: &dyn Checkpoint) -> Result<Value, ProviderError> {
    let cluster = required(planned, "cluster_name")?;
    let name = required(planned, "addon_name")?;
    let tags: HashMap<String, String> = string_map(planned, "tags").into_iter().collect();
    let token = uuid::Uuid::new_v4().to_string();
    let eks = &api.clients.eks;
    let (token, tags) = (token.as_str(), &tags);
    let created = retry(&api.policy, retryable_after_create, || async move {
        eks.create_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_addon_version(text(planned, "addon_version").map(str::to_owned))
            .set_service_account_role_arn(text(planned, "service_account_role_arn").map(str::to_owned))
            .set_configuration_values(text(planned, "configuration_values").map(str::to_owned))
            .set_resolve_conflicts(resolve(text(planned, "resolve_conflicts_on_create")))
            .client_request_token(token)
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send()
            .await
            .map_err(|e| from_sdk("eks:CreateAddon", e))
    })
    .await;
    let created = match created {
        Ok(output) => output,
        Err(error) if error.code.as_deref() == Some("ResourceInUseException") => {
            return Err(ProviderError::already_exists(format!(
                "cluster {cluster} already has the add-on {name} (EKS: \"{}\"); import it with the id \"{cluster}:{name}\"",
                error.message
            ))
            .with_code("ResourceInUseException"))
        }
        Err(error) => return Err(error),
    };
    let addon = created.addon.ok_or_else(|| ProviderError::transient("eks:CreateAddon returned no add-on"))?;
    // In state before the wait: an apply interrupted while the add-on installs still knows it.
    checkpoint.record(&state_of(Some(planned), cluster, &addon)).await;
    let addon = wait(api, cluster, name, &[AddonStatus::Creating, AddonStatus::Degraded], "eks:CreateAddon").await?;
    let addon =
        addon.ok_or_else(|| ProviderError::transient(format!("the add-on {name} disappeared while it was created")))?;
    Ok(state_of(Some(planned), cluster, &addon))
}

/// Describes the add-on until its status leaves `pending`, backing off like a retry and giving
/// up at the policy's deadline. `None` when it is gone (what a delete waits for).
async fn wait(
    api: &Api,
    cluster: &str,
    name: &str,
    pending: &[AddonStatus],
    method: &str,
) -> Result<Option<Addon>, ProviderError> {
    let started = Instant::now();
    let mut polls = 0u32;
    loop {
        let Some(addon) = found(describe(api, cluster, name).await)? else { return Ok(None) };
        let status = addon.status().cloned().unwrap_or(AddonStatus::Active);
        if !pending.contains(&status) {
            let failed =
                matches!(status, AddonStatus::CreateFailed | AddonStatus::UpdateFailed | AddonStatus::DeleteFailed);
            if failed {
                let issues: Vec<String> = addon
                    .health()
                    .map(|health| health.issues())
                    .unwrap_or_default()
                    .iter()
                    .map(|issue| {
                        format!(
                            "{}: {}",
                            issue.code().map(|c| c.as_str()).unwrap_or("issue"),
                            issue.message().unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(ProviderError::invalid(format!(
                    "{method}: the add-on {name} on {cluster} is {}{}",
                    status.as_str(),
                    if issues.is_empty() { String::new() } else { format!(" ({})", issues.join("; ")) }
                )));
            }
            return Ok(Some(addon));
        }
        let delay = api.policy.backoff_ceiling(polls);
        if started.elapsed() + delay > api.policy.deadline {
            return Err(ProviderError::transient(format!(
                "{method}: the add-on {name} on {cluster} was still {} after {:?}; run the plan again to see where it is",
                status.as_str(),
                started.elapsed()
            )));
        }
        tokio::time::sleep(delay).await;
        polls += 1;
    }
}

async fn describe(api: &Api, cluster: &str, name: &str) -> Result<Addon, ProviderError> {
    let eks = &api.clients.eks;
    let output = api
        .call(|| async move {
            eks.describe_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .send()
                .await
                .map_err(|e| from_sdk("eks:DescribeAddon", e))
        })
        .await?;
    output.addon.ok_or_else(|| ProviderError::transient("eks:DescribeAddon returned no add-on"))
}

fn parse_id(id: &str) -> Result<(&str, &str), ProviderError> {
    match id.split_once(':') {
        Some((cluster, name)) if !cluster.is_empty() && !name.is_empty() && !name.contains(':') => Ok((cluster, name)),
        _ => Err(ProviderError::invalid(format!("{id:?} is not a valid aws_eks_addon id; expected {ID_FORMAT}"))),
    }
}

async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let (cluster, name) = parse_id(required(state, "id")?)?;
    let addon = found(describe(api, cluster, name).await)?;
    Ok(addon.map(|addon| state_of(Some(state), cluster, &addon)))
}

async fn import(api: &Api, id: &str) -> Result<Value, ProviderError> {
    let (cluster, name) = parse_id(id)?;
    let addon = describe(api, cluster, name).await?;
    Ok(state_of(None, cluster, &addon))
}

async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let (cluster, name) = parse_id(required(prior, "id")?)?;
    let eks = &api.clients.eks;
    let changed = |attribute: &str| {
        let null = Value::Null;
        !prior.get(attribute).unwrap_or(&null).eq_ignoring_marks(planned.get(attribute).unwrap_or(&null))
    };
    let version = text(planned, "addon_version").filter(|_| changed("addon_version"));
    let role =
        changed("service_account_role_arn").then(|| text(planned, "service_account_role_arn").unwrap_or_default());
    let values = changed("configuration_values").then(|| text(planned, "configuration_values").unwrap_or_default());
    if version.is_some() || role.is_some() || values.is_some() {
        let token = uuid::Uuid::new_v4().to_string();
        let token = token.as_str();
        api.call(|| async move {
            eks.update_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .set_addon_version(version.map(str::to_owned))
                // An empty role removes it: the add-on falls back to the node's role.
                .set_service_account_role_arn(role.map(str::to_owned))
                .set_configuration_values(values.map(str::to_owned))
                .set_resolve_conflicts(resolve(text(planned, "resolve_conflicts_on_update")))
                .client_request_token(token)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:UpdateAddon", e))
        })
        .await?;
        wait(api, cluster, name, &[AddonStatus::Updating, AddonStatus::Degraded], "eks:UpdateAddon").await?;
    }
    let arn = required(prior, "arn")?;
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
    let addon = describe(api, cluster, name).await?;
    Ok(state_of(Some(planned), cluster, &addon))
}

async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let (cluster, name) = parse_id(required(state, "id")?)?;
    let preserve = state.get("preserve").and_then(Value::as_bool).unwrap_or(false);
    let eks = &api.clients.eks;
    let started = api
        .call(|| async move {
            eks.delete_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .preserve(preserve)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("eks:DeleteAddon", e))
        })
        .await;
    gone(started)?;
    match wait(api, cluster, name, &[AddonStatus::Deleting], "eks:DeleteAddon").await? {
        None => Ok(()),
        Some(addon) => Err(ProviderError::new(
            ProviderErrorKind::Conflict,
            format!(
                "eks:DeleteAddon: the add-on {name} on {cluster} is {} instead of gone",
                addon.status().map(|s| s.as_str()).unwrap_or("unknown")
            ),
        )),
    }
}

fn state_of(prior: Option<&Value>, cluster: &str, addon: &Addon) -> Value {
    let tags: BTreeMap<String, String> =
        addon.tags().map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let text_value = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(Value::string).unwrap_or_default();
    let configured = |name: &str| prior.and_then(|prior| prior.get(name)).cloned().unwrap_or_default();
    let name = addon.addon_name().unwrap_or_default();
    let created_at = addon
        .created_at()
        .and_then(|date| date.fmt(aws_sdk_eks::primitives::DateTimeFormat::DateTime).ok())
        .map(Value::string)
        .unwrap_or_default();
    Value::object([
        ("id", Value::string(format!("{cluster}:{name}"))),
        ("cluster_name", Value::string(addon.cluster_name().unwrap_or(cluster))),
        ("addon_name", Value::string(name)),
        ("addon_version", text_value(addon.addon_version())),
        ("service_account_role_arn", text_value(addon.service_account_role_arn())),
        ("configuration_values", text_value(addon.configuration_values())),
        // How to resolve conflicts and whether to keep the software on destroy are the
        // configuration's: EKS does not echo them.
        ("resolve_conflicts_on_create", configured("resolve_conflicts_on_create")),
        ("resolve_conflicts_on_update", configured("resolve_conflicts_on_update")),
        ("preserve", configured("preserve")),
        ("tags", tags_value(prior, tags)),
        ("arn", text_value(addon.addon_arn())),
        ("created_at", created_at),
    ])
}

/// `aws_eks_addon`, as the provider serves it.
pub(crate) struct EksAddon;

#[async_trait]
impl ResourceType<Api> for EksAddon {
    fn schema(&self) -> ResourceSchema {
        schema::eks_addon()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    /// The id, `CLUSTER:ADDON`, follows from the arguments.
    fn plan(&self, _: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(match text(&planned, "cluster_name").zip(text(&planned, "addon_name")) {
            Some((cluster, name)) => with(&planned, [("id", Value::string(format!("{cluster}:{name}")))]),
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
    fn ids_are_cluster_colon_addon() {
        assert_eq!(parse_id("litellm:eks-pod-identity-agent").unwrap(), ("litellm", "eks-pod-identity-agent"));
        for bad in ["litellm", ":vpc-cni", "litellm:", "a:b:c"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_and_conflict_modes_are_checked_before_eks_sees_them() {
        let config = |pairs: &[(&str, &str)]| Value::object(pairs.iter().map(|(k, v)| (*k, Value::from(*v))));
        assert!(validate(&config(&[("addon_version", "v1.3.4-eksbuild.1")])).is_empty());
        assert_eq!(validate(&config(&[("addon_version", "1.3.4")]))[0].attribute, "addon_version");
        assert_eq!(
            validate(&config(&[("resolve_conflicts_on_create", "PRESERVE")]))[0].attribute,
            "resolve_conflicts_on_create"
        );
        assert!(validate(&config(&[("resolve_conflicts_on_update", "PRESERVE")])).is_empty());
    }
}
