//! Persistence of an emulated cloud across processes, as a journal of the requests that
//! changed it.
//!
//! Every request that may change state (any method but `GET` and `HEAD`) is appended to a JSON
//! Lines file, with the time it was served, before its response is sent. A sandbox started on
//! the same journal replays the entries through its own handlers, in order and at their
//! recorded times, before it accepts a connection, so it answers exactly as the sandbox that
//! served them would: the same ids (every generator is seeded), the same timestamps, the same
//! etags. Mutations are served one at a time while journaling, so the order in the file is the
//! order the state saw.
//!
//! A journal is only valid for the configuration that wrote it: the first line records the
//! configuration's fingerprint and the time the sandbox was first created, and a sandbox with a
//! different configuration refuses the file rather than replay it into a different world.
//!
//! Credentials never reach the file: an AWS `Authorization` header keeps only the service its
//! SigV4 scope names (which tells IAM from STS), a bearer token becomes a placeholder, and in
//! request bodies (form or JSON) every field that carries a credential (`WebIdentityToken`,
//! `client_secret`, `client_assertion`, `SecretAccessKey`, tokens, passwords, private keys) is
//! replaced by a placeholder; the handlers read none of them. The file is created with mode
//! 0600, and opened without following a symbolic link.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The journal format this build writes and replays.
const FORMAT: u32 = 1;

/// The first line of a journal.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Header {
    format: u32,
    /// [`crate::SandboxConfig::fingerprint`] of the sandbox that started the journal.
    config: String,
    /// When the emulated cloud was created: preloaded projects and clusters carry this time.
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

/// One request that may have changed state.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Entry {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
    method: String,
    /// Path and query.
    uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    /// The credential the handlers need to see, with the secret parts removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorization: Option<String>,
    /// The body, as text when it is UTF-8 (JSON and form bodies always are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

impl Entry {
    /// The journal entry for a request about to be served at `at`.
    pub(crate) fn record(method: &Method, uri: &str, headers: &HeaderMap, body: &[u8], at: OffsetDateTime) -> Entry {
        let text = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok()).map(str::to_owned);
        // A KV write's body is the emulated Vault's storage: kept as written, or a replay would
        // hold placeholders where the secrets were.
        let vault_storage =
            crate::vault::serves(uri.split('?').next().unwrap_or(uri)) && !uri.starts_with("/vault/v1/auth/");
        let (body, body_base64) = match std::str::from_utf8(body) {
            _ if body.is_empty() => (None, None),
            Ok(utf8) if vault_storage => (Some(utf8.to_owned()), None),
            Ok(utf8) => (Some(redact_body(utf8, text(header::CONTENT_TYPE).as_deref())), None),
            Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(body))),
        };
        Entry {
            at,
            method: method.as_str().to_owned(),
            uri: uri.to_owned(),
            content_type: text(header::CONTENT_TYPE),
            // Vault's `X-Vault-Token` is a credential too: kept only as "there was one".
            authorization: text(header::AUTHORIZATION).map(|value| redact_authorization(&value)).or_else(|| {
                text(header::HeaderName::from_static("x-vault-token")).map(|_| "Bearer journal".to_owned())
            }),
            body,
            body_base64,
        }
    }

    /// The request this entry replays.
    pub(crate) fn request(&self) -> io::Result<Request<Body>> {
        let body = match (&self.body, &self.body_base64) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| invalid(format!("an entry's body is not base64: {e}")))?,
            (None, None) => Vec::new(),
        };
        let mut builder = Request::builder().method(self.method.as_str()).uri(self.uri.as_str());
        if let Some(content_type) = &self.content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        builder.body(Body::from(body)).map_err(|e| invalid(format!("an entry is not a valid request: {e}")))
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...` keeps its scope
/// (which names the service) with the key id and signature replaced; anything else, a bearer
/// token above all, becomes `Bearer journal`. A sandbox account key id (`ASBX` and an account,
/// [`crate::query::ACCOUNT_KEY_PREFIX`]) is kept: it is no credential, and a replay must serve
/// the request in the same account.
fn redact_authorization(value: &str) -> String {
    let credential = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .and_then(|rest| rest.split("Credential=").nth(1))
        .and_then(|credential| credential.split([',', ' ']).next())
        .and_then(|credential| credential.split_once('/'));
    match credential {
        Some((key_id, scope)) => {
            let account = key_id
                .strip_prefix(crate::query::ACCOUNT_KEY_PREFIX)
                .filter(|account| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
            let key_id = match account {
                Some(_) => key_id,
                None => "journal",
            };
            format!("AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=host, Signature=0")
        }
        None => "Bearer journal".to_owned(),
    }
}

/// What a credential in a request body is replaced with.
const REDACTED: &str = "journal-redacted";

/// Whether a body field (form parameter or JSON key, any case, `_` or not) carries a
/// credential: AWS's `WebIdentityToken`, `SAMLAssertion`, `SecretAccessKey`, OAuth's
/// `client_secret`, `client_assertion`, `assertion`, `subject_token` and every other token,
/// passwords and private keys. Idempotency and paging tokens (`clientRequestToken`,
/// `nextToken`, `pageToken`) are no credentials, and replay needs them.
fn is_credential_field(name: &str) -> bool {
    let name: String = name.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
    let not_secret = ["requesttoken", "nexttoken", "pagetoken"].iter().any(|suffix| name.ends_with(suffix));
    !not_secret && name.ends_with("token")
        || name.ends_with("secret")
        || name.ends_with("secretaccesskey")
        || name.ends_with("assertion")
        || name.ends_with("password")
        || name.contains("privatekey")
        || name == "credentials"
}

/// A request body with every credential field replaced by [`REDACTED`]: a form body parameter by
/// parameter, a JSON body key by key at any depth. Other bodies are kept as they are.
fn redact_body(text: &str, content_type: Option<&str>) -> String {
    if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(text) {
        if redact_json(&mut json) {
            return serde_json::to_string(&json).unwrap_or_else(|_| REDACTED.to_owned());
        }
        return text.to_owned();
    }
    let form = content_type.is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"));
    if form && form_urlencoded::parse(text.as_bytes()).any(|(name, _)| is_credential_field(&name)) {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(text.as_bytes()) {
            let value = if is_credential_field(&name) { REDACTED.into() } else { value };
            out.append_pair(&name, &value);
        }
        return out.finish();
    }
    text.to_owned()
}

/// Replaces credential fields in place; whether any was found.
fn redact_json(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(fields) => {
            let mut found = false;
            for (name, field) in fields.iter_mut() {
                if is_credential_field(name) && !field.is_null() {
                    *field = serde_json::Value::String(REDACTED.to_owned());
                    found = true;
                } else {
                    found |= redact_json(field);
                }
            }
            found
        }
        serde_json::Value::Array(items) => {
            // Every item is visited: no short cut once one had a credential.
            let mut found = false;
            for item in items {
                found |= redact_json(item);
            }
            found
        }
        _ => false,
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// An open journal: what it held when opened, and the file new entries are appended to.
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// When the emulated cloud was first created.
    pub(crate) created: OffsetDateTime,
    /// The entries found when the journal was opened, to replay.
    pub(crate) entries: Vec<Entry>,
}

impl Journal {
    /// Opens the journal at `path`, creating it (and its directory) for a new cloud. Refuses a
    /// journal written for another configuration or by another format. A last line cut short
    /// (a process killed in the middle of appending it) is dropped: its request never got an
    /// answer, so no client relied on it.
    pub(crate) fn open(path: &Path, fingerprint: &str) -> io::Result<Journal> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let existing = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
            Ok(file) => Some(read(path, file, fingerprint)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut file =
            OpenOptions::new().create(true).append(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(path)?;
        // A journal written before the mode was set, or copied in, is made private as well.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        let (created, entries, valid_len) = match existing {
            Some(read) => read,
            None => {
                let header = Header {
                    format: FORMAT,
                    config: fingerprint.to_owned(),
                    created: crate::ids::now().truncate_to_second(),
                };
                let mut line = serde_json::to_vec(&header).map_err(io::Error::other)?;
                line.push(b'\n');
                file.write_all(&line)?;
                file.sync_data()?;
                (header.created, Vec::new(), line.len() as u64)
            }
        };
        // Drop a torn last line so that the next entry starts on a line of its own.
        if file.metadata()?.len() > valid_len {
            file.set_len(valid_len)?;
        }
        Ok(Journal { path: path.to_owned(), file: Mutex::new(file), created, entries })
    }

    /// Appends one entry. The write reaches the operating system before this returns, so a
    /// client that got an answer finds the change in the next process even if this one is
    /// killed.
    pub(crate) fn append(&self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// The header's creation time, the entries, and the length of the file's valid prefix.
fn read(path: &Path, file: File, fingerprint: &str) -> io::Result<(OffsetDateTime, Vec<Entry>, u64)> {
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut valid_len = 0u64;
    let mut header: Option<Header> = None;
    let mut entries = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = reader.read_line(&mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        if !line.ends_with('\n') {
            tracing::warn!(path = %path.display(), line = number, "dropping a journal entry cut short");
            break;
        }
        let at = |e: serde_json::Error| invalid(format!("{} line {number}: {e}", path.display()));
        match &header {
            None => {
                let found: Header = serde_json::from_str(&line).map_err(at)?;
                if found.format != FORMAT {
                    return Err(invalid(format!(
                        "{} was written in sandbox journal format {}; this build reads format {FORMAT}. Reset the sandbox (`trustform sandbox reset`).",
                        path.display(),
                        found.format
                    )));
                }
                if found.config != fingerprint {
                    return Err(invalid(format!(
                        "{} was written by a sandbox with a different configuration; replaying it would build another cloud. Reset the sandbox (`trustform sandbox reset`).",
                        path.display()
                    )));
                }
                header = Some(found);
            }
            Some(_) => entries.push(serde_json::from_str(&line).map_err(at)?),
        }
        valid_len += read as u64;
    }
    let header = header.ok_or_else(|| invalid(format!("{} has no header line", path.display())))?;
    Ok((header.created, entries, valid_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_journal() {
        let account = "AWS4-HMAC-SHA256 Credential=ASBX210987654321/20261201/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=deadbeef";
        assert_eq!(
            redact_authorization(account),
            "AWS4-HMAC-SHA256 Credential=ASBX210987654321/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"
        );
        let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIASECRET/20261201/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=deadbeef";
        assert_eq!(
            redact_authorization(sigv4),
            "AWS4-HMAC-SHA256 Credential=journal/20261201/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0"
        );
        assert_eq!(redact_authorization("Bearer ya29.secret-token"), "Bearer journal");
    }

    #[test]
    fn credentials_in_request_bodies_never_reach_the_journal() {
        let form = "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&WebIdentityToken=eyJ.secret.jwt&Version=2011-06-15";
        let redacted = redact_body(form, Some("application/x-www-form-urlencoded; charset=utf-8"));
        assert!(!redacted.contains("eyJ.secret.jwt"), "{redacted}");
        assert!(redacted.contains("WebIdentityToken=journal-redacted"), "{redacted}");
        assert!(redacted.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"), "{redacted}");

        let json = r#"{"client_secret":"s3cr3t","nested":{"clientAssertion":"eyJ.assert","subject_token":"tok"},
            "items":[{"SecretAccessKey":"wJalr"}],"accessToken":"ya29.x","displayName":"keep me"}"#;
        let redacted = redact_body(json, Some("application/json"));
        for secret in ["s3cr3t", "eyJ.assert", "tok\"", "wJalr", "ya29.x"] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(redacted.contains("keep me"), "{redacted}");
        let idempotent = r#"{"namespace":"n","clientRequestToken":"abc"}"#;
        assert_eq!(redact_body(idempotent, Some("application/json")), idempotent, "replay needs the token");

        // A body without credentials is kept byte for byte, so its replay is exact.
        let plain = r#"{"displayName": "AWS pool",  "disabled":false}"#;
        assert_eq!(redact_body(plain, Some("application/json")), plain);
        let policy = "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D";
        assert_eq!(redact_body(policy, Some("application/x-www-form-urlencoded")), policy);
    }

    #[test]
    fn the_journal_is_private_and_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        drop(Journal::open(&path, "f1").unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        let target = dir.path().join("credentials");
        std::fs::write(&target, "[default]\naws_secret_access_key = real\n").unwrap();
        let linked = dir.path().join("linked.jsonl");
        std::os::unix::fs::symlink(&target, &linked).unwrap();
        assert!(Journal::open(&linked, "f1").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[default]\naws_secret_access_key = real\n");
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_next_entry_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox/journal.jsonl");
        let journal = Journal::open(&path, "f1").unwrap();
        let entry = Entry::record(&Method::POST, "/x?a=1", &HeaderMap::new(), b"{}", crate::ids::now());
        journal.append(&entry).unwrap();
        drop(journal);
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"at\":\"20").unwrap();

        let journal = Journal::open(&path, "f1").unwrap();
        assert_eq!(journal.entries.len(), 1);
        assert_eq!(journal.entries[0].uri, "/x?a=1");
        journal.append(&entry).unwrap();
        drop(journal);
        assert_eq!(Journal::open(&path, "f1").unwrap().entries.len(), 2);
    }

    #[test]
    fn a_journal_of_another_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        drop(Journal::open(&path, "f1").unwrap());
        let error = Journal::open(&path, "f2").err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("trustform sandbox reset"), "{error}");
    }

    #[test]
    fn binary_bodies_round_trip() {
        let entry = Entry::record(&Method::PUT, "/b", &HeaderMap::new(), &[0xff, 0x00], crate::ids::now());
        let line = serde_json::to_string(&entry).unwrap();
        let back: Entry = serde_json::from_str(&line).unwrap();
        let request = back.request().unwrap();
        assert_eq!(request.method(), Method::PUT);
        assert_eq!(back.body_base64.as_deref(), Some("/wA="));
    }
}
