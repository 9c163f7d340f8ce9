//! End-to-end tests of the `vault` and `random` providers through the binary, against a real
//! OpenBao dev server on loopback (`bao server -dev`): the spec applies, re-plans to nothing,
//! plans a secret changed directly in OpenBao as an update and repairs it, and destroys to
//! nothing; the generated master key is found in OpenBao and the state only, never in what the
//! binary prints (at TRACE level), the env file or a saved plan. The binary finds the server
//! the way a user points the Terraform vault provider at one: VAULT_ADDR and VAULT_TOKEN.

mod support;

use support::clouds::{Clouds, CLUSTER, ISSUER};
use support::{Run, Workdir};
use trustform_sandbox::SandboxConfig;
use trustform_test_provider::bad_endpoint::{BadAnswer, BadEndpoint};
use trustform_test_provider::openbao::OpenBao;

const STATE: &str = "state/default.tfstate";
const PASSPHRASE: &str = "vault e2e state passphrase 81c3";

/// Runs the binary against `bao` at TRACE level, with a home of the workdir's own (so no
/// `~/.vault-token` of the machine's is read).
fn run(bao: &OpenBao, work: &Workdir, args: &[&str], code: i32) -> Run {
    run_against(bao.address(), bao.root_token(), work, args, code)
}

fn run_against(address: &str, token: &str, work: &Workdir, args: &[&str], code: i32) -> Run {
    run_with(&[("VAULT_ADDR", address.to_owned()), ("VAULT_TOKEN", token.to_owned())], work, args, code)
}

/// Runs the binary with `env` added to the test's own: TRACE logs, a state passphrase, and a
/// home of the workdir's.
fn run_with(env: &[(&str, String)], work: &Workdir, args: &[&str], code: i32) -> Run {
    let home = work.path().join(".home");
    std::fs::create_dir_all(&home).unwrap();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let home = home.to_string_lossy().into_owned();
    all.extend([("HOME", home.as_str()), ("TRUSTFORM_LOG", "trace"), ("TRUSTFORM_STATE_PASSPHRASE", PASSPHRASE)]);
    let run = work.run_with_env(args, &all);
    assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
    run
}

/// OpenBao's HTTP API, spoken directly with the root token: the test's own view of the server.
fn http(bao: &OpenBao, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let (status, body) = bao.http(method, path, body);
    (status, serde_json::from_str(&body).unwrap_or_default())
}

/// The master key as OpenBao holds it.
fn master_key(bao: &OpenBao) -> String {
    let (status, body) = http(bao, "GET", "litellm/data/gateway", None);
    assert_eq!(status, 200, "{body}");
    body["data"]["data"]["master_key"].as_str().expect("the secret has a master key").to_owned()
}

fn holds(work: &Workdir, name: &str, needle: &str) -> bool {
    let bytes = std::fs::read(work.file(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    bytes.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// Neither the generated key nor the token shows in anything the binary printed.
fn assert_quiet(runs: &[Run], canary: &str, bao: &OpenBao) {
    assert!(runs.iter().any(|run| run.stderr.contains("TRACE")), "the runs logged at TRACE level");
    for run in runs {
        assert!(!run.all().contains(canary), "the generated secret was printed:\n{}", run.all());
        assert!(!run.all().contains(bao.root_token()), "the Vault token was printed:\n{}", run.all());
    }
}

#[test]
fn the_vault_spec_applies_on_openbao_converges_repairs_drift_and_destroys_to_nothing() {
    let bao = OpenBao::start();
    let work = Workdir::fixture("vault-openbao");
    let mut printed = Vec::new();

    let apply = run(&bao, &work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    printed.push(apply);
    let canary = master_key(&bao);
    assert!(canary.starts_with("sk-") && canary.len() == 3 + 48, "{canary}");
    assert!(canary[3..].chars().all(|c| c.is_ascii_alphanumeric()), "special = false: {canary}");
    assert!(holds(&work, STATE, &canary), "the generated key is kept in the state");
    let env = work.read("deployment_outputs.env");
    assert!(
        env.contains("vault_kv_path=litellm/data/gateway\n") && env.contains("vault_role=external-secrets\n"),
        "{env}"
    );
    assert!(!env.contains(&canary[3..]), "{env}");

    let (_, policy) = http(&bao, "GET", "sys/policies/acl/litellm-eso-read", None);
    assert!(
        policy["data"]["policy"].as_str().unwrap_or_default().contains("path \"litellm/data/gateway\""),
        "{policy}"
    );
    let (_, role) = http(&bao, "GET", "auth/eks-litellm/role/external-secrets", None);
    assert_eq!(role["data"]["bound_service_account_names"], serde_json::json!(["external-secrets"]), "{role}");
    assert_eq!(role["data"]["token_policies"], serde_json::json!(["litellm-eso-read"]), "{role}");
    let (_, config) = http(&bao, "GET", "auth/eks-litellm/config", None);
    assert_eq!(config["data"]["issuer"], "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789", "{config}");

    let plan = run(&bao, &work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    printed.push(plan);

    // Someone edits the secret in Vault's UI.
    let (status, body) =
        http(&bao, "POST", "litellm/data/gateway", Some(r#"{"data":{"master_key":"sk-edited-by-hand-7f3a"}}"#));
    assert_eq!(status, 200, "{body}");
    let drift = run(&bao, &work, &["plan", "--detailed-exitcode"], 2);
    assert!(drift.stdout.contains("vault_kv_secret_v2.gateway will be updated in-place"), "{}", drift.stdout);
    assert!(drift.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", drift.stdout);
    assert!(!drift.all().contains("sk-edited-by-hand-7f3a"), "the drifted secret was printed:\n{}", drift.all());
    printed.push(drift);
    let repair = run(&bao, &work, &["apply", "--auto-approve"], 0);
    assert!(repair.stdout.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{}", repair.stdout);
    printed.push(repair);
    assert_eq!(master_key(&bao), canary, "the spec's value is back");
    printed.push(run(&bao, &work, &["plan", "--detailed-exitcode"], 0));
    for args in [&["show"][..], &["output"], &["state", "list"]] {
        printed.push(run(&bao, &work, args, 0));
    }

    // The hand-off to the cluster: External Secrets logs in by Kubernetes auth, no token.
    let rendered = run(
        &bao,
        &work,
        &[
            "render",
            "--external-secrets",
            "--namespace",
            "litellm",
            "--vault-server",
            "https://vault.internal:8200",
            "-o",
            "external-secrets.yaml",
        ],
        0,
    );
    printed.push(rendered);
    let manifests = work.read("external-secrets.yaml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&manifests).expect("the manifests are YAML");
    assert_eq!(docs.len(), 2, "{manifests}");
    let vault = &docs[0]["spec"]["provider"]["vault"];
    assert_eq!(vault["server"].as_str(), Some("https://vault.internal:8200"), "{manifests}");
    assert_eq!(vault["path"].as_str(), Some("litellm"), "{manifests}");
    assert_eq!(vault["auth"]["kubernetes"]["mountPath"].as_str(), Some("eks-litellm"), "{manifests}");
    assert_eq!(vault["auth"]["kubernetes"]["role"].as_str(), Some("external-secrets"), "{manifests}");
    assert_eq!(docs[1]["kind"].as_str(), Some("ExternalSecret"), "{manifests}");
    assert_eq!(docs[1]["spec"]["dataFrom"][0]["extract"]["key"].as_str(), Some("gateway"), "{manifests}");
    assert!(!manifests.contains(&canary[3..]) && !manifests.contains(bao.root_token()), "{manifests}");
    assert!(!manifests.to_ascii_lowercase().contains("token"), "no token, nor a reference to one: {manifests}");

    let destroy = run(&bao, &work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 7 destroyed."), "{}", destroy.stdout);
    printed.push(destroy);
    let (status, body) = http(&bao, "GET", "sys/mounts/litellm", None);
    assert_eq!(status, 400, "the mount is gone: {body}");
    assert_eq!(http(&bao, "GET", "sys/policies/acl/litellm-eso-read", None).0, 404, "the policy is gone");
    assert_eq!(http(&bao, "GET", "sys/auth/eks-litellm", None).0, 400, "the auth method is gone");
    assert_quiet(&printed, &canary, &bao);
}

const ENCRYPTION: &str = r#"
variable "state_passphrase" {
  sensitive = true
  default   = null
}
trustform {
  encryption {
    key_provider "pbkdf2" "main" { iterations = 200000 }
    method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
    state {
      method   = method.aes_gcm.main
      enforced = true
    }
    plan {
      method   = method.aes_gcm.main
      enforced = true
    }
  }
}
"#;

#[test]
fn a_generated_secret_is_only_in_openbao_and_the_encrypted_state() {
    let bao = OpenBao::start();
    let work = Workdir::fixture("vault-openbao").with_file("encryption.tf", ENCRYPTION);
    let mut printed = vec![run(&bao, &work, &["plan", "--out", "create.plan"], 0)];
    // With the HTTP clients' own logs switched on too: they see the token header marked
    // sensitive and never a body.
    let env = [
        ("VAULT_ADDR", bao.address().to_owned()),
        ("VAULT_TOKEN", bao.root_token().to_owned()),
        ("TRUSTFORM_LOG_SDK_BODIES", "1".to_owned()),
    ];
    printed.push(run_with(&env, &work, &["apply", "create.plan"], 0));
    assert!(
        printed[1].stderr.contains("hyper_util::") || printed[1].stderr.contains("reqwest::"),
        "the clients logged"
    );
    let canary = master_key(&bao);

    // A drift plan holds the spec's value as what it will write: the file must not show it.
    http(&bao, "POST", "litellm/data/gateway", Some(r#"{"data":{"master_key":"sk-edited"}}"#));
    printed.push(run(&bao, &work, &["plan", "--out", "repair.plan", "--detailed-exitcode"], 2));
    printed.push(run(&bao, &work, &["show", "repair.plan"], 0));
    printed.push(run(&bao, &work, &["apply", "repair.plan"], 0));
    assert_eq!(master_key(&bao), canary);
    for file in [STATE, "create.plan", "repair.plan", "deployment_outputs.env"] {
        assert!(!holds(&work, file, &canary[3..]), "{file} holds the generated secret");
    }
    assert_quiet(&printed, &canary, &bao);
    let pulled = run(&bao, &work, &["state", "pull"], 0);
    assert!(pulled.stdout.contains(&canary), "the encrypted state holds the secret");
}

/// An endpoint that is not Vault: it counts requests and answers an HTML page.
fn not_vault() -> BadEndpoint {
    BadEndpoint::start(BadAnswer::Garbage { content_type: "text/html", body: b"<html>proxy login</html>".to_vec() })
}

/// Under `--sandbox` a Vault spec runs against the sandbox's emulated Vault (checked against a
/// real OpenBao in the sandbox crate's tests): the user's VAULT_ADDR and VAULT_TOKEN, which may
/// name a production server, are never used.
#[test]
fn the_sandbox_runs_vault_specs_on_its_emulated_vault_and_never_calls_vault_addr() {
    let endpoint = not_vault();
    let work = Workdir::fixture("vault-openbao");
    let mut printed = Vec::new();
    let applied =
        run_against(endpoint.endpoint(), "s.sandbox-canary", &work, &["--sandbox", "apply", "--auto-approve"], 0);
    assert!(
        applied.stdout.contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."),
        "{}",
        applied.all()
    );
    assert!(applied.stderr.contains("Vault on http://127.0.0.1:"), "{}", applied.stderr);
    printed.push(applied);
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    assert!(env.contains("vault_kv_path=litellm/data/gateway\n"), "{env}");
    let replanned =
        run_against(endpoint.endpoint(), "s.sandbox-canary", &work, &["--sandbox", "plan", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
    printed.push(replanned);
    let destroyed =
        run_against(endpoint.endpoint(), "s.sandbox-canary", &work, &["--sandbox", "destroy", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 7 destroyed."), "{}", destroyed.all());
    printed.push(destroyed);
    assert_eq!(endpoint.requests(), 0, "no request left for VAULT_ADDR");
    for run in &printed {
        assert!(!run.all().contains("s.sandbox-canary"), "{}", run.all());
    }
}

#[test]
fn an_answer_that_is_not_vaults_is_an_error_naming_the_fix_not_a_crash() {
    let endpoint = not_vault();
    let work = Workdir::fixture("vault-openbao");
    let failed = run_against(endpoint.endpoint(), "s.garbage-canary", &work, &["apply", "--auto-approve"], 1);
    assert!(failed.stderr.contains("UndecodableResponse"), "{}", failed.stderr);
    assert!(failed.stderr.contains("check that the endpoint is the cloud's API"), "{}", failed.stderr);
    assert!(!failed.all().contains("s.garbage-canary"), "{}", failed.all());
    assert!(!failed.all().contains("panicked"), "{}", failed.all());
}

/// A cluster CA for the tests: the one every emulated EKS cluster answers.
const CA: &str = trustform_sandbox::world::CLUSTER_CA_PEM;

/// The Kubernetes auth method of the EKS cluster the sandbox emulates, trusting `issuer`.
fn kubernetes_auth(issuer: &str) -> String {
    format!(
        r#"
data "aws_eks_cluster" "litellm" {{
  name = "{CLUSTER}"
}}

resource "vault_auth_backend" "kubernetes" {{
  type = "kubernetes"
}}

resource "vault_kubernetes_auth_backend_config" "eks" {{
  backend              = vault_auth_backend.kubernetes.path
  kubernetes_host      = data.aws_eks_cluster.litellm.endpoint
  kubernetes_ca_cert   = <<-EOT
{CA}  EOT
  disable_local_ca_jwt = true
  issuer               = {issuer}
}}
"#
    )
}

#[test]
fn the_kubernetes_auth_method_must_trust_its_clusters_issuer() {
    let bao = OpenBao::start();
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let mut env = clouds.env();
    env.extend([("VAULT_ADDR", bao.address().to_owned()), ("VAULT_TOKEN", bao.root_token().to_owned())]);

    let other = "https://oidc.eks.us-east-1.amazonaws.com/id/0THERC1USTER";
    let wrong = Workdir::new().with_file("main.tf", &kubernetes_auth(&format!("{other:?}")));
    let refused = run_with(&env, &wrong, &["plan"], 1);
    assert!(refused.stderr.contains("TF1317"), "{}", refused.stderr);
    assert!(refused.stderr.contains(ISSUER), "names the cluster's issuer: {}", refused.stderr);
    assert!(refused.stderr.contains("data.aws_eks_cluster.litellm.identity[0].oidc[0].issuer"), "{}", refused.stderr);

    let right = Workdir::new()
        .with_file("main.tf", &kubernetes_auth("data.aws_eks_cluster.litellm.identity[0].oidc[0].issuer"));
    let applied = run_with(&env, &right, &["apply", "--auto-approve"], 0);
    assert!(!applied.stderr.contains("TF1317"), "{}", applied.stderr);
    let (_, config) = http(&bao, "GET", "auth/kubernetes/config", None);
    assert_eq!(config["data"]["issuer"], ISSUER, "{config}");
}

#[test]
fn the_vault_handoff_plan_trusts_the_clusters_issuer_and_ca_and_hands_out_only_paths() {
    let bao = OpenBao::start();
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let mut env = clouds.env();
    env.extend([("VAULT_ADDR", bao.address().to_owned()), ("VAULT_TOKEN", bao.root_token().to_owned())]);
    let work = Workdir::plan("vault-handoff");
    let mut printed = vec![run_with(&env, &work, &["apply", "--auto-approve"], 0)];
    assert!(printed[0].stdout.contains("Resources: 7 added"), "{}", printed[0].stdout);
    let (_, secret) = http(&bao, "GET", "litellm/data/gateway", None);
    let canary = secret["data"]["data"]["LITELLM_MASTER_KEY"].as_str().expect("the master key").to_owned();

    let (_, config) = http(&bao, "GET", "auth/eks-litellm/config", None);
    assert_eq!(config["data"]["issuer"], ISSUER, "{config}");
    assert_eq!(config["data"]["kubernetes_ca_cert"], trustform_sandbox::world::CLUSTER_CA_PEM, "{config}");
    let env_file = work.read("deployment_outputs.env");
    assert_eq!(
        env_file,
        "LITELLM_MASTER_KEY_VAULT_PATH=litellm/data/gateway\nVAULT_KUBERNETES_AUTH_PATH=eks-litellm\nVAULT_KUBERNETES_ROLE=external-secrets\n"
    );

    printed.push(run_with(&env, &work, &["plan", "--detailed-exitcode"], 0));
    printed.push(run_with(
        &env,
        &work,
        &["render", "--external-secrets", "--namespace", "litellm", "--vault-server", "https://vault.internal:8200"],
        0,
    ));
    let manifests = &printed.last().expect("the render ran").stdout;
    assert!(
        manifests.contains("kind: ClusterSecretStore") && manifests.contains("kind: ExternalSecret"),
        "{manifests}"
    );
    assert!(manifests.contains("mountPath: \"eks-litellm\""), "{manifests}");
    printed.push(run_with(&env, &work, &["destroy", "--auto-approve"], 0));
    assert_eq!(http(&bao, "GET", "sys/auth/eks-litellm", None).0, 400, "the auth method is gone");
    assert_quiet(&printed, &canary, &bao);
}
