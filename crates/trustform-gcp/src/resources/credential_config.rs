//! `google_credential_config`: writes the `external_account` credential JSON of seed 001, with
//! which a workload on AWS exchanges its AWS identity for a Google access token (AWS STS ->
//! Google STS -> service account impersonation). No cloud call: a local file, mode 0600,
//! written atomically.
//!
//! The audience and the impersonation URL are derived from the pool provider's `name` and the
//! service account's email, never typed by hand, so they cannot disagree with what was
//! provisioned. `environment` picks the credential source: `ec2` reads the instance metadata
//! service (with its IMDSv2 session token); `eks_fargate` reads the Fargate endpoints at
//! `169.254.170.2`, which have no IMDSv2 token URL (the troubleshooting table's "Token refresh
//! failed" row).

use crate::api::Api;
use crate::api::{required, text, with};
use crate::schema;
use async_trait::async_trait;
use std::path::Path;
use trustform_lang::Value;
use trustform_provider::{ProviderError, ValidationIssue};
use trustform_provider::{ResourceType, Session};
use trustform_schema::ResourceSchema;

const TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
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

/// Plan-time checks: the environment is one we know, and the provider name carries the project
/// **number** (an audience with the project id is rejected by Google STS as an invalid audience).
pub(crate) fn validate(config: &Value) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    if let Some(environment) = text(config, "environment") {
        if Environment::parse(environment).is_none() {
            issues.push(ValidationIssue {
                attribute: "environment".to_owned(),
                summary: "Unknown credential environment".to_owned(),
                detail: format!(
                    "environment = {environment:?} is not one Trustform writes a credential source for. Use \"ec2\" \
                     for EC2 and EKS on EC2 nodes (instance metadata) or \"eks_fargate\" for EKS on Fargate."
                ),
                is_error: true,
            });
        }
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
    let environment = required(planned, "environment")?;
    let environment = Environment::parse(environment).ok_or_else(|| {
        ProviderError::invalid(format!("environment {environment:?} must be \"ec2\" or \"eks_fargate\""))
    })?;
    let provider = required(planned, "workload_identity_provider")?;
    project_number_of(provider).map_err(ProviderError::invalid)?;
    let email = required(planned, "service_account_email")?;
    let audience = format!("//iam.googleapis.com/{provider}");
    let impersonation =
        format!("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken");
    let content = render(&audience, &impersonation, environment);
    Ok(with(
        planned,
        [
            ("id", Value::string(path)),
            ("audience", Value::string(audience)),
            ("service_account_impersonation_url", Value::string(impersonation)),
            ("content", Value::string(content)),
        ],
    ))
}

/// The JSON, laid out and ordered as in the seed so it reads the way the docs show it.
fn render(audience: &str, impersonation: &str, environment: Environment) -> String {
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let (region_url, url, token_url) = environment.endpoints();
    let mut source = vec![
        ("environment_id", "aws1"),
        ("region_url", region_url),
        ("url", url),
        ("regional_cred_verification_url", VERIFICATION_URL),
    ];
    if let Some(token_url) = token_url {
        source.push(("imdsv2_session_token_url", token_url));
    }
    let source: Vec<String> = source.iter().map(|(k, v)| format!("    {}: {}", quoted(k), quoted(v))).collect();
    format!(
        "{{\n  \"type\": \"external_account\",\n  \"audience\": {},\n  \"subject_token_type\": {},\n  \
         \"service_account_impersonation_url\": {},\n  \"token_url\": {},\n  \"credential_source\": {{\n{}\n  }}\n}}\n",
        quoted(audience),
        quoted(SUBJECT_TOKEN_TYPE),
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
