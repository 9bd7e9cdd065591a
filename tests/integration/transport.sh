#!/bin/bash
# The data transport between two real ferryd over loopback: transfers are
# verified end to end (XXH3-128 of every byte, at both ends), survive a
# killed stream, fail with a clear error in bounded time when the peer is
# gone, and are refused to a peer that is not (or no longer) paired.
. "$(dirname "$0")/lib.sh"
command -v ss >/dev/null || skip_all "ss (iproute2) not installed"

site_conf a
site_conf b "transport_stream_timeout 2s" "transport_dead_timeout 3s"
site_conf stranger
for s in a b stranger; do site_start $s || { echo "Bail out! $s did not start"; exit 1; }; done
ok "b pairs with a" pair a b
pa=$(site_port a)

out=$(ctl b link test a --seconds 2)
like "$out" "goodput +[0-9.]+ Mbit/s" "link test reports goodput"
like "$out" "integrity +verified" "every byte verified at the far end"
like "$out" "round trip \(TCP\) +[0-9.]+ ms" "link test reports the round trip"
like "$out" "congestion control +(bbr|cubic)" "and the congestion control in use"
like "$out" "retransmits +[0-9]+ segments \(under the test's load" "the bulk flow's retransmits, said to be under load"
like "$out" "loss +[0-9.]+ % \(a paced probe after the test: [1-9][0-9]* bytes at [0-9.]+ Mbit/s, [0-9]+ segments resent\)" \
	"the loss is a paced probe's, after the bulk flow"
j=$(ctl b --json link test a --seconds 1 --streams 3)
like "$j" '"streams": 3' "--streams 3 uses three streams"
like "$j" '"mode": "fixed"' "and says the count was fixed"
like "$j" '"verified": true' "--json carries the verification"
like "$j" '"retransmits": [0-9]+' "--json carries TCP retransmits"
like "$j" '"loss_pct": [0-9.]+' "--json carries the probe's loss (loss_pct)"
is "$(printf '%s' "$j" | python3 -c 'import json, sys; p = json.load(sys.stdin)["probe"]
print(p["bytes"] > 0 and p["mbit"] > 0 and p["seconds"] > 0)')" True "and the probe's numbers (bytes, rate, time)"

"$FERRYCTL" -s "$T/b/ferryd.sock" link test a --streams 0 >/dev/null 2>&1; is $? 2 "--streams 0 is a usage error (exit 2)"
"$FERRYCTL" -s "$T/b/ferryd.sock" link test a --seconds 9999 >/dev/null 2>&1; is $? 2 "--seconds out of range exits 2"
fails "a site that is not paired cannot be tested" ctl b link test stranger --seconds 1
like "$(cat "$T/last.out")" "no paired site named \"stranger\"" "the error names the site"

# Kill one TCP stream in the middle of a transfer: nothing is lost.
# The victim is one of the running test's streams, not one of the session
# the link test before it left open for a job (transport_keep_idle).
before=$(ss -Htn state established "( dport = :$pa )" | awk '{print $3}')
ctl b --json link test a --seconds 6 --streams 3 >"$T/kill1.json" 2>&1 &
lt=$!
sleep 2
victim=$(ss -Htn state established "( dport = :$pa )" | awk '{print $3}' | grep -vxF -e "${before:-none}" |
	head -n 1)
ok "found a live stream to kill ($victim)" test -n "$victim"
ss -K -tn state established "( dport = :$pa and sport = :${victim##*:} )" >/dev/null 2>&1
wait $lt; rc=$?
is "$rc" 0 "the transfer completes after a stream was killed"
like "$(cat "$T/kill1.json")" '"verified": true' "and every byte arrived once, in order"
like "$(cat "$T/kill1.json")" '"stream_failures": [1-9]' "the lost stream is counted"
like "$(cat "$T/kill1.json")" '"loss_pct": [0-9.]+' \
	"the loss probe after it still measured (counters per stream, a lost one's kept)"

# The peer vanishes: a clear error within stream_timeout + dead_timeout.
ctl b link test a --seconds 30 >"$T/dead.out" 2>&1 &
lt=$!
sleep 2
site_stop a KILL
t0=$(date +%s)
wait $lt; rc=$?
t1=$(date +%s)
[ "$rc" -ne 0 ]; is $? 0 "with the peer killed the link test fails"
[ $((t1 - t0)) -le 12 ]; is $? 0 "within the bound (stream 2 s + dead 3 s + slack: took $((t1 - t0)) s)"
like "$(cat "$T/dead.out")" "link test to a failed: no stream to a for 3000 ms \(last attempt: .*(connect|refused)" "and says the peer is unreachable, and why"
ok "a restarts" site_start a

# A peer keeps its session to a open, idle (transport_keep_idle): a still stops at once.
ok "a link test from b leaves its session to a open" ctl b link test a --seconds 1
t0=$(date +%s%N)
ok "a stops cleanly while b keeps a session to it" site_stop a
ms=$((($(date +%s%N) - t0) / 1000000))
ok "and promptly, not after the 5 s it waits for connections in flight ($ms ms)" test "$ms" -lt 3000
ok "a restarts" site_start a

# Unpaired in the middle of a session: the streams are cut and not re-admitted.
ctl b link test a --seconds 30 >"$T/unpair.out" 2>&1 &
lt=$!
sleep 2
ok "a unpairs b during the transfer" ctl a pair remove b --force
t0=$(date +%s)
wait $lt; rc=$?
t1=$(date +%s)
[ "$rc" -ne 0 ]; is $? 0 "the unpaired peer's transfer fails"
[ $((t1 - t0)) -le 12 ]; is $? 0 "promptly ($((t1 - t0)) s)"
like "$(cat "$T/unpair.out")" "no stream to a .*no paired site named \"a\"" "b says the pairing is gone"
like "$(audit_of b)" "link-test +ok" "b's audit has its link tests"
ok "audit chains intact" ctl a audit verify
check_sanitizers
done_testing
