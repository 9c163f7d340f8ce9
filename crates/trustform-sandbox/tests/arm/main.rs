//! ARM Authorization on the sandbox as the real `azure_mgmt_authorization` client sees it: every
//! call goes through the SDK's own URL building, serialisation and error parsing. Wire details
//! the SDK hides (the api-version check, `Retry-After`) are checked on raw HTTP.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::{RetryOptions, StatusCode, Url};
use azure_mgmt_authorization::package_2022_04_01::models::{
    Permission, RoleAssignmentCreateParameters, RoleAssignmentProperties, RoleDefinition, RoleDefinitionProperties,
};
use azure_mgmt_authorization::package_2022_04_01::Client;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trustform_sandbox::{Sandbox, SandboxConfig};

const SUBSCRIPTION: &str = "24ebb700-ec2f-417f-afad-78fe15dcc91f";
const ROLE_GUID: &str = "baf42808-99ff-466d-b9da-f95bb0422c5f";
const PRINCIPAL: &str = "91a43c21-cf21-4f34-9085-331015ea4f91";
const OPENAI_USER: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";

fn subscription() -> String {
    format!("subscriptions/{SUBSCRIPTION}")
}

fn group() -> String {
    format!("subscriptions/{SUBSCRIPTION}/resourceGroups/your-openai-group-name")
}

#[derive(Debug)]
struct TestToken;

#[async_trait]
impl TokenCredential for TestToken {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(Secret::new("sandbox-token"), time::OffsetDateTime::now_utc() + time::Duration::hours(1)))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

fn client(sandbox: &Sandbox) -> Client {
    Client::builder(Arc::new(TestToken))
        .endpoint(Url::parse(&sandbox.endpoint()).unwrap())
        .scopes(&["https://management.azure.com/.default"])
        .retry(RetryOptions::none())
        .build()
        .unwrap()
}

/// Seed 002's `invoke-only` role.
fn invoke_only(data_actions: &[&str]) -> RoleDefinition {
    RoleDefinition {
        properties: Some(RoleDefinitionProperties {
            role_name: Some("invoke-only".to_owned()),
            description: Some(String::new()),
            type_: Some("CustomRole".to_owned()),
            permissions: vec![Permission {
                data_actions: data_actions.iter().map(|action| (*action).to_owned()).collect(),
                ..Permission::default()
            }],
            assignable_scopes: vec![format!("/{}", group())],
            ..RoleDefinitionProperties::default()
        }),
        ..RoleDefinition::default()
    }
}

const CHAT: &str = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action";
const EMBEDDINGS: &str = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action";

fn assignment(role_definition_id: &str) -> RoleAssignmentCreateParameters {
    RoleAssignmentCreateParameters::new(RoleAssignmentProperties::new(
        role_definition_id.to_owned(),
        PRINCIPAL.to_owned(),
    ))
}

/// The status and ARM error code of a failed call.
fn failure(error: &azure_core::Error) -> (StatusCode, Option<String>) {
    match error.kind() {
        ErrorKind::HttpResponse { status, error_code } => (*status, error_code.clone()),
        other => panic!("expected an HTTP error, got {other:?}: {error}"),
    }
}

#[tokio::test]
async fn custom_roles_are_written_read_listed_and_deleted() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let definitions = client(&sandbox).role_definitions_client();

    let created = definitions.create_or_update(subscription(), ROLE_GUID, invoke_only(&[CHAT])).send().await.unwrap();
    assert_eq!(created.as_raw_response().status(), StatusCode::Created);
    let read = definitions.get(subscription(), ROLE_GUID).await.unwrap();
    assert_eq!(
        read.id.as_deref(),
        Some(format!("/{}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_GUID}", subscription()).as_str())
    );
    let properties = read.properties.unwrap();
    assert_eq!(properties.type_.as_deref(), Some("CustomRole"));
    assert_eq!(properties.permissions[0].data_actions, [CHAT]);
    assert_eq!(properties.assignable_scopes, [format!("/{}", group())]);
    assert!(properties.created_on.is_some());

    definitions.create_or_update(subscription(), ROLE_GUID, invoke_only(&[CHAT, EMBEDDINGS])).await.unwrap();
    let listed: Vec<_> = definitions
        .list(group())
        .filter("roleName eq 'invoke-only'")
        .into_stream()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flat_map(|page| page.unwrap().value)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].properties.as_ref().unwrap().permissions[0].data_actions, [CHAT, EMBEDDINGS]);

    // A second role of the same name is refused; role names are unique in a tenant.
    let clash = definitions
        .create_or_update(subscription(), "0b8f1c7e-58c5-4d4a-9d0b-2f1c7b2f0a11", invoke_only(&[CHAT]))
        .await
        .unwrap_err();
    assert_eq!(failure(&clash), (StatusCode::Conflict, Some("RoleDefinitionWithSameNameExists".to_owned())));

    let deleted = definitions.delete(subscription(), ROLE_GUID).send().await.unwrap();
    assert_eq!(deleted.as_raw_response().status(), StatusCode::Ok);
    let again = definitions.delete(subscription(), ROLE_GUID).send().await.unwrap();
    assert_eq!(again.as_raw_response().status(), StatusCode::NoContent);
    let gone = definitions.get(subscription(), ROLE_GUID).await.unwrap_err();
    assert_eq!(failure(&gone), (StatusCode::BadRequest, Some("RoleDefinitionDoesNotExist".to_owned())));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn built_in_roles_are_found_by_name_with_their_well_known_ids() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let definitions = client(&sandbox).role_definitions_client();
    let mut pages = definitions.list(group()).filter("roleName eq 'Cognitive Services OpenAI User'").into_stream();
    let page = pages.next().await.unwrap().unwrap();
    assert_eq!(page.value.len(), 1);
    let role = &page.value[0];
    assert_eq!(
        role.id.as_deref(),
        Some(
            format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{OPENAI_USER}")
                .as_str()
        )
    );
    assert_eq!(role.properties.as_ref().unwrap().type_.as_deref(), Some("BuiltInRole"));
    let reader = definitions.get(subscription(), "acdd72a7-3385-48ef-bd42-f606fba81ae7").await.unwrap();
    assert_eq!(reader.properties.unwrap().role_name.as_deref(), Some("Reader"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn assignments_are_created_once_and_deleted() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let definitions = client.role_definitions_client();
    let assignments = client.role_assignments_client();
    let role = definitions.create_or_update(subscription(), ROLE_GUID, invoke_only(&[CHAT])).await.unwrap();
    let role_id = role.id.unwrap();

    let name = "3f1d2a55-0c2b-4a7e-9a43-6f0d3c1b2e99";
    let created = assignments.create(group(), name, assignment(&role_id)).send().await.unwrap();
    assert_eq!(created.as_raw_response().status(), StatusCode::Created);
    let read = assignments.get(group(), name).await.unwrap();
    let properties = read.properties.unwrap();
    assert_eq!(properties.principal_id, PRINCIPAL);
    assert_eq!(properties.scope.as_deref(), Some(format!("/{}", group()).as_str()));
    assert_eq!(properties.role_definition_id, role_id);

    // The same grant under another name is a 409; under the same name, an idempotent 200.
    let other = assignments.create(group(), "6a0e9b1c-2f4d-4c3b-8e7a-1d2c3b4a5f60", assignment(&role_id)).await;
    assert_eq!(failure(&other.unwrap_err()), (StatusCode::Conflict, Some("RoleAssignmentExists".to_owned())));
    let same = assignments.create(group(), name, assignment(&role_id)).send().await.unwrap();
    assert_eq!(same.as_raw_response().status(), StatusCode::Ok);
    let listed = assignments.list_for_scope(group()).into_stream().next().await.unwrap().unwrap();
    assert_eq!(listed.value.len(), 1);

    // A role in use cannot be deleted.
    let in_use = definitions.delete(subscription(), ROLE_GUID).await.unwrap_err();
    assert_eq!(failure(&in_use), (StatusCode::Conflict, Some("RoleDefinitionHasAssignments".to_owned())));

    assignments.delete(group(), name).send().await.unwrap();
    let gone = assignments.get(group(), name).await.unwrap_err();
    assert_eq!(failure(&gone), (StatusCode::NotFound, Some("RoleAssignmentNotFound".to_owned())));
    definitions.delete(subscription(), ROLE_GUID).send().await.unwrap();
    sandbox.shutdown().await;
}

#[tokio::test]
async fn new_roles_and_principals_are_unknown_to_assignments_while_they_replicate() {
    let config = SandboxConfig::default()
        .azure_principal(PRINCIPAL)
        .azure_principal_delay(Duration::from_secs(3600))
        .azure_definition_delay(Duration::from_secs(3600));
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = client(&sandbox);
    let role = client
        .role_definitions_client()
        .create_or_update(subscription(), ROLE_GUID, invoke_only(&[CHAT]))
        .await
        .unwrap();
    let assignments = client.role_assignments_client();
    let name = "3f1d2a55-0c2b-4a7e-9a43-6f0d3c1b2e99";

    let error = assignments.create(group(), name, assignment(&role.id.unwrap())).await.unwrap_err();
    assert_eq!(failure(&error), (StatusCode::BadRequest, Some("RoleDefinitionDoesNotExist".to_owned())));

    let reader = format!(
        "/{}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
        subscription()
    );
    let error = assignments.create(group(), name, assignment(&reader)).await.unwrap_err();
    assert_eq!(failure(&error), (StatusCode::BadRequest, Some("PrincipalNotFound".to_owned())));
    assert!(error.to_string().contains("PrincipalNotFound") || format!("{error:?}").contains("replication delay"));

    // Updates, too, show in reads only once they replicated.
    let definitions = client.role_definitions_client();
    definitions.create_or_update(subscription(), ROLE_GUID, invoke_only(&[CHAT, EMBEDDINGS])).await.unwrap();
    let read = definitions.get(subscription(), ROLE_GUID).await.unwrap();
    assert_eq!(read.properties.unwrap().permissions[0].data_actions, [CHAT]);
    sandbox.shutdown().await;
}

/// One raw HTTP/1.1 exchange: the status code, the headers and the body.
async fn raw(sandbox: &Sandbox, request_line: &str, authorization: bool) -> (u16, String, serde_json::Value) {
    let address = sandbox.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let auth = if authorization { "Authorization: Bearer t\r\n" } else { "" };
    let request = format!("{request_line} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), serde_json::from_str(body).unwrap_or_default())
}

#[tokio::test]
async fn api_version_and_token_are_required_and_throttling_says_when_to_retry() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let path = format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions");
    let (status, _, body) = raw(&sandbox, &format!("GET {path}"), true).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "MissingApiVersionParameter");
    let (status, _, body) = raw(&sandbox, &format!("GET {path}?api-version=2022-04-01"), false).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    let (status, _, body) =
        raw(&sandbox, "GET /subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", true).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("SubscriptionNotFound")));
    sandbox.shutdown().await;

    let throttled = SandboxConfig::default().throttle_rate(1.0).azure_retry_after(Duration::from_secs(7));
    let sandbox = Sandbox::start(throttled).await.unwrap();
    let (status, head, body) = raw(&sandbox, &format!("GET {path}?api-version=2022-04-01"), true).await;
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 7"), "{head}");
    assert_eq!(body["error"]["code"], "SubscriptionRequestsThrottled");
    sandbox.shutdown().await;
}
