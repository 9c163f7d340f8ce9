//! The Trustform language: HCL specs parsed with spans, values with unknown and sensitive marks,
//! type constraints, expression evaluation and the functions IAM code uses.

mod addr;
pub mod config;
mod eval;
pub mod format;
pub mod functions;
mod kinds;
mod partial;
mod refs;
mod suggest;
mod types;
mod value;
mod vars;

pub use addr::{
    module_matches, module_path_text, parse_module_prefix, provider_of, static_module_path, AddrParseError,
    InstanceKey, Mode, ModuleStep, ResourceAddr, ResourceId,
};
pub use eval::{eval_constant, EvalResult, Instance, LocalsCache, ResourceValues, Scope};
pub use kinds::{static_kind, value_kind, Kind};
pub use partial::{Hole, Part, Partial};
pub use refs::{body_references, references, Reference, Target};
pub use suggest::closest;
pub use types::{normalize_set, Type};
pub use value::{is_identifier, redact_texts, Number, Path, PathStep, Step, Value, REDACTED, UNKNOWN};
pub use vars::{module_variables, resolve_variables, CliVar};
