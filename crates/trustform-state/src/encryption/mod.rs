//! Encryption at rest for state and saved plan files, modelled on OpenTofu's state encryption.
//!
//! A byte-level layer any backend calls: [`Encryption::encode`] turns a [`State`] into the bytes
//! to store and [`Encryption::decode`] turns stored bytes back; [`Encryption::encrypt`] and
//! [`Encryption::decrypt`] do the same for any payload (saved plan files).
//!
//! Encrypted bytes are a JSON envelope:
//!
//! ```json
//! {
//!   "encrypted_data": "<base64: 12-byte nonce, then AES-256-GCM ciphertext and tag>",
//!   "encryption_version": "v1",
//!   "meta": { "key_provider.pbkdf2.main": "<base64 JSON: salt, iterations, hash_function, key_length>" }
//! }
//! ```
//!
//! The associated data binds the envelope version, what the payload is (state or plan, so that
//! one cannot be passed off as the other) and the key metadata. Every write uses the primary
//! method with a fresh random nonce; reads try the primary method and then the fallback, so a
//! key can be rotated by moving the old method to `fallback`: the next write re-encrypts with
//! the new one. Plaintext is read only when an `unencrypted` method is the primary or the
//! fallback (the migration from, or back to, plaintext), and `enforced` refuses an
//! `unencrypted` primary so that nothing is ever written in the clear.

mod pbkdf2;

pub use self::pbkdf2::{
    HashFunction, Passphrase, Pbkdf2KeyProvider, Pbkdf2Settings, KEY_LENGTH, MIN_ITERATIONS, MIN_PASSPHRASE_LENGTH,
};

use crate::{DecodeError, State, StateError};
use aes_gcm::aead::{Aead, Payload as AeadPayload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The environment variable that supplies the passphrase of a `pbkdf2` key provider whose block
/// sets none.
pub const PASSPHRASE_ENV: &str = "TRUSTFORM_STATE_PASSPHRASE";
/// The envelope layout this version writes and reads.
pub const ENVELOPE_VERSION: &str = "v1";
const NONCE_LENGTH: usize = 12;

/// What is being encrypted. Part of the associated data, so a plan file's envelope does not
/// decrypt as state and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    State,
    Plan,
}

impl Payload {
    fn as_str(self) -> &'static str {
        match self {
            Payload::State => "state",
            Payload::Plan => "plan",
        }
    }
}

/// A `method` block: how bytes are turned into what is stored.
#[derive(Debug, Clone)]
pub enum Method {
    /// `method "aes_gcm" "NAME" { keys = key_provider.pbkdf2.KEY }`
    AesGcm { name: String, keys: Arc<Pbkdf2KeyProvider> },
    /// `method "unencrypted" "NAME" {}`: plaintext, for migrating to or from encryption.
    Unencrypted { name: String },
}

impl Method {
    /// `method.aes_gcm.NAME`, as the spec refers to it.
    pub fn reference(&self) -> String {
        match self {
            Method::AesGcm { name, .. } => format!("method.aes_gcm.{name}"),
            Method::Unencrypted { name } => format!("method.unencrypted.{name}"),
        }
    }

    fn is_unencrypted(&self) -> bool {
        matches!(self, Method::Unencrypted { .. })
    }
}

/// A problem with the encryption settings themselves, found before anything is read or written.
/// Every message ends with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "the passphrase is {length} characters long, but a pbkdf2 key provider needs at least {MIN_PASSPHRASE_LENGTH}. \
         Use a longer passphrase"
    )]
    ShortPassphrase { length: usize },
    #[error(
        "{iterations} iterations are too few: a pbkdf2 key provider needs at least {MIN_ITERATIONS}. Raise iterations, \
         or leave it out for the default of 600000"
    )]
    FewIterations { iterations: u32 },
    #[error("{iterations} iterations are more than the 10000000 Trustform reads back. Lower iterations")]
    ManyIterations { iterations: u32 },
    #[error("a salt of {length} bytes is outside 16..=512. Set salt_length within that range, or leave it out for 32")]
    SaltLength { length: usize },
    #[error("\"{found}\" is not a hash function pbkdf2 takes. Use \"sha512\" (the default) or \"sha256\"")]
    HashFunction { found: String },
    #[error(
        "enforced = true refuses to write plaintext, but the primary method {method} is unencrypted. Use an aes_gcm \
         method, or set enforced = false while migrating"
    )]
    EnforcedPlaintext { method: String },
}

/// Why bytes could not be encrypted or decrypted. No message contains key material, a
/// passphrase, or any of the payload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    #[error(
        "it is encrypted, and no configured method decrypts it ({tried}). Check the passphrase (the key provider's \
         passphrase, or {PASSPHRASE_ENV}); when rotating keys, keep the old method as the fallback until the next write"
    )]
    NoKeyDecrypts { tried: String },
    #[error(
        "it is encrypted, but no {payload} encryption is configured. Run in the directory of the spec whose \
         trustform {{ encryption {{ {payload} {{ ... }} }} }} block holds its keys"
    )]
    NotConfigured { payload: &'static str },
    #[error(
        "it is not encrypted, but {payload} encryption is configured, so Trustform refuses to read it as plaintext. \
         To encrypt an existing plaintext {payload}, add method \"unencrypted\" \"migrate\" {{}} and \
         fallback {{ method = method.unencrypted.migrate }} to the {payload} block for one run"
    )]
    UnexpectedPlaintext { payload: &'static str },
    #[error(
        "it is an encrypted envelope of version {found:?}, but this Trustform reads {ENVELOPE_VERSION}. Use the \
         Trustform version that wrote it"
    )]
    UnsupportedVersion { found: String },
    #[error("it looks like an encrypted envelope but is malformed: {problem}")]
    MalformedEnvelope { problem: String },
    #[error("the system's random number generator failed ({0}); nothing was written")]
    Random(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// How one kind of payload (state, or saved plans) is stored: a primary method for writing, an
/// optional fallback for reading, and whether plaintext writes are refused.
#[derive(Clone)]
pub struct Encryption {
    payload: Payload,
    primary: Method,
    fallback: Option<Method>,
    enforced: bool,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption")
            .field("payload", &self.payload)
            .field("primary", &self.primary.reference())
            .field("fallback", &self.fallback.as_ref().map(Method::reference))
            .field("enforced", &self.enforced)
            .finish()
    }
}

/// The stored form of an encrypted payload. Fields in alphabetical order, as in every file
/// Trustform writes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    encrypted_data: String,
    encryption_version: String,
    meta: BTreeMap<String, String>,
}

/// Only the field that tells an envelope from a plaintext state or plan.
#[derive(Deserialize)]
struct EnvelopeProbe {
    encryption_version: Option<serde_json::Value>,
}

impl Encryption {
    /// No encryption: plaintext is written and read, and an encrypted file is refused with a
    /// message saying so. What a spec without an `encryption` block gets.
    pub fn plaintext(payload: Payload) -> Self {
        Encryption {
            payload,
            primary: Method::Unencrypted { name: "default".to_owned() },
            fallback: None,
            enforced: false,
        }
    }

    /// Writes with `primary`, reads with `primary` then `fallback`. With `enforced`, an
    /// unencrypted primary is refused.
    pub fn new(
        payload: Payload,
        primary: Method,
        fallback: Option<Method>,
        enforced: bool,
    ) -> Result<Self, ConfigError> {
        if enforced && primary.is_unencrypted() {
            return Err(ConfigError::EnforcedPlaintext { method: primary.reference() });
        }
        Ok(Encryption { payload, primary, fallback, enforced })
    }

    /// Whether writes are encrypted.
    pub fn encrypts(&self) -> bool {
        !self.primary.is_unencrypted()
    }

    /// Whether plaintext writes are refused (`enforced = true`).
    pub fn is_enforced(&self) -> bool {
        self.enforced
    }

    /// Whether `bytes` are an encrypted envelope rather than plaintext.
    pub fn is_encrypted(bytes: &[u8]) -> bool {
        serde_json::from_slice::<EnvelopeProbe>(bytes).is_ok_and(|probe| probe.encryption_version.is_some())
    }

    /// The bytes to store for `plaintext`: an envelope under the primary method, or the
    /// plaintext itself when the primary method is `unencrypted`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let keys = match &self.primary {
            Method::Unencrypted { .. } if self.enforced => {
                return Err(ConfigError::EnforcedPlaintext { method: self.primary.reference() }.into())
            }
            Method::Unencrypted { .. } => return Ok(plaintext.to_vec()),
            Method::AesGcm { keys, .. } => keys,
        };
        let (key, meta) = keys.key_for_writing()?;
        let meta = BTreeMap::from([(keys.meta_key(), meta)]);
        let mut nonce = [0u8; NONCE_LENGTH];
        OsRng.try_fill_bytes(&mut nonce).map_err(|error| EncryptionError::Random(error.to_string()))?;
        let aad = self.associated_data(&meta);
        let cipher = Aes256Gcm::new(key.bytes().into());
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), AeadPayload { msg: plaintext, aad: &aad })
            .map_err(|_| EncryptionError::MalformedEnvelope { problem: "AES-GCM refused the payload".to_owned() })?;
        let mut data = nonce.to_vec();
        data.extend_from_slice(&sealed);
        let envelope =
            Envelope { encrypted_data: BASE64.encode(&data), encryption_version: ENVELOPE_VERSION.to_owned(), meta };
        let mut bytes = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The plaintext of stored bytes, decrypted by the primary method or else the fallback.
    /// Plaintext bytes are returned as they are only when one of the two is `unencrypted`.
    pub fn decrypt(&self, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        let methods: Vec<&Method> = std::iter::once(&self.primary).chain(&self.fallback).collect();
        if !Encryption::is_encrypted(bytes) {
            if methods.iter().any(|m| m.is_unencrypted()) {
                return Ok(Zeroizing::new(bytes.to_vec()));
            }
            return Err(EncryptionError::UnexpectedPlaintext { payload: self.payload.as_str() });
        }
        let envelope: Envelope = serde_json::from_slice(bytes)
            .map_err(|error| EncryptionError::MalformedEnvelope { problem: error.to_string() })?;
        if envelope.encryption_version != ENVELOPE_VERSION {
            return Err(EncryptionError::UnsupportedVersion { found: envelope.encryption_version });
        }
        let data = BASE64
            .decode(&envelope.encrypted_data)
            .map_err(|_| EncryptionError::MalformedEnvelope { problem: "encrypted_data is not base64".to_owned() })?;
        if data.len() < NONCE_LENGTH {
            return Err(EncryptionError::MalformedEnvelope { problem: "encrypted_data is too short".to_owned() });
        }
        let (nonce, sealed) = data.split_at(NONCE_LENGTH);
        let aad = self.associated_data(&envelope.meta);
        let mut tried = Vec::new();
        for method in methods {
            let Method::AesGcm { keys, .. } = method else { continue };
            let Some(meta) = envelope.meta.get(&keys.meta_key()) else {
                tried.push(format!("{}: the file has no metadata for {}", method.reference(), keys.meta_key()));
                continue;
            };
            let key = match keys.key_for_reading(meta) {
                Ok(key) => key,
                Err(problem) => {
                    tried.push(format!("{}: {problem}", method.reference()));
                    continue;
                }
            };
            let cipher = Aes256Gcm::new(key.bytes().into());
            match cipher.decrypt(Nonce::from_slice(nonce), AeadPayload { msg: sealed, aad: &aad }) {
                Ok(plaintext) => return Ok(Zeroizing::new(plaintext)),
                Err(_) => tried.push(format!("{}: wrong key, or the file was altered", method.reference())),
            }
        }
        if tried.is_empty() {
            return Err(EncryptionError::NotConfigured { payload: self.payload.as_str() });
        }
        Err(EncryptionError::NoKeyDecrypts { tried: tried.join("; ") })
    }

    /// The bytes a backend stores for `state`. `target` is the backend's
    /// [`crate::StateStore::describe`], for the message.
    pub fn encode(&self, target: &str, state: &State) -> Result<Vec<u8>, StateError> {
        self.encode_bytes(target, Zeroizing::new(state.to_json_bytes()))
    }

    /// [`Encryption::encode`] of a state's bytes (`State::to_json_bytes` or the same bytes made
    /// another way).
    pub(crate) fn encode_bytes(&self, target: &str, mut plaintext: Zeroizing<Vec<u8>>) -> Result<Vec<u8>, StateError> {
        if matches!(self.primary, Method::Unencrypted { .. }) && !self.enforced {
            // Stored as they are: handed over rather than copied (megabytes, for a large state).
            return Ok(std::mem::take(&mut *plaintext));
        }
        self.encrypt(&plaintext).map_err(|problem| StateError::Encrypt { target: target.to_owned(), problem })
    }

    /// The state in bytes a backend read from `origin` (its [`crate::StateStore::describe`]).
    pub fn decode(&self, origin: &str, bytes: &[u8]) -> Result<State, StateError> {
        let plaintext =
            self.decrypt(bytes).map_err(|problem| StateError::Decrypt { origin: origin.to_owned(), problem })?;
        State::from_json_bytes(&plaintext).map_err(|problem: DecodeError| StateError::Decode {
            origin: origin.to_owned(),
            problem: Box::new(problem),
        })
    }

    fn associated_data(&self, meta: &BTreeMap<String, String>) -> Vec<u8> {
        let mut aad = format!("trustform-encryption/{ENVELOPE_VERSION}/{}\n", self.payload.as_str()).into_bytes();
        aad.extend(serde_json::to_vec(meta).unwrap_or_default());
        aad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutputState;
    use std::sync::LazyLock;

    /// Fast enough for debug builds, and no lower than any spec may set.
    fn settings() -> Pbkdf2Settings {
        Pbkdf2Settings { iterations: MIN_ITERATIONS, salt_length: 16, hash_function: HashFunction::Sha256 }
    }

    fn keys(name: &str, passphrase: &str) -> Arc<Pbkdf2KeyProvider> {
        Arc::new(Pbkdf2KeyProvider::new(name, Passphrase::new(passphrase), settings()).unwrap())
    }

    // Derivations are the slow part; these are shared by the tests that only need "a key".
    static MAIN: LazyLock<Arc<Pbkdf2KeyProvider>> = LazyLock::new(|| keys("main", "passphrase number one"));
    static OLD: LazyLock<Arc<Pbkdf2KeyProvider>> = LazyLock::new(|| keys("old", "the retired passphrase"));

    fn aes(name: &str, keys: &Arc<Pbkdf2KeyProvider>) -> Method {
        Method::AesGcm { name: name.to_owned(), keys: keys.clone() }
    }

    fn unencrypted() -> Method {
        Method::Unencrypted { name: "migrate".to_owned() }
    }

    fn encrypted_with(method: Method, fallback: Option<Method>) -> Encryption {
        Encryption::new(Payload::State, method, fallback, true).unwrap()
    }

    fn canary_state() -> State {
        let mut state = State::new();
        state.serial = 3;
        state.outputs.insert("token".to_owned(), OutputState { value: "canary-51f0".into(), sensitive: true });
        state
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn round_trips_without_a_byte_of_the_plaintext() {
        let encryption = encrypted_with(aes("main", &MAIN), None);
        let state = canary_state();
        let bytes = encryption.encode("t", &state).unwrap();
        assert!(!contains(&bytes, "canary-51f0") && !contains(&bytes, &state.lineage));
        assert!(!contains(&bytes, "passphrase number one"));
        assert!(Encryption::is_encrypted(&bytes));
        let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(envelope["encryption_version"], "v1");
        assert!(envelope["meta"]["key_provider.pbkdf2.main"].is_string(), "{envelope}");
        assert_eq!(encryption.decode("t", &bytes).unwrap(), state);
        // A fresh nonce each write: the same state never gives the same bytes.
        assert_ne!(encryption.encode("t", &state).unwrap(), bytes);
    }

    #[test]
    fn a_wrong_key_is_a_clear_error() {
        let bytes = encrypted_with(aes("main", &MAIN), None).encode("t", &canary_state()).unwrap();
        let wrong = encrypted_with(aes("main", &keys("main", "not the right passphrase")), None);
        let err = wrong.decode("local state file s", &bytes).unwrap_err();
        let message = err.to_string();
        assert!(matches!(&err, StateError::Decrypt { problem: EncryptionError::NoKeyDecrypts { .. }, .. }));
        assert!(message.starts_with("cannot read local state file s: it is encrypted"), "{message}");
        assert!(message.contains("method.aes_gcm.main: wrong key"), "{message}");
        assert!(message.contains(PASSPHRASE_ENV), "{message}");
        let unnamed = encrypted_with(aes("main", &OLD), None).decode("t", &bytes).unwrap_err().to_string();
        assert!(unnamed.contains("no metadata for key_provider.pbkdf2.old"), "{unnamed}");
    }

    #[test]
    fn tampered_ciphertext_metadata_or_payload_kind_is_refused() {
        let encryption = encrypted_with(aes("main", &MAIN), None);
        let bytes = encryption.encode("t", &canary_state()).unwrap();
        let mut envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut data = BASE64.decode(envelope["encrypted_data"].as_str().unwrap()).unwrap();
        let last = data.len() - 1;
        data[last] ^= 1;
        envelope["encrypted_data"] = BASE64.encode(&data).into();
        let flipped = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            encryption.decrypt(&flipped),
            Err(EncryptionError::NoKeyDecrypts { tried }) if tried.contains("altered")
        ));

        let mut envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        envelope["meta"]["key_provider.pbkdf2.spare"] = "e30=".into();
        assert!(encryption.decrypt(&serde_json::to_vec(&envelope).unwrap()).is_err(), "the metadata is bound");

        let as_plan = Encryption::new(Payload::Plan, aes("main", &MAIN), None, true).unwrap();
        assert!(as_plan.decrypt(&bytes).is_err(), "a state envelope must not decrypt as a plan");

        let mut envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        envelope["encryption_version"] = "v9".into();
        assert!(matches!(
            encryption.decrypt(&serde_json::to_vec(&envelope).unwrap()),
            Err(EncryptionError::UnsupportedVersion { found }) if found == "v9"
        ));
    }

    #[test]
    fn the_fallback_reads_old_data_and_the_next_write_uses_the_primary() {
        let old_only = encrypted_with(aes("old", &OLD), None);
        let original = canary_state();
        let written_before = old_only.encode("t", &original).unwrap();

        let rotated = encrypted_with(aes("main", &MAIN), Some(aes("old", &OLD)));
        let state = rotated.decode("t", &written_before).unwrap();
        assert_eq!(state, original);
        let rewritten = rotated.encode("t", &state).unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(&rewritten).unwrap();
        assert_eq!(envelope["meta"].as_object().unwrap().keys().collect::<Vec<_>>(), ["key_provider.pbkdf2.main"]);

        // Once rewritten, the old key is no longer needed, and no longer enough.
        assert_eq!(encrypted_with(aes("main", &MAIN), None).decode("t", &rewritten).unwrap(), state);
        assert!(old_only.decode("t", &rewritten).is_err());
    }

    #[test]
    fn enforced_refuses_a_plaintext_primary() {
        let err = Encryption::new(Payload::State, unencrypted(), None, true).unwrap_err();
        assert_eq!(err, ConfigError::EnforcedPlaintext { method: "method.unencrypted.migrate".to_owned() });
        assert!(err.to_string().contains("enforced = true refuses to write plaintext"), "{err}");
        // Not enforced, an unencrypted primary writes plaintext (migrating back out).
        let out = Encryption::new(Payload::State, unencrypted(), Some(aes("main", &MAIN)), false).unwrap();
        assert!(!out.encrypts());
        let encrypted = encrypted_with(aes("main", &MAIN), None).encode("t", &canary_state()).unwrap();
        let state = out.decode("t", &encrypted).unwrap();
        assert_eq!(out.encode("t", &state).unwrap(), state.to_json_bytes());
    }

    #[test]
    fn plaintext_is_read_only_through_an_unencrypted_method_and_then_encrypted() {
        let original = canary_state();
        let plaintext = original.to_json_bytes();
        let strict = encrypted_with(aes("main", &MAIN), None);
        let err = strict.decode("t", &plaintext).unwrap_err();
        assert!(err.to_string().contains("fallback { method = method.unencrypted.migrate }"), "{err}");

        let migrating = encrypted_with(aes("main", &MAIN), Some(unencrypted()));
        let state = migrating.decode("t", &plaintext).unwrap();
        assert_eq!(state, original);
        let encrypted = migrating.encode("t", &state).unwrap();
        assert!(Encryption::is_encrypted(&encrypted) && !contains(&encrypted, "canary-51f0"));
        assert_eq!(strict.decode("t", &encrypted).unwrap(), state);
    }

    #[test]
    fn without_encryption_plaintext_passes_and_an_envelope_is_explained() {
        let none = Encryption::plaintext(Payload::State);
        let state = canary_state();
        assert_eq!(none.encode("t", &state).unwrap(), state.to_json_bytes());
        assert_eq!(none.decode("t", &state.to_json_bytes()).unwrap(), state);
        let encrypted = encrypted_with(aes("main", &MAIN), None).encode("t", &state).unwrap();
        let err = none.decode("t", &encrypted).unwrap_err().to_string();
        assert!(err.contains("no state encryption is configured"), "{err}");
    }

    #[test]
    fn debug_names_methods_but_no_secret() {
        let shown = format!("{:?}", encrypted_with(aes("main", &MAIN), Some(aes("old", &OLD))));
        assert_eq!(
            shown,
            "Encryption { payload: State, primary: \"method.aes_gcm.main\", fallback: Some(\"method.aes_gcm.old\"), enforced: true }"
        );
    }
}
