//! The values resources have during one phase, as expressions see them.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use trustform_lang::{InstanceKey, ResourceAddr, ResourceId, ResourceValues, Value};

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
    expansions: RwLock<HashMap<ResourceId, Expansion>>,
    instances: RwLock<BTreeMap<ResourceAddr, Value>>,
}

impl Values {
    pub fn set_expansion(&self, id: &ResourceId, expansion: Expansion) {
        self.expansions.write().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), expansion);
    }

    pub fn set(&self, addr: &ResourceAddr, value: Value) {
        self.instances.write().unwrap_or_else(|e| e.into_inner()).insert(addr.clone(), value);
    }

    pub fn remove(&self, addr: &ResourceAddr) {
        self.instances.write().unwrap_or_else(|e| e.into_inner()).remove(addr);
    }

    /// Every instance address of a resource block that has a value.
    pub fn addresses_of(&self, id: &ResourceId) -> Vec<ResourceAddr> {
        let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
        instances
            .range(id.instance(None)..)
            .take_while(|(addr, _)| &addr.resource == id)
            .map(|(addr, _)| addr.clone())
            .collect()
    }
}

impl ResourceValues for Values {
    fn resource(&self, id: &ResourceId) -> Option<Value> {
        let expansion = *self.expansions.read().unwrap_or_else(|e| e.into_inner()).get(id)?;
        let instances = self.instances.read().unwrap_or_else(|e| e.into_inner());
        let start = id.instance(None);
        let of_block = instances.range(start..).take_while(|(addr, _)| &addr.resource == id);
        Some(match expansion {
            Expansion::Unknown => Value::Unknown,
            Expansion::Single => instances.get(&id.instance(None)).cloned().unwrap_or(Value::Unknown),
            Expansion::Count => {
                let mut items: Vec<(u64, Value)> = of_block
                    .filter_map(|(addr, v)| match addr.key {
                        Some(InstanceKey::Int(i)) => Some((i, v.clone())),
                        _ => None,
                    })
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::List(items.into_iter().map(|(_, v)| v).collect())
            }
            Expansion::ForEach => Value::Object(
                of_block
                    .filter_map(|(addr, v)| match &addr.key {
                        Some(InstanceKey::Str(k)) => Some((k.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
            ),
        })
    }
}
