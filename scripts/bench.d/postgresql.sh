#!/usr/bin/env bash
# PostgreSQL store benchmark: verified report ingestion over HTTPS keep-alive
# into one server instance on SQLite (the reference, same run), one on
# PostgreSQL, then two instances on the same PostgreSQL database
# (the same configuration and keys, as behind a load balancer), each fed by
# its own load generator at the same time. A throwaway PostgreSQL cluster
# (tests/support/pg-cluster) on this machine; everything on loopback.
# Prints the figures docs/benchmarks.md records. Needs a release build in
# $DA_BUILD.
#   BENCH_COUNT (default 20000) reports per load generator
#   BENCH_CONCURRENCY (default 64) keep-alive connections per load generator
#   BENCH_STORE_CONNECTIONS (default 16) store_connections of each instance
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DA_BUILD:?run through scripts/bench}
count=${BENCH_COUNT:-20000}
conc=${BENCH_CONCURRENCY:-64}
pool=${BENCH_STORE_CONNECTIONS:-16}
server=$build/server/devattest-server
load=$build/tests/da_server_load
work=$(mktemp -d /tmp/da-bench-pg-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  "$top/tests/support/pg-cluster" stop "$work/pg.env" || true
  rm -rf "$work"
}
trap cleanup EXIT

"$top/tests/support/pg-cluster" start "$work/pg.env" >/dev/null
base=$(sed -n 's/^uri=//p' "$work/pg.env")
psql "$base" -qc "CREATE DATABASE bench_one" -c "CREATE DATABASE bench_two"

# write_conf NAME DB: a server configuration in $work/NAME for database DB
# (sqlite: the SQLite file in its state directory)
write_conf() {
  local store=${base%/postgres}/$2
  [ "$2" = sqlite ] && store=sqlite
  mkdir -p "$work/$1"
  cat >"$work/$1/server.conf" <<EOC
listen_address = 127.0.0.1
port = 0
state_dir = $work/$1/state
store = $store
store_connections = $pool
nonce_ttl = 3600s
rate_per_address = 1000000
burst_per_address = 1000000
rate_per_agent = 1000000
burst_per_agent = 1000000
log_level = warn
EOC
  "$server" -c "$work/$1/server.conf" init --name 127.0.0.1 >/dev/null
  cp "$top/common/policies/iso27001-2022-devenv.json" "$work/$1/state/policy.json"
}

# start_server NAME PORTFILE: one more instance of configuration NAME
start_server() {
  rm -f "$2"
  "$server" -c "$work/$1/server.conf" serve --port-file "$2" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$2" ] && break; sleep 0.05; done
}

# run_load NAME PORTFILE DB: one load generator against one instance
run_load() {
  local db=${base%/postgres}/$3
  [ "$3" = sqlite ] && db=$work/$1/state/devattest.db
  "$load" --url "https://127.0.0.1:$(cat "$2")" --ca "$work/$1/state/ca.pem" \
    --state "$work/$1/state" --db "$db" --agents 256 --count "$count" \
    --concurrency "$conc" --max-seconds 300
}

cpu_ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
pg_ticks() {
  local t=0 p
  for p in $(pgrep -u "${DA_TEST_PG_USER:-nobody}" -x postgres); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
per_report() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN {printf "%.3f ms", 1000 * t / hz / n}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "postgresql: $(psql "$base" -Atc 'SHOW server_version'), fsync $(psql "$base" -Atc 'SHOW fsync'), synchronous_commit $(psql "$base" -Atc 'SHOW synchronous_commit')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

write_conf sq sqlite
start_server sq "$work/sq/port"
echo "reference: one instance on SQLite ($conc connections, $count reports):"
s0=$(cpu_ticks "${pids[0]}")
out=$(run_load sq "$work/sq/port" sqlite) || true
s1=$(cpu_ticks "${pids[0]}")
echo "  $out"
echo "  server CPU per report: $(per_report $((s1 - s0)) "$count")"
kill "${pids[0]}"; wait "${pids[0]}" || true; pids=()

write_conf one bench_one
start_server one "$work/one/port"
echo "one instance ($conc connections, $count reports, store_connections $pool):"
s0=$(cpu_ticks "${pids[0]}"); p0=$(pg_ticks)
out=$(run_load one "$work/one/port" bench_one) || true
s1=$(cpu_ticks "${pids[0]}"); p1=$(pg_ticks)
echo "  $out"
echo "  server CPU per report: $(per_report $((s1 - s0)) "$count"), postgres CPU per report: $(per_report $((p1 - p0)) "$count")"
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill "${pids[0]}"; wait "${pids[0]}" || true; pids=()

write_conf two bench_two
start_server two "$work/two/port-a"
start_server two "$work/two/port-b"
echo "two instances on one database (a load generator each, at once):"
t0=$(date +%s.%N)
run_load two "$work/two/port-a" bench_two >"$work/out-a" &
la=$!
run_load two "$work/two/port-b" bench_two >"$work/out-b" &
lb=$!
wait "$la" || true
wait "$lb" || true
t1=$(date +%s.%N)
echo "  A: $(cat "$work/out-a")"
echo "  B: $(cat "$work/out-b")"
ok=$(cat "$work/out-a" "$work/out-b" | sed -E 's/.* ok=([0-9]+).*/\1/' | awk '{s += $1} END {print s}')
rates=$(cat "$work/out-a" "$work/out-b" | sed -E 's/.*rate_per_s=([0-9.]+).*/\1/' | awk '{s += $1} END {print s}')
echo "  together: ok=$ok sum_of_rates_per_s=$rates wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
echo "  database: $(psql "${base%/postgres}/bench_two" -Atc "SELECT (SELECT count(*) FROM reports) || ' reports, ' || pg_size_pretty(pg_database_size(current_database()))")"
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
