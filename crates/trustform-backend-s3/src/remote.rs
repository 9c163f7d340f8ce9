//! One S3 client for the configured bucket, and the workspaces kept in it.

use crate::backend::{problem, S3Backend};
use crate::settings::{S3Settings, DEFAULT_WORKSPACE};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use std::collections::BTreeSet;
use trustform_state::StateError;

/// The bucket of a `backend "s3"` block, reached with the AWS default credential chain.
#[derive(Debug, Clone)]
pub struct S3Remote {
    client: aws_sdk_s3::Client,
    settings: S3Settings,
}

impl S3Remote {
    /// Builds the client. Nothing is sent until a state is read, written or locked, so this
    /// fails on no network problem; credentials are looked up on first use.
    pub async fn connect(settings: S3Settings) -> S3Remote {
        S3Remote::build(settings, None).await
    }

    /// [`S3Remote::connect`] with fixed keys instead of the credential chain: for emulators.
    pub async fn connect_with_keys(settings: S3Settings, access_key: &str, secret_key: &str) -> S3Remote {
        S3Remote::build(settings, Some(Credentials::new(access_key, secret_key, None, None, "trustform"))).await
    }

    async fn build(settings: S3Settings, keys: Option<Credentials>) -> S3Remote {
        // The SDK's standard retries are kept: a state write has no retry policy of its own
        // above it, and the backend recognises its own write or lock when an answer was lost.
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::standard());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(keys) = keys {
            loader = loader.credentials_provider(keys);
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(settings.use_path_style);
        if shared.region().is_none() {
            // S3 needs a region to sign with even against an emulator; us-east-1 is S3's own default.
            config = config.region(Region::new("us-east-1"));
        }
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        S3Remote { client: aws_sdk_s3::Client::from_conf(config.build()), settings }
    }

    /// The settings this client was built from.
    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    /// The state and lock of `workspace`.
    pub fn backend(&self, workspace: &str) -> S3Backend {
        S3Backend::new(self.client.clone(), &self.settings.bucket, self.settings.state_key(workspace))
    }

    /// Every workspace with a state object, and `default` always, sorted.
    pub async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        let mut found = BTreeSet::from([DEFAULT_WORKSPACE.to_owned()]);
        let prefix = format!("{}/", self.settings.workspace_key_prefix);
        let mut pages =
            self.client.list_objects_v2().bucket(&self.settings.bucket).prefix(&prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| StateError::Remote {
                action: "list the workspaces in",
                target: format!("s3://{}/{prefix}", self.settings.bucket),
                problem: problem(&self.settings.bucket, &error),
            })?;
            found.extend(page.contents().iter().filter_map(|object| self.settings.workspace_of(object.key()?)));
        }
        Ok(found.into_iter().collect())
    }
}
