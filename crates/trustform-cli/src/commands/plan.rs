//! `plan`: refresh, diff and show; optionally save the plan.

use super::Ctx;
use crate::args::{PlanArgs, PlanFlags};
use crate::context::Project;
use crate::project::{fail, read_state, CmdResult, Failed, Lock};
use trustform_engine::{EngineOptions, PlanOptions};
use trustform_lang::ResourceAddr;
use trustform_plan::{render_human, render_json, PlanMode, SavedPlan};

pub async fn run(ctx: &Ctx, args: PlanArgs) -> CmdResult {
    let project = Project::load(ctx)?;
    let mode = if args.destroy { PlanMode::Destroy } else { mode_of(&args.flags) };
    let options = plan_options(&args.flags, mode, ctx)?;
    let encryption = project.encryption(ctx)?;
    if let Some(out) = &args.out {
        check_plan_file_encryption(&encryption, out, ctx)?;
    }
    let store = project.backend(ctx, args.flags.state.as_deref(), encryption.state.clone()).await?;
    let env_file = project.env_file(ctx, None)?;
    let digest = project.digest.clone();
    let mut variables = project.variables.clone();
    let passphrases = crate::context::encryption::passphrase_variables(&project.config);
    variables.retain(|name, _| !passphrases.contains(name));
    let (engine, sources) = project.engine(ctx, engine_options(&args.flags, ctx))?;

    let lock = Lock::acquire(&store, "plan", ctx).await?;
    let state = match read_state(&store, ctx.err).await {
        Ok(state) => state,
        Err(failed) => {
            lock.release(ctx.err).await;
            return Err(failed);
        }
    };
    if let Some(out) = &args.generate_config_out {
        match generate_config(ctx, &engine, &state, out, &sources).await {
            Ok(false) => {}
            generated => {
                lock.release(ctx.err).await;
                return generated.map(|_| 0);
            }
        }
    }
    let (plan, diags) = engine.plan(&state, &options).await;
    lock.release(ctx.err).await;
    // `--json`: the diagnostics in the one shape of `validate --json` and `lint --json`
    // (`render::to_json`), under the plan's "diagnostics", or alone when there is no plan.
    let report = if args.json { Some(crate::render::to_json(&diags)) } else { None };
    match &report {
        Some(report) if plan.is_none() => {
            out_raw!("{}\n", crate::escape::json(&report.to_string()));
            return Err(Failed(1));
        }
        Some(_) => {}
        None => ctx.report(&diags, &sources)?,
    }
    let plan = plan.ok_or(Failed(1))?;
    env_file.check_plan(ctx, engine.config(), &plan)?;

    if let Some(report) = report {
        let mut json = render_json(&plan);
        if let Some(object) = json.as_object_mut() {
            object.insert("diagnostics".to_owned(), report["diagnostics"].clone());
        }
        out_raw!("{}\n", crate::escape::json(&json.to_string()));
    } else {
        out!("{}", render_human(&plan, ctx.out));
    }
    if let Some(out) = &args.out {
        let saved = SavedPlan::new(plan.clone(), variables, digest, &state);
        let bytes = saved.encode(&encryption.plan).map_err(|e| {
            fail("TF1030", "Failed to save the plan", format!("Writing {}: {e}.", out.display()), ctx.err)
        })?;
        // Private and atomic like state: a plan holds every value it will apply.
        if let Err(e) = trustform_state::write_file_atomically(out, &bytes) {
            return Err(fail("TF1030", "Failed to save the plan", format!("Writing {}: {e}.", out.display()), ctx.err));
        }
        if !args.json {
            outln!(
                "\nSaved the plan to {}. To apply exactly this plan, run:\n    trustform apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { 2 } else { 0 })
}

/// `--generate-config-out FILE`: writes the resource blocks of import targets that have none to
/// FILE, which must not exist (as Terraform refuses to touch an existing file). `Ok(true)` when
/// it wrote them: the user reviews the file and plans again, with it loaded like any other;
/// `Ok(false)` when every target has its block, and the plan goes on.
async fn generate_config(
    ctx: &Ctx,
    engine: &trustform_engine::Engine,
    state: &trustform_state::State,
    out: &std::path::Path,
    sources: &trustform_diag::SourceMap,
) -> CmdResult<bool> {
    if out.exists() {
        return Err(fail(
            "TF0155",
            "Target generated file already exists",
            format!("Trustform can only write generated configuration into a new file, and {} exists. Choose a different target location, or move all existing configuration out of the target file, delete it and try again.", out.display()),
            ctx.err,
        ));
    }
    let (text, diags) = engine.generate_import_config(state).await;
    ctx.report(&diags, sources)?;
    let Some(text) = text else { return Ok(false) };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
    if let Err(e) = written {
        return Err(fail(
            "TF0155",
            "Cannot write generated configuration",
            format!("Writing {}: {e}.", out.display()),
            ctx.err,
        ));
    }
    outln!(
        "Wrote the configuration of the import blocks' targets to {}. Review it (sensitive arguments are null there), then run plan again to see the imports.",
        out.display()
    );
    Ok(true)
}

/// A saved plan holds every value the state does, secrets included: when the state is encrypted
/// and the plan file would not be, `enforced` refuses the write and otherwise a warning says so.
fn check_plan_file_encryption(
    encryption: &crate::context::encryption::EncryptionSettings,
    out: &std::path::Path,
    ctx: &Ctx,
) -> CmdResult<()> {
    if encryption.plan.encrypts() || !encryption.state.encrypts() {
        return Ok(());
    }
    let summary = "Saved plan would not be encrypted";
    let detail = format!(
        "The state is encrypted, but {} would hold the same secrets in plaintext because the encryption block has no plan block. Add `plan {{ method = method.aes_gcm.NAME }}` (the state's method will do) to the encryption block.",
        out.display()
    );
    if encryption.state.is_enforced() {
        return Err(fail(
            "TF1037",
            summary,
            format!("{detail} The state's enforced = true refuses plaintext, so nothing was written."),
            ctx.err,
        ));
    }
    crate::project::report(
        &trustform_diag::Diagnostic::warning("TF1037", summary, detail).into(),
        &trustform_diag::SourceMap::new(),
        ctx.err,
    )
}

pub fn mode_of(flags: &PlanFlags) -> PlanMode {
    if flags.refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    }
}

pub fn engine_options(flags: &PlanFlags, ctx: &Ctx) -> EngineOptions {
    EngineOptions {
        parallelism: flags.parallelism,
        hook: ctx.hook.clone(),
        cancel: ctx.cancel.clone(),
        ..EngineOptions::default()
    }
}

pub fn plan_options(flags: &PlanFlags, mode: PlanMode, ctx: &Ctx) -> CmdResult<PlanOptions> {
    let parse = |list: &[String]| -> CmdResult<Vec<ResourceAddr>> {
        list.iter()
            .map(|a| {
                a.parse::<ResourceAddr>()
                    .map_err(|e| fail("TF1031", "Invalid resource address", e.to_string(), ctx.err))
            })
            .collect()
    };
    // `-target=module.gw` or `module.gw["prod"]` selects everything in those module instances
    // (https://developer.hashicorp.com/terraform/cli/commands/plan#target-address).
    let (modules, resources): (Vec<&String>, Vec<&String>) = flags
        .targets
        .iter()
        .partition(|t| matches!(trustform_lang::parse_module_prefix(t), Ok((steps, "")) if !steps.is_empty()));
    let module_targets = modules
        .into_iter()
        .filter_map(|t| trustform_lang::parse_module_prefix(t).ok().map(|(steps, _)| steps))
        .collect();
    let resources: Vec<String> = resources.into_iter().cloned().collect();
    Ok(PlanOptions {
        mode,
        refresh: flags.refresh || mode == PlanMode::RefreshOnly,
        targets: parse(&resources)?,
        module_targets,
        replace: parse(&flags.replace)?,
    })
}
