//! Resource addresses: `aws_iam_role.gateway`, `google_service_account.sa["vertex"]`,
//! `data.google_project.this`, `trustform_data.chain[3]`. `Display` and `FromStr` round-trip.

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
        ResourceAddr { resource: self.clone(), key }
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

/// One resource instance: the key type of plans and state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddr {
    pub resource: ResourceId,
    pub key: Option<InstanceKey>,
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
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        let (mode, rest) = match input.strip_prefix("data.") {
            Some(rest) => (Mode::Data, rest),
            None => (Mode::Managed, input),
        };
        let (head, key) = match rest.find('[') {
            Some(open) => {
                let inner =
                    rest[open + 1..].strip_suffix(']').ok_or_else(|| err("an instance key must end with ']'"))?;
                let key = if inner.starts_with('"') {
                    InstanceKey::Str(
                        serde_json::from_str(inner).map_err(|_| err("a string key must be a quoted string"))?,
                    )
                } else {
                    InstanceKey::Int(
                        inner.parse().map_err(|_| err("an instance key must be a number or a quoted string"))?,
                    )
                };
                (&rest[..open], Some(key))
            }
            None => (rest, None),
        };
        let (type_name, name) = head.split_once('.').ok_or_else(|| err("expected TYPE.NAME"))?;
        if !crate::is_identifier(type_name) || !crate::is_identifier(name) {
            return Err(err("the type and name must be identifiers"));
        }
        Ok(ResourceAddr { resource: ResourceId { mode, type_name: type_name.to_owned(), name: name.to_owned() }, key })
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
    fn addresses_round_trip() {
        for text in [
            "aws_iam_role.gateway",
            "google_service_account.sa[\"vertex ai\"]",
            "trustform_data.chain[3]",
            "data.google_project.this",
        ] {
            let addr: ResourceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn bad_addresses_explain_themselves() {
        for text in ["aws_iam_role", "a.b[x]", "a.b[\"x\"", "1a.b"] {
            let err = text.parse::<ResourceAddr>().unwrap_err();
            assert!(err.to_string().contains("Addresses look like"), "{err}");
        }
    }

    #[test]
    fn provider_is_the_type_prefix() {
        assert_eq!(ResourceId::managed("google_iam_workload_identity_pool", "p").provider_name(), "google");
    }
}
