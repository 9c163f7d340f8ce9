//! `init`, `validate`, `lint` and `fmt`.

use super::Ctx;
use crate::args::{FmtArgs, InitArgs, ValidateArgs};
use crate::context::backends;
use crate::context::encryption::EncryptionSettings;
use crate::context::Project;
use crate::project::{fail, report, CmdResult, Failed};
use crate::render::to_json;
use trustform_diag::Diagnostics;
use trustform_engine::{Engine, EngineOptions};

pub async fn init(ctx: &Ctx, args: InitArgs) -> CmdResult {
    let mut project = Project::without_command_line(ctx)?;
    // The spec's warnings are shown; unset variables are the later commands' concern.
    let warnings: Diagnostics = project.take_pending().into_iter().filter(|d| !d.is_error()).collect();
    ctx.report(&warnings, &project.config.all_sources())?;
    let config = &project.config;
    let spec = backends::configured(Some(config), ctx.err)?;
    let providers = crate::project::providers(ctx.sandboxed());
    let mut used: Vec<&str> =
        config.modules().into_iter().flat_map(|(_, m)| m.resources.values()).map(|r| r.provider_name()).collect();
    used.sort_unstable();
    used.dedup();
    for name in &used {
        if providers.get(name).is_none() {
            return Err(fail(
                "TF0501",
                "Provider not available",
                format!("The spec uses the \"{name}\" provider, which this build does not include."),
                ctx.err,
            ));
        }
    }
    if let Some(previous) = backends::needs_migration(&ctx.dir, &spec) {
        if !args.migrate_state {
            return Err(fail(
                "TF1070",
                "Backend changed",
                format!("The state is in {previous}, but the spec now configures {spec}. Run `trustform init --migrate-state` to copy every workspace's state there, keeping its lineage and serial (the old copy is left in place), or restore the previous backend block."),
                ctx.err,
            ));
        }
        super::migrate::migrate(ctx, &previous, &spec, project.encryption(ctx)?.state).await?;
    }
    backends::record(&ctx.dir, &spec).map_err(|e| {
        fail(
            "TF1078",
            "Cannot record the backend",
            format!("Writing {} failed: {e}. Check that the directory is writable.", backends::BACKEND_RECORD),
            ctx.err,
        )
    })?;
    // init reads no state, so it needs no keys: the encryption block is checked where it is used.
    let store = project.backend(ctx, None, EncryptionSettings::plaintext().state).await?;
    outln!("Providers: {}", if used.is_empty() { "none".to_owned() } else { used.join(", ") });
    outln!("State: {}", trustform_state::StateStore::describe(&store));
    outln!("\nTrustform has been successfully initialized!");
    Ok(0)
}

/// `validate`: the spec's structure, types and schemas, and the cross-cloud checks that need no
/// cloud. Variables are not read: those without a default are unknown.
pub async fn validate(ctx: &Ctx, args: ValidateArgs) -> CmdResult {
    check(ctx, &args, &[], "Success! The configuration is valid.").await
}

/// `lint`: what `validate` checks, with the variables of `--var`, `--var-file` and the
/// environment, so the cross-cloud checks see their values. No cloud call, no state.
pub async fn lint(ctx: &Ctx, args: ValidateArgs) -> CmdResult {
    check(ctx, &args, &ctx.vars, "Success! No problems found.").await
}

async fn check(ctx: &Ctx, args: &ValidateArgs, vars: &[trustform_lang::CliVar], success: &str) -> CmdResult {
    let (mut project, loaded) = Project::for_checks(ctx, vars);
    // Variables files join the sources as they are read, so their problems show a snippet.
    let sources = project.config.all_sources();
    let mut diags = project.take_pending();
    if loaded {
        let Project { config, mut variables, .. } = project;
        // Variables without values are unknown here: the checks judge the spec, not the inputs.
        for name in config.variables.keys() {
            variables.entry(name.clone()).or_insert(trustform_lang::Value::Unknown);
        }
        diags = diags.into_iter().filter(|d| d.code != "TF0300").collect();
        // A passphrase is an input too: one that is not given yet is not the spec's problem.
        let env = std::env::var(trustform_state::encryption::PASSPHRASE_ENV).ok().map(zeroize::Zeroizing::new);
        let (_, encryption_diags) =
            crate::context::encryption::interpret(&config, &variables, env.as_deref().map(String::as_str));
        diags.extend(encryption_diags.into_iter().filter(|d| d.code != "TF0127"));
        let (engine, more) = Engine::new(
            config,
            variables,
            crate::project::providers(ctx.sandboxed()),
            crate::project::with_checks(EngineOptions::default(), false),
        );
        diags.extend(more);
        if let Some(engine) = engine {
            diags.extend(engine.lint().await);
        }
    }
    if args.json {
        out_raw!("{}\n", crate::escape::json(&to_json(&diags).to_string()));
        return Ok(if diags.has_errors() { 1 } else { 0 });
    }
    ctx.report(&diags, &sources)?;
    outln!("{success}");
    Ok(0)
}

pub fn fmt(ctx: &Ctx, args: FmtArgs) -> CmdResult {
    let files = if args.files.is_empty() {
        let mut files: Vec<_> = std::fs::read_dir(&ctx.dir)
            .map_err(|e| {
                fail(
                    "TF0001",
                    "Cannot read the configuration directory",
                    format!("{}: {e}.", ctx.dir.display()),
                    ctx.err,
                )
            })?
            .flatten()
            .map(|e| crate::project::in_dir(&ctx.dir, e.file_name()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("tf" | "hcl" | "tfvars")))
            .collect();
        files.sort();
        files
    } else {
        args.files.clone()
    };
    let mut changed = 0;
    let mut diags = Diagnostics::new();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| {
            fail("TF0001", "Cannot read a configuration file", format!("{}: {e}.", path.display()), ctx.err)
        })?;
        match trustform_lang::format::format_source(&text) {
            Ok(formatted) if formatted != text => {
                changed += 1;
                outln!("{}", path.display());
                if !args.check {
                    std::fs::write(path, formatted).map_err(|e| {
                        fail(
                            "TF0002",
                            "Cannot write a configuration file",
                            format!("{}: {e}.", path.display()),
                            ctx.err,
                        )
                    })?;
                }
            }
            Ok(_) => {}
            Err(e) => diags.push(trustform_diag::Diagnostic::error(
                "TF0100",
                "Invalid HCL syntax",
                format!("{}: {e}. Fix the syntax, then run fmt again.", path.display()),
            )),
        }
    }
    report(&diags, &Default::default(), ctx.err)?;
    if args.check && changed > 0 {
        return Err(Failed(3));
    }
    Ok(0)
}
