//! `trustform verify`: after apply, exercise every trust chain the state holds, the way the
//! workloads will, and name the link that refuses.
//!
//! The chains, read from the state (the cloud types are named here, in the CLI, never in the
//! engine):
//! - AWS workload -> Google: a pod of an `aws_eks_pod_identity_association` gets its role's
//!   session from EKS Auth (`AssumeRoleForPodIdentity`), signs `GetCallerIdentity` with it,
//!   exchanges that at Google's STS against each AWS `google_iam_workload_identity_pool_provider`,
//!   and asks `generateAccessToken` for the service accounts the pool's credential configs
//!   (or `roles/iam.workloadIdentityUser` grants) name;
//! - OIDC (EKS service account, CI) -> AWS: `AssumeRoleWithWebIdentity` on every `aws_iam_role`
//!   whose trust names an OIDC provider, with the subjects its conditions name;
//! - OIDC -> Entra ID: a client assertion for every federated identity credential (managed
//!   identity or application), from the workload's issuer with the token exchange audience;
//! - OIDC -> Google: the token exchange against every OIDC pool provider with the claims its
//!   grants name, then `generateAccessToken`.
//!
//! Each chain also tries tokens that must be refused (another namespace, service account,
//! branch or repository; under `--sandbox`, the sandbox's own AWS identity at Google); one that
//! is accepted is a finding. Under `--sandbox` the workload tokens are minted with the key the
//! emulators trust (`trustform_sandbox::federation::mint_token`). Against real clouds only the
//! AWS -> Google chain can be exercised, with the environment's AWS credentials (no issuer's
//! signing key is at hand to mint the others): every call is an exchange, none writes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::Config;
use trustform_lang::ResourceAddr;
use trustform_state::State;

mod aws;
mod entra;
mod google;

use self::aws::OidcToAws;
use self::entra::OidcToEntra;
use self::google::{AwsToGoogle, Grant, OidcToGoogle, PoolProvider};
use crate::args::VerifyArgs;
use crate::context::Project;
use crate::project::{read_state, CmdResult};
use crate::Ctx;

/// What a minted "other" workload is called: no spec names it.
const OTHER: &str = "trustform-verify-other";
/// What a wildcard of a trust condition is filled with to make a token it admits.
const FILLER: &str = "trustform-verify";
/// The audience Azure's workload identity tokens carry
/// (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust#important-considerations-and-restrictions).
const AZURE_TOKEN_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The audience of a Pod Identity service account token
/// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

pub async fn run(ctx: &Ctx, args: VerifyArgs) -> CmdResult {
    let project = Project::load(ctx)?;
    let encryption = project.encryption(ctx)?;
    let store = project.backend(ctx, args.state.as_deref(), encryption.state).await?;
    let state = read_state(&store, ctx.err).await?;
    let spec = Spec { config: &project.config, state: &state };
    let sandboxed = ctx.sandboxed();
    let mut report = Report::default();
    for chain in discover(&spec) {
        chain.exercise(&spec, sandboxed, &mut report).await;
    }
    if !sandboxed {
        for chain in &report.unexercised {
            report.diags.push(
                Diagnostic::warning(
                    "TF1342",
                    "Trust chain not exercised",
                    format!(
                        "{chain}: against real clouds, verify can only present the environment's own AWS identity \
                         (no issuer's signing key is at hand to mint this workload's token). Run `trustform verify` \
                         where the workload runs, or `trustform verify --sandbox` to exercise it against the emulators."
                    ),
                )
                .with_address(chain),
            );
        }
    }
    let sources = &project.config.all_sources();
    if args.json {
        let mut answer = crate::render::to_json(&report.diags);
        answer["chains"] = Value::Array(report.chains.iter().map(ChainReport::to_json).collect());
        out_raw!("{}\n", crate::escape::json(&answer.to_string()));
        return Ok(if report.diags.has_errors() { 1 } else { 0 });
    }
    render(&report, sandboxed);
    ctx.report(&report.diags, sources)?;
    if report.chains.is_empty() && report.diags.is_empty() {
        outln!(
            "No trust chain to verify: the state holds no pool provider, web identity role or federated credential."
        );
    } else if report.chains.is_empty() {
        outln!("No trust chain could be exercised.");
    } else if report.diags.is_empty() {
        outln!("Every trust chain works, and refuses the workloads it must.");
    } else {
        outln!("Every trust chain exercised works, and refuses the workloads it must; the warnings name those that were not.");
    }
    Ok(0)
}

/// What the state and the spec say, with the spans diagnostics point at.
struct Spec<'a> {
    config: &'a Config,
    state: &'a State,
}

impl Spec<'_> {
    fn of_type(&self, type_name: &str) -> impl Iterator<Item = (&ResourceAddr, &Value)> + '_ {
        let type_name = type_name.to_owned();
        self.state.resources.iter().filter(move |(_, r)| r.type_name == type_name).map(|(a, r)| (a, &*r.attributes))
    }

    /// A diagnostic at the block of `address`, with the blocks of `related`.
    fn finding(&self, diagnostic: Diagnostic, address: &ResourceAddr, related: &[&ResourceAddr]) -> Diagnostic {
        // The block in whichever module the address is in (`module.vertex.aws_iam_role.gateway`).
        let span = |address: &ResourceAddr| {
            self.config.resource_in(&address.module, &address.resource).map(|r| r.span.clone())
        };
        diagnostic.with_span(span(address)).with_related(related.iter().filter_map(|a| span(a))).with_address(address)
    }

    /// The OIDC issuer of an EKS cluster, from an `aws_eks_cluster` data source in the state.
    fn cluster_issuer(&self, cluster: &str) -> Option<String> {
        self.of_type("aws_eks_cluster")
            .find(|(_, c)| text(c, "name") == cluster)
            .and_then(|(_, c)| nested_text(c, &["identity", "oidc", "issuer"]))
    }

    /// `system:serviceaccount:NS:SA` of every Pod Identity association on a cluster whose
    /// issuer is `host` (host and path, no scheme).
    fn service_accounts_on(&self, host: &str) -> Vec<String> {
        let subjects: BTreeSet<String> = self
            .of_type("aws_eks_pod_identity_association")
            .filter(|(_, a)| {
                self.cluster_issuer(&text(a, "cluster_name"))
                    .is_some_and(|issuer| issuer.trim_start_matches("https://") == host)
            })
            .map(|(_, a)| format!("system:serviceaccount:{}:{}", text(a, "namespace"), text(a, "service_account")))
            .collect();
        subjects.into_iter().collect()
    }

    fn cluster_issuers(&self) -> Vec<String> {
        self.of_type("aws_eks_cluster").filter_map(|(_, c)| nested_text(c, &["identity", "oidc", "issuer"])).collect()
    }
}

/// The value at `path`, a nested block read whether the schema keeps it as a list of one or as
/// an object (`aws[0].account_id` or `aws.account_id`).
fn nested<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| {
        let value = match value {
            Value::Array(items) => items.first()?,
            other => other,
        };
        value.get(key)
    })
}

fn nested_text(value: &Value, path: &[&str]) -> Option<String> {
    nested(value, path).and_then(Value::as_str).map(str::to_owned)
}

fn text(value: &Value, name: &str) -> String {
    value.get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// One link's outcome, as shown.
#[derive(Debug, Clone)]
struct Step {
    ok: bool,
    text: String,
}

#[derive(Debug, Clone)]
struct ChainReport {
    name: String,
    steps: Vec<Step>,
}

impl ChainReport {
    fn works(&self) -> bool {
        self.steps.iter().all(|step| step.ok)
    }

    fn to_json(&self) -> Value {
        json!({
            "chain": self.name,
            "works": self.works(),
            "steps": self.steps.iter().map(|s| json!({ "ok": s.ok, "step": s.text })).collect::<Vec<_>>(),
        })
    }
}

#[derive(Default)]
struct Report {
    chains: Vec<ChainReport>,
    diags: Diagnostics,
    /// Chains that could not be exercised against real clouds.
    unexercised: Vec<String>,
}

fn render(report: &Report, sandboxed: bool) {
    if sandboxed {
        outln!("Verifying trust chains against the sandbox (workload tokens signed with the sandbox's key).\n");
    } else {
        outln!(
            "Verifying trust chains against the clouds, with the environment's credentials (read-only exchanges).\n"
        );
    }
    for chain in &report.chains {
        outln!("{} {}", if chain.works() { "✔" } else { "✘" }, chain.name);
        for step in &chain.steps {
            outln!("    {} {}", if step.ok { "✔" } else { "✘" }, step.text);
        }
    }
    let failed = report.chains.iter().filter(|c| !c.works()).count();
    outln!("\n{} chain(s) verified, {failed} failing.", report.chains.len());
}

/// A workload token, minted for the sandbox: `iss`, `sub`, `aud` and the issuer's other claims.
fn mint(claims: Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let mut claims = claims;
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 600);
    trustform_sandbox::federation::mint_token(&claims)
}

/// The claims a Kubernetes service account token carries (EKS projects them,
/// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens).
fn service_account_claims(issuer: &str, namespace: &str, account: &str, audience: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": format!("system:serviceaccount:{namespace}:{account}"),
        "aud": [audience],
        "kubernetes.io": { "namespace": namespace, "serviceaccount": { "name": account }, "pod": { "name": format!("{account}-verify") } },
    })
}

enum Chain {
    AwsToGoogle(AwsToGoogle),
    OidcToAws(OidcToAws),
    OidcToEntra(OidcToEntra),
    OidcToGoogle(OidcToGoogle),
}

fn discover(spec: &Spec<'_>) -> Vec<Chain> {
    let mut chains = Vec::new();
    let providers: Vec<PoolProvider> =
        spec.of_type("google_iam_workload_identity_pool_provider").map(PoolProvider::read).collect();
    let grants: Vec<Grant> = spec
        .of_type("google_service_account_iam_member")
        .chain(spec.of_type("google_service_account_iam_binding"))
        .filter(|(_, g)| text(g, "role") == "roles/iam.workloadIdentityUser")
        .flat_map(|(address, g)| {
            let account = text(g, "service_account_id");
            let email = account.rsplit('/').next().unwrap_or_default().to_owned();
            let mut members = strings(g.get("members"));
            members.extend(g.get("member").and_then(Value::as_str).map(str::to_owned));
            members.into_iter().map(move |member| Grant { address: address.clone(), email: email.clone(), member })
        })
        .collect();
    let credential_configs: Vec<(String, String, String)> = spec
        .of_type("google_credential_config")
        .map(|(_, c)| (text(c, "workload_identity_provider"), text(c, "audience"), text(c, "service_account_email")))
        .collect();
    // What the workload presents: each credential config's audience and service account (the
    // config names the provider however the spec wrote it: a config of the provider's pool, or
    // of no AWS provider's pool at all, is the provider's workload's), else the provider's own
    // audience and the accounts granted to its pool.
    let aws_pools: Vec<String> =
        providers.iter().filter(|p| p.aws_account.is_some()).filter_map(|p| pool_id(&p.name)).collect();
    let targets_for = |provider: &PoolProvider| -> Vec<(String, String)> {
        let configured: Vec<(String, String)> = credential_configs
            .iter()
            .filter(|(name, _, _)| {
                let pool = pool_id(name);
                pool.is_some() && pool == pool_id(&provider.name)
                    || !aws_pools.iter().any(|aws_pool| pool.as_deref() == Some(aws_pool.as_str()))
            })
            .map(|(_, audience, email)| (audience.clone(), email.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !configured.is_empty() {
            return configured;
        }
        grants
            .iter()
            .filter(|g| g.member.contains(&format!("{}/", provider.pool)))
            .map(|g| (provider.audience(), g.email.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let mut web_identity: Vec<OidcToAws> = Vec::new();
    let oidc_providers: BTreeMap<String, (ResourceAddr, Vec<String>)> = spec
        .of_type("aws_iam_openid_connect_provider")
        .map(|(a, p)| (text(p, "arn"), (a.clone(), strings(p.get("client_id_list")))))
        .collect();
    for (address, role) in spec.of_type("aws_iam_role") {
        let Ok(trust) = serde_json::from_str::<Value>(&text(role, "assume_role_policy")) else { continue };
        for statement in statements(&trust) {
            let federated = strings(statement.get("Principal").and_then(|p| p.get("Federated")));
            let actions = strings(statement.get("Action"));
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
                || !actions.iter().any(|a| a == "sts:AssumeRoleWithWebIdentity")
            {
                continue;
            }
            for provider_arn in federated {
                let Some(host) = provider_arn.split_once(":oidc-provider/").map(|(_, host)| host.to_owned()) else {
                    continue;
                };
                web_identity.push(OidcToAws {
                    role: address.clone(),
                    role_arn: text(role, "arn"),
                    provider: oidc_providers.get(&provider_arn).cloned(),
                    host,
                    condition: statement.get("Condition").cloned().unwrap_or(Value::Null),
                });
            }
        }
    }
    let associations: Vec<(ResourceAddr, Value)> =
        spec.of_type("aws_eks_pod_identity_association").map(|(a, v)| (a.clone(), v.clone())).collect();
    for provider in providers.iter().filter(|p| p.aws_account.is_some()) {
        let targets = targets_for(provider);
        // Web identity roles (IRSA) whose sessions the pool's grants name: a workload without a
        // Pod Identity association gets its session from one of them.
        let irsa: Vec<OidcToAws> = web_identity
            .iter()
            .filter(|role| {
                let name = role.role_arn.rsplit('/').next().unwrap_or_default();
                grants.iter().any(|g| {
                    g.member.contains(&format!("{}/", provider.pool))
                        && g.member.ends_with(&format!(":assumed-role/{name}"))
                })
            })
            .cloned()
            .collect();
        let pool_grants: Vec<Grant> =
            grants.iter().filter(|g| g.member.contains(&format!("{}/", provider.pool))).cloned().collect();
        for (address, association) in &associations {
            chains.push(Chain::AwsToGoogle(AwsToGoogle {
                association: Some((address.clone(), association.clone())),
                provider: provider.clone(),
                targets: targets.clone(),
                grants: pool_grants.clone(),
                irsa: irsa.clone(),
            }));
        }
        if associations.is_empty() {
            chains.push(Chain::AwsToGoogle(AwsToGoogle {
                association: None,
                provider: provider.clone(),
                targets,
                grants: pool_grants,
                irsa,
            }));
        }
    }
    for provider in providers.iter().filter(|p| p.oidc_issuer.is_some()) {
        let pool_grants: Vec<Grant> =
            grants.iter().filter(|g| g.member.contains(&format!("{}/", provider.pool))).cloned().collect();
        chains.push(Chain::OidcToGoogle(OidcToGoogle { provider: provider.clone(), grants: pool_grants }));
    }
    chains.extend(web_identity.iter().cloned().map(Chain::OidcToAws));
    let identities: BTreeMap<String, (String, String)> = spec
        .of_type("azurerm_user_assigned_identity")
        .map(|(_, i)| (text(i, "id").to_ascii_lowercase(), (text(i, "client_id"), text(i, "tenant_id"))))
        .collect();
    let applications: BTreeMap<String, String> =
        spec.of_type("azuread_application").map(|(_, a)| (text(a, "id"), text(a, "client_id"))).collect();
    let tenant = spec
        .of_type("azurerm_client_config")
        .map(|(_, c)| text(c, "tenant_id"))
        .next()
        .or_else(|| std::env::var("ARM_TENANT_ID").ok())
        .unwrap_or_default();
    for (address, credential) in spec.of_type("azurerm_federated_identity_credential") {
        let parent = text(credential, "parent_id").to_ascii_lowercase();
        let (client_id, identity_tenant) = identities.get(&parent).cloned().unwrap_or_default();
        chains.push(Chain::OidcToEntra(OidcToEntra {
            credential: address.clone(),
            client_id,
            tenant: if identity_tenant.is_empty() { tenant.clone() } else { identity_tenant },
            issuer: text(credential, "issuer"),
            subject: text(credential, "subject"),
        }));
    }
    for (address, credential) in spec.of_type("azuread_application_federated_identity_credential") {
        let application = text(credential, "application_id");
        let client_id = applications.get(&application).cloned().unwrap_or_default();
        chains.push(Chain::OidcToEntra(OidcToEntra {
            credential: address.clone(),
            client_id,
            tenant: tenant.clone(),
            issuer: text(credential, "issuer"),
            subject: text(credential, "subject"),
        }));
    }
    chains
}

/// The pool id of a provider's resource name (`.../workloadIdentityPools/POOL/providers/ID`).
fn pool_id(name: &str) -> Option<String> {
    name.split_once("/workloadIdentityPools/").and_then(|(_, rest)| rest.split('/').next()).map(str::to_owned)
}

fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

impl Chain {
    async fn exercise(&self, spec: &Spec<'_>, sandboxed: bool, report: &mut Report) {
        match self {
            Chain::AwsToGoogle(chain) => chain.exercise(spec, sandboxed, report).await,
            Chain::OidcToAws(chain) if sandboxed => chain.exercise(spec, report).await,
            Chain::OidcToEntra(chain) if sandboxed => chain.exercise(spec, report).await,
            Chain::OidcToGoogle(chain) if sandboxed => chain.exercise(spec, report).await,
            Chain::OidcToAws(chain) => report.unexercised.push(chain.role.to_string()),
            Chain::OidcToEntra(chain) => report.unexercised.push(chain.credential.to_string()),
            Chain::OidcToGoogle(chain) => report.unexercised.push(chain.provider.address.to_string()),
        }
    }
}

/// `text` ending with a full stop, once.
fn sentence(text: &str) -> String {
    if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Subjects of other workloads of the same issuer that a trust for `subject` must refuse: the
/// same service account in another namespace, another service account, another branch, another
/// repository (the subject formats: Kubernetes `system:serviceaccount:NS:SA`; GitHub
/// `repo:OWNER/REPO:ref:refs/heads/BRANCH`,
/// https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims;
/// CircleCI `org/ORG/project/PROJECT/user/USER/vcs-origin/ORIGIN/vcs-ref/REF`,
/// https://circleci.com/docs/openid-connect-tokens/).
fn others(subject: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    if let Some(rest) = subject.strip_prefix("system:serviceaccount:") {
        if let Some((namespace, account)) = rest.split_once(':') {
            found.push(("another namespace", format!("system:serviceaccount:{OTHER}:{account}")));
            found.push(("another service account", format!("system:serviceaccount:{namespace}:{OTHER}")));
        }
    }
    if let Some(at) = subject.find("refs/heads/") {
        let end = subject[at..].find(':').map_or(subject.len(), |i| at + i);
        found.push(("another branch", format!("{}refs/heads/{OTHER}{}", &subject[..at], &subject[end..])));
    }
    if let Some(rest) = subject.strip_prefix("repo:") {
        if let Some((repository, _)) = rest.split_once(':').filter(|_| !subject.contains("refs/heads/")) {
            found.push(("another branch", format!("repo:{repository}:ref:refs/heads/{OTHER}")));
        }
        if let Some((repository, tail)) = rest.split_once(':') {
            let name = repository.split('/').nth(1).unwrap_or(repository);
            found.push(("another repository", format!("repo:{OTHER}/{name}:{tail}")));
        }
    }
    if let Some(at) = subject.find("/vcs-origin/") {
        let start = at + "/vcs-origin/".len();
        let end = subject[start..].find("/vcs-ref/").map_or(subject.len(), |i| start + i);
        found.push(("another repository", format!("{}{OTHER}{}", &subject[..start], &subject[end..])));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn other_workloads_change_one_part_of_the_subject() {
        let kubernetes = others("system:serviceaccount:litellm:gateway");
        assert_eq!(kubernetes[0].1, format!("system:serviceaccount:{OTHER}:gateway"));
        assert_eq!(kubernetes[1].1, format!("system:serviceaccount:litellm:{OTHER}"));
        let github = others("repo:acme/gw:ref:refs/heads/main");
        assert_eq!(github[0], ("another branch", format!("repo:acme/gw:ref:refs/heads/{OTHER}")));
        assert_eq!(github[1], ("another repository", format!("repo:{OTHER}/gw:ref:refs/heads/main")));
        let circleci = others("org/o/project/p/user/u/vcs-origin/github.com/acme/gw/vcs-ref/refs/heads/main");
        assert_eq!(
            circleci[0].1,
            format!("org/o/project/p/user/u/vcs-origin/github.com/acme/gw/vcs-ref/refs/heads/{OTHER}")
        );
        assert_eq!(circleci[1].1, format!("org/o/project/p/user/u/vcs-origin/{OTHER}/vcs-ref/refs/heads/main"));
        let any_ref = others("repo:acme/gw:trustform-verify");
        assert_eq!(any_ref[0], ("another branch", format!("repo:acme/gw:ref:refs/heads/{OTHER}")));
        assert!(others("plain").is_empty());
    }
}
