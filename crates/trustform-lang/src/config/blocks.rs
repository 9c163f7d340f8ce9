//! The blocks that say how state and configuration relate rather than what to build: `moved`,
//! `removed` and `check`, and the `precondition`/`postcondition` blocks of a `lifecycle` or an
//! `output`. Kept apart from the resource loader so each reads on its own.
//!
//! Terraform's rules, read from its documentation and source:
//! <https://developer.hashicorp.com/terraform/language/modules/develop/refactoring> (moved),
//! <https://developer.hashicorp.com/terraform/language/resources/syntax#removing-resources>
//! (removed), <https://developer.hashicorp.com/terraform/language/checks> and
//! <https://developer.hashicorp.com/terraform/language/expressions/custom-conditions>;
//! hashicorp/terraform `internal/configs/moved.go`, `removed.go`, `checks.go`.

use super::{static_bool, Body, Expr, Loader};
use crate::addr::{Mode, ResourceAddr};
use trustform_diag::{Diagnostic, FileId, Span};

/// A `condition` with its `error_message`: a precondition, a postcondition or a check's assert.
#[derive(Debug, Clone)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
    /// The block header, where a failure points when the condition has no span.
    pub span: Span,
}

/// The custom conditions of a resource's `lifecycle` (or an output's preconditions).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub preconditions: Vec<Condition>,
    pub postconditions: Vec<Condition>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.preconditions.is_empty() && self.postconditions.is_empty()
    }

    /// Every expression of every condition, for the dependency graph.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.preconditions.iter().chain(&self.postconditions).flat_map(|c| [&c.condition, &c.error_message])
    }
}

/// `moved { from = ADDR  to = ADDR }`. Both without a key: every instance of the resource
/// moves, keys kept; otherwise one instance moves (a keyless side is the keyless instance).
#[derive(Debug, Clone)]
pub struct Moved {
    pub from: ResourceAddr,
    pub to: ResourceAddr,
    pub span: Span,
}

impl Moved {
    /// True when the statement moves a whole resource rather than one instance.
    pub fn is_resource_move(&self) -> bool {
        self.from.key.is_none() && self.to.key.is_none()
    }
}

/// `removed { from = ADDR  lifecycle { destroy = BOOL } }`: the resource's objects leave the
/// state, destroyed first unless `destroy = false` (Terraform's default is `true`).
#[derive(Debug, Clone)]
pub struct Removed {
    pub from: ResourceAddr,
    pub destroy: bool,
    pub span: Span,
}

/// `import { to = ADDR  id = "..." }`: at the next plan, the object with that id is read through
/// the provider and planned at `to` as if the state had recorded it (Terraform 1.5+,
/// <https://developer.hashicorp.com/terraform/language/import>).
#[derive(Debug, Clone)]
pub struct Import {
    /// The target; with `for_each`, the resource (`to_key` gives each instance's key).
    pub to: ResourceAddr,
    /// `to = aws_iam_role.r[each.key]`: the key expression, evaluated per `for_each` element.
    pub to_key: Option<Expr>,
    /// `for_each` (Terraform 1.7+): one import per element, `each.key`/`each.value` in `to`
    /// and `id`.
    pub for_each: Option<Expr>,
    /// The import id: any expression known at plan time.
    pub id: Expr,
    pub span: Span,
}

/// `aws_iam_role.r[each.key]` as the resource and its key expression, when the key is not a
/// literal (an import block with `for_each`).
fn keyed_target(expr: &Expr) -> Option<(ResourceAddr, Expr)> {
    use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
    let Expression::Traversal(traversal) = &expr.expr else { return None };
    let (last, rest) = traversal.operators.split_last()?;
    let TraversalOperator::Index(key) = last.value() else { return None };
    let base = Traversal::new(traversal.expr.clone(), rest.to_vec());
    let resource =
        Expression::from(base).to_string().trim().parse::<ResourceAddr>().ok().filter(|a| a.key.is_none())?;
    Some((resource, Expr { expr: key.clone(), file: expr.file }))
}

/// `check "name" { data ... { }  assert { condition  error_message } }`.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Condition>,
    /// The data sources declared inside the block: read like any other, but a failure to read
    /// one is a warning, as every problem a check finds is.
    pub data: Vec<crate::ResourceId>,
    pub span: Span,
}

impl Loader {
    /// The address an attribute of a `moved`/`removed` block names, parsed with the one address
    /// parser so that what `state mv` accepts and what these blocks accept cannot drift apart.
    fn block_address(&mut self, kind: &str, body: &Body, name: &str, span: &Span) -> Option<ResourceAddr> {
        let Some(attr) = body.attributes.get(name) else {
            self.diags.push(
                Diagnostic::error(
                    "TF0150",
                    "Missing required argument",
                    format!("A {kind} block needs {name} = ADDRESS, like {name} = aws_iam_role.gateway."),
                )
                .with_span(span.clone()),
            );
            return None;
        };
        let text = attr.expr.expr.to_string();
        match text.trim().parse::<ResourceAddr>() {
            Ok(addr) if addr.resource.mode == Mode::Data => {
                self.error_at(body, attr.range.clone(), "TF0150", "Invalid address", format!("A {kind} block applies to managed resources only; {addr} is a data source, which state does not need to move or forget."));
                None
            }
            Ok(addr) => Some(addr),
            Err(e) => {
                self.error_at(
                    body,
                    attr.range.clone(),
                    "TF0150",
                    "Invalid address",
                    format!("{e}. Write the address without quotes."),
                );
                None
            }
        }
    }

    fn unexpected_arguments(&mut self, kind: &str, body: &Body, allowed: &[&str]) {
        for (name, attr) in &body.attributes {
            if !allowed.contains(&name.as_str()) {
                self.error_at(
                    body,
                    attr.range.clone(),
                    "TF0113",
                    "Unsupported argument",
                    format!("A {kind} block takes {}; \"{name}\" is not one of them.", allowed.join(" and ")),
                );
            }
        }
    }

    pub(super) fn moved(&mut self, body: Body, span: Span) {
        self.unexpected_arguments("moved", &body, &["from", "to"]);
        for nested in &body.blocks {
            self.error_at(
                &body,
                nested.range.clone(),
                "TF0113",
                "Unsupported block",
                "A moved block takes only from and to.".into(),
            );
        }
        let from = self.block_address("moved", &body, "from", &span);
        let to = self.block_address("moved", &body, "to", &span);
        if let (Some(from), Some(to)) = (from, to) {
            self.config.moved.push(Moved { from, to, span });
        }
    }

    pub(super) fn import(&mut self, body: Body, span: Span) {
        self.unexpected_arguments("import", &body, &["to", "id", "provider", "for_each"]);
        for nested in &body.blocks {
            self.error_at(
                &body,
                nested.range.clone(),
                "TF0113",
                "Unsupported block",
                "An import block takes to, id, for_each and provider.".into(),
            );
        }
        let for_each = body.attributes.get("for_each").map(|a| a.expr.clone());
        if let Some(attr) = body.attributes.get("provider") {
            // The type's own provider is the only one there is (no aliases yet): accept it
            // spelled out, refuse any other.
            let named = super::static_traversal(&attr.expr.expr).filter(|parts| parts.len() == 1);
            let to_provider = body
                .attributes
                .get("to")
                .and_then(|to| super::static_traversal(&to.expr.expr))
                .and_then(|parts| parts.first().map(|t| crate::provider_of(t).to_owned()));
            if named.as_ref().and_then(|p| p.first()) != to_provider.as_ref() || named.is_none() {
                self.error_at(&body, attr.range.clone(), "TF0153", "Invalid provider reference", "An import block's provider must be the provider of its resource type, written bare, like provider = aws.".into());
            }
        }
        let keyed = match (&for_each, body.attributes.get("to")) {
            (Some(_), Some(to)) => keyed_target(&to.expr),
            _ => None,
        };
        let (to, to_key) = match keyed {
            Some((resource, key)) => (Some(resource), Some(key)),
            None => (self.block_address("import", &body, "to", &span), None),
        };
        let Some(id) = body.attributes.get("id").map(|a| a.expr.clone()) else {
            self.diags.push(
                Diagnostic::error("TF0150", "Missing required argument", "An import block needs id = \"...\": the id of the object to import, in the format its resource type documents.")
                    .with_span(span),
            );
            return;
        };
        let Some(to) = to else { return };
        if let Some(previous) = self.config.imports.iter().find(|i| i.to == to && to_key.is_none()) {
            let first = previous.span.clone();
            self.diags.push(Diagnostic::error("TF0153", "Duplicate import configuration", format!("An import block for the resource {to} was already declared at {first}. A resource can have only one import block; remove one.")).with_span(span));
            return;
        }
        self.config.imports.push(Import { to, to_key, for_each, id, span });
    }

    pub(super) fn removed(&mut self, body: Body, span: Span) {
        self.unexpected_arguments("removed", &body, &["from"]);
        let mut destroy = true;
        for nested in &body.blocks {
            if nested.kind != "lifecycle" {
                self.error_at(&body, nested.range.clone(), "TF0113", "Unsupported block", format!("A removed block takes from and a lifecycle {{ destroy = true|false }} block; \"{}\" is not supported.", nested.kind));
                continue;
            }
            for (name, attr) in &nested.body.attributes {
                match (name.as_str(), static_bool(&attr.expr.expr)) {
                    ("destroy", Some(value)) => destroy = value,
                    ("destroy", None) => self.error_at(&nested.body, attr.range.clone(), "TF0110", "Invalid lifecycle argument", "destroy must be the literal true or false.".into()),
                    (other, _) => self.error_at(&nested.body, attr.range.clone(), "TF0110", "Invalid lifecycle argument", format!("\"{other}\" is not an argument of a removed block's lifecycle; it takes destroy = true|false.")),
                }
            }
        }
        let Some(from) = self.block_address("removed", &body, "from", &span) else { return };
        if from.key.is_some() {
            // Terraform: "Resource instance keys not allowed" (internal/configs/removed.go).
            let attr = &body.attributes["from"];
            self.error_at(
                &body,
                attr.range.clone(),
                "TF0150",
                "Resource instance keys not allowed",
                format!(
                    "A removed block applies to a whole resource: write from = {} without the instance key.",
                    from.resource
                ),
            );
            return;
        }
        if let Some(previous) = self.config.removed.iter().find(|r| r.from == from) {
            let first = previous.span.clone();
            self.diags.push(
                Diagnostic::error(
                    "TF0150",
                    "Duplicate removed block",
                    format!("A removed block for {from} was already declared at {first}. Remove one of them."),
                )
                .with_span(span),
            );
            return;
        }
        self.config.removed.push(Removed { from, destroy, span });
    }

    pub(super) fn check(&mut self, name: &str, body: Body, span: Span) {
        if self.config.checks.iter().any(|c| c.name == name) {
            self.diags.push(
                Diagnostic::error(
                    "TF0152",
                    "Duplicate check block",
                    format!(
                        "A check block named \"{name}\" was already declared. Check names must be unique; rename one."
                    ),
                )
                .with_span(span),
            );
            return;
        }
        self.unexpected_arguments("check", &body, &[]);
        let mut asserts = Vec::new();
        let mut data = Vec::new();
        for nested in body.blocks {
            match (nested.kind.as_str(), nested.labels.as_slice()) {
                ("assert", []) => {
                    let file = nested.body.file.unwrap_or(FileId(0));
                    let span = self.span(file, Some(nested.range.clone()));
                    if let Some(assert) = self.condition("assert", nested.body, span) {
                        asserts.push(assert);
                    }
                }
                // A data source scoped to the check: read like any other, so its result can be
                // asserted on (Terraform's "scoped data source").
                ("data", [_, _]) => {
                    let file = nested.body.file.unwrap_or(FileId(0));
                    let span = self.span(file, Some(nested.range.clone()));
                    let id = crate::ResourceId::data(&nested.labels[0], &nested.labels[1]);
                    let declared_before = self.config.resources.contains_key(&id);
                    self.resource("data", &nested.labels, nested.body, span);
                    if !declared_before && self.config.resources.contains_key(&id) {
                        data.push(id);
                    }
                }
                _ => {
                    let span = body.file.map(|f| self.config.sources.span(f, nested.range.clone()));
                    self.diags.push(Diagnostic::error("TF0152", "Unsupported block in check", format!("A check block takes assert {{ condition, error_message }} blocks and at most one data \"TYPE\" \"NAME\" block; \"{}\" is not one of them.", nested.kind)).with_span(span));
                }
            }
        }
        if asserts.is_empty() {
            self.diags.push(Diagnostic::error("TF0152", "Missing assert block", format!("The check \"{name}\" has no assert block. Add assert {{ condition = ... error_message = \"...\" }}.")).with_span(span));
            return;
        }
        self.config.checks.push(Check { name: name.to_owned(), asserts, data, span });
    }

    /// One `precondition`, `postcondition` or `assert` block.
    pub(super) fn condition(&mut self, kind: &str, mut body: Body, span: Span) -> Option<Condition> {
        let condition = body.attributes.remove("condition");
        let error_message = body.attributes.remove("error_message");
        self.unexpected_arguments(kind, &body, &[]);
        match (condition, error_message) {
            (Some(condition), Some(error_message)) => {
                Some(Condition { condition: condition.expr, error_message: error_message.expr, span })
            }
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "TF0151",
                        "Incomplete condition",
                        format!("A {kind} block needs both condition and error_message."),
                    )
                    .with_span(span),
                );
                None
            }
        }
    }

    /// The `precondition` and `postcondition` blocks of a resource's `lifecycle` block.
    pub(super) fn lifecycle_conditions(&mut self, lifecycle: &Body, mode: Mode) -> Conditions {
        let mut conditions = Conditions::default();
        for nested in &lifecycle.blocks {
            let file = nested.body.file.unwrap_or(FileId(0));
            let span = self.span(file, Some(nested.range.clone()));
            match nested.kind.as_str() {
                "precondition" => {
                    conditions.preconditions.extend(self.condition("precondition", nested.body.clone(), span))
                }
                "postcondition" => {
                    conditions.postconditions.extend(self.condition("postcondition", nested.body.clone(), span))
                }
                other => {
                    let what = if mode == Mode::Data { "A data source's lifecycle" } else { "The lifecycle block" };
                    self.error_at(
                        lifecycle,
                        nested.range.clone(),
                        "TF0110",
                        "Invalid lifecycle block",
                        format!("{what} takes precondition and postcondition blocks; \"{other}\" is not one of them."),
                    );
                }
            }
        }
        conditions
    }

    /// The `precondition` blocks of an output (outputs take no postcondition).
    pub(super) fn output_conditions(&mut self, body: &mut Body) -> Vec<Condition> {
        let mut out = Vec::new();
        for nested in std::mem::take(&mut body.blocks) {
            let file = nested.body.file.unwrap_or(FileId(0));
            let span = self.span(file, Some(nested.range.clone()));
            if nested.kind == "precondition" {
                out.extend(self.condition("precondition", nested.body, span));
            } else {
                self.error_at(
                    body,
                    nested.range,
                    "TF0113",
                    "Unsupported block",
                    format!("An output block takes precondition blocks only; \"{}\" is not one.", nested.kind),
                );
            }
        }
        out
    }

    /// After every file is read: the rules between these blocks and the resource blocks.
    pub(super) fn check_refactoring(&mut self) {
        for removed in &self.config.removed {
            if let Some(resource) = self.config.resources.get(&removed.from.resource) {
                // internal/configs/module.go: "Removed resource block still exists".
                self.diags.push(
                    Diagnostic::error(
                        "TF0716",
                        "Removed resource block still exists",
                        format!(
                            "This statement declares that {} was removed, but it is still declared in configuration at {}. Remove the resource block, or remove this removed block to keep managing it.",
                            removed.from, resource.span
                        ),
                    )
                    .with_span(removed.span.clone()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_sources, Config};
    use crate::ResourceAddr;
    use trustform_diag::Diagnostics;

    fn load(text: &str) -> (Config, Diagnostics) {
        load_sources([("main.tf".to_owned(), text.to_owned())])
    }

    fn addr(text: &str) -> ResourceAddr {
        text.parse().unwrap()
    }

    #[test]
    fn moved_removed_and_check_blocks_are_sorted_with_their_addresses_parsed() {
        let (config, diags) = load(
            r#"
            resource "trustform_data" "kept" {
              for_each = toset(["a"])
              input    = each.key
              lifecycle {
                precondition {
                  condition     = each.key != ""
                  error_message = "Keys are not empty."
                }
                postcondition {
                  condition     = self.output == each.key
                  error_message = "The output echoes the key."
                }
              }
            }
            moved {
              from = trustform_data.old
              to   = trustform_data.kept["a"]
            }
            moved {
              from = trustform_data.older
              to   = trustform_data.old
            }
            removed {
              from = aws_iam_role.gone
              lifecycle {
                destroy = false
              }
            }
            removed {
              from = aws_iam_role.destroyed
            }
            check "echo" {
              data "trustform_data" "probe" {
                input = "x"
              }
              assert {
                condition     = data.trustform_data.probe.output == "x"
                error_message = "The probe echoes."
              }
            }
            output "key" {
              value = "a"
              precondition {
                condition     = true
                error_message = "Never fails."
              }
            }
            "#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let moved: Vec<_> = config.moved.iter().map(|m| (m.from.clone(), m.to.clone(), m.is_resource_move())).collect();
        assert_eq!(
            moved,
            [
                (addr("trustform_data.old"), addr("trustform_data.kept[\"a\"]"), false),
                (addr("trustform_data.older"), addr("trustform_data.old"), true),
            ]
        );
        let removed: Vec<_> = config.removed.iter().map(|r| (r.from.to_string(), r.destroy)).collect();
        assert_eq!(removed, [("aws_iam_role.gone".to_owned(), false), ("aws_iam_role.destroyed".to_owned(), true)]);
        let kept = &config.resources[&addr("trustform_data.kept").resource];
        assert_eq!((kept.conditions.preconditions.len(), kept.conditions.postconditions.len()), (1, 1));
        assert_eq!(config.checks.len(), 1);
        assert_eq!(config.checks[0].asserts.len(), 1);
        // The check's data source is read like any other.
        assert!(config.resources.contains_key(&addr("data.trustform_data.probe").resource));
        assert_eq!(config.outputs["key"].preconditions.len(), 1);
        assert_eq!(config.checks[0].data, [addr("data.trustform_data.probe").resource]);
    }

    #[test]
    fn import_blocks_take_a_literal_target_or_one_keyed_by_for_each() {
        let (config, diags) = load(
            r#"
            resource "trustform_data" "one" {}
            resource "trustform_data" "many" {
              for_each = toset(["a"])
            }
            import {
              to = trustform_data.one
              id = "x"
            }
            import {
              for_each = { a = "id-a" }
              to       = trustform_data.many[each.key]
              id       = each.value
            }
            "#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let (one, many) = (&config.imports[0], &config.imports[1]);
        assert_eq!(
            (one.to.to_string(), one.to_key.is_none(), one.for_each.is_none()),
            ("trustform_data.one".into(), true, true)
        );
        assert_eq!(many.to.to_string(), "trustform_data.many");
        assert_eq!(many.to_key.as_ref().map(|k| k.expr.to_string().trim().to_owned()), Some("each.key".to_owned()));
        assert!(many.for_each.is_some());
    }

    #[test]
    fn malformed_blocks_are_reported_together_with_their_places() {
        let (_, diags) = load(
            r#"
            moved {
              from = "trustform_data.a"
            }
            moved {
              from = data.trustform_data.a
              to   = data.trustform_data.b
            }
            removed {
              from = trustform_data.a
              lifecycle {
                destroy = "no"
              }
            }
            check "empty" {}
            resource "trustform_data" "a" {
              lifecycle {
                postcondition {
                  error_message = "no condition"
                }
              }
            }
            "#,
        );
        let found: Vec<_> =
            diags.iter().map(|d| (d.code, d.summary.as_str(), d.span.as_ref().map(|s| s.start.line))).collect();
        assert_eq!(
            found,
            [
                ("TF0150", "Invalid address", Some(3)),
                ("TF0150", "Missing required argument", Some(2)),
                ("TF0150", "Invalid address", Some(6)),
                ("TF0150", "Invalid address", Some(7)),
                ("TF0110", "Invalid lifecycle argument", Some(12)),
                ("TF0152", "Missing assert block", Some(15)),
                ("TF0151", "Incomplete condition", Some(18)),
                ("TF0716", "Removed resource block still exists", Some(9)),
            ]
        );
    }
}
