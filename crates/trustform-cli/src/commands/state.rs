//! `state list|show|rm|mv|pull|push` and `force-unlock`.

use super::inspect::render_resource;
use super::Ctx;
use crate::args::{ForceUnlockArgs, StateCommand};
use crate::context::backends::Backend;
use crate::context::Project;
use crate::project::{fail, read_state, CmdResult, Lock};
use crate::ui::confirm;
use std::path::Path;
use trustform_lang::ResourceAddr;
use trustform_state::encryption::Payload;
use trustform_state::{check_push, Encryption, Locker, State, StateStore};

/// The backend where the state lives, storing through the spec's state encryption.
async fn store(ctx: &Ctx, project: &Project, flag: Option<&Path>) -> CmdResult<Backend> {
    project.backend(ctx, flag, project.encryption(ctx)?.state).await
}

fn parse(ctx: &Ctx, text: &str) -> CmdResult<ResourceAddr> {
    text.parse()
        .map_err(|e: trustform_lang::AddrParseError| fail("TF1031", "Invalid resource address", e.to_string(), ctx.err))
}

pub async fn run(ctx: &Ctx, command: StateCommand) -> CmdResult {
    let project = Project::for_state(ctx);
    let project = &project;
    match command {
        StateCommand::List(args) => {
            let state = read_state(&store(ctx, project, args.state.as_deref()).await?, ctx.err).await?;
            for addr in state.resources.keys() {
                outln!("{addr}");
            }
            Ok(0)
        }
        StateCommand::Show(args) => {
            let addr = parse(ctx, &args.address)?;
            let state = read_state(&store(ctx, project, args.state.as_deref()).await?, ctx.err).await?;
            let Some(resource) = state.resources.get(&addr) else {
                return Err(fail(
                    "TF1060",
                    "No such resource in state",
                    format!("{addr} is not in the state. Run `trustform state list` to see what is."),
                    ctx.err,
                ));
            };
            outln!("# {addr}:");
            out!("{}", render_resource(&resource.value()));
            Ok(0)
        }
        StateCommand::Pull(args) => {
            let state = read_state(&store(ctx, project, args.state.as_deref()).await?, ctx.err).await?;
            out_raw!("{}", crate::escape::json(&String::from_utf8_lossy(&state.to_json_bytes())));
            Ok(0)
        }
        StateCommand::Rm(args) => {
            // A module address (`module.gw`, `module.gw["prod"]`) forgets everything in it, as
            // Terraform's `state rm` does.
            let module_of = |text: &str| match trustform_lang::parse_module_prefix(text) {
                Ok((steps, "")) if !steps.is_empty() => Some(steps),
                _ => None,
            };
            let modules: Vec<_> = args.addresses.iter().filter_map(|a| module_of(a)).collect();
            let addrs = args
                .addresses
                .iter()
                .filter(|a| module_of(a).is_none())
                .map(|a| parse(ctx, a))
                .collect::<CmdResult<Vec<_>>>()?;
            mutate(ctx, project, args.state.as_deref(), "state rm", |state| {
                for module in &modules {
                    let inside: Vec<ResourceAddr> = state
                        .resources
                        .keys()
                        .filter(|addr| trustform_lang::module_matches(module, &addr.module))
                        .cloned()
                        .collect();
                    if inside.is_empty() {
                        return Err(format!("no resource in state is in {}", trustform_lang::module_path_text(module)));
                    }
                    for addr in inside {
                        state.rm(&addr).map_err(|e| e.to_string())?;
                        outln!("Removed {addr}");
                    }
                }
                for addr in &addrs {
                    state.rm(addr).map_err(|e| e.to_string())?;
                    outln!("Removed {addr}");
                }
                Ok(())
            })
            .await
        }
        StateCommand::Mv(args) => {
            let (from, to) = (parse(ctx, &args.source)?, parse(ctx, &args.destination)?);
            mutate(ctx, project, args.state.as_deref(), "state mv", |state| {
                state.mv(&from, to.clone()).map_err(|e| e.to_string())?;
                outln!("Moved {from} to {to}");
                Ok(())
            })
            .await
        }
        StateCommand::Push(args) => {
            let bytes = std::fs::read(&args.file).map_err(|e| {
                fail("TF1061", "Cannot read the state file", format!("{}: {e}.", args.file.display()), ctx.err)
            })?;
            // `state pull` prints plaintext, which is what is usually pushed back; a copy of an
            // encrypted state file is read with the spec's keys.
            // One encryption for the pushed copy and the backend: the key is derived once.
            let encryption = project.encryption(ctx)?.state;
            let mut incoming = if Encryption::is_encrypted(&bytes) {
                encryption
                    .decode(&args.file.display().to_string(), &bytes)
                    .map_err(|e| fail("TF1061", "Cannot read the state file", format!("{e}."), ctx.err))?
            } else {
                State::from_json_bytes(&bytes).map_err(|e| {
                    fail("TF1061", "Cannot read the state file", format!("{}: {e}.", args.file.display()), ctx.err)
                })?
            };
            let store = project.backend(ctx, args.state.as_deref(), encryption).await?;
            let lock = Lock::acquire(&store, "state push", ctx).await?;
            let result = async {
                let current =
                    store.read().await.map_err(|e| fail("TF1020", "Failed to read state", e.to_string(), ctx.err))?;
                check_push(current.as_ref(), &incoming, args.force)
                    .map_err(|e| fail("TF1062", "State push refused", e.to_string(), ctx.err))?;
                if let Some(current) = &current {
                    if args.force {
                        incoming.rebase_onto(current);
                    }
                }
                store
                    .write(&incoming)
                    .await
                    .map_err(|e| fail("TF1010", "Failed to persist state", e.to_string(), ctx.err))?;
                outln!("Pushed {} to {}", args.file.display(), store.describe());
                Ok(0)
            }
            .await;
            lock.release(ctx.err).await;
            result
        }
    }
}

async fn mutate(
    ctx: &Ctx,
    project: &Project,
    flag: Option<&Path>,
    operation: &str,
    change: impl FnOnce(&mut State) -> Result<(), String>,
) -> CmdResult {
    let store = store(ctx, project, flag).await?;
    let lock = Lock::acquire(&store, operation, ctx).await?;
    let result = async {
        let mut state = read_state(&store, ctx.err).await?;
        change(&mut state).map_err(|e| fail("TF1063", "State change refused", e, ctx.err))?;
        state.serial = state.serial.checked_add(1).ok_or_else(|| {
            fail("TF1017", "State serial exhausted", format!("The state's serial is {}, the largest a state can hold, so no change can be recorded. Restore the state from its backup, or push a copy with a small serial and a new lineage.", state.serial), ctx.err)
        })?;
        store.write(&state).await.map_err(|e| fail("TF1010", "Failed to persist state", e.to_string(), ctx.err))?;
        Ok(0)
    }
    .await;
    lock.release(ctx.err).await;
    result
}

pub async fn force_unlock(ctx: &Ctx, args: ForceUnlockArgs) -> CmdResult {
    // The lock is beside the state, not in it: no keys are needed to remove it.
    let project = Project::for_state(ctx);
    let store = project.backend(ctx, args.state.as_deref(), Encryption::plaintext(Payload::State)).await?;
    if !args.force {
        match confirm(
            ctx,
            "Do you really want to force-unlock?",
            "Trustform will remove the lock on the state. Do this only if no other run is using it.",
        ) {
            Ok(true) => {}
            Ok(false) => return Err(fail("TF1064", "Force-unlock cancelled", "The lock was left in place.", ctx.err)),
            Err(why) => {
                return Err(fail(
                    "TF1032",
                    "Approval required",
                    format!("{why} (for force-unlock, the flag is --force)"),
                    ctx.err,
                ))
            }
        }
    }
    store
        .force_unlock(&args.lock_id)
        .await
        .map_err(|e| fail("TF1065", "Failed to unlock the state", e.to_string(), ctx.err))?;
    outln!("Trustform state has been successfully unlocked.");
    Ok(0)
}
