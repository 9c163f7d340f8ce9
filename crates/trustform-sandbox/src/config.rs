//! How a sandbox is set up before it starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// An EKS cluster that exists from the moment the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterSeed {
    pub(crate) name: String,
    pub(crate) oidc_issuer: String,
}

/// A Google Cloud project that exists from the moment the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GcpProjectSeed {
    pub(crate) id: String,
    pub(crate) number: u64,
}

/// The emulated Azure tenant and the replication delays of its directory and RBAC store.
#[derive(Debug, Clone)]
pub(crate) struct AzureSeed {
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: String,
    pub(crate) principals: Vec<String>,
    pub(crate) principal_delay: Duration,
    pub(crate) definition_delay: Duration,
    pub(crate) credential_write_time: Duration,
    pub(crate) directory_delay: Duration,
    pub(crate) retry_after: Duration,
}

impl Default for AzureSeed {
    fn default() -> Self {
        AzureSeed {
            tenant_id: crate::world::AZURE_TENANT.to_owned(),
            subscription_id: crate::world::AZURE_SUBSCRIPTION.to_owned(),
            principals: Vec::new(),
            principal_delay: Duration::ZERO,
            definition_delay: Duration::ZERO,
            credential_write_time: Duration::ZERO,
            directory_delay: Duration::ZERO,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Builder for a [`Sandbox`](crate::Sandbox): identity, preloaded clusters and projects, the Azure
/// tenant, and the faults to inject.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub(crate) account_id: String,
    pub(crate) region: String,
    pub(crate) clusters: Vec<ClusterSeed>,
    pub(crate) visibility_delay: Duration,
    pub(crate) aws_iam_propagation_delay: Duration,
    pub(crate) gcp_projects: Vec<GcpProjectSeed>,
    pub(crate) gcp_service_account_visibility_delay: Duration,
    pub(crate) gcp_service_account_member_delay: Duration,
    pub(crate) gcp_windows_answer_at_least_once: bool,
    pub(crate) gcp_operation_polls: u32,
    pub(crate) fault_rate: f64,
    pub(crate) throttle_rate: f64,
    pub(crate) azure: AzureSeed,
    pub(crate) seed: u64,
    pub(crate) latency: Duration,
    pub(crate) journal: Option<PathBuf>,
    pub(crate) materialize_on_first_use: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            account_id: crate::world::ACCOUNT_ID.to_owned(),
            region: crate::world::REGION.to_owned(),
            clusters: Vec::new(),
            visibility_delay: Duration::ZERO,
            aws_iam_propagation_delay: Duration::ZERO,
            gcp_projects: Vec::new(),
            gcp_service_account_visibility_delay: Duration::ZERO,
            gcp_service_account_member_delay: Duration::ZERO,
            gcp_windows_answer_at_least_once: false,
            gcp_operation_polls: 0,
            fault_rate: 0.0,
            throttle_rate: 0.0,
            azure: AzureSeed::default(),
            seed: 0,
            latency: Duration::ZERO,
            journal: None,
            materialize_on_first_use: false,
        }
    }
}

impl SandboxConfig {
    /// The AWS account every ARN and `GetCallerIdentity` answer names.
    pub fn account_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.account_id);
        self
    }

    /// The region EKS ARNs and cluster endpoints name.
    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.region);
        self
    }

    /// Preloads an `ACTIVE` EKS cluster whose OIDC issuer is `oidc_issuer`.
    ///
    /// Naming a cluster twice keeps the last issuer.
    pub fn cluster(mut self, name: &str, oidc_issuer: &str) -> Self {
        self.clusters.retain(|cluster| cluster.name != name);
        self.clusters.push(ClusterSeed { name: name.to_owned(), oidc_issuer: oidc_issuer.to_owned() });
        self
    }

    /// How long a new pod identity association stays invisible to Describe and List, the way
    /// EKS's eventual consistency hides it right after a create.
    pub fn visibility_delay(mut self, delay: Duration) -> Self {
        self.visibility_delay = delay;
        self
    }

    /// How long a new IAM role or OIDC provider is unknown to the rest of IAM: named as a trust
    /// principal it is `MalformedPolicyDocument` "Invalid principal in policy", and a new role
    /// is `NoSuchEntity` to `PutRolePolicy` and `AttachRolePolicy`.
    pub fn aws_iam_propagation_delay(mut self, delay: Duration) -> Self {
        self.aws_iam_propagation_delay = delay;
        self
    }

    /// Preloads an `ACTIVE` Google Cloud project with this project id and project number; IAM
    /// and Resource Manager answer `PERMISSION_DENIED` for any project not preloaded.
    ///
    /// Naming a project id twice keeps the last number.
    pub fn gcp_project(mut self, project_id: &str, project_number: u64) -> Self {
        self.gcp_projects.retain(|project| project.id != project_id);
        self.gcp_projects.push(GcpProjectSeed { id: project_id.to_owned(), number: project_number });
        self
    }

    /// How long a new Google service account is hidden from `get` (`403 PERMISSION_DENIED` for
    /// the first half of the window, then `404 NOT_FOUND`) and does not count as an IAM policy
    /// member, the way IAM's eventual consistency hides it right after a create.
    pub fn gcp_service_account_visibility_delay(mut self, delay: Duration) -> Self {
        self.gcp_service_account_visibility_delay = delay;
        self
    }

    /// How long after its create a new Google service account named as a member makes
    /// `setIamPolicy` answer `400 INVALID_ARGUMENT` "Service account X does not exist.", even
    /// once `get` shows it (never shorter than the visibility delay): the window seed 001's first
    /// apply hit.
    pub fn gcp_service_account_member_delay(mut self, delay: Duration) -> Self {
        self.gcp_service_account_member_delay = delay;
        self
    }

    /// Makes each phase of a new Google service account's windows (hidden as `403`, hidden as
    /// `404`, refused as a policy member) last until its time has passed *and* it has given at
    /// least one answer. The real windows last seconds, longer than any request takes; with the
    /// short windows of a test on a loaded machine, a slow request could otherwise step over a
    /// whole phase, so a test that asserts every phase was met sets this.
    pub fn gcp_windows_answer_at_least_once(mut self) -> Self {
        self.gcp_windows_answer_at_least_once = true;
        self
    }

    /// Gives every eventual-consistency window still at zero (IAM propagation, EKS association
    /// visibility, Google service account visibility and membership, one extra poll of Google
    /// operations, Azure role definition and principal replication, Azure federated credential
    /// writes) a length derived from `window`, so a run
    /// meets each of them the way it would meet the real clouds, only faster. Windows already set are kept; the
    /// end-to-end tests and `trustform --sandbox` run with these on.
    pub fn consistency_windows(mut self, window: Duration) -> Self {
        let fill = |delay: &mut Duration, length: Duration| {
            if delay.is_zero() {
                *delay = length;
            }
        };
        fill(&mut self.visibility_delay, window);
        fill(&mut self.aws_iam_propagation_delay, window);
        fill(&mut self.gcp_service_account_visibility_delay, window);
        fill(&mut self.gcp_service_account_member_delay, window * 2);
        fill(&mut self.azure.definition_delay, window);
        fill(&mut self.azure.principal_delay, window);
        fill(&mut self.azure.credential_write_time, window / 2);
        fill(&mut self.azure.directory_delay, window);
        if self.gcp_operation_polls == 0 {
            self.gcp_operation_polls = 1;
        }
        self
    }

    /// How many `operations.get` polls of a Google long-running operation answer it still
    /// running before one answers it `done`. With `0`, the first poll answers `done`; the call
    /// that starts an operation never does.
    pub fn gcp_operation_polls(mut self, polls: u32) -> Self {
        self.gcp_operation_polls = polls;
        self
    }

    /// Fraction of requests answered with a throttling or server error instead of being
    /// processed. Clamped to `0.0..=1.0`; NaN means no faults.
    pub fn fault_rate(mut self, rate: f64) -> Self {
        self.fault_rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        self
    }

    /// Fraction of requests answered with a throttling error (AWS `Throttling`, ARM 429 with
    /// `Retry-After`) instead of being processed, drawn after [`fault_rate`](Self::fault_rate).
    /// Clamped to `0.0..=1.0`; NaN means none.
    pub fn throttle_rate(mut self, rate: f64) -> Self {
        self.throttle_rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        self
    }

    /// The Azure subscription ARM serves; scopes in any other subscription are
    /// `SubscriptionNotFound`. Defaults to `24ebb700-ec2f-417f-afad-78fe15dcc91f` (seed 002's).
    pub fn azure_subscription(mut self, id: &str) -> Self {
        id.clone_into(&mut self.azure.subscription_id);
        self
    }

    /// The Entra ID tenant named in ARM messages. Defaults to `f3b1cf79-eba8-40c3-8120-cb26aca169c2`.
    pub fn azure_tenant(mut self, id: &str) -> Self {
        id.clone_into(&mut self.azure.tenant_id);
        self
    }

    /// Registers a principal (object id) that was created just now: role assignments naming it
    /// are `PrincipalNotFound` until [`azure_principal_delay`](Self::azure_principal_delay)
    /// after the sandbox starts. Principals never registered are taken to exist.
    pub fn azure_principal(mut self, object_id: &str) -> Self {
        self.azure.principals.push(object_id.to_owned());
        self
    }

    /// How long a new Entra ID application or service principal stays invisible to Microsoft
    /// Graph's reads and to the calls that name it (a service principal for the application,
    /// a federated credential on it), as Graph's replication hides it.
    pub fn azure_directory_delay(mut self, delay: Duration) -> Self {
        self.azure.directory_delay = delay;
        self
    }

    /// How long a federated identity credential write of a managed identity takes: a second
    /// write of the same identity's credentials arriving meanwhile is `409
    /// ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity`.
    pub fn azure_credential_write_time(mut self, time: Duration) -> Self {
        self.azure.credential_write_time = time;
        self
    }

    /// How long registered principals, and those of managed identities created in the
    /// sandbox, stay unknown to role assignments.
    pub fn azure_principal_delay(mut self, delay: Duration) -> Self {
        self.azure.principal_delay = delay;
        self
    }

    /// How long a new role definition is `RoleDefinitionDoesNotExist` to role assignments, and
    /// how long reads keep showing a definition's previous version after an update.
    pub fn azure_definition_delay(mut self, delay: Duration) -> Self {
        self.azure.definition_delay = delay;
        self
    }

    /// The `Retry-After` ARM's throttling answers carry, in whole seconds. Defaults to one.
    pub fn azure_retry_after(mut self, retry_after: Duration) -> Self {
        self.azure.retry_after = retry_after;
        self
    }

    /// Seeds the generator behind injected faults and generated identifiers, so a run can be
    /// replayed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Delay added before every response, faults included.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Keeps the emulated cloud in a journal file at `path`, so that a sandbox started later on
    /// the same file, in this process or another, serves the same cloud: the requests that
    /// changed it are replayed at start (see the crate's `journal` module). A journal written
    /// under a different [`fingerprint`](Self::fingerprint) is refused.
    pub fn journal(mut self, path: impl AsRef<Path>) -> Self {
        self.journal = Some(path.as_ref().to_owned());
        self
    }

    /// Creates, the first time a request names it, any Google project (by id or number), EKS
    /// cluster or Azure subscription the sandbox does not know, with values derived from its name
    /// alone (see the crate's `world` module), instead of answering `PERMISSION_DENIED`, `No
    /// cluster found` or `SubscriptionNotFound`. What `trustform --sandbox` runs with, so that a
    /// spec written for a real account applies unedited.
    pub fn materialize_on_first_use(mut self, on: bool) -> Self {
        self.materialize_on_first_use = on;
        self
    }

    /// What decides the cloud a sequence of requests builds: the identity, the preloaded
    /// clusters, projects and Azure tenant, whether unknown ones are created on first use, and
    /// the seed of the id generators. Delays, faults and latency change when answers come, not
    /// what they are, and are left out.
    pub fn fingerprint(&self) -> String {
        let clusters: Vec<String> =
            self.clusters.iter().map(|cluster| format!("{}@{}", cluster.name, cluster.oidc_issuer)).collect();
        let projects: Vec<String> =
            self.gcp_projects.iter().map(|project| format!("{}#{}", project.id, project.number)).collect();
        let materialize = if self.materialize_on_first_use { " world=on-first-use" } else { "" };
        format!(
            "aws={}/{} eks=[{}] gcp=[{}] azure={}/{}/[{}] seed={}{materialize}",
            self.account_id,
            self.region,
            clusters.join(","),
            projects.join(","),
            self.azure.tenant_id,
            self.azure.subscription_id,
            self.azure.principals.join(","),
            self.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_identity() {
        let config = SandboxConfig::default();
        assert_eq!(config.account_id, "123456789012");
        assert_eq!(config.region, "us-east-1");
        assert!(config.clusters.is_empty());
        assert!(config.gcp_projects.is_empty());
        assert_eq!(config.gcp_operation_polls, 0);
        assert_eq!(config.fault_rate, 0.0);
    }

    #[test]
    fn consistency_windows_fill_only_the_windows_left_at_zero() {
        let window = Duration::from_millis(40);
        let config = SandboxConfig::default().visibility_delay(Duration::from_secs(3)).consistency_windows(window);
        assert_eq!(config.visibility_delay, Duration::from_secs(3));
        assert_eq!(config.aws_iam_propagation_delay, window);
        assert_eq!(config.gcp_service_account_visibility_delay, window);
        assert_eq!(config.gcp_service_account_member_delay, window * 2);
        assert_eq!(config.azure.definition_delay, window);
        assert_eq!(config.azure.principal_delay, window);
        assert_eq!(config.azure.credential_write_time, window / 2);
        assert_eq!(config.azure.directory_delay, window);
        assert_eq!(config.gcp_operation_polls, 1);
    }

    #[test]
    fn naming_a_gcp_project_twice_keeps_the_last_number() {
        let config = SandboxConfig::default().gcp_project("p", 1).gcp_project("q", 2).gcp_project("p", 3);
        assert_eq!(
            config.gcp_projects,
            vec![GcpProjectSeed { id: "q".to_owned(), number: 2 }, GcpProjectSeed { id: "p".to_owned(), number: 3 }]
        );
    }

    #[test]
    fn fault_rate_is_clamped_to_a_probability() {
        assert_eq!(SandboxConfig::default().fault_rate(1.5).fault_rate, 1.0);
        assert_eq!(SandboxConfig::default().fault_rate(-0.5).fault_rate, 0.0);
        assert_eq!(SandboxConfig::default().fault_rate(f64::NAN).fault_rate, 0.0);
    }

    #[test]
    fn naming_a_cluster_twice_keeps_the_last_issuer() {
        let config = SandboxConfig::default().cluster("prod", "https://old").cluster("prod", "https://new");
        assert_eq!(
            config.clusters,
            vec![ClusterSeed { name: "prod".to_owned(), oidc_issuer: "https://new".to_owned() }]
        );
    }
}
