//! End-to-end tests of the env file: lists and maps as compact JSON, outputs the file cannot
//! hold refused at plan time (before any change), the exact `~` rule, and what `destroy` does
//! to the file.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use support::Workdir;

const COLLECTIONS: &str = r#"
trustform {
  outputs {
    format = "dotenv"
  }
}

resource "trustform_data" "roles" {
  input = ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b c"]
}

output "ROLE_ARNS" {
  value = trustform_data.roles.output
}

output "CLUSTERS" {
  value = {
    prod = { issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", nodes = 3 }
    dev  = { issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/DEF", nodes = 1 }
  }
}

output "NAME" {
  value = "gateway"
}
"#;

/// `dotenv_values` of the file, as the test support's pinned python-dotenv reads it.
fn python_dotenv(path: &std::path::Path) -> BTreeMap<String, String> {
    let out = Command::new(trustform_test_provider::python::python())
        .args([
            "-c",
            "import json, sys\nfrom dotenv import dotenv_values\nsys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "python-dotenv failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of `name` after `bash -c 'source FILE'`.
fn bash_source(path: &std::path::Path, name: &str) -> String {
    let out = Command::new("bash")
        .env_clear()
        .env("HOME", "/home/nobody")
        .args(["-c", "set -a; source \"$1\"; set +a; printf '%s' \"${!2}\"", "bash"])
        .arg(path)
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn list_and_map_outputs_apply_and_read_back_as_json_in_python_dotenv_and_bash() {
    let work = Workdir::new().with_file("main.tf", COLLECTIONS);
    let plan = work.expect(&["plan"], 0);
    assert!(plan.stdout.contains("ROLE_ARNS"), "{}", plan.stdout);
    let apply = work.expect(&["apply", "--auto-approve"], 0);
    assert!(apply.stderr.contains("Wrote 3 output(s) to deployment_outputs.env"), "{}", apply.stderr);

    let path = work.file("deployment_outputs.env");
    let text = work.read("deployment_outputs.env");
    assert!(
        text.contains("ROLE_ARNS='[\"arn:aws:iam::123456789012:role/a\",\"arn:aws:iam::123456789012:role/b c\"]'\n"),
        "compact JSON, quoted for dotenv: {text}"
    );
    let roles = serde_json::json!(["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b c"]);
    let clusters = serde_json::json!({
        "dev": { "issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/DEF", "nodes": 1 },
        "prod": { "issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", "nodes": 3 },
    });
    let dotenv = python_dotenv(&path);
    for (name, want) in [("ROLE_ARNS", &roles), ("CLUSTERS", &clusters)] {
        let read: serde_json::Value = serde_json::from_str(&dotenv[name]).unwrap();
        assert_eq!(&read, want, "python-dotenv read {name}");
        let read: serde_json::Value = serde_json::from_str(&bash_source(&path, name)).unwrap();
        assert_eq!(&read, want, "bash read {name}");
        // Byte for byte what `trustform output -json` says the value is.
        let json = work.expect(&["output", "-json", name], 0);
        assert_eq!(dotenv[name], json.stdout.trim_end(), "{name}");
    }
    assert_eq!(dotenv["NAME"], "gateway");
}

#[test]
fn an_output_the_env_file_cannot_hold_fails_at_plan_before_any_change() {
    // The portable format cannot carry JSON's quotes, and the list's element is only known
    // after apply: the refusal must still come before the resource is created.
    let spec = r#"
resource "trustform_data" "role" {
  input = "arn:aws:iam::123456789012:role/gateway"
}

output "ROLE_ARNS" {
  value = [trustform_data.role.output]
}

output "RANDOM" {
  value = "4"
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let run = work.expect(args, 1);
        assert!(run.stderr.contains("TF0820"), "{}", run.stderr);
        assert!(run.stderr.contains("Outputs cannot be written to the env file"), "{}", run.stderr);
        assert!(run.stderr.contains("Output \"ROLE_ARNS\" contains a double quote"), "{}", run.stderr);
        assert!(run.stderr.contains("Output \"RANDOM\" has the name of a variable bash manages"), "{}", run.stderr);
        assert!(!run.stderr.contains("Creation complete"), "{}", run.stderr);
    }
    assert!(!work.file("state/default.tfstate").exists(), "nothing was applied, so no state was written");
    assert!(!work.file("deployment_outputs.env").exists());
    // Writing no file (or choosing a format that carries it) lets the same apply through.
    work.expect(&["apply", "--auto-approve", "--env-file", ""], 0);
}

/// A list the plan cannot see into at all (a `for` over resources created by this apply) is
/// judged by its expression: it will be JSON with quotes, so the portable format refuses it
/// before anything is created, instead of after (TF1040).
#[test]
fn a_list_output_wholly_unknown_at_plan_is_refused_before_any_change() {
    let spec = r#"
resource "trustform_data" "role" {
  for_each = toset(["reader", "writer"])
  input    = "arn:aws:iam::123456789012:role/${each.key}"
}

output "ROLE_ARNS" {
  value = [for k in sort(keys(trustform_data.role)) : trustform_data.role[k].output]
}

output "BY_NAME" {
  value = { for k, r in trustform_data.role : k => r.output }
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    let run = work.expect(&["apply", "--auto-approve"], 1);
    assert!(run.stderr.contains("TF0820"), "{}", run.stderr);
    assert!(run.stderr.contains("Output \"ROLE_ARNS\" contains a double quote"), "{}", run.stderr);
    assert!(run.stderr.contains("Output \"BY_NAME\" contains a double quote"), "{}", run.stderr);
    assert!(!run.stderr.contains("Creation complete"), "{}", run.stderr);
    assert!(!work.file("state/default.tfstate").exists(), "nothing was applied, so no state was written");
    // The dotenv format quotes JSON, so the same spec applies there.
    work.write("settings.tf", "trustform {\n  outputs {\n    format = \"dotenv\"\n  }\n}\n");
    work.expect(&["apply", "--auto-approve"], 0);
    assert!(work
        .read("deployment_outputs.env")
        .contains("ROLE_ARNS='[\"arn:aws:iam::123456789012:role/reader\",\"arn:aws:iam::123456789012:role/writer\"]'"));
}

#[test]
fn a_tilde_inside_a_value_is_portable_but_not_at_the_start_or_after_a_colon() {
    let secret = "Xy8Q~abc.DEF_ghi~jkl-mno~";
    let spec = format!(
        "variable \"secret\" {{\n  sensitive = true\n  default = \"{secret}\"\n}}\noutput \"AZURE_CLIENT_SECRET\" {{\n  value     = var.secret\n  sensitive = true\n}}\n"
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    work.expect(&["apply", "--auto-approve"], 0);
    assert_eq!(work.read("deployment_outputs.env"), format!("AZURE_CLIENT_SECRET={secret}\n"));
    let path = work.file("deployment_outputs.env");
    assert_eq!(bash_source(&path, "AZURE_CLIENT_SECRET"), secret);
    assert_eq!(python_dotenv(&path)["AZURE_CLIENT_SECRET"], secret);

    // At the start, or after ':', bash would expand it: refused at plan, naming the rule.
    for value in ["~/.kube/config", "/usr/bin:~/bin"] {
        let work = Workdir::new().with_file("main.tf", &format!("output \"P\" {{\n  value = \"{value}\"\n}}\n"));
        let run = work.expect(&["apply", "--auto-approve"], 1);
        assert!(run.stderr.contains("TF0820"), "{}", run.stderr);
        assert!(run.stderr.contains("begins the value or follows ':'"), "{}", run.stderr);
    }
}

#[test]
fn destroy_removes_the_env_file_instead_of_emptying_it() {
    let work = Workdir::new().with_file(
        "main.tf",
        "resource \"trustform_data\" \"a\" {\n  input = \"x\"\n}\noutput \"A\" {\n  value = trustform_data.a.output\n}\n",
    );
    work.expect(&["apply", "--auto-approve"], 0);
    assert_eq!(work.read("deployment_outputs.env"), "A=x\n");
    let destroy = work.expect(&["destroy", "--auto-approve"], 0);
    assert!(!destroy.stderr.contains("Wrote 0 output(s)"), "{}", destroy.stderr);
    assert!(
        destroy.stderr.contains("Removed deployment_outputs.env: the destroyed deployment has no outputs."),
        "{}",
        destroy.stderr
    );
    assert!(!work.file("deployment_outputs.env").exists());
    // Destroying nothing creates no file either.
    let again = work.expect(&["destroy", "--auto-approve"], 0);
    assert!(!again.stderr.contains("Wrote"), "{}", again.stderr);
    assert!(!work.file("deployment_outputs.env").exists());
    // A plan saved with --destroy and applied does the same.
    work.expect(&["apply", "--auto-approve"], 0);
    work.expect(&["plan", "--destroy", "--out", "destroy.plan"], 0);
    let applied = work.expect(&["apply", "destroy.plan"], 0);
    assert!(applied.stderr.contains("Removed deployment_outputs.env"), "{}", applied.stderr);
    assert!(!work.file("deployment_outputs.env").exists());
}

#[test]
fn a_targeted_destroy_that_leaves_resources_leaves_the_env_file_and_says_so() {
    let work = Workdir::new().with_file(
        "main.tf",
        "resource \"trustform_data\" \"a\" {\n  input = \"x\"\n}\nresource \"trustform_data\" \"b\" {}\noutput \"A\" {\n  value = trustform_data.a.output\n}\n",
    );
    work.expect(&["apply", "--auto-approve"], 0);
    let destroy = work.expect(&["destroy", "--auto-approve", "--target", "trustform_data.b"], 0);
    assert!(
        destroy.stderr.contains("Left deployment_outputs.env as it was: the state still manages resources"),
        "{}",
        destroy.stderr
    );
    assert!(!destroy.stderr.contains("Wrote"), "{}", destroy.stderr);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\n");
    assert_eq!(work.read("deployment_outputs.env"), "A=x\n");
}

/// A `random_id` names things, as in Terraform: a role named from one plans with its ARN's
/// known text, writes its name to the env file without `sensitive = true`, and is no finding of
/// the generated-secret check (TF1320); a `random_password` in an output still is.
#[test]
fn a_name_built_from_a_random_id_is_not_a_secret_but_a_password_is() {
    let work = Workdir::new();
    work.write(
        "main.tf",
        r#"
resource "random_id" "suffix" {
  byte_length = 4
  prefix      = "wren-"
}

resource "aws_iam_role" "relay" {
  name = random_id.suffix.hex
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "pods.eks.amazonaws.com" } }]
  })
}

output "RELAY_ROLE" {
  value = aws_iam_role.relay.name
}
"#,
    );
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(!applied.all().contains("TF1320"), "{}", applied.all());
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    let role = env.lines().find_map(|line| line.strip_prefix("RELAY_ROLE=")).expect("RELAY_ROLE").to_owned();
    assert!(role.starts_with("wren-") && role.len() == "wren-".len() + 8, "{env}");
    let shown = work.expect(&["state", "show", "--sandbox", "random_id.suffix"], 0);
    assert!(shown.stdout.contains(&format!("hex         = \"{role}\"")), "{}", shown.stdout);

    work.write(
        "secret.tf",
        "resource \"random_password\" \"key\" {\n  length = 24\n}\n\noutput \"KEY\" {\n  value     = random_password.key.result\n  sensitive = true\n}\n",
    );
    let refused = work.expect(&["plan", "--sandbox"], 1);
    assert!(refused.stderr.contains("TF1320"), "{}", refused.all());
}
