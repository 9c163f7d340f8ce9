//! The cross-cloud checks through the binary: each fires on a spec that makes the mistake from
//! the seeds' troubleshooting tables, with its code, severity, both resources and the fix, and
//! stays silent when the spec is right. `trustform lint` runs them without any cloud call over
//! every fixture under `fixtures/lints/` (each says in its own files what it expects); `plan` runs them over planned values
//! against the emulators (`gcp.rs` applies the full seed 001 spec, which must pass them). Every
//! example and every `plans/*` spec must be lint-clean.

mod support;

use std::path::{Path, PathBuf};
use support::clouds::{Clouds, ACCOUNT, GCP_PROJECT};
use support::Workdir;
use trustform_sandbox::SandboxConfig;

fn fixture(code: &str, kind: &str) -> Workdir {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints").join(code).join(kind);
    copy_spec(&dir, Workdir::new())
}

/// The spec files (`*.tf`, `*.tfvars`) of `dir`, copied into `work`.
fn copy_spec(dir: &Path, work: Workdir) -> Workdir {
    for (name, path) in spec_files(dir) {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("tf" | "tfvars")) {
            work.write(&name, &std::fs::read_to_string(&path).unwrap());
        }
    }
    work
}

/// The files of a fixture, by their path relative to it: its own, and those of the modules it
/// calls, kept under its `modules/` directory.
fn spec_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap_or_else(|e| panic!("{}: {e}", at.display())) {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                if at != dir || path.file_name().is_some_and(|n| n == "modules") {
                    pending.push(path);
                }
            } else {
                out.push((name, path));
            }
        }
    }
    out.sort();
    out
}

fn lint_json(work: &Workdir, args: &[&str], code: i32) -> serde_json::Value {
    let run = work.expect(&[&["lint", "--json"][..], args].concat(), code);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", run.all()))
}

/// What a fixture expects, written in its own files: `# expect: CODE[, CODE warning]` at the end
/// of a line the diagnostic points at (or `# expect-next: ...` on the line before one that
/// cannot hold a comment, such as a heredoc's opening), `# fix CODE: PHRASE` for a phrase each
/// diagnostic of that code must give, and `# related: CODE` when it must name a second place.
#[derive(Default)]
struct Expected {
    /// `(file, line, code, severity)`, sorted.
    diagnostics: Vec<(String, u64, String, String)>,
    fixes: Vec<(String, String)>,
    related: Vec<String>,
}

fn expectations(dir: &Path) -> Expected {
    let mut expected = Expected::default();
    for (file, path) in spec_files(dir) {
        if path.extension().and_then(|e| e.to_str()) != Some("tf") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (index, line) in text.lines().enumerate() {
            let number = index as u64 + 1;
            let (at, codes) = if let Some((_, codes)) = line.split_once("# expect-next:") {
                (number + 1, codes)
            } else if let Some((_, codes)) = line.split_once("# expect:") {
                (number, codes)
            } else {
                if let Some(rest) = line.strip_prefix("# fix ") {
                    let (code, phrase) = rest.split_once(": ").expect("# fix CODE: PHRASE");
                    expected.fixes.push((code.to_owned(), phrase.to_owned()));
                }
                if let Some(code) = line.strip_prefix("# related: ") {
                    expected.related.push(code.trim().to_owned());
                }
                continue;
            };
            for code in codes.split(',') {
                let mut words = code.split_whitespace();
                let code = words.next().expect("a code after # expect:").to_owned();
                let severity = words.next().unwrap_or("error").to_owned();
                expected.diagnostics.push((file.clone(), at, code, severity));
            }
        }
    }
    expected.diagnostics.sort();
    expected
}

/// Every fixture under `fixtures/lints/` (a directory holding a `*.tf`), at any depth; a
/// fixture's `modules/` directory holds the modules it calls, not fixtures.
fn lint_fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        if entries.iter().any(|p| p.extension().and_then(|e| e.to_str()) == Some("tf")) {
            out.push(dir.to_owned());
        }
        for entry in entries.into_iter().filter(|p| p.is_dir() && !p.ends_with("modules")) {
            walk(&entry, out);
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints"), &mut out);
    out
}

#[test]
fn every_lint_fixture_reports_what_it_expects() {
    let fixtures = lint_fixtures();
    assert!(fixtures.len() >= 38, "{fixtures:?}");
    for dir in fixtures {
        let name = dir.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints")).unwrap();
        let expected = expectations(&dir);
        let errors = expected.diagnostics.iter().any(|(_, _, _, severity)| severity == "error");
        let json = lint_json(&copy_spec(&dir, Workdir::new()), &[], if errors { 1 } else { 0 });
        let found = json["diagnostics"].as_array().unwrap();
        let mut actual: Vec<(String, u64, String, String)> = found
            .iter()
            .map(|d| {
                let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                (text("file"), d["line"].as_u64().unwrap_or_default(), text("code"), text("severity"))
            })
            .collect();
        actual.sort();
        assert_eq!(actual, expected.diagnostics, "{}: {json:#}", name.display());
        for d in found {
            let code = d["code"].as_str().unwrap();
            assert!(d["address"].is_string(), "{}: {d:#}", name.display());
            assert!(d["end_line"].as_u64().unwrap() >= d["line"].as_u64().unwrap(), "{d:#}");
            for (_, phrase) in expected.fixes.iter().filter(|(c, _)| c == code) {
                assert!(
                    d["detail"].as_str().unwrap().contains(phrase.as_str()),
                    "{}: the fix {phrase:?}: {d:#}",
                    name.display()
                );
            }
            if expected.related.iter().any(|c| c == code) {
                let related = d["related"].as_array().unwrap();
                assert!(!related.is_empty() && related[0]["line"].as_u64().unwrap() > 0, "names both: {d:#}");
            }
        }
    }
}

#[test]
fn lint_json_has_one_stable_shape() {
    let json = lint_json(&fixture("TF1312", "bad"), &[], 1);
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
}

/// The managed identity federation checks as people read them.
#[test]
fn federated_credential_checks_render_for_people() {
    for code in ["TF1327", "TF1328", "TF1329", "TF1330"] {
        let lint = fixture(code, "bad").expect(&["lint"], 1);
        insta::assert_snapshot!(code, lint.stderr);
    }
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

/// Issue 16: seed 001's mistake written the way users write it, with references, is flagged by
/// `lint` (no cloud: the account is a hole) and by `plan --sandbox` (the account known from the
/// emulated STS) at the member's line, naming the assumed-role form; both `--json` reports
/// share one shape.
#[test]
fn seed_001_with_references_is_flagged_by_lint_and_by_plan_at_the_member() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints/TF1302/references");
    let text = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    let member_line = text.lines().position(|line| line.contains("member ") && line.contains("${")).unwrap() as u64 + 1;
    let work = copy_spec(&dir, Workdir::new());
    let finding = |json: &serde_json::Value| {
        let found: Vec<serde_json::Value> =
            json["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "TF1302").cloned().collect();
        assert_eq!(found.len(), 1, "{json:#}");
        found[0].clone()
    };

    let lint = lint_json(&work, &[], 1);
    let linted = finding(&lint);
    assert_eq!((linted["file"].as_str(), linted["line"].as_u64()), (Some("main.tf"), Some(member_line)));
    let detail = linted["detail"].as_str().unwrap();
    assert!(
        detail.contains("arn:aws:sts::${data.aws_caller_identity.me.account_id}:assumed-role/GatewayPodRole"),
        "names the form Google's default mapping produces: {detail}"
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&lint["diagnostics"]).unwrap());

    let plan = work.expect(&["plan", "--sandbox", "--json"], 1);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", plan.all()));
    let planned = finding(&json);
    assert_eq!((planned["file"].as_str(), planned["line"].as_u64()), (Some("main.tf"), Some(member_line)));
    let detail = planned["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/GatewayPodRole")), "{detail}");
    let keys = |d: &serde_json::Value| d.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&planned), keys(&linted), "one diagnostics shape for lint --json and plan --json");
}

/// Issue 16, item 2, on a spec of its own: with the account and the project number known to the
/// providers at plan, the ARNs and pool names are values in the rendered plan (not "(known after
/// apply)"), and so is everything built from them; the apply makes exactly those (TF1090
/// otherwise), and the next plan is empty.
#[test]
fn derived_arns_and_pool_names_show_in_the_plan_and_the_apply_keeps_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/derived/edge-relay");
    let work = copy_spec(&dir, Workdir::new());
    let planned = work.expect(&["plan", "--sandbox"], 0);
    insta::assert_snapshot!("derived_values_plan", planned.stdout);
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/edge/edge-relay");
    assert!(planned.stdout.contains(&format!("+ arn                  = \"{role_arn}\"")), "{}", planned.stdout);
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 7 added"), "{}", applied.all());
    assert!(!applied.all().contains("TF1090"), "{}", applied.all());
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    assert!(env.contains(&role_arn), "{env}");
    work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
}

/// A role IAM names from a prefix, granted in its role form: `lint` reads the ARN as the
/// provider derives it (account and suffix holes), `plan --sandbox` with the account the
/// provider looked up, both at the member's line.
#[test]
fn a_role_named_by_iam_is_flagged_at_plan_with_the_derived_account() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lints/TF1302/generated-name");
    let text = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    let member_line = text.lines().position(|line| line.contains("# expect: TF1302")).unwrap() as u64 + 1;
    let work = copy_spec(&dir, Workdir::new());
    let plan = work.expect(&["plan", "--sandbox", "--json"], 1);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", plan.all()));
    let found: Vec<&serde_json::Value> =
        json["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "TF1302").collect();
    assert_eq!(found.len(), 1, "{json:#}");
    assert_eq!((found[0]["file"].as_str(), found[0]["line"].as_u64()), (Some("main.tf"), Some(member_line)));
    let detail = found[0]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("arn:aws:iam::{ACCOUNT}:role/relay-")), "the derived ARN: {detail}");
    assert!(detail.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/relay-")), "the fix: {detail}");
}
