#!/usr/bin/env bash
# Server benchmark: verified report ingestion over HTTPS keep-alive with the
# SQLite store, on loopback, bounded in count and time. Prints the figures
# docs/benchmarks.md records. Needs a release build in $DA_BUILD.
#   BENCH_COUNT (default 20000) reports for the throughput run
#   BENCH_CONCURRENCY (default 128) keep-alive connections
set -euo pipefail
build=${DA_BUILD:?run through scripts/bench}
count=${BENCH_COUNT:-20000}
conc=${BENCH_CONCURRENCY:-128}
server=$build/server/devattest-server
load=$build/tests/da_server_load
work=$(mktemp -d /tmp/da-bench-server-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/server.conf" <<EOC
listen_address = 127.0.0.1
port = 0
state_dir = $work/state
nonce_ttl = 3600s
rate_per_address = 1000000
burst_per_address = 1000000
rate_per_agent = 1000000
burst_per_agent = 1000000
log_level = warn
EOC
"$server" -c "$work/server.conf" init --name 127.0.0.1 >/dev/null
cp "$(dirname "$0")/../../common/policies/iso27001-2022-devenv.json" "$work/state/policy.json"

start_server() {
  rm -f "$work/port"
  "$server" -c "$work/server.conf" serve --port-file "$work/port" &
  pid=$!
  for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
}

run_load() {
  "$load" --url "https://127.0.0.1:$port" --ca "$work/state/ca.pem" --state "$work/state" \
    --db "$work/state/devattest.db" "$@"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "openssl speed ecdsap256 (one core, 3 s):"
speed=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1), $NF}')
sign_s=$(echo "$speed" | awk '{print $1}')
verify_s=$(echo "$speed" | awk '{print $2}')
echo "  sign/s=$sign_s verify/s=$verify_s"

start_server
echo "throughput (closed loop, $conc connections, $count reports):"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(cpu_ticks)
out=$(run_load --agents 256 --count "$count" --concurrency "$conc" --max-seconds 120) || true
t1=$(cpu_ticks)
echo "  $out"
echo "  server CPU per report: $(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$count" 'BEGIN {printf "%.3f ms", 1000 * t / hz / n}')"
echo "  load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
rate=$(sed -E 's/.*rate_per_s=([0-9.]+).*/\1/' <<<"$out")
echo "  ratio reports/s to openssl verify/s (one core): $(awk -v r="$rate" -v v="$verify_s" 'BEGIN {printf "%.3f", r / v}')"

echo "latency at 500 reports/s (open loop, 10 s):"
out=$(run_load --agents 256 --count 5000 --concurrency 64 --rate 500 --max-seconds 60) || true
echo "  $out"
kill -TERM "$pid"
wait "$pid"
pid=
echo "server exited cleanly after SIGTERM"
