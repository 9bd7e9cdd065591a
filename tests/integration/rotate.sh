#!/bin/bash
# Key rotation: the new key is announced to peers signed by the old one;
# both are accepted during the overlap; a peer that was not told is not
# silently trusted.
. "$(dirname "$0")/lib.sh"

site_conf a
site_conf b
site_conf c
for s in a b c; do site_start $s || { echo "Bail out! $s did not start"; exit 1; }; done
ok "b pairs with a" pair a b
ok "c pairs with a" pair a c
old=$(fp_of a)

ok "a rotates its key" ctl a identity rotate
out=$(cat "$T/last.out")
new=$(fp_of a)
[ "$new" != "$old" ]; is $? 0 "a has a new fingerprint"
like "$out" "new fingerprint: +$new" "rotate prints the new fingerprint"
like "$out" "peer b +took the new key" "b took the new key"
like "$out" "peer c +took the new key" "c took the new key"
like "$(ctl a status)" "previous key: $old" "a's status shows the previous key during the overlap"
[ -f "$T/a/state/key.prev.pem" ]; is $? 0 "the previous key is kept on disk for the overlap"
like "$(ctl b peers)" "^a .*$old" "b still lists a's current key until it sees the new one in use"
like "$(ctl b peers)" "next key $new announced" "b pins a's announced next key beside it"
ok "b pings a (a presents its new key)" ctl b peer ping a
like "$(ctl b peers)" "^a .*$new" "b now lists a's new key as current"
like "$(ctl b peers)" "previous key $old accepted until" "b accepts a's previous key until the overlap ends"
ok "a pings b (presenting its new key)" ctl a peer ping b
ok "a pings c (presenting its new key)" ctl a peer ping c
site_stop a; site_start a
is "$(fp_of a)" "$new" "a keeps the new key after a restart"
ok "b pings a after a's restart" ctl b peer ping a
like "$(audit_of b)" "peer-rotate +ok +announced next key $new" "b's audit records a's announcement"
like "$(audit_of b)" "peer-rotate +ok +now uses key $new" "b's audit records the switch"
like "$(audit_of c)" "peer-rotate +ok +now uses key $new" "c switched when a first called it with the new key"
like "$(audit_of a)" "rotate +ok +$old -> $new, 2/2 peers told" "a's audit records its rotation"

# A peer that is down is not told: the rotation is refused without --force.
site_stop c
fails "rotation with a peer down is refused" ctl a identity rotate
like "$(cat "$T/last.out")" "1 of 2 peers did not take the new key; the old key stays" "the error counts the peers not told"
is "$(fp_of a)" "$new" "a kept its key"
ok "b still pings a" ctl b peer ping a
like "$(ctl b peers)" "^a .*$new" "b still lists a's kept key as current"
ok "rotation with --force goes ahead" ctl a identity rotate --force
newer=$(fp_of a)
[ "$newer" != "$new" ]; is $? 0 "a has a newer key"
site_start c
fails "c, not told, refuses a's newer key" ctl c peer ping a
like "$(cat "$T/last.out")" "presented key $newer but the pinned key is $new" "c names the key it pinned"
ok "b, told, still pings a" ctl b peer ping a
ok "audit chains intact" bash -c "'$FERRYCTL' -s '$T/a/ferryd.sock' audit verify && '$FERRYCTL' -s '$T/b/ferryd.sock' audit verify"
check_sanitizers
done_testing
