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
    let sources = &project.config.sources;
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
        self.state.resources.iter().filter(move |(_, r)| r.type_name == type_name).map(|(a, r)| (a, &r.attributes))
    }

    /// A diagnostic at the block of `address`, with the blocks of `related`.
    fn finding(&self, diagnostic: Diagnostic, address: &ResourceAddr, related: &[&ResourceAddr]) -> Diagnostic {
        let span = |address: &ResourceAddr| self.config.resources.get(&address.resource).map(|r| r.span.clone());
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
    let associations: Vec<(ResourceAddr, Value)> =
        spec.of_type("aws_eks_pod_identity_association").map(|(a, v)| (a.clone(), v.clone())).collect();
    for provider in providers.iter().filter(|p| p.aws_account.is_some()) {
        let targets = targets_for(provider);
        let pool_grants: Vec<Grant> =
            grants.iter().filter(|g| g.member.contains(&format!("{}/", provider.pool))).cloned().collect();
        for (address, association) in &associations {
            chains.push(Chain::AwsToGoogle(AwsToGoogle {
                association: Some((address.clone(), association.clone())),
                provider: provider.clone(),
                targets: targets.clone(),
                grants: pool_grants.clone(),
            }));
        }
        if associations.is_empty() {
            chains.push(Chain::AwsToGoogle(AwsToGoogle {
                association: None,
                provider: provider.clone(),
                targets,
                grants: pool_grants,
            }));
        }
    }
    for provider in providers.iter().filter(|p| p.oidc_issuer.is_some()) {
        let pool_grants: Vec<Grant> =
            grants.iter().filter(|g| g.member.contains(&format!("{}/", provider.pool))).cloned().collect();
        chains.push(Chain::OidcToGoogle(OidcToGoogle { provider: provider.clone(), grants: pool_grants }));
    }
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
                chains.push(Chain::OidcToAws(OidcToAws {
                    role: address.clone(),
                    role_arn: text(role, "arn"),
                    provider: oidc_providers.get(&provider_arn).cloned(),
                    host,
                    condition: statement.get("Condition").cloned().unwrap_or(Value::Null),
                }));
            }
        }
    }
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

/// A pool provider as the state records it.
#[derive(Debug, Clone)]
struct PoolProvider {
    address: ResourceAddr,
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID`.
    name: String,
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL`.
    pool: String,
    aws_account: Option<String>,
    oidc_issuer: Option<String>,
    allowed_audiences: Vec<String>,
    mapping: BTreeMap<String, String>,
    condition: String,
}

impl PoolProvider {
    fn read((address, p): (&ResourceAddr, &Value)) -> PoolProvider {
        let name = text(p, "name");
        let pool = name.split("/providers/").next().unwrap_or_default().to_owned();
        let mapping = p
            .get("attribute_mapping")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        PoolProvider {
            address: address.clone(),
            name,
            pool,
            aws_account: nested_text(p, &["aws", "account_id"]),
            oidc_issuer: nested_text(p, &["oidc", "issuer_uri"]),
            allowed_audiences: strings(nested(p, &["oidc", "allowed_audiences"])),
            mapping,
            condition: text(p, "attribute_condition"),
        }
    }

    fn audience(&self) -> String {
        format!("//iam.googleapis.com/{}", self.name)
    }
}

/// A `roles/iam.workloadIdentityUser` member on a service account.
#[derive(Debug, Clone)]
struct Grant {
    address: ResourceAddr,
    email: String,
    member: String,
}

/// Turns a refused Google exchange into its finding.
fn google_finding(
    spec: &Spec<'_>,
    provider: &PoolProvider,
    grants: &[Grant],
    email: Option<&str>,
    audience: &str,
    error: &trustform_gcp::federation::ExchangeError,
    expected_role: Option<&str>,
) -> Diagnostic {
    use trustform_gcp::federation::ExchangeError;
    let ExchangeError::Refused { code, message } = error else {
        return spec.finding(
            Diagnostic::error(
                "TF1340",
                "Trust chain could not be exercised",
                format!("{error}. Check the endpoint and network, then run verify again."),
            ),
            &provider.address,
            &[],
        );
    };
    let said = format!("Google answered {}", sentence(&format!("{code}: {message}")));
    match (code.as_str(), email) {
        ("invalid_target", _) => {
            let project = audience.split("/projects/").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default();
            let (code, summary) = if project.bytes().all(|b| b.is_ascii_digit()) {
                ("TF1316", "Credential audience names no provider of its pool")
            } else {
                ("TF1304", "Credential audience names the project by ID")
            };
            // At the credential config that presents the audience, when the state has one.
            let config = spec.of_type("google_credential_config").find(|(_, c)| text(c, "audience") == audience).map(|(a, _)| a.clone());
            let (at, related): (&ResourceAddr, Vec<&ResourceAddr>) = match &config {
                Some(config) => (config, vec![&provider.address]),
                None => (&provider.address, Vec::new()),
            };
            spec.finding(
                Diagnostic::error(
                    code,
                    summary,
                    format!("{said} The workload presents the audience {audience}, but the provider is {} (\"Invalid audience\"). Point the credential config at google_iam_workload_identity_pool_provider.NAME.name, which names the project by number.", provider.audience()),
                ),
                at,
                &related,
            )
        }
        ("unauthorized_client", _) => spec.finding(
            Diagnostic::error(
                "TF1347",
                "Pool provider's attribute condition refuses the workload",
                format!("{said} The attribute_condition {:?} of {} is false for the workload's token. Write the condition over what the workload's token carries (its role, repository or subject).", provider.condition, provider.address),
            ),
            &provider.address,
            &[],
        ),
        ("invalid_grant", _) if message.contains("AWS account") => spec.finding(
            Diagnostic::error(
                "TF1303",
                "principalSet and pool provider name different AWS accounts",
                format!("{said} Set aws.account_id of {} to the account the workload runs in (data.aws_caller_identity.NAME.account_id).", provider.address),
            ),
            &provider.address,
            &[],
        ),
        ("invalid_grant", _) if message.contains("audience") => spec.finding(
            Diagnostic::error(
                "TF1348",
                "Pool provider does not accept the token's audience",
                format!("{said} List the audience the workload's token carries in oidc.allowed_audiences of {}, or have the workload ask for the provider's default audience https:{}.", provider.address, provider.audience()),
            ),
            &provider.address,
            &[],
        ),
        ("invalid_grant", _) if message.contains("issuer") => spec.finding(
            Diagnostic::error(
                "TF1349",
                "Pool provider trusts another issuer",
                format!("{said} Set oidc.issuer_uri of {} to the workload's issuer.", provider.address),
            ),
            &provider.address,
            &[],
        ),
        (_, Some(email)) => {
            let on_account: Vec<&Grant> = grants.iter().filter(|g| g.email == email).collect();
            let related: Vec<&ResourceAddr> = vec![&provider.address];
            let Some(first) = on_account.first() else {
                return spec.finding(
                    Diagnostic::error(
                        "TF1307",
                        "Impersonated service account lacks workloadIdentityUser",
                        format!("{said} No roles/iam.workloadIdentityUser member of pool {} is granted on {email} (\"PERMISSION_DENIED iam.serviceAccounts.getAccessToken\"). Add a google_service_account_iam_member granting it to the workload's principalSet.", provider.pool),
                    ),
                    &provider.address,
                    &[],
                );
            };
            if let Some(grant) = on_account.iter().find(|g| g.member.contains("attribute.aws_role/arn:aws:iam::")) {
                return spec.finding(
                    Diagnostic::error(
                        "TF1302",
                        "principalSet names the role, not the assumed role",
                        format!("{said} {} grants to {}, but the workload's token carries attribute.aws_role {} (Google's default mapping gives the session's assumed-role ARN). Write attribute.aws_role/arn:aws:sts::ACCOUNT:assumed-role/NAME.", grant.address, grant.member, expected_role.unwrap_or("arn:aws:sts::ACCOUNT:assumed-role/NAME")),
                    ),
                    &grant.address,
                    &related,
                );
            }
            let wanted = expected_role.map(|role| format!(" The workload's token carries attribute.aws_role {role}.")).unwrap_or_default();
            spec.finding(
                Diagnostic::error(
                    "TF1350",
                    "No workloadIdentityUser member matches the workload",
                    format!("{said} The members granted roles/iam.workloadIdentityUser on {email} ({}) name no principal the workload's token maps to.{wanted} Grant to the principalSet of the attribute the workload carries.", on_account.iter().map(|g| g.member.as_str()).collect::<Vec<_>>().join(", ")),
                ),
                &first.address,
                &related,
            )
        }
        _ => spec.finding(
            Diagnostic::error("TF1340", "Trust chain refused the workload", format!("{said} Fix the link named above.")),
            &provider.address,
            &[],
        ),
    }
}

/// A must-refuse principal that Google let through.
fn google_overreach(spec: &Spec<'_>, provider: &PoolProvider, grants: &[Grant], email: &str, who: &str) -> Diagnostic {
    if let Some(grant) = grants.iter().find(|g| g.email == email && g.member.ends_with("/*")) {
        return spec.finding(
            Diagnostic::error(
                "TF1321",
                "Grant to every identity of a workload identity pool",
                format!("{who} could impersonate {email}: {} grants roles/iam.workloadIdentityUser to {}, every identity the pool admits. Grant to the workload's attribute (principalSet://.../attribute.aws_role/ARN) instead.", grant.address, grant.member),
            ),
            &grant.address,
            &[&provider.address],
        );
    }
    if provider.condition.is_empty() {
        return spec.finding(
            Diagnostic::error(
                "TF1322",
                "Pool provider has no attribute condition",
                format!("{who} could impersonate {email} through {}, which has no attribute_condition. Add one that admits only the workload's tokens.", provider.address),
            ),
            &provider.address,
            &[],
        );
    }
    spec.finding(
        Diagnostic::error(
            "TF1341",
            "Trust chain admits a workload it must refuse",
            format!("{who} could impersonate {email} through {}. Narrow the grants and the attribute_condition to the workload.", provider.address),
        ),
        &provider.address,
        &[],
    )
}

struct AwsToGoogle {
    association: Option<(ResourceAddr, Value)>,
    provider: PoolProvider,
    /// The audiences the workload presents, each with the service account it impersonates.
    targets: Vec<(String, String)>,
    grants: Vec<Grant>,
}

impl AwsToGoogle {
    async fn exercise(&self, spec: &Spec<'_>, sandboxed: bool, report: &mut Report) {
        use trustform_aws::federation as aws;
        let name = match &self.association {
            Some((address, _)) if sandboxed => {
                format!("{address} → {} → Google service account", self.provider.address)
            }
            _ => format!("AWS environment identity → {} → Google service account", self.provider.address),
        };
        let mut chain = ChainReport { name, steps: Vec::new() };
        let session = match (&self.association, sandboxed) {
            (Some((address, association)), true) => {
                let cluster = text(association, "cluster_name");
                let (namespace, account) = (text(association, "namespace"), text(association, "service_account"));
                let issuer = spec
                    .cluster_issuer(&cluster)
                    .unwrap_or_else(|| trustform_sandbox::world::cluster_issuer(&cluster, &region()));
                let token = mint(service_account_claims(&issuer, &namespace, &account, POD_IDENTITY_AUDIENCE));
                let session = aws::assume_role_for_pod_identity(&cluster, &token).await;
                let other = mint(service_account_claims(&issuer, OTHER, &account, POD_IDENTITY_AUDIENCE));
                match aws::assume_role_for_pod_identity(&cluster, &other).await {
                    Err(aws::ExchangeError::Refused { code, .. }) => chain.steps.push(Step {
                        ok: true,
                        text: format!(
                            "refused, as it must be: a pod of service account {account} in namespace {OTHER} ({code})"
                        ),
                    }),
                    Ok(_) => {
                        chain.steps.push(Step {
                            ok: false,
                            text: format!("a pod in namespace {OTHER} got the role's session"),
                        });
                        report.diags.push(spec.finding(
                            Diagnostic::error("TF1341", "Trust chain admits a workload it must refuse", format!("EKS Pod Identity gave a pod of namespace {OTHER} the session of {address}'s role. Associate the role with the workload's namespace and service account only.")),
                            address,
                            &[],
                        ));
                    }
                    Err(error) => chain
                        .steps
                        .push(Step { ok: false, text: format!("another namespace could not be tried: {error}") }),
                }
                match session {
                    Ok(session) => {
                        chain.steps.insert(
                            0,
                            Step {
                                ok: true,
                                text: format!(
                                    "pod {namespace}/{account} on cluster {cluster}: EKS Pod Identity session {}",
                                    session.arn
                                ),
                            },
                        );
                        session
                    }
                    Err(error) => {
                        chain.steps.insert(
                            0,
                            Step {
                                ok: false,
                                text: format!("pod {namespace}/{account} on cluster {cluster}: {error}"),
                            },
                        );
                        let role = text(association, "role_arn");
                        let role_address =
                            spec.of_type("aws_iam_role").find(|(_, r)| text(r, "arn") == role).map(|(a, _)| a.clone());
                        let diagnostic = match &error {
                            aws::ExchangeError::Refused { message, .. } if message.contains("does not let pods.eks.amazonaws.com") => spec.finding(
                                Diagnostic::error("TF1312", "Pod identity role does not trust EKS Pod Identity", format!("EKS Auth answered: {message} Let the principal Service pods.eks.amazonaws.com perform sts:AssumeRole and sts:TagSession in the role's assume_role_policy.")),
                                role_address.as_ref().unwrap_or(address),
                                &[address],
                            ),
                            aws::ExchangeError::Refused { message, .. } if message.contains("No Pod Identity association") => spec.finding(
                                Diagnostic::error("TF1346", "No pod identity association for the workload", format!("EKS Auth answered: {message} Associate the role with the workload's namespace and service account (\"Access denied: pod identity not configured\").")),
                                address,
                                &[],
                            ),
                            other => spec.finding(
                                Diagnostic::error("TF1340", "Trust chain refused the workload", format!("EKS Auth answered: {other}. Check the association and its role.")),
                                address,
                                &[],
                            ),
                        };
                        report.diags.push(diagnostic);
                        report.chains.push(chain);
                        return;
                    }
                }
            }
            (None, true) => {
                // The sandbox's own identity is no workload, and no role of the spec can be
                // assumed as its workload would (an EC2 instance profile, say).
                report.diags.push(
                    Diagnostic::warning(
                        "TF1342",
                        "Trust chain not exercised",
                        format!(
                            "{}: no aws_eks_pod_identity_association in the state names a workload whose session \
                             verify can obtain in the sandbox. Run `trustform verify` (without --sandbox) where the \
                             workload runs, with its AWS credentials.",
                            self.provider.address
                        ),
                    )
                    .with_address(&self.provider.address),
                );
                return;
            }
            _ => {
                // Against real clouds: the environment's own AWS identity is the workload.
                match aws::environment_credentials().await {
                    Ok(credentials) => match aws::caller_arn(Some(&credentials)).await {
                        Ok(arn) => {
                            chain.steps.push(Step { ok: true, text: format!("environment identity {arn}") });
                            aws::Session { credentials, arn }
                        }
                        Err(error) => {
                            chain.steps.push(Step { ok: false, text: format!("GetCallerIdentity: {error}") });
                            report.diags.push(Diagnostic::warning("TF1342", "Trust chain not exercised", format!("{}: the environment's AWS credentials could not name their caller ({error}). Run verify with the workload's AWS credentials.", self.provider.address)).with_address(&self.provider.address));
                            report.chains.push(chain);
                            return;
                        }
                    },
                    Err(error) => {
                        chain.steps.push(Step { ok: false, text: format!("{error}") });
                        report.diags.push(
                            Diagnostic::warning(
                                "TF1342",
                                "Trust chain not exercised",
                                format!(
                                    "{}: {error}. Run verify with the workload's AWS credentials in the environment.",
                                    self.provider.address
                                ),
                            )
                            .with_address(&self.provider.address),
                        );
                        report.chains.push(chain);
                        return;
                    }
                }
            }
        };
        let expected_role = assumed_role(&session.arn);
        let works = self.through_google(spec, &session, &expected_role, &mut chain, report).await;
        if works && sandboxed && self.association.is_some() {
            // The sandbox's own AWS identity (an IAM user of the account) is no workload: Google
            // must refuse it somewhere on the way.
            if let Ok(credentials) = aws::environment_credentials().await {
                if let Ok(arn) = aws::caller_arn(Some(&credentials)).await {
                    let stranger = aws::Session { credentials, arn: arn.clone() };
                    self.must_refuse(spec, &stranger, &format!("the AWS identity {arn}"), &mut chain, report).await;
                }
            }
        }
        report.chains.push(chain);
    }

    /// The exchange and impersonation for every target; whether all worked.
    async fn through_google(
        &self,
        spec: &Spec<'_>,
        session: &trustform_aws::federation::Session,
        expected_role: &str,
        chain: &mut ChainReport,
        report: &mut Report,
    ) -> bool {
        use trustform_gcp::federation as gcp;
        if self.targets.is_empty() {
            chain.steps.push(Step { ok: false, text: "no service account to impersonate".to_owned() });
            report.diags.push(spec.finding(
                Diagnostic::error("TF1307", "Impersonated service account lacks workloadIdentityUser", format!("No service account grants roles/iam.workloadIdentityUser to a member of pool {}, and no google_credential_config names one, so the workload can impersonate none. Grant it on the workload's service account.", self.provider.pool)),
                &self.provider.address,
                &[],
            ));
            return false;
        }
        let mut works = true;
        for (audience, email) in &self.targets {
            let token = match trustform_aws::federation::google_subject_token(&session.credentials, audience).await {
                Ok(token) => token,
                Err(error) => {
                    chain.steps.push(Step { ok: false, text: format!("signing GetCallerIdentity: {error}") });
                    works = false;
                    continue;
                }
            };
            let federated = match gcp::exchange(audience, &token, gcp::AWS_TOKEN_TYPE).await {
                Ok(federated) => {
                    chain.steps.push(Step { ok: true, text: format!("Google STS exchange at {audience}") });
                    federated
                }
                Err(error) => {
                    chain.steps.push(Step { ok: false, text: format!("Google STS exchange at {audience}: {error}") });
                    report.diags.push(google_finding(
                        spec,
                        &self.provider,
                        &self.grants,
                        None,
                        audience,
                        &error,
                        Some(expected_role),
                    ));
                    works = false;
                    continue;
                }
            };
            match gcp::generate_access_token(&federated, email).await {
                Ok(()) => chain.steps.push(Step { ok: true, text: format!("generateAccessToken for {email}") }),
                Err(error) => {
                    works = false;
                    chain.steps.push(Step { ok: false, text: format!("generateAccessToken for {email}: {error}") });
                    report.diags.push(google_finding(
                        spec,
                        &self.provider,
                        &self.grants,
                        Some(email),
                        audience,
                        &error,
                        Some(expected_role),
                    ));
                }
            }
        }
        works
    }

    async fn must_refuse(
        &self,
        spec: &Spec<'_>,
        session: &trustform_aws::federation::Session,
        who: &str,
        chain: &mut ChainReport,
        report: &mut Report,
    ) {
        use trustform_gcp::federation as gcp;
        for (audience, email) in &self.targets {
            let Ok(token) = trustform_aws::federation::google_subject_token(&session.credentials, audience).await
            else {
                continue;
            };
            let refused = match gcp::exchange(audience, &token, gcp::AWS_TOKEN_TYPE).await {
                Err(error) => Some(format!("at Google STS ({})", code_of(&error))),
                Ok(federated) => gcp::generate_access_token(&federated, email)
                    .await
                    .err()
                    .map(|error| format!("impersonating {email} ({})", code_of(&error))),
            };
            match refused {
                Some(how) => chain.steps.push(Step { ok: true, text: format!("refused, as it must be: {who} {how}") }),
                None => {
                    chain.steps.push(Step { ok: false, text: format!("{who} impersonated {email}") });
                    report.diags.push(google_overreach(spec, &self.provider, &self.grants, email, who));
                }
            }
        }
    }
}

fn code_of(error: &trustform_gcp::federation::ExchangeError) -> String {
    match error {
        trustform_gcp::federation::ExchangeError::Refused { code, .. } => code.clone(),
        trustform_gcp::federation::ExchangeError::Unreachable(why) => why.clone(),
    }
}

fn region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned())
}

/// What Google's default AWS mapping makes of a caller ARN (attribute.aws_role): the session
/// name dropped from an assumed role.
fn assumed_role(arn: &str) -> String {
    match arn.split_once(":assumed-role/") {
        Some((account, rest)) => format!("{account}:assumed-role/{}", rest.split('/').next().unwrap_or_default()),
        None => arn.to_owned(),
    }
}

struct OidcToAws {
    role: ResourceAddr,
    role_arn: String,
    /// The `aws_iam_openid_connect_provider` of the trust's principal, with its client ids.
    provider: Option<(ResourceAddr, Vec<String>)>,
    /// The issuer's host and path, as IAM keys its conditions.
    host: String,
    condition: Value,
}

impl OidcToAws {
    /// The values every operator of the condition lists for `key` (`HOST:sub`), in order.
    fn condition_values(&self, key: &str) -> Vec<(String, String)> {
        let Value::Object(operators) = &self.condition else { return Vec::new() };
        let mut found = Vec::new();
        for (operator, keys) in operators {
            let Some(keys) = keys.as_object() else { continue };
            for (name, values) in keys {
                if name.eq_ignore_ascii_case(key) {
                    found.extend(strings(Some(values)).into_iter().map(|value| (operator.clone(), value)));
                }
            }
        }
        found
    }

    async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
        use trustform_aws::federation as aws;
        let issuer = format!("https://{}", self.host);
        let mut chain = ChainReport { name: format!("{issuer} token → {}", self.role), steps: Vec::new() };
        let positive_ops = |op: &str| !op.contains("Not") && op != "Null";
        let audience = self
            .condition_values(&format!("{}:aud", self.host))
            .into_iter()
            .find(|(op, _)| positive_ops(op))
            .map(|(_, v)| v)
            .or_else(|| self.provider.as_ref().and_then(|(_, ids)| ids.first().cloned()))
            .unwrap_or_else(|| "sts.amazonaws.com".to_owned());
        // The workloads the spec names: the pods of the Pod Identity associations on a cluster
        // with this issuer; else the subjects the trust's conditions name.
        let mut subjects = spec.service_accounts_on(&self.host);
        if subjects.is_empty() {
            subjects = self
                .condition_values(&format!("{}:sub", self.host))
                .into_iter()
                .filter(|(op, _)| positive_ops(op))
                .map(|(_, pattern)| pattern.replace('*', FILLER).replace('?', "x"))
                .collect();
        }
        if subjects.is_empty() {
            subjects.push(default_subject(&self.host, spec));
        }
        subjects.dedup();
        let mut works = true;
        for subject in &subjects {
            let token = mint(json!({ "iss": issuer, "sub": subject, "aud": audience }));
            match aws::assume_role_with_web_identity(&self.role_arn, &token, "trustform-verify").await {
                Ok(session) => chain.steps.push(Step {
                    ok: true,
                    text: format!(
                        "token of {subject} (aud {audience}): AssumeRoleWithWebIdentity gave {}",
                        session.arn
                    ),
                }),
                Err(error) => {
                    works = false;
                    chain.steps.push(Step { ok: false, text: format!("token of {subject} (aud {audience}): {error}") });
                    report.diags.push(self.refusal(spec, &error, subject, &audience));
                }
            }
        }
        if works {
            let mut tried = BTreeSet::new();
            for subject in &subjects {
                for (what, other) in others(subject).into_iter().filter(|(_, other)| tried.insert(other.clone())) {
                    let token = mint(json!({ "iss": issuer, "sub": other, "aud": audience }));
                    match aws::assume_role_with_web_identity(&self.role_arn, &token, "trustform-verify").await {
                        Err(error) => chain.steps.push(Step {
                            ok: true,
                            text: format!("refused, as it must be: {what} ({other}: {})", error_code(&error)),
                        }),
                        Ok(_) => {
                            chain.steps.push(Step { ok: false, text: format!("{what} was let in ({other})") });
                            report.diags.push(spec.finding(
                                Diagnostic::error(
                                    "TF1313",
                                    "Web identity trust does not restrict the subject",
                                    format!("The trust policy of {} let a token of {other} ({what}) assume the role: its {}:sub condition admits more than the workload. List the workload's exact subjects with StringEquals, or StringLike patterns without a wildcard over the {what_part}.", self.role, self.host, what_part = what.trim_start_matches("another ")),
                                ),
                                &self.role,
                                &[],
                            ));
                        }
                    }
                }
            }
        }
        report.chains.push(chain);
    }

    fn refusal(
        &self,
        spec: &Spec<'_>,
        error: &trustform_aws::federation::ExchangeError,
        subject: &str,
        audience: &str,
    ) -> Diagnostic {
        use trustform_aws::federation::ExchangeError;
        let ExchangeError::Refused { code, message } = error else {
            return spec.finding(
                Diagnostic::error(
                    "TF1340",
                    "Trust chain could not be exercised",
                    format!("{error}. Check the endpoint and network."),
                ),
                &self.role,
                &[],
            );
        };
        let said = format!("STS answered {}", sentence(&format!("{code}: {message}")));
        let related: Vec<&ResourceAddr> = self.provider.iter().map(|(a, _)| a).collect();
        if message.contains("No OpenIDConnect provider") {
            return spec.finding(
                Diagnostic::error("TF1343", "No OIDC provider for the token's issuer", format!("{said} The trust of {} names the issuer {}, but the account has no aws_iam_openid_connect_provider with that URL. Create one whose url is the issuer.", self.role, self.host)),
                &self.role,
                &related,
            );
        }
        if message.contains("audience") {
            let at = self.provider.as_ref().map_or(&self.role, |(a, _)| a);
            return spec.finding(
                Diagnostic::error("TF1344", "OIDC provider does not list the token's audience", format!("{said} The workload's token carries the audience {audience:?}; add it to client_id_list of the OIDC provider of {}.", self.host)),
                at,
                &[&self.role],
            );
        }
        let eks = self.host.contains(".eks.amazonaws.com")
            || spec.cluster_issuers().iter().any(|i| i.trim_start_matches("https://") == self.host);
        if eks && subject.starts_with("system:serviceaccount:") {
            return spec.finding(
                Diagnostic::error("TF1310", "IRSA trust does not match the workload's service account", format!("{said} The trust of {} refused the cluster's token of {subject} (aud {audience}). Require {}:sub = system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT of the workload and {}:aud = sts.amazonaws.com.", self.role, self.host, self.host)),
                &self.role,
                &related,
            );
        }
        spec.finding(
            Diagnostic::error("TF1345", "Trust policy refuses the workload's token", format!("{said} The trust of {} refused a token of {subject} with the audience {audience} from {}. Make its conditions admit the workload's subject and audience.", self.role, self.host)),
            &self.role,
            &related,
        )
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

fn error_code(error: &trustform_aws::federation::ExchangeError) -> String {
    match error {
        trustform_aws::federation::ExchangeError::Refused { code, .. } => code.clone(),
        trustform_aws::federation::ExchangeError::Unreachable(why) => why.clone(),
    }
}

/// A subject the issuer gives some workload, for a trust that names none.
fn default_subject(host: &str, spec: &Spec<'_>) -> String {
    if host == "token.actions.githubusercontent.com" {
        return format!("repo:{FILLER}/{FILLER}:ref:refs/heads/main");
    }
    if spec.cluster_issuers().iter().any(|i| i.trim_start_matches("https://") == host)
        || host.contains(".eks.amazonaws.com")
    {
        return format!("system:serviceaccount:{FILLER}:{FILLER}");
    }
    FILLER.to_owned()
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

struct OidcToEntra {
    credential: ResourceAddr,
    client_id: String,
    tenant: String,
    issuer: String,
    subject: String,
}

impl OidcToEntra {
    async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
        use trustform_azure::federation as entra;
        // The workload's issuer: the cluster's, for a service account subject, when the state
        // knows a cluster; else the one the credential names.
        let issuer = if self.subject.starts_with("system:serviceaccount:") {
            spec.cluster_issuers().into_iter().next().unwrap_or_else(|| self.issuer.clone())
        } else {
            self.issuer.clone()
        };
        let mut chain = ChainReport { name: format!("{issuer} token → {}", self.credential), steps: Vec::new() };
        let scope = "https://cognitiveservices.azure.com/.default";
        let token = mint(json!({ "iss": issuer, "sub": self.subject, "aud": AZURE_TOKEN_AUDIENCE }));
        match entra::client_assertion_token(&self.tenant, &self.client_id, &token, scope).await {
            Ok(()) => chain.steps.push(Step {
                ok: true,
                text: format!(
                    "token of {} (aud {AZURE_TOKEN_AUDIENCE}): Entra ID issued a token for client {}",
                    self.subject, self.client_id
                ),
            }),
            Err(error) => {
                chain.steps.push(Step { ok: false, text: format!("token of {}: {error}", self.subject) });
                let said = format!("Entra ID answered {}", sentence(&error.to_string()));
                let (code, summary, fix) = match &error {
                    entra::ExchangeError::Refused { code, .. } if code == "AADSTS700211" => (
                        "TF1326",
                        "Federated credential trusts another issuer than the cluster's",
                        format!("The workload's tokens come from {issuer}; the credential names {:?}. Set issuer to the workload's issuer (for a pod, data.aws_eks_cluster.NAME.identity[0].oidc[0].issuer).", self.issuer),
                    ),
                    entra::ExchangeError::Refused { code, .. } if code == "AADSTS700213" => (
                        "TF1327",
                        "Federated credential names another service account",
                        format!("Set subject to the workload's exact subject ({}).", self.subject),
                    ),
                    entra::ExchangeError::Refused { code, .. } if code == "AADSTS700212" => (
                        "TF1328",
                        "Federated credential does not accept the token's audience",
                        format!("Workload identity tokens carry the audience {AZURE_TOKEN_AUDIENCE}: list it in the credential's audience(s)."),
                    ),
                    entra::ExchangeError::Refused { .. } => (
                        "TF1351",
                        "Entra ID does not know the federated client",
                        format!("Check that the application or managed identity of {} exists in tenant {}.", self.credential, self.tenant),
                    ),
                    entra::ExchangeError::Unreachable(_) => ("TF1340", "Trust chain could not be exercised", "Check the endpoint and network.".to_owned()),
                };
                report.diags.push(spec.finding(
                    Diagnostic::error(code, summary, format!("{said} {fix}")),
                    &self.credential,
                    &[],
                ));
                report.chains.push(chain);
                return;
            }
        }
        for (what, other) in others(&self.subject) {
            let token = mint(json!({ "iss": issuer, "sub": other, "aud": AZURE_TOKEN_AUDIENCE }));
            match entra::client_assertion_token(&self.tenant, &self.client_id, &token, scope).await {
                Err(error) => chain.steps.push(Step {
                    ok: true,
                    text: format!(
                        "refused, as it must be: {what} ({other}: {})",
                        match &error {
                            entra::ExchangeError::Refused { code, .. } => code.clone(),
                            other => other.to_string(),
                        }
                    ),
                }),
                Ok(()) => {
                    chain.steps.push(Step { ok: false, text: format!("{what} was let in ({other})") });
                    report.diags.push(spec.finding(Diagnostic::error("TF1341", "Trust chain admits a workload it must refuse", format!("Entra ID accepted a token of {other} ({what}) for client {}. Name the workload's exact subject in the federated credential.", self.client_id)), &self.credential, &[]));
                }
            }
        }
        report.chains.push(chain);
    }
}

struct OidcToGoogle {
    provider: PoolProvider,
    grants: Vec<Grant>,
}

impl OidcToGoogle {
    /// The claims a token needs to be the principal `member` names, through the provider's
    /// mapping (only mappings that copy a claim, `assertion.X`, can be run backwards).
    fn claims_for(&self, member: &str) -> Option<BTreeMap<String, String>> {
        let rest = member.split_once(&format!("{}/", self.provider.pool))?.1;
        let claim_of = |target: &str| {
            self.provider
                .mapping
                .get(target)
                .and_then(|expr| expr.trim().strip_prefix("assertion."))
                .filter(|c| c.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .map(str::to_owned)
        };
        let mut claims = BTreeMap::new();
        if let Some(subject) = rest.strip_prefix("subject/") {
            claims.insert(claim_of("google.subject")?, subject.to_owned());
        } else if let Some(attribute) = rest.strip_prefix("attribute.") {
            let (name, value) = attribute.split_once('/')?;
            claims.insert(claim_of(&format!("attribute.{name}"))?, value.to_owned());
        } else {
            // A group or the whole pool names no workload to mint a token for.
            return None;
        }
        Some(claims)
    }

    async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
        use trustform_gcp::federation as gcp;
        let issuer = self.provider.oidc_issuer.clone().unwrap_or_default();
        let audience = self
            .provider
            .allowed_audiences
            .first()
            .cloned()
            .unwrap_or_else(|| format!("https:{}", self.provider.audience()));
        let mut chain = ChainReport {
            name: format!("{issuer} token → {} → Google service account", self.provider.address),
            steps: Vec::new(),
        };
        if self.grants.is_empty() {
            chain.steps.push(Step {
                ok: false,
                text: "no service account grants roles/iam.workloadIdentityUser to this pool".to_owned(),
            });
            report.diags.push(spec.finding(Diagnostic::error("TF1307", "Impersonated service account lacks workloadIdentityUser", format!("No service account grants roles/iam.workloadIdentityUser to a member of pool {}. Grant it on the workload's service account.", self.provider.pool)), &self.provider.address, &[]));
            report.chains.push(chain);
            return;
        }
        for grant in &self.grants {
            let Some(named) = self.claims_for(&grant.member) else {
                chain.steps.push(Step {
                    ok: true,
                    text: format!(
                        "{}: {} is not reached through a claim-copying mapping; not exercised",
                        grant.address, grant.member
                    ),
                });
                continue;
            };
            let token_for = |claims: &BTreeMap<String, String>| {
                let mut body = json!({ "iss": issuer, "aud": audience, "sub": FILLER });
                for (claim, value) in claims {
                    body[claim] = json!(value);
                }
                mint(body)
            };
            let shown = named.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
            match gcp::exchange(&self.provider.audience(), &token_for(&named), gcp::JWT_TOKEN_TYPE).await {
                Err(error) => {
                    chain.steps.push(Step { ok: false, text: format!("token with {shown}: Google STS: {error}") });
                    report.diags.push(google_finding(
                        spec,
                        &self.provider,
                        &self.grants,
                        None,
                        &self.provider.audience(),
                        &error,
                        None,
                    ));
                    continue;
                }
                Ok(federated) => match gcp::generate_access_token(&federated, &grant.email).await {
                    Ok(()) => chain.steps.push(Step {
                        ok: true,
                        text: format!("token with {shown}: exchanged, and impersonated {}", grant.email),
                    }),
                    Err(error) => {
                        chain.steps.push(Step {
                            ok: false,
                            text: format!("token with {shown}: generateAccessToken for {}: {error}", grant.email),
                        });
                        report.diags.push(google_finding(
                            spec,
                            &self.provider,
                            &self.grants,
                            Some(&grant.email),
                            &self.provider.audience(),
                            &error,
                            None,
                        ));
                        continue;
                    }
                },
            }
            for (claim, value) in &named {
                let mut other = named.clone();
                other.insert(claim.clone(), format!("{OTHER}-{value}"));
                let who = format!("a token with {claim}={OTHER}-{value}");
                let refused =
                    match gcp::exchange(&self.provider.audience(), &token_for(&other), gcp::JWT_TOKEN_TYPE).await {
                        Err(error) => Some(code_of(&error)),
                        Ok(federated) => {
                            gcp::generate_access_token(&federated, &grant.email).await.err().map(|e| code_of(&e))
                        }
                    };
                match refused {
                    Some(code) => {
                        chain.steps.push(Step { ok: true, text: format!("refused, as it must be: {who} ({code})") })
                    }
                    None => {
                        chain.steps.push(Step { ok: false, text: format!("{who} impersonated {}", grant.email) });
                        report.diags.push(google_overreach(spec, &self.provider, &self.grants, &grant.email, &who));
                    }
                }
            }
        }
        report.chains.push(chain);
    }
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

    fn provider(mapping: &[(&str, &str)]) -> PoolProvider {
        PoolProvider {
            address: "google_iam_workload_identity_pool_provider.ci".parse().unwrap(),
            name: "projects/42/locations/global/workloadIdentityPools/ci/providers/github".to_owned(),
            pool: "projects/42/locations/global/workloadIdentityPools/ci".to_owned(),
            aws_account: None,
            oidc_issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            allowed_audiences: Vec::new(),
            mapping: mapping.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            condition: String::new(),
        }
    }

    #[test]
    fn grants_are_read_back_through_claim_copying_mappings() {
        let chain = OidcToGoogle {
            provider: provider(&[
                ("google.subject", "assertion.sub"),
                ("attribute.repository", "assertion.repository"),
                ("attribute.ref", "assertion.ref.lowerAscii()"),
            ]),
            grants: Vec::new(),
        };
        let pool = "iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci";
        let claims = |member: String| chain.claims_for(&member).map(|c| c.into_iter().collect::<Vec<_>>());
        assert_eq!(
            claims(format!("principalSet://{pool}/attribute.repository/acme/models")),
            Some(vec![("repository".to_owned(), "acme/models".to_owned())])
        );
        assert_eq!(
            claims(format!("principal://{pool}/subject/repo:acme/models:ref:refs/heads/main")),
            Some(vec![("sub".to_owned(), "repo:acme/models:ref:refs/heads/main".to_owned())])
        );
        // A computed mapping cannot be run backwards; a group or the whole pool names no workload;
        // another pool's member is not this provider's.
        assert_eq!(claims(format!("principalSet://{pool}/attribute.ref/refs/heads/main")), None);
        assert_eq!(claims(format!("principalSet://{pool}/*")), None);
        assert_eq!(claims(format!("principalSet://{pool}/group/ops")), None);
        assert_eq!(
            claims(
                "principalSet://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/other/*"
                    .to_owned()
            ),
            None
        );
    }

    #[test]
    fn condition_values_are_gathered_across_operators_whatever_the_key_case() {
        let chain = OidcToAws {
            role: "aws_iam_role.ci".parse().unwrap(),
            role_arn: "arn:aws:iam::1:role/ci".to_owned(),
            provider: None,
            host: "token.actions.githubusercontent.com".to_owned(),
            condition: json!({
                "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                "ForAnyValue:StringLike": { "Token.Actions.GithubUserContent.com:sub": ["repo:a/b:ref:refs/heads/main", "repo:a/b:ref:refs/heads/rel-*"] },
                "StringNotLike": { "token.actions.githubusercontent.com:sub": "repo:a/b:ref:refs/heads/rel-old*" },
            }),
        };
        let subjects = chain.condition_values("token.actions.githubusercontent.com:sub");
        assert_eq!(subjects.len(), 3);
        assert_eq!(subjects[0], ("ForAnyValue:StringLike".to_owned(), "repo:a/b:ref:refs/heads/main".to_owned()));
        assert_eq!(
            chain.condition_values("token.actions.githubusercontent.com:aud"),
            vec![("StringEquals".to_owned(), "sts.amazonaws.com".to_owned())]
        );
    }

    #[test]
    fn the_default_mapping_keeps_the_role_and_drops_the_session() {
        assert_eq!(assumed_role("arn:aws:sts::1:assumed-role/gw/eks-x"), "arn:aws:sts::1:assumed-role/gw");
        assert_eq!(assumed_role("arn:aws:iam::1:user/u"), "arn:aws:iam::1:user/u");
    }
}
