//! Generated identifiers and timestamps in the formats AWS and Google Cloud use.

use rand::Rng;
use time::OffsetDateTime;

tokio::task_local! {
    /// The time a replayed journal entry was first served at; see [`now`].
    static REPLAYED_AT: OffsetDateTime;
}

/// The time every handler stamps what it creates or changes with: the wall clock, except while
/// a journal entry is replayed, when it is the time the entry was first served at (so replayed
/// objects keep their creation times).
pub(crate) fn now() -> OffsetDateTime {
    REPLAYED_AT.try_with(|at| *at).unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// Runs `f` (synchronous) with [`now`] fixed at `at`.
pub(crate) fn at_time<R>(at: OffsetDateTime, f: impl FnOnce() -> R) -> R {
    REPLAYED_AT.sync_scope(at, f)
}

/// Awaits `future` with [`now`] fixed at `at`.
pub(crate) async fn at_time_async<F: std::future::Future>(at: OffsetDateTime, future: F) -> F::Output {
    REPLAYED_AT.scope(at, future).await
}

/// `len` characters drawn from `alphabet`, which must be ASCII and non-empty.
pub(crate) fn random_id(rng: &mut impl Rng, len: usize, alphabet: &str) -> String {
    let alphabet = alphabet.as_bytes();
    (0..len).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

/// Now as epoch seconds with millisecond precision, the JSON number EKS timestamps are.
pub(crate) fn epoch_seconds() -> f64 {
    let millis = now().unix_timestamp_nanos() / 1_000_000;
    // Millisecond counts stay far below 2^53 for the foreseeable future, so this is exact.
    millis as f64 / 1000.0
}

/// Now as the ISO 8601 UTC timestamp IAM writes in XML, e.g. `2026-11-23T19:26:42Z`.
pub(crate) fn iso8601_now() -> String {
    now()
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// An instant as the RFC 3339 UTC timestamp Google's JSON APIs write, e.g.
/// `2026-11-23T19:26:42.123456789Z`.
pub(crate) fn rfc3339(instant: time::OffsetDateTime) -> String {
    instant.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn ids_use_only_the_alphabet_and_replay_from_a_seed() {
        let id = random_id(&mut StdRng::seed_from_u64(7), 17, "ab1");
        assert_eq!(id.len(), 17);
        assert!(id.chars().all(|c| "ab1".contains(c)));
        assert_eq!(id, random_id(&mut StdRng::seed_from_u64(7), 17, "ab1"));
    }

    #[test]
    fn iso_timestamps_have_the_iam_shape() {
        let stamp = iso8601_now();
        assert_eq!(stamp.len(), 20, "{stamp}");
        assert!(stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T', "{stamp}");
    }

    #[test]
    fn rfc3339_timestamps_are_utc_with_a_zulu_suffix() {
        let stamp = rfc3339(time::macros::datetime!(2026-11-23 19:26:42.5 UTC));
        assert_eq!(stamp, "2026-11-23T19:26:42.5Z");
    }
}
