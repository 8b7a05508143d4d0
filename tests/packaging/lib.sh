# Shared by the packaging checks: the manifest with the directories of one
# install filled in, and small assertions. Sourced, not run.

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# manifest_for PREFIX SYSCONFDIR UNITDIR SYSUSERSDIR TMPFILESDIR: prints
# "component mode path" lines.
manifest_for() {
  sed -e '/^#/d' -e '/^$/d' \
    -e "s|@BIN@|$1/bin|" -e "s|@CONF@|$2/devattest|" -e "s|@UNIT@|$3|" \
    -e "s|@SYSUSERS@|$4|" -e "s|@TMPFILES@|$5|" -e "s|@SHARE@|$1/share|" \
    "$(dirname "${BASH_SOURCE[0]}")/manifest" | awk '{print $1, $2, $3}'
}

# check_tree ROOT MANIFEST_LINES: every file under ROOT is in the manifest
# with its mode, and every manifest entry is there.
check_tree() {
  local root=$1 want=$2 got
  got=$(cd "$root" && find . \( -type f -o -type l \) -printf '%m /%P\n' | sed 's/^\([0-7]\{3\}\) /0\1 /' | sort -k2)
  diff <(awk '{print $2, $3}' <<<"$want" | sort -k2) <(printf '%s\n' "$got") >"$tmp/tree.diff" ||
    fail "files or modes under $root differ from tests/packaging/manifest (< expected, > installed): $(cat "$tmp/tree.diff")"
}

# check_runs BINARY NAME: the installed program runs and prints its usage.
check_runs() {
  local out rc=0
  out=$("$1" --help 2>&1) || rc=$?
  [ "$rc" -eq 0 ] || fail "$1 --help exited $rc"
  case "$out" in
  "usage: $2"*) ;;
  *) fail "$1 --help did not print its usage: ${out:0:80}" ;;
  esac
}

# check_man PAGE.gz: man(1) renders it without a warning, with a NAME section.
check_man() {
  local warn
  warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
  [ -z "$warn" ] || fail "man -l $1 warns: $warn"
  LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$1" 2>/dev/null | grep -q '^NAME' || fail "man -l $1 shows no NAME section"
}
