//! The HCL front end through evaluation: the bytes are a spec's only file, loaded from a
//! directory as `trustform validate` loads it (so bytes that are not UTF-8 take the real path),
//! then variables, the configuration graph, type checks, evaluation of every resource and
//! output, and the cross-cloud checks, with the real providers' schemas and validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trustform_engine::{Engine, EngineOptions, Providers};
use trustform_lang::Value;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"))
}

fn providers() -> Providers {
    let mut providers = Providers::new();
    providers.register(std::sync::Arc::new(trustform_aws::AwsProvider::new()));
    providers.register(std::sync::Arc::new(trustform_gcp::GoogleProvider::new()));
    providers.register(std::sync::Arc::new(trustform_azure::AzureProvider::new()));
    providers
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("main.tf"), data).is_err() {
        return;
    }
    let (mut config, diags) = trustform_lang::config::load_dir(dir.path());
    if diags.has_errors() {
        return;
    }
    let (mut variables, _) = trustform_lang::resolve_variables(&mut config, &[], std::iter::empty());
    for name in config.variables.keys() {
        variables.entry(name.clone()).or_insert(Value::Unknown);
    }
    let (engine, _) = Engine::new(config, variables, providers(), EngineOptions::default());
    if let Some(engine) = engine {
        let _ = engine.validate();
        let _ = runtime().block_on(engine.lint());
    }
});
