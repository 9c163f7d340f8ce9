//! `--sandbox`: every provider pointed at the `trustform-sandbox` emulators of AWS, Google Cloud
//! and Azure, run in this process on loopback (or reached where `trustform sandbox serve` keeps
//! them listening), with test credentials and a state of its own. The emulated cloud lives in
//! `.trustform/sandbox/` beside the spec, so separate invocations see the same cloud.
//!
//! Files under `.trustform/sandbox/`:
//! * `journal.jsonl`: the changes that built the emulated cloud, replayed at start;
//! * `terraform.tfstate`: the state of the sandbox deployment, never mixed with the real one;
//! * `lock`: held (an OS file lock, released even if the process dies) by the process hosting the
//!   emulators, so that only one process writes the journal;
//! * `serve.json`: where `trustform sandbox serve` listens, while it runs;
//! * `outputs/`: the files the spec writes (`deployment_outputs.env`, credential configurations),
//!   never beside the spec where a real apply writes them (see [`crate::sandbox_provider`]).
//!
//! The emulated world is `trustform_sandbox::world::world()`: the shipped plans' world, and any
//! project, cluster or subscription the spec names, created on first use.
//!
//! A cloned repository could ship `.trustform/sandbox/` itself: the sandbox refuses to work in a
//! `.trustform` or `.trustform/sandbox` that is a symbolic link, and opens its files without
//! following one, so it never writes through a link into the user's files.

use crate::args::SandboxCommand;
use crate::commands::Ctx;
use crate::project::{fail, in_dir, CmdResult};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trustform_sandbox::world::{world, AZURE_SUBSCRIPTION, AZURE_TENANT, GCP_PROJECT, REGION};
use trustform_sandbox::Sandbox;

/// Where the emulated cloud of a spec directory is kept.
pub const SANDBOX_DIR: &str = ".trustform/sandbox";

/// The bearer token and access keys every client presents to the sandbox. The sandbox takes any
/// credentials; these say where they are meant for.
const TOKEN: &str = "sandbox-token";
const ACCESS_KEY: &str = "sandbox";

/// Where `sandbox serve` listens, for other invocations to find.
#[derive(Debug, Serialize, Deserialize)]
struct Served {
    endpoint: String,
    pid: u32,
}

/// The sandbox a command runs against, prepared before the async runtime starts (the
/// environment that points the providers at it is set while the process has one thread).
pub enum Prepared {
    /// This process hosts the emulators, on this listener, holding the lock.
    Local { listener: TcpListener, dir: PathBuf, _lock: File },
    /// `trustform sandbox serve` hosts them.
    Served { endpoint: String },
}

/// A sandbox being served by this process for the length of a command.
pub struct Running {
    sandbox: Option<Sandbox>,
    /// Released after the server stops, so that no other process starts writing the journal
    /// while this one still may.
    _lock: Option<File>,
}

impl Running {
    pub async fn stop(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

/// The sandbox's directory for the spec in `dir`.
pub fn sandbox_dir(dir: &Path) -> PathBuf {
    in_dir(dir, SANDBOX_DIR)
}

/// The state file of the sandbox deployment.
pub fn state_path(dir: &Path) -> PathBuf {
    sandbox_dir(dir).join("terraform.tfstate")
}

/// Takes the sandbox of `dir`: its lock and a loopback port, or the address of the `sandbox
/// serve` holding it. Then points every provider at it through the environment a user would set
/// for an emulator. Must run before any other thread exists (it sets environment variables).
pub fn prepare(dir: &Path) -> Result<Prepared, String> {
    let sandbox = create_sandbox_dir(dir)?;
    let prepared = match take_lock(&sandbox)? {
        Some(lock) => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .map_err(|e| format!("cannot listen on loopback for the sandbox: {e}"))?;
            Prepared::Local { listener, dir: sandbox.clone(), _lock: lock }
        }
        None => Prepared::Served { endpoint: served_endpoint(&sandbox)? },
    };
    let endpoint = match &prepared {
        Prepared::Local { listener, .. } => endpoint_of(listener)?,
        Prepared::Served { endpoint } => endpoint.clone(),
    };
    for (name, value) in environment(&endpoint) {
        // Safe here: `main` calls this before the runtime, while the process has one thread.
        std::env::set_var(name, value);
    }
    // Empty AWS config and credentials files: nothing from the machine's profiles leaks in,
    // the SDK has no missing file to warn about, and no file is written for it (a repository
    // could ship one as a link to the user's real credentials).
    for name in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        std::env::set_var(name, "/dev/null");
    }
    for name in OTHER_LOGINS {
        std::env::remove_var(name);
    }
    Ok(prepared)
}

/// Environment variables through which a provider could sign in to a real cloud, or reach one,
/// instead of using the sandbox's test credentials and endpoints.
const OTHER_LOGINS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL_S3",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CREDENTIALS",
    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH",
    "ARM_OIDC_REQUEST_TOKEN",
    "ARM_OIDC_REQUEST_URL",
    "ARM_USE_OIDC",
    "ARM_USE_MSI",
    "VAULT_NAMESPACE",
    "VAULT_CACERT",
    "VAULT_SKIP_VERIFY",
];

/// Creates `.trustform/sandbox/` and its `outputs/` under `dir`, refusing any of them (or
/// `.trustform`) that is a symbolic link or not a directory: a cloned repository could point one
/// at the user's files.
pub fn create_sandbox_dir(dir: &Path) -> Result<PathBuf, String> {
    let sandbox = sandbox_dir(dir);
    let outputs = sandbox.join(crate::sandbox_provider::OUTPUTS_DIR);
    let chain = [in_dir(dir, ".trustform"), sandbox.clone(), outputs];
    for path in &chain {
        check_real_dir(path)?;
        match std::fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_real_dir(path)?,
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Ok(sandbox)
}

/// Refuses a path that exists as anything but a real directory.
fn check_real_dir(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symbolic link; the sandbox keeps its files only in a real directory, so that it never writes through a link (a cloned repository may ship one). Remove the link",
            path.display()
        )),
        Ok(meta) if !meta.is_dir() => {
            Err(format!("{} is not a directory; remove it so that the sandbox can create it", path.display()))
        }
        _ => Ok(()),
    }
}

fn endpoint_of(listener: &TcpListener) -> Result<String, String> {
    let address = listener.local_addr().map_err(|e| format!("cannot read the sandbox's address: {e}"))?;
    Ok(format!("http://{address}"))
}

/// The exclusive lock on the sandbox, or `None` when another process holds it.
fn take_lock(sandbox: &Path) -> Result<Option<File>, String> {
    let path = sandbox.join("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// The endpoint of the `sandbox serve` that holds the lock, if it answers.
fn served_endpoint(sandbox: &Path) -> Result<String, String> {
    let busy = || {
        format!(
            "the sandbox in {} is in use by another trustform command; wait for it to finish, or run `trustform sandbox serve` there to share one sandbox between commands",
            sandbox.display()
        )
    };
    let text = std::fs::read_to_string(sandbox.join("serve.json")).map_err(|_| busy())?;
    let served: Served = serde_json::from_str(&text).map_err(|_| busy())?;
    let address: SocketAddr = served.endpoint.trim_start_matches("http://").parse().map_err(|_| busy())?;
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).map_err(|_| busy())?;
    Ok(served.endpoint)
}

/// The environment that points the AWS, Google, Azure and Vault providers at `endpoint` with test
/// credentials, and keeps profiles, shared files and instance metadata out.
pub fn environment(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ENDPOINT_URL_IAM", endpoint.to_owned()),
        ("AWS_ENDPOINT_URL_STS", endpoint.to_owned()),
        ("AWS_ENDPOINT_URL_EKS", endpoint.to_owned()),
        ("AWS_ENDPOINT_URL_EKS_AUTH", endpoint.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("GOOGLE_CLOUD_PROJECT", GCP_PROJECT.to_owned()),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN.to_owned()),
        ("GOOGLE_IAM_CUSTOM_ENDPOINT", format!("{endpoint}/v1/")),
        ("GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT", format!("{endpoint}/v3/")),
        ("GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT", format!("{endpoint}/v1/")),
        ("GOOGLE_STS_CUSTOM_ENDPOINT", format!("{endpoint}/v1/")),
        ("GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT", format!("{endpoint}/v1/")),
        ("ARM_ACCESS_TOKEN", TOKEN.to_owned()),
        ("ARM_RESOURCE_MANAGER_ENDPOINT", endpoint.to_owned()),
        ("ARM_MSGRAPH_ENDPOINT", endpoint.to_owned()),
        ("AZURE_AUTHORITY_HOST", endpoint.to_owned()),
        ("ARM_TENANT_ID", AZURE_TENANT.to_owned()),
        ("ARM_SUBSCRIPTION_ID", AZURE_SUBSCRIPTION.to_owned()),
        ("VAULT_ADDR", format!("{endpoint}{}", trustform_sandbox::vault::PREFIX)),
        ("VAULT_TOKEN", TOKEN.to_owned()),
    ]
}

/// Starts serving a [`Prepared::Local`] sandbox: restores the emulated cloud from its journal.
pub async fn start(prepared: Prepared, ctx: &Ctx) -> CmdResult<(Running, String)> {
    match prepared {
        Prepared::Served { endpoint } => {
            errln!("Sandbox: using the emulated clouds served at {endpoint} by `trustform sandbox serve`.");
            Ok((Running { sandbox: None, _lock: None }, endpoint))
        }
        Prepared::Local { listener, dir, _lock: lock } => {
            let journal = dir.join("journal.jsonl");
            let sandbox = Sandbox::start_on(listener, world().journal(&journal)).await.map_err(|e| {
                fail(
                    "TF1401",
                    "Cannot start the sandbox",
                    format!("{}: {e}. `trustform sandbox reset` starts over with an empty cloud.", journal.display()),
                    ctx.err,
                )
            })?;
            let endpoint = sandbox.endpoint();
            errln!(
                "Sandbox: emulated AWS, Google Cloud, Azure and Vault on {endpoint}, kept in {}.",
                ctx.shown(&dir).display()
            );
            Ok((Running { sandbox: Some(sandbox), _lock: Some(lock) }, endpoint))
        }
    }
}

/// `trustform sandbox reset|serve`.
pub async fn run(ctx: &Ctx, command: SandboxCommand) -> CmdResult {
    match command {
        SandboxCommand::Reset => reset(ctx),
        SandboxCommand::Serve(args) => serve(ctx, args.port).await,
    }
}

fn reset(ctx: &Ctx) -> CmdResult {
    let sandbox = sandbox_dir(&ctx.dir);
    if !sandbox.exists() {
        outln!("No sandbox in {}: nothing to reset.", ctx.shown(&sandbox).display());
        return Ok(0);
    }
    let fail_with = |detail: String| fail("TF1402", "Cannot reset the sandbox", detail, ctx.err);
    check_real_dir(&in_dir(&ctx.dir, ".trustform")).and_then(|()| check_real_dir(&sandbox)).map_err(fail_with)?;
    let Some(_lock) = take_lock(&sandbox).map_err(fail_with)? else {
        return Err(fail_with(format!(
            "the sandbox in {} is in use by another trustform command or `trustform sandbox serve`; stop it first",
            sandbox.display()
        )));
    };
    let entries = std::fs::read_dir(&sandbox).map_err(|e| fail_with(format!("{}: {e}", sandbox.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|name| name == "lock") {
            continue;
        }
        // A link is removed, never followed.
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir());
        let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| fail_with(format!("{}: {e}", path.display())))?;
    }
    outln!("Sandbox reset: the emulated cloud and the sandbox state in {} are gone.", ctx.shown(&sandbox).display());
    Ok(0)
}

async fn serve(ctx: &Ctx, port: u16) -> CmdResult {
    let fail_with = |detail: String| fail("TF1403", "Cannot serve the sandbox", detail, ctx.err);
    let sandbox = create_sandbox_dir(&ctx.dir).map_err(fail_with)?;
    let Some(lock) = take_lock(&sandbox).map_err(fail_with)? else {
        return Err(fail_with(format!(
            "the sandbox in {} is in use by another trustform command or `trustform sandbox serve`",
            sandbox.display()
        )));
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| fail_with(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let (running, endpoint) = start(Prepared::Local { listener, dir: sandbox.clone(), _lock: lock }, ctx).await?;
    let served = Served { endpoint: endpoint.clone(), pid: std::process::id() };
    let marker = sandbox.join("serve.json");
    let text = serde_json::to_vec_pretty(&served).unwrap_or_default();
    trustform_state::write_file_atomically(&marker, &text)
        .map_err(|e| fail_with(format!("{}: {e}", marker.display())))?;
    outln!("Serving the sandbox kept in {} on {endpoint}.", ctx.shown(&sandbox).display());
    outln!("trustform commands with --sandbox in this directory use it. Other clients can use:\n");
    for (name, value) in environment(&endpoint) {
        outln!("export {name}={value}");
    }
    outln!("\nFor example: aws iam list-roles\nPress Ctrl-C to stop.");
    ctx.cancel.cancelled().await;
    let _ = std::fs::remove_file(&marker);
    running.stop().await;
    outln!("Sandbox stopped; the emulated cloud is kept in {}.", ctx.shown(&sandbox).display());
    Ok(0)
}
