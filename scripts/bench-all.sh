#!/usr/bin/env bash
# Every benchmark figure of the project in one command, with the machine it
# ran on: builds the release binary, runs the chosen parts, and keeps the whole
# report in target/bench-results/<UTC time>.md (also printed).
#
#   scripts/bench-all.sh                 # every part
#   scripts/bench-all.sh compare watch   # only these parts
#
# Parts:
#   enqueue   cargo bench --bench enqueue            (issue 3, docs/benchmarks.md)
#   drain     cargo bench --bench drain              (issue 3)
#   pipeline  cargo bench --bench pipeline           (issue 3; prints peak RSS)
#   watch     the watcher benches, tests/watch/bench.rs (docs/benchmarks-watch.md)
#   fleet     cargo bench --bench fleet              (needs EDGEFLUSH_TEST_POSTGRES_URL)
#   webhooks  cargo bench --bench webhooks           (only if benches/webhooks.rs exists)
#   memory    VmRSS/VmHWM of `edgeflush run`: idle after start, after a
#             10,000-path purge is confirmed, and 10 s later
#   compare   scripts/compare.sh, edgeflush against inotifywait+curl and
#             adnanh/webhook+curl (docs/benchmarks-compare.md)
#
# Env passes through: BENCH_RUNS, BENCH_SCENARIOS, BENCH_TIMEOUT_SECS,
# BENCH_FILES, BENCH_SIZES, BENCH_MODES, BENCH_CONTENDERS, ...
set -euo pipefail
cd "$(dirname "$0")/.."

all_parts=(enqueue drain pipeline watch fleet webhooks memory compare)
if (($#)); then
  parts=("$@")
  for p in "${parts[@]}"; do
    [[ " ${all_parts[*]} " == *" $p "* ]] || {
      echo "bench-all.sh: unknown part '$p' (parts: ${all_parts[*]})" >&2
      exit 2
    }
  done
else
  parts=("${all_parts[@]}")
fi
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }

out_dir=target/bench-results
mkdir -p "$out_dir"
out="$out_dir/$(date -u +%Y%m%dT%H%M%SZ).md"

cargo build --release --quiet
benches=()
for b in enqueue drain pipeline; do want "$b" && benches+=(--bench "$b"); done
if want fleet && [[ -n ${EDGEFLUSH_TEST_POSTGRES_URL:-} ]]; then benches+=(--bench fleet); fi
if ((${#benches[@]})); then cargo bench --no-run --quiet "${benches[@]}"; fi
if want watch; then cargo test --release --quiet --test watch --no-run; fi

# ------------------------------------------------------------ memory ---
# The daemon against `edgeflush simulate`, both children of this shell, on
# loopback; everything it starts is stopped on return.
mem_pids=()
mem_stop() {
  local p
  for p in "${mem_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${mem_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  mem_pids=()
}
mem_dir=""
mem_cleanup() {
  mem_stop
  [[ -z $mem_dir ]] || rm -rf "$mem_dir"
}

mem_of() { # "VmRSS x MiB, VmHWM y MiB" of pid $1
  awk '/^VmRSS|^VmHWM/ {sub(":", "", $1); printf "%s%s %.1f MiB", sep, $1, $2 / 1024; sep = ", "}' "/proc/$1/status"
}

metric() { # metric URL NAME: the value of the first sample named exactly NAME
  curl -sf "$1/metrics" | awk -v m="$2" '$1 == m {print $2; f = 1; exit} END {if (!f) print 0}'
}

memory_bench() {
  local bin=target/release/edgeflush n=10000 token=mem-bench-token
  # The report runs in a subshell (| tee): the trap has to be set in it.
  trap mem_cleanup EXIT
  mem_dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeflush-mem.XXXXXX")
  mkdir -p "$mem_dir/public"
  "$bin" simulate --listen 127.0.0.1:0 --token "$token" --vhost www.example.com \
    --flush-delay 10ms >"$mem_dir/sim.log" 2>&1 &
  mem_pids+=("$!")
  local i api=""
  for ((i = 0; i < 100; i++)); do
    api=$(grep -o 'base_url=http://127\.0\.0\.1:[0-9]*/api/v1' "$mem_dir/sim.log" | head -1 || true)
    [[ -z $api ]] || break
    sleep 0.1
  done
  [[ -n $api ]] || { echo "memory: the simulator did not start"; return 1; }
  api=${api#base_url=}
  local admin_port
  admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local admin=http://127.0.0.1:$admin_port
  printf '%s' "$token" >"$mem_dir/token"
  chmod 600 "$mem_dir/token"
  cat >"$mem_dir/edgeflush.toml" <<EOF
[cloakfusion]
base_url = "$api"
token_file = "$mem_dir/token"
max_requests_per_minute = 0

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:$admin_port"

[store]
path = "$mem_dir/edgeflush.db"

[[site]]
name = "www"
vhost = "www.example.com"
root = "$mem_dir/public"
EOF
  env -u EDGEFLUSH_CONFIG "$bin" --config "$mem_dir/edgeflush.toml" run >"$mem_dir/daemon.log" 2>&1 &
  local pid=$!
  mem_pids+=("$pid")
  for ((i = 0; i < 300; i++)); do
    curl -sf "$admin/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "## memory of the daemon (target/release/edgeflush run, pid $pid)"
  echo
  echo "Config: product defaults, max_requests_per_minute = 0, one site with an empty watched root; simulator flush delay 10 ms."
  echo
  sleep 5
  echo "- idle, 5 s after start: $(mem_of "$pid")"
  local t0 c
  t0=$(date +%s%3N)
  for ((c = 0; c < n / 1000; c++)); do
    seq $((c * 1000)) $((c * 1000 + 999)) |
      jq -R -s '{site: "www", paths: (split("\n") | map(select(. != "") | "assets/\(.).js"))}' |
      curl -sf -o /dev/null -X POST "$admin/api/purge" -H 'Content-Type: application/json' --data-binary @-
  done
  local confirmed=0
  for ((i = 0; i < 1200; i++)); do
    confirmed=$(metric "$admin" 'edgeflush_queue_purges{state="confirmed"}')
    ((${confirmed%.*} >= n)) && break
    sleep 0.25
  done
  echo "- after a $n-path purge (10 calls of 1,000 paths), $confirmed confirmed $(($(date +%s%3N) - t0)) ms after the first call: $(mem_of "$pid")"
  sleep 10
  echo "- 10 s later, idle again: $(mem_of "$pid")"
  mem_stop
  rm -rf "$mem_dir"
  mem_dir=""
}

# ------------------------------------------------------------ report ---
{
  echo "# edgeflush benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- parts: ${parts[*]}"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "- rustc: $(rustc --version)"
  echo "- cpus: $(nproc) ($(lscpu | sed -n 's/^Model name: *//p'))"
  echo "- memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- store filesystem: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}') (temp dirs under ${TMPDIR:-/tmp})"
  echo
  for b in enqueue drain pipeline; do
    if want "$b"; then
      cargo bench --quiet --bench "$b" 2>&1
      echo
    fi
  done
  if want watch; then
    echo "## watch (cargo test --release --test watch bench_ -- --ignored --nocapture --test-threads=1)"
    echo
    cargo test --release --quiet --test watch bench_ -- --ignored --nocapture --test-threads=1 2>&1
    echo
  fi
  if want fleet; then
    if [[ -n ${EDGEFLUSH_TEST_POSTGRES_URL:-} ]]; then
      cargo bench --quiet --bench fleet 2>&1
    else
      echo "## fleet: skipped, EDGEFLUSH_TEST_POSTGRES_URL is not set"
      echo "(e.g. EDGEFLUSH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-all.sh fleet)"
    fi
    echo
  fi
  if want webhooks; then
    if [[ -f benches/webhooks.rs ]]; then
      # Being written by someone else: a failure is reported, not fatal.
      cargo bench --quiet --bench webhooks 2>&1 || echo "## webhooks: cargo bench --bench webhooks failed (exit $?)"
    else
      echo "## webhooks: skipped, benches/webhooks.rs does not exist in this checkout"
    fi
    echo
  fi
  if want memory; then
    memory_bench 2>&1 || echo "memory: failed, see above"
    echo
  fi
  if want compare; then
    scripts/compare.sh 2>&1
    echo
  fi
  echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

echo
echo "report kept in $out"
