//! IAM's evaluation of a role's trust policy for one request: which principal asks, for which
//! action, with which request context keys (for a web identity, `ISSUER:aud` and `ISSUER:sub`,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif).
//!
//! An explicit `Deny` wins over any `Allow`; an `Allow` applies when its principal and action
//! match and every condition holds. Conditions follow
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//! and the multivalued rules of
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html:
//! several operators, and several keys under one operator, must all hold; several values of one
//! key match if any does (none may, for a negated operator); a missing key fails a positive
//! operator and satisfies a negated one; `...IfExists` is satisfied by a missing key;
//! `ForAnyValue:` needs one request value to match, `ForAllValues:` every one (an empty or missing
//! key satisfies it); `Null` tests presence.

use std::collections::BTreeMap;

use serde_json::Value;

/// Who asks to assume the role.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Principal<'a> {
    /// `{"Federated": ARN}`: an OIDC provider's ARN.
    Federated(&'a str),
    /// `{"Service": NAME}`: e.g. `pods.eks.amazonaws.com`.
    Service(&'a str),
}

/// One request: the principal, the actions it needs (all must be allowed), its context keys
/// (names compared case-insensitively, as IAM does).
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) principal: Principal<'a>,
    pub(crate) actions: &'a [&'a str],
    pub(crate) context: BTreeMap<String, Vec<String>>,
}

/// Whether `policy` (a trust policy document) lets the request through.
pub(crate) fn allows(policy: &str, request: &Request<'_>) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else { return false };
    let statements = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => return false,
    };
    let context: BTreeMap<String, Vec<String>> =
        request.context.iter().map(|(key, values)| (key.to_ascii_lowercase(), values.clone())).collect();
    request.actions.iter().all(|action| {
        let applies = |statement: &Value| {
            principal_matches(statement.get("Principal"), request.principal)
                && action_matches(statement.get("Action"), action)
                && conditions_hold(statement.get("Condition"), &context)
        };
        let effect_is =
            |statement: &Value, effect: &str| statement.get("Effect").and_then(Value::as_str) == Some(effect);
        let denied = statements.iter().any(|s| effect_is(s, "Deny") && applies(s));
        !denied && statements.iter().any(|s| effect_is(s, "Allow") && applies(s))
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn principal_matches(principal: Option<&Value>, asking: Principal<'_>) -> bool {
    match principal {
        Some(Value::String(any)) => any == "*",
        Some(Value::Object(kinds)) => {
            let (kind, id) = match asking {
                Principal::Federated(arn) => ("Federated", arn),
                Principal::Service(service) => ("Service", service),
            };
            strings(kinds.get(kind)).iter().any(|listed| listed == id || listed == "*")
        }
        _ => false,
    }
}

fn action_matches(actions: Option<&Value>, action: &str) -> bool {
    strings(actions).iter().any(|pattern| like(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase()))
}

fn conditions_hold(conditions: Option<&Value>, context: &BTreeMap<String, Vec<String>>) -> bool {
    let Some(Value::Object(operators)) = conditions else { return conditions.is_none() };
    operators.iter().all(|(operator, keys)| {
        let Value::Object(keys) = keys else { return false };
        keys.iter().all(|(key, wanted)| {
            condition_holds(operator, context.get(&key.to_ascii_lowercase()), &strings(Some(wanted)))
        })
    })
}

/// One `"Operator": {"key": values}` entry.
fn condition_holds(operator: &str, present: Option<&Vec<String>>, wanted: &[String]) -> bool {
    let (set, operator) = match operator.split_once(':') {
        Some((set, rest)) => (Some(set), rest),
        None => (None, operator),
    };
    let (operator, if_exists) = match operator.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    if operator == "Null" {
        let absent = present.is_none_or(Vec::is_empty);
        return wanted.iter().any(|w| (w == "true") == absent);
    }
    let Some((matches, negated)) = matcher(operator) else { return false };
    let values = match present {
        Some(values) if !values.is_empty() => values,
        _ => {
            return match set {
                Some("ForAllValues") => true,
                Some(_) => false,
                None => if_exists || negated,
            }
        }
    };
    let one = |value: &String| {
        let any = wanted.iter().any(|w| matches(w, value));
        if negated {
            !any
        } else {
            any
        }
    };
    match set {
        Some("ForAllValues") => values.iter().all(one),
        Some("ForAnyValue") => values.iter().any(one),
        // A single-valued key used with several request values: any value may match (the
        // claims of a web identity are single-valued but for `amr`).
        _ => values.iter().any(one),
    }
}

type Match = fn(&str, &str) -> bool;

/// The comparison of an operator, and whether it is negated.
fn matcher(operator: &str) -> Option<(Match, bool)> {
    Some(match operator {
        "StringEquals" => (|w: &str, v: &str| w == v, false),
        "StringNotEquals" => (|w: &str, v: &str| w == v, true),
        "StringEqualsIgnoreCase" => (|w: &str, v: &str| w.eq_ignore_ascii_case(v), false),
        "StringNotEqualsIgnoreCase" => (|w: &str, v: &str| w.eq_ignore_ascii_case(v), true),
        "StringLike" => (like, false),
        "StringNotLike" => (like, true),
        "Bool" => (|w: &str, v: &str| w.eq_ignore_ascii_case(v), false),
        _ => return None,
    })
}

/// `StringLike`: `*` matches any run of characters, `?` one character.
fn like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    fn web_identity(sub: &str, aud: &str) -> Request<'static> {
        let mut context = BTreeMap::new();
        context.insert("token.actions.githubusercontent.com:sub".to_owned(), vec![sub.to_owned()]);
        context.insert("token.actions.githubusercontent.com:aud".to_owned(), vec![aud.to_owned()]);
        Request { principal: Principal::Federated(GITHUB), actions: &["sts:AssumeRoleWithWebIdentity"], context }
    }

    fn policy(condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{GITHUB}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}]}}"#
        )
    }

    #[test]
    fn string_like_on_the_subject_admits_only_its_branches() {
        let trust = policy(
            r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/gw:ref:refs/heads/main","repo:acme/gw:ref:refs/heads/release/*"]}}"#,
        );
        assert!(allows(&trust, &web_identity("repo:acme/gw:ref:refs/heads/main", "sts.amazonaws.com")));
        assert!(allows(&trust, &web_identity("repo:acme/gw:ref:refs/heads/release/1.2", "sts.amazonaws.com")));
        assert!(!allows(&trust, &web_identity("repo:acme/gw:ref:refs/heads/dev", "sts.amazonaws.com")));
        assert!(!allows(&trust, &web_identity("repo:acme/gw:ref:refs/heads/main", "other")));
    }

    #[test]
    fn negated_operators_admit_what_they_do_not_name() {
        let trust = policy(
            r#"{"StringNotEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/gw:ref:refs/heads/dev"}}"#,
        );
        assert!(allows(&trust, &web_identity("repo:evil/x:ref:refs/heads/main", "sts.amazonaws.com")));
        assert!(!allows(&trust, &web_identity("repo:acme/gw:ref:refs/heads/dev", "sts.amazonaws.com")));
    }

    #[test]
    fn missing_keys_and_set_operators_follow_the_documented_rules() {
        let context: BTreeMap<String, Vec<String>> = BTreeMap::new();
        assert!(!condition_holds("StringEquals", context.get("k"), &["a".to_owned()]));
        assert!(condition_holds("StringNotEquals", context.get("k"), &["a".to_owned()]));
        assert!(condition_holds("StringEqualsIfExists", context.get("k"), &["a".to_owned()]));
        assert!(condition_holds("ForAllValues:StringEquals", context.get("k"), &["a".to_owned()]));
        assert!(!condition_holds("ForAnyValue:StringLike", context.get("k"), &["a".to_owned()]));
        assert!(condition_holds("Null", context.get("k"), &["true".to_owned()]));
        let values = vec!["b".to_owned(), "c".to_owned()];
        assert!(condition_holds("ForAnyValue:StringLike", Some(&values), &["c*".to_owned()]));
        assert!(!condition_holds("ForAllValues:StringLike", Some(&values), &["c*".to_owned()]));
    }

    #[test]
    fn a_deny_wins_and_a_service_principal_is_matched_by_name() {
        let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;
        let pods = |actions: &'static [&'static str]| Request {
            principal: Principal::Service("pods.eks.amazonaws.com"),
            actions,
            context: BTreeMap::new(),
        };
        assert!(allows(trust, &pods(&["sts:AssumeRole", "sts:TagSession"])));
        let without_tags = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert!(!allows(without_tags, &pods(&["sts:AssumeRole", "sts:TagSession"])));
        let denied = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"},{"Effect":"Deny","Principal":"*","Action":"sts:TagSession"}]}"#;
        assert!(!allows(denied, &pods(&["sts:AssumeRole", "sts:TagSession"])));
    }
}
