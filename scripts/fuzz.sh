#!/usr/bin/env bash
# Bounded cargo-fuzz run of every target in fuzz/ (issue 9, "hostile input";
# docs/fuzzing.md says how to install, replay and read the figures).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to $EDGEFLUSH_FUZZ_SECONDS, else 60. The
# toolchain is stable, so RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags
# (AddressSanitizer); EDGEFLUSH_FUZZ_SANITIZER=none builds without it.
# Prints one "[fuzz] <target> ..." line per target with runs and execs/s;
# exits non-zero when any target crashes (the input is in fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-${EDGEFLUSH_FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(webhook signature mapping decoders)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
sanitizer="${EDGEFLUSH_FUZZ_SANITIZER:-address}"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
cargo fuzz build --sanitizer "$sanitizer" >"$logs/build" 2>&1 \
  || { cat "$logs/build" >&2; exit 1; }

failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  status=ok
  cargo fuzz run --sanitizer "$sanitizer" "$t" -- \
    -max_total_time="$secs" -print_final_stats=1 \
    >"$logs/$t" 2>&1 || status=CRASH
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t" | tail -1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  echo "[fuzz] $t: $status, ${secs}s, runs=${runs:-?}, execs/s=${rate:-?}, corpus=$corpus"
  if [ "$status" != ok ]; then
    failed+=("$t")
    grep -E "panicked|ERROR|Test unit written|artifact" "$logs/$t" | head -20 >&2 || tail -40 "$logs/$t" >&2
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "[fuzz] FAILED: ${failed[*]} (replay: cargo fuzz run <target> fuzz/artifacts/<target>/<file>)" >&2
  exit 1
fi
