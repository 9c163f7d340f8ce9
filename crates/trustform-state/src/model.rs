use crate::StateError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use trustform_lang::{Path, ResourceAddr, Value, REDACTED};

/// The version of the state file layout this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// What exists: every resource Trustform manages, with the attributes its provider last reported,
/// and the outputs of the last apply.
///
/// `lineage` names one state's history and never changes once created; `serial` counts the writes
/// within it. Together they let a backend refuse a stale or foreign writer ([`crate::check_overwrite`])
/// and a push refuse to lose changes ([`crate::check_push`]).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The Trustform version that created or last stamped this state.
    pub trustform_version: String,
    /// A UUID v4 given at creation.
    pub lineage: String,
    pub serial: u64,
    pub resources: BTreeMap<ResourceAddr, ResourceState>,
    pub outputs: BTreeMap<String, OutputState>,
}

impl State {
    /// An empty state with a fresh lineage at serial 0.
    pub fn new() -> Self {
        State {
            trustform_version: env!("CARGO_PKG_VERSION").to_owned(),
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Moves the resource at `from` to `to` (`state mv`) and rewrites every dependency on it.
    pub fn mv(&mut self, from: &ResourceAddr, to: ResourceAddr) -> Result<(), StateError> {
        if from.resource.mode != to.resource.mode || from.type_name() != to.type_name() {
            return Err(StateError::MoveAcrossTypes { from: Box::new(from.clone()), to: Box::new(to) });
        }
        if self.resources.contains_key(&to) {
            return Err(StateError::AddressTaken { address: to });
        }
        let moved = self.resources.remove(from).ok_or_else(|| StateError::NoSuchResource { address: from.clone() })?;
        self.resources.insert(to.clone(), moved);
        for resource in self.resources.values_mut() {
            if resource.dependencies.contains(from) {
                resource.dependencies.retain(|dependency| dependency != from);
                resource.dependencies.push(to.clone());
                resource.dependencies.sort();
                resource.dependencies.dedup();
            }
        }
        Ok(())
    }

    /// Forgets the resource at `addr` (`state rm`) without touching the object it describes, and
    /// drops it from every other resource's dependencies. Returns what was forgotten.
    pub fn rm(&mut self, addr: &ResourceAddr) -> Result<ResourceState, StateError> {
        let removed =
            self.resources.remove(addr).ok_or_else(|| StateError::NoSuchResource { address: addr.clone() })?;
        for resource in self.resources.values_mut() {
            resource.dependencies.retain(|dependency| dependency != addr);
        }
        Ok(removed)
    }

    /// Makes this state the successor of `current`: it takes `current`'s lineage and a serial past
    /// it, so that a store accepts it over `current`. This is how a forced push replaces a state.
    pub fn rebase_onto(&mut self, current: &State) {
        self.lineage.clone_from(&current.lineage);
        self.serial = self.serial.max(current.serial.saturating_add(1));
    }
}

impl Default for State {
    /// Same as [`State::new`]: a fresh lineage every time.
    fn default() -> Self {
        State::new()
    }
}

/// Whether a resource can be trusted as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceStatus {
    #[default]
    Ready,
    /// Its create returned only partially; the next apply replaces it.
    Tainted,
    /// Its create was sent and the run stopped before the answer was saved, so the object may
    /// or may not exist. The attributes are the planned ones (unknowns as null). The next
    /// refresh reads it by its planned `id` and adopts it if it exists, or forgets it; without
    /// a planned id it cannot be looked up, and the next apply creates it again.
    Creating,
}

/// One resource instance as its provider last reported it.
///
/// `attributes` are stored as plain JSON with the paths of sensitive values listed beside them;
/// [`ResourceState::value`] puts the marks back. `Debug` never prints a sensitive value.
#[derive(Clone, PartialEq)]
pub struct ResourceState {
    pub type_name: String,
    /// The provider local name: `aws`, `google`, `azurerm`, `trustform`.
    pub provider: String,
    /// The `id` attribute, kept apart for listings and imports.
    pub id: String,
    /// A JSON object holding every attribute of the type's schema. Shared: a state's copies
    /// (the apply's in-memory state and the change it journals) cost no copy of the attributes.
    pub attributes: std::sync::Arc<serde_json::Value>,
    pub sensitive_attributes: Vec<Path>,
    /// Resources this one depended on when it was last applied, sorted; destroy runs in reverse.
    pub dependencies: Vec<ResourceAddr>,
    pub status: ResourceStatus,
}

impl ResourceState {
    /// Records a provider's state value. The value must be a fully known object with a string `id`;
    /// its sensitive marks become `sensitive_attributes`.
    pub fn from_value(
        type_name: impl Into<String>,
        provider: impl Into<String>,
        value: &Value,
        dependencies: impl IntoIterator<Item = ResourceAddr>,
    ) -> Result<Self, StateError> {
        let type_name = type_name.into();
        if value.as_object().is_none() {
            return Err(StateError::NotAnObject { type_name, found: value.type_name() });
        }
        if value.contains_unknown() {
            return Err(StateError::UnknownValue { type_name });
        }
        let Some(id) = value.get("id").and_then(Value::as_str) else {
            return Err(StateError::MissingId { type_name });
        };
        let mut dependencies: Vec<ResourceAddr> = dependencies.into_iter().collect();
        dependencies.sort();
        dependencies.dedup();
        Ok(ResourceState {
            id: id.to_owned(),
            attributes: std::sync::Arc::new(value.to_json()),
            sensitive_attributes: value.sensitive_paths(),
            type_name,
            provider: provider.into(),
            dependencies,
            status: ResourceStatus::Ready,
        })
    }

    /// The attributes as a value, with every sensitive path marked again.
    pub fn value(&self) -> Value {
        Value::from_json(&self.attributes).mark_paths(&self.sensitive_attributes)
    }

    /// The record written just before a create is sent: the planned value (unknowns as null),
    /// under the planned `id` if it is known at plan time, else an empty one.
    pub fn creating(
        type_name: impl Into<String>,
        provider: impl Into<String>,
        planned: &Value,
        dependencies: impl IntoIterator<Item = ResourceAddr>,
    ) -> Self {
        let mut dependencies: Vec<ResourceAddr> = dependencies.into_iter().collect();
        dependencies.sort();
        dependencies.dedup();
        ResourceState {
            type_name: type_name.into(),
            provider: provider.into(),
            id: planned.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            attributes: std::sync::Arc::new(planned.to_json()),
            sensitive_attributes: planned.sensitive_paths(),
            dependencies,
            status: ResourceStatus::Creating,
        }
    }

    /// The same resource, marked for replacement on the next apply.
    pub fn tainted(self) -> Self {
        ResourceState { status: ResourceStatus::Tainted, ..self }
    }

    /// True when the `id` attribute, or the whole object, is sensitive.
    fn id_is_sensitive(&self) -> bool {
        self.sensitive_attributes.iter().any(|path| path.0.is_empty() || *path == Path::key("id"))
    }
}

impl fmt::Debug for ResourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id: &dyn fmt::Debug = if self.id_is_sensitive() { &REDACTED } else { &self.id };
        let sensitive: Vec<String> = self.sensitive_attributes.iter().map(ToString::to_string).collect();
        let dependencies: Vec<String> = self.dependencies.iter().map(ToString::to_string).collect();
        f.debug_struct("ResourceState")
            .field("type_name", &self.type_name)
            .field("provider", &self.provider)
            .field("id", id)
            .field("attributes", &self.value())
            .field("sensitive_attributes", &sensitive)
            .field("dependencies", &dependencies)
            .field("status", &self.status)
            .finish()
    }
}

/// One output of the last apply. Outputs are sensitive as a whole, as in the spec.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputState {
    // Fields in alphabetical order: the state file's keys are sorted.
    pub sensitive: bool,
    pub value: serde_json::Value,
}

impl OutputState {
    /// Records an output value; it is sensitive if anything inside it is. Unknown values cannot be
    /// stored.
    pub fn from_value(name: &str, value: &Value) -> Result<Self, StateError> {
        if value.contains_unknown() {
            return Err(StateError::UnknownValue { type_name: format!("output {name}") });
        }
        Ok(OutputState { value: value.to_json(), sensitive: value.contains_sensitive() })
    }

    /// The value, marked sensitive when the output is.
    pub fn value(&self) -> Value {
        Value::from_json(&self.value).mark_if(self.sensitive)
    }
}

impl fmt::Debug for OutputState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputState").field("value", &self.value()).field("sensitive", &self.sensitive).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::InstanceKey;

    fn addr(text: &str) -> ResourceAddr {
        text.parse().unwrap()
    }

    fn role(id: &str, dependencies: &[&str]) -> ResourceState {
        let value = Value::object([("id", Value::from(id))]);
        ResourceState::from_value("aws_iam_role", "aws", &value, dependencies.iter().map(|d| addr(d))).unwrap()
    }

    fn state_with(resources: &[(&str, ResourceState)]) -> State {
        let mut state = State::new();
        state.resources = resources.iter().map(|(a, r)| (addr(a), r.clone())).collect();
        state
    }

    #[test]
    fn new_states_have_distinct_uuid_lineages_at_serial_zero() {
        let (a, b) = (State::new(), State::new());
        assert_ne!(a.lineage, b.lineage);
        assert_eq!(uuid::Uuid::parse_str(&a.lineage).unwrap().get_version_num(), 4);
        assert_eq!(a.serial, 0);
        assert!(a.resources.is_empty() && a.outputs.is_empty());
    }

    #[test]
    fn from_value_records_id_sensitive_paths_and_sorted_dependencies() {
        let value = Value::object([
            ("id", Value::from("gateway")),
            ("tags", Value::object([("token", Value::from("s3cret").sensitive())])),
        ]);
        let deps = [addr("aws_iam_role.b"), addr("aws_iam_role.a"), addr("aws_iam_role.b")];
        let resource = ResourceState::from_value("aws_iam_role", "aws", &value, deps).unwrap();
        assert_eq!(resource.id, "gateway");
        assert_eq!(*resource.attributes, serde_json::json!({"id": "gateway", "tags": {"token": "s3cret"}}));
        assert_eq!(resource.sensitive_attributes, vec!["tags.token".parse::<Path>().unwrap()]);
        assert_eq!(resource.dependencies, vec![addr("aws_iam_role.a"), addr("aws_iam_role.b")]);
        assert_eq!(resource.status, ResourceStatus::Ready);
        assert_eq!(resource.value(), value);
    }

    #[test]
    fn from_value_refuses_what_cannot_be_stored() {
        let unknown = Value::object([("id", Value::from("x")), ("arn", Value::Unknown)]);
        let no_id = Value::object([("name", Value::from("x"))]);
        let numeric_id = Value::object([("id", Value::from(3))]);
        let err = |v: &Value| ResourceState::from_value("aws_iam_role", "aws", v, []).unwrap_err();
        assert!(matches!(err(&unknown), StateError::UnknownValue { .. }));
        assert!(matches!(err(&no_id), StateError::MissingId { .. }));
        assert!(matches!(err(&numeric_id), StateError::MissingId { .. }));
        assert!(matches!(err(&Value::from("x")), StateError::NotAnObject { found: "string", .. }));
        assert!(err(&unknown).to_string().contains("aws_iam_role"));
    }

    #[test]
    fn debug_never_prints_sensitive_values() {
        let value = Value::object([("id", Value::from("gateway")), ("password", Value::from("hunter2").sensitive())]);
        let resource = ResourceState::from_value("aws_iam_role", "aws", &value, []).unwrap();
        let whole = Value::object([("id", Value::from("id-hunter2"))]).sensitive();
        let secret_id = ResourceState::from_value("aws_iam_role", "aws", &whole, []).unwrap();
        let output = OutputState::from_value("token", &Value::from("hunter2").sensitive()).unwrap();
        let mut state = state_with(&[("aws_iam_role.a", resource), ("aws_iam_role.b", secret_id)]);
        state.outputs.insert("token".to_owned(), output);
        let text = format!("{state:?}");
        assert!(!text.contains("hunter2"), "leaked: {text}");
        assert!(text.contains("gateway") && text.contains(REDACTED), "{text}");
    }

    #[test]
    fn outputs_keep_their_sensitivity() {
        let plain = OutputState::from_value("arn", &Value::from("arn:aws:iam::1:role/x")).unwrap();
        assert!(!plain.sensitive);
        assert_eq!(plain.value(), Value::from("arn:aws:iam::1:role/x"));
        let nested = Value::object([("key", Value::from("k").sensitive())]);
        let secret = OutputState::from_value("creds", &nested).unwrap();
        assert!(secret.sensitive);
        assert!(secret.value().is_sensitive());
        assert!(OutputState::from_value("later", &Value::Unknown).is_err());
    }

    #[test]
    fn a_creating_record_keeps_the_planned_id_and_nulls_the_unknowns() {
        let planned = Value::object([("id", "gateway".into()), ("name", "gateway".into()), ("arn", Value::Unknown)]);
        let record = ResourceState::creating("aws_iam_role", "aws", &planned, []);
        assert_eq!(record.status, ResourceStatus::Creating);
        assert_eq!(record.id, "gateway");
        assert_eq!(*record.attributes, serde_json::json!({ "id": "gateway", "name": "gateway", "arn": null }));
        let unnamed = ResourceState::creating("aws_iam_role", "aws", &Value::object([("id", Value::Unknown)]), []);
        assert_eq!(unnamed.id, "");
    }

    #[test]
    fn tainted_marks_for_replacement() {
        assert_eq!(role("r", &[]).tainted().status, ResourceStatus::Tainted);
    }

    #[test]
    fn mv_renames_and_rewrites_dependencies() {
        let mut state = state_with(&[
            ("aws_iam_role.old", role("old", &[])),
            ("aws_iam_role.user", role("user", &["aws_iam_role.old", "aws_iam_role.z"])),
        ]);
        let to = addr("aws_iam_role.new").with_key(InstanceKey::Str("a".to_owned()));
        state.mv(&addr("aws_iam_role.old"), to.clone()).unwrap();
        assert_eq!(state.resources[&to].id, "old");
        assert!(!state.resources.contains_key(&addr("aws_iam_role.old")));
        assert_eq!(state.resources[&addr("aws_iam_role.user")].dependencies, vec![to, addr("aws_iam_role.z")]);
    }

    #[test]
    fn mv_refuses_missing_taken_and_cross_type_addresses() {
        let mut state = state_with(&[("aws_iam_role.a", role("a", &[])), ("aws_iam_role.b", role("b", &[]))]);
        let before = state.clone();
        let missing = state.mv(&addr("aws_iam_role.nope"), addr("aws_iam_role.c")).unwrap_err();
        assert!(matches!(&missing, StateError::NoSuchResource { address } if *address == addr("aws_iam_role.nope")));
        let taken = state.mv(&addr("aws_iam_role.a"), addr("aws_iam_role.b")).unwrap_err();
        assert!(matches!(&taken, StateError::AddressTaken { address } if *address == addr("aws_iam_role.b")));
        let across = state.mv(&addr("aws_iam_role.a"), addr("aws_iam_policy.a")).unwrap_err();
        assert!(matches!(across, StateError::MoveAcrossTypes { .. }));
        let to_data = state.mv(&addr("aws_iam_role.a"), addr("data.aws_iam_role.a")).unwrap_err();
        assert!(matches!(to_data, StateError::MoveAcrossTypes { .. }));
        assert_eq!(state, before);
    }

    #[test]
    fn rm_forgets_the_resource_and_references_to_it() {
        let mut state =
            state_with(&[("aws_iam_role.a", role("a", &[])), ("aws_iam_role.b", role("b", &["aws_iam_role.a"]))]);
        let removed = state.rm(&addr("aws_iam_role.a")).unwrap();
        assert_eq!(removed.id, "a");
        assert_eq!(state.resources.keys().collect::<Vec<_>>(), [&addr("aws_iam_role.b")]);
        assert!(state.resources[&addr("aws_iam_role.b")].dependencies.is_empty());
        let again = state.rm(&addr("aws_iam_role.a")).unwrap_err();
        assert!(again.to_string().contains("no resource aws_iam_role.a"), "{again}");
    }

    #[test]
    fn rebase_onto_takes_lineage_and_moves_past_the_current_serial() {
        let mut current = State::new();
        current.serial = 7;
        let mut pushed = State::new();
        pushed.serial = 2;
        pushed.rebase_onto(&current);
        assert_eq!((pushed.lineage.as_str(), pushed.serial), (current.lineage.as_str(), 8));
        pushed.serial = 20;
        pushed.rebase_onto(&current);
        assert_eq!(pushed.serial, 20);
    }
}
