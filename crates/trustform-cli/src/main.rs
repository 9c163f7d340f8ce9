//! The `trustform` command.

/// Writes to standard output, ignoring a closed pipe (`trustform show | head`): a command's
/// work, an apply above all, must not die with its reader.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The same for standard error.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod commands;
mod encryption;
mod outputs;
mod project;
mod render;
mod ui;

/// mimalloc: planning allocates many small values, and glibc's allocator spent a fifth of the
/// time of a large plan consolidating free lists (see the engine benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use args::{Cli, Command};
use clap::Parser;
use commands::apply::Kind;
use commands::Ctx;
use project::Failed;
use std::process::ExitCode;
use std::sync::Arc;
use trustform_graph::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse_from(args::normalize_args(std::env::args()));
    init_tracing();
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
    let code = runtime.block_on(run(cli));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `TRUSTFORM_LOG` (or `RUST_LOG`) sets the log filter; logs go to standard error. Values
/// never reach log lines: events and errors carry addresses and ids only.
fn init_tracing() {
    let filter =
        std::env::var("TRUSTFORM_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn run(cli: Cli) -> i32 {
    let cancel = CancellationToken::new();
    spawn_interrupt_handler(cancel.clone());
    let ctx = Ctx {
        dir: cli.chdir.clone(),
        out: ui::style_for(&std::io::stdout(), cli.no_color),
        err: ui::style_for(&std::io::stderr(), cli.no_color),
        cancel,
        hook: Arc::new(ui::Progress::new()),
    };
    let result = match cli.command {
        Command::Init => commands::validate::init(&ctx).await,
        Command::Validate(args) => commands::validate::validate(&ctx, args).await,
        Command::Fmt(args) => commands::validate::fmt(&ctx, args),
        Command::Plan(args) => commands::plan::run(&ctx, args).await,
        Command::Apply(args) => commands::apply::run(&ctx, args, Kind::Apply).await,
        Command::Destroy(args) => commands::apply::run(&ctx, args, Kind::Destroy).await,
        Command::Refresh(args) => commands::apply::refresh(&ctx, args).await,
        Command::Import(args) => commands::inspect::import(&ctx, args).await,
        Command::Show(args) => commands::inspect::show(&ctx, args).await,
        Command::Output(args) => commands::inspect::output(&ctx, args).await,
        Command::Graph(args) => commands::inspect::graph(&ctx, args).await,
        Command::Render(args) => commands::inspect::render(&ctx, args).await,
        Command::State(command) => commands::state::run(&ctx, command).await,
        Command::ForceUnlock(args) => commands::state::force_unlock(&ctx, args).await,
    };
    match result {
        Ok(code) => code,
        Err(Failed(code)) => code,
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
