//! The checks of workload identity federation into Google Cloud (seed 001): principalSets,
//! pool providers and their attribute mappings, `external_account` credential configs (the
//! `google_credential_config` resource, or the JSON written by hand into an output or another
//! resource), and `vertex_project`.

use super::shape::{is_hole, known};
use super::{finding, mentions, text, Origin, Spec};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_lang::{ResourceAddr, Value};

const SA_MEMBER: &str = "google_service_account_iam_member";
const PROJECT_MEMBER: &str = "google_project_iam_member";
const PROJECT_BINDING: &str = "google_project_iam_binding";
const POOL_PROVIDER: &str = "google_iam_workload_identity_pool_provider";
const SERVICE_ACCOUNT: &str = "google_service_account";
const CREDENTIAL_CONFIG: &str = "google_credential_config";
const PROJECT: &str = "google_project";
const POD_IDENTITY: &str = "aws_eks_pod_identity_association";
const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";

/// What Google's default mapping of an AWS provider maps (when `attribute_mapping` is unset).
const AWS_DEFAULT_MAPPING: &[&str] =
    &["google.subject", "attribute.aws_account", "attribute.aws_role", "attribute.aws_ec2_instance"];
/// An OIDC provider maps `google.subject` to `assertion.sub` and nothing else unless told.
const OIDC_DEFAULT_MAPPING: &[&str] = &["google.subject"];

pub(super) fn checks(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let providers = pool_providers(spec);
    let grants = grants(spec);
    principal_sets(spec, &providers, &grants, diags);
    open_pools(spec, &providers, &grants, diags);
    attribute_conditions(spec, &providers, diags);
    let configs = credential_configs(spec);
    audiences(spec, &providers, &configs, diags);
    impersonation_grants(spec, &providers, &configs, &grants, diags);
    credential_sources(spec, &configs, diags);
    token_audiences(spec, diags);
    vertex_project(spec, diags);
}

/// A pool provider of the plan, as the checks need it.
struct PoolProvider<'s> {
    address: &'s ResourceAddr,
    provider: Option<&'s str>,
    /// The trusted account of an AWS provider.
    account_id: Option<&'s str>,
    /// Whether `attribute.aws_role` is Google's default (the assumed-role ARN).
    default_role_mapping: bool,
    /// The attributes mapped (`google.subject`, `attribute.X`), or `None` while unknown.
    mapped: Option<BTreeSet<String>>,
    /// Known or partially known (see [`super::shape`]).
    condition: Option<String>,
    /// No `attribute_condition` at all (rather than one known after apply).
    unconditioned: bool,
    /// An `oidc` provider (rather than `aws` or SAML).
    oidc: bool,
}

fn pool_providers<'s>(spec: &Spec<'s>) -> BTreeMap<&'s str, Vec<PoolProvider<'s>>> {
    let mut providers: BTreeMap<&str, Vec<PoolProvider<'_>>> = BTreeMap::new();
    for (address, after) in spec.resources(POOL_PROVIDER) {
        let Some(pool) = text(after, "workload_identity_pool_id") else { continue };
        let aws = after.get("aws").filter(|aws| !aws.is_null());
        let oidc = after.get("oidc").filter(|oidc| !oidc.is_null());
        let mapping = after.get("attribute_mapping").map(Value::unmarked);
        let default = match (aws, oidc) {
            (Some(_), _) => Some(AWS_DEFAULT_MAPPING),
            (None, Some(_)) => Some(OIDC_DEFAULT_MAPPING),
            (None, None) => None,
        };
        let mapped = match mapping {
            Some(Value::Object(mapping)) => Some(mapping.keys().cloned().collect()),
            Some(Value::Unknown) if spec.writes(address, "attribute_mapping") => None,
            _ => default.map(|keys| keys.iter().map(|key| (*key).to_owned()).collect()),
        };
        let default_role_mapping = match mapping {
            Some(Value::Object(mapping)) => {
                mapping.get("attribute.aws_role").and_then(Value::as_str).is_some_and(|m| m.contains("assumed-role"))
            }
            // Unset (null, or unknown until Google fills its default in).
            _ => true,
        };
        providers.entry(pool).or_default().push(PoolProvider {
            address,
            provider: text(after, "workload_identity_pool_provider_id"),
            account_id: aws.and_then(|aws| text(aws, "account_id")),
            default_role_mapping: aws.is_some() && default_role_mapping,
            mapped,
            condition: spec.shaped(after, "attribute_condition"),
            unconditioned: after.get("attribute_condition").is_none_or(Value::is_null),
            oidc: oidc.is_some(),
        });
    }
    providers
}

/// A workload identity member: `principalSet://iam.googleapis.com/projects/P/locations/global/
/// workloadIdentityPools/POOL/attribute.NAME/VALUE` (or `principal://.../subject/S`, `.../*`).
struct Principal<'m> {
    project: &'m str,
    pool: &'m str,
    /// `(NAME, VALUE)` of an `attribute.NAME/VALUE` principalSet.
    attribute: Option<(&'m str, &'m str)>,
    /// `principalSet://.../workloadIdentityPools/POOL/*`: every identity of the pool.
    everyone: bool,
}

fn principal(member: &str) -> Option<Principal<'_>> {
    let rest = member
        .strip_prefix("principalSet://iam.googleapis.com/")
        .or_else(|| member.strip_prefix("principal://iam.googleapis.com/"))?;
    let rest = rest.strip_prefix("projects/")?;
    let (project, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("locations/global/workloadIdentityPools/")?;
    let (pool, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let attribute = rest.strip_prefix("attribute.").and_then(|rest| rest.split_once('/'));
    let everyone = member.starts_with("principalSet://") && rest == "*";
    Some(Principal { project, pool, attribute, everyone })
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

/// One IAM grant of the plan: a `_member`, or one member of a `_binding`.
struct Grant<'s> {
    address: &'s ResourceAddr,
    /// `None` while unknown.
    role: Option<&'s str>,
    /// Known or partially known (see [`super::shape`]).
    member: Option<String>,
    /// What the grant is on: a service account's email, or a whole project; `None` while unknown.
    target: Option<Target>,
}

enum Target {
    ServiceAccount(String),
    Project(String),
}

fn grants<'s>(spec: &Spec<'s>) -> Vec<Grant<'s>> {
    let mut grants = Vec::new();
    for (address, after) in spec.resources(SA_MEMBER) {
        let target = match text(after, "service_account_id") {
            Some(name) => Some(Target::ServiceAccount(email_of(name).to_owned())),
            // `google_service_account.NAME.name` before the project is known: the account's
            // email may be known already.
            None => dependency_email(spec, address).map(Target::ServiceAccount),
        };
        grants.push(Grant { address, role: text(after, "role"), member: spec.shaped(after, "member"), target });
    }
    for (address, after) in spec.resources(PROJECT_MEMBER) {
        let target = text(after, "project").map(|project| Target::Project(project.to_owned()));
        grants.push(Grant { address, role: text(after, "role"), member: spec.shaped(after, "member"), target });
    }
    for (address, after) in spec.resources(PROJECT_BINDING) {
        let role = text(after, "role");
        let project = text(after, "project");
        match after.get("members").and_then(Value::as_list) {
            Some(members) => grants.extend(members.iter().map(|member| Grant {
                address,
                role,
                member: spec.holes.text(member),
                target: project.map(|project| Target::Project(project.to_owned())),
            })),
            None => grants.push(Grant { address, role, member: None, target: None }),
        }
    }
    grants
}

/// `projects/P/serviceAccounts/EMAIL` or the email itself: the email.
fn email_of(name: &str) -> &str {
    name.rsplit_once("serviceAccounts/").map_or(name, |(_, email)| email)
}

/// The email of the one service account a resource depends on, when it is known.
fn dependency_email(spec: &Spec<'_>, address: &ResourceAddr) -> Option<String> {
    let mut emails = spec
        .dependencies(address)
        .iter()
        .filter(|dependency| dependency.type_name() == SERVICE_ACCOUNT)
        .filter_map(|dependency| spec.plan.change(dependency)?.after())
        .map(|after| text(after, "email"));
    match (emails.next(), emails.next()) {
        (Some(Some(email)), None) => Some(email.to_owned()),
        _ => None,
    }
}

/// TF1301, TF1302, TF1303 and the principalSet half of TF1306.
fn principal_sets(
    spec: &Spec<'_>,
    providers: &BTreeMap<&str, Vec<PoolProvider<'_>>>,
    grants: &[Grant<'_>],
    diags: &mut Diagnostics,
) {
    for grant in grants {
        let Some(member) = grant.member.as_deref() else { continue };
        let Some(principal) = principal(member) else { continue };
        let here = spec
            .attr_span(grant.address, if grant.address.type_name() == PROJECT_BINDING { "members" } else { "member" });
        if names_project_by_id(spec, principal.project) {
            diags.push(finding(
                Diagnostic::error(
                    "TF1301",
                    "Workload identity principal names the project by ID",
                    format!(
                        "{} grants to a principal in project {:?}, but Google matches workload identity principals by \
                         project number only, so the grant matches no one (PERMISSION_DENIED \
                         iam.serviceAccounts.getAccessToken). Use the number: \
                         data.google_project.NAME.number.",
                        grant.address,
                        spec.show(principal.project)
                    ),
                ),
                here.clone(),
                grant.address,
                spec.data(PROJECT).map(|(address, _)| spec.span(address)),
            ));
        }
        let Some(pool_providers) = known(principal.pool).and_then(|pool| providers.get(pool)) else { continue };
        let Some((name, value)) = principal.attribute else { continue };
        let Some(name) = known(name) else { continue };
        let value = &spec.show(value)[..];
        let attribute = format!("attribute.{name}");
        if pool_providers.iter().all(|p| p.mapped.as_ref().is_some_and(|mapped| !mapped.contains(&attribute))) {
            let names = pool_providers.iter().map(|p| p.address.to_string()).collect::<Vec<_>>().join(", ");
            diags.push(finding(
                Diagnostic::error(
                    "TF1306",
                    "principalSet uses an attribute the pool does not map",
                    format!(
                        "{} grants to {attribute}/{value}, but no provider of pool {:?} ({names}) maps {attribute}, \
                         so no token carries it and the grant matches no one. Add \"{attribute}\" to the pool \
                         provider's attribute_mapping (for AWS, Google's default maps attribute.aws_role, \
                         attribute.aws_account and attribute.aws_ec2_instance), or grant to an attribute it maps.",
                        grant.address, principal.pool
                    ),
                ),
                here.clone(),
                grant.address,
                pool_providers.iter().map(|p| spec.span(p.address)),
            ));
        }
        if name != "aws_role" {
            continue;
        }
        let Some((account, role, iam_form)) = principal.attribute.and_then(|(_, value)| role_arn(value)) else {
            continue;
        };
        let (shown_account, role) = (spec.show(account), spec.show(role));
        for provider in pool_providers {
            if iam_form && provider.default_role_mapping {
                diags.push(finding(
                    Diagnostic::error(
                        "TF1302",
                        "principalSet names the role, not the assumed role",
                        format!(
                            "{} grants to attribute.aws_role/{value}, but {} maps attribute.aws_role with Google's \
                             default, the session's ARN arn:aws:sts::{shown_account}:assumed-role/{role}, so the \
                             grant matches no token (\"Access denied\"). Write the assumed-role form: \
                             attribute.aws_role/arn:aws:sts::{shown_account}:assumed-role/{role}.",
                            grant.address, provider.address
                        ),
                    ),
                    here.clone(),
                    grant.address,
                    [spec.span(provider.address)],
                ));
            }
            let known_account = known(account);
            if let Some(trusted) = provider.account_id.filter(|trusted| known_account.is_some_and(|a| a != *trusted)) {
                diags.push(finding(
                    Diagnostic::error(
                        "TF1303",
                        "principalSet and pool provider name different AWS accounts",
                        format!(
                            "{} grants to a role in AWS account {account}, but {} trusts account {trusted}, so no \
                             token from that role reaches the grant. Set aws.account_id to the account the workload \
                             runs in (data.aws_caller_identity.NAME.account_id), or fix the ARN.",
                            grant.address, provider.address
                        ),
                    ),
                    here.clone(),
                    grant.address,
                    [spec.span(provider.address)],
                ));
            }
        }
    }
}

/// TF1321, a grant to every identity of a pool, and TF1322, a pool provider that lets in every
/// token of its issuer. Google's guidance: "grant access to a subset of identities only" and
/// "use an attribute condition" for any issuer whose tokens others can get
/// (<https://cloud.google.com/iam/docs/best-practices-for-using-workload-identity-federation#attribute-conditions>,
/// and Google requires one for GitHub's and GitLab's issuers). An AWS provider already trusts
/// one account; without a condition any role of that account gets a token, which matters where
/// a grant then names no role (a pool-wide grant, or `attribute.aws_account`).
fn open_pools(
    spec: &Spec<'_>,
    providers: &BTreeMap<&str, Vec<PoolProvider<'_>>>,
    grants: &[Grant<'_>],
    diags: &mut Diagnostics,
) {
    let mut roleless_pools = BTreeSet::new();
    for grant in grants {
        let Some(principal) = grant.member.as_deref().and_then(principal) else { continue };
        let Some(pool) = known(principal.pool) else { continue };
        if principal.everyone || principal.attribute.is_some_and(|(name, _)| name == "aws_account") {
            roleless_pools.insert(pool.to_owned());
        }
        if !principal.everyone {
            continue;
        }
        let member = grant.member.as_deref().map(|member| spec.show(member)).unwrap_or_default();
        diags.push(finding(
            Diagnostic::warning(
                "TF1321",
                "Grant to every identity of a workload identity pool",
                format!(
                    "{} grants {} to {member}, every identity any provider of pool {pool:?} admits, now and \
                     whenever a provider is added. Grant to the one workload instead: \
                     principalSet://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/\
                     {pool}/attribute.aws_role/arn:aws:sts::ACCOUNT:assumed-role/ROLE (or \
                     attribute.repository/OWNER/REPO for a CI provider).",
                    grant.address,
                    grant.role.unwrap_or("its role"),
                ),
            ),
            spec.attr_span(
                grant.address,
                if grant.address.type_name() == PROJECT_BINDING { "members" } else { "member" },
            ),
            grant.address,
            providers.get(pool).into_iter().flatten().map(|p| spec.span(p.address)),
        ));
    }
    for (pool, pool_providers) in providers {
        for provider in pool_providers.iter().filter(|p| p.unconditioned) {
            let why = if provider.oidc {
                "every token its issuer signs (any repository, project or pipeline of the CI service) is exchanged"
            } else if roleless_pools.contains(*pool) {
                "any role of the trusted AWS account is exchanged, and a grant of the pool names no role"
            } else {
                continue;
            };
            diags.push(finding(
                Diagnostic::warning(
                    "TF1322",
                    "Pool provider has no attribute condition",
                    format!(
                        "{} has no attribute_condition, so {why}. Add one that names the workload, e.g. \
                         attribute_condition = \"assertion.repository == 'OWNER/REPO'\" for a CI issuer or \
                         \"attribute.aws_role == 'arn:aws:sts::ACCOUNT:assumed-role/ROLE'\" for AWS.",
                        provider.address
                    ),
                ),
                spec.span(provider.address),
                provider.address,
                [],
            ));
        }
    }
}

/// Whether the project of a principal is an ID where Google wants the number: known text that
/// is not all digits, or a lone hole whose reference is a project ID
/// (`data.google_project.NAME.project_id`, `var.project_id`, `google_project.NAME.project_id`).
fn names_project_by_id(spec: &Spec<'_>, project: &str) -> bool {
    if let Some(project) = known(project) {
        return !is_project_number(project);
    }
    let mut chars = project.chars();
    match (chars.next(), chars.next()) {
        (Some(hole), None) if is_hole(hole) => spec.holes.reference(hole).is_some_and(|reference| {
            let last = reference.rsplit('.').next().unwrap_or_default();
            last == "project_id" || (last == "project" && reference.starts_with("var."))
        }),
        _ => false,
    }
}

/// The `attribute.NAME`s an attribute condition (CEL) reads.
fn condition_attributes(condition: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let bytes = condition.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (start, _) in condition.match_indices("attribute.") {
        if start > 0 && (word(bytes[start - 1]) || bytes[start - 1] == b'.') {
            continue;
        }
        let name_start = start + "attribute.".len();
        let name_end = bytes[name_start..].iter().position(|b| !word(*b)).map_or(bytes.len(), |n| name_start + n);
        if name_end > name_start {
            out.insert(&condition[start..name_end]);
        }
    }
    out
}

/// The condition half of TF1306: a condition that reads an unmapped attribute fails for every
/// token.
fn attribute_conditions(spec: &Spec<'_>, providers: &BTreeMap<&str, Vec<PoolProvider<'_>>>, diags: &mut Diagnostics) {
    for provider in providers.values().flatten() {
        let (Some(condition), Some(mapped)) = (provider.condition.as_deref(), &provider.mapped) else { continue };
        for attribute in condition_attributes(condition) {
            if mapped.contains(attribute) {
                continue;
            }
            diags.push(finding(
                Diagnostic::error(
                    "TF1306",
                    "Attribute condition uses an attribute the provider does not map",
                    format!(
                        "The attribute_condition of {} reads {attribute}, which its attribute_mapping does not map, so \
                         the condition fails for every token and no workload can federate. Map it in \
                         attribute_mapping (\"{attribute}\" = \"assertion....\"), or test an attribute that is \
                         mapped ({}).",
                        provider.address,
                        mapped.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
                    ),
                ),
                spec.attr_span(provider.address, "attribute_condition"),
                provider.address,
                [spec.attr_span(provider.address, "attribute_mapping")],
            ));
        }
    }
}

/// Where an `external_account` credential reads its AWS identity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Metadata {
    /// The EC2 instance metadata service, 169.254.169.254.
    Instance,
    /// The container endpoints of Fargate and EKS Pod Identity, 169.254.170.2.
    Container,
}

fn metadata_of(url: &str) -> Option<Metadata> {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or_default();
    match host {
        "169.254.169.254" | "[fd00" => Some(Metadata::Instance),
        "169.254.170.2" | "169.254.170.23" => Some(Metadata::Container),
        _ => None,
    }
}

/// An `external_account` credential configuration of the spec.
struct CredentialConfig<'s> {
    origin: Origin<'s>,
    /// Written by `google_credential_config`, whose audience and source are derived.
    derived: bool,
    audience: Option<String>,
    impersonated: Option<String>,
    /// Where it reads credentials, `None` when unknown or not an AWS source.
    metadata: Option<Metadata>,
    /// For JSON written by hand: the credential source's `url`, `region_url` and
    /// `imdsv2_session_token_url`.
    source: Option<Map<String, Json>>,
}

fn credential_configs<'s>(spec: &Spec<'s>) -> Vec<CredentialConfig<'s>> {
    let mut configs = Vec::new();
    for (address, after) in spec.resources(CREDENTIAL_CONFIG) {
        configs.push(CredentialConfig {
            origin: Origin::Resource(address),
            derived: true,
            audience: spec.shaped(after, "audience"),
            impersonated: spec.shaped(after, "service_account_email"),
            metadata: match text(after, "environment") {
                Some("ec2") => Some(Metadata::Instance),
                Some("eks_fargate") => Some(Metadata::Container),
                _ => None,
            },
            source: None,
        });
    }
    // The same document can stand in several attributes of one resource (input and output).
    let mut seen = BTreeSet::new();
    for (origin, value) in spec.all_values() {
        if matches!(origin, Origin::Resource(address) if address.type_name() == CREDENTIAL_CONFIG)
            || !mentions(value, "external_account")
        {
            continue;
        }
        for object in spec.json_objects(value) {
            if object.get("type").and_then(Json::as_str) != Some("external_account") {
                continue;
            }
            if !seen.insert((origin.to_string(), Json::Object(object.clone()).to_string())) {
                continue;
            }
            let source = object.get("credential_source").and_then(Json::as_object).cloned();
            let url = |name: &str| source.as_ref().and_then(|s| s.get(name)).and_then(Json::as_str);
            configs.push(CredentialConfig {
                origin,
                derived: false,
                audience: object.get("audience").and_then(Json::as_str).map(str::to_owned),
                impersonated: object
                    .get("service_account_impersonation_url")
                    .and_then(Json::as_str)
                    .and_then(|url| url.split_once("serviceAccounts/"))
                    .map(|(_, rest)| rest.split(':').next().unwrap_or(rest).to_owned()),
                metadata: url("url").and_then(metadata_of),
                source,
            });
        }
    }
    configs
}

impl CredentialConfig<'_> {
    /// The argument `name` of a `google_credential_config`; the output or resource holding a
    /// document written by hand.
    fn span(&self, spec: &Spec<'_>, name: &str) -> Option<Span> {
        match self.origin {
            Origin::Resource(address) if self.derived => spec.attr_span(address, name),
            origin => spec.origin_span(origin),
        }
    }
}

/// `//iam.googleapis.com/projects/P/locations/global/workloadIdentityPools/POOL/providers/PROV`:
/// (P, POOL, PROV).
fn audience_parts(audience: &str) -> Option<(&str, &str, &str)> {
    let rest = audience.strip_prefix("//iam.googleapis.com/projects/")?;
    let (project, rest) = rest.split_once("/locations/global/workloadIdentityPools/")?;
    let (pool, provider) = rest.split_once("/providers/")?;
    Some((project, pool, provider))
}

/// TF1316: an audience that names a provider its pool does not have; TF1304: an audience written
/// by hand with the project ID. (`google_credential_config` derives its audience from the pool
/// provider's name, whose project number its own validation, TF0510, checks.)
fn audiences(
    spec: &Spec<'_>,
    providers: &BTreeMap<&str, Vec<PoolProvider<'_>>>,
    configs: &[CredentialConfig<'_>],
    diags: &mut Diagnostics,
) {
    for config in configs {
        let Some(written) = &config.audience else { continue };
        let Some((project, pool, provider)) = audience_parts(written) else { continue };
        let audience = spec.show(written);
        if let Some(pool_providers) = providers.get(pool) {
            let ids: Option<Vec<&str>> = pool_providers.iter().map(|p| p.provider).collect();
            if known(provider).is_some() && ids.is_some_and(|ids| !ids.contains(&provider)) {
                diags.push(finding(
                    Diagnostic::error(
                        "TF1316",
                        "Credential audience names no provider of its pool",
                        format!(
                            "The credential config in {} has the audience {audience:?}, but pool {pool:?} has no \
                             provider {provider:?} in the spec ({}), so Google STS cannot exchange the token \
                             (\"Unable to acquire impersonated credentials\"). Take the audience from the pool \
                             provider: google_iam_workload_identity_pool_provider.NAME.name.",
                            config.origin,
                            pool_providers.iter().map(|p| p.address.to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                    config.span(spec, "workload_identity_provider"),
                    config.origin,
                    pool_providers.iter().map(|p| spec.span(p.address)),
                ));
            }
        }
        if config.derived || !names_project_by_id(spec, project) {
            continue;
        }
        let matching = providers
            .get(pool)
            .into_iter()
            .flatten()
            .filter(|p| p.provider.is_none_or(|id| id == provider))
            .map(|p| spec.span(p.address));
        diags.push(finding(
            Diagnostic::error(
                "TF1304",
                "Credential audience names the project by ID",
                format!(
                    "The external_account credential in {} has the audience {audience:?}, which names project \
                     {:?} by ID; Google STS only accepts the project number there (\"Invalid audience\"). \
                     Build the audience from data.google_project.NAME.number, or use a google_credential_config \
                     resource, which derives it from the pool provider's name.",
                    config.origin,
                    spec.show(project)
                ),
            ),
            spec.origin_span(config.origin),
            config.origin,
            matching.chain(spec.data(PROJECT).map(|(address, _)| spec.span(address))),
        ));
    }
}

/// TF1307: the impersonated service account has no workloadIdentityUser grant for the pool.
fn impersonation_grants(
    spec: &Spec<'_>,
    providers: &BTreeMap<&str, Vec<PoolProvider<'_>>>,
    configs: &[CredentialConfig<'_>],
    grants: &[Grant<'_>],
    diags: &mut Diagnostics,
) {
    for config in configs {
        // An account known only after apply is the one the spec's grants name, or not: not judged.
        let Some(email) = config.impersonated.as_deref().and_then(known) else { continue };
        let pool = config.audience.as_deref().and_then(audience_parts).map(|(_, pool, _)| pool);
        let sa_project = email.split_once('@').and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"));
        let mut unknown = false;
        let mut granted = false;
        for grant in grants {
            let (Some(role), Some(member)) = (grant.role, grant.member.as_deref()) else {
                unknown = true;
                continue;
            };
            if role != WORKLOAD_IDENTITY_USER {
                continue;
            }
            let Some(principal) = principal(member) else { continue };
            if known(principal.pool).is_none() {
                unknown = true;
                continue;
            }
            if pool.is_some_and(|pool| pool != principal.pool) {
                continue;
            }
            match &grant.target {
                Some(Target::ServiceAccount(target)) => granted |= target == email,
                Some(Target::Project(project)) => granted |= sa_project.is_none_or(|p| p == project.as_str()),
                None => unknown = true,
            }
        }
        if granted || unknown {
            continue;
        }
        let account = spec.resources(SERVICE_ACCOUNT).find(|(_, after)| text(after, "email") == Some(email));
        // Judged where the spec sets the federation up: it creates the account or the pool.
        if account.is_none() && !pool.is_some_and(|pool| providers.contains_key(pool)) {
            continue;
        }
        let detail = format!(
            "{} impersonates {email}, but nothing in the spec grants roles/iam.workloadIdentityUser on it to the \
             principals of pool {}, so the token exchange ends in PERMISSION_DENIED \
             iam.serviceAccounts.getAccessToken. Add a google_service_account_iam_member with role = \
             \"roles/iam.workloadIdentityUser\" and member = the pool's principalSet \
             (principalSet://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/...).",
            config.origin,
            pool.map_or_else(|| "(any)".to_owned(), |pool| format!("{pool:?}")),
        );
        // A service account this spec creates can only have the grants the spec gives it.
        let diagnostic = match account {
            Some(_) => Diagnostic::error("TF1307", "Impersonated service account lacks workloadIdentityUser", detail),
            None => Diagnostic::warning("TF1307", "Impersonated service account lacks workloadIdentityUser", detail),
        };
        diags.push(finding(
            diagnostic,
            config.span(spec, "service_account_email"),
            config.origin,
            [account.and_then(|(address, _)| spec.span(address))],
        ));
    }
}

/// TF1080: a `google_credential_config` whose `url_source` asks for an OIDC token (`audience=`
/// in its URL, as GitHub Actions' token URL takes it) with an audience its pool provider does
/// not accept. An OIDC provider accepts its `allowed_audiences`, or, when that is empty, its own
/// resource name after `https://iam.googleapis.com/`
/// (<https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers#oidc>);
/// Google STS refuses any other token ("The audience in ID Token ... does not match the
/// expected audience"). Parts of either side known only after apply match anything.
fn token_audiences(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let providers: Vec<(&ResourceAddr, &Value)> = spec.resources(POOL_PROVIDER).collect();
    for (address, after) in spec.resources(CREDENTIAL_CONFIG) {
        let Some(url_source) = after.get("url_source").filter(|source| !source.is_null()) else { continue };
        let Some(url) = spec.shaped(url_source, "url") else { continue };
        let Some(asked) = query_parameter(&url, "audience") else { continue };
        let mut referenced =
            spec.dependencies(address).iter().filter(|dependency| dependency.type_name() == POOL_PROVIDER);
        let (Some(provider_address), None) = (referenced.next(), referenced.next()) else { continue };
        let Some((_, provider)) = providers.iter().find(|(candidate, _)| *candidate == provider_address) else {
            continue;
        };
        let Some(oidc) = provider.get("oidc").filter(|oidc| !oidc.is_null()) else { continue };
        let allowed: Vec<String> = match oidc.get("allowed_audiences").map(Value::unmarked) {
            Some(Value::List(items)) if !items.is_empty() => {
                match items.iter().map(|item| spec.holes_text(item)).collect::<Option<Vec<_>>>() {
                    Some(items) => items,
                    None => continue,
                }
            }
            Some(Value::Unknown) => continue,
            _ => match default_audience(spec, provider) {
                Some(audience) => vec![audience],
                None => continue,
            },
        };
        if allowed.iter().any(|audience| could_be_equal(&asked, audience)) {
            continue;
        }
        let explicit = oidc.get("allowed_audiences").and_then(Value::as_list).is_some_and(|items| !items.is_empty());
        let shown: Vec<String> = allowed.iter().map(|audience| format!("{:?}", spec.show(audience))).collect();
        diags.push(finding(
            Diagnostic::error(
                "TF1080",
                "Token audience not accepted by the pool provider",
                format!(
                    "{address} fetches its OIDC token with the audience {:?}, but {provider_address} accepts only {}                      ({}), so Google STS refuses the token (\"The audience in ID Token does not match the expected \
                     audience\"). Ask for an accepted audience in url_source.url (&audience=...), or add this one \
                     to the provider's oidc.allowed_audiences.",
                    spec.show(&asked),
                    shown.join(", "),
                    if explicit { "its oidc.allowed_audiences" } else { "its default audience, as allowed_audiences is empty" },
                ),
            ),
            spec.nested_attr_span(address, "url_source", "url"),
            address,
            [spec.span(provider_address)],
        ));
    }
}

/// Stands for the project number in an audience built before Google assigns the provider's
/// name; [`could_be_equal`] matches it with any number.
const PROJECT_NUMBER: &str = "PROJECT_NUMBER";

/// An OIDC provider's default audience: `https://iam.googleapis.com/` and its resource name,
/// built from its pool and provider ids while the name is known only after apply.
fn default_audience(spec: &Spec<'_>, provider: &Value) -> Option<String> {
    if let Some(name) = spec.shaped(provider, "name") {
        return Some(format!("https://iam.googleapis.com/{name}"));
    }
    let pool = spec.shaped(provider, "workload_identity_pool_id")?;
    let id = spec.shaped(provider, "workload_identity_pool_provider_id")?;
    Some(format!(
        "https://iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{pool}/providers/{id}"
    ))
}

/// The value of `name` in the query of `url`, percent-decoded; holes pass through.
fn query_parameter(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map_or(url, |(_, query)| query);
    let value = query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
    let mut decoded = String::new();
    let mut bytes = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            if let Ok(byte) = u8::from_str_radix(&hex, 16) {
                bytes.push(byte);
                continue;
            }
            bytes.extend(format!("%{hex}").bytes());
            continue;
        }
        if !bytes.is_empty() {
            decoded.push_str(&String::from_utf8_lossy(&bytes));
            bytes.clear();
        }
        decoded.push(if c == '+' { ' ' } else { c });
    }
    decoded.push_str(&String::from_utf8_lossy(&bytes));
    Some(decoded)
}

/// Whether two audiences can be the same once everything is known. A part known only after
/// apply (a hole) stands for any text, [`PROJECT_NUMBER`] for any number; so only what the
/// known text rules out is a mismatch.
fn could_be_equal(a: &str, b: &str) -> bool {
    match (known(a), known(b)) {
        (Some(a), Some(b)) if !a.contains(PROJECT_NUMBER) && !b.contains(PROJECT_NUMBER) => a == b,
        _ => {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let (pattern_a, pattern_b) = (pattern(&a), pattern(&b));
            // Matching backtracks once per open piece: past a few, the text is too open to judge.
            let open = |pattern: &[Piece]| pattern.iter().filter(|piece| !matches!(piece, Piece::Char(_))).count();
            if open(&pattern_a) > MAX_OPEN_PIECES || open(&pattern_b) > MAX_OPEN_PIECES {
                return true;
            }
            matches_shape(&pattern_a, &b) || matches_shape(&pattern_b, &a)
        }
    }
}

/// The most holes and numbers an audience may hold for [`could_be_equal`] to judge it.
const MAX_OPEN_PIECES: usize = 4;

/// One piece of an audience read as a pattern.
#[derive(Clone, Copy, PartialEq)]
enum Piece {
    Char(char),
    /// A hole: any text, at least one character.
    Any,
    /// [`PROJECT_NUMBER`]: at least one digit.
    Number,
}

fn pattern(text: &[char]) -> Vec<Piece> {
    let marker: Vec<char> = PROJECT_NUMBER.chars().collect();
    let mut pieces = Vec::new();
    let mut index = 0;
    while index < text.len() {
        if text[index..].starts_with(&marker) {
            pieces.push(Piece::Number);
            index += marker.len();
        } else if is_hole(text[index]) {
            pieces.push(Piece::Any);
            index += 1;
        } else {
            pieces.push(Piece::Char(text[index]));
            index += 1;
        }
    }
    pieces
}

/// Whether `text` fits `pattern`; a hole in `text` itself fits any one piece.
fn matches_shape(pattern: &[Piece], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Piece::Char(c), rest)) => {
            text.first().is_some_and(|t| t == c || is_hole(*t)) && matches_shape(rest, &text[1..])
        }
        Some((Piece::Any, rest)) => (1..=text.len()).any(|taken| matches_shape(rest, &text[taken..])),
        Some((Piece::Number, rest)) => (1..=text.len())
            .take_while(|&taken| text[..taken].iter().all(|t| t.is_ascii_digit() || is_hole(*t)))
            .any(|taken| matches_shape(rest, &text[taken..])),
    }
}

/// TF1308 (a credential source that mixes Fargate and EC2) and TF1309 (pod identity with only
/// instance metadata credential sources).
fn credential_sources(spec: &Spec<'_>, configs: &[CredentialConfig<'_>], diags: &mut Diagnostics) {
    for config in configs {
        let Some(source) = &config.source else { continue };
        let endpoint = |name: &str| source.get(name).and_then(Json::as_str).filter(|url| !url.is_empty());
        let url = endpoint("url").and_then(metadata_of);
        let region = endpoint("region_url").and_then(metadata_of);
        let problem = if url.is_some() && region.is_some() && url != region {
            Some(
                "reads its region and its credentials from different metadata endpoints (169.254.169.254 is EC2's \
                 instance metadata, 169.254.170.2 Fargate's container endpoint), so one of them is unreachable \
                 (\"Unable to retrieve credentials\")",
            )
        } else if (url == Some(Metadata::Container) || region == Some(Metadata::Container))
            && endpoint("imdsv2_session_token_url").is_some()
        {
            Some(
                "uses the Fargate endpoints at 169.254.170.2 with an imdsv2_session_token_url, but Fargate has no \
                 IMDSv2 session tokens (\"Token refresh failed\")",
            )
        } else {
            None
        };
        if let Some(problem) = problem {
            diags.push(finding(
                Diagnostic::error(
                    "TF1308",
                    "Credential source mixes Fargate and EC2 endpoints",
                    format!(
                        "The external_account credential in {} {problem}. For EKS on Fargate or Pod Identity use \
                         region_url = \"http://169.254.170.2/v2/metadata/placement/region\" and url = \
                         \"http://169.254.170.2/v2/credentials\" and remove imdsv2_session_token_url; for EC2 use \
                         the 169.254.169.254 endpoints with imdsv2_session_token_url = \
                         \"http://169.254.169.254/latest/api/token\" (or a google_credential_config, which writes \
                         either).",
                        config.origin
                    ),
                ),
                spec.origin_span(config.origin),
                config.origin,
                [],
            ));
        }
    }
    let Some((association, _)) = spec.resources(POD_IDENTITY).next() else { return };
    if configs.is_empty() || !configs.iter().all(|config| config.metadata == Some(Metadata::Instance)) {
        return;
    }
    let first = &configs[0];
    diags.push(finding(
        Diagnostic::warning(
            "TF1309",
            "Pod identity workload reads EC2 instance metadata",
            format!(
                "{association} runs the workload under EKS Pod Identity, but every credential config of the spec \
                 ({}) reads the EC2 instance metadata service at 169.254.169.254: on Fargate there is none, and on \
                 EC2 nodes it answers with the node's role, not the pod's (\"Invalid role\"). Write the credential \
                 config for the pods' environment: environment = \"eks_fargate\" in google_credential_config, or \
                 the 169.254.170.2 endpoints without imdsv2_session_token_url.",
                configs.iter().map(|config| config.origin.to_string()).collect::<Vec<_>>().join(", ")
            ),
        ),
        first.span(spec, "environment"),
        first.origin,
        [spec.span(association)],
    ));
}

/// `VERTEX_PROJECT`, `vertex_project` (litellm), `GOOGLE_CLOUD_PROJECT` (seed 001's deployment):
/// names whose value Google reads as a project ID.
fn is_vertex_project(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("vertex_project") || name == "google_cloud_project"
}

/// `data.google_project.NAME.number` (or a managed `google_project`'s): a reference to a
/// project number.
fn is_project_number_reference(reference: &str) -> bool {
    let reference = reference.strip_prefix("data.").unwrap_or(reference);
    reference.starts_with("google_project.") && reference.ends_with(".number")
}

fn is_project_number(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// TF1305: `vertex_project` holds the project number.
fn vertex_project(spec: &Spec<'_>, diags: &mut Diagnostics) {
    // (where, the value as written, whether it is a number: known digits or a reference to one)
    let mut found: Vec<(Origin<'_>, String, bool)> = Vec::new();
    for (name, output) in spec.plan.outputs.iter().filter(|(name, _)| is_vertex_project(name)) {
        match output.after.as_ref() {
            Some(value) if value.as_str().is_some() => {
                let value = value.as_str().unwrap_or_default();
                found.push((Origin::Output(name.as_str()), value.to_owned(), is_project_number(value)))
            }
            // Unknown at lint: judged by the reference it is (`data.google_project.NAME.number`).
            Some(value) if value.is_unknown() => {
                let written = spec.config.outputs.get(name).map(|o| o.value.expr.to_string().trim().to_owned());
                if let Some(written) = written.filter(|written| is_project_number_reference(written)) {
                    found.push((Origin::Output(name.as_str()), format!("${{{written}}}"), true));
                }
            }
            _ => {}
        }
    }
    for (name, value) in spec.variables {
        if let Some(value) = value.as_str().filter(|_| is_vertex_project(name)) {
            found.push((Origin::Variable(name.as_str()), value.to_owned(), is_project_number(value)));
        }
    }
    for (origin, value) in spec.all_values().filter(|(_, value)| mentions(value, "vertex_project")) {
        for object in spec.json_objects(value) {
            if let Some(project) = object.get("vertex_project").and_then(Json::as_str) {
                found.push((origin, project.to_owned(), is_project_number(project)));
            }
        }
    }
    for (origin, value, _) in found.into_iter().filter(|(_, _, number)| *number) {
        diags.push(finding(
            Diagnostic::error(
                "TF1305",
                "vertex_project holds the project number",
                format!(
                    "{origin} gives vertex_project the project number {value}, but Vertex AI addresses projects by \
                     ID, so every call answers 404. Use the project ID: data.google_project.NAME.project_id (the \
                     number belongs in audiences and principalSets only)."
                ),
            ),
            spec.origin_span(origin),
            origin,
            spec.data(PROJECT).map(|(address, _)| spec.span(address)),
        ));
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn token_audiences_are_read_from_the_url_and_judged_as_far_as_they_are_known() {
        let url = "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=https%3A%2F%2Fiam.googleapis.com%2Fprojects%2F1%2Fp";
        assert_eq!(query_parameter(url, "audience").as_deref(), Some("https://iam.googleapis.com/projects/1/p"));
        assert_eq!(query_parameter("https://t.example/token?api-version=2.0", "audience"), None);
        let default =
            "https://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/ci/providers/gh";
        assert!(could_be_equal(
            "https://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/ci/providers/gh",
            default
        ));
        assert!(!could_be_equal(
            "https://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/ci/providers/other",
            default
        ));
        let hole = char::from_u32(0xF0000).unwrap();
        assert!(could_be_equal(
            &format!("https://iam.googleapis.com/projects/{hole}/x"),
            "https://iam.googleapis.com/projects/7/x"
        ));
        assert!(!could_be_equal("https://github.com/acme", "https://iam.googleapis.com/projects/7/x"));
    }

    use super::*;

    #[test]
    fn principals_and_role_arns_parse() {
        let member = "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/LitellmPodRole";
        let parsed = principal(member).unwrap();
        assert_eq!((parsed.project, parsed.pool), ("123", "aws-pool"));
        let (name, value) = parsed.attribute.unwrap();
        assert_eq!(name, "aws_role");
        assert_eq!(role_arn(value), Some(("111122223333", "LitellmPodRole", false)));
        assert_eq!(role_arn("arn:aws:iam::111122223333:role/path/Gateway"), Some(("111122223333", "Gateway", true)));
        assert!(principal("serviceAccount:a@p.iam.gserviceaccount.com").is_none());
        let all = principal("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*");
        assert!(all.unwrap().attribute.is_none());
    }

    #[test]
    fn conditions_name_their_attributes() {
        let condition =
            "attribute.aws_role.startsWith('arn') && assertion.attribute.x == 'y' || attribute.team_1 in ['a']";
        assert_eq!(condition_attributes(condition), BTreeSet::from(["attribute.aws_role", "attribute.team_1"]));
    }

    #[test]
    fn audiences_and_endpoints_parse() {
        let audience =
            "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider";
        assert_eq!(audience_parts(audience), Some(("123", "aws-pool", "aws-provider")));
        assert_eq!(metadata_of("http://169.254.170.2/v2/credentials"), Some(Metadata::Container));
        assert_eq!(metadata_of("http://169.254.169.254/latest/api/token"), Some(Metadata::Instance));
        assert_eq!(metadata_of("https://example.com"), None);
    }
}
