//! The S3 state backend: `trustform { backend "s3" { bucket, key, ... } }`.
//!
//! * [`S3Settings`]: the block's settings, and where each workspace's state object lives
//!   (`default` at `key`, any other at `<workspace_key_prefix>/<workspace>/<key>`).
//! * [`S3Remote`]: one SDK client for a bucket, built from the AWS default chain (region,
//!   credentials, `AWS_ENDPOINT_URL_S3`) and the block; it lists and hands out workspaces.
//! * [`S3Backend`]: one workspace's state, a [`trustform_state::StateStore`] and
//!   [`trustform_state::Locker`] that pass the shared conformance suite.
//!
//! Locking is by S3 conditional writes, as Terraform's `use_lockfile` does: the lock is an object
//! `<state key>.tflock` created with `If-None-Match: *`, holding the [`trustform_state::LockInfo`]
//! as JSON. Every state write carries `If-Match` with the ETag this backend last saw (read when
//! the lock was taken, then the one each write returned), so a run whose lock was force-unlocked
//! cannot overwrite the state that the next holder wrote.
//!
//! The only crate besides the AWS adapter that imports an AWS SDK crate; no SDK type leaves it.

mod backend;
mod remote;
mod settings;

pub use backend::S3Backend;
pub use remote::S3Remote;
pub use settings::{S3Settings, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_KEY_PREFIX};
