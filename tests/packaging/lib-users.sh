# check_users ROOT: the system users and state directories the packages make,
# read from ROOT's own account files (sourced after lib.sh).
check_users() {
  local root=$1 uid gid tss_members dir want_user mode owner
  for want_user in devattest devattest-server; do
    uid=$(awk -F: -v u="$want_user" '$1 == u {print $3}' "$root/etc/passwd")
    [ -n "$uid" ] || { fail "no user $want_user in $root/etc/passwd"; continue; }
    [ "$uid" -lt 1000 ] && [ "$uid" -gt 0 ] || fail "$want_user has uid $uid, not a system uid"
    awk -F: -v u="$want_user" '$1 == u {print $7}' "$root/etc/passwd" | grep -q nologin ||
      fail "$want_user has a login shell"
    case $want_user in
    devattest) dir=$root/var/lib/devattest ;;
    *) dir=$root/var/lib/devattest-server ;;
    esac
    gid=$(awk -F: -v u="$want_user" '$1 == u {print $4}' "$root/etc/passwd")
    mode=$(stat -c '%a' "$dir" 2>/dev/null || echo missing)
    owner=$(stat -c '%u:%g' "$dir" 2>/dev/null || echo missing)
    [ "$mode" = 700 ] || fail "$dir has mode $mode, not 700"
    [ "$owner" = "$uid:$gid" ] || fail "$dir is owned by $owner, not $want_user ($uid:$gid)"
  done
  tss_members=$(awk -F: '$1 == "tss" {print $4}' "$root/etc/group")
  tr ',' '\n' <<<"$tss_members" | grep -qx devattest || fail "devattest is not a member of tss (tss: '$tss_members')"
  tr ',' '\n' <<<"$tss_members" | grep -qx devattest-server && fail "devattest-server is a member of tss"
  return 0
}
