#!/usr/bin/env bash
# Agent plumbing: spool writes and reads, IPC round trips, sandbox set-up
# (see tests/bench/bench_agent.c). DA_BENCH_ROUNDS sets the rounds.
set -euo pipefail
"${DA_BUILD:?}/tests/bench_agent" "${DA_BENCH_ROUNDS:-200}"
# A whole report cycle against a local server with swtpm, and the idle daemon
# (see tests/bench/bench_agent_cycle.c). DA_BENCH_CYCLES, DA_BENCH_IDLE_S.
"${DA_BUILD:?}/tests/bench_agent_cycle" "${DA_BENCH_CYCLES:-20}" "${DA_BENCH_IDLE_S:-10}"
