//! Terraform-style human rendering and the machine-readable JSON form of a plan.

use crate::diff::AttributeChange;
use crate::model::{Action, Change, Plan, PlanMode, Reason};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use trustform_lang::{ResourceAddr, Value};

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
            Action::NoOp | Action::Forget => return text.to_owned(),
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
            render_change(&mut out, change, None, style, true);
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
    if !plan.adopted.is_empty() {
        out.push_str(&style.bold("Objects created by an interrupted apply"));
        out.push_str(
            "\n\nAn earlier apply created these objects and stopped before saving them; refresh found them:\n\n",
        );
        for address in &plan.adopted {
            let _ = writeln!(out, "  {address}");
        }
        out.push_str("\nApplying saves them in state; it does not create them again.\n\n");
    }
    let actionable: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| {
            (c.action() != Action::NoOp
                || plan.previous_address(&c.address).is_some()
                || plan.import_id(&c.address).is_some())
                && !c.is_data_removal()
        })
        .collect();
    let outputs_change = plan.outputs.values().any(|o| o.action() != Action::NoOp);
    if actionable.is_empty() && !outputs_change && !plan.adopted.is_empty() {
        out.push_str("No changes to remote objects.\n");
        return out;
    }
    if actionable.is_empty() && !outputs_change {
        out.push_str(&style.bold("No changes."));
        out.push_str(" Your infrastructure matches the configuration.\n");
        return out;
    }
    if !actionable.is_empty() {
        out.push_str("Trustform will perform the following actions:\n\n");
        for change in &actionable {
            render_change(&mut out, change, Some(plan), style, false);
        }
    }
    let s = plan.summary();
    // Terraform 1.7+ adds the forget count only when there is one
    // (hashicorp/terraform internal/command/views/operation.go).
    let forget = if s.forget > 0 { format!(", {} to forget", s.forget) } else { String::new() };
    let import = if s.import > 0 { format!("{} to import, ", s.import) } else { String::new() };
    let _ = writeln!(
        out,
        "{} {import}{} to add, {} to change, {} to destroy{forget}.",
        style.bold("Plan:"),
        s.add,
        s.change,
        s.destroy
    );
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

/// The comment line(s) above a change; `moved_from` is where a `moved` block moved it from.
fn headline(change: &Change, moved_from: Option<&ResourceAddr>, import_id: Option<&str>, drift: bool) -> String {
    let addr = &change.address;
    // Terraform's wording for import blocks (internal/command/jsonformat/diff.go):
    // "will be imported", or the action's headline and "(imported from ...)".
    match (change.action(), import_id) {
        (_, None) => {}
        (Action::NoOp, Some(_)) => return format!("# {addr} will be imported"),
        (_, Some(id)) => {
            return format!("{}\n  # (imported from {})", headline(change, moved_from, None, drift), Json::from(id))
        }
    }
    match (change.action(), moved_from) {
        (_, None) => {}
        (Action::NoOp, Some(from)) if !drift => return format!("# {from} has moved to {addr}"),
        (_, Some(from)) => return format!("{}\n  # (moved from {from})", headline(change, None, None, drift)),
    }
    if drift {
        return match change.action() {
            Action::Delete => format!("# {addr} has been deleted"),
            _ => format!("# {addr} has changed"),
        };
    }
    match change.action() {
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
        Action::Forget => format!("# {addr} will no longer be managed by Trustform"),
        Action::NoOp => format!("# {addr} is up to date"),
    }
}

fn render_change(out: &mut String, change: &Change, plan: Option<&Plan>, style: Style, drift: bool) {
    let action = if drift && change.action() != Action::Delete { Action::Update } else { change.action() };
    let moved_from = plan.and_then(|p| p.previous_address(&change.address));
    let import_id = plan.and_then(|p| p.import_id(&change.address));
    let _ = writeln!(out, "  {}", style.bold(&headline(change, moved_from, import_id, drift)));
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
    if let Some(id) = change.before().and_then(|b| b.get("id")).filter(|_| action != Action::Delete) {
        if !change.attributes.iter().any(|a| a.name == "id") {
            let _ = writeln!(out, "        {:width$} = {}", "id", show(id));
        }
    }
    out.push_str("    }\n\n");
}

fn render_attribute(out: &mut String, attr: &AttributeChange, action: Action, style: Style, width: usize) {
    let null = Value::Null;
    let (before, after) = match (&attr.before, &attr.after) {
        (_, _) if action == Action::Delete => (attr.before.as_ref().unwrap_or(&null), &null),
        (None, None) => return,
        (before, after) => (before.as_ref().unwrap_or(&null), after.as_ref().unwrap_or(&null)),
    };
    let writer = Writer { style };
    let mut text = String::new();
    let symbol = writer.diff(&mut text, before, after, 6);
    if attr.forces_replacement {
        // The marker goes at the end of the value's first line.
        let end = text.find('\n').unwrap_or(text.len());
        text.insert_str(end, &style.paint(Action::Delete, " # forces replacement"));
    }
    let _ = writeln!(out, "      {} {:width$} = {text}", style.paint(symbol, symbol.symbol()), attr.name);
}

/// Renders values and their differences the way Terraform lays them out: scalars inline,
/// non-empty objects and lists over several lines with a symbol per element, unchanged
/// elements of a changed object counted rather than shown, JSON documents held in strings
/// shown as `jsonencode(...)` of their content.
struct Writer {
    style: Style,
}

impl Writer {
    /// Writes the change from `before` to `after` at the cursor (after `name = `); nested lines
    /// are indented from `column`, where the line's symbol stands. Returns that symbol.
    fn diff(&self, out: &mut String, before: &Value, after: &Value, column: usize) -> Action {
        if before.is_null() && !after.is_null() {
            self.value(out, after, column, Action::Create);
            return Action::Create;
        }
        if after.is_null() && !before.is_null() {
            self.value(out, before, column, Action::Delete);
            out.push_str(" -> null");
            return Action::Delete;
        }
        if before.eq_ignoring_marks(after) && !after.contains_unknown() {
            self.value(out, after, column, Action::NoOp);
            return Action::NoOp;
        }
        if !before.is_sensitive() && !after.is_sensitive() {
            if let (Some(b), Some(a)) = (as_document(before), as_document(after)) {
                out.push_str("jsonencode(");
                self.diff(out, &b, &a, column);
                out.push(')');
                return Action::Update;
            }
            match (before, after) {
                (Value::Object(b), Value::Object(a)) => {
                    self.object_diff(out, b, a, column);
                    return Action::Update;
                }
                (Value::List(b), Value::List(a)) => {
                    self.list_diff(out, b, a, column);
                    return Action::Update;
                }
                _ => {}
            }
        }
        self.value(out, before, column, Action::NoOp);
        out.push_str(" -> ");
        self.value(out, after, column, Action::NoOp);
        Action::Update
    }

    fn object_diff(
        &self,
        out: &mut String,
        before: &BTreeMap<String, Value>,
        after: &BTreeMap<String, Value>,
        column: usize,
    ) {
        let null = Value::Null;
        let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let changed: Vec<&String> = keys
            .into_iter()
            .filter(|k| {
                let (b, a) = (before.get(*k).unwrap_or(&null), after.get(*k).unwrap_or(&null));
                !b.eq_ignoring_marks(a) || a.contains_unknown()
            })
            .collect();
        let width = changed.iter().map(|k| key_text(k).len()).max().unwrap_or(0);
        let unchanged = before.keys().chain(after.keys()).collect::<BTreeSet<_>>().len() - changed.len();
        out.push_str("{\n");
        for key in changed {
            let (b, a) = (before.get(key).unwrap_or(&null), after.get(key).unwrap_or(&null));
            let mut text = String::new();
            let symbol = self.diff(&mut text, b, a, column + 4);
            let symbol_text = self.style.paint(symbol, symbol.symbol());
            let _ = writeln!(out, "{:pad$}{symbol_text} {:width$} = {text}", "", key_text(key), pad = column + 4);
        }
        if unchanged > 0 {
            let noun = if unchanged == 1 { "element" } else { "elements" };
            let _ = writeln!(out, "{:pad$}# ({unchanged} unchanged {noun} hidden)", "", pad = column + 6);
        }
        let _ = write!(out, "{:pad$}}}", "", pad = column + 2);
    }

    /// Lists of one length are compared element by element; otherwise elements are matched by
    /// their longest common subsequence, so an insertion shows as one `+` line.
    fn list_diff(&self, out: &mut String, before: &[Value], after: &[Value], column: usize) {
        out.push_str("[\n");
        let pad = column + 4;
        let line = |out: &mut String, symbol: Action, item: &Value, previous: Option<&Value>| {
            let _ = write!(out, "{:pad$}{} ", "", self.style.paint(symbol, symbol.symbol()));
            match previous {
                Some(previous) => {
                    self.diff(out, previous, item, pad);
                }
                None => self.value(out, item, pad, symbol),
            }
            out.push_str(",\n");
        };
        // Elements of the same length pair up only when they are structures, whose changes
        // read better inside them; scalars are removed and added, as Terraform shows them.
        let structured = |v: &Value| matches!(v.unmarked(), Value::Object(_) | Value::List(_));
        if before.len() == after.len() && before.iter().chain(after).all(structured) {
            for (b, a) in before.iter().zip(after) {
                if b.eq_ignoring_marks(a) && !a.contains_unknown() {
                    line(out, Action::NoOp, a, None);
                } else {
                    line(out, Action::Update, a, Some(b));
                }
            }
        } else {
            for (step, item) in lcs_steps(before, after) {
                line(out, step, item, None);
            }
        }
        let _ = write!(out, "{:pad$}]", "", pad = column + 2);
    }

    /// Writes one value whole; every nested line carries `symbol`.
    fn value(&self, out: &mut String, value: &Value, column: usize, symbol: Action) {
        let mark = self.style.paint(symbol, symbol.symbol());
        match value {
            Value::String(_) => match as_document(value) {
                Some(document) => {
                    out.push_str("jsonencode(");
                    self.value(out, &document, column, symbol);
                    out.push(')');
                }
                None => out.push_str(&value.render()),
            },
            Value::List(items) if !items.is_empty() => {
                out.push_str("[\n");
                for item in items {
                    let _ = write!(out, "{:pad$}{mark} ", "", pad = column + 4);
                    self.value(out, item, column + 4, symbol);
                    out.push_str(",\n");
                }
                let _ = write!(out, "{:pad$}]", "", pad = column + 2);
            }
            Value::Object(map) if !map.is_empty() => {
                let width = map.keys().map(|k| key_text(k).len()).max().unwrap_or(0);
                out.push_str("{\n");
                for (key, item) in map {
                    let _ = write!(out, "{:pad$}{mark} {:width$} = ", "", key_text(key), pad = column + 4);
                    self.value(out, item, column + 4, symbol);
                    out.push('\n');
                }
                let _ = write!(out, "{:pad$}}}", "", pad = column + 2);
            }
            other => out.push_str(&other.render()),
        }
    }
}

/// The edit from `before` to `after` along their longest common subsequence: kept elements as
/// `NoOp`, removed ones as `Delete`, added ones as `Create`, in order.
fn lcs_steps<'a>(before: &'a [Value], after: &'a [Value]) -> Vec<(Action, &'a Value)> {
    let (n, m) = (before.len(), after.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if before[i].eq_ignoring_marks(&after[j]) {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut steps) = (0, 0, Vec::with_capacity(n + m));
    while i < n || j < m {
        if i < n && j < m && before[i].eq_ignoring_marks(&after[j]) {
            steps.push((Action::NoOp, &after[j]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || table[i + 1][j] >= table[i][j + 1]) {
            // Removals before additions at the same place, as Terraform lists them.
            steps.push((Action::Delete, &before[i]));
            i += 1;
        } else {
            steps.push((Action::Create, &after[j]));
            j += 1;
        }
    }
    steps
}

/// Object keys as HCL writes them: bare when they are identifiers, quoted otherwise.
fn key_text(key: &str) -> String {
    if trustform_lang::is_identifier(key) {
        key.to_owned()
    } else {
        Json::String(key.to_owned()).to_string()
    }
}

/// The content of a string that holds a JSON object or array (an IAM policy, say).
fn as_document(value: &Value) -> Option<Value> {
    let text = value.as_str().filter(|_| !value.is_sensitive())?.trim_start();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Json>(text).ok().map(|json| Value::from_json(&json))
}

/// Renders a value whole, for ids and outputs.
fn show(value: &Value) -> String {
    let mut out = String::new();
    Writer { style: Style::Plain }.value(&mut out, value, 0, Action::NoOp);
    out
}

/// The machine-readable plan for `--json`: sensitive values are replaced by null and flagged,
/// unknowns are null and flagged, as in Terraform's JSON plan format.
pub fn render_json(plan: &Plan) -> Json {
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|c| {
            let mut change = json!({
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
                    "actions": actions(c.action()),
                    "before": c.before().map(safe_json),
                    "after": c.after().map(safe_json),
                    "after_unknown": c.after().map(unknown_tree),
                    "before_sensitive": c.before().map(sensitive_tree),
                    "after_sensitive": c.after().map(sensitive_tree),
                    "replace_paths": match &c.reason {
                        Reason::ReplaceBecauseOf { attributes } => json!(attributes.iter().map(|a| json!([a])).collect::<Vec<_>>()),
                        _ => Json::Null,
                    },
                },
                "action_reason": reason_code(&c.reason),
            });
            // Terraform's JSON plan: `previous_address` when a `moved` block moved it
            // (https://developer.hashicorp.com/terraform/internals/json-format#change-representation).
            if let (Some(from), Json::Object(fields)) = (plan.previous_address(&c.address), &mut change) {
                fields.insert("previous_address".to_owned(), json!(from.to_string()));
            }
            // ... and `change.importing` when an `import` block brings it in.
            if let (Some(id), Some(fields)) = (plan.import_id(&c.address), change["change"].as_object_mut()) {
                fields.insert("importing".to_owned(), json!({ "id": id }));
            }
            // Terraform's JSON plan names the module instance of a resource in a module.
            if !c.address.module.is_empty() {
                change["module_address"] = json!(trustform_lang::module_path_text(&c.address.module));
            }
            change
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
        "resource_drift": plan.drift.iter().map(|c| json!({"address": c.address.to_string(), "actions": actions(c.action())})).collect::<Vec<_>>(),
        "resource_adopted": plan.adopted.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "output_changes": outputs,
        "summary": { "import": s.import, "add": s.add, "change": s.change, "destroy": s.destroy, "read": s.read, "forget": s.forget },
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
        Action::Forget => json!(["forget"]),
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
        Reason::Removed => Json::Null,
    }
}

/// JSON of a value with sensitive and unknown parts nulled out.
fn safe_json(value: &Value) -> Json {
    match value {
        Value::Sensitive(_) | Value::Unknown | Value::Partial(_) => Json::Null,
        Value::List(items) => Json::Array(items.iter().map(safe_json).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), safe_json(v))).collect()),
        other => other.to_json(),
    }
}

fn unknown_tree(value: &Value) -> Json {
    marker_tree(value, &|v| matches!(v, Value::Unknown | Value::Partial(_)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, ChangeValues, OutputChange, ReplaceOrder};

    /// A change of an object whose id is `existing-id` (the renderer shows only its
    /// attribute changes and that id).
    fn change(address: &str, action: Action, reason: Reason, attributes: Vec<AttributeChange>) -> Change {
        let (before, after) = (Value::object([("id", Value::from("existing-id"))]), Value::Object(Default::default()));
        let values = match action {
            Action::Create => ChangeValues::Create { after },
            Action::Read => ChangeValues::Read { after },
            Action::Update => ChangeValues::Update { before, after },
            Action::DeleteThenCreate => ChangeValues::Replace { before, after, order: ReplaceOrder::DeleteFirst },
            Action::CreateThenDelete => ChangeValues::Replace { before, after, order: ReplaceOrder::CreateFirst },
            Action::Delete => ChangeValues::Delete { before },
            Action::NoOp => ChangeValues::NoOp { before: Some(before), after },
            Action::Forget => ChangeValues::Forget { before },
        };
        Change {
            address: address.parse().unwrap(),
            provider: "aws".into(),
            reason,
            values,
            attributes,
            dependencies: Vec::new(),
        }
    }

    fn attr(name: &str, before: Option<Value>, after: Option<Value>, forces: bool) -> AttributeChange {
        AttributeChange { name: name.into(), before, after, forces_replacement: forces }
    }

    #[test]
    fn plans_render_like_terraform() {
        let trust = |action: &str| {
            Value::from(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"pods.eks.amazonaws.com"}},"Action":["sts:AssumeRole","{action}"]}}]}}"#
            ))
        };
        let create = change(
            "aws_iam_role.gateway",
            Action::Create,
            Reason::None,
            vec![
                attr("arn", None, Some(Value::Unknown), false),
                attr("assume_role_policy", None, Some(trust("sts:TagSession")), false),
                attr("name", None, Some(Value::from("litellm-gateway")), false),
                attr(
                    "tags",
                    None,
                    Some(Value::object([("team", Value::from("platform")), ("cost-center", Value::from("ai"))])),
                    false,
                ),
            ],
        );
        let update = change(
            "aws_iam_role.ci",
            Action::Update,
            Reason::None,
            vec![
                attr("assume_role_policy", Some(trust("sts:TagSession")), Some(trust("sts:SetSourceIdentity")), false),
                attr("description", Some(Value::from("old")), Some(Value::from("new")), false),
                attr(
                    "client_id_list",
                    Some(Value::List(vec!["a".into(), "c".into()])),
                    Some(Value::List(vec!["a".into(), "b".into(), "c".into()])),
                    false,
                ),
                attr(
                    "tags",
                    Some(Value::object([("a", Value::from("1")), ("b", Value::from("2"))])),
                    Some(Value::object([("a", Value::from("1")), ("b", Value::from("3"))])),
                    false,
                ),
            ],
        );
        let replace = change(
            "google_iam_workload_identity_pool.pool",
            Action::DeleteThenCreate,
            Reason::ReplaceBecauseOf { attributes: vec!["workload_identity_pool_id".into()] },
            vec![attr("workload_identity_pool_id", Some(Value::from("aws-old")), Some(Value::from("aws-new")), true)],
        );
        let secret = change(
            "azurerm_role_assignment.app",
            Action::Update,
            Reason::None,
            vec![attr(
                "client_secret",
                Some(Value::from("old-secret").sensitive()),
                Some(Value::from("new-secret").sensitive()),
                false,
            )],
        );
        let delete = change("aws_iam_role.orphan", Action::Delete, Reason::NoLongerInConfig, Vec::new());
        let plan = Plan {
            changes: vec![create, update, replace, secret, delete],
            outputs: [(
                "EKS_AWS_ROLE_ARN".to_owned(),
                OutputChange {
                    name: "EKS_AWS_ROLE_ARN".into(),
                    before: None,
                    after: Some(Value::Unknown),
                    sensitive: false,
                },
            )]
            .into(),
            ..Plan::default()
        };
        let text = render_human(&plan, Style::Plain);
        assert!(!text.contains("old-secret") && !text.contains("new-secret"));
        insta::assert_snapshot!(text);
    }

    /// Moves, imports and forgets, as Terraform 1.11 words them.
    #[test]
    fn moves_imports_and_forgets_render_like_terraform() {
        let addr = |text: &str| text.parse::<ResourceAddr>().unwrap();
        let plan = Plan {
            changes: vec![
                change("aws_iam_role.kept[\"a\"]", Action::NoOp, Reason::None, Vec::new()),
                change(
                    "aws_iam_role.renamed",
                    Action::Update,
                    Reason::None,
                    vec![attr("description", None, Some(Value::from("moved and changed")), false)],
                ),
                change("aws_iam_role.adopted", Action::NoOp, Reason::None, Vec::new()),
                change(
                    "aws_iam_role.adopted_changed",
                    Action::Update,
                    Reason::None,
                    vec![attr("path", Some(Value::from("/")), Some(Value::from("/svc/")), false)],
                ),
                change("aws_iam_role.left", Action::Forget, Reason::Removed, Vec::new()),
                change("aws_iam_role.untouched", Action::NoOp, Reason::None, Vec::new()),
            ],
            moved: vec![
                crate::MovedObject { from: addr("aws_iam_role.kept"), to: addr("aws_iam_role.kept[\"a\"]") },
                crate::MovedObject { from: addr("aws_iam_role.old_name"), to: addr("aws_iam_role.renamed") },
            ],
            imported: vec![
                crate::ImportedObject { address: addr("aws_iam_role.adopted"), id: "adopted-role".into() },
                crate::ImportedObject { address: addr("aws_iam_role.adopted_changed"), id: "other-role".into() },
            ],
            ..Plan::default()
        };
        let text = render_human(&plan, Style::Plain);
        assert!(!text.contains("untouched"), "{text}");
        insta::assert_snapshot!(text);
        let json = render_json(&plan);
        let changes = json["resource_changes"].as_array().unwrap();
        assert_eq!(changes[0]["previous_address"], "aws_iam_role.kept");
        assert_eq!(changes[2]["change"]["importing"], json!({ "id": "adopted-role" }));
        assert_eq!(changes[4]["change"]["actions"], json!(["forget"]));
        assert!(changes[5].get("previous_address").is_none() && changes[5]["change"].get("importing").is_none());
        assert_eq!(json["summary"]["import"], 2);
        assert_eq!(json["summary"]["forget"], 1);
        assert_eq!(json["has_changes"], true);
    }
}
