#!/usr/bin/env bash
# A lower bound for the PostgreSQL store, with PostgreSQL's own tool: how
# many report transactions per second PostgreSQL alone can commit on this
# machine when each holds only the minimum a verified report writes, and
# what CPU PostgreSQL spends on each.
#
# A throwaway cluster (tests/support/pg-cluster, fsync and
# synchronous_commit on). First a real server on it takes BENCH_SEED
# realistic reports from devattest-loadgen, so the database holds real
# agents, fleet rows and reports; their average packed size and the
# statements the store ran per report (pg_stat_statements) are printed.
# Then pgbench runs, for each client count, BENCH_SECONDS of the
# transaction below on the same cores (-M prepared, one connection per
# client, every commit durable), and the tps, PostgreSQL's CPU and
# pgbench's own CPU per transaction are printed.
#
# The transaction, taken from what the store executes for a report
# (server/store.c report_put_job, server/store_fleet.c srv_fleet_report):
# the report row with a packed record of the average size seen above
# (random bytes, which do not compress, as zstd output does not), the
# agent's counters update, the fleet row update. Nothing else: no nonce,
# no locking read, no blob lookup, no first-seen rows, nothing read back
# by a client between statements; so its rate is an upper bound of what
# the server could reach on this database, whatever the server does.
#   BENCH_SEED (default 2000) reports of the seeding run
#   BENCH_CLIENTS (default "8 16 32 64") pgbench client counts
#   BENCH_SECONDS (default 20) each
#   BENCH_DOC (default debian12) the document of tests/data/loadgen
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=server-setup.inc
. "$top/scripts/bench.d/server-setup.inc"
build=${DA_BUILD:?run through scripts/bench}
seed=${BENCH_SEED:-2000}
clients=${BENCH_CLIENTS:-8 16 32 64}
seconds=${BENCH_SECONDS:-20}
doc=${BENCH_DOC:-debian12}
data=$top/tests/data/loadgen
server=$build/server/devattest-server
loadgen=$build/loadgen/devattest-loadgen
work=$(mktemp -d /tmp/da-bench-pgbench-XXXXXX)
spid=
cleanup() {
  [ -z "$spid" ] || { kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true; }
  "$top/tests/support/pg-cluster" stop "$work/pg.env" || true
  rm -rf "$work"
}
trap cleanup EXIT

DA_PG_OPTS="-c shared_preload_libraries=pg_stat_statements" \
  "$top/tests/support/pg-cluster" start "$work/pg.env" >/dev/null
base=$(sed -n 's/^uri=//p' "$work/pg.env")
psql "$base" -qc "CREATE DATABASE bench"
db=${base%/postgres}/bench
psql "$db" -qc "CREATE EXTENSION pg_stat_statements"

mkdir -p "$work/srv"
bench_server_conf "$work/srv/server.conf" "$work/srv/state" warn "store = $db"
bench_server_init "$server" "$work/srv/server.conf" "$work/srv/state" "$work/token"
"$server" -c "$work/srv/server.conf" serve --port-file "$work/port" 2>"$work/server.log" &
spid=$!
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
psql "$db" -Atqc "SELECT pg_stat_statements_reset()" >/dev/null
"$loadgen" --url "https://127.0.0.1:$(cat "$work/port")" --ca "$work/srv/state/ca.pem" \
  --token-file "$work/token" --vendor bench --evidence "$data/evidence-$doc.json" \
  --inventory "$data/inventory-debian12.txt" --agents 256 --concurrency 64 \
  --count "$seed" --duration 300 --change-rate 0.01 >"$work/seed.out"
kill "$spid"; wait "$spid" || true; spid=

n=$(awk '$1 == "accepted" {print $2}' "$work/seed.out")
packed=$(psql "$db" -Atc "SELECT round(avg(octet_length(packed))) FROM reports WHERE packed IS NOT NULL")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), pgbench on the same cores"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "postgresql: $(psql "$base" -Atc 'SHOW server_version'), fsync $(psql "$base" -Atc 'SHOW fsync'), synchronous_commit $(psql "$base" -Atc 'SHOW synchronous_commit'), shared_buffers $(psql "$base" -Atc 'SHOW shared_buffers')"
echo "seeding run: $n reports of '$doc' accepted; reports: $(psql "$db" -Atc 'SELECT count(*) FROM reports'), agents: $(psql "$db" -Atc 'SELECT count(*) FROM agents'), average packed record: $packed bytes"
echo
echo "Statements the store ran per report in the seeding run (enrollment included; pg_stat_statements):"
echo
echo "| calls/report | statement |"
echo "|---|---|"
psql "$db" -Atc "SELECT to_char(calls::numeric / $n, 'FM990.00'), left(regexp_replace(query, '\s+', ' ', 'g'), 110)
  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
  WHERE d.datname = 'bench' AND calls::numeric / $n >= 0.05 ORDER BY calls DESC" |
  sed 's/|/ | `/; s/^/| /; s/$/` |/'
echo
echo "total: $(psql "$db" -Atc "SELECT to_char(sum(calls)::numeric / $n, 'FM990.00') FROM pg_stat_statements s
  JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'bench'") statements per report"
echo

# what pgbench draws from: the agents by number, packed records of the
# average size (random bytes)
psql "$db" -q <<EOS
CREATE TABLE bench_agents (n BIGINT PRIMARY KEY, id TEXT NOT NULL);
INSERT INTO bench_agents SELECT row_number() OVER (ORDER BY id), id FROM agents;
CREATE TABLE bench_packed (n BIGINT PRIMARY KEY, data BYTEA NOT NULL);
INSERT INTO bench_packed SELECT g, (SELECT string_agg(decode(md5(random()::text || g || k), 'hex'), ''::bytea)
  FROM generate_series(1, ($packed + 15) / 16) k) FROM generate_series(1, 64) g;
UPDATE bench_packed SET data = substring(data FROM 1 FOR $packed);
VACUUM ANALYZE;
CHECKPOINT;
EOS
nagents=$(psql "$db" -Atc "SELECT count(*) FROM bench_agents")

cat >"$work/report.sql" <<EOS
\\set k random(1, $nagents)
\\set p random(1, 64)
\\set now 1800000000 + :client_id
BEGIN;
INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256, evidence_json, verdict_json, transcript_json, receipt_json, compliant, received_at, reset_count, restart_count, clock, firmware_version, inventory_sha256, format, packed, pack_base, verdict_sha256, evidence_digest) SELECT md5(random()::text), a.id, sha256(random()::text::bytea), md5(random()::text), '', '', '', '', 1, :now, 1, 1, 1, 1, '', 1, p.data, sha256(a.id::bytea), sha256(a.id::bytea), NULL FROM bench_agents a, bench_packed p WHERE a.n = :k AND p.n = :p;
UPDATE agents SET last_verified_at = :now, last_compliant = 1, last_report_id = md5(random()::text), reset_count = reset_count, restart_count = restart_count, clock = clock + 1000, firmware_version = firmware_version, stale_marked = 0 WHERE id = (SELECT id FROM bench_agents WHERE n = :k) AND revoked = 0;
UPDATE fleet_current SET fresh_at = :now, state = 1, shape = shape, report_id = md5(random()::text) WHERE agent_id = (SELECT id FROM bench_agents WHERE n = :k);
END;
EOS
echo "pgbench transaction ($work/report.sql, -M prepared, -T $seconds):"
echo
echo '```'
cat "$work/report.sql"
echo '```'
echo

pg_pids() { pgrep -u "${DA_TEST_PG_USER:-nobody}" -x postgres || true; }
ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
hz=$(getconf CLK_TCK)
echo "| clients | tps | latency avg | PostgreSQL CPU/transaction | pgbench CPU/transaction | WAL flushes/transaction | load |"
echo "|---|---|---|---|---|---|---|"
for c in $clients; do
  w0=$(psql "$base" -Atc "SELECT wal_sync FROM pg_stat_wal")
  # the backends pgbench opens are children of the postmaster and gone
  # when it ends: the postmaster's children's time (fields 16, 17)
  # counts them once they are reaped, with the other processes' own
  # shellcheck disable=SC2046 # one argument per process id
  p0=$(ticks $(pg_pids))
  out=$( { /usr/bin/time -f 'pgbench_cpu_s %U %S' pgbench -n -M prepared -c "$c" -j 2 -T "$seconds" \
    -f "$work/report.sql" "$db"; } 2>&1)
  sleep 1 # the postmaster reaps the backends that pgbench's clients had
  # shellcheck disable=SC2046
  p1=$(ticks $(pg_pids))
  w1=$(psql "$base" -Atc "SELECT wal_sync FROM pg_stat_wal")
  tx=$(awk '/number of transactions actually processed/ {print $NF}' <<<"$out" | cut -d/ -f1)
  tps=$(awk '/^tps/ {printf "%.0f", $3}' <<<"$out")
  lat=$(awk '/latency average/ {print $4 " " $5}' <<<"$out")
  bcpu=$(awk '/pgbench_cpu_s/ {print $2 + $3}' <<<"$out")
  echo "| $c | $tps | $lat | $(awk -v t=$((p1 - p0)) -v hz="$hz" -v n="$tx" 'BEGIN {printf "%.3f ms", 1000 * t / hz / n}') | $(awk -v s="$bcpu" -v n="$tx" 'BEGIN {printf "%.3f ms", 1000 * s / n}') | $(awk -v d=$((w1 - w0)) -v n="$tx" 'BEGIN {printf "%.2f", d / n}') | $(cut -d' ' -f1 /proc/loadavg) |"
done
