//! What a provider builds in `configure` (its SDK clients) and every later call uses.

use crate::ProviderError;
use std::sync::{PoisonError, RwLock};

/// A provider's clients, set by `configure`. A call before it is an engine bug, answered with
/// an error that says so rather than a panic.
#[derive(Debug)]
pub struct Configured<T> {
    provider: &'static str,
    slot: RwLock<Option<T>>,
}

impl<T: Clone> Configured<T> {
    /// Empty, for the provider named `provider` (`aws`, `google`, `azurerm`).
    pub const fn new(provider: &'static str) -> Configured<T> {
        Configured { provider, slot: RwLock::new(None) }
    }

    /// Keeps what `configure` built, replacing what an earlier `configure` did.
    pub fn set(&self, clients: T) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = Some(clients);
    }

    /// The clients, or the error for a call made before `configure`.
    pub fn get(&self) -> Result<T, ProviderError> {
        self.peek().ok_or_else(|| {
            ProviderError::invalid(format!("the {} provider was used before `configure` was called", self.provider))
        })
    }

    /// The clients if `configure` ran: for plan-time derivations that can do without.
    pub fn peek(&self) -> Option<T> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn is_set(&self) -> bool {
        self.slot.read().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_before_configure_are_errors_not_panics() {
        let clients: Configured<String> = Configured::new("aws");
        assert!(!clients.is_set());
        assert_eq!(clients.get().unwrap_err().message, "the aws provider was used before `configure` was called");
        clients.set("client".to_owned());
        assert_eq!(clients.get().unwrap(), "client");
        assert_eq!(clients.peek().as_deref(), Some("client"));
    }
}
