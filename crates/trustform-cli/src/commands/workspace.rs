//! `workspace list|show|new|select|delete`: separate states of one spec, each its own state
//! file (local) or object (S3), selected by `.trustform/environment` or `TRUSTFORM_WORKSPACE`.

use super::Ctx;
use crate::args::WorkspaceCommand;
use crate::context::backends::{self, Connected, WORKSPACE_ENV};
use crate::context::Project;
use crate::project::{fail, read_state, CmdResult, Failed, Lock};
use trustform_backend_s3::DEFAULT_WORKSPACE;
use trustform_state::{State, StateStore};

pub async fn run(ctx: &Ctx, command: WorkspaceCommand) -> CmdResult {
    let project = Project::for_state(ctx);
    let spec = backends::configured(project.has_spec.then_some(&project.config), ctx.err)?;
    if let Some(previous) = backends::needs_migration(&ctx.dir, &spec) {
        return Err(fail(
            "TF1071",
            "Backend initialization required",
            format!("The state is in {previous}, but the spec now configures {spec}. Run `trustform init --migrate-state` first."),
            ctx.err,
        ));
    }
    let connected = spec.connect(&ctx.dir).await;
    let current = backends::current_workspace(&ctx.dir).map_err(|problem| {
        fail(
            "TF1077",
            "Invalid workspace",
            format!("{problem} Select one with `trustform workspace select NAME`."),
            ctx.err,
        )
    })?;
    match command {
        WorkspaceCommand::List => {
            for name in list(ctx, &connected).await? {
                outln!("{} {name}", if name == current { "*" } else { " " });
            }
            Ok(0)
        }
        WorkspaceCommand::Show => {
            outln!("{current}");
            Ok(0)
        }
        WorkspaceCommand::New(args) => {
            let name = checked_name(ctx, &args.name)?;
            if list(ctx, &connected).await?.contains(&name) {
                return Err(fail(
                    "TF1073",
                    "Workspace already exists",
                    format!("Workspace \"{name}\" already exists. Select it with `trustform workspace select {name}`."),
                    ctx.err,
                ));
            }
            let store = connected.workspace(&name).with_encryption(project.encryption(ctx)?.state);
            let lock = Lock::acquire(&store, "workspace new", ctx).await?;
            let written = store.write(&State::new()).await;
            lock.release(ctx.err).await;
            written.map_err(|e| fail("TF1010", "Failed to persist state", e.to_string(), ctx.err))?;
            select(ctx, &name)?;
            outln!("Created and switched to workspace \"{name}\"!\n\nThe state of this workspace is empty: `trustform apply` creates the spec's objects anew, kept apart from the other workspaces.");
            Ok(0)
        }
        WorkspaceCommand::Select(args) => {
            let name = checked_name(ctx, &args.name)?;
            if !list(ctx, &connected).await?.contains(&name) {
                return Err(no_such_workspace(ctx, &name));
            }
            select(ctx, &name)?;
            outln!("Switched to workspace \"{name}\".");
            if std::env::var(WORKSPACE_ENV).is_ok_and(|value| !value.is_empty() && value != name) {
                errln!("Warning: {WORKSPACE_ENV} is set, and selects its workspace over this one while it is.");
            }
            Ok(0)
        }
        WorkspaceCommand::Delete(args) => {
            let name = checked_name(ctx, &args.name)?;
            if name == DEFAULT_WORKSPACE || name == current {
                let why = if name == DEFAULT_WORKSPACE {
                    "the default workspace cannot be deleted"
                } else {
                    "it is the selected workspace"
                };
                return Err(fail(
                    "TF1075",
                    "Cannot delete this workspace",
                    format!("Workspace \"{name}\" cannot be deleted: {why}. Select another with `trustform workspace select NAME` first."),
                    ctx.err,
                ));
            }
            if !list(ctx, &connected).await?.contains(&name) {
                return Err(no_such_workspace(ctx, &name));
            }
            let store = connected.workspace(&name).with_encryption(project.encryption(ctx)?.state);
            let lock = Lock::acquire(&store, "workspace delete", ctx).await?;
            let result = async {
                let state = read_state(&store, ctx.err).await?;
                if !state.resources.is_empty() && !args.force {
                    return Err(fail(
                        "TF1076",
                        "Workspace is not empty",
                        format!("Workspace \"{name}\" still manages {} resource(s); deleting its state would leave them in the cloud unmanaged. Run `trustform destroy` in it first (TRUSTFORM_WORKSPACE={name} trustform destroy), or pass --force to forget them.", state.resources.len()),
                        ctx.err,
                    ));
                }
                store.delete_state().await.map_err(|e| fail("TF1010", "Failed to persist state", e.to_string(), ctx.err))
            }
            .await;
            lock.release(ctx.err).await;
            result?;
            outln!("Deleted workspace \"{name}\".");
            Ok(0)
        }
    }
}

async fn list(ctx: &Ctx, connected: &Connected) -> CmdResult<Vec<String>> {
    connected.workspaces().await.map_err(|e| fail("TF1020", "Failed to read state", e.to_string(), ctx.err))
}

fn checked_name(ctx: &Ctx, name: &str) -> CmdResult<String> {
    backends::valid_workspace(name).map_err(|problem| fail("TF1077", "Invalid workspace", problem, ctx.err))?;
    Ok(name.to_owned())
}

fn select(ctx: &Ctx, name: &str) -> CmdResult<()> {
    backends::select_workspace(&ctx.dir, name).map_err(|e| {
        fail(
            "TF1078",
            "Cannot select the workspace",
            format!("Writing {} failed: {e}. Check that the directory is writable.", backends::ENVIRONMENT_FILE),
            ctx.err,
        )
    })
}

fn no_such_workspace(ctx: &Ctx, name: &str) -> Failed {
    fail(
        "TF1074",
        "No such workspace",
        format!("Workspace \"{name}\" does not exist. `trustform workspace list` shows those that do; `trustform workspace new {name}` creates it."),
        ctx.err,
    )
}
