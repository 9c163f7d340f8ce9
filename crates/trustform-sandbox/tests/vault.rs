//! The emulated Vault against a real one: the same requests, sent with `curl` to a real OpenBao
//! dev server and to the sandbox, must get the same status and the same answer (the same
//! errors word for word, the same fields with the same values), ids and times aside. This is
//! what keeps the emulator honest: it is checked against the server, not against the adapter.

use serde_json::Value;
use trustform_sandbox::{Sandbox, SandboxConfig};
use trustform_test_provider::openbao::{vault_http, OpenBao};

/// What differs between two servers by nature: ids, times, versions of the server's build.
const VOLATILE: &[&str] = &[
    "request_id",
    "accessor",
    "uuid",
    "created_time",
    "updated_time",
    "deletion_time",
    "modified",
    "running_plugin_version",
    "running_sha256",
];

/// `value` with volatile fields replaced by whether they were empty.
fn normalized(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    if VOLATILE.contains(&name.as_str()) {
                        let empty = field.is_null() || field.as_str().is_some_and(str::is_empty);
                        *field = Value::String(if empty { "<empty>" } else { "<set>" }.into());
                    } else {
                        walk(field);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// How a step's answers are compared.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    /// Status and the whole normalized body.
    Exactly,
    /// Status only: the message is the parser's own (a policy's HCL error names a position).
    Status,
}

use Compare::{Exactly, Status};

/// One life of each object the adapter manages, with the mistakes a spec can make on the way.
const STEPS: &[(&str, &str, Option<&str>, Compare)] = &[
    // Secrets engines.
    (
        "POST",
        "sys/mounts/gw-kv",
        Some(
            r#"{"type":"kv","options":{"version":"2"},"description":"","config":{},"local":false,"external_entropy_access":false}"#,
        ),
        Exactly,
    ),
    ("GET", "sys/mounts/gw-kv", None, Exactly),
    ("POST", "sys/mounts/gw-kv", Some(r#"{"type":"kv","options":{"version":"2"}}"#), Exactly),
    ("POST", "sys/mounts/gw-kv/nested", Some(r#"{"type":"kv"}"#), Exactly),
    ("POST", "sys/mounts/sys/mine", Some(r#"{"type":"kv"}"#), Exactly),
    ("POST", "sys/mounts/cubbyhole", Some(r#"{"type":"kv"}"#), Exactly),
    ("POST", "sys/mounts/untyped", Some(r#"{}"#), Exactly),
    ("POST", "sys/mounts/odd", Some(r#"{"type":"no-such-engine"}"#), Exactly),
    ("GET", "sys/mounts/absent", None, Exactly),
    ("POST", "sys/mounts/gw-kv/tune", Some(r#"{"description":"gateway","default_lease_ttl":60}"#), Exactly),
    ("GET", "sys/mounts/gw-kv", None, Exactly),
    ("POST", "sys/mounts/alias-v2", Some(r#"{"type":"kv-v2"}"#), Exactly),
    ("GET", "sys/mounts/alias-v2", None, Exactly),
    ("GET", "sys/mounts/secret", None, Exactly),
    // KV v2 secrets.
    ("GET", "gw-kv/data/master", None, Exactly),
    ("POST", "gw-kv/data/master", Some(r#"{"data":{"key":"one"}}"#), Exactly),
    ("POST", "gw-kv/data/master", Some(r#"{"data":{"key":"two","n":{"deep":[1,2]}},"options":{"cas":1}}"#), Exactly),
    ("POST", "gw-kv/data/master", Some(r#"{"data":{"key":"three"},"options":{"cas":1}}"#), Exactly),
    ("GET", "gw-kv/data/master", None, Exactly),
    ("GET", "gw-kv/data/master?version=1", None, Exactly),
    ("GET", "gw-kv/data/master?version=9", None, Exactly),
    ("GET", "gw-kv/metadata/master", None, Exactly),
    ("POST", "gw-kv/data/bad", Some(r#"{"data":"text"}"#), Exactly),
    ("POST", "gw-kv/data/bad", Some(r#"{"nodata":true}"#), Exactly),
    ("POST", "gw-kv/data/", Some(r#"{"data":{"a":"b"}}"#), Exactly),
    ("POST", "gw-kv/data/team/app", Some(r#"{"data":{"a":"b"}}"#), Exactly),
    ("GET", "gw-kv/data/team/app", None, Exactly),
    ("DELETE", "gw-kv/data/master", None, Exactly),
    ("GET", "gw-kv/data/master", None, Exactly),
    ("POST", "gw-kv/data/master", Some(r#"{"data":{"key":"four"}}"#), Exactly),
    ("GET", "gw-kv/data/master", None, Exactly),
    ("DELETE", "gw-kv/metadata/master", None, Exactly),
    ("GET", "gw-kv/data/master", None, Exactly),
    ("DELETE", "gw-kv/data/never-written", None, Exactly),
    ("GET", "nowhere/data/x", None, Exactly),
    // ACL policies.
    (
        "PUT",
        "sys/policies/acl/Gw-Read",
        Some(r#"{"policy":"path \"gw-kv/data/*\" { capabilities = [\"read\"] }"}"#),
        Exactly,
    ),
    ("GET", "sys/policies/acl/gw-read", None, Exactly),
    (
        "PUT",
        "sys/policies/acl/gw-read",
        Some(r#"{"policy":"path \"gw-kv/data/master\" { capabilities = [\"read\", \"list\"] }"}"#),
        Exactly,
    ),
    ("GET", "sys/policies/acl/gw-read", None, Exactly),
    ("GET", "sys/policies/acl/absent", None, Exactly),
    ("PUT", "sys/policies/acl/broken", Some(r#"{"policy":"path { nope"}"#), Status),
    ("PUT", "sys/policies/acl/empty", Some(r#"{}"#), Exactly),
    ("PUT", "sys/policies/acl/root", Some(r#"{"policy":"path \"a\" { capabilities = [\"read\"] }"}"#), Exactly),
    ("DELETE", "sys/policies/acl/default", None, Exactly),
    ("DELETE", "sys/policies/acl/gw-read", None, Exactly),
    ("DELETE", "sys/policies/acl/gw-read", None, Exactly),
    ("GET", "sys/policies/acl/gw-read", None, Exactly),
    // Auth methods and the Kubernetes method's configuration and roles.
    ("POST", "sys/auth/eks-gw", Some(r#"{"type":"kubernetes","description":"","local":false}"#), Exactly),
    ("GET", "sys/auth/eks-gw", None, Exactly),
    ("POST", "sys/auth/eks-gw", Some(r#"{"type":"kubernetes"}"#), Exactly),
    ("POST", "sys/auth/odd", Some(r#"{"type":"no-such-method"}"#), Exactly),
    ("GET", "sys/auth/absent", None, Exactly),
    ("POST", "sys/auth/eks-gw/tune", Some(r#"{"description":"the cluster"}"#), Exactly),
    ("GET", "sys/auth/eks-gw", None, Exactly),
    ("GET", "auth/eks-gw/config", None, Exactly),
    (
        "POST",
        "auth/eks-gw/config",
        Some(r#"{"kubernetes_host":"https://h.example","kubernetes_ca_cert":"","disable_local_ca_jwt":true}"#),
        Exactly,
    ),
    ("POST", "auth/eks-gw/config", Some(r#"{"kubernetes_ca_cert":"x"}"#), Exactly),
    (
        "POST",
        "auth/eks-gw/config",
        Some(
            r#"{"kubernetes_host":"https://h.example","kubernetes_ca_cert":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","issuer":"https://oidc.example/id/A1","disable_local_ca_jwt":true}"#,
        ),
        Exactly,
    ),
    ("GET", "auth/eks-gw/config", None, Exactly),
    ("GET", "auth/eks-gw/role/eso", None, Exactly),
    (
        "POST",
        "auth/eks-gw/role/eso",
        Some(
            r#"{"bound_service_account_names":["eso"],"bound_service_account_namespaces":["external-secrets"],"token_policies":["gw-read"],"audience":"vault","token_ttl":3600}"#,
        ),
        Exactly,
    ),
    ("GET", "auth/eks-gw/role/eso", None, Exactly),
    ("POST", "auth/eks-gw/role/loose", Some(r#"{"bound_service_account_names":["eso"]}"#), Exactly),
    ("DELETE", "auth/eks-gw/role/eso", None, Exactly),
    ("DELETE", "auth/eks-gw/role/eso", None, Exactly),
    ("GET", "auth/eks-gw/role/eso", None, Exactly),
    ("DELETE", "sys/auth/eks-gw", None, Exactly),
    ("GET", "auth/eks-gw/config", None, Exactly),
    // Unmounting drops the data.
    ("DELETE", "sys/mounts/gw-kv", None, Exactly),
    ("DELETE", "sys/mounts/gw-kv", None, Exactly),
    ("GET", "gw-kv/data/team/app", None, Exactly),
];

fn answer(status: u16, body: &str) -> (u16, Value) {
    (status, if body.trim().is_empty() { Value::Null } else { normalized(serde_json::from_str(body).expect(body)) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulated_vault_answers_as_a_real_openbao_server_does() {
    let bao = OpenBao::start();
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let emulated = format!("{}{}", sandbox.endpoint(), trustform_sandbox::vault::PREFIX);
    let mut differences = Vec::new();
    for &(method, path, body, compare) in STEPS {
        let (real_status, real_body) = vault_http(bao.address(), bao.root_token(), method, path, body);
        let (ours_status, ours_body) = tokio::task::spawn_blocking({
            let emulated = emulated.clone();
            move || vault_http(&emulated, "sandbox-token", method, path, body)
        })
        .await
        .unwrap();
        let real = answer(real_status, &real_body);
        let ours = answer(ours_status, &ours_body);
        let same = match compare {
            Exactly => real == ours,
            Status => real.0 == ours.0,
        };
        if !same {
            differences
                .push(format!("{method} {path}\n  openbao: {} {}\n  sandbox: {} {}", real.0, real.1, ours.0, ours.1));
        }
    }
    assert!(differences.is_empty(), "the sandbox answered differently:\n{}", differences.join("\n"));
}

#[tokio::test]
async fn the_emulated_vault_needs_a_token_like_any_vault() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let emulated = format!("{}{}", sandbox.endpoint(), trustform_sandbox::vault::PREFIX);
    let (status, body) =
        tokio::task::spawn_blocking(move || vault_http(&emulated, "", "GET", "sys/mounts/secret", None)).await.unwrap();
    assert_eq!((status, body.trim()), (403, r#"{"errors":["permission denied"]}"#));
}
