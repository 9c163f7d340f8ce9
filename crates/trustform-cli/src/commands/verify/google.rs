//! The chains that end at Google: an AWS workload's session exchanged at Google's STS, and an
//! OIDC workload's token, each then impersonating a service account; and what Google's
//! refusals mean in the spec's terms.

use super::*;

/// A pool provider as the state records it.
#[derive(Debug, Clone)]
pub(super) struct PoolProvider {
    pub(super) address: ResourceAddr,
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID`.
    pub(super) name: String,
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL`.
    pub(super) pool: String,
    pub(super) aws_account: Option<String>,
    pub(super) oidc_issuer: Option<String>,
    pub(super) allowed_audiences: Vec<String>,
    pub(super) mapping: BTreeMap<String, String>,
    pub(super) condition: String,
}

impl PoolProvider {
    pub(super) fn read((address, p): (&ResourceAddr, &Value)) -> PoolProvider {
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

    pub(super) fn audience(&self) -> String {
        format!("//iam.googleapis.com/{}", self.name)
    }
}

/// A `roles/iam.workloadIdentityUser` member on a service account.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub(super) address: ResourceAddr,
    pub(super) email: String,
    pub(super) member: String,
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

pub(super) struct AwsToGoogle {
    pub(super) association: Option<(ResourceAddr, Value)>,
    pub(super) provider: PoolProvider,
    /// The audiences the workload presents, each with the service account it impersonates.
    pub(super) targets: Vec<(String, String)>,
    pub(super) grants: Vec<Grant>,
    /// Web identity roles (IRSA) the pool's grants name, for a workload without a Pod Identity
    /// association.
    pub(super) irsa: Vec<OidcToAws>,
}

impl AwsToGoogle {
    pub(super) async fn exercise(&self, spec: &Spec<'_>, sandboxed: bool, report: &mut Report) {
        use trustform_aws::federation as aws;
        let name = match &self.association {
            Some((address, _)) if sandboxed => {
                format!("{address} → {} → Google service account", self.provider.address)
            }
            None if sandboxed && !self.irsa.is_empty() => {
                format!("{} → {} → Google service account", self.irsa[0].role, self.provider.address)
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
            (None, true) if !self.irsa.is_empty() => {
                // An IRSA workload: its own token for the role the grants name. The role's own
                // chain reports a refusal; here it only ends this chain.
                let role = &self.irsa[0];
                let (issuer, audience, subjects) = role.workloads(spec);
                let subject = subjects.first().cloned().unwrap_or_default();
                let token = mint(json!({ "iss": issuer, "sub": subject, "aud": audience }));
                match aws::assume_role_with_web_identity(&role.role_arn, &token, FILLER).await {
                    Ok(session) => {
                        chain.steps.push(Step {
                            ok: true,
                            text: format!("{subject} of {issuer}: web identity session {}", session.arn),
                        });
                        session
                    }
                    Err(error) => {
                        chain.steps.push(Step {
                            ok: false,
                            text: format!("{subject} of {issuer}: {error} (see {})", role.role),
                        });
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
        if works && sandboxed {
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
            // The grant may live outside the spec (as lint's TF1307 allows): a warning.
            chain.steps.push(Step {
                ok: true,
                text: "not exercised: the spec names no service account to impersonate".to_owned(),
            });
            report.diags.push(spec.finding(
                Diagnostic::warning("TF1307", "Impersonated service account lacks workloadIdentityUser", format!("No service account of the spec grants roles/iam.workloadIdentityUser to a member of pool {}, and no google_credential_config names one, so verify has none to impersonate. Grant it on the workload's service account.", self.provider.pool)),
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

pub(super) struct OidcToGoogle {
    pub(super) provider: PoolProvider,
    pub(super) grants: Vec<Grant>,
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

    pub(super) async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
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
                ok: true,
                text: "not exercised: the spec grants no service account to this pool".to_owned(),
            });
            report.diags.push(spec.finding(Diagnostic::warning("TF1307", "Impersonated service account lacks workloadIdentityUser", format!("No service account grants roles/iam.workloadIdentityUser to a member of pool {}. Grant it on the workload's service account.", self.provider.pool)), &self.provider.address, &[]));
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
    fn the_default_mapping_keeps_the_role_and_drops_the_session() {
        assert_eq!(assumed_role("arn:aws:sts::1:assumed-role/gw/eks-x"), "arn:aws:sts::1:assumed-role/gw");
        assert_eq!(assumed_role("arn:aws:iam::1:user/u"), "arn:aws:iam::1:user/u");
    }
}
