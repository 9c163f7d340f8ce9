//! The `random` provider: `random_password` and `random_id`, with the arguments, encodings and
//! `keepers` of Terraform's random provider (hashicorp/terraform-provider-random,
//! `internal/random/string.go` and `internal/provider/resource_id.go`).
//!
//! What users depend on:
//! * every result comes from the operating system's CSPRNG (`OsRng`), and a failure to read it
//!   is an error, never a weaker fallback (`generate`);
//! * results exist only in the state: they are computed at apply time, and a read returns what
//!   the state holds, so a generated value never changes by itself;
//! * a password's result is sensitive (redacted in plans, output and logs, and encrypted with
//!   the state), and its resource id is the fixed `none`, as Terraform's `random_password` has
//!   it, because the engine prints ids in progress lines: an id carrying the secret would leak
//!   it; it cannot be imported (the import id would be the secret);
//! * a `random_id` names things rather than guards them: as in Terraform, its encodings are not
//!   sensitive, its id is the bytes in URL-safe base64, and it imports from that id;
//! * any argument change, `keepers` included, replaces the resource (a new value).

mod generate;
mod provider;
mod schema;

pub use provider::{Random, RandomProvider};
