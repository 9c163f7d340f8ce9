//! The env file an apply writes: where (`--env-file`, the spec's `trustform { outputs { ... } }`),
//! in which format, and whether the plan's outputs can be written to it at all, decided before
//! anything changes.

use super::Ctx;
use crate::project::{fail, in_dir, report, CmdResult, DEFAULT_ENV_FILE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::Config;
use trustform_lang::{eval_constant, Value};
use trustform_outputs::EnvFormat;
use trustform_plan::{Plan, PlanMode};

/// Where the outputs go after an apply, and how they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    /// `None` when no file is written (`--env-file ''`, or `env_file = ""` in the spec).
    pub path: Option<PathBuf>,
    pub format: EnvFormat,
}

impl EnvFile {
    /// `--env-file`, else the spec's `trustform { outputs { env_file, format } }`, else
    /// `deployment_outputs.env`, portable. Under `--sandbox`, the spec's file (or the default)
    /// goes under `.trustform/sandbox/outputs/`, so a sandbox apply never overwrites what a real
    /// apply wrote; `--env-file` is taken as given.
    pub fn settings(ctx: &Ctx, config: &Config, flag: Option<&Path>) -> CmdResult<EnvFile> {
        let spec_file = |name: &str| {
            if ctx.sandboxed() {
                in_dir(&ctx.dir, crate::sandbox_provider::sandboxed_path(Path::new(name)))
            } else {
                in_dir(&ctx.dir, name)
            }
        };
        let mut path = Some(spec_file(DEFAULT_ENV_FILE));
        let mut format = EnvFormat::Portable;
        if let Some(body) = &config.settings.outputs {
            let mut diags = Diagnostics::new();
            for (name, attr) in &body.attributes {
                match (name.as_str(), eval_constant(config, &attr.expr)) {
                    ("env_file", Ok(v)) if v.as_str().is_some() => {
                        let text = v.as_str().unwrap_or_default();
                        path = (!text.is_empty()).then(|| spec_file(text));
                    }
                    ("format", Ok(v)) => match v.as_str().map(str::parse::<EnvFormat>) {
                        Some(Ok(f)) => format = f,
                        Some(Err(e)) => diags.push(
                            Diagnostic::error("TF0122", "Invalid outputs format", e.to_string())
                                .with_span(config.span(&attr.expr)),
                        ),
                        None => diags.push(
                            Diagnostic::error(
                                "TF0122",
                                "Invalid outputs format",
                                "format must be \"portable\" or \"dotenv\".",
                            )
                            .with_span(config.span(&attr.expr)),
                        ),
                    },
                    (_, Err(d)) => diags.push(*d),
                    (other, _) => diags.push(
                        Diagnostic::error(
                            "TF0123",
                            "Unsupported argument",
                            format!("The outputs block takes env_file and format; \"{other}\" is not one of them."),
                        )
                        .with_span(config.span(&attr.expr)),
                    ),
                }
            }
            report(&diags, &config.sources, ctx.err)?;
        }
        if let Some(flag) = flag {
            path = (!flag.as_os_str().is_empty()).then(|| flag.to_owned());
        }
        Ok(EnvFile { path, format })
    }
}

impl EnvFile {
    /// Refuses, before anything changes, a plan whose outputs the env file could not hold: a
    /// name no consumer accepts, or a value (as far as the plan knows it) the format cannot
    /// carry. Without this the apply would change the cloud and only then fail to write the
    /// file. A destroy writes no outputs, so it is never refused.
    ///
    /// A value the plan does not know at all is judged by what the spec's text tells of it: an
    /// output written as a list or map (a `[for ...]`, `tolist(...)`, a `list(...)` variable) is
    /// checked as one of unknown strings, since its JSON will hold quotes whatever its items.
    pub fn check_plan(&self, ctx: &Ctx, config: &Config, plan: &Plan) -> CmdResult<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if plan.mode == PlanMode::Destroy {
            return Ok(());
        }
        let outputs: BTreeMap<String, Value> = plan
            .outputs
            .values()
            .filter_map(|o| {
                let after = o.after.clone()?;
                let after = match (after.unmarked(), config.outputs.get(&o.name)) {
                    (Value::Unknown | Value::Partial(_), Some(output)) => {
                        shaped_unknown(config, output).unwrap_or(after)
                    }
                    _ => after,
                };
                Some((o.name.clone(), after.mark_if(o.sensitive)))
            })
            .collect();
        let errors = trustform_outputs::check_planned(&outputs, self.format);
        if errors.is_empty() {
            return Ok(());
        }
        let detail = errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n");
        Err(fail(
            "TF0820",
            "Outputs cannot be written to the env file",
            format!(
                "After the apply, {} could not hold these outputs, so nothing was changed:\n{detail}\nFix the outputs, or write no file with --env-file ''.",
                ctx.shown(path).display()
            ),
            ctx.err,
        ))
    }
}

/// An unknown value in the shape the output's expression gives it: a list or a map holding one unknown,
/// or `None` when the text does not tell.
fn shaped_unknown(config: &Config, output: &trustform_lang::config::Output) -> Option<Value> {
    use trustform_lang::Kind;
    Some(match trustform_lang::static_kind(config, &output.value.expr)? {
        Kind::Tuple | Kind::List | Kind::Set => Value::List(vec![Value::Unknown]),
        Kind::Object | Kind::Map => Value::Object([("unknown".to_owned(), Value::Unknown)].into_iter().collect()),
    })
}
