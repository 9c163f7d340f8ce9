//! `format(spec, values...)`: printf-style formatting with Terraform's verbs.
//!
//! Supported: `%%`, `%s`, `%q` (JSON-quoted string), `%d`, `%f`, `%t`, `%v` (strings bare,
//! numbers in Go's shortest `%g` form, everything else as JSON), `%#v` (always JSON), the
//! flags `-`, `+`, ` `, `0`, `#`, a width, a precision and an explicit argument index
//! (`%[2]s`). Every value must be used: too few or too many is an error, as is a value the
//! verb cannot format.

use super::args::{kind, parse_number, to_bool, to_string, Args};
use super::json::{encode, encode_string, number_to_string};
use super::{FunctionContext, FunctionError};
use crate::value::{Number, Value};

pub(super) fn format(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let spec = args.string(0)?;
    let values = &args.all()[1..];
    let mut out = String::new();
    let mut next = 0;
    let mut used = 0;
    let mut rest = spec.as_ref();
    while let Some(percent) = rest.find('%') {
        out.push_str(&rest[..percent]);
        rest = &rest[percent..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
            continue;
        }
        let (verb, after) =
            Verb::parse(rest).map_err(|problem| args.error(0, problem.describe(args, directive_at(rest))))?;
        rest = after;
        let index = verb.index.unwrap_or(next);
        let value = values.get(index).ok_or_else(|| {
            args.error(
                0,
                format!(
                    "{} needs value number {}, but only {} {} given.",
                    args.show(verb.raw),
                    index + 1,
                    values.len(),
                    if values.len() == 1 { "was" } else { "were" }
                ),
            )
        })?;
        out.push_str(&verb.apply(value, args, index + 1)?);
        next = index + 1;
        used = used.max(next);
    }
    out.push_str(rest);
    if used < values.len() {
        return Err(FunctionError::Failed(format!(
            "The format string uses {used} of the {} values given; remove the extra values or add verbs for them.",
            values.len()
        )));
    }
    Ok(Value::String(out))
}

/// One `%...` directive.
#[derive(Default)]
struct Verb<'a> {
    raw: &'a str,
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    /// 0-based index of an explicit `[n]`.
    index: Option<usize>,
    width: Option<usize>,
    precision: Option<usize>,
    letter: char,
}

/// Widths and precisions beyond this are refused rather than allocated.
const MAX_WIDTH: usize = 10_000;

enum ParseProblem {
    Unfinished,
    BadIndex,
    StarWidth,
    TooWide,
}

impl ParseProblem {
    fn describe(&self, args: &Args, at: &str) -> String {
        let at = args.show(at);
        match self {
            ParseProblem::Unfinished => format!("the format string ends in the middle of a verb at {at}."),
            ParseProblem::BadIndex => format!("the argument index at {at} must be a number from 1, like %[1]s."),
            ParseProblem::StarWidth => format!("a width or precision from an argument (*) is not supported at {at}."),
            ParseProblem::TooWide => format!("the width or precision at {at} is over the limit of {MAX_WIDTH}."),
        }
    }
}

impl<'a> Verb<'a> {
    /// Parses the directive at the start of `text` (which starts with `%`), returning it and
    /// the text after it.
    fn parse(text: &'a str) -> Result<(Verb<'a>, &'a str), ParseProblem> {
        let mut verb = Verb::default();
        let mut chars = text.char_indices().skip(1).peekable();
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '-' => verb.minus = true,
                '+' => verb.plus = true,
                ' ' => verb.space = true,
                '0' => verb.zero = true,
                '#' => verb.sharp = true,
                _ => break,
            }
            chars.next();
        }
        if chars.next_if(|&(_, c)| c == '[').is_some() {
            let digits = take_digits(&mut chars);
            if chars.next_if(|&(_, c)| c == ']').is_none() {
                return Err(ParseProblem::BadIndex);
            }
            let n = digits.filter(|n| *n > 0).ok_or(ParseProblem::BadIndex)?;
            verb.index = Some(n - 1);
        }
        if chars.peek().is_some_and(|&(_, c)| c == '*') {
            return Err(ParseProblem::StarWidth);
        }
        verb.width = take_digits(&mut chars);
        if chars.next_if(|&(_, c)| c == '.').is_some() {
            if chars.peek().is_some_and(|&(_, c)| c == '*') {
                return Err(ParseProblem::StarWidth);
            }
            verb.precision = Some(take_digits(&mut chars).unwrap_or(0));
        }
        if verb.width.max(verb.precision).is_some_and(|n| n > MAX_WIDTH) {
            return Err(ParseProblem::TooWide);
        }
        let (at, letter) = chars.next().ok_or(ParseProblem::Unfinished)?;
        let end = at + letter.len_utf8();
        verb.letter = letter;
        verb.raw = &text[..end];
        Ok((verb, &text[end..]))
    }

    fn apply(&self, value: &Value, args: &Args, position: usize) -> Result<String, FunctionError> {
        let cannot = |what: &str| {
            args.error(0, format!("{} cannot format value number {position}: {what}", args.show(self.raw)))
        };
        if value.is_null() && self.letter != 'v' {
            return Err(cannot("it is null."));
        }
        match self.letter {
            'v' => Ok(self.pad(&self.default_format(value), false)),
            's' | 'q' => {
                let text = to_string(value).ok_or_else(|| {
                    cannot(&format!("it is {}; use jsonencode() or %v for collections.", kind(value)))
                })?;
                let text: String = match self.precision {
                    Some(p) => text.chars().take(p).collect(),
                    None => text.into_owned(),
                };
                if self.letter == 'q' {
                    let mut quoted = String::new();
                    encode_string(&text, &mut quoted);
                    Ok(self.pad(&quoted, false))
                } else {
                    Ok(self.pad(&text, false))
                }
            }
            't' => {
                let b = to_bool(value).ok_or_else(|| cannot(&format!("{} is not a bool.", shown(value, args))))?;
                Ok(self.pad(if b { "true" } else { "false" }, false))
            }
            'd' => {
                let n = number_of(value, args, &cannot)?;
                let digits = whole_digits(&n)
                    .ok_or_else(|| cannot(&format!("{} is not a whole number.", args.show(&number_to_string(&n)))))?;
                let digits = match self.precision {
                    Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                    _ => digits,
                };
                Ok(self.pad(&self.signed(n < Number::from(0), &digits), true))
            }
            'f' => {
                let n = number_of(value, args, &cannot)?;
                let f = n.as_f64().unwrap_or_default();
                let digits = format!("{:.*}", self.precision.unwrap_or(6), f.abs());
                Ok(self.pad(&self.signed(f < 0.0, &digits), true))
            }
            'x' | 'X' | 'o' | 'b' => {
                let n = number_of(value, args, &cannot)?;
                let digits = whole_digits(&n)
                    .ok_or_else(|| cannot(&format!("{} is not a whole number.", args.show(&number_to_string(&n)))))?;
                let magnitude: u128 = digits.parse().map_err(|_| cannot("the number is too large for this verb."))?;
                let text = match self.letter {
                    'x' => format!("{magnitude:x}"),
                    'X' => format!("{magnitude:X}"),
                    'o' => format!("{magnitude:o}"),
                    _ => format!("{magnitude:b}"),
                };
                Ok(self.pad(&self.signed(n < Number::from(0), &text), true))
            }
            'e' | 'E' => {
                let n = number_of(value, args, &cannot)?;
                let f = n.as_f64().unwrap_or_default();
                let text = go_exponent(&format!("{:.*e}", self.precision.unwrap_or(6), f.abs()));
                let text = if self.letter == 'E' { text.to_uppercase() } else { text };
                Ok(self.pad(&self.signed(f < 0.0, &text), true))
            }
            // cty's format: "%g: like %e for large exponents or like %f otherwise. Precision and
            // width are ignored."
            'g' | 'G' => {
                let n = number_of(value, args, &cannot)?;
                let text = shortest_g(&n);
                Ok(if self.letter == 'G' { text.to_uppercase() } else { text })
            }
            other => Err(args.error(
                0,
                format!(
                    "{} uses the verb %{other}, which format() does not support; use one of %s %q %d %f %e %g %x %X %o %b %t %v.",
                    args.show(self.raw)
                ),
            )),
        }
    }

    /// `%v`: strings as they are, numbers as Go's `%g` writes them, everything else (and
    /// everything with `#`) as JSON.
    fn default_format(&self, value: &Value) -> String {
        match value {
            Value::String(s) if !self.sharp => s.clone(),
            Value::Number(n) if !self.sharp => shortest_g(n),
            other => encode(other),
        }
    }

    fn signed(&self, negative: bool, digits: &str) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        format!("{sign}{digits}")
    }

    /// Pads to the width, counted in characters: spaces on the left, on the right with `-`,
    /// or zeros with `0` (after the sign, for numbers).
    fn pad(&self, text: &str, numeric: bool) -> String {
        let len = text.chars().count();
        let Some(width) = self.width.filter(|w| *w > len) else {
            return text.to_owned();
        };
        let fill = width - len;
        if self.minus {
            format!("{text}{}", " ".repeat(fill))
        } else if self.zero {
            let sign_len = if numeric && text.starts_with(['-', '+', ' ']) { 1 } else { 0 };
            format!("{}{}{}", &text[..sign_len], "0".repeat(fill), &text[sign_len..])
        } else {
            format!("{}{text}", " ".repeat(fill))
        }
    }
}

fn number_of(value: &Value, args: &Args, cannot: &dyn Fn(&str) -> FunctionError) -> Result<Number, FunctionError> {
    match value {
        Value::Number(n) => Ok(*n),
        Value::String(s) => parse_number(s).ok_or_else(|| cannot(&format!("{} is not a number.", args.show(s)))),
        other => Err(cannot(&format!("it is {}, not a number.", kind(other)))),
    }
}

/// A value for a message: its text, or a placeholder if the call involves a secret.
fn shown(value: &Value, args: &Args) -> String {
    to_string(value).map_or_else(|| kind(value), |s| args.show(&s))
}

/// The start of `text` up to its first letter after the `%`: the directive, for messages.
fn directive_at(text: &str) -> &str {
    let end =
        text.char_indices().skip(1).find(|(_, c)| c.is_alphabetic()).map_or(text.len(), |(i, c)| i + c.len_utf8());
    &text[..end]
}

fn take_digits(chars: &mut std::iter::Peekable<impl Iterator<Item = (usize, char)>>) -> Option<usize> {
    let mut value: Option<usize> = None;
    while let Some((_, c)) = chars.next_if(|(_, c)| c.is_ascii_digit()) {
        let digit = c.to_digit(10).map_or(0, |d| d as usize);
        value = Some(value.unwrap_or(0).saturating_mul(10).saturating_add(digit));
    }
    value
}

/// Rust's `1.5e3` as Go writes it: `1.5e+03`, a sign and at least two exponent digits.
fn go_exponent(text: &str) -> String {
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text.to_owned(),
    }
}

/// `formatlist(spec, values...)`: `format` once per element of the list arguments, which
/// must all have the same length; other arguments repeat in every call (cty's
/// stdlib/format.go).
pub(super) fn formatlist(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let mut length: Option<(usize, usize)> = None;
    for (index, value) in args.all().iter().enumerate().skip(1) {
        if let Some(items) = value.as_list() {
            match length {
                None => length = Some((index, items.len())),
                Some((first, n)) if n != items.len() => {
                    return Err(args.error(
                        index,
                        format!(
                            "argument {} has length {}, which is inconsistent with argument {} of length {n}",
                            index + 1,
                            items.len(),
                            first + 1
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let rounds = length.map_or(1, |(_, n)| n);
    let mut out = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut call = vec![args.get(0).clone()];
        for value in &args.all()[1..] {
            call.push(match value.as_list() {
                Some(items) => items[round].clone(),
                None => value.clone(),
            });
        }
        out.push(format(&Args::new(call, false), ctx)?);
    }
    Ok(Value::List(out))
}

/// The digits of a whole number without its sign, or `None` if it has a fraction.
fn whole_digits(n: &Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        Some(i.unsigned_abs().to_string())
    } else if let Some(u) = n.as_u64() {
        Some(u.to_string())
    } else {
        n.as_f64().filter(|f| f.fract() == 0.0).map(|f| format!("{:.0}", f.abs()))
    }
}

/// Go's `%g` with the shortest precision (`big.Float.Text('g', -1)`), which Terraform's `%v`
/// uses: plain decimals for exponents from -4 to 5, scientific notation (`1.2345678e+07`)
/// outside that range.
fn shortest_g(n: &Number) -> String {
    let (negative, mantissa, exponent) = decimal_parts(n);
    let sign = if negative { "-" } else { "" };
    if mantissa == "0" {
        return "0".to_owned();
    }
    // `exponent` is that of scientific notation: value = d.ddd × 10^exponent.
    let body = if !(-4..6).contains(&exponent) {
        let (first, rest) = mantissa.split_at(1);
        let dot = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{dot}e{exp_sign}{:02}", exponent.unsigned_abs())
    } else if exponent < 0 {
        format!("0.{}{mantissa}", "0".repeat(exponent.unsigned_abs() as usize - 1))
    } else {
        let point = exponent as usize + 1;
        if mantissa.len() <= point {
            format!("{mantissa}{}", "0".repeat(point - mantissa.len()))
        } else {
            format!("{}.{}", &mantissa[..point], &mantissa[point..])
        }
    };
    format!("{sign}{body}")
}

/// Sign, shortest significant digits without trailing zeros, and decimal exponent.
fn decimal_parts(n: &Number) -> (bool, String, i32) {
    let f = n.as_f64().unwrap_or_default();
    let scientific = if let Some(i) = n.as_i64() {
        format!("{:e}", i.unsigned_abs())
    } else if let Some(u) = n.as_u64() {
        format!("{u:e}")
    } else {
        format!("{:e}", f.abs())
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    (f < 0.0, mantissa.replace('.', ""), exponent.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    fn f(x: f64) -> Value {
        Value::from_json(&serde_json::json!(x))
    }

    #[test]
    fn verbs_widths_and_flags() {
        check(&[
            ("format", vec!["Hello, %s!".into(), "Ander".into()], r#""Hello, Ander!""#),
            ("format", vec!["%s/%s".into(), "a".into(), 5.into()], r#""a/5""#),
            ("format", vec!["%d items".into(), 3.into()], r#""3 items""#),
            ("format", vec!["%d".into(), "42".into()], r#""42""#),
            (
                "format",
                vec!["%5d|%-5d|%05d|%+d|% d".into(), 42.into(), 42.into(), (-42).into(), 7.into(), 7.into()],
                r#""   42|42   |-0042|+7| 7""#,
            ),
            ("format", vec!["%.3d".into(), 7.into()], r#""007""#),
            ("format", vec!["%f".into(), f(12.34567)], r#""12.345670""#),
            ("format", vec!["%6.2f|%.0f|%08.3f".into(), f(12.34567), f(2.5), f(-1.5)], r#"" 12.35|2|-001.500""#),
            ("format", vec!["%.2f".into(), 5.into()], r#""5.00""#),
            ("format", vec!["%q".into(), "a\"b<".into()], r#""\"a\\\"b\\u003c\"""#),
            ("format", vec!["%t/%t".into(), true.into(), "false".into()], r#""true/false""#),
            ("format", vec!["%-6s|%6s|%.2s".into(), "ab".into(), "ab".into(), "abc".into()], r#""ab    |    ab|ab""#),
            ("format", vec!["100%%".into()], r#""100%""#),
            ("format", vec!["%[2]s-%[1]s-%s".into(), "a".into(), "b".into()], r#""b-a-b""#),
        ]);
    }

    #[test]
    fn v_uses_terraform_defaults() {
        check(&[
            ("format", vec!["%v".into(), "text".into()], r#""text""#),
            (
                "format",
                vec!["%v %v %v".into(), 100000.into(), 12345678.into(), f(0.00001)],
                r#""100000 1.2345678e+07 1e-05""#,
            ),
            ("format", vec!["%v %v %v".into(), f(1.5), f(-0.0001), 0.into()], r#""1.5 -0.0001 0""#),
            ("format", vec!["%v %v".into(), true.into(), Value::Null], r#""true null""#),
            ("format", vec!["%v".into(), Value::List(vec!["a".into(), 1.into()])], r#""[\"a\",1]""#),
            ("format", vec!["%#v".into(), "a".into()], r#""\"a\"""#),
            ("format", vec!["%4v|".into(), 7.into()], r#""   7|""#),
        ]);
    }

    #[test]
    fn mismatches_are_errors() {
        check(&[
            ("format", vec!["%s %s".into(), "a".into()], "error: Invalid value for argument 1: \"%s\" needs value number 2, but only 1 was given."),
            ("format", vec!["%s".into(), "a".into(), "b".into()], "error: The format string uses 1 of the 2 values given; remove the extra values or add verbs for them."),
            ("format", vec!["plain".into(), "a".into()], "error: The format string uses 0 of the 1 values given; remove the extra values or add verbs for them."),
            ("format", vec!["%d".into(), "abc".into()], "error: Invalid value for argument 1: \"%d\" cannot format value number 1: \"abc\" is not a number."),
            ("format", vec!["%d".into(), f(1.5)], "error: Invalid value for argument 1: \"%d\" cannot format value number 1: \"1.5\" is not a whole number."),
            ("format", vec!["%f".into(), true.into()], "error: Invalid value for argument 1: \"%f\" cannot format value number 1: it is a bool, not a number."),
            ("format", vec!["%s".into(), Value::List(vec![])], "error: Invalid value for argument 1: \"%s\" cannot format value number 1: it is a list; use jsonencode() or %v for collections."),
            ("format", vec!["%s".into(), Value::Null], "error: Invalid value for argument 1: \"%s\" cannot format value number 1: it is null."),
            ("format", vec!["%t".into(), "yes".into()], "error: Invalid value for argument 1: \"%t\" cannot format value number 1: \"yes\" is not a bool."),
            ("format", vec!["%y".into(), 1.into()], "error: Invalid value for argument 1: \"%y\" uses the verb %y, which format() does not support; use one of %s %q %d %f %e %g %x %X %o %b %t %v."),
            ("format", vec!["%x".into(), "a".into()], "error: Invalid value for argument 1: \"%x\" cannot format value number 1: \"a\" is not a number."),
            ("format", vec!["50%".into()], "error: Invalid value for argument 1: the format string ends in the middle of a verb at \"%\"."),
            ("format", vec!["%[0]s".into(), "a".into()], "error: Invalid value for argument 1: the argument index at \"%[0]s\" must be a number from 1, like %[1]s."),
            ("format", vec!["%*d".into(), 1.into()], "error: Invalid value for argument 1: a width or precision from an argument (*) is not supported at \"%*d\"."),
            ("format", vec!["%.99999999999f".into(), 1.into()], "error: Invalid value for argument 1: the width or precision at \"%.99999999999f\" is over the limit of 10000."),
        ]);
    }
}
