//! The values resources have during one phase, as expressions see them.

use crate::graph::BlockAddr;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use trustform_lang::{InstanceKey, ModuleStep, ResourceAddr, ResourceId, ResourceValues, Step, Value};

/// How a resource block expands, which decides the shape of its value in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    Single,
    Count,
    ForEach,
    /// The expansion itself is not known yet: the whole block's value is unknown.
    Unknown,
}

/// Instance values, written as the walk goes and read by expression evaluation.
#[derive(Default)]
pub struct Values {
    /// How each block expands: the root module's by id (one lookup, the common case), a called
    /// module's by module path, then id.
    root_expansions: RwLock<FxHashMap<ResourceId, Expansion>>,
    module_expansions: RwLock<FxHashMap<Vec<String>, FxHashMap<ResourceId, Expansion>>>,
    /// Shared, so that the apply keeps using a value it has just published without a copy.
    instances: RwLock<BTreeMap<ResourceAddr, Arc<Value>>>,
}

impl Values {
    pub fn set_expansion(&self, block: &BlockAddr, expansion: Expansion) {
        self.seed_expansion(&block.module, &block.id, expansion);
    }

    /// [`Values::set_expansion`] from the block's parts, cloning only what the map keeps.
    pub fn seed_expansion(&self, module: &[String], id: &ResourceId, expansion: Expansion) {
        if module.is_empty() {
            self.root_expansions.write().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), expansion);
            return;
        }
        self.module_expansions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(module.to_vec())
            .or_default()
            .insert(id.clone(), expansion);
    }

    fn expansion(&self, module: &[ModuleStep], id: &ResourceId) -> Option<Expansion> {
        if module.is_empty() {
            return self.root_expansions.read().unwrap_or_else(|e| e.into_inner()).get(id).copied();
        }
        let names: Vec<String> = module.iter().map(|s| s.name.clone()).collect();
        self.module_expansions.read().unwrap_or_else(|e| e.into_inner()).get(&names)?.get(id).copied()
    }

    pub fn set(&self, addr: &ResourceAddr, value: Value) {
        self.share(addr, Arc::new(value));
    }

    /// [`Values::set`] with a value the caller goes on reading.
    pub fn share(&self, addr: &ResourceAddr, value: Arc<Value>) {
        self.instances.write().unwrap_or_else(|e| e.into_inner()).insert(addr.clone(), value);
    }

    pub fn remove(&self, addr: &ResourceAddr) {
        self.instances.write().unwrap_or_else(|e| e.into_inner()).remove(addr);
    }

    /// The value of resource block `id` in the module instance `module`.
    pub fn block_value(&self, module: &[ModuleStep], id: &ResourceId) -> Option<Value> {
        use std::ops::Bound;
        let expansion = self.expansion(module, id)?;
        let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
        let start = id.instance(None).in_module(module.to_vec());
        let of_block = || {
            instances
                .range::<ResourceAddr, _>((Bound::Included(&start), Bound::Unbounded))
                .take_while(|(addr, _)| addr.module == module && &addr.resource == id)
        };
        Some(match expansion {
            Expansion::Unknown => Value::Unknown,
            Expansion::Single => instances.get(&start).map_or(Value::Unknown, |value| Value::clone(value)),
            Expansion::Count => {
                let mut items: Vec<(u64, Value)> = of_block()
                    .filter_map(|(addr, v)| match addr.key {
                        Some(InstanceKey::Int(i)) => Some((i, Value::clone(v))),
                        _ => None,
                    })
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::List(items.into_iter().map(|(_, v)| v).collect())
            }
            Expansion::ForEach => Value::Object(
                of_block()
                    .filter_map(|(addr, v)| match &addr.key {
                        Some(InstanceKey::Str(k)) => Some((k.clone(), Value::clone(v))),
                        _ => None,
                    })
                    .collect(),
            ),
        })
    }
}

impl ResourceValues for Values {
    fn resource(&self, id: &ResourceId) -> Option<Value> {
        self.block_value(&[], id)
    }

    fn resource_in(&self, module: &[ModuleStep], id: &ResourceId) -> Option<Value> {
        self.block_value(module, id)
    }

    fn resource_at(&self, module: &[ModuleStep], id: &ResourceId, steps: &[Step<'_>]) -> Option<(Value, usize)> {
        let expansion = self.expansion(module, id)?;
        // The instance the first step picks, read in place: only what is read is cloned, not
        // the whole resource, nor every instance of the block.
        let (key, picked) = match (expansion, steps.first()) {
            (Expansion::Single, _) => (None, 0),
            (Expansion::ForEach, Some(Step::Key(Value::String(key)))) => (Some(InstanceKey::Str(key.clone())), 1),
            (Expansion::Count, Some(Step::Key(Value::Number(n)))) => {
                match n.as_i64().and_then(|i| u64::try_from(i).ok()) {
                    Some(i) => (Some(InstanceKey::Int(i)), 1),
                    None => return self.block_value(module, id).map(|value| value.read_at(steps)),
                }
            }
            _ => return self.block_value(module, id).map(|value| value.read_at(steps)),
        };
        {
            let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
            match instances.get(&id.instance(key).in_module(module.to_vec())) {
                Some(value) => {
                    let (value, taken) = value.read_at(&steps[picked..]);
                    return Some((value, picked + taken));
                }
                None if expansion == Expansion::Single => return Some((Value::Unknown, steps.len())),
                None => {}
            }
        }
        // No such instance: the whole block, for the expression to say what it has.
        self.block_value(module, id).map(|value| value.read_at(steps))
    }
}
