//! `azurerm_user_assigned_identity` and `azurerm_federated_identity_credential` against the
//! sandbox's Managed Identity emulator: the conformance suite for both, the replication of a
//! new identity's principal to a role assignment, and one credential write at a time per
//! identity.

use super::{attribute, create, fast_retries, group, planned, reader, sandbox, SUBSCRIPTION};
use std::time::Duration;
use trustform_azure::AzureProvider;
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider};
use trustform_sandbox::SandboxConfig;

const ISSUER: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9";

/// An identity in `location`'s spelling.
fn identity_in(location: &str, name: &str, tags: &[(&str, &str)]) -> Value {
    let mut body = identity(name, tags);
    if let Value::Object(map) = &mut body {
        map.insert("location".to_owned(), location.into());
    }
    body
}

fn identity(name: &str, tags: &[(&str, &str)]) -> Value {
    let tags = Value::Object(tags.iter().map(|(key, value)| ((*key).to_owned(), Value::string(*value))).collect());
    Value::object([
        ("name", name.into()),
        ("resource_group_name", "mesh-identities".into()),
        ("location", "West Europe".into()),
        ("tags", tags),
    ])
}

fn credential(parent_id: &str, name: &str, subject: &str) -> Value {
    Value::object([
        ("name", name.into()),
        ("resource_group_name", "mesh-identities".into()),
        ("parent_id", parent_id.into()),
        ("issuer", ISSUER.into()),
        ("subject", subject.into()),
        ("audience", Value::List(vec!["api://AzureADTokenExchange".into()])),
    ])
}

fn renamed(state: &Value, from: &str, to: &str) -> Value {
    let mut map = state.as_object().cloned().unwrap_or_default();
    let id = attribute(state, "id").replace(from, to);
    map.insert("id".to_owned(), id.into());
    Value::Object(map)
}

#[tokio::test]
async fn user_assigned_identity_conforms() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    // The short spelling ARM answers, so that an import reads back as the create did (the
    // long one is kept by `plan`, see the unit tests).
    let case =
        Case::new("azurerm_user_assigned_identity", identity_in("westeurope", "mesh-router", &[("team", "edge")]))
            .with_update(identity_in("westeurope", "mesh-router", &[("team", "edge"), ("tier", "prod")]))
            .with_missing_state(|state| renamed(state, "mesh-router", "mesh-router-never"));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn an_identity_reads_back_with_its_ids_and_the_configured_location() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let created = create(&provider, "azurerm_user_assigned_identity", &identity("mesh-router", &[])).await;
    assert_eq!(attribute(&created, "location"), "West Europe", "the configured spelling is kept");
    assert_eq!(attribute(&created, "tenant_id"), "f3b1cf79-eba8-40c3-8120-cb26aca169c2");
    assert_ne!(attribute(&created, "client_id"), attribute(&created, "principal_id"));
    assert_eq!(attribute(&created, "client_id").len(), 36);
    assert!(attribute(&created, "id")
        .starts_with(&format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/mesh-identities/")));
    let read = provider.read("azurerm_user_assigned_identity", &created).await.unwrap();
    assert_eq!(read.as_ref(), Some(&created));
    let again = planned(&provider, "azurerm_user_assigned_identity", &identity("mesh-router", &[]));
    let error = provider.create("azurerm_user_assigned_identity", &again, &NoCheckpoint).await.unwrap_err();
    assert!(error.message.contains("trustform import azurerm_user_assigned_identity.NAME"), "{error}");
}

#[tokio::test]
async fn federated_identity_credential_conforms() {
    let (_sandbox, provider) = sandbox(SandboxConfig::default()).await;
    let parent = create(&provider, "azurerm_user_assigned_identity", &identity("mesh-router", &[])).await;
    let parent_id = attribute(&parent, "id").to_owned();
    let case = Case::new(
        "azurerm_federated_identity_credential",
        credential(&parent_id, "mesh-eks", "system:serviceaccount:mesh:router"),
    )
    .with_update(credential(&parent_id, "mesh-eks", "system:serviceaccount:mesh:router-v2"))
    .with_missing_state(|state| renamed(state, "/mesh-eks", "/mesh-eks-never"));
    conformance::run(&provider, &case).await.unwrap();
}

/// The identity's principal replicates for a while after the PUT answers; the assignment to it
/// retries `PrincipalNotFound` until it shows.
#[tokio::test]
async fn an_assignment_to_a_new_identity_rides_out_its_replication() {
    let config = SandboxConfig::default().azure_principal_delay(Duration::from_millis(600));
    let (sandbox, provider) = sandbox(config).await;
    let identity = create(&provider, "azurerm_user_assigned_identity", &identity("mesh-router", &[])).await;
    let body = Value::object([
        ("scope", group().into()),
        ("role_definition_id", reader().into()),
        ("principal_id", attribute(&identity, "principal_id").into()),
        ("principal_type", "ServicePrincipal".into()),
    ]);
    let before = sandbox.request_count();
    let granted = create(&provider, "azurerm_role_assignment", &body).await;
    assert!(sandbox.request_count() - before > 2, "the PUT was never retried");
    assert_eq!(attribute(&granted, "principal_id"), attribute(&identity, "principal_id"));
}

/// Credentials of one identity created together are written one after the other by one
/// provider: no write meets the emulator's concurrency conflict, so each costs exactly its GET
/// and its PUT. Two providers (two processes) writing at once do meet it, and retry it.
#[tokio::test]
async fn credentials_of_one_identity_are_written_one_at_a_time() {
    let config = SandboxConfig::default().azure_credential_write_time(Duration::from_millis(150));
    let (sandbox, provider) = sandbox(config).await;
    let parent = create(&provider, "azurerm_user_assigned_identity", &identity("mesh-router", &[])).await;
    let parent_id = attribute(&parent, "id").to_owned();
    let bodies: Vec<Value> = (0..4)
        .map(|index| credential(&parent_id, &format!("mesh-{index}"), &format!("system:serviceaccount:mesh:sa{index}")))
        .collect();
    let before = sandbox.request_count();
    let creates = bodies.iter().map(|body| create(&provider, "azurerm_federated_identity_credential", body));
    let created = futures::future::join_all(creates).await;
    assert_eq!(created.len(), 4);
    assert_eq!(sandbox.request_count() - before, 8, "one GET and one PUT each, no conflict retried");

    let other = super::provider_at(&sandbox.endpoint()).await;
    let other = other.with_retry_policy(fast_retries());
    let deletes =
        [(&provider, &created[0]), (&other, &created[1])].map(|(provider, state): (&AzureProvider, &Value)| {
            provider.delete("azurerm_federated_identity_credential", state)
        });
    let before = sandbox.request_count();
    for result in futures::future::join_all(deletes).await {
        result.expect("the conflict is retried");
    }
    assert!(sandbox.request_count() - before > 2, "two writers at once meet the conflict");
}
