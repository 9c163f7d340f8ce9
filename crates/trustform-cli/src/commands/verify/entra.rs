//! OIDC -> Entra ID: a workload's token as the client assertion of a federated identity
//! credential's application or managed identity.

use super::*;

pub(super) struct OidcToEntra {
    pub(super) credential: ResourceAddr,
    pub(super) client_id: String,
    pub(super) tenant: String,
    pub(super) issuer: String,
    pub(super) subject: String,
}

impl OidcToEntra {
    pub(super) async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
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
