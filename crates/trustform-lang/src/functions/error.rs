use super::Arity;
use std::fmt;

/// Why a function call failed. Messages are full sentences that say what was expected; the
/// evaluator prefixes them with the function's name and the call's location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FunctionError {
    #[error("There is no function named {0:?}.")]
    Unknown(String),
    #[error("{function}() takes {expected}, but {} given.", given_text(*.given))]
    Arity { function: &'static str, expected: Arity, given: usize },
    /// The argument at `index` (0-based) is not acceptable.
    #[error("Invalid value for argument {}: {message}", .index + 1)]
    Argument { index: usize, message: String },
    /// The arguments are individually fine but the call cannot produce a result.
    #[error("{0}")]
    Failed(String),
}

fn given_text(given: usize) -> String {
    match given {
        0 => "none were".to_owned(),
        1 => "1 was".to_owned(),
        n => format!("{n} were"),
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match *self {
            Arity::Exactly(0) => f.write_str("no arguments"),
            Arity::Exactly(n) => write!(f, "exactly {n} {}", plural(n)),
            Arity::Between(min, max) => {
                let joiner = if max == min + 1 { "or" } else { "to" };
                write!(f, "{min} {joiner} {max} arguments")
            }
            Arity::AtLeast(n) => write!(f, "at least {n} {}", plural(n)),
        }
    }
}
