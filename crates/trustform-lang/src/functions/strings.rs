//! String functions. Lengths and offsets count grapheme clusters, as Terraform does (cty's
//! `length` and `substr` segment text with Unicode's rules): `length("e\u0301")` is 1. Case
//! mapping is Go's, one character to one character (`upper("ß")` is `"ß"`).

use super::args::{kind, to_string, Args};
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

pub(super) fn join(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let separator = args.string(0)?;
    let mut parts = Vec::new();
    for index in 1..args.all().len() {
        for (position, element) in args.list(index)?.iter().enumerate() {
            let part = to_string(element).ok_or_else(|| {
                args.error(index, format!("element {position} is {}; join() can only join strings.", kind(element)))
            })?;
            parts.push(part);
        }
    }
    Ok(Value::String(parts.join(&separator)))
}

pub(super) fn split(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let separator = args.string(0)?;
    let text = args.string(1)?;
    // An empty separator splits between characters, as Go's strings.Split does.
    let parts: Vec<Value> = if separator.is_empty() {
        text.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        text.split(separator.as_ref()).map(Value::from).collect()
    };
    Ok(Value::List(parts))
}

pub(super) fn replace(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let search = args.string(1)?;
    let replacement = args.string(2)?;
    let pattern = search.strip_prefix('/').and_then(|rest| rest.strip_suffix('/')).filter(|_| search.len() > 1);
    let result = match pattern {
        Some(pattern) => compile(args, 1, pattern)?.replace_all(&text, replacement.as_ref()).into_owned(),
        None => text.replace(search.as_ref(), &replacement),
    };
    Ok(Value::String(result))
}

/// Go's `strings.ToLower`: each character's simple lower-case mapping, never a longer one.
pub(super) fn lower(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(args.string(0)?.chars().map(simple_lower).collect()))
}

/// Go's `strings.ToUpper`: each character's simple upper-case mapping, so `ß` stays `ß`
/// where Rust's full mapping would write `SS`.
pub(super) fn upper(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(args.string(0)?.chars().map(simple_upper).collect()))
}

fn single(mut mapped: impl Iterator<Item = char>, c: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

fn simple_upper(c: char) -> char {
    single(c.to_uppercase(), c)
}

fn simple_lower(c: char) -> char {
    // U+0130's full mapping is "i̇"; its simple mapping (Go's) is a plain "i".
    if c == '\u{130}' {
        return 'i';
    }
    single(c.to_lowercase(), c)
}

/// Go's `strings.Title`: the first letter of every word upper-cased, a word starting after
/// anything that is not a letter, digit or `_` (ASCII), or after white space.
pub(super) fn title(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    fn separator(c: char) -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        c.is_whitespace()
    }
    let mut previous = ' ';
    let mut out = String::new();
    for c in args.string(0)?.chars() {
        out.push(if separator(previous) { simple_upper(c) } else { c });
        previous = c;
    }
    Ok(Value::String(out))
}

/// `chomp(string)`: every newline (`\n`, `\r\n` or `\r`) at the end removed.
pub(super) fn chomp(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::from(args.string(0)?.trim_end_matches(['\n', '\r'])))
}

/// `trim(string, cutset)`: every character of `cutset` removed from both ends.
pub(super) fn trim(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let cutset: Vec<char> = args.string(1)?.chars().collect();
    Ok(Value::from(text.trim_matches(cutset.as_slice())))
}

/// `indent(spaces, string)`: `spaces` spaces after every newline; the first line is left
/// as it is, since it usually follows other text in a template.
pub(super) fn indent(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let spaces = args.integer(0)?;
    let text = args.string(1)?;
    let pad = " ".repeat(usize::try_from(spaces).unwrap_or(0).min(10_000));
    Ok(Value::String(text.replace('\n', &format!("\n{pad}"))))
}

pub(super) fn strcontains(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(args.string(0)?.contains(args.string(1)?.as_ref())))
}

/// `strrev(string)`: the grapheme clusters in reverse order.
pub(super) fn strrev(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(args.string(0)?.graphemes(true).rev().collect()))
}

/// The number of grapheme clusters in `text`, as cty's `length` counts them.
pub(super) fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

pub(super) fn trimspace(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::from(args.string(0)?.trim()))
}

pub(super) fn trimprefix(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let prefix = args.string(1)?;
    Ok(Value::from(text.strip_prefix(prefix.as_ref()).unwrap_or(&text)))
}

pub(super) fn trimsuffix(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let suffix = args.string(1)?;
    Ok(Value::from(text.strip_suffix(suffix.as_ref()).unwrap_or(&text)))
}

pub(super) fn startswith(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(args.string(0)?.starts_with(args.string(1)?.as_ref())))
}

pub(super) fn endswith(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::Bool(args.string(0)?.ends_with(args.string(1)?.as_ref())))
}

/// `substr(string, offset, length)`: a negative offset counts from the end, a negative length
/// takes the rest, and a range past the end is cut short rather than an error.
pub(super) fn substr(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let offset = args.integer(1)?;
    let length = args.integer(2)?;
    let graphemes: Vec<&str> = text.graphemes(true).collect();
    let total = graphemes.len();
    let start = if offset < 0 {
        total.saturating_sub(usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX))
    } else {
        usize::try_from(offset).unwrap_or(usize::MAX)
    };
    let rest = graphemes.into_iter().skip(start);
    let result: String = match usize::try_from(length) {
        Ok(length) => rest.take(length).collect(),
        Err(_) => rest.collect(),
    };
    Ok(Value::String(result))
}

/// `regex(pattern, string)`: the first match; with capture groups, a list of the unnamed
/// groups or an object of the named ones (an unmatched optional group is null).
pub(super) fn regex(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let pattern = args.string(0)?;
    let text = args.string(1)?;
    let re = compile(args, 0, &pattern)?;
    let shape = shape(args, &re)?;
    let captures = re.captures(&text).ok_or_else(|| {
        args.error(1, format!("the pattern {} did not match any part of {}.", args.show(&pattern), args.show(&text)))
    })?;
    Ok(shape.of(&captures))
}

/// `regexall(pattern, string)`: every match, each shaped as `regex` shapes one; an empty list
/// when nothing matches.
pub(super) fn regexall(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let pattern = args.string(0)?;
    let text = args.string(1)?;
    let re = compile(args, 0, &pattern)?;
    let shape = shape(args, &re)?;
    Ok(Value::List(re.captures_iter(&text).map(|c| shape.of(&c)).collect()))
}

/// What one match of a pattern becomes: the matched text, a list of groups, or an object of
/// named groups.
struct Shape<'r> {
    names: Vec<Option<&'r str>>,
    named: usize,
}

fn shape<'r>(args: &Args, re: &'r Regex) -> Result<Shape<'r>, FunctionError> {
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named = names.iter().filter(|n| n.is_some()).count();
    if named > 0 && named < names.len() {
        return Err(args.error(0, "the pattern mixes named and unnamed capture groups; regex() needs all of one kind."));
    }
    Ok(Shape { names, named })
}

impl Shape<'_> {
    fn of(&self, captures: &regex::Captures) -> Value {
        let group = |i: usize| captures.get(i).map_or(Value::Null, |m| Value::from(m.as_str()));
        if self.names.is_empty() {
            group(0)
        } else if self.named == 0 {
            Value::List((1..=self.names.len()).map(group).collect())
        } else {
            Value::Object(
                self.names
                    .iter()
                    .enumerate()
                    .filter_map(|(i, name)| name.map(|n| (n.to_owned(), group(i + 1))))
                    .collect(),
            )
        }
    }
}

fn compile(args: &Args, index: usize, pattern: &str) -> Result<Regex, FunctionError> {
    Regex::new(pattern).map_err(|e| {
        args.error(index, format!("{} is not a valid regular expression{}.", args.show(pattern), args.detail(e)))
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }

    #[test]
    fn join_and_split() {
        check(&[
            ("join", vec![", ".into(), list(&["a", "b"]), list(&["c"])], r#""a, b, c""#),
            ("join", vec!["-".into(), Value::List(vec![Value::from(1), Value::from(true)])], r#""1-true""#),
            ("join", vec!["-".into(), list(&[])], r#""""#),
            (
                "join",
                vec!["-".into(), Value::List(vec!["a".into(), Value::Null])],
                "error: Invalid value for argument 2: element 1 is null; join() can only join strings.",
            ),
            (
                "join",
                vec!["-".into(), "a".into()],
                "error: Invalid value for argument 2: a list is required, but got a string.",
            ),
            ("split", vec![",".into(), "a,b,,c".into()], r#"["a", "b", "", "c"]"#),
            ("split", vec![",".into(), "".into()], r#"[""]"#),
            ("split", vec!["".into(), "abc".into()], r#"["a", "b", "c"]"#),
        ]);
    }

    #[test]
    fn replace_with_strings_and_patterns() {
        check(&[
            ("replace", vec!["a-b-c".into(), "-".into(), "_".into()], r#""a_b_c""#),
            ("replace", vec!["abc".into(), "".into(), ".".into()], r#"".a.b.c.""#),
            ("replace", vec!["role/admin".into(), "/^role/(.*)$/".into(), "$1-x".into()], r#""admin-x""#),
            ("replace", vec!["a1b22".into(), "/[0-9]+/".into(), "#".into()], r##""a#b#""##),
            ("replace", vec!["a/b".into(), "/".into(), "|".into()], r#""a|b""#),
            (
                "replace",
                vec!["x".into(), "/(/".into(), "y".into()],
                "error: Invalid value for argument 2: \"(\" is not a valid regular expression: regex parse error:\n    (\n    ^\nerror: unclosed group.",
            ),
        ]);
    }

    #[test]
    fn case_trimming_and_affixes() {
        check(&[
            ("lower", vec!["ÀbC".into()], r#""àbc""#),
            ("upper", vec!["straße".into()], r#""STRAßE""#),
            ("upper", vec!["hello".into()], r#""HELLO""#),
            ("upper", vec!["алло!".into()], r#""АЛЛО!""#),
            ("lower", vec!["HELLO".into()], r#""hello""#),
            ("lower", vec!["АЛЛО!".into()], r#""алло!""#),
            ("lower", vec!["İ".into()], r#""i""#),
            ("upper", vec![Value::from(5)], r#""5""#),
            ("trimspace", vec![" \t a b \n".into()], r#""a b""#),
            ("trimprefix", vec!["arn:aws:iam".into(), "arn:".into()], r#""aws:iam""#),
            ("trimprefix", vec!["abc".into(), "x".into()], r#""abc""#),
            ("trimsuffix", vec!["file.json".into(), ".json".into()], r#""file""#),
            ("startswith", vec!["https://x".into(), "https://".into()], "true"),
            ("startswith", vec!["http://x".into(), "https://".into()], "false"),
            ("endswith", vec!["a.hcl".into(), ".hcl".into()], "true"),
            ("lower", vec![list(&[])], "error: Invalid value for argument 1: a string is required, but got a list."),
        ]);
    }

    /// The examples of developer.hashicorp.com/terraform/language/functions/{title,chomp,trim,
    /// indent,strcontains,strrev,regexall}.
    #[test]
    fn documented_examples() {
        check(&[
            ("title", vec!["hello world".into()], r#""Hello World""#),
            ("title", vec!["hello-world_x y.z".into()], r#""Hello-World_x Y.Z""#),
            ("chomp", vec!["hello\n".into()], r#""hello""#),
            ("chomp", vec!["hello\r\n".into()], r#""hello""#),
            ("chomp", vec!["hello\n\n".into()], r#""hello""#),
            ("chomp", vec!["hel\nlo".into()], r#""hel\nlo""#),
            ("trim", vec!["?!hello?!".into(), "!?".into()], r#""hello""#),
            ("trim", vec!["foobar".into(), "far".into()], r#""oob""#),
            ("trim", vec!["   hello! world.!  ".into(), "! ".into()], r#""hello! world.""#),
            ("indent", vec![2.into(), "[\n  foo,\n  bar,\n]\n".into()], r#""[\n    foo,\n    bar,\n  ]\n  ""#),
            ("strcontains", vec!["hello world".into(), "wor".into()], "true"),
            ("strcontains", vec!["hello world".into(), "wod".into()], "false"),
            ("strrev", vec!["hello".into()], r#""olleh""#),
            ("strrev", vec!["a☃".into()], r#""☃a""#),
            ("regexall", vec!["[a-z]+".into(), "1234abcd5678efgh9".into()], r#"["abcd", "efgh"]"#),
            ("regexall", vec!["[a-z]+".into(), "123456789".into()], "[]"),
            ("regexall", vec!["(\\d)(\\w)".into(), "1a2b".into()], r#"[["1", "a"], ["2", "b"]]"#),
        ]);
    }

    #[test]
    fn length_and_substr_count_grapheme_clusters() {
        check(&[
            ("length", vec!["e\u{301}".into()], "1"),
            ("length", vec!["👾🕹️".into()], "2"),
            ("substr", vec!["🤔🤷".into(), 0.into(), 1.into()], r#""🤔""#),
            ("substr", vec!["e\u{301}x".into(), 1.into(), 1.into()], r#""x""#),
        ]);
    }

    #[test]
    fn substr_counts_characters_from_either_end() {
        let s = || Value::from("héllo");
        check(&[
            ("substr", vec![s(), 1.into(), 3.into()], r#""éll""#),
            ("substr", vec![s(), 0.into(), (-1).into()], r#""héllo""#),
            ("substr", vec![s(), (-3).into(), 2.into()], r#""ll""#),
            ("substr", vec![s(), (-10).into(), 2.into()], r#""hé""#),
            ("substr", vec![s(), 3.into(), 10.into()], r#""lo""#),
            ("substr", vec![s(), 10.into(), 1.into()], r#""""#),
            ("substr", vec![s(), 1.into(), 0.into()], r#""""#),
            ("substr", vec![s(), "1".into(), "2".into()], r#""él""#),
            (
                "substr",
                vec![s(), Value::from_json(&serde_json::json!(1.5)), 1.into()],
                "error: Invalid value for argument 2: a whole number is required, but got \"1.5\".",
            ),
        ]);
    }

    #[test]
    fn regex_returns_match_list_or_object() {
        let arn = || Value::from("arn:aws:iam::123456789012:role/app");
        check(&[
            ("regex", vec!["[0-9]{12}".into(), arn()], r#""123456789012""#),
            ("regex", vec!["^arn:aws:iam::([0-9]+):role/(.+)$".into(), arn()], r#"["123456789012", "app"]"#),
            ("regex", vec!["::(?P<account>[0-9]+):role/(?P<name>.+)".into(), arn()], r#"{account = "123456789012", name = "app"}"#),
            ("regex", vec!["(a)(x)?".into(), "a".into()], r#"["a", null]"#),
            ("regex", vec!["(?P<a>a)(b)".into(), "ab".into()], "error: Invalid value for argument 1: the pattern mixes named and unnamed capture groups; regex() needs all of one kind."),
            ("regex", vec!["^z".into(), "abc".into()], "error: Invalid value for argument 2: the pattern \"^z\" did not match any part of \"abc\"."),
        ]);
    }
}
