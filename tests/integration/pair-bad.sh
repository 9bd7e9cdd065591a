#!/bin/bash
# Every bad pairing input of notes/trust.md: refused with a clear error,
# nothing stored, visible in the audit trail.
. "$(dirname "$0")/lib.sh"
have_faketime || skip_all "libfaketime not installed"

site_conf a "pair_max_attempts 3"
site_conf b
site_conf c
site_conf d
for s in a b c d; do site_start $s || { echo "Bail out! $s did not start"; exit 1; }; done
fpa=$(fp_of a)
peers_at() { sqlite3 -cmd ".timeout 5000" "$(db_of "$1")" "SELECT count(*) FROM peers"; }

# Damaged and malformed invite strings are caught before anything is sent.
inv=$(ctl a pair invite 2>/dev/null)
bad=$(printf '%s' "$inv" | sed 's/\(.\{20\}\)./\1A/'); [ "$bad" = "$inv" ] && bad=$(printf '%s' "$inv" | sed 's/\(.\{20\}\)./\1B/')
fails "a damaged invite string is refused" ctl b pair join "$bad"
like "$(cat "$T/last.out")" "damaged \(checksum mismatch\)" "the error says the invite is damaged"
fails "a malformed invite string is refused" ctl b pair join "hello-world"
like "$(cat "$T/last.out")" "malformed \(expected ferry1-" "the error says what an invite looks like"
fails "an invite from a future version is refused" ctl b pair join "ferry9-AAAA"
like "$(cat "$T/last.out")" "unsupported Ferry version" "the error names the version"
fails "a 10 KB invite is refused" ctl b pair join "ferry1-$(head -c 10000 /dev/zero | tr '\0' A)"
like "$(cat "$T/last.out")" "too long" "the error says it is too long"
is "$(peers_at b)" 0 "nothing stored at b"

# Wrong secret: refused, counted, locked after pair_max_attempts (3).
for i in 1 2; do
	out=$(probe b -e "$(site_endpoint a)" -p "$fpa" join "$inv" bad-secret)
	like "$out" "refused: AUTH: .*wrong secret for invite" "wrong secret attempt $i refused"
done
is "$(peers_at a)$(peers_at b)" 00 "nothing stored on either side after wrong secrets"
out=$(probe b -e "$(site_endpoint a)" -p "$fpa" join "$inv" bad-secret)
like "$out" "wrong secret" "third wrong secret refused"
fails "after 3 wrong secrets the invite is locked, even with the right secret" ctl b pair join "$inv"
like "$(cat "$T/last.out")" "locked after too many wrong secrets" "the error says it is locked"
like "$(audit_of a)" "pair-join +refused +wrong secret for invite" "wrong secrets are in a's audit trail"
is "$(peers_at a)" 0 "a stored no peer"

# Expired invite: a's clock moves 2 minutes past a 1-minute invite.
inv=$(ctl a pair invite --ttl 1m 2>/dev/null)
site_stop a
ok "a restarts with its clock 2 minutes ahead" site_start a $(clock_shift +120)
fails "an expired invite is refused" ctl b pair join "$inv"
like "$(cat "$T/last.out")" "has expired" "the error says the invite expired"
is "$(peers_at a)$(peers_at b)" 00 "nothing stored after the expired invite"
site_stop a; site_start a

# Right secret, proof not for this TLS session: refused, invite not consumed.
inv=$(ctl a pair invite 2>/dev/null)
out=$(probe b -e "$(site_endpoint a)" -p "$fpa" join "$inv" bad-proof)
like "$out" "refused: BINDING: .*proof does not match this TLS session" "a proof for another session is refused"
is "$(peers_at a)" 0 "nothing stored after the bad proof"

# Right secret but the endpoint presents another key: pin mismatch, nothing sent.
site_stop a
site_conf imp
sed -i "s|^listen .*|listen $(site_endpoint a)|" "$T/imp/ferryd.conf"
site_start imp
fails "an impostor at the invite's endpoint is refused" ctl b pair join "$inv"
like "$(cat "$T/last.out")" "presented key .* but the pinned key is $fpa; nothing was sent" \
	"the error names both keys and says nothing was sent"
unlike "$(audit_of imp)" "pair-join" "the impostor received no join"
is "$(peers_at b)" 0 "b stored nothing"
site_stop imp
site_start a

# The same invite, still unused, works once: then reuse is refused.
ok "the real join with that invite succeeds" ctl b pair join "$inv"
fails "reusing the invite from another site is refused" ctl c pair join "$inv"
like "$(cat "$T/last.out")" "was already used" "the error says it was used"
is "$(peers_at c)" 0 "c stored nothing"

# Two concurrent uses of one invite: exactly one wins.
inv=$(ctl a pair invite 2>/dev/null)
ctl c pair join "$inv" >"$T/c.out" 2>&1 & pc=$!
ctl d pair join "$inv" >"$T/d.out" 2>&1 & pd=$!
wait $pc; rc=$?; wait $pd; rd=$?
is "$(( (rc == 0) + (rd == 0) ))" 1 "two concurrent joins with one invite: exactly one succeeds"
like "$(cat "$T/c.out" "$T/d.out")" "already used" "the loser is told the invite was used"
is "$(peers_at a)" 2 "a has exactly two peers (b and the winner)"

# A joiner that uses an existing peer's name is refused.
site_conf b2
sed -i "s|^site_name .*|site_name b|" "$T/b2/ferryd.conf"
site_start b2
inv=$(ctl a pair invite 2>/dev/null)
fails "a second site calling itself b is refused" ctl b2 pair join "$inv"
like "$(cat "$T/last.out")" "a peer named \"b\" is already paired" "the error names the conflict"

# An invite is refused at the site that made it.
fails "joining one's own invite is refused" ctl a pair join "$inv"
like "$(cat "$T/last.out")" "invite is from this site" "the error says so"

like "$(audit_of a)" "pair-join +refused +invite [0-9a-f]+ has expired" "expired invite audited"
like "$(audit_of a)" "pair-join +refused +invite [0-9a-f]+ was already used" "reuse audited"
like "$(audit_of a)" "pair-join +refused +proof does not match" "bad proof audited"
ok "a's audit chain is intact" ctl a audit verify
check_sanitizers
done_testing
