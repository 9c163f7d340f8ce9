use crate::calls::{CallLog, InFlight};
use crate::schema::{arn_of, lookup_value, provider_schema, LOOKUP_TYPE, PROVIDER_NAME, RESOURCE_TYPE};
use crate::store::{not_found, NoSuchObject, Store};
use crate::{Call, CallKind, TestProviderConfig};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use trustform_lang::Value;
use trustform_provider::{Checkpoint, Provider, ProviderError, ValidationIssue};
use trustform_schema::ProviderSchema;

/// An in-memory [`Provider`] named `test`, with a `test_resource` type and a `test_lookup` data
/// source, for engine tests and benchmarks.
///
/// Clones share one store and one call log: hand one clone to the engine and keep another to
/// inspect what it did or to change objects behind its back.
#[derive(Clone)]
pub struct TestProvider {
    inner: Arc<Inner>,
}

struct Inner {
    schema: ProviderSchema,
    /// `test_resource` attributes the schema calls sensitive, marked on the way out.
    sensitive: BTreeSet<String>,
    config: TestProviderConfig,
    store: Mutex<Store>,
    log: CallLog,
    configurations: Mutex<Vec<Value>>,
}

impl Default for TestProvider {
    fn default() -> Self {
        TestProvider::new(TestProviderConfig::default())
    }
}

impl TestProvider {
    pub fn new(config: TestProviderConfig) -> TestProvider {
        let schema = provider_schema();
        let sensitive = schema
            .resources
            .get(RESOURCE_TYPE)
            .map(|resource| resource.block.sensitive_attributes().map(str::to_owned).collect())
            .unwrap_or_default();
        let inner = Inner {
            schema,
            sensitive,
            config,
            store: Mutex::default(),
            log: CallLog::default(),
            configurations: Mutex::default(),
        };
        TestProvider { inner: Arc::new(inner) }
    }

    /// Every provider block `configure` received, in order.
    pub fn configurations(&self) -> Vec<Value> {
        lock(&self.inner.configurations).clone()
    }

    /// Every read, create, update, delete, import and data source read, in the order the store
    /// processed them.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.log.calls()
    }

    /// How many calls of `kind` were made, failed ones included.
    pub fn count(&self, kind: CallKind) -> usize {
        self.inner.log.count(kind)
    }

    /// The most calls that were in flight at one moment (latency included).
    pub fn peak_in_flight(&self) -> usize {
        self.inner.log.peak_in_flight()
    }

    /// Forgets the calls so far, to count the next phase (the apply after a plan, say) alone.
    pub fn reset_calls(&self) {
        self.inner.log.reset();
    }

    /// The live objects by id, as the store holds them (without sensitive marks).
    pub fn objects(&self) -> BTreeMap<String, Value> {
        self.store().objects().clone()
    }

    /// The id of the live object named `name`.
    pub fn id_of(&self, name: &str) -> Option<String> {
        self.store().id_of(name).map(str::to_owned)
    }

    /// Creates an object outside the engine, as someone clicking in a console would; no call is
    /// logged, no latency or failure applies. Returns its state.
    pub fn insert(&self, config: &Value) -> Result<Value, ProviderError> {
        self.store().create(config).map(|object| self.present(&object))
    }

    /// Changes one attribute of a live object behind the engine's back, to simulate drift.
    /// Attributes derived from it (`output` from `input`) keep their values.
    pub fn set_attribute(&self, id: &str, attribute: &str, value: Value) -> Result<(), NoSuchObject> {
        self.store().set_attribute(id, attribute, value)
    }

    /// Deletes an object behind the engine's back, returning it if it existed.
    pub fn remove(&self, id: &str) -> Option<Value> {
        self.store().remove(id)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    /// An object as the provider returns it: sensitive attributes that hold a value marked.
    fn present(&self, object: &Value) -> Value {
        match object {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(name, value)| {
                        let sensitive = self.inner.sensitive.contains(name) && !value.is_null();
                        (name.clone(), value.clone().mark_if(sensitive))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The first half of a call: counts it in flight, injects a failure or applies `effect` to
    /// the store, and logs it. The caller finishes it with [`TestProvider::settle`].
    fn begin<T>(
        &self,
        mut call: Call,
        effect: impl FnOnce(&mut Store, &mut Call) -> Result<T, ProviderError>,
    ) -> (Result<T, ProviderError>, InFlight<'_>) {
        let in_flight = self.inner.log.enter();
        let result = match self.inner.config.injected_failure(&call) {
            Some(error) => Err(error),
            None => effect(&mut self.store(), &mut call),
        };
        call.error = result.as_ref().err().map(|error| error.kind.clone());
        self.inner.log.record(call);
        (result, in_flight)
    }

    /// The second half of a call: the latency, during which the call still counts as in flight.
    async fn settle(&self, in_flight: InFlight<'_>) {
        if !self.inner.config.latency.is_zero() {
            tokio::time::sleep(self.inner.config.latency).await;
        }
        drop(in_flight);
    }

    async fn call<T>(
        &self,
        call: Call,
        effect: impl FnOnce(&mut Store, &mut Call) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let (result, in_flight) = self.begin(call, effect);
        self.settle(in_flight).await;
        result
    }
}

#[async_trait]
impl Provider for TestProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn schema(&self) -> &ProviderSchema {
        &self.inner.schema
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        lock(&self.inner.configurations).push(config.clone());
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        if type_name != RESOURCE_TYPE {
            return Vec::new();
        }
        let mut issues = Vec::new();
        if config.get("name").and_then(Value::as_str) == Some("") {
            issues.push(error_issue(
                "name",
                "Empty name",
                "A test_resource needs a name. Set `name` to a non-empty string.",
            ));
        }
        let policy = config.get("policy").and_then(Value::as_str);
        if let Some(Err(error)) = policy.map(serde_json::from_str::<serde_json::Value>) {
            let detail = format!("The policy is not a JSON document: {error}. Build it with jsonencode().");
            issues.push(error_issue("policy", "Malformed policy document", &detail));
        }
        issues
    }

    /// The ARN follows from the name, so a plan shows it rather than `(known after apply)`.
    fn plan(&self, type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let arn = planned.get("name").and_then(Value::as_str).map(|name| match &self.inner.config.derived_account {
            Some(account) => format!("arn:test:{account}:resource/{name}"),
            None => arn_of(name),
        });
        match (type_name, arn, planned) {
            (RESOURCE_TYPE, Some(arn), Value::Object(mut map)) => {
                if self.inner.config.names_as_ids {
                    let name = map.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                    map.insert("id".to_owned(), Value::String(format!("tr-{name}")));
                }
                map.insert("arn".to_owned(), Value::String(arn));
                Ok(Value::Object(map))
            }
            (_, _, planned) => Ok(planned),
        }
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        let call = Call::new(CallKind::Read, type_name, name_in(state), id_in(state));
        self.call(call, |store, call| {
            expect_type(type_name, RESOURCE_TYPE)?;
            let id = call.id.as_deref().ok_or_else(|| no_id(CallKind::Read))?;
            Ok(store.get(id).map(|object| self.present(object)))
        })
        .await
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let call = Call::new(CallKind::Create, type_name, name_in(planned), None);
        let (result, in_flight) = self.begin(call, |store, call| {
            expect_type(type_name, RESOURCE_TYPE)?;
            expect_known(CallKind::Create, planned)?;
            let object = store.create(planned)?;
            call.id = id_in(&object);
            Ok(self.present(&object))
        });
        if let Ok(state) = &result {
            checkpoint.record(state).await;
        }
        self.settle(in_flight).await;
        result
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let call = Call::new(CallKind::Update, type_name, name_in(planned), id_in(prior));
        self.call(call, |store, call| {
            expect_type(type_name, RESOURCE_TYPE)?;
            expect_known(CallKind::Update, planned)?;
            let id = call.id.as_deref().ok_or_else(|| no_id(CallKind::Update))?;
            store.update(id, planned).map(|object| self.present(&object))
        })
        .await
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let call = Call::new(CallKind::Delete, type_name, name_in(state), id_in(state));
        self.call(call, |store, call| {
            expect_type(type_name, RESOURCE_TYPE)?;
            let id = call.id.as_deref().ok_or_else(|| no_id(CallKind::Delete))?;
            store.remove(id);
            Ok(())
        })
        .await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        // Looked up ahead of the call so that failures injected by name apply to imports too.
        let name = self.store().get(id).and_then(name_in);
        let call = Call::new(CallKind::Import, type_name, name, Some(id.to_owned()));
        self.call(call, |store, _| {
            expect_type(type_name, RESOURCE_TYPE)?;
            store.get(id).map(|object| self.present(object)).ok_or_else(|| not_found(id))
        })
        .await
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        let call = Call::new(CallKind::ReadData, type_name, name_in(config), None);
        self.call(call, |_, call| {
            expect_type(type_name, LOOKUP_TYPE)?;
            // Only the argument matters: the computed `value` is unknown in a conformed config.
            expect_known(CallKind::ReadData, config.get("name").unwrap_or(&Value::Null))?;
            let name = call.name.clone().ok_or_else(|| ProviderError::invalid("`name` must be a string"))?;
            Ok(Value::object([("value", Value::string(lookup_value(&name))), ("name", Value::String(name))]))
        })
        .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data whole, so a panic elsewhere in a test while the
    // lock was held does not make the data untrustworthy.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn name_in(value: &Value) -> Option<String> {
    value.get("name").and_then(Value::as_str).map(str::to_owned)
}

fn id_in(value: &Value) -> Option<String> {
    value.get("id").and_then(Value::as_str).map(str::to_owned)
}

fn expect_type(type_name: &str, expected: &str) -> Result<(), ProviderError> {
    if type_name == expected {
        Ok(())
    } else {
        Err(ProviderError::invalid(format!(
            "the test provider has no type {type_name:?} here; it expected {expected:?}"
        )))
    }
}

/// Providers never see unknowns: the engine must resolve or null them before calling.
fn expect_known(kind: CallKind, value: &Value) -> Result<(), ProviderError> {
    let unknown: Vec<&str> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, attribute)| attribute.contains_unknown())
        .map(|(name, _)| name.as_str())
        .collect();
    if unknown.is_empty() && !value.is_unknown() {
        return Ok(());
    }
    let message = format!(
        "{kind} received unknown values ({}); handing unknown values to a provider is an engine bug",
        if unknown.is_empty() { "the whole value".to_owned() } else { unknown.join(", ") }
    );
    Err(ProviderError::invalid(message).with_code("UnknownValue"))
}

fn no_id(kind: CallKind) -> ProviderError {
    ProviderError::invalid(format!("{kind} received a state without an `id`"))
}

fn error_issue(attribute: &str, summary: &str, detail: &str) -> ValidationIssue {
    ValidationIssue {
        attribute: attribute.to_owned(),
        summary: summary.to_owned(),
        detail: detail.to_owned(),
        is_error: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;
    use trustform_provider::{retry, NoCheckpoint, ProviderErrorKind, RetryPolicy};

    fn body(name: &str) -> Value {
        Value::object([("name", Value::from(name)), ("input", Value::from("in")), ("secret", Value::from("hunter2"))])
    }

    async fn create(provider: &TestProvider, name: &str) -> Result<Value, ProviderError> {
        provider.create(RESOURCE_TYPE, &body(name), &NoCheckpoint).await
    }

    fn lines(provider: &TestProvider) -> Vec<String> {
        provider.calls().iter().map(ToString::to_string).collect()
    }

    #[tokio::test]
    async fn names_are_unique_among_live_objects() {
        let provider = TestProvider::default();
        let first = create(&provider, "a").await.unwrap();
        assert_eq!(create(&provider, "a").await.unwrap_err().kind, ProviderErrorKind::AlreadyExists);
        provider.delete(RESOURCE_TYPE, &first).await.unwrap();
        let again = create(&provider, "a").await.unwrap();
        assert_eq!(again.get("id"), Some(&Value::from("tr-000002")));
    }

    #[tokio::test]
    async fn unknown_values_are_refused_as_an_engine_bug() {
        let provider = TestProvider::default();
        let planned = Value::object([("name", Value::from("a")), ("input", Value::List(vec![Value::Unknown]))]);
        let error = provider.create(RESOURCE_TYPE, &planned, &NoCheckpoint).await.unwrap_err();
        assert_eq!(error.kind, ProviderErrorKind::Invalid);
        assert!(error.message.contains("(input)") && error.message.contains("engine bug"), "{error}");
        assert!(provider.objects().is_empty());

        let state = create(&provider, "b").await.unwrap();
        let error = provider.update(RESOURCE_TYPE, &state, &planned).await.unwrap_err();
        assert!(error.message.contains("engine bug"), "{error}");
    }

    #[tokio::test]
    async fn states_mark_secrets_and_the_store_does_not() {
        let provider = TestProvider::default();
        let state = create(&provider, "a").await.unwrap();
        assert!(state.get("secret").is_some_and(Value::is_sensitive));
        let unset =
            provider.create(RESOURCE_TYPE, &Value::object([("name", "b".into())]), &NoCheckpoint).await.unwrap();
        assert_eq!(unset.get("secret"), Some(&Value::Null), "an unset secret is plain null, not a redacted one");
        assert_eq!(state.get("output"), Some(&Value::from("in")));
        assert_eq!(state.get("arn"), Some(&Value::from("arn:test:::resource/a")));
        let stored = provider.objects().remove("tr-000001").unwrap();
        assert_eq!(stored, state.deep_unmark());
    }

    #[tokio::test]
    async fn failures_are_injected_by_name_and_by_predicate() {
        let config = TestProviderConfig::default()
            .fail_named(CallKind::Create, ["bad"], ProviderErrorKind::Denied)
            .fail_matching(CallKind::Delete, |name| name.starts_with("keep"), ProviderErrorKind::Conflict);
        let provider = TestProvider::new(config);

        let denied = create(&provider, "bad").await.unwrap_err();
        assert_eq!((denied.kind, denied.code.as_deref()), (ProviderErrorKind::Denied, Some("InjectedFailure")));
        assert_eq!(provider.id_of("bad"), None, "a failed create leaves nothing behind");

        let kept = create(&provider, "keep-1").await.unwrap();
        let conflict = provider.delete(RESOURCE_TYPE, &kept).await.unwrap_err();
        assert_eq!(conflict.kind, ProviderErrorKind::Conflict);
        assert!(provider.id_of("keep-1").is_some(), "a failed delete deletes nothing");

        let other = create(&provider, "other").await.unwrap();
        provider.delete(RESOURCE_TYPE, &other).await.unwrap();
        assert_eq!(
            lines(&provider),
            [
                "create test_resource name=bad error=Denied",
                "create test_resource name=keep-1 id=tr-000001",
                "delete test_resource name=keep-1 id=tr-000001 error=Conflict",
                "create test_resource name=other id=tr-000002",
                "delete test_resource name=other id=tr-000002",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_calls_fail_until_a_retry_gets_through() {
        let throttled = ProviderErrorKind::Throttled { retry_after: Some(Duration::from_secs(1)) };
        let provider =
            TestProvider::new(TestProviderConfig::default().fail_first(CallKind::Read, 2, throttled.clone()));
        let state = create(&provider, "a").await.unwrap();

        assert_eq!(provider.read(RESOURCE_TYPE, &state).await.unwrap_err().kind, throttled);
        let policy = RetryPolicy::default();
        let read = retry(&policy, ProviderError::is_retryable, || provider.read(RESOURCE_TYPE, &state)).await;
        assert_eq!(read.unwrap().map(|read| read.deep_unmark()), Some(state.deep_unmark()));
        assert_eq!(provider.count(CallKind::Read), 3, "two injected failures, then the read");
        assert_eq!(provider.count(CallKind::Create), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn latency_keeps_calls_in_flight_together() {
        let latency = Duration::from_millis(250);
        let provider = TestProvider::new(TestProviderConfig::default().latency(latency));
        let started = Instant::now();
        let mut creates = tokio::task::JoinSet::new();
        for name in ["a", "b", "c", "d"] {
            let provider = provider.clone();
            creates.spawn(async move { create(&provider, name).await });
        }
        while let Some(created) = creates.join_next().await {
            assert!(created.unwrap().is_ok());
        }
        // Virtual time: the clock is paused, so this is the injected latency and nothing else.
        assert_eq!(started.elapsed(), latency, "concurrent calls wait out their latency together");
        assert_eq!(provider.peak_in_flight(), 4);
        assert_eq!(provider.count(CallKind::Create), 4);

        provider.reset_calls();
        for name in ["a", "b"] {
            let state = provider.import(RESOURCE_TYPE, &provider.id_of(name).unwrap()).await.unwrap();
            provider.read(RESOURCE_TYPE, &state).await.unwrap();
        }
        assert_eq!(provider.peak_in_flight(), 1, "sequential calls never overlap");
        assert_eq!(
            provider.calls().iter().map(|call| call.kind).collect::<Vec<_>>(),
            [CallKind::Import, CallKind::Read, CallKind::Import, CallKind::Read]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_checkpoint_hears_of_a_create_before_its_wait() {
        struct Recorder {
            provider: TestProvider,
            seen: Mutex<Vec<(Duration, usize)>>,
            started: Instant,
        }
        #[async_trait]
        impl Checkpoint for Recorder {
            async fn record(&self, _state: &Value) {
                lock(&self.seen).push((self.started.elapsed(), self.provider.objects().len()));
            }
        }
        let provider = TestProvider::new(TestProviderConfig::default().latency(Duration::from_secs(5)));
        let recorder = Recorder { provider: provider.clone(), seen: Mutex::default(), started: Instant::now() };
        provider.create(RESOURCE_TYPE, &body("a"), &recorder).await.unwrap();
        assert_eq!(*lock(&recorder.seen), [(Duration::ZERO, 1)], "recorded at once, with the object in the store");
        assert_eq!(recorder.started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn drift_helpers_change_what_the_engine_reads() {
        let provider = TestProvider::default();
        let state = create(&provider, "a").await.unwrap();
        let id = provider.id_of("a").unwrap();

        provider.set_attribute(&id, "input", Value::from("drifted")).unwrap();
        let read = provider.read(RESOURCE_TYPE, &state).await.unwrap().unwrap();
        assert_eq!(read.get("input"), Some(&Value::from("drifted")));
        assert_eq!(read.get("output"), Some(&Value::from("in")), "derived attributes are not recomputed");

        assert_eq!(provider.remove(&id).map(|object| object.get("name").cloned()), Some(Some(Value::from("a"))));
        assert_eq!(provider.read(RESOURCE_TYPE, &state).await.unwrap(), None);
        assert_eq!(provider.set_attribute(&id, "input", Value::Null), Err(NoSuchObject(id)));

        let inserted = provider.insert(&body("console")).unwrap();
        let imported = provider.import(RESOURCE_TYPE, "tr-000002").await.unwrap();
        assert_eq!(imported, inserted);
        assert_eq!(provider.count(CallKind::Create), 1, "an insert is not a call");
    }

    #[tokio::test]
    async fn configure_records_every_provider_block() {
        let provider = TestProvider::default();
        let block = Value::object([("region", Value::from("eu-west-1"))]);
        provider.configure(&Value::Null).await.unwrap();
        provider.configure(&block).await.unwrap();
        assert_eq!(provider.configurations(), [Value::Null, block]);
    }

    #[test]
    fn plan_fills_the_arn_and_validate_flags_bad_arguments() {
        let provider = TestProvider::default();
        let planned = Value::object([("name", Value::from("a")), ("arn", Value::Unknown)]);
        let planned = provider.plan(RESOURCE_TYPE, None, planned).unwrap();
        assert_eq!(planned.get("arn"), Some(&Value::from("arn:test:::resource/a")));
        let unknown_name = Value::object([("name", Value::Unknown), ("arn", Value::Unknown)]);
        assert_eq!(provider.plan(RESOURCE_TYPE, None, unknown_name.clone()).unwrap(), unknown_name);

        let config = Value::object([("name", Value::from("")), ("policy", Value::from("{nope"))]);
        let issues = provider.validate(RESOURCE_TYPE, &config);
        let flagged: Vec<(&str, &str)> =
            issues.iter().map(|issue| (issue.attribute.as_str(), issue.summary.as_str())).collect();
        assert_eq!(flagged, [("name", "Empty name"), ("policy", "Malformed policy document")]);
        assert!(provider.validate(RESOURCE_TYPE, &body("fine")).is_empty());
    }

    #[tokio::test]
    async fn lookups_compute_their_value() {
        let provider = TestProvider::default();
        let config = Value::object([("name", Value::from("db")), ("value", Value::Unknown)]);
        let data = provider.read_data(LOOKUP_TYPE, &config).await.unwrap();
        assert_eq!(data, Value::object([("name", Value::from("db")), ("value", Value::from("value-of-db"))]));
        let unknown = Value::object([("name", Value::Unknown)]);
        assert!(provider.read_data(LOOKUP_TYPE, &unknown).await.unwrap_err().message.contains("engine bug"));
        assert_eq!(lines(&provider), ["read_data test_lookup name=db", "read_data test_lookup error=Invalid"]);
    }
}
