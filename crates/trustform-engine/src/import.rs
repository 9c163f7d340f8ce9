//! `trustform import ADDR ID`, and `import` blocks: bring an existing cloud object under
//! management.

use crate::engine::Engine;
use crate::values::Values;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::{Import, Repetition, Resource};
use trustform_lang::{Instance, InstanceKey, LocalsCache, ResourceAddr, Scope, Value};
use trustform_plan::{ImportedObject, Plan};
use trustform_provider::ProviderErrorKind;
use trustform_state::{ResourceState, State, StateStore};

impl Engine {
    /// Reads the object `id` through its provider and records it at `addr`, which must be
    /// declared in the configuration and not yet in state. Persists before returning.
    pub async fn import(
        &self,
        addr: &ResourceAddr,
        id: &str,
        mut state: State,
        store: &dyn StateStore,
    ) -> (State, Diagnostics) {
        let mut diags = self.configure_providers(&state).await;
        if diags.has_errors() {
            return (state, diags);
        }
        let Some(resource) = self.block(addr).filter(|_| !addr.is_data()) else {
            diags.push(Diagnostic::error(
                "TF1100",
                "Import to undeclared resource",
                format!("{addr} is not declared in the configuration. Add a resource \"{}\" \"{}\" block first, then import into it.", addr.resource.type_name, addr.resource.name),
            ));
            return (state, diags);
        };
        if let Some(existing) = state.resources.get(addr) {
            diags.push(
                Diagnostic::error(
                    "TF1101",
                    "Resource already managed",
                    format!("{addr} is already in state with id {:?}. To import another object there, first run `trustform state rm {addr}`.", existing.id),
                )
                .with_span(resource.span.clone()),
            );
            return (state, diags);
        }
        let type_name = addr.type_name();
        let provider_key = self.provider_key(resource, &addr.module);
        let provider = self.providers.instance(&provider_key).expect("checked when the engine was built");
        let schema = self.providers.resource_schema(type_name).expect("checked when the engine was built");
        let value = match provider.import(type_name, id).await {
            Ok(value) => value,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "TF1102",
                        "Import failed",
                        format!(
                            "Importing {addr} from id {id:?} failed: {e}. The id format for {type_name} is {}.",
                            schema.import_id_format
                        ),
                    )
                    .with_span(resource.span.clone())
                    .with_address(addr),
                );
                return (state, diags);
            }
        };
        let sensitive: Vec<_> = schema.block.sensitive_attributes().map(trustform_lang::Path::key).collect();
        let value: Value = value.mark_paths(&sensitive);
        let dependencies = Vec::new();
        match ResourceState::from_value(type_name, &provider_key, &value, dependencies) {
            Ok(recorded) => {
                state.resources.insert(addr.clone(), recorded);
                state.serial = state.serial.saturating_add(1);
                if let Err(e) = store.write(&state).await {
                    diags.push(Diagnostic::error(
                        "TF1010",
                        "Failed to persist state",
                        format!("Writing {} failed: {e}.", store.describe()),
                    ));
                }
            }
            Err(e) => diags.push(Diagnostic::error(
                "TF1102",
                "Import failed",
                format!("The provider returned an unusable state for {addr}: {e}."),
            )),
        }
        (state, diags)
    }
}

impl Engine {
    /// Reads the object of every `import` block whose target the state does not record yet and
    /// puts it in `state` (the prior state a plan is made against), so the plan diffs it against
    /// its configuration like any recorded object: no change, or an update. A target the state
    /// already records is managed already, and its block does nothing (as in Terraform).
    pub(crate) async fn read_import_blocks(
        &self,
        state: &mut State,
        wanted: &dyn Fn(&ResourceAddr) -> bool,
    ) -> (Vec<ImportedObject>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut imported = Vec::new();
        let (values, locals) = (Values::default(), LocalsCache::default());
        let scope = Scope::new(&self.config, &self.variables, &values, &locals);
        let mut targets = Vec::new();
        for block in &self.config.imports {
            match self.import_targets(block, &scope) {
                Ok(found) => targets.extend(found.into_iter().map(|(addr, instance)| (block, addr, instance))),
                Err(d) => diags.push(*d),
            }
        }
        for (block, addr, instance) in targets {
            let addr = &addr;
            if state.resources.contains_key(addr) || !wanted(addr) {
                continue;
            }
            let Some(resource) = self.block(addr) else { continue };
            let provider_key = self.provider_key(resource, &addr.module);
            let span = self.config.span(&block.id).unwrap_or_else(|| block.span.clone());
            let id = match scope.with_instance(instance).eval(&block.id) {
                Ok(id) if id.contains_unknown() || id.is_sensitive() || id.as_str().is_none_or(str::is_empty) => {
                    diags.push(
                        Diagnostic::error(
                            "TF0153",
                            "Invalid import id argument",
                            "The import id must be a non-empty string known before the plan, and not sensitive (it is shown in the plan). Give it from variables, locals or a literal.",
                        )
                        .with_span(span)
                        .with_address(addr),
                    );
                    continue;
                }
                Ok(id) => id.as_str().unwrap_or_default().to_owned(),
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            };
            let type_name = addr.type_name();
            let (Some(provider), Some(schema)) =
                (self.providers.instance(&provider_key), self.providers.resource_schema(type_name))
            else {
                continue;
            };
            let value = match provider.import(type_name, &id).await {
                Ok(value) => value,
                // internal/terraform/node_resource_plan_instance.go: "Cannot import
                // non-existent remote object".
                Err(e) if e.kind == ProviderErrorKind::NotFound => {
                    diags.push(
                        Diagnostic::error(
                            "TF0719",
                            "Cannot import non-existent remote object",
                            format!(
                                "While attempting to import an existing object to {addr}, the provider detected that no object exists with the given id {id:?}. Only pre-existing objects can be imported; check that the id is correct (the format for {type_name} is {}) and that it is in the account, project or subscription the provider is configured for, or remove the import block to create a new object.",
                                schema.import_id_format
                            ),
                        )
                        .with_span(span)
                        .with_address(addr),
                    );
                    continue;
                }
                Err(e) => {
                    diags.push(
                        Diagnostic::error(
                            "TF1102",
                            "Import failed",
                            format!(
                                "Importing {addr} from id {id:?} failed: {e}. The id format for {type_name} is {}.",
                                schema.import_id_format
                            ),
                        )
                        .with_span(span)
                        .with_address(addr),
                    );
                    continue;
                }
            };
            let sensitive: Vec<_> = schema.block.sensitive_attributes().map(trustform_lang::Path::key).collect();
            let value = value.mark_paths(&sensitive);
            match ResourceState::from_value(type_name, &provider_key, &value, Vec::new()) {
                Ok(recorded) => {
                    state.resources.insert(addr.clone(), recorded);
                    imported.push(ImportedObject { address: addr.clone(), id });
                }
                Err(e) => diags.push(
                    Diagnostic::error(
                        "TF1102",
                        "Import failed",
                        format!("The provider returned an unusable state for {addr}: {e}."),
                    )
                    .with_address(addr),
                ),
            }
        }
        (imported, diags)
    }

    /// The instances an import block imports into, each with the `each` its `id` sees: one
    /// without `for_each`, else one per element (the rules of a resource's `for_each`).
    fn import_targets(&self, block: &Import, scope: &Scope) -> Result<Vec<(ResourceAddr, Instance)>, Box<Diagnostic>> {
        let Some(for_each) = &block.for_each else { return Ok(vec![(block.to.clone(), Instance::None)]) };
        let repeated = Resource {
            id: block.to.resource.clone(),
            body: Default::default(),
            repetition: Repetition::ForEach(for_each.clone()),
            depends_on: Vec::new(),
            depends_on_modules: Vec::new(),
            lifecycle: Default::default(),
            provider: None,
            conditions: Default::default(),
            span: block.span.clone(),
        };
        let mut targets = Vec::new();
        for instance in self.expand(&repeated, scope)? {
            let key = match &block.to_key {
                None => block.to.key.clone(),
                Some(expr) => {
                    let key = scope.with_instance(instance.clone()).eval(expr)?;
                    let key = match key.unmarked() {
                        Value::String(s) if !key.is_sensitive() => InstanceKey::Str(s.clone()),
                        Value::Number(n) if !key.is_sensitive() => match n.as_i64() {
                            Some(i) if i >= 0 => InstanceKey::Int(i as u64),
                            _ => return Err(invalid_import_key(block, self)),
                        },
                        _ => return Err(invalid_import_key(block, self)),
                    };
                    Some(key)
                }
            };
            targets.push((block.to.resource.instance(key).in_module(block.to.module.clone()), instance));
        }
        Ok(targets)
    }

    /// Import blocks whose target has no resource block (which `plan --generate-config-out`
    /// can write). Not a load error, so that flag can see them.
    pub(crate) fn undeclared_import_targets(&self) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for import in self.config.imports.iter().filter(|i| self.block(&i.to).is_none()) {
            // internal/terraform/context_plan.go: "Configuration for import target does not exist".
            diags.push(
                Diagnostic::error(
                    "TF0718",
                    "Configuration for import target does not exist",
                    format!(
                        "The configuration for the given import target {} does not exist. All target instances must have an associated configuration to be imported: add a resource \"{}\" \"{}\" block, or let `trustform plan --generate-config-out FILE` write one.",
                        import.to, import.to.resource.type_name, import.to.resource.name
                    ),
                )
                .with_span(import.span.clone()),
            );
        }
        diags
    }

    /// An import block whose target `count` or `for_each` does not produce.
    pub(crate) fn check_import_targets(&self, plan: &Plan) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for imported in &plan.imported {
            let declared = plan.change(&imported.address).is_some_and(|c| c.after().is_some());
            if !declared {
                let span = self
                    .config
                    .imports
                    .iter()
                    .find(|i| i.to.resource == imported.address.resource)
                    .map(|i| i.span.clone());
                diags.push(
                    Diagnostic::error(
                        "TF0718",
                        "Configuration for import target does not exist",
                        format!(
                            "The configuration for the given import target {} does not exist: its resource's count or for_each does not produce that instance. Import into an instance the configuration declares.",
                            imported.address
                        ),
                    )
                    .with_span(span)
                    .with_address(&imported.address),
                );
            }
        }
        diags
    }

    /// Re-reads a saved plan's imported objects and records them in `state` (a copy checked
    /// against the plan): each must still be unmanaged and still read as the plan found it.
    pub(crate) async fn replay_imports(&self, plan: &Plan, state: &mut State) -> Result<(), (ResourceAddr, String)> {
        for imported in &plan.imported {
            let addr = &imported.address;
            let fail = |problem: String| (addr.clone(), problem);
            if state.resources.contains_key(addr) {
                return Err(fail("the plan imports it, but the state already records it".to_owned()));
            }
            let claimed = plan.change(addr).and_then(|c| c.before());
            let type_name = addr.type_name();
            let provider =
                self.providers.for_type(type_name).ok_or_else(|| fail("no provider serves its type".to_owned()))?;
            let now = provider
                .import(type_name, &imported.id)
                .await
                .map_err(|e| fail(format!("reading the object to import failed: {e}")))?;
            let now = match claimed {
                Some(claimed) => now.mark_paths(&claimed.sensitive_paths()),
                None => now,
            };
            if !self.same_object_value(addr, Some(&now), claimed) {
                return Err(fail("the object to import is not the one the plan read".to_owned()));
            }
            let provider_name = plan
                .change(addr)
                .map(|c| c.provider.clone())
                .unwrap_or_else(|| addr.resource.provider_name().to_owned());
            let recorded = ResourceState::from_value(type_name, &provider_name, &now, Vec::new())
                .map_err(|e| fail(format!("the provider returned an unusable state: {e}")))?;
            state.resources.insert(addr.clone(), recorded);
        }
        Ok(())
    }
}

fn invalid_import_key(block: &Import, engine: &Engine) -> Box<Diagnostic> {
    let span = block.to_key.as_ref().and_then(|k| engine.config.span(k)).unwrap_or_else(|| block.span.clone());
    Box::new(
        Diagnostic::error(
            "TF0153",
            "Invalid import target key",
            format!("The key of {}[...] must be a string or a whole number known at plan time, and not sensitive. Use each.key, or a name from each.value.", block.to.resource),
        )
        .with_span(span),
    )
}
