//! `init`, `validate` and `fmt`.

use super::Ctx;
use crate::args::{FmtArgs, ValidateArgs};
use crate::encryption::EncryptionSettings;
use crate::project::{backend, fail, report, CmdResult, Failed};
use crate::render::to_json;
use trustform_diag::Diagnostics;
use trustform_engine::{Engine, EngineOptions};
use trustform_lang::config::load_dir;

pub async fn init(ctx: &Ctx) -> CmdResult {
    let (config, diags) = load_dir(&ctx.dir);
    report(&diags, &config.sources, ctx.err)?;
    // init reads no state, so it needs no keys: the encryption block is checked where it is used.
    let store = backend(&ctx.dir, Some(&config), None, EncryptionSettings::plaintext().state, ctx.err)?;
    let providers = crate::project::providers();
    let mut used: Vec<&str> = config.resources.values().map(|r| r.provider_name()).collect();
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
    outln!("Providers: {}", if used.is_empty() { "none".to_owned() } else { used.join(", ") });
    outln!("State: {}", trustform_state::StateStore::describe(&store));
    outln!("\nTrustform has been successfully initialized!");
    Ok(0)
}

pub async fn validate(ctx: &Ctx, args: ValidateArgs) -> CmdResult {
    let (config, mut diags) = load_dir(&ctx.dir);
    let sources = config.sources.clone();
    if !diags.has_errors() {
        // Variables without values are unknown here: validate checks the spec, not the inputs.
        let mut config = config;
        let (variables, var_diags) = trustform_lang::resolve_variables(&mut config, &[], std::env::vars());
        let mut variables = variables;
        for name in config.variables.keys() {
            variables.entry(name.clone()).or_insert(trustform_lang::Value::Unknown);
        }
        diags.extend(var_diags.into_iter().filter(|d| d.code != "TF0300"));
        // A passphrase is an input too: one that is not given yet is not the spec's problem.
        let env = std::env::var(trustform_state::encryption::PASSPHRASE_ENV).ok().map(zeroize::Zeroizing::new);
        let (_, encryption_diags) =
            crate::encryption::interpret(&config, &variables, env.as_deref().map(String::as_str));
        diags.extend(encryption_diags.into_iter().filter(|d| d.code != "TF0127"));
        let (engine, more) = Engine::new(config, variables, crate::project::providers(), EngineOptions::default());
        diags.extend(more);
        if let Some(engine) = engine {
            diags.extend(engine.validate());
        }
    }
    if args.json {
        outln!("{}", to_json(&diags));
        return Ok(if diags.has_errors() { 1 } else { 0 });
    }
    report(&diags, &sources, ctx.err)?;
    outln!("Success! The configuration is valid.");
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
