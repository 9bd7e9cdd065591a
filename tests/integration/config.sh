#!/bin/bash
# ferryd's configuration: -n with file:line errors, -T that reads back,
# reload on SIGHUP, start-up failures reported by the exit status, and the
# database's schema version.
. "$(dirname "$0")/lib.sh"

site_conf a
C=$T/a/ferryd.conf
ok "ferryd -n accepts the test configuration" "$FERRYD" -n -f "$C"
ok "ferryd -n accepts conf/ferryd.conf" "$FERRYD" -n -f "$top_srcdir/conf/ferryd.conf"

bad() {	# bad DESC REGEX LINES...
	local d=$1 re=$2; shift 2
	printf '%s\n' "$@" >"$T/bad.conf"
	fails "$d is refused by -n" "$FERRYD" -n -f "$T/bad.conf"
	like "$(cat "$T/last.out")" "$re" "$d: the message names file, line and problem"
}
bad "an unknown keyword" "^$T/bad.conf:2: unknown keyword \"listne\"" "site_name x" "listne 1.2.3.4:5"
bad "a duplicate keyword" "^$T/bad.conf:2: site_name: given more than once" "site_name x" "site_name y"
bad "a bad duration" "^$T/bad.conf:1: token_lifetime: expected a duration" "token_lifetime soon"
bad "a token lifetime over 10 minutes" "^$T/bad.conf:1: token_lifetime: expected a duration in range" "token_lifetime 11m"
bad "an integer out of range" "^$T/bad.conf:1: max_connections: expected an integer in range" "max_connections 0"
bad "a missing value" "^$T/bad.conf:1: listen: missing value" "listen"
bad "an unterminated quote" "^$T/bad.conf:1: unterminated quote" 'site_name "x'
bad "an unquoted value with spaces" "^$T/bad.conf:1: site_name: value has spaces" "site_name a b"
bad "a bad log level" "^$T/bad.conf:1: log_level: expected error, warning, info or debug" "log_level loud"
bad "a bad site name" "site_name \"-x\": use 1-63 letters" "site_name -x"
bad "a listen without a port" "listen \"localhost\": expected host:port" "listen localhost"
bad "a relative state_dir" "must be absolute paths" "state_dir var/lib/ferry"
bad "an unknown domain" "^$T/bad.conf:1: domain \"vmware\": expected qemu or vsphere" "domain vmware"

# domain vsphere: vcenter_url, vcenter_thumbprint, vcenter_credentials required and checked.
umask 077
printf '%s\n%s\n' user pass >"$T/vc.cred"
cp "$T/vc.cred" "$T/vc-group.cred" && chmod 640 "$T/vc-group.cred"
TP=AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD
VS=("domain vsphere" "vcenter_url https://vc.example:8443/sdk" "vcenter_thumbprint $TP")
ok "domain vsphere with its three keywords is accepted by -n" sh -c "printf '%s\n' '${VS[0]}' '${VS[1]}' \
	'${VS[2]}' 'vcenter_credentials $T/vc.cred' 'vcenter_timeout 5s' >'$T/vs.conf' && '$FERRYD' -n -f '$T/vs.conf'"
bad "domain vsphere without credentials" "^$T/bad.conf:1: domain vsphere needs vcenter_credentials" \
	"${VS[@]}"
bad "domain vsphere without a URL" "^$T/bad.conf:1: domain vsphere needs vcenter_url" \
	"domain vsphere" "vcenter_thumbprint $TP" "vcenter_credentials $T/vc.cred"
bad "a vCenter URL that is not https://HOST/sdk" "^$T/bad.conf:2: vcenter_url \"http://vc/sdk\": expected https://HOST\[:PORT\]/sdk" \
	"domain vsphere" "vcenter_url http://vc/sdk" "vcenter_thumbprint $TP" "vcenter_credentials $T/vc.cred"
bad "a thumbprint of the wrong length" "^$T/bad.conf:3: vcenter_thumbprint: expected a SHA-1 \(40 hex digits\) or SHA-256" \
	"${VS[0]}" "${VS[1]}" "vcenter_thumbprint AA:BB" "vcenter_credentials $T/vc.cred"
bad "a group-readable credential file" "^$T/bad.conf:4: vcenter_credentials $T/vc-group.cred: mode 0640" \
	"${VS[@]}" "vcenter_credentials $T/vc-group.cred"
bad "a missing credential file" "^$T/bad.conf:4: vcenter_credentials $T/nope.cred: No such file" \
	"${VS[@]}" "vcenter_credentials $T/nope.cred"
bad "a vCenter timeout over 10 minutes" "^$T/bad.conf:5: vcenter_timeout: expected a duration in range" \
	"${VS[@]}" "vcenter_credentials $T/vc.cred" "vcenter_timeout 11m"
ok "with domain qemu the vcenter_ keywords are ignored" sh -c "printf '%s\n' 'vcenter_url nonsense' \
	'vcenter_credentials /nonexistent' >'$T/q.conf' && '$FERRYD' -n -f '$T/q.conf'"
bad "a datastore without a directory" "qemu_datastores: \"ds1\": expected NAME=DIR" "qemu_datastores ds1"
bad "a relative datastore directory" "qemu_datastores: ds1: the directory must be an absolute path" \
	"qemu_datastores ds1=var/ds"
bad "a datastore named twice" "qemu_datastores: ds1 named twice" "qemu_datastores ds1=/a,ds1=/b"
bad "a network name with '='" "qemu_networks: \"b=c\": a name is 1-63 printable" "qemu_networks a,b=c"
bad "an unknown escalation step" "migrate_escalate: \"faster\" is not throttle, xbzrle or none" \
	"migrate_escalate throttle,faster"
bad "a throttle bound over 99%" "migrate_throttle_max: expected an integer in range" "migrate_throttle_max 100"
ok "network names with spaces are accepted (quoted)" sh -c "printf '%s\n' 'qemu_networks \"VM Network, Prod B\"' \
	'qemu_datastores \"datastore 1=/tmp\"' >'$T/ok.conf' && '$FERRYD' -n -f '$T/ok.conf'"
fails "a missing file is refused" "$FERRYD" -n -f "$T/nope.conf"
like "$(cat "$T/last.out")" "nope.conf: no such file" "the message names the missing file"

"$FERRYD" -T -f "$C" >"$T/dump.conf"
nkw=$(grep -c '^\.It Cm [a-z_]* ' "$top_srcdir/man/ferryd.conf.5")
is "$(wc -l <"$T/dump.conf")" "$nkw" "ferryd -T prints all $nkw keywords documented in ferryd.conf(5)"
like "$(cat "$T/dump.conf")" "^token_lifetime 300s" "-T shows defaults (token_lifetime 300s)"
like "$(cat "$T/dump.conf")" "clock_skew 120s" "-T shows clock_skew 120s"
like "$(cat "$T/dump.conf")" "transport_keep_idle 60s" "-T shows transport_keep_idle 60s (a session kept for the next job)"
ok "ferryd -T output is itself a valid configuration" "$FERRYD" -n -f "$T/dump.conf"
"$FERRYD" -T -f "$T/dump.conf" >"$T/dump2.conf"
ok "and reads back to the same settings" cmp "$T/dump.conf" "$T/dump2.conf"

# Daemon mode: success and failure are told by the exit status.
ok "ferryd (daemon mode) starts and exits 0 once serving" "$FERRYD" -f "$C"
pid=$(cat "$T/a/ferryd.pid")
ok "its admin socket answers" ctl a status
fails "a second daemon on the same pidfile exits non-zero" "$FERRYD" -f "$C"
like "$(cat "$T/last.out")" "already running" "and says why"
st=$(stat -c %a "$T/a"); is "$st" 755 "the socket directory keeps its mode"
st=$(stat -c %a "$T/a/ferryd.sock"); is "$st" 600 "the admin socket is 0600 without admin_group"

# SIGHUP: a good change is applied, a bad file is refused and the old one kept.
sed -i 's/^log_level .*/log_level warning/' "$C"
kill -HUP "$pid"; sleep 0.5
ok "still running after SIGHUP" kill -0 "$pid"
echo "bogus_keyword 1" >>"$C"
kill -HUP "$pid"; sleep 0.5
ok "still running after SIGHUP with a broken file" kill -0 "$pid"
ok "and still serving" ctl a status
kill -TERM "$pid"
for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
fails "SIGTERM stops it" kill -0 "$pid"
[ ! -e "$T/a/ferryd.pid" ] && [ ! -e "$T/a/ferryd.sock" ]; is $? 0 "pidfile and socket removed"
sed -i '/bogus_keyword/d' "$C"

# Schema: version recorded; a database from a newer Ferry is refused.
v=$(sqlite3 -cmd ".timeout 5000" "$T/a/state/ferry.db" "PRAGMA user_version"); is "$v" 3 "the database is at schema version 3"
sqlite3 -cmd ".timeout 5000" "$T/a/state/ferry.db" "PRAGMA user_version = 99"
fails "a database from a newer Ferry is refused" "$FERRYD" -f "$C"
like "$(cat "$T/last.out")" "cannot start: unsupported version" "and says the version is unsupported"
ok "nothing was changed in it" test "$(sqlite3 -cmd ".timeout 5000" "$T/a/state/ferry.db" "PRAGMA user_version")" = 99

# A version-1 database is migrated forward, keeping its rows.
sqlite3 -cmd ".timeout 5000" "$T/a/state/ferry.db" "PRAGMA user_version = 1; ALTER TABLE peers DROP COLUMN cert_next; ALTER TABLE peers DROP COLUMN spki_next; DROP TABLE vms; DROP TABLE jobs; DROP TABLE job_events"
ok "a version-1 database is migrated on start" site_start a
is "$(sqlite3 -cmd ".timeout 5000" "$T/a/state/ferry.db" "PRAGMA user_version")" 3 "it is now at version 3"
like "$(audit_of a)" "start +ok" "its audit trail survived the migration"
ok "and verifies" ctl a audit verify

# SIGHUP of the running (foreground) daemon: settings the domain was built
# from wait for the next start, and the log says so; the others apply.
sed -i 's/^log_level .*/log_level info/' "$C"
printf '%s\n' "qemu_networks n1" "migrate_escalate none" >>"$C"
kill -HUP "$(cat "$T/a/ferryd.pid")"
for i in $(seq 1 50); do grep -qs "configuration reloaded" "$T/a/ferryd.log" && break; sleep 0.1; done
like "$(cat "$T/a/ferryd.log")" "domain, qemu_\* and vcenter_url.* take effect at the next start" \
	"a changed qemu_networks is logged as taking effect at the next start"
like "$(cat "$T/a/ferryd.log")" "configuration reloaded from" "and the rest of the file is applied"
ok "still serving after the reload" ctl a status
check_sanitizers
done_testing
