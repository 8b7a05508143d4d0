#!/usr/bin/env bash
# Fleet read queries at scale on PostgreSQL: the fleet overview (GET
# /v1/fleet, all vendors and one vendor), the vendor view (GET
# /v1/agents?vendor=) and the agent list (GET /v1/agents, first page) with
# FLEET_AGENTS agents in FLEET_VENDORS vendors and FLEET_REPORTS reports per
# agent. Prints the rows docs/benchmarks.md records ("Fleet queries at
# scale"). Needs a release build in $DA_BUILD.
#
# How the data is made: a real server on a throwaway PostgreSQL cluster
# (tests/support/pg-cluster, loopback) takes FLEET_SEED agents x
# FLEET_REPORTS verified reports from devattest-loadgen, so every report row
# is one the store wrote (compact format, verdicts and evidence areas in
# blobs). SQL then copies those agents, their blobs and their reports
# (generate_series) under new ids until FLEET_AGENTS agents exist, spread
# over FLEET_VENDORS vendors, with their verification times spread over the
# last day so the statuses are mixed. Timings: EXPLAIN ANALYZE of each store
# query, then each request through the server over HTTPS, warm (one
# untimed request first), median of FLEET_RUNS.
#
# The fleet summary's tables (schema 12) are not copied: the script removes
# schema 12's record after the copy, so the server's next start builds them
# again and fills them from the reports, as it upgrades a database of
# schema 11 (the time it takes is printed). With DA_BUILD_BEFORE (a release
# build of an earlier version, e.g. main before schema 12), that build's
# server writes the seed reports and answers the same requests first, on the
# same data, for the "before" column; then this build's server upgrades the
# database and answers them again.
#   FLEET_AGENTS (default 100000), FLEET_VENDORS (100), FLEET_REPORTS (10),
#   FLEET_SEED (100), FLEET_RUNS (5), FLEET_TIMEOUT (120 s per request),
#   FLEET_TIMEOUT_BEFORE (60 s per request of the earlier build)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$top/scripts/bench.d/server-setup.inc"
build=${DA_BUILD:?run through scripts/bench}
agents=${FLEET_AGENTS:-100000}
vendors=${FLEET_VENDORS:-100}
per=${FLEET_REPORTS:-10}
seed=${FLEET_SEED:-100}
runs=${FLEET_RUNS:-5}
tmo=${FLEET_TIMEOUT:-120}
copies=$(((agents + seed - 1) / seed - 1))
data=$top/tests/data/loadgen
server=$build/server/devattest-server
before=${DA_BUILD_BEFORE:+$DA_BUILD_BEFORE/server/devattest-server}
tmo_before=${FLEET_TIMEOUT_BEFORE:-60}
loadgen=$build/loadgen/devattest-loadgen
work=$(mktemp -d /tmp/da-bench-fleet-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  "$top/tests/support/pg-cluster" stop "$work/pg.env" || true
  rm -rf "$work"
}
trap cleanup EXIT

"$top/tests/support/pg-cluster" start "$work/pg.env" >/dev/null
base=$(sed -n 's/^uri=//p' "$work/pg.env")
psql "$base" -qc "CREATE DATABASE fleet"
db=${base%/postgres}/fleet
sql() { psql "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }

bench_server_conf "$work/server.conf" "$work/state" warn "store = $db"
srv=${before:-$server} # the server that writes the seed reports
bench_server_init "$srv" "$work/server.conf" "$work/state" "$work/token"

start() {
  rm -f "$work/port"
  "$srv" -c "$work/server.conf" serve --port-file "$work/port" 2>>"$work/server.log" &
  pid=$!
  # a start that fills the fleet summary's tables takes minutes at scale
  for _ in $(seq 1 36000); do [ -s "$work/port" ] && break; kill -0 "$pid" || break; sleep 0.05; done
  [ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
}
# stop: the server ends after its requests in progress; a fleet overview
# that curl gave up on can run for minutes, so after 10 s it is killed
stop() {
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" || true
  pid=
}

start
"$loadgen" --url "https://127.0.0.1:$(cat "$work/port")" --ca "$work/state/ca.pem" \
  --token-file "$work/token" --vendor bench --evidence "$data/evidence-debian12.json" \
  --inventory "$data/inventory-debian12.txt" --agents "$seed" --concurrency 16 \
  --count $((seed * per)) --duration 300 --change-rate 0.05 >"$work/seed.out"
stop
seeded=$(sql -c "SELECT count(*) FROM reports")
[ "$seeded" -gt 0 ] || { echo "fleet-queries: the load generator stored no report" >&2; exit 1; }

# Copy k (1..copies) of seed agent a gets id md5(a.id || '-' || k) (32 hex
# digits, the form of the server's ids; its reports likewise), vendor
# number (its ordinal * copies + k) mod vendors, its times moved back by
# up to a day (so some are stale, some current), everything else as stored.
t0=$(date +%s.%N)
sql <<EOSQL
INSERT INTO vendors (name, created_at)
  SELECT 'v' || lpad(i::text, 3, '0'), 0 FROM generate_series(1, $vendors) i;
CREATE TEMP TABLE seed AS
  SELECT id, row_number() OVER (ORDER BY id) AS n FROM agents;
CREATE TEMP TABLE copies AS
  SELECT s.id AS src, md5(s.id || '-' || k) AS dst, k,
    (SELECT id FROM vendors WHERE name = 'v' || lpad((1 + (s.n * $copies + k) % $vendors)::text, 3, '0')) AS vendor_id,
    ((s.n * 7919 + k * 104729) % 86400) AS shift
  FROM seed s CROSS JOIN generate_series(1, $copies) k;
INSERT INTO agents (id, vendor_id, ek_name, ak_name, ak_public, sk_public, host_json, revoked,
    created_at, last_verified_at, last_compliant, last_report_id, reset_count, restart_count,
    clock, firmware_version, stale_marked, ek_trust, ek_issuer, ek_serial, ek_root, pack_base,
    pruned_through)
  SELECT c.dst, c.vendor_id, a.ek_name || '-' || c.k, a.ak_name, a.ak_public, a.sk_public,
    a.host_json, a.revoked, a.created_at - c.shift, a.last_verified_at - c.shift,
    a.last_compliant, md5(a.last_report_id || '-' || c.k), a.reset_count, a.restart_count, a.clock,
    a.firmware_version, a.stale_marked, a.ek_trust, a.ek_issuer, a.ek_serial, a.ek_root,
    a.pack_base, a.pruned_through
  FROM copies c JOIN agents a ON a.id = c.src;
INSERT INTO blobs (agent_id, sha256, kind, size, data, last_used_at)
  SELECT c.dst, b.sha256, b.kind, b.size, b.data, b.last_used_at
  FROM copies c JOIN blobs b ON b.agent_id = c.src;
INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256, evidence_json, verdict_json,
    transcript_json, receipt_json, compliant, received_at, reset_count, restart_count, clock,
    firmware_version, inventory_sha256, format, packed, verdict_sha256, pack_base,
    evidence_digest, pruned_at)
  SELECT md5(r.id || '-' || c.k), c.dst, r.nonce_hash, r.evidence_sha256, r.evidence_json,
    r.verdict_json, r.transcript_json, r.receipt_json, r.compliant, r.received_at - c.shift,
    r.reset_count, r.restart_count, r.clock, r.firmware_version, r.inventory_sha256, r.format,
    r.packed, r.verdict_sha256, r.pack_base, r.evidence_digest, r.pruned_at
  FROM copies c JOIN reports r ON r.agent_id = c.src;
INSERT INTO report_bodies (report_id, body)
  SELECT md5(b.report_id || '-' || c.k), b.body
  FROM copies c JOIN reports r ON r.agent_id = c.src JOIN report_bodies b ON b.report_id = r.id;
DELETE FROM schema_version WHERE version = 12;
VACUUM ANALYZE;
EOSQL
t1=$(date +%s.%N)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "postgresql: $(sql -c 'SHOW server_version'), shared_buffers $(sql -c 'SHOW shared_buffers')"
echo "data: $(sql -c 'SELECT count(*) FROM vendors') vendors, $(sql -c 'SELECT count(*) FROM agents') agents," \
  "$(sql -c 'SELECT count(*) FROM reports') reports ($seeded from the load generator, the rest copied in" \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b - a}') s)," \
  "database $(sql -c "SELECT pg_size_pretty(pg_database_size('fleet'))")"
echo

# The store's queries (server/store.c) with their parameters written in:
# stale cutoff = now - stale_after (default 86400 s), vendor v042 (or, with
# fewer vendors, the last one).
now=$(date +%s)
cut=$((now - 86400))
vname=v$(printf '%03d' $((vendors < 42 ? vendors : 42)))
vid=$(sql -c "SELECT id FROM vendors WHERE name = '$vname'")
rid=$(sql -c "SELECT id FROM agents WHERE vendor_id = $vid ORDER BY id LIMIT 1")
status="CASE WHEN a.revoked = 1 THEN 'revoked' WHEN (CASE WHEN a.last_verified_at > a.created_at THEN a.last_verified_at ELSE a.created_at END) < $cut THEN 'stale' WHEN a.last_verified_at = 0 THEN 'pending' WHEN a.last_compliant = 1 THEN 'compliant' ELSE 'non_compliant' END"
cols="a.id, a.vendor_id, v.name, a.ek_name, a.ak_name, a.ak_public, a.sk_public, a.host_json, a.revoked, $status AS status, a.created_at, a.last_verified_at, a.last_compliant, a.last_report_id, a.reset_count, a.restart_count, a.clock, a.firmware_version, a.ek_trust, a.ek_issuer, a.ek_serial, a.ek_root"
list() { # VENDOR_ID
  echo "SELECT * FROM (SELECT $cols FROM agents a JOIN vendors v ON v.id = a.vendor_id WHERE ($1 = 0 OR a.vendor_id = $1)) t ORDER BY t.created_at, t.id"
}
page() { # VENDOR_ID LIMIT
  echo "SELECT * FROM (SELECT $cols FROM agents a JOIN vendors v ON v.id = a.vendor_id WHERE ($1 = 0 OR a.vendor_id = $1) AND (0 = 0 OR a.created_at > 0 OR (a.created_at = 0 AND a.id > ''))) t ORDER BY t.created_at, t.id LIMIT $2"
}
explain() { # NAME SQL
  local ms
  ms=$(sql -c "EXPLAIN (ANALYZE, FORMAT TEXT) $2" | sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p')
  echo "| $1 | $ms ms |"
}
echo "| store query (EXPLAIN ANALYZE, warm) | execution time |"
echo "|---|---|"
sql -c "$(list 0)" >/dev/null
explain "agents list, all (fleet overview)" "$(list 0)"
explain "agents list, one vendor (fleet overview ?vendor=)" "$(list "$vid")"
explain "agents page, all, 101 rows (GET /v1/agents)" "$(page 0 101)"
explain "agents page, one vendor, 101 rows (GET /v1/agents?vendor=)" "$(page "$vid" 101)"
explain "agent counts per vendor and status, every agent (metrics before schema 12)" \
  "SELECT v.name, $status AS status, count(*) FROM agents a JOIN vendors v ON v.id = a.vendor_id GROUP BY v.name, status ORDER BY v.name, status"
explain "newest 50 reports of one agent (per agent in the overview before schema 12)" \
  "SELECT id, received_at, compliant, format, packed, verdict_sha256 FROM reports WHERE agent_id = '$rid' ORDER BY received_at DESC, id DESC LIMIT 50"
echo

url=
request() { # PATH -> "HTTP-status seconds" (status 000: no answer within $tmo s)
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time "$tmo" --cacert "$work/state/ca.pem" \
    -H "Authorization: Bearer $(cat "$work/token")" "$url$1" 2>/dev/null || true
}
timed() { # NAME PATH
  local out code t times=() i
  out=$(request "$2")
  # a request slower than 5 s is measured once (the warm-up), not N times
  if [ "${out% *}" != 200 ] || awk -v t="${out#* }" 'BEGIN {exit !(t + 0 > 5)}'; then
    awk -v n="$1" -v p="$2" -v c="${out% *}" -v t="${out#* }" 'BEGIN {
      if (c == "000") printf "| %s | `%s` | over %.0f s (no answer, curl gave up) | no |\n", n, p, t
      else if (c != 200) printf "| %s | `%s` | HTTP %s (%s) | no |\n", n, p, c, t
      else printf "| %s | `%s` | %.0f ms (one request) | no |\n", n, p, t * 1000}'
    return
  fi
  for ((i = 0; i < runs; i++)); do
    out=$(request "$2")
    code=${out% *}
    t=${out#* }
    [ "$code" = 200 ] || { echo "| $1 | \`$2\` | HTTP $code ($t) | - |"; return; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$1" -v p="$2" '{v[NR] = $1}
    END {m = v[int((NR + 1) / 2)] * 1000; printf "| %s | `%s` | %.1f ms | %s |\n", n, p, m, (m < 50 ? "yes" : "no")}'
}
requests() { # TITLE
  echo "| request: $1 (HTTPS, warm, median of $runs) | path | median | under 50 ms |"
  echo "|---|---|---|---|"
  timed "agent list, first page" "/v1/agents"
  timed "vendor view, first page" "/v1/agents?vendor=$vname"
  timed "fleet overview, one vendor" "/v1/fleet?vendor=$vname"
  timed "fleet overview, all vendors" "/v1/fleet"
  timed "metrics (agent counts per vendor and status)" "/metrics"
  echo
}

if [ -n "$before" ]; then
  tmo=$tmo_before
  start
  url="https://127.0.0.1:$(cat "$work/port")"
  requests "earlier build ($DA_BUILD_BEFORE), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  stop
fi

# this build: the start migrates to schema 12 and fills the summary's tables
srv=$server
tmo=${FLEET_TIMEOUT:-120}
t0=$(date +%s.%N)
start
t1=$(date +%s.%N)
url="https://127.0.0.1:$(cat "$work/port")"
echo "schema 12 upgrade at start (fleet summary filled from the reports of" \
  "$(sql -c 'SELECT count(*) FROM fleet_current') agents): $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b - a}') s"
sql -c "VACUUM ANALYZE" >/dev/null
echo

# the summary's queries (server/store_fleet.c), parameters written in
echo "| store query of the fleet summary (EXPLAIN ANALYZE, warm) | execution time |"
echo "|---|---|"
explain "machines per vendor and state (count deltas), all" \
  "SELECT v.name, c.state, sum(c.n) FROM fleet_counts c JOIN vendors v ON v.id = c.vendor_id GROUP BY v.name, c.state"
explain "stale machines per vendor and state, all" \
  "SELECT v.name, f.state, count(*) FROM fleet_current f JOIN vendors v ON v.id = f.vendor_id WHERE f.revoked = 0 AND f.fresh_at < $cut GROUP BY v.name, f.state"
explain "result shapes, all" \
  "SELECT shape, sum(n) FROM fleet_counts WHERE state <> 3 AND shape <> '' GROUP BY shape HAVING sum(n) <> 0"
explain "changes of the last 24 h, newest 501, all" \
  "SELECT c.at, c.agent_id, v.name, a.host_json, c.report_id, c.subject, c.kind, c.from_v, c.to_v FROM fleet_changes c JOIN agents a ON a.id = c.agent_id JOIN vendors v ON v.id = a.vendor_id WHERE c.at >= $cut ORDER BY c.at DESC, c.id DESC LIMIT 501"
explain "changes of the last 24 h, newest 501, one vendor" \
  "SELECT c.at, c.agent_id, v.name, a.host_json, c.report_id, c.subject, c.kind, c.from_v, c.to_v FROM fleet_changes c JOIN agents a ON a.id = c.agent_id JOIN vendors v ON v.id = a.vendor_id WHERE c.vendor_id = $vid AND c.at >= $cut ORDER BY c.at DESC, c.id DESC LIMIT 501"
echo "rows: fleet_current $(sql -c 'SELECT count(*) FROM fleet_current'), fleet_counts $(sql -c 'SELECT count(*) FROM fleet_counts')," \
  "fleet_shapes $(sql -c 'SELECT count(*) FROM fleet_shapes'), fleet_changes $(sql -c 'SELECT count(*) FROM fleet_changes')"
echo

requests "this build, load average $(cut -d' ' -f1-3 /proc/loadavg)"
stop
