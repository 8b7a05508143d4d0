#!/usr/bin/env bash
# Agent TPM: identity creation and load, and PCR read + quote on a fresh
# swtpm (see tests/bench/bench_tpm.c). DA_BENCH_QUOTES sets the rounds.
set -euo pipefail
"${DA_BUILD:?}/tests/bench_tpm" "${DA_BENCH_QUOTES:-500}"
