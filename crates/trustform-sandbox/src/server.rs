//! The HTTP server: one loopback port for every emulated service, with request counting, latency
//! and fault injection in front of the service handlers.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

use crate::azure::{self, ArmError, AzureState};
use crate::config::SandboxConfig;
use crate::eks::{self, EksError, EksState};
use crate::gcp::{self, GcpError, GcpState};
use crate::iam::IamState;
use crate::ids;
use crate::journal::{Entry, Journal};
use crate::query::{self, QueryError};
use crate::vault::{self, VaultError, VaultState};

/// The `x-amzn-RequestId` of one request, also echoed in query-protocol XML bodies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestId(u64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // UUID-shaped like AWS request ids, but derived from the request counter so runs replay.
        write!(f, "00000000-0000-4000-8000-{:012x}", self.0)
    }
}

/// Everything the handlers share: configuration, the emulated services' state and the counters.
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    requests: AtomicU64,
    /// Requests received per [`route_label`].
    routes: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<StdRng>,
    eks: Mutex<EksState>,
    /// IAM per emulated account (see [`crate::query::signing_account`]); the configured
    /// account's always exists.
    iam: Mutex<BTreeMap<String, IamState>>,
    gcp: Mutex<GcpState>,
    azure: Mutex<AzureState>,
    vault: Mutex<VaultState>,
    /// Where changes are kept between processes, when the sandbox persists.
    journal: Option<Journal>,
    /// Held while a change is served and journaled, so that the journal's order is the order
    /// the state saw.
    mutations: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The services' initial state. With a journal, preloaded objects carry the time the
    /// journal's cloud was created, so that they read the same in every process.
    fn new(config: SandboxConfig, journal: Option<Journal>) -> Shared {
        match journal.as_ref().map(|journal| journal.created) {
            Some(created) => ids::at_time(created, || Shared::build(config, journal)),
            None => Shared::build(config, None),
        }
    }

    fn build(config: SandboxConfig, journal: Option<Journal>) -> Shared {
        // Distinct streams so that turning fault injection on does not change generated ids.
        let faults = StdRng::seed_from_u64(config.seed);
        let eks = EksState::new(&config, StdRng::seed_from_u64(config.seed ^ 0x454b_5300));
        let iam = BTreeMap::from([(
            config.account_id.clone(),
            IamState::new(StdRng::seed_from_u64(config.seed ^ 0x4941_4d00), config.aws_iam_propagation_delay),
        )]);
        let gcp = GcpState::new(&config, StdRng::seed_from_u64(config.seed ^ 0x4743_5000));
        let azure = AzureState::new(&config);
        Shared {
            config,
            requests: AtomicU64::new(0),
            routes: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(faults),
            eks: Mutex::new(eks),
            iam: Mutex::new(iam),
            gcp: Mutex::new(gcp),
            azure: Mutex::new(azure),
            vault: Mutex::new(VaultState::default()),
            journal,
            mutations: tokio::sync::Mutex::new(()),
        }
    }

    /// The EKS state. A handler that panicked cannot leave it half-updated in a way later
    /// requests could not cope with, so poisoning is ignored.
    pub(crate) fn eks(&self) -> MutexGuard<'_, EksState> {
        self.eks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// IAM of every emulated account; [`IamState`] of one with [`Shared::iam_of`].
    pub(crate) fn iam(&self) -> MutexGuard<'_, BTreeMap<String, IamState>> {
        self.iam.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh IAM for another emulated account: its own generator, seeded from the account so
    /// that ids do not depend on which account was used first.
    pub(crate) fn new_account_iam(&self, account: &str) -> IamState {
        let salt =
            account.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        IamState::new(
            StdRng::seed_from_u64(self.config.seed ^ 0x4941_4d00 ^ salt),
            self.config.aws_iam_propagation_delay,
        )
    }

    pub(crate) fn gcp(&self) -> MutexGuard<'_, GcpState> {
        self.gcp.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn azure(&self) -> MutexGuard<'_, AzureState> {
        self.azure.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn vault(&self) -> MutexGuard<'_, VaultState> {
        self.vault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn routes(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn draw_fault(&self) -> Option<Fault> {
        if self.config.fault_rate <= 0.0 && self.config.throttle_rate <= 0.0 {
            return None;
        }
        let mut rng = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if self.config.throttle_rate > 0.0 && rng.random_bool(self.config.throttle_rate) {
            return Some(Fault::Throttled);
        }
        if self.config.fault_rate <= 0.0 || !rng.random_bool(self.config.fault_rate) {
            return None;
        }
        Some(match rng.random_range(0..3) {
            0 => Fault::Throttled,
            1 => Fault::Internal,
            _ => Fault::Unavailable,
        })
    }
}

/// An error answered instead of processing the request.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Throttled,
    Internal,
    Unavailable,
}

impl Fault {
    fn into_response(self, request: &Request, request_id: RequestId, shared: &Shared) -> Response {
        if gcp::serves(request.uri().path()) {
            // Google's APIs answer overload as RESOURCE_EXHAUSTED and every server fault that is
            // worth retrying as UNAVAILABLE.
            let error = match self {
                Fault::Throttled => GcpError::resource_exhausted(),
                Fault::Internal | Fault::Unavailable => GcpError::unavailable(),
            };
            return error.into_response();
        }
        if azure::serves(request.uri().path()) {
            let error = match self {
                Fault::Throttled => ArmError::throttled(shared.config.azure.retry_after),
                Fault::Internal => ArmError::internal(),
                Fault::Unavailable => ArmError::unavailable(),
            };
            return error.into_response();
        }
        if vault::serves(request.uri().path()) {
            let error = match self {
                Fault::Throttled => VaultError::throttled(),
                Fault::Internal => VaultError::internal(),
                Fault::Unavailable => VaultError::unavailable(),
            };
            return error.into_response();
        }
        if eks::serves(request.uri().path()) {
            let error = match self {
                Fault::Throttled => EksError::throttled(),
                Fault::Internal => EksError::server(),
                Fault::Unavailable => EksError::unavailable(),
            };
            return error.into_response();
        }
        // IAM and STS have no 503 of their own: both server faults surface as ServiceFailure.
        let error = match self {
            Fault::Throttled => QueryError::throttled(),
            Fault::Internal | Fault::Unavailable => QueryError::service_failure(),
        };
        query::error_response(query::namespace_for(request.headers()), &error, request_id)
    }
}

async fn count_delay_and_fault(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let request_id = RequestId(shared.requests.fetch_add(1, Ordering::Relaxed) + 1);
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    *shared.routes().entry(route_label(method.as_str(), &path)).or_insert(0) += 1;
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    crate::world::materialize(&shared, &path, request.headers());
    let mut response = match shared.draw_fault() {
        Some(fault) => fault.into_response(&request, request_id, &shared),
        None => {
            request.extensions_mut().insert(request_id);
            match &shared.journal {
                Some(journal) if changes_state(&method) => serve_journaled(&shared, journal, request, next).await,
                _ => next.run(request).await,
            }
        }
    };
    tracing::debug!(%request_id, %method, %path, status = %response.status(), "sandbox request");
    // Only AWS services answer with an AWS request id.
    if gcp::serves(&path) || azure::serves(&path) || vault::serves(&path) {
        return response;
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

/// Whether a request may change state: anything but a read.
fn changes_state(method: &axum::http::Method) -> bool {
    method != axum::http::Method::GET && method != axum::http::Method::HEAD
}

/// The largest request body the journal records; the APIs served take a few kilobytes.
const MAX_JOURNALED_BODY: usize = 16 * 1024 * 1024;

/// Whether a request that is not a `GET` only reads: the query protocol's `Get*` and `List*`
/// actions (IAM and STS read by `POST /`), Google's `:getIamPolicy`, and the token exchanges
/// (`federation`), which change nothing.
fn only_reads(path: &str, body: &[u8]) -> bool {
    if path == "/" {
        return form_urlencoded::parse(body).find(|(name, _)| name == "Action").is_some_and(|(_, action)| {
            action.starts_with("Get") || action.starts_with("List") || action == "AssumeRoleWithWebIdentity"
        });
    }
    path.ends_with(":getIamPolicy") || crate::federation::is_exchange(path)
}

/// Serves a change one at a time, stamped with the time it is journaled at, and journals it
/// before the answer leaves.
async fn serve_journaled(shared: &Shared, journal: &Journal, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_JOURNALED_BODY).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(%error, "sandbox could not read a request body");
            return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
    };
    if only_reads(parts.uri.path(), &body) {
        return next.run(Request::from_parts(parts, body.into())).await;
    }
    let _serialised = shared.mutations.lock().await;
    let uri = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let entry = Entry::record(&parts.method, &uri, &parts.headers, &body, ids::now());
    let at = entry.at;
    let response = ids::at_time_async(at, next.run(Request::from_parts(parts, body.into()))).await;
    if let Err(error) = journal.append(&entry) {
        // The change is served but would be lost with this process: say so rather than answer
        // as if it would last.
        tracing::error!(%error, path = %journal.path().display(), "sandbox could not journal a change");
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    response
}

/// The route a request took, its identifiers replaced by `{}`: `POST /v3/projects/{}:setIamPolicy`.
///
/// Resource paths alternate collection and identifier (`projects/{}/serviceAccounts/{}`), after a
/// version segment like `v1` if there is one; a `:verb` custom method is kept.
fn route_label(method: &str, path: &str) -> String {
    let mut segments = path.trim_start_matches('/').split('/').peekable();
    let mut label = String::new();
    if let Some(version) = segments.next_if(|first| {
        first.strip_prefix('v').is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
    }) {
        label.push('/');
        label.push_str(version);
    }
    for (index, segment) in segments.filter(|segment| !segment.is_empty()).enumerate() {
        label.push('/');
        if index % 2 == 0 {
            label.push_str(segment);
        } else {
            label.push_str("{}");
            if let Some((_, verb)) = segment.split_once(':') {
                label.push(':');
                label.push_str(verb);
            }
        }
    }
    if label.is_empty() {
        label.push('/');
    }
    format!("{method} {label}")
}

/// What REST-JSON services answer for a path or method they do not serve.
async fn unknown_route() -> EksError {
    EksError::unknown_operation()
}

/// The routes behind their middleware. `port` is the listener's, for the client check; `None`
/// (no socket, so no browser can reach it) serves every request.
fn router(shared: Arc<Shared>, port: Option<u16>) -> Router {
    let routes = routes().layer(middleware::from_fn_with_state(shared.clone(), count_delay_and_fault));
    match port {
        Some(port) => routes
            .layer(middleware::from_fn(move |request: Request, next: Next| only_own_clients(port, request, next)))
            .with_state(shared),
        None => routes.with_state(shared),
    }
}

/// Answers only the clients the sandbox is for: programs on this machine. A web page the user
/// visits can make the browser send requests to loopback too, directly (CSRF) or through a name
/// of its own that resolves to 127.0.0.1 (DNS rebinding); the browser then sends an `Origin`, or
/// a `Host` that is not a loopback name, or a body a form or `fetch` may send without asking
/// (`text/plain`, `multipart/form-data`). SDK clients send none of these.
async fn only_own_clients(port: u16, request: Request, next: Next) -> Response {
    match refusal(port, request.headers(), request.method()) {
        Some(reason) => {
            tracing::warn!(path = %request.uri().path(), reason, "sandbox refused a request");
            (axum::http::StatusCode::FORBIDDEN, format!("The sandbox refused this request: {reason}.\n"))
                .into_response()
        }
        None => next.run(request).await,
    }
}

/// Why a request does not come from one of the sandbox's own clients, if it does not.
fn refusal(port: u16, headers: &axum::http::HeaderMap, method: &axum::http::Method) -> Option<&'static str> {
    use axum::http::header;
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    if !host.is_some_and(|host| is_own_host(host, port)) {
        return Some("its Host is not a loopback address with the sandbox's port");
    }
    if headers.contains_key(header::ORIGIN) {
        return Some("it comes from a web page (it has an Origin)");
    }
    if changes_state(method) {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence == "text/plain" || essence == "multipart/form-data" {
            return Some("a web page can send this content type without asking; the APIs take JSON or forms");
        }
    }
    None
}

/// `127.0.0.1`, `localhost` or `[::1]`, with the sandbox's port or none.
fn is_own_host(host: &str, port: u16) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        Some((name, given)) if !name.is_empty() && !given.contains(']') => (name, Some(given)),
        _ => (host, None),
    };
    let loopback = ["127.0.0.1", "localhost", "[::1]"].iter().any(|own| own.eq_ignore_ascii_case(name));
    loopback && given_port.is_none_or(|given| given.parse::<u16>() == Ok(port))
}

/// Every service's routes, without the counting, fault and journal layer: what a journal
/// replays through.
fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", post(query::handle))
        .route("/clusters/{name}", get(eks::describe_cluster))
        .route("/clusters/{name}/assume-role-for-pod-identity", post(eks::assume_role_for_pod_identity))
        .route("/clusters/{name}/pod-identity-associations", post(eks::create_association).get(eks::list_associations))
        .route("/clusters/{name}/addons", post(eks::create_addon))
        .route("/clusters/{name}/addons/{addon}", get(eks::describe_addon).delete(eks::delete_addon))
        .route("/clusters/{name}/addons/{addon}/update", post(eks::update_addon))
        .route(
            "/clusters/{name}/pod-identity-associations/{id}",
            get(eks::describe_association).post(eks::update_association).delete(eks::delete_association),
        )
        .route("/v1/token", post(gcp::sts_token))
        .route("/{tenant}/oauth2/v2.0/token", post(crate::federation::entra::token))
        .route("/v1/{*path}", any(gcp::iam_v1))
        .route("/v3/{*path}", any(gcp::resource_manager_v3))
        .route("/vault/v1/{*path}", any(vault::handle))
        .route("/subscriptions/{*path}", any(azure::handle))
        .route("/providers/{*path}", any(azure::handle))
        .route("/v1.0/{*path}", any(azure::handle_graph))
        .route("/beta/{*path}", any(azure::handle_graph))
        .fallback(unknown_route)
}

/// Replays a journal's entries through the handlers, each at the time it was first served.
async fn replay(shared: &Arc<Shared>, entries: Vec<Entry>) -> std::io::Result<()> {
    let app = routes().with_state(shared.clone());
    let count = entries.len();
    for (index, entry) in entries.into_iter().enumerate() {
        let mut request = entry.request()?;
        request.extensions_mut().insert(RequestId(0));
        crate::world::materialize(shared, request.uri().path(), request.headers());
        let response = ids::at_time_async(entry.at, app.clone().oneshot(request)).await;
        let Ok(response) = response;
        tracing::trace!(entry = index + 1, status = %response.status(), "sandbox replayed a journal entry");
    }
    tracing::debug!(entries = count, "sandbox journal replayed");
    Ok(())
}

/// A running emulator of the AWS EKS, STS and IAM subset, the Google IAM and Resource Manager
/// subset and the Azure Resource Manager authorization subset Trustform calls, on one loopback
/// port.
///
/// Dropping it stops the server, as [`Sandbox::shutdown`] does without waiting.
pub struct Sandbox {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `127.0.0.1` on a free port and starts serving on the current tokio runtime.
    ///
    /// With a [journal](SandboxConfig::journal), the cloud it holds is restored first; a journal
    /// that cannot be read or belongs to another configuration is an `InvalidData` error.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::serve(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?, config).await
    }

    /// Starts serving on a listener bound already, for a caller that needs the address before
    /// the runtime exists (to hand it to clients through the environment, say) or a fixed port.
    pub async fn start_on(listener: std::net::TcpListener, config: SandboxConfig) -> std::io::Result<Sandbox> {
        listener.set_nonblocking(true)?;
        Sandbox::serve(TcpListener::from_std(listener)?, config).await
    }

    async fn serve(listener: TcpListener, mut config: SandboxConfig) -> std::io::Result<Sandbox> {
        let address = listener.local_addr()?;
        let journal = match config.journal.take() {
            Some(path) => Some(Journal::open(&path, &config.fingerprint())?),
            None => None,
        };
        let mut journal = journal;
        let entries = journal.as_mut().map(|journal| std::mem::take(&mut journal.entries)).unwrap_or_default();
        let shared = Arc::new(Shared::new(config, journal));
        replay(&shared, entries).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone(), Some(address.port()));
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender means the sandbox itself was dropped: stop as well.
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "sandbox server stopped with an error");
            }
        });
        tracing::debug!(%address, "sandbox listening");
        Ok(Sandbox { address, shared, stop: Some(stop), task: Some(task) })
    }

    /// The base URL every service is served on, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Requests received so far, including those answered with an injected fault.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests received so far on one route, faults included. A route is the method and the
    /// path with every identifier replaced by `{}`, custom methods kept:
    /// `"POST /v3/projects/{}:setIamPolicy"`,
    /// `"GET /v1/projects/{}/locations/{}/workloadIdentityPools/{}/operations/{}"`,
    /// `"GET /clusters/{}"`, or `"POST /"` for the AWS query protocol.
    pub fn requests_for(&self, route: &str) -> u64 {
        self.shared.routes().get(route).copied().unwrap_or(0)
    }

    /// Requests received so far per route (see [`Sandbox::requests_for`]), in route order.
    pub fn requests_by_route(&self) -> BTreeMap<String, u64> {
        self.shared.routes().clone()
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::error!(%error, "sandbox server task failed");
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("endpoint", &self.endpoint()).field("requests", &self.request_count()).finish()
    }
}

/// The emulator without a socket: each request goes through the same routes and middleware a
/// connection's would. It exists for the request-parsing fuzz target (`fuzz/`); tests use
/// [`Sandbox`] and real clients.
#[doc(hidden)]
pub struct Offline {
    app: Router,
}

impl Offline {
    pub fn new(config: SandboxConfig) -> Offline {
        Offline { app: router(Arc::new(Shared::new(config, None)), None) }
    }

    /// Serves one request; `None` when the method, URI or a header is not valid HTTP at all
    /// (a server never sees such a request).
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Option<(u16, Vec<u8>)> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(axum::body::Body::from(body)).ok()?;
        let Ok(response) = self.app.clone().oneshot(request).await;
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.ok()?;
        Some((status, body.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_with_the_port_are_the_sandboxs_own() {
        for own in ["127.0.0.1:4566", "localhost:4566", "LOCALHOST:4566", "[::1]:4566", "127.0.0.1", "localhost"] {
            assert!(is_own_host(own, 4566), "{own}");
        }
        for other in ["127.0.0.1:80", "evil.example:4566", "evil.example", "127.0.0.1.nip.io:4566", "[::1]:1", ""] {
            assert!(!is_own_host(other, 4566), "{other}");
        }
        assert!(is_own_host("[::1]", 4566));
    }

    #[test]
    fn token_exchanges_are_reads_the_journal_skips() {
        assert!(only_reads("/", b"Action=AssumeRoleWithWebIdentity&RoleArn=x"));
        assert!(only_reads("/clusters/litellm/assume-role-for-pod-identity", b"{}"));
        assert!(only_reads("/v1/token", b"grant_type=x"));
        assert!(only_reads("/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken", b"{}"));
        assert!(only_reads("/f3b1cf79-eba8-40c3-8120-cb26aca169c2/oauth2/v2.0/token", b"grant_type=x"));
        assert!(!only_reads("/", b"Action=CreateRole"));
        assert!(!only_reads("/v1/projects/p/serviceAccounts", b"{}"));
    }

    #[test]
    fn route_labels_replace_identifiers_and_keep_custom_methods() {
        assert_eq!(route_label("POST", "/v3/projects/my-project:setIamPolicy"), "POST /v3/projects/{}:setIamPolicy");
        assert_eq!(
            route_label("GET", "/v1/projects/p/locations/global/workloadIdentityPools/pool/operations/abc"),
            "GET /v1/projects/{}/locations/{}/workloadIdentityPools/{}/operations/{}"
        );
        assert_eq!(route_label("POST", "/v1/projects/p/serviceAccounts"), "POST /v1/projects/{}/serviceAccounts");
        assert_eq!(
            route_label("GET", "/clusters/prod/pod-identity-associations"),
            "GET /clusters/{}/pod-identity-associations"
        );
        assert_eq!(route_label("POST", "/"), "POST /");
    }
}
