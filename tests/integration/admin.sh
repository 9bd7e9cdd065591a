#!/bin/bash
# The admin API is for local administrators only: the socket's mode is the
# first gate, the peer-credential check (SO_PEERCRED) the second, and a
# refusal at the second gate is audited.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to run commands as another user"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
NOBODY=65534
getent group nogroup >/dev/null || skip_all "no nogroup group"
chmod 755 "$T"
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
# The binaries must be reachable by nobody: copy ferryctl somewhere public.
cp "$FERRYCTL" "$T/ferryctl"; chmod 755 "$T/ferryctl"

site_conf a
site_start a || { echo "Bail out! a did not start"; exit 1; }
ok "root may use the admin API" ctl a status

fails "another user cannot even open the socket" as_nobody "$T/ferryctl" -s "$T/a/ferryd.sock" status
like "$(cat "$T/last.out")" "Permission denied \(only administrators may use ferryctl\)" "and is told so"

# Loosen the socket's mode by hand: the peer-credential check still refuses.
chmod 666 "$T/a/ferryd.sock"
fails "with the socket opened up, a non-admin is still refused" as_nobody "$T/ferryctl" -s "$T/a/ferryd.sock" status
like "$(cat "$T/last.out")" "permission denied: only root, ferryd's user or admin_group" "by the credential check"
like "$(audit_of a)" "admin uid=$NOBODY .* admin +refused +uid $NOBODY is not an administrator" "the refusal is audited"
fails "nor may it make invites" as_nobody "$T/ferryctl" -s "$T/a/ferryd.sock" pair invite
is "$(sqlite3 -cmd ".timeout 5000" "$(db_of a)" "SELECT count(*) FROM invites")" 0 "no invite was made"
site_stop a

# admin_group: members may, others may not.
echo "admin_group nogroup" >>"$T/a/ferryd.conf"
site_start a || { echo "Bail out! a did not restart"; exit 1; }
st=$(stat -c '%a %G' "$T/a/ferryd.sock"); is "$st" "660 nogroup" "with admin_group the socket is 0660 and group-owned"
ok "a member of admin_group may use the admin API" as_nobody "$T/ferryctl" -s "$T/a/ferryd.sock" status
ok "a user with admin_group as a supplementary group may too" setpriv --reuid=$NOBODY --regid=65533 --groups=$NOBODY "$T/ferryctl" -s "$T/a/ferryd.sock" status
fails "a user outside it may not" setpriv --reuid=$NOBODY --regid=65533 --clear-groups "$T/ferryctl" -s "$T/a/ferryd.sock" status
like "$(audit_of a)" "start +ok" "audit readable"

# Malformed admin requests get a clear error, not a crash.
out=$(printf '\x00\x00\x00\x05hello' | timeout 5 socat - "UNIX-CONNECT:$T/a/ferryd.sock" 2>/dev/null | tail -c +5 || true)
if command -v socat >/dev/null; then
	like "$out" '"error":"FORMAT"' "a request that is not JSON is refused as FORMAT"
fi
out=$(ctl a --json frobnicate 2>&1); like "$out" "unknown command" "an unknown ferryctl command is named"
ok "ferryd still serves" ctl a status
check_sanitizers
done_testing
