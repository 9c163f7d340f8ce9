//! The `provider "aws"` block, and the SDK clients built from it.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use std::fmt;
use trustform_lang::Value;
use trustform_provider::ProviderError;

/// The settings of a `provider "aws"` block. Everything left unset comes from the SDK's
/// default chain: `AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL[_IAM|_STS|_EKS]`, and
/// credentials from the environment, a profile, web identity, container or instance metadata.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub static_keys: Option<(String, SecretKey)>,
    /// `allowed_account_ids`: the accounts the credentials must belong to (empty: any).
    pub allowed_account_ids: Vec<String>,
    pub iam_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
    pub eks_endpoint: Option<String>,
    /// Terraform's `skip_requesting_account_id`: no STS call at `configure`, so ARNs are not
    /// derived at plan (for emulators without STS).
    pub skip_requesting_account_id: bool,
}

/// A secret access key: kept out of every `Debug` and error message.
#[derive(Clone, PartialEq)]
pub(crate) struct SecretKey(String);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(trustform_lang::REDACTED)
    }
}

impl fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("access_key", &self.static_keys.as_ref().map(|(access_key, _)| access_key))
            .field("allowed_account_ids", &self.allowed_account_ids)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("eks_endpoint", &self.eks_endpoint)
            .field("skip_requesting_account_id", &self.skip_requesting_account_id)
            .finish()
    }
}

impl AwsSettings {
    /// Reads the evaluated block; `null` (no block) means every default.
    pub(crate) fn from_config(config: &Value) -> Result<AwsSettings, ProviderError> {
        let text = |value: &Value, name: &str| trustform_provider::attrs::setting(value, "aws", name);
        // The evaluator hands nested blocks over as lists of objects; the schema's conform step
        // as a single object. Either way there is at most one `endpoints` block.
        let endpoints = match config.get("endpoints").map(Value::unmarked) {
            Some(Value::List(items)) => items.first().cloned().unwrap_or_default(),
            Some(object @ Value::Object(_)) => object.clone(),
            _ => Value::Null,
        };
        let static_keys = match (text(config, "access_key")?, text(config, "secret_key")?) {
            (Some(access_key), Some(secret_key)) => Some((access_key, SecretKey(secret_key))),
            (None, None) => None,
            _ => {
                return Err(ProviderError::invalid(
                    "provider \"aws\": `access_key` and `secret_key` go together; set both or neither",
                ))
            }
        };
        let settings = AwsSettings {
            region: text(config, "region")?,
            profile: text(config, "profile")?,
            static_keys,
            allowed_account_ids: trustform_provider::attrs::strings(config, "allowed_account_ids"),
            iam_endpoint: text(&endpoints, "iam")?,
            sts_endpoint: text(&endpoints, "sts")?,
            eks_endpoint: text(&endpoints, "eks")?,
            skip_requesting_account_id: match config.get("skip_requesting_account_id").map(Value::unmarked) {
                None | Some(Value::Null) => false,
                Some(Value::Bool(skip)) => *skip,
                Some(other) => {
                    return Err(ProviderError::invalid(format!(
                        "provider \"aws\": `skip_requesting_account_id` must be a bool, not {}",
                        other.type_name()
                    )))
                }
            },
        };
        check_endpoints(&settings, |name| std::env::var(name).ok())?;
        Ok(settings)
    }
}

/// Every endpoint override, from the block or the SDK's `AWS_ENDPOINT_URL[_<SERVICE>]`
/// variables, is https or http to a loopback address: SigV4 signs requests but does not encrypt
/// them, so a plain-http endpoint elsewhere would carry every value in clear text.
fn check_endpoints(settings: &AwsSettings, env: impl Fn(&str) -> Option<String>) -> Result<(), ProviderError> {
    let block = [
        ("endpoints.iam", &settings.iam_endpoint),
        ("endpoints.sts", &settings.sts_endpoint),
        ("endpoints.eks", &settings.eks_endpoint),
    ];
    for (name, url) in block {
        if let Some(url) = url {
            trustform_provider::check_endpoint(&format!("provider \"aws\": {name}"), url)
                .map_err(ProviderError::invalid)?;
        }
    }
    for variable in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_EKS"] {
        if let Some(url) = env(variable).filter(|url| !url.is_empty()) {
            trustform_provider::check_endpoint(&format!("the environment variable {variable}"), &url)
                .map_err(ProviderError::invalid)?;
        }
    }
    Ok(())
}

/// One client per service, sharing credentials and region.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    /// The region the SDK settled on (block, environment or profile), if any.
    pub region: Option<String>,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub eks: aws_sdk_eks::Client,
}

impl Clients {
    pub(crate) async fn build(settings: &AwsSettings) -> Clients {
        // Retries happen in one place, the provider's `RetryPolicy`, which also knows about
        // IAM propagation delays; the SDK's own retries would multiply with it.
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some((access_key, SecretKey(secret_key))) = &settings.static_keys {
            loader = loader.credentials_provider(Credentials::new(access_key, secret_key, None, None, "trustform"));
        }
        let shared = loader.load().await;

        let mut iam = aws_sdk_iam::config::Builder::from(&shared);
        if let Some(url) = &settings.iam_endpoint {
            iam = iam.endpoint_url(url);
        }
        let mut sts = aws_sdk_sts::config::Builder::from(&shared);
        if let Some(url) = &settings.sts_endpoint {
            sts = sts.endpoint_url(url);
        }
        let mut eks = aws_sdk_eks::config::Builder::from(&shared);
        if let Some(url) = &settings.eks_endpoint {
            eks = eks.endpoint_url(url);
        }
        Clients {
            region: shared.region().map(|region| region.as_ref().to_owned()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            eks: aws_sdk_eks::Client::from_conf(eks.build()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_endpoints_are_refused_unless_they_are_loopback() {
        let config =
            |url: &str| Value::object([("endpoints", Value::List(vec![Value::object([("iam", url.into())])]))]);
        let err = AwsSettings::from_config(&config("http://iam.internal.example:5000")).unwrap_err().to_string();
        assert!(err.contains("provider \"aws\": endpoints.iam") && err.contains("clear text"), "{err}");
        let settings = AwsSettings::from_config(&config("http://127.0.0.1:5000")).unwrap();
        let env = |name: &str| (name == "AWS_ENDPOINT_URL_STS").then(|| "http://10.1.2.3:4566".to_owned());
        let err = check_endpoints(&settings, env).unwrap_err().to_string();
        assert!(err.contains("AWS_ENDPOINT_URL_STS"), "{err}");
        let loopback = |name: &str| (name == "AWS_ENDPOINT_URL").then(|| "http://localhost:4566".to_owned());
        assert!(check_endpoints(&settings, loopback).is_ok());
    }

    #[test]
    fn reads_the_block_and_hides_the_secret() {
        let config = Value::object([
            ("region", "us-east-1".into()),
            ("access_key", "AKIDEXAMPLE".into()),
            ("secret_key", Value::from("wJalrXUtnFEMI").sensitive()),
            ("endpoints", Value::List(vec![Value::object([("iam", "http://127.0.0.1:5000".into())])])),
        ]);
        let settings = AwsSettings::from_config(&config).unwrap();
        assert_eq!(settings.region.as_deref(), Some("us-east-1"));
        assert_eq!(settings.iam_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(settings.sts_endpoint, None);
        let debug = format!("{settings:?}");
        assert!(debug.contains("AKIDEXAMPLE"));
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
    }

    #[test]
    fn null_means_defaults_and_half_a_key_pair_is_an_error() {
        assert_eq!(AwsSettings::from_config(&Value::Null).unwrap(), AwsSettings::default());
        let half = Value::object([("secret_key", Value::from("wJalrXUtnFEMI").sensitive())]);
        let error = AwsSettings::from_config(&half).unwrap_err();
        assert!(error.message.contains("set both or neither"));
        assert!(!error.message.contains("wJalrXUtnFEMI"));
    }
}
