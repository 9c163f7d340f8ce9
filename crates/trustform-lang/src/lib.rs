//! The Trustform language: HCL specs parsed with spans, values with unknown and sensitive marks,
//! expression evaluation and the functions IAM code uses.

mod value;

pub use value::{is_identifier, Number, Path, PathStep, Value, REDACTED, UNKNOWN};
