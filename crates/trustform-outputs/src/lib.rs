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
//! Pure formatting: the CLI writes the file (atomically, mode 0600).

mod error;
mod format;
mod render;
mod rules;

pub use error::{EnvError, Hazard};
pub use format::{EnvFormat, UnknownEnvFormat};
pub use render::render_env;
