//! Module instances during one phase: which instances each module call has (its `count` or
//! `for_each`, evaluated in the calling instance), the input variables of each, and the value
//! `module.NAME` has for the caller (its outputs). Everything is computed when first asked
//! for, which the walk's order makes safe: a resource is visited after every resource its
//! module's inputs and the outputs it reads depend on (see `ConfigGraph`). During apply a value
//! still unknown is not kept, so it is computed again once what it waits for is applied.

use crate::engine::Engine;
use crate::values::Values;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::config::{Config, ModuleCall, Repetition};
use trustform_lang::{
    module_path_text, module_variables, Instance, LocalsCache, ModuleStep, ResourceId, ResourceValues, Scope, Step,
    Value,
};

/// The instances of one module call in one calling instance, and how they expand.
#[derive(Clone)]
struct Expanded {
    repetition: Shape,
    instances: Vec<Instance>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Count,
    ForEach,
    /// Not known at plan time: an error has been reported.
    Unknown,
}

/// The input variables of one module instance.
type Inputs = Arc<BTreeMap<String, Value>>;

/// Module instances of one phase, over the phase's resource values.
pub(crate) struct ModuleEval<'a> {
    engine: &'a Engine,
    pub(crate) values: &'a Values,
    pub(crate) locals: &'a LocalsCache,
    applying: bool,
    variables: Mutex<HashMap<Vec<ModuleStep>, Inputs>>,
    expansions: Mutex<HashMap<(Vec<ModuleStep>, String), Expanded>>,
    /// The `for_each` instances of resource blocks by key, per module instance: during apply,
    /// once every instance's value is known.
    for_each: Mutex<HashMap<(Vec<ModuleStep>, ResourceId), ForEachInstances>>,
    diags: Mutex<Diagnostics>,
}

type ForEachInstances = Arc<HashMap<String, Instance>>;

impl<'a> ModuleEval<'a> {
    pub(crate) fn new(engine: &'a Engine, values: &'a Values, locals: &'a LocalsCache, applying: bool) -> Self {
        ModuleEval {
            engine,
            values,
            locals,
            applying,
            variables: Mutex::default(),
            expansions: Mutex::default(),
            for_each: Mutex::default(),
            diags: Mutex::default(),
        }
    }

    /// What went wrong expanding calls or checking their inputs so far; each problem once.
    pub(crate) fn take_diagnostics(&self) -> Diagnostics {
        std::mem::take(&mut *self.diags.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The instance `key` of the `for_each` resource block `id` in the module instance `module`,
    /// with `expand` giving all of them. Kept once every instance's `each.value` is known: the
    /// walk visits an instance after everything its block's `for_each` refers to, so the
    /// expansion cannot change after that, and evaluating it once per instance would cost the
    /// apply n² for a block of n instances.
    pub(crate) fn for_each_instance(
        &self,
        module: &[ModuleStep],
        id: &ResourceId,
        key: &str,
        expand: impl FnOnce() -> Result<Vec<Instance>, Box<Diagnostic>>,
    ) -> Result<Option<Instance>, Box<Diagnostic>> {
        let cache_key = (module.to_vec(), id.clone());
        let known = self.for_each.lock().unwrap_or_else(|e| e.into_inner()).get(&cache_key).cloned();
        if let Some(instances) = known {
            return Ok(instances.get(key).cloned());
        }
        let instances = expand()?;
        let found = instances.iter().find(|i| matches!(i, Instance::Each { key: k, .. } if k == key)).cloned();
        let settled = instances.iter().all(|i| match i {
            Instance::Each { value, .. } => !value.contains_unknown(),
            _ => true,
        });
        if self.applying && settled {
            let by_key = instances
                .into_iter()
                .filter_map(|i| match &i {
                    Instance::Each { key, .. } => Some((key.clone(), i)),
                    _ => None,
                })
                .collect();
            self.for_each.lock().unwrap_or_else(|e| e.into_inner()).insert(cache_key, Arc::new(by_key));
        }
        Ok(found)
    }

    /// The configuration and input variables of a module instance.
    pub(crate) fn parts(&self, module: &[ModuleStep]) -> Option<(&'a Config, Inputs)> {
        let config = self.engine.config.module(module)?;
        if module.is_empty() {
            return Some((config, Arc::new(self.engine.variables.clone())));
        }
        Some((config, self.instance_variables(module)))
    }

    /// Runs `f` with the scope of a module instance (the root's for `[]`).
    pub(crate) fn with_scope<R>(&self, module: &[ModuleStep], f: impl FnOnce(&Scope) -> R) -> Option<R> {
        if module.is_empty() {
            let scope = self.root_scope();
            return Some(f(&scope));
        }
        let (config, variables) = self.parts(module)?;
        let scope = self.root_scope().in_module(module, config, &variables);
        Some(f(&scope))
    }

    /// The root module's scope of this phase.
    pub(crate) fn root_scope(&self) -> Scope<'_> {
        let scope = Scope::new(&self.engine.config, &self.engine.variables, self, self.locals);
        if self.applying {
            scope.applying()
        } else {
            scope
        }
    }

    /// Every instance of the module at `path` (call names), parents expanded first; `[[]]` for
    /// the root. A call whose expansion is not known has no instances.
    pub(crate) fn instances(&self, path: &[String]) -> Vec<Vec<ModuleStep>> {
        let mut out: Vec<Vec<ModuleStep>> = vec![Vec::new()];
        for name in path {
            let mut next = Vec::new();
            for parent in &out {
                let Some(expanded) = self.expansion(parent, name) else { continue };
                for instance in expanded.instances {
                    let mut child = parent.clone();
                    child.push(ModuleStep { name: name.clone(), key: instance.key() });
                    next.push(child);
                }
            }
            out = next;
        }
        out
    }

    fn call(&self, parent: &[ModuleStep], name: &str) -> Option<&'a ModuleCall> {
        self.engine.config.module(parent)?.module_calls.get(name)
    }

    fn expansion(&self, parent: &[ModuleStep], name: &str) -> Option<Expanded> {
        let key = (parent.to_vec(), name.to_owned());
        if let Some(found) = self.expansions.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Some(found.clone());
        }
        let call = self.call(parent, name)?;
        let expanded = self.with_scope(parent, |scope| {
            let shape = match call.repetition {
                Repetition::Single => Shape::Single,
                Repetition::Count(_) => Shape::Count,
                Repetition::ForEach(_) => Shape::ForEach,
            };
            match self.engine.expand_repetition(&call.repetition, &call.span, &module_label(parent, name), scope) {
                Ok(instances) => Ok(Expanded { repetition: shape, instances }),
                Err(d) => Err(d),
            }
        })?;
        let expanded = match expanded {
            Ok(expanded) => expanded,
            Err(d) => {
                // Unknown during apply: asked again once its dependencies are applied.
                if self.applying {
                    return None;
                }
                self.report(*d);
                Expanded { repetition: Shape::Unknown, instances: Vec::new() }
            }
        };
        self.expansions.lock().unwrap_or_else(|e| e.into_inner()).insert(key, expanded.clone());
        Some(expanded)
    }

    fn report(&self, diagnostic: Diagnostic) {
        let mut diags = self.diags.lock().unwrap_or_else(|e| e.into_inner());
        if !diags
            .iter()
            .any(|d| d.code == diagnostic.code && d.span == diagnostic.span && d.detail == diagnostic.detail)
        {
            diags.push(diagnostic);
        }
    }

    /// The input variables of a module instance, evaluated in its caller.
    fn instance_variables(&self, module: &[ModuleStep]) -> Inputs {
        if let Some(found) = self.variables.lock().unwrap_or_else(|e| e.into_inner()).get(module) {
            return found.clone();
        }
        let Some((step, parent)) = module.split_last() else {
            return Arc::new(self.engine.variables.clone());
        };
        let Some(call) = self.call(parent, &step.name) else { return Arc::default() };
        let instance = self
            .expansion(parent, &step.name)
            .and_then(|e| e.instances.into_iter().find(|i| i.key() == step.key))
            .unwrap_or_default();
        let passed = self.with_scope(parent, |scope| {
            let scope = scope.with_instance(instance);
            let mut passed = BTreeMap::new();
            for (name, attr) in &call.arguments.attributes {
                let span = scope.config.attr_span(&call.arguments, attr);
                match scope.eval(&attr.expr) {
                    Ok(value) => {
                        passed.insert(name.clone(), (value, span));
                    }
                    Err(d) => {
                        if !self.applying {
                            self.report(*d);
                        }
                        passed.insert(name.clone(), (Value::Unknown, span));
                    }
                }
            }
            passed
        });
        let instance = module_path_text(module);
        let (variables, diags) = module_variables(&call.module, &instance, passed.unwrap_or_default());
        if !self.applying {
            // Each problem names the module instance whose input it is: the module's file alone
            // does not say which of a for_each's instances was given the value.
            for d in diags {
                let d = if d.address.is_none() { d.with_address(&instance) } else { d };
                self.report(d);
            }
        }
        let variables = Arc::new(variables);
        if !self.applying || !variables.values().any(Value::contains_unknown) {
            self.variables.lock().unwrap_or_else(|e| e.into_inner()).insert(module.to_vec(), variables.clone());
        }
        variables
    }

    /// The outputs of one module instance as an object.
    fn outputs(&self, module: &[ModuleStep]) -> Value {
        let Some(config) = self.engine.config.module(module) else { return Value::Unknown };
        self.with_scope(module, |scope| {
            let mut out = BTreeMap::new();
            for (name, output) in &config.outputs {
                let value = match scope.eval(&output.value) {
                    Ok(value) => value.mark_if(output.sensitive),
                    Err(d) => {
                        if !self.applying {
                            self.report(*d);
                        }
                        Value::Unknown
                    }
                };
                out.insert(name.clone(), value);
            }
            Value::Object(out)
        })
        .unwrap_or(Value::Unknown)
    }
}

/// `module.a["x"].module.b`, how a module call is named in diagnostics.
fn module_label(parent: &[ModuleStep], name: &str) -> String {
    match parent.is_empty() {
        true => format!("module.{name}"),
        false => format!("{}.module.{name}", module_path_text(parent)),
    }
}

impl ResourceValues for ModuleEval<'_> {
    fn resource(&self, id: &ResourceId) -> Option<Value> {
        self.values.block_value(&[], id)
    }

    fn resource_in(&self, module: &[ModuleStep], id: &ResourceId) -> Option<Value> {
        self.values.block_value(module, id)
    }

    fn resource_at(&self, module: &[ModuleStep], id: &ResourceId, steps: &[Step<'_>]) -> Option<(Value, usize)> {
        self.values.resource_at(module, id, steps)
    }

    fn module_call(&self, from: &[ModuleStep], name: &str) -> Option<Value> {
        let expanded = self.expansion(from, name)?;
        let child = |instance: &Instance| {
            let mut path = from.to_vec();
            path.push(ModuleStep { name: name.to_owned(), key: instance.key() });
            self.outputs(&path)
        };
        Some(match expanded.repetition {
            Shape::Unknown => Value::Unknown,
            Shape::Single => expanded.instances.first().map_or(Value::Unknown, child),
            Shape::Count => Value::List(expanded.instances.iter().map(child).collect()),
            Shape::ForEach => Value::Object(
                expanded
                    .instances
                    .iter()
                    .map(|i| match i {
                        Instance::Each { key, .. } => (key.clone(), child(i)),
                        _ => (String::new(), child(i)),
                    })
                    .collect(),
            ),
        })
    }
}
