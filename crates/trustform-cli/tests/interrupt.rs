//! Killing an apply at a random point loses nothing, and a second apply while the first holds
//! the lock is refused with the holder's details. Synchronisation is by the child's own output
//! lines, never by sleeping.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use support::{completed_address, kill_after_completions, Workdir};
use trustform_state::State;

/// Three chains of eight 150 ms sleeps: an apply that takes about 1.2 s.
fn slow_spec() -> String {
    let mut spec = String::new();
    for chain in 0..3 {
        for step in 0..8 {
            let triggers = if step == 0 {
                "{ start = \"go\" }".to_owned()
            } else {
                format!("{{ after = trustform_sleep.c{chain}_{}.id }}", step - 1)
            };
            spec.push_str(&format!("resource \"trustform_sleep\" \"c{chain}_{step}\" {{\n  create_duration = \"150ms\"\n  triggers        = {triggers}\n}}\n"));
        }
    }
    spec
}

/// Starts an apply and returns it with a reader over its progress lines.
fn start_apply(work: &Workdir) -> (Child, impl Iterator<Item = String>) {
    let mut child = work
        .command(&["apply", "--auto-approve", "--parallelism", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
    (child, lines)
}

#[test]
fn sigkill_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let work = Workdir::new().with_file("main.tf", &slow_spec());
    let (child, mut lines) = start_apply(&work);
    // Kill after a number of completions that varies from run to run.
    let kill_after = 2 + (std::process::id() as usize % 9);
    let completed = kill_after_completions(child, &mut lines, kill_after);

    // Read through the backend: the last updates may still be in the journal beside the file.
    let pulled = work.expect(&["state", "pull"], 0);
    let state = State::from_json_bytes(pulled.stdout.as_bytes()).expect("state reads after SIGKILL");
    for addr in &completed {
        assert!(state.resources.contains_key(addr), "{addr} reported complete but missing from state");
    }

    // The killed run's lock record is still on disk, but its OS lock died with it: a plain
    // apply takes the lock over, with no force-unlock.
    assert!(work.file("state/default.tfstate.lock.json").exists(), "the killed run left no lock record");
    let resumed = work.expect(&["apply", "--auto-approve"], 0);
    assert!(!resumed.stderr.contains("force-unlock"), "{}", resumed.stderr);
    assert!(!work.file("state/default.tfstate.lock.json").exists(), "the apply did not release the lock");
    let created: usize = resumed.stderr.lines().filter(|l| l.contains("Creation complete")).count();
    assert!(
        created <= 24 - completed.len(),
        "resources recorded before the kill were created again:\n{}",
        resumed.stderr
    );
    work.expect(&["plan", "--detailed-exitcode"], 0);
    let state = State::from_json_bytes(&std::fs::read(work.file("state/default.tfstate")).unwrap()).unwrap();
    assert_eq!(state.resources.len(), 24);
}

#[test]
fn a_second_apply_while_the_first_holds_the_lock_is_refused() {
    let work = Workdir::new().with_file("main.tf", &slow_spec());
    let (mut child, mut lines) = start_apply(&work);
    // Once the first resource is being created, the first apply holds the lock.
    lines.by_ref().find(|l| l.contains("Creating...")).expect("the first apply started");
    let second = work.expect(&["apply", "--auto-approve"], 1);
    assert!(second.stderr.contains("Error acquiring the state lock"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!("(pid {})", child.id())), "{}", second.stderr);
    assert!(second.stderr.contains("for apply since"), "{}", second.stderr);
    lines.for_each(drop);
    assert!(child.wait().expect("first apply ends").success());
    work.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn ctrl_c_finishes_in_flight_work_saves_state_and_unlocks() {
    let work = Workdir::new().with_file("main.tf", &slow_spec());
    let (mut child, mut lines) = start_apply(&work);
    let mut completed = Vec::new();
    for line in lines.by_ref() {
        if let Some(addr) = completed_address(&line) {
            completed.push(addr);
            if completed.len() == 3 {
                break;
            }
        }
    }
    // SAFETY: sending SIGINT to our own child process, identified by the pid spawn returned.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let rest: Vec<String> = lines.collect();
    let status = child.wait().expect("apply ends");
    assert_eq!(status.code(), Some(1), "an interrupted apply reports failure");
    assert!(rest.iter().any(|l| l.contains("Interrupt received")), "{rest:#?}");
    assert!(rest.iter().any(|l| l.contains("Operation interrupted")), "{rest:#?}");
    completed.extend(rest.iter().filter_map(|l| completed_address(l)));
    assert!(completed.len() < 24, "the interrupt stopped new work");

    // In-flight creates finished and were saved; the lock was released.
    assert!(!work.file("state/default.tfstate.lock.json").exists(), "lock released");
    let state = State::from_json_bytes(&std::fs::read(work.file("state/default.tfstate")).unwrap()).unwrap();
    let mut recorded: Vec<_> = state.resources.keys().cloned().collect();
    recorded.sort();
    completed.sort();
    assert_eq!(recorded, completed);
    work.expect(&["apply", "--auto-approve"], 0);
    work.expect(&["plan", "--detailed-exitcode"], 0);
}
