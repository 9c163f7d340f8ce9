//! The one [`Provider`] implementation every adapter shares: a table of resource types and data
//! sources, each its own [`ResourceType`] or [`DataSource`] value, looked up by name.
//!
//! An adapter is its client type (what `configure` builds), its `provider` block, and one
//! registration line per type ([`Adapter::register`]); the dispatch, the "used before
//! `configure`" and "no such type" errors, the retry policy and `Debug` live here once.

use crate::{Checkpoint, Configured, Provider, ProviderError, RetryPolicy, Review, ValidationIssue};
use async_trait::async_trait;
use std::collections::BTreeMap;
use trustform_lang::Value;
use trustform_schema::{Block, ProviderSchema, ResourceSchema};

/// What a type's calls are given: the adapter's clients, once `configure` built them.
pub struct Session<C> {
    provider: &'static str,
    clients: Option<C>,
}

impl<C> Session<C> {
    /// The clients, or the error for a call made before `configure` (an engine bug, never a
    /// panic).
    pub fn clients(&self) -> Result<&C, ProviderError> {
        self.clients.as_ref().ok_or_else(|| {
            ProviderError::invalid(format!("the {} provider was used before `configure` was called", self.provider))
        })
    }

    /// The clients if `configure` ran: for plan-time derivations that can do without (a
    /// default project).
    pub fn peek(&self) -> Option<&C> {
        self.clients.as_ref()
    }
}

/// One managed resource type of a provider. Every method but the five cloud calls has the
/// [`Provider`] trait's default; see there for the contract of each.
#[async_trait]
pub trait ResourceType<C>: Send + Sync {
    /// The type's schema; its `type_name` is the name the type is registered under.
    fn schema(&self) -> ResourceSchema;

    fn validate(&self, _config: &Value) -> Vec<ValidationIssue> {
        Vec::new()
    }

    fn plan(&self, _session: &Session<C>, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(planned)
    }

    async fn review(
        &self,
        _session: &Session<C>,
        _prior: Option<&Value>,
        _planned: &Value,
    ) -> Result<Review, ProviderError> {
        Ok(Review::default())
    }

    fn findable(&self) -> bool {
        false
    }

    async fn find(&self, _session: &Session<C>, _planned: &Value) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }

    async fn read(&self, session: &Session<C>, state: &Value) -> Result<Option<Value>, ProviderError>;

    async fn create(
        &self,
        session: &Session<C>,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError>;

    async fn update(&self, session: &Session<C>, prior: &Value, planned: &Value) -> Result<Value, ProviderError>;

    async fn delete(&self, session: &Session<C>, state: &Value) -> Result<(), ProviderError>;

    async fn import(&self, session: &Session<C>, id: &str) -> Result<Value, ProviderError>;
}

/// One data source of a provider.
#[async_trait]
pub trait DataSource<C>: Send + Sync {
    /// The data source's schema; its `type_name` is the name it is registered under.
    fn schema(&self) -> ResourceSchema;

    async fn read_data(&self, session: &Session<C>, config: &Value) -> Result<Value, ProviderError>;
}

/// The types an adapter serves, by name.
pub struct Registry<C> {
    resources: BTreeMap<String, Box<dyn ResourceType<C>>>,
    data_sources: BTreeMap<String, Box<dyn DataSource<C>>>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry { resources: BTreeMap::new(), data_sources: BTreeMap::new() }
    }
}

impl<C> Registry<C> {
    /// Serves `resource` under its schema's type name (a later registration of the same name
    /// replaces an earlier one).
    pub fn resource(&mut self, resource: impl ResourceType<C> + 'static) -> &mut Self {
        self.resources.insert(resource.schema().type_name, Box::new(resource));
        self
    }

    /// Serves `data_source` under its schema's type name.
    pub fn data_source(&mut self, data_source: impl DataSource<C> + 'static) -> &mut Self {
        self.data_sources.insert(data_source.schema().type_name, Box::new(data_source));
        self
    }
}

/// What makes an adapter: its name, its `provider` block, its types and how `configure` builds
/// its clients.
#[async_trait]
pub trait Adapter: Default + Send + Sync + 'static {
    /// What `configure` builds and every call uses: SDK clients, with the retry policy they
    /// run under. Cloned once per call, so it holds handles (`Arc`s), not data.
    type Clients: Clone + Send + Sync + 'static;

    /// The local name used in specs: `aws`, `google`, `azurerm`.
    const NAME: &'static str;

    /// The `provider "..." {}` block's schema.
    fn provider_block() -> Block;

    /// Registers every resource type and data source, one line each.
    fn register(types: &mut Registry<Self::Clients>);

    /// Builds the clients from the evaluated provider block (null when absent).
    async fn configure(&self, config: &Value, retry_policy: &RetryPolicy) -> Result<Self::Clients, ProviderError>;
}

/// An adapter's [`Provider`]: its registered types, the clients `configure` built, and the one
/// retry policy every call runs under.
pub struct TableProvider<A: Adapter> {
    adapter: A,
    schema: ProviderSchema,
    registry: Registry<A::Clients>,
    clients: Configured<A::Clients>,
    retry_policy: RetryPolicy,
}

impl<A: Adapter> Default for TableProvider<A> {
    fn default() -> Self {
        TableProvider::new()
    }
}

impl<A: Adapter> std::fmt::Debug for TableProvider<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableProvider")
            .field("provider", &A::NAME)
            .field("configured", &self.clients.is_set())
            .field("retry_policy", &self.retry_policy)
            .finish_non_exhaustive()
    }
}

impl<A: Adapter> TableProvider<A> {
    /// An unconfigured provider with the default retry policy (two minutes of backoff).
    pub fn new() -> TableProvider<A> {
        let mut registry = Registry::default();
        A::register(&mut registry);
        let mut schema = ProviderSchema { provider: A::provider_block(), ..ProviderSchema::default() };
        for resource in registry.resources.values() {
            schema = schema.resource(resource.schema());
        }
        for data_source in registry.data_sources.values() {
            schema = schema.data_source(data_source.schema());
        }
        TableProvider {
            adapter: A::default(),
            schema,
            registry,
            clients: Configured::new(A::NAME),
            retry_policy: RetryPolicy::default(),
        }
    }

    /// Replaces the retry policy (before `configure`): shorter deadlines for tests, longer ones
    /// for slow accounts.
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> TableProvider<A> {
        self.retry_policy = retry_policy;
        self
    }

    fn session(&self) -> Session<A::Clients> {
        Session { provider: A::NAME, clients: self.clients.peek() }
    }

    fn resource(&self, type_name: &str) -> Result<&dyn ResourceType<A::Clients>, ProviderError> {
        self.registry.resources.get(type_name).map(Box::as_ref).ok_or_else(|| {
            ProviderError::invalid(format!("the {} provider has no resource type {type_name:?}", A::NAME))
        })
    }
}

#[async_trait]
impl<A: Adapter> Provider for TableProvider<A> {
    fn name(&self) -> &str {
        A::NAME
    }

    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        self.clients.set(self.adapter.configure(config, &self.retry_policy).await?);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<ValidationIssue> {
        self.resource(type_name).map(|resource| resource.validate(config)).unwrap_or_default()
    }

    fn plan(&self, type_name: &str, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        match self.resource(type_name) {
            Ok(resource) => resource.plan(&self.session(), prior, planned),
            Err(_) => Ok(planned),
        }
    }

    async fn review(&self, type_name: &str, prior: Option<&Value>, planned: &Value) -> Result<Review, ProviderError> {
        match self.resource(type_name) {
            Ok(resource) => resource.review(&self.session(), prior, planned).await,
            Err(_) => Ok(Review::default()),
        }
    }

    fn findable(&self, type_name: &str) -> bool {
        self.resource(type_name).is_ok_and(|resource| resource.findable())
    }

    async fn find(&self, type_name: &str, planned: &Value) -> Result<Option<Value>, ProviderError> {
        match self.resource(type_name) {
            Ok(resource) => resource.find(&self.session(), planned).await,
            Err(_) => Ok(None),
        }
    }

    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError> {
        self.resource(type_name)?.read(&self.session(), state).await
    }

    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        self.resource(type_name)?.create(&self.session(), planned, checkpoint).await
    }

    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        self.resource(type_name)?.update(&self.session(), prior, planned).await
    }

    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError> {
        self.resource(type_name)?.delete(&self.session(), state).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        self.resource(type_name)?.import(&self.session(), id).await
    }

    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        let data_source = self.registry.data_sources.get(type_name).ok_or_else(|| {
            ProviderError::invalid(format!("the {} provider has no data source {type_name:?}", A::NAME))
        })?;
        data_source.read_data(&self.session(), config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoCheckpoint;
    use std::sync::{Arc, Mutex};
    use trustform_lang::Type;
    use trustform_schema::Attribute;

    /// A cloud of named strings: what a resource type sees is the configured prefix.
    #[derive(Default)]
    struct Notes;

    #[derive(Clone)]
    struct Book {
        prefix: String,
        pages: Arc<Mutex<BTreeMap<String, String>>>,
    }

    struct Note;

    #[async_trait]
    impl ResourceType<Book> for Note {
        fn schema(&self) -> ResourceSchema {
            ResourceSchema::new("notes_note", Block::new().attr("text", Attribute::required(Type::String)))
        }
        fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
            match config.get("text").and_then(Value::as_str) {
                Some("") => vec![ValidationIssue {
                    attribute: "text".into(),
                    summary: "Empty note".into(),
                    detail: "Write something.".into(),
                    is_error: true,
                }],
                _ => Vec::new(),
            }
        }
        fn plan(&self, session: &Session<Book>, _: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
            let prefix = session.peek().map(|book| book.prefix.clone()).unwrap_or_default();
            let text = planned.get("text").and_then(Value::as_str).unwrap_or_default();
            Ok(Value::object([("text", Value::string(text)), ("id", Value::string(format!("{prefix}{text}")))]))
        }
        async fn read(&self, session: &Session<Book>, state: &Value) -> Result<Option<Value>, ProviderError> {
            let id = state.get("id").and_then(Value::as_str).unwrap_or_default();
            let pages = session.clients()?.pages.lock().unwrap().clone();
            Ok(pages.get(id).map(|text| Value::object([("text", Value::string(text)), ("id", Value::string(id))])))
        }
        async fn create(
            &self,
            session: &Session<Book>,
            planned: &Value,
            _: &dyn Checkpoint,
        ) -> Result<Value, ProviderError> {
            let book = session.clients()?;
            let id = planned.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let text = planned.get("text").and_then(Value::as_str).unwrap_or_default().to_owned();
            book.pages.lock().unwrap().insert(id, text);
            Ok(planned.clone())
        }
        async fn update(&self, session: &Session<Book>, _: &Value, planned: &Value) -> Result<Value, ProviderError> {
            self.create(session, planned, &NoCheckpoint).await
        }
        async fn delete(&self, session: &Session<Book>, state: &Value) -> Result<(), ProviderError> {
            let id = state.get("id").and_then(Value::as_str).unwrap_or_default();
            session.clients()?.pages.lock().unwrap().remove(id);
            Ok(())
        }
        async fn import(&self, session: &Session<Book>, id: &str) -> Result<Value, ProviderError> {
            let state = Value::object([("id", Value::string(id))]);
            self.read(session, &state).await?.ok_or_else(|| ProviderError::not_found(format!("no note {id:?}")))
        }
    }

    struct Count;

    #[async_trait]
    impl DataSource<Book> for Count {
        fn schema(&self) -> ResourceSchema {
            ResourceSchema::new("notes_count", Block::new().attr("count", Attribute::computed(Type::Number)))
        }
        async fn read_data(&self, session: &Session<Book>, _: &Value) -> Result<Value, ProviderError> {
            let count = session.clients()?.pages.lock().unwrap().len();
            Ok(Value::object([("count", Value::from(count as i64))]))
        }
    }

    #[async_trait]
    impl Adapter for Notes {
        type Clients = Book;
        const NAME: &'static str = "notes";
        fn provider_block() -> Block {
            Block::new().attr("prefix", Attribute::optional(Type::String))
        }
        fn register(types: &mut Registry<Book>) {
            types.resource(Note).data_source(Count);
        }
        async fn configure(&self, config: &Value, _: &RetryPolicy) -> Result<Book, ProviderError> {
            let prefix = config.get("prefix").and_then(Value::as_str).unwrap_or_default().to_owned();
            Ok(Book { prefix, pages: Arc::default() })
        }
    }

    #[tokio::test]
    async fn calls_reach_the_registered_type_with_the_configured_clients() {
        let provider = TableProvider::<Notes>::new();
        assert_eq!(provider.name(), "notes");
        assert!(provider.schema().resources.contains_key("notes_note"));
        assert!(provider.schema().data_sources.contains_key("notes_count"));
        assert!(provider.schema().provider.attributes.contains_key("prefix"));

        let error = provider.read("notes_note", &Value::Null).await.unwrap_err();
        assert_eq!(error.message, "the notes provider was used before `configure` was called");
        let planned = Value::object([("text", Value::string("hi"))]);
        assert_eq!(provider.plan("notes_note", None, planned.clone()).unwrap().get("id"), Some(&Value::from("hi")));

        provider.configure(&Value::object([("prefix", Value::string("p/"))])).await.unwrap();
        let planned = provider.plan("notes_note", None, planned).unwrap();
        assert_eq!(planned.get("id"), Some(&Value::from("p/hi")));
        let created = provider.create("notes_note", &planned, &NoCheckpoint).await.unwrap();
        assert_eq!(provider.read("notes_note", &created).await.unwrap(), Some(planned.clone()));
        assert_eq!(provider.import("notes_note", "p/hi").await.unwrap(), planned);
        let count = provider.read_data("notes_count", &Value::Null).await.unwrap();
        assert_eq!(count.get("count"), Some(&Value::from(1i64)));
        provider.delete("notes_note", &created).await.unwrap();
        assert_eq!(provider.read("notes_note", &created).await.unwrap(), None);
    }

    #[tokio::test]
    async fn unknown_types_are_invalid_and_plan_time_calls_leave_them_alone() {
        let provider = TableProvider::<Notes>::new();
        provider.configure(&Value::Null).await.unwrap();
        let error = provider.read("notes_page", &Value::Null).await.unwrap_err();
        assert_eq!(error.message, "the notes provider has no resource type \"notes_page\"");
        let error = provider.read_data("notes_note", &Value::Null).await.unwrap_err();
        assert_eq!(error.message, "the notes provider has no data source \"notes_note\"");
        let planned = Value::object([("text", Value::string(""))]);
        assert_eq!(provider.plan("notes_page", None, planned.clone()).unwrap(), planned);
        assert!(provider.validate("notes_page", &planned).is_empty());
        assert_eq!(provider.validate("notes_note", &planned)[0].summary, "Empty note");
        assert!(!provider.findable("notes_note"));
        assert_eq!(provider.find("notes_page", &planned).await.unwrap(), None);
    }
}
