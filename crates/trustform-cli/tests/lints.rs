//! The cross-cloud checks through the binary: each fires on a spec that makes the mistake from
//! the seeds' troubleshooting tables, stops the plan with its code and both resources, and stays
//! silent when the spec is right (`gcp.rs` applies the full seed 001 spec, which must pass them).

mod support;

use support::clouds::{Clouds, ACCOUNT, GCP_PROJECT};
use support::Workdir;
use trustform_sandbox::SandboxConfig;

/// Seed 001's federation, with the principalSet's project and role ARN and the provider's
/// trusted account as given.
fn spec(project: &str, role_arn: &str, trusted_account: &str) -> String {
    format!(
        r#"data "google_project" "vertex" {{
  project_id = "{GCP_PROJECT}"
}}

resource "google_iam_workload_identity_pool" "aws" {{
  workload_identity_pool_id = "aws-pool"
}}

resource "google_iam_workload_identity_pool_provider" "aws" {{
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-provider"
  aws {{
    account_id = "{trusted_account}"
  }}
}}

resource "google_service_account" "litellm" {{
  account_id = "litellm-wif-sa"
}}

resource "google_service_account_iam_member" "workload_identity_user" {{
  service_account_id = google_service_account.litellm.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/{project}/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/{role_arn}"
}}
"#
    )
}

const NUMBER: &str = "${data.google_project.vertex.number}";

fn plan(clouds: &Clouds, spec: &str, code: i32) -> String {
    let work = Workdir::new().with_file("main.tf", spec);
    clouds.run(&work, &["plan"], code).all()
}

#[test]
fn each_check_fires_on_its_mistake_and_the_right_spec_passes() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let assumed = format!("arn:aws:sts::{ACCOUNT}:assumed-role/LitellmPodRole");

    let right = plan(&clouds, &spec(NUMBER, &assumed, ACCOUNT), 0);
    assert!(!right.contains("TF130"), "{right}");

    let by_id = plan(&clouds, &spec(GCP_PROJECT, &assumed, ACCOUNT), 1);
    assert!(by_id.contains("TF1301") && by_id.contains("data.google_project.NAME.number"), "{by_id}");
    assert!(by_id.contains("main.tf:"), "the diagnostic points into the spec: {by_id}");

    let role_form = plan(&clouds, &spec(NUMBER, &format!("arn:aws:iam::{ACCOUNT}:role/LitellmPodRole"), ACCOUNT), 1);
    assert!(role_form.contains("TF1302"), "{role_form}");
    assert!(role_form.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/LitellmPodRole")), "the fix: {role_form}");
    assert!(role_form.contains("google_iam_workload_identity_pool_provider.aws"), "names both resources: {role_form}");

    let other_account = plan(&clouds, &spec(NUMBER, &assumed, "999999999999"), 1);
    assert!(other_account.contains("TF1303") && other_account.contains("999999999999"), "{other_account}");
}
