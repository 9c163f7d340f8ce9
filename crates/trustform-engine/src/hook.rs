//! Progress events. The engine never prints; it tells a [`Hook`], and the CLI decides how to
//! show it (a live display on a terminal, plain lines in CI, JSON lines for machines).

use std::time::Duration;
use trustform_lang::ResourceAddr;
use trustform_plan::Action;

/// Something that happened during refresh or apply. Never carries attribute values, so a hook
/// cannot leak a secret however it renders events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    RefreshStarted {
        address: ResourceAddr,
    },
    RefreshFinished {
        address: ResourceAddr,
        gone: bool,
    },
    ApplyStarted {
        address: ResourceAddr,
        action: Action,
    },
    ApplyFinished {
        address: ResourceAddr,
        action: Action,
        id: Option<String>,
        elapsed: Duration,
    },
    ApplyFailed {
        address: ResourceAddr,
        action: Action,
        message: String,
    },
    /// An `import` block's object is recorded in state (before its change, if it has one).
    Imported {
        address: ResourceAddr,
        id: String,
    },
    /// Not attempted because a dependency failed.
    Skipped {
        address: ResourceAddr,
        because: ResourceAddr,
    },
    /// Ctrl-C: no new work starts; what is in flight finishes.
    Interrupted,
}

/// Receives progress events. Called from the walk, so implementations must be quick.
pub trait Hook: Send + Sync {
    fn event(&self, event: Event);
}

/// A hook that ignores everything, for tests and benchmarks.
pub struct NoHook;

impl Hook for NoHook {
    fn event(&self, _event: Event) {}
}

/// A hook that records events in order, for tests.
#[derive(Default)]
pub struct RecordingHook(pub std::sync::Mutex<Vec<Event>>);

impl Hook for RecordingHook {
    fn event(&self, event: Event) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}
