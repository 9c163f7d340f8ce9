//! What `--sandbox` changes in a run of the spec, beyond the environment [`crate::sandbox`] sets:
//!
//! * provider settings that would reach a real cloud (endpoints, profiles, keys, tokens, secrets,
//!   login methods) are taken out of every `provider` block before the provider sees it, so the
//!   sandbox's environment decides where requests go; each one dropped is named, with its place,
//!   in a warning (TF1404);
//! * files a resource writes on this machine (`google_credential_config`'s `path`) go under
//!   `.trustform/sandbox/outputs/`, so that a sandbox apply never overwrites what a real apply
//!   wrote. State keeps the spec's path, so plans compare with the spec as they would outside the
//!   sandbox.

use crate::sandbox::SANDBOX_DIR;
use async_trait::async_trait;
use std::path::{Component, Path, PathBuf};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::Config;
use trustform_lang::Value;
use trustform_provider::{Checkpoint, Provider, ProviderError, Review, SharedProvider, ValidationIssue};
use trustform_schema::ProviderSchema;

/// Where files the spec writes go under `--sandbox`, inside [`SANDBOX_DIR`].
pub const OUTPUTS_DIR: &str = "outputs";

/// The settings of each cloud's provider block that stay under `--sandbox`: they say *which*
/// account, project or subscription (or, `skip_requesting_account_id`, whether to ask which, so
/// the sandbox plans as the real run does), never where to send a request or with what credential.
/// Anything else (endpoints, `profile`, keys, tokens, secrets, `use_oidc`, ...) is dropped; a
/// setting added to a provider later is dropped too until it is listed here.
fn kept_settings(provider: &str) -> Option<&'static [&'static str]> {
    match provider {
        "aws" => Some(&["region", "allowed_account_ids", "skip_requesting_account_id"]),
        "google" => Some(&["project"]),
        "azurerm" => Some(&["subscription_id", "tenant_id", "client_id"]),
        // One emulated Vault: the address, token, namespace and CA all say where, or with what.
        "vault" => Some(&[]),
        "azuread" => Some(&["tenant_id", "client_id"]),
        _ => None,
    }
}

/// Resource types that write a file on this machine, and the attribute naming it.
const LOCAL_FILES: &[(&str, &str)] = &[("google_credential_config", "path")];

/// Where a file the spec names by `path` (relative to the spec's directory, or absolute) is
/// written under `--sandbox`: inside `.trustform/sandbox/outputs/`, `..` and the root spelled
/// as directories of their own so that nothing lands outside it.
pub fn sandboxed_path(path: &Path) -> PathBuf {
    let mut out = Path::new(SANDBOX_DIR).join(OUTPUTS_DIR);
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => out.push("_up"),
            Component::RootDir => out.push("_root"),
            Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Warnings (TF1404), one per provider block, naming every setting `--sandbox` drops with its
/// place. They carry no snippet: the lines they name may hold a secret.
pub fn overridden_settings(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::new();
    // Every module's blocks: a module called once may configure providers itself.
    let blocks =
        config.modules().into_iter().flat_map(|(_, module)| module.providers.values().map(move |b| (module, b)));
    for (config, block) in blocks {
        let name = &block.name;
        let Some(kept) = kept_settings(name) else { continue };
        let place = |range: std::ops::Range<usize>| {
            block.body.file.map(|file| format!(" ({})", config.sources.span(file, range))).unwrap_or_default()
        };
        let mut dropped: Vec<(usize, String)> = block
            .body
            .attributes
            .iter()
            .filter(|(setting, _)| !kept.contains(&setting.as_str()))
            .map(|(setting, attr)| (attr.range.start, format!("`{setting}`{}", place(attr.range.clone()))))
            .collect();
        dropped.extend(
            block
                .body
                .blocks
                .iter()
                .map(|nested| (nested.range.start, format!("`{}`{}", nested.kind, place(nested.range.clone())))),
        );
        if dropped.is_empty() {
            continue;
        }
        dropped.sort();
        let settings: Vec<String> = dropped.into_iter().map(|(_, setting)| setting).collect();
        diags.push(Diagnostic::warning(
            "TF1404",
            "Provider settings ignored in the sandbox",
            format!(
                "The provider \"{name}\" block ({}) sets {}, which would send requests or credentials elsewhere. Under --sandbox every request goes to the emulated clouds on loopback with the sandbox's own test credentials, so these are ignored. Nothing to change for the sandbox; they apply again without --sandbox.",
                block.span,
                settings.join(", ")
            ),
        ));
    }
    diags
}

/// Under `--sandbox` an AWS block naming its account (`allowed_account_ids`, its first entry)
/// signs as that account with the sandbox's key id for it
/// ([`trustform_sandbox::account_key_id`]), so that two aliased `provider "aws"` blocks for two
/// accounts reach two emulated accounts, each with its own IAM, and the account check passes
/// as it would with real credentials for it. A block that names none uses the sandbox's account.
fn sandbox_account(provider: &str, kept: Value) -> Value {
    let Value::Object(mut fields) = kept else { return kept };
    let account = fields
        .get("allowed_account_ids")
        .and_then(Value::as_list)
        .and_then(|ids| ids.iter().find_map(|id| id.as_str().map(str::to_owned)));
    if let (Some(account), "aws") = (account, provider) {
        let key_id = Value::string(trustform_sandbox::account_key_id(&account));
        fields.insert("access_key".into(), key_id.clone());
        fields.insert("secret_key".into(), key_id);
    }
    Value::Object(fields)
}

/// A cloud provider as `--sandbox` runs it: see the module documentation.
pub struct SandboxProvider {
    inner: SharedProvider,
    kept: &'static [&'static str],
}

impl SandboxProvider {
    /// Wraps a cloud provider; providers that reach no cloud are returned as they are.
    pub fn wrap(inner: SharedProvider) -> SharedProvider {
        match kept_settings(inner.name()) {
            Some(kept) => std::sync::Arc::new(SandboxProvider { inner, kept }),
            None => inner,
        }
    }

    fn local_file_attribute(type_name: &str) -> Option<&'static str> {
        LOCAL_FILES.iter().find(|(name, _)| *name == type_name).map(|(_, attribute)| *attribute)
    }
}

/// `value` with its file path (attribute `attribute`, and `id`, which holds the same path) moved
/// under the sandbox; also the spec's path, to put back into what the provider answers.
fn to_sandbox(value: &Value, attribute: &str) -> (Value, Option<(String, String)>) {
    let Some(path) = value.get(attribute).and_then(Value::as_str).map(str::to_owned) else {
        return (value.clone(), None);
    };
    let sandboxed = sandboxed_path(Path::new(&path)).to_string_lossy().into_owned();
    (replace_strings(value, &path, &sandboxed), Some((path, sandboxed)))
}

/// `value` with each top-level string equal to `from` replaced by `to`.
fn replace_strings(value: &Value, from: &str, to: &str) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| {
                    let field = match field.as_str() {
                        Some(text) if text == from => Value::string(to).mark_if(field.is_sensitive()),
                        _ => field.clone(),
                    };
                    (key.clone(), field)
                })
                .collect(),
        ),
        Value::Sensitive(inner) => replace_strings(inner, from, to).sensitive(),
        other => other.clone(),
    }
}

fn back_from_sandbox(value: Value, paths: &Option<(String, String)>) -> Value {
    match paths {
        Some((spec, sandboxed)) => replace_strings(&value, sandboxed, spec),
        None => value,
    }
}

/// Hands the engine's checkpoint the spec's path, as every answer does.
struct SpecPaths<'a> {
    inner: &'a dyn Checkpoint,
    paths: &'a Option<(String, String)>,
}

#[async_trait]
impl Checkpoint for SpecPaths<'_> {
    async fn record(&self, state: &Value) {
        self.inner.record(&back_from_sandbox(state.clone(), self.paths)).await;
    }
}

#[async_trait]
impl Provider for SandboxProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn schema(&self) -> &ProviderSchema {
        self.inner.schema()
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let kept = match config.unmarked() {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(name, _)| self.kept.contains(&name.as_str()))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            ),
            _ => Value::Null,
        };
        self.inner.configure(&sandbox_account(self.inner.name(), kept)).await
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        self.inner.validate(type_name, config)
    }

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        self.inner.plan(type_name, prior, planned)
    }

    async fn review(&self, type_name: &str, prior: Option<&Value>, planned: &Value) -> Result<Review, ProviderError> {
        self.inner.review(type_name, prior, planned).await
    }

    fn findable(&self, type_name: &str) -> bool {
        self.inner.findable(type_name)
    }

    async fn find(&self, type_name: &str, planned: &Value) -> Result<Option<Value>, ProviderError> {
        self.inner.find(type_name, planned).await
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let Some(attribute) = Self::local_file_attribute(type_name) else {
            return self.inner.read(type_name, state).await;
        };
        let (state, paths) = to_sandbox(state, attribute);
        Ok(self.inner.read(type_name, &state).await?.map(|found| back_from_sandbox(found, &paths)))
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let Some(attribute) = Self::local_file_attribute(type_name) else {
            return self.inner.create(type_name, planned, checkpoint).await;
        };
        let (planned, paths) = to_sandbox(planned, attribute);
        let checkpoint = SpecPaths { inner: checkpoint, paths: &paths };
        Ok(back_from_sandbox(self.inner.create(type_name, &planned, &checkpoint).await?, &paths))
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let Some(attribute) = Self::local_file_attribute(type_name) else {
            return self.inner.update(type_name, prior, planned).await;
        };
        let (prior, _) = to_sandbox(prior, attribute);
        let (planned, paths) = to_sandbox(planned, attribute);
        Ok(back_from_sandbox(self.inner.update(type_name, &prior, &planned).await?, &paths))
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let Some(attribute) = Self::local_file_attribute(type_name) else {
            return self.inner.delete(type_name, state).await;
        };
        self.inner.delete(type_name, &to_sandbox(state, attribute).0).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        if Self::local_file_attribute(type_name).is_none() {
            return self.inner.import(type_name, id).await;
        }
        let sandboxed = sandboxed_path(Path::new(id)).to_string_lossy().into_owned();
        let found = self.inner.import(type_name, &sandboxed).await?;
        Ok(replace_strings(&found, &sandboxed, id))
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        self.inner.read_data(type_name, config).await
    }
}
