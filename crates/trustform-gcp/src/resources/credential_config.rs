//! `google_credential_config`: writes an `external_account` credential JSON
//! (<https://google.aip.dev/auth/4117>, <https://cloud.google.com/iam/docs/workload-download-cred-and-grant-access>),
//! with which a workload exchanges an identity it already has for a Google access token (Google
//! STS, then service account impersonation). No cloud call: a local file, mode 0600, written
//! atomically.
//!
//! The audience and the impersonation URL are derived from the pool provider's `name` and the
//! service account's email, never typed by hand, so they cannot disagree with what was
//! provisioned. The credential source is one of:
//! * `environment`, an AWS workload (seed 001): `ec2` reads the instance metadata service (with
//!   its IMDSv2 session token); `eks_fargate` reads the Fargate endpoints at `169.254.170.2`,
//!   which have no IMDSv2 token URL (the troubleshooting table's "Token refresh failed" row);
//! * `file_source`, an OIDC token in a file: a Kubernetes projected service account token on AKS,
//!   GKE or any cluster whose issuer an OIDC pool provider trusts;
//! * `url_source`, an OIDC token fetched over HTTP with headers, as GitHub Actions serves it
//!   (`format { type = "json", subject_token_field_name = "value" }`).
//!
//! For the two OIDC sources the subject token type is `urn:ietf:params:oauth:token-type:jwt`
//! unless set, and a `format` is `text` (the whole file or body) or `json` with the field that
//! holds the token, as AIP-4117 and google-auth's `identity_pool.Credentials` read them.

use crate::api::Api;
use crate::api::{required, string_map, text, with};
use crate::schema;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::Path;
use trustform_lang::Value;
use trustform_provider::{ProviderError, ValidationIssue};
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

const TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The subject token types an OIDC or SAML pool provider takes (AIP-4117, "Subject token types").
const OIDC_TOKEN_TYPES: &[&str] =
    &[JWT_TOKEN_TYPE, "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:saml2"];
const VERIFICATION_URL: &str = "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";

/// Where a workload reads its AWS region and credentials from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Environment {
    Ec2,
    EksFargate,
}

impl Environment {
    fn parse(text: &str) -> Option<Environment> {
        match text {
            "ec2" => Some(Environment::Ec2),
            "eks_fargate" => Some(Environment::EksFargate),
            _ => None,
        }
    }

    /// (region_url, url, imdsv2_session_token_url)
    fn endpoints(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Environment::Ec2 => (
                "http://169.254.169.254/latest/meta-data/placement/availability-zone",
                "http://169.254.169.254/latest/meta-data/iam/security-credentials",
                Some("http://169.254.169.254/latest/api/token"),
            ),
            Environment::EksFargate => {
                ("http://169.254.170.2/v2/metadata/placement/region", "http://169.254.170.2/v2/credentials", None)
            }
        }
    }
}

/// How an OIDC subject token is read from a file or a response body: whole (`text`), or one
/// field of a JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json { field: String },
}

/// Where the credential reads the identity it exchanges.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Aws(Environment),
    File { path: String, format: Option<Format> },
    Url { url: String, headers: BTreeMap<String, String>, format: Option<Format> },
}

/// A problem with the source: the attribute it is about, the summary, and the detail ending
/// with the fix.
type SourceProblem = (&'static str, &'static str, String);

const INVALID_SOURCE: &str = "Invalid credential source";

fn present(config: &Value, name: &str) -> bool {
    config.get(name).is_some_and(|value| !value.is_null())
}

/// The `format` block of a source, `None` when absent (or not known yet).
fn format_of(source: &Value, attribute: &'static str) -> Result<Option<Format>, SourceProblem> {
    let Some(format) = source.get("format").filter(|format| !format.is_null()) else { return Ok(None) };
    let field = text(format, "subject_token_field_name");
    match (text(format, "type").unwrap_or("text"), field) {
        ("text", None) => Ok(Some(Format::Text)),
        ("text", Some(_)) => Err((
            attribute,
            INVALID_SOURCE,
            "format.subject_token_field_name is read only with format.type = \"json\". Set type = \"json\" to read \
             that field of a JSON token, or remove subject_token_field_name."
                .to_owned(),
        )),
        ("json", Some(field)) if !field.is_empty() => Ok(Some(Format::Json { field: field.to_owned() })),
        ("json", _) => Err((
            attribute,
            INVALID_SOURCE,
            "format.type = \"json\" needs subject_token_field_name, the field that holds the token (\"value\" for \
             GitHub Actions' ID token endpoint)."
                .to_owned(),
        )),
        (other, _) => Err((
            attribute,
            INVALID_SOURCE,
            format!("format.type = {other:?} is not a format google-auth reads. Use \"text\" or \"json\"."),
        )),
    }
}

/// The credential source of a configuration: exactly one of `environment`, `file_source` and
/// `url_source`. `Ok(None)` while a part of it is not known yet.
fn source_of(config: &Value) -> Result<Option<Source>, SourceProblem> {
    let given: Vec<&str> =
        ["environment", "file_source", "url_source"].into_iter().filter(|name| present(config, name)).collect();
    if given.len() != 1 {
        let attribute = given.get(1).copied().unwrap_or("environment");
        return Err((
            attribute,
            INVALID_SOURCE,
            format!(
                "A credential configuration reads exactly one identity, and this one names {}. Keep one of \
                 environment = \"ec2\" or \"eks_fargate\" (AWS), a file_source block (an OIDC token in a file, such \
                 as a Kubernetes projected service account token) or a url_source block (an OIDC token served over \
                 HTTP, as in GitHub Actions).",
                if given.is_empty() { "none".to_owned() } else { given.join(" and ") }
            ),
        ));
    }
    match given[0] {
        "environment" => {
            let Some(environment) = text(config, "environment") else { return Ok(None) };
            let environment = Environment::parse(environment).ok_or_else(|| {
                (
                    "environment",
                    "Unknown credential environment",
                    format!(
                        "environment = {environment:?} is not one Trustform writes a credential source for. Use \
                         \"ec2\" for EC2 and EKS on EC2 nodes (instance metadata) or \"eks_fargate\" for EKS on \
                         Fargate; for an OIDC token use a file_source or url_source block instead."
                    ),
                )
            })?;
            Ok(Some(Source::Aws(environment)))
        }
        "file_source" => {
            let block = config.get("file_source").unwrap_or(&Value::Null);
            let format = format_of(block, "file_source")?;
            let Some(path) = text(block, "path") else { return Ok(None) };
            if !path.starts_with('/') {
                return Err((
                    "file_source",
                    INVALID_SOURCE,
                    format!(
                        "file_source.path = {path:?} is read by the workload, where a relative path means nothing \
                         fixed. Give the absolute path its token is mounted at, such as \
                         \"/var/run/secrets/tokens/gcp-ksa/token\"."
                    ),
                ));
            }
            Ok(Some(Source::File { path: path.to_owned(), format }))
        }
        _ => {
            let block = config.get("url_source").unwrap_or(&Value::Null);
            let format = format_of(block, "url_source")?;
            let Some(url) = text(block, "url") else { return Ok(None) };
            // A job-scoped URL (GitHub's ACTIONS_ID_TOKEN_REQUEST_URL) is known only where the
            // file is used: it may start with a `${NAME}` placeholder that `envsubst` fills there.
            let placeholder = url.strip_prefix("${").and_then(|rest| rest.split_once('}')).is_some_and(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if !(url.starts_with("https://") || url.starts_with("http://") || placeholder) {
                return Err((
                    "url_source",
                    INVALID_SOURCE,
                    format!(
                        "url_source.url = {url:?} is not an http(s) URL. Give the URL the workload fetches its token \
                         from, or a ${{NAME}} placeholder the workload fills with envsubst (written $${{NAME}} in a \
                         spec)."
                    ),
                ));
            }
            if block.get("headers").is_some_and(Value::contains_unknown) {
                return Ok(None);
            }
            Ok(Some(Source::Url { url: url.to_owned(), headers: string_map(block, "headers"), format }))
        }
    }
}

/// The subject token type the file declares: AWS's for an AWS source, else the one set or JWT.
fn token_type_of(config: &Value, source: &Source) -> Result<String, SourceProblem> {
    let given = text(config, "subject_token_type");
    match (source, given) {
        (Source::Aws(_), None) => Ok(AWS_TOKEN_TYPE.to_owned()),
        (Source::Aws(_), Some(AWS_TOKEN_TYPE)) => Ok(AWS_TOKEN_TYPE.to_owned()),
        (Source::Aws(_), Some(other)) => Err((
            "subject_token_type",
            "Invalid subject token type",
            format!("An AWS source always sends {AWS_TOKEN_TYPE:?}, not {other:?}. Remove subject_token_type."),
        )),
        (_, None) => Ok(JWT_TOKEN_TYPE.to_owned()),
        (_, Some(given)) if OIDC_TOKEN_TYPES.contains(&given) => Ok(given.to_owned()),
        (_, Some(other)) => Err((
            "subject_token_type",
            "Invalid subject token type",
            format!(
                "subject_token_type = {other:?} is not a type Google STS takes for an OIDC or SAML token. Use {}.",
                OIDC_TOKEN_TYPES.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Plan-time checks: exactly one source, one we know, well formed; and the provider name carries
/// the project **number** (an audience with the project id is rejected by Google STS as an invalid audience).
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let problem = match source_of(config) {
        Ok(Some(source)) => token_type_of(config, &source).err(),
        Ok(None) => None,
        Err(problem) => Some(problem),
    };
    if let Some((attribute, summary, detail)) = problem {
        issues.push(ValidationIssue {
            attribute: attribute.to_owned(),
            summary: summary.to_owned(),
            detail,
            is_error: true,
        });
    }
    if let Some(path) = text(config, "path") {
        if let Err(error) = spec_dir().and_then(|base| confined(&base, path)) {
            issues.push(ValidationIssue {
                attribute: "path".to_owned(),
                summary: "Credential file outside the spec's directory".to_owned(),
                detail: format!("{error}."),
                is_error: true,
            });
        }
    }
    if let Some(provider) = text(config, "workload_identity_provider") {
        if let Err(detail) = project_number_of(provider) {
            issues.push(ValidationIssue {
                attribute: "workload_identity_provider".to_owned(),
                summary: "Audience needs the project number".to_owned(),
                detail,
                is_error: true,
            });
        }
    }
    issues
}

fn project_number_of(provider: &str) -> Result<&str, String> {
    let parts: Vec<&str> = provider.split('/').collect();
    match parts.as_slice() {
        ["projects", number, "locations", "global", "workloadIdentityPools", _, "providers", _]
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(number)
        }
        ["projects", project, "locations", "global", "workloadIdentityPools", _, "providers", _] => Err(format!(
            "{provider:?} names the project as {project:?}; the audience must carry the project number. Use the pool \
             provider's `name` attribute (google_iam_workload_identity_pool_provider.NAME.name), which Google gives \
             with the number."
        )),
        _ => Err(format!(
            "{provider:?} is not a pool provider name; expected \
             projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER, which is the `name` of a \
             google_iam_workload_identity_pool_provider."
        )),
    }
}

/// The derived attributes, known as soon as the arguments are.
pub(crate) fn plan(planned: Value) -> Value {
    match derive(&planned) {
        Ok(derived) => derived,
        Err(_) => planned,
    }
}

fn derive(planned: &Value) -> Result<Value, ProviderError> {
    let path = required(planned, "path")?;
    let source = source_of(planned)
        .map_err(|(_, _, detail)| ProviderError::invalid(detail))?
        .ok_or_else(|| ProviderError::invalid("the credential source is not known yet"))?;
    let token_type = token_type_of(planned, &source).map_err(|(_, _, detail)| ProviderError::invalid(detail))?;
    let provider = required(planned, "workload_identity_provider")?;
    project_number_of(provider).map_err(ProviderError::invalid)?;
    let email = required(planned, "service_account_email")?;
    let audience = format!("//iam.googleapis.com/{provider}");
    let impersonation =
        format!("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken");
    let content = render(&audience, &token_type, &impersonation, &source);
    Ok(with(
        planned,
        [
            ("id", Value::string(path)),
            ("subject_token_type", Value::string(token_type)),
            ("audience", Value::string(audience)),
            ("service_account_impersonation_url", Value::string(impersonation)),
            ("content", Value::string(content)),
        ],
    ))
}

/// The JSON, laid out and ordered as in the seed (and AIP-4117's examples) so it reads the way
/// the docs show it.
fn render(audience: &str, token_type: &str, impersonation: &str, source: &Source) -> String {
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut text_field = |name: &str, value: &str| fields.push((name.to_owned(), quoted(value)));
    let format_json = |format: &Format| match format {
        Format::Text => "{\"type\": \"text\"}".to_owned(),
        Format::Json { field } => format!("{{\"type\": \"json\", \"subject_token_field_name\": {}}}", quoted(field)),
    };
    match source {
        Source::Aws(environment) => {
            let (region_url, url, token_url) = environment.endpoints();
            text_field("environment_id", "aws1");
            text_field("region_url", region_url);
            text_field("url", url);
            text_field("regional_cred_verification_url", VERIFICATION_URL);
            if let Some(token_url) = token_url {
                text_field("imdsv2_session_token_url", token_url);
            }
        }
        Source::File { path, format } => {
            text_field("file", path);
            if let Some(format) = format {
                fields.push(("format".to_owned(), format_json(format)));
            }
        }
        Source::Url { url, headers, format } => {
            text_field("url", url);
            if !headers.is_empty() {
                let headers: Vec<String> =
                    headers.iter().map(|(k, v)| format!("{}: {}", quoted(k), quoted(v))).collect();
                fields.push(("headers".to_owned(), format!("{{{}}}", headers.join(", "))));
            }
            if let Some(format) = format {
                fields.push(("format".to_owned(), format_json(format)));
            }
        }
    }
    let source: Vec<String> = fields.iter().map(|(k, v)| format!("    {}: {v}", quoted(k))).collect();
    format!(
        "{{\n  \"type\": \"external_account\",\n  \"audience\": {},\n  \"subject_token_type\": {},\n  \
         \"service_account_impersonation_url\": {},\n  \"token_url\": {},\n  \"credential_source\": {{\n{}\n  }}\n}}\n",
        quoted(audience),
        quoted(token_type),
        quoted(impersonation),
        quoted(TOKEN_URL),
        source.join(",\n")
    )
}

pub(crate) async fn create(planned: &Value) -> Result<Value, ProviderError> {
    create_in(&spec_dir()?, planned).await
}

async fn create_in(base: &Path, planned: &Value) -> Result<Value, ProviderError> {
    let state = derive(planned)?;
    write(base, &state).await?;
    Ok(state)
}

pub(crate) async fn update(planned: &Value) -> Result<Value, ProviderError> {
    create(planned).await
}

/// The file as it is: gone means gone; edited by hand shows as a change of `content`. The path
/// comes from state, which is input like any file: it must lie in the spec's directory tree.
pub(crate) async fn read(state: &Value) -> Result<Option<Value>, ProviderError> {
    read_in(&spec_dir()?, state).await
}

async fn read_in(base: &Path, state: &Value) -> Result<Option<Value>, ProviderError> {
    let path = confined(base, required(state, "path")?)?;
    match tokio::fs::read_to_string(&path).await {
        Ok(content) => Ok(Some(with(state, [("content", Value::string(content))]))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ProviderError::invalid(format!("cannot read {}: {error}", path.display()))),
    }
}

/// Removes the file only when it holds what Trustform wrote (the state's `content`): a file
/// edited since, or one the state merely names, is left alone.
pub(crate) async fn delete(state: &Value) -> Result<(), ProviderError> {
    delete_in(&spec_dir()?, state).await
}

async fn delete_in(base: &Path, state: &Value) -> Result<(), ProviderError> {
    let path = confined(base, required(state, "path")?)?;
    let written = required(state, "content")?;
    match tokio::fs::read_to_string(&path).await {
        Ok(content) if content == written => {}
        Ok(_) => {
            return Err(ProviderError::invalid(format!(
                "{} no longer holds the credential configuration Trustform wrote, so it was not removed. Delete it by hand if it is no longer needed, or `trustform state rm` the resource",
                path.display()
            )))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(ProviderError::invalid(format!("cannot read {}: {error}", path.display()))),
    }
    match tokio::fs::remove_file(&path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(ProviderError::invalid(format!("cannot remove {}: {error}", path.display()))),
    }
}

/// The spec's directory: the working directory of a run (`--chdir` moves the process there).
fn spec_dir() -> Result<std::path::PathBuf, ProviderError> {
    std::env::current_dir()
        .and_then(|dir| dir.canonicalize())
        .map_err(|e| ProviderError::invalid(format!("cannot resolve the spec's directory: {e}")))
}

/// `path` (relative to `base`, the spec's directory) when it stays inside that directory's tree:
/// no `..`, no absolute path elsewhere, no symlink on the way out, and the file itself not a
/// symlink.
fn confined(base: &Path, path: &str) -> Result<std::path::PathBuf, ProviderError> {
    use std::path::Component;
    let refuse = |why: &str| {
        ProviderError::invalid(format!(
            "path {path:?} {why}; the credential file must be inside the spec's directory. Write it relative to the spec, like \"${{path.module}}/gcp_credentials.json\""
        ))
    };
    let base =
        base.canonicalize().map_err(|e| ProviderError::invalid(format!("cannot resolve the spec's directory: {e}")))?;
    let given = Path::new(path);
    if given.components().any(|c| c == Component::ParentDir) {
        return Err(refuse("contains \"..\""));
    }
    let full = if given.is_absolute() { given.to_path_buf() } else { base.join(given) };
    let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
        return Err(refuse("names no file"));
    };
    // The nearest existing ancestor, with every symlink resolved, must be inside the spec's tree;
    // what does not exist yet is created by the write, inside it.
    let mut existing = parent;
    let resolved = loop {
        match existing.canonicalize() {
            Ok(resolved) => break resolved,
            Err(_) => existing = existing.parent().ok_or_else(|| refuse("is outside the spec's directory"))?,
        }
    };
    if !resolved.starts_with(&base) {
        return Err(refuse("is outside the spec's directory"));
    }
    let file = parent.join(name);
    if std::fs::symlink_metadata(&file).is_ok_and(|meta| meta.file_type().is_symlink()) {
        return Err(refuse("is a symbolic link"));
    }
    Ok(file)
}

async fn write(base: &Path, state: &Value) -> Result<(), ProviderError> {
    let path = confined(base, required(state, "path")?)?.display().to_string();
    let content = required(state, "content")?.to_owned();
    tokio::task::spawn_blocking(move || {
        trustform_state::write_file_atomically(Path::new(&path), content.as_bytes())
            .map_err(|e| ProviderError::invalid(format!("cannot write {path}: {e}")))
    })
    .await
    .map_err(|e| ProviderError::transient(format!("the credential file write did not finish: {e}")))?
}

/// `google_credential_config`, as the provider serves it: a local file, so it needs no
/// configured clients.
pub(crate) struct CredentialConfig;

#[async_trait]
impl ResourceType<Api> for CredentialConfig {
    fn schema(&self) -> ResourceSchema {
        schema::credential_config()
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(config)
    }

    fn plan(&self, _: &Session<Api>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(plan(planned))
    }

    async fn read(&self, _: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(state).await
    }

    async fn create(
        &self,
        _: &Session<Api>,
        planned: &Value,
        _: &dyn trustform_provider::Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(planned).await
    }

    async fn update(&self, _: &Session<Api>, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(planned).await
    }

    async fn delete(&self, _: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(state).await
    }

    async fn import(&self, _: &Session<Api>, _id: &str) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(
            "google_credential_config is a local file that Trustform writes; it cannot be imported, apply instead",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str =
        "projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider";
    const EMAIL: &str = "litellm-wif-sa@litellm-prod.iam.gserviceaccount.com";

    fn config(environment: &str, provider: &str) -> Value {
        Value::object([
            ("path", "creds.json".into()),
            ("environment", environment.into()),
            ("workload_identity_provider", provider.into()),
            ("service_account_email", EMAIL.into()),
        ])
    }

    fn content(environment: &str) -> serde_json::Value {
        let planned = plan(config(environment, PROVIDER));
        serde_json::from_str(planned.get("content").and_then(Value::as_str).unwrap()).unwrap()
    }

    #[test]
    fn ec2_matches_the_seed() {
        assert_eq!(
            content("ec2"),
            serde_json::json!({
                "type": "external_account",
                "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider",
                "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
                "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/litellm-wif-sa@litellm-prod.iam.gserviceaccount.com:generateAccessToken",
                "token_url": "https://sts.googleapis.com/v1/token",
                "credential_source": {
                    "environment_id": "aws1",
                    "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
                    "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
                    "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
                    "imdsv2_session_token_url": "http://169.254.169.254/latest/api/token"
                }
            })
        );
    }

    #[test]
    fn fargate_uses_its_endpoints_and_no_imdsv2_token() {
        let source = content("eks_fargate")["credential_source"].clone();
        assert_eq!(source["region_url"], "http://169.254.170.2/v2/metadata/placement/region");
        assert_eq!(source["url"], "http://169.254.170.2/v2/credentials");
        assert!(source.get("imdsv2_session_token_url").is_none(), "{source}");
    }

    #[test]
    fn a_project_id_in_the_audience_is_an_error_with_the_fix() {
        let issues =
            validate(&config("ec2", "projects/litellm-prod/locations/global/workloadIdentityPools/p/providers/a"));
        assert_eq!(issues.len(), 1);
        assert!(issues[0].detail.contains("project number"), "{}", issues[0].detail);
        assert!(validate(&config("ec2", PROVIDER)).is_empty());
        assert_eq!(validate(&config("lambda", PROVIDER))[0].attribute, "environment");
    }

    fn oidc(source: &str, block: Value) -> Value {
        Value::object([
            ("path", "creds.json".into()),
            ("workload_identity_provider", PROVIDER.into()),
            ("service_account_email", EMAIL.into()),
            (source, block),
        ])
    }

    fn format(kind: &str, field: Option<&str>) -> Value {
        Value::object([("type", kind.into()), ("subject_token_field_name", field.map(Value::from).unwrap_or_default())])
    }

    fn rendered(config: Value) -> serde_json::Value {
        let planned = plan(config);
        serde_json::from_str(planned.get("content").and_then(Value::as_str).expect("content")).unwrap()
    }

    #[test]
    fn a_projected_token_file_is_an_oidc_file_source() {
        let file = Value::object([("path", "/var/run/secrets/tokens/gcp-ksa/token".into()), ("format", Value::Null)]);
        let json = rendered(oidc("file_source", file));
        assert_eq!(json["subject_token_type"], JWT_TOKEN_TYPE);
        assert_eq!(json["credential_source"], serde_json::json!({ "file": "/var/run/secrets/tokens/gcp-ksa/token" }));
        assert_eq!(json["audience"], format!("//iam.googleapis.com/{PROVIDER}"));
    }

    #[test]
    fn github_actions_is_a_url_source_with_headers_and_a_json_field() {
        let url = Value::object([
            ("url", "https://pipelines.actions.githubusercontent.example/token?audience=x".into()),
            ("headers", Value::object([("Authorization", "bearer request-token".into())])),
            ("format", format("json", Some("value"))),
        ]);
        let json = rendered(oidc("url_source", url));
        assert_eq!(
            json["credential_source"],
            serde_json::json!({
                "url": "https://pipelines.actions.githubusercontent.example/token?audience=x",
                "headers": { "Authorization": "bearer request-token" },
                "format": { "type": "json", "subject_token_field_name": "value" },
            })
        );
    }

    #[test]
    fn a_source_must_be_one_and_well_formed() {
        let file = |path: &str, format: Value| Value::object([("path", path.into()), ("format", format)]);
        let cases = [
            (with(&config("ec2", PROVIDER), [("file_source", file("/t", Value::Null))]), "file_source", "exactly one"),
            (oidc("file_source", file("token", Value::Null)), "file_source", "absolute path"),
            (oidc("file_source", file("/t", format("json", None))), "file_source", "subject_token_field_name"),
            (oidc("file_source", file("/t", format("text", Some("value")))), "file_source", "type = \"json\""),
            (oidc("file_source", file("/t", format("yaml", None))), "file_source", "\"text\" or \"json\""),
            (oidc("url_source", Value::object([("url", "ftp://x".into())])), "url_source", "http(s)"),
            (oidc("url_source", Value::object([("url", "${}/x".into())])), "url_source", "placeholder"),
            (
                with(&oidc("file_source", file("/t", Value::Null)), [("subject_token_type", "jwt".into())]),
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:jwt",
            ),
            (
                with(&config("ec2", PROVIDER), [("subject_token_type", JWT_TOKEN_TYPE.into())]),
                "subject_token_type",
                "Remove subject_token_type",
            ),
        ];
        for (config, attribute, fix) in cases {
            let issues = validate(&config);
            assert_eq!(issues.len(), 1, "{config:?}: {issues:?}");
            assert_eq!(issues[0].attribute, attribute, "{issues:?}");
            assert!(issues[0].detail.contains(fix), "{}", issues[0].detail);
        }
        let none = Value::object([("path", "c.json".into()), ("workload_identity_provider", PROVIDER.into())]);
        assert!(validate(&none)[0].detail.contains("names none"), "{:?}", validate(&none));
        assert!(validate(&oidc("file_source", file("/t", Value::Unknown))).is_empty());
        let placeholder = Value::object([("url", "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=a".into())]);
        assert!(validate(&oidc("url_source", placeholder)).is_empty());
    }

    #[tokio::test]
    async fn writes_reads_and_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let path = base.join("gcp.json");
        let planned = with(&config("ec2", PROVIDER), [("path", Value::string(path.display().to_string()))]);
        let state = create_in(base, &planned).await.unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_in(base, &state).await.unwrap(), Some(state.clone()));
        delete_in(base, &state).await.unwrap();
        assert_eq!(read_in(base, &state).await.unwrap(), None);
        delete_in(base, &state).await.unwrap();
    }

    #[tokio::test]
    async fn a_file_edited_since_it_was_written_is_read_but_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let planned = with(&config("ec2", PROVIDER), [("path", Value::from("sub/gcp.json"))]);
        let state = create_in(base, &planned).await.unwrap();
        std::fs::write(base.join("sub/gcp.json"), "{}").unwrap();
        assert_eq!(read_in(base, &state).await.unwrap().unwrap().get("content"), Some(&Value::from("{}")));
        let err = delete_in(base, &state).await.unwrap_err().to_string();
        assert!(err.contains("no longer holds the credential configuration Trustform wrote"), "{err}");
        assert!(base.join("sub/gcp.json").exists());
    }

    #[tokio::test]
    async fn a_path_from_state_outside_the_spec_directory_is_neither_read_nor_deleted() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "not ours").unwrap();
        let spec = tempfile::tempdir().unwrap();
        let base = spec.path();
        std::os::unix::fs::symlink(outside.path(), base.join("link")).unwrap();
        std::os::unix::fs::symlink(&victim, base.join("file-link.json")).unwrap();
        let relative_up = format!("../{}/victim.txt", outside.path().file_name().unwrap().to_string_lossy());
        for path in
            [victim.display().to_string(), relative_up, "link/victim.txt".to_owned(), "file-link.json".to_owned()]
        {
            let state = Value::object([("path", Value::string(path.clone())), ("content", "not ours".into())]);
            let read = read_in(base, &state).await.unwrap_err().to_string();
            assert!(read.contains("must be inside the spec's directory"), "{path}: {read}");
            assert!(!read.contains("not ours"), "{read}");
            assert!(delete_in(base, &state).await.is_err(), "{path}");
            assert!(victim.exists(), "{path} deleted a file outside the spec");
        }
    }
}
