#!/bin/bash
# migrate-wan.sh - live migration between two ferryd in network namespaces
# joined by the user-space WAN emulator (20 ms round trip, 200 Mbit/s): a
# plain migration, a short link cut during perform that the transport rides
# out, and a permanent cut that fails the job within the transport's dead
# timeout with the VM still running at the source and the destination's
# copy removed on its own.  Each case ends with the exactly-one-site check.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmlib.sh"
. "$(dirname "$0")/wan.sh"
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
[ -x "$QEMU" ] || skip_all "$QEMU not installed"
MKGUEST=$top_builddir/tests/guest/mkguest
TEMPLATE=$top_builddir/tests/guest/guest.bin
[ -x "$MKGUEST" ] && [ -s "$TEMPLATE" ] || skip_all "the test guest is not built"
reason=$(wan_can) || skip_all "$reason"
wan_trap

"$MKGUEST" -o "$T/calm.img" --mem 64M --start 1M --end 20M --spin 20000 --hb-pages 64 "$TEMPLATE" || exit 1
# 40 MiB of data dirtied at a couple of MB/s at most (less on a loaded machine):
# at 40 Mbit/s its first pass takes ~8 s, and it converges.
"$MKGUEST" -o "$T/slow.img" --mem 64M --start 1M --end 41M --spin 400000 --hb-pages 16 "$TEMPLATE" || exit 1
mkdir -p "$T/ds-a" "$T/ds-b"
common=("transport_stream_timeout 2s" "transport_dead_timeout 4s" "connect_timeout 2s")
site_conf a "qemu_datastores ds-a=$T/ds-a" "qemu_networks net" "${common[@]}"
site_conf b "qemu_datastores ds-b=$T/ds-b" "qemu_networks net" "${common[@]}"

ok "link up (200 Mbit/s, 10 ms each way)" wan_up mw --rate 200 --delay 10
sed -i "s|^listen .*|listen $(wan_addr a):7443|" "$T/a/ferryd.conf"
sed -i "s|^listen .*|listen $(wan_addr b):7443|" "$T/b/ferryd.conf"
ok "site a starts in its namespace" site_start a ip netns exec "$WAN_NS_A"
ok "site b starts in its namespace" site_start b ip netns exec "$WAN_NS_B"
ok "a and b pair across the emulated WAN" pair a b

cat >"$T/vm1.json" <<EOF
{ "name": "vm1", "vcpus": 1, "memory_mib": 64, "boot": "$T/calm.img", "nics": [ { "network": "net" } ] }
EOF
cat >"$T/vm2.json" <<EOF
{ "name": "vm2", "vcpus": 1, "memory_mib": 64, "boot": "$T/slow.img", "nics": [ { "network": "net" } ] }
EOF
ok "vm1 defined and started at a" sh -c "'$FERRYCTL' -s '$T/a/ferryd.sock' vm define '$T/vm1.json' && \
	'$FERRYCTL' -s '$T/a/ferryd.sock' vm start vm1"
ok "vm1 beats at a" wait_beats a vm1 5
# vm2 starts now so its 40 MiB range is written (not zero pages) by the time it moves.
ok "vm2 (a guest that converges at 40 Mbit/s) defined and started at a" sh -c "'$FERRYCTL' -s '$T/a/ferryd.sock' \
	vm define '$T/vm2.json' && '$FERRYCTL' -s '$T/a/ferryd.sock' vm start vm2"

ok "vm1 migrates to b across the WAN (verified)" ctl a migrate vm1 --to b --verify --wait
like "$(cat "$T/last.out")" "memory digests equal" "its memory arrived intact"
ok "vm1 runs at b only" one_site vm1 b
ok "vm1 beats at b" wait_beats b vm1 5

# A 1.5 s cut in the middle of perform (the stream timeout is 2 s): the job rides it out.
ok "vm2 beats at a" wait_beats a vm2 5
ok "a slow migration of vm2 to b starts" ctl a migrate vm2 --to b --bandwidth 40 --verify
job=$(job_of "$T/last.out")
ok "it is copying memory" wait_event a "$job" "memory pre-copy"
sleep 1
ok "and still is when the link is cut" wait_phase a "$job" perform
kill -STOP "$WAN_PID"; sleep 1.5; kill -CONT "$WAN_PID"
is "$(wait_job a "$job")" succeeded "the migration survives a 1.5 s link cut"
like "$(ctl a job show "$job")" "memory digests equal" "with its memory intact"
ok "vm2 runs at b only" one_site vm2 b
ok "vm2 beats at b" wait_beats b vm2 5

# A permanent cut: the job fails within the dead timeout, the VM runs on at the source.
# At 8 Mbit/s without escalation its first pass alone takes half a minute: cut in the middle.
ok "a slow migration of vm2 back to a starts" ctl b migrate vm2 --to a --bandwidth 8 --escalate none
job=$(job_of "$T/last.out")
ok "it is copying memory" wait_event b "$job" "memory pre-copy"
sleep 1
kill -STOP "$WAN_PID"
t0=$(date +%s)
is "$(wait_job b "$job")" failed "the job fails when the link is gone for good"
t1=$(date +%s)
diag "failed $((t1 - t0)) s after the cut (dead timeout 4 s, connect timeout 2 s)"
ok "vm2 still runs at b" test "$(vm_state b vm2)" = running
ok "vm2 still beats at b" wait_beats b vm2 5
kill -CONT "$WAN_PID"
for i in $(seq 1 100); do ctl a job show "$job" 2>/dev/null | grep -q 'aborted' && break; sleep 0.2; done
like "$(ctl a job show "$job")" "aborted" "a removed its incoming copy on its own"
ok "vm2 runs at b only" one_site vm2 b
ok "vm1 still runs at b only" one_site vm1 b
ok "the emulator dropped nothing itself while it ran" wan_valid

site_stop a
site_stop b
wan_down
check_sanitizers
done_testing
