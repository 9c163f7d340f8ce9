//! Custom conditions: a resource's `precondition` and `postcondition` blocks, an output's
//! `precondition` blocks and a `check` block's `assert` blocks, evaluated as Terraform
//! evaluates them (hashicorp/terraform internal/terraform/eval_conditions.go;
//! <https://developer.hashicorp.com/terraform/language/expressions/custom-conditions> and
//! <https://developer.hashicorp.com/terraform/language/checks>): a condition whose value is
//! not known yet is decided later (at apply), a false one fails with its `error_message`, a
//! null or non-bool one is an error of its own. A failed precondition or postcondition is an
//! error; a failed check assertion only a warning, because checks never block.

use std::fmt::Display;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::{Check, Condition, Config};
use trustform_lang::{Scope, Value};

/// Which kind of condition is evaluated: it decides the diagnostic's code, summary and
/// severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConditionKind {
    Precondition,
    Postcondition,
    OutputPrecondition,
    Assertion,
}

impl ConditionKind {
    fn failed(self, detail: String) -> Diagnostic {
        match self {
            ConditionKind::Precondition => Diagnostic::error("TF0720", "Resource precondition failed", detail),
            ConditionKind::Postcondition => Diagnostic::error("TF0721", "Resource postcondition failed", detail),
            ConditionKind::OutputPrecondition => {
                Diagnostic::error("TF0830", "Module output value precondition failed", detail)
            }
            ConditionKind::Assertion => Diagnostic::warning("TF0725", "Check block assertion failed", detail),
        }
    }

    fn invalid(self, detail: &str) -> Diagnostic {
        let (code, summary) = ("TF0723", "Invalid condition result");
        match self {
            ConditionKind::Assertion => Diagnostic::warning(code, summary, detail),
            _ => Diagnostic::error(code, summary, detail),
        }
    }
}

/// What evaluating some conditions found.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Failures and invalid conditions (errors, or warnings for check assertions).
    pub diagnostics: Diagnostics,
    /// True when some condition's value is not known yet: it is checked again at apply.
    pub deferred: bool,
}

/// Evaluates `conditions` in `scope`, with `self` bound to `self_value` when given (a
/// postcondition). `subject` names what is checked, for the detail ("aws_iam_role.x",
/// "output \"url\"", "check \"health\"").
pub(crate) fn evaluate(
    config: &Config,
    scope: &Scope,
    conditions: &[Condition],
    self_value: Option<&Value>,
    kind: ConditionKind,
    subject: &dyn Display,
) -> Verdict {
    let mut verdict = Verdict::default();
    let eval = |expr| match self_value {
        Some(value) => scope.eval_with(expr, "self", value.clone()),
        None => scope.eval(expr),
    };
    for condition in conditions {
        let span = config.span(&condition.condition).unwrap_or_else(|| condition.span.clone());
        let result = match eval(&condition.condition) {
            Ok(value) => value,
            Err(error) => {
                // An assertion that cannot even be evaluated does not block either.
                let error = if kind == ConditionKind::Assertion { as_warning(*error) } else { *error };
                verdict.diagnostics.push(error);
                continue;
            }
        };
        if result.contains_unknown() {
            verdict.deferred = true;
            continue;
        }
        let holds = match result.unmarked() {
            Value::Bool(b) => *b,
            Value::String(s) if s == "true" || s == "false" => s == "true",
            Value::Null => {
                verdict.diagnostics.push(
                    kind.invalid("Condition expression must return either true or false, not null. Make the expression give a bool in every case, for example with a default in a conditional or coalesce().")
                        .with_span(span),
                );
                continue;
            }
            other => {
                verdict.diagnostics.push(
                    kind.invalid(&format!("The condition expression must be of type bool, but it gives a {}. Compare the value, for example with == or !=, to get a bool.", other.type_name()))
                        .with_span(span),
                );
                continue;
            }
        };
        if holds {
            continue;
        }
        let message = match eval(&condition.error_message) {
            Ok(message) if message.is_sensitive() => {
                "(the error message is hidden because it refers to sensitive values)".to_owned()
            }
            Ok(message) => message.as_str().map(str::to_owned).unwrap_or_else(|| message.render()),
            Err(error) => format!("(the error message could not be evaluated: {})", error.detail),
        };
        let what = match kind {
            ConditionKind::Precondition => "a precondition",
            ConditionKind::Postcondition => "a postcondition",
            ConditionKind::OutputPrecondition => "a precondition",
            ConditionKind::Assertion => "an assertion",
        };
        verdict.diagnostics.push(
            kind.failed(format!("{message}\n\nThis was checked by {what} of {subject}; change the configuration or the objects it refers to so that the condition holds."))
                .with_span(span),
        );
    }
    verdict
}

/// A problem a check found: never blocking, so a warning whatever it was.
pub(crate) fn as_warning(mut diagnostic: Diagnostic) -> Diagnostic {
    diagnostic.severity = trustform_diag::Severity::Warning;
    diagnostic
}

/// What reading a `check` block's own data source failed on, as warnings naming the check
/// (Terraform: "If a data source inside a check block fails, Terraform reports a warning",
/// <https://developer.hashicorp.com/terraform/language/checks#scoped-data-sources>).
pub(crate) fn check_data_failed(check: &Check, diags: Diagnostics) -> Diagnostics {
    diags
        .into_iter()
        .map(|d| {
            let mut d = as_warning(d);
            d.detail = format!("{}\n\nThis data source belongs to check \"{}\", so the failure does not block the run; its assertions are not evaluated.", d.detail, check.name);
            d
        })
        .collect()
}

/// Evaluates every `check` block's assertions: warnings only, and nothing for an assertion
/// whose value is not known yet (it is evaluated again after the apply).
pub(crate) fn run_checks(config: &Config, scope: &Scope) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for Check { name, asserts, .. } in &config.checks {
        let subject = format!("check \"{name}\"");
        diags.extend(evaluate(config, scope, asserts, None, ConditionKind::Assertion, &subject).diagnostics);
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use trustform_lang::config::load_sources;
    use trustform_lang::{LocalsCache, ResourceId};

    struct Nothing;
    impl trustform_lang::ResourceValues for Nothing {
        fn resource(&self, _: &ResourceId) -> Option<Value> {
            None
        }
    }

    /// Evaluates the preconditions of `trustform_data.t` with `var.v` set to `value`.
    fn verdict(condition: &str, value: Value) -> Verdict {
        let text = format!(
            "variable \"v\" {{}}\nresource \"trustform_data\" \"t\" {{\n  lifecycle {{\n    precondition {{\n      condition     = {condition}\n      error_message = \"Needs ${{var.v}}.\"\n    }}\n  }}\n}}\n"
        );
        let (config, diags) = load_sources([("main.tf".to_owned(), text)]);
        assert!(diags.is_empty(), "{diags:?}");
        let variables = BTreeMap::from([("v".to_owned(), value)]);
        let locals = LocalsCache::default();
        let scope = Scope::new(&config, &variables, &Nothing, &locals);
        let conditions = &config.resources.values().next().unwrap().conditions.preconditions;
        evaluate(&config, &scope, conditions, None, ConditionKind::Precondition, &"trustform_data.t")
    }

    fn found(verdict: &Verdict) -> Vec<(&'static str, String)> {
        verdict.diagnostics.iter().map(|d| (d.code, d.summary.clone())).collect()
    }

    #[test]
    fn true_passes_false_fails_with_its_message_and_unknown_is_deferred() {
        assert!(found(&verdict("var.v == \"a\"", Value::from("a"))).is_empty());
        let failed = verdict("var.v == \"a\"", Value::from("b"));
        assert_eq!(found(&failed), [("TF0720", "Resource precondition failed".to_owned())]);
        let detail = &failed.diagnostics.iter().next().unwrap().detail;
        assert!(detail.starts_with("Needs b.\n\nThis was checked by a precondition of trustform_data.t"), "{detail}");
        let later = verdict("var.v == \"a\"", Value::Unknown);
        assert!(later.deferred && later.diagnostics.is_empty());
    }

    #[test]
    fn null_and_non_bool_results_are_invalid_and_a_sensitive_message_is_hidden() {
        assert_eq!(found(&verdict("var.v", Value::Null)), [("TF0723", "Invalid condition result".to_owned())]);
        assert_eq!(found(&verdict("var.v", Value::from(3))), [("TF0723", "Invalid condition result".to_owned())]);
        let secret = verdict("var.v == \"a\"", Value::from("hunter2").sensitive());
        let detail = &secret.diagnostics.iter().next().unwrap().detail;
        assert!(!detail.contains("hunter2") && detail.contains("hidden"), "{detail}");
    }
}
