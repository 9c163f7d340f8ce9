//! Policy documents and URLs as IAM hands them back, turned into what the user wrote.
//!
//! IAM returns every policy document URL-encoded (RFC 3986) and OIDC provider URLs without their
//! `https://`. State must hold what the configuration says whenever the cloud agrees with it
//! semantically, or every plan would show a change.

use percent_encoding::percent_decode_str;
use trustform_lang::Value;
use trustform_schema::json_documents_equal;

/// Decodes a policy document from IAM. Text that does not decode to UTF-8 is kept as given.
pub(crate) fn decode_policy(raw: &str) -> String {
    match percent_decode_str(raw).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => raw.to_owned(),
    }
}

/// The value to store for a policy read from IAM: the prior spelling when it means the same
/// document, the decoded live document otherwise (drift).
pub(crate) fn policy_value(prior: Option<&Value>, raw_live: &str) -> Value {
    let live = decode_policy(raw_live);
    match prior.and_then(Value::as_str) {
        Some(prior) if json_documents_equal(prior, &live) => Value::string(prior),
        _ => Value::string(live),
    }
}

/// IAM's form of an OIDC provider URL: no scheme, no trailing slash.
pub(crate) fn oidc_host_path(url: &str) -> &str {
    let without_scheme = url.strip_prefix("https://").unwrap_or(url);
    without_scheme.trim_end_matches('/')
}

/// The value to store for an OIDC URL read from IAM: the prior spelling when it names the same
/// provider, `https://` plus the live value otherwise.
pub(crate) fn oidc_url_value(prior: Option<&Value>, live: &str) -> Value {
    match prior.and_then(Value::as_str) {
        Some(prior) if oidc_host_path(prior) == oidc_host_path(live) => Value::string(prior),
        _ => Value::string(format!("https://{}", oidc_host_path(live))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_documents() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(raw), r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(decode_policy(r#"{"already":"plain"}"#), r#"{"already":"plain"}"#);
    }

    #[test]
    fn keeps_the_prior_spelling_when_the_document_means_the_same() {
        let prior =
            Value::string(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#);
        let live = "%7B%22Statement%22%3A%5B%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Effect%22%3A%22Allow%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(policy_value(Some(&prior), live), prior);
        let drifted = live.replace("AssumeRole", "TagSession");
        assert_eq!(
            policy_value(Some(&prior), &drifted),
            Value::string(r#"{"Statement":[{"Action":["sts:TagSession"],"Effect":"Allow"}],"Version":"2012-10-17"}"#)
        );
    }

    #[test]
    fn oidc_urls_get_their_scheme_back() {
        let prior = Value::string("https://oidc.circleci.com/org/abc");
        assert_eq!(oidc_url_value(Some(&prior), "oidc.circleci.com/org/abc"), prior);
        assert_eq!(
            oidc_url_value(None, "oidc.circleci.com/org/abc"),
            Value::string("https://oidc.circleci.com/org/abc")
        );
        assert_eq!(
            oidc_url_value(Some(&prior), "token.actions.githubusercontent.com"),
            Value::string("https://token.actions.githubusercontent.com")
        );
    }
}
