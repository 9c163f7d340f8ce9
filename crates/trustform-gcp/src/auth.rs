//! Access tokens for the generated clients: a fixed token (`access_token`,
//! `GOOGLE_OAUTH_ACCESS_TOKEN`), or Google's own Application Default Credentials through
//! `google-cloud-auth`, which covers service-account keys, gcloud's user login, impersonation,
//! `external_account` (AWS, URL, file and executable sources) and the metadata server, so
//! Trustform itself runs keyless from AWS or CI.

use google_cloud_auth::credentials::{AccessTokenCredentials, Builder};
use google_iam1::common::GetToken;
use std::future::Future;
use std::pin::Pin;
use trustform_provider::ProviderError;

/// What `GetToken::get_token` returns (the alias google-apis-common keeps private).
type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

#[derive(Clone)]
pub(crate) enum TokenSource {
    Fixed(String),
    ApplicationDefault(AccessTokenCredentials),
}

impl TokenSource {
    pub(crate) fn fixed(token: &str) -> TokenSource {
        TokenSource::Fixed(token.to_owned())
    }

    pub(crate) fn application_default() -> Result<TokenSource, ProviderError> {
        let credentials =
            Builder::default().with_scopes([CLOUD_PLATFORM]).build_access_token_credentials().map_err(|e| {
                ProviderError::denied(format!(
                    "no Google credentials were found ({e}); set GOOGLE_APPLICATION_CREDENTIALS to a credential \
                     file, run `gcloud auth application-default login`, or set GOOGLE_OAUTH_ACCESS_TOKEN"
                ))
            })?;
        Ok(TokenSource::ApplicationDefault(credentials))
    }
}

impl GetToken for TokenSource {
    fn get_token<'a>(&'a self, _scopes: &'a [&str]) -> TokenFuture<'a> {
        Box::pin(async move {
            match self {
                TokenSource::Fixed(token) => Ok(Some(token.clone())),
                TokenSource::ApplicationDefault(credentials) => match credentials.access_token().await {
                    Ok(token) => Ok(Some(token.token)),
                    Err(error) => Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>),
                },
            }
        })
    }
}
