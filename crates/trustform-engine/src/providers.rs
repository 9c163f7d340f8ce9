//! The providers of one run, by local name.

use crate::builtin::BuiltinProvider;
use std::collections::BTreeMap;
use std::sync::Arc;
use trustform_lang::provider_of;
use trustform_provider::SharedProvider;
use trustform_schema::ResourceSchema;

/// Every provider available to a run, keyed by the name used in specs (`aws`, `google`...).
#[derive(Clone)]
pub struct Providers {
    by_name: BTreeMap<String, SharedProvider>,
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

impl Providers {
    /// The built-in `trustform` provider only.
    pub fn new() -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert("trustform".to_owned(), Arc::new(BuiltinProvider) as SharedProvider);
        Providers { by_name }
    }

    pub fn register(&mut self, provider: SharedProvider) {
        self.by_name.insert(provider.name().to_owned(), provider);
    }

    pub fn get(&self, name: &str) -> Option<&SharedProvider> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The provider for a resource type, by its prefix: `PROVIDER_TYPE` -> `PROVIDER`.
    pub fn for_type(&self, type_name: &str) -> Option<&SharedProvider> {
        self.get(provider_of(type_name))
    }

    pub fn resource_schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.for_type(type_name)?.schema().resources.get(type_name)
    }

    pub fn data_schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.for_type(type_name)?.schema().data_sources.get(type_name)
    }

    /// Every resource type name known, for "did you mean" suggestions.
    pub fn resource_types(&self) -> Vec<&str> {
        self.by_name.values().flat_map(|p| p.schema().resources.keys().map(String::as_str)).collect()
    }
}
