use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use trustform_provider::ProviderErrorKind;

/// The provider calls that reach the store, and so count towards API economy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallKind {
    Read,
    Create,
    Update,
    Delete,
    Import,
    /// A data source read.
    ReadData,
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallKind::Read => "read",
            CallKind::Create => "create",
            CallKind::Update => "update",
            CallKind::Delete => "delete",
            CallKind::Import => "import",
            CallKind::ReadData => "read_data",
        })
    }
}

/// One call as the store saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub kind: CallKind,
    pub type_name: String,
    /// The `name` of the object the call was about, when the call said or the store knew it.
    pub name: Option<String>,
    /// The object's id; for a create, the id it was given.
    pub id: Option<String>,
    /// Why the call failed, injected or not.
    pub error: Option<ProviderErrorKind>,
}

impl Call {
    pub(crate) fn new(kind: CallKind, type_name: &str, name: Option<String>, id: Option<String>) -> Call {
        Call { kind, type_name: type_name.to_owned(), name, id, error: None }
    }
}

impl fmt::Display for Call {
    /// `create test_resource name=a id=tr-000001`, with ` error=Transient` when it failed: a
    /// line a test can compare against a list of expected calls.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.type_name)?;
        if let Some(name) = &self.name {
            write!(f, " name={name}")?;
        }
        if let Some(id) = &self.id {
            write!(f, " id={id}")?;
        }
        if let Some(error) = &self.error {
            write!(f, " error={error:?}")?;
        }
        Ok(())
    }
}

/// Every call in the order the store processed it, and how many were in flight at once.
#[derive(Default)]
pub(crate) struct CallLog {
    calls: Mutex<Vec<Call>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

impl CallLog {
    /// Counts a call as in flight until the returned guard drops.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight { log: self }
    }

    pub(crate) fn record(&self, call: Call) {
        self.lock().push(call);
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().clone()
    }

    pub(crate) fn count(&self, kind: CallKind) -> usize {
        self.lock().iter().filter(|call| call.kind == kind).count()
    }

    pub(crate) fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the calls so far; the peak restarts from the calls in flight now.
    pub(crate) fn reset(&self) {
        self.lock().clear();
        self.peak_in_flight.store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        // A test that panicked while holding the lock left a complete log behind: pushes and
        // clears do not tear.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A call in flight; dropping it ends the call.
pub(crate) struct InFlight<'a> {
    log: &'a CallLog,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.log.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
