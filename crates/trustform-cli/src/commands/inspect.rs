//! Read-only views: `show`, `output`, `render` and `graph`.

use super::Ctx;
use crate::args::{OutputArgs, RenderArgs, ShowArgs};
use crate::context::Project;
use crate::outputs::output_values;
use crate::project::{fail, in_dir, read_state, CmdResult};
use crate::render::render_all;
use trustform_diag::{Diagnostic, Diagnostics, SourceMap};
use trustform_engine::EngineOptions;
use trustform_lang::Value;
use trustform_plan::{render_human, render_json, SavedPlan};
use trustform_state::State;

pub async fn show(ctx: &Ctx, args: ShowArgs) -> CmdResult {
    if let Some(file) = &args.plan_file {
        let bytes = std::fs::read(file)
            .map_err(|e| fail("TF1033", "Cannot read the plan file", format!("{}: {e}.", file.display()), ctx.err))?;
        let saved = SavedPlan::decode(&bytes, &Project::for_state(ctx).encryption(ctx)?.plan)
            .map_err(|e| fail("TF1033", "Cannot read the plan file", format!("{}: {e}.", file.display()), ctx.err))?;
        if args.json {
            out_raw!("{}\n", crate::escape::json(&render_json(&saved.plan).to_string()));
        } else {
            out!("{}", render_human(&saved.plan, ctx.out));
        }
        return Ok(0);
    }
    let state = state_of(ctx, args.state.as_deref()).await?;
    if args.json {
        out_raw!(
            "{}\n",
            crate::escape::json(&serde_json::to_string_pretty(&redacted_state_json(&state)).unwrap_or_default())
        );
        return Ok(0);
    }
    if state.resources.is_empty() {
        outln!("The state is empty.");
    }
    for (addr, resource) in &state.resources {
        outln!("# {addr}:");
        out!("{}", render_resource(&resource.value()));
        outln!();
    }
    let outputs = output_values(&state);
    if !outputs.is_empty() {
        outln!("Outputs:\n");
        for (name, value) in outputs {
            outln!("{name} = {}", value.render());
        }
    }
    Ok(0)
}

/// One resource's attributes, one per line, sensitive ones masked.
/// A resource's attributes as `show` and `state show` print them. Keys and values come from a
/// state file, so whatever a terminal would obey in them is escaped.
pub fn render_resource(value: &Value) -> String {
    let mut out = String::new();
    let attrs = value.as_object().cloned().unwrap_or_default();
    let width = attrs.keys().map(String::len).max().unwrap_or(0);
    for (name, v) in attrs {
        out.push_str(&format!("    {name:width$} = {}\n", v.render()));
    }
    crate::escape::terminal(&out).into_owned()
}

fn redacted_state_json(state: &State) -> serde_json::Value {
    let resources: Vec<serde_json::Value> = state
        .resources
        .iter()
        .map(|(addr, r)| {
            serde_json::json!({
                "address": addr.to_string(),
                "type": r.type_name,
                "provider": r.provider,
                "id": r.id,
                "values": redact(&r.value()),
            })
        })
        .collect();
    let outputs: serde_json::Map<String, serde_json::Value> = output_values(state)
        .into_iter()
        .map(|(name, v)| (name, serde_json::json!({ "sensitive": v.is_sensitive(), "value": redact(&v) })))
        .collect();
    serde_json::json!({ "lineage": state.lineage, "serial": state.serial, "resources": resources, "outputs": outputs })
}

fn redact(value: &Value) -> serde_json::Value {
    match value {
        Value::Sensitive(_) => serde_json::Value::String(trustform_lang::REDACTED.into()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v))).collect()),
        other => other.to_json(),
    }
}

pub async fn output(ctx: &Ctx, args: OutputArgs) -> CmdResult {
    let state = state_of(ctx, args.state.as_deref()).await?;
    let values = output_values(&state);
    if let Some(name) = &args.name {
        let Some(value) = values.get(name) else {
            return Err(fail(
                "TF1050",
                "Output not found",
                format!(
                    "The state has no output named \"{name}\". Run `trustform output` to list them, or apply first."
                ),
                ctx.err,
            ));
        };
        if args.raw {
            match value.unmarked() {
                Value::String(s) => out_raw!("{s}"),
                Value::Number(_) | Value::Bool(_) => out!("{}", value.unmarked().render()),
                _ => {
                    return Err(fail(
                        "TF1051",
                        "Unsupported value for --raw",
                        "--raw prints strings, numbers and bools only; use --json for collections.",
                        ctx.err,
                    ))
                }
            }
        } else if args.json {
            out_raw!("{}\n", crate::escape::json(&value.to_json().to_string()));
        } else {
            outln!("{}", value.render());
        }
        return Ok(0);
    }
    if args.json {
        let json: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .map(|(name, v)| (name.clone(), serde_json::json!({ "sensitive": v.is_sensitive(), "value": v.to_json() })))
            .collect();
        out_raw!("{}\n", crate::escape::json(&serde_json::to_string_pretty(&json).unwrap_or_default()));
        return Ok(0);
    }
    for (name, value) in values {
        outln!("{name} = {}", value.render());
    }
    Ok(0)
}

/// `render TEMPLATE [-o FILE]`: every placeholder filled from the state's outputs, or every
/// one that cannot be reported at its line and column. Sensitive values go to a file only.
pub async fn render(ctx: &Ctx, args: RenderArgs) -> CmdResult {
    let Some(template) = args.template.as_deref().filter(|_| !args.external_secrets) else {
        return external_secrets(ctx, &args).await;
    };
    let path = in_dir(&ctx.dir, template);
    let template = std::fs::read_to_string(&path).map_err(|e| {
        fail("TF0811", "Cannot read the template", format!("{}: {e}. Check the path.", path.display()), ctx.err)
    })?;
    let state = state_of(ctx, args.state.as_deref()).await?;
    let rendered = match trustform_outputs::fill_placeholders(&template, &output_values(&state)) {
        Ok(rendered) => rendered,
        Err(errors) => {
            let mut sources = SourceMap::new();
            let file = sources.add(path.display().to_string(), template.clone());
            let mut diags = Diagnostics::new();
            for error in errors {
                let detail = format!("%%{}%%: {}.", error.name, error.explanation());
                diags.push(
                    Diagnostic::error("TF0810", "Placeholder cannot be filled", detail)
                        .with_span(sources.span(file, error.range.clone())),
                );
            }
            err!("{}", render_all(&diags, &sources, ctx.err));
            return Err(crate::project::Failed(1));
        }
    };
    match &args.out {
        Some(out) => {
            let out = in_dir(&ctx.dir, out);
            trustform_state::write_file_atomically(&out, rendered.text.as_bytes()).map_err(|e| {
                fail("TF0812", "Cannot write the rendered file", format!("{}: {e}.", out.display()), ctx.err)
            })?;
            errln!("Wrote {}", out.display());
        }
        None if !rendered.used_sensitive.is_empty() => {
            return Err(fail(
                "TF0813",
                "Sensitive output in a terminal view",
                format!(
                    "The template uses the sensitive output{} {}, which Trustform never prints. Write the result to a file with -o FILE.",
                    if rendered.used_sensitive.len() == 1 { "" } else { "s" },
                    rendered.used_sensitive.join(", ")
                ),
                ctx.err,
            ));
        }
        None => out_raw!("{}", rendered.text),
    }
    Ok(0)
}

/// `render --external-secrets`: the External Secrets manifests that hand the state's Vault
/// secrets to the cluster, logging in with the state's Kubernetes auth role. They name paths,
/// roles and service accounts, never a secret or a token, so they may go to the terminal.
async fn external_secrets(ctx: &Ctx, args: &RenderArgs) -> CmdResult {
    let state = state_of(ctx, args.state.as_deref()).await?;
    let of_type = |type_name: &str| -> Vec<&serde_json::Value> {
        state.resources.values().filter(|r| r.type_name == type_name).map(|r| &*r.attributes).collect()
    };
    let field = |value: &serde_json::Value, name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let first = |value: &serde_json::Value, name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_array())
            .and_then(|items| items.first())
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let secrets: Vec<(String, String)> = of_type("vault_kv_secret_v2")
        .into_iter()
        .filter_map(|s| Some((field(s, "mount")?, field(s, "name")?)))
        .collect();
    if secrets.is_empty() {
        return Err(fail(
            "TF0814",
            "No Vault secret to hand off",
            "The state holds no vault_kv_secret_v2. Apply a spec that writes its secrets to Vault first.".to_owned(),
            ctx.err,
        ));
    }
    let roles: Vec<&serde_json::Value> = of_type("vault_kubernetes_auth_backend_role")
        .into_iter()
        .filter(|role| args.role.is_none() || field(role, "role_name") == args.role)
        .collect();
    let [role] = roles.as_slice() else {
        let names: Vec<String> = of_type("vault_kubernetes_auth_backend_role")
            .into_iter()
            .filter_map(|role| field(role, "role_name"))
            .collect();
        let detail = if names.is_empty() {
            "The state holds no vault_kubernetes_auth_backend_role (none named so, with --role). Add one that binds External Secrets' service account to a read-only policy, and apply.".to_owned()
        } else {
            format!("The state holds the Kubernetes auth roles {}; name the one External Secrets logs in with: --role NAME.", names.join(", "))
        };
        return Err(fail("TF0815", "No single Kubernetes auth role", detail, ctx.err));
    };
    let server = args.vault_server.clone().or_else(|| std::env::var("VAULT_ADDR").ok()).ok_or_else(|| {
        fail(
            "TF0816",
            "Vault address unknown",
            "Give Vault's address as the cluster reaches it with --vault-server URL (or set VAULT_ADDR).".to_owned(),
            ctx.err,
        )
    })?;
    let (Some(role_name), Some(account), Some(account_namespace)) = (
        field(role, "role_name"),
        first(role, "bound_service_account_names"),
        first(role, "bound_service_account_namespaces"),
    ) else {
        return Err(fail(
            "TF0815",
            "No single Kubernetes auth role",
            "The role binds no service account and namespace by name; bind External Secrets' own.".to_owned(),
            ctx.err,
        ));
    };
    let auth_mount = field(role, "backend").unwrap_or_else(|| "kubernetes".to_owned());
    let mounts: std::collections::BTreeSet<&String> = secrets.iter().map(|(mount, _)| mount).collect();
    let store_name = |mount: &str| trustform_outputs::kubernetes_name(&format!("vault-{mount}"));
    let stores: Vec<trustform_outputs::VaultStore> = mounts
        .into_iter()
        .map(|mount| trustform_outputs::VaultStore {
            name: store_name(mount),
            server: server.clone(),
            vault_namespace: std::env::var("VAULT_NAMESPACE").ok().filter(|ns| !ns.is_empty()),
            mount: mount.clone(),
            auth_mount: auth_mount.clone(),
            role: role_name.clone(),
            service_account: (account.clone(), account_namespace.clone()),
        })
        .collect();
    let synced: Vec<trustform_outputs::SyncedSecret> = secrets
        .iter()
        .map(|(mount, name)| trustform_outputs::SyncedSecret {
            name: trustform_outputs::kubernetes_name(name),
            namespace: args.namespace.clone(),
            store: store_name(mount),
            key: name.clone(),
        })
        .collect();
    let text = trustform_outputs::external_secrets_manifests(&stores, &synced);
    match &args.out {
        Some(out) => {
            let out = in_dir(&ctx.dir, out);
            trustform_state::write_file_atomically(&out, text.as_bytes()).map_err(|e| {
                fail("TF0812", "Cannot write the rendered file", format!("{}: {e}.", out.display()), ctx.err)
            })?;
            errln!("Wrote {}", out.display());
        }
        None => out_raw!("{}", text),
    }
    Ok(0)
}

pub async fn graph(ctx: &Ctx) -> CmdResult {
    let project = Project::load(ctx)?;
    let (engine, _) = project.engine(ctx, EngineOptions::default())?;
    out!("{}", engine.graph().to_dot());
    Ok(0)
}

pub async fn state_of(ctx: &Ctx, state_flag: Option<&std::path::Path>) -> CmdResult<State> {
    let project = Project::for_state(ctx);
    let store = project.backend(ctx, state_flag, project.encryption(ctx)?.state).await?;
    read_state(&store, ctx.err).await
}

pub async fn import(ctx: &Ctx, args: crate::args::ImportArgs) -> CmdResult {
    let addr: trustform_lang::ResourceAddr = args.address.parse().map_err(|e: trustform_lang::AddrParseError| {
        fail("TF1031", "Invalid resource address", e.to_string(), ctx.err)
    })?;
    let project = Project::load(ctx)?;
    let encryption = project.encryption(ctx)?;
    let store = project.backend(ctx, args.state.as_deref(), encryption.state).await?;
    let options = EngineOptions { hook: ctx.hook.clone(), cancel: ctx.cancel.clone(), ..EngineOptions::default() };
    let (engine, sources) = project.engine(ctx, options)?;
    let lock = crate::project::Lock::acquire(&store, "import", ctx).await?;
    let result = async {
        let state = read_state(&store, ctx.err).await?;
        let (_, diags) = engine.import(&addr, &args.id, state, &store).await;
        ctx.report(&diags, &sources)?;
        outln!("{addr}: Import prepared and recorded in state.\n\nImport successful! The resource is now managed by Trustform; run `trustform plan` to compare it with the spec.");
        Ok(0)
    }
    .await;
    lock.release(ctx.err).await;
    result
}
