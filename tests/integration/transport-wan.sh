#!/bin/bash
# The data transport between two ferryd in network namespaces joined by the
# user-space WAN emulator (tests/tools/wanem): verified transfers over a
# 20 ms, lossy, rate-limited link, a stream killed mid-transfer, bits
# corrupted on the wire (TCP checksum fixed up, so only TLS can notice), a
# short link cut that recovers and a permanent one that fails in bounded
# time.  No timing assertions: goodput is reported, not judged (bench/ does).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wan.sh"
reason=$(wan_can) || skip_all "$reason"
wan_trap

start_pair() {	# start_pair WANEM-OPTIONS...: link up, both ferryd inside it
	wan_up tw "$@" || return 1
	site_start a ip netns exec "$WAN_NS_A" || return 1
	site_start b ip netns exec "$WAN_NS_B" || return 1
}
stop_pair() { site_stop a; site_stop b; wan_down; }

site_conf a
site_conf b "transport_stream_timeout 2s" "transport_dead_timeout 4s" "connect_timeout 2s"
sed -i "s|^listen .*|listen $(wan_addr a):7443|" "$T/a/ferryd.conf"
sed -i "s|^listen .*|listen $(wan_addr b):7443|" "$T/b/ferryd.conf"

ok "link up (200 Mbit/s, 10 ms each way, 0.1% loss) and both sites started" \
	start_pair --rate 200 --delay 10 --loss 0.1
ok "b pairs with a across the emulated WAN" pair a b
ok "b pings a" ctl b peer ping a --count 5
like "$(cat "$T/last.out")" "round trip: min (1[89]|2[0-9]|3[0-9])\.[0-9]+ ms" "ping sees the 20 ms round trip"

j=$(ctl b --json link test a --seconds 4)
like "$j" '"verified": true' "a transfer over the lossy WAN arrives verified"
like "$j" '"rtt_ms": (1[89]|2[0-9]|3[0-9]|4[0-9])\.' "the transport measures the WAN round trip"
diag "$(printf '%s' "$j" | tr -d '\n ' | sed 's/,/, /g')"

# Kill one stream inside site b's namespace in the middle of a transfer.
# The victim is one of the running test's streams, not one of the session
# the link test before it left open for a job (transport_keep_idle).
before=$(wan_exec b ss -Htn state established "( dport = :7443 )" | awk '{print $3}')
ctl b --json link test a --seconds 6 --streams 3 >"$T/kill.json" 2>&1 &
lt=$!
sleep 2
victim=$(wan_exec b ss -Htn state established "( dport = :7443 )" | awk '{print $3}' |
	grep -vxF -e "${before:-none}" | head -n 1)
wan_exec b ss -K -tn state established "( dport = :7443 and sport = :${victim##*:} )" >/dev/null 2>&1
wait $lt
like "$(cat "$T/kill.json")" '"verified": true' "a stream killed mid-transfer over the WAN loses nothing"
like "$(cat "$T/kill.json")" '"stream_failures": [1-9]' "and the loss was seen"

# A short cut: the emulator stops forwarding for 1.5 s, then resumes.
ctl b --json link test a --seconds 6 >"$T/cut.json" 2>&1 &
lt=$!
sleep 2
kill -STOP "$WAN_PID"; sleep 1.5; kill -CONT "$WAN_PID"
wait $lt
like "$(cat "$T/cut.json")" '"verified": true' "a 1.5 s link cut: the transfer recovers, verified"
ok "the emulator dropped nothing itself" wan_valid
stop_pair

# Bits flipped on the wire with TCP checksums fixed: TLS refuses the record,
# the stream is dropped, its chunks go again on the others.
ok "link up with corruption of every 3000th TCP segment" start_pair --rate 200 --delay 5 --corrupt 3000
j=$(ctl b --json link test a --seconds 5 --streams 3)
like "$j" '"verified": true' "corrupted segments never corrupt the data"
like "$j" '"stream_failures": [1-9]' "the corruption was caught (streams dropped by TLS)"
like "$(wan_stats)" '"corrupted":[1-9]' "the emulator did corrupt segments"

# A permanent cut: a clear error within stream + connect + dead timeouts.
ctl b link test a --seconds 60 >"$T/dead.out" 2>&1 &
lt=$!
sleep 2
kill -STOP "$WAN_PID"
t0=$(date +%s)
wait $lt; rc=$?
t1=$(date +%s)
kill -CONT "$WAN_PID"
[ "$rc" -ne 0 ]; is $? 0 "with the link cut for good the transfer fails"
[ $((t1 - t0)) -le 20 ]; is $? 0 "in bounded time ($((t1 - t0)) s for stream 2 s + dead 4 s + connect 2 s)"
like "$(cat "$T/dead.out")" "no stream to a for 4000 ms" "with a clear error"
stop_pair
check_sanitizers
done_testing
