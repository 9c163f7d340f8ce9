//! The cross-cloud checks through the binary: each fires on a spec that makes the mistake from
//! the seeds' troubleshooting tables, with its code, severity, both resources and the fix, and
//! stays silent when the spec is right. `trustform lint` runs them without any cloud call over
//! the fixture pairs under `fixtures/lints/CODE/{bad,good}`; `plan` runs them over planned values
//! against the emulators (`gcp.rs` applies the full seed 001 spec, which must pass them). Every
//! example and every `plans/*` spec must be lint-clean.

mod support;

use std::path::{Path, PathBuf};
use support::clouds::{Clouds, ACCOUNT, GCP_PROJECT};
use support::Workdir;
use trustform_sandbox::SandboxConfig;

/// One check: its code, whether it is an error (or a warning), a phrase of the fix its detail
/// must give, whether it names a second location, and how many mistakes its `bad` fixture makes.
struct Case {
    code: &'static str,
    error: bool,
    fix: &'static str,
    related: bool,
    count: usize,
}

const fn case(code: &'static str, error: bool, fix: &'static str, related: bool) -> Case {
    Case { code, error, fix, related, count: 1 }
}

/// A `bad` fixture that makes the mistake in `count` places (an output and a variable, a
/// principalSet and a condition, ...).
const fn cases(code: &'static str, error: bool, fix: &'static str, related: bool, count: usize) -> Case {
    Case { code, error, fix, related, count }
}

const CASES: &[Case] = &[
    case("TF1301", true, "data.google_project.NAME.number", false),
    case("TF1302", true, "attribute.aws_role/arn:aws:sts::123456789012:assumed-role/LitellmPodRole", true),
    case("TF1303", true, "Set aws.account_id", true),
    case("TF1304", true, "data.google_project.NAME.number", false),
    cases("TF1305", true, "data.google_project.NAME.project_id", false, 3),
    cases("TF1306", true, "attribute_mapping", true, 2),
    case("TF1307", true, "roles/iam.workloadIdentityUser", true),
    case("TF1308", true, "remove imdsv2_session_token_url", false),
    case("TF1309", false, "environment = \"eks_fargate\"", true),
    cases("TF1310", true, "system:serviceaccount:", false, 2),
    case("TF1311", true, "\"sts.amazonaws.com\"", false),
    case("TF1312", true, "sts:TagSession", true),
    case("TF1313", false, "names the repository", false),
    case("TF1314", true, "assignable_scopes", true),
    case("TF1315", false, "Remove the output", true),
    case("TF1316", true, "google_iam_workload_identity_pool_provider.NAME.name", true),
    case("TF1318", true, "Name the service account and namespace", false),
    case("TF1319", true, "capabilities = [\"read\"]", true),
    cases("TF1320", true, "vault_kv_secret_v2", false, 2),
];

fn fixture(code: &str, kind: &str) -> Workdir {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints").join(code).join(kind);
    copy_spec(&dir, Workdir::new())
}

/// The spec files (`*.tf`, `*.tfvars`) of `dir`, copied into `work`.
fn copy_spec(dir: &Path, work: Workdir) -> Workdir {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("tf" | "tfvars")) {
            let name = path.file_name().unwrap().to_str().unwrap();
            work.write(name, &std::fs::read_to_string(&path).unwrap());
        }
    }
    work
}

fn lint_json(work: &Workdir, args: &[&str], code: i32) -> serde_json::Value {
    let run = work.expect(&[&["lint", "--json"][..], args].concat(), code);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", run.all()))
}

#[test]
fn lint_finds_each_mistake_and_passes_the_right_spec() {
    for case in CASES {
        let json = lint_json(&fixture(case.code, "bad"), &[], if case.error { 1 } else { 0 });
        let found: Vec<&serde_json::Value> =
            json["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == case.code).collect();
        assert_eq!(found.len(), case.count, "{} fires once per mistake: {json:#}", case.code);
        for d in &found {
            assert_eq!(d["severity"], if case.error { "error" } else { "warning" }, "{d:#}");
            assert_eq!(d["file"], "main.tf", "{} points into the spec: {d:#}", case.code);
            assert!(d["line"].as_u64().unwrap() > 0 && d["end_line"].as_u64().unwrap() >= d["line"].as_u64().unwrap());
            assert!(d["address"].is_string(), "{d:#}");
            assert!(
                d["detail"].as_str().unwrap().contains(case.fix),
                "{} gives the fix {:?}: {d:#}",
                case.code,
                case.fix
            );
            if case.related {
                let related = d["related"].as_array().unwrap();
                assert!(!related.is_empty() && related[0]["line"].as_u64().unwrap() > 0, "names both: {d:#}");
            }
        }
        let json = lint_json(&fixture(case.code, "good"), &[], 0);
        assert_eq!(json["diagnostics"], serde_json::json!([]), "{} on the right spec: {json:#}", case.code);
    }
}

#[test]
fn lint_json_has_one_stable_shape() {
    let json = lint_json(&fixture("TF1312", "bad"), &[], 1);
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
}

#[test]
fn lint_renders_for_people_and_validate_runs_the_checks_too() {
    let work = fixture("TF1314", "bad");
    let lint = work.expect(&["lint"], 1);
    assert!(lint.stderr.contains("TF1314") && lint.stderr.contains("main.tf:"), "{}", lint.all());
    let validate = work.expect(&["validate"], 1);
    assert!(validate.stderr.contains("TF1314"), "{}", validate.all());
    let warned = fixture("TF1313", "bad").expect(&["lint"], 0);
    assert!(warned.stderr.contains("TF1313") && warned.stdout.contains("No problems found"), "{}", warned.all());
}

#[test]
fn lint_makes_no_cloud_call() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    clouds.run(&work, &["lint"], 0);
    let plan = Workdir::new().with_file("main.tf", &spec(GCP_PROJECT, "arn:aws:iam::1:role/R", ACCOUNT));
    clouds.run(&plan, &["lint"], 1);
    assert_eq!(clouds.sandbox.request_count(), 0, "lint reads no data source and refreshes nothing");
    assert!(!work.file("gcp_aws_external_account.json").exists(), "lint writes no credential file");
}

/// Every directory under `examples/` and `plans/` that holds a spec.
fn shipped_specs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = Vec::new();
    for parent in ["examples", "plans"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else { continue };
        for entry in entries.flatten() {
            let dir = entry.path();
            let has_spec = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|file| file.path().extension().and_then(|e| e.to_str()) == Some("tf"));
            if has_spec {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn every_example_and_plan_is_lint_clean() {
    let specs = shipped_specs();
    assert!(specs.iter().any(|dir| dir.ends_with("plans/litellm-keyless")), "{specs:?}");
    for dir in specs {
        // A plan may call the other plans as modules: it is copied beside them.
        let work = match dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()) {
            Some("plans") => Workdir::plan(dir.file_name().and_then(|n| n.to_str()).unwrap()),
            _ => copy_spec(&dir, Workdir::new()),
        };
        let args: &[&str] = if dir.join("sandbox.tfvars").exists() { &["--var-file", "sandbox.tfvars"] } else { &[] };
        let json = lint_json(&work, args, 0);
        assert_eq!(json["diagnostics"], serde_json::json!([]), "{}: {json:#}", dir.display());
    }
}

/// Seed 001's federation, with the principalSet's project and role ARN and the provider's
/// trusted account as given.
fn spec(project: &str, role_arn: &str, trusted_account: &str) -> String {
    format!(
        r#"data "google_project" "vertex" {{
  project_id = "{GCP_PROJECT}"
}}

resource "google_iam_workload_identity_pool" "aws" {{
  workload_identity_pool_id = "aws-pool"
}}

resource "google_iam_workload_identity_pool_provider" "aws" {{
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-provider"
  aws {{
    account_id = "{trusted_account}"
  }}
}}

resource "google_service_account" "litellm" {{
  account_id = "litellm-wif-sa"
}}

resource "google_service_account_iam_member" "workload_identity_user" {{
  service_account_id = google_service_account.litellm.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/{project}/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/{role_arn}"
}}
"#
    )
}

const NUMBER: &str = "${data.google_project.vertex.number}";

fn plan(clouds: &Clouds, spec: &str, code: i32) -> String {
    let work = Workdir::new().with_file("main.tf", spec);
    clouds.run(&work, &["plan"], code).all()
}

#[test]
fn each_check_fires_on_its_mistake_and_the_right_spec_passes() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let assumed = format!("arn:aws:sts::{ACCOUNT}:assumed-role/LitellmPodRole");

    let right = plan(&clouds, &spec(NUMBER, &assumed, ACCOUNT), 0);
    assert!(!right.contains("TF130"), "{right}");

    let by_id = plan(&clouds, &spec(GCP_PROJECT, &assumed, ACCOUNT), 1);
    assert!(by_id.contains("TF1301") && by_id.contains("data.google_project.NAME.number"), "{by_id}");
    assert!(by_id.contains("main.tf:"), "the diagnostic points into the spec: {by_id}");

    let role_form = plan(&clouds, &spec(NUMBER, &format!("arn:aws:iam::{ACCOUNT}:role/LitellmPodRole"), ACCOUNT), 1);
    assert!(role_form.contains("TF1302"), "{role_form}");
    assert!(role_form.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/LitellmPodRole")), "the fix: {role_form}");
    assert!(role_form.contains("google_iam_workload_identity_pool_provider.aws"), "names both resources: {role_form}");

    let other_account = plan(&clouds, &spec(NUMBER, &assumed, "999999999999"), 1);
    assert!(other_account.contains("TF1303") && other_account.contains("999999999999"), "{other_account}");
}

#[test]
fn plan_stops_on_the_new_checks_too() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    // Without its workloadIdentityUser grant, seed 001's service account cannot be impersonated.
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    let spec = work.read("main.tf");
    let start = spec.find("resource \"google_service_account_iam_member\" \"workload_identity_user\"").unwrap();
    let end = start + spec[start..].find("\n}\n").unwrap() + 3;
    work.write("main.tf", &format!("{}{}", &spec[..start], &spec[end..]));
    let plan = clouds.run(&work, &["plan"], 1);
    assert!(plan.stderr.contains("TF1307") && plan.stderr.contains("google_credential_config.ec2"), "{}", plan.all());

    let assignment = clouds.run(&fixture("TF1314", "bad"), &["plan"], 1);
    assert!(assignment.stderr.contains("TF1314"), "{}", assignment.all());
}
