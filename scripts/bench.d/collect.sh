#!/usr/bin/env bash
# Collector benchmarks, measured side by side in one run (scripts/bench collect):
#   1. full collect with warm caches: wall time and peak RSS
#   2. pending-update computation without our cache vs `apt list --upgradable`
#      (and that both give the same set), and the cache-hit time
#   3. toolchain hashing without our cache vs `sha256sum` on the same files,
#      and warm vs cold re-collection
# Needs a release build in $DA_BUILD (scripts/bench makes one), hyperfine and
# GNU time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DA_BUILD:-$top/build-bench}
agent=$build/agent/devattest-agent
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
runs=${DA_BENCH_RUNS:-20}

hf() { hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$state/hf.json" "$@" >&2; }
# mean and stddev in ms of command N (0-based) of the last hyperfine run
mean_ms() {
  sed -n 's/.*"mean": *\([0-9.e-]*\).*/\1/p' "$state/hf.json" | sed -n "$(($1 + 1))p" |
    awk '{printf "%.2f", $1 * 1000}'
}

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"

# --- 1. full collect, warm ---------------------------------------------------
"$agent" collect --state-dir "$state" >/dev/null
hf -N "$agent collect --state-dir $state"
full_ms=$(mean_ms 0)
rss_kb=0
for _ in 1 2 3 4 5; do
  r=$(/usr/bin/time -v "$agent" collect --state-dir "$state" 2>&1 >/dev/null |
    sed -n 's/.*Maximum resident set size (kbytes): //p')
  [ "$r" -gt "$rss_kb" ] && rss_kb=$r
done
echo "full collect (warm caches): ${full_ms} ms mean, whole process; peak RSS ${rss_kb} KiB" \
  "(targets: < 50 ms, < 8192 KiB)"
inproc=$build/tests/bench_collect
if [ -x "$inproc" ]; then
  read -r med min < <("$inproc" "$state" all 50)
  echo "full collect (warm caches), in process: median ${med} ms, min ${min} ms"
fi

# --- 2. pending updates --------------------------------------------------------
if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  hf -N "$agent collect --only patches --no-cache" "apt list --upgradable"
  cold_ms=$(mean_ms 0)
  apt_ms=$(mean_ms 1)
  speedup=$(awk -v a="$apt_ms" -v c="$cold_ms" 'BEGIN { printf "%.1f", a / c }')
  echo "pending, no cache of ours: ${cold_ms} ms; apt list --upgradable: ${apt_ms} ms;" \
    "speed-up ${speedup}x (target >= 3x)"
  if [ -x "$build/tests/test_collectors_ground_truth" ]; then
    "$build/tests/test_collectors_ground_truth" 2>&1 | grep -E 'pending upgrades|FAIL|SKIP' || true
  fi
  "$agent" collect --only patches --state-dir "$state" >/dev/null
  hf -N "$agent collect --only patches --state-dir $state"
  echo "pending, served from the cache (whole process): $(mean_ms 0) ms (target < 5 ms)"
  if [ -x "$inproc" ]; then
    read -r med min < <("$inproc" "$state" patches 50)
    echo "pending, served from the cache, in process: median ${med} ms, min ${min} ms"
    read -r med min < <("$inproc" - patches 5)
    echo "pending, no cache of ours, in process: median ${med} ms, min ${min} ms"
  fi
else
  echo "pending: SKIPPED, no apt lists on this machine (run apt-get update)"
fi

# --- 3. toolchain ----------------------------------------------------------------
"$agent" collect --only toolchain --no-cache >"$state/tools.json"
mapfile -t files < <(grep -o '"realpath":"[^"]*"' "$state/tools.json" | cut -d'"' -f4 | sort -u)
bytes=$(cat "${files[@]}" | wc -c)
hf -N "$agent collect --only toolchain --no-cache" "sha256sum ${files[*]}"
tc_cold=$(mean_ms 0)
sha_ms=$(mean_ms 1)
"$agent" collect --only toolchain --state-dir "$state" >/dev/null
hf -N "$agent collect --only toolchain --state-dir $state"
tc_warm=$(mean_ms 0)
if [ -x "$inproc" ]; then
  read -r cmed cmin < <("$inproc" - toolchain 5)
  read -r wmed wmin < <("$inproc" "$state" toolchain 50)
  echo "toolchain in process: cold median ${cmed} ms, warm median ${wmed} ms," \
    "ratio $(awk -v c="$cmed" -v w="$wmed" 'BEGIN { printf "%.0f", c / w }')x"
fi
awk -v b="$bytes" -v c="$tc_cold" -v s="$sha_ms" -v w="$tc_warm" -v n="${#files[@]}" 'BEGIN {
  printf "toolchain: %d files, %.1f MiB\n", n, b / 1048576
  printf "  cold collect (hash + md5sums check + owner scan): %.2f ms = %.0f MiB/s\n", c, b / 1048576 / (c / 1000)
  printf "  sha256sum on the same files: %.2f ms = %.0f MiB/s\n", s, b / 1048576 / (s / 1000)
  printf "  throughput ratio: %.2fx of sha256sum (target >= 0.8x)\n", s / c
  printf "  warm re-collection: %.2f ms, %.0fx faster than cold (target >= 20x)\n", w, c / w
}'
