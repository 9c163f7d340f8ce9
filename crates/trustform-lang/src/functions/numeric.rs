//! Numeric functions. Numeric strings are accepted, as Terraform converts them.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{Number, Value};
use std::cmp::Ordering;

pub(super) fn abs(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let n = args.number(0)?;
    Ok(Value::Number(if n < Number::from(0) { -n } else { n }))
}

pub(super) fn min(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Less)
}

pub(super) fn max(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Greater)
}

/// The argument that compares `wanted` to every other one.
fn extreme(args: &Args, wanted: Ordering) -> Result<Value, FunctionError> {
    let mut best = args.number(0)?;
    for index in 1..args.all().len() {
        let n = args.number(index)?;
        if n.partial_cmp(&best) == Some(wanted) {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    #[test]
    fn abs_min_max() {
        let f = |x: f64| Value::from_json(&serde_json::json!(x));
        check(&[
            ("abs", vec![(-3).into()], "3"),
            ("abs", vec![f(-1.5)], "1.5"),
            ("abs", vec![0.into()], "0"),
            ("min", vec![3.into(), f(-1.5), "2".into()], "-1.5"),
            ("max", vec![3.into(), f(-1.5), "12".into()], "12"),
            ("max", vec![7.into()], "7"),
            (
                "min",
                vec![1.into(), "x".into()],
                "error: Invalid value for argument 2: a number is required, but \"x\" is not a number.",
            ),
            ("abs", vec![Value::Null], "error: Invalid value for argument 1: a number is required, but got null."),
        ]);
    }
}
