//! Planning: refresh what state records, evaluate the configuration block by block in
//! dependency order, and diff every instance against its refreshed state.

use crate::conditions::{check_data_failed, evaluate as evaluate_conditions, run_checks, ConditionKind};
use crate::engine::Engine;
use crate::graph::BlockAddr;
use crate::hook::Event;
use crate::modules::ModuleEval;
use crate::values::{Expansion, Values};
use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_graph::{walk, Dag, Outcome, WalkOptions};
use trustform_lang::config::{Repetition, Resource};
use trustform_lang::{redact_texts, Instance, LocalsCache, ResourceAddr, Scope, Value};
use trustform_plan::{
    deletion_attributes, diff_resource, merge_planned, Action, AttributeChange, Change, ChangeValues, OutputChange,
    Plan, PlanMode, Reason, ReplaceOrder,
};
use trustform_provider::{ProviderError, ProviderErrorKind};
use trustform_schema::{block_body_equal, conform};

/// The most instances one resource may have (`count`, `for_each`). A typo like `count = 1e18`
/// would otherwise exhaust memory before any diagnostic; ten thousand is far above what an
/// identity spec needs and plans in well under a second.
pub const MAX_INSTANCES: usize = 10_000;
use trustform_state::{ResourceStatus, State};

/// What `plan` should do.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub mode: PlanMode,
    /// Read every resource in state before diffing (`--refresh=false` turns it off).
    pub refresh: bool,
    /// `--target`: only these (block or instance addresses) and what they depend on.
    pub targets: Vec<ResourceAddr>,
    /// `--target module.NAME[KEY]`: every resource in these module instances (a step without a
    /// key covers every instance of its call) and what they depend on.
    pub module_targets: Vec<Vec<trustform_lang::ModuleStep>>,
    /// `--replace`: replace these instances even if nothing changed.
    pub replace: Vec<ResourceAddr>,
}

impl PlanOptions {
    pub fn normal() -> Self {
        PlanOptions { refresh: true, ..Self::default() }
    }
}

/// Which data sources a normal plan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataReads {
    /// Every one whose arguments are known: `plan` and `apply`.
    All,
    /// Only those computed without a cloud call; the others stay unknown: `lint`.
    LocalOnly,
}

/// The refreshed view of state: `None` for objects found gone.
pub(crate) type Refreshed = BTreeMap<ResourceAddr, Option<Value>>;

/// What planning one instance needs to know about the walk so far.
#[derive(Clone, Copy)]
struct PlanWalk<'a> {
    /// The block of the instance planned.
    block: &'a BlockAddr,
    state: &'a State,
    refreshed: &'a Refreshed,
    options: &'a PlanOptions,
    reads: DataReads,
}

impl Engine {
    /// Makes a plan against `state`. Returns `None` when errors prevent a plan.
    pub async fn plan(&self, state: &State, options: &PlanOptions) -> (Option<Plan>, Diagnostics) {
        let mut diags = self.configure_providers(state).await;
        diags.extend(crate::refactor::validate(&self.config));
        if diags.has_errors() {
            return (None, diags);
        }
        // `moved` blocks act on the prior state: everything below sees each object where the
        // configuration now puts it.
        let (mut moved_state, moved, more) = crate::refactor::apply_moves(&self.config, state);
        diags.extend(more);
        // `import` blocks: their objects are planned as if the state recorded them.
        let mut imported = Vec::new();
        if options.mode == PlanMode::Normal && !self.config.imports.is_empty() {
            diags.extend(self.undeclared_import_targets());
            if diags.has_errors() {
                return (None, diags);
            }
            // With --target, only the targets' imports, as Terraform does.
            let wanted = self.target_filter(options);
            let (found, more) = self.read_import_blocks(moved_state.to_mut(), &wanted).await;
            diags.extend(more);
            if diags.has_errors() {
                return (None, diags);
            }
            imported = found;
        }
        let state = &moved_state;
        let prior = state_values(state);
        let refreshed: Refreshed = if options.refresh {
            let (refreshed, more) = self.refresh(state, &prior).await;
            diags.extend(more);
            if diags.has_errors() {
                return (None, diags);
            }
            refreshed
        } else {
            prior.iter().map(|(a, v)| (a.clone(), Some(v.clone()))).collect()
        };
        let mut plan = Plan {
            mode: options.mode,
            state_lineage: state.lineage.clone(),
            state_serial: state.serial,
            drift: self.drift(state, &prior, &refreshed),
            moved,
            imported,
            ..Plan::default()
        };
        match options.mode {
            PlanMode::RefreshOnly => {
                plan.changes = refreshed
                    .iter()
                    .map(|(addr, after)| Change {
                        address: addr.clone(),
                        provider: provider_name(state, addr),
                        reason: Reason::None,
                        values: ChangeValues::refreshed(prior.get(addr).cloned(), after.clone()),
                        attributes: Vec::new(),
                        dependencies: dependencies_in_state(state, addr),
                    })
                    .collect();
            }
            PlanMode::Destroy => {
                self.plan_destroy(state, &refreshed, options, &mut plan, &mut diags);
            }
            PlanMode::Normal => {
                plan.adopted = state
                    .resources
                    .iter()
                    .filter(|(addr, r)| {
                        r.status == ResourceStatus::Creating && matches!(refreshed.get(*addr), Some(Some(_)))
                    })
                    .map(|(addr, _)| addr.clone())
                    .collect();
                self.plan_normal(state, &refreshed, options, DataReads::All, &mut plan, &mut diags).await;
                diags.extend(crate::refactor::validate_planned(&self.config, &plan));
                diags.extend(self.check_import_targets(&plan));
                diags.extend(self.run_checks(&plan));
            }
        }
        if diags.has_errors() {
            return (None, diags);
        }
        (Some(plan), diags)
    }

    async fn refresh(&self, state: &State, prior: &BTreeMap<ResourceAddr, Value>) -> (Refreshed, Diagnostics) {
        let mut dag = Dag::new();
        for addr in state.resources.keys() {
            dag.add_node(addr.clone());
        }
        let results = std::sync::Mutex::new(BTreeMap::new());
        let options = WalkOptions { parallelism: self.parallelism, cancel: self.cancel.clone() };
        let report = walk(&dag, options, |id| {
            let addr = dag.node(id).clone();
            let results = &results;
            async move {
                let resource = &state.resources[&addr];
                let Some(provider) = self.providers.instance(&resource.provider) else {
                    return Err(missing_provider(&addr, &resource.provider));
                };
                let value = &prior[&addr];
                if addr.is_data() {
                    // Data sources are read again from configuration, not refreshed.
                    results.lock().unwrap_or_else(|e| e.into_inner()).insert(addr.clone(), Some(value.clone()));
                    return Ok(());
                }
                if resource.status == ResourceStatus::Creating && resource.id.is_empty() {
                    // An interrupted create whose id the cloud was to choose: found by its
                    // natural key when the provider can, else nothing to look up and the plan
                    // creates it again (see `interrupted_create`).
                    let found = if provider.findable(&resource.type_name) {
                        self.hook.event(Event::RefreshStarted { address: addr.clone() });
                        let found = provider.find(&resource.type_name, value).await.map_err(|e| {
                            Diagnostic::error(
                                "TF1007",
                                "Cannot adopt an interrupted create",
                                format!("The run that created {addr} stopped before saving the answer, and looking for what it made failed: {e}. If the object is the one this spec describes, bring it under management with `trustform import {addr} ID`; otherwise delete or rename the conflicting object, then run plan again."),
                            )
                            .with_address(&addr)
                        })?;
                        let found = found.map(|v| v.mark_paths(&value.sensitive_paths()));
                        self.hook.event(Event::RefreshFinished { address: addr.clone(), gone: found.is_none() });
                        found
                    } else {
                        None
                    };
                    results.lock().unwrap_or_else(|e| e.into_inner()).insert(addr.clone(), found);
                    return Ok(());
                }
                tracing::debug!(address = %addr, "refreshing");
                self.hook.event(Event::RefreshStarted { address: addr.clone() });
                let read = provider.read(&resource.type_name, value).await;
                // An interrupted create's object may not show yet: Google answers a new
                // service account's `get` 403 "(or it may not exist)" for a while. Nothing is
                // known to exist, so the plan creates it, and the create finds it if it does
                // (`look_up_interrupted`).
                let creating = resource.status == ResourceStatus::Creating;
                let read = match read {
                    Err(e) if creating && matches!(e.kind, ProviderErrorKind::Denied | ProviderErrorKind::NotFound) => {
                        Ok(None)
                    }
                    other => other,
                };
                let read = read.map_err(|e| {
                    Diagnostic::error(
                        "TF1001",
                        "Failed to refresh resource",
                        format!("Reading {addr} failed: {e}. Check credentials and connectivity, then run plan again."),
                    )
                    .with_address(&addr)
                })?;
                let read = read.map(|v| v.mark_paths(&value.sensitive_paths()));
                self.hook.event(Event::RefreshFinished { address: addr.clone(), gone: read.is_none() });
                results.lock().unwrap_or_else(|e| e.into_inner()).insert(addr, read);
                Ok(())
            }
        })
        .await;
        let mut diags = Diagnostics::new();
        for (_, outcome) in report.iter() {
            if let Outcome::Failed(d) = outcome {
                diags.push(d.clone());
            }
        }
        for (addr, resource) in &state.resources {
            let findable =
                self.providers.for_type(&resource.type_name).is_some_and(|p| p.findable(&resource.type_name));
            if resource.status == ResourceStatus::Creating && resource.id.is_empty() && !findable {
                diags.push(interrupted_create(addr));
            }
        }
        if report.not_started().next().is_some() {
            diags.push(interrupted());
        }
        (results.into_inner().unwrap_or_else(|e| e.into_inner()), diags)
    }

    fn drift(&self, state: &State, prior: &BTreeMap<ResourceAddr, Value>, refreshed: &Refreshed) -> Vec<Change> {
        let mut drift = Vec::new();
        for (addr, before) in prior {
            // An interrupted create's record is what was planned, not what was seen: reading
            // it back is not a change made outside Trustform.
            let creating = state.resources.get(addr).is_some_and(|r| r.status == ResourceStatus::Creating);
            if addr.is_data() || creating {
                continue;
            }
            let after = refreshed.get(addr).cloned().flatten();
            let changed = match (&after, self.providers.resource_schema(addr.type_name())) {
                (None, _) => true,
                (Some(after), Some(schema)) => !block_body_equal(&schema.block, before, after),
                (Some(after), None) => !after.eq_ignoring_marks(before),
            };
            if !changed {
                continue;
            }
            let attributes = match &after {
                Some(after) => changed_attributes(before, after),
                None => Vec::new(),
            };
            let before = before.clone();
            drift.push(Change {
                address: addr.clone(),
                provider: provider_name(state, addr),
                reason: Reason::None,
                values: match after {
                    Some(after) => ChangeValues::Update { before, after },
                    None => ChangeValues::Delete { before },
                },
                attributes,
                dependencies: Vec::new(),
            });
        }
        drift
    }

    fn plan_destroy(
        &self,
        state: &State,
        refreshed: &Refreshed,
        options: &PlanOptions,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        let wanted = self.target_filter(options);
        for (addr, resource) in &state.resources {
            let Some(Some(before)) = refreshed.get(addr) else { continue };
            if !wanted(addr) {
                continue;
            }
            self.check_prevent_destroy(addr, diags);
            plan.changes.push(Change {
                address: addr.clone(),
                provider: resource.provider.clone(),
                reason: Reason::DestroyRequested,
                values: ChangeValues::Delete { before: before.clone() },
                attributes: deletion_attributes(before),
                dependencies: resource.dependencies.clone(),
            });
        }
        if options.targets.is_empty() {
            for (name, output) in &state.outputs {
                plan.outputs.insert(
                    name.clone(),
                    OutputChange {
                        name: name.clone(),
                        before: Some(Value::from_json(&output.value)),
                        after: None,
                        sensitive: output.sensitive,
                    },
                );
            }
        }
    }

    fn check_prevent_destroy(&self, addr: &ResourceAddr, diags: &mut Diagnostics) {
        if let Some(resource) = self.block(addr) {
            if resource.lifecycle.prevent_destroy {
                diags.push(
                    Diagnostic::error(
                        "TF0700",
                        "Instance cannot be destroyed",
                        format!(
                            "{addr} has lifecycle.prevent_destroy set, but the plan calls for it to be destroyed. Remove prevent_destroy to allow it, or change the plan (e.g. with --target) so it is kept."
                        ),
                    )
                    .with_span(resource.span.clone())
                    .with_address(addr),
                );
            }
        }
    }

    pub(crate) async fn plan_normal(
        &self,
        state: &State,
        refreshed: &Refreshed,
        options: &PlanOptions,
        reads: DataReads,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        let values = Values::default();
        self.seed_expansions(&values);
        let locals = LocalsCache::default();
        let modules = ModuleEval::new(self, &values, &locals, false);
        let mut planned_addrs = BTreeSet::new();
        let wanted_blocks = self.target_blocks(options);

        for block in self.graph.resource_order() {
            if self.cancel.is_cancelled() {
                diags.push(interrupted());
                return;
            }
            let Some(resource) = self.config.resource_in(&block.module, &block.id) else { continue };
            let id = &block.id;
            if let Some(wanted) = &wanted_blocks {
                if !wanted.contains(&block) {
                    // Untargeted: keep what state has so references still resolve.
                    for (addr, value) in refreshed.iter().filter(|(a, _)| block.contains(a)) {
                        if let Some(v) = value {
                            values.set(addr, v.clone());
                        }
                        planned_addrs.insert(addr.clone());
                    }
                    continue;
                }
            }
            // The root module has one instance: no list to build for it.
            let in_modules = match block.module.is_empty() {
                true => None,
                false => Some(modules.instances(&block.module)),
            };
            for module in in_modules.as_deref().unwrap_or(&[Vec::new()]) {
                // The root's scope needs no lookup (and no copy of its variables).
                let parts = match module.is_empty() {
                    true => None,
                    false => match modules.parts(module) {
                        Some(parts) => Some(parts),
                        None => continue,
                    },
                };
                let root = modules.root_scope();
                let (config, scope) = match &parts {
                    None => (&*self.config, root),
                    Some((config, variables)) => (*config, root.in_module(module, config, variables)),
                };
                let instances = match self.expand(resource, &scope) {
                    Ok(instances) => instances,
                    Err(d) => {
                        diags.push(*d);
                        values.set_expansion(&block, Expansion::Unknown);
                        continue;
                    }
                };
                for instance in instances {
                    let addr = id.instance(instance.key()).in_module(module.clone());
                    planned_addrs.insert(addr.clone());
                    let scope = scope.with_instance(instance);
                    if !resource.conditions.preconditions.is_empty() {
                        // Known now: decided before the change is planned; not yet known: checked
                        // again at apply, before the provider is called.
                        let verdict = evaluate_conditions(
                            config,
                            &scope,
                            &resource.conditions.preconditions,
                            None,
                            ConditionKind::Precondition,
                            &addr,
                        );
                        if verdict.diagnostics.has_errors() {
                            diags.extend(verdict.diagnostics.into_iter().map(|d| d.with_address(&addr)));
                            values.set(&addr, Value::Unknown);
                            continue;
                        }
                    }
                    tracing::trace!(address = %addr, "planning");
                    let change = if id.mode == trustform_lang::Mode::Data {
                        self.plan_data(resource, &block, &addr, &scope, reads).await.map(|c| (c, Diagnostics::new()))
                    } else {
                        let walk = PlanWalk { block: &block, state, refreshed, options, reads };
                        self.plan_managed(resource, &addr, &scope, &walk).await
                    };
                    let change = change.map(|(change, warnings)| {
                        diags.extend(warnings);
                        change
                    });
                    match change {
                        Ok(change) => {
                            if let Some(after) = change.after() {
                                values.set(&addr, after.clone());
                                // A postcondition whose value is known from the planned `self` is
                                // decided now (a data source read at plan, an object that stays as
                                // it is); one that needs what only the apply knows, after it.
                                if !resource.conditions.postconditions.is_empty() {
                                    let verdict = evaluate_conditions(
                                        config,
                                        &scope,
                                        &resource.conditions.postconditions,
                                        Some(after),
                                        ConditionKind::Postcondition,
                                        &addr,
                                    );
                                    diags.extend(verdict.diagnostics.into_iter().map(|d| d.with_address(&addr)));
                                }
                            }
                            if change.action().is_replace() || change.action() == Action::Delete {
                                self.check_prevent_destroy(&addr, diags);
                            }
                            plan.changes.push(change);
                        }
                        Err(more) => {
                            match config.check_of(id) {
                                Some(check) => diags.extend(check_data_failed(check, more)),
                                None => diags.extend(more),
                            }
                            values.set(&addr, Value::Unknown);
                        }
                    }
                }
            }
        }
        diags.extend(modules.take_diagnostics());

        let mut forgotten = Vec::new();
        for (addr, before) in refreshed {
            if planned_addrs.contains(addr) {
                continue;
            }
            let Some(before) = before else { continue };
            if let Some(wanted) = &wanted_blocks {
                if !wanted.contains(&BlockAddr::of(addr)) {
                    continue;
                }
            }
            let reason =
                if self.block(addr).is_some() { Reason::NoLongerInRepetition } else { Reason::NoLongerInConfig };
            let forget = self
                .config
                .removed
                .iter()
                .any(|r| r.from.module == addr.module && r.from.resource == addr.resource && !r.destroy);
            if forget && !addr.is_data() {
                forgotten.push(addr.to_string());
                plan.changes.push(Change {
                    address: addr.clone(),
                    provider: provider_name(state, addr),
                    reason: Reason::Removed,
                    values: ChangeValues::Forget { before: before.clone() },
                    attributes: Vec::new(),
                    dependencies: dependencies_in_state(state, addr),
                });
                continue;
            }
            if !addr.is_data() {
                self.check_prevent_destroy(addr, diags);
            }
            plan.changes.push(Change {
                address: addr.clone(),
                provider: provider_name(state, addr),
                reason,
                values: ChangeValues::Delete { before: before.clone() },
                attributes: deletion_attributes(before),
                dependencies: dependencies_in_state(state, addr),
            });
        }
        if !forgotten.is_empty() {
            // Terraform's warning for `removed { lifecycle { destroy = false } }`
            // (hashicorp/terraform internal/terraform/context_plan.go, "Some objects will no
            // longer be managed by Terraform").
            diags.push(Diagnostic::warning(
                "TF0717",
                "Some objects will no longer be managed by Trustform",
                format!(
                    "If you apply this plan, Trustform will discard its tracking information for the following objects, but it will not delete them:\n - {}\n\nAfter applying this plan, Trustform will no longer manage these objects. You will need to import them into Trustform to manage them again.",
                    forgotten.join("\n - ")
                ),
            ));
        }
        plan.changes.sort_by(|a, b| a.address.cmp(&b.address));

        if wanted_blocks.is_none() {
            self.plan_outputs(state, &modules, plan, diags);
            diags.extend(run_checks(&self.config, &modules.root_scope()));
            diags.extend(modules.take_diagnostics());
        }
    }

    pub(crate) fn seed_expansions(&self, values: &Values) {
        for (path, config) in self.config.modules() {
            for (id, resource) in &config.resources {
                let expansion = match resource.repetition {
                    Repetition::Single => Expansion::Single,
                    Repetition::Count(_) => Expansion::Count,
                    Repetition::ForEach(_) => Expansion::ForEach,
                };
                values.seed_expansion(&path, id, expansion);
            }
        }
    }

    /// The resource block an instance address belongs to, in whichever module it is.
    pub(crate) fn block(&self, addr: &ResourceAddr) -> Option<&Resource> {
        if addr.module.is_empty() {
            return self.config.resources.get(&addr.resource);
        }
        self.config.resource_in(&addr.module, &addr.resource)
    }

    /// The instances of a resource block. `count` and `for_each` must be known at plan time.
    pub(crate) fn expand(&self, resource: &Resource, scope: &Scope) -> Result<Vec<Instance>, Box<Diagnostic>> {
        // Named only when there is something to report: a label per block would cost a string.
        struct Label<'a>(&'a [trustform_lang::ModuleStep], &'a trustform_lang::ResourceId);
        impl std::fmt::Display for Label<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                for step in self.0 {
                    write!(f, "{step}.")?;
                }
                write!(f, "{}", self.1)
            }
        }
        self.expand_repetition(&resource.repetition, &resource.span, &Label(scope.module, &resource.id), scope)
    }

    /// The instances of a resource block or module call (`label` names it in diagnostics),
    /// evaluated in `scope`.
    pub(crate) fn expand_repetition(
        &self,
        repetition: &Repetition,
        span: &trustform_diag::Span,
        label: &dyn std::fmt::Display,
        scope: &Scope,
    ) -> Result<Vec<Instance>, Box<Diagnostic>> {
        let config = scope.config;
        let too_many = |how_many: String, span| {
            Box::new(
                Diagnostic::error(
                    "TF0603",
                    "Too many instances",
                    format!(
                        "This resource would have {how_many} instances; Trustform plans at most {MAX_INSTANCES} instances of one resource. Split the resource, or check the count or for_each expression for a typo."
                    ),
                )
                .with_span(span)
                .with_address(label),
            )
        };
        // Terraform's summaries: "Invalid count argument", "Invalid for_each argument".
        let unknown_repetition = |what: &str| {
            Box::new(
                Diagnostic::error(
                    "TF0600",
                    format!("Invalid {what} argument"),
                    format!(
                        "The {what} value depends on resource attributes that cannot be determined until apply, so Trustform cannot tell which instances to create. Use values known at plan time (variables, locals, names) for {what}, or apply the dependency first with --target."
                    ),
                )
                .with_span(span.clone())
                .with_address(label),
            )
        };
        match repetition {
            Repetition::Single => Ok(vec![Instance::None]),
            Repetition::Count(expr) => {
                let value = scope.eval(expr)?;
                if value.is_unknown() {
                    return Err(unknown_repetition("count"));
                }
                match value.as_number().and_then(|n| n.as_i64()) {
                    Some(n) if n > MAX_INSTANCES as i64 => Err(too_many(n.to_string(), config.span(expr))),
                    Some(n) if n >= 0 => Ok((0..n as u64).map(Instance::Count).collect()),
                    _ => Err(Box::new(
                        Diagnostic::error(
                            "TF0601",
                            "Invalid count argument",
                            format!("count must be a whole number of zero or more, but it is {}.", value.render()),
                        )
                        .with_span(config.span(expr))
                        .with_address(label),
                    )),
                }
            }
            Repetition::ForEach(expr) => {
                let invalid = |detail: String| {
                    Box::new(
                        Diagnostic::error("TF0602", "Invalid for_each argument", detail)
                            .with_span(config.span(expr))
                            .with_address(label),
                    )
                };
                // A list or tuple has no keys to name instances by (terraform's
                // internal/lang/evalchecks/eval_for_each.go): Terraform refuses it even when
                // its elements are unique strings.
                let not_a_sequence = |kind: Option<trustform_lang::Kind>| {
                    match kind {
                    Some(kind @ (trustform_lang::Kind::List | trustform_lang::Kind::Tuple)) => Err(invalid(format!(
                        "The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}. Convert it with toset(...), or build a map with {{ for x in ... : x.name => x }}.",
                        kind.name()
                    ))),
                    _ => Ok(()),
                }
                };
                not_a_sequence(trustform_lang::static_kind(config, &expr.expr))?;
                let value = scope.eval(expr)?;
                not_a_sequence(trustform_lang::value_kind(config, &expr.expr, &value))?;
                if value.contains_unknown() && !matches!(value.unmarked(), Value::Object(_)) {
                    return Err(unknown_repetition("for_each"));
                }
                // Instance keys appear in addresses, plans and state, never redacted: Terraform
                // refuses a sensitive for_each with these words (internal/lang/evalchecks).
                let sensitive_keys = value.is_sensitive()
                    || value.as_list().is_some_and(|items| items.iter().any(Value::contains_sensitive));
                if sensitive_keys {
                    return Err(invalid("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key. Iterate over a value that is not sensitive (the names), and look the secret up by key inside the resource.".into()));
                }
                let sensitive = value.is_sensitive();
                match value.unmarked() {
                    Value::Object(map) if map.len() > MAX_INSTANCES => {
                        Err(too_many(map.len().to_string(), config.span(expr)))
                    }
                    Value::Object(map) => Ok(map
                        .iter()
                        .map(|(k, v)| Instance::Each { key: k.clone(), value: v.clone().mark_if(sensitive) })
                        .collect()),
                    Value::List(items) => {
                        let mut out = Vec::new();
                        for item in items {
                            match item.as_str() {
                                Some(s) => out.push(Instance::Each { key: s.to_owned(), value: Value::from(s).mark_if(sensitive) }),
                                None => {
                                    return Err(invalid(
                                        "for_each over a set needs strings. Use toset([...]) of strings, or a map whose keys name the instances.".into(),
                                    ))
                                }
                            }
                        }
                        out.sort_by_key(Instance::key);
                        out.dedup_by(|a, b| a.key() == b.key());
                        match out.len() {
                            n if n > MAX_INSTANCES => Err(too_many(n.to_string(), config.span(expr))),
                            _ => Ok(out),
                        }
                    }
                    other => Err(invalid(format!(
                        "for_each needs a map or a set of strings, but it is a {}.",
                        other.type_name()
                    ))),
                }
            }
        }
    }

    /// Evaluates and conforms one instance's configuration.
    pub(crate) fn instance_config(
        &self,
        resource: &Resource,
        addr: &ResourceAddr,
        scope: &Scope,
    ) -> Result<Value, Diagnostics> {
        let schema = if resource.id.mode == trustform_lang::Mode::Data {
            self.providers.data_schema(&resource.id.type_name)
        } else {
            self.providers.resource_schema(&resource.id.type_name)
        };
        let Some(schema) = schema else {
            return Err(Diagnostic::error(
                "TF0500",
                "Unknown resource type",
                format!("No provider offers {}.", resource.id.type_name),
            )
            .with_address(addr)
            .into());
        };
        let evaluated = scope.eval_body(&resource.body).map_err(|d| Diagnostics::from(d.with_address(addr)))?;
        let conformed = conform(&schema.block, &evaluated).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let top = e.path.first_key().unwrap_or_default().to_owned();
                    let span = resource
                        .body
                        .attributes
                        .get(&top)
                        .and_then(|a| scope.config.attr_span(&resource.body, a))
                        .unwrap_or_else(|| resource.span.clone());
                    let (code, summary) = match e.kind {
                        trustform_schema::ConformErrorKind::MissingRequired => ("TF0503", "Missing required argument"),
                        trustform_schema::ConformErrorKind::Unsupported { .. } => ("TF0504", "Unsupported argument"),
                        trustform_schema::ConformErrorKind::ComputedOnly => {
                            ("TF0505", "Value for unconfigurable attribute")
                        }
                        trustform_schema::ConformErrorKind::Type(_) => ("TF0506", "Incorrect attribute value type"),
                        _ => ("TF0507", "Invalid block"),
                    };
                    let fix = match e.kind {
                        trustform_schema::ConformErrorKind::MissingRequired => " Add it to the block.",
                        trustform_schema::ConformErrorKind::Unsupported { .. } => " Remove it, or fix its name.",
                        trustform_schema::ConformErrorKind::ComputedOnly => {
                            " Remove it; read it from the resource after apply instead."
                        }
                        _ => "",
                    };
                    let message = e.to_string();
                    let stop = if message.ends_with('?') { "" } else { "." };
                    let detail = format!("In {addr}: {message}{stop}{fix}");
                    Diagnostic::error(code, summary, detail).with_span(span).with_address(addr)
                })
                .collect::<Diagnostics>()
        })?;
        let provider = self.providers.for_type(&resource.id.type_name).expect("schema implies provider");
        let mut issues = Diagnostics::new();
        // Providers read values with `as_str`, which drops the sensitive mark, and quote them.
        let secrets = conformed.sensitive_texts();
        for issue in provider.validate(&resource.id.type_name, &conformed) {
            let (summary, detail) = (redact_texts(&issue.summary, &secrets), redact_texts(&issue.detail, &secrets));
            let span = resource
                .body
                .attributes
                .get(issue.attribute.split('.').next().unwrap_or_default())
                .and_then(|a| scope.config.attr_span(&resource.body, a))
                .unwrap_or_else(|| resource.span.clone());
            let d = if issue.is_error {
                Diagnostic::error("TF0510", summary, detail)
            } else {
                Diagnostic::warning("TF0510", summary, detail)
            };
            issues.push(d.with_span(span).with_address(addr));
        }
        if issues.has_errors() {
            return Err(issues);
        }
        Ok(conformed)
    }

    async fn plan_managed(
        &self,
        resource: &Resource,
        addr: &ResourceAddr,
        scope: &Scope<'_>,
        walk: &PlanWalk<'_>,
    ) -> Result<(Change, Diagnostics), Diagnostics> {
        let PlanWalk { block, state, refreshed, options, reads } = *walk;
        let tainted = state.resources.get(addr).is_some_and(|r| r.status == ResourceStatus::Tainted);
        let config = self.instance_config(resource, addr, scope)?;
        let type_name = &resource.id.type_name;
        let provider_key = self.provider_key(resource, &addr.module);
        let provider = self.providers.instance(&provider_key).expect("checked when the engine was built");
        let schema = self.providers.resource_schema(type_name).expect("checked by instance_config");
        let prior = refreshed.get(addr).cloned().flatten();
        let config = provider.plan(type_name, prior.as_ref(), config).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error("TF0511", "Provider rejected the plan", format!("Planning {addr} failed: {e}."))
                    .with_span(resource.span.clone())
                    .with_address(addr),
            )
        })?;
        let replace = tainted || options.replace.iter().any(|r| r == addr);
        let diff = diff_resource(schema, prior.as_ref(), &config, &resource.lifecycle.ignore_changes, replace);
        let mut action = diff.action;
        if action == Action::DeleteThenCreate && resource.lifecycle.create_before_destroy {
            action = Action::CreateThenDelete;
        }
        let mut reason = diff.reason;
        if tainted && action.is_replace() {
            reason = Reason::Tainted;
        }
        let creating = state.resources.get(addr).is_some_and(|r| r.status == ResourceStatus::Creating);
        if prior.is_none() && refreshed.contains_key(addr) && !creating {
            reason = Reason::DeletedOutsideTrustform;
        }
        let dependencies = self.dependency_addresses(block);
        let mut attributes = diff.attributes;
        let mut warnings = Diagnostics::new();
        if reads == DataReads::All && action != Action::NoOp {
            // A replacement creates a new object at its own place: reviewed as a create.
            let reviewed_prior = if action == Action::Update { prior.as_ref() } else { None };
            let review = provider.review(type_name, reviewed_prior, &diff.planned).await.map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error(
                        "TF1001",
                        "Failed to refresh resource",
                        format!("Reading what {addr} would change failed: {e}. Check credentials and connectivity, then run plan again."),
                    )
                    .with_span(resource.span.clone())
                    .with_address(addr),
                )
            })?;
            if let (Action::Create, Some(existing)) = (action, &review.existing) {
                attributes = overwritten_attributes(schema, existing, &diff.planned, attributes);
            }
            let secrets = diff.planned.sensitive_texts();
            for issue in review.issues {
                let (summary, detail) = (redact_texts(&issue.summary, &secrets), redact_texts(&issue.detail, &secrets));
                let d = if issue.is_error {
                    Diagnostic::error("TF0512", summary, detail)
                } else {
                    Diagnostic::warning("TF0512", summary, detail)
                };
                warnings.push(d.with_span(resource.span.clone()).with_address(addr));
            }
            if warnings.has_errors() {
                return Err(warnings);
            }
        }
        let after = diff.planned;
        let values = match prior {
            // `diff_resource` plans a create exactly when there is no prior object.
            None => ChangeValues::Create { after },
            Some(before) => match action {
                Action::NoOp => ChangeValues::NoOp { before: Some(before), after },
                Action::DeleteThenCreate => ChangeValues::Replace { before, after, order: ReplaceOrder::DeleteFirst },
                Action::CreateThenDelete => ChangeValues::Replace { before, after, order: ReplaceOrder::CreateFirst },
                _ => ChangeValues::Update { before, after },
            },
        };
        let change = Change { address: addr.clone(), provider: provider_key, reason, values, attributes, dependencies };
        Ok((change, warnings))
    }

    async fn plan_data(
        &self,
        resource: &Resource,
        block: &BlockAddr,
        addr: &ResourceAddr,
        scope: &Scope<'_>,
        reads: DataReads,
    ) -> Result<Change, Diagnostics> {
        let config = self.instance_config(resource, addr, scope)?;
        let type_name = &resource.id.type_name;
        let schema = self.providers.data_schema(type_name).expect("checked by instance_config");
        let offline = reads == DataReads::LocalOnly && !schema.local;
        let dependencies = self.dependency_addresses(block);
        // With depends_on, the read waits for apply, after its dependencies have changed.
        let values = if offline || config.contains_unknown() || !resource.depends_on.is_empty() {
            ChangeValues::Read { after: merge_planned(&schema.block, None, &config) }
        } else {
            ChangeValues::NoOp { before: None, after: self.read_data(resource, addr, &config).await? }
        };
        Ok(Change {
            address: addr.clone(),
            provider: self.provider_key(resource, &addr.module),
            reason: Reason::None,
            values,
            attributes: Vec::new(),
            dependencies,
        })
    }

    pub(crate) async fn read_data(
        &self,
        resource: &Resource,
        addr: &ResourceAddr,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let type_name = &resource.id.type_name;
        let key = self.provider_key(resource, &addr.module);
        let provider = self.providers.instance(&key).expect("checked when the engine was built");
        provider.read_data(type_name, config).await.map_err(|e| {
            Diagnostics::from(
                Diagnostic::error(
                    "TF1002",
                    "Failed to read data source",
                    format!("Reading {addr} failed: {e}. Check its arguments and your credentials."),
                )
                .with_span(resource.span.clone())
                .with_address(addr),
            )
        })
    }

    fn plan_outputs(&self, state: &State, modules: &ModuleEval<'_>, plan: &mut Plan, diags: &mut Diagnostics) {
        let scope = modules.root_scope();
        for (name, output) in &self.config.outputs {
            let after = match scope.eval(&output.value) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            };
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
                diags.extend(verdict.diagnostics);
                continue;
            }
            if after.contains_sensitive() && !output.sensitive {
                diags.push(
                    Diagnostic::error(
                        "TF0800",
                        "Output refers to sensitive values",
                        format!("The output \"{name}\" contains a sensitive value, so it would be shown in plain text. Add sensitive = true to the output block, or remove the sensitive part."),
                    )
                    .with_span(output.span.clone()),
                );
                continue;
            }
            let before = state.outputs.get(name).map(|o| Value::from_json(&o.value));
            plan.outputs.insert(
                name.clone(),
                OutputChange { name: name.clone(), before, after: Some(after), sensitive: output.sensitive },
            );
        }
        for (name, output) in &state.outputs {
            if !self.config.outputs.contains_key(name) {
                plan.outputs.insert(
                    name.clone(),
                    OutputChange {
                        name: name.clone(),
                        before: Some(Value::from_json(&output.value)),
                        after: None,
                        sensitive: output.sensitive,
                    },
                );
            }
        }
    }

    /// Resource blocks the plan covers, or `None` for all of them. A module target covers
    /// every block in the module and the modules it calls.
    fn target_blocks(&self, options: &PlanOptions) -> Option<BTreeSet<BlockAddr>> {
        if options.targets.is_empty() && options.module_targets.is_empty() {
            return None;
        }
        let mut targets: BTreeSet<BlockAddr> = options.targets.iter().map(BlockAddr::of).collect();
        for module in &options.module_targets {
            let names = trustform_lang::static_module_path(module);
            targets.extend(self.graph.blocks().filter(|b| b.module.starts_with(&names)).cloned());
        }
        Some(self.graph.with_dependencies(&targets))
    }

    fn target_filter(&self, options: &PlanOptions) -> impl Fn(&ResourceAddr) -> bool + '_ {
        let targets = options.targets.clone();
        let module_targets = options.module_targets.clone();
        move |addr: &ResourceAddr| {
            (targets.is_empty() && module_targets.is_empty())
                || targets.iter().any(|t| {
                    t.resource == addr.resource
                        && t.module.len() == addr.module.len()
                        && trustform_lang::module_matches(&t.module, &addr.module)
                        && (t.key.is_none() || t.key == addr.key)
                })
                || module_targets.iter().any(|m| trustform_lang::module_matches(m, &addr.module))
        }
    }

    /// What an instance of `block` depends on: each block it refers to, without instance keys,
    /// naming all of that block's instances (see [`ResourceAddr::names`]), as Terraform records
    /// dependencies. One address per block, however many instances it has: listing instances
    /// made a block of n instances that reads another of n hold n² addresses.
    pub(crate) fn dependency_addresses(&self, block: &BlockAddr) -> Vec<ResourceAddr> {
        let mut out: Vec<ResourceAddr> =
            self.graph.resource_dependencies(block).iter().map(BlockAddr::address).collect();
        out.sort();
        out
    }
}

pub(crate) fn state_values(state: &State) -> BTreeMap<ResourceAddr, Value> {
    state.resources.iter().map(|(addr, r)| (addr.clone(), r.value())).collect()
}

fn provider_name(state: &State, addr: &ResourceAddr) -> String {
    state.resources.get(addr).map_or_else(|| addr.resource.provider_name().to_owned(), |r| r.provider.clone())
}

fn dependencies_in_state(state: &State, addr: &ResourceAddr) -> Vec<ResourceAddr> {
    state.resources.get(addr).map(|r| r.dependencies.clone()).unwrap_or_default()
}

fn changed_attributes(before: &Value, after: &Value) -> Vec<AttributeChange> {
    let empty = BTreeMap::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    names
        .into_iter()
        .filter(|n| b.get(*n).map(Value::deep_unmark) != a.get(*n).map(Value::deep_unmark))
        .map(|n| AttributeChange {
            name: n.clone(),
            before: b.get(n).cloned(),
            after: a.get(n).cloned(),
            forces_replacement: false,
        })
        .collect()
}

/// The object an earlier, interrupted run created at `planned`'s place, when a create now hears
/// that it exists although refresh did not find it: clouds show new objects after a while (a
/// Google service account, an EKS association), so it is looked up again, by its planned id or
/// natural key, with backoff for up to half a minute. `None` when it does not show, or shows
/// different from the plan: the create's own error stands.
pub(crate) async fn look_up_interrupted(
    provider: &dyn trustform_provider::Provider,
    type_name: &str,
    planned: &Value,
) -> Option<Value> {
    let findable = provider.findable(type_name);
    let by_id = planned.get("id").and_then(Value::as_str).is_some_and(|id| !id.is_empty());
    if !findable && !by_id {
        return None;
    }
    let mut delay = std::time::Duration::from_millis(100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found =
            if findable { provider.find(type_name, planned).await } else { provider.read(type_name, planned).await };
        match found {
            Ok(Some(value)) => return Some(value.mark_paths(&planned.sensitive_paths())),
            // Not shown yet: absent, or (Google) denied until it shows.
            Ok(None) | Err(ProviderError { kind: ProviderErrorKind::Denied | ProviderErrorKind::NotFound, .. })
                if std::time::Instant::now() + delay < deadline =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(4));
            }
            _ => return None,
        }
    }
}

/// A create's attribute changes when it overwrites what is there (an authoritative binding's
/// members): each configurable attribute shows the live value it replaces, so the plan lists
/// what the create removes, not only what it adds.
fn overwritten_attributes(
    schema: &trustform_schema::ResourceSchema,
    existing: &Value,
    planned: &Value,
    created: Vec<AttributeChange>,
) -> Vec<AttributeChange> {
    let configurable =
        |name: &str| schema.block.attributes.get(name).is_some_and(|a| a.mode != trustform_schema::Mode::Computed);
    let differs = |name: &str| {
        let (live, after) = (existing.get(name).unwrap_or(&Value::Null), planned.get(name).unwrap_or(&Value::Null));
        let equal = match schema.block.attributes.get(name) {
            Some(attr) => trustform_schema::values_equal(attr, live, after),
            None => live.eq_ignoring_marks(after),
        };
        !live.is_null() && !after.contains_unknown() && !equal
    };
    let mut out: Vec<AttributeChange> = created
        .into_iter()
        .map(|mut change| {
            if configurable(&change.name) && differs(&change.name) {
                change.before = existing.get(&change.name).cloned();
            }
            change
        })
        .collect();
    for name in existing.as_object().into_iter().flatten().map(|(name, _)| name) {
        if configurable(name) && differs(name) && !out.iter().any(|c| &c.name == name) {
            out.push(AttributeChange {
                name: name.clone(),
                before: existing.get(name).cloned(),
                after: planned.get(name).cloned(),
                forces_replacement: false,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub(crate) fn missing_provider(addr: &ResourceAddr, key: &str) -> Diagnostic {
    let detail = match key.rsplit_once('.').filter(|_| !key.starts_with("module.")) {
        // Terraform: "Provider configuration not present" when the aliased block is gone.
        Some((name, alias)) => format!("State records {addr} as made through the provider configuration {key}, but no provider \"{name}\" block has alias = \"{alias}\" any more. Put that block back (it is needed to read and delete the object), or remove the resource from state with `trustform state rm {addr}`."),
        None if key.starts_with("module.") => format!("State records {addr} as made through the provider configuration of {key}, which the configuration no longer has. Put the module and its provider block back (they are needed to read and delete the object), or remove the resource from state with `trustform state rm {addr}`."),
        None => format!("State holds {addr}, but no provider named \"{key}\" is available in this build. Use a build with that provider, or remove the resource from state with `trustform state rm {addr}`."),
    };
    Diagnostic::error("TF0501", "Provider not available", detail).with_address(addr)
}

pub(crate) fn interrupted() -> Diagnostic {
    Diagnostic::error(
        "TF1003",
        "Operation interrupted",
        "The run was interrupted: work in flight finished and state was saved, but the rest was not started. Run the command again to continue.",
    )
}

/// A create that was sent by a run which stopped before saving the answer, for an object whose
/// id the cloud chooses: it cannot be looked up, so it is created again.
fn interrupted_create(addr: &ResourceAddr) -> Diagnostic {
    Diagnostic::warning(
        "TF1006",
        "A create may have been interrupted",
        format!("The run that created {addr} stopped before saving the answer, and its id was to come from the cloud, so it cannot be looked up: it will be created again. If that create finds it existing, bring it under management with `trustform import {addr} ID`; if a second object appears, delete the older one."),
    )
    .with_address(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Type;
    use trustform_schema::{Attribute, Block, Compare, ResourceSchema};

    fn binding_schema() -> ResourceSchema {
        ResourceSchema::new(
            "test_iam_binding",
            Block::new()
                .attr("project", Attribute::optional_computed(Type::String))
                .attr("role", Attribute::required(Type::String))
                .attr("members", Attribute::required(Type::List(Box::new(Type::String))).compare(Compare::Set))
                .attr("id", Attribute::computed(Type::String)),
        )
    }

    fn binding(members: &[&str]) -> Value {
        Value::object([
            ("project", Value::from("p")),
            ("role", Value::from("roles/owner")),
            ("members", Value::List(members.iter().map(|m| Value::from(*m)).collect())),
            ("id", Value::from("p/roles/owner")),
        ])
    }

    #[test]
    fn a_create_that_overwrites_shows_what_it_replaces() {
        let schema = binding_schema();
        let planned = binding(&["user:bob"]);
        let created = trustform_plan::diff_resource(&schema, None, &planned, &Default::default(), false).attributes;
        let shown = overwritten_attributes(&schema, &binding(&["user:alice"]), &planned, created.clone());
        let members = shown.iter().find(|a| a.name == "members").expect("members are shown");
        assert_eq!(members.before, Some(Value::List(vec!["user:alice".into()])));
        assert_eq!(members.after, Some(Value::List(vec!["user:bob".into()])));
        // What the live object shares with the plan stays a plain addition.
        assert!(shown.iter().filter(|a| a.name != "members").all(|a| a.before.is_none()), "{shown:?}");

        // The same members in another order replace nothing.
        let same = overwritten_attributes(&schema, &binding(&["user:bob"]), &planned, created.clone());
        assert_eq!(same, created);
        // An attribute the plan leaves out but the object has is shown going away.
        let mut without = planned.as_object().cloned().unwrap();
        without.insert("members".into(), Value::List(Vec::new()));
        let without = Value::Object(without);
        let created = trustform_plan::diff_resource(&schema, None, &without, &Default::default(), false).attributes;
        let shown = overwritten_attributes(&schema, &binding(&["user:alice"]), &without, created);
        assert!(shown.iter().any(|a| a.name == "members" && a.before.is_some()), "{shown:?}");
    }
}
