//! `apply`, `destroy` and `refresh`: plan (or load a saved plan), confirm, apply, persist, and
//! write the outputs file.

use super::plan::{engine_options, mode_of, plan_options};
use super::Ctx;
use crate::args::{ApplyArgs, RefreshArgs};
use crate::context::backends::Backend;
use crate::context::outputs::EnvFile;
use crate::context::Project;
use crate::outputs::{print_outputs, write_env_file};
use crate::project::{fail, in_dir, read_state, CmdResult, Failed, Lock};
use crate::ui::confirm;
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use trustform_engine::Engine;
use trustform_plan::{render_human, render_json, state_digest, Plan, PlanMode, SavedPlan};
use trustform_state::{write_file_atomically, State, StateError, StateStore, StateUpdate};

/// Where an apply saves the state its backend refused, in the spec's directory.
pub const ERRORED_STATE: &str = "errored.tfstate";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Apply,
    Destroy,
    Refresh,
}

pub async fn refresh(ctx: &Ctx, args: RefreshArgs) -> CmdResult {
    let apply = ApplyArgs { plan_file: None, flags: args.flags, auto_approve: true, env_file: None, json: false };
    run(ctx, apply, Kind::Refresh).await
}

pub async fn run(ctx: &Ctx, args: ApplyArgs, kind: Kind) -> CmdResult {
    if let Some(file) = &args.plan_file {
        return apply_saved(ctx, &args, file).await;
    }
    let project = Project::load(ctx)?;
    let mode = match kind {
        Kind::Apply => mode_of(&args.flags),
        Kind::Destroy => PlanMode::Destroy,
        Kind::Refresh => PlanMode::RefreshOnly,
    };
    let options = plan_options(&args.flags, mode, ctx)?;
    let encryption = project.encryption(ctx)?;
    let store = project.backend(ctx, args.flags.state.as_deref(), encryption.state).await?;
    let env = project.env_file(ctx, args.env_file.as_deref())?;
    let (engine, sources) = project.engine(ctx, engine_options(&args.flags, ctx))?;

    let operation = match kind {
        Kind::Apply => "apply",
        Kind::Destroy => "destroy",
        Kind::Refresh => "refresh",
    };
    let lock = Lock::acquire(&store, operation, ctx).await?;
    let result = async {
        let state = read_state(&store, ctx.err).await?;
        let (plan, diags) = engine.plan(&state, &options).await;
        ctx.report(&diags, &sources)?;
        let plan = plan.ok_or(Failed(1))?;
        if kind != Kind::Refresh {
            env.check_plan(ctx, engine.config(), &plan)?;
            if args.json {
                out_raw!("{}\n", crate::escape::json(&render_json(&plan).to_string()));
            } else {
                out!("{}", render_human(&plan, ctx.out));
            }
        }
        let trivial = !plan.has_changes() && kind != Kind::Refresh;
        if trivial && plan.gone_objects().next().is_none() {
            // As Terraform ends an apply that had nothing to do: the summary, and the outputs.
            if kind == Kind::Destroy {
                outln!("\nDestroy complete! Resources: 0 destroyed.");
            } else {
                outln!("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
                print_outputs(&state, ctx.out);
            }
            write_outputs_file(ctx, &engine, &state, &env, kind, true)?;
            return Ok(0);
        }
        // A plan whose only effect is to forget objects refresh found gone is applied without a
        // question, as Terraform applies an empty plan: the state then matches the cloud.
        if !args.auto_approve && !trivial && kind != Kind::Refresh {
            let (question, detail) = match kind {
                Kind::Destroy => (
                    "Do you really want to destroy all resources?",
                    "Trustform will destroy all your managed infrastructure, as shown above. There is no undo.",
                ),
                _ => ("Do you want to perform these actions?", "Trustform will perform the actions described above."),
            };
            match confirm(ctx, question, detail) {
                Ok(true) => {}
                Ok(false) => {
                    errln!("\n{} cancelled.", if kind == Kind::Destroy { "Destroy" } else { "Apply" });
                    return Err(Failed(1));
                }
                Err(why) => return Err(fail("TF1032", "Approval required", why, ctx.err)),
            }
        }
        execute(ctx, &engine, &sources, &plan, state, &store, &env, kind).await
    }
    .await;
    lock.release(ctx.err).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    ctx: &Ctx,
    engine: &Engine,
    sources: &trustform_diag::SourceMap,
    plan: &Plan,
    state: State,
    store: &Backend,
    env: &EnvFile,
    kind: Kind,
) -> CmdResult {
    let tracked = Tracked { store, last_write_failed: AtomicBool::new(false) };
    let outcome = engine.apply(plan, state, &tracked).await;
    let failed = ctx.report(&outcome.diagnostics, sources);
    if tracked.last_write_failed.load(Ordering::SeqCst) {
        save_errored_state(ctx, &outcome.state, store);
    }
    let summary = plan.summary();
    match (kind, &failed) {
        (Kind::Refresh, Ok(())) => outln!("\nRefresh complete! State now matches {} object(s).", outcome.state.resources.len()),
        (Kind::Destroy, Ok(())) => outln!("\nDestroy complete! Resources: {} destroyed.", summary.destroy),
        (Kind::Apply, Ok(())) => {
            // Terraform 1.5+ names imports first when there are any (internal/command/views/hook_ui.go).
            let imported = if summary.import > 0 { format!("{} imported, ", summary.import) } else { String::new() };
            outln!("\nApply complete! Resources: {imported}{} added, {} changed, {} destroyed.", summary.add, summary.change, summary.destroy)
        }
        (_, Err(_)) => errln!("\nThe apply stopped with errors; state holds every change that was made. Fix the errors above and run it again."),
    }
    if kind != Kind::Destroy {
        print_outputs(&outcome.state, ctx.out);
    }
    write_outputs_file(ctx, engine, &outcome.state, env, kind, failed.is_ok())?;
    failed.map(|()| 0)
}

/// The backend as an apply writes to it, remembering whether its last write failed: the state
/// the apply reached then exists only in memory.
struct Tracked<'a> {
    store: &'a Backend,
    last_write_failed: AtomicBool,
}

#[async_trait]
impl StateStore for Tracked<'_> {
    async fn read(&self) -> Result<Option<State>, StateError> {
        self.store.read().await
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        let result = self.store.write(state).await;
        self.last_write_failed.store(result.is_err(), Ordering::SeqCst);
        result
    }

    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        let result = self.store.persist(update).await;
        self.last_write_failed.store(result.is_err(), Ordering::SeqCst);
        result
    }

    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        let result = self.store.checkpoint(state).await;
        self.last_write_failed.store(result.is_err(), Ordering::SeqCst);
        result
    }

    fn describe(&self) -> String {
        self.store.describe()
    }
}

/// Saves the state an apply reached to `errored.tfstate` beside the spec when the backend
/// refused it, and says how to push it, as Terraform does.
fn save_errored_state(ctx: &Ctx, state: &State, store: &Backend) {
    let path = in_dir(&ctx.dir, ERRORED_STATE);
    let push = if ctx.dir == std::path::Path::new(".") {
        format!("trustform state push {}", path.display())
    } else {
        format!("trustform --chdir {} state push {}", ctx.dir.display(), path.display())
    };
    // Encrypted as the backend would have stored it: a secret never lands in plain text here.
    let bytes = store.encryption().encode(&path.display().to_string(), state);
    match bytes
        .map_err(|e| e.to_string())
        .and_then(|bytes| write_file_atomically(&path, &bytes).map_err(|e| e.to_string()))
    {
        Ok(()) => {
            let _ = fail(
                "TF1015",
                "State saved to a local file",
                format!(
                    "The last write of the state to {} failed, so the state this apply reached (serial {}, lineage {}) was saved to {} (mode 0600) instead; it records every change made in the cloud. When the backend works again, run `{push}`. If another run has written the state since (a force-unlocked lock), review its changes first and push with --force.",
                    store.describe(),
                    state.serial,
                    state.lineage,
                    path.display()
                ),
                ctx.err,
            );
        }
        Err(error) => {
            let _ = fail(
                "TF1016",
                "Failed to save the state locally",
                format!(
                    "The last write of the state to {} failed, and saving it to {} failed too: {error}. The changes made in the cloud are not recorded; bring each created object back under management with `trustform import` once the backend works again.",
                    store.describe(),
                    path.display()
                ),
                ctx.err,
            );
        }
    }
}

/// Writes the env file after an apply or refresh. A destroy never writes it: once it has left
/// nothing, the file would describe objects that no longer exist, so it is removed (Terraform
/// keeps no outputs of a destroyed deployment either); a destroy that stopped with errors, or a
/// targeted one that left resources, leaves it as it was, since some of those objects still
/// exist, and says so.
fn write_outputs_file(
    ctx: &Ctx,
    engine: &Engine,
    state: &State,
    env: &EnvFile,
    kind: Kind,
    succeeded: bool,
) -> CmdResult<()> {
    let Some(path) = &env.path else { return Ok(()) };
    if kind == Kind::Destroy {
        let shown = ctx.shown(path);
        let why_kept = if !succeeded {
            Some("the destroy did not finish, and some of its objects still exist")
        } else if !state.resources.is_empty() {
            Some("the state still manages resources; `trustform apply` rewrites it")
        } else {
            None
        };
        match (std::fs::symlink_metadata(path), why_kept) {
            (Err(_), _) => {}
            (Ok(_), Some(why)) => errln!("Left {} as it was: {why}.", shown.display()),
            (Ok(_), None) => match std::fs::remove_file(path) {
                Ok(()) => errln!("Removed {}: the destroyed deployment has no outputs.", shown.display()),
                Err(e) => {
                    return Err(fail(
                        "TF1042",
                        "Cannot remove the outputs file",
                        format!(
                            "{}: {e}. It holds the outputs of the destroyed deployment; delete it by hand.",
                            shown.display()
                        ),
                        ctx.err,
                    ))
                }
            },
        }
        return Ok(());
    }
    if engine.config().outputs.is_empty() && state.outputs.is_empty() {
        return Ok(());
    }
    write_env_file(ctx, path, state, env.format)
}

async fn apply_saved(ctx: &Ctx, args: &ApplyArgs, file: &std::path::Path) -> CmdResult {
    let bytes = std::fs::read(file)
        .map_err(|e| fail("TF1033", "Cannot read the plan file", format!("{}: {e}.", file.display()), ctx.err))?;
    // The plan's own variables are inside the file, encrypted; its passphrase comes from the
    // environment and tfvars, as for the other commands that start from a file.
    let project = Project::without_command_line(ctx)?;
    let encryption = project.encryption(ctx)?;
    let saved = SavedPlan::decode(&bytes, &encryption.plan)
        .map_err(|e| fail("TF1033", "Cannot read the plan file", format!("{}: {e}.", file.display()), ctx.err))?;
    if project.digest != saved.config_digest {
        return Err(fail(
            "TF1034",
            "Saved plan is stale",
            format!("The configuration in {} changed since the plan in {} was made. Make a new plan with `trustform plan --out FILE`.", ctx.dir.display(), file.display()),
            ctx.err,
        ));
    }
    let store = project.backend(ctx, args.flags.state.as_deref(), encryption.state).await?;
    let env = project.env_file(ctx, args.env_file.as_deref())?;
    let sources = project.config.all_sources();
    // The plan file leaves out the passphrase variables; the encryption block read them above.
    let mut variables = saved.variables.clone();
    for name in crate::context::encryption::passphrase_variables(&project.config) {
        if let Some(value) = project.variables.get(&name) {
            variables.insert(name, value.clone());
        }
    }
    let mut diags = if ctx.sandboxed() {
        crate::sandbox_provider::overridden_settings(&project.config)
    } else {
        trustform_diag::Diagnostics::new()
    };
    let (engine, more) = Engine::new(
        project.config,
        variables,
        crate::project::providers(ctx.sandboxed()),
        engine_options(&args.flags, ctx),
    );
    diags.extend(more);
    ctx.report(&diags, &sources)?;
    let engine = engine.ok_or(Failed(1))?;
    let lock = Lock::acquire(&store, "apply", ctx).await?;
    let result = async {
        let state = read_state(&store, ctx.err).await?;
        // A plan made before any state existed (serial 0) has a throwaway lineage.
        let fresh = saved.plan.state_serial == 0;
        if state.serial != saved.plan.state_serial || (!fresh && state.lineage != saved.plan.state_lineage) {
            return Err(fail(
                "TF1035",
                "Saved plan is stale",
                format!(
                    "The plan was made against state serial {} (lineage {}), but the state is now at serial {} (lineage {}): something changed it since. Make a new plan.",
                    saved.plan.state_serial, saved.plan.state_lineage, state.serial, state.lineage
                ),
                ctx.err,
            ));
        }
        if state_digest(&state) != saved.state_digest {
            return Err(fail(
                "TF1035",
                "Saved plan is stale",
                format!(
                    "The plan in {} was made against different state contents than the state at serial {} holds now. Make a new plan.",
                    file.display(),
                    state.serial
                ),
                ctx.err,
            ));
        }
        // Every prior value comes from the state just read (or the cloud), never from the file.
        let plan = match engine.verify_saved_plan(&saved.plan, &state).await {
            Ok(plan) => plan,
            Err(diags) => {
                ctx.report(&diags, &sources)?;
                return Err(Failed(1));
            }
        };
        env.check_plan(ctx, engine.config(), &plan)?;
        let kind = if plan.mode == PlanMode::Destroy { Kind::Destroy } else { Kind::Apply };
        execute(ctx, &engine, &sources, &plan, state, &store, &env, kind).await
    }
    .await;
    lock.release(ctx.err).await;
    result
}
