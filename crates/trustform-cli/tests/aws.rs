//! End-to-end tests of the `trustform` binary on `examples/aws-pod-identity` (seed 001's EKS Pod
//! Identity role and seed 002's CircleCI -> Bedrock role): IAM and STS on moto, the independent
//! emulator, with EKS on the sandbox; then everything on the sandbox with a fifth of all
//! requests failing. The binary finds the emulators the way a user points Terraform at one:
//! through `AWS_ENDPOINT_URL_<SERVICE>` and static keys in the environment.

mod support;

use support::clouds::{Clouds, Inventory, ACCOUNT};
use support::Workdir;
use trustform_sandbox::SandboxConfig;
use trustform_test_provider::bad_endpoint::{BadAnswer, BadEndpoint};

/// Applies the example, checks what exists and what the outputs say, and returns the
/// association id.
fn apply_and_check(clouds: &Clouds, work: &Workdir) -> String {
    let apply = clouds.run(work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 7 added, 0 changed, 0 destroyed."), "{}", apply.stdout);

    let inventory = clouds.inventory();
    assert_eq!(inventory.roles, ["litellm-gateway", "litellm-github-unit-tests-circleci"]);
    assert_eq!(
        inventory.oidc_providers,
        [format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd")]
    );
    assert_eq!(inventory.associations.len(), 1, "{inventory:?}");

    let env = work.read("deployment_outputs.env");
    assert!(env.contains(&format!("AWS_ACCOUNT_ID={ACCOUNT}\n")), "{env}");
    assert!(env.contains(&format!("EKS_AWS_ROLE_ARN=arn:aws:iam::{ACCOUNT}:role/litellm-gateway\n")), "{env}");
    assert!(
        env.contains(&format!("POD_IDENTITY_ASSOCIATION_ID={}\n", inventory.associations[0])),
        "{env}\n{inventory:?}"
    );
    inventory.associations[0].clone()
}

#[test]
fn the_pod_identity_example_applies_on_moto_converges_detects_drift_and_destroys() {
    let clouds = Clouds::moto_and_sandbox();
    let work = Workdir::example("aws-pod-identity");
    apply_and_check(&clouds, &work);

    // IAM hands policies back URL-encoded and reordered, OIDC URLs without their scheme: none
    // of that may show up as a change.
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // Someone edits the gateway role's trust policy in the console.
    let tampered = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let iam = clouds.iam();
    clouds
        .runtime
        .block_on(iam.update_assume_role_policy().role_name("litellm-gateway").policy_document(tampered).send())
        .expect("UpdateAssumeRolePolicy");
    let drift = clouds.run(&work, &["plan", "--detailed-exitcode"], 2);
    assert!(drift.stdout.contains("aws_iam_role.gateway will be updated in-place"), "{}", drift.stdout);
    assert!(drift.stdout.contains("ec2.amazonaws.com"), "{}", drift.stdout);
    assert!(drift.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", drift.stdout);

    // Apply puts it back in place, with UpdateAssumeRolePolicy rather than a replacement.
    let repair = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(repair.stdout.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{}", repair.stdout);
    clouds.run(&work, &["plan", "--detailed-exitcode"], 0);

    let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 7 destroyed."), "{}", destroy.stdout);
    assert_eq!(clouds.inventory(), Inventory::empty());
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn the_pod_identity_example_converges_with_a_fifth_of_all_requests_failing() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default().fault_rate(0.2).seed(11));
    let work = Workdir::example("aws-pod-identity");
    let association = apply_and_check(&clouds, &work);

    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    // A retried create never made a second object: the one association is still the one the
    // state knows.
    assert_eq!(clouds.inventory().associations, [association]);

    clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert_eq!(clouds.inventory(), Inventory::empty());
    assert!(clouds.sandbox.request_count() > 0);
}

#[test]
fn removing_every_aws_resource_from_the_spec_destroys_them() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let work = Workdir::example("aws-pod-identity");
    apply_and_check(&clouds, &work);

    // The spec no longer names the aws provider at all; its objects live on only in state,
    // and the provider must still be configured to delete them.
    std::fs::remove_file(work.file("main.tf")).expect("remove the spec");
    work.write("main.tf", "resource \"trustform_data\" \"marker\" {\n  input = \"left\"\n}\n");
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 1 added, 0 changed, 7 destroyed."), "{}", apply.stdout);
    assert_eq!(clouds.inventory(), Inventory::empty());
}

/// IAM keeps one OpenID Connect provider per URL per account, and the most common first-apply
/// failure users report is a spec naming an issuer the account already trusts
/// (`EntityAlreadyExists`, <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html>).
/// The apply says so in IAM's words with the command that adopts it, and after that import the
/// spec converges without a second provider.
#[test]
fn an_oidc_provider_that_already_exists_for_the_url_is_named_with_its_import_command() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let url = "https://token.actions.githubusercontent.com";
    let arn = clouds.runtime.block_on(async {
        let created = clouds
            .iam()
            .create_open_id_connect_provider()
            .url(url)
            .client_id_list("sts.amazonaws.com")
            .send()
            .await
            .expect("the account's existing provider");
        created.open_id_connect_provider_arn().expect("an ARN").to_owned()
    });
    let spec = format!(
        "resource \"aws_iam_openid_connect_provider\" \"ci\" {{\n  url            = \"{url}\"\n  client_id_list = [\"sts.amazonaws.com\"]\n}}\n"
    );
    let work = Workdir::new().with_file("main.tf", &spec);

    let refused = clouds.run(&work, &["apply", "--auto-approve"], 1);
    let said = refused.all();
    assert!(said.contains("EntityAlreadyExists"), "{said}");
    assert!(said.contains("trustform import"), "no import command:\n{said}");
    assert!(!said.contains("Error {"), "an SDK debug dump reached the user:\n{said}");

    let env = clouds.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let imported = work.run_with_env(&["import", "aws_iam_openid_connect_provider.ci", &arn], &env);
    assert_eq!(imported.code, 0, "{}", imported.all());
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let providers = clouds
        .runtime
        .block_on(async { clouds.iam().list_open_id_connect_providers().send().await.expect("list providers") });
    assert_eq!(providers.open_id_connect_provider_list().len(), 1, "a second provider was made");
}

/// Applies one new role with IAM at `iam` (the rest of the clouds in the sandbox).
fn apply_a_role_against(iam: &BadEndpoint) -> support::Run {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let work = Workdir::new().with_file(
        "main.tf",
        "resource \"aws_iam_role\" \"r\" {\n  name               = \"decode-check\"\n  assume_role_policy = jsonencode({ Version = \"2012-10-17\", Statement = [] })\n}\n",
    );
    let mut env = clouds.env();
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_IAM");
    env.push(("AWS_ENDPOINT_URL_IAM", iam.endpoint().to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    work.run_with_env(&["apply", "--auto-approve"], &env)
}

/// An endpoint that answers something IAM never would (a proxy's HTML page) is not a passing
/// fault: the apply fails at once, naming the API method, instead of retrying for two minutes.
#[test]
fn an_answer_that_cannot_be_decoded_fails_the_apply_at_once_naming_the_method() {
    let proxy = BadEndpoint::start(BadAnswer::Garbage {
        content_type: "text/html",
        body: b"<html><body>Welcome to nginx!</body></html>".to_vec(),
    });
    let run = apply_a_role_against(&proxy);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.all().contains("iam:CreateRole"), "the method is not named:\n{}", run.all());
    assert!(proxy.requests() <= 2, "{} requests: the answer was retried", proxy.requests());
}

/// An error whose message is megabytes long is reported in IAM's words, clipped: the terminal
/// gets the code and the start of the message, not the whole body.
#[test]
fn an_error_body_of_megabytes_is_not_echoed_whole() {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{}</Message></Error></ErrorResponse>",
        "x".repeat(4 << 20)
    );
    let endpoint =
        BadEndpoint::start(BadAnswer::Status { status: 400, content_type: "text/xml", body: body.into_bytes() });
    let run = apply_a_role_against(&endpoint);
    assert_eq!(run.code, 1, "{}", &run.all()[..2000.min(run.all().len())]);
    assert!(run.all().contains("ValidationError"), "{}", &run.all()[..2000.min(run.all().len())]);
    assert!(run.all().len() < 16 * 1024, "{} bytes printed", run.all().len());
}

/// Rewrites the state as a run killed right after sending these creates leaves it: a
/// `creating` record of the planned value, with no id (AWS chooses it) and nothing computed.
fn as_if_killed_while_creating(work: &Workdir, types: &[&str], edit: impl Fn(&mut serde_json::Value)) {
    let path = "state/default.tfstate";
    let mut state: serde_json::Value = serde_json::from_str(&work.read(path)).expect("state is JSON");
    let mut edited = 0;
    for resource in state["resources"].as_array_mut().expect("resources") {
        let type_name = resource["type"].as_str().unwrap_or_default().to_owned();
        if !types.contains(&type_name.as_str()) {
            continue;
        }
        resource["status"] = "creating".into();
        if resource.get("id").is_some() {
            resource["id"] = "".into();
        }
        for computed in ["id", "arn", "association_id", "association_arn"] {
            if let Some(value) = resource["attributes"].get_mut(computed) {
                *value = serde_json::Value::Null;
            }
        }
        edit(resource);
        edited += 1;
    }
    assert_eq!(edited, types.len(), "{state}");
    work.write(path, &serde_json::to_string_pretty(&state).unwrap());
}

/// Issue 13, item 12(b): AWS chooses the ids of OIDC providers and pod identity associations,
/// so a run killed after sending their creates cannot find them by id. The re-apply finds them
/// by natural key (the provider's URL; the association's cluster, namespace and service
/// account), adopts them with no second object and no import, and the next plan is empty. An
/// object that differs from what was sent is not adopted: the plan stops, naming the
/// difference and `import`.
#[test]
fn creates_killed_before_aws_answered_are_adopted_by_natural_key() {
    let clouds = Clouds::moto_and_sandbox();
    let work = Workdir::example("aws-pod-identity");
    let association = apply_and_check(&clouds, &work);
    let before = clouds.inventory();
    let types = ["aws_iam_openid_connect_provider", "aws_eks_pod_identity_association"];

    as_if_killed_while_creating(&work, &types, |_| {});
    let plan = clouds.run(&work, &["plan"], 0);
    assert!(plan.stdout.contains("Objects created by an interrupted apply"), "{}", plan.stdout);
    assert!(!plan.stderr.contains("TF1006"), "{}", plan.stderr);
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(!apply.all().contains("Creating..."), "{}", apply.all());
    let converged = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(converged.stdout.contains("No changes."), "{}", converged.stdout);
    assert_eq!(clouds.inventory(), before, "a second object was made");
    assert!(work.read("deployment_outputs.env").contains(&format!("POD_IDENTITY_ASSOCIATION_ID={association}\n")));

    // The record says other client ids were sent: the provider there is not the one planned.
    as_if_killed_while_creating(&work, &types[..1], |resource| {
        resource["attributes"]["client_id_list"] = serde_json::json!(["someone-else"]);
    });
    let refused = clouds.run(&work, &["plan"], 1);
    assert!(refused.stderr.contains("Cannot adopt an interrupted create"), "{}", refused.stderr);
    assert!(refused.stderr.contains("client ids are not the planned ones"), "{}", refused.stderr);
    assert!(refused.stderr.contains("trustform import aws_iam_openid_connect_provider."), "{}", refused.stderr);
    assert_eq!(clouds.inventory(), before);
}

const CANARY: &str = "canary-moto-7f3e2a91";
const CANARY_PASSPHRASE: &str = "canary passphrase for the moto sweep";

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Issue 13's sweep: a canary secret in a sensitive variable flows into a cloud argument (an
/// IAM role's description and a tag, sent to moto) and a sensitive output. Through plan, a
/// saved plan, apply, `--json`, `show`, `state show`, a failing create and destroy, all at
/// `TRUSTFORM_LOG=trace`, it is in no line printed and in no file written except the 0600 env
/// file (it is an output); the state and the plan file are encrypted.
#[test]
fn a_canary_sent_to_aws_is_printed_nowhere_and_written_only_to_the_env_file() {
    let clouds = Clouds::moto_and_sandbox();
    let spec = |extra: &str| {
        format!(
            r#"
variable "canary" {{
  sensitive = true
}}
trustform {{
  encryption {{
    key_provider "pbkdf2" "main" {{ iterations = 200000 }}
    method "aes_gcm" "main" {{ keys = key_provider.pbkdf2.main }}
    state {{
      method   = method.aes_gcm.main
      enforced = true
    }}
    plan {{
      method   = method.aes_gcm.main
      enforced = true
    }}
  }}
}}
provider "aws" {{
  region = "us-east-1"
}}
resource "aws_iam_role" "gateway" {{
  name               = "canary-role"
  description        = "holds ${{var.canary}}"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "pods.eks.amazonaws.com" }}, Action = ["sts:AssumeRole", "sts:TagSession"] }}] }})
  tags = {{
    secret = var.canary
  }}
}}
output "canary" {{
  value     = aws_iam_role.gateway.tags["secret"]
  sensitive = true
}}
{extra}"#
        )
    };
    let work = Workdir::new().with_file("main.tf", &spec(""));
    let mut env = clouds.env();
    env.push(("TRUSTFORM_LOG", "trace".to_owned()));
    env.push(("TRUSTFORM_VAR_canary", CANARY.to_owned()));
    env.push(("TRUSTFORM_STATE_PASSPHRASE", CANARY_PASSPHRASE.to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let mut printed = Vec::new();
    let mut run = |args: &[&str], code: i32| {
        let run = work.run_with_env(args, &env);
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        printed.push((args.join(" "), run.all()));
    };
    run(&["plan", "--out", "tf.plan"], 0);
    run(&["show", "tf.plan"], 0);
    run(&["show", "--json", "tf.plan"], 0);
    run(&["apply", "tf.plan"], 0);
    run(&["plan", "--json"], 0);
    run(&["apply", "--auto-approve", "--json"], 0);
    run(&["show"], 0);
    run(&["show", "--json"], 0);
    run(&["state", "show", "aws_iam_role.gateway"], 0);
    run(&["state", "list"], 0);
    run(&["output"], 0);
    // An error path: a second role of the same name, whose create IAM refuses.
    work.write(
        "main.tf",
        &spec("resource \"aws_iam_role\" \"twin\" {\n  name = \"canary-role\"\n  description = \"twin of ${var.canary}\"\n  assume_role_policy = aws_iam_role.gateway.assume_role_policy\n}\n"),
    );
    run(&["apply", "--auto-approve"], 1);
    work.write("main.tf", &spec(""));

    // The canary did reach the cloud, read back with a client of our own.
    let role = clouds.runtime.block_on(clouds.iam().get_role().role_name("canary-role").send()).expect("GetRole");
    assert_eq!(role.role().and_then(|role| role.description()), Some(format!("holds {CANARY}").as_str()));
    let env_file = work.file("deployment_outputs.env");
    let sweep = |env_file_allowed: bool| {
        let mut env_file_holds = false;
        for (path, bytes) in files_under(&work.path()) {
            if path.extension().is_some_and(|e| e == "tf") {
                continue;
            }
            if path == env_file && env_file_allowed {
                env_file_holds = holds(&bytes, CANARY);
                let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
                assert_eq!(mode & 0o777, 0o600, "the env file");
                continue;
            }
            assert!(!holds(&bytes, CANARY), "{} holds the canary", path.display());
        }
        env_file_holds
    };
    assert!(sweep(true), "the env file holds the output (that is its job)");
    run(&["destroy", "--auto-approve"], 0);
    sweep(false);

    assert!(printed.iter().any(|(_, all)| all.contains("TRACE")), "the runs logged at TRACE level");
    for (args, all) in &printed {
        assert!(!all.contains(CANARY), "`trustform {args}` printed the canary:\n{all}");
        assert!(!all.contains(CANARY_PASSPHRASE), "`trustform {args}` printed the passphrase:\n{all}");
    }
}

/// `data "aws_iam_openid_connect_provider"` through the binary: a provider the account already
/// has is found by its issuer URL and trusted by a new role; a block naming neither `arn` nor
/// `url` is refused with the fix, pointing at the block.
#[test]
fn an_existing_oidc_provider_is_read_by_url_and_trusted_by_a_role() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let url = "https://issuer.ledger-demo.example/realm/4";
    let arn = clouds.runtime.block_on(async {
        let created = clouds
            .iam()
            .create_open_id_connect_provider()
            .url(url)
            .client_id_list("ledger-api")
            .send()
            .await
            .expect("the account's existing provider");
        created.open_id_connect_provider_arn().expect("an ARN").to_owned()
    });
    let spec = format!(
        r#"data "aws_iam_openid_connect_provider" "ledger" {{
  url = "{url}"
}}

resource "aws_iam_role" "reader" {{
  name = "ledger-reader"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRoleWithWebIdentity", Principal = {{ Federated = data.aws_iam_openid_connect_provider.ledger.arn }} }}]
  }})
}}

output "issuer_arn" {{
  value = data.aws_iam_openid_connect_provider.ledger.arn
}}

output "audiences" {{
  value = join(",", data.aws_iam_openid_connect_provider.ledger.client_id_list)
}}
"#
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 1 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    let outputs = clouds.run(&work, &["output", "-raw", "issuer_arn"], 0);
    assert_eq!(outputs.stdout.trim(), arn);
    let audiences = clouds.run(&work, &["output", "-raw", "audiences"], 0);
    assert_eq!(audiences.stdout.trim(), "ledger-api");
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    work.write("main.tf", "data \"aws_iam_openid_connect_provider\" \"nameless\" {\n}\n");
    let refused = clouds.run(&work, &["plan"], 1);
    let said = refused.all();
    assert!(said.contains("exactly one of `arn` and `url`"), "{said}");
    assert!(said.contains("data.aws_iam_openid_connect_provider.nameless"), "{said}");
    assert!(said.contains("main.tf:1:1"), "{said}");
}

/// A pod identity association whose role is not a role ARN is refused at plan, at the
/// argument, before any call to EKS.
#[test]
fn a_pod_identity_target_that_is_not_a_role_arn_is_refused_at_plan() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let spec = r#"resource "aws_eks_pod_identity_association" "ledger" {
  cluster_name    = "ledger"
  namespace       = "ledger"
  service_account = "ledger-sa"
  role_arn        = "arn:aws:iam::123456789012:role/ledger-pod"
  target_role_arn = "arn:aws:iam::210987654321:user/ci"
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    let refused = clouds.run(&work, &["plan"], 1);
    let said = refused.all();
    assert!(said.contains("Invalid role ARN"), "{said}");
    assert!(said.contains("main.tf:6:"), "no place:\n{said}");
    assert!(said.contains("aws_iam_role.NAME.arn"), "no fix:\n{said}");
}

/// A customer managed policy of a spec of its own, attached to a role: on moto (the oracle) and
/// on the sandbox alike, a change of its document is an in-place update (a new default version,
/// the attachment untouched), the re-plan is empty, and destroy removes the attachment, the
/// versions and the policy.
#[test]
fn a_managed_policy_is_versioned_in_place_and_destroyed_after_its_attachment() {
    for clouds in [Clouds::moto_and_sandbox(), Clouds::sandbox_only(SandboxConfig::default())] {
        let spec = |bucket: &str| {
            format!(
                r#"
resource "aws_iam_role" "summarizer" {{
  name               = "quill-summarizer"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "pods.eks.amazonaws.com" }} }}]
  }})
}}

resource "aws_iam_policy" "prompts" {{
  name        = "quill-prompt-reader"
  path        = "/quill/"
  description = "Read the summarizer's prompt templates"
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::{bucket}/*" }}]
  }})
}}

resource "aws_iam_role_policy_attachment" "prompts" {{
  role       = aws_iam_role.summarizer.name
  policy_arn = aws_iam_policy.prompts.arn
}}

output "PROMPT_POLICY_ARN" {{
  value = aws_iam_policy.prompts.arn
}}
"#
            )
        };
        let work = Workdir::new().with_file("main.tf", &spec("quill-prompts"));
        let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
        assert!(apply.stdout.contains("Resources: 3 added"), "{}", apply.stdout);
        let env = work.read("deployment_outputs.env");
        assert!(
            env.contains(&format!("PROMPT_POLICY_ARN=arn:aws:iam::{ACCOUNT}:policy/quill/quill-prompt-reader\n")),
            "{env}"
        );
        let replan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
        assert!(replan.stdout.contains("No changes."), "{}", replan.stdout);

        work.write("main.tf", &spec("quill-prompts-v2"));
        let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 2);
        assert!(plan.stdout.contains("aws_iam_policy.prompts will be updated in-place"), "{}", plan.stdout);
        assert!(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", plan.stdout);
        clouds.run(&work, &["apply", "--auto-approve"], 0);
        let replan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
        assert!(replan.stdout.contains("No changes."), "{}", replan.stdout);

        let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
        assert!(destroy.stdout.contains("Resources: 3 destroyed."), "{}", destroy.stdout);
        assert_eq!(clouds.inventory(), Inventory::empty());
        let iam = clouds.iam();
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/quill/quill-prompt-reader");
        let left = clouds.runtime.block_on(iam.get_policy().policy_arn(&arn).send());
        assert!(left.is_err_and(|e| e.into_service_error().is_no_such_entity_exception()), "the policy is left behind");
    }
}

/// Issue 16, item 2: a plan saved while the AWS provider derived ARNs in one account is not
/// applied with credentials of another. The role's ARN the plan promised (and anything that
/// used it was planned with) is not the one IAM would make, so the apply stops with TF1091,
/// naming both, before any call that changes the cloud.
#[test]
fn a_saved_plan_is_not_applied_in_another_account_than_it_derived_arns_in() {
    let planned_in = Clouds::sandbox_only(SandboxConfig::default());
    let other = Clouds::sandbox_only(SandboxConfig::default().account_id("444455556666"));
    let work = Workdir::new().with_file(
        "main.tf",
        "resource \"aws_iam_role\" \"relay\" {\n  name               = \"edge-relay\"\n  assume_role_policy = jsonencode({ Version = \"2012-10-17\", Statement = [] })\n}\noutput \"arn\" { value = aws_iam_role.relay.arn }\n",
    );
    let plan = planned_in.run(&work, &["plan", "-out", "tfplan"], 0);
    assert!(plan.stdout.contains(&format!("\"arn:aws:iam::{ACCOUNT}:role/edge-relay\"")), "{}", plan.stdout);
    let apply = other.run(&work, &["apply", "tfplan"], 1);
    assert!(apply.stderr.contains("TF1091"), "{}", apply.all());
    assert!(apply.stderr.contains("arn:aws:iam::444455556666:role/edge-relay"), "{}", apply.all());
    assert!(other.inventory().roles.is_empty(), "nothing was created in the other account");
}

/// What the plan derived and what the cloud made differ (here STS and IAM answer for different
/// accounts, as two emulators mixed up would): the role is recorded as IAM answered it, the
/// apply fails it with TF1090 naming both ARNs, and the role that trusts it, planned with the
/// derived ARN, is not created.
#[test]
fn an_arn_iam_answers_differently_than_the_plan_derived_fails_the_role_and_keeps_it() {
    let sts = Clouds::sandbox_only(SandboxConfig::default());
    let iam = Clouds::sandbox_only(SandboxConfig::default().account_id("444455556666"));
    let work = Workdir::new().with_file(
        "main.tf",
        r#"resource "aws_iam_role" "relay" {
  name               = "edge-relay"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

resource "aws_iam_role" "caller" {
  name = "edge-caller"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = aws_iam_role.relay.arn }, Action = "sts:AssumeRole" }]
  })
}
"#,
    );
    let mut env = iam.env();
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_STS");
    env.push(("AWS_ENDPOINT_URL_STS", sts.sandbox.endpoint()));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let apply = work.run_with_env(&["apply", "--auto-approve"], &env);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.stderr.contains("TF1090"), "{}", apply.all());
    assert!(apply.stderr.contains(&format!("arn:aws:iam::{ACCOUNT}:role/edge-relay")), "{}", apply.all());
    assert!(apply.stderr.contains("arn:aws:iam::444455556666:role/edge-relay"), "{}", apply.all());
    let start = apply.stderr.find("TF1090").unwrap();
    let end = start + apply.stderr[start..].find("(resource: aws_iam_role.relay)").unwrap();
    insta::assert_snapshot!("derived_value_contradicted", &apply.stderr[start..end]);
    assert_eq!(iam.inventory().roles, ["edge-relay"], "the caller planned with the derived ARN is not created");
    let listed = work.expect(&["state", "list"], 0);
    assert_eq!(listed.stdout.trim(), "aws_iam_role.relay", "the role that exists is recorded");
}

/// `skip_requesting_account_id = true` (Terraform's setting for emulators without STS) makes no
/// STS call at configure, so the plan leaves ARNs to the apply; `--sandbox` keeps the setting
/// (it sends nothing anywhere), so the sandbox plans as the real run would, without a TF1404.
#[test]
fn skipping_the_account_lookup_leaves_arns_to_the_apply() {
    let work = Workdir::new().with_file(
        "main.tf",
        "provider \"aws\" {\n  skip_requesting_account_id = true\n}\nresource \"aws_iam_role\" \"r\" {\n  name               = \"skip-check\"\n  assume_role_policy = jsonencode({ Version = \"2012-10-17\", Statement = [] })\n}\n",
    );
    let plan = work.expect(&["plan", "--sandbox"], 0);
    assert!(plan.stdout.contains("+ arn                  = (known after apply)"), "{}", plan.stdout);
    assert!(!plan.all().contains("TF1404"), "{}", plan.all());
    let apply = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 1 added"), "{}", apply.all());
    let next = work.expect(&["plan", "--sandbox"], 0);
    assert!(next.stdout.contains("No changes"), "the ARN read back stands: {}", next.all());
}
