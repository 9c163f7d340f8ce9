use crate::{LockError, LockInfo, State, StateError};
use async_trait::async_trait;

/// Where a state is kept. Every implementation passes [`crate::testing::conformance`].
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The stored state, or `None` when nothing has been written yet.
    async fn read(&self) -> Result<Option<State>, StateError>;

    /// Replaces the stored state. The write is durable when this returns, and refused (by
    /// [`crate::check_overwrite`]) when it would change the lineage or move the serial backwards.
    async fn write(&self, state: &State) -> Result<(), StateError>;

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
