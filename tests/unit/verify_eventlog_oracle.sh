#!/bin/sh
# devattest-verify eventlog LOG --json on every real log: the replayed PCR
# values it prints, per bank, equal those Debian's tpm2_eventlog prints
# (the independent oracle), and the measured facts are present.
# Usage: verify_eventlog_oracle.sh DEVATTEST_VERIFY LOG_DIR
set -eu
exec python3 - "$1" "$2" <<'PY'
import glob
import json
import subprocess
import sys

tool, logdir = sys.argv[1], sys.argv[2]
logs = sorted(glob.glob(logdir + "/*.bin"))
if not logs:
    sys.exit("no logs in " + logdir)
for log in logs:
    out = subprocess.run([tool, "eventlog", log, "--json"], check=True,
                         capture_output=True, text=True).stdout
    doc = json.loads(out)
    oracle = subprocess.run(["tpm2_eventlog", log], check=True,
                            capture_output=True, text=True).stdout
    want, bank, inside = {}, None, False
    for line in oracle.splitlines():
        if line.startswith("pcrs:"):
            inside = True
            continue
        if not inside:
            continue
        s = line.strip()
        if s.endswith(":") and not s[0].isdigit():
            bank = s[:-1]
            want[bank] = {}
        elif bank is not None and " : 0x" in s:
            idx, value = s.split(":", 1)
            want[bank][idx.strip()] = value.strip()[2:].lower()
    if not want or doc.get("pcrs") != want:
        sys.exit("%s: PCRs differ\n ours:   %s\n oracle: %s" % (log, doc.get("pcrs"), want))
    facts = doc.get("measured", {})
    for key in ("secure_boot", "keys", "boot_applications"):
        if key not in facts:
            sys.exit("%s: no measured %s" % (log, key))
    print(log, {b: len(v) for b, v in want.items()})
PY
