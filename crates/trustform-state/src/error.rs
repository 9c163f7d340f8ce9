use crate::{EncryptionError, LockInfo};
use std::io;
use std::path::PathBuf;
use trustform_lang::ResourceAddr;

/// Why bytes are not a state this version of Trustform can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Malformed JSON, or JSON of the wrong shape; serde_json's message ends with the line and column.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("it has no format_version, so it is not a Trustform state file")]
    MissingFormatVersion,
    #[error(
        "its format_version is {found}, but this Trustform ({version}) reads format_version {supported}. \
         Use the Trustform version that wrote it, or a newer one",
        version = env!("CARGO_PKG_VERSION"),
        supported = crate::FORMAT_VERSION
    )]
    UnsupportedFormatVersion { found: u64 },
    #[error("resource {address} appears more than once")]
    DuplicateResource { address: Box<ResourceAddr> },
    #[error("resource {address} is recorded with type {type_name:?}, which does not match its address")]
    TypeMismatch { address: Box<ResourceAddr>, type_name: String },
    /// `problem` quotes the offending path.
    #[error("resource {address} lists a sensitive attribute that is not a path: {problem}")]
    BadSensitivePath { address: Box<ResourceAddr>, problem: String },
}

/// What can go wrong reading, checking or writing state.
///
/// Every message is a full sentence naming what it is about and, where there is a fix, ending
/// with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("could not {action} {}: {error}", path.display())]
    Io { action: &'static str, path: PathBuf, error: io::Error },

    #[error("{origin} is not a valid state: {problem}")]
    Decode { origin: String, problem: Box<DecodeError> },

    /// The stored bytes could not be decrypted; nothing was written.
    #[error("cannot read {origin}: {problem}")]
    Decrypt { origin: String, problem: EncryptionError },

    #[error("refusing to write {target}: {problem}")]
    Encrypt { target: String, problem: EncryptionError },

    #[error(
        "refusing to write to {target}: it holds a different state (lineage {stored}) from this one \
         (lineage {incoming}). Check that the backend points where you meant; `trustform state push -force` \
         replaces a state deliberately"
    )]
    LineageChanged { target: String, stored: String, incoming: String },

    #[error(
        "refusing to write serial {incoming} to {target}, which is already at serial {stored}: another run \
         has written it since this one read it. Run the command again to start from the current state"
    )]
    SerialBackwards { target: String, stored: u64, incoming: u64 },

    #[error(
        "cannot push: the current state has lineage {current} and the pushed one lineage {incoming}, so they \
         are different states. Check that you are pushing to the right backend, or pass -force to replace it"
    )]
    PushLineage { current: String, incoming: String },

    #[error(
        "cannot push: the current state is newer (serial {current}) than the pushed one (serial {incoming}), \
         so pushing would lose changes. Pull the current state and start from it, or pass -force to replace it"
    )]
    PushOlder { current: u64, incoming: u64 },

    #[error(
        "cannot push: the current state and the pushed one both have serial {serial} but different contents. \
         Pull the current state and start from it, or pass -force to replace it"
    )]
    PushSameSerial { serial: u64 },

    /// A request to a remote store failed; `problem` is the service's own account of it.
    #[error("could not {action} {target}: {problem}")]
    Remote { action: &'static str, target: String, problem: String },

    #[error(
        "refusing to write to {target}: another run has written it since this run read it, so writing now would \
         lose that run's changes. This run's lock was probably force-unlocked while it ran. Nothing was overwritten"
    )]
    ChangedSinceRead { target: String },

    #[error(
        "cannot replay the state journal {}: {problem}. Move that file aside to read the state without the \
         changes it records, then check what is missing with `trustform plan`",
        path.display()
    )]
    Journal { path: PathBuf, problem: String },

    #[error("there is no resource {address} in the state. `trustform state list` shows the addresses it holds")]
    NoSuchResource { address: ResourceAddr },

    #[error("{address} is already in the state. Remove or move it first")]
    AddressTaken { address: ResourceAddr },

    #[error("cannot move {from} to {to}: a resource keeps its type and mode. Use an address of the same type")]
    MoveAcrossTypes { from: Box<ResourceAddr>, to: Box<ResourceAddr> },

    #[error("a {type_name} state must be an object, not a {found}; this is a bug in its provider")]
    NotAnObject { type_name: String, found: &'static str },

    #[error("a {type_name} state has no string `id` attribute; this is a bug in its provider")]
    MissingId { type_name: String },

    #[error(
        "a {type_name} state contains a value not known until apply; only known values can be stored. \
         This is a bug in the engine or its provider"
    )]
    UnknownValue { type_name: String },
}

/// What can go wrong taking or releasing a state lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Someone else holds the lock; `holder` is what they recorded when they took it.
    #[error("{target} is locked: {holder}. {}", held_advice(.holder, *.holder_gone))]
    Held {
        target: String,
        holder: Box<LockInfo>,
        /// The holder ran on this host and its process no longer exists.
        holder_gone: bool,
    },

    #[error("{target} is not locked, so there is nothing to unlock")]
    NotHeld { target: String },

    #[error("lock id {given} does not match the lock on {target}, which is {holder}; nothing was unlocked")]
    WrongId { target: String, given: String, holder: Box<LockInfo> },

    #[error(
        "{target} is locked, but its lock file {} cannot be read ({problem}). Another run may be taking the \
         lock right now: try again. If this persists and no other run is in progress, delete that file",
        path.display()
    )]
    Unreadable { target: String, path: PathBuf, problem: String },

    #[error("the lock on {target} changed hands several times while this run tried to take it; try again")]
    Contended { target: String },

    #[error("could not {action} {}: {error}", path.display())]
    Io { action: &'static str, path: PathBuf, error: io::Error },

    /// A request to a remote lock store failed; `problem` is the service's own account of it.
    #[error("could not {action} the lock on {target}: {problem}")]
    Remote { action: &'static str, target: String, problem: String },
}

fn held_advice(holder: &LockInfo, holder_gone: bool) -> String {
    let age = crate::lock::format_age(holder.age());
    let advice = if holder_gone {
        format!(
            "The process that took it is gone; run `trustform force-unlock {}` if no other run is in progress",
            holder.id
        )
    } else {
        format!("Wait for that run to finish; if it is no longer running, run `trustform force-unlock {}`", holder.id)
    };
    format!("It has been held for {age}. {advice}")
}
