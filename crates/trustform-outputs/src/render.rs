use crate::error::EnvError;
use crate::format::EnvFormat;
use crate::rules::{is_env_name, quoted_hazards, suggest_name, unquoted_hazards, BASH_MANAGED_NAMES, KUBECTL_MAX_LINE};
use std::collections::BTreeMap;
use trustform_lang::functions::number_to_string;
use trustform_lang::Value;

/// Renders outputs as `NAME=value` lines, sorted by name, each ending in a newline.
///
/// Sensitive values are written (the file exists to carry them); errors never contain a
/// value. Every problem with every output is reported, not only the first.
pub fn render_env(outputs: &BTreeMap<String, Value>, format: EnvFormat) -> Result<String, Vec<EnvError>> {
    let mut text = String::new();
    let mut errors = Vec::new();
    for (name, value) in outputs {
        check_name(name, &mut errors);
        match line(name, value, format) {
            Ok(line) => text.push_str(&line),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(errors)
    }
}

fn check_name(name: &str, errors: &mut Vec<EnvError>) {
    let output = name.to_owned();
    if !is_env_name(name) {
        errors.push(EnvError::InvalidName { output, suggestion: suggest_name(name) });
    } else if BASH_MANAGED_NAMES.contains(&name) {
        errors.push(EnvError::ShellManagedName { output });
    } else if name.starts_with("export") {
        errors.push(EnvError::ExportPrefix { output });
    }
}

/// The `NAME=value\n` line for one output.
fn line(name: &str, value: &Value, format: EnvFormat) -> Result<String, Vec<EnvError>> {
    let (text, sensitive) = text_of(name, value).map_err(|e| vec![e])?;
    let unquoted = unquoted_hazards(&text);
    let quoted = quoted_hazards(&text);
    let output = || name.to_owned();
    match format {
        EnvFormat::Portable if !unquoted.is_empty() => Err(unquoted
            .into_iter()
            .map(|(hazard, c)| EnvError::Unportable {
                output: output(),
                hazard,
                character: (!sensitive).then_some(c),
                blocker: quoted.first().copied(),
            })
            .collect()),
        EnvFormat::Portable => {
            let line = format!("{name}={text}\n");
            let length = line.len() - 1;
            if length > KUBECTL_MAX_LINE {
                Err(vec![EnvError::LineTooLong { output: output(), length }])
            } else {
                Ok(line)
            }
        }
        EnvFormat::Dotenv if unquoted.is_empty() => Ok(format!("{name}={text}\n")),
        EnvFormat::Dotenv if quoted.is_empty() => Ok(format!("{name}='{text}'\n")),
        EnvFormat::Dotenv => {
            Err(quoted.into_iter().map(|hazard| EnvError::Uncarriable { output: output(), hazard }).collect())
        }
    }
}

/// The text of a value and whether it is sensitive. Numbers and bools read as Terraform's
/// `tostring` writes them.
fn text_of(name: &str, value: &Value) -> Result<(String, bool), EnvError> {
    let output = || name.to_owned();
    match value {
        Value::Sensitive(inner) => text_of(name, inner).map(|(text, _)| (text, true)),
        Value::String(s) => Ok((s.clone(), false)),
        Value::Number(n) => Ok((number_to_string(n), false)),
        Value::Bool(b) => Ok((b.to_string(), false)),
        Value::Null => Err(EnvError::Null { output: output() }),
        Value::Unknown | Value::Partial(_) => Err(EnvError::Unknown { output: output() }),
        // Lists, sets, tuples, maps and objects are written as compact JSON (`["a","b"]`,
        // `{"k":"v"}`: no spaces, keys sorted), which `jsonencode` also writes; whether the
        // format can carry that text is then decided like any other value's.
        Value::List(_) | Value::Object(_) if value.contains_unknown() => Err(EnvError::Unknown { output: output() }),
        Value::List(_) | Value::Object(_) => Ok((value.to_json().to_string(), !value.sensitive_paths().is_empty())),
    }
}

/// What [`render_env`] would refuse of `outputs` as a plan knows them, so that an apply is
/// refused before it changes anything rather than after. A value unknown until apply is
/// checked as far as it is known: its name always; a collection with unknown elements as if
/// each were a string (JSON-quoted), the type of every computed attribute the providers
/// return; a wholly unknown value not at all.
pub fn check_planned(outputs: &BTreeMap<String, Value>, format: EnvFormat) -> Vec<EnvError> {
    let mut errors = Vec::new();
    for (name, value) in outputs {
        check_name(name, &mut errors);
        if matches!(value.unmarked(), Value::Unknown) {
            continue;
        }
        if let Err(mut problems) = line(name, &unknowns_as_text(value), format) {
            errors.append(&mut problems);
        }
    }
    errors
}

/// `value` with every unknown inside it replaced by a string made of letters only.
fn unknowns_as_text(value: &Value) -> Value {
    match value {
        Value::Unknown => Value::String("unknown".to_owned()),
        // The known text is checked as it is: only the holes are stand-ins.
        Value::Partial(shape) => Value::String(
            shape
                .parts()
                .iter()
                .map(|part| match part {
                    trustform_lang::Part::Text(text) => text.as_str(),
                    trustform_lang::Part::Hole(_) => "unknown",
                })
                .collect(),
        ),
        Value::List(items) => Value::List(items.iter().map(unknowns_as_text).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), unknowns_as_text(v))).collect()),
        Value::Sensitive(inner) => Value::Sensitive(Box::new(unknowns_as_text(inner))),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Hazard;

    fn outputs(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn messages(result: Result<String, Vec<EnvError>>) -> Vec<String> {
        result.expect_err("should be rejected").iter().map(ToString::to_string).collect()
    }

    #[test]
    fn portable_lines_are_sorted_unquoted_and_newline_terminated() {
        let rendered = render_env(
            &outputs(&[
                ("ROLE_ARN", "arn:aws:iam::123456789012:role/litellm".into()),
                ("EMPTY", "".into()),
                ("PORT", Value::from(8080)),
                ("RATIO", Value::from_json(&serde_json::json!(0.25))),
                ("ENABLED", true.into()),
                ("SECRET", Value::from("c2VjcmV0+/==").sensitive()),
            ]),
            EnvFormat::Portable,
        )
        .unwrap();
        assert_eq!(
            rendered,
            "EMPTY=\nENABLED=true\nPORT=8080\nRATIO=0.25\nROLE_ARN=arn:aws:iam::123456789012:role/litellm\nSECRET=c2VjcmV0+/==\n"
        );
        assert_eq!(render_env(&BTreeMap::new(), EnvFormat::Portable).unwrap(), "");
    }

    #[test]
    fn dotenv_quotes_only_what_needs_it() {
        let rendered = render_env(
            &outputs(&[
                ("PLAIN", "a/b".into()),
                ("SPACED", "two words".into()),
                ("JSON", r#"{"a":"b c","d":[1,2]}"#.into()),
                ("PEM", "-----BEGIN-----\nabc\n-----END-----".into()),
                ("DOLLAR", "$HOME#x".into()),
            ]),
            EnvFormat::Dotenv,
        )
        .unwrap();
        assert_eq!(
            rendered,
            "DOLLAR='$HOME#x'\nJSON='{\"a\":\"b c\",\"d\":[1,2]}'\nPEM='-----BEGIN-----\nabc\n-----END-----'\nPLAIN=a/b\nSPACED='two words'\n"
        );
    }

    #[test]
    fn portable_rejections_name_the_output_the_character_and_the_fix() {
        let result = render_env(
            &outputs(&[("A", "two words".into()), ("B", "it's".into()), ("C", "fine".into())]),
            EnvFormat::Portable,
        );
        assert_eq!(
            messages(result),
            [
                "Output \"A\" contains a space: bash ends the assignment there and runs the rest as a command, python-dotenv \
                 and docker compose trim it from the ends, and kubectl reads one line per entry. Choose format = \"dotenv\" \
                 to quote it, or change the value.",
                "Output \"B\" contains a single quote: bash, python-dotenv and docker compose remove quotes and backslashes, \
                 but kubectl keeps them. Change the value: format = \"dotenv\" cannot carry it either, because it contains a \
                 single quote: bash ends a single-quoted value there, and the \\' escape python-dotenv and docker compose \
                 accept means something else to bash.",
            ]
        );
    }

    #[test]
    fn every_problem_of_every_output_is_reported() {
        let result = render_env(
            &outputs(&[
                ("role-arn", "a b$c".into()),
                ("list", Value::List(vec!["x".into()])),
                ("obj", Value::object([("a", Value::Null)])),
                ("nothing", Value::Null),
                ("later", Value::Unknown),
                ("RANDOM", "1".into()),
                ("exported_arn", "x".into()),
            ]),
            EnvFormat::Portable,
        );
        let errors = result.unwrap_err();
        let kinds: Vec<(&str, String)> = errors
            .iter()
            .map(|e| match e {
                EnvError::InvalidName { output, suggestion } => (output.as_str(), format!("name->{suggestion}")),
                EnvError::ShellManagedName { output } => (output.as_str(), "bash".to_owned()),
                EnvError::ExportPrefix { output } => (output.as_str(), "export".to_owned()),
                EnvError::Null { output } => (output.as_str(), "null".to_owned()),
                EnvError::Unknown { output } => (output.as_str(), "unknown".to_owned()),
                EnvError::Unportable { output, hazard, .. } => (output.as_str(), format!("{hazard:?}")),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("RANDOM", "bash".to_owned()),
                ("exported_arn", "export".to_owned()),
                ("later", "unknown".to_owned()),
                ("list", "Quoting".to_owned()),
                ("nothing", "null".to_owned()),
                ("obj", "Quoting".to_owned()),
                ("role-arn", "name->role_arn".to_owned()),
                ("role-arn", "Whitespace".to_owned()),
                ("role-arn", "Expansion".to_owned()),
            ]
        );
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(texts[1].contains("(reading it as \"ed_arn\")"), "{}", texts[1]);
        assert!(texts[3].ends_with("Choose format = \"dotenv\" to quote it, or change the value."), "{}", texts[3]);
    }

    #[test]
    fn dotenv_refuses_what_no_quoting_carries() {
        let result =
            render_env(&outputs(&[("A", "it's ${HOME}".into()), ("B", "C:\\dir\\".into())]), EnvFormat::Dotenv);
        let errors = result.unwrap_err();
        assert_eq!(
            errors,
            [
                EnvError::Uncarriable { output: "A".into(), hazard: Hazard::SingleQuote },
                EnvError::Uncarriable { output: "A".into(), hazard: Hazard::DollarBrace },
                EnvError::Uncarriable { output: "B".into(), hazard: Hazard::TrailingBackslash },
            ]
        );
        assert_eq!(
            errors[1].to_string(),
            "Output \"A\" contains '${': python-dotenv expands ${...} even inside single quotes. No env file format can \
             carry it to every consumer; change the value."
        );
    }

    #[test]
    fn kubectl_line_limit_applies_to_the_portable_format_only() {
        let fits = "x".repeat(KUBECTL_MAX_LINE - "K=".len());
        assert!(render_env(&outputs(&[("K", fits.clone().into())]), EnvFormat::Portable).is_ok());
        let too_long = format!("{fits}x");
        let errors = render_env(&outputs(&[("K", too_long.clone().into())]), EnvFormat::Portable).unwrap_err();
        assert_eq!(errors, [EnvError::LineTooLong { output: "K".into(), length: KUBECTL_MAX_LINE + 1 }]);
        assert!(render_env(&outputs(&[("K", too_long.into())]), EnvFormat::Dotenv).is_ok());
    }

    #[test]
    fn errors_and_debug_never_show_a_sensitive_value() {
        let secret = "hunter2 $PATH it's";
        for format in [EnvFormat::Portable, EnvFormat::Dotenv] {
            let errors = render_env(&outputs(&[("DB_PASSWORD", Value::from(secret).sensitive())]), format).unwrap_err();
            assert!(!errors.is_empty());
            for error in &errors {
                for text in [error.to_string(), format!("{error:?}")] {
                    assert!(!text.contains("hunter2") && !text.contains("PATH"), "leaked: {text}");
                }
            }
        }
        // The same value, not sensitive, gets its exact character named.
        let plain = render_env(&outputs(&[("A", "x y".into())]), EnvFormat::Portable).unwrap_err();
        assert!(plain[0].to_string().starts_with("Output \"A\" contains a space:"));
        let hidden = render_env(&outputs(&[("A", Value::from("x y").sensitive())]), EnvFormat::Portable).unwrap_err();
        assert!(hidden[0].to_string().starts_with("Output \"A\" contains whitespace (a space, tab or line break):"));
    }

    #[test]
    fn collections_are_written_as_compact_json() {
        let list = Value::List(vec!["a".into(), Value::from(2), true.into()]);
        let map = Value::object([("b", Value::from("x y")), ("a", Value::List(vec![]))]);
        let rendered = render_env(&outputs(&[("L", list.clone()), ("M", map)]), EnvFormat::Dotenv).unwrap();
        assert_eq!(rendered, "L='[\"a\",2,true]'\nM='{\"a\":[],\"b\":\"x y\"}'\n");
        // Quotes are not portable; a list of numbers is.
        let numbers = Value::List(vec![Value::from(1), Value::from(2)]);
        assert_eq!(render_env(&outputs(&[("N", numbers)]), EnvFormat::Portable).unwrap(), "N=[1,2]\n");
        let errors = render_env(&outputs(&[("L", list)]), EnvFormat::Portable).unwrap_err();
        assert!(
            matches!(errors[..], [EnvError::Unportable { hazard: Hazard::Quoting, blocker: None, .. }]),
            "{errors:?}"
        );
    }

    #[test]
    fn a_plan_is_checked_as_far_as_it_is_known() {
        let planned = outputs(&[
            ("LATER", Value::Unknown),
            ("ROLES", Value::List(vec![Value::Unknown])),
            ("RANDOM", Value::Unknown),
            ("SECRET", Value::from("it's").sensitive()),
        ]);
        let kinds: Vec<(String, Option<Hazard>)> = check_planned(&planned, EnvFormat::Portable)
            .into_iter()
            .map(|e| match e {
                EnvError::ShellManagedName { output } => (output, None),
                EnvError::Unportable { output, hazard, .. } => (output, Some(hazard)),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("RANDOM".to_owned(), None),
                ("ROLES".to_owned(), Some(Hazard::Quoting)),
                ("SECRET".to_owned(), Some(Hazard::Quoting)),
            ]
        );
        // The same plan in the dotenv format: the list is quoted, the quote cannot be.
        let dotenv = check_planned(&planned, EnvFormat::Dotenv);
        assert_eq!(dotenv.len(), 2, "{dotenv:?}");
        assert!(
            matches!(&dotenv[1], EnvError::Uncarriable { output, hazard: Hazard::SingleQuote } if output == "SECRET")
        );
        // What is known and fine passes.
        let fine = outputs(&[("ARN", "arn:aws:iam::1:role/x".into()), ("IDS", Value::List(vec![Value::Unknown]))]);
        assert_eq!(check_planned(&fine, EnvFormat::Dotenv), []);
    }

    #[test]
    fn a_partly_known_string_is_checked_by_its_known_text() {
        use trustform_lang::{Hole, Part, Partial};
        let shape = |text: &str| {
            let parts = [Part::Text(text.to_owned()), Part::Hole(Hole::reference("aws_iam_role.gateway.name"))];
            Value::Partial(Box::new(Partial::new(parts).unwrap()))
        };
        let planned = outputs(&[("QUOTED", shape("it's ")), ("ARN", shape("arn:aws:iam::1:role/"))]);
        let errors = check_planned(&planned, EnvFormat::Portable);
        assert!(!errors.is_empty(), "the quote is refused at plan");
        assert!(
            errors.iter().all(|e| matches!(e, EnvError::Unportable { output, .. } if output == "QUOTED")),
            "only the quoted one: the ARN's known text passes: {errors:?}"
        );
        assert!(errors.iter().any(|e| matches!(e, EnvError::Unportable { hazard: Hazard::Quoting, .. })), "{errors:?}");
    }

    #[test]
    fn rendering_is_deterministic() {
        let outs = outputs(&[("B", "2".into()), ("A", "1".into()), ("C", Value::from("3").sensitive())]);
        let first = render_env(&outs, EnvFormat::Dotenv).unwrap();
        assert_eq!(first, render_env(&outs.clone(), EnvFormat::Dotenv).unwrap());
        assert_eq!(first, "A=1\nB=2\nC=3\n");
    }
}
