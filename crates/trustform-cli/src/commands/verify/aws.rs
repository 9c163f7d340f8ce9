//! OIDC -> AWS: `AssumeRoleWithWebIdentity` on a role whose trust names an OIDC provider, with the
//! workloads' tokens and with tokens it must refuse.

use super::*;

#[derive(Clone)]
pub(super) struct OidcToAws {
    pub(super) role: ResourceAddr,
    pub(super) role_arn: String,
    /// The `aws_iam_openid_connect_provider` of the trust's principal, with its client ids.
    pub(super) provider: Option<(ResourceAddr, Vec<String>)>,
    /// The issuer's host and path, as IAM keys its conditions.
    pub(super) host: String,
    pub(super) condition: Value,
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

    /// The workload tokens' issuer and audience, and the subjects of the workloads the spec
    /// names: the pods of the Pod Identity associations on a cluster with this issuer; else the
    /// subjects the trust's conditions name (a wildcard filled in); else one the issuer gives.
    pub(super) fn workloads(&self, spec: &Spec<'_>) -> (String, String, Vec<String>) {
        let issuer = format!("https://{}", self.host);
        let positive_ops = |op: &str| !op.contains("Not") && op != "Null";
        let audience = self
            .condition_values(&format!("{}:aud", self.host))
            .into_iter()
            .find(|(op, _)| positive_ops(op))
            .map(|(_, v)| v)
            .or_else(|| self.provider.as_ref().and_then(|(_, ids)| ids.first().cloned()))
            .unwrap_or_else(|| "sts.amazonaws.com".to_owned());
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
        (issuer, audience, subjects)
    }

    pub(super) async fn exercise(&self, spec: &Spec<'_>, report: &mut Report) {
        use trustform_aws::federation as aws;
        let (issuer, audience, subjects) = self.workloads(spec);
        let mut chain = ChainReport { name: format!("{issuer} token → {}", self.role), steps: Vec::new() };
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
