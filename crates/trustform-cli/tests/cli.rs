//! End-to-end tests of the `trustform` binary: apply, re-plan, change, destroy, saved plans,
//! state commands, the env file and secrets.

mod support;

use std::os::unix::fs::PermissionsExt;
use support::Workdir;

#[test]
fn quickstart_applies_converges_and_destroys() {
    let work = Workdir::example("quickstart");
    let apply = work.expect(&["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 21 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    assert!(apply.stderr.contains("trustform_data.gateway_role: Creation complete"), "{}", apply.stderr);

    // A second plan is empty: --detailed-exitcode says 0.
    let plan = work.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // The env file: sorted, mode 0600, sensitive value included but never printed.
    let env = work.read("deployment_outputs.env");
    let names: Vec<&str> = env.lines().map(|l| l.split('=').next().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(env.contains("EKS_AWS_ROLE_ARN=arn:aws:iam::123456789012:role/litellm-gateway\n"), "{env}");
    assert!(env.contains("AZURE_CLIENT_SECRET=quickstart-placeholder-secret\n"));
    let mode = std::fs::metadata(work.file("deployment_outputs.env")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for run in [&apply, &plan] {
        assert!(!run.all().contains("quickstart-placeholder-secret"), "secret leaked:\n{}", run.all());
    }
    // An apply with nothing to do ends as Terraform's does: the summary, then the outputs.
    let again = work.expect(&["apply", "--auto-approve"], 0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(again.stdout.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n"), "{}", again.stdout);
    assert!(again.stdout.contains("AZURE_CLIENT_SECRET = (sensitive value)"), "{}", again.stdout);
    assert!(!again.all().contains("quickstart-placeholder-secret"), "secret leaked:\n{}", again.all());
    let output = work.expect(&["output"], 0);
    assert!(output.stdout.contains("AZURE_CLIENT_SECRET = (sensitive value)"), "{}", output.stdout);
    let raw = work.expect(&["output", "AZURE_CLIENT_SECRET", "--raw"], 0);
    assert_eq!(raw.stdout, "quickstart-placeholder-secret");

    // One variable changes exactly the resources fed by it, with the attribute named.
    let changed = work.expect(&["plan", "--detailed-exitcode", "--var", "namespace=gateway"], 2);
    assert!(changed.stdout.contains("~ input"), "{}", changed.stdout);

    let destroy = work.expect(&["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 21 destroyed."), "{}", destroy.stdout);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn env_file_round_trips_through_bash() {
    let work = Workdir::example("quickstart");
    work.expect(&["apply", "--auto-approve"], 0);
    let out = std::process::Command::new("bash")
        .current_dir(work.path())
        .args(["-c", "set -a; . ./deployment_outputs.env; set +a; printf '%s|%s|%s' \"$EKS_AWS_ROLE_ARN\" \"$GOOGLE_WORKLOAD_IDENTITY_PROVIDER\" \"$AZURE_CLIENT_SECRET\""])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "arn:aws:iam::123456789012:role/litellm-gateway|projects/123456789012/locations/global/workloadIdentityPools/aws-litellm/providers/aws|quickstart-placeholder-secret"
    );
}

#[test]
fn saved_plans_apply_exactly_and_refuse_when_stale() {
    let work = Workdir::new().with_file(
        "main.tf",
        "resource \"trustform_data\" \"a\" { input = \"one\" }\noutput \"a\" { value = trustform_data.a.output }\n",
    );
    work.expect(&["plan", "--out", "tf.plan"], 0);
    let applied = work.expect(&["apply", "tf.plan"], 0);
    assert!(applied.stdout.contains("1 added"), "{}", applied.stdout);
    assert_eq!(work.expect(&["output", "a", "--raw"], 0).stdout, "one");

    // A plan made before another apply is refused: the state moved on.
    work.write(
        "main.tf",
        "resource \"trustform_data\" \"a\" { input = \"two\" }\noutput \"a\" { value = trustform_data.a.output }\n",
    );
    work.expect(&["plan", "--out", "stale.plan"], 0);
    work.expect(&["apply", "--auto-approve"], 0);
    let stale = work.expect(&["apply", "stale.plan"], 1);
    assert!(stale.stderr.contains("Saved plan is stale"), "{}", stale.stderr);

    // And a plan whose configuration changed afterwards is refused too.
    work.expect(&["plan", "--out", "fresh.plan", "--var-file", "missing.tfvars"], 1);
    work.expect(&["plan", "--out", "fresh.plan"], 0);
    work.write("extra.tf", "resource \"trustform_data\" \"b\" {}\n");
    let changed = work.expect(&["apply", "fresh.plan"], 1);
    assert!(changed.stderr.contains("configuration in"), "{}", changed.stderr);
}

#[test]
fn json_plan_is_machine_readable_and_masks_secrets() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
variable "token" {
  sensitive = true
  default   = "canary-7f3a"
}
resource "trustform_data" "a" { input = var.token }
"#,
    );
    let run = work.expect(&["plan", "--json"], 0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    let change = &json["resource_changes"][0];
    assert_eq!(change["address"], "trustform_data.a");
    assert_eq!(change["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(change["change"]["after_sensitive"]["input"], true);
    assert!(!run.all().contains("canary-7f3a"));
}

#[test]
fn state_commands_list_show_move_remove_and_push() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
resource "trustform_data" "a" { input = "x" }
resource "trustform_data" "b" { input = trustform_data.a.output }
"#,
    );
    work.expect(&["apply", "--auto-approve"], 0);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\ntrustform_data.b\n");
    assert!(work.expect(&["state", "show", "trustform_data.a"], 0).stdout.contains("input"));
    let pulled = work.expect(&["state", "pull"], 0).stdout;
    std::fs::write(work.file("backup.json"), &pulled).unwrap();

    work.expect(&["state", "mv", "trustform_data.b", "trustform_data.c"], 0);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\ntrustform_data.c\n");
    work.expect(&["state", "rm", "trustform_data.c"], 0);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\n");

    // The pulled copy is older: push refuses it unless forced.
    let refused = work.expect(&["state", "push", "backup.json"], 1);
    assert!(refused.stderr.contains("State push refused"), "{}", refused.stderr);
    work.expect(&["state", "push", "backup.json", "--force"], 0);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\ntrustform_data.b\n");
    assert!(work.expect(&["state", "show", "nope.x"], 1).stderr.contains("No such resource in state"));
}

#[test]
fn a_held_lock_names_its_holder_and_force_unlock_releases_it() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" {}\n");
    let lock = serde_json::json!({
        "id": "8b0c7f9e-1111-2222-3333-444455556666",
        "operation": "apply",
        "who": "ci@runner-7",
        "pid": 4242,
        "host": "runner-7",
        "created": "2026-11-23T18:40:00Z",
        "version": "0.1.0"
    });
    work.write("state/default.tfstate.lock.json", &lock.to_string());
    // The holder is alive (this test holds the OS lock for it): a record alone would be taken
    // over, as one left by a killed run is.
    let held = std::fs::File::open(work.file("state/default.tfstate.lock.json")).unwrap();
    held.try_lock().unwrap();
    let blocked = work.expect(&["apply", "--auto-approve"], 1);
    assert!(blocked.stderr.contains("Error acquiring the state lock"), "{}", blocked.stderr);
    assert!(blocked.stderr.contains("ci@runner-7"), "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains("trustform force-unlock 8b0c7f9e-1111-2222-3333-444455556666"),
        "{}",
        blocked.stderr
    );
    work.expect(&["force-unlock", "8b0c7f9e-1111-2222-3333-444455556666", "--force"], 0);
    work.expect(&["apply", "--auto-approve"], 0);
    drop(held);
}

#[test]
fn a_lock_record_whose_holder_died_is_taken_over_without_force_unlock() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" {}\n");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let lock = serde_json::json!({
        "id": "8b0c7f9e-1111-2222-3333-444455556666",
        "operation": "apply",
        "who": "ci@runner-7",
        "pid": pid,
        "host": "runner-7",
        "created": "2026-11-23T18:40:00Z",
        "version": "0.1.0"
    });
    work.write("state/default.tfstate.lock.json", &lock.to_string());
    let applied = work.expect(&["apply", "--auto-approve"], 0);
    assert!(!applied.stderr.contains("force-unlock"), "{}", applied.stderr);
    assert!(!work.file("state/default.tfstate.lock.json").exists());
}

#[test]
fn terraform_single_dash_flags_work() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" {}\n");
    work.expect(&["apply", "-auto-approve", "-parallelism=2"], 0);
    work.expect(&["plan", "-detailed-exitcode", "-refresh=false"], 0);
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" {}\n");
    let run = work.expect(&["apply"], 1);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn validate_and_graph() {
    let work = Workdir::example("quickstart");
    assert!(work.expect(&["validate"], 0).stdout.contains("Success!"));
    let dot = work.expect(&["graph"], 0).stdout;
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("trustform_data.gateway_role"), "{dot}");
}

#[test]
fn target_replace_and_refresh_only() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
resource "trustform_data" "base" { input = "b" }
resource "trustform_data" "uses_base" { input = trustform_data.base.output }
resource "trustform_data" "other" { input = "o" }
"#,
    );
    // --target plans the target and what it depends on, nothing else.
    let targeted = work.expect(&["apply", "--auto-approve", "--target", "trustform_data.uses_base"], 0);
    assert!(targeted.stdout.contains("2 added"), "{}", targeted.stdout);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.base\ntrustform_data.uses_base\n");
    work.expect(&["apply", "--auto-approve"], 0);

    // --replace replaces an unchanged resource, and says why.
    let replace = work.expect(&["plan", "--replace", "trustform_data.other", "--detailed-exitcode"], 2);
    assert!(replace.stdout.contains("# trustform_data.other will be replaced, as requested"), "{}", replace.stdout);
    assert!(replace.stdout.contains("Plan: 1 to add, 0 to change, 1 to destroy."), "{}", replace.stdout);

    // --refresh-only changes no object and, with nothing drifted, nothing at all.
    let refresh = work.expect(&["plan", "--refresh-only", "--detailed-exitcode"], 0);
    assert!(refresh.stdout.contains("No changes"), "{}", refresh.stdout);
    work.expect(&["refresh"], 0);
}

#[test]
fn fmt_check_reports_and_fmt_rewrites() {
    let work = Workdir::new()
        .with_file("main.tf", "resource \"trustform_data\" \"a\" {\ninput = \"x\"\n  triggers_replace = 1\n}\n");
    let check = work.expect(&["fmt", "--check"], 3);
    assert_eq!(check.stdout, "main.tf\n");
    work.expect(&["fmt"], 0);
    assert_eq!(
        work.read("main.tf"),
        "resource \"trustform_data\" \"a\" {\n  input            = \"x\"\n  triggers_replace = 1\n}\n"
    );
    work.expect(&["fmt", "--check"], 0);
}

/// Runs `trustform ARGS` on a pseudo-terminal (util-linux `script`), typing `answer` at the prompt.
fn on_terminal(work: &Workdir, args: &str, answer: &str) -> (i32, String) {
    use std::io::Write;
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_trustform"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child.stdin.take().expect("piped").write_all(answer.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn interactive_approval_applies_only_on_yes() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" {}\n");
    let (code, screen) = on_terminal(&work, "apply", "no\n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Do you want to perform these actions?"), "{screen}");
    assert!(screen.contains("Apply cancelled."), "{screen}");
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");

    let (code, screen) = on_terminal(&work, "apply", "yes\n");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Apply complete! Resources: 1 added"), "{screen}");
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\n");

    let (code, screen) = on_terminal(&work, "destroy", "yes\n");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Do you really want to destroy all resources?"), "{screen}");
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn a_closed_output_pipe_is_not_a_crash() {
    // Regression: `trustform show | head -1` panicked with "failed printing to stdout".
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" { input = \"x\" }\n");
    work.expect(&["apply", "--auto-approve"], 0);
    for args in [&["show"][..], &["state", "pull"], &["plan"], &["apply", "--auto-approve"]] {
        let mut child = work
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn trace_logs_never_carry_secrets() {
    let work = Workdir::new().with_file(
        "main.tf",
        r#"
variable "token" {
  sensitive = true
  default   = "canary-9d41"
}
resource "trustform_data" "a" { input = var.token }
output "token" {
  value     = trustform_data.a.output
  sensitive = true
}
"#,
    );
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan"],
        &["show"],
        &["output"],
        &["state", "show", "trustform_data.a"],
        &["destroy", "--auto-approve"],
    ] {
        let run = work.run_with_env(args, &[("TRUSTFORM_LOG", "trace")]);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        assert!(!run.all().contains("canary-9d41"), "{args:?} leaked the secret:\n{}", run.all());
    }
}

#[test]
fn render_fills_helm_values_quoted_for_yaml_and_keeps_secrets_off_the_terminal() {
    let work = Workdir::example("quickstart");
    work.expect(&["apply", "--auto-approve"], 0);

    // Seed 000's values-aws.yaml, placeholder in single quotes.
    work.write(
        "values-aws.yaml.tpl",
        "litellm-helm:\n  serviceAccount:\n    create: true\n    annotations:\n      eks.amazonaws.com/role-arn: '%%EKS_AWS_ROLE_ARN%%'\n",
    );
    let rendered = work.expect(&["render", "values-aws.yaml.tpl"], 0);
    let docs = yaml_rust2::YamlLoader::load_from_str(&rendered.stdout).expect("YAML");
    assert_eq!(
        docs[0]["litellm-helm"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].as_str(),
        Some("arn:aws:iam::123456789012:role/litellm-gateway")
    );

    // A sensitive output goes to a file, never to the terminal.
    work.write("secrets.yaml.tpl", "azure:\n  clientSecret: %%AZURE_CLIENT_SECRET%%\n");
    let refused = work.expect(&["render", "secrets.yaml.tpl"], 1);
    assert!(refused.stderr.contains("TF0813") && refused.stderr.contains("AZURE_CLIENT_SECRET"), "{}", refused.stderr);
    assert!(!refused.all().contains("quickstart-placeholder-secret"));
    let written = work.expect(&["render", "secrets.yaml.tpl", "-o", "secrets.yaml"], 0);
    assert!(!written.all().contains("quickstart-placeholder-secret"));
    let docs = yaml_rust2::YamlLoader::load_from_str(&work.read("secrets.yaml")).expect("YAML");
    assert_eq!(docs[0]["azure"]["clientSecret"].as_str(), Some("quickstart-placeholder-secret"));
    let mode = std::fs::metadata(work.file("secrets.yaml")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Every placeholder that cannot be filled is reported at file:line:col, and nothing is written.
    work.write("broken.yaml.tpl", "a: ok\nb: '%%NO_SUCH_OUTPUT%%'\nc: %%ALSO_MISSING%%\n");
    let broken = work.expect(&["render", "broken.yaml.tpl", "-o", "broken.yaml"], 1);
    assert!(broken.stderr.contains("broken.yaml.tpl:2:5"), "{}", broken.stderr);
    assert!(broken.stderr.contains("broken.yaml.tpl:3:4"), "{}", broken.stderr);
    assert!(broken.stderr.contains("EKS_AWS_ROLE_ARN"), "the known outputs are suggested: {}", broken.stderr);
    assert!(!work.file("broken.yaml").exists());
}

#[test]
fn an_s3_backend_over_plain_http_to_another_host_is_refused() {
    let spec = "trustform {\n  backend \"s3\" {\n    bucket   = \"b\"\n    key      = \"k.tfstate\"\n    endpoint = \"http://minio.internal.example:9000\"\n  }\n}\nresource \"trustform_data\" \"a\" {}\n";
    let work = Workdir::new().with_file("main.tf", spec);
    let refused = work.expect(&["plan"], 1);
    assert!(refused.stderr.contains("TF0131"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("The s3 backend's endpoint") && refused.stderr.contains("clear text"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("main.tf:5"), "{}", refused.stderr);
}

/// Issue 13, item 10: a shared state whose object keys and values hold terminal controls (a
/// window title set with ESC ] 0 ; ... BEL, a bidi override) is shown escaped by `state show`
/// and `show`: no control byte reaches the terminal, and the escapes name what was there.
#[test]
fn state_show_escapes_hostile_object_keys() {
    let work = Workdir::new().with_file("main.tf", "resource \"trustform_data\" \"a\" { input = { k = \"v\" } }\n");
    work.expect(&["apply", "--auto-approve"], 0);
    let path = "state/default.tfstate";
    let mut state: serde_json::Value = serde_json::from_str(&work.read(path)).expect("state is JSON");
    let hostile = serde_json::json!({ "\u{1b}]0;pwned\u{7}": "\u{202e}gnp.exe", "\u{202e}key": "\u{1b}[2J" });
    state["resources"][0]["attributes"]["input"] = hostile.clone();
    state["resources"][0]["attributes"]["output"] = hostile;
    work.write(path, &serde_json::to_string(&state).unwrap());

    for args in [&["state", "show", "trustform_data.a"][..], &["show"]] {
        let shown = work.expect(args, 0).stdout;
        for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!shown.contains(raw), "{args:?} printed {raw:?} raw:\n{shown:?}");
        }
        assert!(shown.contains("\\e]0;pwned\\a"), "{args:?}: {shown}");
        assert!(shown.contains("\\u{202e}key"), "{args:?}: {shown}");
        assert!(shown.contains("\\u{202e}gnp.exe"), "{args:?}: {shown}");
        // Inside a quoted string, the value's own quoting escapes ESC first.
        assert!(shown.contains("\\u001b[2J") || shown.contains("\\e[2J"), "{args:?}: {shown}");
    }
}
