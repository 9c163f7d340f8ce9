#!/usr/bin/env bash
# Builds the fuzz targets with the instrumentation `cargo fuzz build -s none` uses, minus its
# `-Ccodegen-units=1` (which makes the cloud SDKs take most of an hour on two cores). Stable Rust
# is enough with RUSTC_BOOTSTRAP=1. The binaries land in
# $CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/{spec,state,saved_plan,sandbox_request}.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions"
exec cargo build --target x86_64-unknown-linux-gnu --release --config 'profile.release.debug="line-tables-only"' --bins "$@"
