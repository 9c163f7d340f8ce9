//! Applying a plan: walk the changes in dependency order, call the providers, and persist
//! state after every resource, so a kill at any moment loses nothing.

use crate::conditions::{check_data_failed, evaluate as evaluate_conditions, run_checks, ConditionKind};
use crate::engine::Engine;
use crate::hook::Event;
use crate::modules::ModuleEval;
use crate::plan::{interrupted, missing_provider};
use crate::values::Values;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Instant;
use tokio::sync::Mutex;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_graph::{walk_releasing, Dag, NodeId, Outcome, Slot, WalkOptions};
use trustform_lang::config::{Repetition, Resource};
use trustform_lang::{Instance, InstanceKey, LocalsCache, ResourceAddr, Scope, Value};
use trustform_plan::{merge_planned, Action, Change, ChangeValues, Plan, PlanMode, ReplaceOrder};
use trustform_provider::Checkpoint;
use trustform_schema::values_equal;
use trustform_state::{OutputState, ResourceState, ResourceStatus, State, StateChange, StateStore, StateUpdate};

/// The top-level attributes a provider's plan filled in, with what it put there: known, or
/// partially known (an ARN whose name IAM generates), in what it returned, and unset in the
/// configuration it was given.
fn derived_attributes(block: &trustform_schema::Block, given: &Value, planned: &Value) -> Vec<(String, Value)> {
    planned
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, value)| {
            block.attributes.contains_key(*name)
                && !value.is_null()
                && (!value.contains_unknown() || value.as_partial().is_some())
                && given.get(name).is_none_or(Value::is_null)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A derived value as messages show it: its shape when only partly known.
fn shown(value: &Value) -> String {
    match value.as_partial() {
        Some(shape) if !value.is_sensitive() => format!("{:?}", shape.to_template()),
        _ => value.render(),
    }
}

/// What an apply reached. The state is returned even when the apply failed: it holds every
/// resource whose create returned.
pub struct ApplyOutcome {
    pub state: State,
    pub diagnostics: Diagnostics,
}

/// The state being built, and where it is persisted after every change.
///
/// The state is kept in memory and changed in place; what reaches the store is each group of
/// changes ([`StateChange`]) as one [`StateUpdate`], so persisting a resource costs the same
/// whatever the size of the state (with a journaling store), and the whole state is cloned only
/// when the store asks for it.
///
/// Write-behind with group commit: a visit stages its change in memory and waits for an update
/// that includes it to be durable; one writer ([`Persister::write_behind`], run beside the
/// apply) hands the store everything staged while its previous update was being written. So
/// the disk works while the walk goes on with the resources that do not wait for it, a wide
/// graph does not queue one sync per resource, and still no visit returns (and no dependent
/// starts) before its change is on disk.
struct Persister<'a> {
    staged: std::sync::Mutex<Staged>,
    /// Wakes the writer: a change was staged, or the apply is over.
    wake_writer: tokio::sync::Notify,
    /// Whether the apply is over, so that the writer returns once nothing is left to write.
    closed: std::sync::atomic::AtomicBool,
    /// Held by whoever is handing the store an update or the closing checkpoint, so that they
    /// take turns.
    store_turn: Mutex<()>,
    /// Whether an update failed: the store then does not hold the state in memory, and the
    /// closing checkpoint must not pretend it does.
    failed: std::sync::atomic::AtomicBool,
    store: &'a dyn StateStore,
}

struct Staged {
    state: State,
    /// The changes the store does not hold yet, in order.
    pending: Vec<StateChange>,
    /// Those waiting for the pending changes to be durable.
    waiting: Vec<tokio::sync::oneshot::Sender<Result<(), Diagnostic>>>,
    /// The addresses whose record an earlier run left `creating` or tainted.
    unsettled: std::collections::BTreeSet<ResourceAddr>,
}

impl<'a> Persister<'a> {
    fn new(state: State, store: &'a dyn StateStore) -> Self {
        Persister {
            staged: std::sync::Mutex::new(Staged {
                state,
                pending: Vec::new(),
                waiting: Vec::new(),
                unsettled: std::collections::BTreeSet::new(),
            }),
            wake_writer: tokio::sync::Notify::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
            store_turn: Mutex::new(()),
            failed: std::sync::atomic::AtomicBool::new(false),
            store,
        }
    }

    fn lock_staged(&self) -> std::sync::MutexGuard<'_, Staged> {
        self.staged.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes note of the records left `creating` or tainted by an earlier run, before the walk:
    /// only their visits need to look at the state they start from.
    fn note_unsettled(&self) {
        let mut staged = self.lock_staged();
        let unsettled = staged
            .state
            .resources
            .iter()
            .filter(|(_, r)| matches!(r.status, ResourceStatus::Creating | ResourceStatus::Tainted))
            .map(|(addr, _)| addr.clone())
            .collect();
        staged.unsettled = unsettled;
    }

    /// The status of `addr`'s record when the walk started, if an earlier run left it
    /// `creating` or tainted (see [`Persister::note_unsettled`]).
    fn unsettled_status(&self, addr: &ResourceAddr) -> Option<ResourceStatus> {
        let staged = self.lock_staged();
        if !staged.unsettled.contains(addr) {
            return None;
        }
        staged.state.resources.get(addr).map(|r| r.status)
    }

    /// Makes the changes `decide` chooses, looking at the state, and returns once an update
    /// including them is durable.
    async fn update(&self, decide: impl FnOnce(&State) -> Vec<StateChange>) -> Result<(), Diagnostic> {
        let durable = self.stage_and_wait(decide);
        Self::durable(durable).await
    }

    /// [`Persister::update`] for a visit's last change: the visit gives up its parallelism slot
    /// once the change is staged, since only the disk is left to wait for, and still returns
    /// (letting its dependents start) only once the change is durable.
    async fn finish(&self, slot: &Slot, decide: impl FnOnce(&State) -> Vec<StateChange>) -> Result<(), Diagnostic> {
        let durable = self.stage_and_wait(decide);
        slot.release();
        Self::durable(durable).await
    }

    /// Makes the changes in memory only; the writer makes them durable.
    fn stage(&self, decide: impl FnOnce(&State) -> Vec<StateChange>) {
        let mut guard = self.lock_staged();
        Self::make(&mut guard, decide);
        drop(guard);
        self.wake_writer.notify_one();
    }

    /// Stages the changes, and says when an update including them is durable.
    fn stage_and_wait(
        &self,
        decide: impl FnOnce(&State) -> Vec<StateChange>,
    ) -> tokio::sync::oneshot::Receiver<Result<(), Diagnostic>> {
        let (durable, receiver) = tokio::sync::oneshot::channel();
        let mut guard = self.lock_staged();
        Self::make(&mut guard, decide);
        guard.waiting.push(durable);
        drop(guard);
        self.wake_writer.notify_one();
        receiver
    }

    fn make(staged: &mut Staged, decide: impl FnOnce(&State) -> Vec<StateChange>) {
        let changes = decide(&staged.state);
        for change in &changes {
            change.apply(&mut staged.state);
        }
        staged.pending.extend(changes);
    }

    async fn durable(receiver: tokio::sync::oneshot::Receiver<Result<(), Diagnostic>>) -> Result<(), Diagnostic> {
        // The writer answers every waiter it takes; it is dropped unanswered only if the apply
        // itself is, and then nobody is left to read this.
        match receiver.await {
            Ok(outcome) => outcome,
            Err(_) => Err(interrupted()),
        }
    }

    /// Makes every change staged so far durable.
    async fn flush(&self) -> Result<(), Diagnostic> {
        let durable = {
            let mut staged = self.lock_staged();
            if staged.pending.is_empty() {
                return Ok(());
            }
            let (durable, receiver) = tokio::sync::oneshot::channel();
            staged.waiting.push(durable);
            receiver
        };
        self.wake_writer.notify_one();
        Self::durable(durable).await
    }

    /// Runs `apply` with the writer beside it; the writer returns once `apply` has and every
    /// change it staged has been handed to the store.
    async fn with_writer<T>(&self, apply: impl std::future::Future<Output = T>) -> T {
        let apply = async {
            let outcome = apply.await;
            self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
            self.wake_writer.notify_one();
            outcome
        };
        // Biased: whenever the task runs, the apply goes first, so that the writer finds
        // everything the visits woken together have staged.
        tokio::join!(biased; apply, self.write_behind()).0
    }

    /// The writer: hands the store, as one update, everything staged since its last one, and
    /// tells the visits that wait for it. After a failed update it waits for another change
    /// (or a flush) before trying again, with what failed and what came since.
    async fn write_behind(&self) {
        let mut failed_last = false;
        loop {
            // Visits woken at the same moment as the last one stage their changes before this
            // update takes the batch, instead of waiting a whole write for the next one.
            tokio::task::yield_now().await;
            let batch = {
                let mut guard = self.lock_staged();
                let ready = !guard.pending.is_empty() && (!failed_last || !guard.waiting.is_empty());
                ready.then(|| {
                    guard.state.serial = guard.state.serial.saturating_add(1);
                    (
                        guard.state.lineage.clone(),
                        guard.state.serial,
                        std::mem::take(&mut guard.pending),
                        std::mem::take(&mut guard.waiting),
                    )
                })
            };
            let Some((lineage, serial, changes, waiting)) = batch else {
                if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                self.wake_writer.notified().await;
                continue;
            };
            let outcome = self.persist(&lineage, serial, changes).await;
            failed_last = outcome.is_err();
            for waiter in waiting {
                // A waiter that is gone (its visit cancelled) needs no answer.
                let _ = waiter.send(outcome.clone());
            }
        }
    }

    async fn persist(&self, lineage: &str, serial: u64, changes: Vec<StateChange>) -> Result<(), Diagnostic> {
        let _turn = self.store_turn.lock().await;
        tracing::trace!(serial, changes = changes.len(), "persisting state");
        let whole = || self.lock_staged().state.clone();
        let update = StateUpdate { lineage, serial, changes: changes.into(), whole: &whole };
        if let Err(e) = self.store.persist(&update).await {
            self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
            // Kept for the next update, so that the store still gets every change in order.
            let mut guard = self.lock_staged();
            let later = std::mem::replace(&mut guard.pending, update.changes.to_vec());
            guard.pending.extend(later);
            return Err(persist_failed(self.store, &e));
        }
        Ok(())
    }

    /// Folds the run's updates into the store's primary copy, when every one of them succeeded.
    async fn checkpoint(&self) -> Result<(), Diagnostic> {
        let _turn = self.store_turn.lock().await;
        if self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        // Every visit has returned, so nothing stages while the state is lent to the store; it
        // is lent rather than cloned, as the state may be large.
        let state = std::mem::take(&mut self.lock_staged().state);
        let result = self.store.checkpoint(&state).await.map_err(|e| persist_failed(self.store, &e));
        self.lock_staged().state = state;
        result
    }

    fn into_state(self) -> State {
        self.staged.into_inner().unwrap_or_else(|e| e.into_inner()).state
    }
}

fn persist_failed(store: &dyn StateStore, error: &trustform_state::StateError) -> Diagnostic {
    Diagnostic::error(
        "TF1010",
        "Failed to persist state",
        format!("Writing {} failed: {error}. The change was made in the cloud; fix the problem (disk space, permissions) and run apply again, which will find the object.", store.describe()),
    )
}

fn put(addr: &ResourceAddr, resource: ResourceState) -> Vec<StateChange> {
    vec![StateChange::Put { address: addr.clone(), resource }]
}

fn remove(addr: &ResourceAddr) -> Vec<StateChange> {
    vec![StateChange::Remove { address: addr.clone() }]
}

/// Records a resource as tainted the moment its provider says the cloud accepted the create.
/// `record` stages the change and returns at once; [`create_with_checkpoints`] writes it while
/// the provider goes on waiting, so a long operation never blocks on the disk and an interrupted
/// wait never orphans the object.
struct CreateCheckpoint<'a> {
    persister: &'a Persister<'a>,
    address: &'a ResourceAddr,
    provider: &'a str,
    dependencies: &'a [ResourceAddr],
    recorded: tokio::sync::Notify,
}

#[async_trait]
impl Checkpoint for CreateCheckpoint<'_> {
    async fn record(&self, partial: &Value) {
        let Ok(resource) =
            ResourceState::from_value(self.address.type_name(), self.provider, partial, self.dependencies.to_vec())
        else {
            tracing::warn!(address = %self.address, "ignoring a checkpoint without an id");
            return;
        };
        let address = self.address.clone();
        self.persister.stage(|_| put(&address, resource.tainted()));
        self.recorded.notify_one();
    }
}

/// The most state writes one change makes (its `creating` record, checkpoints, the result),
/// with room to spare; what [`Engine::apply`] checks the serial can still count.
const WRITES_PER_CHANGE: u64 = 16;

impl Engine {
    /// Applies `plan` to `state`, persisting through `store` after every resource.
    pub async fn apply(&self, plan: &Plan, state: State, store: &dyn StateStore) -> ApplyOutcome {
        // Every write moves the serial on, and the writes of this apply must all fit: found out
        // on the last write, the cloud would have changed with nothing recorded.
        let writes = WRITES_PER_CHANGE * (plan.changes.len() as u64 + 1);
        if state.serial.checked_add(writes).is_none() {
            let diagnostic = Diagnostic::error(
                "TF1017",
                "State serial exhausted",
                format!(
                    "The state's serial is {}, too close to the largest a state can hold for this apply to record its changes, so nothing was applied. A serial this large was written by hand or by another tool: restore the state from its backup, or `trustform state pull`, set \"serial\" to a small number and a new \"lineage\", and `trustform state push` it.",
                    state.serial
                ),
            );
            return ApplyOutcome { state, diagnostics: diagnostic.into() };
        }
        let mut diags = self.configure_providers(&state).await;
        let persister = Persister::new(state, store);
        if !diags.has_errors() {
            diags = persister.with_writer(self.apply_with_writer(plan, &persister, diags)).await;
        }
        ApplyOutcome { state: persister.into_state(), diagnostics: diags }
    }

    /// [`Engine::apply`] once the providers are configured, with the persister's writer running.
    async fn apply_with_writer(&self, plan: &Plan, persister: &Persister<'_>, mut diags: Diagnostics) -> Diagnostics {
        if !plan.moved.is_empty() {
            // The plan was made with the objects at their new addresses (`moved` blocks): the
            // state records them there before anything else happens.
            let result = persister
                .update(|s| {
                    plan.moved
                        .iter()
                        .filter(|m| !s.resources.contains_key(&m.to))
                        .filter_map(|m| s.resources.get(&m.from).map(|object| (m, object.clone())))
                        .flat_map(|(m, object)| remove(&m.from).into_iter().chain(put(&m.to, object)))
                        .collect()
                })
                .await;
            if let Err(d) = result {
                diags.push(d);
                return diags;
            }
        }
        if !plan.imported.is_empty() {
            // What the plan read for each `import` block becomes the state's record first; its
            // change, if any, is then made like any other.
            let result = persister
                .update(|s| {
                    plan.imported
                        .iter()
                        .filter(|i| !s.resources.contains_key(&i.address))
                        .filter_map(|i| plan.change(&i.address))
                        .filter_map(|c| {
                            let before = c.before()?;
                            let recorded =
                                ResourceState::from_value(c.type_name(), &c.provider, before, Vec::new()).ok()?;
                            Some(put(&c.address, recorded))
                        })
                        .flatten()
                        .collect()
                })
                .await;
            if let Err(d) = result {
                diags.push(d);
                return diags;
            }
            for imported in &plan.imported {
                self.hook.event(Event::Imported { address: imported.address.clone(), id: imported.id.clone() });
            }
        }
        if plan.mode == PlanMode::RefreshOnly {
            let result = persister
                .update(|s| {
                    let mut changes = Vec::new();
                    for change in &plan.changes {
                        match (change.after(), s.resources.get(&change.address)) {
                            (Some(after), Some(resource)) => {
                                if let Ok(updated) = ResourceState::from_value(
                                    &resource.type_name,
                                    &resource.provider,
                                    after,
                                    resource.dependencies.clone(),
                                ) {
                                    changes.extend(put(&change.address, updated));
                                }
                            }
                            (None, _) => changes.extend(remove(&change.address)),
                            _ => {}
                        }
                    }
                    changes
                })
                .await;
            diags.extend(result.err());
            diags.extend(persister.checkpoint().await.err());
            return diags;
        }

        diags.extend(self.forget_gone_objects(plan, persister).await);
        persister.note_unsettled();

        let values = Values::default();
        self.seed_expansions(&values);
        for (addr, resource) in &persister.lock_staged().state.resources {
            values.set(addr, resource.value());
        }
        let locals = LocalsCache::default();
        let modules = ModuleEval::new(self, &values, &locals, true);
        let dag = apply_graph(plan);
        let options = WalkOptions { parallelism: self.parallelism, cancel: self.cancel.clone() };
        let report = walk_releasing(&dag, options, |id, slot| {
            let change = dag.node(id).map(|i| &plan.changes[i]);
            let (values, modules, persister) = (&values, &modules, persister);
            async move {
                match change {
                    Some(change) => self.apply_change(change, values, modules, persister, &slot).await,
                    None => Ok(()),
                }
            }
        })
        .await;

        let mut interrupted_walk = false;
        for (id, outcome) in report.iter() {
            let Some(change) = dag.node(id).map(|i| &plan.changes[i]) else { continue };
            match outcome {
                Outcome::Succeeded => {}
                Outcome::Failed(d) => match self.config.check_of(&change.address.resource) {
                    Some(check) => diags.extend(check_data_failed(check, d.clone())),
                    None => diags.extend(d.clone()),
                },
                Outcome::Skipped { because } => {
                    // A barrier never fails: what skipped this is a change.
                    if let Some(cause) = dag.node(*because).map(|i| &plan.changes[i]) {
                        self.hook
                            .event(Event::Skipped { address: change.address.clone(), because: cause.address.clone() })
                    }
                }
                Outcome::NotStarted => interrupted_walk = true,
            }
        }
        if interrupted_walk {
            self.hook.event(Event::Interrupted);
            diags.push(interrupted());
        }

        if let Err(d) = self.apply_outputs(plan, &modules, persister, &mut diags).await {
            diags.push(d);
        }
        if plan.mode == PlanMode::Normal {
            diags.extend(run_checks(&self.config, &modules.root_scope()));
        }
        // Every value of the run is freed on the blocking pool, beside the closing checkpoint
        // rather than before the apply returns: some milliseconds for thousands of resources.
        drop((modules, report, dag));
        tokio::task::spawn_blocking(move || drop(values));
        diags.extend(persister.checkpoint().await.err());
        diags
    }

    /// Drops the records of objects refresh found gone and the plan does not touch (deleted
    /// outside Trustform, or by an apply killed before it saved the delete), as Terraform's
    /// apply starts from the refreshed state. The plan only names them: each is read again and
    /// forgotten only if the cloud still says it is gone, so an edited plan file cannot make the
    /// state forget an object that exists.
    async fn forget_gone_objects(&self, plan: &Plan, persister: &Persister<'_>) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for addr in plan.gone_objects() {
            let recorded = persister.lock_staged().state.resources.get(addr).cloned();
            let Some(recorded) = recorded else { continue };
            // Back, or unreadable now: the record stays, and the next plan looks again.
            if let Ok(None) = self.observed(addr, &recorded, None).await {
                if let Err(d) = persister.update(|_| remove(addr)).await {
                    diags.push(d);
                }
            }
        }
        diags
    }

    async fn apply_change(
        &self,
        change: &Change,
        values: &Values,
        modules: &ModuleEval<'_>,
        persister: &Persister<'_>,
        slot: &Slot,
    ) -> Result<(), Diagnostics> {
        let addr = &change.address;
        if change.action() == Action::NoOp {
            if let Some(after) = change.after() {
                values.set(addr, after.clone());
                if addr.is_data() {
                    self.record_data(change, after, persister, slot).await?;
                } else {
                    self.adopt_if_creating(change, after, persister, slot).await?;
                }
            }
            return Ok(());
        }
        if change.is_data_removal() || change.action() == Action::Forget {
            // A forgotten object (`removed` with `destroy = false`) leaves the state only; the
            // cloud keeps it.
            values.remove(addr);
            persister.finish(slot, |_| remove(addr)).await?;
            return Ok(());
        }
        let provider = self
            .providers
            .instance(&change.provider)
            .ok_or_else(|| Diagnostics::from(missing_provider(addr, &change.provider)))?;
        let type_name = addr.type_name();
        // Looked up once: every step below reads the block.
        let block = self.block(addr);
        let started = Instant::now();
        tracing::debug!(address = %addr, action = ?change.action(), "applying");
        self.hook.event(Event::ApplyStarted { address: addr.clone(), action: change.action() });
        let fail = |verb: &str, message: String| {
            self.hook.event(Event::ApplyFailed {
                address: addr.clone(),
                action: change.action(),
                message: message.clone(),
            });
            let span = block.map(|r| r.span.clone());
            Diagnostics::from(
                Diagnostic::error("TF1000", format!("Failed to {verb} resource"), format!("{verb} {addr}: {message}"))
                    .with_span(span)
                    .with_address(addr),
            )
        };

        if matches!(change.action(), Action::Read | Action::Create | Action::Update) || change.action().is_replace() {
            // Preconditions not known at plan time are decided now, before the cloud is
            // touched; those known then are evaluated again on the final values.
            self.check_conditions(change, block, modules, None).inspect_err(|d| {
                self.hook.event(Event::ApplyFailed {
                    address: addr.clone(),
                    action: change.action(),
                    message: failed_summary(d),
                });
            })?;
        }
        let result_id = match &change.values {
            ChangeValues::NoOp { .. } | ChangeValues::Gone { .. } | ChangeValues::Forget { .. } => {
                unreachable!("handled above")
            }
            ChangeValues::Read { .. } => {
                let final_config = self.final_config(change, block, modules)?;
                let resource = block.ok_or_else(|| Diagnostics::from(missing_provider(addr, &change.provider)))?;
                let value = std::sync::Arc::new(self.read_data(resource, addr, &final_config).await?);
                values.share(addr, value.clone());
                self.record_data(change, &value, persister, slot).await?;
                self.check_postconditions(change, block, modules, &value)?;
                None
            }
            ChangeValues::Delete { before } => {
                provider.delete(type_name, before).await.map_err(|e| fail("destroy", e.to_string()))?;
                values.remove(addr);
                persister.finish(slot, |_| remove(addr)).await?;
                None
            }
            ChangeValues::Create { .. } | ChangeValues::Update { .. } | ChangeValues::Replace { .. } => {
                let (planned, derived) = self.final_value(change, block, modules)?;
                let dependencies = change.dependencies.clone();
                if let ChangeValues::Replace { before, order: ReplaceOrder::DeleteFirst, .. } = &change.values {
                    provider
                        .delete(type_name, before)
                        .await
                        .map_err(|e| fail("replace", format!("deleting the old object: {e}")))?;
                    persister.update(|_| remove(addr)).await?;
                }
                let new_value = match &change.values {
                    ChangeValues::Update { before, .. } => {
                        provider.update(type_name, before, &planned).await.map_err(|e| fail("update", e.to_string()))?
                    }
                    _ => {
                        // Before the request leaves, the state says a create is under way, so a
                        // run killed before the answer is saved finds the object next time: by
                        // its planned id, or by its natural key (`Provider::find`). Any other
                        // object whose id the cloud chooses could not be looked up, so it gets no
                        // record (and no extra write); creating it again either conflicts, with
                        // the import command in the error, or is idempotent.
                        let replaces_in_place = change.action() == Action::CreateThenDelete;
                        // A record of this address that refresh did not find: an earlier run's
                        // create, or its checkpoint, that the cloud may not show yet.
                        let recorded_before = change.action() == Action::Create
                            && matches!(
                                persister.unsettled_status(addr),
                                Some(ResourceStatus::Creating | ResourceStatus::Tainted)
                            );
                        let findable = planned.get("id").and_then(Value::as_str).is_some_and(|id| !id.is_empty())
                            || provider.findable(type_name);
                        if !replaces_in_place && findable {
                            let intent =
                                ResourceState::creating(type_name, &change.provider, &planned, dependencies.clone());
                            let recorded = persister.update(|_| put(addr, intent)).await;
                            if let Err(d) = recorded {
                                // Not recorded, so not sent: the state this run ends with must
                                // not claim a create that never left.
                                persister.stage(|_| remove(addr));
                                return Err(d.into());
                            }
                        }
                        let checkpoint = CreateCheckpoint {
                            persister,
                            address: addr,
                            provider: &change.provider,
                            dependencies: &dependencies,
                            recorded: tokio::sync::Notify::new(),
                        };
                        let created = provider.create(type_name, &planned, &checkpoint);
                        // A failed create keeps whatever it checkpointed in state, tainted.
                        let created = match create_with_checkpoints(created, &checkpoint).await {
                            Err(e)
                                if recorded_before
                                    && e.kind == trustform_provider::ProviderErrorKind::AlreadyExists =>
                            {
                                crate::plan::look_up_interrupted(provider.as_ref(), type_name, &planned).await.ok_or(e)
                            }
                            other => other,
                        };
                        match created {
                            Ok(value) => value,
                            Err(e) => {
                                if !replaces_in_place && findable && e.is_definite() {
                                    // The cloud refused the create: nothing exists to find. A
                                    // checkpoint, if one came, stays.
                                    persister
                                        .update(|s| match s.resources.get(addr) {
                                            Some(r) if r.status == ResourceStatus::Creating => remove(addr),
                                            _ => Vec::new(),
                                        })
                                        .await?;
                                }
                                let mut message = e.to_string();
                                if e.kind == trustform_provider::ProviderErrorKind::AlreadyExists {
                                    message.push_str(&format!(
                                        ". If it is the object this spec describes (made by a run that stopped before saving it, or by hand), bring it under management with `trustform import {addr} ID`"
                                    ));
                                }
                                return Err(fail("create", message));
                            }
                        }
                    }
                };
                let new_value = new_value.mark_paths(&planned.sensitive_paths());
                let resource = ResourceState::from_value(type_name, &change.provider, &new_value, dependencies)
                    .map_err(|e| fail("record", format!("the provider returned an unusable state: {e}")))?;
                let id = resource.id.clone();
                let new_value = std::sync::Arc::new(new_value);
                values.share(addr, new_value.clone());
                match &change.values {
                    // The old object's delete is still to come, under this slot.
                    ChangeValues::Replace { order: ReplaceOrder::CreateFirst, .. } => {
                        persister.update(|_| put(addr, resource)).await?
                    }
                    _ => persister.finish(slot, |_| put(addr, resource)).await?,
                }
                // The object exists and is recorded as the cloud answered. What the provider
                // derived at plan must be what the cloud made (Terraform's "Provider produced
                // inconsistent result after apply"): dependents were planned with it, so a
                // difference fails this resource and skips them.
                if let Some(diagnostic) = self.derived_mismatch(change, &derived, &new_value) {
                    self.hook.event(Event::ApplyFailed {
                        address: addr.clone(),
                        action: change.action(),
                        message: diagnostic.summary.clone(),
                    });
                    return Err(diagnostic.into());
                }
                // A failed postcondition fails this resource (its dependents are skipped) and
                // keeps it in state, as Terraform does.
                self.check_postconditions(change, block, modules, &new_value)?;
                if let ChangeValues::Replace { before, order: ReplaceOrder::CreateFirst, .. } = &change.values {
                    provider.delete(type_name, before).await.map_err(|e| {
                        let old = before.get("id").map(Value::render).unwrap_or_default();
                        fail("replace", format!("the new object was created, but deleting the old one ({old}) failed: {e}. Delete it by hand"))
                    })?;
                }
                Some(id)
            }
        };
        self.hook.event(Event::ApplyFinished {
            address: addr.clone(),
            action: change.action(),
            id: result_id,
            elapsed: started.elapsed(),
        });
        Ok(())
    }

    /// The first attribute the provider derived that the cloud's answer does not match, as
    /// Terraform reports it (`internal/terraform/node_resource_abstract_instance.go`, "Provider
    /// produced inconsistent result after apply", from `objchange.AssertObjectCompatible`).
    fn derived_mismatch(&self, change: &Change, derived: &[(String, Value)], answered: &Value) -> Option<Diagnostic> {
        let addr = &change.address;
        let schema = self.providers.resource_schema(addr.type_name())?;
        derived.iter().find_map(|(name, promised)| {
            let attr = schema.block.attributes.get(name)?;
            let got = answered.get(name).unwrap_or(&Value::Null);
            // A partly known value holds the answer to its known text, as Terraform holds a
            // final value to the refinements of its unknown.
            let kept = match promised.as_partial() {
                Some(shape) => got.unmarked().as_str().is_some_and(|text| shape.admits(text)),
                None => values_equal(attr, promised, got),
            };
            (!kept).then(|| {
                let span = self.config.resources.get(&addr.resource).map(|r| r.span.clone());
                Diagnostic::error(
                    "TF1090",
                    "Provider produced inconsistent result after apply",
                    format!("The {} provider derived {addr}.{name} = {} at plan time, but the cloud answered {}. Resources that use it were planned with the derived value, so they were not applied; {addr} is recorded in state as the cloud answered it. Either the provider's services answer for different accounts or projects (check its endpoints and credentials), or its derivation is wrong (please report it with this message). Then run `trustform plan` again, which plans from the recorded value.", change.provider, shown(promised), got.render()),
                )
                .with_span(span)
                .with_address(addr)
            })
        })
    }

    /// The resource's preconditions (`self_value` `None`) or postconditions on the final values.
    fn check_conditions(
        &self,
        change: &Change,
        block: Option<&Resource>,
        modules: &ModuleEval<'_>,
        self_value: Option<&Value>,
    ) -> Result<(), Diagnostics> {
        let addr = &change.address;
        let Some(resource) = block else { return Ok(()) };
        let (conditions, kind) = match self_value {
            None => (&resource.conditions.preconditions, ConditionKind::Precondition),
            Some(_) => (&resource.conditions.postconditions, ConditionKind::Postcondition),
        };
        if conditions.is_empty() {
            return Ok(());
        }
        let Some(config) = self.config.module(&addr.module) else { return Ok(()) };
        let verdict = modules.with_scope(&addr.module, |scope| {
            let instance = self.instance_of(resource, addr, scope, modules)?;
            Ok::<_, Diagnostics>(evaluate_conditions(
                config,
                &scope.with_instance(instance),
                conditions,
                self_value,
                kind,
                addr,
            ))
        });
        let Some(verdict) = verdict.transpose()? else { return Ok(()) };
        if verdict.diagnostics.has_errors() {
            return Err(verdict.diagnostics.into_iter().map(|d| d.with_address(addr)).collect());
        }
        Ok(())
    }

    fn check_postconditions(
        &self,
        change: &Change,
        block: Option<&Resource>,
        modules: &ModuleEval<'_>,
        new_value: &Value,
    ) -> Result<(), Diagnostics> {
        self.check_conditions(change, block, modules, Some(new_value)).inspect_err(|d| {
            self.hook.event(Event::ApplyFailed {
                address: change.address.clone(),
                action: change.action(),
                message: failed_summary(d),
            });
        })
    }

    /// A resource whose create was interrupted and that the refresh found: nothing to change,
    /// but the state now holds what was read, ready.
    async fn adopt_if_creating(
        &self,
        change: &Change,
        after: &Value,
        persister: &Persister<'_>,
        slot: &Slot,
    ) -> Result<(), Diagnostics> {
        let addr = &change.address;
        if persister.unsettled_status(addr) != Some(ResourceStatus::Creating) {
            return Ok(());
        }
        let resource =
            ResourceState::from_value(addr.type_name(), &change.provider, after, change.dependencies.clone()).map_err(
                |e| {
                    Diagnostics::from(
                        Diagnostic::error("TF1011", "Cannot record an adopted resource", format!("{addr}: {e}."))
                            .with_address(addr),
                    )
                },
            )?;
        persister.finish(slot, |_| put(addr, resource)).await?;
        Ok(())
    }

    async fn record_data(
        &self,
        change: &Change,
        value: &Value,
        persister: &Persister<'_>,
        slot: &Slot,
    ) -> Result<(), Diagnostics> {
        let addr = &change.address;
        let with_id = match value.get("id") {
            Some(id) if !id.is_null() => value.clone(),
            _ => {
                let mut map = value.as_object().cloned().unwrap_or_default();
                map.insert("id".into(), Value::from(addr.to_string()));
                Value::Object(map)
            }
        };
        let resource =
            ResourceState::from_value(addr.type_name(), &change.provider, &with_id, change.dependencies.clone())
                .map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error("TF1011", "Cannot record data source", format!("{addr}: {e}"))
                            .with_address(addr),
                    )
                })?;
        persister.finish(slot, |_| put(addr, resource)).await.map_err(Diagnostics::from)
    }

    /// Re-evaluates an instance's configuration now that its dependencies are applied.
    fn final_config(
        &self,
        change: &Change,
        block: Option<&Resource>,
        modules: &ModuleEval<'_>,
    ) -> Result<Value, Diagnostics> {
        let addr = &change.address;
        let resource = block.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "TF1012",
                "Configuration changed",
                format!("{addr} is in the plan but no longer in the configuration. Make a new plan."),
            ))
        })?;
        let gone = || {
            Diagnostics::from(Diagnostic::error(
                "TF1012",
                "Configuration changed",
                format!("The module instance of {addr} is no longer in the configuration. Make a new plan."),
            ))
        };
        modules
            .with_scope(&addr.module, |scope| {
                let instance = self.instance_of(resource, addr, scope, modules)?;
                self.instance_config(resource, addr, &scope.with_instance(instance))
            })
            .unwrap_or_else(|| Err(gone()))
    }

    /// The `count`/`for_each` instance `addr` names, as the configuration gives it now.
    /// Evaluated once per block and module instance (see [`ModuleEval::for_each_instance`]):
    /// once per instance, a block of n instances would cost n² during the apply.
    fn instance_of(
        &self,
        resource: &Resource,
        addr: &ResourceAddr,
        scope: &Scope,
        modules: &ModuleEval<'_>,
    ) -> Result<Instance, Diagnostics> {
        Ok(match (&resource.repetition, &addr.key) {
            (Repetition::Single, None) => Instance::None,
            (Repetition::Count(_), Some(InstanceKey::Int(i))) => Instance::Count(*i),
            (Repetition::ForEach(_), Some(InstanceKey::Str(key))) => {
                let instance = modules
                    .for_each_instance(&addr.module, &resource.id, key, || self.expand(resource, scope))
                    .map_err(|d| Diagnostics::from(*d))?;
                instance.ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error(
                        "TF1012",
                        "Configuration changed",
                        format!("for_each no longer produces the key {key:?} of {addr}. Make a new plan."),
                    ))
                })?
            }
            _ => {
                return Err(Diagnostic::error(
                    "TF1012",
                    "Configuration changed",
                    format!("{addr} no longer matches the resource's count or for_each. Make a new plan."),
                )
                .into())
            }
        })
    }

    /// The fully known value to hand to the provider, checked against what the plan promised,
    /// and the attributes the provider derived (known or partly known, not given by the
    /// configuration), which the cloud's answer must then match (`derived_mismatch`). The
    /// derivation is the configuration's own (an aliased provider derives in its account).
    fn final_value(
        &self,
        change: &Change,
        block: Option<&Resource>,
        modules: &ModuleEval<'_>,
    ) -> Result<(Value, Vec<(String, Value)>), Diagnostics> {
        let addr = &change.address;
        let type_name = addr.type_name();
        let given = self.final_config(change, block, modules)?;
        let provider = self
            .providers
            .instance(&change.provider)
            .ok_or_else(|| Diagnostics::from(missing_provider(addr, &change.provider)))?;
        let schema = self
            .providers
            .resource_schema(type_name)
            .ok_or_else(|| Diagnostics::from(missing_provider(addr, addr.resource.provider_name())))?;
        let prior = match &change.values {
            ChangeValues::Update { before, .. } => Some(before),
            _ => None,
        };
        let config = provider.plan(type_name, prior, given.clone()).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error("TF0511", "Provider rejected the plan", format!("Planning {addr} failed: {e}."))
                    .with_address(addr),
            )
        })?;
        let derived = derived_attributes(&schema.block, &given, &config);
        let mut planned = merge_planned(&schema.block, prior, &config);
        if let ChangeValues::Update { after: Value::Object(after), .. } = &change.values {
            // Attributes the diff left alone keep their prior (semantically equal) spelling.
            if let Value::Object(map) = &mut planned {
                for (name, promised) in after {
                    if let (Some(attr), Some(now)) = (schema.block.attributes.get(name), map.get(name)) {
                        if !promised.contains_unknown() && values_equal(attr, promised, now) {
                            map.insert(name.clone(), promised.clone());
                        }
                    }
                }
            }
        }
        let settable = |name: &str| {
            schema.block.attributes.get(name).is_some_and(|a| a.is_settable()) || schema.block.blocks.contains_key(name)
        };
        if let Some(after) = change.after() {
            for (name, promised) in after.as_object().into_iter().flatten() {
                if !promised.contains_unknown() && !settable(name) && derived.iter().any(|(derived, _)| derived == name)
                {
                    // Derived at plan and again now from what the provider is configured for
                    // (an account, a project number): another account or project since the plan
                    // would make dependents use a value that is not this object's.
                    let now = planned.get(name).unwrap_or(&Value::Null);
                    let same = schema.block.attributes.get(name).is_some_and(|attr| values_equal(attr, promised, now));
                    if !same {
                        let span = self.config.resources.get(&addr.resource).map(|r| r.span.clone());
                        return Err(Diagnostic::error(
                            "TF1091",
                            "Derived value changed during apply",
                            format!("The plan promised {addr}.{name} = {} but the {} provider now derives {}: it is configured for another account, project or subscription than when the plan was made. Nothing was changed for this resource; check the credentials and provider settings, then make a new plan.", promised.render(), change.provider, now.render()),
                        )
                        .with_span(span)
                        .with_address(addr)
                        .into());
                    }
                }
                if promised.contains_unknown() || !settable(name) {
                    continue;
                }
                let now = planned.get(name).unwrap_or(&Value::Null);
                let same = match schema.block.attributes.get(name) {
                    Some(attr) => values_equal(attr, promised, now),
                    None => promised.eq_ignoring_marks(now),
                };
                if !same {
                    return Err(Diagnostic::error(
                        "TF1013",
                        "Planned value changed during apply",
                        format!("The plan promised {addr}.{name} = {} but the configuration now gives {}. Nothing was changed for this resource; make a new plan.", promised.render(), now.render()),
                    )
                    .with_address(addr)
                    .into());
                }
            }
        }
        // What the configuration gives must be known by now; an optional, computed attribute it
        // leaves unset is for the cloud to fill in, like a computed one.
        let configured = |name: &str| settable(name) && config.get(name).is_some_and(|v| !v.is_null());
        let unknown: Vec<&String> = planned
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, v)| configured(name) && v.contains_unknown())
            .map(|(name, _)| name)
            .collect();
        if !unknown.is_empty() {
            return Err(Diagnostic::error(
                "TF1014",
                "Value still unknown during apply",
                format!(
                    "{addr} needs {} but it is still unknown after its dependencies were applied. This is a bug in Trustform or a provider; please report it with the plan.",
                    unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_address(addr)
            .into());
        }
        // What the cloud computes is not ours to send: unknown computed attributes go as null.
        if let Value::Object(map) = &mut planned {
            for (name, value) in map.iter_mut() {
                if !configured(name) && value.contains_unknown() {
                    *value = Value::Null;
                }
            }
        }
        Ok((planned, derived))
    }

    async fn apply_outputs(
        &self,
        plan: &Plan,
        modules: &ModuleEval<'_>,
        persister: &Persister<'_>,
        diags: &mut Diagnostics,
    ) -> Result<(), Diagnostic> {
        let scope = modules.root_scope();
        let mut outputs = BTreeMap::new();
        for (name, output) in &self.config.outputs {
            if plan.mode != PlanMode::Destroy {
                let subject = format!("output \"{name}\"");
                let verdict = evaluate_conditions(
                    &self.config,
                    &scope,
                    &output.preconditions,
                    None,
                    ConditionKind::OutputPrecondition,
                    &subject,
                );
                if verdict.diagnostics.has_errors() {
                    // The output keeps what the state had: a failed precondition withholds it.
                    diags.extend(verdict.diagnostics);
                    if let Some(previous) = persister.lock_staged().state.outputs.get(name) {
                        outputs.insert(name.clone(), previous.clone());
                    }
                    continue;
                }
            }
            match scope.eval(&output.value) {
                // A null output is not stored, as Terraform stores none: `output -json`
                // leaves it out.
                Ok(value) if !value.contains_unknown() && !value.is_null() => {
                    outputs.insert(
                        name.clone(),
                        OutputState {
                            value: value.to_json(),
                            sensitive: output.sensitive || value.contains_sensitive(),
                        },
                    );
                }
                _ => {}
            }
        }
        let destroying = plan.mode == PlanMode::Destroy;
        let targeted = plan.outputs.is_empty() && !self.config.outputs.is_empty() && !destroying;
        persister
            .update(|_| {
                if destroying {
                    vec![StateChange::Outputs(BTreeMap::new())]
                } else if !targeted {
                    vec![StateChange::Outputs(outputs)]
                } else {
                    Vec::new()
                }
            })
            .await
    }
}

/// Drives a create while writing its checkpoints as they come, and makes sure the last one is
/// durable even when the create fails.
async fn create_with_checkpoints(
    create: impl std::future::Future<Output = Result<Value, trustform_provider::ProviderError>>,
    checkpoint: &CreateCheckpoint<'_>,
) -> Result<Value, trustform_provider::ProviderError> {
    tokio::pin!(create);
    let result = loop {
        tokio::select! {
            result = &mut create => break result,
            () = checkpoint.recorded.notified() => flush_checkpoint(checkpoint).await,
        }
    };
    if result.is_err() {
        flush_checkpoint(checkpoint).await;
    }
    result
}

async fn flush_checkpoint(checkpoint: &CreateCheckpoint<'_>) {
    if let Err(e) = checkpoint.persister.flush().await {
        tracing::error!(address = %checkpoint.address, error = %e.detail, "failed to persist a checkpoint");
    }
}

/// The order of an apply: a node per change (its index in the plan), and barrier nodes
/// (`None`, nothing to do) that join the instances of a block many changes wait for.
///
/// A change waits for every change its dependencies name ([`ResourceAddr::names`]: a block's
/// address names all its instances), except that when both are deletes the dependent goes
/// first, and a delete and a non-delete do not wait for each other. A dependency naming one
/// change is an edge; one naming several goes through a barrier per block and direction, so
/// that n changes that wait for a block of n instances cost 2n edges, not n².
fn apply_graph(plan: &Plan) -> Dag<Option<usize>> {
    let mut dag = Dag::new();
    let ids: Vec<NodeId> = (0..plan.changes.len()).map(|i| dag.add_node(Some(i))).collect();
    let index: rustc_hash::FxHashMap<&ResourceAddr, usize> =
        plan.changes.iter().enumerate().map(|(i, c)| (&c.address, i)).collect();
    // The instances with keys, by block; an instance without keys is found in `index`.
    let mut keyed: rustc_hash::FxHashMap<ResourceAddr, Vec<usize>> = rustc_hash::FxHashMap::default();
    for (i, change) in plan.changes.iter().enumerate().filter(|(_, c)| !c.address.is_keyless()) {
        keyed.entry(change.address.without_keys()).or_default().push(i);
    }
    let mut members = Vec::new();
    let deleting = |i: usize| plan.changes[i].action() == Action::Delete;
    // Per block: the barrier after its non-deletes, and the one before its deletes.
    let mut barriers: rustc_hash::FxHashMap<&ResourceAddr, (Option<NodeId>, Option<NodeId>)> =
        rustc_hash::FxHashMap::default();
    for (i, change) in plan.changes.iter().enumerate() {
        for dep in &change.dependencies {
            let named: &[usize] = match (dep.is_keyless(), keyed.get(dep)) {
                // A block's address: its instance without keys, and those with keys, if any.
                (true, Some(with_keys)) => {
                    members.clear();
                    members.extend(index.get(dep));
                    members.extend(with_keys);
                    &members
                }
                // Otherwise the one instance the address is: a single resource, or an older
                // state's instance-level dependency.
                _ => index.get(dep).map(std::slice::from_ref).unwrap_or_default(),
            };
            // (A change never depends on its own block: the graph refuses such a cycle.)
            if named.len() <= 1 {
                for &j in named.iter().filter(|&&j| j != i) {
                    match (deleting(i), deleting(j)) {
                        (true, true) => dag.add_edge(ids[i], ids[j]),
                        (false, false) => dag.add_edge(ids[j], ids[i]),
                        _ => {}
                    }
                }
                continue;
            }
            let (after, before) = barriers.entry(dep).or_default();
            if deleting(i) {
                let barrier = *before.get_or_insert_with(|| {
                    let barrier = dag.add_node(None);
                    for &j in named.iter().filter(|&&j| j != i && deleting(j)) {
                        dag.add_new_edge(barrier, ids[j]);
                    }
                    barrier
                });
                dag.add_new_edge(ids[i], barrier);
            } else {
                let barrier = *after.get_or_insert_with(|| {
                    let barrier = dag.add_node(None);
                    for &j in named.iter().filter(|&&j| j != i && !deleting(j)) {
                        dag.add_new_edge(ids[j], barrier);
                    }
                    barrier
                });
                dag.add_new_edge(barrier, ids[i]);
            }
        }
    }
    dag
}

/// The summaries of a failure, for the progress line (no values: summaries are fixed).
fn failed_summary(diags: &Diagnostics) -> String {
    diags.iter().map(|d| d.summary.clone()).collect::<Vec<_>>().join("; ")
}
