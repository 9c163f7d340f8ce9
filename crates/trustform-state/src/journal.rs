//! The journal: changes appended beside a snapshot, so that making one resource durable costs
//! the same whatever the size of the state.
//!
//! An apply hands its store one [`StateUpdate`] per group of finished resources
//! ([`crate::StateStore::persist`]). A store that keeps a journal appends it as one record; the
//! others write the whole state, as before. A record is framed so that a write torn by a crash is
//! recognised and dropped on reading:
//!
//! ```text
//! "TFJ1" | payload length (u32, little endian) | first 8 bytes of SHA-256(payload) | payload
//! ```
//!
//! The payload is the JSON `{"changes": [...], "lineage": ..., "serial": ...}` passed through the
//! store's [`Encryption`], so with encryption on each record is its own AES-GCM envelope. Reading
//! replays the records onto the snapshot in order: a record whose serial is not past the
//! snapshot's is already in it (a crash between writing a snapshot and emptying the journal
//! leaves such records), and the first frame that is cut short or fails its checksum ends the
//! journal, together with everything after it.
//!
//! The file is written ahead with zeros ([`JournalFile`]): a record overwrites blocks the file
//! already has, so its `fdatasync` has only the record to write, not a new file size and block
//! allocation as an append would; zeros end the journal on reading as a torn frame does.

use crate::file::{entry_ref, resource_from_entry, EncodedEntry, ResourceEntry, ResourceEntryRef};
use crate::local::{blocking, parent_dir, read_if_exists, remove_if_exists, sync_dir};
use crate::{Encryption, OutputState, ResourceState, State, StateError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use trustform_lang::ResourceAddr;
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"TFJ1";
const CHECKSUM_LENGTH: usize = 8;
const HEADER_LENGTH: usize = MAGIC.len() + 4 + CHECKSUM_LENGTH;

/// One change to a state, as a journal records it.
#[derive(Debug, Clone, PartialEq)]
pub enum StateChange {
    /// The resource at `address` is now `resource`.
    Put { address: ResourceAddr, resource: ResourceState },
    /// There is no resource at `address` any more.
    Remove { address: ResourceAddr },
    /// The outputs are now these.
    Outputs(BTreeMap<String, OutputState>),
}

impl StateChange {
    /// Makes the change to `state`.
    pub fn apply(&self, state: &mut State) {
        match self {
            StateChange::Put { address, resource } => {
                state.resources.insert(address.clone(), resource.clone());
            }
            StateChange::Remove { address } => {
                state.resources.remove(address);
            }
            StateChange::Outputs(outputs) => state.outputs.clone_from(outputs),
        }
    }

    fn into_apply(self, state: &mut State) {
        match self {
            StateChange::Put { address, resource } => {
                state.resources.insert(address, resource);
            }
            StateChange::Remove { address } => {
                state.resources.remove(&address);
            }
            StateChange::Outputs(outputs) => state.outputs = outputs,
        }
    }
}

/// A group of changes that takes the stored state to `serial`, for
/// [`crate::StateStore::persist`].
pub struct StateUpdate<'a> {
    /// The lineage of the state being changed.
    pub lineage: &'a str,
    /// The serial the state has once the changes are made.
    pub serial: u64,
    /// The changes, in order, on top of what the store last made durable for this writer.
    /// Shared, so that a store can encode them on another thread while the apply goes on.
    pub changes: std::sync::Arc<[StateChange]>,
    /// The whole state the changes lead to, at `serial`, for a store that writes it whole
    /// (at every update, or now and then to fold its journal in). It may already hold changes
    /// of later updates.
    pub whole: &'a (dyn Fn() -> State + Send + Sync),
}

impl StateUpdate<'_> {
    /// The whole state this update leads to.
    pub fn state(&self) -> State {
        (self.whole)()
    }
}

#[derive(Serialize)]
struct RecordRef<'a> {
    changes: Vec<ChangeRef<'a>>,
    lineage: &'a str,
    serial: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ChangeRef<'a> {
    Outputs(&'a BTreeMap<String, OutputState>),
    Put(ResourceEntryRef<'a>),
    Remove(&'a ResourceAddr),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    changes: Vec<ChangeEntry>,
    lineage: String,
    serial: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ChangeEntry {
    Outputs(BTreeMap<String, OutputState>),
    Put(ResourceEntry),
    Remove(ResourceAddr),
}

/// The framed, encrypted bytes of one update (its lineage, serial and changes). `target` names
/// the store, for messages.
pub(crate) fn encode_changes(
    encryption: &Encryption,
    target: &str,
    lineage: &str,
    serial: u64,
    changes: &[StateChange],
) -> Result<Vec<u8>, StateError> {
    let record = RecordRef {
        changes: changes
            .iter()
            .map(|change| match change {
                StateChange::Put { address, resource } => ChangeRef::Put(entry_ref(address, resource)),
                StateChange::Remove { address } => ChangeRef::Remove(address),
                StateChange::Outputs(outputs) => ChangeRef::Outputs(outputs),
            })
            .collect(),
        lineage,
        serial,
    };
    let plaintext =
        Zeroizing::new(serde_json::to_vec(&record).expect("a record serialises: every map in it is keyed by strings"));
    let payload =
        encryption.encrypt(&plaintext).map_err(|problem| StateError::Encrypt { target: target.to_owned(), problem })?;
    Ok(frame(&payload))
}

/// [`encode_changes`] with each put's resource written as its state-file entry (`entries[i]`
/// for `changes[i]`, which the caller keeps for the file), so that a resource is encoded once
/// for both. The record reads back the same: JSON's whitespace carries nothing.
pub(crate) fn encode_changes_with(
    encryption: &Encryption,
    target: &str,
    lineage: &str,
    serial: u64,
    changes: &[StateChange],
    entries: &[Option<EncodedEntry>],
) -> Result<Vec<u8>, StateError> {
    let json = "a record serialises: every map in it is keyed by strings";
    let length = entries.iter().flatten().map(|entry| entry.as_bytes().len() + 10).sum::<usize>();
    // Sized ahead, so that the plaintext is not copied (and left behind unzeroed) as it grows.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(length + 64 * changes.len() + 128));
    plaintext.extend_from_slice(b"{\"changes\":[");
    for (i, change) in changes.iter().enumerate() {
        if i > 0 {
            plaintext.push(b',');
        }
        match (change, entries.get(i).and_then(Option::as_ref)) {
            (StateChange::Put { .. }, Some(entry)) => {
                plaintext.extend_from_slice(b"{\"put\":");
                plaintext.extend_from_slice(entry.as_bytes());
                plaintext.push(b'}');
            }
            (StateChange::Put { address, resource }, None) => {
                serde_json::to_writer(&mut *plaintext, &ChangeRef::Put(entry_ref(address, resource))).expect(json)
            }
            (StateChange::Remove { address }, _) => {
                serde_json::to_writer(&mut *plaintext, &ChangeRef::Remove(address)).expect(json)
            }
            (StateChange::Outputs(outputs), _) => {
                serde_json::to_writer(&mut *plaintext, &ChangeRef::Outputs(outputs)).expect(json)
            }
        }
    }
    plaintext.extend_from_slice(b"],\"lineage\":");
    serde_json::to_writer(&mut *plaintext, lineage).expect(json);
    plaintext.extend_from_slice(format!(",\"serial\":{serial}}}").as_bytes());
    Ok(frame(&encryption.encode_bytes(target, plaintext)?))
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_LENGTH] {
    let digest = Sha256::digest(payload);
    let mut sum = [0u8; CHECKSUM_LENGTH];
    sum.copy_from_slice(&digest[..CHECKSUM_LENGTH]);
    sum
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LENGTH + payload.len());
    bytes.extend_from_slice(MAGIC);
    // A record is one group of resources; four gibibytes of it is not a state this crate writes.
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(&checksum(payload));
    bytes.extend_from_slice(payload);
    bytes
}

/// The payloads of the whole frames at the start of `bytes`, and how many bytes they take: what
/// follows is a torn write (or nothing).
fn frames(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut payloads = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER_LENGTH) {
        let (magic, rest) = header.split_at(MAGIC.len());
        let (length, sum) = rest.split_at(4);
        if magic != MAGIC {
            break;
        }
        let mut length_bytes = [0u8; 4];
        length_bytes.copy_from_slice(length);
        let Ok(length) = usize::try_from(u32::from_le_bytes(length_bytes)) else { break };
        let start = at + HEADER_LENGTH;
        let Some(payload) = start.checked_add(length).and_then(|end| bytes.get(start..end)) else { break };
        if checksum(payload) != sum {
            break;
        }
        payloads.push(payload);
        at = start + length;
    }
    (payloads, at)
}

/// A snapshot with its journal replayed onto it.
#[derive(Debug)]
pub(crate) struct Replayed {
    pub state: Option<State>,
    /// How many records were read (including those the snapshot already held).
    pub records: usize,
}

/// Replays the journal `bytes` (read from `path`) onto `snapshot`.
pub(crate) fn replay(
    encryption: &Encryption,
    path: &Path,
    snapshot: Option<State>,
    bytes: &[u8],
) -> Result<Replayed, StateError> {
    let (payloads, _) = frames(bytes);
    let origin = || format!("the state journal {}", path.display());
    let broken = |problem: String| StateError::Journal { path: path.to_owned(), problem };
    let base_serial = snapshot.as_ref().map(|state| state.serial);
    let mut state = snapshot;
    for payload in &payloads {
        let plaintext =
            encryption.decrypt(payload).map_err(|problem| StateError::Decrypt { origin: origin(), problem })?;
        let record: Record = serde_json::from_slice(&plaintext).map_err(|error| broken(error.to_string()))?;
        let current = state.get_or_insert_with(|| State { lineage: record.lineage.clone(), ..State::new() });
        if current.lineage != record.lineage {
            return Err(broken(format!(
                "it holds changes to lineage {}, but the state is lineage {}",
                record.lineage, current.lineage
            )));
        }
        if base_serial.is_some_and(|serial| record.serial <= serial) {
            continue;
        }
        for change in record.changes {
            let change = match change {
                ChangeEntry::Put(entry) => {
                    let (address, resource) = resource_from_entry(entry).map_err(|error| broken(error.to_string()))?;
                    StateChange::Put { address, resource }
                }
                ChangeEntry::Remove(address) => StateChange::Remove { address },
                ChangeEntry::Outputs(outputs) => StateChange::Outputs(outputs),
            };
            change.into_apply(current);
        }
        current.serial = current.serial.max(record.serial);
    }
    Ok(Replayed { state, records: payloads.len() })
}

/// A journal file on its own, for a store whose snapshot is elsewhere: the S3 backend keeps the
/// updates made between two writes of its remote object here, on the local disk.
#[derive(Debug)]
pub struct LocalJournal {
    path: PathBuf,
    encryption: Encryption,
    /// The file, open for writing once this instance has cut any torn tail off it.
    open: tokio::sync::Mutex<Option<JournalFile>>,
}

impl LocalJournal {
    /// A journal at `path`, its records passing through `encryption`.
    pub fn new(path: impl Into<PathBuf>, encryption: Encryption) -> Self {
        LocalJournal { path: path.into(), encryption, open: tokio::sync::Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `base` with the journal's records replayed onto it (those past its serial), and whether
    /// there were any such records.
    pub async fn replay_onto(&self, base: Option<State>) -> Result<(Option<State>, bool), StateError> {
        let path = self.path.clone();
        let bytes = blocking(move || read_if_exists(&path)).await.map_err(journal_io("read", &self.path))?;
        let Some(bytes) = bytes else { return Ok((base, false)) };
        let before = base.as_ref().map(|state| state.serial);
        let replayed = replay(&self.encryption, &self.path, base, &bytes)?;
        let newer = replayed.state.as_ref().is_some_and(|state| Some(state.serial) != before);
        Ok((replayed.state, newer))
    }

    /// Appends `update` and syncs it. The first append of this instance cuts off a torn tail.
    /// The record is encoded (and encrypted) in the same trip to the blocking pool as the write,
    /// so an apply's walk goes on meanwhile.
    pub async fn append(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        let mut open = self.open.lock().await;
        let file = open.take();
        let (path, encryption, lineage, serial, changes) = (
            self.path.clone(),
            self.encryption.clone(),
            update.lineage.to_owned(),
            update.serial,
            update.changes.clone(),
        );
        let target = format!("the state journal {}", self.path.display());
        let appended = blocking(move || {
            let record = match encode_changes(&encryption, &target, &lineage, serial, &changes) {
                Ok(record) => record,
                Err(error) => return Ok((file, Err(error))),
            };
            let mut file = match file {
                Some(file) => file,
                None => JournalFile::open(&path)?,
            };
            file.append(&record)?;
            Ok((Some(file), Ok(())))
        })
        .await
        .map_err(journal_io("append to", &self.path))?;
        // Only after a whole append: a failed one leaves a tail the next open cuts off.
        let (file, encoded) = appended;
        *open = file;
        encoded
    }

    /// Deletes the journal, whose records the snapshot now holds.
    pub async fn clear(&self) -> Result<(), StateError> {
        let mut open = self.open.lock().await;
        *open = None;
        let path = self.path.clone();
        blocking(move || remove_if_exists(&path).map(drop)).await.map_err(journal_io("remove", &self.path))
    }
}

/// The least, and the most, a journal is written ahead of its records.
const WRITE_AHEAD: (u64, u64) = (64 * 1024, 4 * 1024 * 1024);

/// A journal file open for writing records, each synced with `fdatasync` before
/// [`JournalFile::append`] returns. Past its records the file holds zeros, written ahead in
/// steps as long as the records so far (within [`WRITE_AHEAD`]), so most records overwrite
/// blocks the file already has: their sync writes the record and nothing else.
#[derive(Debug)]
pub(crate) struct JournalFile {
    file: File,
    inode: u64,
    /// Where the next record goes: the end of the whole records.
    end: u64,
    /// The file's length: zeros from `end` on.
    length: u64,
}

impl JournalFile {
    /// Opens the journal at `path` (creating it, mode 0600) to write after its whole records,
    /// first cutting off what follows them: a torn record, or zeros written ahead.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let dir = parent_dir(path);
        fs::create_dir_all(dir)?;
        let mut file =
            fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (_, valid_length) = frames(&bytes);
        let end = valid_length as u64;
        if valid_length < bytes.len() {
            // Cut, and synced, so that no byte of a torn record can follow a later, shorter one.
            file.set_len(end)?;
            file.sync_data()?;
        }
        if bytes.is_empty() {
            // The file may be new: its name is durable only once the directory is synced.
            sync_dir(dir)?;
        }
        let inode = file.metadata()?.ino();
        Ok(JournalFile { file, inode, end, length: end })
    }

    /// How many bytes the whole records take.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Writes `record` after the others and syncs it.
    pub(crate) fn append(&mut self, record: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let end = self.end + record.len() as u64;
        if end <= self.length {
            self.file.write_all_at(record, self.end)?;
        } else {
            // The record and the zeros after it in one write, synced together below.
            let ahead = end.clamp(WRITE_AHEAD.0, WRITE_AHEAD.1);
            let length = (end + ahead).next_multiple_of(4096);
            let mut bytes = Vec::with_capacity(usize::try_from(length - self.end).unwrap_or(0));
            bytes.extend_from_slice(record);
            bytes.resize(usize::try_from(length - self.end).map_err(io::Error::other)?, 0);
            self.file.write_all_at(&bytes, self.end)?;
            self.length = length;
        }
        self.file.sync_data()?;
        self.end = end;
        Ok(())
    }

    /// Whether the file at `path` is still this one, as this instance left it: same file, same
    /// length, and nothing written after the last record.
    pub(crate) fn as_left(&self, path: &Path) -> io::Result<bool> {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error),
        };
        if meta.ino() != self.inode || meta.len() != self.length {
            return Ok(false);
        }
        let mut next = [0u8; MAGIC.len()];
        let read = self.file.read_at(&mut next, self.end)?;
        Ok(next[..read].iter().all(|byte| *byte == 0))
    }
}

fn journal_io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_owned();
    move |error| StateError::Io { action, path, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Value;

    fn addr(text: &str) -> ResourceAddr {
        text.parse().unwrap()
    }

    fn resource(id: &str) -> ResourceState {
        let value = Value::object([("id", Value::from(id)), ("secret", Value::from("hunter2").sensitive())]);
        ResourceState::from_value("trustform_data", "trustform", &value, [addr("trustform_data.root")]).unwrap()
    }

    fn record(encryption: &Encryption, lineage: &str, serial: u64, changes: &[StateChange]) -> Vec<u8> {
        encode_changes(encryption, "t", lineage, serial, changes).unwrap()
    }

    fn put(address: &str, id: &str) -> StateChange {
        StateChange::Put { address: addr(address), resource: resource(id) }
    }

    #[test]
    fn records_replay_in_order_onto_the_snapshot() {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let mut snapshot = State::new();
        snapshot.serial = 3;
        snapshot.resources.insert(addr("trustform_data.old"), resource("old"));
        let lineage = snapshot.lineage.clone();
        let outputs = BTreeMap::from([("o".to_owned(), OutputState { value: "v".into(), sensitive: false })]);
        let mut journal = record(&plain, &lineage, 3, &[put("trustform_data.stale", "already in the snapshot")]);
        journal.extend(record(&plain, &lineage, 4, &[put("trustform_data.a", "a1"), put("trustform_data.b", "b")]));
        journal.extend(record(
            &plain,
            &lineage,
            5,
            &[
                put("trustform_data.a", "a2"),
                StateChange::Remove { address: addr("trustform_data.old") },
                StateChange::Outputs(outputs.clone()),
            ],
        ));
        let replayed = replay(&plain, Path::new("j"), Some(snapshot), &journal).unwrap();
        assert_eq!((frames(&journal).1, replayed.records), (journal.len(), 3));
        let state = replayed.state.unwrap();
        assert_eq!(state.serial, 5);
        let ids: Vec<(String, &str)> = state.resources.iter().map(|(a, r)| (a.to_string(), r.id.as_str())).collect();
        assert_eq!(ids, [("trustform_data.a".to_owned(), "a2"), ("trustform_data.b".to_owned(), "b")]);
        assert_eq!(state.outputs, outputs);
        let marked = state.resources[&addr("trustform_data.a")].value();
        assert!(marked.get("secret").is_some_and(Value::is_sensitive), "sensitive marks survive a record");
    }

    #[test]
    fn a_record_written_with_state_file_entries_replays_as_the_plain_one() {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let lineage = State::new().lineage;
        let outputs = BTreeMap::from([("o".to_owned(), OutputState { value: "v".into(), sensitive: true })]);
        let changes = [
            put("trustform_data.a", "a"),
            StateChange::Remove { address: addr("trustform_data.gone") },
            put("module.m[\"k\"].trustform_data.b", "b \"quoted\"\nline"),
            StateChange::Outputs(outputs),
        ];
        // Every put with its entry, and one without (encoded in the record only).
        let entries: Vec<Option<EncodedEntry>> = changes
            .iter()
            .enumerate()
            .map(|(i, change)| match change {
                StateChange::Put { address, resource } if i == 0 => Some(EncodedEntry::of(address, resource)),
                _ => None,
            })
            .collect();
        let with = encode_changes_with(&plain, "t", &lineage, 4, &changes, &entries).unwrap();
        let without = encode_changes(&plain, "t", &lineage, 4, &changes).unwrap();
        let mut snapshot = State::new();
        snapshot.lineage = lineage;
        snapshot.serial = 3;
        snapshot.resources.insert(addr("trustform_data.gone"), resource("gone"));
        let replayed = |bytes: &[u8]| replay(&plain, Path::new("j"), Some(snapshot.clone()), bytes).unwrap();
        let (with, without) = (replayed(&with), replayed(&without));
        assert_eq!((with.records, without.records), (1, 1));
        assert_eq!(with.state, without.state);
        assert_eq!(with.state.unwrap().resources.len(), 2);
    }

    #[test]
    fn a_torn_or_corrupted_tail_is_dropped_with_everything_after_it() {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let lineage = State::new().lineage;
        let first = record(&plain, &lineage, 1, &[put("trustform_data.a", "a")]);
        let second = record(&plain, &lineage, 2, &[put("trustform_data.b", "b")]);
        for cut in 0..second.len() {
            let mut journal = first.clone();
            journal.extend_from_slice(&second[..cut]);
            let replayed = replay(&plain, Path::new("j"), None, &journal).unwrap();
            assert_eq!(frames(&journal).1, first.len(), "cut at {cut}");
            let state = replayed.state.unwrap();
            assert_eq!((state.serial, state.resources.len()), (1, 1), "cut at {cut}");
        }
        let mut flipped = first.clone();
        flipped.extend_from_slice(&second);
        let last = flipped.len() - 2;
        flipped[last] ^= 0x20;
        flipped.extend_from_slice(&record(&plain, &lineage, 3, &[put("trustform_data.c", "c")]));
        let replayed = replay(&plain, Path::new("j"), None, &flipped).unwrap();
        assert_eq!((frames(&flipped).1, replayed.records), (first.len(), 1));
    }

    fn records_in(path: &Path) -> Vec<u64> {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let bytes = fs::read(path).unwrap();
        let (payloads, _) = frames(&bytes);
        payloads
            .iter()
            .map(|payload| serde_json::from_slice::<Record>(&plain.decrypt(payload).unwrap()).unwrap().serial)
            .collect()
    }

    #[test]
    fn records_overwrite_zeros_written_ahead_so_the_file_keeps_its_length() {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let lineage = State::new().lineage;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.journal");
        let mut journal = JournalFile::open(&path).unwrap();
        journal.append(&record(&plain, &lineage, 1, &[put("trustform_data.a", "a")])).unwrap();
        let length = fs::metadata(&path).unwrap().len();
        assert!(length >= WRITE_AHEAD.0 && length > journal.end(), "written ahead: {length}");
        for serial in 2..=20 {
            journal.append(&record(&plain, &lineage, serial, &[put("trustform_data.a", "a")])).unwrap();
        }
        assert_eq!(fs::metadata(&path).unwrap().len(), length, "records are written in place");
        let bytes = fs::read(&path).unwrap();
        let end = usize::try_from(journal.end()).unwrap();
        assert!(bytes[end..].iter().all(|byte| *byte == 0));
        assert_eq!(records_in(&path), (1..=20).collect::<Vec<_>>());
        assert!(journal.as_left(&path).unwrap());

        // A record larger than what is left grows the file, zeros after it again.
        let big = Value::from("x".repeat(usize::try_from(length).unwrap()));
        let resource =
            ResourceState::from_value("trustform_data", "trustform", &Value::object([("id", big)]), []).unwrap();
        let change = StateChange::Put { address: addr("trustform_data.big"), resource };
        journal.append(&record(&plain, &lineage, 21, &[change])).unwrap();
        assert!(fs::metadata(&path).unwrap().len() > journal.end());
        assert_eq!(records_in(&path), (1..=21).collect::<Vec<_>>());
        assert_eq!(JournalFile::open(&path).unwrap().end(), journal.end(), "reopening keeps every record");
    }

    #[test]
    fn a_torn_record_is_cut_off_before_the_next_one_is_written_over_it() {
        use std::os::unix::fs::FileExt;
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let lineage = State::new().lineage;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.journal");
        let mut journal = JournalFile::open(&path).unwrap();
        journal.append(&record(&plain, &lineage, 1, &[put("trustform_data.a", "a")])).unwrap();
        // A kill in the middle of writing a long record of three resources.
        let long = record(
            &plain,
            &lineage,
            2,
            &[put("trustform_data.b", "b"), put("trustform_data.c", "c"), put("trustform_data.d", "d")],
        );
        let torn = &long[..long.len() - 3];
        fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(torn, journal.end()).unwrap();
        assert!(!journal.as_left(&path).unwrap(), "another writer's bytes after the records are noticed");
        assert_eq!(records_in(&path), [1]);

        // The next run cuts the torn bytes off, so none of them follows its shorter record.
        let mut next = JournalFile::open(&path).unwrap();
        assert_eq!(next.end(), journal.end());
        next.append(&record(&plain, &lineage, 2, &[put("trustform_data.e", "e")])).unwrap();
        let bytes = fs::read(&path).unwrap();
        let end = usize::try_from(next.end()).unwrap();
        assert!(bytes[end..].iter().all(|byte| *byte == 0), "nothing of the torn record is left");
        assert_eq!(records_in(&path), [1, 2]);
    }

    #[test]
    fn a_journal_of_another_lineage_is_refused() {
        let plain = Encryption::plaintext(crate::encryption::Payload::State);
        let journal = record(&plain, &State::new().lineage, 9, &[put("trustform_data.a", "a")]);
        let err = replay(&plain, Path::new("state.journal"), Some(State::new()), &journal).unwrap_err();
        assert!(matches!(err, StateError::Journal { .. }), "{err}");
        assert!(err.to_string().contains("state.journal"), "{err}");
    }
}
