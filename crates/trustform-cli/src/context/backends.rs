//! Where state lives: the `trustform { backend "local"|"s3" { ... } }` block, the selected
//! workspace, and the record of the backend `init` last set up, which tells when state must be
//! migrated before anything else touches it.

use crate::project::{fail, in_dir, report, CmdResult, Failed, DEFAULT_STATE};
use crate::ui::Style;
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use trustform_backend_s3::{S3Backend, S3Remote, S3Settings, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_KEY_PREFIX};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::{BackendConfig, Config};
use trustform_lang::{eval_constant, Value};
use trustform_state::{
    Encryption, LocalBackend, LockError, LockInfo, Locker, State, StateError, StateStore, StateUpdate,
};

/// The spec directory's own files, beside the spec: the selected workspace and the backend
/// record.
pub const WORKDIR: &str = ".trustform";
/// The selected workspace's name, as Terraform keeps it in `.terraform/environment`.
pub const ENVIRONMENT_FILE: &str = ".trustform/environment";
/// The backend `init` last set up.
pub const BACKEND_RECORD: &str = ".trustform/backend.json";
/// Overrides the selected workspace.
pub const WORKSPACE_ENV: &str = "TRUSTFORM_WORKSPACE";

/// A configured backend, before a workspace is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// The default workspace's file, relative to the spec directory.
    Local {
        path: PathBuf,
    },
    S3(S3Settings),
}

impl Default for BackendSpec {
    fn default() -> Self {
        BackendSpec::Local { path: PathBuf::from(DEFAULT_STATE) }
    }
}

impl fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendSpec::Local { path } => write!(f, "backend \"local\" ({})", path.display()),
            BackendSpec::S3(s3) => write!(f, "backend \"s3\" (s3://{}/{})", s3.bucket, s3.key),
        }
    }
}

impl BackendSpec {
    /// What identifies the stored states, as JSON for the backend record. How the store is
    /// reached (region, endpoint, path style) is left out: changing it moves no state.
    fn identity(&self) -> serde_json::Value {
        match self {
            BackendSpec::Local { path } => serde_json::json!({ "type": "local", "path": path }),
            BackendSpec::S3(s3) => serde_json::json!({
                "type": "s3",
                "bucket": s3.bucket,
                "key": s3.key,
                "workspace_key_prefix": s3.workspace_key_prefix,
                "region": s3.region,
                "endpoint": s3.endpoint,
                "use_path_style": s3.use_path_style,
            }),
        }
    }

    fn same_states_as(&self, other: &BackendSpec) -> bool {
        match (self, other) {
            (BackendSpec::Local { path: a }, BackendSpec::Local { path: b }) => a == b,
            (BackendSpec::S3(a), BackendSpec::S3(b)) => {
                (&a.bucket, &a.key, &a.workspace_key_prefix) == (&b.bucket, &b.key, &b.workspace_key_prefix)
            }
            _ => false,
        }
    }

    fn from_record(record: &serde_json::Value) -> Option<BackendSpec> {
        let text = |name: &str| record.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
        match text("type")?.as_str() {
            "local" => Some(BackendSpec::Local { path: PathBuf::from(text("path")?) }),
            "s3" => Some(BackendSpec::S3(S3Settings {
                bucket: text("bucket")?,
                key: text("key")?,
                region: text("region"),
                endpoint: text("endpoint"),
                use_path_style: record.get("use_path_style").and_then(serde_json::Value::as_bool).unwrap_or(false),
                workspace_key_prefix: text("workspace_key_prefix")?,
            })),
            _ => None,
        }
    }

    /// Opens the backend; for S3 this builds the client (no request is sent yet).
    pub async fn connect(&self, dir: &Path) -> Connected {
        match self {
            BackendSpec::Local { path } => Connected::Local { dir: dir.to_owned(), default: in_dir(dir, path) },
            BackendSpec::S3(settings) => {
                Connected::S3 { remote: S3Remote::connect(settings.clone()).await, dir: dir.to_owned() }
            }
        }
    }
}

/// A backend ready to hand out workspaces.
pub enum Connected {
    Local {
        dir: PathBuf,
        /// The default workspace's file.
        default: PathBuf,
    },
    S3 {
        remote: S3Remote,
        /// Where the local journal of each workspace's updates lives, under `.trustform/s3/`.
        dir: PathBuf,
    },
}

/// How long an apply's updates may wait in the local journal before the S3 object is written,
/// as Terraform persists remote state every 20 seconds during an apply.
const S3_WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(20);

impl Connected {
    /// The state and lock of `workspace`: for local, `default` is the configured file and any
    /// other `state/<workspace>.tfstate`; for S3, see [`S3Settings::state_key`].
    pub fn workspace(&self, workspace: &str) -> Backend {
        match self {
            Connected::Local { default, .. } if workspace == DEFAULT_WORKSPACE => {
                Backend::Local(LocalBackend::new(default))
            }
            Connected::Local { dir, .. } => {
                Backend::Local(LocalBackend::new(in_dir(dir, format!("state/{workspace}.tfstate"))))
            }
            Connected::S3 { remote, dir } => {
                let backend = remote.backend(workspace);
                // Only the key's plain segments: a `..` in it must not lead outside `.trustform/s3/`.
                let key: Vec<&str> =
                    backend.key().split('/').filter(|part| !matches!(*part, "" | "." | "..")).collect();
                let journal =
                    in_dir(dir, format!(".trustform/s3/{}/{}.journal", remote.settings().bucket, key.join("/")));
                Backend::S3(backend.with_local_journal(journal, S3_WRITE_INTERVAL))
            }
        }
    }

    /// Every workspace that has a state, and `default` always, sorted.
    pub async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        match self {
            Connected::Local { dir, default } => {
                let mut found = BTreeSet::from([DEFAULT_WORKSPACE.to_owned()]);
                let state_dir = in_dir(dir, "state");
                let entries = match std::fs::read_dir(&state_dir) {
                    Ok(entries) => entries,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        return Ok(found.into_iter().collect())
                    }
                    Err(error) => return Err(StateError::Io { action: "list", path: state_dir, error }),
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path == *default || path.extension().and_then(|e| e.to_str()) != Some("tfstate") {
                        continue;
                    }
                    if let Some(name) = path.file_stem().and_then(|s| s.to_str()).filter(|n| valid_workspace(n).is_ok())
                    {
                        found.insert(name.to_owned());
                    }
                }
                Ok(found.into_iter().collect())
            }
            Connected::S3 { remote, .. } => remote.workspaces().await,
        }
    }
}

/// One workspace's state store and lock, of whichever backend is configured.
#[derive(Debug)]
pub enum Backend {
    Local(LocalBackend),
    S3(S3Backend),
}

impl Backend {
    /// The same backend, storing its bytes through `encryption` (the spec's state encryption).
    pub fn with_encryption(self, encryption: Encryption) -> Backend {
        match self {
            Backend::Local(local) => Backend::Local(local.with_encryption(encryption)),
            Backend::S3(s3) => Backend::S3(s3.with_encryption(encryption)),
        }
    }

    /// What the stored bytes go through: a copy of the state kept elsewhere (`errored.tfstate`)
    /// is protected the same way.
    pub fn encryption(&self) -> &Encryption {
        match self {
            Backend::Local(local) => local.encryption(),
            Backend::S3(s3) => s3.encryption(),
        }
    }

    /// Removes the stored state (`workspace delete`); the caller holds the lock.
    pub async fn delete_state(&self) -> Result<(), StateError> {
        match self {
            Backend::Local(local) => {
                for path in [local.path().to_owned(), local.backup_path(), local.journal_path()] {
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => return Err(StateError::Io { action: "delete", path, error }),
                    }
                }
                Ok(())
            }
            Backend::S3(s3) => s3.delete_state().await,
        }
    }
}

#[async_trait]
impl StateStore for Backend {
    async fn read(&self) -> Result<Option<State>, StateError> {
        match self {
            Backend::Local(local) => local.read().await,
            Backend::S3(s3) => s3.read().await,
        }
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        match self {
            Backend::Local(local) => local.write(state).await,
            Backend::S3(s3) => s3.write(state).await,
        }
    }

    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        match self {
            Backend::Local(local) => local.persist(update).await,
            Backend::S3(s3) => s3.persist(update).await,
        }
    }

    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        match self {
            Backend::Local(local) => local.checkpoint(state).await,
            Backend::S3(s3) => s3.checkpoint(state).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            Backend::Local(local) => local.describe(),
            Backend::S3(s3) => s3.describe(),
        }
    }
}

#[async_trait]
impl Locker for Backend {
    async fn lock(&self, info: LockInfo) -> Result<String, LockError> {
        match self {
            Backend::Local(local) => local.lock(info).await,
            Backend::S3(s3) => s3.lock(info).await,
        }
    }

    async fn unlock(&self, id: &str) -> Result<(), LockError> {
        match self {
            Backend::Local(local) => local.unlock(id).await,
            Backend::S3(s3) => s3.unlock(id).await,
        }
    }

    async fn force_unlock(&self, id: &str) -> Result<(), LockError> {
        match self {
            Backend::Local(local) => local.force_unlock(id).await,
            Backend::S3(s3) => s3.force_unlock(id).await,
        }
    }
}

/// The backend the spec configures: its `backend` block, else the local default.
pub fn configured(config: Option<&Config>, style: Style) -> CmdResult<BackendSpec> {
    let Some(config) = config else { return Ok(BackendSpec::default()) };
    let Some(block) = config.settings.backend.as_ref() else { return Ok(BackendSpec::default()) };
    let mut diags = Diagnostics::new();
    let spec = match block.kind.as_str() {
        "local" => local_settings(config, block, &mut diags),
        "s3" => s3_settings(config, block, &mut diags),
        other => {
            diags.push(
                Diagnostic::error(
                    "TF0120",
                    "Unsupported backend",
                    format!("This build stores state with backend \"local\" or \"s3\"; \"{other}\" is not available. Use backend \"s3\" {{ bucket = \"...\", key = \"...\" }} or backend \"local\" {{ path = \"...\" }}, or remove the backend block for the default {DEFAULT_STATE}."),
                )
                .with_span(block.span.clone()),
            );
            None
        }
    };
    report(&diags, &config.sources, style)?;
    spec.ok_or(Failed(1))
}

fn local_settings(config: &Config, block: &BackendConfig, diags: &mut Diagnostics) -> Option<BackendSpec> {
    let mut path = PathBuf::from(DEFAULT_STATE);
    for (name, attr) in &block.body.attributes {
        match (name.as_str(), eval_constant(config, &attr.expr)) {
            ("path", Ok(value)) => match value.as_str() {
                Some(text) if !text.is_empty() => path = PathBuf::from(text),
                _ => diags.push(
                    Diagnostic::error(
                        "TF0121",
                        "Invalid backend path",
                        "The local backend's path must be a string, like path = \"state/prod.tfstate\".",
                    )
                    .with_span(config.span(&attr.expr)),
                ),
            },
            (_, Err(d)) => diags.push(*d),
            (other, Ok(_)) => diags.push(
                Diagnostic::error(
                    "TF0131",
                    "Unsupported backend argument",
                    format!("The local backend takes path; \"{other}\" is not one of its arguments. Remove it."),
                )
                .with_span(config.span(&attr.expr)),
            ),
        }
    }
    (!diags.has_errors()).then_some(BackendSpec::Local { path })
}

fn s3_settings(config: &Config, block: &BackendConfig, diags: &mut Diagnostics) -> Option<BackendSpec> {
    let mut settings = S3Settings::new("", "");
    let before = diags.len();
    for (name, attr) in &block.body.attributes {
        let value = match eval_constant(config, &attr.expr) {
            Ok(value) => value,
            Err(d) => {
                diags.push(*d);
                continue;
            }
        };
        let invalid = |expected: &str| {
            Diagnostic::error(
                "TF0131",
                "Invalid backend argument",
                format!(
                    "The s3 backend's {name} must be {expected}, not {}. Write it like {}.",
                    value.type_name(),
                    example(name)
                ),
            )
            .with_span(config.span(&attr.expr))
        };
        let text = match (name.as_str(), value.unmarked()) {
            ("use_path_style", Value::Bool(flag)) => {
                settings.use_path_style = *flag;
                continue;
            }
            ("use_path_style", _) => {
                diags.push(invalid("true or false"));
                continue;
            }
            (_, Value::String(text)) if !text.is_empty() => text.clone(),
            _ => {
                diags.push(invalid("a non-empty string"));
                continue;
            }
        };
        match name.as_str() {
            "bucket" => settings.bucket = text,
            "key" => settings.key = text,
            "region" => settings.region = Some(text),
            "endpoint" => match trustform_provider::check_endpoint("The s3 backend's endpoint", &text) {
                Ok(()) => settings.endpoint = Some(text),
                Err(problem) => diags.push(
                    Diagnostic::error("TF0131", "Invalid backend argument", problem).with_span(config.span(&attr.expr)),
                ),
            },
            "workspace_key_prefix" => settings.workspace_key_prefix = text.trim_end_matches('/').to_owned(),
            other => diags.push(
                Diagnostic::error(
                    "TF0131",
                    "Unsupported backend argument",
                    format!("The s3 backend takes bucket, key, region, endpoint, use_path_style and workspace_key_prefix; \"{other}\" is not one of them. Remove it; credentials come from the AWS default chain (environment, profile, web identity, instance metadata)."),
                )
                .with_span(config.span(&attr.expr)),
            ),
        }
    }
    for (name, value) in [("bucket", &settings.bucket), ("key", &settings.key)] {
        if value.is_empty() && !block.body.attributes.contains_key(name) {
            diags.push(
                Diagnostic::error(
                    "TF0131",
                    "Missing backend argument",
                    format!("The s3 backend needs {name}. Add {} to the backend \"s3\" block.", example(name)),
                )
                .with_span(block.span.clone()),
            );
        }
    }
    if settings.workspace_key_prefix.is_empty() {
        settings.workspace_key_prefix = DEFAULT_WORKSPACE_KEY_PREFIX.to_owned();
    }
    (diags.len() == before).then_some(BackendSpec::S3(settings))
}

fn example(name: &str) -> &'static str {
    match name {
        "bucket" => "bucket = \"acme-trustform-state\"",
        "key" => "key = \"identity/prod.tfstate\"",
        "region" => "region = \"us-east-1\"",
        "endpoint" => "endpoint = \"http://127.0.0.1:5000\"",
        "use_path_style" => "use_path_style = true",
        "workspace_key_prefix" => "workspace_key_prefix = \"env:\"",
        _ => "name = \"value\"",
    }
}

/// Whether `name` can name a workspace: letters, digits, `-` and `_`, as it becomes part of a
/// file name and an object key.
pub fn valid_workspace(name: &str) -> Result<(), String> {
    let fine =
        !name.is_empty() && name.len() <= 90 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a workspace name: use letters, digits, '-' and '_' (at most 90), like \"staging\"."
        ))
    }
}

/// The selected workspace: `TRUSTFORM_WORKSPACE`, else `.trustform/environment`, else `default`.
pub fn current_workspace(dir: &Path) -> Result<String, String> {
    let (name, origin) = match std::env::var(WORKSPACE_ENV) {
        Ok(name) if !name.is_empty() => (name, WORKSPACE_ENV.to_owned()),
        _ => match std::fs::read_to_string(in_dir(dir, ENVIRONMENT_FILE)) {
            Ok(text) => (text.trim().to_owned(), in_dir(dir, ENVIRONMENT_FILE).display().to_string()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(DEFAULT_WORKSPACE.to_owned()),
            Err(error) => return Err(format!("cannot read {}: {error}", in_dir(dir, ENVIRONMENT_FILE).display())),
        },
    };
    valid_workspace(&name).map_err(|problem| format!("{origin} selects a workspace, but {problem}"))?;
    Ok(name)
}

/// Remembers `workspace` as the selected one.
pub fn select_workspace(dir: &Path, workspace: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(in_dir(dir, WORKDIR))?;
    std::fs::write(in_dir(dir, ENVIRONMENT_FILE), format!("{workspace}\n"))
}

/// The backend `init` last set up, or `None` when `init` never recorded one.
pub fn recorded(dir: &Path) -> Option<BackendSpec> {
    let bytes = std::fs::read(in_dir(dir, BACKEND_RECORD)).ok()?;
    BackendSpec::from_record(&serde_json::from_slice(&bytes).ok()?)
}

/// Records `spec` as the backend the state now lives in.
pub fn record(dir: &Path, spec: &BackendSpec) -> std::io::Result<()> {
    std::fs::create_dir_all(in_dir(dir, WORKDIR))?;
    let mut text = serde_json::to_string_pretty(&spec.identity()).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(in_dir(dir, BACKEND_RECORD), text)
}

/// Where the state was before this spec's backend: the recorded backend, else the local
/// default when its file exists. `None` when there is nothing that could need migrating.
fn previous(dir: &Path) -> Option<BackendSpec> {
    recorded(dir).or_else(|| in_dir(dir, DEFAULT_STATE).exists().then(BackendSpec::default))
}

/// The backend whose states must be migrated before `configured` is used, if any.
pub fn needs_migration(dir: &Path, configured: &BackendSpec) -> Option<BackendSpec> {
    previous(dir).filter(|previous| !previous.same_states_as(configured))
}

/// The selected workspace's state backend: `override_path` (`--state FILE`, else the sandbox's
/// state under `--sandbox`), else the spec's `backend "local"` or `backend "s3"` block, else the
/// default under the spec's directory. Until `init --migrate-state` has moved it, a state left in
/// another backend is refused rather than silently started afresh.
pub async fn select(
    dir: &Path,
    config: Option<&Config>,
    override_path: Option<&Path>,
    encryption: Encryption,
    style: Style,
) -> CmdResult<Backend> {
    if let Some(path) = override_path {
        return Ok(Backend::Local(LocalBackend::new(path).with_encryption(encryption)));
    }
    let spec = configured(config, style)?;
    if let Some(previous) = needs_migration(dir, &spec) {
        return Err(fail(
            "TF1071",
            "Backend initialization required",
            format!("The state is in {previous}, but the spec now configures {spec}. Run `trustform init --migrate-state` to copy it there, keeping its lineage and serial, then run this command again."),
            style,
        ));
    }
    if recorded(dir).is_none() && spec != BackendSpec::default() {
        // Without `init`, a later change of backend could not be told from a first run; the
        // record makes it wait for `init --migrate-state` instead of starting from no state.
        if let Err(error) = record(dir, &spec) {
            tracing::warn!(%error, "could not record the backend in {}", BACKEND_RECORD);
        }
    }
    let workspace = current_workspace(dir).map_err(|problem| {
        fail(
            "TF1077",
            "Invalid workspace",
            format!("{problem} Select one with `trustform workspace select NAME`."),
            style,
        )
    })?;
    Ok(spec.connect(dir).await.workspace(&workspace).with_encryption(encryption))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_names_are_file_and_key_safe() {
        for good in ["default", "staging", "eu-west_1", "A1"] {
            assert!(valid_workspace(good).is_ok(), "{good}");
        }
        for bad in ["", "a/b", "..", "has space", "ünï", &"x".repeat(91)] {
            assert!(valid_workspace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_record_round_trips_and_ignores_how_s3_is_reached() {
        let s3 = BackendSpec::S3(S3Settings { use_path_style: true, ..S3Settings::new("b", "k.tfstate") });
        let back = BackendSpec::from_record(&s3.identity()).expect("parses");
        assert_eq!(back, s3);
        let elsewhere = BackendSpec::S3(S3Settings {
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            ..S3Settings::new("b", "k.tfstate")
        });
        assert!(s3.same_states_as(&elsewhere));
        assert!(!s3.same_states_as(&BackendSpec::S3(S3Settings::new("b", "other.tfstate"))));
        assert!(!s3.same_states_as(&BackendSpec::default()));
        let local = BackendSpec::default();
        assert_eq!(BackendSpec::from_record(&local.identity()), Some(local));
    }

    #[tokio::test]
    async fn local_workspaces_are_the_state_files_beside_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let connected = BackendSpec::default().connect(dir.path()).await;
        assert_eq!(connected.workspaces().await.unwrap(), ["default"]);
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        for name in [
            "default.tfstate",
            "default.tfstate.backup",
            "dev.tfstate",
            "dev.tfstate.lock.json",
            "bad name.tfstate",
            "notes.txt",
        ] {
            std::fs::write(state.join(name), "").unwrap();
        }
        assert_eq!(connected.workspaces().await.unwrap(), ["default", "dev"]);
        let Backend::Local(dev) = connected.workspace("dev") else { panic!("a local backend") };
        assert_eq!(dev.path(), state.join("dev.tfstate"));
        let Backend::Local(default) = connected.workspace("default") else { panic!("a local backend") };
        assert_eq!(default.path(), state.join("default.tfstate"));
    }

    #[test]
    fn the_selected_workspace_is_read_from_the_environment_file() {
        let dir = tempfile::tempdir().unwrap();
        // TRUSTFORM_WORKSPACE is left unset here; the end-to-end tests cover it.
        assert_eq!(current_workspace(dir.path()).unwrap(), "default");
        select_workspace(dir.path(), "staging").unwrap();
        assert_eq!(current_workspace(dir.path()).unwrap(), "staging");
        std::fs::write(dir.path().join(ENVIRONMENT_FILE), "../escape\n").unwrap();
        let problem = current_workspace(dir.path()).unwrap_err();
        assert!(problem.contains("is not a workspace name"), "{problem}");
    }
}
