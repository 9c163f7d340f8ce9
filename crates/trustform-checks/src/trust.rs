//! What a web identity trust admits: each token issuer's subject format, and which of its parts
//! (the organisation, the repository or project, the branch) a condition's patterns pin. A
//! trust is judged by the set of subjects its conditions admit, not by which keys it names:
//! only the positive string operators (`StringEquals`, `StringLike`, their `IgnoreCase`,
//! `IfExists`, `ForAnyValue:` and `ForAllValues:` forms) narrow that set; `StringNotEquals`,
//! `StringNotLike` and `Null` take a few subjects out of everything, so they narrow nothing
//! (IAM's condition operators: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
//! Conditions are ANDed and a condition's values ORed, so a part is pinned when some condition
//! pins it in every one of its values.
//!
//! A part is pinned when its text has no wildcard; a branch, tag or environment only needs a
//! literal start (`refs/heads/release-*` is the release branches, `refs/heads/*` any branch).
//! A hole (a reference known after apply) counts as literal text. Subjects, by issuer:
//!
//! * GitHub Actions, `repo:OWNER/REPO:ref:refs/heads/BRANCH` (or `:environment:NAME`,
//!   `:pull_request`, `:ref:refs/tags/TAG`); also the `job_workflow_ref` claim,
//!   `OWNER/REPO/PATH@REF`: <https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims>.
//! * GitLab, `project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF`:
//!   <https://docs.gitlab.com/ci/secrets/id_token_authentication/#token-payload>.
//! * CircleCI, `org/ORG_ID/project/PROJECT_ID/user/USER_ID`, with `/vcs-origin/ORIGIN/vcs-ref/REF`
//!   after it in newer tokens; the issuer (`oidc.circleci.com/org/ORG_ID`) is the organisation's
//!   own: <https://circleci.com/docs/openid-connect-tokens/>.
//! * Bitbucket Pipelines, `{REPOSITORY_UUID}:{STEP_UUID}` (or `{REPOSITORY_UUID}{ENVIRONMENT_UUID}:...`);
//!   the issuer is the workspace's own, and the subject names no branch:
//!   <https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/>.
//! * HCP Terraform, `organization:ORG:project:PROJECT:workspace:WORKSPACE:run_phase:PHASE`, the
//!   project standing for the repository:
//!   <https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/workload-identity-tokens>.
//! * Google (`accounts.google.com`), the account's numeric ID:
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif>.
//! * Kubernetes service account tokens (EKS `oidc.eks.REGION.amazonaws.com/id/ID`, AKS
//!   `REGION.oic.prod-aks.azure.com/TENANT/ID/`), `system:serviceaccount:NAMESPACE:NAME`, the
//!   namespace standing for the repository:
//!   <https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html>,
//!   <https://learn.microsoft.com/en-us/azure/aks/workload-identity-overview>.
//! * Cognito identity pools, Login with Amazon and Facebook: a token names a user of one app,
//!   and the `aud` condition (the pool or app ID) is what must be pinned.
//! * Any other issuer by the same rule as the rest: a subject pattern that starts with a
//!   wildcard admits any subject.

/// The token issuers whose subject formats are known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Issuer {
    Eks,
    Aks,
    GitHub,
    GitLab,
    CircleCi,
    Bitbucket,
    TerraformCloud,
    Google,
    /// Cognito identity pools and the web apps of Login with Amazon and Facebook, whose tokens
    /// name a user of one app: the `aud` (the identity pool or app ID) is what must be pinned
    /// (<https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html>,
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif>).
    App,
    Other,
}

pub(crate) fn issuer_kind(issuer: &str) -> Issuer {
    let issuer = issuer.strip_prefix("https://").unwrap_or(issuer);
    let host = issuer.split('/').next().unwrap_or_default();
    if host.starts_with("oidc.eks.") && issuer.contains(".amazonaws.com/id/") {
        Issuer::Eks
    } else if host.ends_with(".oic.prod-aks.azure.com") {
        Issuer::Aks
    } else if host == "token.actions.githubusercontent.com" {
        Issuer::GitHub
    } else if host == "gitlab.com" {
        Issuer::GitLab
    } else if host == "oidc.circleci.com" {
        Issuer::CircleCi
    } else if host == "api.bitbucket.org" && issuer.contains("/pipelines-config/identity/oidc") {
        Issuer::Bitbucket
    } else if host == "app.terraform.io" {
        Issuer::TerraformCloud
    } else if host == "accounts.google.com" {
        Issuer::Google
    } else if matches!(host, "cognito-identity.amazonaws.com" | "www.amazon.com" | "graph.facebook.com") {
        Issuer::App
    } else {
        Issuer::Other
    }
}

/// The parts of a subject a pattern pins.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Pins {
    pub(crate) organisation: bool,
    pub(crate) repository: bool,
    pub(crate) branch: bool,
}

impl Pins {
    const ALL: Pins = Pins { organisation: true, repository: true, branch: true };
    const NONE: Pins = Pins { organisation: false, repository: false, branch: false };

    fn and(self, other: Pins) -> Pins {
        Pins {
            organisation: self.organisation && other.organisation,
            repository: self.repository && other.repository,
            branch: self.branch && other.branch,
        }
    }

    fn or(self, other: Pins) -> Pins {
        Pins {
            organisation: self.organisation || other.organisation,
            repository: self.repository || other.repository,
            branch: self.branch || other.branch,
        }
    }
}

fn wild(c: char) -> bool {
    c == '*' || c == '?'
}

/// Text with no wildcard.
fn literal(text: &str) -> bool {
    !text.is_empty() && !text.contains(wild)
}

/// Text that starts with something literal: a set of branches, not any branch.
fn starts_literal(text: &str) -> bool {
    text.chars().next().is_some_and(|c| !wild(c))
}

/// Whether an operator narrows the subjects admitted (see the module's documentation).
pub(crate) fn positive(operator: &str) -> bool {
    let base = operator.rsplit(':').next().unwrap_or(operator);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    matches!(base, "StringEquals" | "StringLike" | "StringEqualsIgnoreCase")
}

/// Whether the operator reads `*` and `?` as wildcards.
pub(crate) fn is_like(operator: &str) -> bool {
    operator.contains("StringLike")
}

/// What one pattern of a positive operator on `claim` pins, for tokens of `kind`.
pub(crate) fn pins(kind: Issuer, claim: &str, pattern: &str, like: bool) -> Pins {
    // The audience says which app a token is for: it pins only an app's tokens.
    if claim == "aud" {
        let app = kind == Issuer::App && (!like || literal(pattern));
        return if app { Pins::ALL } else { Pins::NONE };
    }
    if !like || !pattern.contains(wild) {
        // An exact subject is one subject.
        return if pattern.is_empty() { Pins::NONE } else { Pins::ALL };
    }
    match (kind, claim) {
        (Issuer::GitHub, "sub") => github_subject(pattern),
        (Issuer::GitHub, "job_workflow_ref") => github_workflow(pattern),
        (Issuer::GitLab, "sub") => gitlab_subject(pattern),
        (Issuer::CircleCi, "sub") => circleci_subject(pattern),
        (Issuer::Bitbucket, "sub") => {
            let repository =
                pattern.strip_prefix('{').and_then(|rest| rest.split_once('}')).is_some_and(|(uuid, _)| literal(uuid));
            Pins { organisation: true, repository, branch: true }
        }
        (Issuer::TerraformCloud, "sub") => terraform_subject(pattern),
        (Issuer::Eks | Issuer::Aks, "sub") => {
            let namespace = pattern.strip_prefix("system:serviceaccount:").and_then(|rest| rest.split_once(':'));
            Pins { organisation: true, repository: namespace.is_some_and(|(ns, _)| literal(ns)), branch: true }
        }
        (Issuer::Google, "sub") => Pins::NONE,
        (_, "sub") => {
            let any = !starts_literal(pattern);
            Pins { organisation: !any, repository: !any, branch: !any }
        }
        _ => Pins::NONE,
    }
}

/// `repo:OWNER/REPO:CONTEXT`.
fn github_subject(pattern: &str) -> Pins {
    let Some(rest) = pattern.strip_prefix("repo:") else { return Pins::NONE };
    let (path, context) = rest.split_once(':').unwrap_or((rest, ""));
    let (owner, repo) = path.split_once('/').unwrap_or((path, ""));
    let organisation = literal(owner);
    let repository = organisation && literal(repo);
    let branch = repository && github_context(context);
    Pins { organisation, repository, branch }
}

/// Whether a GitHub subject's context (after `repo:OWNER/REPO:`) names a ref, environment or
/// pull requests rather than anything.
fn github_context(context: &str) -> bool {
    if let Some(reference) = context.strip_prefix("ref:") {
        return ["refs/heads/", "refs/tags/", "refs/pull/"]
            .iter()
            .any(|kind| reference.strip_prefix(kind).is_some_and(starts_literal));
    }
    if let Some(environment) = context.strip_prefix("environment:") {
        return starts_literal(environment);
    }
    literal(context)
}

/// `OWNER/REPO/PATH@REF`.
fn github_workflow(pattern: &str) -> Pins {
    let mut parts = pattern.splitn(3, '/');
    let (owner, repo, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let organisation = literal(owner);
    let repository = organisation && literal(repo);
    let branch = repository
        && rest.rsplit_once('@').is_some_and(|(_, reference)| {
            ["refs/heads/", "refs/tags/"].iter().any(|kind| reference.strip_prefix(kind).is_some_and(starts_literal))
        });
    Pins { organisation, repository, branch }
}

/// `project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF`.
fn gitlab_subject(pattern: &str) -> Pins {
    let Some(rest) = pattern.strip_prefix("project_path:") else { return Pins::NONE };
    let (path, context) = rest.split_once(':').unwrap_or((rest, ""));
    let (group, project) = path.split_once('/').unwrap_or((path, ""));
    let organisation = literal(group);
    let repository = organisation && literal(project);
    let branch = repository && context.rsplit_once("ref:").is_some_and(|(_, reference)| starts_literal(reference));
    Pins { organisation, repository, branch }
}

/// `org/ORG/project/PROJECT/user/USER[/vcs-origin/ORIGIN/vcs-ref/REF]`: keyword and value
/// pairs, the origin running to `vcs-ref`.
fn circleci_subject(pattern: &str) -> Pins {
    let segments: Vec<&str> = pattern.split('/').collect();
    let after = |keyword: &str| segments.iter().position(|s| *s == keyword).map(|i| &segments[i + 1..]);
    let project = after("project").and_then(|rest| rest.first()).is_some_and(|s| literal(s));
    let origin = after("vcs-origin")
        .is_some_and(|rest| rest.iter().take_while(|s| **s != "vcs-ref").all(|s| literal(s)) && !rest.is_empty());
    let reference = match after("vcs-ref") {
        Some(rest) => starts_literal(rest.join("/").strip_prefix("refs/heads/").unwrap_or(&rest.join("/"))),
        // Older subjects name no branch: not judged.
        None => true,
    };
    let repository = project || origin;
    Pins { organisation: true, repository, branch: repository && reference }
}

/// `organization:ORG:project:PROJECT:workspace:WORKSPACE:run_phase:PHASE`.
fn terraform_subject(pattern: &str) -> Pins {
    let value = |keyword: &str| {
        pattern
            .split(':')
            .collect::<Vec<_>>()
            .windows(2)
            .find(|pair| pair[0] == keyword)
            .is_some_and(|pair| literal(pair[1]))
    };
    let organisation = pattern.starts_with("organization:") && value("organization");
    let repository = organisation && value("project");
    Pins { organisation, repository, branch: true }
}

/// What the positive conditions of a statement pin together: `conditions` are
/// `(operator, claim, values)` for one issuer.
pub(crate) fn pinned(kind: Issuer, conditions: &[(&str, &str, Vec<&str>)]) -> Pins {
    let mut pinned = Pins::NONE;
    for (operator, claim, values) in conditions {
        if !positive(operator) || values.is_empty() {
            continue;
        }
        let like = is_like(operator);
        let all = values.iter().fold(Pins::ALL, |all, value| all.and(pins(kind, claim, value, like)));
        pinned = pinned.or(all);
    }
    pinned
}

/// The broadest part left open, in words for a finding: `(what is admitted, an example of a
/// subject that pins it)`.
pub(crate) fn too_broad(kind: Issuer, pins: Pins) -> Option<(&'static str, &'static str)> {
    let (organisation, repository, branch, example) = match kind {
        Issuer::GitHub => (
            "any repository of any GitHub owner",
            "any repository of the owner",
            "any branch of the repository",
            "\"repo:OWNER/REPO:ref:refs/heads/main\"",
        ),
        Issuer::GitLab => (
            "any GitLab group",
            "any project of the group",
            "any branch of the project",
            "\"project_path:GROUP/PROJECT:ref_type:branch:ref:main\"",
        ),
        Issuer::CircleCi => (
            "any pipeline of the CircleCI organisation",
            "any pipeline of the CircleCI organisation",
            "any branch of the project",
            "\"org/ORG_ID/project/PROJECT_ID/user/*/vcs-origin/github.com/OWNER/REPO/vcs-ref/refs/heads/main\"",
        ),
        Issuer::Bitbucket => (
            "any pipeline of the workspace",
            "any repository of the Bitbucket workspace",
            "",
            "\"{REPOSITORY_UUID}:*\"",
        ),
        Issuer::TerraformCloud => (
            "any HCP Terraform organisation",
            "any project of the organisation",
            "",
            "\"organization:ORG:project:PROJECT:workspace:WORKSPACE:run_phase:apply\"",
        ),
        Issuer::Google => ("any Google account", "any Google account", "", "the account's numeric ID"),
        Issuer::Eks | Issuer::Aks => (
            "any pod of the cluster",
            "any pod of the cluster",
            "",
            "\"system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT\"",
        ),
        Issuer::App => (
            "any user of any app or identity pool of the issuer",
            "any user of any app or identity pool of the issuer",
            "",
            "\"ISSUER:aud\" = the identity pool or app ID",
        ),
        Issuer::Other => ("any subject the issuer signs", "any subject the issuer signs", "", "the exact subject"),
    };
    if !pins.organisation {
        Some((organisation, example))
    } else if !pins.repository {
        Some((repository, example))
    } else if !pins.branch && !branch.is_empty() {
        Some((branch, example))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(kind: Issuer, operator: &str, values: &[&str]) -> Option<&'static str> {
        too_broad(kind, pinned(kind, &[(operator, "sub", values.to_vec())])).map(|(what, _)| what)
    }

    #[test]
    fn github_subjects_are_judged_by_what_they_match() {
        let like = |v: &str| open(Issuer::GitHub, "StringLike", &[v]);
        assert_eq!(like("repo:*"), Some("any repository of any GitHub owner"));
        assert_eq!(like("*:ref:refs/heads/main"), Some("any repository of any GitHub owner"));
        assert_eq!(like("repo:a*"), Some("any repository of any GitHub owner"), "an owner named a-anything");
        assert_eq!(like("repo:BerriAI/*"), Some("any repository of the owner"));
        assert_eq!(like("repo:BerriAI/litellm:*"), Some("any branch of the repository"));
        assert_eq!(like("repo:BerriAI/litellm:ref:refs/heads/*"), Some("any branch of the repository"));
        assert_eq!(like("repo:BerriAI/litellm:ref:refs/heads/release-*"), None, "a set of branches");
        assert_eq!(like("repo:BerriAI/litellm:environment:prod"), None);
        assert_eq!(like("repo:BerriAI/litellm:ref:refs/heads/main"), None);
        assert_eq!(open(Issuer::GitHub, "StringEquals", &["repo:*"]), None, "StringEquals has no wildcards");
        assert_eq!(
            open(Issuer::GitHub, "ForAnyValue:StringLike", &["repo:o/r:ref:refs/heads/main", "repo:o/*"]),
            Some("any repository of the owner"),
            "values are ORed"
        );
    }

    #[test]
    fn negative_operators_narrow_nothing() {
        for operator in ["StringNotEquals", "StringNotLike", "Null", "ForAnyValue:StringNotLike"] {
            assert_eq!(
                open(Issuer::GitHub, operator, &["repo:evil/x:*"]),
                Some("any repository of any GitHub owner"),
                "{operator}"
            );
        }
        assert!(
            positive("StringLikeIfExists")
                && positive("ForAllValues:StringEquals")
                && positive("StringEqualsIgnoreCase")
        );
    }

    #[test]
    fn app_tokens_are_pinned_by_their_audience() {
        let pool = [("StringEquals", "aud", vec!["us-east-1:12345678-aaaa-bbbb-cccc-123456789012"])];
        assert_eq!(too_broad(Issuer::App, pinned(Issuer::App, &pool)), None);
        let any = [("StringLike", "aud", vec!["us-east-1:*"])];
        assert_eq!(
            too_broad(Issuer::App, pinned(Issuer::App, &any)).map(|(what, _)| what),
            Some("any user of any app or identity pool of the issuer")
        );
    }

    #[test]
    fn an_audience_pins_nothing_but_an_app() {
        let conditions = [("StringEquals", "aud", vec!["sts.amazonaws.com"]), ("StringLike", "sub", vec!["repo:*"])];
        assert!(too_broad(Issuer::GitHub, pinned(Issuer::GitHub, &conditions)).is_some());
    }

    #[test]
    fn conditions_are_anded() {
        let conditions = [
            ("StringLike", "sub", vec!["repo:BerriAI/*"]),
            ("StringLike", "job_workflow_ref", vec!["BerriAI/litellm/.github/workflows/deploy.yml@refs/heads/main"]),
        ];
        assert_eq!(too_broad(Issuer::GitHub, pinned(Issuer::GitHub, &conditions)), None);
    }

    #[test]
    fn every_issuer_has_its_subject_format() {
        assert_eq!(open(Issuer::GitLab, "StringLike", &["project_path:*"]), Some("any GitLab group"));
        assert_eq!(open(Issuer::GitLab, "StringLike", &["project_path:grp/*"]), Some("any project of the group"));
        assert_eq!(
            open(Issuer::GitLab, "StringLike", &["project_path:grp/app:ref_type:branch:ref:*"]),
            Some("any branch of the project")
        );
        assert_eq!(open(Issuer::GitLab, "StringLike", &["project_path:grp/app:ref_type:branch:ref:main"]), None);
        assert_eq!(
            open(Issuer::CircleCi, "StringLike", &["org/c5a9/*"]),
            Some("any pipeline of the CircleCI organisation")
        );
        assert_eq!(
            open(
                Issuer::CircleCi,
                "StringLike",
                &["org/c5a9/project/*/user/*/vcs-origin/github.com/BerriAI/litellm/vcs-ref/refs/heads/litellm_*"]
            ),
            None
        );
        assert_eq!(
            open(
                Issuer::CircleCi,
                "StringLike",
                &["org/c5a9/project/*/user/*/vcs-origin/github.com/BerriAI/litellm/vcs-ref/*"]
            ),
            Some("any branch of the project")
        );
        assert_eq!(open(Issuer::Bitbucket, "StringLike", &["{1234-abcd}:*"]), None);
        assert_eq!(open(Issuer::Bitbucket, "StringLike", &["*"]), Some("any repository of the Bitbucket workspace"));
        assert_eq!(
            open(Issuer::TerraformCloud, "StringLike", &["organization:*"]),
            Some("any HCP Terraform organisation")
        );
        assert_eq!(
            open(Issuer::TerraformCloud, "StringLike", &["organization:acme:project:*"]),
            Some("any project of the organisation")
        );
        assert_eq!(
            open(Issuer::TerraformCloud, "StringLike", &["organization:acme:project:gw:workspace:*:run_phase:*"]),
            None
        );
        assert_eq!(open(Issuer::Google, "StringLike", &["1*"]), Some("any Google account"));
        assert_eq!(open(Issuer::Google, "StringEquals", &["112233445566778899"]), None);
        assert_eq!(open(Issuer::Eks, "StringLike", &["system:serviceaccount:*"]), Some("any pod of the cluster"));
        assert_eq!(open(Issuer::Aks, "StringLike", &["system:serviceaccount:litellm:*"]), None);
        assert_eq!(open(Issuer::Other, "StringLike", &["*-deploy"]), Some("any subject the issuer signs"));
        assert_eq!(open(Issuer::Other, "StringLike", &["team-a:*"]), None);
        assert_eq!(
            open(Issuer::GitHub, "StringEquals", &[]),
            Some("any repository of any GitHub owner"),
            "no sub condition"
        );
    }

    #[test]
    fn issuers_are_told_by_their_url() {
        assert_eq!(issuer_kind("oidc.eks.us-east-1.amazonaws.com/id/ABC"), Issuer::Eks);
        assert_eq!(issuer_kind("https://eastus.oic.prod-aks.azure.com/tenant/guid/"), Issuer::Aks);
        assert_eq!(issuer_kind("token.actions.githubusercontent.com"), Issuer::GitHub);
        assert_eq!(issuer_kind("token.actions.githubusercontent.com/my-enterprise"), Issuer::GitHub);
        assert_eq!(issuer_kind("gitlab.com"), Issuer::GitLab);
        assert_eq!(issuer_kind("oidc.circleci.com/org/c5a9"), Issuer::CircleCi);
        assert_eq!(
            issuer_kind("api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"),
            Issuer::Bitbucket
        );
        assert_eq!(issuer_kind("app.terraform.io"), Issuer::TerraformCloud);
        assert_eq!(issuer_kind("accounts.google.com"), Issuer::Google);
        assert_eq!(issuer_kind("vault.example.com/v1/identity/oidc"), Issuer::Other);
        assert_eq!(issuer_kind("cognito-identity.amazonaws.com"), Issuer::App);
    }
}
