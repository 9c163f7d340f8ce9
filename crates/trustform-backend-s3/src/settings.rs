//! The settings of a `backend "s3"` block, and the object keys they imply.

/// The workspace every spec starts in; its state lives at `key` itself.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Where the other workspaces' states live unless the block says otherwise, as in Terraform.
pub const DEFAULT_WORKSPACE_KEY_PREFIX: &str = "env:";

/// `backend "s3" { bucket, key, region, endpoint, use_path_style, workspace_key_prefix }`.
/// What is left unset comes from the AWS default chain: `AWS_REGION`, `AWS_ENDPOINT_URL_S3`,
/// credentials from the environment, a profile, web identity, container or instance metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The bucket holding every workspace's state and lock objects.
    pub bucket: String,
    /// The default workspace's state object, e.g. `identity/prod.tfstate`.
    pub key: String,
    /// The bucket's region; else `AWS_REGION` or the profile's, else `us-east-1`.
    pub region: Option<String>,
    /// An S3-compatible endpoint (moto, MinIO); it wins over `AWS_ENDPOINT_URL_S3`.
    pub endpoint: Option<String>,
    /// `http://host/bucket/key` instead of `http://bucket.host/key`: what emulators need.
    pub use_path_style: bool,
    /// Where the non-default workspaces' states live: `<prefix>/<workspace>/<key>`.
    pub workspace_key_prefix: String,
}

impl S3Settings {
    /// Settings for `bucket` and `key` with every other setting at its default.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            key: key.into(),
            region: None,
            endpoint: None,
            use_path_style: false,
            workspace_key_prefix: DEFAULT_WORKSPACE_KEY_PREFIX.to_owned(),
        }
    }

    /// The state object of `workspace`: `key` for `default`, else `<prefix>/<workspace>/<key>`.
    pub fn state_key(&self, workspace: &str) -> String {
        if workspace == DEFAULT_WORKSPACE {
            self.key.clone()
        } else {
            format!("{}/{workspace}/{}", self.workspace_key_prefix, self.key)
        }
    }

    /// The workspace whose state object is `object_key`, if it is one of the non-default ones.
    pub(crate) fn workspace_of(&self, object_key: &str) -> Option<String> {
        let rest = object_key.strip_prefix(&self.workspace_key_prefix)?.strip_prefix('/')?;
        let (workspace, key) = rest.split_once('/')?;
        (key == self.key && !workspace.is_empty() && workspace != DEFAULT_WORKSPACE).then(|| workspace.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workspace_is_the_key_and_others_sit_under_the_prefix() {
        let settings = S3Settings::new("bucket", "identity/prod.tfstate");
        assert_eq!(settings.state_key("default"), "identity/prod.tfstate");
        assert_eq!(settings.state_key("staging"), "env:/staging/identity/prod.tfstate");
        let custom = S3Settings { workspace_key_prefix: "workspaces".to_owned(), ..settings };
        assert_eq!(custom.state_key("staging"), "workspaces/staging/identity/prod.tfstate");
    }

    #[test]
    fn object_keys_name_their_workspace_only_when_they_are_one_of_ours() {
        let settings = S3Settings::new("bucket", "identity/prod.tfstate");
        assert_eq!(settings.workspace_of("env:/staging/identity/prod.tfstate").as_deref(), Some("staging"));
        assert_eq!(settings.workspace_of(&settings.state_key("qa")).as_deref(), Some("qa"));
        for other in [
            "identity/prod.tfstate",
            "env:/staging/identity/prod.tfstate.tflock",
            "env:/staging/other.tfstate",
            "env://identity/prod.tfstate",
            "envx/staging/identity/prod.tfstate",
        ] {
            assert_eq!(settings.workspace_of(other), None, "{other}");
        }
    }
}
