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

/// `a + b`, exact in decimal: `0.1 + 0.2` is `0.3`, as in Terraform, whose numbers are
/// decimals of arbitrary precision (cty uses big.Float), not binary floats.
pub fn add(a: &Number, b: &Number) -> Number {
    exact(a, b, |(x, s), (y, t)| {
        let scale = s.max(t);
        Some((x.checked_mul(pow10(scale - s)?)?.checked_add(y.checked_mul(pow10(scale - t)?)?)?, scale))
    })
    .unwrap_or_else(|| *a + *b)
}

/// `a - b`, exact in decimal.
pub fn sub(a: &Number, b: &Number) -> Number {
    add(a, &-*b)
}

/// `a * b`, exact in decimal.
pub fn mul(a: &Number, b: &Number) -> Number {
    exact(a, b, |(x, s), (y, t)| Some((x.checked_mul(y)?, s.checked_add(t)?))).unwrap_or_else(|| *a * *b)
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Applies `op` to the two numbers as decimals (mantissa, scale): each number is the decimal
/// its shortest text denotes. `None` if a mantissa overflows.
fn exact(a: &Number, b: &Number, op: impl Fn((i128, u32), (i128, u32)) -> Option<(i128, u32)>) -> Option<Number> {
    let (mantissa, scale) = op(decimal(a)?, decimal(b)?)?;
    Some(from_decimal(mantissa, scale))
}

/// The decimal a number's shortest text denotes, as (mantissa, scale): `0.25` is (25, 2).
fn decimal(n: &Number) -> Option<(i128, u32)> {
    if let Some(i) = n.as_i64() {
        return Some((i128::from(i), 0));
    }
    let text = super::json::number_to_string(n);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) || whole.len() + fraction.len() > 36 {
        return None;
    }
    let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    Some((if negative { -mantissa } else { mantissa }, u32::try_from(fraction.len()).ok()?))
}

fn from_decimal(mut mantissa: i128, mut scale: u32) -> Number {
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    if scale == 0 {
        if let Ok(i) = i64::try_from(mantissa) {
            return Number::from(i);
        }
    }
    let text = if scale == 0 {
        mantissa.to_string()
    } else {
        let digits = mantissa.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded =
            if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        format!("{}{whole}.{fraction}", if mantissa < 0 { "-" } else { "" })
    };
    text.parse::<f64>().ok().and_then(Number::from_f64).unwrap_or(Number::from(0))
}

/// Numbers ordered by value; an integer and a float compare as floats.
pub fn compare(a: &Number, b: &Number) -> Ordering {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.as_f64().unwrap_or(f64::NAN).total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
    }
}

/// A float result as a number: whole values become integers, as cty's numbers do not tell
/// `3` from `3.0`. NaN and the infinities cannot be numbers of the language.
fn from_f64(f: f64) -> Option<Number> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(Number::from(f as i64))
    } else {
        Number::from_f64(f)
    }
}

fn float(args: &Args, index: usize) -> Result<f64, FunctionError> {
    Ok(args.number(index)?.as_f64().unwrap_or(f64::NAN))
}

fn result(f: f64) -> Result<Value, FunctionError> {
    from_f64(f).map(Value::Number).ok_or_else(|| FunctionError::Failed("the result is not a finite number".into()))
}

/// `ceil(n)`: the closest whole number greater than or equal to `n`.
pub(super) fn ceil(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    result(float(args, 0)?.ceil())
}

/// `floor(n)`: the closest whole number less than or equal to `n`.
pub(super) fn floor(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    result(float(args, 0)?.floor())
}

/// `log(n, base)`.
pub(super) fn log(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    result(float(args, 0)?.ln() / float(args, 1)?.ln())
}

/// `pow(base, exponent)`.
pub(super) fn pow(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    result(float(args, 0)?.powf(float(args, 1)?))
}

/// `signum(n)`: -1, 0 or 1.
pub(super) fn signum(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let n = float(args, 0)?;
    Ok(Value::from(if n > 0.0 {
        1
    } else if n < 0.0 {
        -1
    } else {
        0
    }))
}

/// `parseint(string, base)`: an integer written in a base from 2 to 62 (terraform's
/// internal/lang/funcs/number.go, which uses Go's big.Int SetString).
pub(super) fn parseint(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let base = args.integer(1)?;
    if !(2..=62).contains(&base) {
        return Err(args.error(1, format!("invalid base {base} for parseint; must be between 2 and 62 inclusive")));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let not_valid = || args.error(0, format!("cannot parse {} as a base {base} integer", args.show(&text)));
    if digits.is_empty() {
        return Err(not_valid());
    }
    let mut value: i64 = 0;
    for c in digits.chars() {
        let digit = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' if base <= 36 => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(not_valid()),
        };
        if digit >= base {
            return Err(not_valid());
        }
        value = value.checked_mul(base).and_then(|v| v.checked_add(digit)).ok_or_else(not_valid)?;
    }
    Ok(Value::from(if negative { -value } else { value }))
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

    #[test]
    fn arithmetic_is_exact_in_decimal() {
        use super::{add, mul, sub};
        use crate::value::Number;
        let n = |x: f64| Number::from_f64(x).unwrap();
        let text = |x: Number| crate::functions::number_to_string(&x);
        assert_eq!(text(add(&n(0.1), &n(0.2))), "0.3");
        assert_eq!(text(sub(&n(0.3), &n(0.1))), "0.2");
        assert_eq!(text(mul(&n(1.1), &n(1.1))), "1.21");
        assert_eq!(text(add(&n(0.5), &n(0.5))), "1");
        assert_eq!(text(add(&Number::from(i64::MAX), &Number::from(1))), "9223372036854775808");
        assert_eq!(text(mul(&Number::from(3), &n(0.1))), "0.3");
        assert_eq!(text(add(&Number::from(-2), &n(0.25))), "-1.75");
    }

    /// The examples of developer.hashicorp.com/terraform/language/functions/{ceil,floor,log,
    /// pow,signum,parseint}.
    #[test]
    fn documented_examples() {
        let f = |x: f64| Value::from_json(&serde_json::json!(x));
        check(&[
            ("ceil", vec![5.into()], "5"),
            ("ceil", vec![f(5.1)], "6"),
            ("floor", vec![5.into()], "5"),
            ("floor", vec![f(4.9)], "4"),
            ("log", vec![50.into(), 10.into()], "1.6989700043360185"),
            ("log", vec![16.into(), 2.into()], "4"),
            ("pow", vec![3.into(), 2.into()], "9"),
            ("pow", vec![4.into(), 0.into()], "1"),
            ("signum", vec![(-13).into()], "-1"),
            ("signum", vec![0.into()], "0"),
            ("signum", vec![344.into()], "1"),
            ("parseint", vec!["100".into(), 10.into()], "100"),
            ("parseint", vec!["FF".into(), 16.into()], "255"),
            ("parseint", vec!["-10".into(), 16.into()], "-16"),
            ("parseint", vec!["1011111011101111".into(), 2.into()], "48879"),
            ("parseint", vec!["aA".into(), 62.into()], "656"),
            (
                "parseint",
                vec!["12".into(), 2.into()],
                "error: Invalid value for argument 1: cannot parse \"12\" as a base 2 integer",
            ),
            (
                "parseint",
                vec!["1".into(), 1.into()],
                "error: Invalid value for argument 2: invalid base 1 for parseint; must be between 2 and 62 inclusive",
            ),
        ]);
    }
}
