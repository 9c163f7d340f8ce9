//! The values resources have during one phase, as expressions see them.

use crate::graph::BlockAddr;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use trustform_lang::{InstanceKey, ModuleStep, ResourceAddr, ResourceId, ResourceValues, Value};

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
    root_expansions: RwLock<HashMap<ResourceId, Expansion>>,
    module_expansions: RwLock<HashMap<Vec<String>, HashMap<ResourceId, Expansion>>>,
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

    /// Every instance address of a resource block, in every instance of its module, that has
    /// a value.
    pub fn addresses_of(&self, block: &BlockAddr) -> Vec<ResourceAddr> {
        let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
        if block.module.is_empty() {
            return instances
                .range(block.id.instance(None)..)
                .take_while(|(addr, _)| addr.module.is_empty() && addr.resource == block.id)
                .map(|(addr, _)| addr.clone())
                .collect();
        }
        instances.keys().filter(|addr| block.contains(addr)).cloned().collect()
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

    fn resource_at(&self, module: &[ModuleStep], id: &ResourceId, names: &[&str]) -> Option<(Value, usize)> {
        if self.expansion(module, id)? != Expansion::Single {
            return self.block_value(module, id).map(|value| value.at_attributes(names));
        }
        // Read in place: only the attribute read is cloned, not the whole resource.
        let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
        Some(match instances.get(&id.instance(None).in_module(module.to_vec())) {
            Some(value) => value.at_attributes(names),
            None => (Value::Unknown, names.len()),
        })
    }
}
