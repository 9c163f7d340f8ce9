//! Input variables: where values come from and how they meet their declarations.
//!
//! Precedence, lowest first (as Terraform): `TRUSTFORM_VAR_name` environment variables,
//! `trustform.tfvars`, `*.auto.tfvars` in name order, then `--var-file` and `--var` in the order
//! given on the command line. A later source wins.

use crate::config::{Config, Expr};
use crate::eval::{eval_constant, LocalsCache, ResourceValues, Scope};
use crate::types::Type;
use crate::value::Value;
use crate::ResourceId;
use hcl_edit::structure::Structure;
use hcl_edit::Span as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trustform_diag::{Diagnostic, Diagnostics, Span};

/// A command-line variable source, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliVar {
    /// `--var name=value`
    Assignment(String),
    /// `--var-file path`
    File(PathBuf),
}

/// One raw value for a variable, before conversion to its type.
#[derive(Debug, Clone)]
enum Raw {
    /// Text from the environment or `--var`: a string, or HCL for complex types.
    Text(String),
    /// An expression from a tfvars file.
    Expr(Expr),
}

#[derive(Debug, Clone)]
struct Input {
    name: String,
    raw: Raw,
    /// Where it came from, for messages ("--var", "TRUSTFORM_VAR_x", "prod.tfvars:3:1").
    origin: String,
    span: Option<Span>,
    /// Undeclared names from files warn; from `--var` they are errors; from the environment
    /// they are ignored (the environment holds many things).
    undeclared: Undeclared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undeclared {
    Ignore,
    Warn,
    Error,
}

/// Resolves every declared variable to a value of its type, reporting all problems at once.
pub fn resolve_variables(
    config: &mut Config,
    cli: &[CliVar],
    env: impl IntoIterator<Item = (String, String)>,
) -> (BTreeMap<String, Value>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut inputs = Vec::new();
    for (key, value) in env {
        if let Some(name) = key.strip_prefix("TRUSTFORM_VAR_") {
            inputs.push(Input {
                name: name.to_owned(),
                raw: Raw::Text(value),
                origin: key.clone(),
                span: None,
                undeclared: Undeclared::Ignore,
            });
        }
    }
    let mut auto_files: Vec<PathBuf> = std::fs::read_dir(&config.dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.ends_with(".auto.tfvars")
                })
                .collect()
        })
        .unwrap_or_default();
    auto_files.sort();
    let default_file = config.dir.join("trustform.tfvars");
    if default_file.is_file() {
        auto_files.insert(0, default_file);
    }
    for file in auto_files {
        read_tfvars(config, &file, &mut inputs, &mut diags);
    }
    for source in cli {
        match source {
            CliVar::File(path) => read_tfvars(config, path, &mut inputs, &mut diags),
            CliVar::Assignment(text) => match text.split_once('=') {
                Some((name, value)) if crate::is_identifier(name.trim()) => inputs.push(Input {
                    name: name.trim().to_owned(),
                    raw: Raw::Text(value.to_owned()),
                    origin: "--var".into(),
                    span: None,
                    undeclared: Undeclared::Error,
                }),
                _ => diags.push(Diagnostic::error(
                    "TF0301",
                    "Invalid --var option",
                    format!("The option --var {text:?} is not of the form NAME=VALUE. Write it as --var 'region=eu-west-1'."),
                )),
            },
        }
    }

    // A sensitive variable's value written in a .tfvars file is blanked in the source map, so
    // that no diagnostic's snippet (a type error, a failed validation) shows the secret.
    for input in &inputs {
        if let (Raw::Expr(expr), Some(var)) = (&input.raw, config.variables.get(&input.name)) {
            if var.sensitive {
                if let Some(range) = expr.expr.span() {
                    config.sources.redact(expr.file, range);
                }
            }
        }
    }

    let mut chosen: BTreeMap<String, Input> = BTreeMap::new();
    for input in inputs {
        if !config.variables.contains_key(&input.name) {
            let declare = format!("Declare it with variable \"{}\" {{}} or remove the value.", input.name);
            match input.undeclared {
                Undeclared::Ignore => {}
                Undeclared::Warn => diags.push(
                    Diagnostic::warning(
                        "TF0302",
                        "Value for undeclared variable",
                        format!("{} sets \"{}\", which is not declared. {declare}", input.origin, input.name),
                    )
                    .with_span(input.span.clone()),
                ),
                Undeclared::Error => diags.push(Diagnostic::error(
                    "TF0302",
                    "Value for undeclared variable",
                    format!("{} sets \"{}\", which is not declared. {declare}", input.origin, input.name),
                )),
            }
            continue;
        }
        chosen.insert(input.name.clone(), input);
    }

    let mut values = BTreeMap::new();
    let variables: Vec<_> = config.variables.values().cloned().collect();
    for var in &variables {
        let ty = var.ty.clone().unwrap_or(Type::Any);
        let raw = match chosen.remove(&var.name) {
            Some(input) => match input_value(config, &input, &ty) {
                Ok(v) => Some((v, input.origin, input.span)),
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            },
            None => None,
        };
        let (value, origin, span) = match raw {
            Some(found) => found,
            None => match &var.default {
                Some(default) => match eval_constant(config, default) {
                    Ok(v) => (v, "the default".to_owned(), config.span(default)),
                    Err(d) => {
                        diags.push(*d);
                        continue;
                    }
                },
                None => {
                    diags.push(
                        Diagnostic::error(
                            "TF0300",
                            "No value for required variable",
                            format!(
                                "The variable \"{0}\" has no default, and no value was given. Set it with --var '{0}=...', a .tfvars file, or the TRUSTFORM_VAR_{0} environment variable.",
                                var.name
                            ),
                        )
                        .with_span(var.span.clone()),
                    );
                    continue;
                }
            },
        };
        if value.is_null() && !var.nullable {
            diags.push(
                Diagnostic::error(
                    "TF0303",
                    "Invalid value for variable",
                    format!(
                        "The variable \"{}\" is not nullable, but {origin} sets it to null. Give it a value.",
                        var.name
                    ),
                )
                .with_span(span.or(Some(var.span.clone()))),
            );
            continue;
        }
        match ty.convert(value) {
            Ok(v) => {
                values.insert(var.name.clone(), v.mark_if(var.sensitive));
            }
            Err(msg) => diags.push(
                Diagnostic::error(
                    "TF0303",
                    "Invalid value for variable",
                    match var.sensitive {
                        // The conversion's message quotes the value.
                        true => format!("The value from {origin} for variable \"{}\" does not fit its type {ty} (the value is not shown because the variable is sensitive). Give a value of that type.", var.name),
                        false => format!("The value from {origin} for variable \"{}\" does not fit its type {ty}: {msg}. Give a value of that type.", var.name),
                    },
                )
                .with_span(span.or(Some(var.span.clone()))),
            ),
        }
    }

    check_validations(config, &values, &mut diags);
    (values, diags)
}

fn input_value(config: &Config, input: &Input, ty: &Type) -> Result<Value, Box<Diagnostic>> {
    match &input.raw {
        Raw::Expr(expr) => eval_constant(config, expr),
        Raw::Text(text) => match ty {
            Type::Any | Type::String | Type::Number | Type::Bool => Ok(Value::String(text.clone())),
            _ => {
                let expr = hcl_edit::parser::parse_expr(text).map_err(|e| {
                    Box::new(Diagnostic::error(
                        "TF0304",
                        "Invalid variable value",
                        format!(
                            "The value from {} for \"{}\" must be written as HCL for a {ty}, like [\"a\", \"b\"] or {{ key = \"value\" }}: {}.",
                            input.origin,
                            input.name,
                            e.message()
                        ),
                    ))
                })?;
                let mut scratch = Config { dir: config.dir.clone(), ..Config::default() };
                let file = scratch.sources.add(input.origin.clone(), text.clone());
                eval_constant(&scratch, &Expr { expr, file })
            }
        },
    }
}

fn read_tfvars(config: &mut Config, path: &Path, inputs: &mut Vec<Input>, diags: &mut Diagnostics) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            diags.push(Diagnostic::error(
                "TF0305",
                "Cannot read variables file",
                format!("Reading {}: {e}. Check the path given to --var-file.", path.display()),
            ));
            return;
        }
    };
    let display = path.strip_prefix(&config.dir).unwrap_or(path).display().to_string();
    let file = config.sources.add(display.clone(), text.clone());
    let body = match hcl_edit::parser::parse_body(&text) {
        Ok(body) => body,
        Err(e) => {
            let span = config.sources.span(file, e.location().offset()..e.location().offset());
            diags.push(
                Diagnostic::error("TF0100", "Invalid HCL syntax", format!("The variables file could not be parsed: {}. A .tfvars file holds lines of the form name = value.", e.message()))
                    .with_span(span),
            );
            return;
        }
    };
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let span = attr.span().map(|r| config.sources.span(file, r));
                inputs.push(Input {
                    name: attr.key.as_str().to_owned(),
                    raw: Raw::Expr(Expr { expr: attr.value.clone(), file }),
                    origin: span.as_ref().map_or(display.clone(), ToString::to_string),
                    span,
                    undeclared: Undeclared::Warn,
                });
            }
            Structure::Block(block) => {
                let span = block.span().map(|r| config.sources.span(file, r));
                diags.push(
                    Diagnostic::error(
                        "TF0306",
                        "Unexpected block in variables file",
                        "A .tfvars file holds only name = value lines.",
                    )
                    .with_span(span),
                );
            }
        }
    }
}

/// The input variables of one module instance from the values its call passes (already
/// evaluated in the caller): defaults, null checks, type conversion, sensitivity and validation
/// as for the root's variables (Terraform's `internal/terraform/eval_variable.go`). An unknown
/// value is converted as far as its type says and not validated until it is known. Missing
/// required inputs are the configuration graph's to report.
pub fn module_variables(
    module: &Config,
    call: &str,
    passed: BTreeMap<String, (Value, Option<Span>)>,
) -> (BTreeMap<String, Value>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut values = BTreeMap::new();
    for var in module.variables.values() {
        let ty = var.ty.clone().unwrap_or(Type::Any);
        let (value, span) = match passed.get(&var.name) {
            // Terraform: a null argument for a variable with a default takes the default.
            Some((value, _)) if value.is_null() && var.default.is_some() => (None, None),
            Some((value, span)) => (Some(value.clone()), span.clone()),
            None => (None, None),
        };
        let value = match value {
            Some(value) => value,
            None => match &var.default {
                Some(default) => match eval_constant(module, default) {
                    Ok(v) => v,
                    Err(d) => {
                        diags.push(*d);
                        continue;
                    }
                },
                None => Value::Unknown,
            },
        };
        let span = span.or(Some(var.span.clone()));
        if value.is_null() && !var.nullable {
            diags.push(
                Diagnostic::error(
                    "TF0303",
                    "Invalid value for variable",
                    format!("The variable \"{}\" of module \"{call}\" is not nullable, but the call sets it to null. Give it a value.", var.name),
                )
                .with_span(span),
            );
            continue;
        }
        match ty.convert(value) {
            Ok(v) => {
                values.insert(var.name.clone(), v.mark_if(var.sensitive));
            }
            Err(msg) => diags.push(
                Diagnostic::error(
                    "TF0303",
                    "Invalid value for variable",
                    match var.sensitive {
                        true => format!("The value module \"{call}\" passes for variable \"{}\" does not fit its type {ty} (the value is not shown because the variable is sensitive). Pass a value of that type.", var.name),
                        false => format!("The value module \"{call}\" passes for variable \"{}\" does not fit its type {ty}: {msg}. Pass a value of that type.", var.name),
                    },
                )
                .with_span(span),
            ),
        }
    }
    let known: BTreeMap<String, Value> =
        values.iter().filter(|(_, v)| !v.contains_unknown()).map(|(k, v)| (k.clone(), v.clone())).collect();
    check_validations(module, &known, &mut diags);
    (values, diags)
}

fn check_validations(config: &Config, values: &BTreeMap<String, Value>, diags: &mut Diagnostics) {
    struct NoResources;
    impl ResourceValues for NoResources {
        fn resource(&self, _: &ResourceId) -> Option<Value> {
            None
        }
    }
    let locals = LocalsCache::default();
    let scope = Scope::new(config, values, &NoResources, &locals);
    for var in config.variables.values() {
        if !values.contains_key(&var.name) {
            continue;
        }
        for validation in &var.validations {
            let ok = match scope.eval(&validation.condition) {
                Ok(v) => v.as_bool(),
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            };
            if ok == Some(false) {
                let message = scope
                    .eval(&validation.error_message)
                    .ok()
                    .and_then(|m| m.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let message = if var.sensitive {
                    "(the message is hidden because the variable is sensitive)".to_owned()
                } else {
                    message
                };
                diags.push(
                    Diagnostic::error("TF0307", "Invalid value for variable", format!("{message}\n\nThis was checked by the validation rule of variable \"{}\"; give a value that passes it.", var.name))
                        .with_span(validation.span.clone()),
                );
            } else if ok.is_none() {
                diags.push(
                    Diagnostic::error(
                        "TF0308",
                        "Invalid validation condition",
                        format!("The validation condition of variable \"{}\" must be a bool.", var.name),
                    )
                    .with_span(config.span(&validation.condition)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;

    fn config(text: &str) -> Config {
        let (config, diags) = load_sources([("main.tf".to_owned(), text.to_owned())]);
        assert!(diags.is_empty(), "{diags:?}");
        config
    }

    #[test]
    fn precedence_and_types() {
        let mut c = config(
            r#"
            variable "region" { default = "us-east-1" }
            variable "count_of" { type = number }
            variable "names" { type = list(string) }
            variable "token" {
              type      = string
              sensitive = true
            }
            "#,
        );
        let env = vec![
            ("TRUSTFORM_VAR_region".to_owned(), "eu-west-1".to_owned()),
            ("TRUSTFORM_VAR_token".to_owned(), "s3cret".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ];
        let cli = [
            CliVar::Assignment("count_of=3".into()),
            CliVar::Assignment("names=[\"a\", \"b\"]".into()),
            CliVar::Assignment("region=ap-south-1".into()),
        ];
        let (values, diags) = resolve_variables(&mut c, &cli, env);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(values["region"], Value::from("ap-south-1"));
        assert_eq!(values["count_of"], Value::from(3));
        assert_eq!(values["names"], Value::List(vec!["a".into(), "b".into()]));
        assert_eq!(values["token"].render(), "(sensitive value)");
    }

    #[test]
    fn reports_missing_wrong_and_invalid_values_together() {
        let mut c = config(
            r#"
            variable "needed" {}
            variable "n" { type = number }
            variable "env" {
              default = "qa"
              validation {
                condition     = contains(["dev", "prod"], var.env)
                error_message = "env must be dev or prod."
              }
            }
            "#,
        );
        let cli = [CliVar::Assignment("n=many".into()), CliVar::Assignment("nope=1".into())];
        let (_, diags) = resolve_variables(&mut c, &cli, Vec::new());
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"TF0300"), "{codes:?}");
        assert!(codes.contains(&"TF0303"), "{codes:?}");
        assert!(codes.contains(&"TF0302"), "{codes:?}");
    }

    #[test]
    fn module_inputs_take_defaults_types_sensitivity_and_validation() {
        let module = config(
            r#"
            variable "name" { type = string }
            variable "replicas" {
              type    = number
              default = 2
            }
            variable "token" {
              type      = string
              sensitive = true
            }
            variable "env" {
              type = string
              validation {
                condition     = contains(["dev", "prod"], var.env)
                error_message = "env must be dev or prod."
              }
            }
            variable "later" {
              type = string
            }
            "#,
        );
        let passed = |pairs: Vec<(&str, Value)>| pairs.into_iter().map(|(k, v)| (k.to_owned(), (v, None))).collect();
        let (values, diags) = module_variables(
            &module,
            "module.gw",
            passed(vec![
                ("name", Value::from(7)),
                ("replicas", Value::Null),
                ("token", Value::from("s3cret")),
                ("env", Value::from("dev")),
                ("later", Value::Unknown),
            ]),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(values["name"], Value::from("7"));
        assert_eq!(values["replicas"], Value::from(2), "null takes the default, as in Terraform");
        assert_eq!(values["token"].render(), "(sensitive value)");
        assert!(values["later"].is_unknown());

        let (_, diags) = module_variables(
            &module,
            "module.gw",
            passed(vec![("name", Value::List(vec![])), ("env", Value::from("qa")), ("token", Value::from("x"))]),
        );
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["TF0303", "TF0307"], "{diags:?}");
        assert!(diags.iter().any(|d| d.detail.contains("module \"module.gw\"")), "{diags:?}");
    }
}
