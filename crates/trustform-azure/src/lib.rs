//! The Azure adapter: the only crate that imports `azure_mgmt_authorization`, `azure_core` and
//! `azure_identity`, and whose SDK types never leave it.
//!
//! [`AzureProvider`] serves `azurerm_role_definition`, `azurerm_role_assignment`,
//! `azurerm_user_assigned_identity` and `azurerm_federated_identity_credential`, and the data
//! sources `azurerm_client_config` and `azurerm_role_definition`, with the names and attributes
//! of Terraform's azurerm provider.
//!
//! What users depend on, and where it lives:
//! * credentials from `ARM_*` variables and the provider block (a static token, or a login
//!   through `azure_identity` 1.x), and the transport that attaches the bearer token and keeps
//!   `Retry-After` (`config`, `identity`, `transport`);
//! * ARM errors become the engine's error kinds, and assignment writes ride out the replication
//!   of new principals and roles (`error`, `resources::role_assignment`);
//! * permission lists compare as sets, and plan-time checks catch what ARM would reject
//!   (`schema`, `resources::role_definition`);
//! * managed identities over a small JSON client on the same transport (`arm`), their federated
//!   credentials written one at a time per identity (`resources::federated_identity_credential`);
//! * [`AzureAdProvider`]: Entra ID applications, service principals and federated credentials
//!   over Microsoft Graph, riding out the directory's replication (`azuread`, `graph`).

mod api;
mod arm;
mod azuread;
mod config;
mod error;
pub mod federation;
mod graph;
mod identity;
mod provider;
mod resources;
mod schema;
mod transport;

pub use azuread::{AzureAd, AzureAdProvider};
pub use provider::{Azure, AzureProvider};
