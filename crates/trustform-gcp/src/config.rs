//! The `provider "google"` block, the environment Terraform users already set, and the API
//! clients built from them.

use crate::auth::TokenSource;
use crate::service_usage::ServiceUsage;
use google_cloudresourcemanager3::CloudResourceManager;
use google_iam1::Iam;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::fmt;
use std::sync::Arc;
use trustform_lang::Value;
use trustform_provider::ProviderError;

pub(crate) type Connector = HttpsConnector<HttpConnector>;

const IAM_ENDPOINT: &str = "https://iam.googleapis.com/";
const RESOURCE_MANAGER_ENDPOINT: &str = "https://cloudresourcemanager.googleapis.com/";
const SERVICE_USAGE_ENDPOINT: &str = "https://serviceusage.googleapis.com/";

/// A bearer token: kept out of every `Debug` and error message.
#[derive(Clone, PartialEq)]
pub(crate) struct AccessToken(pub(crate) String);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(trustform_lang::REDACTED)
    }
}

/// The settings of a `provider "google"` block, completed from the environment:
/// `GOOGLE_CLOUD_PROJECT` (or `GOOGLE_PROJECT`), `GOOGLE_OAUTH_ACCESS_TOKEN`, and
/// `GOOGLE_IAM_CUSTOM_ENDPOINT` / `GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT` /
/// `GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT`. Without an access
/// token, Application Default Credentials are used (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
/// login, `external_account` files, the metadata server).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct GoogleSettings {
    pub project: Option<String>,
    pub iam_endpoint: Option<String>,
    pub resource_manager_endpoint: Option<String>,
    pub service_usage_endpoint: Option<String>,
    pub access_token: Option<AccessToken>,
}

impl GoogleSettings {
    /// Reads the evaluated block (`null` when there is none), then the environment through `env`.
    pub(crate) fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<GoogleSettings, ProviderError> {
        let text = |name: &str| trustform_provider::attrs::setting(config, "google", name);
        let env = |name: &str| env(name).filter(|value| !value.is_empty());
        let access_token = text("access_token")?.or_else(|| env("GOOGLE_OAUTH_ACCESS_TOKEN"));
        // The generated clients unwrap the header they build from it: a token with a line break
        // (`echo` adds one) panicked the whole run. A bearer token is visible ASCII (RFC 6750).
        if access_token.as_deref().is_some_and(|token| !is_header_token(token)) {
            return Err(ProviderError::invalid(
                "provider \"google\": the access token (`access_token` or GOOGLE_OAUTH_ACCESS_TOKEN) holds a character that cannot be sent in an HTTP header, such as a line break or a space. Set the token alone, without a trailing newline: GOOGLE_OAUTH_ACCESS_TOKEN=\"$(gcloud auth print-access-token)\"",
            ));
        }
        let settings = GoogleSettings {
            project: text("project")?.or_else(|| env("GOOGLE_CLOUD_PROJECT")).or_else(|| env("GOOGLE_PROJECT")),
            iam_endpoint: text("iam_custom_endpoint")?.or_else(|| env("GOOGLE_IAM_CUSTOM_ENDPOINT")),
            resource_manager_endpoint: text("resource_manager_custom_endpoint")?
                .or_else(|| env("GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT")),
            service_usage_endpoint: text("service_usage_custom_endpoint")?
                .or_else(|| env("GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT")),
            access_token: access_token.map(AccessToken),
        };
        // A bearer token goes with every request: plain http only to this machine.
        let endpoints = [
            ("iam_custom_endpoint (or GOOGLE_IAM_CUSTOM_ENDPOINT)", &settings.iam_endpoint),
            (
                "resource_manager_custom_endpoint (or GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT)",
                &settings.resource_manager_endpoint,
            ),
            (
                "service_usage_custom_endpoint (or GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT)",
                &settings.service_usage_endpoint,
            ),
        ];
        for (name, url) in endpoints {
            if let Some(url) = url {
                trustform_provider::check_endpoint(&format!("provider \"google\": {name}"), url)
                    .map_err(ProviderError::invalid)?;
            }
        }
        Ok(settings)
    }
}

/// Whether `token` can be sent as a bearer token: visible ASCII only (RFC 6750's b64token is a
/// subset; anything else is a copy-and-paste accident, not a token).
pub(crate) fn is_header_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The base URL a generated client wants (`https://host/`, its paths start with `v1/`), from
/// an endpoint written with or without the version suffix and trailing slash, as Terraform's
/// `*_custom_endpoint` settings are.
pub(crate) fn base_url(endpoint: &str, version: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(version).map_or(trimmed, |rest| rest.trim_end_matches('/'));
    format!("{trimmed}/")
}

/// The three API clients, sharing one HTTP client and one token source.
#[derive(Clone)]
pub(crate) struct Clients {
    pub iam: Arc<Iam<Connector>>,
    pub resource_manager: Arc<CloudResourceManager<Connector>>,
    pub service_usage: ServiceUsage,
    /// The project resources default to.
    pub project: Option<String>,
}

impl Clients {
    pub(crate) fn build(settings: &GoogleSettings) -> Result<Clients, ProviderError> {
        let tokens = match &settings.access_token {
            Some(AccessToken(token)) => TokenSource::fixed(token),
            None => TokenSource::application_default()?,
        };
        let connector = connector()?;
        let http = Client::builder(TokioExecutor::new()).build(connector);
        let mut iam = Iam::new(http.clone(), tokens.clone());
        let iam_url = base_url(settings.iam_endpoint.as_deref().unwrap_or(IAM_ENDPOINT), "v1");
        iam.base_url(iam_url.clone());
        iam.root_url(iam_url);
        let service_usage_url =
            base_url(settings.service_usage_endpoint.as_deref().unwrap_or(SERVICE_USAGE_ENDPOINT), "v1");
        let service_usage = ServiceUsage::new(http.clone(), tokens.clone(), service_usage_url);
        let mut resource_manager = CloudResourceManager::new(http, tokens);
        let crm_url =
            base_url(settings.resource_manager_endpoint.as_deref().unwrap_or(RESOURCE_MANAGER_ENDPOINT), "v3");
        resource_manager.base_url(crm_url.clone());
        resource_manager.root_url(crm_url);
        Ok(Clients {
            iam: Arc::new(iam),
            resource_manager: Arc::new(resource_manager),
            service_usage,
            project: settings.project.clone(),
        })
    }

    /// The project of a resource: its own `project` argument, else the provider's.
    pub(crate) fn project_of<'v>(&'v self, value: &'v Value) -> Result<&'v str, ProviderError> {
        value.get("project").and_then(Value::as_str).or(self.project.as_deref()).ok_or_else(no_project)
    }
}

pub(crate) fn no_project() -> ProviderError {
    ProviderError::invalid(
        "no project is set: give the resource a `project`, set `project` in the provider \"google\" block, or \
         set GOOGLE_CLOUD_PROJECT",
    )
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients").field("project", &self.project).finish_non_exhaustive()
    }
}

/// HTTPS with the platform's roots for Google, plain HTTP for loopback emulators. The crypto
/// provider is named, never taken from the process default, which panics when more than one
/// is compiled in. A machine without CA certificates can still reach an emulator.
fn connector() -> Result<Connector, ProviderError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
        Ok(builder) => builder,
        Err(error) => {
            tracing::debug!(%error, "no platform CA certificates; only plain http endpoints will work");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| ProviderError::invalid(format!("cannot set up TLS: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    Ok(builder.https_or_http().enable_all_versions().build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn plain_http_endpoints_are_refused_unless_they_are_loopback() {
        let err = GoogleSettings::from_config(
            &Value::Null,
            env(&[("GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT", "http://crm.internal.example/v3/")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("resource_manager_custom_endpoint") && err.contains("clear text"), "{err}");
        let block = Value::object([("iam_custom_endpoint", "http://[::1]:8080/v1/".into())]);
        assert!(GoogleSettings::from_config(&block, env(&[])).is_ok());
    }

    #[test]
    fn the_block_wins_over_the_environment_and_hides_the_token() {
        let config = Value::object([
            ("project", "litellm-prod".into()),
            ("access_token", Value::from("ya29.secret").sensitive()),
        ]);
        let settings = GoogleSettings::from_config(
            &config,
            env(&[("GOOGLE_CLOUD_PROJECT", "other"), ("GOOGLE_IAM_CUSTOM_ENDPOINT", "http://127.0.0.1:9/")]),
        )
        .unwrap();
        assert_eq!(settings.project.as_deref(), Some("litellm-prod"));
        assert_eq!(settings.iam_endpoint.as_deref(), Some("http://127.0.0.1:9/"));
        assert_eq!(settings.access_token, Some(AccessToken("ya29.secret".to_owned())));
        assert!(!format!("{settings:?}").contains("ya29.secret"));
    }

    #[test]
    fn the_environment_fills_what_the_block_leaves_out() {
        let settings = GoogleSettings::from_config(
            &Value::Null,
            env(&[("GOOGLE_PROJECT", "p"), ("GOOGLE_OAUTH_ACCESS_TOKEN", "t")]),
        )
        .unwrap();
        assert_eq!(settings.project.as_deref(), Some("p"));
        assert_eq!(settings.access_token, Some(AccessToken("t".to_owned())));
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_refused_without_being_shown() {
        for bad in ["bad\ntoken-canary", "ya29.canary\n", "two words-canary", "tab\tcanary", "é-canary"] {
            let error = GoogleSettings::from_config(
                &Value::Null,
                env(&[("GOOGLE_PROJECT", "p"), ("GOOGLE_OAUTH_ACCESS_TOKEN", bad)]),
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains("cannot be sent in an HTTP header"), "{error}");
            assert!(!error.contains("canary"), "the token is not shown: {error}");
            let block = Value::object([("access_token", Value::from(bad).sensitive())]);
            assert!(GoogleSettings::from_config(&block, env(&[("GOOGLE_PROJECT", "p")])).is_err());
        }
    }

    #[test]
    fn endpoints_work_with_or_without_their_version() {
        for endpoint in
            ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"]
        {
            assert_eq!(base_url(endpoint, "v1"), "http://127.0.0.1:8080/", "{endpoint}");
        }
        assert_eq!(base_url("https://cloudresourcemanager.googleapis.com/v3/", "v3"), RESOURCE_MANAGER_ENDPOINT);
    }
}
