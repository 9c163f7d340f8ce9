//! `deployment_outputs.env`: the outputs of an apply as environment variables.
//!
//! The file is read by four consumers that disagree about almost everything:
//! `set -a; . ./deployment_outputs.env; set +a` in bash, python-dotenv's `dotenv_values`
//! (which expands `${VAR}`), docker compose `env_file` (compose-go's dotenv parser) and
//! `kubectl create secret generic --from-env-file` (everything after the first `=` taken
//! literally, one line per entry). Rather than hope, this crate writes a value only where every
//! consumer of the chosen [`EnvFormat`] reads back exactly the same bytes, and otherwise says
//! which output, which character and which consumer, and how to fix it. The rules live in
//! `rules.rs`; `tests/roundtrip.rs` runs the real consumers to prove them.
//!
//! `fill_placeholders` does the same for the `%%NAME%%` placeholders of a Helm values file
//! (`trustform render`), quoting each value for where it stands in the YAML.
//!
//! `external_secrets_manifests` writes the External Secrets Operator `ClusterSecretStore` and
//! `ExternalSecret` manifests that hand a spec's Vault secrets to a cluster (`trustform render
//! --external-secrets`).
//!
//! Pure formatting: the CLI writes the files (atomically, mode 0600).

mod error;
mod external_secrets;
mod format;
mod render;
mod rules;
mod template;

pub use error::{EnvError, Hazard};
pub use external_secrets::{external_secrets_manifests, kubernetes_name, SyncedSecret, VaultStore};
pub use format::{EnvFormat, UnknownEnvFormat};
pub use render::{check_planned, render_env};
pub use template::{fill_placeholders, Problem, Rendered, TemplateError};
