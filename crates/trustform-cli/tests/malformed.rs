//! Malformed specs get diagnostics, never a panic: every shipped spec (the plans and the
//! examples), mutated thousands of ways by a seeded generator (truncated, bytes replaced with
//! HCL's significant characters, spans deleted, lines duplicated and swapped), goes through the
//! whole front end a command runs before any cloud call: loading, variables, the engine's graph
//! and validation over the real provider schemas, the canonical formatter, and the static
//! plan-time checks. A deterministic companion to fuzzing, run on every test run.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use trustform_aws::AwsProvider;
use trustform_azure::AzureProvider;
use trustform_engine::{Engine, EngineOptions, Providers};
use trustform_gcp::GoogleProvider;
use trustform_lang::config::load_sources;
use trustform_lang::resolve_variables;

/// xorshift64*: a small, seeded, reproducible generator, so a failure names its case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Characters that change what HCL means, plus a few that no spec should hold.
const NOISE: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "=",
    "$",
    "${",
    "%{",
    "~",
    ".",
    ",",
    ":",
    "\n",
    "#",
    "*",
    "/",
    "\\",
    "<<EOT\n",
    "?",
    "!",
    "-",
    "0",
    "9e999",
    "é",
    "\u{0}",
    "\t",
    "var.",
    "each.",
    "count.index",
    "null",
    "=>",
    "...",
    "[*]",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    match rng.below(5) {
        0 => chars.truncate(rng.below(chars.len())),
        1 => {
            let at = rng.below(chars.len());
            let noise: Vec<char> = NOISE[rng.below(NOISE.len())].chars().collect();
            chars.splice(at..(at + 1).min(chars.len()), noise);
        }
        2 => {
            let start = rng.below(chars.len());
            let end = (start + 1 + rng.below(40)).min(chars.len());
            chars.drain(start..end);
        }
        _ => {
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return String::new();
            }
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            if rng.below(2) == 0 {
                lines.swap(a, b);
            } else {
                lines.insert(b, lines[a]);
            }
            return lines.join("\n");
        }
    }
    chars.into_iter().collect()
}

fn providers() -> Providers {
    let mut providers = Providers::new();
    providers.register(Arc::new(AwsProvider::new()));
    providers.register(Arc::new(GoogleProvider::new()));
    providers.register(Arc::new(AzureProvider::new()));
    providers
}

/// Every front-end step a command takes before touching a cloud.
fn front_end(files: Vec<(String, String)>) {
    for (_, text) in &files {
        let _ = trustform_lang::format::format_source(text);
    }
    let (mut config, diags) = load_sources(files);
    if diags.has_errors() {
        return;
    }
    let (variables, _) = resolve_variables(&mut config, &[], Vec::<(String, String)>::new());
    let (engine, _) = Engine::new(config, variables, providers(), EngineOptions::default());
    if let Some(engine) = engine {
        let _ = engine.validate();
    }
}

/// The shipped specs: one entry per directory, each a list of (file name, text).
fn shipped_specs() -> Vec<(String, Vec<(String, String)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut specs = Vec::new();
    for folder in ["plans", "examples"] {
        let mut dirs: Vec<_> = std::fs::read_dir(root.join(folder)).unwrap().flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs.into_iter().filter(|dir| dir.is_dir()) {
            let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
                .map(|path| {
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&path).unwrap())
                })
                .collect();
            files.sort();
            specs.push((format!("{folder}/{}", dir.file_name().unwrap().to_string_lossy()), files));
        }
    }
    specs
}

#[test]
fn mutated_shipped_specs_never_panic_the_front_end() {
    // A panic is reported by the assertion below, with its case; the default hook's message
    // for each would only repeat it.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let specs = shipped_specs();
    assert!(specs.len() >= 5, "the plans and examples are found: {:?}", specs.iter().map(|s| &s.0).collect::<Vec<_>>());
    let mut panics: BTreeMap<String, String> = BTreeMap::new();
    let mut cases = 0;
    for (name, files) in &specs {
        front_end(files.clone());
        for case in 0..300u64 {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x1000_0000_01b3));
            let mut mutated = files.clone();
            let victim = rng.below(mutated.len());
            for _ in 0..=rng.below(3) {
                mutated[victim].1 = mutate(&mutated[victim].1, &mut rng);
            }
            cases += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| front_end(mutated.clone()))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                panics.entry(format!("{name} case {case}")).or_insert(message);
            }
        }
    }
    std::panic::set_hook(quiet);
    assert!(cases >= 1500, "{cases} cases");
    assert!(panics.is_empty(), "{} of {cases} mutated specs panicked: {panics:#?}", panics.len());
}
