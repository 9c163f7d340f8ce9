//! Saved plan files (`plan --out FILE`, `apply FILE`): the plan, the variable values it was
//! made with, and a digest of the configuration, so `apply FILE` can apply exactly that plan
//! and refuse when the configuration or the state moved.
//!
//! A plan holds every value it will apply, sensitive variables included, so the file goes
//! through the `plan` block's [`Encryption`] like state does ([`SavedPlan::encode`],
//! [`SavedPlan::decode`]).

use crate::model::{opt_value, Plan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use trustform_lang::Value;
use trustform_state::{Encryption, EncryptionError};

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub trustform_version: String,
    /// SHA-256 over every configuration file's path and text.
    pub config_digest: String,
    #[serde(with = "values_map")]
    pub variables: BTreeMap<String, Value>,
    pub plan: Plan,
}

/// Why a saved plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the file is not a Trustform plan: {0}. Make it with `trustform plan --out FILE`")]
    Malformed(#[from] serde_json::Error),
    #[error("the plan file has format version {0}, but this Trustform reads version {FORMAT_VERSION}. Make a new plan with this version")]
    Version(u32),
    #[error(transparent)]
    Encryption(#[from] EncryptionError),
}

impl SavedPlan {
    pub fn new(plan: Plan, variables: BTreeMap<String, Value>, config_digest: String) -> Self {
        SavedPlan {
            format_version: FORMAT_VERSION,
            trustform_version: env!("CARGO_PKG_VERSION").to_owned(),
            config_digest,
            variables,
            plan,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("plans serialise");
        bytes.push(b'\n');
        bytes
    }

    /// The file's bytes under `encryption`: an encrypted envelope, or plaintext JSON when the
    /// `plan` block's method is `unencrypted` (or there is none).
    pub fn encode(&self, encryption: &Encryption) -> Result<Vec<u8>, SavedPlanError> {
        let plaintext = zeroize::Zeroizing::new(self.to_bytes());
        Ok(encryption.encrypt(&plaintext)?)
    }

    /// Reads a file written by [`SavedPlan::encode`].
    pub fn decode(bytes: &[u8], encryption: &Encryption) -> Result<Self, SavedPlanError> {
        SavedPlan::from_bytes(&encryption.decrypt(bytes)?)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SavedPlanError> {
        let probe: serde_json::Value = serde_json::from_slice(bytes)?;
        let version = probe.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(0) as u32;
        if version != FORMAT_VERSION {
            return Err(SavedPlanError::Version(version));
        }
        Ok(serde_json::from_value(probe)?)
    }
}

/// The digest of a configuration: every file's path and text, in order.
pub fn config_digest<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (path, text) in files {
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

mod values_map {
    use super::opt_value::{decode, encode};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;
    use trustform_lang::Value;

    pub fn serialize<S: Serializer>(values: &BTreeMap<String, Value>, serializer: S) -> Result<S::Ok, S::Error> {
        values.iter().map(|(k, v)| (k, encode(v))).collect::<BTreeMap<_, _>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, Value>, D::Error> {
        let raw = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        Ok(raw.into_iter().map(|(k, v)| (k, decode(&v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_its_version() {
        let saved = SavedPlan::new(
            Plan::default(),
            BTreeMap::from([("token".into(), Value::from("t").sensitive())]),
            config_digest([("a.tf", "x")]),
        );
        let bytes = saved.to_bytes();
        assert_eq!(SavedPlan::from_bytes(&bytes).unwrap(), saved);
        let older = String::from_utf8(bytes).unwrap().replace("\"format_version\": 1", "\"format_version\": 0");
        assert!(matches!(SavedPlan::from_bytes(older.as_bytes()), Err(SavedPlanError::Version(0))));
        assert!(SavedPlan::from_bytes(b"nonsense").is_err());
    }

    #[test]
    fn encrypted_plans_round_trip_and_hide_their_values() {
        use std::sync::Arc;
        use trustform_state::encryption::{
            HashFunction, Method, Passphrase, Payload, Pbkdf2KeyProvider, Pbkdf2Settings, MIN_ITERATIONS,
        };
        let settings =
            Pbkdf2Settings { iterations: MIN_ITERATIONS, salt_length: 16, hash_function: HashFunction::Sha256 };
        let keys = |passphrase: &str| {
            let keys = Pbkdf2KeyProvider::new("plan", Passphrase::new(passphrase), settings).unwrap();
            let method = Method::AesGcm { name: "plan".into(), keys: Arc::new(keys) };
            Encryption::new(Payload::Plan, method, None, true).unwrap()
        };
        let encryption = keys("a plan file passphrase");
        let saved = SavedPlan::new(
            Plan::default(),
            BTreeMap::from([("token".into(), Value::from("canary-0b2d").sensitive())]),
            config_digest([("a.tf", "x")]),
        );
        let bytes = saved.encode(&encryption).unwrap();
        assert!(!bytes.windows(11).any(|w| w == b"canary-0b2d"));
        assert_eq!(SavedPlan::decode(&bytes, &encryption).unwrap(), saved);
        let wrong = SavedPlan::decode(&bytes, &keys("not the plan passphrase")).unwrap_err();
        assert!(matches!(wrong, SavedPlanError::Encryption(EncryptionError::NoKeyDecrypts { .. })), "{wrong}");
        let plain = SavedPlan::decode(&bytes, &Encryption::plaintext(Payload::Plan)).unwrap_err();
        assert!(plain.to_string().contains("no plan encryption is configured"), "{plain}");
        assert_eq!(saved.encode(&Encryption::plaintext(Payload::Plan)).unwrap(), saved.to_bytes());
    }

    #[test]
    fn digest_depends_on_paths_and_texts() {
        assert_ne!(config_digest([("a.tf", "x")]), config_digest([("b.tf", "x")]));
        assert_ne!(config_digest([("a.tf", "xy")]), config_digest([("a.tfx", "y")]));
    }
}
