#!/usr/bin/env bash
# Pending updates on an RPM root (scripts/bench rpm): our computation
# (`devattest-agent collect --root ROOT --only patches --no-cache`) against
# `dnf --installroot=ROOT -C check-update` on the same root, which reads the
# same metadata cache (dnf also has its own .solv caches there).
#   1. the fixture root of the tests (tests/fixtures/build-rpm-root.sh)
# each without any cache of ours (--no-cache: the metadata parsed every time)
# and with the agent's state directory (patches.cache: the result is reused
# while every input file keeps its identity; dnf -C likewise reads the .solv
# files it made from the same metadata):
#   2. the same root with one more enabled repository of 20000 packages
#      (a primary list made from one real package entry, added with
#      modifyrepo_c; none of them installed)
# Both must give the same pending set. Needs a release build in $DA_BUILD,
# hyperfine, rpmbuild, createrepo_c, modifyrepo_c and dnf.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DA_BUILD:-$top/build-bench}
agent=$build/agent/devattest-agent
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${DA_BENCH_RUNS:-20}
export HOME=$work/home
mkdir -p "$HOME"
echo '%_dbpath /var/lib/rpm' >"$HOME/.rpmmacros"

hf() { hyperfine --style basic --warmup 3 --runs "$runs" -i --export-json "$work/hf.json" "$@" >&2; }
mean_ms() {
  sed -n 's/.*"mean": *\([0-9.e-]*\).*/\1/p' "$work/hf.json" | sed -n "$(($1 + 1))p" |
    awk '{printf "%.2f", $1 * 1000}'
}

# the pending set as "name.arch evr" lines, from us and from dnf
ours() {
  "$agent" collect --root "$1" --only patches --no-cache |
    python3 -c 'import json,sys
for p in json.load(sys.stdin)["patches"]["pending"]: print(p["name"]+"."+p["arch"], p["candidate"])' |
    sort -u
}
theirs() {
  dnf --installroot="$1" --releasever=1 -q -C check-update 2>/dev/null |
    awk 'NF == 3 && $1 ~ /\./ {print $1, $2}' | sort -u || true
}

measure() {
  local what=$1 root=$2 a b ours_ms dnf_ms warm_ms state=$work/state
  a=$(ours "$root")
  b=$(theirs "$root")
  if [ "$a" != "$b" ]; then
    echo "$what: the pending sets differ" >&2
    diff <(echo "$a") <(echo "$b") >&2 || true
    exit 1
  fi
  rm -rf "$state"
  mkdir -p "$state"
  "$agent" collect --root "$root" --only patches --state-dir "$state" >/dev/null
  hf -N "$agent collect --root $root --only patches --no-cache" \
    "$agent collect --root $root --only patches --state-dir $state" \
    "dnf --installroot=$root --releasever=1 -q -C check-update"
  ours_ms=$(mean_ms 0)
  warm_ms=$(mean_ms 1)
  dnf_ms=$(mean_ms 2)
  echo "$what: $(echo "$a" | grep -c . || true) pending (same set as dnf);" \
    "dnf -C check-update ${dnf_ms} ms;" \
    "ours without cache ${ours_ms} ms ($(awk -v a="$dnf_ms" -v c="$ours_ms" 'BEGIN { printf "%.1f", a / c }')x)," \
    "with the state directory ${warm_ms} ms ($(awk -v a="$dnf_ms" -v c="$warm_ms" 'BEGIN { printf "%.1f", a / c }')x) (target >= 3x)"
}

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"
bash "$top/tests/fixtures/build-rpm-root.sh" "$work/root" "$work/repos"
measure "fixture root (14 installed, 4 enabled repositories)" "$work/root"

# one more repository with 20000 packages
big=$work/repos/big
mkdir -p "$big"
cp "$work"/repos/base/alpha-1.1-1.noarch.rpm "$big/"
createrepo_c --quiet "$big" >/dev/null
python3 - "$big" "$work/primary.xml" <<'EOF'
import glob, gzip, re, sys
src = glob.glob(sys.argv[1] + "/repodata/*-primary.xml.gz")[0]
x = gzip.open(src).read().decode()
m = re.search(r'<package type="rpm">.*?</package>', x, re.S)
one = m.group(0)
n = 20000
body = "".join(one.replace("<name>alpha</name>", "<name>syn%05d</name>" % i)
               .replace("alpha-1.1-1", "syn%05d-1.1-1" % i) for i in range(n))
head = re.sub(r'packages="\d+"', 'packages="%d"' % (n + 1), x[:m.start()])
open(sys.argv[2], "w").write(head + body + x[m.start():])
EOF
modifyrepo_c --mdtype=primary "$work/primary.xml" "$big/repodata" >/dev/null 2>&1
printf '[big]\nname=big\nbaseurl=file://%s\ngpgcheck=0\n' "$big" >"$work/root/etc/yum.repos.d/big.repo"
dnf --installroot="$work/root" --releasever=1 -q makecache >/dev/null 2>&1
measure "with a 20000-package repository" "$work/root"
