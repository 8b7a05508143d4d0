#!/usr/bin/env bash
# Server benchmark: verified report ingestion over HTTPS keep-alive with the
# SQLite store, on loopback, bounded in count and time, driven by
# devattest-loadgen with the realistic document captured on a Debian
# machine (tests/data/loadgen/evidence-debian12.json, ~26 KB) and, in the
# same run, the small reference document (evidence-small.json). Prints the
# rows docs/benchmarks.md records ("Server: verified report ingestion").
# Needs a release build in $DA_BUILD.
#   BENCH_COUNT (default 20000) reports for each closed-loop run
#   BENCH_CONCURRENCY (default 64) keep-alive connections
#   BENCH_AGENTS (default 256) simulated agents per run
#   BENCH_PERF=1 also profiles the server (perf record, DWARF call graphs) during the
#     realistic closed-loop run and prints the top of the profile
set -euo pipefail
build=${DA_BUILD:?run through scripts/bench}
count=${BENCH_COUNT:-20000}
conc=${BENCH_CONCURRENCY:-64}
agents=${BENCH_AGENTS:-256}
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../../tests/data/loadgen
server=$build/server/devattest-server
loadgen=$build/loadgen/devattest-loadgen
work=$(mktemp -d /tmp/da-bench-server-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$here/server-setup.inc"
bench_server_conf "$work/server.conf" "$work/state" warn
bench_server_init "$server" "$work/server.conf" "$work/state" "$work/token"

"$server" -c "$work/server.conf" serve --port-file "$work/port" &
pid=$!
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

field() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# run DOC ARGS... -> one table row: reports/s, latency, errors, bytes per
# report, server CPU per report, load average
run() {
  local doc=$1 t0 t1 out accepted errors
  shift
  t0=$(cpu_ticks)
  out=$("$loadgen" --url "https://127.0.0.1:$port" --ca "$work/state/ca.pem" \
    --token-file "$work/token" --vendor bench --evidence "$data/evidence-$doc.json" \
    --inventory "$data/inventory-debian12.txt" --agents "$agents" "$@") || true
  t1=$(cpu_ticks)
  accepted=$(field accepted "$out")
  errors=$(awk '$1 ~ /^errors\./ {sub(/^errors\./, "", $1); printf "%s%s %s", sep, $1, $2; sep=", "}' <<<"$out")
  printf '%s | %s B | %s | %s | %s / %s / %s / %s | %s | %s | %s | %s ms | %s |\n' \
    "$doc" "$(field document_bytes "$out")" "$accepted" "$(field reports_per_s "$out")" \
    "$(field latency_ms.p50 "$out")" "$(field latency_ms.p90 "$out")" \
    "$(field latency_ms.p99 "$out")" "$(field latency_ms.max "$out")" "${errors:-none}" \
    "$(field server.bytes_per_report "$out")" \
    "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${accepted:-0}" \
      'BEGIN {if (n > 0) printf "%.3f ms", 1000 * t / hz / n; else print "-"}')" \
    "$(field loadgen_cpu_ms_per_report "$out")" "$(loadavg)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load generator on the same cores"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "build: $(basename "$build"), $agents agents per run, nonce and report per cycle"
echo
echo "| run | document | size | accepted | reports/s | p50 / p90 / p99 / max ms | errors | stored B/report | server CPU/report | loadgen CPU/report | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for doc in small debian12; do
  echo "| closed loop, $conc conns | $(run "$doc" --concurrency "$conc" --count "$count" --duration 120 --change-rate 0.01)"
done
if [ "${BENCH_PERF:-0}" = 1 ]; then
  perf record --call-graph dwarf,16384 -F 499 -o "$work/perf.data" -p "$pid" -- sleep 8 \
    >/dev/null 2>&1 &
  perf_pid=$!
  echo "| closed loop, $conc conns, under perf | $(run debian12 --concurrency "$conc" --count "$count" --duration 10 --change-rate 0.01)"
  wait "$perf_pid" || true
fi
for doc in small debian12; do
  echo "| open loop 1000/s, 10 s | $(run "$doc" --concurrency "$conc" --rate 1000 --count 10000 --duration 10 --change-rate 0.01)"
done
for change in 0 0.01 0.1; do
  echo "| storage, change rate $change | $(run debian12 --concurrency "$conc" --count 5000 --duration 60 --change-rate "$change")"
done
if [ "${BENCH_PERF:-0}" = 1 ]; then
  echo
  echo "perf report (server, realistic closed loop, self time, top 25):"
  { perf report -i "$work/perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null |
    grep -E '^ +[0-9]+\.[0-9]+%' | head -25; } || true
  echo
  echo "perf report (server, with children: where the time goes, top 30):"
  { perf report -i "$work/perf.data" --children --stdio --sort symbol -g none 2>/dev/null |
    grep -E '^ +[0-9]+\.[0-9]+%' | grep -v ' 0x0000' | head -45; } || true
fi
kill -TERM "$pid"
wait "$pid"
pid=
echo
echo "server exited cleanly after SIGTERM"
