//! `--sandbox` with a spec of the user's own: its projects, clusters and subscriptions exist in
//! the emulated world without a `sandbox.tfvars`; provider blocks cannot point it at a real cloud;
//! what a real apply wrote is never overwritten; and a cloned repository cannot make it write
//! through a symbolic link.

mod support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use support::Workdir;
use trustform_sandbox::world::{cluster_issuer, project_number};

const TENANT: &str = "7e3c2d51-8f0a-4b6e-9d21-5a4f3c2b1e09";

fn value_of(env: &str, name: &str) -> Option<String> {
    env.lines().find_map(|line| line.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

#[test]
fn a_spec_with_its_own_names_applies_replans_to_nothing_and_destroys_unedited() {
    let work = Workdir::fixture("own-world");
    assert!(!work.file("sandbox.tfvars").exists());
    // What a real apply of this spec left beside it: the sandbox must not touch it.
    work.write("deployment_outputs.env", "EKS_AWS_ROLE_ARN=arn:aws:iam::999999999999:role/real\n");
    work.write("gcp-credentials.json", "{\"real\": true}\n");

    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Apply complete! Resources: 11 added"), "{}", applied.all());
    assert!(!applied.stderr.contains("Warning"), "{}", applied.stderr);
    assert!(
        applied.stderr.contains("Wrote 6 output(s) to .trustform/sandbox/outputs/deployment_outputs.env"),
        "{}",
        applied.stderr
    );

    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    // The cluster, in the spec's region, with an issuer derived from its name and region.
    assert_eq!(value_of(&env, "EKS_OIDC_ISSUER"), Some(cluster_issuer("acme-gateway", "eu-west-2")));
    assert_eq!(value_of(&env, "EKS_AWS_ROLE_ARN").as_deref(), Some("arn:aws:iam::123456789012:role/acme-gateway"));
    // The project, with a number derived from its id.
    assert_eq!(value_of(&env, "VERTEX_PROJECT").as_deref(), Some("acme-llm-prod"));
    let number = project_number("acme-llm-prod");
    assert_eq!(
        value_of(&env, "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE"),
        Some(format!(
            "//iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/acme-aws/providers/acme-account"
        ))
    );
    // The subscription, resource group, tenant and principal the spec names.
    assert_eq!(value_of(&env, "AZURE_TENANT_ID").as_deref(), Some(TENANT));
    let assignment = value_of(&env, "AZURE_ROLE_ASSIGNMENT_ID").unwrap();
    assert!(
        assignment.starts_with("/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/acme-openai/"),
        "{assignment}"
    );

    // The credential file went under the sandbox; the real apply's files are as they were.
    let credentials: serde_json::Value =
        serde_json::from_str(&work.read(".trustform/sandbox/outputs/gcp-credentials.json")).unwrap();
    assert_eq!(credentials["type"], "external_account");
    assert_eq!(work.read("deployment_outputs.env"), "EKS_AWS_ROLE_ARN=arn:aws:iam::999999999999:role/real\n");
    assert_eq!(work.read("gcp-credentials.json"), "{\"real\": true}\n");
    // The journal is private.
    let mode = std::fs::metadata(work.file(".trustform/sandbox/journal.jsonl")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Another process replays the same world: nothing left to do.
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());

    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 11 destroyed."), "{}", destroyed.all());
    assert!(!work.file(".trustform/sandbox/outputs/gcp-credentials.json").exists());
    assert_eq!(work.read("gcp-credentials.json"), "{\"real\": true}\n");
}

/// A listener on another loopback address, where the spec's provider blocks point: whatever
/// connects to it would be a request the sandbox let through to the spec's endpoint.
fn trap() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback on Linux");
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    (listener, endpoint)
}

#[test]
fn endpoints_and_credentials_in_provider_blocks_are_overridden_and_nothing_reaches_them() {
    let (listener, endpoint) = trap();
    let spec = format!(
        r#"provider "aws" {{
  region     = "us-east-1"
  profile    = "prod"
  access_key = "AKIAREALKEY"
  secret_key = "real-aws-secret"
  endpoints {{
    iam = "{endpoint}"
    sts = "{endpoint}"
    eks = "http://203.0.113.1:1"
  }}
}}

provider "google" {{
  project                          = "acme-llm-prod"
  iam_custom_endpoint              = "{endpoint}/"
  resource_manager_custom_endpoint = "{endpoint}/"
  access_token                     = "ya29.real-google-token"
}}

provider "azurerm" {{
  subscription_id           = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
  resource_manager_endpoint = "{endpoint}"
  client_secret             = "real-azure-secret"
}}

data "aws_caller_identity" "current" {{}}

data "aws_eks_cluster" "gateway" {{
  name = "acme-gateway"
}}

resource "aws_iam_role" "r" {{
  name               = "overridden"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "pods.eks.amazonaws.com" }}, Action = ["sts:AssumeRole", "sts:TagSession"] }}] }})
}}

resource "google_service_account" "sa" {{
  account_id = "overridden"
}}

resource "azurerm_role_definition" "d" {{
  name  = "overridden"
  scope = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
  permissions {{
    actions = ["Microsoft.Resources/subscriptions/resourceGroups/read"]
  }}
}}

output "issuer" {{
  value = data.aws_eks_cluster.gateway.identity[0].oidc[0].issuer
}}
"#
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 3 added"), "{}", applied.all());
    // Each setting dropped is named with its place.
    for (setting, line) in [
        ("profile", 3),
        ("access_key", 4),
        ("secret_key", 5),
        ("endpoints", 6),
        ("iam_custom_endpoint", 15),
        ("resource_manager_custom_endpoint", 16),
        ("access_token", 17),
        ("resource_manager_endpoint", 22),
        ("client_secret", 23),
    ] {
        assert!(applied.stderr.contains(&format!("`{setting}` (main.tf:{line}:")), "{setting}: {}", applied.stderr);
    }
    assert!(applied.stderr.contains("TF1404"), "{}", applied.stderr);
    assert!(applied.stderr.contains("The provider \"google\" block (main.tf:13:1)"), "{}", applied.stderr);

    // Nothing connected to the spec's endpoint.
    match listener.accept() {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a request reached the spec's endpoint: {other:?}"),
    }
    // No credential of the spec's reached the emulated cloud's journal or the terminal.
    let journal = work.read(".trustform/sandbox/journal.jsonl");
    for secret in ["ya29.real-google-token", "real-azure-secret", "real-aws-secret", "AKIAREALKEY"] {
        assert!(!journal.contains(secret), "{secret} in the journal");
        assert!(!applied.all().contains(secret), "{secret} printed");
    }
    work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
}

const QUIET_SPEC: &str = r#"resource "trustform_data" "x" {
  input = "y"
}
"#;

#[test]
fn sandbox_files_shipped_as_links_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("credentials");
    let secret = "[default]\naws_secret_access_key = the-users-real-key\n";
    std::fs::write(&victim, secret).unwrap();

    // The AWS config files, as a cloned repository could ship them.
    let work = Workdir::new().with_file("main.tf", QUIET_SPEC);
    std::fs::create_dir_all(work.file(".trustform/sandbox")).unwrap();
    for name in ["aws-credentials", "aws-config"] {
        std::os::unix::fs::symlink(&victim, work.file(&format!(".trustform/sandbox/{name}"))).unwrap();
    }
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), secret);

    // The journal and the lock: refused, not followed.
    for name in ["journal.jsonl", "lock"] {
        let work = Workdir::new().with_file("main.tf", QUIET_SPEC);
        std::fs::create_dir_all(work.file(".trustform/sandbox")).unwrap();
        std::os::unix::fs::symlink(&victim, work.file(&format!(".trustform/sandbox/{name}"))).unwrap();
        let refused = work.expect(&["apply", "--sandbox", "--auto-approve"], 1);
        assert!(refused.stderr.contains(name), "{name}: {}", refused.all());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), secret, "{name} was followed");
    }

    // The env file: the link is replaced, its target left alone.
    let work = Workdir::new().with_file("main.tf", &format!("{QUIET_SPEC}\noutput \"o\" {{\n  value = \"v\"\n}}\n"));
    std::fs::create_dir_all(work.file(".trustform/sandbox/outputs")).unwrap();
    std::os::unix::fs::symlink(&victim, work.file(".trustform/sandbox/outputs/deployment_outputs.env")).unwrap();
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), secret);
    assert_eq!(work.read(".trustform/sandbox/outputs/deployment_outputs.env"), "o=v\n");
}

#[test]
fn a_sandbox_directory_that_is_a_link_is_refused() {
    for linked in [".trustform", ".trustform/sandbox", ".trustform/sandbox/outputs"] {
        let outside = tempfile::tempdir().unwrap();
        let work = Workdir::new().with_file("main.tf", QUIET_SPEC);
        if let Some(parent) = std::path::Path::new(linked).parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(work.file(parent.to_str().unwrap())).unwrap();
        }
        std::os::unix::fs::symlink(outside.path(), work.file(linked)).unwrap();
        let refused = work.expect(&["plan", "--sandbox"], 1);
        assert!(refused.stderr.contains("is a symbolic link"), "{linked}: {}", refused.all());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "{linked}: wrote through the link");
        let reset = work.run(&["sandbox", "reset"]);
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "{linked}: {}", reset.all());
    }
}
