//! Cross-cloud checks run on every plan: the troubleshooting tables of the seed documents as
//! plan-time errors, found in the planned values before any call is made. Each check has a
//! stable code, points at the resource at fault and the one it disagrees with, and says how to
//! fix it. Values still unknown at plan time are not judged.
//!
//! * TF1301: a `principalSet://` or `principal://` member names its project by ID; Google matches
//!   workload identity principals by project **number** only.
//! * TF1302: `attribute.aws_role/arn:aws:iam::ACCT:role/NAME` under a pool provider with Google's
//!   default AWS mapping, which gives `attribute.aws_role` the session's
//!   `arn:aws:sts::ACCT:assumed-role/NAME`: the grant matches no token.
//! * TF1303: the principalSet's AWS account is not the account its pool's AWS provider trusts.

use std::collections::BTreeMap;
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_lang::config::Config;
use trustform_lang::{ResourceAddr, Value};
use trustform_plan::Plan;

const MEMBER_TYPES: &[&str] = &["google_service_account_iam_member", "google_project_iam_member"];
const POOL_PROVIDER: &str = "google_iam_workload_identity_pool_provider";

/// An AWS pool provider of the plan, as the checks need it.
struct PoolProvider<'p> {
    address: &'p ResourceAddr,
    account_id: Option<&'p str>,
    /// Whether `attribute.aws_role` is Google's default (the assumed-role ARN).
    default_role_mapping: bool,
}

/// A workload identity member: `principalSet://iam.googleapis.com/projects/P/locations/global/
/// workloadIdentityPools/POOL/attribute.aws_role/ARN`.
struct Principal<'m> {
    project: &'m str,
    pool: &'m str,
    aws_role: Option<&'m str>,
}

fn principal(member: &str) -> Option<Principal<'_>> {
    let rest = member
        .strip_prefix("principalSet://iam.googleapis.com/")
        .or_else(|| member.strip_prefix("principal://iam.googleapis.com/"))?;
    let rest = rest.strip_prefix("projects/")?;
    let (project, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("locations/global/workloadIdentityPools/")?;
    let (pool, rest) = rest.split_once('/').unwrap_or((rest, ""));
    Some(Principal { project, pool, aws_role: rest.strip_prefix("attribute.aws_role/") })
}

/// `arn:aws:iam::ACCT:role/NAME` or `arn:aws:sts::ACCT:assumed-role/NAME`: (account, role
/// name, whether it is the IAM role form).
fn role_arn(arn: &str) -> Option<(&str, &str, bool)> {
    if let Some(rest) = arn.strip_prefix("arn:aws:iam::") {
        let (account, role) = rest.split_once(":role/")?;
        return Some((account, role.rsplit('/').next().unwrap_or(role), true));
    }
    let rest = arn.strip_prefix("arn:aws:sts::")?;
    let (account, role) = rest.split_once(":assumed-role/")?;
    Some((account, role.split('/').next().unwrap_or(role), false))
}

fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// Every check over the planned values of `plan`.
pub(crate) fn cross_cloud_checks(config: &Config, plan: &Plan) -> Diagnostics {
    let span = |address: &ResourceAddr| -> Option<Span> {
        config.resources.get(&address.resource).map(|resource| resource.span.clone())
    };
    let mut providers: BTreeMap<&str, Vec<PoolProvider<'_>>> = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| c.type_name() == POOL_PROVIDER) {
        let Some(after) = &change.after else { continue };
        let Some(pool) = text(after, "workload_identity_pool_id") else { continue };
        let Some(aws) = after.get("aws").filter(|aws| !aws.is_null()) else { continue };
        let default_role_mapping = match after.get("attribute_mapping").map(Value::unmarked) {
            Some(Value::Object(mapping)) => {
                mapping.get("attribute.aws_role").and_then(Value::as_str).is_some_and(|m| m.contains("assumed-role"))
            }
            // Unset (null, or unknown until Google fills its default in).
            _ => true,
        };
        providers.entry(pool).or_default().push(PoolProvider {
            address: &change.address,
            account_id: text(aws, "account_id"),
            default_role_mapping,
        });
    }

    let mut diags = Diagnostics::new();
    for change in plan.changes.iter().filter(|c| MEMBER_TYPES.contains(&c.type_name())) {
        let Some(member) = change.after.as_ref().and_then(|after| text(after, "member")) else { continue };
        let Some(principal) = principal(member) else { continue };
        let here = span(&change.address);
        if !principal.project.bytes().all(|b| b.is_ascii_digit()) {
            diags.push(
                Diagnostic::error(
                    "TF1301",
                    "Workload identity principal names the project by ID",
                    format!(
                        "{} grants to a principal in project {:?}, but Google matches workload identity principals by \
                         project number only, so the grant matches no one (PERMISSION_DENIED \
                         iam.serviceAccounts.getAccessToken). Use the number: \
                         data.google_project.NAME.number.",
                        change.address, principal.project
                    ),
                )
                .with_span(here.clone())
                .with_address(&change.address),
            );
        }
        let (Some(arn), Some(pool_providers)) = (principal.aws_role, providers.get(principal.pool)) else { continue };
        let Some((account, role, iam_form)) = role_arn(arn) else { continue };
        for provider in pool_providers {
            if iam_form && provider.default_role_mapping {
                diags.push(
                    Diagnostic::error(
                        "TF1302",
                        "principalSet names the role, not the assumed role",
                        format!(
                            "{} grants to attribute.aws_role/{arn}, but {} maps attribute.aws_role with Google's \
                             default, the session's ARN arn:aws:sts::{account}:assumed-role/{role}, so the grant \
                             matches no token (\"Access denied\"). Write the assumed-role form: \
                             attribute.aws_role/arn:aws:sts::{account}:assumed-role/{role}.",
                            change.address, provider.address
                        ),
                    )
                    .with_span(here.clone())
                    .with_related(span(provider.address))
                    .with_address(&change.address),
                );
            }
            if let Some(trusted) = provider.account_id.filter(|trusted| *trusted != account) {
                diags.push(
                    Diagnostic::error(
                        "TF1303",
                        "principalSet and pool provider name different AWS accounts",
                        format!(
                            "{} grants to a role in AWS account {account}, but {} trusts account {trusted}, so no \
                             token from that role reaches the grant. Set aws.account_id to the account the workload \
                             runs in (data.aws_caller_identity.NAME.account_id), or fix the ARN.",
                            change.address, provider.address
                        ),
                    )
                    .with_span(here.clone())
                    .with_related(span(provider.address))
                    .with_address(&change.address),
                );
            }
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_and_role_arns_parse() {
        let member = "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/LitellmPodRole";
        let parsed = principal(member).unwrap();
        assert_eq!((parsed.project, parsed.pool), ("123", "aws-pool"));
        assert_eq!(role_arn(parsed.aws_role.unwrap()), Some(("111122223333", "LitellmPodRole", false)));
        assert_eq!(role_arn("arn:aws:iam::111122223333:role/path/Gateway"), Some(("111122223333", "Gateway", true)));
        assert!(principal("serviceAccount:a@p.iam.gserviceaccount.com").is_none());
    }
}
