//! Google clients pointed at a sandbox with a static bearer token, as the adapter configures them
//! for an emulator, and helpers to read Google's error JSON.

use google_cloudresourcemanager3::CloudResourceManager;
use google_iam1::hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use google_iam1::hyper_util::client::legacy::connect::HttpConnector;
use google_iam1::hyper_util::client::legacy::Client;
use google_iam1::hyper_util::rt::TokioExecutor;
use google_iam1::Iam;
use trustform_sandbox::{Sandbox, SandboxConfig};

pub type Connector = HttpsConnector<HttpConnector>;

pub const PROJECT: &str = "my-project";
pub const PROJECT_NUMBER: u64 = 123456789012;
pub const AWS_ACCOUNT: &str = "210987654321";

/// A sandbox with [`PROJECT`] preloaded on top of `config`.
pub async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config.gcp_project(PROJECT, PROJECT_NUMBER)).await.unwrap()
}

fn connector() -> Connector {
    // The crypto provider is named: with more than one compiled in, the process default panics.
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .unwrap()
        .https_or_http()
        .enable_http1()
        .build()
}

/// The endpoint with the trailing slash the generated clients append their `v1/...` paths to.
fn base_url(sandbox: &Sandbox) -> String {
    format!("{}/", sandbox.endpoint())
}

pub fn iam(sandbox: &Sandbox) -> Iam<Connector> {
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let mut hub = Iam::new(client, "sandbox-token".to_owned());
    hub.base_url(base_url(sandbox));
    hub.root_url(base_url(sandbox));
    hub
}

pub fn resource_manager(sandbox: &Sandbox) -> CloudResourceManager<Connector> {
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let mut hub = CloudResourceManager::new(client, "sandbox-token".to_owned());
    hub.base_url(base_url(sandbox));
    hub.root_url(base_url(sandbox));
    hub
}

/// The HTTP code and `status` of the Google error JSON a failed call answered.
pub fn google_error<T: std::fmt::Debug>(result: Result<T, google_iam1::Error>) -> (u16, String) {
    match result {
        Err(google_iam1::Error::BadRequest(body)) => {
            let error = &body["error"];
            let code = error["code"].as_u64().and_then(|code| u16::try_from(code).ok()).unwrap_or_default();
            assert!(error["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
            (code, error["status"].as_str().unwrap_or_default().to_owned())
        }
        other => panic!("expected a Google error JSON, got {other:?}"),
    }
}

/// The error `status` alone, checking that the HTTP code is the one Google pairs with it.
pub fn status<T: std::fmt::Debug>(result: Result<T, google_iam1::Error>) -> String {
    let (code, status) = google_error(result);
    let expected = match status.as_str() {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" => 400,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ALREADY_EXISTS" | "ABORTED" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "UNAVAILABLE" => 503,
        other => panic!("unexpected status {other}"),
    };
    assert_eq!(code, expected, "{status}");
    status
}
