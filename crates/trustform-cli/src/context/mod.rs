//! One command's world, assembled in one place.
//!
//! [`Ctx`] is built once in `main` from the parsed arguments: the working directory, what the
//! user sees paths relative to (`--chdir`), output styles and `--compact-warnings`, the
//! variables of `--var` and `--var-file` in the order given, `--sandbox`, `-input` and
//! `-lock-timeout`, Ctrl-C and the progress hook. Nothing about a command lives in a static
//! and nothing re-reads `argv`.
//!
//! [`Project`] is the spec as a command sees it, loaded once per command by [`Project::load`]
//! (plan, apply, import, graph, lint, validate: diagnostics reported, command-line variables)
//! or [`Project::for_state`] (the commands that read or move state without planning: the
//! spec's own variables only, for the encryption block). The settings interpreters read from
//! it: [`encryption`] (the `encryption` block), [`backends`] (the `backend` block, workspaces,
//! the migration record) and [`outputs`] (the env file and its format). A module tree and
//! aliased providers fit here later as fields of `Project` built in the same load.

pub mod backends;
pub mod encryption;
pub mod outputs;

use crate::project::{report, CmdResult, Failed, SANDBOX_TFVARS};
use crate::ui::Style;
use backends::Backend;
use encryption::EncryptionSettings;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use trustform_diag::{Diagnostics, SourceMap};
use trustform_engine::{Engine, EngineOptions, Hook};
use trustform_graph::CancellationToken;
use trustform_lang::config::{load_dir, Config};
use trustform_lang::{resolve_variables, CliVar, Value};

/// The log target of the one event every spec load emits (`TRUSTFORM_LOG=trustform::load=debug`),
/// which the tests count to prove one load per command.
pub const LOAD_TARGET: &str = "trustform::load";

/// What every command knows before it reads anything.
pub struct Ctx {
    /// The spec's directory, relative to the process's (which `--chdir` moved).
    pub dir: PathBuf,
    /// The directory given to `--chdir`, from which the user reads the paths this process names.
    pub started_in: Option<PathBuf>,
    pub out: Style,
    pub err: Style,
    /// `--compact-warnings`: warnings without errors are shown as one line each.
    pub compact_warnings: bool,
    /// `--var` and `--var-file` in the order given, which decides precedence (later wins).
    pub vars: Vec<CliVar>,
    /// Under `--sandbox`, the sandbox deployment's state file (set once the sandbox runs).
    pub sandbox_state: Option<PathBuf>,
    /// `-input=false`: never ask anything, even on a terminal.
    pub input: bool,
    /// `--checks-as-warnings`: the cross-cloud checks' findings do not stop a plan or apply.
    pub checks_as_warnings: bool,
    /// `-lock-timeout`: how long to retry taking a state lock someone else holds.
    pub lock_timeout: Duration,
    pub cancel: CancellationToken,
    pub hook: Arc<dyn Hook>,
}

impl Ctx {
    /// Whether this command runs against the sandbox.
    pub fn sandboxed(&self) -> bool {
        self.sandbox_state.is_some()
    }

    /// `path` (relative to the spec's directory) as the user sees it from where they started.
    pub fn shown(&self, path: &Path) -> PathBuf {
        match &self.started_in {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        }
    }

    /// Prints diagnostics, honouring `--compact-warnings`; fails on errors.
    pub fn report(&self, diags: &Diagnostics, sources: &SourceMap) -> CmdResult<()> {
        if self.compact_warnings && !diags.is_empty() && !diags.has_errors() {
            errln!("{}", crate::render::compact_warnings(diags));
            return Ok(());
        }
        report(diags, sources, self.err)
    }
}

/// Reads the spec of `dir`: the only place the CLI loads a configuration.
fn load_spec(dir: &Path) -> (Config, Diagnostics) {
    tracing::debug!(target: LOAD_TARGET, dir = %dir.display(), "loading the spec");
    load_dir(dir)
}

/// The spec of one directory with its variables resolved.
pub struct Project {
    pub config: Config,
    pub variables: BTreeMap<String, Value>,
    /// Whether the directory holds any spec file (a state-only directory holds none).
    pub has_spec: bool,
    /// The digest of the spec's own files, taken before variables files joined its sources,
    /// which a saved plan binds itself to.
    pub digest: String,
    /// Variable problems, reported with the engine's own by [`Project::engine`].
    pending: Diagnostics,
}

impl Project {
    /// Loads the spec and resolves variables from the command line (`--sandbox` reads the
    /// spec's `sandbox.tfvars` first); prints the spec's errors and fails on them.
    pub fn load(ctx: &Ctx) -> CmdResult<Project> {
        let mut cli = ctx.vars.clone();
        // Under --sandbox, the spec's sandbox.tfvars names what exists in the emulated world; it
        // comes before the command line's files and assignments, which still override it.
        let sandbox_vars = ctx.dir.join(SANDBOX_TFVARS);
        if ctx.sandboxed() && sandbox_vars.is_file() {
            cli.insert(0, CliVar::File(sandbox_vars));
        }
        Project::read(ctx, &cli)
    }

    /// Loads the spec with its own variables only (defaults, `trustform.tfvars`,
    /// `TRUSTFORM_VAR_*`), for `apply FILE` (the plan file holds the rest) and `init`.
    pub fn without_command_line(ctx: &Ctx) -> CmdResult<Project> {
        Project::read(ctx, &[])
    }

    /// The spec as the commands that read state without planning see it (`output`, `show`,
    /// `state`, `workspace`, `force-unlock`): its backend and encryption blocks matter, its other
    /// problems and unset variables are not this command's concern. A directory without a spec
    /// is fine: state alone.
    pub fn for_state(ctx: &Ctx) -> Project {
        let (mut config, _) = load_spec(&ctx.dir);
        let has_spec = config.sources.files().next().is_some();
        let digest = digest_of(&config);
        let (variables, _) = resolve_variables(&mut config, &[], std::env::vars());
        Project { config, variables, has_spec, digest, pending: Diagnostics::new() }
    }

    fn read(ctx: &Ctx, cli: &[CliVar]) -> CmdResult<Project> {
        let (mut config, mut diags) = load_spec(&ctx.dir);
        if diags.has_errors() {
            report(&diags, &config.all_sources(), ctx.err)?;
        }
        let has_spec = config.sources.files().next().is_some();
        let digest = digest_of(&config);
        let (variables, more) = resolve_variables(&mut config, cli, std::env::vars());
        diags.extend(more);
        Ok(Project { config, variables, has_spec, digest, pending: diags })
    }

    /// Loads the spec for `validate` and `lint`: every problem is kept for the caller (which
    /// may print them as JSON), none is printed here.
    pub fn for_checks(ctx: &Ctx, cli: &[CliVar]) -> (Project, bool) {
        let (mut config, diags) = load_spec(&ctx.dir);
        let has_spec = config.sources.files().next().is_some();
        let digest = digest_of(&config);
        if diags.has_errors() {
            return (Project { config, variables: BTreeMap::new(), has_spec, digest, pending: diags }, false);
        }
        let (variables, more) = resolve_variables(&mut config, cli, std::env::vars());
        let mut pending = diags;
        pending.extend(more);
        (Project { config, variables, has_spec, digest, pending }, true)
    }

    /// Takes the problems found while loading, for a caller that reports them itself.
    pub fn take_pending(&mut self) -> Diagnostics {
        std::mem::take(&mut self.pending)
    }

    /// The spec's `trustform { encryption { ... } }`, with `var.NAME` in a passphrase seen as
    /// the variables have it, and `TRUSTFORM_STATE_PASSPHRASE` for a key provider that sets no
    /// passphrase; prints diagnostics and fails on errors. Plaintext without a spec.
    pub fn encryption(&self, ctx: &Ctx) -> CmdResult<EncryptionSettings> {
        if !self.has_spec {
            return Ok(EncryptionSettings::plaintext());
        }
        let env = std::env::var(trustform_state::encryption::PASSPHRASE_ENV).ok().map(zeroize::Zeroizing::new);
        let (settings, diags) =
            encryption::interpret(&self.config, &self.variables, env.as_deref().map(String::as_str));
        report(&diags, &self.config.all_sources(), ctx.err)?;
        Ok(settings)
    }

    /// The selected workspace's state backend: `--state FILE`, else the sandbox's under
    /// `--sandbox`, else the spec's `backend` block, else the default under the spec's
    /// directory (see [`backends::select`]).
    pub async fn backend(
        &self,
        ctx: &Ctx,
        state_flag: Option<&Path>,
        encryption: trustform_state::Encryption,
    ) -> CmdResult<Backend> {
        let sandbox = ctx.sandbox_state.as_deref();
        backends::select(&ctx.dir, self.has_spec.then_some(&self.config), state_flag.or(sandbox), encryption, ctx.err)
            .await
    }

    /// Where and how the env file is written (see [`outputs::EnvFile::settings`]).
    pub fn env_file(&self, ctx: &Ctx, flag: Option<&Path>) -> CmdResult<outputs::EnvFile> {
        outputs::EnvFile::settings(ctx, &self.config, flag)
    }

    /// Builds the engine over this build's providers. Problems with variables are reported
    /// together with the spec's structural problems, so one run shows them all.
    pub fn engine(self, ctx: &Ctx, options: EngineOptions) -> CmdResult<(Engine, SourceMap)> {
        let sources = self.config.all_sources();
        let mut diags = self.pending;
        if ctx.sandboxed() {
            diags.extend(crate::sandbox_provider::overridden_settings(&self.config));
        }
        let (engine, more) = Engine::new(
            self.config,
            self.variables,
            crate::project::providers(ctx.sandboxed()),
            crate::project::with_checks(options, ctx.checks_as_warnings),
        );
        diags.extend(more);
        ctx.report(&diags, &sources)?;
        Ok((engine.ok_or(Failed(1))?, sources))
    }
}

/// The digest of a spec's files, as a saved plan records it.
fn digest_of(config: &Config) -> String {
    trustform_plan::config_digest(config.all_sources().files().map(|f| (&*f.path, &*f.text)))
}
