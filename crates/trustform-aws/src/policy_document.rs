//! `data "aws_iam_policy_document"`: renders IAM policy JSON from HCL statements byte for byte
//! as the Terraform AWS provider does, so that a configuration moved from Terraform plans no
//! change and so that users can compare our output with theirs.
//!
//! The rules, from the Terraform provider: keys in a fixed order (`Version`, `Statement`; `Sid`,
//! `Effect`, `Action`, `NotAction`, `Resource`, `NotResource`, `Principal`, `NotPrincipal`,
//! `Condition`), empty fields left out, a single-element list written as a string, other lists
//! of actions, resources and identifiers sorted in reverse, condition values kept in order,
//! `&{var}` written as `${var}`, and Go's `encoding/json` escaping and two-space indentation.

use std::collections::BTreeMap;
use trustform_lang::functions::write_json_string;
use trustform_lang::Value;
use trustform_provider::ProviderError;

const DEFAULT_VERSION: &str = "2012-10-17";
/// The only version without policy variables, where `&{` has no meaning.
const LEGACY_VERSION: &str = "2008-10-17";

/// A JSON value whose objects keep their keys in insertion order, as Go's structs do.
enum Json {
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// The rendered document: `json` (indented) and `minified_json`.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub json: String,
    pub minified: String,
}

/// Renders the document a `data "aws_iam_policy_document"` body describes.
pub(crate) fn render(config: &Value) -> Result<Rendered, ProviderError> {
    let version = string_attr(config, "version").unwrap_or_else(|| DEFAULT_VERSION.to_owned());
    let mut document = Vec::new();
    if !version.is_empty() {
        document.push(("Version".to_owned(), Json::String(version.clone())));
    }
    if let Some(id) = string_attr(config, "policy_id").filter(|id| !id.is_empty()) {
        document.push(("Id".to_owned(), Json::String(id)));
    }
    let mut statements = Vec::new();
    let mut sids = Vec::new();
    for statement in blocks(config, "statement") {
        let sid = string_attr(statement, "sid").unwrap_or_default();
        if !sid.is_empty() {
            if sids.contains(&sid) {
                return Err(ProviderError::invalid(format!("duplicate Sid ({sid}); remove the Sid or make it unique")));
            }
            sids.push(sid.clone());
        }
        statements.push(render_statement(statement, sid, &version)?);
    }
    if !statements.is_empty() {
        document.push(("Statement".to_owned(), Json::Array(statements)));
    }
    let document = Json::Object(document);
    let mut json = String::new();
    write(&document, Some(0), &mut json);
    let mut minified = String::new();
    write(&document, None, &mut minified);
    Ok(Rendered { json, minified })
}

fn render_statement(statement: &Value, sid: String, version: &str) -> Result<Json, ProviderError> {
    let mut fields = Vec::new();
    if !sid.is_empty() {
        fields.push(("Sid".to_owned(), Json::String(sid)));
    }
    let effect = string_attr(statement, "effect").unwrap_or_else(|| "Allow".to_owned());
    if !effect.is_empty() {
        fields.push(("Effect".to_owned(), Json::String(effect)));
    }
    for (attribute, key, substitute) in [
        ("actions", "Action", false),
        ("not_actions", "NotAction", false),
        ("resources", "Resource", true),
        ("not_resources", "NotResource", true),
    ] {
        let mut items = reverse_sorted(strings(statement.get(attribute)));
        if substitute {
            items = items.into_iter().map(|item| substitute_variables(&item, version)).collect::<Result<_, _>>()?;
        }
        if let Some(json) = string_or_list(items) {
            fields.push((key.to_owned(), json));
        }
    }
    for (block, key) in [("principals", "Principal"), ("not_principals", "NotPrincipal")] {
        if let Some(json) = render_principals(blocks(statement, block), version)? {
            fields.push((key.to_owned(), json));
        }
    }
    if let Some(json) = render_conditions(blocks(statement, "condition"), version)? {
        fields.push(("Condition".to_owned(), json));
    }
    Ok(Json::Object(fields))
}

/// `{"Type": identifiers}` with identifiers of one type merged across blocks, or `"*"` for the
/// one principal IAM accepts only in that spelling.
fn render_principals(principals: Vec<&Value>, version: &str) -> Result<Option<Json>, ProviderError> {
    if principals.is_empty() {
        return Ok(None);
    }
    if let [only] = principals.as_slice() {
        let identifiers = strings(only.get("identifiers"));
        if string_attr(only, "type").as_deref() == Some("*") && identifiers == ["*"] {
            return Ok(Some(Json::String("*".to_owned())));
        }
    }
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut single: BTreeMap<String, bool> = BTreeMap::new();
    for principal in principals {
        let principal_type = string_attr(principal, "type").unwrap_or_default();
        let identifiers = reverse_sorted(strings(principal.get("identifiers")))
            .into_iter()
            .map(|identifier| substitute_variables(&identifier, version))
            .collect::<Result<Vec<_>, _>>()?;
        let merged = by_type.entry(principal_type.clone()).or_default();
        let first = merged.is_empty();
        // A type given once with one identifier stays a string; anything else becomes a list.
        single.insert(principal_type, first && identifiers.len() == 1);
        merged.extend(identifiers);
    }
    let object = by_type
        .into_iter()
        .map(|(principal_type, identifiers)| {
            let json = if single.get(&principal_type) == Some(&true) {
                Json::String(identifiers.into_iter().next().unwrap_or_default())
            } else {
                Json::Array(identifiers.into_iter().map(Json::String).collect())
            };
            (principal_type, json)
        })
        .collect();
    Ok(Some(Json::Object(object)))
}

/// `{"Test": {"variable": values}}`, values in the order written, one value as a string.
fn render_conditions(conditions: Vec<&Value>, version: &str) -> Result<Option<Json>, ProviderError> {
    if conditions.is_empty() {
        return Ok(None);
    }
    let mut by_test: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for condition in conditions {
        let test = string_attr(condition, "test").unwrap_or_default();
        let variable = string_attr(condition, "variable").unwrap_or_default();
        let values = strings(condition.get("values"))
            .into_iter()
            .map(|value| substitute_variables(&value, version))
            .collect::<Result<Vec<_>, _>>()?;
        by_test.entry(test).or_default().entry(variable).or_default().extend(values);
    }
    let object = by_test
        .into_iter()
        .map(|(test, variables)| {
            let variables = variables
                .into_iter()
                .map(|(variable, values)| {
                    let json = string_or_list(values).unwrap_or(Json::Array(Vec::new()));
                    (variable, json)
                })
                .collect();
            (test, Json::Object(variables))
        })
        .collect();
    Ok(Some(Json::Object(object)))
}

/// `&{aws:username}` is how HCL users write the policy variable `${aws:username}`, which HCL
/// would otherwise interpolate.
fn substitute_variables(text: &str, version: &str) -> Result<String, ProviderError> {
    if version == LEGACY_VERSION && text.contains("&{") {
        return Err(ProviderError::invalid(format!(
            "found &{{ sequence in ({text}), which is not supported in document version {LEGACY_VERSION}; \
             use version \"{DEFAULT_VERSION}\""
        )));
    }
    Ok(text.replace("&{", "${"))
}

fn string_or_list(mut items: Vec<String>) -> Option<Json> {
    match items.len() {
        0 => None,
        1 => items.pop().map(Json::String),
        _ => Some(Json::Array(items.into_iter().map(Json::String).collect())),
    }
}

fn reverse_sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort_unstable_by(|a, b| b.cmp(a));
    items.dedup();
    items
}

fn string_attr(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_list)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A nested block's items, whether the body holds them as a list or (single) as an object.
fn blocks<'a>(value: &'a Value, name: &str) -> Vec<&'a Value> {
    match value.get(name).map(Value::unmarked) {
        Some(Value::List(items)) => items.iter().collect(),
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    }
}

/// Writes `json` as Go's `json.MarshalIndent(v, "", "  ")` does (`indent` is the current depth)
/// or as `json.Marshal` does (`indent` is `None`).
fn write(json: &Json, indent: Option<usize>, out: &mut String) {
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    match json {
        Json::String(text) => write_json_string(text, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(depth) = indent {
                    newline(out, depth + 1);
                }
                write(item, indent.map(|depth| depth + 1), out);
            }
            if let Some(depth) = indent {
                newline(out, depth);
            }
            out.push(']');
        }
        Json::Object(fields) => {
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(depth) = indent {
                    newline(out, depth + 1);
                }
                write_json_string(key, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(value, indent.map(|depth| depth + 1), out);
            }
            if let Some(depth) = indent {
                newline(out, depth);
            }
            out.push('}');
        }
    }
}

/// The data source's id: Terraform's `StringHashcode`, the CRC-32 (IEEE) of the JSON.
pub(crate) fn hashcode(text: &str) -> String {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in text.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    (!crc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|item| Value::from(*item)).collect())
    }

    fn principals(principal_type: &str, identifiers: &[&str]) -> Value {
        Value::List(vec![Value::object([("type", principal_type.into()), ("identifiers", list(identifiers))])])
    }

    fn condition(test: &str, variable: &str, values: &[&str]) -> Value {
        Value::object([("test", test.into()), ("variable", variable.into()), ("values", list(values))])
    }

    /// Seed 001: the EKS Pod Identity trust policy.
    #[test]
    fn renders_the_pod_identity_trust_policy() {
        let config = Value::object([(
            "statement",
            Value::List(vec![Value::object([
                ("effect", "Allow".into()),
                ("actions", list(&["sts:AssumeRole", "sts:TagSession"])),
                ("principals", principals("Service", &["pods.eks.amazonaws.com"])),
            ])]),
        )]);
        let rendered = render(&config).unwrap();
        assert_eq!(
            rendered.json,
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "sts:TagSession",
        "sts:AssumeRole"
      ],
      "Principal": {
        "Service": "pods.eks.amazonaws.com"
      }
    }
  ]
}"#
        );
        assert_eq!(
            rendered.minified,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:TagSession","sts:AssumeRole"],"Principal":{"Service":"pods.eks.amazonaws.com"}}]}"#
        );
    }

    /// Seed 002: CircleCI's web-identity trust, restricted to `main` and `litellm_*` branches.
    #[test]
    fn renders_the_circleci_web_identity_trust_policy() {
        let org = "oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd";
        let branch = |suffix: &str| {
            format!(
                "org/c5a99188-154f-4f69-8da2-b442b1bf78dd/project/*/user/*/vcs-origin/github.com/BerriAI/litellm/vcs-ref/refs/heads/{suffix}"
            )
        };
        let (main, feature) = (branch("main"), branch("litellm_*"));
        let config = Value::object([(
            "statement",
            Value::List(vec![Value::object([
                ("actions", list(&["sts:AssumeRoleWithWebIdentity"])),
                ("principals", principals("Federated", &[&format!("arn:aws:iam::335785316107:oidc-provider/{org}")])),
                (
                    "condition",
                    Value::List(vec![
                        condition("StringEquals", &format!("{org}:aud"), &["c5a99188-154f-4f69-8da2-b442b1bf78dd"]),
                        condition("ForAnyValue:StringLike", &format!("{org}:sub"), &[&main, &feature]),
                    ]),
                ),
            ])]),
        )]);
        let expected = format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Principal": {{
        "Federated": "arn:aws:iam::335785316107:oidc-provider/{org}"
      }},
      "Condition": {{
        "ForAnyValue:StringLike": {{
          "{org}:sub": [
            "{main}",
            "{feature}"
          ]
        }},
        "StringEquals": {{
          "{org}:aud": "c5a99188-154f-4f69-8da2-b442b1bf78dd"
        }}
      }}
    }}
  ]
}}"#
        );
        assert_eq!(render(&config).unwrap().json, expected);
    }

    #[test]
    fn sid_resources_variables_and_escaping() {
        let config = Value::object([
            ("policy_id", "p1".into()),
            (
                "statement",
                Value::List(vec![Value::object([
                    ("sid", "Invoke".into()),
                    ("effect", "Deny".into()),
                    ("not_actions", list(&["bedrock:InvokeModel"])),
                    ("resources", list(&["arn:aws:s3:::b/&{aws:username}/*", "arn:aws:s3:::a<b>&c"])),
                    ("principals", principals("*", &["*"])),
                ])]),
            ),
        ]);
        assert_eq!(
            render(&config).unwrap().minified,
            r#"{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"Invoke","Effect":"Deny","NotAction":"bedrock:InvokeModel","Resource":["arn:aws:s3:::b/${aws:username}/*","arn:aws:s3:::a\u003cb\u003e\u0026c"],"Principal":"*"}]}"#
        );
    }

    #[test]
    fn principals_of_one_type_merge_and_duplicate_sids_fail() {
        let two_blocks = Value::List(vec![
            Value::object([("type", "AWS".into()), ("identifiers", list(&["arn:aws:iam::1:root"]))]),
            Value::object([("type", "AWS".into()), ("identifiers", list(&["arn:aws:iam::2:root"]))]),
        ]);
        let config = Value::object([("statement", Value::List(vec![Value::object([("principals", two_blocks)])]))]);
        assert_eq!(
            render(&config).unwrap().minified,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","arn:aws:iam::2:root"]}}]}"#
        );
        let twice = Value::object([("sid", "A".into())]);
        let config = Value::object([("statement", Value::List(vec![twice.clone(), twice]))]);
        assert!(render(&config).unwrap_err().message.contains("duplicate Sid (A)"));
    }

    #[test]
    fn hashcode_is_crc32() {
        assert_eq!(hashcode("123456789"), "3421780262");
        assert_eq!(hashcode(""), "0");
    }
}
