use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Who holds a state lock, recorded when it is taken so that whoever finds it held can tell whom
/// to ask, or judge whether the holder is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// A fresh UUID; releasing the lock requires it.
    pub id: String,
    /// The command that took the lock: `apply`, `plan`, `state mv`.
    pub operation: String,
    /// `user@host`.
    pub who: String,
    pub pid: u32,
    pub host: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The Trustform version that took the lock.
    pub version: String,
}

impl LockInfo {
    /// A lock record for `operation` by this process, on this host, now.
    pub fn new(operation: impl Into<String>) -> Self {
        let host = hostname();
        let user = ["USER", "LOGNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.into(),
            who: format!("{user}@{host}"),
            pid: std::process::id(),
            host,
            // Whole seconds: the time is for people reading an error, and reads better without nanoseconds.
            created: OffsetDateTime::now_utc().truncate_to_second(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// True when the holder ran on this host and its process no longer exists, so the lock was
    /// left behind by a run that crashed or was killed. A holder on another host cannot be checked.
    pub fn holder_process_gone(&self) -> bool {
        self.host == hostname() && process_is_gone(self.pid)
    }

    /// How long the lock has been held, by this machine's clock; zero when the holder's clock
    /// is ahead of ours.
    pub fn age(&self) -> std::time::Duration {
        let elapsed = OffsetDateTime::now_utc() - self.created;
        std::time::Duration::try_from(elapsed).unwrap_or_default()
    }
}

/// An age for people, in its two largest units: `3h12m`, `4m05s`, `12s`, `2d03h`.
pub(crate) fn format_age(age: std::time::Duration) -> String {
    let seconds = age.as_secs();
    let (days, hours, minutes, seconds) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    if days > 0 {
        format!("{days}d{hours:02}h")
    } else if hours > 0 {
        format!("{hours}h{minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m{seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

impl fmt::Display for LockInfo {
    /// `held by root@ci-42 (pid 4711) for apply since 2026-11-23T18:40:00Z (lock id …)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.created.format(&Rfc3339).map_err(|_| fmt::Error)?;
        write!(f, "held by {} (pid {}) for {} since {since} (lock id {})", self.who, self.pid, self.operation, self.id)
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call; gethostname writes at
    // most `len` bytes into it.
    let status = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if status != 0 {
        return "unknown".to_owned();
    }
    let len = buf.iter().position(|&byte| byte == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Probes `pid` with signal 0, which checks existence and permission without delivering anything.
/// Only ESRCH proves the process is gone; EPERM means it exists under another user.
fn process_is_gone(pid: u32) -> bool {
    // 0 and negative pids address process groups, never a single process.
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 has no effect on the target; it only reports whether it exists.
    let status = unsafe { libc::kill(pid, 0) };
    status != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ci_lock() -> LockInfo {
        LockInfo {
            id: "0b6f3c8e-1d2a-4c1e-9a51-2f0e8d7c6b5a".to_owned(),
            operation: "apply".to_owned(),
            who: "root@ci-42".to_owned(),
            pid: 4711,
            host: "ci-42".to_owned(),
            created: datetime!(2026-11-23 18:40:00 UTC),
            version: "0.1.0".to_owned(),
        }
    }

    #[test]
    fn display_names_holder_operation_and_time() {
        assert_eq!(
            ci_lock().to_string(),
            "held by root@ci-42 (pid 4711) for apply since 2026-11-23T18:40:00Z \
             (lock id 0b6f3c8e-1d2a-4c1e-9a51-2f0e8d7c6b5a)"
        );
    }

    #[test]
    fn serialises_time_as_rfc3339_and_round_trips() {
        let lock = ci_lock();
        let json = serde_json::to_value(&lock).unwrap();
        assert_eq!(json["created"], "2026-11-23T18:40:00Z");
        assert_eq!(serde_json::from_value::<LockInfo>(json).unwrap(), lock);
    }

    #[test]
    fn new_describes_this_process() {
        let lock = LockInfo::new("plan");
        assert_eq!(lock.operation, "plan");
        assert_eq!(lock.pid, std::process::id());
        assert_eq!(lock.host, hostname());
        assert!(lock.who.ends_with(&format!("@{}", lock.host)), "{}", lock.who);
        assert!(uuid::Uuid::parse_str(&lock.id).is_ok(), "{}", lock.id);
        assert_eq!(lock.created.nanosecond(), 0);
        assert_ne!(LockInfo::new("plan").id, lock.id);
    }

    #[test]
    fn a_live_process_is_not_gone_and_a_reaped_one_is() {
        assert!(!process_is_gone(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(process_is_gone(pid));
    }

    #[test]
    fn ages_read_in_the_two_largest_units() {
        let age = |seconds| format_age(std::time::Duration::from_secs(seconds));
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(245), "4m05s");
        assert_eq!(age(3 * 3600 + 12 * 60 + 40), "3h12m");
        assert_eq!(age(2 * 86_400 + 3 * 3600), "2d03h");
    }

    #[test]
    fn age_counts_from_the_creation_time_and_never_goes_negative() {
        let mut lock = LockInfo::new("apply");
        lock.created -= time::Duration::hours(3);
        assert!(lock.age() >= std::time::Duration::from_secs(3 * 3600), "{:?}", lock.age());
        lock.created += time::Duration::hours(6);
        assert_eq!(lock.age(), std::time::Duration::ZERO);
    }

    #[test]
    fn a_held_lock_error_says_how_long_it_has_been_held() {
        let mut holder = LockInfo::new("apply");
        holder.created -= time::Duration::minutes(192);
        let err = crate::LockError::Held { target: "t".to_owned(), holder: Box::new(holder), holder_gone: false };
        assert!(err.to_string().contains("It has been held for 3h12m."), "{err}");
    }

    #[test]
    fn process_groups_are_never_probed() {
        assert!(!process_is_gone(0));
        assert!(!process_is_gone(u32::MAX));
    }

    #[test]
    fn a_holder_on_another_host_is_never_judged_gone() {
        let mut lock = LockInfo::new("apply");
        lock.host = format!("{}-elsewhere", lock.host);
        lock.pid = u32::MAX >> 1;
        assert!(!lock.holder_process_gone());
    }
}
