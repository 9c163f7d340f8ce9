//! Inputs that once crashed, hung or misled the binary (found by mutating the shipped specs, by
//! fuzzing and by hostile environments) end with a located diagnostic, never a panic, an abort
//! or a hang. Each folder of `fixtures/crashers/` is a spec and an `expect` file naming the code
//! that both `validate --json` and `plan` must report; a new crasher is a new folder.

mod support;

use std::path::Path;
use support::Workdir;

/// Runs `trustform ARGS` under a 4 GiB address-space cap, so that an input that makes it grow
/// without bound fails this test instead of the machine.
fn capped(work: &Workdir, args: &str) -> support::Run {
    let binary = env!("CARGO_BIN_EXE_trustform");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 4194304; exec '{binary}' {args}"))
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .env_remove("TRUSTFORM_LOG")
        .output()
        .expect("trustform runs");
    support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn copy_case(source: &Path) -> Workdir {
    let work = Workdir::new();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name != "expect" {
            std::fs::copy(&path, work.file(&name)).unwrap();
        }
    }
    work
}

#[test]
fn every_crasher_ends_with_a_located_diagnostic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crashers");
    let mut cases: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    cases.sort();
    assert!(cases.len() >= 9, "the crashers are found: {cases:?}");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(case.join("expect")).unwrap().trim().to_owned();
        let work = copy_case(&case);

        let validate = capped(&work, "validate --json");
        assert_eq!(validate.code, 1, "{name}: validate exits 1 (not 101, not killed):\n{}", validate.all());
        let json: serde_json::Value =
            serde_json::from_str(&validate.stdout).unwrap_or_else(|e| panic!("{name}: {e}\n{}", validate.all()));
        let diagnostics = json["diagnostics"].as_array().unwrap();
        assert!(
            diagnostics.iter().any(|d| d["code"] == expected.as_str()),
            "{name}: validate reports {expected}: {}",
            validate.stdout
        );
        for d in diagnostics {
            assert!(d["file"].is_string() && d["line"].as_u64().unwrap_or(0) > 0, "{name}: located: {d}");
        }

        let plan = capped(&work, "plan");
        assert_eq!(plan.code, 1, "{name}: plan exits 1:\n{}", plan.all());
        assert!(plan.stderr.contains(&expected), "{name}: plan reports {expected}:\n{}", plan.stderr);
        assert!(!plan.all().contains("panicked"), "{name}:\n{}", plan.all());
        assert!(plan.stderr.lines().all(|line| line.chars().count() < 400), "{name}: snippet lines are cut");
        assert!(!plan.all().contains("tok-SECRET-123"), "{name}: no secret printed:\n{}", plan.all());
        assert!(!validate.all().contains("tok-SECRET-123"), "{name}: no secret printed:\n{}", validate.all());
    }
}

#[test]
fn twelve_thousand_chained_locals_do_not_overflow_the_stack() {
    let mut spec = String::from("locals {\n  l0 = 1\n");
    for i in 1..12_000 {
        spec.push_str(&format!("  l{i} = local.l{} + 1\n", i - 1));
    }
    spec.push_str("}\n\noutput \"last\" {\n  value = local.l11999\n}\n");
    let work = Workdir::new().with_file("main.tf", &spec);
    let validate = capped(&work, "validate");
    assert_eq!(validate.code, 0, "{}", validate.all());
    let plan = capped(&work, "plan");
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.stdout.contains("+ last = 12000"), "{}", plan.stdout);
}

#[test]
fn a_sensitive_tfvars_value_of_the_wrong_type_is_neither_quoted_nor_shown_in_a_snippet() {
    let work = Workdir::new()
        .with_file(
            "main.tf",
            "variable \"pin\" {\n  type      = number\n  sensitive = true\n}\n\noutput \"pin_set\" {\n  value = var.pin != null\n}\n",
        )
        .with_file("trustform.tfvars", "pin = \"hunter2-canary\"\n");
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.stderr.contains("TF0303") && plan.stderr.contains("trustform.tfvars:1:"), "{}", plan.stderr);
    assert!(!plan.all().contains("hunter2"), "the secret is not shown:\n{}", plan.all());
    let lint = work.run(&["lint", "--json"]);
    assert!(!lint.all().contains("hunter2"), "{}", lint.all());
}

#[test]
fn a_state_at_the_largest_serial_is_refused_before_anything_changes() {
    let work = Workdir::example("quickstart");
    work.expect(&["apply", "--auto-approve"], 0);
    let state = work.read("state/default.tfstate");
    let at_max = state
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("\"serial\"") {
                "  \"serial\": 18446744073709551615,".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    work.write("state/default.tfstate", &at_max);
    let apply = work.run(&["apply", "--auto-approve", "--replace", "trustform_data.pool"]);
    assert_eq!(apply.code, 1, "{}", apply.all());
    assert!(apply.stderr.contains("TF1017"), "{}", apply.stderr);
    assert!(!apply.all().contains("panicked") && !apply.all().contains("Creation complete"), "{}", apply.all());
    assert_eq!(work.read("state/default.tfstate"), at_max, "the state is untouched");
    assert!(!work.file("errored.tfstate").exists());
    assert!(!work.file("state/default.tfstate.lock").exists() && !work.file(".trustform.lock").exists());
}
