use crate::ProviderError;
use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The one retry policy: exponential backoff with full jitter, honouring the server's
/// `Retry-After`, bounded by a total deadline. Adapters build one per call site only to change
/// which errors count as retryable (IAM's "Invalid principal" right after a create, say).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time has passed since the first.
    pub deadline: Duration,
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(120),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// A policy with no waiting, for tests and for the zero-latency benchmark provider.
    pub fn immediate(deadline: Duration) -> Self {
        RetryPolicy { initial_delay: Duration::ZERO, max_delay: Duration::ZERO, deadline, multiplier: 1.0 }
    }

    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The longest wait before attempt `attempt` (0-based count of failures so far).
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.min(64) as i32);
        let ceiling = self.initial_delay.as_secs_f64() * factor;
        Duration::from_secs_f64(ceiling.min(self.max_delay.as_secs_f64()))
    }

    /// How long to wait after the `attempt`-th failure: a random point below the backoff
    /// ceiling (full jitter), but never less than the server's `Retry-After`.
    pub fn delay(&self, attempt: u32, error: &ProviderError) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let jittered =
            if ceiling.is_zero() { Duration::ZERO } else { rand::rng().random_range(Duration::ZERO..=ceiling) };
        error.retry_after().map_or(jittered, |hint| jittered.max(hint))
    }
}

/// Runs `operation` until it succeeds, fails with an error `should_retry` rejects, or the
/// policy's deadline would be passed by the next wait. Returns the last error in that case.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    mut should_retry: impl FnMut(&ProviderError) -> bool,
    mut operation: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) if should_retry(&error) => {
                let wait = policy.delay(attempt, &error);
                if started.elapsed() + wait > policy.deadline {
                    tracing::debug!(attempts = attempt + 1, %error, "giving up: retry deadline reached");
                    return Err(error);
                }
                tracing::debug!(attempt = attempt + 1, ?wait, %error, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_millis(1600));
        assert_eq!(policy.backoff_ceiling(30), Duration::from_secs(20));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let policy = RetryPolicy::immediate(Duration::from_secs(60));
        let throttled = ProviderError::throttled(Some(Duration::from_secs(7)), "slow down");
        assert_eq!(policy.delay(0, &throttled), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry(&RetryPolicy::default(), ProviderError::is_retryable, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ProviderError::transient("503")),
                1 => Err(ProviderError::throttled(Some(Duration::from_secs(2)), "429")),
                _ => Ok("done"),
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_the_first_permanent_error() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(&RetryPolicy::default(), ProviderError::is_retryable, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::invalid("bad"))
        })
        .await;
        assert_eq!(result.unwrap_err().message, "bad");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::default().with_deadline(Duration::from_secs(10));
        let started = Instant::now();
        let result: Result<(), _> = retry(&policy, ProviderError::is_retryable, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::throttled(Some(Duration::from_secs(3)), "429"))
        })
        .await;
        assert!(result.is_err());
        assert!(started.elapsed() <= Duration::from_secs(10));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
