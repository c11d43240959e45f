#!/usr/bin/env bash
# Issue 9: edgeflush side by side with what people do without it, against
# the same Cloakfusion API simulator, on the same deploys. See
# docs/benchmarks-compare.md.
#
# Contenders, each on a document root of N files of which all N are rewritten
# by one deploy (`cp -r build/. root/`):
#   inotify    an `inotifywait -m -r` loop, one curl POST /flush/ per event
#   webhook    adnanh/webhook (Debian `webhook`), one GitHub-like push
#              delivery listing the N files, a hook script that curls one
#              POST /flush/ per listed file
#   edgeflush  `edgeflush run` watching the root, product defaults
#              (among them max_requests_per_minute = 120)
#   edgeflush-nolimit  the same with max_requests_per_minute = 0 (not in the
#              default set; BENCH_CONTENDERS="... edgeflush-nolimit")
# Modes: plain (no limit) and throttled (the simulator answers 429 with
# Retry-After beyond BENCH_THROTTLE_PER_MINUTE requests per sliding minute).
# Every figure comes from the simulator's request log (/_sim/requests), except
# edgeflush's confirmation time (its own metric; the curl contenders never
# confirm anything).
#
# Env: BENCH_RUNS (3), BENCH_SIZES ("1 1000 10000"), BENCH_MODES ("plain
# throttled"), BENCH_CONTENDERS ("inotify webhook edgeflush"),
# BENCH_TIMEOUT_SECS (300, per contender run), BENCH_QUIET_SECS (5: a
# contender that sent nothing for that long has stopped),
# BENCH_THROTTLE_PER_MINUTE (120), BENCH_FLUSH_DELAY (10ms),
# BENCH_SKIP_INSTALL=1, BENCH_SKIP_BUILD=1.
# Only ever talks to 127.0.0.1. Kills everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

runs=${BENCH_RUNS:-3}
sizes=${BENCH_SIZES:-"1 1000 10000"}
modes=${BENCH_MODES:-"plain throttled"}
contenders=${BENCH_CONTENDERS:-"inotify webhook edgeflush"}
timeout_s=${BENCH_TIMEOUT_SECS:-300}
quiet_s=${BENCH_QUIET_SECS:-5}
rate=${BENCH_THROTTLE_PER_MINUTE:-120}
flush_delay=${BENCH_FLUSH_DELAY:-10ms}
bin=$repo/target/release/edgeflush
token=bench-token-$$
secret=bench-hook-secret-$$
vhost=www.example.com

# ---------------------------------------------------------------- setup --

need_install=()
command -v curl >/dev/null || need_install+=(curl)
command -v inotifywait >/dev/null || need_install+=(inotify-tools)
command -v webhook >/dev/null || need_install+=(webhook)
command -v jq >/dev/null || need_install+=(jq)
command -v openssl >/dev/null || need_install+=(openssl)
if ((${#need_install[@]})) && [[ -z ${BENCH_SKIP_INSTALL:-} ]]; then
  echo "installing ${need_install[*]} with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >&2 || true
fi
for tool in curl jq openssl inotifywait; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing" >&2; exit 1; }
done
if ! command -v webhook >/dev/null; then
  echo "compare.sh: adnanh/webhook could not be installed; the webhook contender is skipped" >&2
  contenders=${contenders//webhook/}
fi
[[ -n ${BENCH_SKIP_BUILD:-} ]] || cargo build --release --quiet

work=$(mktemp -d "${TMPDIR:-/tmp}/edgeflush-compare.XXXXXX")
out_dir=$repo/target/bench-results
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$out_dir/compare-$stamp.md
raw=$work/raw.tsv
: >"$raw"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  done
  sleep 0.3
  for p in "${pids[@]}"; do
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
  done
  pids=()
  [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in its own process group (so its children die with it); the
# pid (= process group id) is left in $started.
start_group() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 </dev/null &
  started=$!
  pids+=("$started")
}

stop_all() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: polls CMD every 0.1 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# N files, 100 per folder: d<k>/f<i>.html. $3 is the content version.
make_tree() {
  local dir=$1 n=$2 v=$3 i
  for ((i = 0; i < n; i++)); do
    ((i % 100)) || mkdir -p "$dir/d$((i / 100))"
    printf '<html><body>page %d, version %s</body></html>\n' "$i" "$v" >"$dir/d$((i / 100))/f$i.html"
  done
}

# ------------------------------------------------------ the contenders ---
# These two are what the doc pastes: keep them plain.

cat >"$work/inotify-purge.sh" <<'EOF'
#!/bin/sh
# Purge every file that changes under $ROOT, one API call per event.
inotifywait -m -r -e close_write,moved_to,delete --format '%w%f' "$ROOT" |
while read -r file; do
  path=${file#"$ROOT"/}
  curl -s -o /dev/null -X POST "$CF_API/flush/" \
    -H "Authorization: Token $CF_TOKEN" \
    -H "Content-Type: application/json" \
    -d "{\"urls\": [\"https://www.example.com/$path\"]}"
done
EOF

cat >"$work/webhook-purge.sh" <<'EOF'
#!/bin/sh
# Run by adnanh/webhook on a GitHub push: purge every file the push touched,
# one API call per file. The payload comes as a file ($PAYLOAD_FILE).
jq -r '.commits[] | (.added + .modified + .removed)[]' "$PAYLOAD_FILE" | sort -u |
while read -r path; do
  curl -s -o /dev/null -X POST "$CF_API/flush/" \
    -H "Authorization: Token $CF_TOKEN" \
    -H "Content-Type: application/json" \
    -d "{\"urls\": [\"https://www.example.com/$path\"]}"
done
EOF
chmod +x "$work/inotify-purge.sh" "$work/webhook-purge.sh"

cat >"$work/hooks.json" <<EOF
[
  {
    "id": "purge",
    "execute-command": "$work/webhook-purge.sh",
    "command-working-directory": "$work",
    "pass-file-to-command": [
      { "source": "entire-payload", "envname": "PAYLOAD_FILE" }
    ],
    "trigger-rule": {
      "match": {
        "type": "payload-hmac-sha256",
        "secret": "$secret",
        "parameter": { "source": "header", "name": "X-Hub-Signature-256" }
      }
    }
  }
]
EOF

# ----------------------------------------------------------- one run -----

sim_api="" sim_ctl=""
start_sim() {
  local mode=$1 log=$2 args=()
  [[ $mode == throttled ]] && args+=(--throttle-per-minute "$rate")
  start_group "$log" "$bin" simulate --listen 127.0.0.1:0 --token "$token" \
    --vhost "$vhost" --flush-delay "$flush_delay" --log-level edgeflush::simulator=info,warn "${args[@]}"
  wait_for 30 grep -q '_sim/' "$log" || { cat "$log" >&2; return 1; }
  local addr
  addr=$(grep -o 'http://127\.0\.0\.1:[0-9]*/_sim/' "$log" | head -1)
  sim_ctl=${addr%/}
  sim_api=${addr%/_sim/}/api/v1
}

flushed_unique() {
  curl -sf "$sim_ctl/flushed" | jq 'unique | length'
}

last_request_ms() {
  curl -sf "$sim_ctl/requests" | jq '(last // {at_ms: 0}).at_ms'
}

metric() { # metric ADMIN NAME [LABELS]
  curl -sf "$1/metrics" | awk -v m="$2${3:-}" '$1 == m {print $2; found=1} END {if (!found) print 0}'
}

edgeflush_config() {
  local dir=$1 admin_port=$2 limit=""
  [[ $3 != edgeflush-nolimit ]] || limit="max_requests_per_minute = 0"
  cat <<EOF
# Product defaults except the addresses, the store, and traffic polling off
# (the other contenders poll nothing either). edgeflush-nolimit: without the
# default client-side limit of 120 requests per minute.
[cloakfusion]
base_url = "$sim_api"
token_file = "$dir/token"
$limit

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:$admin_port"

[store]
path = "$dir/edgeflush.db"

[traffic]
enabled = false

[log]
level = "warn"

[[site]]
name = "www"
vhost = "$vhost"
root = "$dir/public"
EOF
}

# run_one CONTENDER N MODE RUN: appends one line to $raw.
run_one() {
  local who=$1 n=$2 mode=$3 run=$4
  local dir=$work/run-$who-$n-$mode-$run
  mkdir -p "$dir"
  local root=$dir/public build=$work/build-$n
  make_tree "$root" "$n" 1
  start_sim "$mode" "$dir/sim.log"

  local t0 ready admin=
  t0=$(now_ms)
  case $who in
    inotify)
      start_group "$dir/contender.log" env ROOT="$root" CF_API="$sim_api" CF_TOKEN="$token" \
        "$work/inotify-purge.sh"
      wait_for 120 grep -q 'Watches established' "$dir/contender.log" ;;
    webhook)
      local port
      port=$(free_port)
      start_group "$dir/contender.log" env CF_API="$sim_api" CF_TOKEN="$token" \
        webhook -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$port"
      wait_for 30 curl -sf "http://127.0.0.1:$port/" ;;
    edgeflush | edgeflush-nolimit)
      local admin_port
      admin_port=$(free_port)
      admin=http://127.0.0.1:$admin_port
      printf '%s' "$token" >"$dir/token"
      chmod 600 "$dir/token"
      edgeflush_config "$dir" "$admin_port" "$who" >"$dir/edgeflush.toml"
      start_group "$dir/contender.log" env -u EDGEFLUSH_CONFIG "$bin" --config "$dir/edgeflush.toml" run
      wait_for 60 curl -sf "$admin/healthz"
      local deadline=$((SECONDS + 120))
      until [[ $(metric "$admin" edgeflush_watch_indexed_files '{site="www"}') -ge $n ]]; do
        ((SECONDS < deadline)) || { echo "edgeflush did not index $n files" >&2; return 1; }
        sleep 0.1
      done ;;
  esac
  ready=$(now_ms)
  local setup_ms=$((ready - t0))

  # The deploy: every file rewritten with new content.
  local d0 d1
  d0=$(now_ms)
  cp -r "$build/." "$root/"
  d1=$(now_ms)

  if [[ $who == webhook ]]; then
    # One push with one commit modifying the N files, signed as GitHub does.
    jq -n --rawfile files "$work/paths-$n.txt" '{
        ref: "refs/heads/main", before: "1111111", after: "2222222",
        repository: {full_name: "example/www", name: "www"},
        pusher: {name: "ci"},
        commits: [{id: "2222222", message: "deploy", added: [], removed: [],
                   modified: ($files | split("\n") | map(select(. != "")))}],
        head_commit: {id: "2222222"}}' >"$dir/delivery.json"
    local sig
    sig=$(openssl dgst -sha256 -hmac "$secret" -r "$dir/delivery.json" | cut -d' ' -f1)
    curl -sf -o "$dir/delivery.out" -X POST "http://127.0.0.1:$port/hooks/purge" \
      -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
      -H "X-Hub-Signature-256: sha256=$sig" --data-binary "@$dir/delivery.json" ||
      echo "webhook delivery refused" >&2
  fi

  # Wait: every URL accepted (edgeflush: confirmed), or nothing sent for
  # quiet_s, or the time bound.
  local state=timeout deadline=$((SECONDS + timeout_s)) last_seen=0 last_change=$SECONDS got last
  while ((SECONDS < deadline)); do
    sleep 1
    if [[ $who == edgeflush* ]]; then
      got=$(metric "$admin" edgeflush_queue_purges '{state="confirmed"}')
      if ((${got%.*} >= n)); then state="done"; break; fi
      kill -0 "${pids[-1]}" 2>/dev/null || { state=died; break; }
    else
      got=$(flushed_unique)
      if ((got >= n)); then state="done"; break; fi
    fi
    last=$(last_request_ms)
    if ((last != last_seen)); then
      last_seen=$last last_change=$SECONDS
    elif ((SECONDS - last_change >= quiet_s)) && [[ $who != edgeflush* ]]; then
      state=stopped
      break
    fi
  done
  local confirmed_ms=NA
  if [[ $who == edgeflush* && $state == "done" ]]; then
    local ts
    ts=$(metric "$admin" edgeflush_last_confirmed_purge_timestamp_seconds)
    confirmed_ms=$(awk -v t="$ts" -v d="$d1" 'BEGIN {printf "%d", t * 1000 - d}')
  fi
  local rss=NA hwm=NA
  if [[ $who == edgeflush* ]]; then
    local dpid
    dpid=$(pgrep -g "${pids[-1]}" -x edgeflush | head -1 || true)
    if [[ -n $dpid ]]; then
      rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$dpid/status")
      hwm=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$dpid/status")
    fi
  fi

  # Everything else from the simulator's record.
  curl -sf "$sim_ctl/requests" >"$dir/requests.json"
  local figures
  figures=$(jq -r --slurpfile want "$work/urls-$n.json" --argjson d1 "$d1" '
      ($want[0] | map({key: ., value: true}) | from_entries) as $w
    | (map(select(.path | endswith("/flush/")))) as $fl
    | (reduce ($fl[] | select(.status >= 200 and .status < 300) | .at_ms as $t | .body.urls[]? | {u: ., t: $t}) as $x
        ({}; if has($x.u) then . else .[$x.u] = $x.t end)) as $first
    | ([$first | to_entries[] | select($w[.key]) | .value]) as $hits
    | [ length,
        ($fl | length),
        (map(select(.path | endswith("/flushstatus/"))) | length),
        (map(select(.status == 429)) | length),
        ($hits | length),
        (($want[0] | length) - ($hits | length)),
        ([$first | keys[] | select($w[.] | not)] | length),
        ([$fl[] | select(.status >= 200 and .status < 300) | .body.urls[]?] | length),
        (if ($hits | length) > 0 then ($hits | max) - $d1 else "NA" end),
        ((map(.at_ms) | max // $d1) - $d1)
      ] | @tsv' "$dir/requests.json")
  # contender n mode run state setup deploy calls flush status 429 purged missing extra
  # url_occurrences last_purge_ms last_call_ms confirmed_ms rss hwm load
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$n" "$mode" "$run" "$state" \
    "$setup_ms" "$((d1 - d0))" "$figures" "$confirmed_ms" "$rss" "$hwm" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
  stop_all
  [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$root"
  printf '  %-9s N=%-6s %-9s run %s: %s\n' "$who" "$n" "$mode" "$run" "$(tail -1 "$raw" | cut -f5-)" >&2
}

# ------------------------------------------------------------- the runs --

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
for n in $sizes; do
  make_tree "$work/build-$n" "$n" 2
  (cd "$work/build-$n" && find . -type f | sed 's|^\./||' | sort) >"$work/paths-$n.txt"
  jq -R -s --arg b "https://$vhost/" 'split("\n") | map(select(. != "") | $b + .)' \
    "$work/paths-$n.txt" >"$work/urls-$n.json"
done
echo "compare: runs=$runs sizes=($sizes) modes=($modes) contenders=($contenders), load $load_before" >&2
for n in $sizes; do
  for mode in $modes; do
    for ((run = 1; run <= runs; run++)); do
      for who in $contenders; do
        run_one "$who" "$n" "$mode" "$run"
      done
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------------------------------- report --

# stat COLUMN CONTENDER N MODE: "median (min-max)" over the runs, or NA.
stat() {
  awk -F'\t' -v c="$1" -v w="$2" -v n="$3" -v m="$4" \
    '$1 == w && $2 == n && $3 == m && $c != "NA" {print $c}' "$raw" | sort -n |
    awk '{v[NR] = $1} END {
      if (NR == 0) { print "NA"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      if (v[1] == v[NR]) printf "%g\n", med; else printf "%g (%g-%g)\n", med, v[1], v[NR] }'
}
median() { stat "$@" | cut -d' ' -f1; }
states() {
  awk -F'\t' -v w="$1" -v n="$2" -v m="$3" '$1 == w && $2 == n && $3 == m {c[$5]++}
    END {s = ""; for (k in c) s = s (s ? ", " : "") c[k] "x " k; print s}' "$raw"
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.3g\n", a / b }'
}

# The time ratio only when the contender purged everything in every run.
time_ratio() {
  local all_done='^[0-9]+x done$'
  if ! [[ $(states "$1" "$2" "$3") =~ $all_done && $(states edgeflush "$2" "$3") =~ $all_done ]]; then
    echo "not done"
  else
    ratio "$(median 16 "$1" "$2" "$3")" "$(median 16 edgeflush "$2" "$3")"
  fi
}

{
  echo "# edgeflush side by side (issue 9), $started_at"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "- cpus: $(nproc) ($(lscpu | sed -n 's/^Model name: *//p')); memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "- load before: $load_before; after: $load_after (shared machine)"
  echo "- webhook: $(webhook -version 2>/dev/null || echo 'not installed'); $(inotifywait --help 2>&1 | head -1); $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "- runs: $runs; simulator flush delay $flush_delay; throttled = $rate requests per sliding minute, 429 + Retry-After beyond; bound $timeout_s s per contender run"
  echo
  echo "## Summary: medians (min-max) over $runs runs"
  echo
  echo "Times in ms from the end of the deploy. *purged* = the API accepted a flush naming the URL (simulator log); *confirmed* = edgeflush's"
  echo "\`edgeflush_last_confirmed_purge_timestamp_seconds\`. Ratios are contender median / edgeflush median."
  echo
  echo "| N | mode | contender | outcome | API calls | flush calls | 429s | URLs purged | missed | -> all purged ms | -> confirmed ms | calls ÷ edgeflush | time ÷ edgeflush | setup ms |"
  echo "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in $sizes; do
    for mode in $modes; do
      for who in $contenders; do
        [[ -n $(states "$who" "$n" "$mode") ]] || continue
        echo "| $n | $mode | $who | $(states "$who" "$n" "$mode") | $(stat 8 "$who" "$n" "$mode") | $(stat 9 "$who" "$n" "$mode") | $(stat 11 "$who" "$n" "$mode") | $(stat 12 "$who" "$n" "$mode") | $(stat 13 "$who" "$n" "$mode") | $(stat 16 "$who" "$n" "$mode") | $(stat 18 "$who" "$n" "$mode") | $(ratio "$(median 8 "$who" "$n" "$mode")" "$(median 8 edgeflush "$n" "$mode")") | $(time_ratio "$who" "$n" "$mode") | $(stat 6 "$who" "$n" "$mode") |"
      done
    done
  done
  echo
  echo "*-> all purged* is reported only over the URLs that were purged: read it with *missed*. A curl contender 'stopped' when it"
  echo "sent nothing for $quiet_s s; edgeflush is 'done' when every URL is confirmed. edgeflush memory after the run (MiB):"
  for n in $sizes; do
    for mode in $modes; do
      for who in $contenders; do
        [[ $who == edgeflush* && -n $(states "$who" "$n" "$mode") ]] || continue
        echo "$who, N=$n $mode: VmRSS $(stat 19 "$who" "$n" "$mode"), VmHWM $(stat 20 "$who" "$n" "$mode")."
      done
    done
  done
  echo
  echo "## Raw figures, one line per run"
  echo
  echo "| contender | N | mode | run | outcome | setup ms | deploy ms | API calls | flush calls | flushstatus calls | 429s | URLs purged | missed | other URLs purged | URLs sent in accepted flushes | -> all purged ms | -> last API call ms | -> confirmed ms | RSS MiB | HWM MiB | load |"
  echo "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$raw"
} >"$out"

cat "$out"
echo
echo "report kept in $out"
