//! One workspace's state object and its lock object, with S3's conditional writes.

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use trustform_provider::clip;
use trustform_state::encryption::Payload;
use trustform_state::{
    check_overwrite, check_serial, Encryption, LocalJournal, LockError, LockInfo, Locker, State, StateError,
    StateStore, StateUpdate,
};

/// How many times `lock` and `unlock` try again when the lock object changes between reading it
/// and acting on it.
const LOCK_ATTEMPTS: usize = 3;

/// A state in an S3 object, locked by the object `<key>.tflock`.
///
/// Every write is conditional on the ETag this backend last saw of the state object (or on
/// its absence), so a write is refused when anyone else wrote since: the one rule that makes a
/// force-unlocked run harmless. The ETag is read when the lock is taken and replaced by the one
/// each write returns; a backend that never locked reads it just before writing.
///
/// Writing the whole object after every resource of an apply would cost a PUT of the whole
/// state per resource. With [`S3Backend::with_local_journal`], an apply's updates
/// ([`StateStore::persist`]) are appended to a journal on the local disk instead, and the object
/// is written when `interval` has passed since the last write (Terraform writes remote state
/// every 20 s during an apply) and at the end of the run ([`StateStore::checkpoint`]). A run
/// killed in between leaves its last updates in the local journal: reading replays them onto the
/// object, and the next lock pushes them to it, then deletes the journal.
pub struct S3Backend {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    lock_key: String,
    /// The state object as this backend last saw it. Held across each write, so that writes
    /// through one backend run one at a time.
    seen: Mutex<Option<Seen>>,
    /// What the stored bytes go through ([`S3Backend::with_encryption`]; plaintext by default).
    encryption: Encryption,
    /// Where updates wait between writes of the object, and how long they may wait.
    local: Option<Box<(LocalJournal, Duration)>>,
    /// When the object was last written by `persist`, or its first update waited since.
    last_push: Mutex<Option<Instant>>,
}

/// The state object at some moment.
#[derive(Clone)]
enum Seen {
    Absent,
    /// The stored state is kept for [`check_overwrite`].
    Present {
        etag: String,
        stored: Box<State>,
    },
}

/// An object's bytes and ETag.
struct Fetched {
    bytes: Vec<u8>,
    etag: Option<String>,
}

impl fmt::Debug for S3Backend {
    /// Where the state is, but not what it holds: it may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Backend").field("bucket", &self.bucket).field("key", &self.key).finish()
    }
}

impl S3Backend {
    pub(crate) fn new(client: aws_sdk_s3::Client, bucket: &str, key: String) -> S3Backend {
        S3Backend {
            client,
            bucket: bucket.to_owned(),
            lock_key: format!("{key}.tflock"),
            key,
            seen: Mutex::new(None),
            encryption: Encryption::plaintext(Payload::State),
            local: None,
            last_push: Mutex::new(None),
        }
    }

    /// Stores the state through `encryption`. An object it cannot read is never overwritten:
    /// every write first reads (decrypts) what it replaces. The local journal's records go
    /// through it too.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.local = self
            .local
            .map(|local| Box::new((LocalJournal::new(local.0.path().to_owned(), encryption.clone()), local.1)));
        self.encryption = encryption;
        self
    }

    /// Keeps an apply's updates in a journal at `path` on the local disk, writing the object
    /// only every `interval` and at the end of the run. `path` must be this object's own: the
    /// CLI uses `.trustform/s3/<bucket>/<key>.journal` beside the spec.
    pub fn with_local_journal(mut self, path: impl Into<PathBuf>, interval: Duration) -> Self {
        self.local = Some(Box::new((LocalJournal::new(path, self.encryption.clone()), interval)));
        self
    }

    /// The local journal, when there is one.
    pub fn local_journal(&self) -> Option<&LocalJournal> {
        self.local.as_deref().map(|(journal, _)| journal)
    }

    /// Writes to the object what a killed run left in the local journal, then deletes it.
    async fn push_local_journal(&self) -> Result<(), StateError> {
        let Some((journal, _)) = self.local.as_deref() else { return Ok(()) };
        let remote = match &*self.seen.lock().await {
            Some(Seen::Present { stored, .. }) => Some((**stored).clone()),
            Some(Seen::Absent) => None,
            None => self.read_remote().await?,
        };
        let (state, newer) = journal.replay_onto(remote).await?;
        if let (Some(state), true) = (state, newer) {
            tracing::info!(journal = %journal.path().display(), serial = state.serial, "pushing the updates a stopped run left in the local journal");
            self.write(&state).await?;
        }
        journal.clear().await
    }

    /// Writes the object. When another run has written it since (a broken lock), the journal is
    /// deleted: what this run reached is saved whole elsewhere (`errored.tfstate`), and
    /// replaying its records onto the other run's state later would mix the two.
    async fn write_or_drop_journal(&self, state: &State, journal: &LocalJournal) -> Result<(), StateError> {
        let written = self.write(state).await;
        if let Err(StateError::ChangedSinceRead { .. }) = &written {
            journal.clear().await?;
        }
        written
    }

    async fn read_remote(&self) -> Result<Option<State>, StateError> {
        self.get_state().await?.map(|fetched| self.decode(&fetched.bytes)).transpose()
    }

    /// What the stored bytes go through.
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The one place where state becomes bytes.
    fn encode(&self, state: &State) -> Result<Vec<u8>, StateError> {
        self.encryption.encode(&self.describe(), state)
    }

    /// The state object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The lock object's key: `<key>.tflock`, as Terraform names it.
    pub fn lock_key(&self) -> &str {
        &self.lock_key
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Deletes the state object (`workspace delete`). The caller holds the lock.
    pub async fn delete_state(&self) -> Result<(), StateError> {
        self.client.delete_object().bucket(&self.bucket).key(&self.key).send().await.map_err(|error| {
            StateError::Remote { action: "delete", target: self.describe(), problem: problem(&self.bucket, &error) }
        })?;
        *self.seen.lock().await = Some(Seen::Absent);
        match self.local.as_deref() {
            Some((journal, _)) => journal.clear().await,
            None => Ok(()),
        }
    }

    /// The one place where bytes become state; see [`S3Backend::encode`].
    fn decode(&self, bytes: &[u8]) -> Result<State, StateError> {
        self.encryption.decode(&self.describe(), bytes)
    }

    /// The object at `key`, or `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<Fetched>, String> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            // Only a missing key: a missing bucket (also 404) is an error to report.
            Err(error) if error.as_service_error().is_some_and(GetObjectError::is_no_such_key) => return Ok(None),
            Err(error) => return Err(problem(&self.bucket, &error)),
        };
        let etag = output.e_tag().map(str::to_owned);
        let bytes = output.body.collect().await.map_err(|error| DisplayErrorContext(error).to_string())?;
        Ok(Some(Fetched { bytes: bytes.into_bytes().to_vec(), etag }))
    }

    async fn get_state(&self) -> Result<Option<Fetched>, StateError> {
        self.get(&self.key).await.map_err(|problem| StateError::Remote {
            action: "read",
            target: self.describe(),
            problem,
        })
    }

    /// The state object now.
    async fn look(&self) -> Result<Seen, StateError> {
        match self.get_state().await? {
            None => Ok(Seen::Absent),
            Some(Fetched { bytes, etag: Some(etag) }) => {
                Ok(Seen::Present { etag, stored: Box::new(self.decode(&bytes)?) })
            }
            Some(Fetched { etag: None, .. }) => Err(StateError::Remote {
                action: "read",
                target: self.describe(),
                problem: "the store answered without an ETag, so writes to it cannot be made conditional".to_owned(),
            }),
        }
    }

    /// Who holds the lock, with the lock object's ETag; `None` when it is free.
    async fn holder(&self) -> Result<Option<(LockInfo, Option<String>)>, LockError> {
        let fetched = self.get(&self.lock_key).await.map_err(|problem| LockError::Remote {
            action: "read",
            target: self.describe(),
            problem,
        })?;
        fetched
            .map(|Fetched { bytes, etag }| {
                serde_json::from_slice(&bytes).map(|holder| (holder, etag)).map_err(|error| LockError::Unreadable {
                    target: self.describe(),
                    path: PathBuf::from(format!("s3://{}/{}", self.bucket, self.lock_key)),
                    problem: error.to_string(),
                })
            })
            .transpose()
    }

    /// Records the state object as it is right after taking the lock: every write under this
    /// lock must find it unchanged. Gives the lock back when that fails.
    async fn after_locking(&self, id: String) -> Result<String, LockError> {
        match self.look().await {
            Ok(seen) => {
                *self.seen.lock().await = Some(seen);
                match self.push_local_journal().await {
                    Ok(()) => Ok(id),
                    Err(error) => {
                        if let Err(release) = self.release(&id).await {
                            tracing::warn!(lock = %self.lock_key, error = %release, "could not give back a lock after failing to push the local journal");
                        }
                        Err(LockError::Remote {
                            action: "push the local journal after taking",
                            target: self.describe(),
                            problem: error.to_string(),
                        })
                    }
                }
            }
            Err(error) => {
                if let Err(release) = self.release(&id).await {
                    tracing::warn!(lock = %self.lock_key, error = %release, "could not give back a lock after failing to read the state");
                }
                Err(LockError::Remote {
                    action: "read the state after taking",
                    target: self.describe(),
                    problem: error.to_string(),
                })
            }
        }
    }

    async fn release(&self, id: &str) -> Result<(), LockError> {
        for _ in 0..LOCK_ATTEMPTS {
            let (holder, etag) = self.holder().await?.ok_or_else(|| LockError::NotHeld { target: self.describe() })?;
            if holder.id != id {
                return Err(LockError::WrongId {
                    target: self.describe(),
                    given: id.to_owned(),
                    holder: Box::new(holder),
                });
            }
            let mut delete = self.client.delete_object().bucket(&self.bucket).key(&self.lock_key);
            if let Some(etag) = etag {
                // Deletes exactly the lock that was read, never one taken since.
                delete = delete.if_match(etag);
            }
            match delete.send().await {
                Ok(_) => return Ok(()),
                Err(error) if status(&error) == Some(412) => continue,
                Err(error) if status(&error) == Some(404) => {
                    return Err(LockError::NotHeld { target: self.describe() })
                }
                Err(error) => {
                    return Err(LockError::Remote {
                        action: "release",
                        target: self.describe(),
                        problem: problem(&self.bucket, &error),
                    })
                }
            }
        }
        Err(LockError::Contended { target: self.describe() })
    }
}

#[async_trait]
impl StateStore for S3Backend {
    async fn read(&self) -> Result<Option<State>, StateError> {
        let remote = self.read_remote().await?;
        match self.local.as_deref() {
            Some((journal, _)) => Ok(journal.replay_onto(remote).await?.0),
            None => Ok(remote),
        }
    }

    async fn persist(&self, update: &StateUpdate<'_>) -> Result<(), StateError> {
        let Some((journal, interval)) = self.local.as_deref() else { return self.write(&update.state()).await };
        {
            let mut seen = self.seen.lock().await;
            if seen.is_none() {
                *seen = Some(self.look().await?);
            }
            if let Some(Seen::Present { stored, .. }) = &*seen {
                check_serial(&self.describe(), (&stored.lineage, stored.serial), (update.lineage, update.serial))?;
            }
        }
        journal.append(update).await?;
        let mut last_push = self.last_push.lock().await;
        let since = *last_push.get_or_insert_with(Instant::now);
        if since.elapsed() >= *interval {
            self.write_or_drop_journal(&update.state(), journal).await?;
            journal.clear().await?;
            *last_push = Some(Instant::now());
        }
        Ok(())
    }

    async fn checkpoint(&self, state: &State) -> Result<(), StateError> {
        let Some((journal, _)) = self.local.as_deref() else { return Ok(()) };
        let mut last_push = self.last_push.lock().await;
        if last_push.is_some() {
            self.write_or_drop_journal(state, journal).await?;
            journal.clear().await?;
            *last_push = None;
        }
        Ok(())
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        let bytes = self.encode(state)?;
        let mut seen = self.seen.lock().await;
        let current = match &*seen {
            Some(current) => current.clone(),
            None => self.look().await?,
        };
        if let Seen::Present { stored, .. } = &current {
            check_overwrite(&self.describe(), stored, state)?;
        }
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(bytes.clone()));
        let put = match &current {
            Seen::Present { etag, .. } => put.if_match(etag),
            Seen::Absent => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(output) => {
                *seen =
                    output.e_tag().map(|etag| Seen::Present { etag: etag.to_owned(), stored: Box::new(state.clone()) });
                Ok(())
            }
            // 409: S3's answer while another conditional write to the key is in flight.
            Err(error) if matches!(status(&error), Some(412 | 409)) => {
                // A retry of a write whose first answer was lost finds its own state there (its
                // own bytes, unless encrypted: every encryption draws a fresh nonce).
                match self.get_state().await? {
                    Some(Fetched { bytes: stored, etag: Some(etag) })
                        if stored == bytes || self.decode(&stored).is_ok_and(|found| found == *state) =>
                    {
                        *seen = Some(Seen::Present { etag, stored: Box::new(state.clone()) });
                        Ok(())
                    }
                    _ => Err(StateError::ChangedSinceRead { target: self.describe() }),
                }
            }
            Err(error) => Err(StateError::Remote {
                action: "write",
                target: self.describe(),
                problem: problem(&self.bucket, &error),
            }),
        }
    }

    fn describe(&self) -> String {
        format!("S3 state {}", self.url())
    }
}

#[async_trait]
impl Locker for S3Backend {
    async fn lock(&self, info: LockInfo) -> Result<String, LockError> {
        let mut record = serde_json::to_vec_pretty(&info).map_err(|error| LockError::Remote {
            action: "record",
            target: self.describe(),
            problem: error.to_string(),
        })?;
        record.push(b'\n');
        for _ in 0..LOCK_ATTEMPTS {
            let created = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.lock_key)
                .content_type("application/json")
                .if_none_match("*")
                .body(ByteStream::from(record.clone()))
                .send()
                .await;
            match created {
                Ok(_) => return self.after_locking(info.id).await,
                Err(error) if matches!(status(&error), Some(412 | 409)) => match self.holder().await? {
                    // A retry of a create whose first answer was lost finds its own lock.
                    Some((holder, _)) if holder.id == info.id => return self.after_locking(info.id).await,
                    Some((holder, _)) => {
                        // Reported, never broken automatically: only the operator can tell that
                        // a run on another machine is gone.
                        let holder_gone = holder.holder_process_gone();
                        return Err(LockError::Held { target: self.describe(), holder: Box::new(holder), holder_gone });
                    }
                    None => continue,
                },
                Err(error) => {
                    return Err(LockError::Remote {
                        action: "take",
                        target: self.describe(),
                        problem: problem(&self.bucket, &error),
                    })
                }
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

/// The HTTP status of a failed request that got an answer.
fn status<E>(error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    error.raw_response().map(|response| response.status().as_u16())
}

/// What went wrong with a request to `bucket`, in S3's own words (its code and message) and
/// what to do about it; the SDK's full error, raw response included, goes to the debug log
/// only. Holds no credentials: S3 errors quote neither keys nor signatures.
pub(crate) fn problem<E>(bucket: &str, error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::debug!(bucket, error = %DisplayErrorContext(error), "S3 request failed");
    let message = error.message().map(|message| clip(message));
    let said = |code: &str| match &message {
        Some(message) => format!("{message} ({code})"),
        None => format!("S3 answered {code}"),
    };
    match (error.code(), error) {
        (Some("NoSuchBucket"), _) => {
            format!("bucket {bucket} does not exist (NoSuchBucket): create it or fix backend.s3.bucket")
        }
        (Some(code @ ("AccessDenied" | "AllAccessDisabled")), _) => format!(
            "{}: let the credentials in use read, write and delete objects in bucket {bucket} (s3:GetObject, \
             s3:PutObject, s3:DeleteObject, s3:ListBucket), or fix backend.s3.bucket",
            said(code)
        ),
        (Some(code @ ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken")), _) => {
            format!("{}: check the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)", said(code))
        }
        (
            Some(code @ ("PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException")),
            _,
        ) => {
            format!("{}: bucket {bucket} is in another region; set backend.s3.region to it", said(code))
        }
        (Some(code), _) => said(code),
        (None, SdkError::ServiceError(service)) => {
            format!("S3 answered HTTP {} without an error code", service.raw().status().as_u16())
        }
        (None, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => {
            let detail = DisplayErrorContext(error).to_string();
            format!("S3 could not be reached ({}): check the network and backend.s3.endpoint", clip(&detail))
        }
        (None, _) => {
            let detail = DisplayErrorContext(error).to_string();
            format!("S3's answer could not be read ({})", clip(&detail))
        }
    }
}
