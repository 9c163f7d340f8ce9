//! State: what exists, and how it is stored and locked.
//!
//! * The model: a [`State`] of [`ResourceState`]s keyed by address and [`OutputState`]s, with the
//!   `lineage` and `serial` that order its history, and a deterministic JSON file layout
//!   ([`State::to_json_bytes`], [`State::from_json_bytes`]).
//! * The rules that keep history linear, as pure functions: [`check_overwrite`] for every store
//!   write and [`check_push`] for `state push`.
//! * Storage behind two narrow traits, [`StateStore`] and [`Locker`], with a [`LocalBackend`] (a
//!   snapshot written atomically with a journal of [`StateChange`] records beside it, locked by a
//!   sibling lock file) and a [`MemoryBackend`] fake. An apply persists each group of finished
//!   resources as one [`StateUpdate`], which a journaling store appends at a cost that does not
//!   grow with the state (module `journal`).
//! * [`Encryption`], the byte-level layer every backend puts between a [`State`] and what it
//!   stores: AES-256-GCM under a PBKDF2 key, with a fallback for rotation and `enforced` to
//!   refuse plaintext (module [`encryption`]). Saved plan files use it too.
//! * [`testing::conformance`], the suite every backend must pass (feature `testing`).
//!
//! Only the backends do I/O; the model and the rules are pure. Without encryption, sensitive
//! attribute values are stored in plain text, with their paths listed beside them; they never
//! appear in `Debug`.

mod backend;
pub mod encryption;
mod error;
mod file;
mod guard;
mod journal;
mod local;
mod lock;
mod memory;
mod model;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backend::{Locker, StateStore};
pub use encryption::{Encryption, EncryptionError};
pub use error::{DecodeError, LockError, StateError};
pub use guard::{check_overwrite, check_push, check_serial};
pub use journal::{LocalJournal, StateChange, StateUpdate};
pub use local::{write_file_atomically, LocalBackend};
pub use lock::LockInfo;
pub use memory::MemoryBackend;
pub use model::{OutputState, ResourceState, ResourceStatus, State, FORMAT_VERSION};
