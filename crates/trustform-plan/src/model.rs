use crate::diff::AttributeChange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustform_lang::{ResourceAddr, Value};

/// What the apply will do to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    /// A data source that can only be read during apply, because its arguments are unknown.
    Read,
    Update,
    /// Delete the old object, then create the new one.
    DeleteThenCreate,
    /// Create the new object first, then delete the old one (`create_before_destroy`).
    CreateThenDelete,
    Delete,
    /// Drop the object from state and leave it in the cloud (a `removed` block with
    /// `lifecycle { destroy = false }`).
    Forget,
}

impl Action {
    /// The Terraform symbol: `+`, `~`, `-`, `-/+`, `+/-`, `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Read => "<=",
            Action::Update => "~",
            Action::DeleteThenCreate => "-/+",
            Action::CreateThenDelete => "+/-",
            Action::Delete => "-",
            Action::Forget => ".",
        }
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }
}

/// Why an action was chosen, kept apart from the action itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// The ordinary reason: configuration and state differ.
    None,
    /// Replacement forced by changes to these attributes.
    ReplaceBecauseOf { attributes: Vec<String> },
    /// `--replace ADDR` asked for it.
    ReplaceByRequest,
    /// A previous create did not finish; the object may be incomplete.
    Tainted,
    /// The resource is in state but no longer in the configuration.
    NoLongerInConfig,
    /// The instance key is no longer produced by `count`/`for_each`.
    NoLongerInRepetition,
    /// Refresh found the object gone; it will be created again.
    DeletedOutsideTrustform,
    /// Destroy mode.
    DestroyRequested,
    /// A `removed` block says the resource is gone from the configuration.
    Removed,
}

/// One planned change.
///
/// Its [`ChangeValues`] carry exactly the values its action needs, so a change whose action and
/// values disagree (a delete without the object to delete, a create with one) cannot be built;
/// a saved plan that spells one is refused when it is read ([`crate::SavedPlan::from_bytes`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawChange")]
pub struct Change {
    pub address: ResourceAddr,
    pub provider: String,
    pub reason: Reason,
    /// The action and its values.
    pub values: ChangeValues,
    /// Attribute-level differences, for rendering.
    pub attributes: Vec<AttributeChange>,
    /// Addresses this resource depends on (recorded in state after apply).
    pub dependencies: Vec<ResourceAddr>,
}

/// What a change does, with the values that needs: `before` is the refreshed state of the
/// object that exists, `after` the planned state (may hold unknowns) of the object that will.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValues {
    Create {
        after: Value,
    },
    /// A data source read during apply, because its arguments are unknown at plan time.
    Read {
        after: Value,
    },
    Update {
        before: Value,
        after: Value,
    },
    Replace {
        before: Value,
        after: Value,
        order: ReplaceOrder,
    },
    Delete {
        before: Value,
    },
    /// Forget the object: its record leaves the state, the object stays.
    Forget {
        before: Value,
    },
    /// Nothing to do: a managed object that stays as it is, or a data source read at plan time
    /// (`before` is `None`; only a data source may lack it, outside a refresh-only plan). In a
    /// refresh-only plan, what refresh found for an object.
    NoOp {
        before: Option<Value>,
        after: Value,
    },
    /// A refresh-only plan's record of an object refresh found gone: applying it forgets the
    /// object. Only a refresh-only plan holds one ([`Plan::check_consistent`]).
    Gone {
        before: Option<Value>,
    },
}

/// Which half of a replacement comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOrder {
    /// Delete the old object, then create the new one.
    DeleteFirst,
    /// Create the new object first, then delete the old one (`create_before_destroy`).
    CreateFirst,
}

impl ChangeValues {
    pub fn action(&self) -> Action {
        match self {
            ChangeValues::Create { .. } => Action::Create,
            ChangeValues::Read { .. } => Action::Read,
            ChangeValues::Update { .. } => Action::Update,
            ChangeValues::Replace { order: ReplaceOrder::DeleteFirst, .. } => Action::DeleteThenCreate,
            ChangeValues::Replace { order: ReplaceOrder::CreateFirst, .. } => Action::CreateThenDelete,
            ChangeValues::Delete { .. } => Action::Delete,
            ChangeValues::Forget { .. } => Action::Forget,
            ChangeValues::NoOp { .. } | ChangeValues::Gone { .. } => Action::NoOp,
        }
    }

    /// What a refresh-only plan records for an object: `before` from state, `after` what refresh
    /// found (`None`: gone).
    pub fn refreshed(before: Option<Value>, after: Option<Value>) -> Self {
        match after {
            Some(after) => ChangeValues::NoOp { before, after },
            None => ChangeValues::Gone { before },
        }
    }

    pub fn before(&self) -> Option<&Value> {
        match self {
            ChangeValues::Update { before, .. }
            | ChangeValues::Replace { before, .. }
            | ChangeValues::Delete { before }
            | ChangeValues::Forget { before } => Some(before),
            ChangeValues::NoOp { before, .. } | ChangeValues::Gone { before } => before.as_ref(),
            ChangeValues::Create { .. } | ChangeValues::Read { .. } => None,
        }
    }

    pub fn after(&self) -> Option<&Value> {
        match self {
            ChangeValues::Create { after }
            | ChangeValues::Read { after }
            | ChangeValues::Update { after, .. }
            | ChangeValues::Replace { after, .. }
            | ChangeValues::NoOp { after, .. } => Some(after),
            ChangeValues::Delete { .. } | ChangeValues::Forget { .. } | ChangeValues::Gone { .. } => None,
        }
    }

    /// The prior value, to edit in place; `None` when the change has none (it cannot gain one).
    pub fn before_mut(&mut self) -> Option<&mut Value> {
        match self {
            ChangeValues::Update { before, .. }
            | ChangeValues::Replace { before, .. }
            | ChangeValues::Delete { before }
            | ChangeValues::Forget { before } => Some(before),
            ChangeValues::NoOp { before, .. } | ChangeValues::Gone { before } => before.as_mut(),
            ChangeValues::Create { .. } | ChangeValues::Read { .. } => None,
        }
    }

    /// The planned value, to edit in place; `None` when the change has none (it cannot gain one).
    pub fn after_mut(&mut self) -> Option<&mut Value> {
        match self {
            ChangeValues::Create { after }
            | ChangeValues::Read { after }
            | ChangeValues::Update { after, .. }
            | ChangeValues::Replace { after, .. }
            | ChangeValues::NoOp { after, .. } => Some(after),
            ChangeValues::Delete { .. } | ChangeValues::Forget { .. } | ChangeValues::Gone { .. } => None,
        }
    }
}

impl Change {
    pub fn type_name(&self) -> &str {
        self.address.type_name()
    }

    pub fn action(&self) -> Action {
        self.values.action()
    }

    /// The refreshed state, when the object exists.
    pub fn before(&self) -> Option<&Value> {
        self.values.before()
    }

    /// The planned state (may hold unknowns), when the object will exist.
    pub fn after(&self) -> Option<&Value> {
        self.values.after()
    }

    /// A data source result leaving state: bookkeeping, not a change to any object, so it is
    /// neither shown nor counted (as in Terraform).
    pub fn is_data_removal(&self) -> bool {
        self.action() == Action::Delete && self.address.is_data()
    }
}

/// A change as saved plans spell it: the action, and the values side by side (`null` when
/// absent). Decoding one checks that they agree.
#[derive(Deserialize)]
pub(crate) struct RawChange {
    address: ResourceAddr,
    provider: String,
    action: Action,
    reason: Reason,
    #[serde(with = "opt_value")]
    before: Option<Value>,
    #[serde(with = "opt_value")]
    after: Option<Value>,
    attributes: Vec<AttributeChange>,
    dependencies: Vec<ResourceAddr>,
}

impl TryFrom<RawChange> for Change {
    /// Which action lacks or has which value.
    type Error = String;

    fn try_from(raw: RawChange) -> Result<Self, String> {
        let RawChange { address, provider, action, reason, before, after, attributes, dependencies } = raw;
        let problem = format!(
            "the {action:?} of {address} {} a prior value and {} a planned one",
            if before.is_some() { "has" } else { "lacks" },
            if after.is_some() { "has" } else { "lacks" },
        );
        let values = match (action, before, after) {
            (Action::Create, None, Some(after)) => ChangeValues::Create { after },
            (Action::Read, None, Some(after)) => ChangeValues::Read { after },
            (Action::Update, Some(before), Some(after)) => ChangeValues::Update { before, after },
            (Action::DeleteThenCreate, Some(before), Some(after)) => {
                ChangeValues::Replace { before, after, order: ReplaceOrder::DeleteFirst }
            }
            (Action::CreateThenDelete, Some(before), Some(after)) => {
                ChangeValues::Replace { before, after, order: ReplaceOrder::CreateFirst }
            }
            (Action::Delete, Some(before), None) => ChangeValues::Delete { before },
            (Action::Forget, Some(before), None) => ChangeValues::Forget { before },
            (Action::NoOp, before, after) => ChangeValues::refreshed(before, after),
            _ => return Err(problem),
        };
        Ok(Change { address, provider, reason, values, attributes, dependencies })
    }
}

impl Serialize for Change {
    /// The [`RawChange`] spelling, field for field.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Spelled<'a> {
            address: &'a ResourceAddr,
            provider: &'a str,
            action: Action,
            reason: &'a Reason,
            #[serde(serialize_with = "opt_value::serialize_ref")]
            before: Option<&'a Value>,
            #[serde(serialize_with = "opt_value::serialize_ref")]
            after: Option<&'a Value>,
            attributes: &'a [AttributeChange],
            dependencies: &'a [ResourceAddr],
        }
        Spelled {
            address: &self.address,
            provider: &self.provider,
            action: self.action(),
            reason: &self.reason,
            before: self.before(),
            after: self.after(),
            attributes: &self.attributes,
            dependencies: &self.dependencies,
        }
        .serialize(serializer)
    }
}

/// A planned output value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    #[serde(with = "opt_value")]
    pub before: Option<Value>,
    #[serde(with = "opt_value")]
    pub after: Option<Value>,
    pub sensitive: bool,
}

impl OutputChange {
    pub fn action(&self) -> Action {
        match (&self.before, &self.after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(b), Some(a)) if !b.eq_ignoring_marks(a) || a.contains_unknown() => Action::Update,
            _ => Action::NoOp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    #[default]
    Normal,
    Destroy,
    RefreshOnly,
}

/// An object a `moved` block moved in state: applying the plan records it at `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedObject {
    pub from: ResourceAddr,
    pub to: ResourceAddr,
}

/// An object an `import` block brings under management: read through the provider at plan
/// time, recorded in state by the apply before its change (if any) is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedObject {
    pub address: ResourceAddr,
    /// The import id the provider read it by.
    pub id: String,
}

/// A whole plan, as shown to the user and saved with `--out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Plan {
    pub mode: PlanMode,
    /// The state this plan was made against; a saved plan is refused when it moved.
    pub state_lineage: String,
    pub state_serial: u64,
    /// Every change in a deterministic order (by address), no-ops included.
    pub changes: Vec<Change>,
    pub outputs: BTreeMap<String, OutputChange>,
    /// Objects refresh found changed outside Trustform, for the drift report.
    pub drift: Vec<Change>,
    /// Objects an interrupted apply created without saving them, which refresh found by their
    /// planned ids: applying saves them in state and changes nothing in the cloud.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<ResourceAddr>,
    /// Objects `moved` blocks move in state, each instance once, in the order they move (a
    /// chain's moves already joined: `from` is where the state records it now). The changes
    /// are planned at the new addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<MovedObject>,
    /// Objects `import` blocks bring under management; each has a change at its address whose
    /// prior value is what the provider read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported: Vec<ImportedObject>,
}

/// Counts of the plan summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub read: usize,
    pub forget: usize,
    pub import: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary { import: self.imported.len(), ..Summary::default() };
        for change in self.changes.iter().filter(|change| !change.is_data_removal()) {
            match change.action() {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Read => s.read += 1,
                Action::Forget => s.forget += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    /// True when applying would change any resource or output.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| !matches!(c.action(), Action::NoOp | Action::Read) && !c.is_data_removal())
            || self.outputs.values().any(|o| o.action() != Action::NoOp)
            || (self.mode == PlanMode::RefreshOnly && !self.drift.is_empty())
            || !self.adopted.is_empty()
            || !self.moved.is_empty()
            || !self.imported.is_empty()
    }

    /// The import id of the object an `import` block brings to `address`, if one does.
    pub fn import_id(&self, address: &ResourceAddr) -> Option<&str> {
        self.imported.iter().find(|i| &i.address == address).map(|i| i.id.as_str())
    }

    /// Where a `moved` block says the object at `address` was recorded before this plan.
    pub fn previous_address(&self, address: &ResourceAddr) -> Option<&ResourceAddr> {
        self.moved.iter().find(|m| &m.to == address).map(|m| &m.from)
    }

    /// Managed objects refresh found gone that no change of this plan touches: applying the plan
    /// drops their records, as Terraform's apply starts from the refreshed state.
    pub fn gone_objects(&self) -> impl Iterator<Item = &ResourceAddr> {
        self.drift
            .iter()
            .filter(|d| d.after().is_none() && !d.address.is_data() && self.change(&d.address).is_none())
            .map(|d| &d.address)
    }

    pub fn change(&self, address: &ResourceAddr) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address)
    }
}

/// Values in saved plans: JSON with unknowns and sensitive marks encoded explicitly, so a plan
/// file round-trips exactly.
pub(crate) mod opt_value {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{json, Value as Json};
    use trustform_lang::Value;

    pub fn encode(value: &Value) -> Json {
        match value {
            Value::Unknown => json!({ "$unknown": true }),
            // The shape of a partially known string, for the checks a saved plan is judged by.
            Value::Partial(shape) => json!({ "$unknown": true, "$shape": shape }),
            Value::Sensitive(inner) => json!({ "$sensitive": encode(inner) }),
            Value::List(items) => Json::Array(items.iter().map(encode).collect()),
            Value::Object(map) => {
                let encoded: serde_json::Map<String, Json> = map.iter().map(|(k, v)| (k.clone(), encode(v))).collect();
                if map.keys().any(|k| k.starts_with('$')) {
                    json!({ "$object": encoded })
                } else {
                    Json::Object(encoded)
                }
            }
            scalar => scalar.to_json(),
        }
    }

    pub fn decode(json: &Json) -> Value {
        match json {
            Json::Object(map) if map.len() == 1 && map.contains_key("$unknown") => Value::Unknown,
            Json::Object(map) if map.len() == 2 && map.contains_key("$unknown") && map.contains_key("$shape") => {
                serde_json::from_value(map["$shape"].clone())
                    .map_or(Value::Unknown, |shape| Value::Partial(Box::new(shape)))
            }
            Json::Object(map) if map.len() == 1 && map.contains_key("$sensitive") => {
                decode(&map["$sensitive"]).sensitive()
            }
            Json::Object(map) if map.len() == 1 && map.contains_key("$object") => match &map["$object"] {
                Json::Object(inner) => Value::Object(inner.iter().map(|(k, v)| (k.clone(), decode(v))).collect()),
                other => decode(other),
            },
            Json::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), decode(v))).collect()),
            Json::Array(items) => Value::List(items.iter().map(decode).collect()),
            scalar => Value::from_json(scalar),
        }
    }

    pub fn serialize<S: Serializer>(value: &Option<Value>, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ref(&value.as_ref(), serializer)
    }

    pub fn serialize_ref<S: Serializer>(value: &Option<&Value>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(encode).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
        Ok(Option::<Json>::deserialize(deserializer)?.map(|j| decode(&j)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trips_marks_and_unknowns() {
            let value = Value::object([
                ("arn", Value::Unknown),
                (
                    "member",
                    Value::Partial(Box::new(
                        trustform_lang::Partial::new([
                            trustform_lang::Part::Text("arn:aws:iam::".into()),
                            trustform_lang::Part::Hole(trustform_lang::Hole::reference(
                                "data.aws_caller_identity.me.account_id",
                            )),
                        ])
                        .unwrap(),
                    )),
                ),
                ("secret", Value::from("s").sensitive()),
                ("odd", Value::object([("$unknown", Value::Bool(true))])),
                ("list", Value::List(vec![Value::from(1), Value::Null])),
            ]);
            assert_eq!(decode(&encode(&value)), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_decoded_on_its_own_is_checked_too() {
        let json = |action: &str, before: serde_json::Value, after: serde_json::Value| {
            serde_json::json!({
                "address": "test_resource.a", "provider": "test", "action": action, "reason": { "kind": "none" },
                "before": before, "after": after, "attributes": [], "dependencies": [],
            })
        };
        let object = serde_json::json!({ "id": "a" });
        let delete = serde_json::from_value::<Change>(json("delete", object.clone(), serde_json::Value::Null)).unwrap();
        assert_eq!(delete.values, ChangeValues::Delete { before: Value::object([("id", Value::from("a"))]) });
        let err = serde_json::from_value::<Change>(json("delete", serde_json::Value::Null, serde_json::Value::Null))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "the Delete of test_resource.a lacks a prior value and lacks a planned one");
        assert!(serde_json::from_value::<Change>(json("create", object.clone(), object)).is_err());
    }
}
