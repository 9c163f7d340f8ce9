//! The shared provider conformance suite, run against the test provider, and against broken
//! variants of it to show that the suite notices each kind of breakage.

use async_trait::async_trait;
use trustform_lang::Value;
use trustform_provider::conformance::{run, Case, ConformanceFailure, Step};
use trustform_provider::{Checkpoint, Provider, ProviderError, ProviderErrorKind};
use trustform_schema::ProviderSchema;
use trustform_test_provider::{CallKind, TestProvider, TestProviderConfig, RESOURCE_TYPE};

fn case() -> Case {
    let create = Value::object([
        ("name", Value::from("conformance")),
        (
            "input",
            Value::object([("list", Value::List(vec![Value::from(1), Value::from("two")])), ("on", true.into())]),
        ),
        ("tags", Value::object([("team", Value::from("platform"))])),
        ("policy", Value::from(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}"#)),
        ("secret", Value::from("hunter2")),
    ]);
    let update = Value::object([
        ("name", Value::from("conformance")),
        ("input", Value::from("changed")),
        ("tags", Value::object([("team", Value::from("infra")), ("env", Value::from("test"))])),
        ("policy", Value::from(r#"{"Statement":[{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow"}]}"#)),
    ]);
    Case::new(RESOURCE_TYPE, create).with_update(update)
}

async fn failure_of(provider: &dyn Provider, case: &Case) -> ConformanceFailure {
    match run(provider, case).await {
        Ok(()) => panic!("the suite passed a provider that breaks its contract"),
        Err(failure) => failure,
    }
}

#[tokio::test]
async fn the_test_provider_conforms() {
    let provider = TestProvider::default();
    run(&provider, &case()).await.unwrap_or_else(|failure| panic!("{failure}"));
    assert!(provider.objects().is_empty(), "the suite cleans up after itself");
    assert_eq!(provider.count(CallKind::Create), 3, "create, create after delete, create twice");
    assert_eq!(provider.count(CallKind::Update), 1);
    assert_eq!(provider.count(CallKind::Import), 1);
}

#[tokio::test]
async fn a_failing_call_is_reported_with_its_step_and_cleaned_up() {
    let config = TestProviderConfig::default().fail_named(CallKind::Import, ["conformance"], ProviderErrorKind::Denied);
    let provider = TestProvider::new(config);
    let failure = failure_of(&provider, &case()).await;
    assert_eq!(failure.step, Step::Import);
    assert_eq!(
        failure.to_string(),
        "provider `test`, resource type `test_resource`, step `import`: import of \"tr-000001\" failed: Denied \
         error: InjectedFailure: injected failure: import of test_resource conformance"
    );
    assert!(provider.objects().is_empty(), "the object created before the failure was deleted");
}

#[tokio::test]
async fn cases_that_do_not_fit_the_schema_fail_before_any_call() {
    let provider = TestProvider::default();
    let sets_computed = Case::new(RESOURCE_TYPE, Value::object([("name", "a".into()), ("arn", "x".into())]));
    let replaces = Case::new(RESOURCE_TYPE, Value::object([("name", "a".into())]))
        .with_update(Value::object([("name", "b".into())]));
    let unknown_type = Case::new("test_nothing", Value::object([("name", "a".into())]));
    for (case, expected) in [
        (sets_computed, "\"arn\" is computed by the provider and cannot be set"),
        (replaces, "the case's update changes name, which force replacement"),
        (unknown_type, "the provider's schema has no such resource type"),
    ] {
        let failure = failure_of(&provider, &case).await;
        assert_eq!(failure.step, Step::Schema);
        assert!(failure.message.contains(expected), "{}", failure.message);
    }
    assert!(provider.calls().is_empty());
}

/// One way a provider can break its contract.
#[derive(Clone, Copy)]
enum Flaw {
    /// Create returns the state without the tags it was given.
    DropsTags,
    /// Update makes a new object instead of changing the old one.
    UpdateReplaces,
    /// Import returns a state that differs from what read returns.
    ImportLosesInput,
    /// Reading an absent object is an error rather than `Ok(None)`.
    ReadOfAbsentFails,
    /// Deleting an absent object is an error.
    DeleteOfAbsentFails,
    /// A second create of the same name hands back the first object.
    CreateIsNotIdempotentlyRefused,
}

/// The test provider with one [`Flaw`].
struct Flawed {
    inner: TestProvider,
    flaw: Flaw,
}

fn with_attribute(state: &Value, name: &str, value: Value) -> Value {
    let mut map = state.as_object().cloned().unwrap_or_default();
    map.insert(name.to_owned(), value);
    Value::Object(map)
}

#[async_trait]
impl Provider for Flawed {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn schema(&self) -> &ProviderSchema {
        self.inner.schema()
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        self.inner.configure(config).await
    }

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        self.inner.plan(type_name, prior, planned)
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        match (self.flaw, self.inner.read(type_name, state).await?) {
            (Flaw::ReadOfAbsentFails, None) => Err(ProviderError::not_found("gone")),
            (_, read) => Ok(read),
        }
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        let created = self.inner.create(type_name, planned, checkpoint).await;
        match (self.flaw, created) {
            (Flaw::DropsTags, Ok(state)) => Ok(with_attribute(&state, "tags", Value::Null)),
            (Flaw::CreateIsNotIdempotentlyRefused, Err(error)) if error.kind == ProviderErrorKind::AlreadyExists => {
                let id = self.inner.id_of("conformance").unwrap_or_default();
                self.inner.import(type_name, &id).await
            }
            (_, created) => created,
        }
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        match self.flaw {
            Flaw::UpdateReplaces => {
                self.inner.delete(type_name, prior).await?;
                self.inner.create(type_name, planned, &trustform_provider::NoCheckpoint).await
            }
            _ => self.inner.update(type_name, prior, planned).await,
        }
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        let exists = self.inner.read(type_name, state).await?.is_some();
        match self.flaw {
            Flaw::DeleteOfAbsentFails if !exists => Err(ProviderError::not_found("gone")),
            _ => self.inner.delete(type_name, state).await,
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let imported = self.inner.import(type_name, id).await?;
        match self.flaw {
            Flaw::ImportLosesInput => Ok(with_attribute(&imported, "input", Value::Null)),
            _ => Ok(imported),
        }
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        self.inner.read_data(type_name, config).await
    }
}

#[tokio::test]
async fn each_broken_promise_fails_its_step() {
    let expectations = [
        (Flaw::DropsTags, Step::Create, "`tags`: expected {team = \"platform\"}, got null"),
        (Flaw::UpdateReplaces, Step::Update, "an in-place update changed the id from \"tr-000001\" to \"tr-000002\""),
        (Flaw::ImportLosesInput, Step::Import, "the imported state differs from the read state: `input`"),
        (Flaw::ReadOfAbsentFails, Step::ReadAfterDelete, "must be Ok(None), not NotFound error: gone"),
        (Flaw::DeleteOfAbsentFails, Step::DeleteAgain, "deleting an object that is gone must succeed"),
        (Flaw::CreateIsNotIdempotentlyRefused, Step::CreateTwice, "returned the first object's id"),
    ];
    for (flaw, step, message) in expectations {
        let inner = TestProvider::default();
        let provider = Flawed { inner: inner.clone(), flaw };
        let failure = failure_of(&provider, &case()).await;
        assert_eq!((failure.step, failure.message.contains(message)), (step, true), "{failure}");
        assert!(inner.objects().is_empty(), "{failure}: the suite left objects behind");
    }
}

/// A derivation the cloud contradicts (the plan's ARN names another account) fails at create.
#[tokio::test]
async fn a_derived_value_the_create_contradicts_fails_the_create_step() {
    let provider = TestProvider::new(TestProviderConfig::default().derive_arns_in("111"));
    let failure = failure_of(&provider, &case()).await;
    assert_eq!(failure.step, Step::Create, "{failure}");
    assert!(
        failure
            .message
            .contains(r#"`arn`: expected "arn:test:111:resource/conformance", got "arn:test:::resource/conformance""#),
        "{failure}"
    );
    assert!(provider.objects().is_empty(), "{failure}: the suite left objects behind");
}
