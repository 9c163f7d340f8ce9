use crate::{LockError, LockInfo, State, StateError, StateUpdate};
use async_trait::async_trait;

/// Where a state is kept. Every implementation passes [`crate::testing::conformance`].
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The stored state, or `None` when nothing has been written yet.
    async fn read(&self) -> Result<Option<State>, StateError>;

    /// Replaces the stored state. The write is durable when this returns, and refused (by
    /// [`crate::check_overwrite`]) when it would change the lineage or move the serial backwards.
    async fn write(&self, state: &State) -> Result<(), StateError>;

    /// Makes `update` durable before returning: its changes, on top of what this writer last
    /// made durable, take the stored state to `update.serial` (refused as [`StateStore::write`]
    /// refuses). What an apply calls after every group of finished resources, so a store should
    /// make it cost the same whatever the size of the state (a journal beside a snapshot). The
    /// default writes the whole state.
    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        self.write(&update.state()).await
    }

    /// Folds whatever [`StateStore::persist`] kept beside the stored state into it: called with
    /// the state every update so far led to, when a run has made its last change. Afterwards the
    /// store holds `state` as [`StateStore::write`] leaves it. The default has nothing to fold.
    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        let _ = state;
        Ok(())
    }

    /// What this store is, for messages: `local state file state/default.tfstate`.
    fn describe(&self) -> String;
}

/// Serialises runs on one state. At most one lock is held at a time.
#[async_trait]
pub trait Locker: Send + Sync {
    /// Takes the lock, recording `info`, and returns the id that releases it. When someone else
    /// holds it, fails with [`LockError::Held`] naming them.
    async fn lock(&self, info: LockInfo) -> Result<String, LockError>;

    /// Releases a lock this run took.
    async fn unlock(&self, id: &str) -> Result<(), LockError>;

    /// Releases a lock another run left behind (`trustform force-unlock ID`). The id must match
    /// the held lock, so that a lock taken since the operator read the id is left alone.
    async fn force_unlock(&self, id: &str) -> Result<(), LockError>;
}
