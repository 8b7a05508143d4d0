#!/usr/bin/env bash
# PostgreSQL store benchmark: verified report ingestion over HTTPS keep-alive
# driven by devattest-loadgen (docs/loadgen.md) into one server instance on
# SQLite (the reference, same run), one on PostgreSQL, then two instances on
# the same PostgreSQL database (the same configuration and keys, as behind a
# load balancer), each fed by its own load generator at the same time. A
# throwaway PostgreSQL cluster (tests/support/pg-cluster) on this machine;
# everything on loopback. Prints the rows docs/benchmarks.md records
# ("Server: PostgreSQL store"). Needs a release build in $DA_BUILD.
#   BENCH_COUNT (default 10000) reports per load generator and row
#   BENCH_CONCURRENCY (default 64) keep-alive connections per load generator
#   BENCH_AGENTS (default 256) simulated agents per load generator and row
#   BENCH_DOCS (default "small debian12") documents of tests/data/loadgen
#   BENCH_STORE_CONNECTIONS (default 16) store_connections of each instance
#   DA_REF_BUILD (optional) a release build of another revision (the
#     reference): its PostgreSQL rows are measured in the same run, each
#     right after this build's, on databases of their own
#   BENCH_SQLITE (default 1) 0 leaves out the SQLite row
#   BENCH_TWO (default 1) 0 leaves out the rows of two instances
#   BENCH_PG_STATEMENTS (default 1) loads pg_stat_statements into the
#     cluster and adds per report: the statements PostgreSQL ran (its
#     calls, in the row's database) and the messages its processes sent
#     (sendto calls, counted by perf; each ends one wait of a client:
#     a round trip) — "-" when perf cannot count them
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$top/scripts/bench.d/server-setup.inc"
build=${DA_BUILD:?run through scripts/bench}
count=${BENCH_COUNT:-10000}
conc=${BENCH_CONCURRENCY:-64}
agents=${BENCH_AGENTS:-256}
docs=${BENCH_DOCS:-small debian12}
pool=${BENCH_STORE_CONNECTIONS:-16}
data=$top/tests/data/loadgen
ref=${DA_REF_BUILD:-}
with_sqlite=${BENCH_SQLITE:-1}
with_stats=${BENCH_PG_STATEMENTS:-1}
with_two=${BENCH_TWO:-1}
loadgen=$build/loadgen/devattest-loadgen
server=$build/server/devattest-server
work=$(mktemp -d /tmp/da-bench-pg-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  "$top/tests/support/pg-cluster" stop "$work/pg.env" || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_opts=
[ "$with_stats" != 1 ] || pg_opts="-c shared_preload_libraries=pg_stat_statements"
DA_PG_OPTS=$pg_opts "$top/tests/support/pg-cluster" start "$work/pg.env" >/dev/null
base=$(sed -n 's/^uri=//p' "$work/pg.env")
[ "$with_stats" != 1 ] || psql "$base" -qc "CREATE EXTENSION pg_stat_statements"

# setup NAME STORE: a server configuration in $work/NAME (its keys, vendor
# "bench" and an admin token) for STORE (sqlite, or a new database's name),
# made by $server (the build being measured)
setup() {
  local store=sqlite
  if [ "$2" != sqlite ]; then
    psql "$base" -qc "CREATE DATABASE $2"
    store=${base%/postgres}/$2
  fi
  mkdir -p "$work/$1"
  bench_server_conf "$work/$1/server.conf" "$work/$1/state" warn "store = $store" \
    "store_connections = $pool"
  bench_server_init "$server" "$work/$1/server.conf" "$work/$1/state" "$work/$1/token"
}

# start NAME PORTFILE: one more instance of configuration NAME; its pid last in pids
start() {
  rm -f "$2"
  "$server" -c "$work/$1/server.conf" serve --port-file "$2" 2>"$2.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$2" ] && break; sleep 0.05; done
}

# load NAME PORTFILE DOC: one load generator run against one instance
load() {
  "$loadgen" --url "https://127.0.0.1:$(cat "$2")" --ca "$work/$1/state/ca.pem" \
    --token-file "$work/$1/token" --vendor bench --evidence "$data/evidence-$3.json" \
    --inventory "$data/inventory-debian12.txt" --agents "$agents" --concurrency "$conc" \
    --count "$count" --duration 120 --change-rate 0.01 || true
}

field() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
pg_pids() { pgrep -u "${DA_TEST_PG_USER:-nobody}" -x postgres || true; }
per_report() {
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" \
    'BEGIN {if (n > 0) printf "%.3f ms", 1000 * t / hz / n; else print "-"}'
}
row() { # OUT SERVER_TICKS PG_TICKS
  local n
  n=$(field accepted "$1")
  printf '%s | %s | %s / %s ms | %s | %s | %s | %s |' "$n" "$(field reports_per_s "$1")" \
    "$(field latency_ms.p50 "$1")" "$(field latency_ms.p99 "$1")" \
    "$(awk '$1 ~ /^errors\./ {printf "%s%s %s", s, $1, $2; s=", "}' <<<"$1" | sed 's/errors\.//g')" \
    "$(field server.bytes_per_report "$1")" "$(per_report "$2" "${n:-0}")" \
    "$( [ "$3" = - ] && echo - || per_report "$3" "${n:-0}")"
}

# Cluster-wide counters: commits, transactions rolled back (a transaction
# run again after a serialization failure ends in a rollback), WAL flushes.
pg_counters() {
  psql "$base" -Atc "SELECT (SELECT sum(xact_commit) FROM pg_stat_database),
    (SELECT sum(xact_rollback) FROM pg_stat_database), (SELECT wal_sync FROM pg_stat_wal)" |
    tr '|' ' '
}
# per_n DELTA N: DELTA / N with two decimals
per_n() { awk -v d="$1" -v n="$2" 'BEGIN {if (n > 0) printf "%.2f", d / n; else print "-"}'; }
# stats_start DB: count from now the statements of DB and the messages
# the cluster's processes send; stats_end DB N: both per report, "a / b"
stats_start() {
  [ "$with_stats" = 1 ] || return 0
  psql "$base" -Atqc "SELECT pg_stat_statements_reset()" >/dev/null
  rm -f "$work/perf.out"
  perf stat -x, -e syscalls:sys_enter_sendto -o "$work/perf.out" \
    -p "$(pg_pids | paste -sd,)" 2>/dev/null &
  perf_pid=$!
}
stats_end() {
  local calls sends
  [ "$with_stats" = 1 ] || { echo "- / -"; return 0; }
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  calls=$(psql "$base" -Atc "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$1'")
  sends=$(awk -F, '/sys_enter_sendto/ {print $1}' "$work/perf.out" 2>/dev/null)
  echo "$(per_n "$calls" "$2") / $(per_n "${sends:-0}" "$2")"
}
lg_cpu() { awk '$1 == "loadgen_cpu_ms_per_report" {print $2}' <<<"$1"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load generators on the same cores"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "postgresql: $(psql "$base" -Atc 'SHOW server_version'), fsync $(psql "$base" -Atc 'SHOW fsync'), synchronous_commit $(psql "$base" -Atc 'SHOW synchronous_commit'), shared_buffers $(psql "$base" -Atc 'SHOW shared_buffers'), store_connections $pool"
echo "build: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')${ref:+, reference: $ref ($(git -C "$ref/.." rev-parse --short HEAD 2>/dev/null || echo '?'))}"
echo
echo "| build | store | document | accepted | reports/s | p50 / p99 | errors | stored B/report | server CPU/report | PostgreSQL CPU/report | load generator CPU/report | rollbacks/report | WAL flushes/report | statements / PostgreSQL sends per report | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"

# pg_one LABEL BUILD DOC: one instance of BUILD on a new database
pg_one() {
  local label=$1 srv=$2/server/devattest-server doc=$3 name out s0 s1 p0 p1 c0 c1 n
  name="one_${label}_$doc"
  server=$srv setup "$name" "$name"
  server=$srv start "$name" "$work/$name.port"
  stats_start
  s0=$(ticks "${pids[-1]}"); p0=$(ticks $(pg_pids)); c0=$(pg_counters)
  out=$(load "$name" "$work/$name.port" "$doc")
  s1=$(ticks "${pids[-1]}"); p1=$(ticks $(pg_pids)); c1=$(pg_counters)
  n=$(field accepted "$out")
  echo "| $label | PostgreSQL, 1 instance | $doc | $(row "$out" $((s1 - s0)) $((p1 - p0))) $(lg_cpu "$out") ms | $(per_n $(($(cut -d' ' -f2 <<<"$c1") - $(cut -d' ' -f2 <<<"$c0"))) "${n:-0}") | $(per_n $(($(cut -d' ' -f3 <<<"$c1") - $(cut -d' ' -f3 <<<"$c0"))) "${n:-0}") | $(stats_end "$name" "${n:-0}") | $(cut -d' ' -f1 /proc/loadavg) |"
  kill "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'
}

# pg_two LABEL BUILD DOC: two instances of BUILD on one new database, each
# with its own load generator, at the same time
pg_two() {
  local label=$1 srv=$2/server/devattest-server doc=$3 name a b la lb oa ob s0 s1 p0 p1 c0 c1 n
  name="two_${label}_$doc"
  server=$srv setup "$name" "$name"
  server=$srv start "$name" "$work/$name.a"
  a=${pids[-1]}
  server=$srv start "$name" "$work/$name.b"
  b=${pids[-1]}
  stats_start
  s0=$(ticks "$a" "$b"); p0=$(ticks $(pg_pids)); c0=$(pg_counters)
  load "$name" "$work/$name.a" "$doc" >"$work/out-a" &
  la=$!
  load "$name" "$work/$name.b" "$doc" >"$work/out-b" &
  lb=$!
  wait "$la" || true
  wait "$lb" || true
  s1=$(ticks "$a" "$b"); p1=$(ticks $(pg_pids)); c1=$(pg_counters)
  oa=$(cat "$work/out-a"); ob=$(cat "$work/out-b")
  echo "| $label | PostgreSQL, instance A of 2 | $doc | $(row "$oa" - -) $(lg_cpu "$oa") ms | | | | $(cut -d' ' -f1 /proc/loadavg) |"
  echo "| $label | PostgreSQL, instance B of 2 | $doc | $(row "$ob" - -) $(lg_cpu "$ob") ms | | | | $(cut -d' ' -f1 /proc/loadavg) |"
  n=$(( $(field accepted "$oa") + $(field accepted "$ob") ))
  echo "| $label | PostgreSQL, 2 instances together | $doc | $n | $(awk -v a="$(field reports_per_s "$oa")" -v b="$(field reports_per_s "$ob")" 'BEGIN {print a + b}') | | | | $(per_report $((s1 - s0)) "$n") | $(per_report $((p1 - p0)) "$n") | | $(per_n $(($(cut -d' ' -f2 <<<"$c1") - $(cut -d' ' -f2 <<<"$c0"))) "$n") | $(per_n $(($(cut -d' ' -f3 <<<"$c1") - $(cut -d' ' -f3 <<<"$c0"))) "$n") | $(stats_end "$name" "$n") | |"
  kill "$a" "$b"; wait "$a" "$b" || true; pids=()
}

for doc in $docs; do
  if [ "$with_sqlite" = 1 ]; then
    setup "sq-$doc" sqlite
    start "sq-$doc" "$work/sq-$doc.port"
    s0=$(ticks "${pids[-1]}")
    out=$(load "sq-$doc" "$work/sq-$doc.port" "$doc")
    echo "| this | SQLite, 1 instance | $doc | $(row "$out" $(($(ticks "${pids[-1]}") - s0)) -) $(lg_cpu "$out") ms | - | - | - | $(cut -d' ' -f1 /proc/loadavg) |"
    kill "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'
  fi
  pg_one this "$build" "$doc"
  [ -z "$ref" ] || pg_one ref "$ref" "$doc"
  [ "$with_two" != 1 ] || pg_two this "$build" "$doc"
  [ "$with_two" != 1 ] || [ -z "$ref" ] || pg_two ref "$ref" "$doc"
done
