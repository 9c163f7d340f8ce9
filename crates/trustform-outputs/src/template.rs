//! `trustform render`: fills the `%%NAME%%` placeholders of a Helm values file (seed 000's
//! `values-aws.yaml`: `eks.amazonaws.com/role-arn: '%%EKS_AWS_ROLE_ARN%%'`) with outputs,
//! quoted for where each placeholder stands, so that a YAML parser reads back exactly the
//! output's value.
//!
//! Where a placeholder sits decides how its value is written:
//! * inside a single-quoted scalar: `'` doubled, as YAML escapes it;
//! * inside a double-quoted scalar: backslash escapes (`\"`, `\\`, `\n`, ...);
//! * as a whole plain scalar (`key: %%NAME%%`): numbers and bools as they are, strings as they
//!   are when YAML would read them back unchanged, single-quoted otherwise (`'true'`, `'a: b'`);
//! * inside a longer plain scalar or a comment: only values that need no quoting there.
//!
//! Every placeholder that cannot be filled is reported, with its line and column; errors never
//! contain values, so they are safe for sensitive outputs.

use std::collections::BTreeMap;
use std::fmt;
use trustform_lang::Value;

/// A filled template, and whether any sensitive output went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub used_sensitive: Vec<String>,
}

/// One placeholder that could not be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    /// The placeholder's bytes in the template, for diagnostics that point at it.
    pub range: std::ops::Range<usize>,
    pub name: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No output of that name.
    Missing { known: Vec<String> },
    /// A list, an object, null or an unknown value.
    NotScalar { kind: &'static str },
    /// The value needs quoting that its place does not allow.
    NeedsQuotes { place: &'static str },
    /// A newline in a single-quoted scalar, which YAML folds into a space.
    NewlineInSingleQuotes,
    /// A control character or line separator (CR, BEL, NEL U+0085, U+2028, ...) that only a
    /// double-quoted scalar can write, as an escape: single quotes fold or refuse it.
    NeedsEscapes,
}

impl TemplateError {
    /// What is wrong and how to fix it, without the location (for diagnostics that carry it).
    pub fn explanation(&self) -> String {
        match &self.problem {
            Problem::Missing { known } if known.is_empty() => {
                "the state has no outputs; apply first, or fix the placeholder's name".to_owned()
            }
            Problem::Missing { known } => format!(
                "there is no output of that name; add `output \"{}\"` to the spec, or use one of {}",
                self.name,
                known.join(", ")
            ),
            Problem::NotScalar { kind } => format!(
                "the output is {kind}, not a string, number or bool; give the template a scalar (jsonencode a collection)"
            ),
            Problem::NeedsQuotes { place } => format!(
                "the value needs YAML quoting, which it cannot get {place}; put the placeholder in quotes on its own \
                 ('%%{}%%')",
                self.name
            ),
            Problem::NeedsEscapes => format!(
                "the value has a control character or line separator (carriage return, U+0085, ...), which YAML \
                 reads back differently or refuses unless it is escaped; use double quotes (\"%%{}%%\")",
                self.name
            ),
            Problem::NewlineInSingleQuotes => format!(
                "the value has a newline, which YAML folds into a space inside single quotes; use double quotes \
                 (\"%%{}%%\")",
                self.name
            ),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: %%{}%%: {}", self.line, self.column, self.name, self.explanation())
    }
}

/// Where in the YAML text the scanner stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Comment,
}

/// Fills every `%%NAME%%` of `template` from `outputs`, or reports every one it cannot.
pub fn fill_placeholders(template: &str, outputs: &BTreeMap<String, Value>) -> Result<Rendered, Vec<TemplateError>> {
    let mut out = String::with_capacity(template.len());
    let mut errors = Vec::new();
    let mut used_sensitive = Vec::new();
    let mut place = Place::Plain;
    let (mut line, mut line_start) = (1, 0);
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < template.len() {
        if let Some((name, end)) = placeholder_at(template, i) {
            let column = template[line_start..i].chars().count() + 1;
            let whole = place == Place::Plain && stands_alone(template, line_start, i, end);
            match fill(name, outputs, place, whole) {
                Ok((text, sensitive)) => {
                    out.push_str(&text);
                    if sensitive && !used_sensitive.iter().any(|n| n == name) {
                        used_sensitive.push(name.to_owned());
                    }
                }
                Err(problem) => {
                    errors.push(TemplateError { line, column, range: i..end, name: name.to_owned(), problem })
                }
            }
            i = end;
            continue;
        }
        let Some(c) = template[i..].chars().next() else { break };
        place = match (place, c) {
            (Place::Plain, '\'') if opens_quote(template, line_start, i) => Place::SingleQuoted,
            (Place::Plain, '"') if opens_quote(template, line_start, i) => Place::DoubleQuoted,
            (Place::Plain, '#') if i == line_start || bytes[i - 1].is_ascii_whitespace() => Place::Comment,
            (Place::SingleQuoted, '\'') if bytes.get(i + 1) == Some(&b'\'') => {
                out.push_str("''");
                i += 2;
                continue;
            }
            (Place::SingleQuoted, '\'') => Place::Plain,
            (Place::DoubleQuoted, '\\') => {
                // An escape: copy it whole so an escaped quote does not close the scalar.
                let next = template[i + 1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&template[i..i + 1 + next]);
                i += 1 + next;
                continue;
            }
            (Place::DoubleQuoted, '"') => Place::Plain,
            (Place::Comment, '\n') => Place::Plain,
            (other, _) => other,
        };
        if c == '\n' {
            line += 1;
            line_start = i + 1;
        }
        out.push(c);
        i += c.len_utf8();
    }
    if errors.is_empty() {
        Ok(Rendered { text: out, used_sensitive })
    } else {
        Err(errors)
    }
}

/// `%%NAME%%` at `i`: the name and the index past the closing `%%`.
fn placeholder_at(text: &str, i: usize) -> Option<(&str, usize)> {
    let rest = text[i..].strip_prefix("%%")?;
    let length = rest.find("%%")?;
    let name = &rest[..length];
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, i + 2 + length + 2))
}

/// A quote opens a quoted scalar only where a scalar starts: after `: `, `- `, `[`, `{`, `,`
/// or at the start of a line (after indentation).
fn opens_quote(text: &str, line_start: usize, i: usize) -> bool {
    let line = &text[line_start..i];
    let before = line.trim_end_matches([' ', '\t']);
    // `:` and `-` are indicators only when a space follows them (`key: 'v'`, `- 'v'`).
    let spaced = before.len() < line.len();
    before.is_empty() || (spaced && before.ends_with([':', '-'])) || before.ends_with(['[', '{', ','])
}

/// Whether the placeholder is a whole plain scalar: nothing of the scalar before or after it.
fn stands_alone(text: &str, line_start: usize, start: usize, end: usize) -> bool {
    let after = text[end..].split('\n').next().unwrap_or("");
    let after = after.trim_end_matches('\r');
    let after_ok = after.trim().is_empty() || after.starts_with(" #") || after.starts_with(['\t']);
    after_ok && opens_quote(text, line_start, start)
}

/// The text for one placeholder, and whether its value is sensitive.
fn fill(name: &str, outputs: &BTreeMap<String, Value>, place: Place, whole: bool) -> Result<(String, bool), Problem> {
    let value = outputs.get(name).ok_or_else(|| Problem::Missing { known: outputs.keys().cloned().collect() })?;
    let sensitive = value.is_sensitive();
    let text = match value.unmarked() {
        Value::String(text) => text.clone(),
        Value::Number(_) | Value::Bool(_) if place == Place::Plain || place == Place::Comment => {
            return Ok((value.unmarked().render(), sensitive));
        }
        scalar @ (Value::Number(_) | Value::Bool(_)) => scalar.render(),
        Value::Null => return Err(Problem::NotScalar { kind: "null" }),
        Value::List(_) => return Err(Problem::NotScalar { kind: "a list" }),
        Value::Object(_) => return Err(Problem::NotScalar { kind: "an object" }),
        _ => return Err(Problem::NotScalar { kind: "not known yet" }),
    };
    let filled = match place {
        Place::SingleQuoted if text.contains('\n') => return Err(Problem::NewlineInSingleQuotes),
        Place::SingleQuoted if !text.chars().all(literal_in_quotes) => return Err(Problem::NeedsEscapes),
        Place::SingleQuoted => text.replace('\'', "''"),
        Place::DoubleQuoted => escape_double(&text),
        Place::Plain | Place::Comment if plain_safe(&text) => text,
        Place::Plain if whole && text.chars().all(literal_in_quotes) => format!("'{}'", text.replace('\'', "''")),
        Place::Plain if whole => format!("\"{}\"", escape_double(&text)),
        Place::Plain => return Err(Problem::NeedsQuotes { place: "inside a longer plain scalar" }),
        Place::Comment => return Err(Problem::NeedsQuotes { place: "in a comment" }),
    };
    Ok((filled, sensitive))
}

/// Escapes for a YAML double-quoted scalar (the escapes YAML shares with JSON).
fn escape_double(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // YAML 1.1 readers (PyYAML) take NEL and the Unicode separators as line breaks and
            // fold them; YAML's own escapes keep them.
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !yaml_printable(c) || c == '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// YAML 1.2's printable set (section 5.1): what a stream may hold unescaped.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// Whether `c` reads back as itself inside single quotes or bare: printable, and no line break
/// of YAML 1.1 or 1.2 (CR, NEL, U+2028, U+2029 are folded like a newline), nor a byte order mark.
fn literal_in_quotes(c: char) -> bool {
    yaml_printable(c) && !matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Whether YAML reads `text` back as this very string when written bare.
fn plain_safe(text: &str) -> bool {
    const INDICATORS: &[char] =
        &['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`'];
    let Some(first) = text.chars().next() else { return false };
    let looks_typed = {
        let lower = text.to_ascii_lowercase();
        matches!(lower.as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~")
            || text.parse::<f64>().is_ok()
            || lower.starts_with("0x")
            || lower.starts_with("0o")
            || lower.starts_with(".inf")
            || lower == ".nan"
    };
    !looks_typed
        && !INDICATORS.contains(&first)
        && !first.is_whitespace()
        && !text.ends_with(char::is_whitespace)
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.contains(" #")
        && text.chars().all(|c| literal_in_quotes(c) && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::{Yaml, YamlLoader};

    fn outputs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    /// The value YAML reads at `key` of the rendered document.
    fn parsed(text: &str, key: &str) -> Yaml {
        let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
        docs[0][key].clone()
    }

    #[test]
    fn seed_000_values_file() {
        let template = "litellm-helm:\n  serviceAccount:\n    create: true\n    annotations:\n      eks.amazonaws.com/role-arn: '%%EKS_AWS_ROLE_ARN%%'\n";
        let arn = "arn:aws:iam::123456789012:role/litellm-gateway";
        let rendered = fill_placeholders(template, &outputs(&[("EKS_AWS_ROLE_ARN", arn.into())])).unwrap();
        let docs = YamlLoader::load_from_str(&rendered.text).unwrap();
        assert_eq!(
            docs[0]["litellm-helm"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].as_str(),
            Some(arn)
        );
        assert!(rendered.used_sensitive.is_empty());
    }

    #[test]
    fn every_place_reads_back_the_exact_value() {
        let tricky = [
            "plain",
            "it's",
            "say \"hi\"",
            "a: b",
            "x #y",
            "true",
            "123",
            "0x1F",
            "-dash",
            "  padded  ",
            "back\\slash",
            "%%NOT_A_PLACEHOLDER%%",
            "ünïcode",
            "",
        ];
        for value in tricky {
            let outs = outputs(&[("V", value.into())]);
            for template in ["v: '%%V%%'\n", "v: \"%%V%%\"\n", "v: %%V%%\n", "v: %%V%% # comment\n"] {
                let rendered =
                    fill_placeholders(template, &outs).unwrap_or_else(|e| panic!("{template:?} {value:?}: {e:?}"));
                assert_eq!(
                    parsed(&rendered.text, "v").as_str(),
                    Some(value),
                    "{template:?} with {value:?} gave {:?}",
                    rendered.text
                );
            }
        }
    }

    #[test]
    fn controls_and_line_separators_are_escaped_or_refused() {
        let hostile = [
            "a\rb",
            "cr at end\r",
            "nel\u{85}here",
            "bell\u{7}",
            "ls\u{2028}ps\u{2029}",
            "c1\u{9b}x",
            "bom\u{feff}",
            "del\u{7f}",
            "tab\tin",
        ];
        for value in hostile {
            let outs = outputs(&[("V", value.into())]);
            for template in ["v: \"%%V%%\"\n", "v: %%V%%\n"] {
                let rendered =
                    fill_placeholders(template, &outs).unwrap_or_else(|e| panic!("{template:?} {value:?}: {e:?}"));
                assert_eq!(
                    parsed(&rendered.text, "v").as_str(),
                    Some(value),
                    "{template:?} {value:?}: {:?}",
                    rendered.text
                );
                assert!(
                    rendered.text.chars().all(|c| literal_in_quotes(c) || c == '\n' || c == '\t'),
                    "{:?}",
                    rendered.text
                );
            }
            if value != "tab\tin" {
                let errors = fill_placeholders("v: '%%V%%'\n", &outs).unwrap_err();
                assert_eq!(errors[0].problem, Problem::NeedsEscapes, "{value:?}");
                assert!(!errors[0].to_string().contains(value));
                assert!(fill_placeholders("v: x %%V%%\n", &outs).is_err(), "{value:?} inside a plain scalar");
            }
        }
    }

    #[test]
    fn newlines_need_double_quotes_or_a_whole_scalar() {
        let outs = outputs(&[("V", "line one\nline two".into())]);
        assert_eq!(
            parsed(&fill_placeholders("v: \"%%V%%\"\n", &outs).unwrap().text, "v").as_str(),
            Some("line one\nline two")
        );
        assert_eq!(
            parsed(&fill_placeholders("v: %%V%%\n", &outs).unwrap().text, "v").as_str(),
            Some("line one\nline two")
        );
        let errors = fill_placeholders("v: '%%V%%'\n", &outs).unwrap_err();
        assert_eq!(errors[0].problem, Problem::NewlineInSingleQuotes);
    }

    #[test]
    fn numbers_and_bools_keep_their_type_bare_and_are_text_in_quotes() {
        let outs = outputs(&[("N", Value::from(3)), ("B", Value::from(true))]);
        let text = fill_placeholders("n: %%N%%\nb: %%B%%\nq: '%%N%%'\n", &outs).unwrap().text;
        assert_eq!(parsed(&text, "n"), Yaml::Integer(3));
        assert_eq!(parsed(&text, "b"), Yaml::Boolean(true));
        assert_eq!(parsed(&text, "q").as_str(), Some("3"));
    }

    #[test]
    fn every_problem_is_reported_with_its_place_and_no_value() {
        let outs =
            outputs(&[("LIST", Value::List(vec!["a".into()])), ("SECRET", Value::from("s3cr3t: x").sensitive())]);
        let errors = fill_placeholders("a: %%MISSING%%\nb: %%LIST%%\nc: prefix-%%SECRET%%\n", &outs).unwrap_err();
        let places: Vec<(usize, usize, &str)> = errors.iter().map(|e| (e.line, e.column, e.name.as_str())).collect();
        assert_eq!(places, [(1, 4, "MISSING"), (2, 4, "LIST"), (3, 11, "SECRET")]);
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(messages[0].contains("use one of LIST, SECRET"), "{}", messages[0]);
        assert!(messages.iter().all(|m| !m.contains("s3cr3t")));
    }

    #[test]
    fn sensitive_outputs_are_named_in_the_result() {
        let outs = outputs(&[("AZURE_CLIENT_SECRET", Value::from("s").sensitive())]);
        let rendered = fill_placeholders("secret: '%%AZURE_CLIENT_SECRET%%'\n", &outs).unwrap();
        assert_eq!(rendered.used_sensitive, ["AZURE_CLIENT_SECRET"]);
    }

    #[test]
    fn quotes_inside_plain_scalars_and_escapes_do_not_confuse_the_scanner() {
        let outs = outputs(&[("V", "x'y".into())]);
        let template = "note: don't stop\nv: '%%V%%'\nw: \"a \\\" %%V%%\"\n";
        let text = fill_placeholders(template, &outs).unwrap().text;
        assert_eq!(parsed(&text, "note").as_str(), Some("don't stop"));
        assert_eq!(parsed(&text, "v").as_str(), Some("x'y"));
        assert_eq!(parsed(&text, "w").as_str(), Some("a \" x'y"));
    }
}
