//! The `trustform` command.

/// Writes to standard output, ignoring a closed pipe (`trustform show | head`): a command's
/// work, an apply above all, must not die with its reader. Control characters and bidi
/// overrides in what is printed (an object key from a state, a cloud's error message) are shown
/// escaped, never obeyed; Trustform's own colours pass ([`escape::keeping_colours`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = write!(std::io::stdout(), "{}", crate::escape::keeping_colours(&text));
    }};
}

macro_rules! outln {
    () => {
        out!("\n")
    };
    ($($arg:tt)*) => {
        out!("{}\n", format_args!($($arg)*))
    };
}

/// Writes to standard output exactly: for machine-readable output, JSON (passed through
/// [`escape::json`]) and what the user asked for verbatim (`output -raw`, `render`).
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// The same as `out!` for standard error.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = write!(std::io::stderr(), "{}", crate::escape::keeping_colours(&text));
    }};
}

macro_rules! errln {
    () => {
        err!("\n")
    };
    ($($arg:tt)*) => {
        err!("{}\n", format_args!($($arg)*))
    };
}

mod args;
mod commands;
mod context;
mod escape;
mod outputs;
mod project;
mod render;
mod sandbox;
mod sandbox_provider;
mod ui;

/// mimalloc: planning allocates many small values, and glibc's allocator spent a fifth of the
/// time of a large plan consolidating free lists (see the engine benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use args::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};
use commands::apply::Kind;
use context::Ctx;
use project::Failed;
use std::process::ExitCode;
use std::sync::Arc;
use trustform_graph::CancellationToken;

fn main() -> ExitCode {
    // The one read of argv: `--var` and `--var-file` keep their order through the matches.
    let matches = Cli::command().get_matches_from(args::normalize_args(std::env::args()));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let vars = cli.command.var_args().map(|vars| args::ordered_vars(vars, &matches)).unwrap_or_default();
    take_dir_argument(&mut cli);
    init_tracing();
    // --chdir moves the process, as Terraform's -chdir does: path.module is "." and every
    // relative path (a credential file's, --var-file's, --state's) reads the same whichever
    // directory the command was started from.
    let mut started_in = None;
    if cli.chdir != std::path::Path::new(".") {
        if let Err(e) = std::env::set_current_dir(&cli.chdir) {
            errln!("error: cannot change to the directory {}: {e}.", cli.chdir.display());
            return ExitCode::FAILURE;
        }
        started_in = Some(std::mem::replace(&mut cli.chdir, std::path::PathBuf::from(".")));
    }
    // Before the runtime: pointing the providers at the sandbox sets environment variables,
    // which is only sound while the process has one thread.
    let sandbox = match cli.sandbox && uses_clouds(&cli.command) {
        false => None,
        true => match sandbox::prepare(&cli.chdir) {
            Ok(prepared) => Some(prepared),
            Err(e) => {
                errln!("error: cannot use the sandbox: {e}.");
                return ExitCode::FAILURE;
            }
        },
    };
    // The AWS, Google and Azure stacks bring two rustls crypto providers; a library that asks
    // for the process default would panic without this. Failure means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli, vars, started_in, sandbox));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `trustform plan DIR` and `trustform apply DIR`: a directory given where a command takes one
/// is the spec's directory, as if given to --chdir (a saved plan file stays a plan file).
fn take_dir_argument(cli: &mut Cli) {
    let dir = match &mut cli.command {
        Command::Plan(args) => args.dir.take(),
        Command::Apply(args) | Command::Destroy(args) => args.plan_file.take_if(|path| path.is_dir()),
        _ => None,
    };
    if let Some(dir) = dir {
        cli.chdir = if cli.chdir == std::path::Path::new(".") { dir } else { cli.chdir.join(dir) };
    }
}

/// Whether a command reads or changes state or the clouds, and so runs against the sandbox
/// under --sandbox.
fn uses_clouds(command: &Command) -> bool {
    !matches!(
        command,
        Command::Validate(_) | Command::Lint(_) | Command::Fmt(_) | Command::Init(_) | Command::Sandbox(_)
    )
}

/// `TRUSTFORM_LOG` (or `RUST_LOG`) sets the log filter; logs go to standard error. Values
/// never reach Trustform's own log lines: events and errors carry addresses and ids only.
fn init_tracing() {
    let filter =
        std::env::var("TRUSTFORM_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".into());
    let bodies = std::env::var_os(SDK_BODIES_ENV).is_some_and(|v| v == "1");
    if bodies {
        errln!("warning: {SDK_BODIES_ENV}=1: the cloud SDKs log request and response bodies, which hold secrets (role descriptions, policies, tokens). Do not share this log.");
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&filter, bodies))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Set to `1` to let the cloud SDKs and HTTP clients log at the level `TRUSTFORM_LOG` asks for.
const SDK_BODIES_ENV: &str = "TRUSTFORM_LOG_SDK_BODIES";

/// The crates below Trustform that log what they send and receive at debug and trace level: the
/// AWS SDK's orchestrator prints every operation's input and output (`GetRoleOutput {
/// description: Some(..) }`), the HTTP clients print headers and bodies. They are capped at
/// `info` unless [`SDK_BODIES_ENV`] is `1`; a directive names a target prefix.
const SDK_TARGETS: &[&str] = &[
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "hyper",
    "h2",
    "reqwest",
    "azure",
    "google",
    "rustls",
];

/// The filter `TRUSTFORM_LOG` asks for, with the SDKs capped unless `bodies`.
fn log_filter(asked: &str, bodies: bool) -> tracing_subscriber::EnvFilter {
    let asked = tracing_subscriber::EnvFilter::try_new(asked).map_or_else(|_| "warn".to_owned(), |_| asked.to_owned());
    if bodies {
        return tracing_subscriber::EnvFilter::try_new(&asked)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    }
    // A directive naming an SDK target itself (`aws_smithy_runtime=trace`) is dropped: only the
    // switch lets their bodies through.
    let mut directives: Vec<String> = asked
        .split(',')
        .filter(|directive| !SDK_TARGETS.iter().any(|target| directive.trim().starts_with(target)))
        .map(str::to_owned)
        .collect();
    directives.extend(SDK_TARGETS.iter().map(|target| format!("{target}=info")));
    let directives = directives.join(",");
    tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
}

/// Builds the command's [`Ctx`] (once: nothing else assembles it) and runs the command.
async fn run(
    cli: Cli,
    vars: Vec<trustform_lang::CliVar>,
    started_in: Option<std::path::PathBuf>,
    sandbox: Option<sandbox::Prepared>,
) -> i32 {
    let cancel = CancellationToken::new();
    spawn_interrupt_handler(cancel.clone());
    let mut ctx = Ctx {
        dir: cli.chdir.clone(),
        started_in,
        out: ui::style_for(&std::io::stdout(), cli.no_color),
        err: ui::style_for(&std::io::stderr(), cli.no_color),
        compact_warnings: cli.compact_warnings,
        vars,
        sandbox_state: None,
        input: cli.input,
        checks_as_warnings: cli.checks_as_warnings,
        lock_timeout: cli.lock_timeout,
        cancel,
        hook: Arc::new(ui::Progress::new()),
    };
    let running = match sandbox {
        None => None,
        Some(prepared) => match sandbox::start(prepared, &ctx).await {
            Ok((running, _)) => {
                ctx.sandbox_state = Some(sandbox::state_path(&ctx.dir));
                Some(running)
            }
            Err(Failed(code)) => return code,
        },
    };
    let result = dispatch(&ctx, cli.command).await;
    if let Some(running) = running {
        running.stop().await;
    }
    match result {
        Ok(code) => code,
        Err(Failed(code)) => code,
    }
}

async fn dispatch(ctx: &Ctx, command: Command) -> project::CmdResult {
    match command {
        Command::Init(args) => commands::validate::init(ctx, args).await,
        Command::Validate(args) => commands::validate::validate(ctx, args).await,
        Command::Lint(args) => commands::validate::lint(ctx, args).await,
        Command::Fmt(args) => commands::validate::fmt(ctx, args),
        Command::Plan(args) => commands::plan::run(ctx, args).await,
        Command::Apply(args) => commands::apply::run(ctx, args, Kind::Apply).await,
        Command::Destroy(args) => commands::apply::run(ctx, args, Kind::Destroy).await,
        Command::Refresh(args) => commands::apply::refresh(ctx, args).await,
        Command::Import(args) => commands::inspect::import(ctx, args).await,
        Command::Show(args) => commands::inspect::show(ctx, args).await,
        Command::Output(args) => commands::inspect::output(ctx, args).await,
        Command::Graph(_) => commands::inspect::graph(ctx).await,
        Command::Render(args) => commands::inspect::render(ctx, args).await,
        Command::State(command) => commands::state::run(ctx, command).await,
        Command::ForceUnlock(args) => commands::state::force_unlock(ctx, args).await,
        Command::Verify(args) => commands::verify::run(ctx, args).await,
        Command::Workspace(command) => commands::workspace::run(ctx, command).await,
        Command::Sandbox(command) => sandbox::run(ctx, command).await,
    }
}

/// First Ctrl-C: stop starting work, finish what is in flight, save state, release the lock.
/// Second Ctrl-C: exit at once.
fn spawn_interrupt_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        errln!("\nInterrupt received. Finishing operations in flight and saving state; press Ctrl-C again to exit at once.");
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            errln!("Second interrupt: exiting now. The state may be locked; see `trustform force-unlock`.");
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What a subscriber built with `filter` writes for an SDK's trace line and one of Trustform's.
    fn logged(filter: tracing_subscriber::EnvFilter) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "GetRoleOutput {{ description: Some(\"canary-7f3a\") }}");
            tracing::debug!(target: "hyper_util::client::legacy", "body canary-7f3a");
            tracing::trace!(target: "trustform_engine::apply", "persisting state");
        });
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sdk_bodies_stay_out_of_trace_logs_unless_asked_for() {
        for asked in ["trace", "debug", "trace,aws_smithy_runtime=trace"] {
            let out = logged(log_filter(asked, false));
            assert!(!out.contains("canary-7f3a"), "{asked}: {out}");
        }
        let out = logged(log_filter("trace", false));
        assert!(out.contains("persisting state"), "Trustform's own trace lines stay: {out}");
        let out = logged(log_filter("trace", true));
        assert!(out.contains("canary-7f3a"), "the switch lets them through: {out}");
        assert!(!logged(log_filter("not a [filter", false)).contains("canary-7f3a"));
    }
}
