#!/usr/bin/env bash
# Fills corpus/<target>/ with the seed inputs: the shipped specs (each file, and each spec's files
# joined), the crashers, and the hand-written seeds under seeds/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/spec corpus/state corpus/saved_plan corpus/sandbox_request
n=0
for dir in "$root"/plans/*/ "$root"/examples/*/ "$root"/crates/trustform-cli/tests/fixtures/*/*/; do
  [ -d "$dir" ] || continue
  files=("$dir"*.tf)
  [ -e "${files[0]}" ] || continue
  cat "${files[@]}" > "corpus/spec/joined-$n.tf"
  for f in "${files[@]}"; do cp "$f" "corpus/spec/file-$n-$(basename "$f")"; done
  n=$((n + 1))
done
for target in state saved_plan sandbox_request; do
  cp seeds/$target/* corpus/$target/
done
echo "seeded: $(ls corpus/spec | wc -l) specs, $(ls corpus/state | wc -l) states, $(ls corpus/saved_plan | wc -l) plans, $(ls corpus/sandbox_request | wc -l) requests"
