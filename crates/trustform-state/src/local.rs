use crate::encryption::Payload;
use crate::file::EncodedEntry;
use crate::guard::check_serial;
use crate::journal::{encode_changes_with, replay, JournalFile, Replayed};
use crate::{
    check_overwrite, Encryption, LockError, LockInfo, Locker, ResourceState, State, StateChange, StateError,
    StateStore, StateUpdate,
};
use async_trait::async_trait;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use trustform_lang::ResourceAddr;
use zeroize::Zeroizing;

/// How many times `lock` tries again when the lock file disappears between finding it and reading it.
const LOCK_ATTEMPTS: usize = 3;

/// State in a local file (`state/default.tfstate`), locked by a sibling `<path>.lock.json`.
///
/// The lock is an OS file lock (`flock`) on that file, held by this instance for the run, so it
/// dies with its process: a run killed by SIGKILL or a panic leaves nothing a person must remove.
/// The file also records the holder (`LockInfo`) for the message another run shows while waiting.
///
/// An apply's per-resource updates ([`StateStore::persist`]) are written to `<path>.journal`
/// after the records before them, over zeros written ahead, and synced (one `fdatasync` per
/// update, with no file size to record), so each costs the same whatever the size of the
/// state; the journal is folded into the file when it grows past it and at the end of the run
/// ([`StateStore::checkpoint`]), and reading replays it onto the file, dropping a torn tail
/// (module `journal`). Any whole write folds it in too.
///
/// Writes are atomic and durable: a temporary file in the same directory is written and synced,
/// renamed over the state, and the directory synced, so a crash at any moment leaves either the
/// old state or the new one. Files are created with mode 0600 because state can hold secrets.
/// The first write of each instance first copies the state it finds to `<path>.backup`: the
/// state as it was when the command started.
///
/// The bytes pass through an [`Encryption`] ([`LocalBackend::with_encryption`]; plaintext by
/// default). A file the encryption cannot read is never overwritten: the write fails first.
#[derive(Debug)]
pub struct LocalBackend {
    path: PathBuf,
    encryption: Encryption,
    /// What this instance has written. Held across each write, so that writes through one
    /// instance run one at a time.
    memo: tokio::sync::Mutex<WriteMemo>,
    /// The state-file entry of each resource an update of this instance put, the same bytes
    /// its journal record holds, with the resource it encodes: a write uses it for exactly that
    /// resource instead of encoding it again (see `State::file_parts`). Kept up to date by the
    /// updates' jobs on the blocking pool, beside their records.
    entries: Entries,
    /// The open lock file while this instance holds its OS lock, with the lock's id.
    held: std::sync::Mutex<Option<(String, File)>>,
}

#[derive(Debug, Default)]
struct WriteMemo {
    /// Whether this instance has taken its backup yet.
    backup_taken: bool,
    /// What this instance last made durable, and the files as it left them. While they are
    /// still those files, the stale-writer check needs no re-read: an apply persists after
    /// every resource, and decoding the whole state each time would make it quadratic.
    last: Option<Durable>,
}

type EntryMap = rustc_hash::FxHashMap<ResourceAddr, (ResourceState, EncodedEntry)>;
type Entries = std::sync::Arc<std::sync::Mutex<EntryMap>>;

fn lock_entries(entries: &Entries) -> std::sync::MutexGuard<'_, EntryMap> {
    entries.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Durable {
    lineage: String,
    serial: u64,
    snapshot: Option<Fingerprint>,
    /// The journal, open for writing, when there is one.
    journal: Option<JournalFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn fingerprint(path: &Path) -> io::Result<Option<Fingerprint>> {
    use std::os::unix::fs::MetadataExt;
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(Fingerprint { inode: meta.ino(), len: meta.len(), modified: meta.modified().ok() })),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

impl LocalBackend {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalBackend {
            path: path.into(),
            encryption: Encryption::plaintext(Payload::State),
            memo: tokio::sync::Mutex::new(WriteMemo::default()),
            entries: Entries::default(),
            held: std::sync::Mutex::new(None),
        }
    }

    /// Stores the state through `encryption`.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// What the stored bytes go through.
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the first write of this instance copies the state it replaces: `<path>.backup`.
    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    /// The lock file: `<path>.lock.json`.
    pub fn lock_path(&self) -> PathBuf {
        with_suffix(&self.path, ".lock.json")
    }

    fn decode(&self, bytes: &[u8]) -> Result<State, StateError> {
        self.encryption.decode(&self.describe(), bytes)
    }

    /// What the lock file says, or `None` when there is no lock file.
    async fn holder(&self) -> Result<Option<LockInfo>, LockError> {
        let path = self.lock_path();
        let bytes = blocking(move || read_if_exists(&path)).await.map_err(self.lock_io("read"))?;
        bytes
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|error| LockError::Unreadable {
                    target: self.describe(),
                    path: self.lock_path(),
                    problem: error.to_string(),
                })
            })
            .transpose()
    }

    async fn release(&self, id: &str) -> Result<(), LockError> {
        let holder = self.holder().await?.ok_or_else(|| LockError::NotHeld { target: self.describe() })?;
        if holder.id != id {
            return Err(LockError::WrongId { target: self.describe(), given: id.to_owned(), holder: Box::new(holder) });
        }
        let path = self.lock_path();
        let removed = blocking(move || remove_if_exists(&path)).await.map_err(self.lock_io("remove"))?;
        // The OS lock goes with the descriptor, after the removal, so no other run locks the
        // old file in between and believes it holds the lock.
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_some_and(|(held_id, _)| held_id == id) {
            *held = None;
        }
        drop(held);
        if removed {
            Ok(())
        } else {
            Err(LockError::NotHeld { target: self.describe() })
        }
    }

    fn lock_io(&self, action: &'static str) -> impl FnOnce(io::Error) -> LockError {
        let path = self.lock_path();
        move |error| LockError::Io { action, path, error }
    }
}

#[async_trait]
impl StateStore for LocalBackend {
    async fn read(&self) -> Result<Option<State>, StateError> {
        Ok(self.load().await?.replayed.state)
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        let mut memo = self.memo.lock().await;
        let incoming = self.encode_state(state).await?;
        // Written whole: the entries are in the state file now, and a later write encodes
        // what it needs.
        lock_entries(&self.entries).clear();
        let unchanged = self.unchanged(&mut memo).await?;
        match memo.last.as_ref().filter(|_| unchanged) {
            Some(durable) => {
                check_serial(&self.describe(), (&durable.lineage, durable.serial), (&state.lineage, state.serial))?
            }
            None => {
                let loaded = self.load().await?;
                if let Some(stored) = &loaded.replayed.state {
                    check_overwrite(&self.describe(), stored, state)?;
                }
                self.back_up_once(&mut memo, loaded).await?;
            }
        }
        memo.last = None;
        let snapshot = self.write_snapshot(incoming).await?;
        memo.last = Some(Durable { lineage: state.lineage.clone(), serial: state.serial, snapshot, journal: None });
        Ok(())
    }

    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        // Encoded (and encrypted) on the blocking pool: the apply's walk, on the caller's
        // thread, goes on with the resources that do not wait for this update meanwhile.
        let (encryption, target, lineage, serial, changes) = (
            self.encryption.clone(),
            self.describe(),
            update.lineage.to_owned(),
            update.serial,
            update.changes.clone(),
        );
        // Each resource is encoded once, as its state-file entry: the record holds those bytes,
        // and the write that folds the journal reuses them.
        let entries = self.entries.clone();
        let record = blocking(move || {
            let encoded: Vec<Option<EncodedEntry>> = changes
                .iter()
                .map(|change| match change {
                    StateChange::Put { address, resource } => Some(EncodedEntry::of(address, resource)),
                    StateChange::Remove { .. } | StateChange::Outputs(_) => None,
                })
                .collect();
            let record = encode_changes_with(&encryption, &target, &lineage, serial, &changes, &encoded);
            let mut entries = lock_entries(&entries);
            for (change, entry) in changes.iter().zip(encoded) {
                match (change, entry) {
                    (StateChange::Put { address, resource }, Some(entry)) => {
                        entries.insert(address.clone(), (resource.clone(), entry));
                    }
                    (StateChange::Remove { address }, _) => {
                        entries.remove(address);
                    }
                    _ => {}
                }
            }
            Ok(record)
        })
        .await
        .map_err(state_io("encode a journal record for", &self.journal_path()))?;
        let record = record?;
        let mut memo = self.memo.lock().await;
        // On any failure below, `memo.last` stays empty: the next update re-reads the files and
        // cuts off whatever this one left half written.
        let as_left = memo.last.take().filter(|durable| {
            check_serial(&self.describe(), (&durable.lineage, durable.serial), (update.lineage, update.serial)).is_ok()
        });
        let (mut durable, journal) = match as_left {
            Some(durable) => match self.append_if_as_left(durable, record).await? {
                (durable, Ok(journal)) => (durable, journal),
                // The files changed under this instance: read them again, as a first update does.
                (_, Err(record)) => self.append_after_reading(&mut memo, update, record).await?,
            },
            None => self.append_after_reading(&mut memo, update, record).await?,
        };
        let snapshot_len = durable.snapshot.as_ref().map_or(0, |snapshot| snapshot.len);
        durable.lineage = update.lineage.to_owned();
        durable.serial = update.serial;
        if journal.end() > snapshot_len.max(COMPACT_AT_LEAST) {
            // Folding the journal in costs the whole state, but happens only when the journal has
            // grown by as much again: a constant amount of work per update, amortised.
            drop(journal);
            let incoming = self.encode_state(&update.state()).await?;
            durable.snapshot = self.write_snapshot(incoming).await?;
        } else {
            durable.journal = Some(journal);
        }
        memo.last = Some(durable);
        Ok(())
    }

    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        let journal = self.journal_path();
        let exists =
            blocking(move || fingerprint(&journal)).await.map_err(state_io("inspect", &self.journal_path()))?;
        if exists.is_some() {
            self.write(state).await?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("local state file {}", self.path.display())
    }
}

/// The smallest journal folded into the state file during a run: below it, a fold (the whole
/// state encoded, written and synced, the journal removed and started again) costs more than
/// the journal saves, and the run's closing checkpoint folds it anyway. An apply of ten
/// thousand small resources journals about 6 MiB (each record holds its resources' state-file
/// entries, pretty-printed); reading (replaying) that much after a kill takes some 25 ms.
const COMPACT_AT_LEAST: u64 = 8 * 1024 * 1024;

/// The state file and its journal as read together.
struct Loaded {
    /// The state file as it is, for the backup.
    bytes: Option<Vec<u8>>,
    snapshot: Option<Fingerprint>,
    replayed: Replayed,
}

impl LocalBackend {
    /// The bytes of `state` for its file, reusing the entries encoded as this instance
    /// journaled its resources; joined and encrypted on the blocking pool (megabytes, for
    /// thousands of resources).
    async fn encode_state(&self, state: &State) -> Result<Vec<u8>, StateError> {
        let parts = {
            let entries = lock_entries(&self.entries);
            let encoded = |address: &ResourceAddr, resource: &ResourceState| {
                entries.get(address).filter(|(cached, _)| cached == resource).map(|(_, entry)| entry)
            };
            state.file_parts(&encoded)
        };
        let (encryption, target) = (self.encryption.clone(), self.describe());
        blocking(move || Ok(encryption.encode_bytes(&target, Zeroizing::new(parts.into_bytes()))))
            .await
            .map_err(state_io("encode", &self.path))?
    }

    /// The journal of updates not yet folded into the state file: `<path>.journal`.
    pub fn journal_path(&self) -> PathBuf {
        with_suffix(&self.path, ".journal")
    }

    /// The state file with the journal replayed onto it.
    async fn load(&self) -> Result<Loaded, StateError> {
        let (path, journal) = (self.path.clone(), self.journal_path());
        let (bytes, snapshot, journal_bytes) = blocking(move || {
            let snapshot = fingerprint(&path)?;
            Ok((read_if_exists(&path)?, snapshot, read_if_exists(&journal)?))
        })
        .await
        .map_err(state_io("read", &self.path))?;
        let state = bytes.as_deref().map(|bytes| self.decode(bytes)).transpose()?;
        let replayed =
            replay(&self.encryption, &self.journal_path(), state, journal_bytes.as_deref().unwrap_or_default())?;
        Ok(Loaded { bytes, snapshot, replayed })
    }

    /// Appends `record` when the files are still as this instance left them (checked in the same
    /// trip to the blocking pool), or hands it back.
    async fn append_if_as_left(
        &self,
        mut durable: Durable,
        record: Vec<u8>,
    ) -> Result<(Durable, Result<JournalFile, Vec<u8>>), StateError> {
        let (path, journal_path) = (self.path.clone(), self.journal_path());
        let (snapshot, journal) = (durable.snapshot.clone(), durable.journal.take());
        let appended = blocking(move || {
            let journal = match journal {
                Some(journal) if journal.as_left(&journal_path)? => Some(journal),
                Some(_) => None,
                // Folded into the state file: a new journal, unless another run made one.
                None => match fingerprint(&journal_path)? {
                    None => Some(JournalFile::open(&journal_path)?),
                    Some(_) => None,
                },
            };
            match journal {
                Some(mut journal) if fingerprint(&path)? == snapshot => {
                    journal.append(&record)?;
                    Ok(Ok(journal))
                }
                _ => Ok(Err(record)),
            }
        })
        .await
        .map_err(state_io("append to", &self.journal_path()))?;
        Ok((durable, appended))
    }

    /// Appends `record` after reading the files: the first update of this instance, or one made
    /// after something else changed them.
    async fn append_after_reading(
        &self,
        memo: &mut WriteMemo,
        update: &StateUpdate<'_>,
        record: Vec<u8>,
    ) -> Result<(Durable, JournalFile), StateError> {
        let loaded = self.load().await?;
        let (lineage, serial) = match &loaded.replayed.state {
            Some(stored) => (stored.lineage.clone(), stored.serial),
            None => (update.lineage.to_owned(), 0),
        };
        let snapshot = loaded.snapshot.clone();
        self.back_up_once(memo, loaded).await?;
        check_serial(&self.describe(), (&lineage, serial), (update.lineage, update.serial))?;
        let journal_path = self.journal_path();
        let journal = blocking(move || {
            let mut journal = JournalFile::open(&journal_path)?;
            journal.append(&record)?;
            Ok(journal)
        })
        .await
        .map_err(state_io("append to", &self.journal_path()))?;
        Ok((Durable { lineage, serial, snapshot, journal: None }, journal))
    }

    /// Whether the files are still as this instance last left them.
    async fn unchanged(&self, memo: &mut WriteMemo) -> Result<bool, StateError> {
        let Some(durable) = memo.last.as_mut() else { return Ok(false) };
        let (path, journal_path) = (self.path.clone(), self.journal_path());
        let (snapshot, journal) = (durable.snapshot.clone(), durable.journal.take());
        let (journal, unchanged) = blocking(move || {
            let journal_as_left = match &journal {
                Some(journal) => journal.as_left(&journal_path)?,
                None => fingerprint(&journal_path)?.is_none(),
            };
            let unchanged = journal_as_left && fingerprint(&path)? == snapshot;
            Ok((journal, unchanged))
        })
        .await
        .map_err(state_io("inspect", &self.path))?;
        durable.journal = journal;
        Ok(unchanged)
    }

    /// On the first write of this instance, copies the state it found to `<path>.backup`.
    async fn back_up_once(&self, memo: &mut WriteMemo, loaded: Loaded) -> Result<(), StateError> {
        if memo.backup_taken {
            return Ok(());
        }
        // With no state on disk there is nothing to back up: the command started from no state.
        memo.backup_taken = true;
        let (Some(mut existing), Some(stored)) = (loaded.bytes, loaded.replayed.state) else { return Ok(()) };
        // A plaintext state being encrypted for the first time is backed up encrypted too: a
        // backup in the clear would keep every secret readable. A state with a journal is backed
        // up as the journal leaves it.
        if loaded.replayed.records > 0 || (self.encryption.encrypts() && !Encryption::is_encrypted(&existing)) {
            existing = self.encryption.encode(&self.describe(), &stored)?;
        }
        let backup = self.backup_path();
        let target = backup.clone();
        blocking(move || write_file_atomically(&target, &existing))
            .await
            .map_err(state_io("back up the state to", &backup))
    }

    /// Replaces the state file with `bytes`, then drops the journal it now holds. A crash in
    /// between, or before the journal's removal is durable, leaves records the state file is
    /// already past, which reading skips: so the removal needs no sync of its own.
    async fn write_snapshot(&self, bytes: Vec<u8>) -> Result<Option<Fingerprint>, StateError> {
        let (path, journal) = (self.path.clone(), self.journal_path());
        blocking(move || {
            write_file_atomically(&path, &bytes)?;
            let written = fingerprint(&path)?;
            match fs::remove_file(&journal) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
                _ => Ok(written),
            }
        })
        .await
        .map_err(state_io("write", &self.path))
    }
}

#[async_trait]
impl Locker for LocalBackend {
    async fn lock(&self, info: LockInfo) -> Result<String, LockError> {
        let mut record = serde_json::to_vec_pretty(&info).map_err(|error| LockError::Io {
            action: "record the lock in",
            path: self.lock_path(),
            error: io::Error::other(error),
        })?;
        record.push(b'\n');
        for _ in 0..LOCK_ATTEMPTS {
            let (path, record) = (self.lock_path(), record.clone());
            match blocking(move || take_lock_file(&path, &record)).await.map_err(self.lock_io("create"))? {
                Taken::Locked(file) => {
                    *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some((info.id.clone(), file));
                    return Ok(info.id);
                }
                Taken::Moved => continue,
                Taken::HeldByOther => {}
            }
            if let Some(holder) = self.holder().await? {
                // The OS lock is held, so its holder is alive (or on another machine sharing
                // this directory); a lock whose process died is taken over above.
                let holder_gone = holder.holder_process_gone();
                return Err(LockError::Held { target: self.describe(), holder: Box::new(holder), holder_gone });
            }
        }
        Err(LockError::Contended { target: self.describe() })
    }

    async fn unlock(&self, id: &str) -> Result<(), LockError> {
        self.release(id).await
    }

    async fn force_unlock(&self, id: &str) -> Result<(), LockError> {
        self.release(id).await
    }
}

fn state_io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_owned();
    move |error| StateError::Io { action, path, error }
}

/// Runs file work on tokio's blocking pool: an fsync can stall for long, and must not stall a
/// runtime worker with it.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
        Err(_) => Err(io::Error::new(io::ErrorKind::Interrupted, "the runtime shut down before the file work ran")),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

pub(crate) fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

pub(crate) fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_dir(path)).map(|()| true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// A rename is durable only once the directory holding the new name is synced.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `bytes` (mode 0600) so that a crash leaves either the old file or the
/// new one. Shared with every other file Trustform writes that may hold secrets.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let mut prefix = OsStr::new(".").to_owned();
    prefix.push(path.file_name().unwrap_or(OsStr::new("state")));
    prefix.push(".");
    // Dropping the temporary file on any error below deletes it, so failures leave nothing behind.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|error| error.error)?;
    sync_dir(dir)
}

/// The outcome of one attempt at the lock file's OS lock.
enum Taken {
    /// Locked, with `record` written in it; the lock lasts as long as the file stays open.
    Locked(File),
    /// A live process holds the OS lock.
    HeldByOther,
    /// The file was removed (its holder unlocked) between our open and our lock: try again.
    Moved,
}

/// Takes the OS lock on the lock file at `path` (creating it, mode 0600) and records `record` in
/// it. A file left behind by a process that died holds no OS lock: it is taken over.
fn take_lock_file(path: &Path, record: &[u8]) -> io::Result<Taken> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(Taken::HeldByOther),
        Err(fs::TryLockError::Error(error)) => return Err(error),
    }
    // A lock on a file that is no longer at `path` guards nothing.
    let opened = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) if now.ino() == opened.ino() && now.dev() == opened.dev() => {}
        Ok(_) => return Ok(Taken::Moved),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Taken::Moved),
        Err(error) => return Err(error),
    }
    file.set_len(0)?;
    (&file).write_all(record)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(Taken::Locked(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encryption::Method;
    use crate::OutputState;
    use std::collections::BTreeSet;

    fn backend(dir: &tempfile::TempDir) -> LocalBackend {
        LocalBackend::new(dir.path().join("state").join("default.tfstate"))
    }

    fn files_in(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn next(state: &State, output: &str) -> State {
        let mut next = state.clone();
        next.serial += 1;
        next.outputs.insert("o".to_owned(), OutputState { value: output.into(), sensitive: false });
        next
    }

    #[tokio::test]
    async fn a_newer_write_by_another_writer_is_seen_between_our_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs) = (backend(&dir), backend(&dir));
        let first = next(&State::new(), "a");
        ours.write(&first).await.unwrap();
        let mut newer = next(&first, "b");
        newer.serial += 5;
        theirs.write(&newer).await.unwrap();
        // Our memo of the file we wrote no longer matches the disk, so the file is read again.
        let stale = next(&first, "c");
        assert!(matches!(ours.write(&stale).await, Err(StateError::SerialBackwards { .. })));
        assert_eq!(ours.read().await.unwrap().unwrap(), newer);
    }

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        crate::testing::conformance(&backend, &backend).await;
    }

    #[tokio::test]
    async fn writes_the_canonical_bytes_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let first = State::new();
        backend.write(&first).await.unwrap();
        let second = next(&first, "two");
        backend.write(&second).await.unwrap();
        assert_eq!(fs::read(backend.path()).unwrap(), second.to_json_bytes());
        assert_eq!(files_in(&dir.path().join("state")), BTreeSet::from(["default.tfstate".to_owned()]));
    }

    #[tokio::test]
    async fn backup_holds_the_state_the_command_started_from() {
        let dir = tempfile::tempdir().unwrap();
        let first_run = backend(&dir);
        let v1 = State::new();
        first_run.write(&v1).await.unwrap();
        first_run.write(&next(&v1, "also first run")).await.unwrap();
        assert!(!first_run.backup_path().exists(), "there was no state to back up when the first run started");
        let started_from = fs::read(first_run.path()).unwrap();

        let second_run = backend(&dir);
        let v2 = next(&next(&v1, "also first run"), "second run");
        second_run.write(&v2).await.unwrap();
        second_run.write(&next(&v2, "second run again")).await.unwrap();
        assert_eq!(fs::read(second_run.backup_path()).unwrap(), started_from);
        assert_eq!(
            files_in(&dir.path().join("state")),
            BTreeSet::from(["default.tfstate".to_owned(), "default.tfstate.backup".to_owned()])
        );
    }

    #[tokio::test]
    async fn state_and_backup_are_private_to_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("default.tfstate");
        // A state file left world-readable by some other tool is replaced, not reused.
        fs::write(&path, State::new().to_json_bytes()).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let backend = LocalBackend::new(&path);
        let current = backend.read().await.unwrap().unwrap();
        backend.write(&next(&current, "x")).await.unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backend.backup_path()), 0o600);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_named_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        fs::create_dir_all(dir.path().join("state")).unwrap();
        fs::write(backend.path(), "{\n  \"format_version\": 1,\n  \"serial\": 2,,\n}\n").unwrap();
        let expected = format!("local state file {} is not a valid state", backend.path().display());
        for err in [backend.read().await.unwrap_err(), backend.write(&State::new()).await.unwrap_err()] {
            let message = err.to_string();
            assert!(message.starts_with(&expected), "{message}");
            assert!(message.contains("line 3 column 15"), "{message}");
        }
    }

    fn encryption(passphrase: &str, fallback: Option<Method>) -> Encryption {
        use crate::encryption::{HashFunction, Passphrase, Pbkdf2KeyProvider, Pbkdf2Settings, MIN_ITERATIONS};
        let settings =
            Pbkdf2Settings { iterations: MIN_ITERATIONS, salt_length: 16, hash_function: HashFunction::Sha256 };
        let keys = Pbkdf2KeyProvider::new("main", Passphrase::new(passphrase), settings).unwrap();
        let primary = Method::AesGcm { name: "main".to_owned(), keys: std::sync::Arc::new(keys) };
        Encryption::new(Payload::State, primary, fallback, true).unwrap()
    }

    fn with_canary(state: &State) -> State {
        let mut next = next(state, "public");
        next.outputs.insert("token".to_owned(), OutputState { value: "canary-3e8c".into(), sensitive: true });
        next
    }

    fn holds(bytes: &[u8], needle: &str) -> bool {
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[tokio::test]
    async fn passes_the_conformance_suite_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir).with_encryption(encryption("conformance passphrase", None));
        crate::testing::conformance(&backend, &backend).await;
        assert!(Encryption::is_encrypted(&fs::read(backend.path()).unwrap()));
        assert!(!holds(&fs::read(backend.path()).unwrap(), "hunter2"));
    }

    #[tokio::test]
    async fn a_wrong_key_fails_the_write_and_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let owner = backend(&dir).with_encryption(encryption("the right passphrase", None));
        let first = with_canary(&State::new());
        owner.write(&first).await.unwrap();
        let before = fs::read(owner.path()).unwrap();
        assert!(!holds(&before, "canary-3e8c"));

        let intruder = backend(&dir).with_encryption(encryption("some wrong passphrase", None));
        let read = intruder.read().await.unwrap_err();
        assert!(matches!(read, StateError::Decrypt { .. }), "{read}");
        let write = intruder.write(&next(&first, "overwritten")).await.unwrap_err();
        assert!(write.to_string().contains("wrong key"), "{write}");
        assert_eq!(fs::read(owner.path()).unwrap(), before, "the state must be untouched byte for byte");
        assert!(!intruder.backup_path().exists());

        // Without any encryption configured, the file is refused too, not replaced.
        let plain = backend(&dir);
        assert!(plain.write(&next(&first, "overwritten")).await.is_err());
        assert_eq!(fs::read(owner.path()).unwrap(), before);
        assert_eq!(owner.read().await.unwrap().unwrap(), first);
    }

    #[tokio::test]
    async fn migrating_a_plaintext_state_encrypts_it_and_its_backup() {
        let dir = tempfile::tempdir().unwrap();
        let plain = backend(&dir);
        let first = with_canary(&State::new());
        plain.write(&first).await.unwrap();
        assert!(holds(&fs::read(plain.path()).unwrap(), "canary-3e8c"));

        let unencrypted = Method::Unencrypted { name: "migrate".to_owned() };
        let migrating = backend(&dir).with_encryption(encryption("a migration passphrase", Some(unencrypted)));
        let current = migrating.read().await.unwrap().unwrap();
        assert_eq!(current, first);
        migrating.write(&next(&current, "now encrypted")).await.unwrap();
        for file in [migrating.path().to_owned(), migrating.backup_path()] {
            let bytes = fs::read(&file).unwrap();
            assert!(Encryption::is_encrypted(&bytes) && !holds(&bytes, "canary-3e8c"), "{}", file.display());
        }
        let strict = backend(&dir).with_encryption(encryption("a migration passphrase", None));
        assert_eq!(strict.read().await.unwrap().unwrap(), next(&current, "now encrypted"));
    }

    fn resource(id: &str) -> crate::ResourceState {
        let value = trustform_lang::Value::object([
            ("id", trustform_lang::Value::from(id)),
            ("token", trustform_lang::Value::from("canary-3e8c").sensitive()),
        ]);
        crate::ResourceState::from_value("trustform_data", "trustform", &value, []).unwrap()
    }

    fn put(id: &str) -> crate::StateChange {
        crate::StateChange::Put { address: format!("trustform_data.{id}").parse().unwrap(), resource: resource(id) }
    }

    /// The closing fold reuses the entries encoded as each update was journaled: the file must
    /// still be exactly what encoding the whole state gives, whatever was put twice, replaced by
    /// a whole write, or removed in between.
    #[tokio::test]
    async fn the_fold_writes_the_bytes_of_the_whole_state() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut state = State::new();
        crate::testing::persist(&backend, &mut state, &[put("a"), put("b"), put("c")]).await.unwrap();
        let changed =
            crate::StateChange::Put { address: "trustform_data.b".parse().unwrap(), resource: resource("b").tainted() };
        crate::testing::persist(&backend, &mut state, &[changed]).await.unwrap();
        let gone = crate::StateChange::Remove { address: "trustform_data.a".parse().unwrap() };
        crate::testing::persist(&backend, &mut state, &[gone, put("d")]).await.unwrap();
        // A resource changed in memory after it was journaled is encoded as it is now.
        let mut folded = state.clone();
        folded.resources.get_mut(&"trustform_data.c".parse().unwrap()).unwrap().id = "c2".to_owned();
        backend.checkpoint(&folded).await.unwrap();
        assert_eq!(fs::read(backend.path()).unwrap(), folded.to_json_bytes());
        assert!(!backend.journal_path().exists());
        crate::testing::persist(&backend, &mut folded, &[put("e")]).await.unwrap();
        backend.checkpoint(&folded).await.unwrap();
        assert_eq!(fs::read(backend.path()).unwrap(), folded.to_json_bytes());
    }

    #[tokio::test]
    async fn updates_go_to_the_journal_and_a_torn_tail_is_dropped_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut state = State::new();
        backend.write(&state).await.unwrap();
        let snapshot = fs::read(backend.path()).unwrap();
        for id in ["a", "b", "c"] {
            crate::testing::persist(&backend, &mut state, &[put(id)]).await.unwrap();
        }
        assert_eq!(fs::read(backend.path()).unwrap(), snapshot, "small updates leave the state file alone");
        assert_eq!(mode(&backend.journal_path()), 0o600);
        let whole = fs::read(backend.journal_path()).unwrap();
        let records = whole.iter().rposition(|byte| *byte != 0).unwrap() + 1;
        assert!(whole[records..].iter().all(|byte| *byte == 0), "zeros written ahead follow the records");

        // A kill in the middle of the last append: that record is gone, the others are there.
        fs::write(backend.journal_path(), &whole[..records - 5]).unwrap();
        let fresh = LocalBackend::new(backend.path());
        let read = fresh.read().await.unwrap().unwrap();
        assert_eq!(read.serial, state.serial - 1);
        assert_eq!(read.resources.len(), 2);

        // The next run's first update cuts the torn record off before appending its own.
        let mut resumed = read.clone();
        crate::testing::persist(&fresh, &mut resumed, &[put("c"), put("d")]).await.unwrap();
        let again = LocalBackend::new(backend.path()).read().await.unwrap().unwrap();
        assert_eq!(again, resumed);
        assert_eq!(again.resources.len(), 4);

        // The closing checkpoint folds the journal into the state file and deletes it, and the
        // backup holds the state the run started from, journal included.
        fresh.checkpoint(&resumed).await.unwrap();
        assert!(!fresh.journal_path().exists());
        assert_eq!(State::from_json_bytes(&fs::read(fresh.path()).unwrap()).unwrap(), resumed);
        assert_eq!(State::from_json_bytes(&fs::read(fresh.backup_path()).unwrap()).unwrap(), read);
    }

    #[tokio::test]
    async fn a_journal_that_outgrows_the_state_file_is_folded_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut state = State::new();
        let mut folds = 0;
        // Resources of 48 KiB, so that the journal passes the smallest fold several times.
        let padded = |i: usize| {
            let value = trustform_lang::Value::object([
                ("id", trustform_lang::Value::from(format!("r{i}"))),
                ("padding", trustform_lang::Value::from("p".repeat(48 * 1024))),
            ]);
            let resource = crate::ResourceState::from_value("trustform_data", "trustform", &value, []).unwrap();
            crate::StateChange::Put { address: format!("trustform_data.r{i}").parse().unwrap(), resource }
        };
        for i in 0..400 {
            crate::testing::persist(&backend, &mut state, &[padded(i)]).await.unwrap();
            if !backend.journal_path().exists() {
                folds += 1;
            }
            // The records, not the zeros written ahead of them.
            let journal = fs::read(backend.journal_path())
                .map_or(0, |bytes| bytes.iter().rposition(|byte| *byte != 0).map_or(0, |last| last as u64 + 1));
            let snapshot = fs::metadata(backend.path()).map_or(0, |m| m.len());
            assert!(
                journal <= snapshot.max(COMPACT_AT_LEAST) + 1024,
                "update {i}: journal {journal}, state {snapshot}"
            );
        }
        assert!((2..20).contains(&folds), "folded {folds} times: each fold waits for the journal to double");
        assert_eq!(backend.read().await.unwrap().unwrap(), state);
    }

    #[tokio::test]
    async fn encrypted_updates_hold_no_secret_and_a_wrong_key_cannot_read_them() {
        let dir = tempfile::tempdir().unwrap();
        let owner = backend(&dir).with_encryption(encryption("the right passphrase", None));
        let mut state = State::new();
        crate::testing::persist(&owner, &mut state, &[put("a")]).await.unwrap();
        let journal = fs::read(owner.journal_path()).unwrap();
        assert!(!holds(&journal, "canary-3e8c") && !holds(&journal, "trustform_data"));
        assert_eq!(owner.read().await.unwrap().unwrap(), state);

        let intruder = backend(&dir).with_encryption(encryption("some wrong passphrase", None));
        let err = intruder.read().await.unwrap_err();
        assert!(matches!(err, StateError::Decrypt { .. }), "{err}");
        let mut theirs = state.clone();
        assert!(crate::testing::persist(&intruder, &mut theirs, &[put("b")]).await.is_err());
        assert_eq!(fs::read(owner.journal_path()).unwrap(), journal, "a wrong key appends nothing");
    }

    #[tokio::test]
    async fn describe_names_the_file() {
        assert_eq!(LocalBackend::new("state/default.tfstate").describe(), "local state file state/default.tfstate");
    }

    #[test]
    fn sibling_files_extend_the_state_file_name() {
        let backend = LocalBackend::new("state/default.tfstate");
        assert_eq!(backend.lock_path(), Path::new("state/default.tfstate.lock.json"));
        assert_eq!(backend.backup_path(), Path::new("state/default.tfstate.backup"));
        assert_eq!(parent_dir(Path::new("bare.tfstate")), Path::new("."));
    }

    #[tokio::test]
    async fn the_lock_file_records_the_holder_until_unlocked() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let info = LockInfo::new("apply");
        let id = backend.lock(info.clone()).await.unwrap();
        let on_disk: LockInfo = serde_json::from_slice(&fs::read(backend.lock_path()).unwrap()).unwrap();
        assert_eq!(on_disk, info);
        assert!(backend.unlock("someone-else").await.is_err());
        assert!(backend.lock_path().exists());
        backend.unlock(&id).await.unwrap();
        assert!(!backend.lock_path().exists());
    }

    #[tokio::test]
    async fn a_live_holder_is_named_and_not_called_gone() {
        let dir = tempfile::tempdir().unwrap();
        let holder = LockInfo::new("apply");
        let holding = backend(&dir);
        holding.lock(holder.clone()).await.unwrap();
        let err = backend(&dir).lock(LockInfo::new("plan")).await.unwrap_err();
        assert!(matches!(&err, LockError::Held { holder: h, holder_gone: false, .. } if **h == holder));
        let message = err.to_string();
        assert!(message.contains(&holder.to_string()) && message.contains("Wait for that run"), "{message}");
    }

    #[tokio::test]
    async fn a_lock_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = LockInfo { pid: child.id(), ..LockInfo::new("apply") };
        child.wait().unwrap();
        // What a killed run leaves: its record, and no OS lock (the kernel dropped it).
        fs::create_dir_all(dir.path().join("state")).unwrap();
        fs::write(backend(&dir).lock_path(), serde_json::to_vec(&dead).unwrap()).unwrap();

        let backend = backend(&dir);
        let next = LockInfo::new("apply");
        let id = backend.lock(next.clone()).await.unwrap();
        let on_disk: LockInfo = serde_json::from_slice(&fs::read(backend.lock_path()).unwrap()).unwrap();
        assert_eq!(on_disk, next);
        assert!(backend.force_unlock(&dead.id).await.is_err(), "the dead run's id no longer names the lock");
        backend.unlock(&id).await.unwrap();
    }

    #[tokio::test]
    async fn the_os_lock_dies_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let holding = backend(&dir);
        let first = LockInfo::new("apply");
        holding.lock(first.clone()).await.unwrap();
        assert!(matches!(backend(&dir).lock(LockInfo::new("apply")).await, Err(LockError::Held { .. })));
        // Dropping the instance closes the descriptor, as the kernel does for a killed process.
        drop(holding);
        let next = backend(&dir);
        let id = next.lock(LockInfo::new("apply")).await.unwrap();
        next.unlock(&id).await.unwrap();
        assert!(!next.lock_path().exists());
    }

    #[tokio::test]
    async fn the_lock_file_is_private_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let id = backend.lock(LockInfo::new("apply")).await.unwrap();
        assert_eq!(mode(&backend.lock_path()), 0o600);
        backend.unlock(&id).await.unwrap();
    }

    #[tokio::test]
    async fn an_unreadable_lock_file_is_reported_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        fs::create_dir_all(dir.path().join("state")).unwrap();
        fs::write(backend.lock_path(), "").unwrap();
        // A live holder between taking the OS lock and writing its record.
        let held = File::open(backend.lock_path()).unwrap();
        held.try_lock().unwrap();
        let err = backend.lock(LockInfo::new("apply")).await.unwrap_err();
        assert!(matches!(&err, LockError::Unreadable { path, .. } if *path == backend.lock_path()));
        assert!(err.to_string().contains("default.tfstate.lock.json cannot be read"), "{err}");
        assert!(backend.lock_path().exists());
    }
}
