//! The dependency graph and the concurrent walker.
//!
//! Like OpenTofu's `internal/dag`, this crate knows nothing about resources: a [`Dag`] holds any
//! node type `N`, and an edge `dependency -> dependent` means "the dependent waits for the
//! dependency". The engine builds one graph from references and `depends_on`, turns every entry of
//! [`Dag::cycles`] into one diagnostic, and drives cloud calls through [`walk`].
//!
//! Architecture invariants:
//!
//! - Pure and deterministic: no I/O, and every listing (node ids, cycles, topological order, DOT,
//!   walk reports) is ordered by [`NodeId`], so the same graph gives the same output.
//! - [`walk`] is the one place Trustform bounds parallelism (`-parallelism`): at most
//!   [`WalkOptions::parallelism`] visits are in flight at once.
//! - A failed visit skips its descendants without visiting them; independent branches finish.

mod dag;
mod dot;
mod order;
mod walk;

pub use dag::{Dag, NodeId};
pub use order::CycleError;
pub use tokio_util::sync::CancellationToken;
pub use walk::{walk, walk_releasing, Outcome, Slot, WalkOptions, WalkReport, DEFAULT_PARALLELISM};
