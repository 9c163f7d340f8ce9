//! The `provider "azurerm"` block and the `ARM_*` environment variables, and the SDK client
//! built from them.

use crate::arm::ArmJson;
use crate::identity;
use crate::transport::{ArmTransport, Placeholder, StaticToken};
use azure_core::auth::{Secret, TokenCredential};
use azure_core::{RetryOptions, TransportOptions, Url};
use azure_mgmt_authorization::package_2022_04_01::Client;
use std::fmt;
use std::sync::Arc;
use trustform_lang::Value;
use trustform_provider::ProviderError;

/// Azure's public cloud; the sandbox or a sovereign cloud replace it.
pub(crate) const PUBLIC_CLOUD: &str = "https://management.azure.com";

/// A secret (client secret, OIDC token, bearer token): kept out of every `Debug` and error.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretText(pub String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(trustform_lang::REDACTED)
    }
}

/// How the provider authenticates, in the order Terraform's azurerm provider tries them (after
/// a static token, which is ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Login {
    /// `ARM_ACCESS_TOKEN`: a bearer token used as is, skipping every login flow.
    AccessToken(SecretText),
    /// A service principal with a client secret.
    ClientSecret(SecretText),
    /// Workload identity federation: an OIDC token from the CI system or Kubernetes.
    Oidc { token: Option<SecretText>, token_file: Option<String> },
    /// `use_msi`: the managed identity of the VM, App Service or pod (user-assigned when
    /// `client_id` is set).
    ManagedIdentity,
    /// Nothing configured: the Azure CLI's login (`az login`), as Terraform does.
    AzureCli,
}

/// The settings of a `provider "azurerm"` block, with `ARM_*` variables filling what it
/// leaves unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AzureSettings {
    pub subscription_id: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub endpoint: String,
    pub login: Login,
}

impl AzureSettings {
    /// Reads the evaluated block (`null` when absent), then the environment through `env`.
    pub(crate) fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AzureSettings, ProviderError> {
        let text = |name: &str, variable: &str| -> Result<Option<String>, ProviderError> {
            match config.get(name).map(Value::unmarked) {
                None | Some(Value::Null) => Ok(env(variable).filter(|value| !value.is_empty())),
                Some(Value::String(text)) if text.is_empty() => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(other) => Err(ProviderError::invalid(format!(
                    "provider \"azurerm\": `{name}` must be a string, not {}; write it as a quoted string.",
                    other.type_name()
                ))),
            }
        };
        let flag = |name: &str, variable: &str| -> Result<bool, ProviderError> {
            match config.get(name).map(Value::unmarked) {
                Some(Value::Bool(flag)) => Ok(*flag),
                Some(Value::Null) | None => Ok(env(variable).is_some_and(|flag| flag.eq_ignore_ascii_case("true"))),
                Some(other) => Err(ProviderError::invalid(format!(
                    "provider \"azurerm\": `{name}` must be a bool, not {}; write true or false.",
                    other.type_name()
                ))),
            }
        };
        let use_oidc = flag("use_oidc", "ARM_USE_OIDC")?;
        let use_msi = flag("use_msi", "ARM_USE_MSI")?;
        let endpoint = text("resource_manager_endpoint", "ARM_RESOURCE_MANAGER_ENDPOINT")?
            .unwrap_or_else(|| PUBLIC_CLOUD.to_owned());
        // The token's audience follows the endpoint, and the token travels with every request:
        // plain http only to this machine.
        trustform_provider::check_endpoint(
            "provider \"azurerm\": resource_manager_endpoint (or ARM_RESOURCE_MANAGER_ENDPOINT)",
            &endpoint,
        )
        .map_err(ProviderError::invalid)?;
        let secret = |name: &str, variable: &str| text(name, variable).map(|value| value.map(SecretText));
        let login = if let Some(token) = env("ARM_ACCESS_TOKEN").filter(|token| !token.is_empty()) {
            // A line break or space would fail every request as "failed to build `reqwest`
            // request"; say what is wrong instead. A bearer token is visible ASCII (RFC 6750).
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ProviderError::invalid(
                    "provider \"azurerm\": ARM_ACCESS_TOKEN holds a character that cannot be sent in an HTTP header, such as a line break or a space. Set the token alone, without a trailing newline: ARM_ACCESS_TOKEN=\"$(az account get-access-token --query accessToken -o tsv)\"",
                ));
            }
            Login::AccessToken(SecretText(token))
        } else if let Some(client_secret) = secret("client_secret", "ARM_CLIENT_SECRET")? {
            Login::ClientSecret(client_secret)
        } else if use_oidc {
            Login::Oidc {
                token: secret("oidc_token", "ARM_OIDC_TOKEN")?,
                token_file: text("oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH")?,
            }
        } else if use_msi {
            Login::ManagedIdentity
        } else {
            Login::AzureCli
        };
        Ok(AzureSettings {
            subscription_id: text("subscription_id", "ARM_SUBSCRIPTION_ID")?,
            tenant_id: text("tenant_id", "ARM_TENANT_ID")?,
            client_id: text("client_id", "ARM_CLIENT_ID")?,
            endpoint,
            login,
        })
    }

    /// The OAuth scope of the endpoint's audience. Tokens for a loopback emulator are asked for
    /// the public cloud's audience, which is what a static token was issued for anyway.
    fn token_scope(&self, endpoint: &Url) -> String {
        let loopback = matches!(endpoint.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if loopback {
            format!("{PUBLIC_CLOUD}/.default")
        } else {
            format!("{}/.default", endpoint.as_str().trim_end_matches('/'))
        }
    }

    pub(crate) fn credential(&self) -> Result<Arc<dyn TokenCredential>, ProviderError> {
        let (tenant, client) = (self.tenant_id.as_deref(), self.client_id.as_deref());
        match &self.login {
            Login::AccessToken(SecretText(token)) => Ok(Arc::new(StaticToken(Secret::new(token.clone())))),
            Login::ClientSecret(secret) => identity::client_secret(tenant, client, secret),
            Login::Oidc { token, token_file } => identity::oidc(tenant, client, token.as_ref(), token_file.as_deref()),
            Login::ManagedIdentity => identity::managed_identity(client),
            Login::AzureCli => identity::azure_cli(tenant),
        }
    }
}

/// The configured clients and the identity they act for.
#[derive(Clone)]
pub(crate) struct Clients {
    pub authorization: Client,
    /// Resource types without an SDK client in the build (managed identities).
    pub arm: ArmJson,
    /// One lock per managed identity (lower-case id): ARM refuses concurrent writes of one
    /// identity's federated credentials, so they are written one at a time.
    pub identity_writes: WriteLocks,
    pub settings: AzureSettings,
    /// The `oid` claim of a static token: the object id the calls act as.
    pub object_id: Option<String>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Clients {
    pub(crate) fn build(settings: &AzureSettings) -> Result<Clients, ProviderError> {
        let endpoint = Url::parse(&settings.endpoint).map_err(|error| {
            ProviderError::invalid(format!(
                "provider \"azurerm\": resource_manager_endpoint {:?} is not a URL ({error}); write it as \
                 https://management.azure.com or http://127.0.0.1:PORT.",
                settings.endpoint
            ))
        })?;
        let scope = settings.token_scope(&endpoint);
        let transport = Arc::new(ArmTransport::new(settings.credential()?, vec![scope.clone()]));
        // Retries happen in one place, the provider's `RetryPolicy`, which also knows about
        // replication delays; the SDK's own retries would multiply with it.
        let authorization = Client::builder(Arc::new(Placeholder))
            .endpoint(endpoint.clone())
            .scopes(&[scope.as_str()])
            .retry(RetryOptions::none())
            .transport(TransportOptions::new_custom_policy(transport.clone()))
            .build()
            .map_err(|error| ProviderError::invalid(format!("provider \"azurerm\": {error}")))?;
        let mut settings = settings.clone();
        let claims = match &settings.login {
            Login::AccessToken(SecretText(token)) => token_claims(token),
            _ => None,
        };
        let claim = |name: &str| claims.as_ref().and_then(|claims| claims.get(name)?.as_str().map(str::to_owned));
        settings.tenant_id = settings.tenant_id.take().or_else(|| claim("tid"));
        settings.client_id = settings.client_id.take().or_else(|| claim("appid")).or_else(|| claim("azp"));
        let arm = ArmJson { endpoint, transport };
        Ok(Clients { authorization, arm, identity_writes: WriteLocks::default(), object_id: claim("oid"), settings })
    }
}

/// Microsoft Graph's public endpoint; a sovereign cloud or the sandbox replace it.
pub(crate) const GRAPH_PUBLIC_CLOUD: &str = "https://graph.microsoft.com";

/// The configured Microsoft Graph client of `provider "azuread"`: the logins of azurerm (the
/// azuread provider reads the same `ARM_*` variables), and Graph's endpoint from
/// `msgraph_endpoint` or `ARM_MSGRAPH_ENDPOINT` (ours: the azuread provider has no override),
/// with the token asked for Graph's audience.
#[derive(Clone)]
pub(crate) struct GraphClients {
    pub graph: ArmJson,
    pub settings: AzureSettings,
}

impl fmt::Debug for GraphClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClients").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl GraphClients {
    pub(crate) fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<GraphClients, ProviderError> {
        let settings = AzureSettings::from_config(config, &env)?;
        let endpoint = match config.get("msgraph_endpoint").and_then(Value::as_str).filter(|text| !text.is_empty()) {
            Some(endpoint) => endpoint.to_owned(),
            None => env("ARM_MSGRAPH_ENDPOINT")
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| GRAPH_PUBLIC_CLOUD.to_owned()),
        };
        trustform_provider::check_endpoint(
            "provider \"azuread\": msgraph_endpoint (or ARM_MSGRAPH_ENDPOINT)",
            &endpoint,
        )
        .map_err(ProviderError::invalid)?;
        let url = Url::parse(&endpoint).map_err(|error| {
            ProviderError::invalid(format!(
                "provider \"azuread\": msgraph_endpoint {endpoint:?} is not a URL ({error}); write it as \
                 https://graph.microsoft.com or http://127.0.0.1:PORT."
            ))
        })?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let scope = if loopback {
            format!("{GRAPH_PUBLIC_CLOUD}/.default")
        } else {
            format!("{}/.default", url.as_str().trim_end_matches('/'))
        };
        let transport = Arc::new(ArmTransport::new(settings.credential()?, vec![scope]));
        Ok(GraphClients { graph: ArmJson { endpoint: url, transport }, settings })
    }
}

/// Locks keyed by resource id, shared by the clones of one configured provider.
#[derive(Clone, Default)]
pub(crate) struct WriteLocks(Arc<std::sync::Mutex<std::collections::BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl WriteLocks {
    /// The lock of `id` (case does not matter, as it does not to ARM).
    pub(crate) fn of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(id.to_ascii_lowercase()).or_default().clone()
    }
}

/// The claims of a JWT, read without checking its signature (ARM does that): only to name the
/// identity in `azurerm_client_config`. A token that is not a JWT has none.
fn token_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn a_plain_http_endpoint_is_refused_unless_it_is_loopback() {
        let config = Value::object([("resource_manager_endpoint", "http://management.internal.example".into())]);
        let err = AzureSettings::from_config(&config, env(&[("ARM_ACCESS_TOKEN", "eyJhbGciOi")])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("resource_manager_endpoint") && message.contains("clear text"), "{message}");
        assert!(!message.contains("eyJhbGciOi"), "{message}");
    }

    #[test]
    fn the_block_wins_over_the_environment_and_secrets_stay_hidden() {
        let config = Value::object([
            ("subscription_id", "sub-from-block".into()),
            ("resource_manager_endpoint", "http://127.0.0.1:4000".into()),
        ]);
        let settings = AzureSettings::from_config(
            &config,
            env(&[
                ("ARM_SUBSCRIPTION_ID", "sub-from-env"),
                ("ARM_TENANT_ID", "tenant"),
                ("ARM_ACCESS_TOKEN", "eyJhbGciOi"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.subscription_id.as_deref(), Some("sub-from-block"));
        assert_eq!(settings.tenant_id.as_deref(), Some("tenant"));
        assert_eq!(settings.endpoint, "http://127.0.0.1:4000");
        assert!(matches!(settings.login, Login::AccessToken(_)));
        let debug = format!("{settings:?}");
        assert!(!debug.contains("eyJhbGciOi"), "{debug}");
        assert!(Clients::build(&settings).is_ok());
    }

    #[test]
    fn logins_are_chosen_as_terraform_chooses_them() {
        let oidc = AzureSettings::from_config(
            &Value::object([("use_oidc", Value::Bool(true))]),
            env(&[("ARM_OIDC_TOKEN_FILE_PATH", "/var/run/secrets/token")]),
        )
        .unwrap();
        assert_eq!(oidc.login, Login::Oidc { token: None, token_file: Some("/var/run/secrets/token".to_owned()) });
        // A client secret comes before OIDC, as in Terraform's azurerm provider.
        let both = Value::object([("use_oidc", Value::Bool(true))]);
        let secret = AzureSettings::from_config(&both, env(&[("ARM_CLIENT_SECRET", "s3cret")])).unwrap();
        assert!(matches!(secret.login, Login::ClientSecret(_)));
        let error = Clients::build(&secret).unwrap_err();
        assert!(error.message.contains("ARM_TENANT_ID and ARM_CLIENT_ID"), "{error}");
        assert!(!error.message.contains("s3cret"));
        let msi = AzureSettings::from_config(&Value::object([("use_msi", Value::Bool(true))]), env(&[])).unwrap();
        assert_eq!(msi.login, Login::ManagedIdentity);
        assert_eq!(AzureSettings::from_config(&Value::Null, env(&[])).unwrap().login, Login::AzureCli);
    }

    #[test]
    fn an_access_token_that_cannot_be_a_header_is_refused_without_being_shown() {
        for bad in ["eyJ.canary\n", "bad\ntoken-canary", "two words-canary"] {
            let error = AzureSettings::from_config(&Value::Null, env(&[("ARM_ACCESS_TOKEN", bad)])).unwrap_err();
            assert!(error.message.contains("cannot be sent in an HTTP header"), "{error}");
            assert!(!error.message.contains("canary"), "{error}");
        }
    }

    #[test]
    fn client_config_comes_from_the_token_claims_when_unset() {
        // {"tid":"tenant-from-token","oid":"object","appid":"app"}
        let token = "eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ0ZW5hbnQtZnJvbS10b2tlbiIsIm9pZCI6Im9iamVjdCIsImFwcGlkIjoiYXBwIn0.";
        let settings = AzureSettings::from_config(&Value::Null, env(&[("ARM_ACCESS_TOKEN", token)])).unwrap();
        let clients = Clients::build(&settings).unwrap();
        assert_eq!(clients.settings.tenant_id.as_deref(), Some("tenant-from-token"));
        assert_eq!(clients.settings.client_id.as_deref(), Some("app"));
        assert_eq!(clients.object_id.as_deref(), Some("object"));
        assert_eq!(token_claims("not-a-jwt"), None);
    }

    #[test]
    fn token_scopes_follow_the_endpoint() {
        let settings = AzureSettings::from_config(&Value::Null, env(&[])).unwrap();
        let scope = |url: &str| settings.token_scope(&Url::parse(url).unwrap());
        assert_eq!(scope("https://management.azure.com/"), "https://management.azure.com/.default");
        assert_eq!(scope("https://management.usgovcloudapi.net"), "https://management.usgovcloudapi.net/.default");
        assert_eq!(scope("http://127.0.0.1:4000"), "https://management.azure.com/.default");
    }
}
