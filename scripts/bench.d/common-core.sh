#!/usr/bin/env bash
# JSON input path, RFC 8785 writer and canonical digest on an evidence-sized
# document (see tests/bench/bench_json_jcs.c).
set -euo pipefail
"${DA_BUILD:?}/tests/bench_json_jcs" "${DA_BENCH_ITERATIONS:-20}"
