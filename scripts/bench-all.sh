#!/usr/bin/env bash
# The benchmarks of issue 3 in one command, with the machine they ran on:
# builds the release binary, runs `cargo bench --bench enqueue`, `--bench
# drain` and `--bench pipeline`, and keeps the whole report in
# target/bench-results/<UTC time>.md (also printed). See docs/benchmarks.md.
#
# Env passes through: BENCH_RUNS, BENCH_SCENARIOS, BENCH_TIMEOUT_SECS.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir=target/bench-results
mkdir -p "$out_dir"
out="$out_dir/$(date -u +%Y%m%dT%H%M%SZ).md"

cargo build --release --quiet
cargo bench --no-run --quiet --bench enqueue --bench drain --bench pipeline

{
  echo "# edgeflush benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "- rustc: $(rustc --version)"
  echo "- cpus: $(nproc) ($(lscpu | sed -n 's/^Model name: *//p'))"
  echo "- memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- store filesystem: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}') (temp dirs under ${TMPDIR:-/tmp})"
  echo
  cargo bench --quiet --bench enqueue 2>&1
  echo
  cargo bench --quiet --bench drain 2>&1
  echo
  cargo bench --quiet --bench pipeline 2>&1
  echo
  echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

echo
echo "report kept in $out"
