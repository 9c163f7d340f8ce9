//! The S3 backend end to end, against moto's S3: two applies racing for one state, a run whose
//! lock was force-broken, SIGKILL mid-apply, migration local -> S3 -> local, workspaces, and the
//! errored-state recovery. Synchronisation is by the binary's own output lines and by stopping
//! it (SIGSTOP), never by sleeping.

mod support;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use support::{completed_address, kill_after_completions, Run, Workdir};
use trustform_lang::ResourceAddr;
use trustform_state::State;
use trustform_test_provider::moto::Moto;

const BUCKET: &str = "trustform-state";
const KEY: &str = "identity/test.tfstate";

/// moto's S3 with one bucket, reached the way a CI job would: `AWS_ENDPOINT_URL_S3` and keys in
/// the environment, nothing from the machine's own AWS configuration.
struct S3 {
    moto: Moto,
    runtime: tokio::runtime::Runtime,
}

impl S3 {
    fn start() -> S3 {
        let s3 = S3 {
            moto: Moto::start(),
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime"),
        };
        s3.runtime.block_on(s3.client().create_bucket().bucket(BUCKET).send()).expect("CreateBucket");
        s3
    }

    fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(self.moto.endpoint())
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL_S3", self.moto.endpoint().to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    fn command(&self, work: &Workdir, args: &[&str]) -> Command {
        let mut command = work.command(args);
        command.envs(self.env()).env_remove("TRUSTFORM_WORKSPACE");
        command
    }

    fn run_with(&self, work: &Workdir, args: &[&str], extra: &[(&str, &str)], code: i32) -> Run {
        let output = self.command(work, args).envs(extra.iter().copied()).output().expect("trustform runs");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        run
    }

    fn run(&self, work: &Workdir, args: &[&str], code: i32) -> Run {
        self.run_with(work, args, &[], code)
    }

    fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.runtime.block_on(async {
            match self.client().get_object().bucket(BUCKET).key(key).send().await {
                Ok(output) => Some(output.body.collect().await.expect("body").into_bytes().to_vec()),
                Err(error) if error.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
                Err(error) => panic!("GetObject {key}: {error:?}"),
            }
        })
    }

    fn state(&self, key: &str) -> State {
        let bytes = self.object(key).unwrap_or_else(|| panic!("no state object at {key}"));
        State::from_json_bytes(&bytes).expect("the state object parses")
    }
}

fn backend_block() -> String {
    format!("trustform {{\n  backend \"s3\" {{\n    bucket         = \"{BUCKET}\"\n    key            = \"{KEY}\"\n    use_path_style = true\n  }}\n}}\n")
}

/// `chains` independent chains of `steps` sleeps of `duration` each.
fn sleeps(chains: usize, steps: usize, duration: &str) -> String {
    let mut spec = String::new();
    for chain in 0..chains {
        for step in 0..steps {
            let triggers = if step == 0 {
                "{ start = \"go\" }".to_owned()
            } else {
                format!("{{ after = trustform_sleep.c{chain}_{}.id }}", step - 1)
            };
            spec.push_str(&format!("resource \"trustform_sleep\" \"c{chain}_{step}\" {{\n  create_duration = \"{duration}\"\n  triggers        = {triggers}\n}}\n"));
        }
    }
    spec
}

fn s3_work(spec: &str) -> Workdir {
    Workdir::new().with_file("backend.tf", &backend_block()).with_file("main.tf", spec)
}

/// Starts an apply with its progress lines readable.
fn start_apply(s3: &S3, work: &Workdir) -> (Child, impl Iterator<Item = String>) {
    let mut child = s3
        .command(work, &["apply", "--auto-approve", "--parallelism", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
    (child, lines)
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: signalling our own child process, identified by the pid spawn returned.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0, "kill({}, {signal})", child.id());
}

/// The lock id that a refused command quotes: `(lock id ...)`.
fn quoted_lock_id(stderr: &str) -> String {
    let start = stderr.find("(lock id ").expect("the refusal quotes the lock id") + "(lock id ".len();
    stderr[start..].split(')').next().expect("closing parenthesis").to_owned()
}

#[test]
fn of_two_concurrent_applies_exactly_one_proceeds_and_the_other_names_the_holder() {
    let s3 = S3::start();
    // Two seconds of apply: far longer than the two processes take to start side by side.
    let work = s3_work(&sleeps(2, 8, "250ms"));
    s3.run(&work, &["init"], 0);
    let spawn = || {
        s3.command(&work, &["apply", "--auto-approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (spawn(), spawn());
    let pids = [first.id(), second.id()];
    let outputs = [first.wait_with_output().expect("first ends"), second.wait_with_output().expect("second ends")];
    let succeeded: Vec<usize> = (0..2).filter(|&n| outputs[n].status.success()).collect();
    assert_eq!(succeeded.len(), 1, "exactly one apply proceeds: {outputs:#?}");
    let (winner, loser) = (succeeded[0], 1 - succeeded[0]);
    let refused = String::from_utf8_lossy(&outputs[loser].stderr);
    assert_eq!(outputs[loser].status.code(), Some(1));
    assert!(refused.contains("Error acquiring the state lock"), "{refused}");
    assert!(refused.contains(&format!("s3://{BUCKET}/{KEY} is locked")), "{refused}");
    assert!(refused.contains(&format!("(pid {}) for apply since", pids[winner])), "{refused}");
    assert!(refused.contains("It has been held for"), "{refused}");
    assert!(!refused.contains("Creation complete"), "the refused apply changed nothing:\n{refused}");

    // Every change of the run that proceeded is in the state, and the lock is gone.
    let state = s3.state(KEY);
    assert_eq!(state.resources.len(), 16);
    assert_eq!(s3.object(&format!("{KEY}.tflock")), None);
    let again = s3.run(&work, &["apply", "--auto-approve"], 0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert_eq!(s3.state(KEY).serial, state.serial, "a run with nothing to do writes nothing");
}

#[test]
fn a_run_whose_lock_was_force_broken_cannot_overwrite_and_saves_an_errored_state() {
    let s3 = S3::start();
    // Each step sleeps long enough that the run is stopped well inside the second one; once it
    // is continued, a deadline that passed while it was stopped ends the sleep at once.
    let work = s3_work(&sleeps(1, 3, "1s"));
    s3.run(&work, &["init"], 0);
    let (mut first, mut lines) = start_apply(&s3, &work);
    // A change is reported complete only once the state holding it is written.
    let done = lines.by_ref().find_map(|line| completed_address(&line)).expect("a first change");
    assert_eq!(done.to_string(), "trustform_sleep.c0_0");
    signal(&first, libc::SIGSTOP);

    // The operator takes the stopped run for dead: its lock is broken and another run changes
    // the state.
    let blocked = s3.run(&work, &["apply", "--auto-approve"], 1);
    assert!(blocked.stderr.contains(&format!("(pid {})", first.id())), "{}", blocked.stderr);
    let id = quoted_lock_id(&blocked.stderr);
    s3.run(&work, &["force-unlock", &id, "--force"], 0);
    s3.run(&work, &["state", "rm", "trustform_sleep.c0_0"], 0);
    let taken_over = s3.object(KEY).expect("state");

    signal(&first, libc::SIGCONT);
    let rest: Vec<String> = lines.collect();
    let status = first.wait().expect("the first run ends");
    assert_eq!(status.code(), Some(1), "{rest:#?}");
    let rest = rest.join("\n");
    assert!(rest.contains("another run has written it since this run read it"), "{rest}");
    assert!(rest.contains("trustform state push errored.tfstate"), "{rest}");
    assert!(rest.contains("Someone removed this run's lock"), "{rest}");
    assert_eq!(s3.object(KEY), Some(taken_over), "the broken lock's writer overwrote the state");

    // The refused run's state is saved beside the spec, private, with everything it created.
    let errored = work.file("errored.tfstate");
    assert_eq!(std::fs::metadata(&errored).expect("errored.tfstate").permissions().mode() & 0o777, 0o600);
    let saved = State::from_json_bytes(&std::fs::read(&errored).unwrap()).expect("errored.tfstate parses");
    assert!(saved.resources.contains_key(&"trustform_sleep.c0_0".parse::<ResourceAddr>().unwrap()));
    // c0_1 is in it when its create was recorded, and so sent, before the stop; a create whose
    // record the backend refused was never sent, and is not claimed.
    assert!(saved.resources.values().all(|r| r.status == trustform_state::ResourceStatus::Ready), "{saved:?}");

    // The fix the message gives works: push it (forced, since another run wrote meanwhile), and
    // the next apply creates only what is left.
    s3.run(&work, &["state", "push", "errored.tfstate", "--force"], 0);
    let resumed = s3.run(&work, &["apply", "--auto-approve"], 0);
    // Its updates wait in the local journal between writes of the object, so the refused run may
    // have finished every create before its closing write was refused.
    let left = 3 - saved.resources.len();
    let expected = if left == 0 { "No changes".to_owned() } else { format!("{left} added") };
    assert!(resumed.stdout.contains(&expected), "{}", resumed.stdout);
    s3.run(&work, &["plan", "--detailed-exitcode"], 0);
}

#[test]
fn sigkill_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let s3 = S3::start();
    let work = s3_work(&sleeps(3, 5, "120ms"));
    s3.run(&work, &["init"], 0);
    let (child, mut lines) = start_apply(&s3, &work);
    let kill_after = 2 + (std::process::id() as usize % 7);
    let completed = kill_after_completions(child, &mut lines, kill_after);

    let pulled = s3.run(&work, &["state", "pull"], 0);
    let state = State::from_json_bytes(pulled.stdout.as_bytes()).expect("state pull prints the state");
    for addr in &completed {
        assert!(state.resources.contains_key(addr), "{addr} reported complete but missing from state");
    }

    // The killed run's lock stays; its process is gone, and the refusal says so and for how long.
    let blocked = s3.run(&work, &["apply", "--auto-approve"], 1);
    assert!(blocked.stderr.contains("The process that took it is gone"), "{}", blocked.stderr);
    assert!(blocked.stderr.contains("It has been held for"), "{}", blocked.stderr);
    let lock: serde_json::Value =
        serde_json::from_slice(&s3.object(&format!("{KEY}.tflock")).expect("the lock object")).unwrap();
    let id = lock["id"].as_str().expect("lock id");
    assert_eq!(quoted_lock_id(&blocked.stderr), id);
    s3.run(&work, &["force-unlock", id, "--force"], 0);

    let resumed = s3.run(&work, &["apply", "--auto-approve"], 0);
    let created = resumed.stderr.lines().filter(|l| l.contains("Creation complete")).count();
    assert!(created <= 15 - completed.len(), "changes recorded before the kill were made again:\n{}", resumed.stderr);
    s3.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert_eq!(s3.state(KEY).resources.len(), 15);
}

#[test]
fn migrating_local_to_s3_and_back_keeps_lineage_and_serial() {
    let s3 = S3::start();
    let work = Workdir::new().with_file("main.tf", &sleeps(1, 2, "1ms"));
    s3.run(&work, &["apply", "--auto-approve"], 0);
    let local = State::from_json_bytes(&std::fs::read(work.file("state/default.tfstate")).unwrap()).unwrap();

    work.write("backend.tf", &backend_block());
    let plan = s3.run(&work, &["plan"], 1);
    assert!(plan.stderr.contains("TF1071") && plan.stderr.contains("init --migrate-state"), "{}", plan.stderr);
    let init = s3.run(&work, &["init"], 1);
    assert!(init.stderr.contains("TF1070"), "{}", init.stderr);
    let migrated = s3.run(&work, &["init", "-migrate-state"], 0);
    assert!(
        migrated.stdout.contains(&format!("copied (lineage {}, serial {})", local.lineage, local.serial)),
        "{}",
        migrated.stdout
    );
    let remote = s3.state(KEY);
    assert_eq!((remote.lineage.as_str(), remote.serial), (local.lineage.as_str(), local.serial));
    assert_eq!(remote, local);
    s3.run(&work, &["plan", "--detailed-exitcode"], 0);

    // A change made while in S3 travels back.
    work.write("more.tf", "resource \"trustform_sleep\" \"later\" {\n  create_duration = \"1ms\"\n}\n");
    s3.run(&work, &["apply", "--auto-approve"], 0);
    let grown = s3.state(KEY);
    assert!(grown.serial > local.serial);
    assert_eq!(grown.lineage, local.lineage);

    std::fs::remove_file(work.file("backend.tf")).unwrap();
    s3.run(&work, &["plan"], 1);
    s3.run(&work, &["init", "--migrate-state"], 0);
    let back = State::from_json_bytes(&std::fs::read(work.file("state/default.tfstate")).unwrap()).unwrap();
    assert_eq!((back.lineage.as_str(), back.serial), (grown.lineage.as_str(), grown.serial));
    assert_eq!(back.resources.len(), 3);
    s3.run(&work, &["plan", "--detailed-exitcode"], 0);
}

#[test]
fn migration_refuses_a_destination_holding_another_state() {
    let s3 = S3::start();
    let theirs = s3_work(&sleeps(1, 1, "1ms"));
    s3.run(&theirs, &["init"], 0);
    s3.run(&theirs, &["apply", "--auto-approve"], 0);
    let before = s3.object(KEY).expect("their state");

    let ours = Workdir::new().with_file("main.tf", &sleeps(1, 2, "1ms"));
    s3.run(&ours, &["apply", "--auto-approve"], 0);
    ours.write("backend.tf", &backend_block());
    let refused = s3.run(&ours, &["init", "--migrate-state"], 1);
    assert!(refused.stderr.contains("TF1072"), "{}", refused.stderr);
    assert!(refused.stderr.contains("already holds a different state"), "{}", refused.stderr);
    assert_eq!(s3.object(KEY), Some(before), "the destination was left as it was");
    assert_eq!(s3.object(&format!("{KEY}.tflock")), None, "both locks were released");
    assert!(!ours.file("state/default.tfstate.lock.json").exists());
}

#[test]
fn workspaces_keep_separate_states_in_s3() {
    let s3 = S3::start();
    let work = s3_work(&sleeps(1, 2, "1ms"));
    s3.run(&work, &["init"], 0);
    s3.run(&work, &["apply", "--auto-approve"], 0);
    let default_state = s3.object(KEY).expect("default state");

    let created = s3.run(&work, &["workspace", "new", "staging"], 0);
    assert!(created.stdout.contains("Created and switched to workspace \"staging\""), "{}", created.stdout);
    assert_eq!(work.read(".trustform/environment"), "staging\n");
    assert_eq!(s3.run(&work, &["workspace", "show"], 0).stdout, "staging\n");
    assert_eq!(s3.run(&work, &["state", "list"], 0).stdout, "");
    let applied = s3.run(&work, &["apply", "--auto-approve"], 0);
    assert!(applied.stdout.contains("2 added"), "{}", applied.stdout);
    let staging_key = format!("env:/staging/{KEY}");
    assert_eq!(s3.state(&staging_key).resources.len(), 2);
    assert_eq!(s3.object(KEY), Some(default_state), "the default workspace was not touched");
    assert_ne!(s3.state(&staging_key).lineage, s3.state(KEY).lineage);

    assert_eq!(s3.run(&work, &["workspace", "list"], 0).stdout, "  default\n* staging\n");
    let listed = s3.run_with(&work, &["workspace", "list"], &[("TRUSTFORM_WORKSPACE", "default")], 0);
    assert_eq!(listed.stdout, "* default\n  staging\n");
    let plan = s3.run_with(&work, &["plan", "--detailed-exitcode"], &[("TRUSTFORM_WORKSPACE", "default")], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    let current = s3.run(&work, &["workspace", "delete", "staging"], 1);
    assert!(current.stderr.contains("TF1075") && current.stderr.contains("selected workspace"), "{}", current.stderr);
    s3.run(&work, &["workspace", "select", "default"], 0);
    let default = s3.run(&work, &["workspace", "delete", "default"], 1);
    assert!(default.stderr.contains("TF1075"), "{}", default.stderr);
    let not_empty = s3.run(&work, &["workspace", "delete", "staging"], 1);
    assert!(not_empty.stderr.contains("TF1076") && not_empty.stderr.contains("2 resource(s)"), "{}", not_empty.stderr);
    let missing = s3.run(&work, &["workspace", "select", "prod"], 1);
    assert!(missing.stderr.contains("TF1074"), "{}", missing.stderr);
    s3.run(&work, &["workspace", "delete", "staging", "--force"], 0);
    assert_eq!(s3.object(&staging_key), None);
    assert_eq!(s3.run(&work, &["workspace", "list"], 0).stdout, "* default\n");
}

#[test]
fn local_workspaces_keep_their_states_under_state() {
    let work = Workdir::new().with_file("main.tf", &sleeps(1, 1, "1ms"));
    work.expect(&["apply", "--auto-approve"], 0);
    work.expect(&["workspace", "new", "dev"], 0);
    work.expect(&["apply", "--auto-approve"], 0);
    let dev = State::from_json_bytes(&std::fs::read(work.file("state/dev.tfstate")).unwrap()).unwrap();
    let default = State::from_json_bytes(&std::fs::read(work.file("state/default.tfstate")).unwrap()).unwrap();
    assert_eq!((dev.resources.len(), default.resources.len()), (1, 1));
    assert_ne!(dev.lineage, default.lineage);
    assert_eq!(work.expect(&["workspace", "list"], 0).stdout, "  default\n* dev\n");
    let invalid = work.expect(&["workspace", "new", "../escape"], 1);
    assert!(invalid.stderr.contains("TF1077"), "{}", invalid.stderr);
    work.expect(&["workspace", "select", "default"], 0);
    work.expect(&["workspace", "delete", "dev", "--force"], 0);
    assert!(!work.file("state/dev.tfstate").exists());
}

#[test]
fn a_broken_s3_block_is_reported_with_its_location_and_fix() {
    let work = Workdir::new().with_file(
        "backend.tf",
        "trustform {\n  backend \"s3\" {\n    key            = 42\n    use_path_style = \"yes\"\n    access_key     = \"AKIA\"\n  }\n}\n",
    );
    let run = work.expect(&["plan"], 1);
    for part in [
        "TF0131",
        "The s3 backend needs bucket",
        "The s3 backend's key must be a non-empty string",
        "use_path_style must be true or false",
        "\"access_key\" is not one of them",
        "backend.tf:3",
    ] {
        assert!(run.stderr.contains(part), "{part:?} missing from:\n{}", run.stderr);
    }
}

#[test]
fn state_push_to_s3_refuses_an_older_serial_and_another_lineage_unless_forced() {
    let s3 = S3::start();
    let work = s3_work(&sleeps(1, 1, "1ms"));
    s3.run(&work, &["init"], 0);
    s3.run(&work, &["apply", "--auto-approve"], 0);
    let old = s3.run(&work, &["state", "pull"], 0).stdout;
    assert_eq!(State::from_json_bytes(old.as_bytes()).unwrap(), s3.state(KEY), "pull prints the S3 state");
    work.write("old.tfstate", &old);
    work.write("more.tf", "resource \"trustform_sleep\" \"later\" {\n  create_duration = \"1ms\"\n}\n");
    s3.run(&work, &["apply", "--auto-approve"], 0);
    let current = s3.object(KEY).expect("state");

    let older = s3.run(&work, &["state", "push", "old.tfstate"], 1);
    assert!(older.stderr.contains("TF1062") && older.stderr.contains("the current state is newer"), "{}", older.stderr);
    let other = Workdir::new().with_file("main.tf", &sleeps(1, 1, "1ms"));
    other.expect(&["apply", "--auto-approve"], 0);
    let foreign = other.file("state/default.tfstate");
    let refused = s3.run(&work, &["state", "push", foreign.to_str().unwrap()], 1);
    assert!(refused.stderr.contains("different states"), "{}", refused.stderr);
    assert_eq!(s3.object(KEY), Some(current), "a refused push changes nothing");

    let forced = s3.run(&work, &["state", "push", "old.tfstate", "--force"], 0);
    assert!(forced.stdout.contains(&format!("to S3 state s3://{BUCKET}/{KEY}")), "{}", forced.stdout);
    let pushed = s3.state(KEY);
    assert_eq!(pushed.resources.len(), 1);
    assert_eq!(s3.object(&format!("{KEY}.tflock")), None);
}

#[test]
fn leaving_s3_without_init_is_refused_rather_than_starting_from_no_state() {
    let s3 = S3::start();
    // No `init`: the first command records where the state is.
    let work = s3_work(&sleeps(1, 1, "1ms"));
    s3.run(&work, &["apply", "--auto-approve"], 0);
    std::fs::remove_file(work.file("backend.tf")).unwrap();
    let refused = s3.run(&work, &["apply", "--auto-approve"], 1);
    assert!(refused.stderr.contains("TF1071"), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("backend \"s3\" (s3://{BUCKET}/{KEY})")), "{}", refused.stderr);
    assert!(!work.file("state/default.tfstate").exists(), "nothing was applied from an empty state");
}

#[test]
fn an_encrypted_s3_state_holds_no_secret_in_any_byte_or_trace_line_and_decrypts_back() {
    const CANARY: &str = "canary-s3-0d41f7a2";
    let s3 = S3::start();
    let spec = format!(
        r#"trustform {{
  backend "s3" {{
    bucket         = "{BUCKET}"
    key            = "{KEY}"
    use_path_style = true
  }}
  encryption {{
    key_provider "pbkdf2" "main" {{ iterations = 200000 }}
    method "aes_gcm" "main" {{ keys = key_provider.pbkdf2.main }}
    state {{
      method   = method.aes_gcm.main
      enforced = true
    }}
  }}
  outputs {{ env_file = "" }}
}}
variable "token" {{
  sensitive = true
}}
resource "trustform_data" "a" {{ input = var.token }}
output "token" {{
  value     = trustform_data.a.output
  sensitive = true
}}
"#
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    // The SDKs' own logs are capped at info unless asked for: ask, so that the S3 client's
    // request and response bodies are logged and shown to hold no canary.
    let env = [
        ("RUST_LOG", "trace"),
        ("TRUSTFORM_LOG_SDK_BODIES", "1"),
        ("TRUSTFORM_VAR_token", CANARY),
        ("TRUSTFORM_STATE_PASSPHRASE", "an s3 passphrase for the canary test"),
    ];
    s3.run_with(&work, &["init"], &env, 0);
    let applied = s3.run_with(&work, &["apply", "--auto-approve"], &env, 0);
    let head: String = applied.stderr.chars().take(2000).collect();
    assert!(applied.stderr.contains("aws_smithy"), "TRACE reached the S3 client: {head}");
    assert!(!applied.all().contains(CANARY), "the canary was printed or logged");

    let stored = s3.object(KEY).expect("the state object");
    assert!(trustform_state::Encryption::is_encrypted(&stored));
    assert!(!stored.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "the canary is in the S3 object");
    let raw = s3.run_with(&work, &["output", "token", "--raw"], &env, 0);
    assert_eq!(raw.stdout.trim_end(), CANARY, "and it decrypts back");
    // Without the passphrase nothing is read, and nothing is written over it.
    let without = s3.run_with(&work, &["plan"], &[("TRUSTFORM_VAR_token", CANARY)], 1);
    assert!(!without.all().contains(CANARY));
    assert_eq!(s3.object(KEY).expect("the state object"), stored);
}

/// A backend pointed at a bucket that does not exist says so in S3's terms with the fix, not
/// with a dump of the SDK's error (issue 12, item 7); the dump is at debug level only.
#[test]
fn a_missing_bucket_is_reported_in_s3s_words_with_the_fix() {
    let s3 = S3::start();
    let backend = "trustform {\n  backend \"s3\" {\n    bucket         = \"tfstate-prod\"\n    key            = \"identity/test.tfstate\"\n    use_path_style = true\n  }\n}\n";
    let work = Workdir::new().with_file("backend.tf", backend).with_file("main.tf", &sleeps(1, 1, "1ms"));
    let run = s3.run(&work, &["plan"], 1);
    assert!(
        run.stderr.contains("bucket tfstate-prod does not exist (NoSuchBucket): create it or fix backend.s3.bucket"),
        "{}",
        run.stderr
    );
    for dump in ["Error {", "raw: Response", "SdkBody", "unhandled error"] {
        assert!(!run.all().contains(dump), "{dump:?} in:\n{}", run.all());
    }
    let debug = s3.run_with(&work, &["plan"], &[("RUST_LOG", "trustform_backend_s3=debug")], 1);
    assert!(debug.all().contains("S3 request failed"), "{}", debug.all());
}

#[test]
fn lock_timeout_waits_for_the_s3_lock_to_be_released() {
    let s3 = S3::start();
    let work = s3_work("resource \"trustform_data\" \"a\" {}\n");
    let holder = serde_json::json!({
        "id": "8b0c7f9e-1111-2222-3333-444455556666",
        "operation": "apply",
        "who": "ci@runner-7",
        "pid": 4242,
        "host": "runner-7",
        "created": "2026-11-23T18:40:00Z",
        "version": "0.1.0"
    });
    let lock_key = format!("{KEY}.tflock");
    let put = s3.client().put_object().bucket(BUCKET).key(&lock_key).body(holder.to_string().into_bytes().into());
    s3.runtime.block_on(put.send()).expect("PutObject");

    // Held for longer than the timeout: refused after waiting, naming the holder.
    let refused = s3.run(&work, &["plan", "-lock-timeout=1s"], 1);
    assert!(refused.stderr.contains("Acquiring state lock"), "{}", refused.stderr);
    assert!(refused.stderr.contains("ci@runner-7"), "{}", refused.stderr);
    assert!(refused.stderr.contains("Waited 1s (-lock-timeout)"), "{}", refused.stderr);

    // Released while the run waits: it takes the lock and applies.
    let mut child = s3
        .command(&work, &["apply", "-auto-approve", "-lock-timeout=5m"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let waiting = line.contains("Acquiring state lock");
        seen.push(line);
        if waiting {
            break;
        }
    }
    assert!(seen.last().is_some_and(|l| l.contains("Acquiring state lock")), "{seen:?}");
    s3.runtime.block_on(s3.client().delete_object().bucket(BUCKET).key(&lock_key).send()).expect("DeleteObject");
    seen.extend(lines);
    assert!(child.wait().unwrap().success(), "{seen:?}");
    assert_eq!(s3.state(KEY).resources.len(), 1);
    assert_eq!(s3.object(&lock_key), None, "the run released its lock");
}
