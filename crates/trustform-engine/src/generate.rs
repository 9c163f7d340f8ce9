//! `plan --generate-config-out FILE`: HCL for the objects of `import` blocks whose target has
//! no resource block yet, as Terraform 1.5+ writes it
//! (<https://developer.hashicorp.com/terraform/language/import/generating-configuration>;
//! hashicorp/terraform internal/genconfig/generate_config.go): the arguments the user can set,
//! with the values the object has; JSON documents as `jsonencode(...)`; a sensitive value as
//! `null # sensitive`, never the secret.

use crate::engine::Engine;
use crate::values::Values;
use std::fmt::Write;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::functions::number_to_string;
use trustform_lang::{is_identifier, LocalsCache, Scope, Value};
use trustform_schema::{Block, Mode, Nesting};
use trustform_state::State;

/// The header Terraform writes at the top of a generated file.
const HEADER: &str =
    "# __generated__ by Trustform\n# Please review these resources and move them into your main configuration files.\n";

impl Engine {
    /// The configuration to write for every `import` block whose target is not declared: `None`
    /// when every target is (nothing to generate).
    pub async fn generate_import_config(&self, state: &State) -> (Option<String>, Diagnostics) {
        let missing: Vec<_> =
            self.config.imports.iter().filter(|i| !self.config.resources.contains_key(&i.to.resource)).collect();
        if missing.is_empty() {
            return (None, Diagnostics::new());
        }
        let mut diags = self.configure_providers(state).await;
        if diags.has_errors() {
            return (None, diags);
        }
        let (values, locals) = (Values::default(), LocalsCache::default());
        let scope = Scope::new(&self.config, &self.variables, &values, &locals);
        let mut out = String::from(HEADER);
        for block in missing {
            let addr = &block.to;
            if block.for_each.is_some() || addr.key.is_some() {
                // internal/terraform/node_resource_plan_instance.go refuses these too.
                diags.push(
                    Diagnostic::error(
                        "TF0154",
                        "Configuration generation for count and for_each resources not supported",
                        format!("Generating configuration for {addr} needs a single resource: remove for_each and the instance key from the import block, or write the resource block with its for_each yourself."),
                    )
                    .with_span(block.span.clone()),
                );
                continue;
            }
            let type_name = addr.type_name();
            let (Some(provider), Some(schema)) =
                (self.providers.for_type(type_name), self.providers.resource_schema(type_name))
            else {
                diags.push(
                    Diagnostic::error(
                        "TF0154",
                        "Cannot generate configuration",
                        format!("No provider in this build serves the resource type {type_name}; fix the type in the import block's to."),
                    )
                    .with_span(block.span.clone()),
                );
                continue;
            };
            let id = match scope.eval(&block.id) {
                Ok(id) if !id.contains_unknown() && !id.is_sensitive() && id.as_str().is_some() => {
                    id.as_str().unwrap_or_default().to_owned()
                }
                Ok(_) => {
                    diags.push(
                        Diagnostic::error(
                            "TF0153",
                            "Invalid import id argument",
                            "The import id must be a string known before the plan, and not sensitive.",
                        )
                        .with_span(self.config.span(&block.id)),
                    );
                    continue;
                }
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            };
            let value = match provider.import(type_name, &id).await {
                Ok(value) => value,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(
                            "TF1102",
                            "Import failed",
                            format!("Reading {addr} from id {id:?} to generate its configuration failed: {e}. The id format for {type_name} is {}.", schema.import_id_format),
                        )
                        .with_span(self.config.span(&block.id)),
                    );
                    continue;
                }
            };
            let sensitive: Vec<_> = schema.block.sensitive_attributes().map(trustform_lang::Path::key).collect();
            let value = value.mark_paths(&sensitive);
            let _ = writeln!(out, "\n# __generated__ by Trustform from {}", quoted(&id));
            let _ = writeln!(out, "resource \"{type_name}\" \"{}\" {{", addr.resource.name);
            write_body(&mut out, &schema.block, &value, 1);
            out.push_str("}\n");
        }
        let text = trustform_lang::format::format_source(&out).unwrap_or(out);
        (Some(text), diags)
    }
}

/// The settable arguments of `block` with the values `value` gives them, then its nested
/// blocks.
fn write_body(out: &mut String, block: &Block, value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    for (name, attribute) in &block.attributes {
        if attribute.mode == Mode::Computed {
            continue;
        }
        let Some(v) = value.get(name) else { continue };
        if v.is_null() && attribute.mode != Mode::Required {
            continue;
        }
        if v.is_sensitive() || attribute.sensitive {
            let _ = writeln!(out, "{indent}{name} = null # sensitive");
            continue;
        }
        let _ = writeln!(out, "{indent}{name} = {}", expression(v, depth));
    }
    for (name, nested) in &block.blocks {
        let items = match (nested.nesting, value.get(name).map(Value::unmarked)) {
            (Nesting::Single, Some(v @ Value::Object(_))) => vec![v.clone()],
            (_, Some(Value::List(items))) => items.clone(),
            _ => Vec::new(),
        };
        for item in items {
            let _ = writeln!(out, "{indent}{name} {{");
            write_body(out, &nested.block, &item, depth + 1);
            let _ = writeln!(out, "{indent}}}");
        }
    }
}

/// A value as an HCL expression; a string holding a JSON object or array becomes
/// `jsonencode(...)` of its content, as Terraform writes policies.
fn expression(value: &Value, depth: usize) -> String {
    let indent = "  ".repeat(depth);
    match value.unmarked() {
        Value::Null | Value::Unknown | Value::Partial(_) | Value::Sensitive(_) => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => {
            let trimmed = s.trim_start();
            let document = (trimmed.starts_with('{') || trimmed.starts_with('['))
                .then(|| serde_json::from_str::<serde_json::Value>(s).ok())
                .flatten();
            match document {
                Some(json) => format!("jsonencode({})", expression(&Value::from_json(&json), depth)),
                None => quoted(s),
            }
        }
        Value::List(items) if items.is_empty() => "[]".to_owned(),
        Value::List(items) => {
            let inner: Vec<String> =
                items.iter().map(|item| format!("{indent}  {},\n", expression(item, depth + 1))).collect();
            format!("[\n{}{indent}]", inner.concat())
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = if is_identifier(k) { k.clone() } else { quoted(k) };
                    format!("{indent}  {key} = {}\n", expression(v, depth + 1))
                })
                .collect();
            format!("{{\n{}{indent}}}", inner.concat())
        }
    }
}

/// A quoted HCL string: JSON escapes, and `${`/`%{` doubled so no template is started.
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string().replace("${", "$${").replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_hcl_that_means_the_same() {
        let policy = Value::from(r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(expression(&policy, 0), "jsonencode({\n  Statement = []\n  Version = \"2012-10-17\"\n})");
        assert_eq!(expression(&Value::from("a ${b} %{c} \"d\""), 0), r#""a $${b} %%{c} \"d\"""#);
        assert_eq!(
            expression(&Value::object([("team", Value::from("x")), ("cost center", Value::from(3))]), 0),
            "{\n  \"cost center\" = 3\n  team = \"x\"\n}"
        );
        assert_eq!(expression(&Value::List(vec![Value::Bool(true)]), 1), "[\n    true,\n  ]");
    }
}
