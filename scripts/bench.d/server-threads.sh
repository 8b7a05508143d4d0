#!/usr/bin/env bash
# HTTP thread model of devattest-server: a thread per connection
# (http_threads = 0) against libmicrohttpd's epoll loop with a pool of
# threads sized to the cores (http_threads = nproc). For each, in one run:
#   memory: server RSS and threads with 500 idle keep-alive TLS connections
#     (request head and idle timeouts raised so that none is cut while they
#     are opened; the connections counted are the server's established ones),
#     against the same server with none (the reference);
#   throughput: verified reports/s, closed loop, 128 keep-alive connections;
#   slow clients: latency of reports at 200/s open loop while 400 slow
#     connections (a request head line per second, from 127.0.0.2) are held,
#     against the same rate without them (the reference).
# Needs a release build in $DA_BUILD (scripts/bench server-threads).
#   BENCH_COUNT (default 5000) reports for the throughput run
set -euo pipefail
build=${DA_BUILD:?run through scripts/bench}
count=${BENCH_COUNT:-5000}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$here/server-setup.inc"
server=$build/server/devattest-server
loadgen=$build/loadgen/devattest-loadgen
data=$here/../../tests/data/loadgen
work=$(mktemp -d /tmp/da-bench-threads-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$pid/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
established() { ss -Htn state established "( sport = :$port )" | wc -l; }
field() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
count() { awk -v k="$1" '$1 == k {n = $2} END {print n + 0}' <<<"$2"; } # absent: 0

start_server() { # $1 = http_threads
  rm -rf "$work/state" "$work/port"
  bench_server_conf "$work/server.conf" "$work/state" warn "request_head_timeout = 60s" \
    "connection_timeout = 120s" "http_threads = $1"
  bench_server_init "$server" "$work/server.conf" "$work/state" "$work/token"
  "$server" -c "$work/server.conf" serve --port-file "$work/port" &
  pid=$!
  for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
}

stop_server() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}

# the small reference document: the thread models are compared with each
# other, on the figures recorded before the realistic documents existed
run_load() {
  "$loadgen" --url "https://127.0.0.1:$port" --ca "$work/state/ca.pem" --token-file "$work/token" \
    --vendor bench --evidence "$data/evidence-small.json" "$@"
}

hold() { # N MODE SECONDS [SRC] -> runs in the background, waits for "ready"
  python3 "$here/conn_hold.py" "$port" "$work/state/ca.pem" "$@" >"$work/hold.out" &
  hold_pid=$!
  for _ in $(seq 1 600); do grep -q ready "$work/hold.out" 2>/dev/null && break; sleep 0.1; done
}

echo "machine: $(nproc) cores, shared with other engineers' builds and tests"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
cores=$(nproc)
for model in 0 "$cores"; do
  if [ "$model" = 0 ]; then name="thread per connection"; else name="epoll, pool of $model"; fi
  echo "== $name (http_threads = $model)"

  start_server "$model"
  run_load --agents 16 --count 64 --concurrency 4 >/dev/null # warm-up
  r0=$(rss_kb); t0=$(threads)
  hold 500 idle 4
  r1=$(rss_kb); t1=$(threads); c1=$(established)
  wait "$hold_pid"
  echo "  memory: RSS $r0 kB, $t0 threads with no connection; $r1 kB, $t1 threads with $c1 idle TLS connections: $(( (r1 - r0) / (c1 > 0 ? c1 : 1) )) kB per connection (load $(loadavg))"

  sleep 1
  out=$(run_load --agents 256 --count "$count" --concurrency 128 --duration 120) || true
  echo "  throughput: $(field reports_per_s "$out") reports/s, p50 $(field latency_ms.p50 "$out") ms, p99 $(field latency_ms.p99 "$out") ms, transport errors $(count errors.transport "$out") (load $(loadavg))"

  out=$(run_load --agents 64 --count 1000 --concurrency 64 --rate 200 --duration 60) || true
  echo "  reference, 200 reports/s, no slow clients: ok $(field accepted "$out")/1000, p50 $(field latency_ms.p50 "$out") ms, p99 $(field latency_ms.p99 "$out") ms (load $(loadavg))"
  hold 400 slow 8 127.0.0.2
  rs=$(rss_kb); ts=$(threads); cs=$(established)
  out=$(run_load --agents 64 --count 1000 --concurrency 64 --rate 200 --duration 60) || true
  wait "$hold_pid"
  echo "  with $(awk '/ready/ {print $2}' "$work/hold.out") slow connections held: ok $(field accepted "$out")/1000, p50 $(field latency_ms.p50 "$out") ms, p99 $(field latency_ms.p99 "$out") ms, server RSS $rs kB, $ts threads, $cs connections (load $(loadavg))"
  stop_server
done
