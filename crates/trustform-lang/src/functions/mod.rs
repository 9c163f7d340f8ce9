//! Built-in functions (being written; see the functions brief).

use crate::Value;

pub struct FunctionContext<'a> {
    pub base_dir: &'a std::path::Path,
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("there is no function named {0:?}")]
    Unknown(String),
}

pub fn call(name: &str, _args: Vec<Value>, _ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Err(FunctionError::Unknown(name.to_owned()))
}

pub fn exists(_name: &str) -> bool {
    false
}

pub fn names() -> &'static [&'static str] {
    &[]
}
