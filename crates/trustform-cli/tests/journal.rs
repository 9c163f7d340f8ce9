//! The state journal under SIGKILL: an apply of many zero-latency resources is killed at random
//! points, its state is read back (snapshot plus journal, torn tail dropped), every resource it
//! reported complete is there, and the next apply finishes with an exact (empty) plan after it.
//! Plaintext and encrypted. Synchronisation is by the child's own progress lines.
//!
//! CI runs a small variant (5 kills of a 300-resource apply, each kind). The full run is
//! the same test with `TRUSTFORM_KILL_RUNS=50 TRUSTFORM_KILL_RESOURCES=2000`.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use support::{kill_after_completions, Workdir};
use trustform_lang::ResourceAddr;
use trustform_state::State;

const PASSPHRASE: &str = "journal kill test passphrase";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` trustform_data resources in ten interleaved chains: r[i] reads r[i-10].
fn chains(n: usize, encrypted: bool) -> String {
    let mut spec = String::new();
    if encrypted {
        spec.push_str(
            "trustform {\n  encryption {\n    key_provider \"pbkdf2\" \"main\" { iterations = 200000 }\n    method \"aes_gcm\" \"main\" { keys = key_provider.pbkdf2.main }\n    state {\n      method   = method.aes_gcm.main\n      enforced = true\n    }\n  }\n}\n",
        );
    }
    for i in 0..n {
        let after = if i < 10 { "\"root\"".to_owned() } else { format!("trustform_data.r{}.output.name", i - 10) };
        spec.push_str(&format!(
            "resource \"trustform_data\" \"r{i}\" {{\n  input = {{ name = \"r{i}\", after = {after} }}\n}}\n"
        ));
    }
    spec
}

/// The state as `state pull` reads it: through the backend, journal replayed.
fn pulled(work: &Workdir, env: &[(&str, &str)]) -> State {
    let run = work.run_with_env(&["state", "pull"], env);
    assert_eq!(run.code, 0, "state pull after SIGKILL failed:\n{}", run.all());
    State::from_json_bytes(run.stdout.as_bytes()).unwrap_or_else(|e| panic!("state pull prints a state: {e}"))
}

/// A deterministic spread of kill points, different for every run of the test binary.
fn kill_points(runs: usize, resources: usize) -> Vec<usize> {
    let mut seed = u64::from(std::process::id()) | 1;
    (0..runs)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            1 + (seed % (resources as u64 - 1)) as usize
        })
        .collect()
}

fn kill_and_reapply(encrypted: bool) {
    let runs = knob("TRUSTFORM_KILL_RUNS", 5);
    let resources = knob("TRUSTFORM_KILL_RESOURCES", 300);
    let env: Vec<(&str, &str)> = if encrypted { vec![("TRUSTFORM_STATE_PASSPHRASE", PASSPHRASE)] } else { vec![] };
    let mut kill_at = kill_points(runs, resources);
    // The extremes too: right after the first record, and with one resource to go.
    if runs >= 2 {
        kill_at[0] = 1;
        kill_at[1] = resources - 1;
    }
    for (run, kill_after) in kill_at.into_iter().enumerate() {
        let work = Workdir::new().with_file("main.tf", &chains(resources, encrypted));
        let mut apply = work.command(&["apply", "--auto-approve"]);
        let mut child = apply.envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
        let completed: BTreeSet<ResourceAddr> =
            kill_after_completions(child, &mut lines, kill_after).into_iter().collect();

        let state = pulled(&work, &env);
        let held: BTreeSet<&ResourceAddr> = state.resources.keys().collect();
        let lost: Vec<&ResourceAddr> = completed.iter().filter(|addr| !held.contains(addr)).collect();
        assert!(lost.is_empty(), "run {run}, killed after {kill_after}: reported complete but lost: {lost:?}");
        if encrypted {
            let snapshot = std::fs::read(work.file("state/default.tfstate")).ok();
            let journal = std::fs::read(work.file("state/default.tfstate.journal")).ok();
            for bytes in snapshot.iter().chain(&journal) {
                let plain = bytes.windows(b"\"r1\"".len()).any(|w| w == b"\"r1\"");
                assert!(!plain, "run {run}: an attribute value reached the disk unencrypted");
            }
        }

        // The local lock is an OS file lock that died with the killed process: the plain
        // re-apply takes it with no `force-unlock` (and the kill may even have landed after the
        // apply finished and released it).
        let resumed = work.run_with_env(&["apply", "--auto-approve"], &env);
        assert_eq!(resumed.code, 0, "run {run}: the apply after the kill failed:\n{}", resumed.all());
        let created = resumed.stderr.lines().filter(|l| l.contains("Creation complete")).count();
        assert!(
            created <= resources - completed.len(),
            "run {run}: resources recorded before the kill were created again ({created} created)"
        );
        let plan = work.run_with_env(&["plan", "--detailed-exitcode"], &env);
        assert_eq!(plan.code, 0, "run {run}: the plan after re-applying is not empty:\n{}", plan.all());
        let state = pulled(&work, &env);
        assert_eq!(state.resources.len(), resources, "run {run}");
        // An apply with nothing left to do writes nothing; one that changed something folds
        // the journal into the state file at its end.
        let journal = work.file("state/default.tfstate.journal");
        assert!(created == 0 || !journal.exists(), "run {run}: a finished apply folds its journal");
    }
}

#[test]
fn sigkill_at_random_points_loses_no_resource_and_the_next_apply_converges() {
    kill_and_reapply(false);
}

#[test]
fn sigkill_at_random_points_loses_no_resource_with_encryption_on() {
    kill_and_reapply(true);
}
