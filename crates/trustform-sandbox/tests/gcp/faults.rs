use google_iam1::api::{CreateServiceAccountRequest, WorkloadIdentityPool};
use google_iam1::common::{Delegate, Response, Retry};
use trustform_sandbox::SandboxConfig;

use crate::clients::{self, google_error};

fn is_retryable(code: u16, status: &str) -> bool {
    matches!((code, status), (429, "RESOURCE_EXHAUSTED") | (503, "UNAVAILABLE"))
}

#[tokio::test]
async fn every_call_fails_with_a_retryable_google_error_at_full_fault_rate() {
    let sandbox = clients::sandbox(SandboxConfig::default().fault_rate(1.0).seed(7)).await;
    let iam = clients::iam(&sandbox);
    let crm = clients::resource_manager(&sandbox);

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let (code, status) = google_error(crm.projects().get("projects/my-project").doit().await);
        assert!(is_retryable(code, &status), "{code} {status}");
        seen.insert(status);
        let get =
            iam.projects().service_accounts_get("projects/-/serviceAccounts/a@my-project.iam.gserviceaccount.com");
        let (code, status) = google_error(get.doit().await);
        assert!(is_retryable(code, &status), "{code} {status}");
        let create = iam
            .projects()
            .locations_workload_identity_pools_create(
                WorkloadIdentityPool::default(),
                "projects/my-project/locations/global",
            )
            .workload_identity_pool_id("aws-pool");
        let (code, status) = google_error(create.doit().await);
        assert!(is_retryable(code, &status), "{code} {status}");
    }
    assert_eq!(seen.len(), 2, "both fault kinds are drawn: {seen:?}");
    assert_eq!(sandbox.request_count(), 30);
    assert_eq!(sandbox.requests_for("GET /v3/projects/{}"), 10);
    sandbox.shutdown().await;
}

/// Retries what Google documents as retryable, at once, up to a bound.
struct RetryRetryable {
    retries: u32,
}

impl Delegate for RetryRetryable {
    fn http_failure(&mut self, response: &Response, _error: Option<&serde_json::Value>) -> Retry {
        if matches!(response.status().as_u16(), 429 | 503) && self.retries < 50 {
            self.retries += 1;
            return Retry::After(std::time::Duration::from_millis(1));
        }
        Retry::Abort
    }
}

#[tokio::test]
async fn retrying_the_retryable_errors_rides_out_a_third_of_requests_failing() {
    let sandbox = clients::sandbox(SandboxConfig::default().fault_rate(0.3).seed(11)).await;
    let iam = clients::iam(&sandbox);

    let mut retries = 0;
    for index in 0..10 {
        let request =
            CreateServiceAccountRequest { account_id: Some(format!("account-{index}")), service_account: None };
        let mut delegate = RetryRetryable { retries: 0 };
        let call = iam.projects().service_accounts_create(request, "projects/my-project").delegate(&mut delegate);
        call.doit().await.unwrap();
        retries += delegate.retries;
    }
    assert!(retries > 0, "no faults were injected");
    // Faults are answered before the request is processed: no retried create made a second account.
    assert_eq!(sandbox.request_count(), 10 + u64::from(retries));
    sandbox.shutdown().await;
}
