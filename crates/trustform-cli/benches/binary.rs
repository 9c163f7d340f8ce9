//! The `trustform` binary timed as a user runs it (DESIGN section 9): `plan` with no state,
//! `apply --auto-approve` from no state (which plans first, as Terraform's does), and `plan`
//! after the apply, over chains ten deep of zero-latency `trustform_data` resources, with a
//! local state on disk. This is how issue 17 measured Terraform and Trustform side by side; the
//! engine's own figures (its apply and plan calls alone) are `cargo bench -p trustform-engine`.
//! Prints figures; asserts only that each command succeeded and the state holds every resource.
//!
//! Run: `cargo bench -p trustform-cli --bench binary`. `TRUSTFORM_BENCH_SIZES=5000`
//! (comma-separated; default 1000 and 5000) picks the sizes, `TRUSTFORM_BENCH_RUNS` (default 5)
//! how many times each command runs; the median is printed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `n` resources in chains ten deep: r[i] reads r[i-1], except where a chain starts.
fn deep_spec(n: usize) -> String {
    let mut spec = String::with_capacity(n * 110);
    for i in 0..n {
        let after = if i % 10 == 0 { "\"root\"".to_owned() } else { format!("trustform_data.r{}.output.name", i - 1) };
        spec.push_str(&format!(
            "resource \"trustform_data\" \"r{i}\" {{\n  input = {{ name = \"r{i}\", after = {after} }}\n}}\n"
        ));
    }
    spec
}

/// Runs `trustform --chdir dir args...`, output discarded, and returns its wall time.
fn timed(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_trustform"))
        .arg("--chdir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the trustform binary runs");
    let elapsed = started.elapsed();
    assert!(status.success(), "trustform {args:?} failed in {}", dir.display());
    elapsed
}

fn forget_state(dir: &Path) {
    for leftover in ["state", ".trustform", "outputs", "deployment_outputs.env"] {
        let path = dir.join(leftover);
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
    }
}

fn stored_resources(dir: &Path) -> usize {
    let bytes = std::fs::read(dir.join("state/default.tfstate")).expect("apply left a state file");
    let state: serde_json::Value = serde_json::from_slice(&bytes).expect("the state file is JSON");
    state["resources"].as_array().map_or(0, Vec::len)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn setting<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TRUSTFORM_BENCH_SIZES")
        .ok()
        .map(|sizes| sizes.split(',').filter_map(|n| n.trim().parse().ok()).collect::<Vec<usize>>())
        .filter(|sizes| !sizes.is_empty())
        .unwrap_or_else(|| vec![1_000, 5_000]);
    let runs = setting::<usize>("TRUSTFORM_BENCH_RUNS").filter(|&n| n > 0).unwrap_or(5);
    println!("== the trustform binary: chains ten deep of trustform_data, local state with fsync");
    println!("(median of {runs} runs; apply plans first, as `trustform apply` does)");
    println!("{:>8} {:>16} {:>10} {:>18} {:>12}", "n", "plan, no state", "apply", "plan after apply", "apply/plan");
    for n in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.tf"), deep_spec(n)).expect("spec written");
        let (mut plans, mut applies, mut replans) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            forget_state(dir.path());
            plans.push(timed(dir.path(), &["plan"]));
            applies.push(timed(dir.path(), &["apply", "--auto-approve"]));
            assert_eq!(stored_resources(dir.path()), n, "every resource is in the state file");
            replans.push(timed(dir.path(), &["plan"]));
        }
        let (plan, apply, replan) = (median(plans), median(applies), median(replans));
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{n:>8} {:>13.1} ms {:>7.1} ms {:>15.1} ms {:>12.2}",
            ms(plan),
            ms(apply),
            ms(replan),
            apply.as_secs_f64() / plan.as_secs_f64()
        );
    }
}
