//! Resource addresses: `aws_iam_role.gateway`, `google_service_account.sa["vertex"]`,
//! `data.google_project.this`, `trustform_data.chain[3]`, and inside module instances
//! `module.gw["prod"].aws_iam_role.x` (Terraform's `internal/addrs` `AbsResourceInstance`).
//! `Display` and `FromStr` round-trip.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Whether an address names a managed resource or a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Managed,
    Data,
}

/// The key of one instance of a resource expanded by `count` or `for_each`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Int(u64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", serde_json::Value::String(s.clone())),
        }
    }
}

/// One step of a module instance path: `module.gw["prod"]` is the call `gw` with the key `"prod"`.
/// In a `-target` pattern a step without a key stands for every instance of the call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleStep {
    pub name: String,
    pub key: Option<InstanceKey>,
}

/// A module instance path names its calls: `Config::module(&addr.module)` finds the
/// configuration every instance of those calls shares.
impl AsRef<str> for ModuleStep {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ModuleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module.{}", self.name)?;
        if let Some(key) = &self.key {
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

/// A module instance path as text: `module.a.module.b["x"]`; empty for the root module.
pub fn module_path_text(path: &[ModuleStep]) -> String {
    path.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

/// The call names of a module instance path: its place in the configuration tree.
pub fn static_module_path(path: &[ModuleStep]) -> Vec<String> {
    path.iter().map(|s| s.name.clone()).collect()
}

/// Whether `path` is inside the module pattern `pattern` (a `-target`): the same calls, and the
/// same keys where the pattern gives one.
pub fn module_matches(pattern: &[ModuleStep], path: &[ModuleStep]) -> bool {
    pattern.len() <= path.len()
        && pattern.iter().zip(path).all(|(p, s)| p.name == s.name && (p.key.is_none() || p.key == s.key))
}

/// Splits the leading `module.NAME[KEY]?.` steps off an address.
pub fn parse_module_prefix(input: &str) -> Result<(Vec<ModuleStep>, &str), &'static str> {
    let mut steps = Vec::new();
    let mut rest = input;
    while let Some(after) = rest.strip_prefix("module.") {
        let name_end = after.find(['.', '[']).unwrap_or(after.len());
        let name = &after[..name_end];
        if !crate::is_identifier(name) {
            return Err("a module call name must be an identifier");
        }
        let mut tail = &after[name_end..];
        let key = if tail.starts_with('[') {
            let close = closing_bracket(tail).ok_or("an instance key must end with ']'")?;
            let key = parse_key(&tail[1..close])?;
            tail = &tail[close + 1..];
            Some(key)
        } else {
            None
        };
        steps.push(ModuleStep { name: name.to_owned(), key });
        rest = tail.strip_prefix('.').unwrap_or(tail);
        if tail.is_empty() {
            break;
        }
    }
    Ok((steps, rest))
}

/// The index of the `]` closing the `[` at the start of `text`, skipping quoted strings.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_key(inner: &str) -> Result<InstanceKey, &'static str> {
    if inner.starts_with('"') {
        Ok(InstanceKey::Str(serde_json::from_str(inner).map_err(|_| "a string key must be a quoted string")?))
    } else {
        Ok(InstanceKey::Int(inner.parse().map_err(|_| "an instance key must be a number or a quoted string")?))
    }
}

/// A resource block, before expansion: `aws_iam_role.gateway`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
}

impl ResourceId {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceId { mode: Mode::Managed, type_name: type_name.into(), name: name.into() }
    }
    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceId { mode: Mode::Data, type_name: type_name.into(), name: name.into() }
    }
    pub fn instance(&self, key: Option<InstanceKey>) -> ResourceAddr {
        ResourceAddr { module: Vec::new(), resource: self.clone(), key }
    }
    /// The provider local name a type belongs to: the part before the first `_`.
    pub fn provider_name(&self) -> &str {
        provider_of(&self.type_name)
    }
}

/// The provider local name for a resource type: `aws_iam_role` -> `aws`.
pub fn provider_of(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == Mode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// One resource instance: the key type of plans and state. Root resources sort first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceAddr {
    /// The module instance it belongs to; empty in the root module.
    pub module: Vec<ModuleStep>,
    pub resource: ResourceId,
    pub key: Option<InstanceKey>,
}

/// By module instance, then resource, then key (what deriving would give), written out so that
/// the common case, two root addresses, compares no module paths: the maps of a plan and a state
/// compare addresses more than anything else.
impl Ord for ResourceAddr {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let module = match (self.module.is_empty(), other.module.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            _ => self.module.cmp(&other.module),
        };
        module.then_with(|| self.resource.cmp(&other.resource)).then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for ResourceAddr {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ResourceAddr {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceId::managed(type_name, name).instance(None)
    }
    pub fn with_key(mut self, key: InstanceKey) -> Self {
        self.key = Some(key);
        self
    }
    pub fn type_name(&self) -> &str {
        &self.resource.type_name
    }
    pub fn is_data(&self) -> bool {
        self.resource.mode == Mode::Data
    }
    /// The same resource instance inside the module instance `module`.
    pub fn in_module(mut self, module: Vec<ModuleStep>) -> Self {
        self.module = module;
        self
    }
    /// The block this instance comes from, without its own key: `module.gw["a"].aws_iam_role.x`.
    pub fn block_text(&self) -> String {
        ResourceAddr { key: None, ..self.clone() }.to_string()
    }

    /// Whether this address, read as a dependency, names `instance`: a key it gives (its own or
    /// a module step's) must be the instance's, a key it leaves out stands for any. So
    /// `aws_iam_role.x` names every instance of that block, in every instance of its module, as
    /// Terraform's state records a dependency (a `ConfigResource`, without instance keys); an
    /// address with keys names one instance.
    pub fn names(&self, instance: &ResourceAddr) -> bool {
        self.resource == instance.resource
            && (self.key.is_none() || self.key == instance.key)
            && self.module.len() == instance.module.len()
            && self
                .module
                .iter()
                .zip(&instance.module)
                .all(|(step, of)| step.name == of.name && (step.key.is_none() || step.key == of.key))
    }

    /// Whether this address gives no key at all: as a dependency, it names a whole block.
    pub fn is_keyless(&self) -> bool {
        self.key.is_none() && self.module.iter().all(|step| step.key.is_none())
    }

    /// The address of this instance's block, every key left out (see [`ResourceAddr::names`]).
    pub fn without_keys(&self) -> ResourceAddr {
        ResourceAddr {
            module: self.module.iter().map(|step| ModuleStep { name: step.name.clone(), key: None }).collect(),
            resource: self.resource.clone(),
            key: None,
        }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.module {
            write!(f, "{step}.")?;
        }
        write!(f, "{}", self.resource)?;
        if let Some(key) = &self.key {
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

/// Why a string is not a resource address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a resource address: {reason}. Addresses look like aws_iam_role.gateway, google_service_account.sa[\"vertex\"] or data.google_project.this")]
pub struct AddrParseError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError { input: input.to_owned(), reason };
        let (module, rest) = parse_module_prefix(input).map_err(err)?;
        let (mode, rest) = match rest.strip_prefix("data.") {
            Some(rest) => (Mode::Data, rest),
            None => (Mode::Managed, rest),
        };
        let (head, key) = match rest.find('[') {
            Some(open) => {
                let inner =
                    rest[open + 1..].strip_suffix(']').ok_or_else(|| err("an instance key must end with ']'"))?;
                (&rest[..open], Some(parse_key(inner).map_err(err)?))
            }
            None => (rest, None),
        };
        let (type_name, name) = head.split_once('.').ok_or_else(|| err("expected TYPE.NAME"))?;
        if !crate::is_identifier(type_name) || !crate::is_identifier(name) {
            return Err(err("the type and name must be identifiers"));
        }
        Ok(ResourceAddr {
            module,
            resource: ResourceId { mode, type_name: type_name.to_owned(), name: name.to_owned() },
            key,
        })
    }
}

impl Serialize for ResourceAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_without_keys_names_every_instance_of_its_block() {
        let parse = |text: &str| text.parse::<ResourceAddr>().unwrap();
        let block = parse("module.svc.aws_iam_role.x");
        for instance in
            ["module.svc.aws_iam_role.x", "module.svc[\"a\"].aws_iam_role.x[0]", "module.svc[1].aws_iam_role.x[\"k\"]"]
        {
            assert!(block.names(&parse(instance)), "{instance}");
        }
        for other in [
            "aws_iam_role.x",
            "module.svc.aws_iam_role.y",
            "module.gw.aws_iam_role.x",
            "module.svc.module.svc.aws_iam_role.x",
        ] {
            assert!(!block.names(&parse(other)), "{other}");
        }
        // Keys given must match: an old state's instance-level dependency names one instance.
        let one = parse("module.svc[\"a\"].aws_iam_role.x[0]");
        assert!(one.names(&one));
        assert!(!one.names(&parse("module.svc[\"b\"].aws_iam_role.x[0]")));
        assert!(!one.names(&parse("module.svc[\"a\"].aws_iam_role.x[1]")));
        assert!(parse("module.svc[\"a\"].aws_iam_role.x").names(&one));
        assert!(block.is_keyless() && !one.is_keyless());
        assert_eq!(one.without_keys(), block);
    }

    #[test]
    fn addresses_sort_by_module_then_resource_then_key() {
        let parse = |text: &str| text.parse::<ResourceAddr>().unwrap();
        let mut addresses: Vec<ResourceAddr> = [
            "module.b.aws_iam_role.a",
            "aws_iam_role.b",
            "module.a[\"x\"].aws_iam_role.a",
            "aws_iam_role.a[1]",
            "data.aws_caller_identity.me",
            "aws_iam_role.a[0]",
            "module.a.aws_iam_role.z",
        ]
        .into_iter()
        .map(parse)
        .collect();
        addresses.sort();
        let texts: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        // As comparing (module, resource, key) in turn: the derived order it replaces.
        let mut tuples = addresses.clone();
        tuples.sort_by(|a, b| (&a.module, &a.resource, &a.key).cmp(&(&b.module, &b.resource, &b.key)));
        assert_eq!(addresses, tuples);
        assert_eq!(
            texts,
            [
                "aws_iam_role.a[0]",
                "aws_iam_role.a[1]",
                "aws_iam_role.b",
                "data.aws_caller_identity.me",
                "module.a.aws_iam_role.z",
                "module.a[\"x\"].aws_iam_role.a",
                "module.b.aws_iam_role.a",
            ]
        );
    }

    #[test]
    fn addresses_round_trip() {
        for text in [
            "aws_iam_role.gateway",
            "google_service_account.sa[\"vertex ai\"]",
            "trustform_data.chain[3]",
            "data.google_project.this",
            "module.gw[\"prod\"].aws_iam_role.x",
            "module.a.module.b[2].data.aws_caller_identity.this",
            "module.k[\"a]b\"].trustform_data.x[\"y\"]",
        ] {
            let addr: ResourceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn bad_addresses_explain_themselves() {
        for text in ["aws_iam_role", "a.b[x]", "a.b[\"x\"", "1a.b", "module.gw", "module.1.a.b", "module.gw[\"x.a.b"] {
            let err = text.parse::<ResourceAddr>().unwrap_err();
            assert!(err.to_string().contains("Addresses look like"), "{err}");
        }
    }

    #[test]
    fn module_patterns_match_their_instances() {
        let (pattern, rest) = parse_module_prefix("module.gw").unwrap();
        assert_eq!(rest, "");
        let addr: ResourceAddr = "module.gw[\"prod\"].module.inner.aws_iam_role.x".parse().unwrap();
        assert!(module_matches(&pattern, &addr.module));
        let (prod, _) = parse_module_prefix("module.gw[\"prod\"]").unwrap();
        assert!(module_matches(&prod, &addr.module));
        let (dev, _) = parse_module_prefix("module.gw[\"dev\"]").unwrap();
        assert!(!module_matches(&dev, &addr.module));
        assert_eq!(addr.block_text(), "module.gw[\"prod\"].module.inner.aws_iam_role.x");
        assert_eq!(module_path_text(&addr.module), "module.gw[\"prod\"].module.inner");
    }

    #[test]
    fn provider_is_the_type_prefix() {
        assert_eq!(ResourceId::managed("google_iam_workload_identity_pool", "p").provider_name(), "google");
    }
}
