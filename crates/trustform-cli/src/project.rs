//! Everything a command needs from the working directory: the spec, its variables, the
//! providers of this build, the state backend and its lock.

use crate::args::VarArgs;
use crate::backends::{self, Backend};
use crate::encryption::EncryptionSettings;
use crate::render::render_all;
use crate::ui::Style;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustform_aws::AwsProvider;
use trustform_azure::AzureProvider;
use trustform_diag::{Diagnostic, Diagnostics, SourceMap};
use trustform_engine::{Engine, EngineOptions, Providers};
use trustform_gcp::GoogleProvider;
use trustform_lang::config::{load_dir, Config};
use trustform_lang::{eval_constant, resolve_variables, CliVar, Value};
use trustform_outputs::EnvFormat;
use trustform_state::{Encryption, LocalBackend, LockError, LockInfo, Locker, State, StateStore};

/// The default local state file, relative to the spec's directory.
pub const DEFAULT_STATE: &str = "state/default.tfstate";
/// The variables file `--sandbox` reads first, relative to the spec's directory.
pub const SANDBOX_TFVARS: &str = "sandbox.tfvars";
/// The default outputs file, relative to the spec's directory.
pub const DEFAULT_ENV_FILE: &str = "deployment_outputs.env";

/// A command failed; its diagnostics have been printed. Carries the exit code.
#[derive(Debug)]
pub struct Failed(pub i32);

pub type CmdResult<T = i32> = Result<T, Failed>;

/// `rel` inside the spec directory, without a `./` prefix when that directory is the current one.
pub fn in_dir(dir: &Path, rel: impl AsRef<Path>) -> PathBuf {
    if dir == Path::new(".") {
        rel.as_ref().to_owned()
    } else {
        dir.join(rel)
    }
}

/// Prints diagnostics to standard error; returns `Failed(1)` if any is an error.
pub fn report(diags: &Diagnostics, sources: &SourceMap, style: Style) -> CmdResult<()> {
    if !diags.is_empty() {
        err!("{}", render_all(diags, sources, style));
    }
    if diags.has_errors() {
        Err(Failed(1))
    } else {
        Ok(())
    }
}

/// Prints one error without a source location.
pub fn fail(code: &'static str, summary: &str, detail: impl Into<String>, style: Style) -> Failed {
    let d = Diagnostic::error(code, summary, detail);
    err!("{}", render_all(&d.into(), &SourceMap::new(), style));
    Failed(1)
}

/// The spec of one directory with its variables resolved.
pub struct Project {
    pub config: Config,
    pub variables: BTreeMap<String, Value>,
    /// Variable problems, reported with the engine's own by [`Project::engine`].
    pending: Diagnostics,
}

impl Project {
    /// Loads the spec and resolves variables; prints diagnostics; fails on errors.
    pub fn load(dir: &Path, vars: &VarArgs, style: Style) -> CmdResult<Project> {
        let (mut config, mut diags) = load_dir(dir);
        if diags.has_errors() {
            report(&diags, &config.sources, style)?;
        }
        let mut cli: Vec<CliVar> = cli_vars(std::env::args(), vars);
        // Under --sandbox, the spec's sandbox.tfvars names what exists in the emulated world; it
        // comes before the command line's files and assignments, which still override it.
        let sandbox_vars = dir.join(SANDBOX_TFVARS);
        if SANDBOX_STATE.get().is_some() && sandbox_vars.is_file() {
            cli.insert(0, CliVar::File(sandbox_vars));
        }
        let (variables, more) = resolve_variables(&mut config, &cli, std::env::vars());
        diags.extend(more);
        Ok(Project { config, variables, pending: diags })
    }

    /// Builds the engine over this build's providers. Problems with variables are reported
    /// together with the spec's structural problems, so one run shows them all.
    pub fn engine(self, options: EngineOptions, style: Style) -> CmdResult<(Engine, SourceMap)> {
        let sources = self.config.sources.clone();
        let mut diags = self.pending;
        if sandbox_active() {
            diags.extend(crate::sandbox_provider::overridden_settings(&self.config));
        }
        let (engine, more) = Engine::new(self.config, self.variables, providers(), options);
        diags.extend(more);
        report(&diags, &sources, style)?;
        Ok((engine.ok_or(Failed(1))?, sources))
    }
}

/// `--var` and `--var-file` in the order given on the command line, which decides precedence.
pub fn cli_vars(argv: impl Iterator<Item = String>, vars: &VarArgs) -> Vec<CliVar> {
    let argv: Vec<String> = crate::args::normalize_args(argv);
    let mut assignments = vars.vars.iter();
    let mut files = vars.var_files.iter();
    let mut out = Vec::new();
    for arg in &argv {
        if arg == "--var" || arg.starts_with("--var=") {
            out.extend(assignments.next().cloned().map(CliVar::Assignment));
        } else if arg == "--var-file" || arg.starts_with("--var-file=") {
            out.extend(files.next().cloned().map(CliVar::File));
        }
    }
    out.extend(assignments.cloned().map(CliVar::Assignment));
    out.extend(files.cloned().map(CliVar::File));
    out
}

/// The providers compiled into this build; under `--sandbox`, each cloud's wrapped so that its
/// block can point it nowhere but the sandbox (see [`crate::sandbox_provider`]).
pub fn providers() -> Providers {
    let sandboxed = sandbox_active();
    let mut providers = Providers::new();
    let clouds: [trustform_provider::SharedProvider; 5] = [
        Arc::new(AwsProvider::new()),
        Arc::new(GoogleProvider::new()),
        Arc::new(AzureProvider::new()),
        Arc::new(trustform_vault::VaultProvider::new()),
        Arc::new(trustform_random::RandomProvider::new()),
    ];
    for provider in clouds {
        providers.register(if sandboxed { crate::sandbox_provider::SandboxProvider::wrap(provider) } else { provider });
    }
    providers
}

/// The spec's `trustform { encryption { ... } }`, with `var.NAME` in a passphrase seen as
/// `variables` has it, and `TRUSTFORM_STATE_PASSPHRASE` for a key provider that sets no
/// passphrase; prints diagnostics and fails on errors.
pub fn encryption(config: &Config, variables: &BTreeMap<String, Value>, style: Style) -> CmdResult<EncryptionSettings> {
    let env = std::env::var(trustform_state::encryption::PASSPHRASE_ENV).ok().map(zeroize::Zeroizing::new);
    let (settings, diags) = crate::encryption::interpret(config, variables, env.as_deref().map(String::as_str));
    report(&diags, &config.sources, style)?;
    Ok(settings)
}

/// The variables of a command that reads state without planning (`output`, `show`, `state`):
/// defaults, `trustform.tfvars` and `TRUSTFORM_VAR_*`, for the encryption block's passphrase.
/// Problems with variables the encryption block does not use are not this command's concern.
pub fn spec_variables(config: &mut Config) -> BTreeMap<String, Value> {
    resolve_variables(config, &[], std::env::vars()).0
}

/// The encryption settings of the spec in `dir`, for commands that read state or a plan file
/// without planning; plaintext when there is no spec.
pub fn spec_encryption(dir: &Path, style: Style) -> CmdResult<EncryptionSettings> {
    let (mut config, _) = load_dir(dir);
    if config.sources.files().next().is_none() {
        return Ok(EncryptionSettings::plaintext());
    }
    let variables = spec_variables(&mut config);
    encryption(&config, &variables, style)
}

/// The sandbox deployment's state file, set once by `--sandbox` before any command runs.
static SANDBOX_STATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Under `--sandbox`, state lives in the sandbox (never in the spec's backend, which names
/// real storage): `--state FILE` still wins.
pub fn use_sandbox_state(path: PathBuf) {
    let _ = SANDBOX_STATE.set(path);
}

/// Whether this command runs against the sandbox.
pub fn sandbox_active() -> bool {
    SANDBOX_STATE.get().is_some()
}

/// The selected workspace's state backend: `--state FILE`, else the sandbox's under
/// `--sandbox`, else the spec's `backend "local"` or `backend "s3"` block, else the default under
/// the spec's directory. Until `init --migrate-state` has moved it, a state left in another
/// backend is refused rather than silently started afresh.
pub async fn backend(
    dir: &Path,
    config: Option<&Config>,
    override_path: Option<&Path>,
    encryption: Encryption,
    style: Style,
) -> CmdResult<Backend> {
    if let Some(path) = override_path.or_else(|| SANDBOX_STATE.get().map(PathBuf::as_path)) {
        return Ok(Backend::Local(LocalBackend::new(path).with_encryption(encryption)));
    }
    let spec = backends::configured(config, style)?;
    if let Some(previous) = backends::needs_migration(dir, &spec) {
        return Err(fail(
            "TF1071",
            "Backend initialization required",
            format!("The state is in {previous}, but the spec now configures {spec}. Run `trustform init --migrate-state` to copy it there, keeping its lineage and serial, then run this command again."),
            style,
        ));
    }
    if backends::recorded(dir).is_none() && spec != backends::BackendSpec::default() {
        // Without `init`, a later change of backend could not be told from a first run; the
        // record makes it wait for `init --migrate-state` instead of starting from no state.
        if let Err(error) = backends::record(dir, &spec) {
            tracing::warn!(%error, "could not record the backend in {}", backends::BACKEND_RECORD);
        }
    }
    let workspace = backends::current_workspace(dir).map_err(|problem| {
        fail(
            "TF1077",
            "Invalid workspace",
            format!("{problem} Select one with `trustform workspace select NAME`."),
            style,
        )
    })?;
    Ok(spec.connect(dir).await.workspace(&workspace).with_encryption(encryption))
}

/// Reads the state, or a fresh one when nothing was written yet.
pub async fn read_state(store: &dyn StateStore, style: Style) -> CmdResult<State> {
    match store.read().await {
        Ok(Some(state)) => Ok(state),
        Ok(None) => Ok(State::new()),
        Err(e) => Err(fail("TF1020", "Failed to read state", format!("{}: {e}", store.describe()), style)),
    }
}

/// Holds the state lock for the duration of a command.
pub struct Lock<'a> {
    locker: &'a dyn Locker,
    id: String,
    released: bool,
}

/// A panic unwinding through a command still releases its lock: the next run must not need a
/// `force-unlock` because of a bug. The release runs on a thread of its own, since the runtime
/// that would await it is the one unwinding.
impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if self.released || !std::thread::panicking() {
            return;
        }
        let (locker, id) = (self.locker, self.id.as_str());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    let _ = runtime.block_on(locker.unlock(id));
                }
            });
        });
    }
}

impl<'a> Lock<'a> {
    pub async fn acquire(locker: &'a dyn Locker, operation: &str, style: Style) -> CmdResult<Lock<'a>> {
        match locker.lock(LockInfo::new(operation)).await {
            Ok(id) => Ok(Lock { locker, id, released: false }),
            Err(e) => Err(fail("TF1021", "Error acquiring the state lock", format!("{e}."), style)),
        }
    }

    pub async fn release(mut self, style: Style) {
        self.released = true;
        match self.locker.unlock(&self.id).await {
            Ok(()) => {}
            Err(e @ LockError::NotHeld { .. }) => {
                let _ = fail(
                    "TF1022",
                    "Error releasing the state lock",
                    format!("{e}. Someone removed this run's lock (`trustform force-unlock`) while it ran. Check that the state holds what you expect with `trustform state pull`."),
                    style,
                );
            }
            Err(e) => {
                let _ = fail(
                    "TF1022",
                    "Error releasing the state lock",
                    format!("{e}. Release it with `trustform force-unlock {}`.", self.id),
                    style,
                );
            }
        }
    }
}

/// Where and how the outputs file is written: `--env-file`, else the spec's
/// `trustform { outputs { env_file, format } }`, else `deployment_outputs.env`, portable. Under
/// `--sandbox`, the spec's file (or the default) goes under `.trustform/sandbox/outputs/`, so a
/// sandbox apply never overwrites what a real apply wrote; `--env-file` is taken as given.
pub fn env_file_settings(
    dir: &Path,
    config: &Config,
    flag: Option<&Path>,
    style: Style,
) -> CmdResult<(Option<PathBuf>, EnvFormat)> {
    let spec_file = |name: &str| {
        if sandbox_active() {
            in_dir(dir, crate::sandbox_provider::sandboxed_path(Path::new(name)))
        } else {
            in_dir(dir, name)
        }
    };
    let mut path = Some(spec_file(DEFAULT_ENV_FILE));
    let mut format = EnvFormat::Portable;
    if let Some(body) = &config.settings.outputs {
        let mut diags = Diagnostics::new();
        for (name, attr) in &body.attributes {
            match (name.as_str(), eval_constant(config, &attr.expr)) {
                ("env_file", Ok(v)) if v.as_str().is_some() => {
                    let text = v.as_str().unwrap_or_default();
                    path = (!text.is_empty()).then(|| spec_file(text));
                }
                ("format", Ok(v)) => match v.as_str().map(str::parse::<EnvFormat>) {
                    Some(Ok(f)) => format = f,
                    Some(Err(e)) => diags.push(
                        Diagnostic::error("TF0122", "Invalid outputs format", e.to_string())
                            .with_span(config.span(&attr.expr)),
                    ),
                    None => diags.push(
                        Diagnostic::error(
                            "TF0122",
                            "Invalid outputs format",
                            "format must be \"portable\" or \"dotenv\".",
                        )
                        .with_span(config.span(&attr.expr)),
                    ),
                },
                (_, Err(d)) => diags.push(*d),
                (other, _) => diags.push(
                    Diagnostic::error(
                        "TF0123",
                        "Unsupported argument",
                        format!("The outputs block takes env_file and format; \"{other}\" is not one of them."),
                    )
                    .with_span(config.span(&attr.expr)),
                ),
            }
        }
        report(&diags, &config.sources, style)?;
    }
    if let Some(flag) = flag {
        path = (!flag.as_os_str().is_empty()).then(|| flag.to_owned());
    }
    Ok((path, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_sources_keep_command_line_order() {
        let argv = ["trustform", "plan", "-var-file=a.tfvars", "--var", "x=1", "--var-file", "b.tfvars", "-var=y=2"]
            .map(String::from);
        let vars =
            VarArgs { vars: vec!["x=1".into(), "y=2".into()], var_files: vec!["a.tfvars".into(), "b.tfvars".into()] };
        let order = cli_vars(argv.into_iter(), &vars);
        assert_eq!(
            order,
            [
                CliVar::File("a.tfvars".into()),
                CliVar::Assignment("x=1".into()),
                CliVar::File("b.tfvars".into()),
                CliVar::Assignment("y=2".into()),
            ]
        );
    }
}
