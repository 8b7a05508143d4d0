#!/usr/bin/env bash
# Verification core: quote verifications per CPU second next to OpenSSL's own
# ECDSA P-256 verify rate measured in the same run, and the median time of one
# evaluation of the shipped policy on a typical evidence document, and the
# CPU time of one firmware event log (~30 KiB) per report: replay against the
# quote and the measured facts; and the same with an IMA increment of 2,000
# ima-ng entries replayed against PCR 10 with the IMA facts, next to
# OpenSSL's SHA-256 rate on 64-byte inputs in the same run (each entry costs
# two SHA-256 operations: the template hash and the extend).
# Run through scripts/bench (which builds build-bench and sets DA_BUILD).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DA_BUILD:-$top/build-bench}
bench=$build/tests/bench_verify
seconds=${DA_BENCH_SECONDS:-3}
[ -x "$bench" ] || { echo "verify: $bench not built" >&2; exit 1; }

ours=$("$bench" quote "$seconds")
ossl=$(openssl speed -seconds "$seconds" ecdsap256 2>/dev/null | awk '/nistp256/ {print $NF}')
q=$(awk '/^quote_verify_per_s/ {print $2}' <<<"$ours")
qp=$(awk '/^quote_verify_with_ak_parse_per_s/ {print $2}' <<<"$ours")
ratio=$(awk -v a="$q" -v b="$ossl" 'BEGIN {printf "%.0f", 100 * a / b}')
ratio_p=$(awk -v a="$qp" -v b="$ossl" 'BEGIN {printf "%.0f", 100 * a / b}')
elog=$("$bench" eventlog "$top/tests/data/eventlogs/event-moklisttrusted.bin" 30 2000)
ima=$("$bench" ima "$top/tests/data/eventlogs/event-moklisttrusted.bin" 30 2000 1000)
sha=$(openssl speed -seconds "$seconds" -bytes 64 sha256 2>/dev/null | awk '/^sha256/ {print $2}')
pol=$("$bench" policy "$top/common/policies/iso27001-2022-devenv.json" \
  "$top/tests/unit/data/evidence-typical.json" 20000)

echo "date: $(date -u +%Y-%m-%d) machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "openssl speed ecdsap256 verify/s:          $ossl"
echo "da_quote_verify/s (AK parsed once):         $q  (${ratio}% of OpenSSL; target >= 70%)"
echo "da_quote_verify/s (AK parsed every time):   $qp  (${ratio_p}%)"
awk '/^policy_checks/ {print "shipped policy checks:                      " $2}
     /^policy_eval_median_us/ {print "policy evaluation median (us):              " $2 "  (target < 50)"}
     /^policy_eval_p99_us/ {print "policy evaluation p99 (us):                 " $2}' <<<"$pol"
awk '/^eventlog_bytes/ {b=$2} /^eventlog_events/ {e=$2}
     /^eventlog_replay_median_us/ {r=$2} /^eventlog_median_us/ {m=$2} /^eventlog_p99_us/ {p=$2}
     END {print "event log (" b " bytes, " e " events): replay vs quote median (us): " r
          print "event log replay + measured facts median (us):  " m "  (target < 1000; IMA not included)"
          print "event log replay + measured facts p99 (us):     " p}' <<<"$elog"
awk -v k="$sha" '/^ima_entries/ {n=$2} /^ima_bytes/ {b=$2} /^ima_median_us/ {i=$2}
     /^report_median_us/ {r=$2} /^report_p99_us/ {p=$2}
     END {ns = 64e6 / (k * 1000) * 1000
          printf "openssl speed sha256, 64-byte inputs:       %.0f ns each\n", ns
          printf "IMA increment (%d entries, %d bytes) replay + facts median (us): %s  (%.1f SHA-256 of 64 bytes per entry)\n", n, b, i, i * 1000 / ns / n
          print "event log + IMA per report median (us):       " r "  (target < 1000)"
          print "event log + IMA per report p99 (us):          " p}' <<<"$ima"
[ "$ratio" -ge 70 ] || { echo "verify: quote verification below 70% of OpenSSL" >&2; exit 1; }
awk '/^eventlog_median_us/ {exit !($2 < 1000)}' <<<"$elog" ||
  { echo "verify: event log verification not under 1 ms" >&2; exit 1; }
awk '/^policy_eval_median_us/ {exit !($2 < 50)}' <<<"$pol" ||
  { echo "verify: policy evaluation median not under 50 us" >&2; exit 1; }
awk '/^report_median_us/ {exit !($2 < 1000)}' <<<"$ima" ||
  { echo "verify: event log + IMA per report not under 1 ms" >&2; exit 1; }
