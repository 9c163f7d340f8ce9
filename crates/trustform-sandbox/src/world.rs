//! The emulated world: what exists in the clouds before anything is created.
//!
//! Two parts. The *shipped world* is what the shipped plans' `sandbox.tfvars` name: AWS account
//! [`ACCOUNT_ID`] with the EKS cluster [`CLUSTER`], the Google Cloud project [`GCP_PROJECT`]
//! (number [`GCP_PROJECT_NUMBER`]) and one Azure tenant and subscription. Beyond it, with
//! [`SandboxConfig::materialize_on_first_use`], the sandbox builds *the spec's world*: a Google
//! project (by id or number), an EKS cluster or an Azure subscription that a request names and
//! the sandbox does not know is created on the spot, with every value derived from its name
//! alone ([`project_number`], [`cluster_issuer`], ...). Deriving from the name, never from a
//! generator or the clock, is what keeps a journal's replay exact: whichever request first named
//! an object, in whichever process, the object is the same. Azure resource groups and principal
//! ids need nothing: the emulator takes any resource group, and any principal it was not told is
//! new, to exist.
//!
//! `trustform --sandbox` runs [`world`]; the adapter tests that want Google's
//! `PERMISSION_DENIED` for an unknown project leave materialization off.

use axum::http::{header, HeaderMap};

use crate::config::SandboxConfig;
use crate::server::Shared;

/// The AWS account `GetCallerIdentity` answers and every ARN the sandbox makes names.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region EKS ARNs name when a request does not say.
pub const REGION: &str = "us-east-1";
/// The EKS cluster of the shipped plans, with its OIDC issuer (the example issuer of the EKS
/// documentation).
pub const CLUSTER: &str = "litellm";
pub const CLUSTER_ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
/// The Google Cloud project of the shipped plans.
pub const GCP_PROJECT: &str = "litellm-prod";
pub const GCP_PROJECT_NUMBER: u64 = 210987654321;
/// The Azure tenant and subscription of the shipped plans (seed 002's).
pub const AZURE_TENANT: &str = "f3b1cf79-eba8-40c3-8120-cb26aca169c2";
pub const AZURE_SUBSCRIPTION: &str = "24ebb700-ec2f-417f-afad-78fe15dcc91f";

impl SandboxConfig {
    /// Preloads the shipped world: the `litellm` cluster and the `litellm-prod` project. The
    /// account, region, tenant and subscription are the defaults' ([`ACCOUNT_ID`], ...), or what
    /// was set.
    pub fn shipped_world(self) -> Self {
        self.cluster(CLUSTER, CLUSTER_ISSUER).gcp_project(GCP_PROJECT, GCP_PROJECT_NUMBER)
    }
}

/// The world `trustform --sandbox` runs: the shipped world, and whatever else a spec names,
/// created on first use, with every consistency window on.
pub fn world() -> SandboxConfig {
    SandboxConfig::default().shipped_world().materialize_on_first_use(true).consistency_windows(CONSISTENCY_WINDOW)
}

/// The eventual-consistency windows `--sandbox` models (see
/// [`SandboxConfig::consistency_windows`]): long enough that every run goes through them and
/// meets the retries a real cloud needs, short enough not to slow anyone down.
pub const CONSISTENCY_WINDOW: std::time::Duration = std::time::Duration::from_millis(40);

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a(salt: u64, parts: &[&str]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ salt;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The twelve-digit project number of a project the sandbox creates for `project_id`.
pub fn project_number(project_id: &str) -> u64 {
    100_000_000_000 + fnv1a(0x5052_4f4a, &[project_id]) % 900_000_000_000
}

/// The project id of a project the sandbox creates because a request named its number only.
pub fn project_id_for_number(number: u64) -> String {
    format!("project-{number}")
}

/// Thirty-two upper-case hex digits derived from a cluster's name and region, in the shape of the
/// id EKS puts in a cluster's OIDC issuer and API endpoint.
fn cluster_hex(name: &str, region: &str, salt: u64) -> String {
    format!("{:016X}{:016X}", fnv1a(salt, &[name, region]), fnv1a(salt ^ 0xffff, &[region, name]))
}

/// The OIDC issuer of a cluster the sandbox creates: `https://oidc.eks.REGION.amazonaws.com/id/HEX`.
pub fn cluster_issuer(name: &str, region: &str) -> String {
    format!("https://oidc.eks.{region}.amazonaws.com/id/{}", cluster_hex(name, region, 0x4f49_4443))
}

/// The CA every emulated cluster answers in `certificateAuthority.data` (base64 of this PEM):
/// a self-signed P-256 certificate, `CN=kubernetes`, made for the tests; no key of it is kept.
pub const CLUSTER_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUP6eNcCcTsuNt1bSUF8z0Mhgr2d0wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjEyMDMyMjU1MTlaFw0zNjExMzAy
MjU1MTlaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR4ziAkp4qtq8xHvuhXxTKpPCgUD3HUfhVnzuOrn8L+dXGVzNv8wRrp
lu25u8omgRn93VAm6mmM/RW4qYb9wP37o1MwUTAdBgNVHQ4EFgQU1pzCR0Sma2hp
Gzvzl8P4pj8hyJkwHwYDVR0jBBgwFoAU1pzCR0Sma2hpGzvzl8P4pj8hyJkwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAba3VeLT2rCsIky/qcIDtr
wLM3vUCrOkyhxoguTfVbowIhAJQb6y/mnVXUl29LQX1hzA7QEELrmoxY7SucaVr4
mSz8
-----END CERTIFICATE-----
";

/// The API server endpoint of a cluster the sandbox creates.
pub(crate) fn cluster_endpoint(name: &str, region: &str) -> String {
    format!("https://{}.gr7.{region}.eks.amazonaws.com", cluster_hex(name, region, 0x4150_4953))
}

/// An etag that depends on `seed` only.
pub(crate) fn derived_etag(seed: &str) -> String {
    format!("W/\"{:016x}\"", fnv1a(0x4554_4147, &[seed]))
}

/// Whether `id` can name a Google Cloud project: 6 to 30 lower-case letters, digits and
/// hyphens, starting with a letter and not ending with a hyphen.
fn is_project_id(id: &str) -> bool {
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A project number as a request may spell it.
fn as_project_number(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
        .filter(|number| *number > 0)
}

/// What a Google project segment names: an id, or a number.
pub(crate) enum ProjectName<'a> {
    Id(&'a str),
    Number(u64),
}

pub(crate) fn project_name(segment: &str) -> Option<ProjectName<'_>> {
    if let Some(number) = as_project_number(segment) {
        return Some(ProjectName::Number(number));
    }
    is_project_id(segment).then_some(ProjectName::Id(segment))
}

/// Whether `name` can name an EKS cluster: 1 to 100 letters, digits, hyphens and underscores,
/// starting with a letter or digit.
pub(crate) fn is_cluster_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The region a SigV4-signed request was signed for (`Credential=AKID/DATE/REGION/SERVICE/...`).
fn signing_region(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = value.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let region = credential.split('/').nth(2)?;
    (!region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .then(|| region.to_owned())
}

/// Creates what the request at `path` names and the sandbox does not know yet, when the
/// configuration asks for it. Called before the request is served, and again for every journal
/// entry replayed, so that a replay finds what the first run found.
pub(crate) fn materialize(shared: &Shared, path: &str, headers: &HeaderMap) {
    if !shared.config.materialize_on_first_use {
        return;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1" | "v3", "projects", project, ..] => {
            // `projects/p:getIamPolicy`: the custom method is not part of the name.
            let project = project.split(':').next().unwrap_or_default();
            if let Some(name) = project_name(project) {
                shared.gcp().materialize_project(name);
            }
        }
        ["clusters", name, ..] if is_cluster_name(name) => {
            let region = signing_region(headers).unwrap_or_else(|| shared.config.region.clone());
            shared.eks().materialize_cluster(name, &region);
        }
        ["subscriptions", subscription, ..] => shared.azure().materialize_subscription(subscription),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_depend_on_the_name_only_and_have_the_clouds_shapes() {
        let number = project_number("acme-llm-prod");
        assert_eq!(number, project_number("acme-llm-prod"));
        assert_ne!(number, project_number("acme-llm-dev"));
        assert_eq!(number.to_string().len(), 12);

        let issuer = cluster_issuer("gateway", "eu-west-1");
        assert_eq!(issuer, cluster_issuer("gateway", "eu-west-1"));
        assert_ne!(issuer, cluster_issuer("gateway", "eu-west-2"));
        let hex = issuer.strip_prefix("https://oidc.eks.eu-west-1.amazonaws.com/id/").unwrap();
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{hex}");
    }

    /// Fixed figures (computed independently): a change of the derivation would change the world
    /// every existing journal replays into.
    #[test]
    fn derivations_are_stable_across_builds() {
        assert_eq!(project_number("acme-llm-prod"), 904_436_981_529);
        assert_eq!(
            cluster_issuer("gateway", "eu-west-1"),
            "https://oidc.eks.eu-west-1.amazonaws.com/id/6B4C7D0EC0756B7CD9BEAE5FCE7003F3"
        );
    }

    #[test]
    fn only_well_formed_names_are_materialized() {
        assert!(matches!(project_name("acme-llm-prod"), Some(ProjectName::Id("acme-llm-prod"))));
        assert!(matches!(project_name("987654321012"), Some(ProjectName::Number(987654321012))));
        for bad in ["-", "Upper-Case", "short", "ends-with-", "1starts-with-digit", "", "0"] {
            assert!(project_name(bad).is_none(), "{bad}");
        }
        assert!(is_cluster_name("gateway_2"));
        assert!(!is_cluster_name("-x") && !is_cluster_name("a/b") && !is_cluster_name(""));
    }

    #[test]
    fn the_signing_region_comes_from_the_sigv4_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/eks/aws4_request, SignedHeaders=host, Signature=0"
                .parse()
                .unwrap(),
        );
        assert_eq!(signing_region(&headers).as_deref(), Some("eu-west-1"));
        headers.insert(header::AUTHORIZATION, "Bearer token".parse().unwrap());
        assert_eq!(signing_region(&headers), None);
    }
}
