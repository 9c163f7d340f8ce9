//! What every command shares once its [`Ctx`] is built: exit codes, printing diagnostics, the
//! providers of this build, reading state, and the state lock (waiting for it up to
//! `-lock-timeout`).

use crate::context::Ctx;
use crate::render::render_all;
use crate::ui::Style;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trustform_aws::AwsProvider;
use trustform_azure::{AzureAdProvider, AzureProvider};
use trustform_diag::{Diagnostic, Diagnostics, SourceMap};
use trustform_engine::{EngineOptions, Providers};
use trustform_gcp::GoogleProvider;
use trustform_state::{LockError, LockInfo, Locker, State, StateStore};

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

/// This build's checks (the cross-cloud TF13xx), with the given engine options: the one place a
/// build chooses what its plans are judged by, as [`providers`] chooses what they can reach.
/// With `as_warnings` (`--checks-as-warnings`) their findings are warnings, which do not stop
/// an apply.
pub fn with_checks(options: EngineOptions, as_warnings: bool) -> EngineOptions {
    let checks = trustform_checks::all();
    let checks = if as_warnings {
        checks.into_iter().map(|check| Arc::new(AsWarnings(check)) as Arc<dyn trustform_engine::Check>).collect()
    } else {
        checks
    };
    EngineOptions { checks, ..options }
}

/// A check whose findings are all warnings.
struct AsWarnings(Arc<dyn trustform_engine::Check>);

impl trustform_engine::Check for AsWarnings {
    fn check(&self, input: &trustform_engine::CheckInput<'_>) -> Diagnostics {
        let mut found = Diagnostics::new();
        for mut diagnostic in self.0.check(input).into_vec() {
            diagnostic.severity = trustform_diag::Severity::Warning;
            found.push(diagnostic);
        }
        found
    }
}

/// The providers compiled into this build; under `--sandbox`, each cloud's wrapped so that its
/// block can point it nowhere but the sandbox (see [`crate::sandbox_provider`]).
pub fn providers(sandboxed: bool) -> Providers {
    let mut providers = Providers::new();
    // A factory per provider: each aliased configuration (`provider "aws" { alias = "x" }`) gets
    // an instance of its own, configured from its own block.
    let clouds: [fn() -> trustform_provider::SharedProvider; 6] = [
        || Arc::new(AwsProvider::new()),
        || Arc::new(GoogleProvider::new()),
        || Arc::new(AzureProvider::new()),
        || Arc::new(AzureAdProvider::new()),
        || Arc::new(trustform_vault::VaultProvider::new()),
        || Arc::new(trustform_random::RandomProvider::new()),
    ];
    for make in clouds {
        providers.register_with_aliases(Arc::new(move || {
            let provider = make();
            if sandboxed {
                crate::sandbox_provider::SandboxProvider::wrap(provider)
            } else {
                provider
            }
        }));
    }
    providers
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
    /// Takes the lock. One held by someone else is tried again until `-lock-timeout` has
    /// passed, waiting 1 s, then twice as long each time up to 16 s, as Terraform's
    /// `statemgr.LockWithContext` does; Ctrl-C stops the wait.
    pub async fn acquire(locker: &'a dyn Locker, operation: &str, ctx: &Ctx) -> CmdResult<Lock<'a>> {
        // A timeout too long for the clock to add (`-lock-timeout=5000000000000000h`) waits forever.
        let deadline = Instant::now().checked_add(ctx.lock_timeout);
        let mut delay = Duration::from_secs(1);
        let mut waited = false;
        loop {
            let error = match locker.lock(LockInfo::new(operation)).await {
                Ok(id) => return Ok(Lock { locker, id, released: false }),
                Err(error) => error,
            };
            let remaining =
                deadline.map_or(Duration::MAX, |deadline| deadline.saturating_duration_since(Instant::now()));
            let retryable = matches!(error, LockError::Held { .. } | LockError::Contended { .. });
            if !retryable || remaining.is_zero() || ctx.cancel.is_cancelled() {
                let waited = if waited {
                    format!(" Waited {} (-lock-timeout) for it to be released.", humanize(ctx.lock_timeout))
                } else {
                    String::new()
                };
                return Err(fail("TF1021", "Error acquiring the state lock", format!("{error}.{waited}"), ctx.err));
            }
            if !waited {
                errln!("Acquiring state lock. This may take a few moments...");
                waited = true;
            }
            tokio::select! {
                () = tokio::time::sleep(delay.min(remaining)) => {}
                () = ctx.cancel.cancelled() => {}
            }
            delay = (delay * 2).min(Duration::from_secs(16));
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

/// A duration as `-lock-timeout` takes it back: `90s`, `1500ms`.
fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
