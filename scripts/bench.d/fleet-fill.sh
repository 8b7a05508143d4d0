#!/usr/bin/env bash
# Start time of a server that upgrades a large database to the fleet
# summary (schema 12), on PostgreSQL and on SQLite: the earlier build's
# server (DA_BUILD_BEFORE, required) and this build's each start on their
# own copy of the same database and fill the summary from the stored
# reports before they answer. Prints the seconds from start to the port
# file and the fill time the server logs, with the load average beside each.
#
# The data, per engine: the earlier build's server takes FLEET_SEED agents x
# FLEET_REPORTS verified reports from devattest-loadgen (realistic Debian
# document, 5 % posture change), so every row is one a server wrote; SQL
# then copies those agents with their blobs and reports under new ids until
# FLEET_AGENTS agents exist, in FLEET_VENDORS vendors, their times moved
# back by up to a day (as scripts/bench.d/fleet-queries.sh does), and
# removes schema 12's record so that the next start fills it again.
#   ENGINES (default "postgresql sqlite"), FLEET_AGENTS (100000),
#   FLEET_VENDORS (100), FLEET_REPORTS (10), FLEET_SEED (100)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$top/scripts/bench.d/server-setup.inc"
build=${DA_BUILD:?run through scripts/bench}
before_build=${DA_BUILD_BEFORE:?a release build of the earlier version}
engines=${ENGINES:-postgresql sqlite}
agents=${FLEET_AGENTS:-100000}
vendors=${FLEET_VENDORS:-100}
per=${FLEET_REPORTS:-10}
seed=${FLEET_SEED:-100}
copies=$(((agents + seed - 1) / seed - 1))
data=$top/tests/data/loadgen
server=$build/server/devattest-server
before=$before_build/server/devattest-server
loadgen=$build/loadgen/devattest-loadgen
work=$(mktemp -d /tmp/da-bench-fill-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -f "$work/pg.env" ] && "$top/tests/support/pg-cluster" stop "$work/pg.env" || true
  rm -rf "$work"
}
trap cleanup EXIT

conf() { # FILE STORE
  case $2 in
    postgresql://*) bench_server_conf "$1" "$work/state" info "store = $2" ;;
    *) bench_server_conf "$1" "$work/state" info "store = sqlite" "database = $2" ;;
  esac
}
start() { # SERVER CONF LOG
  rm -f "$work/port"
  "$1" -c "$2" serve --port-file "$work/port" 2>>"$3" &
  pid=$!
  for _ in $(seq 1 72000); do [ -s "$work/port" ] && break; kill -0 "$pid" || break; sleep 0.05; done
  [ -s "$work/port" ] || { cat "$3" >&2; exit 1; }
}
stop() {
  kill "$pid"
  wait "$pid" || true
  pid=
}
timed_start() { # NAME SERVER CONF
  local log=$work/$1.log t0 t1
  : >"$log"
  t0=$(date +%s.%N)
  start "$2" "$3" "$log"
  t1=$(date +%s.%N)
  stop
  echo "| $1 | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s |" \
    "$(sed -n 's/.*fleet summary filled for \([0-9]*\) agent(s) in \([0-9.]*\) s.*/\2 s (\1 agents)/p' "$log")" \
    "| $(sed -n 's/.*database: converted in \([0-9.]*\) s.*/\1 s/p' "$log") | $(cut -d' ' -f1-3 /proc/loadavg) |"
}

# the earlier build's server writes the seed reports
seed_reports() { # CONF
  bench_server_init "$before" "$1" "$work/state" "$work/token"
  start "$before" "$1" "$work/seed.log"
  "$loadgen" --url "https://127.0.0.1:$(cat "$work/port")" --ca "$work/state/ca.pem" \
    --token-file "$work/token" --vendor bench --evidence "$data/evidence-debian12.json" \
    --inventory "$data/inventory-debian12.txt" --agents "$seed" --concurrency 16 \
    --count $((seed * per)) --duration 300 --change-rate 0.05 >"$work/seed.out"
  stop
}

# Copy k of seed agent a: id = its first 24 hex digits and k in 8 (the
# form of the server's ids), likewise its reports; vendor as in
# fleet-queries.sh; times moved back by up to a day.
copy_sql() { # ENGINE
  local vname id
  if [ "$1" = postgresql ]; then
    series() { echo "SELECT i FROM generate_series(1, $1) i"; }
  else
    series() { echo "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) SELECT i FROM s"; }
  fi
  vname="'v' || lpad(%s::text, 3, '0')"
  [ "$1" = sqlite ] && vname="'v' || printf('%%03d', %s)"
  id="substr(%s, 1, 24) || lpad(to_hex(%s), 8, '0')"
  [ "$1" = sqlite ] && id="substr(%s, 1, 24) || printf('%%08x', %s)"
  # shellcheck disable=SC2059
  cat <<EOSQL
INSERT INTO vendors (name, created_at) SELECT $(printf "$vname" i), 0 FROM ($(series "$vendors")) t;
CREATE TEMP TABLE seed AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM agents;
CREATE TEMP TABLE ks AS SELECT i AS k FROM ($(series "$copies")) t;
CREATE TEMP TABLE copies AS
  SELECT s.id AS src, $(printf "$id" s.id k.k) AS dst, k.k AS k,
    (SELECT id FROM vendors WHERE name = $(printf "$vname" "(1 + (s.n * $copies + k.k) % $vendors)")) AS vendor_id,
    ((s.n * 7919 + k.k * 104729) % 86400) AS shift
  FROM seed s CROSS JOIN ks k;
INSERT INTO agents (id, vendor_id, ek_name, ak_name, ak_public, sk_public, host_json, revoked,
    created_at, last_verified_at, last_compliant, last_report_id, reset_count, restart_count,
    clock, firmware_version, stale_marked, ek_trust, ek_issuer, ek_serial, ek_root, pack_base,
    pruned_through)
  SELECT c.dst, c.vendor_id, a.ek_name || '-' || c.k, a.ak_name, a.ak_public, a.sk_public,
    a.host_json, a.revoked, a.created_at - c.shift, a.last_verified_at - c.shift,
    a.last_compliant, $(printf "$id" a.last_report_id c.k), a.reset_count, a.restart_count,
    a.clock, a.firmware_version, a.stale_marked, a.ek_trust, a.ek_issuer, a.ek_serial, a.ek_root,
    a.pack_base, a.pruned_through
  FROM copies c JOIN agents a ON a.id = c.src;
INSERT INTO blobs (agent_id, sha256, kind, size, data, last_used_at)
  SELECT c.dst, b.sha256, b.kind, b.size, b.data, b.last_used_at
  FROM copies c JOIN blobs b ON b.agent_id = c.src;
INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256, evidence_json, verdict_json,
    transcript_json, receipt_json, compliant, received_at, reset_count, restart_count, clock,
    firmware_version, inventory_sha256, format, packed, verdict_sha256, pack_base,
    evidence_digest, pruned_at)
  SELECT $(printf "$id" r.id c.k), c.dst, r.nonce_hash, r.evidence_sha256, r.evidence_json,
    r.verdict_json, r.transcript_json, r.receipt_json, r.compliant, r.received_at - c.shift,
    r.reset_count, r.restart_count, r.clock, r.firmware_version, r.inventory_sha256, r.format,
    r.packed, r.verdict_sha256, r.pack_base, r.evidence_digest, r.pruned_at
  FROM copies c JOIN reports r ON r.agent_id = c.src;
DELETE FROM schema_version WHERE version = 12;
EOSQL
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); earlier build $before_build, this build $build"
for engine in $engines; do
  rm -rf "$work/state"
  if [ "$engine" = postgresql ]; then
    "$top/tests/support/pg-cluster" start "$work/pg.env" >/dev/null
    base=$(sed -n 's/^uri=//p' "$work/pg.env")
    psql "$base" -qc "CREATE DATABASE fleet"
    a=${base%/postgres}/fleet
    b=${base%/postgres}/fleet_b
  else
    a=$work/fleet.db
    b=$work/fleet_b.db
  fi
  conf "$work/a.conf" "$a"
  conf "$work/b.conf" "$b"
  seed_reports "$work/a.conf" 2>/dev/null
  t0=$(date +%s)
  if [ "$engine" = postgresql ]; then
    copy_sql postgresql | psql "$a" -v ON_ERROR_STOP=1 -qAt
    psql "$a" -qc "VACUUM ANALYZE"
    psql "$base" -qc "CREATE DATABASE fleet_b TEMPLATE fleet"
    size=$(psql "$a" -qAt -c "SELECT pg_size_pretty(pg_database_size('fleet'))")
    n=$(psql "$a" -qAt -c "SELECT count(*) || ' agents, ' || (SELECT count(*) FROM reports) || ' reports' FROM agents")
  else
    { echo "PRAGMA foreign_keys = OFF; BEGIN;"; copy_sql sqlite; echo "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);"; } |
      sqlite3 -bail "$a" >/dev/null
    cp "$a" "$b"
    size="$(($(stat -c %s "$a") / 1048576)) MiB"
    n=$(sqlite3 "$a" "SELECT count(*) || ' agents, ' || (SELECT count(*) FROM reports) || ' reports' FROM agents")
  fi
  echo
  echo "$engine: $n, database $size, copied in $(($(date +%s) - t0)) s"
  echo "| server | start (to the port file) | of it the fill (server log) | of it the file's conversion to auto-vacuum | load average |"
  echo "|---|---|---|---|---|"
  timed_start "earlier build" "$before" "$work/a.conf"
  timed_start "this build" "$server" "$work/b.conf"
  # both fills give the same summary: each agent's row, the counts, the
  # shapes, and the changes of the window that both starts saw (10 minutes
  # inside the later one's)
  cut=$(($(date +%s) - 86400 + 600))
  same=yes
  for q in "SELECT agent_id, shape, coalesce(report_id, ''), filled, state, revoked FROM fleet_current ORDER BY agent_id" \
    "SELECT vendor_id, state, shape, sum(n) FROM fleet_counts GROUP BY vendor_id, state, shape HAVING sum(n) <> 0 ORDER BY 1, 2, 3" \
    "SELECT digest FROM fleet_shapes ORDER BY 1" \
    "SELECT agent_id, report_id, seq, kind, subject, coalesce(from_v, ''), to_v, at FROM fleet_changes WHERE at >= $cut ORDER BY 1, 2, 3"; do
    if [ "$engine" = postgresql ]; then
      x=$(psql "$a" -qAt -c "$q" | md5sum) y=$(psql "$b" -qAt -c "$q" | md5sum)
    else
      x=$(sqlite3 "$a" "$q" | md5sum) y=$(sqlite3 "$b" "$q" | md5sum)
    fi
    [ "$x" = "$y" ] || { same=no; echo "differs: $q" >&2; }
  done
  echo "same summary from both fills: $same"
  if [ "$engine" = postgresql ]; then
    "$top/tests/support/pg-cluster" stop "$work/pg.env" >/dev/null
    rm -f "$work/pg.env"
  fi
done
