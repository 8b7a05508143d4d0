#!/usr/bin/env bash
# Store: bytes stored per report in steady state (posture unchanged, 1 %
# and 10 % of reports with a changed pending-upgrade list) and the store's
# write path, with real evidence documents: this machine's `collect` (with a
# state directory, as the running agent has one) and the captured
# documents in tests/fixtures/expected. tests/bench/bench_store.c says what
# each report carries. Run through scripts/bench (which builds build-bench
# and sets DA_BUILD).
#   BENCH_STORE_AGENTS (200), BENCH_STORE_REPORTS (4000), BENCH_STORE_THREADS (32)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DA_BUILD:-$top/build-bench}
bench=$build/tests/bench_store
agent=$build/agent/devattest-agent
agents=${BENCH_STORE_AGENTS:-200}
reports=${BENCH_STORE_REPORTS:-4000}
threads=${BENCH_STORE_THREADS:-32}
[ -x "$bench" ] || { echo "store: $bench not built" >&2; exit 1; }
work=$(mktemp -d /tmp/da-bench-store-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state" "$work/docs"
"$agent" collect --state-dir "$work/state" >"$work/docs/collect.json"
cp "$top"/tests/fixtures/expected/*.json "$work/docs/"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ) machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "documents: $(for f in "$work"/docs/*.json; do printf '%s %s B; ' "$(basename "$f")" "$(wc -c <"$f")"; done)"
for permille in 0 10 100; do
  d=$(mktemp -d "$work/db-XXXXXX")
  out=$("$bench" "$d" "$agents" "$threads" "$reports" "$permille" \
    "$top/common/policies/iso27001-2022-devenv.json" "$work"/docs/*.json 2>/dev/null)
  echo "change ${permille} per mille: $out"
  rm -rf "$d"
done
