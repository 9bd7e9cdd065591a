#!/bin/bash
# Two real ferryd pair, ping, survive a restart, unpair on both sides.
. "$(dirname "$0")/lib.sh"

site_conf a
site_conf b
ok "site a starts" site_start a
ok "site b starts" site_start b

fpa=$(fp_of a); fpb=$(fp_of b)
like "$fpa" '^([A-Z2-7]{4}-){12}[A-Z2-7]{4}$' "fingerprint is 13 groups of 4 base32 characters"
[ "$fpa" != "$fpb" ]; is $? 0 "the two sites have different identities"

st=$(stat -c %a "$T/a/state/key.pem"); is "$st" 600 "site key is mode 0600"
st=$(stat -c %a "$T/a/state"); is "$st" 700 "state directory is mode 0700"
jm=$(sqlite3 -cmd ".timeout 5000" "$(db_of a)" "PRAGMA journal_mode"); is "$jm" wal "database runs in WAL mode"

inv=$(ctl a pair invite --ttl 10m 2>"$T/invite.err")
like "$inv" '^ferry1-[A-Za-z0-9_-]+$' "pair invite prints one invite string"
like "$(cat "$T/invite.err")" "$fpa" "invite hint shows the inviter's fingerprint"
secret_rows=$(sqlite3 -cmd ".timeout 5000" "$(db_of a)" "SELECT count(*) FROM invites WHERE length(secret_hash) = 32")
is "$secret_rows" 1 "only the 32-byte hash of the secret is stored"
ok "pair join at b" ctl b pair join "$inv"
like "$(cat "$T/last.out")" "paired with a at 127.0.0.1:$(site_port a)" "join reports the peer and endpoint"
like "$(cat "$T/last.out")" "$fpa" "join shows the inviter's fingerprint"

pa=$(ctl a peers); pb=$(ctl b peers)
like "$pa" "^b +127\.0\.0\.1:$(site_port b) .*$fpb" "a lists b with b's fingerprint and endpoint"
like "$pb" "^a +127\.0\.0\.1:$(site_port a) .*$fpa" "b lists a with a's fingerprint and endpoint"
pj=$(ctl a --json peers)
like "$pj" '"role": "inviter"' "a's --json peers is machine readable"

ping=$(ctl b peer ping a --count 5)
like "$ping" 'round trip: min [0-9.]+ ms, avg [0-9.]+ ms' "b pings a: round trip time"
like "$ping" 'clock offset: [+-][0-9]+ ms' "ping reports the clock offset"
pj=$(ctl a --json peer ping b)
like "$pj" '"rtt_avg_ms": [0-9.]+' "ping --json has rtt_avg_ms"
like "$pj" "\"fingerprint\": \"$fpb\"" "ping --json shows the pinned peer's fingerprint"
like "$(ctl a peers)" "^b .* 20[0-9-]+ [0-9:]+Z +20[0-9-]+ [0-9:]+Z" "last contact recorded"

fails "joining the same site again while paired is refused" ctl b pair join "$inv"
like "$(cat "$T/last.out")" "already paired" "it says the site is already paired"

# Restart both: the pairing is kept.
ok "a stops cleanly on SIGTERM" site_stop a
[ ! -e "$T/a/ferryd.pid" ]; is $? 0 "pidfile removed on shutdown"
ok "b stops cleanly" site_stop b
ok "a restarts" site_start a
ok "b restarts" site_start b
is "$(fp_of a)" "$fpa" "a keeps its identity across restart"
ok "ping after restart" ctl a peer ping b
ok "ping the other way after restart" ctl b peer ping a

# A second instance on the same state is refused.
site_conf a2
sed -i "s|^pidfile .*|pidfile $T/a/ferryd.pid|" "$T/a2/ferryd.conf"
fails "a second ferryd with a running pidfile is refused" timeout 10 "$FERRYD" -d -f "$T/a2/ferryd.conf"
like "$(cat "$T/last.out")" "already running" "it says ferryd is already running"

# Unpair from a: both sides forget.
ok "pair remove b (both sides)" ctl a pair remove b
like "$(cat "$T/last.out")" "on both sides" "remove reports both sides"
like "$(ctl a peers)" "no paired sites" "a has no peers"
like "$(ctl b peers)" "no paired sites" "b has no peers"
fails "ping after unpair is refused" ctl b peer ping a
like "$(cat "$T/last.out")" "no paired site named" "ping names the missing peer"

# Pair again with a fresh invite (deny-list lifted by a deliberate pairing).
ok "pair again after unpairing" pair a b
ok "ping after pairing again" ctl b peer ping a

aa=$(ctl a audit)
like "$aa" " invite +ok " "audit has the invite"
like "$aa" " pair +ok .*joined with invite" "audit has the pairing"
like "$aa" " unpair +ok +both sides" "audit has the unpairing"
ab=$(ctl b audit)
like "$ab" " unpair +ok .*requested by the peer" "b's audit records the peer's unpairing"
ok "audit chain verifies at a" ctl a audit verify
ok "audit chain verifies at b" ctl b audit verify
aj=$(ctl a --json audit --since 1h)
like "$aj" '"action": "pair"' "audit --json --since 1h"
fails "audit --since garbage is refused" ctl a audit --since yesterday-ish
like "$(cat "$T/last.out")" "--since" "the error names --since"

check_sanitizers
done_testing
