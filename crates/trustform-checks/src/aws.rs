//! The checks of AWS role trust policies (seeds 000, 001, 002): IRSA conditions, the pod
//! identity trust, and web identity trusts from CI that any pipeline could satisfy. Trust
//! policies arrive as JSON strings (from `jsonencode` or `aws_iam_policy_document`); only known
//! ones are judged.
//!
//! What the workload's service account is, IRSA leaves to the Helm chart's annotation, outside
//! the spec. So TF1310 checks the `:sub` form everywhere, and the namespace and name where the
//! spec says them: an `aws_eks_pod_identity_association` that gives the same role.

use super::shape::known;
use super::trust::{self, issuer_kind, Issuer};
use super::{finding, json_strings, shaped_json, text, Spec};
use serde_json::Value as Json;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::ResourceAddr;

const ROLE: &str = "aws_iam_role";
const POD_IDENTITY: &str = "aws_eks_pod_identity_association";
const PODS_SERVICE: &str = "pods.eks.amazonaws.com";
const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

pub(super) fn checks(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let roles: Vec<Role<'_>> = spec
        .resources(ROLE)
        .map(|(address, after)| Role {
            address,
            name: text(after, "name"),
            arn: text(after, "arn"),
            trust: spec.shaped(after, "assume_role_policy").and_then(|policy| shaped_json(&policy)),
        })
        .collect();
    let associations: Vec<Association<'_>> = spec
        .resources(POD_IDENTITY)
        .map(|(address, after)| Association {
            address,
            role: role_of(spec, address, text(after, "role_arn"), &roles),
            namespace: text(after, "namespace"),
            service_account: text(after, "service_account"),
        })
        .collect();
    for (index, role) in roles.iter().enumerate() {
        let Some(trust) = &role.trust else { continue };
        let workloads: Vec<&Association<'_>> = associations.iter().filter(|a| a.role == Some(index)).collect();
        for statement in statements(trust) {
            web_identity(spec, role, &statement, &workloads, diags);
        }
    }
    for association in &associations {
        pod_identity_trust(spec, association, &roles, diags);
    }
}

struct Role<'s> {
    address: &'s ResourceAddr,
    name: Option<&'s str>,
    arn: Option<&'s str>,
    /// The trust policy, when known and valid JSON.
    trust: Option<Json>,
}

struct Association<'s> {
    address: &'s ResourceAddr,
    /// Index into the roles, when the association's role is one of the spec's.
    role: Option<usize>,
    namespace: Option<&'s str>,
    service_account: Option<&'s str>,
}

/// Which of the spec's roles `role_arn` names: by ARN or name when known, else the one role the
/// association depends on.
fn role_of(spec: &Spec<'_>, address: &ResourceAddr, role_arn: Option<&str>, roles: &[Role<'_>]) -> Option<usize> {
    if let Some(arn) = role_arn {
        let name = arn.split_once(":role/").map(|(_, path)| path.rsplit('/').next().unwrap_or(path));
        return roles.iter().position(|role| role.arn == Some(arn) || (name.is_some() && role.name == name));
    }
    let mut depended = spec.dependencies(address).iter().filter(|dependency| dependency.type_name() == ROLE);
    match (depended.next(), depended.next()) {
        (Some(dependency), None) => roles.iter().position(|role| role.address == dependency),
        _ => None,
    }
}

/// One statement of a policy document, as far as these checks read it.
struct Statement<'j> {
    allow: bool,
    federated: Vec<&'j str>,
    services: Vec<&'j str>,
    actions: Vec<&'j str>,
    /// (operator, key, values)
    conditions: Vec<(&'j str, &'j str, Vec<&'j str>)>,
}

fn statements(policy: &Json) -> Vec<Statement<'_>> {
    let list = match policy.get("Statement") {
        Some(Json::Array(items)) => items.iter().collect(),
        Some(statement @ Json::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|statement| {
            let principal = statement.get("Principal");
            let conditions = statement
                .get("Condition")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
                .flat_map(|(operator, keys)| {
                    keys.as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(key, values)| (operator.as_str(), key.as_str(), json_strings(Some(values))))
                })
                .collect();
            Statement {
                allow: statement.get("Effect").and_then(Json::as_str) == Some("Allow"),
                federated: json_strings(principal.and_then(|p| p.get("Federated"))),
                services: json_strings(principal.and_then(|p| p.get("Service"))),
                actions: json_strings(statement.get("Action")),
                conditions,
            }
        })
        .collect()
}

/// Whether a statement's actions include `wanted` (directly, or by `sts:*` or `*`).
fn allows(statement: &Statement<'_>, wanted: &str) -> bool {
    statement
        .actions
        .iter()
        .any(|action| action.eq_ignore_ascii_case(wanted) || *action == "*" || action.eq_ignore_ascii_case("sts:*"))
}

/// The issuer of a `Federated` principal: `arn:aws:iam::ACCT:oidc-provider/ISSUER`.
fn issuer_of(federated: &str) -> &str {
    federated.split_once(":oidc-provider/").map_or(federated, |(_, issuer)| issuer)
}

/// The issuers a statement trusts: its `Federated` principals, or, where one is known only
/// after apply (`aws_iam_openid_connect_provider.NAME.arn`), the issuers its condition keys
/// (`ISSUER:sub`) name.
fn issuers<'j>(statement: &Statement<'j>) -> Vec<&'j str> {
    let mut issuers: Vec<&str> = statement.federated.iter().filter_map(|f| known(f)).map(issuer_of).collect();
    if statement.federated.iter().any(|f| known(f).is_none()) {
        for (_, key, _) in &statement.conditions {
            if let Some((issuer, _)) = key.rsplit_once(':').filter(|(issuer, _)| known(issuer).is_some()) {
                if !issuers.contains(&issuer) {
                    issuers.push(issuer);
                }
            }
        }
    }
    issuers
}

/// Whether an IRSA `sub` condition can match a service account token's subject,
/// `system:serviceaccount:NAMESPACE:NAME`.
fn could_be_service_account(like: bool, pattern: &str) -> bool {
    const PREFIX: &str = "system:serviceaccount:";
    if like && pattern.contains(['*', '?']) {
        let fixed = pattern.split(['*', '?']).next().unwrap_or_default();
        return PREFIX.starts_with(fixed) || fixed.starts_with(PREFIX);
    }
    // Kubernetes names have no wildcards, so a literal `*` never matches.
    let name = |part: &str| !part.is_empty() && !part.contains(['*', '?']);
    let parts: Vec<&str> = pattern.split(':').collect();
    matches!(parts.as_slice(), ["system", "serviceaccount", namespace, account] if name(namespace) && name(account))
}

/// `*` and `?` wildcards, as IAM's `StringLike` reads them.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// TF1310, TF1311 and TF1313 for one statement of a role's trust.
fn web_identity(
    spec: &Spec<'_>,
    role: &Role<'_>,
    statement: &Statement<'_>,
    workloads: &[&Association<'_>],
    diags: &mut Diagnostics,
) {
    if !statement.allow || !allows(statement, WEB_IDENTITY) {
        return;
    }
    let here = spec.attr_span(role.address, "assume_role_policy");
    for issuer in issuers(statement) {
        let kind = issuer_kind(issuer);
        let on = |claim: &str| {
            let key = format!("{issuer}:{claim}");
            statement
                .conditions
                .iter()
                .filter(move |(_, k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(operator, _, values)| (*operator, values.as_slice()))
                .collect::<Vec<_>>()
        };
        let subs = on("sub");
        let like = |operator: &str| trust::is_like(operator);
        let claims: Vec<(&str, &str, Vec<&str>)> = ["sub", "job_workflow_ref", "aud"]
            .into_iter()
            .flat_map(|claim| on(claim).into_iter().map(move |(operator, values)| (operator, claim, values.to_vec())))
            .collect();
        if let Some((who, example)) = trust::too_broad(kind, trust::pinned(kind, &claims)) {
            let pin = if kind == Issuer::App { "aud" } else { "sub" };
            let what = if subs.is_empty() {
                format!("has no condition on {issuer}:sub")
            } else if subs.iter().all(|(operator, _)| !trust::positive(operator)) {
                format!(
                    "only excludes subjects from {issuer}:sub ({}), which narrows nothing",
                    subs.iter().map(|(operator, _)| *operator).collect::<Vec<_>>().join(", ")
                )
            } else {
                format!(
                    "its {issuer}:sub condition admits {}",
                    subs.iter()
                        .flat_map(|(_, values)| values.iter())
                        .map(|v| format!("{:?}", spec.show(v)))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            diags.push(finding(
                Diagnostic::warning(
                    "TF1313",
                    "Web identity trust does not restrict the subject",
                    format!(
                        "The trust policy of {} lets {issuer} tokens assume the role but {what}, so {who} can \
                         assume it. Add a StringEquals or StringLike condition on \"{issuer}:{pin}\" that names the \
                         repository, project or service account (and the branch), e.g. {example}; StringNotEquals, \
                         StringNotLike and Null conditions do not narrow who may assume the role.",
                        role.address
                    ),
                ),
                here.clone(),
                role.address,
                [],
            ));
        }
        if kind != Issuer::Eks {
            continue;
        }
        let auds = on("aud");
        let aud_known = auds.iter().all(|(_, values)| values.iter().all(|v| known(v).is_some()));
        if aud_known && !auds.is_empty() && !auds.iter().any(|(_, values)| values.contains(&"sts.amazonaws.com")) {
            diags.push(finding(
                Diagnostic::error(
                    "TF1311",
                    "IRSA trust expects the wrong audience",
                    format!(
                        "The trust policy of {} requires {issuer}:aud to be {}, but EKS projects service account \
                         tokens for IRSA with the audience sts.amazonaws.com, so the role can never be assumed. \
                         Set the condition to \"{issuer}:aud\" = \"sts.amazonaws.com\".",
                        role.address,
                        auds.iter()
                            .flat_map(|(_, values)| values.iter())
                            .map(|v| format!("{v:?}"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ),
                here.clone(),
                role.address,
                [],
            ));
        }
        let patterns: Vec<(&str, &str)> =
            subs.iter().flat_map(|(operator, values)| values.iter().map(move |value| (*operator, *value))).collect();
        // A subject known only after apply is judged at apply, by IAM.
        for (operator, pattern) in patterns.iter().filter(|(_, pattern)| known(pattern).is_some()) {
            if !could_be_service_account(like(operator), pattern) {
                diags.push(finding(
                    Diagnostic::error(
                        "TF1310",
                        "IRSA trust does not match the service account",
                        format!(
                            "The trust policy of {} requires {issuer}:sub to be {pattern:?}, but EKS gives IRSA \
                             tokens the subject system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT, so no pod can \
                             assume the role. Write the subject in that form, e.g. \
                             \"system:serviceaccount:litellm:litellm-sa\".",
                            role.address
                        ),
                    ),
                    here.clone(),
                    role.address,
                    [],
                ));
            }
        }
        for association in workloads {
            let (Some(namespace), Some(service_account)) = (association.namespace, association.service_account) else {
                continue;
            };
            let subject = format!("system:serviceaccount:{namespace}:{service_account}");
            let matched =
                patterns.iter().any(
                    |(operator, pattern)| {
                        if like(operator) {
                            glob(pattern, &subject)
                        } else {
                            *pattern == subject
                        }
                    },
                );
            let patterns_known = patterns.iter().all(|(_, pattern)| known(pattern).is_some());
            if patterns_known && !patterns.is_empty() && !matched {
                diags.push(finding(
                    Diagnostic::error(
                        "TF1310",
                        "IRSA trust does not match the service account",
                        format!(
                            "{} runs the workload as {namespace}/{service_account} with {}, but the role's trust \
                             policy requires {issuer}:sub to be {}, so the workload's token ({subject}) cannot \
                             assume it. Set the condition to \"{issuer}:sub\" = \"{subject}\", or fix the \
                             namespace and service account.",
                            association.address,
                            role.address,
                            patterns.iter().map(|(_, p)| format!("{p:?}")).collect::<Vec<_>>().join(" or ")
                        ),
                    ),
                    here.clone(),
                    role.address,
                    [spec.span(association.address)],
                ));
            }
        }
    }
}

/// TF1312: the role of a pod identity association must trust the EKS Pod Identity service with
/// `sts:AssumeRole` and `sts:TagSession`.
fn pod_identity_trust(spec: &Spec<'_>, association: &Association<'_>, roles: &[Role<'_>], diags: &mut Diagnostics) {
    let Some(role) = association.role.map(|index| &roles[index]) else { return };
    let Some(trust) = &role.trust else { return };
    let statements = statements(trust);
    let trusting: Vec<&Statement<'_>> = statements
        .iter()
        .filter(|statement| statement.allow && statement.services.iter().any(|s| s.eq_ignore_ascii_case(PODS_SERVICE)))
        .collect();
    let problem = if trusting.is_empty() {
        format!("does not trust the service {PODS_SERVICE}")
    } else if !trusting.iter().any(|s| allows(s, "sts:AssumeRole") && allows(s, "sts:TagSession")) {
        format!("trusts {PODS_SERVICE} without both sts:AssumeRole and sts:TagSession (the agent tags every session)")
    } else {
        return;
    };
    diags.push(finding(
        Diagnostic::error(
            "TF1312",
            "Pod identity role does not trust EKS Pod Identity",
            format!(
                "{} gives pods {} through EKS Pod Identity, but the role's trust policy {problem}, so the pods get \
                 no credentials (\"Access denied\"). Add a statement: Effect = \"Allow\", Principal = {{ Service = \
                 \"{PODS_SERVICE}\" }}, Action = [\"sts:AssumeRole\", \"sts:TagSession\"].",
                association.address, role.address
            ),
        ),
        spec.attr_span(role.address, "assume_role_policy"),
        role.address,
        [spec.span(association.address)],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irsa_subjects_that_can_match_a_service_account() {
        assert!(could_be_service_account(false, "system:serviceaccount:litellm:litellm-sa"));
        assert!(!could_be_service_account(false, "litellm:litellm-sa"));
        assert!(!could_be_service_account(false, "system:serviceaccounts:litellm:litellm-sa"));
        assert!(!could_be_service_account(false, "system:serviceaccount:*:*"), "StringEquals has no wildcards");
        assert!(could_be_service_account(true, "system:serviceaccount:*"));
        assert!(could_be_service_account(true, "*"));
        assert!(!could_be_service_account(true, "serviceaccount:litellm:*"));
    }

    #[test]
    fn globs_match_as_string_like() {
        assert!(glob("system:serviceaccount:litellm:*", "system:serviceaccount:litellm:litellm-sa"));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("system:serviceaccount:other:*", "system:serviceaccount:litellm:sa"));
    }

    #[test]
    fn statements_read_strings_and_lists() {
        let policy: Json = serde_json::json!({"Statement": {"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": ["repo:a/b:*"]}}}});
        let parsed = statements(&policy);
        assert_eq!(issuer_of(parsed[0].federated[0]), "token.actions.githubusercontent.com");
        assert!(allows(&parsed[0], WEB_IDENTITY));
        assert_eq!(parsed[0].conditions[0].2, vec!["repo:a/b:*"]);
    }
}
