//! The providers of one run, by local name.

use crate::builtin::BuiltinProvider;
use std::collections::BTreeMap;
use std::sync::Arc;
use trustform_lang::provider_of;
use trustform_provider::SharedProvider;
use trustform_schema::ResourceSchema;

/// Whether a configuration key names an instance of its own: an alias (`aws.bedrock`) or a
/// configuration in a called module (`module.vertex.aws`).
fn is_own_instance(key: &str) -> bool {
    key.contains('.')
}

/// The provider of a configuration key: `aws` for `aws`, `aws.bedrock`, `module.vertex.aws`.
pub fn provider_name_of(key: &str) -> &str {
    let (_, rest) = trustform_lang::parse_module_prefix(key).unwrap_or((Vec::new(), key));
    rest.split('.').next().unwrap_or(rest)
}

/// Makes a fresh, unconfigured instance of one provider, for an aliased configuration.
pub type ProviderFactory = Arc<dyn Fn() -> SharedProvider + Send + Sync>;

/// Every provider available to a run, keyed by the name used in specs (`aws`, `google`...),
/// and one more instance per aliased configuration (`aws.bedrock`), each configured from its
/// own `provider` block.
#[derive(Clone)]
pub struct Providers {
    by_name: BTreeMap<String, SharedProvider>,
    factories: BTreeMap<String, ProviderFactory>,
    aliases: BTreeMap<String, SharedProvider>,
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
        Providers { by_name, factories: BTreeMap::new(), aliases: BTreeMap::new() }
    }

    pub fn register(&mut self, provider: SharedProvider) {
        self.by_name.insert(provider.name().to_owned(), provider);
    }

    /// Registers a provider whose configurations may have aliases: `factory` makes the instance
    /// of each alias (the default instance is made now).
    pub fn register_with_aliases(&mut self, factory: ProviderFactory) {
        let provider = factory();
        let name = provider.name().to_owned();
        self.by_name.insert(name.clone(), provider);
        self.factories.insert(name, factory);
    }

    /// Makes the instance of an aliased configuration (`aws.bedrock`). `false` when its
    /// provider is unknown or takes no aliases.
    pub fn add_alias(&mut self, key: &str) -> bool {
        if !is_own_instance(key) {
            return self.by_name.contains_key(key);
        }
        let name = provider_name_of(key);
        if self.aliases.contains_key(key) {
            return true;
        }
        match self.factories.get(name) {
            Some(factory) => {
                self.aliases.insert(key.to_owned(), factory());
                true
            }
            None => false,
        }
    }

    /// The instance of a provider configuration: `aws` (the default one) or `aws.bedrock`.
    pub fn instance(&self, key: &str) -> Option<&SharedProvider> {
        match is_own_instance(key) {
            true => self.aliases.get(key),
            false => self.by_name.get(key),
        }
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
