//! The azuread provider against the sandbox's Microsoft Graph emulator: the conformance suite for
//! applications (with app roles), service principals and application federated credentials, and
//! the directory's replication ridden out by the creates that name a new application.

use super::{attribute, fast_retries, group, reader};
use std::time::Duration;
use trustform_azure::{AzureAdProvider, AzureProvider};
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider};
use trustform_sandbox::{Sandbox, SandboxConfig};
use trustform_schema::conform;

async fn graph(config: SandboxConfig) -> (Sandbox, AzureAdProvider) {
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    std::env::set_var("ARM_ACCESS_TOKEN", "sandbox-token");
    let provider = AzureAdProvider::new().with_retry_policy(fast_retries());
    let block = Value::object([
        ("tenant_id", "f3b1cf79-eba8-40c3-8120-cb26aca169c2".into()),
        ("msgraph_endpoint", sandbox.endpoint().into()),
    ]);
    provider.configure(&block).await.expect("configure");
    (sandbox, provider)
}

fn planned(provider: &AzureAdProvider, type_name: &str, body: &Value) -> Value {
    let conformed = conform(&provider.schema().resources[type_name].block, body).expect("the body fits the schema");
    provider.plan(type_name, None, conformed).expect("plan")
}

async fn create(provider: &AzureAdProvider, type_name: &str, body: &Value) -> Value {
    let planned = planned(provider, type_name, body);
    provider.create(type_name, &planned, &NoCheckpoint).await.unwrap_or_else(|e| panic!("create {type_name}: {e}"))
}

fn role(value: &str, description: &str) -> Value {
    Value::object([
        ("allowed_member_types", Value::List(vec!["User".into()])),
        ("description", description.into()),
        ("display_name", value.into()),
        ("value", value.into()),
    ])
}

fn application(name: &str, roles: Vec<Value>) -> Value {
    Value::object([("display_name", name.into()), ("app_role", Value::List(roles))])
}

fn missing(state: &Value, from: &str) -> Value {
    let mut map = state.as_object().cloned().unwrap_or_default();
    let id = attribute(state, "id");
    let gone = id.replacen(from, "00000000-0000-4000-8000-000000000000", 1);
    map.insert("id".to_owned(), gone.into());
    Value::Object(map)
}

#[tokio::test]
async fn application_conforms() {
    let (_sandbox, provider) = graph(SandboxConfig::default().azure_directory_delay(Duration::from_millis(200))).await;
    // The update removes a role: it is disabled first, as Graph requires.
    let case = Case::new(
        "azuread_application",
        application("mesh-portal", vec![role("mesh_reader", "Reads"), role("mesh_admin", "Administers")]),
    )
    .with_update(application("mesh-portal", vec![role("mesh_reader", "Reads the mesh")]))
    .with_missing_state(|state| missing(state, attribute(state, "object_id")));
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn service_principal_and_credential_conform_through_replication() {
    let (_sandbox, provider) = graph(SandboxConfig::default().azure_directory_delay(Duration::from_millis(300))).await;
    let app = create(&provider, "azuread_application", &application("mesh-portal", Vec::new())).await;
    let principal =
        Case::new("azuread_service_principal", Value::object([("client_id", attribute(&app, "client_id").into())]))
            .with_missing_state(|state| missing(state, attribute(state, "object_id")));
    conformance::run(&provider, &principal).await.unwrap();
    let credential = |subject: &str| {
        Value::object([
            ("application_id", attribute(&app, "id").into()),
            ("display_name", "mesh-ci".into()),
            ("issuer", "https://token.actions.githubusercontent.com".into()),
            ("subject", subject.into()),
            ("audiences", Value::List(vec!["api://AzureADTokenExchange".into()])),
        ])
    };
    let case = Case::new(
        "azuread_application_federated_identity_credential",
        credential("repo:mesh/portal:ref:refs/heads/main"),
    )
    .with_update(credential("repo:mesh/portal:environment:prod"))
    .with_missing_state(|state| missing(state, attribute(state, "credential_id")));
    conformance::run(&provider, &case).await.unwrap();
}

/// A new application's principal and credential are refused until the application has
/// replicated, and the principal is unknown to ARM for a while after: every create waits it
/// out, and the role assignment to the principal lands.
#[tokio::test]
async fn a_new_application_is_waited_out_by_what_names_it() {
    let config = SandboxConfig::default()
        .azure_directory_delay(Duration::from_millis(500))
        .azure_principal_delay(Duration::from_millis(1500));
    let (sandbox, provider) = graph(config).await;
    let app =
        create(&provider, "azuread_application", &application("mesh-portal", vec![role("basic_user", "Basic")])).await;
    let before = sandbox.request_count();
    let principal = create(
        &provider,
        "azuread_service_principal",
        &Value::object([("client_id", attribute(&app, "client_id").into())]),
    )
    .await;
    assert!(sandbox.request_count() - before >= 2, "create, then read until visible");
    let arm = AzureProvider::new().with_retry_policy(fast_retries());
    arm.configure(&Value::object([
        ("subscription_id", super::SUBSCRIPTION.into()),
        ("resource_manager_endpoint", sandbox.endpoint().into()),
    ]))
    .await
    .unwrap();
    let assignment = Value::object([
        ("scope", group().into()),
        ("role_definition_id", reader().into()),
        ("principal_id", attribute(&principal, "object_id").into()),
        ("principal_type", "ServicePrincipal".into()),
    ]);
    let planned = conform(&arm.schema().resources["azurerm_role_assignment"].block, &assignment).unwrap();
    let planned = arm.plan("azurerm_role_assignment", None, planned).unwrap();
    let before = sandbox.request_count();
    arm.create("azurerm_role_assignment", &planned, &NoCheckpoint).await.expect("assigned after replication");
    assert!(sandbox.request_count() - before > 2, "PrincipalNotFound was retried");
}
