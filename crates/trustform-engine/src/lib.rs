//! The Trustform engine: plan, apply, destroy, refresh and import, orchestrated over the
//! configuration graph. It reaches clouds only through the `Provider` trait, reports progress
//! only through a [`Hook`], and always returns the state it reached, even on failure.

mod apply;
mod builtin;
mod checks;
mod conditions;
mod engine;
mod generate;
mod graph;
mod hook;
mod import;
mod modules;
mod plan;
mod providers;
mod refactor;
mod values;
mod verify;

pub use apply::ApplyOutcome;
pub use builtin::{parse_duration, BuiltinProvider, TRUSTFORM_DATA, TRUSTFORM_SLEEP};
pub use checks::{Check, CheckInput};
pub use engine::{Engine, EngineOptions};
pub use graph::{BlockAddr, ConfigGraph, Node};
pub use hook::{Event, Hook, NoHook, RecordingHook};
pub use plan::{PlanOptions, MAX_INSTANCES};
pub use providers::{ProviderFactory, Providers};
