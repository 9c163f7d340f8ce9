use crate::{check_overwrite, LockError, LockInfo, Locker, State, StateError, StateStore};
use async_trait::async_trait;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

const DESCRIPTION: &str = "in-memory state";

/// A state store and lock kept in memory, for tests of everything above the backends. Clones
/// share one state and one lock, as two runs against one backend would.
#[derive(Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// The encoded file rather than the value, so that reads go through the same decoding as a
    /// real backend's.
    state: Option<Vec<u8>>,
    lock: Option<LockInfo>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves `Inner` consistent, so a panic elsewhere cannot poison it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self, id: &str) -> Result<(), LockError> {
        let mut inner = self.inner();
        match &inner.lock {
            None => Err(LockError::NotHeld { target: DESCRIPTION.to_owned() }),
            Some(holder) if holder.id != id => Err(LockError::WrongId {
                target: DESCRIPTION.to_owned(),
                given: id.to_owned(),
                holder: Box::new(holder.clone()),
            }),
            Some(_) => {
                inner.lock = None;
                Ok(())
            }
        }
    }
}

impl fmt::Debug for MemoryBackend {
    /// The held lock, but not the state: it may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner();
        f.debug_struct("MemoryBackend").field("has_state", &inner.state.is_some()).field("lock", &inner.lock).finish()
    }
}

fn decode(bytes: &[u8]) -> Result<State, StateError> {
    State::from_json_bytes(bytes)
        .map_err(|problem| StateError::Decode { origin: DESCRIPTION.to_owned(), problem: Box::new(problem) })
}

#[async_trait]
impl StateStore for MemoryBackend {
    async fn read(&self) -> Result<Option<State>, StateError> {
        self.inner().state.as_deref().map(decode).transpose()
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        let mut inner = self.inner();
        if let Some(bytes) = &inner.state {
            check_overwrite(DESCRIPTION, &decode(bytes)?, state)?;
        }
        inner.state = Some(state.to_json_bytes());
        Ok(())
    }

    fn describe(&self) -> String {
        DESCRIPTION.to_owned()
    }
}

#[async_trait]
impl Locker for MemoryBackend {
    async fn lock(&self, info: LockInfo) -> Result<String, LockError> {
        let mut inner = self.inner();
        if let Some(holder) = &inner.lock {
            return Err(LockError::Held {
                target: DESCRIPTION.to_owned(),
                holder: Box::new(holder.clone()),
                holder_gone: false,
            });
        }
        let id = info.id.clone();
        inner.lock = Some(info);
        Ok(id)
    }

    async fn unlock(&self, id: &str) -> Result<(), LockError> {
        self.release(id)
    }

    async fn force_unlock(&self, id: &str) -> Result<(), LockError> {
        self.release(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        let backend = MemoryBackend::new();
        crate::testing::conformance(&backend, &backend).await;
    }

    #[tokio::test]
    async fn clones_share_state_and_lock() {
        let backend = MemoryBackend::new();
        let other = backend.clone();
        let state = State::new();
        backend.write(&state).await.unwrap();
        assert_eq!(other.read().await.unwrap(), Some(state));
        backend.lock(LockInfo::new("apply")).await.unwrap();
        assert!(matches!(other.lock(LockInfo::new("plan")).await, Err(LockError::Held { .. })));
    }
}
