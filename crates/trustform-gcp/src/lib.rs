//! The Google Cloud adapter: the only crate that imports Google's client libraries, and whose
//! SDK types never leave it.
//!
//! [`GoogleProvider`] serves `google_service_account`, `google_project_iam_member`,
//! `google_project_iam_binding`, `google_service_account_iam_member`,
//! `google_iam_workload_identity_pool`, `google_iam_workload_identity_pool_provider`,
//! `google_project_service`, the local
//! `google_credential_config` (the `external_account` JSON of seed 001) and the data source
//! `google_project`, with the Terraform google provider's names and attributes.
//!
//! What users depend on, and where it lives:
//! * API calls go through the generated `google-iam1` and `google-cloudresourcemanager3`
//!   clients with tokens from Google's own `google-cloud-auth` (`auth`, `config`), and Service
//!   Usage through a small typed client on the same HTTP client (`service_usage`);
//! * long-running operations are polled to the end, and a create is checkpointed before the
//!   wait; soft-deleted pools and providers are undeleted, never re-created (`resources::pool`);
//! * IAM members of one policy are coalesced into one read-modify-write with the policy's etag,
//!   retried on conflict (`iam_policy`);
//! * Google's errors become the engine's error kinds (`error`).

mod api;
mod auth;
mod config;
mod error;
pub mod federation;
mod iam_policy;
mod provider;
mod resources;
mod schema;
mod service_usage;

pub use provider::{Google, GoogleProvider};
