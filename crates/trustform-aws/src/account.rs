//! The account and partition the provider's credentials act in, looked up once per provider
//! session, so that plans show the ARNs IAM will assign instead of "(known after apply)".
//!
//! Terraform's AWS provider makes the same lookup when it is configured (STS
//! `GetCallerIdentity`), unless `skip_requesting_account_id = true`, the setting users of
//! emulators without STS know
//! (<https://registry.terraform.io/providers/hashicorp/aws/latest/docs#skip_requesting_account_id>).
//! Here a failed lookup only costs the derivation: ARNs stay unknown until apply, as they
//! would be without it, and every call that needs the cloud reports the real problem.

use crate::config::Clients;
use crate::error::{from_sdk, retryable};
use std::time::Duration;
use trustform_provider::{retry, RetryPolicy};

/// The longest the lookup may take: a deriving convenience never holds a run up for the whole
/// retry deadline of an unreachable endpoint.
const LOOKUP_DEADLINE: Duration = Duration::from_secs(10);

/// Where IAM puts what this provider creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    pub id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, ...: the ARN's second field.
    pub partition: String,
}

impl Account {
    /// The text every IAM ARN of this account starts with: `arn:PARTITION:iam::ACCOUNT:`
    /// (IAM is global, so the region field is empty;
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>).
    pub(crate) fn iam_arn_prefix(&self) -> String {
        format!("arn:{}:iam::{}:", self.partition, self.id)
    }
}

/// The partition of a region, by the region name patterns of the SDKs' partition table
/// (`aws-sdk-go-v2/internal/endpoints/awsrulesfn/partitions.json`, the same file every AWS SDK
/// ships): China `cn-*`, GovCloud `us-gov-*`, the isolated `us-iso-*`, `us-isob-*`, `eu-isoe-*`,
/// `us-isof-*`, the European Sovereign Cloud `eusc-*`, and `aws` for every other region.
pub(crate) fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
    ];
    if region.starts_with("eusc-") {
        return "aws-eusc";
    }
    PREFIXES.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("aws", |(_, partition)| partition)
}

/// The partition field of an ARN (`arn:PARTITION:service:region:account:resource`).
fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.split(':');
    (fields.next() == Some("arn")).then_some(())?;
    fields.next().filter(|partition| partition.starts_with("aws"))
}

/// Asks STS who the credentials are. The caller's ARN names the partition for certain; the
/// region's partition stands in when the answer has no usable ARN. `None` (logged at debug
/// level) when STS cannot answer within [`LOOKUP_DEADLINE`].
pub(crate) async fn look_up(clients: &Clients, policy: &RetryPolicy) -> Option<Account> {
    let policy = policy.clone().with_deadline(policy.deadline.min(LOOKUP_DEADLINE));
    let sts = &clients.sts;
    let answer = retry(&policy, retryable, || async move {
        sts.get_caller_identity().send().await.map_err(|e| from_sdk("sts:GetCallerIdentity", e))
    })
    .await;
    let output = match answer {
        Ok(output) => output,
        Err(error) => {
            tracing::debug!(%error, "no account to derive ARNs from: they stay unknown until apply");
            return None;
        }
    };
    let id = output.account().filter(|id| !id.is_empty())?.to_owned();
    let region = clients.region.as_deref().unwrap_or_default();
    let partition = output.arn().and_then(partition_of_arn).unwrap_or_else(|| partition_of_region(region));
    Some(Account { id, partition: partition.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region_name() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-3", "aws"),
            ("ap-southeast-5", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("eusc-de-east-1", "aws-eusc"),
            ("", "aws"),
        ] {
            assert_eq!(partition_of_region(region), partition, "{region}");
        }
    }

    #[test]
    fn the_callers_arn_names_the_partition() {
        assert_eq!(partition_of_arn("arn:aws-cn:iam::123456789012:user/ci"), Some("aws-cn"));
        assert_eq!(partition_of_arn("arn:aws:sts::123456789012:assumed-role/r/s"), Some("aws"));
        assert_eq!(partition_of_arn("not-an-arn"), None);
        assert_eq!(partition_of_arn("arn:other:iam::1:user/x"), None);
        let account = Account { id: "123456789012".into(), partition: "aws-us-gov".into() };
        assert_eq!(account.iam_arn_prefix(), "arn:aws-us-gov:iam::123456789012:");
    }
}
