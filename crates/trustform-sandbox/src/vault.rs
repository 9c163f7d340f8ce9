//! Vault (and OpenBao, which serves the same HTTP API): the subset the `vault` adapter calls,
//! answered as `bao server -dev` 2.x answers it. The answers were recorded from a real OpenBao
//! 2.7.2 dev server, and `crates/trustform-sandbox/tests/vault.rs` replays the same requests
//! against both and compares them (status, error text, the fields the adapter reads), so this
//! module is checked against the real server, not against the adapter.
//!
//! Served under `/vault/v1/...` on the sandbox's port (Google's IAM owns `/v1/`), so the
//! adapter's address is `http://127.0.0.1:PORT/vault`, as behind a reverse proxy with a prefix.
//!
//! - `sys/mounts/:path` (GET, POST, DELETE) and `sys/mounts/:path/tune` (POST): secrets engine
//!   mounts. Only `kv` (version 1 or 2, and the `kv-v2` alias) stores data here; other types are
//!   refused with the catalog's answer, since nothing in Trustform reads them.
//!   <https://openbao.org/api-docs/system/mounts/>
//! - `sys/auth/:path` (GET, POST, DELETE) and `.../tune`: auth methods (`kubernetes`, and the
//!   built-in types by name). <https://openbao.org/api-docs/system/auth/>
//! - `sys/policies/acl/:name` (GET, PUT/POST, DELETE): ACL policies, names lowercased, `root`
//!   and `default` protected. <https://openbao.org/api-docs/system/policies/>
//! - KV v2 `:mount/data/:name` (GET with `?version=`, POST, DELETE) and `:mount/metadata/:name`
//!   (GET, DELETE); KV v1 `:mount/:path`. <https://openbao.org/api-docs/secret/kv/kv-v2/>
//! - Kubernetes auth `auth/:mount/config` and `auth/:mount/role/:name`.
//!   <https://openbao.org/api-docs/auth/kubernetes/>
//!
//! Like a dev server, a new emulated Vault has `secret/` mounted as KV v2 and the `default` and
//! `root` policies. Every request needs a token (`X-Vault-Token` or `Authorization: Bearer`);
//! any token is the root token here. Errors are Vault's `{"errors": [...]}`; a missing object
//! answers 404 `{"errors":[]}`, an unrouted path 404 "no handler for route".
//!
//! Under a journal, a KV write's body is the emulated Vault's storage and is kept as written
//! (the journal is mode 0600 under `.trustform/sandbox/`), as a dev server keeps it in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::ids::rfc3339;
use crate::server::Shared;

/// Where the emulated Vault's API starts on the sandbox's port.
pub const PREFIX: &str = "/vault";

/// Whether `path` belongs to the emulated Vault.
pub(crate) fn serves(path: &str) -> bool {
    path == PREFIX || path.starts_with("/vault/")
}

/// How many versions of a KV v2 secret are kept when `max_versions` is 0 (the default).
const DEFAULT_MAX_VERSIONS: usize = 10;

/// A Vault error as the wire shows it: a status and `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VaultError {
    status: StatusCode,
    errors: Vec<String>,
    /// A body other than `{"errors": [...]}`: a deleted KV v2 version answers 404 with its
    /// envelope.
    body: Option<Value>,
}

impl VaultError {
    fn new(status: StatusCode, errors: Vec<String>) -> VaultError {
        VaultError { status, errors, body: None }
    }

    /// A KV v2 read of a deleted version: 404 whose body is the version's envelope.
    fn deleted(body: Value) -> VaultError {
        VaultError { status: StatusCode::NOT_FOUND, errors: Vec::new(), body: Some(body) }
    }

    fn bad_request(message: impl Into<String>) -> VaultError {
        VaultError::new(StatusCode::BAD_REQUEST, vec![message.into()])
    }

    /// What Vault answers for an object that is not there: 404 with no message.
    fn not_found() -> VaultError {
        VaultError::new(StatusCode::NOT_FOUND, Vec::new())
    }

    fn no_route(path: &str) -> VaultError {
        VaultError::new(StatusCode::NOT_FOUND, vec![format!("no handler for route \"{path}\". route entry not found.")])
    }

    fn permission_denied() -> VaultError {
        VaultError::new(StatusCode::FORBIDDEN, vec!["permission denied".into()])
    }

    fn unsupported(method: &Method) -> VaultError {
        VaultError::new(StatusCode::METHOD_NOT_ALLOWED, vec![format!("unsupported operation {method}")])
    }

    /// A rate limit quota's answer.
    pub(crate) fn throttled() -> VaultError {
        VaultError::new(StatusCode::TOO_MANY_REQUESTS, vec!["request path \"\": rate limit quota exceeded".into()])
    }

    pub(crate) fn internal() -> VaultError {
        VaultError::new(StatusCode::INTERNAL_SERVER_ERROR, vec!["internal error".into()])
    }

    pub(crate) fn unavailable() -> VaultError {
        VaultError::new(StatusCode::SERVICE_UNAVAILABLE, vec!["Vault is sealed".into()])
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let body = self.body.unwrap_or_else(|| json!({ "errors": self.errors }));
        (self.status, [(header::CONTENT_TYPE, "application/json")], Json(body)).into_response()
    }
}

/// A secrets engine or an auth method: what `sys/mounts` and `sys/auth` describe.
#[derive(Debug, Clone)]
struct Mount {
    kind: String,
    description: String,
    options: Map<String, Value>,
    default_lease_ttl: i64,
    max_lease_ttl: i64,
    local: bool,
    seal_wrap: bool,
    external_entropy_access: bool,
    accessor: String,
    uuid: String,
}

impl Mount {
    fn kv_version(&self) -> Option<u8> {
        (self.kind == "kv")
            .then(|| if self.options.get("version").and_then(Value::as_str) == Some("2") { 2 } else { 1 })
    }

    fn describe(&self, auth: bool) -> Value {
        let mut config = json!({
            "default_lease_ttl": self.default_lease_ttl,
            "force_no_cache": false,
            "max_lease_ttl": self.max_lease_ttl,
        });
        if auth {
            config["token_type"] = json!("default-service");
        }
        json!({
            "accessor": self.accessor,
            "config": config,
            "deprecation_status": "supported",
            "description": self.description,
            "external_entropy_access": self.external_entropy_access,
            "local": self.local,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": "v2.7.2+builtin.bao",
            "running_sha256": "",
            "seal_wrap": self.seal_wrap,
            "type": self.kind,
            "uuid": self.uuid,
        })
    }
}

#[derive(Debug, Clone)]
struct Version {
    data: Option<Value>,
    created_time: String,
    deletion_time: String,
    destroyed: bool,
}

impl Version {
    fn metadata(&self, number: u64) -> Value {
        json!({
            "created_time": self.created_time,
            "custom_metadata": null,
            "deletion_time": self.deletion_time,
            "destroyed": self.destroyed,
            "version": number,
        })
    }
}

#[derive(Debug, Clone, Default)]
struct Secret {
    /// Versions by number; the oldest are dropped past [`DEFAULT_MAX_VERSIONS`].
    versions: BTreeMap<u64, Version>,
    current: u64,
    created_time: String,
    updated_time: String,
}

#[derive(Debug, Clone)]
struct Policy {
    text: String,
    modified: String,
    version: u64,
}

/// The emulated Vault's contents.
#[derive(Debug)]
pub(crate) struct VaultState {
    /// Secrets engines by path with its trailing slash (`secret/`).
    mounts: BTreeMap<String, Mount>,
    /// Auth methods by path with its trailing slash (`kubernetes/`).
    auths: BTreeMap<String, Mount>,
    policies: BTreeMap<String, Policy>,
    /// KV v2 secrets by mount, then name.
    kv2: BTreeMap<String, BTreeMap<String, Secret>>,
    /// KV v1 values by mount, then path.
    kv1: BTreeMap<String, BTreeMap<String, Value>>,
    /// Kubernetes auth configuration by auth mount.
    kubernetes_config: BTreeMap<String, Value>,
    /// Kubernetes auth roles by auth mount, then role name.
    kubernetes_roles: BTreeMap<String, BTreeMap<String, Value>>,
    /// Makes accessors and uuids: deterministic, so a replayed journal answers the same.
    counter: u64,
}

impl Default for VaultState {
    fn default() -> Self {
        let mut state = VaultState {
            mounts: BTreeMap::new(),
            auths: BTreeMap::new(),
            policies: BTreeMap::new(),
            kv2: BTreeMap::new(),
            kv1: BTreeMap::new(),
            kubernetes_config: BTreeMap::new(),
            kubernetes_roles: BTreeMap::new(),
            counter: 0,
        };
        // What `bao server -dev` starts with.
        let mut options = Map::new();
        options.insert("version".into(), json!("2"));
        let secret = state.new_mount("kv", "key/value secret storage", options);
        state.mounts.insert("secret/".into(), secret);
        let now = rfc3339(crate::ids::now());
        for name in ["default", "root"] {
            state.policies.insert(name.into(), Policy { text: String::new(), modified: now.clone(), version: 1 });
        }
        state
    }
}

impl VaultState {
    fn new_mount(&mut self, kind: &str, description: &str, options: Map<String, Value>) -> Mount {
        self.counter += 1;
        let n = self.counter;
        Mount {
            kind: kind.to_owned(),
            description: description.to_owned(),
            options,
            default_lease_ttl: 0,
            max_lease_ttl: 0,
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            accessor: format!("{kind}_{n:08x}"),
            uuid: format!("00000000-0000-4000-8000-{n:012x}"),
        }
    }
}

/// Secrets engine types a real server's catalog has built in; only `kv` keeps data here.
const SECRET_ENGINES: &[&str] = &["kv", "kv-v2", "pki", "transit", "database", "ssh", "totp", "cubbyhole"];
/// Auth method types a real server's catalog has built in.
const AUTH_METHODS: &[&str] = &["kubernetes", "jwt", "oidc", "approle", "userpass", "cert", "ldap", "radius", "token"];
/// Mount paths a user cannot take: `cannot mount "sys/x/"`.
const RESERVED: &[&str] = &["sys/", "auth/", "cubbyhole/", "identity/"];

/// `ANY /vault/v1/*path`.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let Some(path) = uri.path().strip_prefix("/vault/v1/") else {
        return VaultError::no_route(uri.path()).into_response();
    };
    if !has_token(&headers) {
        return VaultError::permission_denied().into_response();
    }
    let body = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(fields)) => fields,
            _ => return VaultError::bad_request("failed to parse JSON input: invalid character").into_response(),
        }
    };
    let mut state = shared.vault();
    match route(&mut state, &method, path, &query, &body) {
        Ok(Some(data)) => {
            let mut answer = envelope(data.clone());
            // `sys/mounts/:path` and `sys/auth/:path` also answer their fields at the top level,
            // as Vault did before the envelope.
            let described = path.starts_with("sys/mounts/") || path.starts_with("sys/auth/");
            if let (true, Value::Object(fields), Value::Object(top)) = (described, data, &mut answer) {
                for (name, field) in fields {
                    top.entry(name).or_insert(field);
                }
            }
            Json(answer).into_response()
        }
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

fn has_token(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok()).unwrap_or("");
    !text("x-vault-token").trim().is_empty()
        || text(header::AUTHORIZATION.as_str()).strip_prefix("Bearer ").is_some_and(|t| !t.trim().is_empty())
}

/// Vault's response envelope around `data`.
fn envelope(data: Value) -> Value {
    json!({
        "request_id": "00000000-0000-0000-0000-000000000000",
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": null,
        "auth": null,
    })
}

type Answer = Result<Option<Value>, VaultError>;

fn route(
    state: &mut VaultState,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Map<String, Value>,
) -> Answer {
    if let Some(rest) = path.strip_prefix("sys/mounts/") {
        return match rest.strip_suffix("/tune") {
            Some(mount) => tune(&mut state.mounts, method, mount, body, false),
            None => mounts(state, method, rest, body),
        };
    }
    if let Some(rest) = path.strip_prefix("sys/auth/") {
        return match rest.strip_suffix("/tune") {
            Some(mount) => tune(&mut state.auths, method, mount, body, true),
            None => auths(state, method, rest, body),
        };
    }
    if let Some(name) = path.strip_prefix("sys/policies/acl/") {
        return policy(state, method, name, body);
    }
    if let Some(rest) = path.strip_prefix("auth/") {
        return auth_path(state, method, path, rest, body);
    }
    let mount = state.mounts.keys().filter(|mount| path.starts_with(mount.as_str())).max_by_key(|m| m.len()).cloned();
    let Some(mount) = mount else {
        return Err(VaultError::no_route(path));
    };
    let rest = &path[mount.len()..];
    match state.mounts[&mount].kv_version() {
        Some(2) => kv2(state, method, &mount, rest, query, body),
        Some(_) => kv1(state, method, &mount, rest, body),
        None => Err(VaultError::no_route(path)),
    }
}

/// `path` as Vault keys a mount: no leading slash, one trailing slash.
fn mount_key(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}

fn mounts(state: &mut VaultState, method: &Method, path: &str, body: &Map<String, Value>) -> Answer {
    let key = mount_key(path);
    match *method {
        Method::GET => match state.mounts.get(&key) {
            Some(mount) => Ok(Some(mount.describe(false))),
            None => Err(VaultError::bad_request(format!("No secret engine mount at {key}"))),
        },
        Method::POST | Method::PUT => {
            let kind = enabled_type(path, body, SECRET_ENGINES)?;
            check_free(state.mounts.keys(), &key)?;
            let mut options = body.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
            let kind = if kind == "kv-v2" {
                options.insert("version".into(), json!("2"));
                "kv"
            } else {
                kind
            };
            let description = body.get("description").and_then(Value::as_str).unwrap_or("");
            let mut mount = state.new_mount(kind, description, options);
            apply_config(&mut mount, body.get("config").and_then(Value::as_object));
            mount.local = flag(body, "local");
            mount.seal_wrap = flag(body, "seal_wrap");
            mount.external_entropy_access = flag(body, "external_entropy_access");
            state.mounts.insert(key, mount);
            Ok(None)
        }
        Method::DELETE => {
            // Unmounting drops everything stored under the mount; unmounting nothing succeeds.
            state.mounts.remove(&key);
            state.kv2.remove(&key);
            state.kv1.remove(&key);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

fn auths(state: &mut VaultState, method: &Method, path: &str, body: &Map<String, Value>) -> Answer {
    let key = mount_key(path);
    match *method {
        Method::GET => match state.auths.get(&key) {
            Some(mount) => Ok(Some(mount.describe(true))),
            None => Err(VaultError::bad_request(format!("No auth engine at {key}"))),
        },
        Method::POST | Method::PUT => {
            let kind = enabled_type(path, body, AUTH_METHODS)?;
            if state.auths.keys().any(|existing| key.starts_with(existing.as_str()) || existing.starts_with(&key)) {
                return Err(VaultError::bad_request(format!("path is already in use at {key}")));
            }
            let description = body.get("description").and_then(Value::as_str).unwrap_or("");
            let mut mount = state.new_mount(kind, description, Map::new());
            mount.accessor = format!("auth_{}", mount.accessor);
            mount.local = flag(body, "local");
            state.auths.insert(key, mount);
            Ok(None)
        }
        Method::DELETE => {
            state.auths.remove(&key);
            state.kubernetes_config.remove(&key);
            state.kubernetes_roles.remove(&key);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

/// The type a `sys/mounts/:path` or `sys/auth/:path` write enables, checked as Vault checks it:
/// a path, a type given as a string, and a type its plugin catalog has.
fn enabled_type<'b>(path: &str, body: &'b Map<String, Value>, catalog: &[&str]) -> Result<&'b str, VaultError> {
    if path.ends_with('/') || path.is_empty() {
        return Err(VaultError::bad_request("cannot write to a path ending in '/'"));
    }
    let Some(kind) = body.get("type").and_then(Value::as_str) else {
        return Err(VaultError::bad_request("backend type must be specified as a string"));
    };
    if !catalog.contains(&kind) {
        return Err(VaultError::bad_request(format!("plugin not found in the catalog: {kind}")));
    }
    Ok(kind)
}

/// A new mount at `key` must not be, contain or sit inside a mount, nor a reserved path.
fn check_free<'a>(existing: impl Iterator<Item = &'a String>, key: &str) -> Result<(), VaultError> {
    if RESERVED.iter().any(|reserved| key.starts_with(reserved)) {
        return Err(VaultError::bad_request(format!("cannot mount \"{key}\"")));
    }
    for mount in existing {
        if key.starts_with(mount.as_str()) || mount.starts_with(key) {
            return Err(VaultError::bad_request(format!("path is already in use at {mount}")));
        }
    }
    Ok(())
}

fn tune(
    mounts: &mut BTreeMap<String, Mount>,
    method: &Method,
    path: &str,
    body: &Map<String, Value>,
    auth: bool,
) -> Answer {
    let key = mount_key(path);
    let Some(mount) = mounts.get_mut(&key) else {
        return Err(VaultError::bad_request(if auth {
            format!("cannot fetch sysview for path \"auth/{key}\"")
        } else {
            format!("cannot fetch sysview for path \"{key}\"")
        }));
    };
    match *method {
        Method::GET => Ok(Some(json!({
            "default_lease_ttl": mount.default_lease_ttl,
            "max_lease_ttl": mount.max_lease_ttl,
            "description": mount.description,
            "force_no_cache": false,
            "options": mount.options,
        }))),
        Method::POST | Method::PUT => {
            apply_config(mount, Some(body));
            if let Some(description) = body.get("description").and_then(Value::as_str) {
                mount.description = description.to_owned();
            }
            if let Some(options) = body.get("options").and_then(Value::as_object) {
                // The KV version can be raised by a tune, never lowered; other options merge.
                for (name, value) in options {
                    mount.options.insert(name.clone(), value.clone());
                }
            }
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

/// Lease TTLs from a mount's `config` (or a tune body): seconds as numbers or Go durations.
fn apply_config(mount: &mut Mount, config: Option<&Map<String, Value>>) {
    let Some(config) = config else { return };
    if let Some(ttl) = config.get("default_lease_ttl").and_then(seconds) {
        mount.default_lease_ttl = ttl;
    }
    if let Some(ttl) = config.get("max_lease_ttl").and_then(seconds) {
        mount.max_lease_ttl = ttl;
    }
}

/// A TTL as Vault parses one: a number of seconds, or a string of seconds or of `Ns`/`Nm`/`Nh`.
fn seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => {
            let text = text.trim();
            let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                Some((at, _)) => text.split_at(at),
                None => (text, ""),
            };
            let n: i64 = digits.parse().ok()?;
            match unit {
                "" | "s" => Some(n),
                "m" => Some(n * 60),
                "h" => Some(n * 3600),
                _ => None,
            }
        }
        _ => None,
    }
}

fn flag(body: &Map<String, Value>, name: &str) -> bool {
    body.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn policy(state: &mut VaultState, method: &Method, name: &str, body: &Map<String, Value>) -> Answer {
    // Policy names are case-insensitive and kept lowercase.
    let name = name.trim_matches('/').to_lowercase();
    match *method {
        Method::GET => match state.policies.get(&name) {
            Some(policy) => Ok(Some(json!({
                "allow_slashes_in_identity_templates": false,
                "allow_wildcards_in_identity_templates": false,
                "cas_required": false,
                "modified": policy.modified,
                "name": name,
                "policy": policy.text,
                "version": policy.version,
            }))),
            None => Err(VaultError::not_found()),
        },
        Method::POST | Method::PUT => {
            if name == "root" {
                return Err(VaultError::bad_request("cannot update \"root\" policy"));
            }
            let text = body.get("policy").and_then(Value::as_str).unwrap_or("");
            if text.trim().is_empty() {
                return Err(VaultError::bad_request("'policy' parameter not supplied or empty"));
            }
            if let Err(detail) = parse_policy(text) {
                return Err(VaultError::bad_request(format!("failed to parse policy: {detail}")));
            }
            let modified = rfc3339(crate::ids::now());
            let version = state.policies.get(&name).map_or(1, |p| p.version + 1);
            state.policies.insert(name, Policy { text: text.to_owned(), modified, version });
            Ok(None)
        }
        Method::DELETE => match name.as_str() {
            "root" => Err(VaultError::bad_request("cannot delete \"root\" policy")),
            "default" => Err(VaultError::bad_request("cannot delete default policy")),
            _ => {
                state.policies.remove(&name);
                Ok(None)
            }
        },
        _ => Err(VaultError::unsupported(method)),
    }
}

/// Checks a policy as Vault does: HCL whose `path "..." { capabilities = [...] }` blocks name
/// known capabilities. The message is the emulator's own; Vault's names the parser's position.
fn parse_policy(text: &str) -> Result<(), String> {
    const CAPABILITIES: &[&str] = &["create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe"];
    let body: hcl::Body = hcl::from_str(text).map_err(|e| e.to_string())?;
    for block in body.blocks() {
        if block.identifier() != "path" {
            continue;
        }
        for attribute in block.body().attributes() {
            if attribute.key() != "capabilities" {
                continue;
            }
            let hcl::Expression::Array(items) = attribute.expr() else {
                return Err("capabilities must be a list of strings".into());
            };
            for item in items {
                match item {
                    hcl::Expression::String(name) if CAPABILITIES.contains(&name.as_str()) => {}
                    other => return Err(format!("invalid capability {other}")),
                }
            }
        }
    }
    Ok(())
}

fn kv2(
    state: &mut VaultState,
    method: &Method,
    mount: &str,
    rest: &str,
    query: &BTreeMap<String, String>,
    body: &Map<String, Value>,
) -> Answer {
    let (kind, name) = match rest.split_once('/') {
        Some((kind @ ("data" | "metadata"), name)) => (kind, name),
        _ => return Err(VaultError::no_route(&format!("{mount}{rest}"))),
    };
    let secrets = state.kv2.entry(mount.to_owned()).or_default();
    match (kind, method) {
        ("data", &Method::GET) => {
            let Some(secret) = secrets.get(name) else { return Err(VaultError::not_found()) };
            let number = match query.get("version").and_then(|v| v.parse::<u64>().ok()).filter(|&v| v > 0) {
                Some(number) => number,
                None => secret.current,
            };
            let Some(version) = secret.versions.get(&number) else { return Err(VaultError::not_found()) };
            let answer =
                json!({ "data": version.data.clone().unwrap_or(Value::Null), "metadata": version.metadata(number) });
            if version.data.is_none() {
                // A deleted or destroyed version: 404, its envelope as the body.
                return Err(VaultError::deleted(envelope(answer)));
            }
            Ok(Some(answer))
        }
        ("data", &Method::POST | &Method::PUT) => {
            if name.is_empty() || name.ends_with('/') {
                return Err(VaultError::bad_request("cannot write to a path ending in '/'"));
            }
            let data = match body.get("data") {
                None | Some(Value::Null) => return Err(VaultError::bad_request("no data provided")),
                Some(Value::Object(data)) => data.clone(),
                Some(_) => {
                    return Err(VaultError::bad_request(
                        "error converting input for field \"data\": '' expected type 'map[string]interface {}', got unconvertible type 'string'",
                    ))
                }
            };
            let cas = body.get("options").and_then(|o| o.get("cas")).and_then(Value::as_u64);
            let secret = secrets.entry(name.to_owned()).or_default();
            if let Some(cas) = cas {
                if cas != secret.current {
                    return Err(VaultError::bad_request("check-and-set parameter did not match the current version"));
                }
            }
            let now = rfc3339(crate::ids::now());
            if secret.versions.is_empty() {
                secret.created_time = now.clone();
            }
            secret.updated_time = now.clone();
            secret.current += 1;
            let version = Version {
                data: Some(Value::Object(data)),
                created_time: now,
                deletion_time: String::new(),
                destroyed: false,
            };
            let metadata = version.metadata(secret.current);
            secret.versions.insert(secret.current, version);
            while secret.versions.len() > DEFAULT_MAX_VERSIONS {
                secret.versions.pop_first();
            }
            Ok(Some(metadata))
        }
        ("data", &Method::DELETE) => {
            // Soft-deletes the current version; a name with nothing there succeeds.
            if let Some(secret) = secrets.get_mut(name) {
                let current = secret.current;
                if let Some(version) = secret.versions.get_mut(&current) {
                    if version.data.is_some() {
                        version.data = None;
                        version.deletion_time = rfc3339(crate::ids::now());
                    }
                }
            }
            Ok(None)
        }
        ("metadata", &Method::GET) => {
            let Some(secret) = secrets.get(name) else { return Err(VaultError::not_found()) };
            let versions: Map<String, Value> = secret
                .versions
                .iter()
                .map(|(n, v)| {
                    (n.to_string(), json!({ "created_time": v.created_time, "deletion_time": v.deletion_time, "destroyed": v.destroyed }))
                })
                .collect();
            Ok(Some(json!({
                "cas_required": false,
                "created_time": secret.created_time,
                "current_metadata_version": 0,
                "current_version": secret.current,
                "custom_metadata": null,
                "delete_version_after": "0s",
                "max_versions": 0,
                "metadata_cas_required": false,
                "oldest_version": 0,
                "updated_time": secret.updated_time,
                "versions": versions,
            })))
        }
        ("metadata", &Method::DELETE) => {
            secrets.remove(name);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

fn kv1(state: &mut VaultState, method: &Method, mount: &str, rest: &str, body: &Map<String, Value>) -> Answer {
    let values = state.kv1.entry(mount.to_owned()).or_default();
    match *method {
        Method::GET => values.get(rest).cloned().map(Some).ok_or_else(VaultError::not_found),
        Method::POST | Method::PUT => {
            if rest.is_empty() || rest.ends_with('/') {
                return Err(VaultError::bad_request("cannot write to a path ending in '/'"));
            }
            values.insert(rest.to_owned(), Value::Object(body.clone()));
            Ok(None)
        }
        Method::DELETE => {
            values.remove(rest);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

/// `auth/:mount/...`: the Kubernetes method's `config` and `role/:name`.
fn auth_path(state: &mut VaultState, method: &Method, full: &str, rest: &str, body: &Map<String, Value>) -> Answer {
    let mount = state.auths.keys().filter(|mount| rest.starts_with(mount.as_str())).max_by_key(|m| m.len()).cloned();
    let Some(mount) = mount else { return Err(VaultError::no_route(full)) };
    if state.auths[&mount].kind != "kubernetes" {
        return Err(VaultError::no_route(full));
    }
    let tail = &rest[mount.len()..];
    if tail == "config" {
        return kubernetes_config(state, method, &mount, body);
    }
    if let Some(role) = tail.strip_prefix("role/").filter(|role| !role.is_empty() && !role.contains('/')) {
        return kubernetes_role(state, method, &mount, role, body);
    }
    Err(VaultError::no_route(full))
}

fn kubernetes_config(state: &mut VaultState, method: &Method, mount: &str, body: &Map<String, Value>) -> Answer {
    match *method {
        Method::GET => state.kubernetes_config.get(mount).cloned().map(Some).ok_or_else(VaultError::not_found),
        Method::POST | Method::PUT => {
            let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
            let host = text("kubernetes_host");
            if host.is_empty() {
                return Err(VaultError::bad_request("no host provided"));
            }
            let ca = text("kubernetes_ca_cert");
            let disable_local_ca_jwt = flag(body, "disable_local_ca_jwt");
            if ca.is_empty() {
                // A server outside Kubernetes has no local CA to fall back on.
                return Err(VaultError::bad_request(if disable_local_ca_jwt {
                    "kubernetes_ca_cert must be given when disable_local_ca_jwt is true"
                } else {
                    "open /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: no such file or directory"
                }));
            }
            let pem_keys = body.get("pem_keys").cloned().filter(Value::is_array).unwrap_or(json!([]));
            let reviewer_set = !text("token_reviewer_jwt").is_empty();
            state.kubernetes_config.insert(
                mount.to_owned(),
                json!({
                    // OpenBao keeps the issuer but no longer checks it: `disable_iss_validation`
                    // always reads back true.
                    "disable_iss_validation": true,
                    "disable_local_ca_jwt": disable_local_ca_jwt,
                    "issuer": text("issuer"),
                    "kubernetes_ca_cert": ca,
                    "kubernetes_host": host,
                    "pem_keys": pem_keys,
                    "token_reviewer_jwt_set": reviewer_set,
                }),
            );
            Ok(None)
        }
        Method::DELETE => {
            state.kubernetes_config.remove(mount);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}

fn kubernetes_role(
    state: &mut VaultState,
    method: &Method,
    mount: &str,
    role: &str,
    body: &Map<String, Value>,
) -> Answer {
    let roles = state.kubernetes_roles.entry(mount.to_owned()).or_default();
    match *method {
        Method::GET => roles.get(role).cloned().map(Some).ok_or_else(VaultError::not_found),
        Method::POST | Method::PUT => {
            let list = |name: &str| -> Vec<Value> {
                match body.get(name) {
                    Some(Value::Array(items)) => items.clone(),
                    Some(Value::String(text)) if !text.is_empty() => {
                        text.split(',').map(|item| json!(item.trim())).collect()
                    }
                    _ => Vec::new(),
                }
            };
            let names = list("bound_service_account_names");
            let namespaces = list("bound_service_account_namespaces");
            let selector = body.get("bound_service_account_namespace_selector").and_then(Value::as_str).unwrap_or("");
            if names.is_empty() {
                return Err(VaultError::bad_request("\"bound_service_account_names\" can not be empty"));
            }
            if namespaces.is_empty() && selector.is_empty() {
                return Err(VaultError::bad_request(
                    "\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set",
                ));
            }
            let text = |name: &str, default: &str| json!(body.get(name).and_then(Value::as_str).unwrap_or(default));
            let number = |name: &str| json!(body.get(name).and_then(seconds).unwrap_or(0));
            roles.insert(
                role.to_owned(),
                json!({
                    "alias_name_source": text("alias_name_source", "serviceaccount_uid"),
                    "audience": text("audience", ""),
                    "bound_service_account_names": names,
                    "bound_service_account_namespace_selector": selector,
                    "bound_service_account_namespaces": namespaces,
                    "token_bound_cidrs": list("token_bound_cidrs"),
                    "token_explicit_max_ttl": number("token_explicit_max_ttl"),
                    "token_max_ttl": number("token_max_ttl"),
                    "token_no_default_policy": flag(body, "token_no_default_policy"),
                    "token_num_uses": number("token_num_uses"),
                    "token_period": number("token_period"),
                    "token_policies": list("token_policies"),
                    "token_strictly_bind_ip": false,
                    "token_ttl": number("token_ttl"),
                    "token_type": text("token_type", "default"),
                }),
            );
            Ok(None)
        }
        Method::DELETE => {
            roles.remove(role);
            Ok(None)
        }
        _ => Err(VaultError::unsupported(method)),
    }
}
