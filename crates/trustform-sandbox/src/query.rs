//! The AWS query protocol shared by IAM and STS: form-encoded `Action=...` requests and XML
//! answers wrapped in `<ActionResponse><ActionResult>`, errors in `<ErrorResponse>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::server::{RequestId, Shared};
use crate::{iam, sts};

pub(crate) const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub(crate) const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A query-protocol error: `Type` is `Sender` for 4xx and `Receiver` for 5xx.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl QueryError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        QueryError { status, code, message: message.into() }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        QueryError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    pub(crate) fn throttled() -> Self {
        QueryError::new(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
    }

    pub(crate) fn service_failure() -> Self {
        QueryError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
}

/// The form parameters of one request, e.g. `RoleName` or `Tags.member.1.Key`.
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    pub(crate) fn parse(body: &[u8]) -> Params {
        Params(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter, rejected the way AWS's validation layer rejects a null member.
    pub(crate) fn required(&self, name: &str) -> Result<&str, QueryError> {
        self.get(name).ok_or_else(|| {
            QueryError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// The members of a list parameter, `NAME.member.1`, `NAME.member.2`..., in index order.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.member.");
        self.indexed(&prefix)
            .into_iter()
            .filter(|(_, suffix, _)| suffix.is_empty())
            .map(|(_, _, value)| value.to_owned())
            .collect()
    }

    /// `Tags.member.N.Key` / `Tags.member.N.Value` pairs in index order.
    pub(crate) fn tags(&self) -> Result<Vec<(String, String)>, QueryError> {
        let mut tags: BTreeMap<u32, (Option<String>, String)> = BTreeMap::new();
        for (index, suffix, value) in self.indexed("Tags.member.") {
            let entry = tags.entry(index).or_default();
            match suffix {
                ".Key" => entry.0 = Some(value.to_owned()),
                ".Value" => value.clone_into(&mut entry.1),
                _ => {}
            }
        }
        tags.into_values()
            .map(|(key, value)| {
                let key = key.ok_or_else(|| {
                    QueryError::validation("1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null")
                })?;
                Ok((key, value))
            })
            .collect()
    }

    /// `(index, rest after the index, value)` for every parameter starting with `prefix` followed
    /// by a decimal index, sorted by index.
    fn indexed<'a>(&'a self, prefix: &str) -> Vec<(u32, &'a str, &'a str)> {
        let mut found: Vec<(u32, &str, &str)> = self
            .0
            .iter()
            .filter_map(|(key, value)| {
                let rest = key.strip_prefix(prefix)?;
                let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                let index = rest[..digits].parse().ok()?;
                Some((index, &rest[digits..], value.as_str()))
            })
            .collect();
        found.sort_by_key(|(index, _, _)| *index);
        found
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Builds XML text with escaping, one element at a time.
#[derive(Debug, Default)]
pub(crate) struct Xml(String);

impl Xml {
    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    pub(crate) fn close(&mut self, name: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name).text(text).close(name)
    }

    /// `<name><member>..</member>...</name>` for a list of strings.
    pub(crate) fn members<'a>(&mut self, name: &str, items: impl IntoIterator<Item = &'a String>) -> &mut Self {
        self.open(name);
        for item in items {
            self.leaf("member", item);
        }
        self.close(name)
    }

    /// `<Tags><member><Key>..</Key><Value>..</Value></member>...</Tags>`.
    pub(crate) fn tags(&mut self, tags: &BTreeMap<String, String>) -> &mut Self {
        self.open("Tags");
        for (key, value) in tags {
            self.open("member").leaf("Key", key).leaf("Value", value).close("member");
        }
        self.close("Tags")
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// The success envelope; `result` is the inside of `<ActionResult>`, or `None` for actions
/// whose response has no result element.
fn success_response(namespace: &str, action: &str, result: Option<String>, request_id: RequestId) -> Response {
    let mut body = format!(r#"<{action}Response xmlns="{namespace}">"#);
    if let Some(result) = result {
        body.push_str(&format!("<{action}Result>{result}</{action}Result>"));
    }
    let mut metadata = Xml::default();
    metadata.open("ResponseMetadata").leaf("RequestId", &request_id.to_string()).close("ResponseMetadata");
    body.push_str(&metadata.into_string());
    body.push_str(&format!("</{action}Response>"));
    xml_response(StatusCode::OK, body)
}

pub(crate) fn error_response(namespace: &str, error: &QueryError, request_id: RequestId) -> Response {
    let kind = if error.status.is_server_error() { "Receiver" } else { "Sender" };
    let mut xml = Xml::default();
    xml.open("Error")
        .leaf("Type", kind)
        .leaf("Code", error.code)
        .leaf("Message", &error.message)
        .close("Error")
        .leaf("RequestId", &request_id.to_string());
    let body = format!(r#"<ErrorResponse xmlns="{namespace}">{}</ErrorResponse>"#, xml.into_string());
    xml_response(error.status, body)
}

/// The XML namespace for an answer given before the body (and so the action) is read.
pub(crate) fn namespace_for(headers: &HeaderMap) -> &'static str {
    match service(headers, "") {
        Service::Sts => STS_NAMESPACE,
        Service::Iam => IAM_NAMESPACE,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

/// The service named by the SigV4 credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), else inferred from the action.
fn service(headers: &HeaderMap, action: &str) -> Service {
    let scoped = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3));
    match scoped {
        Some("sts") => Service::Sts,
        Some("iam") => Service::Iam,
        _ if action == "GetCallerIdentity" || action == "AssumeRoleWithWebIdentity" => Service::Sts,
        _ => Service::Iam,
    }
}

/// The prefix of the sandbox's per-account access key ids: `ASBX` and the 12 digits of an
/// account (`ASBX210987654321`) sign requests as that account, so one sandbox can emulate
/// several accounts, as aliased `provider "aws"` blocks with their own `allowed_account_ids`
/// reach several. Any other key id is the configured account's.
pub const ACCOUNT_KEY_PREFIX: &str = "ASBX";

/// The account a SigV4-signed request names through its access key id (see
/// [`ACCOUNT_KEY_PREFIX`]).
pub(crate) fn signing_account(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let key_id = value.split("Credential=").nth(1)?.split('/').next()?;
    let account = key_id.strip_prefix(ACCOUNT_KEY_PREFIX)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

/// The access key id that signs requests as `account` in the sandbox.
pub fn account_key_id(account: &str) -> String {
    format!("{ACCOUNT_KEY_PREFIX}{account}")
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let Some(action) = params.get("Action") else {
        let error = QueryError::new(StatusCode::BAD_REQUEST, "MissingAction", "Missing Action");
        return error_response(IAM_NAMESPACE, &error, request_id);
    };
    let account = signing_account(&headers).unwrap_or_else(|| shared.config.account_id.clone());
    let (namespace, answer) = match service(&headers, action) {
        Service::Sts => {
            let session_token = headers.get("x-amz-security-token").and_then(|value| value.to_str().ok());
            (STS_NAMESPACE, sts::dispatch(&shared, &account, action, &params, session_token))
        }
        Service::Iam => (IAM_NAMESPACE, iam::dispatch(&shared, &account, action, &params)),
    };
    match answer {
        Ok(result) => success_response(namespace, action, result, request_id),
        Err(error) => error_response(namespace, &error, request_id),
    }
}

/// The error for an action this service does not implement.
pub(crate) fn invalid_action(action: &str, version: Option<&str>) -> QueryError {
    QueryError::new(
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        format!("Could not find operation {action} for version {}", version.unwrap_or("NO_VERSION_SPECIFIED")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_tag_members_come_back_in_index_order() {
        let params = Params::parse(
            b"ClientIDList.member.10=j&ClientIDList.member.2=b&Tags.member.2.Key=k2&Tags.member.2.Value=v2&Tags.member.1.Key=k1&Tags.member.1.Value=v%261",
        );
        assert_eq!(params.list("ClientIDList"), vec!["b", "j"]);
        assert_eq!(
            params.tags().unwrap(),
            vec![("k1".to_owned(), "v&1".to_owned()), ("k2".to_owned(), "v2".to_owned())]
        );
    }

    #[test]
    fn a_tag_without_a_key_is_a_validation_error() {
        let params = Params::parse(b"Tags.member.1.Value=v");
        assert_eq!(params.tags().unwrap_err().code, "ValidationError");
    }

    #[test]
    fn missing_parameters_name_the_member() {
        let error = Params::default().required("RoleName").unwrap_err();
        assert!(error.message.contains("'roleName'"), "{}", error.message);
    }

    #[test]
    fn xml_text_is_escaped() {
        let mut xml = Xml::default();
        xml.leaf("Message", r#"a<b & "c""#);
        assert_eq!(xml.into_string(), "<Message>a&lt;b &amp; &quot;c&quot;</Message>");
    }

    #[test]
    fn the_credential_scope_names_the_service() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        assert_eq!(service(&headers, "GetRole"), Service::Sts);
        assert_eq!(service(&HeaderMap::new(), "GetCallerIdentity"), Service::Sts);
        assert_eq!(service(&HeaderMap::new(), "GetRole"), Service::Iam);
    }
}
