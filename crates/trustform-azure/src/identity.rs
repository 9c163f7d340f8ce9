//! Logins through the maintained `azure_identity` 1.x, joined to the legacy `azure_core` 0.21
//! that `azure_mgmt_authorization` is built on by one small adapter: [`Identity`] is a 0.21
//! `TokenCredential` that asks a 1.x credential for its tokens.
//!
//! The 1.x credentials cache and refresh tokens themselves. They talk to Entra ID over https only,
//! so the tests, which run against a loopback emulator, use `ARM_ACCESS_TOKEN` instead.

use crate::config::SecretText;
use async_trait::async_trait;
use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::{Error, ErrorKind};
use azure_core_1::credentials::TokenCredential as TokenCredential1;
use azure_core_1::http::ClientMethodOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential, ClientSecretCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use trustform_provider::ProviderError;

/// A 1.x credential seen through the 0.21 trait.
pub(crate) struct Identity {
    kind: &'static str,
    credential: Arc<dyn TokenCredential1>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("kind", &self.kind).finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenCredential for Identity {
    async fn get_token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let token = self.credential.get_token(scopes, None).await.map_err(|error| {
            Error::with_message(ErrorKind::Credential, || {
                format!(
                    "signing in with {} failed: {error}. Check those credentials, or set ARM_ACCESS_TOKEN to a \
                     bearer token for Azure Resource Manager",
                    self.kind
                )
            })
        })?;
        Ok(AccessToken::new(Secret::new(token.token.secret().to_owned()), token.expires_on))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// An OIDC token handed over as a value (`ARM_OIDC_TOKEN`), used as the client assertion.
struct StaticAssertion(SecretText);

impl fmt::Debug for StaticAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticAssertion({:?})", self.0)
    }
}

#[async_trait]
impl ClientAssertion for StaticAssertion {
    async fn secret(&self, _options: Option<ClientMethodOptions<'_>>) -> azure_core_1::Result<String> {
        Ok(self.0 .0.clone())
    }
}

fn identity(kind: &'static str, credential: Arc<dyn TokenCredential1>) -> Arc<dyn TokenCredential> {
    Arc::new(Identity { kind, credential })
}

fn refused(what: &str, error: azure_core_1::Error) -> ProviderError {
    ProviderError::invalid(format!(
        "provider \"azurerm\": {what} cannot be used ({error}); check the settings it names."
    ))
}

/// Both ids a service principal login needs, or the error saying which is missing.
fn principal<'a>(
    what: &str,
    tenant_id: Option<&'a str>,
    client_id: Option<&'a str>,
) -> Result<(&'a str, &'a str), ProviderError> {
    match (tenant_id, client_id) {
        (Some(tenant), Some(client)) => Ok((tenant, client)),
        _ => Err(ProviderError::invalid(format!(
            "provider \"azurerm\": {what} needs the tenant and the application. Set tenant_id and client_id (or \
             ARM_TENANT_ID and ARM_CLIENT_ID)."
        ))),
    }
}

pub(crate) fn client_secret(
    tenant_id: Option<&str>,
    client_id: Option<&str>,
    secret: &SecretText,
) -> Result<Arc<dyn TokenCredential>, ProviderError> {
    let (tenant, client) = principal("a client secret", tenant_id, client_id)?;
    let credential = ClientSecretCredential::new(tenant, client.to_owned(), secret.0.clone().into(), None)
        .map_err(|error| refused("the client secret login", error))?;
    Ok(identity("a client secret", credential))
}

pub(crate) fn oidc(
    tenant_id: Option<&str>,
    client_id: Option<&str>,
    token: Option<&SecretText>,
    token_file: Option<&str>,
) -> Result<Arc<dyn TokenCredential>, ProviderError> {
    let (tenant, client) = principal("workload identity federation", tenant_id, client_id)?;
    if let Some(token) = token {
        let credential =
            ClientAssertionCredential::new(tenant.to_owned(), client.to_owned(), StaticAssertion(token.clone()), None)
                .map_err(|error| refused("the OIDC token", error))?;
        return Ok(identity("an OIDC token", credential));
    }
    let Some(path) = token_file else {
        return Err(ProviderError::invalid(
            "provider \"azurerm\": use_oidc is set but no token was given. Set ARM_OIDC_TOKEN to the token or \
             ARM_OIDC_TOKEN_FILE_PATH (oidc_token_file_path) to the file holding it.",
        ));
    };
    let options = WorkloadIdentityCredentialOptions {
        client_id: Some(client.to_owned()),
        tenant_id: Some(tenant.to_owned()),
        token_file_path: Some(PathBuf::from(path)),
        ..WorkloadIdentityCredentialOptions::default()
    };
    let credential =
        WorkloadIdentityCredential::new(Some(options)).map_err(|error| refused("the OIDC token file", error))?;
    Ok(identity("an OIDC token file", credential))
}

pub(crate) fn managed_identity(client_id: Option<&str>) -> Result<Arc<dyn TokenCredential>, ProviderError> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: client_id.map(|id| UserAssignedId::ClientId(id.to_owned())),
        ..ManagedIdentityCredentialOptions::default()
    };
    let credential =
        ManagedIdentityCredential::new(Some(options)).map_err(|error| refused("the managed identity", error))?;
    Ok(identity("the managed identity", credential))
}

pub(crate) fn azure_cli(tenant_id: Option<&str>) -> Result<Arc<dyn TokenCredential>, ProviderError> {
    let options =
        AzureCliCredentialOptions { tenant_id: tenant_id.map(str::to_owned), ..AzureCliCredentialOptions::default() };
    let credential = AzureCliCredential::new(Some(options)).map_err(|error| refused("the Azure CLI login", error))?;
    Ok(identity("the Azure CLI login", credential))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_principal_logins_name_what_is_missing() {
        let secret = SecretText("s3cret".to_owned());
        let error = client_secret(Some("tenant"), None, &secret).unwrap_err();
        assert!(error.message.ends_with("(or ARM_TENANT_ID and ARM_CLIENT_ID)."), "{error}");
        let error = oidc(Some("f3b1cf79-eba8-40c3-8120-cb26aca169c2"), Some("app"), None, None).unwrap_err();
        assert!(error.message.contains("ARM_OIDC_TOKEN_FILE_PATH"), "{error}");
    }

    #[test]
    fn credentials_are_built_without_a_network_call_and_hide_their_secrets() {
        let tenant = Some("f3b1cf79-eba8-40c3-8120-cb26aca169c2");
        let secret = SecretText("s3cret".to_owned());
        let credential = client_secret(tenant, Some("app"), &secret).unwrap();
        assert!(!format!("{credential:?}").contains("s3cret"));
        let token = SecretText("eyJhbGciOi".to_owned());
        let credential = oidc(tenant, Some("app"), Some(&token), None).unwrap();
        assert!(!format!("{credential:?}").contains("eyJhbGciOi"));
        assert!(format!("{:?}", StaticAssertion(token)).contains(trustform_lang::REDACTED));
    }
}
