#!/usr/bin/env bash
# Long profile of the fault suites (issue 9): 20 kill -9 rounds, the API-fault
# run at the default 120 requests/minute, a 30 s purge flood, the full disk.
# Prints each suite's figures ([crashes] [api] [floods] [disk] lines), then
# fuzzes every cargo-fuzz target briefly ([fuzz] lines).
# Replay a run's random choices with EDGEFLUSH_FAULTS_SEED=<printed seed>.
# The disk suite mounts a tmpfs and needs root; it says SKIPPED otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export EDGEFLUSH_FAULTS=long
cargo test --test faults -- --nocapture --test-threads=1 "$@"
# Issue 9: a bounded run of every cargo-fuzz target (30 s each, [fuzz] lines; docs/fuzzing.md).
if cargo fuzz --version >/dev/null 2>&1; then scripts/fuzz.sh "${EDGEFLUSH_FUZZ_SECONDS:-30}"; else echo "[fuzz] SKIPPED: cargo-fuzz is not installed (cargo install cargo-fuzz)"; fi
