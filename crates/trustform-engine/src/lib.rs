//! The Trustform engine: plan, apply, destroy, refresh and import, orchestrated over the
//! configuration graph. It reaches clouds only through the `Provider` trait, reports progress
//! only through a [`Hook`], and always returns the state it reached, even on failure.

mod apply;
mod builtin;
mod engine;
mod graph;
mod hook;
mod import;
mod lint;
mod modules;
mod plan;
mod providers;
mod values;
mod verify;

pub use apply::ApplyOutcome;
pub use builtin::{parse_duration, BuiltinProvider, TRUSTFORM_DATA, TRUSTFORM_SLEEP};
pub use engine::{Engine, EngineOptions};
pub use graph::{BlockAddr, ConfigGraph, Node};
pub use hook::{Event, Hook, NoHook, RecordingHook};
pub use plan::{PlanOptions, MAX_INSTANCES};
pub use providers::{ProviderFactory, Providers};
