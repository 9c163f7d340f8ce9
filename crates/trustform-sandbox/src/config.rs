//! How a sandbox is set up before it starts.

use std::time::Duration;

/// An EKS cluster that exists from the moment the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterSeed {
    pub(crate) name: String,
    pub(crate) oidc_issuer: String,
}

/// Builder for a [`Sandbox`](crate::Sandbox): identity, preloaded clusters and the faults to inject.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub(crate) account_id: String,
    pub(crate) region: String,
    pub(crate) clusters: Vec<ClusterSeed>,
    pub(crate) visibility_delay: Duration,
    pub(crate) fault_rate: f64,
    pub(crate) seed: u64,
    pub(crate) latency: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            account_id: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            clusters: Vec::new(),
            visibility_delay: Duration::ZERO,
            fault_rate: 0.0,
            seed: 0,
            latency: Duration::ZERO,
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

    /// Fraction of requests answered with a throttling or server error instead of being
    /// processed. Clamped to `0.0..=1.0`; NaN means no faults.
    pub fn fault_rate(mut self, rate: f64) -> Self {
        self.fault_rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
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
        assert_eq!(config.fault_rate, 0.0);
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
