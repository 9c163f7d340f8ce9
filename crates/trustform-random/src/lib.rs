//! The `random` provider: `random_password` and `random_id`, with the arguments, encodings and
//! `keepers` of Terraform's random provider (hashicorp/terraform-provider-random,
//! `internal/random/string.go` and `internal/provider/resource_id.go`).
//!
//! What users depend on:
//! * every result comes from the operating system's CSPRNG (`OsRng`), and a failure to read it
//!   is an error, never a weaker fallback (`generate`);
//! * results exist only in the state: they are computed at apply time, every one is
//!   sensitive (so redacted in plans, output and logs, and encrypted with the state), and a
//!   read returns what the state holds, so a generated secret never changes by itself;
//! * any argument change, `keepers` included, replaces the resource (a new secret);
//! * the resource id is the fixed `none`, as Terraform's `random_password` has it, because the
//!   engine prints ids in progress lines: an id carrying the secret would leak it.

mod generate;
mod provider;
mod schema;

pub use provider::{Random, RandomProvider};
