use std::time::{Duration, Instant};

use google_iam1::api::{
    Binding, CreateServiceAccountRequest, PatchServiceAccountRequest, Policy, ServiceAccount, SetIamPolicyRequest,
    UndeleteServiceAccountRequest,
};
use google_iam1::FieldMask;
use trustform_sandbox::SandboxConfig;

use crate::clients::{self, status, PROJECT, PROJECT_NUMBER};

const EMAIL: &str = "litellm-wif-sa@my-project.iam.gserviceaccount.com";

fn create_request(account_id: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        account_id: Some(account_id.to_owned()),
        service_account: Some(ServiceAccount {
            display_name: Some("LiteLLM".to_owned()),
            description: Some("Vertex AI caller".to_owned()),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn service_account_lifecycle_create_get_patch_delete_undelete() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);
    let accounts = || iam.projects();

    let (_, created) = accounts()
        .service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project")
        .doit()
        .await
        .unwrap();
    assert_eq!(created.email.as_deref(), Some(EMAIL));
    assert_eq!(created.name, Some(format!("projects/{PROJECT}/serviceAccounts/{EMAIL}")));
    assert_eq!(created.project_id.as_deref(), Some(PROJECT));
    assert_eq!(created.display_name.as_deref(), Some("LiteLLM"));
    assert_eq!(created.description.as_deref(), Some("Vertex AI caller"));
    let unique_id = created.unique_id.clone().unwrap();
    assert!(unique_id.len() == 21 && unique_id.bytes().all(|b| b.is_ascii_digit()), "{unique_id}");
    assert_eq!(created.oauth2_client_id.as_deref(), Some(unique_id.as_str()));
    assert!(created.etag.is_some());
    // proto3 JSON leaves a false `disabled` out.
    assert_eq!(created.disabled, None);

    for name in [
        format!("projects/{PROJECT}/serviceAccounts/{EMAIL}"),
        format!("projects/-/serviceAccounts/{EMAIL}"),
        format!("projects/-/serviceAccounts/{unique_id}"),
        format!("projects/{PROJECT_NUMBER}/serviceAccounts/{unique_id}"),
    ] {
        let (_, got) = accounts().service_accounts_get(&name).doit().await.unwrap();
        assert_eq!(got.unique_id.as_deref(), Some(unique_id.as_str()), "{name}");
    }

    let duplicate =
        accounts().service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project").doit().await;
    assert_eq!(status(duplicate), "ALREADY_EXISTS");

    let patch = PatchServiceAccountRequest {
        service_account: Some(ServiceAccount { display_name: Some("LiteLLM proxy".to_owned()), ..Default::default() }),
        update_mask: Some(FieldMask::new(&["displayName"])),
    };
    let name = format!("projects/{PROJECT}/serviceAccounts/{EMAIL}");
    let (_, patched) = accounts().service_accounts_patch(patch, &name).doit().await.unwrap();
    assert_eq!(patched.display_name.as_deref(), Some("LiteLLM proxy"));
    assert_eq!(patched.description.as_deref(), Some("Vertex AI caller"));
    let no_mask = PatchServiceAccountRequest { service_account: Some(ServiceAccount::default()), update_mask: None };
    assert_eq!(status(accounts().service_accounts_patch(no_mask, &name).doit().await), "INVALID_ARGUMENT");

    accounts().service_accounts_delete(&name).doit().await.unwrap();
    assert_eq!(status(accounts().service_accounts_get(&name).doit().await), "NOT_FOUND");

    let undelete_name = format!("projects/-/serviceAccounts/{unique_id}");
    let (_, restored) = accounts()
        .service_accounts_undelete(UndeleteServiceAccountRequest::default(), &undelete_name)
        .doit()
        .await
        .unwrap();
    let restored = restored.restored_account.unwrap();
    assert_eq!(restored.email.as_deref(), Some(EMAIL));
    assert_eq!(restored.display_name.as_deref(), Some("LiteLLM proxy"));
    accounts().service_accounts_get(&name).doit().await.unwrap();
    let again =
        accounts().service_accounts_undelete(UndeleteServiceAccountRequest::default(), &undelete_name).doit().await;
    assert_eq!(status(again), "FAILED_PRECONDITION");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_account_ids_and_unknown_projects_are_refused() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);

    let bad = iam.projects().service_accounts_create(create_request("Bad_Id"), "projects/my-project").doit().await;
    assert_eq!(status(bad), "INVALID_ARGUMENT");
    let elsewhere = iam.projects().service_accounts_create(create_request("litellm"), "projects/other").doit().await;
    assert_eq!(status(elsewhere), "PERMISSION_DENIED");
    let unknown = iam
        .projects()
        .service_accounts_get("projects/my-project/serviceAccounts/nobody@my-project.iam.gserviceaccount.com");
    assert_eq!(status(unknown.doit().await), "NOT_FOUND");
    // With the `-` wildcard an email of a project IAM cannot see is a permission problem.
    let foreign = iam.projects().service_accounts_get("projects/-/serviceAccounts/fake@example.com");
    assert_eq!(status(foreign.doit().await), "PERMISSION_DENIED");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_new_service_account_is_denied_then_not_found_then_visible_and_a_member_last() {
    let delay = Duration::from_millis(500);
    let member_delay = Duration::from_millis(900);
    let config = SandboxConfig::default()
        .gcp_service_account_visibility_delay(delay)
        .gcp_service_account_member_delay(member_delay)
        .gcp_windows_answer_at_least_once();
    let sandbox = clients::sandbox(config).await;
    let iam = clients::iam(&sandbox);
    let crm = clients::resource_manager(&sandbox);

    let created_at = Instant::now();
    let (_, created) = iam
        .projects()
        .service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project")
        .doit()
        .await
        .unwrap();
    let name = created.name.unwrap();
    // IAM first answers as for an account the caller may not see, then as for a missing one.
    let first = status(iam.projects().service_accounts_get(&name).doit().await);
    assert_eq!(first, "PERMISSION_DENIED");

    // Granting a role to the account is refused, in IAM's words, until IAM's policies know it.
    let grant = grant_to_the_new_account();
    let early = crm.projects().set_iam_policy(grant.clone(), "projects/my-project").doit().await;
    match early {
        Err(google_cloudresourcemanager3::Error::BadRequest(body)) => {
            assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
            assert_eq!(body["error"]["message"], format!("Service account {EMAIL} does not exist."));
        }
        other => panic!("expected 400 INVALID_ARGUMENT, got {other:?}"),
    }

    let deadline = Instant::now() + delay * 10;
    let mut seen = vec![first];
    let visible = loop {
        match iam.projects().service_accounts_get(&name).doit().await {
            Ok((_, account)) => break account,
            Err(error) => {
                let status = status::<()>(Err(error));
                if seen.last() != Some(&status) {
                    seen.push(status);
                }
                assert!(Instant::now() < deadline, "service account never became visible");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(seen, ["PERMISSION_DENIED", "NOT_FOUND"]);
    assert_eq!(visible.email.as_deref(), Some(EMAIL));
    if created_at.elapsed() < member_delay {
        let still = crm.projects().set_iam_policy(grant.clone(), "projects/my-project").doit().await;
        assert_eq!(status(still), "INVALID_ARGUMENT");
    }
    let remaining = member_delay.saturating_sub(created_at.elapsed());
    tokio::time::sleep(remaining).await;
    crm.projects().set_iam_policy(grant, "projects/my-project").doit().await.unwrap();
    sandbox.shutdown().await;
}

/// With windows far shorter than any request, every phase is over by time before the next
/// request arrives; `gcp_windows_answer_at_least_once` still shows each of them once, in order,
/// so a test on a slow machine cannot step over one.
#[tokio::test]
async fn windows_that_answer_at_least_once_show_every_phase_however_slow_the_caller() {
    let config = SandboxConfig::default()
        .gcp_service_account_visibility_delay(Duration::from_nanos(2))
        .gcp_service_account_member_delay(Duration::from_nanos(2))
        .gcp_windows_answer_at_least_once();
    let sandbox = clients::sandbox(config).await;
    let iam = clients::iam(&sandbox);
    let crm = clients::resource_manager(&sandbox);
    let (_, created) = iam
        .projects()
        .service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project")
        .doit()
        .await
        .unwrap();
    let name = created.name.unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let got = iam.projects().service_accounts_get(&name).doit().await;
        answers.push(if got.is_ok() { "OK".to_owned() } else { status(got) });
    }
    assert_eq!(answers, ["PERMISSION_DENIED", "NOT_FOUND", "OK"]);
    let grant = grant_to_the_new_account();
    let first = crm.projects().set_iam_policy(grant.clone(), "projects/my-project").doit().await;
    assert!(
        matches!(&first, Err(google_cloudresourcemanager3::Error::BadRequest(body)) if body["error"]["status"] == "INVALID_ARGUMENT"),
        "{first:?}"
    );
    crm.projects().set_iam_policy(grant, "projects/my-project").doit().await.unwrap();
    sandbox.shutdown().await;
}

#[tokio::test]
async fn service_account_iam_policy_read_modify_write() {
    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);
    let (_, created) = iam
        .projects()
        .service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project")
        .doit()
        .await
        .unwrap();
    let resource = created.name.unwrap();

    let (_, empty) = iam
        .projects()
        .service_accounts_get_iam_policy(&resource)
        .options_requested_policy_version(3)
        .doit()
        .await
        .unwrap();
    assert_eq!(empty.version, Some(1));
    assert!(empty.bindings.is_none());
    assert_eq!(empty.etag.as_deref(), Some(&[0x00, 0x20, 0x01][..]), "an unwritten policy's etag is ACAB");

    let member = format!(
        "principalSet://iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/aws-pool/\
         attribute.aws_role/arn:aws:sts::210987654321:assumed-role/litellm"
    );
    let policy = Policy {
        version: Some(3),
        bindings: Some(vec![Binding {
            role: Some("roles/iam.workloadIdentityUser".to_owned()),
            members: Some(vec![member.clone()]),
            condition: None,
        }]),
        etag: empty.etag.clone(),
        audit_configs: None,
    };
    let request = SetIamPolicyRequest { policy: Some(policy.clone()), update_mask: None };
    let (_, written) = iam.projects().service_accounts_set_iam_policy(request, &resource).doit().await.unwrap();
    assert_ne!(written.etag, empty.etag);
    let binding = &written.bindings.as_deref().unwrap()[0];
    assert_eq!(binding.members.as_deref(), Some(&[member][..]));

    let stale = SetIamPolicyRequest { policy: Some(policy), update_mask: None };
    assert_eq!(status(iam.projects().service_accounts_set_iam_policy(stale, &resource).doit().await), "ABORTED");

    let (_, read) = iam.projects().service_accounts_get_iam_policy(&resource).doit().await.unwrap();
    assert_eq!(read.etag, written.etag);
    assert_eq!(serde_json::to_value(&read.bindings).unwrap(), serde_json::to_value(&written.bindings).unwrap());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_deleted_service_account_shows_as_deleted_in_policies_until_undeleted() {
    use google_cloudresourcemanager3::api as crm_api;

    let sandbox = clients::sandbox(SandboxConfig::default()).await;
    let iam = clients::iam(&sandbox);
    let crm = clients::resource_manager(&sandbox);
    let (_, created) = iam
        .projects()
        .service_accounts_create(create_request("litellm-wif-sa"), "projects/my-project")
        .doit()
        .await
        .unwrap();
    let unique_id = created.unique_id.unwrap();
    let grant = crm_api::SetIamPolicyRequest {
        policy: Some(crm_api::Policy {
            bindings: Some(vec![crm_api::Binding {
                role: Some("roles/aiplatform.user".to_owned()),
                members: Some(vec![format!("serviceAccount:{EMAIL}")]),
                condition: None,
            }]),
            ..Default::default()
        }),
        update_mask: None,
    };
    crm.projects().set_iam_policy(grant, "projects/my-project").doit().await.unwrap();
    let members = || async {
        let request = crm_api::GetIamPolicyRequest::default();
        let (_, policy) = crm.projects().get_iam_policy(request, "projects/my-project").doit().await.unwrap();
        policy.bindings.unwrap()[0].members.clone().unwrap()
    };

    let name = format!("projects/{PROJECT}/serviceAccounts/{EMAIL}");
    iam.projects().service_accounts_delete(&name).doit().await.unwrap();
    assert_eq!(members().await, [format!("deleted:serviceAccount:{EMAIL}?uid={unique_id}")]);

    let undelete_name = format!("projects/-/serviceAccounts/{unique_id}");
    let undelete = iam.projects().service_accounts_undelete(UndeleteServiceAccountRequest::default(), &undelete_name);
    undelete.doit().await.unwrap();
    assert_eq!(members().await, [format!("serviceAccount:{EMAIL}")]);
    sandbox.shutdown().await;
}

/// A project policy granting the account the tests create a role.
fn grant_to_the_new_account() -> google_cloudresourcemanager3::api::SetIamPolicyRequest {
    google_cloudresourcemanager3::api::SetIamPolicyRequest {
        policy: Some(google_cloudresourcemanager3::api::Policy {
            bindings: Some(vec![google_cloudresourcemanager3::api::Binding {
                role: Some("roles/aiplatform.user".to_owned()),
                members: Some(vec![format!("serviceAccount:{EMAIL}")]),
                condition: None,
            }]),
            ..Default::default()
        }),
        update_mask: None,
    }
}
