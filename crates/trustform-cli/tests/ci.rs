//! End-to-end tests of what CI scripts written for Terraform pass (`-input`, `-lock-timeout`,
//! `-no-color`, `-compact-warnings`, `--env-file ''`), of `--var`/`--var-file` precedence, and
//! of the command context: every command loads the spec once.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use support::{Run, Workdir};

const ONE_RESOURCE: &str = "resource \"trustform_data\" \"a\" {}\n";

/// Runs with the spec loader's debug event on and counts how often the spec was loaded.
fn loads(work: &Workdir, args: &[&str]) -> usize {
    let run = work.run_with_env(args, &[("TRUSTFORM_LOG", "trustform::load=debug")]);
    assert!(run.code == 0 || run.code == 2, "trustform {args:?} exited {}:\n{}", run.code, run.all());
    run.stderr.matches("loading the spec").count()
}

#[test]
fn every_command_loads_the_spec_once() {
    let work = Workdir::new().with_file(
        "main.tf",
        "variable \"name\" {\n  default = \"x\"\n}\nresource \"trustform_data\" \"a\" {\n  input = var.name\n}\noutput \"NAME\" {\n  value = trustform_data.a.output\n}\n",
    );
    let commands: &[&[&str]] = &[
        &["init"],
        &["validate"],
        &["lint", "--var", "name=y"],
        &["plan", "--var", "name=y"],
        &["plan", "--out", "saved.plan"],
        &["show", "saved.plan"],
        &["apply", "saved.plan"],
        &["apply", "--auto-approve"],
        &["refresh"],
        &["graph"],
        &["output"],
        &["show"],
        &["state", "list"],
        &["state", "pull"],
        &["state", "mv", "trustform_data.a", "trustform_data.b"],
        &["state", "mv", "trustform_data.b", "trustform_data.a"],
        &["verify"],
        &["workspace", "list"],
        &["workspace", "new", "staging"],
        &["workspace", "select", "default"],
        &["workspace", "delete", "staging"],
        &["destroy", "--auto-approve"],
    ];
    for args in commands {
        assert_eq!(loads(&work, args), 1, "trustform {args:?} should load the spec exactly once");
    }
    // `state push` reads the pushed file with the spec's keys and writes through its backend:
    // still one load.
    let pulled = work.expect(&["state", "pull"], 0);
    work.write("pulled.tfstate", &pulled.stdout);
    assert_eq!(loads(&work, &["state", "push", "pulled.tfstate"]), 1);
}

/// The value `plan` shows for the output `X`.
fn planned_x(work: &Workdir, args: &[&str]) -> String {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    let run = work.expect(&all, 0);
    let line = run.stdout.lines().find(|line| line.trim_start().starts_with("+ X")).unwrap_or_default().to_owned();
    line.split_once('=').map(|(_, value)| value.trim().to_owned()).unwrap_or_else(|| panic!("{}", run.stdout))
}

#[test]
fn a_later_var_or_var_file_wins_as_in_terraform() {
    let work = Workdir::new()
        .with_file("main.tf", "variable \"x\" {}\noutput \"X\" {\n  value = var.x\n}\n")
        .with_file("trustform.tfvars", "x = \"tfvars\"\n")
        .with_file("a.auto.tfvars", "x = \"auto\"\n")
        .with_file("one.tfvars", "x = \"one\"\n")
        .with_file("two.tfvars", "x = \"two\"\n");
    // Terraform: the environment, then terraform.tfvars, then *.auto.tfvars, then -var and
    // -var-file in the order given, each later source overriding the earlier.
    let env = [("TRUSTFORM_VAR_x", "env")];
    let run = work.run_with_env(&["plan"], &env);
    assert!(run.stdout.contains("+ X = \"auto\""), "{}", run.all());
    assert_eq!(planned_x(&work, &["-var-file=one.tfvars", "-var", "x=cli", "-var-file=two.tfvars"]), "\"two\"");
    assert_eq!(planned_x(&work, &["-var-file=two.tfvars", "-var=x=cli"]), "\"cli\"");
    assert_eq!(planned_x(&work, &["--var", "x=first", "--var-file", "one.tfvars", "--var", "x=last"]), "\"last\"");
    assert_eq!(planned_x(&work, &["--var", "x=cli", "--var-file", "one.tfvars"]), "\"one\"");
    // --chdir before the command changes nothing about the order.
    let dir = work.path().to_str().unwrap().to_owned();
    let outside = Workdir::new();
    let run = outside.run(&["--chdir", &dir, "plan", "-var=x=cli", "-var-file=two.tfvars"]);
    assert!(run.stdout.contains("+ X = \"two\""), "{}", run.all());
}

/// Runs `trustform ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`, with
/// colour allowed unless `env` forbids it.
fn on_terminal(work: &Workdir, args: &str, answer: &str) -> (i32, String) {
    use std::io::Write;
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_trustform"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(work.path())
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child.stdin.take().expect("piped").write_all(answer.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn input_false_never_asks_even_on_a_terminal() {
    let work = Workdir::new().with_file("main.tf", ONE_RESOURCE);
    let (code, out) = on_terminal(&work, "apply -input=false -no-color", "yes\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("-input=false forbids asking for approval"), "{out}");
    assert!(!out.contains("Enter a value"), "{out}");
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "", "nothing was applied");
    // With -input (or -input=true) the terminal is asked, as without the flag.
    let (code, out) = on_terminal(&work, "apply -input=true -no-color", "yes\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Enter a value"), "{out}");
    work.expect(&["destroy", "-input", "-auto-approve"], 0);
    // -input=false with --auto-approve is the usual CI call, and works.
    work.expect(&["apply", "-input=false", "-auto-approve"], 0);
    // Variables are never prompted for: a missing one is an error that names --var.
    let needs = Workdir::new().with_file("main.tf", "variable \"region\" {}\n");
    for flags in [&["plan", "-input=false"][..], &["plan"][..]] {
        let run = needs.expect(flags, 1);
        assert!(run.stderr.contains("--var 'region=...'"), "{}", run.stderr);
    }
}

#[test]
fn no_color_turns_colour_off_on_a_terminal() {
    let work = Workdir::new().with_file("main.tf", ONE_RESOURCE);
    let (code, coloured) = on_terminal(&work, "plan", "");
    assert_eq!(code, 0, "{coloured}");
    assert!(coloured.contains("\u{1b}["), "a terminal gets colour: {coloured:?}");
    for flag in ["-no-color", "--no-color"] {
        let (code, plain) = on_terminal(&work, &format!("plan {flag}"), "");
        assert_eq!(code, 0, "{plain}");
        assert!(plain.contains("trustform_data.a will be created"), "{plain}");
        assert!(!plain.contains("\u{1b}["), "{flag} leaves no escape sequence: {plain:?}");
    }
}

#[test]
fn compact_warnings_show_one_line_each() {
    let work =
        Workdir::new().with_file("main.tf", ONE_RESOURCE).with_file("trustform.tfvars", "undeclared = 1\nother = 2\n");
    let full = work.expect(&["plan"], 0);
    assert!(full.stderr.contains("Value for undeclared variable"), "{}", full.stderr);
    assert!(full.stderr.contains("Declare it with variable"), "the full warning has its detail: {}", full.stderr);
    let compact = work.expect(&["plan", "-compact-warnings"], 0);
    assert_eq!(
        compact.stderr,
        "Warnings:\n\n\
         - TF0302 Value for undeclared variable (trustform.tfvars:1:1)\n\
         - TF0302 Value for undeclared variable (trustform.tfvars:2:1)\n\n\
         To see the full warning notes, run Trustform without --compact-warnings.\n",
    );
    // Errors are shown in full whatever the flag says, warnings with them.
    let broken =
        Workdir::new().with_file("main.tf", "variable \"x\" {}\n").with_file("trustform.tfvars", "undeclared = 1\n");
    let run = broken.expect(&["plan", "-compact-warnings"], 1);
    assert!(run.stderr.contains("Declare it with variable"), "{}", run.stderr);
    assert!(run.stderr.contains("has no default, and no value was given"), "{}", run.stderr);
}

#[test]
fn an_empty_env_file_flag_writes_no_file() {
    let work = Workdir::new().with_file("main.tf", "output \"A\" {\n  value = \"a\"\n}\n");
    for flag in [&["--env-file", ""][..], &["-env-file="][..]] {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(flag);
        let run = work.expect(&args, 0);
        assert!(!run.stderr.contains("Wrote"), "{}", run.stderr);
        assert!(!work.file("deployment_outputs.env").exists(), "{args:?} wrote the env file");
    }
    work.expect(&["apply", "--auto-approve", "--env-file", "out.env"], 0);
    assert_eq!(work.read("out.env"), "A=a\n");
}

/// Holds the local backend's OS lock on `state/default.tfstate` as a live run would.
fn hold_lock(work: &Workdir) -> std::fs::File {
    let lock = serde_json::json!({
        "id": "8b0c7f9e-1111-2222-3333-444455556666",
        "operation": "apply",
        "who": "ci@runner-7",
        "pid": std::process::id(),
        "host": "runner-7",
        "created": "2026-11-23T18:40:00Z",
        "version": "0.1.0"
    });
    work.write("state/default.tfstate.lock.json", &lock.to_string());
    let held = std::fs::File::open(work.file("state/default.tfstate.lock.json")).unwrap();
    held.try_lock().unwrap();
    held
}

#[test]
fn lock_timeout_waits_until_the_holder_releases_the_lock() {
    let work = Workdir::new().with_file("main.tf", ONE_RESOURCE);
    let held = hold_lock(&work);
    let mut child = work
        .command(&["apply", "-auto-approve", "-lock-timeout=5m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // The run says it is waiting, and is still waiting: release the lock then.
    while !seen.contains("Acquiring state lock") {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "the run ended without waiting: {seen}");
        seen.push_str(&line);
    }
    drop(held);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "trustform_data.a\n");
}

#[test]
fn lock_timeout_gives_up_after_the_duration_naming_the_holder() {
    let work = Workdir::new().with_file("main.tf", ONE_RESOURCE);
    let held = hold_lock(&work);
    let run: Run = work.expect(&["plan", "-lock-timeout=1500ms"], 1);
    assert!(run.stderr.contains("Acquiring state lock"), "{}", run.stderr);
    assert!(run.stderr.contains("Error acquiring the state lock"), "{}", run.stderr);
    assert!(run.stderr.contains("ci@runner-7"), "{}", run.stderr);
    assert!(run.stderr.contains("Waited 1500ms (-lock-timeout)"), "{}", run.stderr);
    // Without the flag (or with 0s) it fails at once, as before.
    for args in [&["plan"][..], &["plan", "-lock-timeout=0s"][..]] {
        let run = work.expect(args, 1);
        assert!(!run.stderr.contains("Acquiring state lock"), "{}", run.stderr);
    }
    // A timeout longer than the clock can count is accepted, not a crash.
    drop(held);
    work.expect(&["plan", "-lock-timeout=5000000000000000h"], 0);
    let bad = work.expect(&["plan", "-lock-timeout=5"], 2);
    assert!(bad.stderr.contains("\"5\" is not a duration"), "{}", bad.stderr);
}

/// Regression: the digest a saved plan binds itself to was taken after variables files joined
/// the spec's sources when planning, and before when applying, so a spec with a
/// `trustform.tfvars` could never apply a saved plan ("Saved plan is stale").
#[test]
fn a_saved_plan_of_a_spec_with_a_tfvars_file_applies() {
    let work = Workdir::new()
        .with_file("main.tf", "variable \"x\" {}\noutput \"X\" {\n  value = var.x\n}\n")
        .with_file("trustform.tfvars", "x = \"a\"\n")
        .with_file("more.tfvars", "x = \"b\"\n");
    work.expect(&["plan", "--out", "saved.plan", "--var-file", "more.tfvars"], 0);
    let applied = work.expect(&["apply", "saved.plan"], 0);
    assert!(applied.stdout.contains("X = \"b\""), "{}", applied.stdout);
    // The spec itself still binds the plan.
    work.expect(&["plan", "--out", "saved.plan"], 0);
    work.write("main.tf", "variable \"x\" {}\noutput \"X\" {\n  value = \"${var.x}!\"\n}\n");
    assert!(work.expect(&["apply", "saved.plan"], 1).stderr.contains("Saved plan is stale"));
}
