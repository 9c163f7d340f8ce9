//! `init --migrate-state`: copies every workspace's state from the backend it is in to the one
//! the spec now configures, holding both locks, keeping lineage and serial.

use super::Ctx;
use crate::context::backends::{Backend, BackendSpec};
use crate::project::{fail, CmdResult, Lock};
use trustform_state::{Encryption, StateStore};

/// The operation both locks record.
const OPERATION: &str = "init -migrate-state";

/// Both sides store through `encryption`, the spec's state encryption: a migration moves the
/// state, not its protection.
pub async fn migrate(ctx: &Ctx, from: &BackendSpec, to: &BackendSpec, encryption: Encryption) -> CmdResult<()> {
    let (source, target) = (from.connect(&ctx.dir).await, to.connect(&ctx.dir).await);
    let workspaces =
        source.workspaces().await.map_err(|e| fail("TF1020", "Failed to read state", format!("{e}."), ctx.err))?;
    outln!("Migrating state from {from} to {to}.");
    for workspace in workspaces {
        let (src, dst) = (
            source.workspace(&workspace).with_encryption(encryption.clone()),
            target.workspace(&workspace).with_encryption(encryption.clone()),
        );
        let src_lock = Lock::acquire(&src, OPERATION, ctx).await?;
        let dst_lock = match Lock::acquire(&dst, OPERATION, ctx).await {
            Ok(lock) => lock,
            Err(failed) => {
                src_lock.release(ctx.err).await;
                return Err(failed);
            }
        };
        let copied = copy(ctx, &workspace, &src, &dst).await;
        dst_lock.release(ctx.err).await;
        src_lock.release(ctx.err).await;
        copied?;
    }
    Ok(())
}

async fn copy(ctx: &Ctx, workspace: &str, src: &Backend, dst: &Backend) -> CmdResult<()> {
    let read_failed = |e: trustform_state::StateError| fail("TF1020", "Failed to read state", format!("{e}."), ctx.err);
    let Some(state) = src.read().await.map_err(read_failed)? else {
        outln!("  workspace \"{workspace}\": no state in {}, nothing to copy.", src.describe());
        return Ok(());
    };
    let refuse = |why: String| {
        fail(
            "TF1072",
            "State migration refused",
            format!("{why} Nothing was copied for workspace \"{workspace}\". Point the backend block at an empty location, or remove the destination's state if it is not needed, and run `trustform init --migrate-state` again."),
            ctx.err,
        )
    };
    match dst.read().await.map_err(read_failed)? {
        Some(existing) if existing.lineage != state.lineage => {
            return Err(refuse(format!(
                "{} already holds a different state (lineage {}, serial {}) from the one in {} (lineage {}, serial {}).",
                dst.describe(),
                existing.lineage,
                existing.serial,
                src.describe(),
                state.lineage,
                state.serial
            )));
        }
        Some(existing) if existing == state => {
            outln!(
                "  workspace \"{workspace}\": {} already holds this state (lineage {}, serial {}).",
                dst.describe(),
                state.lineage,
                state.serial
            );
            return Ok(());
        }
        Some(existing) if existing.serial >= state.serial => {
            return Err(refuse(format!(
                "{} holds serial {} of this state, which is not older than serial {} in {}, so copying could lose changes.",
                dst.describe(),
                existing.serial,
                state.serial,
                src.describe()
            )));
        }
        _ => {}
    }
    dst.write(&state).await.map_err(|e| fail("TF1010", "Failed to persist state", format!("{e}."), ctx.err))?;
    outln!(
        "  workspace \"{workspace}\": copied (lineage {}, serial {}) from {} to {}.",
        state.lineage,
        state.serial,
        src.describe(),
        dst.describe()
    );
    Ok(())
}
