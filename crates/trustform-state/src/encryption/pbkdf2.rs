//! The `pbkdf2` key provider: an AES-256 key derived from a passphrase with PBKDF2-HMAC, and the
//! metadata (salt, iterations, hash function, key length) that lets a later run derive the same
//! key from the same passphrase.

use super::{ConfigError, EncryptionError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock, PoisonError};
use zeroize::Zeroizing;

/// The length of an AES-256 key, the only key length the `aes_gcm` method takes.
pub const KEY_LENGTH: usize = 32;
/// The shortest passphrase accepted, as OpenTofu's: shorter ones are too easy to guess offline.
pub const MIN_PASSPHRASE_LENGTH: usize = 16;
/// The fewest PBKDF2 iterations accepted, for writing and for reading. Below this a stolen file
/// is cheap to attack; a file that claims fewer was not written by Trustform.
pub const MIN_ITERATIONS: u32 = 200_000;
/// The most iterations a file's metadata may ask for: more would let a planted file stall a run.
const MAX_ITERATIONS: u32 = 10_000_000;
/// The salt lengths accepted, in bytes.
const MIN_SALT_LENGTH: usize = 16;
const MAX_SALT_LENGTH: usize = 512;

/// A passphrase. Wiped from memory when dropped, and never shown: `Debug` prints
/// `(sensitive value)`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes the text as it is; [`Pbkdf2KeyProvider::new`] checks its length.
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(trustform_lang::REDACTED)
    }
}

/// The HMAC hash PBKDF2 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashFunction {
    Sha256,
    Sha512,
}

impl FromStr for HashFunction {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text {
            "sha256" => Ok(HashFunction::Sha256),
            "sha512" => Ok(HashFunction::Sha512),
            other => Err(ConfigError::HashFunction { found: other.to_owned() }),
        }
    }
}

/// How new keys are derived. The defaults are OpenTofu's: SHA-512, 600,000 iterations, a 32-byte
/// salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pbkdf2Settings {
    /// At least [`MIN_ITERATIONS`].
    pub iterations: u32,
    /// Bytes of fresh random salt for a new key, 16 to 512.
    pub salt_length: usize,
    pub hash_function: HashFunction,
}

impl Default for Pbkdf2Settings {
    fn default() -> Self {
        Pbkdf2Settings { iterations: 600_000, salt_length: 32, hash_function: HashFunction::Sha512 }
    }
}

/// What a `pbkdf2` key provider records beside the ciphertext: enough to derive the key again
/// from the passphrase, and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pbkdf2Meta {
    /// Base64.
    salt: String,
    iterations: u32,
    hash_function: HashFunction,
    key_length: usize,
}

/// An AES-256 key. Wiped when dropped; `Debug` shows nothing of it.
#[derive(Clone)]
pub(crate) struct Key(Zeroizing<[u8; KEY_LENGTH]>);

impl Key {
    pub(crate) fn bytes(&self) -> &[u8; KEY_LENGTH] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// `key_provider "pbkdf2" "NAME" { passphrase = ... }`.
///
/// The key for writing is derived once per instance and reused for every write of the run (an
/// apply writes after every resource, and a derivation takes a noticeable fraction of a second
/// by design); each write still gets its own random nonce, far below AES-GCM's limit of 2^32
/// messages per key. It is the key of the file being replaced when that was derived with the
/// current settings, else a new one with a fresh salt. Keys derived for reading are kept by
/// their metadata, so a file is not derived twice.
pub struct Pbkdf2KeyProvider {
    name: String,
    passphrase: Passphrase,
    settings: Pbkdf2Settings,
    for_writing: OnceLock<(Key, Pbkdf2Meta)>,
    for_reading: Mutex<Vec<(Pbkdf2Meta, Key)>>,
}

impl fmt::Debug for Pbkdf2KeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pbkdf2KeyProvider")
            .field("name", &self.name)
            .field("passphrase", &self.passphrase)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Pbkdf2KeyProvider {
    /// Checks the passphrase and settings against the minimums.
    pub fn new(name: impl Into<String>, passphrase: Passphrase, settings: Pbkdf2Settings) -> Result<Self, ConfigError> {
        let count = passphrase.char_count();
        if count < MIN_PASSPHRASE_LENGTH {
            return Err(ConfigError::ShortPassphrase { length: count });
        }
        if settings.iterations < MIN_ITERATIONS {
            return Err(ConfigError::FewIterations { iterations: settings.iterations });
        }
        if settings.iterations > MAX_ITERATIONS {
            return Err(ConfigError::ManyIterations { iterations: settings.iterations });
        }
        if !(MIN_SALT_LENGTH..=MAX_SALT_LENGTH).contains(&settings.salt_length) {
            return Err(ConfigError::SaltLength { length: settings.salt_length });
        }
        Ok(Pbkdf2KeyProvider {
            name: name.into(),
            passphrase,
            settings,
            for_writing: OnceLock::new(),
            for_reading: Mutex::new(Vec::new()),
        })
    }

    /// The provider's name, the second label of its block.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where its metadata is stored in an envelope: `key_provider.pbkdf2.NAME`.
    pub fn meta_key(&self) -> String {
        format!("key_provider.pbkdf2.{}", self.name)
    }

    /// The key for writing and its metadata, base64-encoded JSON as it is stored.
    pub(crate) fn key_for_writing(&self) -> Result<(Key, String), EncryptionError> {
        if let Some((key, meta)) = self.for_writing.get() {
            return Ok((key.clone(), encode_meta(meta)));
        }
        // A key this run derived to read the file it now replaces serves for writing when it
        // was derived as the settings ask (a settings change, such as more iterations, derives
        // afresh): that saves a derivation on every command that writes.
        let reusable = {
            let cache = self.for_reading.lock().unwrap_or_else(PoisonError::into_inner);
            cache.iter().find(|(meta, _)| self.settings_match(meta)).cloned()
        };
        if let Some((meta, key)) = reusable {
            let (key, meta) = self.for_writing.get_or_init(|| (key, meta));
            return Ok((key.clone(), encode_meta(meta)));
        }
        let mut salt = vec![0u8; self.settings.salt_length];
        OsRng.try_fill_bytes(&mut salt).map_err(|error| EncryptionError::Random(error.to_string()))?;
        let meta = Pbkdf2Meta {
            salt: BASE64.encode(&salt),
            iterations: self.settings.iterations,
            hash_function: self.settings.hash_function,
            key_length: KEY_LENGTH,
        };
        let key = derive(&self.passphrase, &salt, meta.iterations, meta.hash_function);
        // Another thread may have won the race; either key is fine, but every write must agree
        // with the metadata it stores, so use whichever was kept.
        let (key, meta) = self.for_writing.get_or_init(|| (key, meta));
        Ok((key.clone(), encode_meta(meta)))
    }

    fn settings_match(&self, meta: &Pbkdf2Meta) -> bool {
        meta.iterations == self.settings.iterations
            && meta.hash_function == self.settings.hash_function
            && meta.key_length == KEY_LENGTH
            && BASE64.decode(&meta.salt).is_ok_and(|salt| salt.len() == self.settings.salt_length)
    }

    /// The key that the stored metadata describes, derived from this provider's passphrase.
    pub(crate) fn key_for_reading(&self, stored: &str) -> Result<Key, String> {
        let meta = decode_meta(stored)?;
        if let Some((key, written)) = self.for_writing.get() {
            if *written == meta {
                return Ok(key.clone());
            }
        }
        let mut cache = self.for_reading.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, key)) = cache.iter().find(|(known, _)| *known == meta) {
            return Ok(key.clone());
        }
        let salt = BASE64.decode(&meta.salt).map_err(|_| "its salt is not base64".to_owned())?;
        if !(MIN_SALT_LENGTH..=MAX_SALT_LENGTH).contains(&salt.len()) {
            return Err(format!(
                "its salt is {} bytes long, outside {MIN_SALT_LENGTH}..={MAX_SALT_LENGTH}",
                salt.len()
            ));
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&meta.iterations) {
            return Err(format!(
                "it asks for {} PBKDF2 iterations, outside {MIN_ITERATIONS}..={MAX_ITERATIONS}",
                meta.iterations
            ));
        }
        if meta.key_length != KEY_LENGTH {
            return Err(format!("it asks for a {}-byte key, but aes_gcm takes {KEY_LENGTH}", meta.key_length));
        }
        let key = derive(&self.passphrase, &salt, meta.iterations, meta.hash_function);
        cache.push((meta, key.clone()));
        Ok(key)
    }
}

fn derive(passphrase: &Passphrase, salt: &[u8], iterations: u32, hash: HashFunction) -> Key {
    let mut key = Zeroizing::new([0u8; KEY_LENGTH]);
    match hash {
        HashFunction::Sha256 => {
            ::pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase.as_bytes(), salt, iterations, &mut *key)
        }
        HashFunction::Sha512 => {
            ::pbkdf2::pbkdf2_hmac::<sha2::Sha512>(passphrase.as_bytes(), salt, iterations, &mut *key)
        }
    }
    Key(key)
}

fn encode_meta(meta: &Pbkdf2Meta) -> String {
    BASE64.encode(serde_json::to_vec(meta).unwrap_or_default())
}

fn decode_meta(stored: &str) -> Result<Pbkdf2Meta, String> {
    let json = BASE64.decode(stored).map_err(|_| "its key metadata is not base64".to_owned())?;
    serde_json::from_slice(&json).map_err(|error| format!("its key metadata is malformed ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_never_shows_in_debug() {
        let provider =
            Pbkdf2KeyProvider::new("main", Passphrase::new("correct horse battery staple"), Pbkdf2Settings::default())
                .unwrap();
        let shown = format!("{provider:?} {:?}", Passphrase::new("correct horse battery staple"));
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("(sensitive value)"), "{shown}");
    }

    #[test]
    fn weak_settings_are_refused() {
        let short = Pbkdf2KeyProvider::new("k", Passphrase::new("too short"), Pbkdf2Settings::default()).unwrap_err();
        assert!(matches!(short, ConfigError::ShortPassphrase { length: 9 }), "{short}");
        let few = Pbkdf2Settings { iterations: 1_000, ..Pbkdf2Settings::default() };
        let err = Pbkdf2KeyProvider::new("k", Passphrase::new("a long enough passphrase"), few).unwrap_err();
        assert!(matches!(err, ConfigError::FewIterations { iterations: 1_000 }), "{err}");
        let salt = Pbkdf2Settings { salt_length: 4, ..Pbkdf2Settings::default() };
        assert!(Pbkdf2KeyProvider::new("k", Passphrase::new("a long enough passphrase"), salt).is_err());
        assert!("md5".parse::<HashFunction>().is_err());
        assert_eq!("sha256".parse::<HashFunction>().unwrap(), HashFunction::Sha256);
    }

    #[test]
    fn the_metadata_derives_the_same_key_again_and_names_no_secret() {
        let settings =
            Pbkdf2Settings { iterations: MIN_ITERATIONS, hash_function: HashFunction::Sha256, salt_length: 16 };
        let writer = Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), settings).unwrap();
        let (key, meta) = writer.key_for_writing().unwrap();
        let json = String::from_utf8(BASE64.decode(&meta).unwrap()).unwrap();
        assert!(json.contains("\"iterations\":200000") && json.contains("\"hash_function\":\"sha256\""), "{json}");
        assert!(json.contains("\"key_length\":32") && !json.contains("passphrase"), "{json}");
        let reader = Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), settings).unwrap();
        assert_eq!(reader.key_for_reading(&meta).unwrap().bytes(), key.bytes());
        let other = Pbkdf2KeyProvider::new("main", Passphrase::new("another long passphrase"), settings).unwrap();
        assert_ne!(other.key_for_reading(&meta).unwrap().bytes(), key.bytes());
    }

    #[test]
    fn a_key_derived_for_reading_is_reused_for_writing_only_under_the_same_settings() {
        let settings =
            Pbkdf2Settings { iterations: MIN_ITERATIONS, hash_function: HashFunction::Sha256, salt_length: 16 };
        let earlier = Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), settings).unwrap();
        let (_, stored) = earlier.key_for_writing().unwrap();

        let same = Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), settings).unwrap();
        same.key_for_reading(&stored).unwrap();
        assert_eq!(same.key_for_writing().unwrap().1, stored, "the file's salt and key are kept");

        let stronger = Pbkdf2Settings { iterations: MIN_ITERATIONS + 1, ..settings };
        let changed = Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), stronger).unwrap();
        changed.key_for_reading(&stored).unwrap();
        let (_, rewritten) = changed.key_for_writing().unwrap();
        let json = String::from_utf8(BASE64.decode(&rewritten).unwrap()).unwrap();
        assert!(json.contains("\"iterations\":200001"), "new settings derive a new key: {json}");
    }

    #[test]
    fn metadata_outside_the_limits_is_refused_before_deriving() {
        let reader =
            Pbkdf2KeyProvider::new("main", Passphrase::new("a long enough passphrase"), Pbkdf2Settings::default())
                .unwrap();
        let weak = Pbkdf2Meta {
            salt: BASE64.encode([0u8; 32]),
            iterations: 10,
            hash_function: HashFunction::Sha512,
            key_length: KEY_LENGTH,
        };
        let err = reader.key_for_reading(&encode_meta(&weak)).unwrap_err();
        assert!(err.contains("10 PBKDF2 iterations"), "{err}");
        assert!(reader.key_for_reading("not base64!").is_err());
    }
}
