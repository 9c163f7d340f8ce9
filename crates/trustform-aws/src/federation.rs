//! The AWS side of the token exchanges `trustform verify` performs (read-only: each call
//! mints short-lived credentials or names the caller, and changes nothing):
//! STS `AssumeRoleWithWebIdentity` through the SDK, EKS Auth `AssumeRoleForPodIdentity` (no SDK
//! crate for EKS Auth is in the build, so a SigV4-signed JSON request as the Pod Identity Agent
//! sends it, https://docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html),
//! `GetCallerIdentity`, and the signed `GetCallerIdentity` request Google's STS takes as an AWS
//! subject token (google-auth-library-python `google/auth/aws.py`: the URL-encoded JSON of
//! `url`, `method` and `headers`, `x-goog-cloud-target-resource` among the signed headers).
//!
//! Endpoints come from the environment as the SDK reads them (`AWS_ENDPOINT_URL_STS`,
//! `AWS_ENDPOINT_URL_EKS_AUTH`, `AWS_ENDPOINT_URL`), so the same code reaches AWS or an
//! emulator. Secrets never appear in `Debug` or in an error.

use std::time::SystemTime;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata as _;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Temporary or long-term AWS credentials, redacted in `Debug`.
#[derive(Clone)]
pub struct SessionCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// A session: its credentials and the assumed-role ARN they stand for.
#[derive(Debug, Clone)]
pub struct Session {
    pub credentials: SessionCredentials,
    pub arn: String,
}

/// Why an exchange failed: the cloud refused (its error code and message), or it could not be
/// asked (network, configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    Refused { code: String, message: String },
    Unreachable(String),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Refused { code, message } => write!(f, "{code}: {message}"),
            ExchangeError::Unreachable(why) => write!(f, "{why}"),
        }
    }
}

async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

fn region_of(config: &aws_config::SdkConfig) -> String {
    config.region().map_or_else(|| "us-east-1".to_owned(), |region| region.to_string())
}

/// The credentials of the environment's default chain.
pub async fn environment_credentials() -> Result<SessionCredentials, ExchangeError> {
    let config = sdk_config().await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| ExchangeError::Unreachable("no AWS credentials in the environment".to_owned()))?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|error| ExchangeError::Unreachable(format!("no AWS credentials in the environment: {error}")))?;
    Ok(SessionCredentials {
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: credentials.secret_access_key().to_owned(),
        session_token: credentials.session_token().map(str::to_owned),
    })
}

/// `AssumeRoleWithWebIdentity` for `role_arn` with the OIDC `token`.
pub async fn assume_role_with_web_identity(
    role_arn: &str,
    token: &str,
    session_name: &str,
) -> Result<Session, ExchangeError> {
    let client = aws_sdk_sts::Client::new(&sdk_config().await);
    let answer = client
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .web_identity_token(token)
        .send()
        .await
        .map_err(|error| match error.as_service_error() {
            Some(service) => ExchangeError::Refused {
                code: service.code().unwrap_or("Unknown").to_owned(),
                message: service.message().unwrap_or_default().to_owned(),
            },
            None => ExchangeError::Unreachable(format!(
                "STS could not be reached: {}",
                aws_sdk_sts::error::DisplayErrorContext(&error)
            )),
        })?;
    let credentials =
        answer.credentials().ok_or_else(|| ExchangeError::Unreachable("STS answered no credentials".to_owned()))?;
    Ok(Session {
        credentials: SessionCredentials {
            access_key_id: credentials.access_key_id().to_owned(),
            secret_access_key: credentials.secret_access_key().to_owned(),
            session_token: Some(credentials.session_token().to_owned()),
        },
        arn: answer.assumed_role_user().map(|user| user.arn().to_owned()).unwrap_or_default(),
    })
}

/// `GetCallerIdentity` with `credentials` (the environment's when `None`): the caller's ARN.
pub async fn caller_arn(credentials: Option<&SessionCredentials>) -> Result<String, ExchangeError> {
    let config = sdk_config().await;
    let mut builder = aws_sdk_sts::config::Builder::from(&config);
    if let Some(c) = credentials {
        builder = builder.credentials_provider(Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            c.session_token.clone(),
            None,
            "trustform-verify",
        ));
    }
    let client = aws_sdk_sts::Client::from_conf(builder.build());
    let answer = client.get_caller_identity().send().await.map_err(|error| match error.as_service_error() {
        Some(service) => ExchangeError::Refused {
            code: service.code().unwrap_or("Unknown").to_owned(),
            message: service.message().unwrap_or_default().to_owned(),
        },
        None => ExchangeError::Unreachable(format!(
            "STS could not be reached: {}",
            aws_sdk_sts::error::DisplayErrorContext(&error)
        )),
    })?;
    Ok(answer.arn().unwrap_or_default().to_owned())
}

/// SigV4 headers for a request, with `credentials`.
fn signed_headers(
    credentials: &SessionCredentials,
    service: &str,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<(String, String)>, ExchangeError> {
    let identity: Identity = Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        credentials.session_token.clone(),
        None,
        "trustform-verify",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| ExchangeError::Unreachable(format!("cannot sign the request: {error}")))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|error| ExchangeError::Unreachable(format!("cannot sign the request: {error}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|error| ExchangeError::Unreachable(format!("cannot sign the request: {error}")))?
        .into_parts();
    let mut all = headers.to_vec();
    all.extend(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())));
    Ok(all)
}

/// Google's AWS subject token: a `GetCallerIdentity` request signed with `credentials` for the
/// regional STS endpoint, naming `audience` (the pool provider) in a signed header.
pub async fn google_subject_token(credentials: &SessionCredentials, audience: &str) -> Result<String, ExchangeError> {
    let region = region_of(&sdk_config().await);
    let host = format!("sts.{region}.amazonaws.com");
    let url = format!("https://{host}?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = vec![("host".to_owned(), host), ("x-goog-cloud-target-resource".to_owned(), audience.to_owned())];
    let signed = signed_headers(credentials, "sts", &region, "POST", &url, &headers, b"")?;
    let request = serde_json::json!({
        "url": url,
        "method": "POST",
        "headers": signed.iter().map(|(key, value)| serde_json::json!({ "key": key, "value": value })).collect::<Vec<_>>(),
    });
    Ok(percent_encoding::utf8_percent_encode(&request.to_string(), percent_encoding::NON_ALPHANUMERIC).to_string())
}

/// EKS Auth `AssumeRoleForPodIdentity`: the credentials the Pod Identity Agent would hand the
/// pod whose service account `token` is given, signed with the environment's credentials (the
/// node's, on a cluster).
pub async fn assume_role_for_pod_identity(cluster: &str, token: &str) -> Result<Session, ExchangeError> {
    let config = sdk_config().await;
    let region = region_of(&config);
    let base = std::env::var("AWS_ENDPOINT_URL_EKS_AUTH")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| format!("https://eks-auth.{region}.api.aws"));
    let url = format!("{}/clusters/{cluster}/assume-role-for-pod-identity", base.trim_end_matches('/'));
    let body = serde_json::json!({ "token": token }).to_string();
    let host = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_owned();
    let headers = vec![("host".to_owned(), host), ("content-type".to_owned(), "application/json".to_owned())];
    let signed = signed_headers(
        &environment_credentials().await?,
        "eks-auth",
        &region,
        "POST",
        &url,
        &headers,
        body.as_bytes(),
    )?;
    let mut request = reqwest::Client::new().post(&url).body(body);
    for (name, value) in signed.iter().filter(|(name, _)| name != "host") {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|error| ExchangeError::Unreachable(format!("EKS Auth could not be reached: {error}")))?;
    let status = response.status();
    let code = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned());
    let bytes = response.bytes().await.unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let text = |value: &serde_json::Value, path: &[&str]| {
        path.iter().try_fold(value, |value, key| value.get(key)).and_then(|v| v.as_str()).unwrap_or_default().to_owned()
    };
    if !status.is_success() {
        return Err(ExchangeError::Refused {
            code: code.unwrap_or_else(|| status.as_u16().to_string()),
            message: text(&answer, &["message"]),
        });
    }
    Ok(Session {
        credentials: SessionCredentials {
            access_key_id: text(&answer, &["credentials", "accessKeyId"]),
            secret_access_key: text(&answer, &["credentials", "secretAccessKey"]),
            session_token: Some(text(&answer, &["credentials", "sessionToken"])),
        },
        arn: text(&answer, &["assumedRoleUser", "arn"]),
    })
}
