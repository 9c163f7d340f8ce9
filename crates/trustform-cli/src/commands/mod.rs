//! One module per command family. Each returns the process exit code, having printed its
//! diagnostics already.

pub mod apply;
pub mod inspect;
pub mod migrate;
pub mod plan;
pub mod state;
pub mod validate;
pub mod verify;
pub mod workspace;

/// What every command knows, built once per run from the arguments (see [`crate::context`]).
pub use crate::context::Ctx;
