#!/usr/bin/env bash
# Capture the realistic evidence document and package inventory that
# devattest-loadgen posts (README.md in this directory): what the agent's
# collectors produce on this machine, with a state directory as the running
# agent has one (so pending upgrades carry their first-seen times), through
# the agent's privacy filter (standard mode, the default).
#   tests/data/loadgen/capture.sh BUILD_DIR [NAME]
# writes evidence-NAME.json and inventory-NAME.txt (NAME defaults to
# debian12) and checks the inventory against the document's inventory_sha256
# with dpkg-query and sha256sum, independently of the collector.
set -euo pipefail
build=${1:?usage: capture.sh BUILD_DIR [NAME]}
name=${2:-debian12}
here=$(cd "$(dirname "$0")" && pwd)
state=$(mktemp -d /tmp/da-capture-XXXXXX)
trap 'rm -rf "$state"' EXIT
chmod 700 "$state"
"$build/agent/devattest-agent" collect --state-dir "$state" --pretty >"$here/evidence-$name.json"
dpkg-query -W -f '${db:Status-Abbrev} ${Package}:${Architecture}=${Version}\n' |
  awk '$1 ~ /^.i/ {print $2}' | LC_ALL=C sort -t: -k1,1 -k2,2 >"$here/inventory-$name.txt"
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["patches"]["inventory_sha256"])' \
  "$here/evidence-$name.json")
got=$(sha256sum "$here/inventory-$name.txt" | cut -d' ' -f1)
if [ "$want" != "$got" ]; then
  echo "inventory-$name.txt hashes to $got, the document says $want" >&2
  exit 1
fi
python3 - "$here/evidence-$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
canon = json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
p = d["patches"]
print(f"{sys.argv[1]}: about {len(canon)} bytes canonical, {p['pending_count']} pending upgrades "
      f"({p['security_pending_count']} security), {p['installed_count']} packages installed")
PY
