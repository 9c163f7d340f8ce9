//! An in-memory provider for tests and benchmarks, never shipped: the `test` provider with one
//! resource type, `test_resource`, and one data source, `test_lookup`.
//!
//! It behaves like a small, strict cloud: names are unique among live objects, policy documents
//! come back reformatted, an update may not rename, and unknown values in a create or update are
//! refused as the engine bug they are. On top of that it can be told to be slow or to fail
//! ([`TestProviderConfig`]), it logs every call so tests can assert API economy and ordering
//! ([`TestProvider::calls`], [`TestProvider::peak_in_flight`]), and tests can change its
//! objects behind the engine's back to simulate drift ([`TestProvider::set_attribute`],
//! [`TestProvider::remove`]).
//!
//! `test_resource` attributes: `name` (required, forces replacement), `input` (any, in place),
//! `tags` (map of strings), `policy` (a JSON document, compared semantically), `secret`
//! (sensitive), `zone` (optional and computed: `test-zone-a` when unset); computed `id` (`tr-000001`, ...), `arn` (`arn:test:::resource/NAME`, filled at
//! plan time) and `output` (equals `input`). `test_lookup` takes a `name` and computes `value`
//! (`value-of-NAME`).

pub mod bad_endpoint;
mod calls;
mod config;
pub mod moto;
pub mod openbao;
mod provider;
pub mod python;
mod schema;
mod store;

pub use calls::{Call, CallKind};
pub use config::TestProviderConfig;
pub use provider::TestProvider;
pub use schema::{LOOKUP_TYPE, PROVIDER_NAME, RESOURCE_TYPE};
pub use store::NoSuchObject;
