//! The contract between the engine and a cloud: the [`Provider`] trait, the error taxonomy every
//! adapter maps its SDK errors into, and the one retry policy every adapter uses.
//!
//! The engine reaches a cloud only through this trait; SDK types never cross it. Values given to
//! `create` and `update` are fully known (no [`Value::Unknown`] inside); handing an unknown to a
//! provider is an engine bug.

pub mod attrs;
mod configured;
pub mod conformance;
mod endpoint;
mod error;
mod retry;
mod table;

pub use configured::Configured;
pub use endpoint::check_endpoint;
pub use error::{clip, ProviderError, ProviderErrorKind, MESSAGE_LIMIT, UNDECODABLE};
pub use retry::{retry, RetryPolicy};
pub use table::{Adapter, DataSource, Registry, ResourceType, Session, TableProvider};

use async_trait::async_trait;
use std::sync::Arc;
use trustform_lang::Value;
use trustform_schema::ProviderSchema;

/// A problem a provider finds in a configuration before any call is made (plan-time validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// Attribute path inside the resource body (`aws.account_id`), empty for the whole body.
    pub attribute: String,
    pub summary: String,
    /// Full sentences ending with the fix.
    pub detail: String,
    pub is_error: bool,
}

/// What a provider has to say about a planned create or update, once the plan knows what is
/// there (see [`Provider::review`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// For a create of a type that owns its object authoritatively (an IAM binding owns every
    /// member of its role), what the cloud holds now at the planned object's place: the create
    /// overwrites it, and the plan shows what that removes. `None` when nothing is there, and
    /// for every type whose create makes a new object.
    pub existing: Option<Value>,
    /// Warnings about what the change takes away (members an authoritative binding removes),
    /// with the fix.
    pub issues: Vec<ValidationIssue>,
}

/// Receives partial state while a long operation runs, so that an interrupted wait never orphans
/// a resource: a pool whose create was accepted is recorded before its operation finishes.
///
/// Call `record` right after the cloud accepted a create and before waiting for it: the engine
/// writes the partial state to the backend while the provider goes on waiting, so `record`
/// never holds a long operation up on the disk.
#[async_trait]
pub trait Checkpoint: Send + Sync {
    async fn record(&self, state: &Value);
}

/// A [`Checkpoint`] that ignores what it is told; for callers that do not persist partial state.
pub struct NoCheckpoint;

#[async_trait]
impl Checkpoint for NoCheckpoint {
    async fn record(&self, _state: &Value) {}
}

/// One cloud (or the built-in `trustform` provider), as the engine sees it.
///
/// Every resource value is an object holding every attribute of the type's schema. State values
/// returned by `create`, `update`, `read` and `import` must carry the `id` attribute.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The local name used in specs: `aws`, `google`, `azurerm`, `trustform`.
    fn name(&self) -> &str;

    /// Resource and data source schemas. Stable for the provider's lifetime.
    fn schema(&self) -> &ProviderSchema;

    /// Receives the evaluated `provider "..." {}` block (null when absent) before any other call.
    async fn configure(&self, config: &Value) -> Result<(), ProviderError>;

    /// Checks a resource's conformed configuration beyond what the schema can express. The value
    /// may contain unknowns.
    fn validate(&self, _type_name: &str, _config: &Value) -> Vec<ValidationIssue> {
        Vec::new()
    }

    /// Adjusts a planned value before diffing: fills attributes the provider can derive at plan
    /// time (a deterministic assignment name, say). `prior` is the current state, if any.
    fn plan(&self, _type_name: &str, _prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        Ok(planned)
    }

    /// Reviews a planned create or replacement (`prior` is `None`) or update at plan time, after [`plan`] and
    /// the diff, and may read the cloud to do it: what a create would overwrite, and what the
    /// change would remove. `planned` may hold unknowns. Not called when the plan contacts no
    /// cloud (`lint`).
    ///
    /// [`plan`]: Provider::plan
    async fn review(
        &self,
        _type_name: &str,
        _prior: Option<&Value>,
        _planned: &Value,
    ) -> Result<Review, ProviderError> {
        Ok(Review::default())
    }

    /// Whether [`find`](Provider::find) can look up an object of this type that an interrupted
    /// create made, although its id is the cloud's choice. The engine then records such a create
    /// before sending it, as it does for a planned id.
    fn findable(&self, _type_name: &str) -> bool {
        false
    }

    /// Looks up by its natural key (an OIDC provider's URL, a pod identity association's
    /// cluster, namespace and service account) the object that an interrupted create of
    /// `planned` may have made. `Ok(Some)` only for an object that is exactly what was planned,
    /// read as [`read`](Provider::read) reads it; `Ok(None)` when there is none; an error
    /// ([`ProviderErrorKind::AlreadyExists`]) naming the conflict and the import id when an
    /// object holds the key but differs from the plan, which is never adopted.
    async fn find(&self, _type_name: &str, _planned: &Value) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }

    /// Reads the live object behind `state`. `Ok(None)` means it no longer exists.
    async fn read(&self, type_name: &str, state: &Value) -> Result<Option<Value>, ProviderError>;

    /// Creates the object described by `planned` and returns its full state.
    async fn create(
        &self,
        type_name: &str,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError>;

    /// Changes the object in place from `prior` to `planned` and returns its full state.
    async fn update(&self, type_name: &str, prior: &Value, planned: &Value) -> Result<Value, ProviderError>;

    /// Deletes the object. Deleting an object that is already gone succeeds.
    async fn delete(&self, type_name: &str, state: &Value) -> Result<(), ProviderError>;

    /// Reads an existing object by its import id (format in the schema's `import_id_format`).
    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError>;

    /// Reads a data source.
    async fn read_data(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError>;
}

pub type SharedProvider = Arc<dyn Provider>;
