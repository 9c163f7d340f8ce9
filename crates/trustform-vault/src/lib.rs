//! The Vault adapter, for Vault and OpenBao (the same HTTP API): [`VaultProvider`] serves
//! `vault_mount`, `vault_kv_secret_v2`, `vault_policy`, `vault_auth_backend`,
//! `vault_kubernetes_auth_backend_config` and `vault_kubernetes_auth_backend_role`, and the
//! `vault_kv_secret_v2` data source, with the Terraform vault provider's names and arguments.
//!
//! What users depend on, and where it lives:
//! * the provider block and `VAULT_*` variables are read as Terraform and the CLIs read them,
//!   with `~/.vault-token` last; http only to loopback (`config`);
//! * the token goes only in a header marked sensitive, never in a `Debug`, log line or error;
//!   no body is logged, and a write's secret strings are redacted from its errors (`client`);
//! * a KV v2 secret is read back from its current version, so a value changed in Vault is a
//!   planned update that apply repairs (`resources::kv_secret_v2`).

mod client;
mod config;
mod provider;
mod resources;
mod schema;

pub use provider::{VaultAdapter, VaultProvider};
