use google_cloudresourcemanager3::api::{Binding, GetIamPolicyRequest, GetPolicyOptions, Policy, SetIamPolicyRequest};
use trustform_sandbox::SandboxConfig;

use crate::clients::{self, status, PROJECT, PROJECT_NUMBER};

fn version_three() -> GetIamPolicyRequest {
    GetIamPolicyRequest { options: Some(GetPolicyOptions { requested_policy_version: Some(3) }) }
}

fn binding(role: &str, members: &[&str]) -> Binding {
    Binding {
        role: Some(role.to_owned()),
        members: Some(members.iter().map(|member| (*member).to_owned()).collect()),
        condition: None,
    }
}

#[tokio::test]
async fn project_get_by_id_and_by_number() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let crm = clients::resource_manager(&sandbox);

    for name in [format!("projects/{PROJECT}"), format!("projects/{PROJECT_NUMBER}")] {
        let (_, project) = crm.projects().get(&name).doit().await.unwrap();
        assert_eq!(project.name, Some(format!("projects/{PROJECT_NUMBER}")), "{name}");
        assert_eq!(project.project_id.as_deref(), Some(PROJECT));
        assert_eq!(project.state.as_deref(), Some("ACTIVE"));
        assert_eq!(project.display_name.as_deref(), Some(PROJECT));
        assert!(project.create_time.is_some() && project.etag.is_some());
    }
    // Google does not tell a caller whether a project it cannot see exists.
    assert_eq!(status(crm.projects().get("projects/unknown-project").doit().await), "PERMISSION_DENIED");
    assert_eq!(status(crm.projects().get("projects/999").doit().await), "PERMISSION_DENIED");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn project_iam_policy_read_modify_write_with_etags() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let crm = clients::resource_manager(&sandbox);
    let resource = format!("projects/{PROJECT}");

    let (_, empty) = crm.projects().get_iam_policy(version_three(), &resource).doit().await.unwrap();
    assert_eq!((empty.version, empty.bindings.is_none()), (Some(1), true));

    // Read-modify-write: the etag read is sent back.
    let mut policy = empty.clone();
    policy.version = Some(3);
    policy.bindings = Some(vec![
        binding("roles/aiplatform.user", &["user:alice@example.com", "group:ml@example.com"]),
        binding("roles/viewer", &["user:alice@example.com"]),
    ]);
    let request = SetIamPolicyRequest { policy: Some(policy.clone()), update_mask: None };
    let (_, written) = crm.projects().set_iam_policy(request, &resource).doit().await.unwrap();
    assert_ne!(written.etag, empty.etag);
    let bindings = written.bindings.clone().unwrap();
    assert_eq!(bindings[0].role.as_deref(), Some("roles/aiplatform.user"));
    assert_eq!(
        bindings[0].members.as_deref(),
        Some(&["group:ml@example.com".to_owned(), "user:alice@example.com".to_owned()][..]),
        "members come back sorted"
    );

    // A writer holding the old etag lost the race.
    let stale = SetIamPolicyRequest { policy: Some(policy), update_mask: None };
    assert_eq!(status(crm.projects().set_iam_policy(stale, &resource).doit().await), "ABORTED");

    // Without an etag the write is unconditional, and the etag moves on again.
    let overwrite =
        Policy { bindings: Some(vec![binding("roles/viewer", &["user:bob@example.com"])]), ..Default::default() };
    let request = SetIamPolicyRequest { policy: Some(overwrite), update_mask: None };
    let (_, overwritten) =
        crm.projects().set_iam_policy(request, &format!("projects/{PROJECT_NUMBER}")).doit().await.unwrap();
    assert_ne!(overwritten.etag, written.etag);

    let (_, read) = crm.projects().get_iam_policy(version_three(), &resource).doit().await.unwrap();
    assert_eq!(read.etag, overwritten.etag);
    assert_eq!(read.bindings.map(|bindings| bindings.len()), Some(1));

    let bad_member =
        Policy { bindings: Some(vec![binding("roles/viewer", &["alice@example.com"])]), ..Default::default() };
    let request = SetIamPolicyRequest { policy: Some(bad_member), update_mask: None };
    assert_eq!(status(crm.projects().set_iam_policy(request, &resource).doit().await), "INVALID_ARGUMENT");
    let unknown = crm.projects().get_iam_policy(version_three(), "projects/unknown-project").doit().await;
    assert_eq!(status(unknown), "PERMISSION_DENIED");

    assert_eq!(sandbox.requests_for("POST /v3/projects/{}:getIamPolicy"), 3);
    assert_eq!(sandbox.requests_for("POST /v3/projects/{}:setIamPolicy"), 4);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn two_writers_of_one_policy_both_land_by_retrying_the_loser() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let crm = clients::resource_manager(&sandbox);
    let resource = format!("projects/{PROJECT}");

    let (_, read_a) = crm.projects().get_iam_policy(version_three(), &resource).doit().await.unwrap();
    let (_, read_b) = crm.projects().get_iam_policy(version_three(), &resource).doit().await.unwrap();
    let with_member = |mut policy: Policy, member: &str| {
        let mut bindings = policy.bindings.take().unwrap_or_default();
        bindings.push(binding("roles/aiplatform.user", &[member]));
        Policy { bindings: Some(bindings), version: Some(3), ..policy }
    };

    let request = SetIamPolicyRequest { policy: Some(with_member(read_a, "user:a@example.com")), update_mask: None };
    crm.projects().set_iam_policy(request, &resource).doit().await.unwrap();
    let request = SetIamPolicyRequest { policy: Some(with_member(read_b, "user:b@example.com")), update_mask: None };
    assert_eq!(status(crm.projects().set_iam_policy(request, &resource).doit().await), "ABORTED");

    let (_, reread) = crm.projects().get_iam_policy(version_three(), &resource).doit().await.unwrap();
    let request = SetIamPolicyRequest { policy: Some(with_member(reread, "user:b@example.com")), update_mask: None };
    let (_, merged) = crm.projects().set_iam_policy(request, &resource).doit().await.unwrap();
    let bindings = merged.bindings.unwrap();
    assert_eq!(bindings.len(), 1, "bindings of one role are merged");
    assert_eq!(
        bindings[0].members.as_deref(),
        Some(&["user:a@example.com".to_owned(), "user:b@example.com".to_owned()][..])
    );
    sandbox.shutdown().await;
}
