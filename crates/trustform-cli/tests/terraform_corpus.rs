//! The differential corpus: small specs with the answers Terraform gives for them, run through
//! the binary (`apply --sandbox --env-file ''`, then `output --sandbox --json`; `plan --sandbox`
//! for errors). Each case is a directory of `tests/fixtures/terraform-corpus/` holding
//! `main.tf` (and any file it reads) and `expected`, whose first line names the source of the
//! answer (a page of Terraform's documentation, or the go-cty / terraform / hcl source and
//! test it mirrors). The other lines of `expected`:
//!
//! * `NAME = JSON`: the output's `value` in `output -json`, not sensitive;
//! * `sensitive NAME = JSON`: the same, marked sensitive;
//! * `absent NAME`: `output -json` has no such output (a null output is not stored);
//! * `error SUMMARY`: `plan` fails with a diagnostic of that summary.

mod support;

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use support::Workdir;

enum Expect {
    Value { name: String, sensitive: bool, value: Json },
    Absent(String),
    Error(String),
}

struct Case {
    name: String,
    dir: PathBuf,
    expects: Vec<Expect>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform-corpus")
}

fn parse_expected(name: &str, text: &str) -> Vec<Expect> {
    let mut lines = text.lines();
    let source = lines.next().unwrap_or_default();
    assert!(
        source.starts_with("# source: ") && source.len() > "# source: ".len() + 10,
        "{name}: the first line of expected must name the source of the answer"
    );
    let mut expects = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        if let Some(summary) = line.strip_prefix("error ") {
            expects.push(Expect::Error(summary.to_owned()));
        } else if let Some(output) = line.strip_prefix("absent ") {
            expects.push(Expect::Absent(output.to_owned()));
        } else {
            let (left, json) = line.split_once(" = ").unwrap_or_else(|| panic!("{name}: cannot read {line:?}"));
            let (sensitive, output) = match left.strip_prefix("sensitive ") {
                Some(output) => (true, output),
                None => (false, left),
            };
            let value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {json} is not JSON: {e}"));
            expects.push(Expect::Value { name: output.to_owned(), sensitive, value });
        }
    }
    assert!(!expects.is_empty(), "{name}: expected says nothing");
    expects
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.is_dir())
        .map(|dir| {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let expected =
                std::fs::read_to_string(dir.join("expected")).unwrap_or_else(|_| panic!("{name}: no expected"));
            Case { expects: parse_expected(&name, &expected), name, dir }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs one case; `Err` says how the binary's answer differs from Terraform's.
fn run(case: &Case) -> Result<(), String> {
    let work = Workdir::new();
    for entry in std::fs::read_dir(&case.dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if file != "expected" {
            work.write(&file, &std::fs::read_to_string(&path).map_err(|e| e.to_string())?);
        }
    }
    let errors: Vec<&String> = case
        .expects
        .iter()
        .filter_map(|e| match e {
            Expect::Error(summary) => Some(summary),
            _ => None,
        })
        .collect();
    if !errors.is_empty() {
        let plan = work.run(&["plan", "--sandbox"]);
        if plan.code != 1 {
            return Err(format!("plan exited {} instead of failing:\n{}", plan.code, plan.all()));
        }
        for summary in errors {
            if !plan.stderr.contains(summary.as_str()) {
                return Err(format!("plan did not report {summary:?}:\n{}", plan.all()));
            }
        }
        return Ok(());
    }
    // No env file: it is Trustform's, not Terraform's, and refuses values (lists, quotes)
    // that are fine outputs.
    let apply = work.run(&["apply", "--sandbox", "--auto-approve", "--env-file", ""]);
    if apply.code != 0 {
        return Err(format!("apply exited {}:\n{}", apply.code, apply.all()));
    }
    let shown = work.run(&["output", "--sandbox", "--json"]);
    if shown.code != 0 {
        return Err(format!("output --json exited {}:\n{}", shown.code, shown.all()));
    }
    let outputs: Json = serde_json::from_str(&shown.stdout).map_err(|e| format!("output --json is not JSON: {e}"))?;
    for expect in &case.expects {
        match expect {
            Expect::Value { name, sensitive, value } => {
                let got = outputs.get(name).ok_or_else(|| format!("no output {name:?} in {outputs}"))?;
                if got.get("value") != Some(value) {
                    return Err(format!("output {name}: Terraform gives {value}, got {}", got["value"]));
                }
                if got.get("sensitive") != Some(&Json::Bool(*sensitive)) {
                    return Err(format!("output {name}: sensitive should be {sensitive}, got {}", got["sensitive"]));
                }
            }
            Expect::Absent(name) => {
                if let Some(got) = outputs.get(name) {
                    return Err(format!("output {name} should be absent, got {got}"));
                }
            }
            Expect::Error(_) => {}
        }
    }
    Ok(())
}

#[test]
fn the_binary_gives_terraforms_answers_for_the_corpus() {
    let cases = cases();
    assert!(cases.len() >= 150, "the corpus has {} cases; it should have at least 150", cases.len());
    let workers = 4;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let cases = &cases;
                scope.spawn(move || {
                    cases
                        .iter()
                        .skip(worker)
                        .step_by(workers)
                        .filter_map(|case| run(case).err().map(|why| format!("{}: {why}", case.name)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a worker finished")).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Terraform:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn expected_files_are_read_strictly() {
    let expects = parse_expected(
        "t",
        "# source: https://example.com/doc\nv = [1]\nsensitive s = \"x\"\nabsent n\nerror Invalid for_each argument\n",
    );
    assert!(
        matches!(&expects[0], Expect::Value { name, sensitive: false, value } if name == "v" && value == &serde_json::json!([1]))
    );
    assert!(matches!(&expects[1], Expect::Value { name, sensitive: true, .. } if name == "s"));
    assert!(matches!(&expects[2], Expect::Absent(name) if name == "n"));
    assert!(matches!(&expects[3], Expect::Error(summary) if summary == "Invalid for_each argument"));
}
