//! The Trustform language: HCL specs parsed with spans, values with unknown and sensitive marks,
//! type constraints, expression evaluation and the functions IAM code uses.

mod addr;
pub mod functions;
mod types;
mod value;

pub use addr::{provider_of, AddrParseError, InstanceKey, Mode, ResourceAddr, ResourceId};
pub use types::{normalize_set, Type};
pub use value::{is_identifier, Number, Path, PathStep, Value, REDACTED, UNKNOWN};
