//! Terraform-style human rendering and the machine-readable JSON form of a plan.

use crate::diff::AttributeChange;
use crate::model::{Action, Change, Plan, PlanMode, Reason};
use serde_json::{json, Value as Json};
use std::fmt::Write;
use trustform_lang::Value;

/// Colour or not: off for `NO_COLOR`, non-TTY output and snapshot tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

impl Style {
    fn paint(self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Delete => "31",
            Action::DeleteThenCreate | Action::CreateThenDelete => "35",
            Action::Read => "36",
            Action::NoOp => return text.to_owned(),
        };
        match self {
            Style::Plain => text.to_owned(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }

    fn bold(self, text: &str) -> String {
        match self {
            Style::Plain => text.to_owned(),
            Style::Color => format!("\x1b[1m{text}\x1b[0m"),
        }
    }
}

/// Renders the plan as Terraform does: one block per change, then the summary line.
pub fn render_human(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&style.bold("Objects have changed outside of Trustform"));
        out.push_str(
            "\n\nTrustform detected the following changes made outside of Trustform since the last apply:\n\n",
        );
        for change in &plan.drift {
            render_change(&mut out, change, style, true);
        }
        if plan.mode != PlanMode::RefreshOnly {
            out.push_str(
                "Unless you have made equivalent changes to your configuration, the actions below will undo them.\n\n",
            );
        }
    }
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("No changes. Your infrastructure still matches the state.\n");
        } else {
            out.push_str(
                "Applying this refresh-only plan will update the state to match; it changes no remote objects.\n",
            );
        }
        return out;
    }
    let actionable: Vec<&Change> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
    let outputs_change = plan.outputs.values().any(|o| o.action() != Action::NoOp);
    if actionable.is_empty() && !outputs_change {
        out.push_str(&style.bold("No changes."));
        out.push_str(" Your infrastructure matches the configuration.\n");
        return out;
    }
    if !actionable.is_empty() {
        out.push_str("Trustform will perform the following actions:\n\n");
        for change in &actionable {
            render_change(&mut out, change, style, false);
        }
    }
    let s = plan.summary();
    let _ =
        writeln!(out, "{} {} to add, {} to change, {} to destroy.", style.bold("Plan:"), s.add, s.change, s.destroy);
    if outputs_change {
        out.push_str("\nChanges to Outputs:\n");
        let width = plan.outputs.keys().map(String::len).max().unwrap_or(0);
        for output in plan.outputs.values() {
            let action = output.action();
            let symbol = style.paint(action, action.symbol());
            let shown = |v: &Option<Value>| {
                v.as_ref().map_or("null".to_owned(), |v| show(&v.clone().mark_if(output.sensitive)))
            };
            match action {
                Action::NoOp => {}
                Action::Create => {
                    let _ = writeln!(out, "  {symbol} {:width$} = {}", output.name, shown(&output.after));
                }
                Action::Delete => {
                    let _ = writeln!(out, "  {symbol} {:width$} = {} -> null", output.name, shown(&output.before));
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "  {symbol} {:width$} = {} -> {}",
                        output.name,
                        shown(&output.before),
                        shown(&output.after)
                    );
                }
            }
        }
    }
    out
}

fn headline(change: &Change, drift: bool) -> String {
    let addr = &change.address;
    if drift {
        return match change.action {
            Action::Delete => format!("# {addr} has been deleted"),
            _ => format!("# {addr} has changed"),
        };
    }
    match change.action {
        Action::Create => format!("# {addr} will be created"),
        Action::Read => format!("# {addr} will be read during apply\n  # (config refers to values not yet known)"),
        Action::Update => format!("# {addr} will be updated in-place"),
        Action::DeleteThenCreate | Action::CreateThenDelete => match &change.reason {
            Reason::ReplaceByRequest => format!("# {addr} will be replaced, as requested"),
            Reason::Tainted => format!("# {addr} is tainted, so must be replaced"),
            _ => format!("# {addr} must be replaced"),
        },
        Action::Delete => match &change.reason {
            Reason::NoLongerInConfig => {
                format!("# {addr} will be destroyed\n  # (because {addr} is not in configuration)")
            }
            Reason::NoLongerInRepetition => {
                format!("# {addr} will be destroyed\n  # (because its key is no longer produced by count or for_each)")
            }
            _ => format!("# {addr} will be destroyed"),
        },
        Action::NoOp => format!("# {addr} is up to date"),
    }
}

fn render_change(out: &mut String, change: &Change, style: Style, drift: bool) {
    let action = if drift && change.action != Action::Delete { Action::Update } else { change.action };
    let _ = writeln!(out, "  {}", style.bold(&headline(change, drift)));
    let kind = if change.address.is_data() { "data" } else { "resource" };
    let symbol = style.paint(action, action.symbol());
    let key = change.address.key.as_ref().map(ToString::to_string).unwrap_or_default();
    let _ = writeln!(
        out,
        "{:>3} {kind} \"{}\" \"{}\"{key} {{",
        symbol, change.address.resource.type_name, change.address.resource.name
    );
    let width = change.attributes.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for attr in &change.attributes {
        render_attribute(out, attr, action, style, width);
    }
    if let Some(id) = change.before.as_ref().and_then(|b| b.get("id")).filter(|_| action != Action::Delete) {
        if !change.attributes.iter().any(|a| a.name == "id") {
            let _ = writeln!(out, "        {:width$} = {}", "id", show(id));
        }
    }
    out.push_str("    }\n\n");
}

fn render_attribute(out: &mut String, attr: &AttributeChange, action: Action, style: Style, width: usize) {
    let name = &attr.name;
    let (symbol_action, text) = match (&attr.before, &attr.after) {
        (None, Some(after)) => (Action::Create, show(after)),
        (Some(before), None) => (Action::Delete, format!("{} -> null", show(before))),
        (Some(before), Some(after)) if action == Action::Delete => {
            (Action::Delete, format!("{} -> null", show(before)))
        }
        (Some(before), Some(after)) if before.is_null() => (Action::Create, show(after)),
        (Some(before), Some(after)) if after.is_null() => (Action::Delete, format!("{} -> null", show(before))),
        (Some(before), Some(after)) => (Action::Update, format!("{} -> {}", show(before), show(after))),
        (None, None) => return,
    };
    let symbol = style.paint(symbol_action, symbol_action.symbol());
    let forces =
        if attr.forces_replacement { style.paint(Action::Delete, " # forces replacement") } else { String::new() };
    let _ = writeln!(out, "      {symbol} {name:width$} = {text}{forces}");
}

/// Renders a value for a plan line; JSON documents in strings show as `jsonencode(...)` of
/// their content, which reads much better than an escaped string.
fn show(value: &Value) -> String {
    if let Some(text) = value.unmarked().as_str().filter(|_| !value.is_sensitive()) {
        if text.trim_start().starts_with('{') {
            if let Ok(json) = serde_json::from_str::<Json>(text) {
                return format!("jsonencode({json})");
            }
        }
    }
    value.render()
}

/// The machine-readable plan for `--json`: sensitive values are replaced by null and flagged,
/// unknowns are null and flagged, as in Terraform's JSON plan format.
pub fn render_json(plan: &Plan) -> Json {
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|c| {
            json!({
                "address": c.address.to_string(),
                "mode": if c.address.is_data() { "data" } else { "managed" },
                "type": c.address.resource.type_name,
                "name": c.address.resource.name,
                "index": c.address.key.as_ref().map(|k| match k {
                    trustform_lang::InstanceKey::Int(i) => json!(i),
                    trustform_lang::InstanceKey::Str(s) => json!(s),
                }),
                "provider_name": c.provider,
                "change": {
                    "actions": actions(c.action),
                    "before": c.before.as_ref().map(safe_json),
                    "after": c.after.as_ref().map(safe_json),
                    "after_unknown": c.after.as_ref().map(unknown_tree),
                    "before_sensitive": c.before.as_ref().map(sensitive_tree),
                    "after_sensitive": c.after.as_ref().map(sensitive_tree),
                    "replace_paths": match &c.reason {
                        Reason::ReplaceBecauseOf { attributes } => json!(attributes.iter().map(|a| json!([a])).collect::<Vec<_>>()),
                        _ => Json::Null,
                    },
                },
                "action_reason": reason_code(&c.reason),
            })
        })
        .collect();
    let outputs: serde_json::Map<String, Json> = plan
        .outputs
        .values()
        .map(|o| {
            let redact = |v: &Option<Value>| v.as_ref().map(|v| if o.sensitive { Json::Null } else { safe_json(v) });
            (
                o.name.clone(),
                json!({
                    "actions": actions(o.action()),
                    "before": redact(&o.before),
                    "after": redact(&o.after),
                    "after_unknown": o.after.as_ref().is_some_and(Value::contains_unknown),
                    "sensitive": o.sensitive,
                }),
            )
        })
        .collect();
    let s = plan.summary();
    json!({
        "format_version": "1.0",
        "mode": plan.mode,
        "state": { "lineage": plan.state_lineage, "serial": plan.state_serial },
        "resource_changes": changes,
        "resource_drift": plan.drift.iter().map(|c| json!({"address": c.address.to_string(), "actions": actions(c.action)})).collect::<Vec<_>>(),
        "output_changes": outputs,
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy, "read": s.read },
        "has_changes": plan.has_changes(),
    })
}

fn actions(action: Action) -> Json {
    match action {
        Action::NoOp => json!(["no-op"]),
        Action::Create => json!(["create"]),
        Action::Read => json!(["read"]),
        Action::Update => json!(["update"]),
        Action::DeleteThenCreate => json!(["delete", "create"]),
        Action::CreateThenDelete => json!(["create", "delete"]),
        Action::Delete => json!(["delete"]),
    }
}

fn reason_code(reason: &Reason) -> Json {
    match reason {
        Reason::None => Json::Null,
        Reason::ReplaceBecauseOf { .. } => json!("replace_because_cannot_update"),
        Reason::ReplaceByRequest => json!("replace_by_request"),
        Reason::Tainted => json!("replace_because_tainted"),
        Reason::NoLongerInConfig => json!("delete_because_no_resource_config"),
        Reason::NoLongerInRepetition => json!("delete_because_each_key"),
        Reason::DeletedOutsideTrustform => json!("create_because_deleted_outside"),
        Reason::DestroyRequested => json!("delete_because_destroy"),
    }
}

/// JSON of a value with sensitive and unknown parts nulled out.
fn safe_json(value: &Value) -> Json {
    match value {
        Value::Sensitive(_) | Value::Unknown => Json::Null,
        Value::List(items) => Json::Array(items.iter().map(safe_json).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), safe_json(v))).collect()),
        other => other.to_json(),
    }
}

fn unknown_tree(value: &Value) -> Json {
    marker_tree(value, &|v| matches!(v, Value::Unknown))
}

fn sensitive_tree(value: &Value) -> Json {
    marker_tree(value, &|v| matches!(v, Value::Sensitive(_)))
}

/// Terraform's marker trees: `true` where the predicate holds, containers mirrored, `{}`
/// or `false` elsewhere.
fn marker_tree(value: &Value, marked: &dyn Fn(&Value) -> bool) -> Json {
    if marked(value) {
        return Json::Bool(true);
    }
    match value {
        Value::List(items) => Json::Array(items.iter().map(|v| marker_tree(v, marked)).collect()),
        Value::Object(map) => {
            let inner: serde_json::Map<String, Json> = map
                .iter()
                .map(|(k, v)| (k.clone(), marker_tree(v, marked)))
                .filter(|(_, v)| *v != Json::Bool(false) && *v != json!({}) && *v != json!([]))
                .collect();
            Json::Object(inner)
        }
        Value::Sensitive(inner) => marker_tree(inner, marked),
        _ => Json::Bool(false),
    }
}
