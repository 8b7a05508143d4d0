#!/usr/bin/env bash
# Agent plumbing: spool writes and reads, IPC round trips, sandbox set-up
# (see tests/bench/bench_agent.c). DA_BENCH_ROUNDS sets the rounds.
set -euo pipefail
"${DA_BUILD:?}/tests/bench_agent" "${DA_BENCH_ROUNDS:-200}"
