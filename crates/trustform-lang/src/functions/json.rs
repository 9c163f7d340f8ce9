//! `jsonencode` and `jsondecode`, byte-compatible with Terraform so that a policy document
//! rendered here is the same string Terraform would send (and so never a perpetual diff).

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::partial::{Hole, Part, Partial};
use crate::value::{Number, Value};
use std::fmt::Write as _;

/// A number as Terraform's `tostring`, `jsonencode` and string templates write it: integers
/// without a fraction, never an exponent (`1e21` is `1000000000000000000000`), and the
/// shortest digits that read back as the same number.
pub fn number_to_string(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        // Rust's `Display` for f64 is exactly that: shortest round-trip digits, no exponent.
        n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string())
    }
}

pub(super) fn jsonencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(encode(args.get(0))))
}

pub(super) fn jsondecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        args.error(0, format!("the string is not valid JSON: {e}. jsondecode() needs a JSON document."))
    })?;
    Ok(Value::from_json(&json))
}

/// Compact JSON with object keys sorted, escaping like Go's `encoding/json` (which Terraform
/// uses): `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX` so the output is safe to embed in
/// HTML and JavaScript.
pub(super) fn encode(value: &Value) -> String {
    let mut out = String::new();
    encode_into(value, &mut out, &mut Vec::new());
    out
}

/// `jsonencode` of a value with unknowns inside: the document's shape, each unknown a hole (a
/// JSON value, or a string's unknown pieces when it is a partially known string), so a check
/// can read a trust policy whose issuer is a reference.
pub(super) fn encode_shape(value: &Value) -> Value {
    let mut parts = Vec::new();
    let mut out = String::new();
    encode_into(value, &mut out, &mut parts);
    parts.push(Part::Text(out));
    Partial::new(parts).map_or(Value::Unknown, |shape| Value::Partial(Box::new(shape)))
}

fn encode_into(value: &Value, out: &mut String, parts: &mut Vec<Part>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Unknown => {
            parts.push(Part::Text(std::mem::take(out)));
            parts.push(Part::Hole(Hole { reference: None, not_null: false }));
        }
        Value::Partial(shape) => {
            out.push('"');
            for part in shape.parts() {
                match part {
                    Part::Text(text) => {
                        let mut quoted = String::new();
                        encode_string(text, &mut quoted);
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    }
                    Part::Hole(hole) => {
                        parts.push(Part::Text(std::mem::take(out)));
                        parts.push(Part::Hole(hole.clone()));
                    }
                }
            }
            out.push('"');
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_to_string(n)),
        Value::String(s) => encode_string(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out, parts);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_string(key, out);
                out.push(':');
                encode_into(item, out, parts);
            }
            out.push('}');
        }
        Value::Sensitive(inner) => encode_into(inner, out, parts),
    }
}

/// Writes `s` as a JSON string the way Terraform's `jsonencode` does (Go's escaping, HTML-safe:
/// `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`), so documents render byte for byte as there.
pub fn encode_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use super::*;

    #[test]
    fn numbers_render_like_terraform() {
        let cases: &[(Number, &str)] = &[
            (Number::from(42), "42"),
            (Number::from(-7), "-7"),
            (Number::from(u64::MAX), "18446744073709551615"),
            (Number::from_f64(1.5).unwrap(), "1.5"),
            (Number::from_f64(2.0).unwrap(), "2"),
            (Number::from_f64(0.1).unwrap(), "0.1"),
            (Number::from_f64(1.5e-7).unwrap(), "0.00000015"),
            (Number::from_f64(1e21).unwrap(), "1000000000000000000000"),
            (Number::from_f64(-0.0).unwrap(), "0"),
        ];
        for (n, expected) in cases {
            assert_eq!(number_to_string(n), *expected);
        }
    }

    #[test]
    fn jsonencode_writes_terraform_bytes_for_an_iam_trust_policy() {
        let policy = Value::object([
            ("Version", Value::from("2012-10-17")),
            (
                "Statement",
                Value::List(vec![Value::object([
                    ("Effect", Value::from("Allow")),
                    ("Action", Value::from("sts:AssumeRoleWithWebIdentity")),
                    (
                        "Principal",
                        Value::object([(
                            "Federated",
                            Value::from(
                                "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                            ),
                        )]),
                    ),
                    (
                        "Condition",
                        Value::object([(
                            "StringEquals",
                            Value::object([
                                ("oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud", Value::from("sts.amazonaws.com")),
                                (
                                    "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub",
                                    Value::from("system:serviceaccount:llm:litellm"),
                                ),
                            ]),
                        )]),
                    ),
                ])]),
            ),
        ]);
        let expected = concat!(
            r#"{"Statement":[{"Action":"sts:AssumeRoleWithWebIdentity","#,
            r#""Condition":{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud":"sts.amazonaws.com","#,
            r#""oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:llm:litellm"}},"#,
            r#""Effect":"Allow","#,
            r#""Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"}}],"#,
            r#""Version":"2012-10-17"}"#,
        );
        assert_eq!(encode(&policy), expected);
    }

    #[test]
    fn jsonencode_escapes_like_go() {
        let cases: &[(Value, &str)] = &[
            ("a<b>&c".into(), r#""a\u003cb\u003e\u0026c""#),
            (
                "q\"\\\n\t\r\u{8}\u{c}\u{1}\u{7f}é\u{2028}\u{2029}".into(),
                "\"q\\\"\\\\\\n\\t\\r\\b\\f\\u0001\u{7f}é\\u2028\\u2029\"",
            ),
            (Value::object([("<k>", Value::Null)]), r#"{"\u003ck\u003e":null}"#),
            (
                Value::List(vec![Value::from(1), Value::from(true), Value::from_json(&serde_json::json!(0.5))]),
                "[1,true,0.5]",
            ),
            (Value::from(12345678), "12345678"),
            (Value::Null, "null"),
        ];
        for (value, expected) in cases {
            assert_eq!(encode(value), *expected, "{value:?}");
        }
        check(&[("jsonencode", vec![Value::object([("a", Value::from("<"))])], r#""{\"a\":\"\\u003c\"}""#)]);
    }

    #[test]
    fn jsondecode_reads_documents_and_rejects_garbage() {
        check(&[
            ("jsondecode", vec![r#"{"b":[1,2.5,null],"a":"x"}"#.into()], r#"{a = "x", b = [1, 2.5, null]}"#),
            ("jsondecode", vec!["true".into()], "true"),
            (
                "jsondecode",
                vec!["{oops".into()],
                "error: Invalid value for argument 1: the string is not valid JSON: key must be a string at line 1 column 2. jsondecode() needs a JSON document.",
            ),
        ]);
    }

    #[test]
    fn jsonencode_and_jsondecode_round_trip() {
        let value =
            Value::object([("n", Value::from(3)), ("s", Value::from("<&>")), ("l", Value::List(vec![Value::Null]))]);
        let encoded = encode(&value);
        let decoded = super::super::call("jsondecode", vec![encoded.into()], &super::super::tests::ctx()).unwrap();
        assert_eq!(decoded, value);
    }
}
