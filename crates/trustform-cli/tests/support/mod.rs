//! Helpers for driving the real `trustform` binary in a scratch directory.

#![allow(dead_code)]

pub mod clouds;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use trustform_lang::ResourceAddr;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A scratch working directory holding a spec (in `sub` of the scratch directory, so a spec's
/// module calls can reach sibling directories copied with it).
pub struct Workdir {
    pub dir: tempfile::TempDir,
    sub: PathBuf,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("temp dir"), sub: PathBuf::new() }
    }

    /// A copy of one of the repository's example specs.
    pub fn example(name: &str) -> Workdir {
        Workdir::copy_of("examples", name)
    }

    /// A copy of one of the repository's shipped plans: its spec, variable files and templates,
    /// beside the other plans and `plans/modules/`, which its module calls may use.
    pub fn plan(name: &str) -> Workdir {
        let mut work = Workdir::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans");
        copy_tree(&source, &work.path());
        work.sub = PathBuf::from(name);
        work
    }

    /// A copy of a spec under `crates/trustform-cli/tests/fixtures/`, with its subdirectories
    /// (local modules).
    pub fn fixture(name: &str) -> Workdir {
        let work = Workdir::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        copy_tree(&source, &work.path());
        work
    }

    /// A shipped plan with its `sandbox.tfvars` read automatically (as `sandbox.auto.tfvars`),
    /// for tests that point the binary at emulators through the environment instead of
    /// `--sandbox`.
    pub fn plan_with_sandbox_values(name: &str) -> Workdir {
        let work = Workdir::plan(name);
        std::fs::rename(work.file("sandbox.tfvars"), work.file("sandbox.auto.tfvars"))
            .expect("the plan has sandbox.tfvars");
        work
    }

    fn copy_of(folder: &str, name: &str) -> Workdir {
        let work = Workdir::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(folder).join(name);
        for entry in std::fs::read_dir(&source).expect("the spec directory exists") {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("tf" | "tfvars" | "tpl")) {
                std::fs::copy(&path, work.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        work
    }

    pub fn with_file(self, name: &str, text: &str) -> Workdir {
        self.write(name, text);
        self
    }

    pub fn write(&self, name: &str, text: &str) {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.sub)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trustform"));
        command
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("CI", "1")
            .env_remove("RUST_LOG")
            .env_remove("TRUSTFORM_LOG");
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output: Output = self.command(args).envs(env.iter().copied()).output().expect("trustform runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs and insists on exit code `code`, showing the output when it differs.
    pub fn expect(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        run
    }
}

/// Copies the spec files (`.tf`, `.tfvars`, `.tpl`) of `from` into `to`, with its subdirectories.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).expect("the spec directory exists") {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("tf" | "tfvars" | "tpl")) {
            std::fs::copy(&path, target).unwrap();
        }
    }
}

/// The address of a `ADDR: Creation complete ...` progress line: a change the state holds.
pub fn completed_address(line: &str) -> Option<ResourceAddr> {
    line.split_once(": Creation complete").and_then(|(addr, _)| addr.parse().ok())
}

/// Reads an apply's progress lines until `count` changes are complete, then SIGKILLs it.
/// Returns the changes reported complete; the apply must not have finished first.
pub fn kill_after_completions(
    mut child: Child,
    lines: &mut impl Iterator<Item = String>,
    count: usize,
) -> Vec<ResourceAddr> {
    let mut completed = Vec::new();
    for line in lines.by_ref() {
        if let Some(addr) = completed_address(&line) {
            completed.push(addr);
            if completed.len() == count {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(completed.len(), count, "the apply finished before it could be killed");
    completed
}
