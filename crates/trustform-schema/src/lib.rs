//! Per-resource-type schemas: which arguments exist, which are required, computed, sensitive or
//! force replacement, and how two values of an attribute compare (JSON policy documents
//! semantically, sets as sets). The planner asks the schema; it never special-cases a type.

mod compare;
mod conform;

pub use compare::{block_body_equal, blocks_equal, json_documents_equal, values_equal};
pub use conform::{conform, ConformError, ConformErrorKind};

use std::collections::BTreeMap;
use trustform_lang::{Type, Value};

/// Whether the user sets an attribute, the provider computes it, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    /// Set only by the provider (an ARN, an id).
    Computed,
    /// The user may set it; if they do not, the provider fills it in.
    OptionalComputed,
}

/// How two values of one attribute are compared when diffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compare {
    #[default]
    Exact,
    /// A JSON document in a string (IAM policies): key order, whitespace, a single string versus
    /// a one-element list and `"1"` versus `1` do not make a difference.
    JsonDocument,
    /// A list whose order carries no meaning.
    Set,
    /// Strings compared ignoring ASCII case (ARM ids, say).
    CaseInsensitive,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub ty: Type,
    pub mode: Mode,
    /// A change to this attribute cannot be made in place: the resource is replaced.
    pub force_new: bool,
    /// Values of this attribute are redacted everywhere and encrypted at rest.
    pub sensitive: bool,
    pub compare: Compare,
    /// Used when the user omits an optional attribute.
    pub default: Option<Value>,
    pub description: &'static str,
}

impl Attribute {
    pub fn new(ty: Type, mode: Mode) -> Attribute {
        let compare = if matches!(ty, Type::Set(_)) { Compare::Set } else { Compare::Exact };
        Attribute { ty, mode, force_new: false, sensitive: false, compare, default: None, description: "" }
    }
    pub fn required(ty: Type) -> Attribute {
        Attribute::new(ty, Mode::Required)
    }
    pub fn optional(ty: Type) -> Attribute {
        Attribute::new(ty, Mode::Optional)
    }
    pub fn computed(ty: Type) -> Attribute {
        Attribute::new(ty, Mode::Computed)
    }
    pub fn optional_computed(ty: Type) -> Attribute {
        Attribute::new(ty, Mode::OptionalComputed)
    }
    pub fn force_new(mut self) -> Attribute {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    pub fn compare(mut self, compare: Compare) -> Attribute {
        self.compare = compare;
        self
    }
    pub fn default(mut self, value: impl Into<Value>) -> Attribute {
        self.default = Some(value.into());
        self
    }
    pub fn describe(mut self, description: &'static str) -> Attribute {
        self.description = description;
        self
    }
    pub fn is_settable(&self) -> bool {
        self.mode != Mode::Computed
    }
}

/// How many of a nested block a resource takes, and how they are represented as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; its value is an object, or null when absent.
    Single,
    /// Any number of blocks, in order; the value is a list of objects.
    List,
    /// Any number of blocks, order irrelevant; the value is a list compared as a set.
    Set,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: usize,
    pub max_items: Option<usize>,
    pub force_new: bool,
}

/// The body of a resource, data source, provider or nested block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, NestedBlock>,
}

impl Block {
    pub fn new() -> Block {
        Block::default()
    }
    pub fn attr(mut self, name: &str, attribute: Attribute) -> Block {
        self.attributes.insert(name.to_owned(), attribute);
        self
    }
    pub fn block(mut self, name: &str, nesting: Nesting, block: Block) -> Block {
        self.blocks.insert(
            name.to_owned(),
            NestedBlock {
                nesting,
                block,
                min_items: 0,
                max_items: matches!(nesting, Nesting::Single).then_some(1),
                force_new: false,
            },
        );
        self
    }
    pub fn nested(mut self, name: &str, nested: NestedBlock) -> Block {
        self.blocks.insert(name.to_owned(), nested);
        self
    }
    /// Names of attributes (at the top level) that are sensitive.
    pub fn sensitive_attributes(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().filter(|(_, a)| a.sensitive).map(|(k, _)| k.as_str())
    }
}

/// The schema of one resource type or data source.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    pub type_name: String,
    pub block: Block,
    /// Shown when `import` is given a malformed id, e.g. `cluster_name,association_id`.
    pub import_id_format: &'static str,
    /// Reading this data source makes no cloud call: its value follows from its arguments
    /// (`aws_iam_policy_document`), so `trustform lint` may read it offline.
    pub local: bool,
}

impl ResourceSchema {
    pub fn new(type_name: &str, block: Block) -> ResourceSchema {
        ResourceSchema { type_name: type_name.to_owned(), block, import_id_format: "the resource id", local: false }
    }
    /// Marks a data source whose read is computed locally, without a cloud call.
    pub fn local(mut self) -> ResourceSchema {
        self.local = true;
        self
    }
    pub fn import_id(mut self, format: &'static str) -> ResourceSchema {
        self.import_id_format = format;
        self
    }
}

/// Everything a provider offers, keyed by type name.
#[derive(Debug, Clone, Default)]
pub struct ProviderSchema {
    pub provider: Block,
    pub resources: BTreeMap<String, ResourceSchema>,
    pub data_sources: BTreeMap<String, ResourceSchema>,
}

impl ProviderSchema {
    pub fn resource(mut self, schema: ResourceSchema) -> ProviderSchema {
        self.resources.insert(schema.type_name.clone(), schema);
        self
    }
    pub fn data_source(mut self, schema: ResourceSchema) -> ProviderSchema {
        self.data_sources.insert(schema.type_name.clone(), schema);
        self
    }
}
