//! The state file layout: pretty JSON, every object's keys sorted, resources as an array sorted by
//! address (each entry carrying its `address`) so that the file reads like Terraform's.

use crate::{DecodeError, OutputState, ResourceState, ResourceStatus, State, FORMAT_VERSION};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use trustform_lang::{Path, ResourceAddr};

impl State {
    /// The state file's bytes: deterministic, so the same state always gives the same bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serialised directly: every map in a state is ordered (resources sorted by address,
        // attributes built from sorted maps or read back from a sorted file), and going through
        // `serde_json::Value` to sort again costs ten times as much on the apply hot path, where
        // state is written after every resource.
        // Sized ahead (a resource takes some 600 bytes): growing a buffer of megabytes by
        // doubling copies it and touches fresh pages at every step.
        let mut bytes = Vec::with_capacity(4096 + 640 * self.resources.len());
        serde_json::to_writer_pretty(&mut bytes, self)
            .expect("a state serialises: every map in it is keyed by strings");
        bytes.push(b'\n');
        bytes
    }

    /// [`State::to_json_bytes`], taking each resource's entry from `encoded` when it has one
    /// ([`EncodedEntry::of`] of that very resource): the bytes are the same, and the entries
    /// encoded earlier (by an apply, as each resource was journaled, on another thread) are not
    /// encoded again. The layout is serde_json's pretty one (two spaces a level), written out;
    /// a test holds the two to the same bytes.
    #[cfg(test)]
    pub(crate) fn to_json_bytes_with<'e>(
        &self,
        encoded: &dyn Fn(&ResourceAddr, &ResourceState) -> Option<&'e EncodedEntry>,
    ) -> Vec<u8> {
        self.file_parts(encoded).into_bytes()
    }

    /// The parts of [`State::to_json_bytes_with`], gathered without encoding anything but the
    /// file's head and tail, so that the entries not encoded yet and the joining (megabytes for
    /// thousands of resources) can be left to another thread.
    pub(crate) fn file_parts<'e>(
        &self,
        encoded: &dyn Fn(&ResourceAddr, &ResourceState) -> Option<&'e EncodedEntry>,
    ) -> FileParts {
        let json = "a state serialises: every map in it is keyed by strings";
        let mut head = format!("{{\n  \"format_version\": {FORMAT_VERSION},\n  \"lineage\": ").into_bytes();
        serde_json::to_writer(&mut head, &self.lineage).expect(json);
        head.extend_from_slice(b",\n  \"outputs\": ");
        let outputs = serde_json::to_string_pretty(&self.outputs).expect(json);
        head.extend_from_slice(outputs.replace('\n', "\n  ").as_bytes());
        head.extend_from_slice(b",\n  \"resources\": [");
        let entries = self
            .resources
            .iter()
            .map(|(address, resource)| match encoded(address, resource) {
                Some(entry) => Entry::Encoded(entry.clone()),
                None => Entry::ToEncode(Box::new((address.clone(), resource.clone()))),
            })
            .collect();
        let mut tail = Vec::new();
        if !self.resources.is_empty() {
            tail.extend_from_slice(b"\n  ");
        }
        tail.extend_from_slice(format!("],\n  \"serial\": {},\n  \"trustform_version\": ", self.serial).as_bytes());
        serde_json::to_writer(&mut tail, &self.trustform_version).expect(json);
        tail.extend_from_slice(b"\n}\n");
        FileParts { head, entries, tail }
    }

    /// Reads a state file's bytes. The format version is checked before anything else, so a file
    /// from a newer Trustform says so instead of failing on a field it does not know.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<State, DecodeError> {
        let probe: VersionProbe = serde_json::from_slice(bytes)?;
        check_format_version(probe.format_version)?;
        let file: StateFile = serde_json::from_slice(bytes)?;
        State::try_from(file)
    }
}

fn check_format_version(found: Option<u64>) -> Result<(), DecodeError> {
    match found {
        None => Err(DecodeError::MissingFormatVersion),
        Some(found) if found == u64::from(FORMAT_VERSION) => Ok(()),
        Some(found) => Err(DecodeError::UnsupportedFormatVersion { found }),
    }
}

#[derive(Deserialize)]
#[serde(expecting = "a Trustform state object")]
struct VersionProbe {
    format_version: Option<u64>,
}

/// Fields in alphabetical order, matching the sorted keys of the file.
#[derive(Serialize)]
struct StateFileRef<'a> {
    format_version: u32,
    lineage: &'a str,
    outputs: &'a BTreeMap<String, OutputState>,
    resources: Vec<ResourceEntryRef<'a>>,
    serial: u64,
    trustform_version: &'a str,
}

/// One resource's entry as it stands in a state file: pretty JSON indented for its place in the
/// `resources` array. Shared: the same bytes go into a journal record and the state file.
#[derive(Debug, Clone)]
pub(crate) struct EncodedEntry(std::sync::Arc<str>);

impl EncodedEntry {
    pub(crate) fn of(address: &ResourceAddr, resource: &ResourceState) -> EncodedEntry {
        let alone = serde_json::to_string_pretty(&entry_ref(address, resource))
            .expect("an entry serialises: every map in it is keyed by strings");
        // JSON text has no raw newline inside a string, so every newline is between tokens.
        EncodedEntry(alone.replace('\n', "\n    ").into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A state file in parts ([`State::file_parts`]): its head and tail, and each resource's entry,
/// encoded or still to encode.
pub(crate) struct FileParts {
    head: Vec<u8>,
    entries: Vec<Entry>,
    tail: Vec<u8>,
}

enum Entry {
    Encoded(EncodedEntry),
    ToEncode(Box<(ResourceAddr, ResourceState)>),
}

impl FileParts {
    /// The file's bytes: the same as [`State::to_json_bytes`].
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        let entries: Vec<EncodedEntry> = self
            .entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Encoded(entry) => entry,
                Entry::ToEncode(entry) => EncodedEntry::of(&entry.0, &entry.1),
            })
            .collect();
        let length = entries.iter().map(|entry| entry.0.len() + 6).sum::<usize>();
        // Sized exactly, so that the buffer (which may hold secrets) is never copied as it grows.
        let mut out = Vec::with_capacity(self.head.len() + length + self.tail.len());
        out.extend_from_slice(&self.head);
        for (i, entry) in entries.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            out.extend_from_slice(entry.as_bytes());
        }
        out.extend_from_slice(&self.tail);
        out
    }
}

#[derive(Serialize)]
pub(crate) struct ResourceEntryRef<'a> {
    address: &'a ResourceAddr,
    attributes: &'a serde_json::Value,
    dependencies: Vec<&'a ResourceAddr>,
    id: &'a str,
    provider: &'a str,
    sensitive_attributes: Vec<String>,
    status: ResourceStatus,
    #[serde(rename = "type")]
    type_name: &'a str,
}

// Unknown fields are refused rather than ignored: this crate rewrites the files it reads, and a
// field it ignored would be silently dropped. A layout change comes with a new format_version.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a Trustform state object")]
struct StateFile {
    format_version: u64,
    lineage: String,
    outputs: BTreeMap<String, OutputState>,
    resources: Vec<ResourceEntry>,
    serial: u64,
    trustform_version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a resource entry")]
pub(crate) struct ResourceEntry {
    address: ResourceAddr,
    attributes: serde_json::Value,
    dependencies: Vec<ResourceAddr>,
    id: String,
    provider: String,
    sensitive_attributes: Vec<String>,
    status: ResourceStatus,
    #[serde(rename = "type")]
    type_name: String,
}

impl<'a> From<&'a State> for StateFileRef<'a> {
    fn from(state: &'a State) -> Self {
        StateFileRef {
            format_version: FORMAT_VERSION,
            lineage: &state.lineage,
            outputs: &state.outputs,
            resources: state.resources.iter().map(|(address, resource)| entry_ref(address, resource)).collect(),
            serial: state.serial,
            trustform_version: &state.trustform_version,
        }
    }
}

/// How one resource is written in a state file (and in a journal record).
pub(crate) fn entry_ref<'a>(address: &'a ResourceAddr, resource: &'a ResourceState) -> ResourceEntryRef<'a> {
    // Sorted again here because the fields are public: the file stays canonical whoever built
    // the value.
    let mut dependencies: Vec<&ResourceAddr> = resource.dependencies.iter().collect();
    dependencies.sort();
    dependencies.dedup();
    ResourceEntryRef {
        address,
        attributes: &resource.attributes,
        dependencies,
        id: &resource.id,
        provider: &resource.provider,
        sensitive_attributes: resource.sensitive_attributes.iter().map(ToString::to_string).collect(),
        status: resource.status,
        type_name: &resource.type_name,
    }
}

impl TryFrom<StateFile> for State {
    type Error = DecodeError;

    fn try_from(file: StateFile) -> Result<State, DecodeError> {
        check_format_version(Some(file.format_version))?;
        let mut resources = BTreeMap::new();
        for entry in file.resources {
            let (address, resource) = resource_from_entry(entry)?;
            if resources.contains_key(&address) {
                return Err(DecodeError::DuplicateResource { address: Box::new(address) });
            }
            resources.insert(address, resource);
        }
        Ok(State {
            trustform_version: file.trustform_version,
            lineage: file.lineage,
            serial: file.serial,
            resources,
            outputs: file.outputs,
        })
    }
}

/// One resource entry of a state file (or of a journal record), checked.
pub(crate) fn resource_from_entry(entry: ResourceEntry) -> Result<(ResourceAddr, ResourceState), DecodeError> {
    let address = entry.address;
    if entry.type_name != address.type_name() {
        return Err(DecodeError::TypeMismatch { address: Box::new(address), type_name: entry.type_name });
    }
    let mut sensitive_attributes = Vec::with_capacity(entry.sensitive_attributes.len());
    for path in entry.sensitive_attributes {
        match path.parse::<Path>() {
            Ok(parsed) => sensitive_attributes.push(parsed),
            Err(problem) => return Err(DecodeError::BadSensitivePath { address: Box::new(address), problem }),
        }
    }
    let mut dependencies = entry.dependencies;
    dependencies.sort();
    dependencies.dedup();
    let resource = ResourceState {
        type_name: entry.type_name,
        provider: entry.provider,
        id: entry.id,
        attributes: std::sync::Arc::new(entry.attributes),
        sensitive_attributes,
        dependencies,
        status: entry.status,
    };
    Ok((address, resource))
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StateFileRef::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = StateFile::deserialize(deserializer)?;
        State::try_from(file).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Value;

    fn addr(text: &str) -> ResourceAddr {
        text.parse().unwrap()
    }

    /// A state touching every part of the format, with a fixed lineage so that its bytes are stable.
    fn sample() -> State {
        let mut state = State::new();
        state.lineage = "5d2b8a4e-6c1f-4f0a-9e3b-7a1c2d3e4f50".to_owned();
        state.serial = 3;
        state.trustform_version = "0.1.0".to_owned();
        let role = Value::object([
            ("arn", Value::from("arn:aws:iam::123456789012:role/litellm")),
            ("id", Value::from("litellm")),
            ("max_session_duration", Value::from(3600)),
            ("tags", Value::object([("team", Value::from("platform"))])),
        ]);
        let key = Value::object([
            ("id", Value::from("projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/k1")),
            ("private_key", Value::from("LS0tLS1CRUdJTi1QUklWQVRFLUtFWS0tLS0t").sensitive()),
            ("service_account_id", Value::from("sa@p.iam.gserviceaccount.com")),
        ]);
        let sa = Value::object([("email", Value::from("sa@p.iam.gserviceaccount.com")), ("id", Value::from("sa"))]);
        let sa_addr = addr(r#"google_service_account.sa["vertex"]"#);
        let project = Value::object([("id", Value::from("projects/p")), ("number", Value::from("123456789"))]);
        state.resources.insert(
            addr("data.google_project.this"),
            ResourceState::from_value("google_project", "google", &project, []).unwrap(),
        );
        state
            .resources
            .insert(addr("aws_iam_role.litellm"), ResourceState::from_value("aws_iam_role", "aws", &role, []).unwrap());
        state.resources.insert(
            addr("google_service_account_key.k"),
            ResourceState::from_value("google_service_account_key", "google", &key, [sa_addr.clone()])
                .unwrap()
                .tainted(),
        );
        state
            .resources
            .insert(sa_addr, ResourceState::from_value("google_service_account", "google", &sa, []).unwrap());
        state
            .outputs
            .insert("role_arn".to_owned(), OutputState::from_value("role_arn", role.get("arn").unwrap()).unwrap());
        state.outputs.insert(
            "sa_key".to_owned(),
            OutputState::from_value("sa_key", &Value::from("LS0tLS1CRUdJTi1QUklWQVRFLUtFWS0tLS0t").sensitive())
                .unwrap(),
        );
        state
    }

    fn text(state: &State) -> String {
        String::from_utf8(state.to_json_bytes()).unwrap()
    }

    #[test]
    fn entries_encoded_ahead_give_the_same_bytes() {
        let mut states = vec![sample(), State { resources: BTreeMap::new(), ..sample() }];
        let mut nested = sample();
        let deep = Value::object([
            ("id", Value::from("m")),
            ("list", Value::List(vec![Value::object([("k", "line\nbreak \"quoted\"".into())]), Value::List(vec![])])),
            ("empty", Value::object::<&str>([])),
        ]);
        let in_module = addr(r#"module.gw["prod"].module.inner.aws_iam_role.x[3]"#);
        nested.resources.insert(in_module, ResourceState::from_value("aws_iam_role", "aws", &deep, []).unwrap());
        nested.outputs.clear();
        states.push(nested);
        for state in &states {
            let all: BTreeMap<&ResourceAddr, EncodedEntry> =
                state.resources.iter().map(|(a, r)| (a, EncodedEntry::of(a, r))).collect();
            assert_eq!(state.to_json_bytes_with(&|a, _| all.get(a)), state.to_json_bytes());
            // Some encoded ahead, the others now.
            let some: BTreeMap<&ResourceAddr, &EncodedEntry> = all.iter().step_by(2).map(|(a, e)| (*a, e)).collect();
            assert_eq!(state.to_json_bytes_with(&|a, _| some.get(a).copied()), state.to_json_bytes());
            assert_eq!(state.to_json_bytes_with(&|_, _| None), state.to_json_bytes());
        }
    }

    #[test]
    fn state_file_snapshot() {
        insta::assert_snapshot!(text(&sample()));
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let state = sample();
        let bytes = state.to_json_bytes();
        let back = State::from_json_bytes(&bytes).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.to_json_bytes(), bytes);
        assert!(bytes.ends_with(b"}\n"));
    }

    #[test]
    fn serde_impls_agree_with_the_file_functions() {
        let state = sample();
        let via_serde: State = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(via_serde, state);
    }

    #[test]
    fn dependencies_are_written_sorted_whoever_built_the_state() {
        let mut state = sample();
        let key = state.resources.get_mut(&addr("google_service_account_key.k")).unwrap();
        key.dependencies = vec![addr("b_x.y"), addr("a_x.y"), addr("b_x.y")];
        let back = State::from_json_bytes(&state.to_json_bytes()).unwrap();
        assert_eq!(back.resources[&addr("google_service_account_key.k")].dependencies, [addr("a_x.y"), addr("b_x.y")]);
    }

    #[test]
    fn sensitive_marks_survive_the_file() {
        let back = State::from_json_bytes(&sample().to_json_bytes()).unwrap();
        let key = back.resources[&addr("google_service_account_key.k")].value();
        assert!(key.get("private_key").unwrap().is_sensitive());
        assert!(!key.get("service_account_id").unwrap().is_sensitive());
        assert!(back.outputs["sa_key"].value().is_sensitive());
    }

    fn decode_error(json: &str) -> String {
        State::from_json_bytes(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let err = decode_error("{\n  \"format_version\": 1,\n  oops\n}\n");
        assert!(err.contains("line 3 column 3"), "{err}");
    }

    #[test]
    fn format_version_is_checked_before_the_layout() {
        let err = decode_error(r#"{"format_version": 2, "resources": {"a new": "layout"}}"#);
        assert!(err.contains("format_version is 2") && err.contains("reads format_version 1"), "{err}");
        let err = decode_error(r#"{"version": 4, "terraform_version": "1.9.0"}"#);
        assert!(err.contains("not a Trustform state file"), "{err}");
        let err = decode_error(r#""a string""#);
        assert!(err.contains("expected a Trustform state object"), "{err}");
    }

    fn sample_json() -> serde_json::Value {
        serde_json::from_slice(&sample().to_json_bytes()).unwrap()
    }

    fn decode_json(json: &serde_json::Value) -> String {
        decode_error(&json.to_string())
    }

    #[test]
    fn unknown_fields_are_refused_not_dropped() {
        let mut json = sample_json();
        json["resources"][0]["create_before_destroy"] = true.into();
        let err = decode_json(&json);
        assert!(err.contains("unknown field `create_before_destroy`") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn inconsistent_resources_are_named() {
        let mut json = sample_json();
        let first = json["resources"][0].clone();
        json["resources"].as_array_mut().unwrap().push(first);
        assert_eq!(decode_json(&json), "resource aws_iam_role.litellm appears more than once");

        let mut json = sample_json();
        json["resources"][0]["type"] = "aws_iam_policy".into();
        assert!(decode_json(&json).contains("aws_iam_role.litellm is recorded with type \"aws_iam_policy\""));

        let mut json = sample_json();
        json["resources"][0]["sensitive_attributes"] = serde_json::json!(["tags[\"team"]);
        let err = decode_json(&json);
        assert!(err.contains("aws_iam_role.litellm lists a sensitive attribute that is not a path"), "{err}");
        assert!(err.contains(r#"unclosed '[' in path "tags[\"team""#), "{err}");

        let mut json = sample_json();
        json["resources"][0]["address"] = "not an address".into();
        assert!(decode_json(&json).contains("is not a resource address"));
    }
}
