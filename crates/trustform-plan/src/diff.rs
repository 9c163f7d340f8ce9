use crate::model::{opt_value, Action, Reason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustform_lang::config::IgnoreChanges;
use trustform_lang::Value;
use trustform_schema::{blocks_equal, values_equal, Block, Mode, Nesting, ResourceSchema};

/// One top-level attribute or nested block that differs between before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    #[serde(with = "opt_value")]
    pub before: Option<Value>,
    #[serde(with = "opt_value")]
    pub after: Option<Value>,
    /// This change alone means the object must be replaced.
    pub forces_replacement: bool,
}

/// The outcome of diffing one resource instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDiff {
    pub action: Action,
    pub reason: Reason,
    /// The value the object will have after apply; unknown where the cloud decides.
    pub planned: Value,
    pub attributes: Vec<AttributeChange>,
}

/// Fills in what configuration does not say: computed attributes keep their prior values (or
/// become unknown for a new object), and optional-computed attributes the user left unset
/// keep the prior value. `config` is the schema-conformed configuration.
pub fn merge_planned(block: &Block, prior: Option<&Value>, config: &Value) -> Value {
    let mut out = BTreeMap::new();
    for (name, attr) in &block.attributes {
        let configured = config.get(name).cloned().unwrap_or(Value::Null);
        let from_prior = || prior.and_then(|p| p.get(name)).cloned();
        let value = match attr.mode {
            // Users cannot set computed attributes (conform refuses it), so a value here came
            // from the provider's plan-time derivation and is the best prediction there is.
            Mode::Computed if !configured.is_null() => configured,
            Mode::Computed => from_prior().unwrap_or(Value::Unknown),
            Mode::OptionalComputed if configured.is_null() => from_prior().unwrap_or(Value::Unknown),
            _ => configured,
        };
        out.insert(name.clone(), value.mark_if(attr.sensitive));
    }
    for (name, nested) in &block.blocks {
        let configured = config.get(name).cloned().unwrap_or(Value::Null);
        let prior_block = prior.and_then(|p| p.get(name));
        let value = match (nested.nesting, configured) {
            (Nesting::Single, Value::Object(_)) => merge_planned(
                &nested.block,
                prior_block.filter(|p| !p.is_null()),
                config.get(name).unwrap_or(&Value::Null),
            ),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let prior_item = prior_block.and_then(Value::as_list).and_then(|l| l.get(i));
                        merge_planned(&nested.block, prior_item, item)
                    })
                    .collect(),
            ),
            (Nesting::Set, Value::List(items)) => {
                Value::List(items.iter().map(|item| merge_planned(&nested.block, None, item)).collect())
            }
            (_, other) => other,
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

/// Diffs one managed resource instance: `prior` is the refreshed state (None when the object
/// does not exist), `config` the conformed configuration.
pub fn diff_resource(
    schema: &ResourceSchema,
    prior: Option<&Value>,
    config: &Value,
    ignore: &IgnoreChanges,
    replace_requested: bool,
) -> ResourceDiff {
    let block = &schema.block;
    let Some(prior) = prior else {
        let planned = merge_planned(block, None, config);
        let attributes = creation_attributes(block, &planned);
        return ResourceDiff { action: Action::Create, reason: Reason::None, planned, attributes };
    };

    let config = apply_ignore_changes(block, prior, config, ignore);
    let mut planned = merge_planned(block, Some(prior), &config);
    let mut attributes = Vec::new();
    let mut forcing = Vec::new();
    let null = Value::Null;
    let planned_map = planned.as_object().cloned().unwrap_or_default();
    let mut kept = BTreeMap::new();
    for (name, after) in planned_map {
        let before = prior.get(&name).unwrap_or(&null);
        let (equal, force_new) = match (block.attributes.get(&name), block.blocks.get(&name)) {
            (Some(attr), _) => (!after.contains_unknown() && values_equal(attr, before, &after), attr.force_new),
            (None, Some(nested)) => (
                !after.contains_unknown() && blocks_equal(&nested.block, nested.nesting, before, &after),
                nested.force_new,
            ),
            (None, None) => (true, false),
        };
        if equal {
            // Keep the prior spelling of semantically equal values: no churn, no perpetual diff.
            kept.insert(name, before.clone().mark_if(after.is_sensitive()));
            continue;
        }
        let computed_only = block.attributes.get(&name).is_some_and(|a| a.mode == Mode::Computed);
        // A computed value in `config` was derived by the provider at plan time: one that
        // differs from the prior is a change the provider will make (a soft-deleted pool coming
        // back to ACTIVE, say), not noise from the cloud.
        let derived = computed_only && config.get(&name).is_some_and(|value| !value.is_null());
        if !computed_only || derived {
            if force_new {
                forcing.push(name.clone());
            }
            attributes.push(AttributeChange {
                name: name.clone(),
                before: Some(before.clone()),
                after: Some(after.clone()),
                forces_replacement: force_new,
            });
        }
        kept.insert(name, after);
    }
    planned = Value::Object(kept);

    if !forcing.is_empty() || replace_requested {
        let fresh = merge_planned(block, None, &config);
        let attributes = replacement_attributes(block, prior, &fresh, &forcing);
        let reason = if forcing.is_empty() {
            Reason::ReplaceByRequest
        } else {
            Reason::ReplaceBecauseOf { attributes: forcing }
        };
        return ResourceDiff { action: Action::DeleteThenCreate, reason, planned: fresh, attributes };
    }
    let action = if attributes.is_empty() { Action::NoOp } else { Action::Update };
    if action == Action::NoOp {
        planned = prior.clone().mark_paths(&planned.sensitive_paths());
    }
    ResourceDiff { action, reason: Reason::None, planned, attributes }
}

fn apply_ignore_changes(block: &Block, prior: &Value, config: &Value, ignore: &IgnoreChanges) -> Value {
    let names: Vec<&String> = match ignore {
        IgnoreChanges::None => return config.clone(),
        IgnoreChanges::All => block.attributes.keys().chain(block.blocks.keys()).collect(),
        IgnoreChanges::Attributes(names) => names.iter().collect(),
    };
    let mut out = config.as_object().cloned().unwrap_or_default();
    for name in names {
        if let Some(previous) = prior.get(name) {
            out.insert(name.clone(), previous.clone());
        }
    }
    Value::Object(out)
}

/// What a delete shows: every attribute the object has, going to null, as Terraform lists
/// them for a resource it will destroy.
pub fn deletion_attributes(before: &Value) -> Vec<AttributeChange> {
    before
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, value)| !value.is_null())
        .filter(|(_, value)| !matches!(value.unmarked(), Value::List(l) if l.is_empty()))
        .map(|(name, value)| AttributeChange {
            name: name.clone(),
            before: Some(value.clone()),
            after: None,
            forces_replacement: false,
        })
        .collect()
}

fn creation_attributes(block: &Block, planned: &Value) -> Vec<AttributeChange> {
    planned
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, value)| {
            !value.is_null() && (block.attributes.contains_key(*name) || block.blocks.contains_key(*name))
        })
        .filter(|(_, value)| !matches!(value.unmarked(), Value::List(l) if l.is_empty()))
        .map(|(name, value)| AttributeChange {
            name: name.clone(),
            before: None,
            after: Some(value.clone()),
            forces_replacement: false,
        })
        .collect()
}

fn replacement_attributes(block: &Block, prior: &Value, fresh: &Value, forcing: &[String]) -> Vec<AttributeChange> {
    let null = Value::Null;
    let mut out = Vec::new();
    for (name, after) in fresh.as_object().into_iter().flatten() {
        let before = prior.get(name).unwrap_or(&null);
        let equal = match (block.attributes.get(name), block.blocks.get(name)) {
            (Some(attr), _) => !after.contains_unknown() && values_equal(attr, before, after),
            (None, Some(nested)) => {
                !after.contains_unknown() && blocks_equal(&nested.block, nested.nesting, before, after)
            }
            _ => true,
        };
        let both_null = before.is_null() && after.is_null();
        if !equal && !both_null {
            out.push(AttributeChange {
                name: name.clone(),
                before: Some(before.clone()),
                after: Some(after.clone()),
                forces_replacement: forcing.contains(name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Type;
    use trustform_schema::{Attribute, Compare};

    fn role() -> ResourceSchema {
        ResourceSchema::new(
            "aws_iam_role",
            Block::new()
                .attr("name", Attribute::required(Type::String).force_new())
                .attr("description", Attribute::optional(Type::String))
                .attr("assume_role_policy", Attribute::required(Type::String).compare(Compare::JsonDocument))
                .attr("max_session_duration", Attribute::optional_computed(Type::Number))
                .attr("arn", Attribute::computed(Type::String))
                .attr("id", Attribute::computed(Type::String)),
        )
    }

    fn config(name: &str, description: &str, policy: &str) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("description", Value::from(description)),
            ("assume_role_policy", Value::from(policy)),
            ("max_session_duration", Value::Null),
            ("arn", Value::Null),
            ("id", Value::Null),
        ])
    }

    fn prior() -> Value {
        Value::object([
            ("name", Value::from("gw")),
            ("description", Value::from("d")),
            ("assume_role_policy", Value::from(r#"{"Version": "2012-10-17", "Statement": []}"#)),
            ("max_session_duration", Value::from(3600)),
            ("arn", Value::from("arn:aws:iam::1:role/gw")),
            ("id", Value::from("gw")),
        ])
    }

    #[test]
    fn create_has_unknown_computed_attributes() {
        let diff = diff_resource(&role(), None, &config("gw", "d", "{}"), &IgnoreChanges::None, false);
        assert_eq!(diff.action, Action::Create);
        assert_eq!(diff.planned.get("arn"), Some(&Value::Unknown));
        assert_eq!(diff.planned.get("max_session_duration"), Some(&Value::Unknown));
    }

    #[test]
    fn semantically_equal_policy_is_a_no_op_keeping_prior_text() {
        let cfg = config("gw", "d", r#"{"Statement":[],"Version":"2012-10-17"}"#);
        let diff = diff_resource(&role(), Some(&prior()), &cfg, &IgnoreChanges::None, false);
        assert_eq!(diff.action, Action::NoOp, "{:?}", diff.attributes);
        assert_eq!(diff.planned, prior());
    }

    #[test]
    fn in_place_update_names_the_attribute() {
        let cfg = config("gw", "new", r#"{"Statement":[],"Version":"2012-10-17"}"#);
        let diff = diff_resource(&role(), Some(&prior()), &cfg, &IgnoreChanges::None, false);
        assert_eq!(diff.action, Action::Update);
        assert_eq!(diff.attributes.len(), 1);
        assert_eq!(diff.attributes[0].name, "description");
        assert_eq!(diff.planned.get("arn"), prior().get("arn"));
    }

    #[test]
    fn force_new_attribute_replaces_with_reason() {
        let cfg = config("other", "d", "{}");
        let diff = diff_resource(&role(), Some(&prior()), &cfg, &IgnoreChanges::None, false);
        assert_eq!(diff.action, Action::DeleteThenCreate);
        assert_eq!(diff.reason, Reason::ReplaceBecauseOf { attributes: vec!["name".into()] });
        assert_eq!(diff.planned.get("arn"), Some(&Value::Unknown));
        assert!(diff.attributes.iter().any(|a| a.name == "name" && a.forces_replacement));
    }

    #[test]
    fn a_computed_value_the_provider_derived_is_a_change_when_it_differs() {
        let mut cfg = config("gw", "d", r#"{"Statement":[],"Version":"2012-10-17"}"#);
        let derived = |cfg: &Value, id: &str| with_attr(cfg, "id", Value::from(id));
        assert_eq!(
            diff_resource(&role(), Some(&prior()), &derived(&cfg, "gw"), &IgnoreChanges::None, false).action,
            Action::NoOp
        );
        cfg = derived(&cfg, "restored");
        let diff = diff_resource(&role(), Some(&prior()), &cfg, &IgnoreChanges::None, false);
        assert_eq!(diff.action, Action::Update);
        assert_eq!(diff.attributes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["id"]);
        assert_eq!(diff.planned.get("id"), Some(&Value::from("restored")));
    }

    fn with_attr(value: &Value, name: &str, attribute: Value) -> Value {
        let mut map = value.as_object().cloned().unwrap_or_default();
        map.insert(name.to_owned(), attribute);
        Value::Object(map)
    }

    #[test]
    fn a_delete_lists_every_attribute_the_object_has() {
        let names: Vec<String> = deletion_attributes(&prior()).into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["arn", "assume_role_policy", "description", "id", "max_session_duration", "name"]);
        assert!(deletion_attributes(&Value::Null).is_empty());
    }

    #[test]
    fn ignore_changes_and_replace_requests() {
        let cfg = config("gw", "changed elsewhere", r#"{"Statement":[],"Version":"2012-10-17"}"#);
        let ignore = IgnoreChanges::Attributes(vec!["description".into()]);
        assert_eq!(diff_resource(&role(), Some(&prior()), &cfg, &ignore, false).action, Action::NoOp);
        let replaced = diff_resource(&role(), Some(&prior()), &cfg, &ignore, true);
        assert_eq!((replaced.action, replaced.reason), (Action::DeleteThenCreate, Reason::ReplaceByRequest));
    }
}
