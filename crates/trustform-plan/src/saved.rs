//! Saved plan files (`plan --out FILE`, `apply FILE`): the plan, the variable values it was
//! made with, a digest of the configuration and a digest of the state it was made against, so
//! `apply FILE` can apply exactly that plan and refuse when the configuration or the state moved.
//!
//! A file is input like any other: [`SavedPlan::from_bytes`] refuses a change whose action and
//! values disagree (a delete without the object to delete, a create with one: no [`Change`] can
//! hold one) and a plan whose changes disagree with its mode, and the engine
//! checks every prior value against the state before applying (`Engine::verify_saved_plan`).
//!
//! A plan holds every value it will apply, sensitive variables included, so the file goes
//! through the `plan` block's [`Encryption`] like state does ([`SavedPlan::encode`],
//! [`SavedPlan::decode`]).

use crate::model::{
    opt_value, Action, Change, ImportedObject, MovedObject, OutputChange, Plan, PlanMode, RawChange, Reason,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use trustform_lang::{ResourceAddr, Value};
use trustform_state::{Encryption, EncryptionError, State};

/// Version 2 added `state_digest`.
const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub trustform_version: String,
    /// SHA-256 over every configuration file's path and text.
    pub config_digest: String,
    /// [`state_digest`] of the state the plan was made against.
    pub state_digest: String,
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
    #[error("the plan file is inconsistent: {0}. It was edited or damaged; make a new plan with `trustform plan --out FILE`")]
    Inconsistent(String),
    #[error(transparent)]
    Encryption(#[from] EncryptionError),
}

impl SavedPlan {
    pub fn new(plan: Plan, variables: BTreeMap<String, Value>, config_digest: String, state: &State) -> Self {
        SavedPlan {
            format_version: FORMAT_VERSION,
            trustform_version: env!("CARGO_PKG_VERSION").to_owned(),
            config_digest,
            state_digest: state_digest(state),
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
        let file: SavedPlanFile = serde_json::from_value(probe)?;
        let plan = Plan::try_from(file.plan).map_err(SavedPlanError::Inconsistent)?;
        plan.check_consistent().map_err(SavedPlanError::Inconsistent)?;
        Ok(SavedPlan {
            format_version: file.format_version,
            trustform_version: file.trustform_version,
            config_digest: file.config_digest,
            state_digest: file.state_digest,
            variables: file.variables,
            plan,
        })
    }
}

/// A [`SavedPlan`] as its file spells it, before its changes are checked: a change whose action
/// and values disagree is an inconsistent plan, not a malformed file.
#[derive(Deserialize)]
struct SavedPlanFile {
    format_version: u32,
    trustform_version: String,
    config_digest: String,
    state_digest: String,
    #[serde(with = "values_map")]
    variables: BTreeMap<String, Value>,
    plan: PlanFile,
}

/// A [`Plan`] as its file spells it.
#[derive(Deserialize)]
struct PlanFile {
    mode: PlanMode,
    state_lineage: String,
    state_serial: u64,
    changes: Vec<RawChange>,
    outputs: BTreeMap<String, OutputChange>,
    drift: Vec<RawChange>,
    #[serde(default)]
    adopted: Vec<ResourceAddr>,
    #[serde(default)]
    moved: Vec<MovedObject>,
    #[serde(default)]
    imported: Vec<ImportedObject>,
}

impl TryFrom<PlanFile> for Plan {
    /// The first change whose action and values disagree.
    type Error = String;

    fn try_from(file: PlanFile) -> Result<Self, String> {
        let changes = |raw: Vec<RawChange>| raw.into_iter().map(Change::try_from).collect::<Result<Vec<_>, _>>();
        Ok(Plan {
            mode: file.mode,
            state_lineage: file.state_lineage,
            state_serial: file.state_serial,
            changes: changes(file.changes)?,
            outputs: file.outputs,
            drift: changes(file.drift)?,
            adopted: file.adopted,
            moved: file.moved,
            imported: file.imported,
        })
    }
}

impl Plan {
    /// Checks what no single [`Change`] can know: that each fits the plan's mode and its address
    /// (a managed object left as it is has a prior value; a data source is only read or dropped),
    /// that no address has two changes, and that adoptions and drift name real changes. `Err`
    /// names the first problem.
    pub fn check_consistent(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for change in &self.changes {
            let addr = &change.address;
            if !seen.insert(addr) {
                return Err(format!("{addr} has more than one change"));
            }
            let (before, after) = (change.before().is_some(), change.after().is_some());
            let fits = match change.action() {
                // A managed resource that stays as it is, or a data source read at plan time.
                // A refresh-only plan records what refresh found, gone (no value) included.
                Action::NoOp if self.mode == PlanMode::RefreshOnly => true,
                Action::NoOp => after && (before || addr.is_data()),
                // The other actions' values are fixed by their type.
                _ => true,
            };
            if !fits {
                return Err(format!(
                    "the {:?} of {addr} {} a prior value and {} a planned one",
                    change.action(),
                    if before { "has" } else { "lacks" },
                    if after { "has" } else { "lacks" },
                ));
            }
            if change.action() == Action::Forget && change.reason != Reason::Removed {
                return Err(format!("{addr} is forgotten without a removed block"));
            }
            let data_action = matches!(change.action(), Action::Read | Action::NoOp | Action::Delete);
            if (addr.is_data() && !data_action) || (!addr.is_data() && change.action() == Action::Read) {
                return Err(format!("{addr} cannot be planned as {:?}", change.action()));
            }
            for dependency in &change.dependencies {
                if dependency.names(addr) {
                    return Err(format!("{addr} depends on itself"));
                }
            }
        }
        if self.mode == PlanMode::Destroy && self.changes.iter().any(|c| c.action() != Action::Delete) {
            return Err("a destroy plan holds a change other than a delete".to_owned());
        }
        if self.mode == PlanMode::RefreshOnly && self.changes.iter().any(|c| c.action() != Action::NoOp) {
            return Err("a refresh-only plan holds a change to an object".to_owned());
        }
        let adopted_without_change =
            self.adopted.iter().find(|a| !self.changes.iter().any(|c| &c.address == *a && c.action() != Action::Read));
        if let Some(addr) = adopted_without_change {
            return Err(format!("{addr} is adopted but has no change"));
        }
        let mut moved_ends = std::collections::BTreeSet::new();
        for moved in &self.moved {
            if !moved_ends.insert(&moved.from) || !moved_ends.insert(&moved.to) || moved.from == moved.to {
                return Err(format!("the move of {} to {} overlaps another move", moved.from, moved.to));
            }
            if moved.from.resource.type_name != moved.to.resource.type_name || moved.to.is_data() {
                return Err(format!("{} cannot move to {}", moved.from, moved.to));
            }
        }
        for imported in &self.imported {
            let change = self.change(&imported.address);
            let fits = change.is_some_and(|c| {
                !c.address.is_data() && (matches!(c.action(), Action::NoOp | Action::Update) || c.action().is_replace())
            });
            if !fits || self.mode != PlanMode::Normal {
                return Err(format!("{} is imported but has no change that keeps it", imported.address));
            }
        }
        if self.drift.iter().any(|c| c.after().is_none() && c.action() != Action::Delete) {
            return Err("a drift entry lacks its value".to_owned());
        }
        Ok(())
    }
}

/// The digest a saved plan binds itself to: SHA-256 of the state's resources and outputs in their
/// canonical file encoding. Lineage and serial are compared on their own (a state that does not
/// exist yet gets a new lineage at every read).
pub fn state_digest(state: &State) -> String {
    let content = State {
        trustform_version: String::new(),
        lineage: String::new(),
        serial: 0,
        resources: state.resources.clone(),
        outputs: state.outputs.clone(),
    };
    hex(&Sha256::digest(content.to_json_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    hex(&hasher.finalize())
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
    use crate::model::{ChangeValues, Reason, ReplaceOrder};

    #[test]
    fn round_trips_and_checks_its_version() {
        let saved = SavedPlan::new(
            Plan::default(),
            BTreeMap::from([("token".into(), Value::from("t").sensitive())]),
            config_digest([("a.tf", "x")]),
            &State::new(),
        );
        let bytes = saved.to_bytes();
        assert_eq!(SavedPlan::from_bytes(&bytes).unwrap(), saved);
        let older = String::from_utf8(bytes).unwrap().replace("\"format_version\": 2", "\"format_version\": 0");
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
            &State::new(),
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

    fn change(address: &str, values: ChangeValues) -> Change {
        Change {
            address: address.parse().unwrap(),
            provider: "test".into(),
            reason: Reason::None,
            values,
            attributes: Vec::new(),
            dependencies: Vec::new(),
        }
    }

    fn saved(plan: Plan) -> SavedPlan {
        SavedPlan::new(plan, BTreeMap::new(), String::new(), &State::new())
    }

    #[test]
    fn every_kind_of_change_keeps_the_files_spelling() {
        let (before, after) =
            (|| Value::object([("id", Value::from("a"))]), || Value::object([("id", Value::Unknown)]));
        let replace = |order| ChangeValues::Replace { before: before(), after: after(), order };
        let changes = vec![
            (change("test_resource.a", ChangeValues::Create { after: after() }), "create", false, true),
            (change("data.test_data.b", ChangeValues::Read { after: after() }), "read", false, true),
            (
                change("test_resource.c", ChangeValues::Update { before: before(), after: after() }),
                "update",
                true,
                true,
            ),
            (change("test_resource.d", replace(ReplaceOrder::DeleteFirst)), "delete_then_create", true, true),
            (change("test_resource.e", replace(ReplaceOrder::CreateFirst)), "create_then_delete", true, true),
            (change("test_resource.f", ChangeValues::Delete { before: before() }), "delete", true, false),
            (
                change("test_resource.g", ChangeValues::NoOp { before: Some(before()), after: after() }),
                "no_op",
                true,
                true,
            ),
            (change("data.test_data.h", ChangeValues::NoOp { before: None, after: after() }), "no_op", false, true),
        ];
        for (change, action, has_before, has_after) in &changes {
            let json = serde_json::to_value(change).unwrap();
            assert_eq!(json["action"], *action, "{json}");
            assert_eq!((!json["before"].is_null(), !json["after"].is_null()), (*has_before, *has_after), "{json}");
            if *has_after {
                assert_eq!(json["after"]["id"], serde_json::json!({ "$unknown": true }), "{json}");
            }
        }
        let plan = Plan { changes: changes.into_iter().map(|(change, ..)| change).collect(), ..Plan::default() };
        let saved = saved(plan);
        assert_eq!(SavedPlan::from_bytes(&saved.to_bytes()).unwrap(), saved);
    }

    #[test]
    fn what_refresh_found_gone_belongs_to_a_refresh_only_plan() {
        let gone = |before| change("test_resource.a", ChangeValues::refreshed(before, None));
        assert_eq!(gone(None).values, ChangeValues::Gone { before: None });
        for before in [None, Some(Value::object([("id", Value::from("a"))]))] {
            let refresh = Plan { mode: PlanMode::RefreshOnly, changes: vec![gone(before.clone())], ..Plan::default() };
            let saved = saved(refresh.clone());
            assert_eq!(SavedPlan::from_bytes(&saved.to_bytes()).unwrap(), saved);
            let normal = self::saved(Plan { mode: PlanMode::Normal, ..refresh });
            let err = SavedPlan::from_bytes(&normal.to_bytes()).unwrap_err();
            assert!(
                matches!(&err, SavedPlanError::Inconsistent(p) if p.contains("the NoOp of test_resource.a")),
                "{err}"
            );
        }
        // A managed object without a prior value is left as it is only by a refresh-only plan.
        let unrecorded = change(
            "test_resource.a",
            ChangeValues::NoOp { before: None, after: Value::object([("id", Value::from("a"))]) },
        );
        let refresh = Plan { mode: PlanMode::RefreshOnly, changes: vec![unrecorded], ..Plan::default() };
        assert!(SavedPlan::from_bytes(&saved(refresh.clone()).to_bytes()).is_ok());
        let normal = saved(Plan { mode: PlanMode::Normal, ..refresh });
        let err = SavedPlan::from_bytes(&normal.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("the NoOp of test_resource.a lacks a prior value and has a planned one"), "{err}");
    }

    #[test]
    fn a_malformed_change_is_malformed_not_inconsistent() {
        let plan = Plan {
            changes: vec![change("test_resource.a", ChangeValues::Create { after: Value::Null })],
            ..Plan::default()
        };
        let text = String::from_utf8(saved(plan).to_bytes()).unwrap().replace("\"create\"", "\"destroy\"");
        assert!(matches!(SavedPlan::from_bytes(text.as_bytes()), Err(SavedPlanError::Malformed(_))));
    }

    #[test]
    fn digest_depends_on_paths_and_texts() {
        assert_ne!(config_digest([("a.tf", "x")]), config_digest([("b.tf", "x")]));
        assert_ne!(config_digest([("a.tf", "xy")]), config_digest([("a.tfx", "y")]));
    }

    #[test]
    fn moves_imports_and_forgets_round_trip_and_inconsistent_ones_are_refused() {
        let object = || Value::object([("id", Value::from("a"))]);
        let addr = |text: &str| text.parse::<ResourceAddr>().unwrap();
        let mut forget = change("test_resource.gone", ChangeValues::Forget { before: object() });
        forget.reason = Reason::Removed;
        let plan = Plan {
            changes: vec![
                change("test_resource.imported", ChangeValues::NoOp { before: Some(object()), after: object() }),
                change("test_resource.moved[\"k\"]", ChangeValues::NoOp { before: Some(object()), after: object() }),
                forget.clone(),
            ],
            moved: vec![MovedObject { from: addr("test_resource.moved"), to: addr("test_resource.moved[\"k\"]") }],
            imported: vec![ImportedObject { address: addr("test_resource.imported"), id: "a".into() }],
            ..Plan::default()
        };
        let bytes = saved(plan.clone()).to_bytes();
        assert_eq!(SavedPlan::from_bytes(&bytes).unwrap().plan, plan);

        let refused = |plan: Plan| match SavedPlan::from_bytes(&saved(plan).to_bytes()) {
            Err(SavedPlanError::Inconsistent(problem)) => problem,
            other => panic!("accepted: {other:?}"),
        };
        let mut unreasoned = plan.clone();
        unreasoned.changes[2].reason = Reason::None;
        assert!(refused(unreasoned).contains("forgotten without a removed block"));
        let mut overlapping = plan.clone();
        overlapping.moved.push(MovedObject { from: addr("test_resource.moved"), to: addr("test_resource.other") });
        assert!(refused(overlapping).contains("overlaps another move"));
        let mut retyped = plan.clone();
        retyped.moved[0].to = addr("other_resource.moved");
        assert!(refused(retyped).contains("cannot move to"));
        let mut deleted = plan;
        deleted.changes[0] = change("test_resource.imported", ChangeValues::Delete { before: object() });
        assert!(refused(deleted).contains("is imported but has no change that keeps it"));
    }
}
