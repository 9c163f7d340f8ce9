//! `trustform verify --sandbox` through the binary: after applying each shipped plan every
//! trust chain works and refuses the workloads it must; and on a copy of a plan with one of the
//! seeds' troubleshooting mistakes introduced (each a case of `fixtures/verify-mistakes/`:
//! the plan, one text replacement, the code expected) it names the failing link with that code.
//! The mistaken copies are applied with `--checks-as-warnings`, since lint would stop most of
//! them first: verify is the second line, what the clouds really answer.

mod support;

use std::path::Path;
use support::Workdir;

const PLANS: [&str; 4] = ["aws-to-vertex", "ci-oidc-bedrock", "azure-openai-invoke-only", "litellm-keyless"];

/// What the human output shows, without the sandbox's port line.
fn shown(run: &support::Run) -> String {
    let stderr: Vec<&str> = run.stderr.lines().filter(|line| !line.starts_with("Sandbox: ")).collect();
    format!("{}\n--- stderr ---\n{}", run.stdout, stderr.join("\n"))
}

fn error_codes(json: &serde_json::Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["severity"] == "error")
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect()
}

/// What no output of verify may hold: a minted workload token (a JWT), a session token, a
/// federated or impersonated access token.
fn assert_no_token(text: &str) {
    for secret in ["eyJ", "TFSANDBOXSESSION", "tfsandbox-federated", "tfsandbox-access", "tfsandbox-entra"] {
        assert!(!text.contains(secret), "verify printed a token ({secret}):\n{text}");
    }
}

#[test]
fn every_chain_of_every_shipped_plan_works_after_apply() {
    for plan in PLANS {
        let work = Workdir::plan(plan);
        work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
        let journal = work.read(".trustform/sandbox/journal.jsonl");
        assert!(!journal.is_empty(), "{plan}: the apply journaled nothing");
        let verified = work.expect(&["verify", "--sandbox"], 0);
        assert_no_token(&verified.all());
        insta::assert_snapshot!(format!("shipped_{plan}"), shown(&verified));
        // Exchanges change nothing: the emulated cloud's journal of changes did not grow.
        assert_eq!(work.read(".trustform/sandbox/journal.jsonl"), journal, "{plan}: verify wrote to the cloud");
        let json: serde_json::Value =
            serde_json::from_str(&work.expect(&["verify", "--sandbox", "--json"], 0).stdout).expect("JSON");
        assert_eq!(json["error_count"], 0, "{plan}: {json:#}");
        let chains = json["chains"].as_array().expect("chains");
        assert!(!chains.is_empty(), "{plan}: no chain found");
        assert_no_token(&json.to_string());
        for chain in chains {
            assert_eq!(chain["works"], true, "{plan}: {chain:#}");
            let steps = chain["steps"].as_array().unwrap();
            assert!(
                steps.iter().any(|s| s["step"].as_str().unwrap().starts_with("refused, as it must be")),
                "{plan}: the chain tried no workload it must refuse: {chain:#}"
            );
        }
    }
}

/// The Azure plan with an Entra ID application instead of a managed identity: the assertion is
/// matched against the application's federated credentials (by its app id).
#[test]
fn the_azure_plans_application_variant_federates_too() {
    let work = Workdir::plan("azure-openai-invoke-only");
    work.expect(&["apply", "--sandbox", "--auto-approve", "--var", "identity_kind=application"], 0);
    let verified = work.expect(&["verify", "--sandbox"], 0);
    assert_no_token(&verified.all());
    assert!(verified.stdout.contains("✔ https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE token → azuread_application_federated_identity_credential.gateway_eks[0]"), "{}", verified.stdout);
    assert!(verified.stdout.contains("refused, as it must be: another namespace (system:serviceaccount:trustform-verify-other:litellm: AADSTS700213)"), "{}", verified.stdout);
}

/// One mistake: `plan`, the `file` where `replace` becomes `with` (`\n` a new line), the code
/// `expect`ed.
struct Case {
    name: String,
    plan: String,
    file: String,
    replace: String,
    with: String,
    expect: String,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verify-mistakes");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the cases directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "case"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let field = |name: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                    .unwrap_or_else(|| panic!("{}: no {name}:", path.display()))
                    .replace("\\n", "\n")
            };
            Case {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                plan: field("plan"),
                file: field("file"),
                replace: field("replace"),
                with: field("with"),
                expect: field("expect"),
            }
        })
        .collect()
}

#[test]
fn each_seed_mistake_is_named_at_its_link_with_its_code() {
    let cases = cases();
    assert!(cases.len() >= 10, "the mistakes directory lost its cases");
    for case in cases {
        let work = Workdir::plan(&case.plan);
        let original = work.read(&case.file);
        assert!(original.contains(&case.replace), "{}: {} does not contain {:?}", case.name, case.file, case.replace);
        work.write(&case.file, &original.replace(&case.replace, &case.with));
        work.expect(&["apply", "--sandbox", "--checks-as-warnings", "--auto-approve"], 0);
        let verified = work.expect(&["verify", "--sandbox"], 1);
        assert_no_token(&verified.all());
        insta::assert_snapshot!(format!("mistake_{}", case.name), shown(&verified));
        let json: serde_json::Value =
            serde_json::from_str(&work.expect(&["verify", "--sandbox", "--json"], 1).stdout).expect("JSON");
        let codes = error_codes(&json);
        assert!(codes.contains(&case.expect), "{}: expected {}, verify reported {codes:?}", case.name, case.expect);
        let finding =
            json["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == case.expect.as_str()).unwrap();
        assert!(
            finding["file"].is_string() && finding["line"].is_number(),
            "{}: the finding has no place: {finding:#}",
            case.name
        );
        assert!(json["chains"].as_array().unwrap().iter().any(|c| c["works"] == false), "{}: {json:#}", case.name);
    }
}

/// A spec of its own, with names no shipped plan uses: a GitHub repository federated into a
/// Google pool through an OIDC provider (chain d), granted by repository attribute, with a
/// condition: the repository gets in, another repository does not. Then the same without the
/// condition and with a second, pool-wide grant: another repository gets in, a finding.
#[test]
fn an_oidc_pool_provider_admits_its_repository_and_refuses_others() {
    let spec = |condition: &str, pool_wide: bool| {
        let base = "principalSet://iam.googleapis.com/projects/${data.google_project.this.number}/locations/global/workloadIdentityPools/${google_iam_workload_identity_pool.ci.workload_identity_pool_id}";
        let wide = if pool_wide {
            format!(
                r#"
resource "google_service_account_iam_member" "everyone" {{
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "{base}/*"
}}
"#
            )
        } else {
            String::new()
        };
        format!(
            r#"
provider "google" {{
  project = "acme-ml-prod"
}}

data "google_project" "this" {{
  project_id = "acme-ml-prod"
}}

resource "google_service_account" "ci" {{
  project    = "acme-ml-prod"
  account_id = "acme-ci-deployer"
}}

resource "google_iam_workload_identity_pool" "ci" {{
  project                   = "acme-ml-prod"
  workload_identity_pool_id = "acme-ci"
}}

resource "google_iam_workload_identity_pool_provider" "github" {{
  project                            = "acme-ml-prod"
  workload_identity_pool_id          = google_iam_workload_identity_pool.ci.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  attribute_mapping = {{
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
  }}
  {condition}
  oidc {{
    issuer_uri = "https://token.actions.githubusercontent.com"
  }}
}}

resource "google_service_account_iam_member" "ci" {{
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "{base}/attribute.repository/acme/models"
}}
{wide}"#
        )
    };
    let good = Workdir::new()
        .with_file("main.tf", &spec(r#"attribute_condition = "assertion.repository == 'acme/models'""#, false));
    good.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    let verified = good.expect(&["verify", "--sandbox"], 0);
    assert!(
        verified.stdout.contains("exchanged, and impersonated acme-ci-deployer@acme-ml-prod.iam.gserviceaccount.com"),
        "{}",
        verified.stdout
    );
    assert!(
        verified.stdout.contains("refused, as it must be: a token with repository=trustform-verify-other-acme/models"),
        "{}",
        verified.stdout
    );

    let open = Workdir::new().with_file("main.tf", &spec("", true));
    open.expect(&["apply", "--sandbox", "--checks-as-warnings", "--auto-approve"], 0);
    let verified = open.expect(&["verify", "--sandbox", "--json"], 1);
    let json: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(error_codes(&json), vec!["TF1321".to_owned()], "{json:#}");
}

/// Without `--sandbox`, verify is a client of whatever clouds the environment names (here an
/// emulator, through the endpoint variables a user would set): the AWS -> Google chain is
/// exercised with the environment's own AWS identity, read-only, and the chains whose workload
/// tokens it cannot mint are reported as not exercised.
#[test]
fn against_the_environments_clouds_the_aws_to_google_chain_runs_with_its_own_identity() {
    use support::clouds::{Clouds, ACCOUNT};
    let clouds = Clouds::sandbox_only(trustform_sandbox::SandboxConfig::default());
    let spec = |granted: &str| {
        format!(
            r#"
provider "aws" {{
  region = "us-east-1"
}}

provider "google" {{
  project = "litellm-prod"
}}

data "google_project" "this" {{
  project_id = "litellm-prod"
}}

resource "google_service_account" "batch" {{
  project    = "litellm-prod"
  account_id = "nightly-batch"
}}

resource "google_iam_workload_identity_pool" "ops" {{
  project                   = "litellm-prod"
  workload_identity_pool_id = "ops-aws"
}}

resource "google_iam_workload_identity_pool_provider" "ops" {{
  project                            = "litellm-prod"
  workload_identity_pool_id          = google_iam_workload_identity_pool.ops.workload_identity_pool_id
  workload_identity_pool_provider_id = "ops-account"
  attribute_condition                = "attribute.aws_role == '{granted}'"
  aws {{
    account_id = "{ACCOUNT}"
  }}
}}

resource "google_service_account_iam_member" "batch" {{
  service_account_id = google_service_account.batch.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/${{data.google_project.this.number}}/locations/global/workloadIdentityPools/${{google_iam_workload_identity_pool.ops.workload_identity_pool_id}}/attribute.aws_role/{granted}"
}}

resource "aws_iam_openid_connect_provider" "gitlab" {{
  url            = "https://gitlab.example.com"
  client_id_list = ["https://gitlab.example.com"]
}}

resource "aws_iam_role" "deployer" {{
  name = "gitlab-deployer"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Federated = aws_iam_openid_connect_provider.gitlab.arn }}
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {{ StringEquals = {{ "gitlab.example.com:sub" = "project_path:ops/deploy:ref_type:branch:ref:main" }} }}
    }}]
  }})
}}
"#
        )
    };
    let env_of = |clouds: &Clouds| {
        let mut env = clouds.env();
        env.push(("GOOGLE_STS_CUSTOM_ENDPOINT", format!("{}/v1/", clouds.sandbox.endpoint())));
        env.push(("GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT", format!("{}/v1/", clouds.sandbox.endpoint())));
        env
    };
    let owned = env_of(&clouds);
    let env: Vec<(&str, &str)> = owned.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let me = format!("arn:aws:iam::{ACCOUNT}:user/sandbox");

    let work = Workdir::new().with_file("main.tf", &spec(&me));
    let applied = work.run_with_env(&["apply", "--auto-approve"], &env);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let verified = work.run_with_env(&["verify"], &env);
    assert_eq!(verified.code, 0, "{}", verified.all());
    assert!(
        verified.stdout.contains("with the environment's credentials (read-only exchanges)"),
        "{}",
        verified.stdout
    );
    assert!(verified.stdout.contains(&format!("✔ environment identity {me}")), "{}", verified.stdout);
    assert!(
        verified.stdout.contains("✔ generateAccessToken for nightly-batch@litellm-prod.iam.gserviceaccount.com"),
        "{}",
        verified.stdout
    );
    assert!(
        verified.stderr.contains("TF1342") && verified.stderr.contains("aws_iam_role.deployer"),
        "{}",
        verified.stderr
    );

    // The same deployment, in another cloud, granted to another role: the environment's identity
    // is refused at the condition, and verify says so at the provider.
    let clouds = Clouds::sandbox_only(trustform_sandbox::SandboxConfig::default());
    let owned = env_of(&clouds);
    let env: Vec<(&str, &str)> = owned.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let other =
        Workdir::new().with_file("main.tf", &spec(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/nightly-batch")));
    let applied = other.run_with_env(&["apply", "--auto-approve"], &env);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let verified = other.run_with_env(&["verify", "--json"], &env);
    assert_eq!(verified.code, 1, "{}", verified.all());
    let json: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(error_codes(&json), vec!["TF1347".to_owned()], "{json:#}");
}

/// The sandbox's Google exchanges answer the requests of Google's own client library: Python's
/// google-auth, given the credential file `google_credential_config` wrote (its URLs pointed at
/// the emulator) and the pod's session from EKS Pod Identity in the environment, signs
/// `GetCallerIdentity` itself, exchanges it at `token_url` and impersonates the service account
/// at `service_account_impersonation_url`, as the gateway would.
#[test]
fn google_auth_exchanges_a_pods_session_for_the_service_accounts_token() {
    use support::clouds::{Clouds, ISSUER};
    let clouds = Clouds::sandbox_only(trustform_sandbox::SandboxConfig::default());
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    clouds.run(&work, &["apply", "--auto-approve"], 0);

    let pod = |namespace: &str| {
        let token = trustform_sandbox::federation::mint_token(&serde_json::json!({
            "iss": ISSUER,
            "sub": format!("system:serviceaccount:{namespace}:litellm"),
            "aud": ["pods.eks.amazonaws.com"],
        }));
        clouds.http(
            "POST",
            "/clusters/litellm/assume-role-for-pod-identity",
            &serde_json::json!({ "token": token }).to_string(),
        )
    };
    let (status, session) = pod("litellm");
    assert_eq!(status, 200, "{session:#}");
    assert_eq!(
        session["assumedRoleUser"]["arn"].as_str().unwrap(),
        "arn:aws:sts::123456789012:assumed-role/LitellmVertexPodRole/eks-litellm-litellm"
    );
    let (status, refused) = pod("default");
    assert_eq!(
        (status, refused["message"].as_str().unwrap_or_default().contains("No Pod Identity association")),
        (400, true),
        "{refused:#}"
    );

    let endpoint = clouds.sandbox.endpoint();
    let mut config: serde_json::Value = serde_json::from_str(&work.read("gcp_aws_external_account.json")).unwrap();
    config["token_url"] = serde_json::json!(format!("{endpoint}/v1/token"));
    let impersonation = config["service_account_impersonation_url"]
        .as_str()
        .unwrap()
        .replace("https://iamcredentials.googleapis.com", &endpoint);
    config["service_account_impersonation_url"] = serde_json::json!(impersonation);
    work.write("pointed.json", &config.to_string());
    // `aws.Credentials` directly: `load_credentials_from_file` would also look the project up
    // at cloudresourcemanager.googleapis.com.
    let script = "import sys, json, google.auth.aws, google.auth.transport.requests\n\
                  info = json.load(open(sys.argv[1]))\n\
                  creds = google.auth.aws.Credentials.from_info(info, scopes=['https://www.googleapis.com/auth/cloud-platform'])\n\
                  creds.refresh(google.auth.transport.requests.Request())\n\
                  print(creds.token.split('.')[0])";
    let credentials = &session["credentials"];
    let output = std::process::Command::new(trustform_test_provider::python::python())
        .args(["-c", script])
        .arg(work.file("pointed.json"))
        .env("AWS_ACCESS_KEY_ID", credentials["accessKeyId"].as_str().unwrap())
        .env("AWS_SECRET_ACCESS_KEY", credentials["secretAccessKey"].as_str().unwrap())
        .env("AWS_SESSION_TOKEN", credentials["sessionToken"].as_str().unwrap())
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("the tests' python runs");
    assert!(output.status.success(), "google-auth failed:\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "tfsandbox-access");
}

/// Under `--sandbox`, an AWS pool provider whose workload is no pod of the spec (an EC2 instance
/// profile's role, say) cannot be exercised: verify says so, and fails nothing.
#[test]
fn an_aws_pool_without_a_pod_in_the_spec_is_reported_not_exercised() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
provider "google" {
  project = "litellm-prod"
}

resource "google_iam_workload_identity_pool" "batch" {
  project                   = "litellm-prod"
  workload_identity_pool_id = "batch-aws"
}

resource "google_iam_workload_identity_pool_provider" "batch" {
  project                            = "litellm-prod"
  workload_identity_pool_id          = google_iam_workload_identity_pool.batch.workload_identity_pool_id
  workload_identity_pool_provider_id = "batch-account"
  attribute_condition                = "attribute.aws_role == 'arn:aws:sts::123456789012:assumed-role/nightly-ec2'"
  aws {
    account_id = "123456789012"
  }
}
"#,
    );
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    let verified = work.expect(&["verify", "--sandbox"], 0);
    assert!(
        verified.stderr.contains("TF1342")
            && verified.stderr.contains("google_iam_workload_identity_pool_provider.batch"),
        "{}",
        verified.all()
    );
    assert!(verified.stdout.contains("No trust chain could be exercised."), "{}", verified.stdout);
}

/// Verify asks the clouds, not the state: after someone removes the pod identity association
/// (seed 001, "Access denied | Pod identity not configured"), with the emulated cloud shared
/// through `sandbox serve`, the pod's link is the one named.
#[test]
fn a_pod_identity_association_removed_behind_the_states_back_is_the_failing_link() {
    use std::io::{BufRead, BufReader};
    let work = Workdir::plan("aws-to-vertex");
    let mut serve =
        work.command(&["sandbox", "serve", "--port", "0"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    // The first line names the endpoint once it listens: the synchronisation point.
    let first = lines.next().unwrap().unwrap();
    let endpoint = first.split(" on ").nth(1).unwrap().trim_end_matches('.').to_owned();
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_eks::config::Credentials::new("x", "y", None, None, "test"))
            .endpoint_url(&endpoint)
            .build(),
    );
    let associations = runtime.block_on(eks.list_pod_identity_associations().cluster_name("litellm").send()).unwrap();
    let id = associations.associations()[0].association_id().unwrap().to_owned();
    runtime.block_on(eks.delete_pod_identity_association().cluster_name("litellm").association_id(id).send()).unwrap();

    let verified = work.expect(&["verify", "--sandbox", "--json"], 1);
    let json: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(error_codes(&json), vec!["TF1346".to_owned()], "{json:#}");
    assert_eq!(json["diagnostics"][0]["address"], "aws_eks_pod_identity_association.gateway");

    // SAFETY: kill(2) on the child's pid, which has not been reaped yet.
    unsafe { libc::kill(serve.id() as libc::pid_t, libc::SIGINT) };
    let _: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(serve.wait().unwrap().success());
}

/// An IRSA workload (no Pod Identity association): the AWS -> Google chain takes the session of
/// the web identity role the pool's grant names, with the service account token its trust
/// admits, and goes on to Google.
#[test]
fn an_irsa_role_granted_on_a_pool_carries_the_aws_to_google_chain() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
provider "aws" {
  region = "us-east-1"
}

provider "google" {
  project = "litellm-prod"
}

data "aws_caller_identity" "me" {}

data "aws_eks_cluster" "jobs" {
  name = "litellm"
}

data "google_project" "ml" {
  project_id = "litellm-prod"
}

locals {
  issuer_host = trimprefix(data.aws_eks_cluster.jobs.identity[0].oidc[0].issuer, "https://")
}

resource "aws_iam_openid_connect_provider" "jobs" {
  url            = data.aws_eks_cluster.jobs.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "embedder" {
  name = "nightly-embedder"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.jobs.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.issuer_host}:sub" = "system:serviceaccount:batch:embedder"
          "${local.issuer_host}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}

resource "google_service_account" "embedder" {
  project    = "litellm-prod"
  account_id = "nightly-embedder"
}

resource "google_iam_workload_identity_pool" "batch" {
  project                   = "litellm-prod"
  workload_identity_pool_id = "batch-aws"
}

resource "google_iam_workload_identity_pool_provider" "batch" {
  project                            = "litellm-prod"
  workload_identity_pool_id          = google_iam_workload_identity_pool.batch.workload_identity_pool_id
  workload_identity_pool_provider_id = "batch-account"
  attribute_condition                = "attribute.aws_role == 'arn:aws:sts::${data.aws_caller_identity.me.account_id}:assumed-role/${aws_iam_role.embedder.name}'"
  aws {
    account_id = data.aws_caller_identity.me.account_id
  }
}

resource "google_service_account_iam_member" "embedder" {
  service_account_id = google_service_account.embedder.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/${data.google_project.ml.number}/locations/global/workloadIdentityPools/${google_iam_workload_identity_pool.batch.workload_identity_pool_id}/attribute.aws_role/arn:aws:sts::${data.aws_caller_identity.me.account_id}:assumed-role/${aws_iam_role.embedder.name}"
}
"#,
    );
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    let verified = work.expect(&["verify", "--sandbox"], 0);
    assert_no_token(&verified.all());
    for expected in [
        "✔ aws_iam_role.embedder → google_iam_workload_identity_pool_provider.batch → Google service account",
        "web identity session arn:aws:sts::123456789012:assumed-role/nightly-embedder/trustform-verify",
        "✔ generateAccessToken for nightly-embedder@litellm-prod.iam.gserviceaccount.com",
        "✔ refused, as it must be: the AWS identity arn:aws:iam::123456789012:user/sandbox at Google STS (unauthorized_client)",
        "✔ refused, as it must be: another namespace (system:serviceaccount:trustform-verify-other:embedder: AccessDenied)",
    ] {
        assert!(verified.stdout.contains(expected), "{expected}\n{}", verified.stdout);
    }
}
