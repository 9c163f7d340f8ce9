//! The behaviour every [`Provider`] must show for every resource type, checked the same way for
//! all of them: the AWS adapter against moto, the GCP and Azure adapters against emulators, the
//! test provider in memory.
//!
//! A provider's integration tests build one [`Case`] per resource type, configure the provider
//! (the suite never calls [`Provider::configure`], since only the caller knows the endpoints),
//! and hand both to [`run`]:
//!
//! ```
//! use trustform_lang::Value;
//! use trustform_provider::conformance::{self, Case, ConformanceFailure};
//! use trustform_provider::Provider;
//!
//! async fn conforms(provider: &dyn Provider) -> Result<(), ConformanceFailure> {
//!     let case = Case::new("test_resource", Value::object([("name", "conformance".into())]))
//!         .with_update(Value::object([("name", "conformance".into()), ("input", "changed".into())]));
//!     conformance::run(provider, &case).await
//! }
//! ```
//!
//! The steps run in the order of [`Step`]. The first broken promise ends the run with a
//! [`ConformanceFailure`] naming the provider, the type and the step; objects the suite created
//! are then deleted on a best-effort basis so an emulator is not left littered.

use crate::{NoCheckpoint, Provider, ProviderError, ProviderErrorKind};
use std::collections::BTreeMap;
use std::fmt;
use trustform_lang::{Value, REDACTED};
use trustform_schema::{block_body_equal, blocks_equal, conform, values_equal, Attribute, Block, Mode, ResourceSchema};

type ImportId = Box<dyn Fn(&Value) -> String + Send + Sync>;
type MissingState = Box<dyn Fn(&Value) -> Value + Send + Sync>;
type SoftDeleted = Box<dyn Fn(&Value) -> bool + Send + Sync>;

/// One resource type's configurations for the suite.
pub struct Case {
    type_name: String,
    create: Value,
    update: Option<Value>,
    import_id: ImportId,
    missing_state: MissingState,
    soft_deleted: Option<SoftDeleted>,
    idempotent_create: bool,
    import_ignores: Vec<String>,
}

impl Case {
    /// A case creating `type_name` from `create`: the resource's body as a user writes it (only
    /// settable attributes; nested blocks as lists of objects), before the schema fills in
    /// defaults and nulls.
    ///
    /// By default the import id is the state's `id`, and the never-created object is the
    /// created state with `-missing` appended to its `id`.
    pub fn new(type_name: impl Into<String>, create: Value) -> Case {
        Case {
            type_name: type_name.into(),
            create,
            update: None,
            import_id: Box::new(|state| id_of(state).to_owned()),
            missing_state: Box::new(|state| {
                with_attribute(state, "id", Value::string(format!("{}-missing", id_of(state))))
            }),
            soft_deleted: None,
            idempotent_create: false,
            import_ignores: Vec::new(),
        }
    }

    /// Attributes an import cannot know because they live only in the configuration and state
    /// (`disable_on_destroy`, say): the import step leaves them out of its comparison, as
    /// Terraform's acceptance tests list them in `ImportStateVerifyIgnore`.
    pub fn with_import_ignoring(mut self, attributes: &[&str]) -> Case {
        self.import_ignores = attributes.iter().map(|name| (*name).to_owned()).collect();
        self
    }

    /// Also updates the object in place to `update`: the whole body after the change, in the
    /// same form as `create`. It must not change an attribute that forces replacement.
    pub fn with_update(mut self, update: Value) -> Case {
        self.update = Some(update);
        self
    }

    /// How to compute the import id from a state, for types whose import id is not their `id`
    /// (`role_name,policy_arn`, say).
    pub fn with_import_id(mut self, import_id: impl Fn(&Value) -> String + Send + Sync + 'static) -> Case {
        self.import_id = Box::new(import_id);
        self
    }

    /// For types whose delete is a soft delete (a workload identity pool lingers for 30 days as
    /// `DELETED`): a read right after the delete may return a state `is_soft_deleted` accepts
    /// instead of `None`. Creating the same object again must still succeed.
    pub fn with_soft_delete(mut self, is_soft_deleted: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Case {
        self.soft_deleted = Some(Box::new(is_soft_deleted));
        self
    }

    /// For types whose create is idempotent by nature (granting an IAM member that is already
    /// granted is the same one grant): a second create of the same body may return the same
    /// object instead of a distinct one or `AlreadyExists`.
    pub fn with_idempotent_create(mut self) -> Case {
        self.idempotent_create = true;
        self
    }

    /// How to turn a live object's state into the state of a well-formed object that was never
    /// created, for types whose adapters read by something other than `id` or parse the id.
    pub fn with_missing_state(mut self, missing_state: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Case {
        self.missing_state = Box::new(missing_state);
        self
    }
}

/// The checks of the suite, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Step {
    /// The schema has the type and the case's bodies fit it.
    Schema,
    /// `create` returns a complete, known state with an `id`, every argument as given and every
    /// computed attribute the provider's `plan` derived as derived.
    Create,
    /// `read` right after `create` returns the same state.
    ReadAfterCreate,
    /// `update` changes the object in place and returns every argument as given.
    Update,
    /// `read` right after `update` returns the updated state.
    ReadAfterUpdate,
    /// `import` of the object's import id returns what `read` returns.
    Import,
    /// `delete` succeeds.
    Delete,
    /// `read` after `delete` is `Ok(None)`.
    ReadAfterDelete,
    /// Deleting what is already gone succeeds.
    DeleteAgain,
    /// `read` of an object that was never created is `Ok(None)`, not an error.
    ReadNeverCreated,
    /// Creating the object again after deleting it succeeds: replacement relies on it.
    CreateAfterDelete,
    /// A second create of the same body makes a distinct object or fails with `AlreadyExists`.
    CreateTwice,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Schema => "schema",
            Step::Create => "create",
            Step::ReadAfterCreate => "read after create",
            Step::Update => "update",
            Step::ReadAfterUpdate => "read after update",
            Step::Import => "import",
            Step::Delete => "delete",
            Step::ReadAfterDelete => "read after delete",
            Step::DeleteAgain => "delete again",
            Step::ReadNeverCreated => "read of a never-created object",
            Step::CreateAfterDelete => "create after delete",
            Step::CreateTwice => "create twice",
        })
    }
}

/// The first promise a provider broke, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider `{provider}`, resource type `{type_name}`, step `{step}`: {message}")]
pub struct ConformanceFailure {
    pub provider: String,
    pub type_name: String,
    pub step: Step,
    /// What was expected and what happened. Sensitive attributes are redacted.
    pub message: String,
}

/// Runs every [`Step`] for `case` against `provider`, which must be configured already.
pub async fn run(provider: &dyn Provider, case: &Case) -> Result<(), ConformanceFailure> {
    let failure = |step, message| ConformanceFailure {
        provider: provider.name().to_owned(),
        type_name: case.type_name.clone(),
        step,
        message,
    };
    let schema = provider
        .schema()
        .resources
        .get(&case.type_name)
        .ok_or_else(|| failure(Step::Schema, "the provider's schema has no such resource type".to_owned()))?;
    let suite = Suite { provider, case, schema };
    let mut live = Vec::new();
    let outcome = suite.steps(&mut live).await;
    for state in &live {
        // Cleanup after a failure: the failure being reported matters more than this outcome.
        let _ = provider.delete(&case.type_name, state).await;
    }
    outcome.map_err(|(step, message)| failure(step, message))
}

/// A failed check: the step and what went wrong.
type Broken = (Step, String);

struct Suite<'a> {
    provider: &'a dyn Provider,
    case: &'a Case,
    schema: &'a ResourceSchema,
}

impl Suite<'_> {
    /// Runs the steps, keeping in `live` the state of every object that exists at the moment, so
    /// that the caller can clean up when a step fails.
    async fn steps(&self, live: &mut Vec<Value>) -> Result<(), Broken> {
        let block = &self.schema.block;
        let type_name = self.case.type_name.as_str();
        let planned_create = self.planned(&self.case.create, None).map_err(|m| (Step::Schema, m))?;
        if let Some(update) = &self.case.update {
            let planned_update = self.planned(update, None).map_err(|m| (Step::Schema, format!("update: {m}")))?;
            let replacing = force_new_changes(block, &planned_create, &planned_update);
            if !replacing.is_empty() {
                let message = format!(
                    "the case's update changes {}, which force replacement; an update must be in place",
                    replacing.join(", ")
                );
                return Err((Step::Schema, message));
            }
        }

        let created = self.create(Step::Create, &planned_create, live).await?;
        let id = id_of(&created).to_owned();

        let mut current = self.read_back(Step::ReadAfterCreate, &created).await?;

        if let Some(update) = &self.case.update {
            let planned = self.planned(update, Some(&current)).map_err(|m| (Step::Update, m))?;
            let updated = self
                .provider
                .update(type_name, &current, &planned)
                .await
                .map_err(|e| (Step::Update, format!("update failed: {}", describe(&e))))?;
            // A provider that replaced instead of updating may have left the old object behind.
            live.retain(|state| id_of(state) != id_of(&updated));
            live.push(updated.clone());
            self.check_state(Step::Update, &planned, &updated)?;
            if id_of(&updated) != id {
                let message = format!("an in-place update changed the id from {id:?} to {:?}", id_of(&updated));
                return Err((Step::Update, message));
            }
            current = self.read_back(Step::ReadAfterUpdate, &updated).await?;
        }

        let import_id = (self.case.import_id)(&current);
        let imported = self
            .provider
            .import(type_name, &import_id)
            .await
            .map_err(|e| (Step::Import, format!("import of {import_id:?} failed: {}", describe(&e))))?;
        let (expected, imported) = if self.case.import_ignores.is_empty() {
            (current.clone(), imported)
        } else {
            let ignored = |state: &Value| {
                let mut map = state.as_object().cloned().unwrap_or_default();
                map.retain(|name, _| !self.case.import_ignores.contains(name));
                Value::Object(map)
            };
            (ignored(&current), ignored(&imported))
        };
        self.expect_same(Step::Import, "the imported state differs from the read state", &expected, &imported)?;

        self.provider.delete(type_name, &current).await.map_err(|e| (Step::Delete, describe(&e)))?;
        live.clear();
        self.expect_deleted(&current).await?;
        self.provider.delete(type_name, &current).await.map_err(|e| {
            (Step::DeleteAgain, format!("deleting an object that is gone must succeed: {}", describe(&e)))
        })?;
        self.expect_gone(Step::ReadNeverCreated, &(self.case.missing_state)(&current)).await?;

        let recreated = self.create(Step::CreateAfterDelete, &planned_create, live).await?;
        match self.provider.create(type_name, &planned_create, &NoCheckpoint).await {
            Ok(duplicate) => {
                live.push(duplicate.clone());
                if id_of(&duplicate) == id_of(&recreated) && !self.case.idempotent_create {
                    let message = format!(
                        "a second create of the same body returned the first object's id {:?}; it must \
                         create a distinct object or fail with AlreadyExists",
                        id_of(&duplicate)
                    );
                    return Err((Step::CreateTwice, message));
                }
            }
            Err(e) if e.kind == ProviderErrorKind::AlreadyExists => {}
            Err(e) => {
                let message = format!("a second create must succeed or fail with AlreadyExists, not {}", describe(&e));
                return Err((Step::CreateTwice, message));
            }
        }
        while let Some(state) = live.pop() {
            self.provider.delete(type_name, &state).await.map_err(|e| {
                (Step::CreateTwice, format!("cleanup delete of {:?} failed: {}", id_of(&state), describe(&e)))
            })?;
        }
        Ok(())
    }

    /// The value the engine would hand to `create` or `update` for `body`: conformed to the
    /// schema and adjusted by the provider's `plan`, with what the provider computes taken from
    /// `prior` when there is one and null otherwise, since providers never receive unknowns.
    fn planned(&self, body: &Value, prior: Option<&Value>) -> Result<Value, String> {
        let conformed = conform(&self.schema.block, body).map_err(|errors| {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("the case does not fit the schema: {}", errors.join("; "))
        })?;
        let mut planned = self
            .provider
            .plan(&self.case.type_name, prior, conformed)
            .map_err(|e| format!("plan failed: {}", describe(&e)))?;
        if let (Some(prior), Value::Object(map)) = (prior, &mut planned) {
            for (name, value) in map.iter_mut().filter(|(_, value)| value.is_unknown()) {
                *value = prior.get(name).cloned().unwrap_or_default();
            }
        }
        Ok(unknowns_to_null(planned))
    }

    /// Creates the object, counting it live before checking what came back.
    async fn create(&self, step: Step, planned: &Value, live: &mut Vec<Value>) -> Result<Value, Broken> {
        let created = self
            .provider
            .create(&self.case.type_name, planned, &NoCheckpoint)
            .await
            .map_err(|e| (step, format!("create failed: {}", describe(&e))))?;
        live.push(created.clone());
        self.check_state(step, planned, &created)?;
        Ok(created)
    }

    /// Reads the object behind `state` and expects what `state` says.
    async fn read_back(&self, step: Step, state: &Value) -> Result<Value, Broken> {
        let read = self
            .provider
            .read(&self.case.type_name, state)
            .await
            .map_err(|e| (step, format!("read failed: {}", describe(&e))))?
            .ok_or_else(|| (step, format!("read returned nothing for {:?}, which exists", id_of(state))))?;
        self.expect_same(step, "the read state differs from the state the last call returned", state, &read)?;
        Ok(read)
    }

    /// `read` after a delete: gone, or soft-deleted for types that declare it.
    async fn expect_deleted(&self, state: &Value) -> Result<(), Broken> {
        if let Some(is_soft_deleted) = &self.case.soft_deleted {
            if let Ok(Some(lingering)) = self.provider.read(&self.case.type_name, state).await {
                if is_soft_deleted(&lingering) {
                    return Ok(());
                }
                let message = format!("read after delete found {:?}, which is not soft-deleted", id_of(state));
                return Err((Step::ReadAfterDelete, message));
            }
        }
        self.expect_gone(Step::ReadAfterDelete, state).await
    }

    async fn expect_gone(&self, step: Step, state: &Value) -> Result<(), Broken> {
        match self.provider.read(&self.case.type_name, state).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err((step, format!("read found {:?}, which does not exist", id_of(state)))),
            Err(e) => Err((step, format!("read of an absent object must be Ok(None), not {}", describe(&e)))),
        }
    }

    /// A state the provider returned: a complete object, fully known, with an `id`, holding every
    /// argument as `planned` set it (optional-computed ones only where set).
    fn check_state(&self, step: Step, planned: &Value, state: &Value) -> Result<(), Broken> {
        let block = &self.schema.block;
        let Some(object) = state.as_object() else {
            return Err((step, format!("the state is a {}, not an object", state.type_name())));
        };
        let missing: Vec<&str> = block
            .attributes
            .keys()
            .chain(block.blocks.keys())
            .filter(|name| !object.contains_key(*name))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err((step, format!("the state lacks attributes: {}", missing.join(", "))));
        }
        let unknown: Vec<&str> =
            object.iter().filter(|(_, value)| value.contains_unknown()).map(|(name, _)| name.as_str()).collect();
        if !unknown.is_empty() {
            return Err((step, format!("the state holds unknown values in: {}", unknown.join(", "))));
        }
        if id_of(state).is_empty() {
            return Err((step, "the state has no non-empty string `id`".to_owned()));
        }
        // Computed attributes are the provider's to choose, and so are optional-computed ones
        // the body leaves unset; but what its `plan` derived for a new object (an ARN, a
        // pool's name) is a promise the cloud's answer must keep, as the apply checks (TF1090).
        let creating = matches!(step, Step::Create | Step::CreateAfterDelete);
        let differences = body_differences(block, planned, state, |attr, expected| match attr.mode {
            Mode::Computed => creating && !expected.is_null(),
            Mode::OptionalComputed => !expected.is_null(),
            Mode::Required | Mode::Optional => true,
        });
        if differences.is_empty() {
            Ok(())
        } else {
            Err((step, format!("the state does not hold the arguments as given: {}", differences.join("; "))))
        }
    }

    fn expect_same(&self, step: Step, summary: &str, expected: &Value, actual: &Value) -> Result<(), Broken> {
        let block = &self.schema.block;
        if actual.contains_unknown() {
            return Err((step, "the state holds unknown values".to_owned()));
        }
        if block_body_equal(block, expected, actual) {
            return Ok(());
        }
        let differences = body_differences(block, expected, actual, |_, _| true);
        Err((step, format!("{summary}: {}", differences.join("; "))))
    }
}

/// The names of attributes and blocks that force replacement and differ between `a` and `b`.
fn force_new_changes(block: &Block, a: &Value, b: &Value) -> Vec<String> {
    let null = Value::Null;
    let attributes = block.attributes.iter().filter(|(name, attr)| {
        attr.force_new && !values_equal(attr, a.get(name).unwrap_or(&null), b.get(name).unwrap_or(&null))
    });
    let blocks = block.blocks.iter().filter(|(name, nested)| {
        nested.force_new
            && !blocks_equal(&nested.block, nested.nesting, a.get(name).unwrap_or(&null), b.get(name).unwrap_or(&null))
    });
    attributes.map(|(name, _)| name.clone()).chain(blocks.map(|(name, _)| name.clone())).collect()
}

/// One line per attribute or block on which two values of `block` differ, looking only at the
/// attributes `compared` accepts given their expected value.
fn body_differences(
    block: &Block,
    expected: &Value,
    actual: &Value,
    compared: impl Fn(&Attribute, &Value) -> bool,
) -> Vec<String> {
    let null = Value::Null;
    let mut differences = Vec::new();
    for (name, attr) in &block.attributes {
        let (x, y) = (expected.get(name).unwrap_or(&null), actual.get(name).unwrap_or(&null));
        if compared(attr, x) && !values_equal(attr, x, y) {
            differences.push(difference(name, attr.sensitive, x, y));
        }
    }
    for (name, nested) in &block.blocks {
        let (x, y) = (expected.get(name).unwrap_or(&null), actual.get(name).unwrap_or(&null));
        if !blocks_equal(&nested.block, nested.nesting, x, y) {
            differences.push(difference(name, false, x, y));
        }
    }
    differences
}

/// Names the attribute and shows both values, unless the schema calls it sensitive: a
/// provider may hand back a secret without its mark, and a test log must not show it.
fn difference(name: &str, sensitive: bool, expected: &Value, actual: &Value) -> String {
    if sensitive {
        format!("`{name}`: expected {REDACTED}, got a different {REDACTED}")
    } else {
        format!("`{name}`: expected {}, got {}", expected.render(), actual.render())
    }
}

fn describe(error: &ProviderError) -> String {
    format!("{:?} error: {error}", error.kind)
}

fn id_of(state: &Value) -> &str {
    state.get("id").and_then(Value::as_str).unwrap_or_default()
}

fn with_attribute(state: &Value, name: &str, value: Value) -> Value {
    let mut map: BTreeMap<String, Value> = state.as_object().cloned().unwrap_or_default();
    map.insert(name.to_owned(), value);
    Value::Object(map)
}

fn unknowns_to_null(value: Value) -> Value {
    match value {
        Value::Unknown | Value::Partial(_) => Value::Null,
        Value::Sensitive(inner) => unknowns_to_null(*inner).sensitive(),
        Value::List(items) => Value::List(items.into_iter().map(unknowns_to_null).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, unknowns_to_null(v))).collect()),
        known => known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Type;

    fn block() -> Block {
        Block::new()
            .attr("id", Attribute::computed(Type::String))
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("note", Attribute::optional(Type::String))
            .attr("password", Attribute::optional(Type::String).sensitive())
    }

    #[test]
    fn differences_name_attributes_and_redact_secrets() {
        let a = Value::object([("name", "a".into()), ("password", "hunter2".into())]);
        let b = Value::object([("name", "b".into()), ("password", "swordfish".into())]);
        let lines = body_differences(&block(), &a, &b, |_, _| true);
        assert_eq!(
            lines,
            [
                r#"`name`: expected "a", got "b""#,
                "`password`: expected (sensitive value), got a different (sensitive value)",
            ]
        );
    }

    #[test]
    fn only_force_new_changes_count_as_replacement() {
        let a = Value::object([("name", "a".into()), ("note", "x".into())]);
        assert_eq!(force_new_changes(&block(), &a, &with_attribute(&a, "note", "y".into())), Vec::<String>::new());
        assert_eq!(force_new_changes(&block(), &a, &with_attribute(&a, "name", "b".into())), ["name"]);
    }

    #[test]
    fn unknowns_become_null_and_marks_stay() {
        let value = Value::object([("id", Value::Unknown), ("secret", Value::List(vec![Value::Unknown]).sensitive())]);
        let known = unknowns_to_null(value);
        assert!(!known.contains_unknown());
        assert_eq!(known.get("id"), Some(&Value::Null));
        assert_eq!(known.get("secret"), Some(&Value::List(vec![Value::Null]).sensitive()));
    }

    #[test]
    fn failures_name_provider_type_and_step() {
        let failure = ConformanceFailure {
            provider: "aws".to_owned(),
            type_name: "aws_iam_role".to_owned(),
            step: Step::ReadNeverCreated,
            message: "read of an absent object must be Ok(None), not Denied error: no".to_owned(),
        };
        assert_eq!(
            failure.to_string(),
            "provider `aws`, resource type `aws_iam_role`, step `read of a never-created object`: \
             read of an absent object must be Ok(None), not Denied error: no"
        );
    }
}
