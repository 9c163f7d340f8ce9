//! String functions. Lengths and offsets count Unicode scalar values (`char`s); Terraform
//! counts grapheme clusters, which differs only for combining sequences such as emoji.

use super::args::{kind, to_string, Args};
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use regex::Regex;

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

pub(super) fn lower(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(args.string(0)?.to_lowercase()))
}

pub(super) fn upper(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(args.string(0)?.to_uppercase()))
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
    let total = text.chars().count();
    let start = if offset < 0 {
        total.saturating_sub(usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX))
    } else {
        usize::try_from(offset).unwrap_or(usize::MAX)
    };
    let rest = text.chars().skip(start);
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
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named = names.iter().filter(|n| n.is_some()).count();
    if named > 0 && named < names.len() {
        return Err(args.error(0, "the pattern mixes named and unnamed capture groups; regex() needs all of one kind."));
    }
    let captures = re.captures(&text).ok_or_else(|| {
        args.error(1, format!("the pattern {} did not match any part of {}.", args.show(&pattern), args.show(&text)))
    })?;
    let group = |i: usize| captures.get(i).map_or(Value::Null, |m| Value::from(m.as_str()));
    Ok(if names.is_empty() {
        group(0)
    } else if named == 0 {
        Value::List((1..=names.len()).map(group).collect())
    } else {
        Value::Object(
            names.iter().enumerate().filter_map(|(i, name)| name.map(|n| (n.to_owned(), group(i + 1)))).collect(),
        )
    })
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
            ("upper", vec!["straße".into()], r#""STRASSE""#),
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
