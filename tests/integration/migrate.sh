#!/bin/bash
# migrate.sh - live migration of a real QEMU guest (TCG) between two real
# ferryd on loopback, through the transport: memory only, memory + disk,
# multifd, the convergence policy, cancel, refusals, and SIGKILL of either
# daemon at the phases that matter.  Every case ends with the invariant:
# the VM runs at exactly one site, with its disks intact.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmlib.sh"

QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
[ -x "$QEMU" ] || skip_all "$QEMU not installed"
MKGUEST=$top_builddir/tests/guest/mkguest
GUESTCHECK=$top_builddir/tests/guest/guestcheck
TEMPLATE=$top_builddir/tests/guest/guest.bin
[ -x "$MKGUEST" ] && [ -s "$TEMPLATE" ] || skip_all "the test guest is not built"

# A guest dirtying ~20 MiB at a moderate rate, and one dirtying 45 MiB at 15-90 MB/s
# (more than the 120 Mbit/s the convergence cases allow, and less than 20 times it).
"$MKGUEST" -o "$T/calm.img" --mem 64M --start 1M --end 20M --spin 20000 --hb-pages 64 "$TEMPLATE" || exit 1
"$MKGUEST" -o "$T/busy.img" --mem 64M --start 1M --end 46M --spin 10000 --hb-pages 256 "$TEMPLATE" || exit 1

for s in a b; do
	mkdir -p "$T/ds-$s"
done
site_conf a "qemu_datastores ds-a=$T/ds-a" "qemu_networks net-a,shared" "transport_dead_timeout 5s" \
	"transport_stream_timeout 2s" "migrate_throttle_max 99" "migrate_stall_passes 3"
site_conf b "qemu_datastores ds-b=$T/ds-b" "qemu_networks net-b,shared" "transport_dead_timeout 5s" \
	"transport_stream_timeout 2s"
ok "site a starts" site_start a
ok "site b starts" site_start b
ok "a and b pair" pair a b

define() {	# define SITE NAME IMG [extra JSON members]
	local site=$1 name=$2 img=$3 extra=${4:-}
	cat >"$T/$name.json" <<EOF
{ "name": "$name", "vcpus": 1, "memory_mib": 64, "boot": "$img",
  "nics": [ { "network": "net-a" } ]$extra }
EOF
	ctl "$site" vm define "$T/$name.json" && ctl "$site" vm start "$name"
}

# ---------------------------------------------------------------- memory only
ok "vm1 defined and started at a" define a vm1 "$T/calm.img"
ok "vm1 prints heartbeats at a" wait_beats a vm1 5
uuid=$(ctl a --json vm show vm1 | sed -n 's/.*"uuid": "\([0-9a-f-]*\)".*/\1/p' | head -n 1)
mac=$(ctl a --json vm show vm1 | sed -n 's/.*"mac": "\([0-9a-f:]*\)".*/\1/p' | head -n 1)
ok "migrate vm1 to b with --verify --wait" ctl a migrate vm1 --to b --network-map net-a=net-b --verify --wait
out=$(cat "$T/last.out")
like "$out" "succeeded" "the summary says succeeded"
like "$out" "integrity +memory digests equal at both sites" "memory digests were equal at both sites"
like "$out" "downtime +[0-9]+ ms" "the summary gives QEMU's downtime"
like "$out" "guest pause +[0-9]+ ms" "and the pause the guest saw"
ok "vm1 runs at b only" one_site vm1 b
ok "vm1 keeps printing heartbeats at b" wait_beats b vm1 5
is "$(ctl b --json vm show vm1 | sed -n 's/.*"uuid": "\([0-9a-f-]*\)".*/\1/p' | head -n 1)" "$uuid" "same UUID at b"
is "$(ctl b --json vm show vm1 | sed -n 's/.*"mac": "\([0-9a-f:]*\)".*/\1/p' | head -n 1)" "$mac" "same MAC at b"
is "$(ctl b --json vm show vm1 | sed -n 's/.*"network": "\([^"]*\)".*/\1/p' | head -n 1)" "net-b" "its NIC is on the mapped network"
job=$(ctl a --json jobs | sed -n 's/.*"id": "\(m-[0-9a-f]*\)".*/\1/p' | head -n 1)
like "$(ctl a job show "$job")" "confirm .*removing the copy" "job show at a lists the phases up to confirm"
like "$(ctl a job show "$job")" "b prepared the incoming VM; the transport is up:" \
	"a first job to b opened its own connection and transport (nothing kept to name)"
like "$(ctl b job show "$job")" "resumed here" "job show at b says it resumed there"
like "$(ctl b jobs)" "$job +destination +vm1 +a +done +succeeded" "jobs at b lists the incoming job"
like "$(audit_of a)" "migrate-out +succeeded" "a's audit trail has the job"
like "$(audit_of b)" "migrate-in +succeeded" "b's audit trail has the job"
ok "a's audit trail verifies" ctl a audit verify
ok "a's copy is gone: no QEMU, no VM directory" test ! -e "$T/a/state/vms/vm1"

# ... and back, with two multifd channels.
ok "migrate vm1 back to a over 2 multifd channels" ctl b migrate vm1 --to a --network-map net-b=net-a --multifd 2 \
	--verify --wait
like "$(cat "$T/last.out")" "memory digests equal" "multifd: memory digests equal"
ok "vm1 runs at a only" one_site vm1 a
ok "vm1 keeps printing heartbeats at a" wait_beats a vm1 5

# ---------------------------------------------------------------- refusals
fails "an unknown network without a map is refused" ctl a migrate vm1 --to b --wait
like "$(cat "$T/last.out")" "net-a" "the refusal names the network"
ok "vm1 still runs at a only" one_site vm1 a
fails "a site that is not paired is refused" ctl a migrate vm1 --to nowhere
like "$(cat "$T/last.out")" "no paired site named \"nowhere\"" "naming it"
fails "a VM that does not exist is refused" ctl a migrate nosuch --to b
fails "a bad map is refused" ctl a migrate vm1 --to b --network-map net-a
like "$(cat "$T/last.out")" "FROM=TO" "naming the expected form"
fails "a downtime of 5 ms is refused" ctl a migrate vm1 --to b --downtime-ms 5
fails "an unknown escalation step is refused" ctl a migrate vm1 --to b --escalate faster
like "$(cat "$T/last.out")" "faster" "naming it"
ok "vm1 still runs at a only" one_site vm1 a

# ---------------------------------------------------------------- memory + disk
ok "a 32 MiB qcow2 disk with known data" qemu-img create -q -f qcow2 "$T/ds-a/vm2-0.qcow2" 32M
ok "data written before the migration" qemu-io -f qcow2 -c "write -P 0x5a 0 4M" -c "write -P 0xa5 20M 1M" \
	"$T/ds-a/vm2-0.qcow2"
ok "vm2 with the disk defined and started" define a vm2 "$T/calm.img" \
	", \"disks\": [ { \"id\": \"disk0\", \"datastore\": \"ds-a\", \"file\": \"vm2-0.qcow2\", \"format\": \"qcow2\" } ]"
ok "vm2 beats" wait_beats a vm2 3
fails "a datastore the destination lacks is refused" ctl a migrate vm2 --to b --network-map net-a=net-b --wait
like "$(cat "$T/last.out")" "ds-a" "naming the datastore"
ok "vm2 still runs at a only" one_site vm2 a
# Hold the source after Finish so both copies of the disk can be compared.
site_stop a
FERRYD_TEST_HOLD=after-finish site_start a
# The documented flow: a pre-flight, then the move, which takes its connection and session.
ok "a pre-flight of vm2 (1 s link test)" ctl a preflight vm2 --to b --network-map net-a=net-b --datastore-map ds-a=ds-b \
	--link-seconds 1
ok "migrate vm2 with its disk" ctl a migrate vm2 --to b --network-map net-a=net-b --datastore-map ds-a=ds-b --verify
job=$(job_of "$T/last.out")
ok "the job reaches finish" wait_phase a "$job" finish
sleep 1
ok "the mirrored disk equals the source's (qemu-img compare)" qemu-img compare -U "$T/ds-a/vm2-0.qcow2" \
	"$T/ds-b/vm2-0.qcow2"
is "$(wait_job a "$job")" succeeded "the disk migration succeeded"
ok "vm2 runs at b only" one_site vm2 b
ok "the source's disk was removed after confirm" test ! -e "$T/ds-a/vm2-0.qcow2"
like "$(ctl a job show "$job")" "prepared the incoming VM \\(asked over the connection kept from a pre-flight\\); the \
transport is up \\(kept from an earlier job or link test\\)" "the move asked its Prepare over the pre-flight's connection \
and took its link test's session"
ok "the data written before is there at b" qemu-io -r -U -f qcow2 -c "read -P 0x5a 0 4M" -c "read -P 0xa5 20M 1M" \
	"$T/ds-b/vm2-0.qcow2"
site_stop a
ok "a restarts without the hook" site_start a
ok "vm2 stopped at b" ctl b vm stop vm2 --force

# A destination datastore without the room: refused in prepare, nothing left there.
ok "a 64 TiB thin disk" qemu-img create -q -f qcow2 "$T/ds-a/vm4-0.qcow2" 64T
ok "vm4 with it defined and started" define a vm4 "$T/calm.img" \
	", \"disks\": [ { \"id\": \"disk0\", \"datastore\": \"ds-a\", \"file\": \"vm4-0.qcow2\", \"format\": \"qcow2\" } ]"
fails "a destination datastore without the room is refused" ctl a migrate vm4 --to b --network-map net-a=net-b \
	--datastore-map ds-a=ds-b --wait
like "$(cat "$T/last.out")" "ds-b needs [0-9]+ MiB for the disks, has [0-9]+ MiB free" "naming the datastore and the sizes"
ok "vm4 still runs at a only" one_site vm4 a
ok "nothing of vm4 was left at b" test ! -e "$T/ds-b/vm4-0.qcow2" -a ! -e "$T/b/state/vms/vm4"
ok "vm4 stopped" ctl a vm stop vm4 --force

# ---------------------------------------------------------------- convergence
# The busy guest rewrites a 45 MiB working set at about 40 MB/s: at
# 120 Mbit/s no pass gets under the default 300 ms limit unless its CPU is
# throttled.  Throttled to 99 % it still dirties 0.5-2 MB per pass; at the
# 96-120 Mbit/s the link gives here (the sanitizer build, a loaded host)
# that is 40-170 ms to send, so a 100 ms limit would test the host's speed,
# not the policy.
ok "busy vm3 defined and started at a" define a vm3 "$T/busy.img"
ok "vm3 beats" wait_beats a vm3 3
fails "vm3 does not converge at 120 Mbit/s with escalation off" ctl a migrate vm3 --to b --network-map net-a=net-b \
	--bandwidth 120 --downtime-ms 300 --escalate none --wait
like "$(cat "$T/last.out")" "did not converge" "the job says it did not converge"
like "$(ctl a job show "$(job_of "$T/last.out")")" "transport is up \\(kept from an earlier job or link test\\)" \
	"the job took the session the job before it to b left open (transport_keep_idle, 60 s by default)"
ok "vm3 still runs at a only" one_site vm3 a
ok "vm3 still beats at a" wait_beats a vm3 3
ok "with the policy (CPU throttling up to 99%) it converges" ctl a migrate vm3 --to b --network-map net-a=net-b \
	--bandwidth 120 --downtime-ms 300 --escalate throttle --verify --wait
like "$(cat "$T/last.out")" "escalated +throttle" "the summary says the policy throttled the guest"
like "$(cat "$T/last.out")" "memory digests equal" "the throttled guest's memory arrived intact"
ok "vm3 runs at b only" one_site vm3 b
ok "vm3 beats at b" wait_beats b vm3 3
ok "vm3 stopped at b" ctl b vm stop vm3 --force

# ---------------------------------------------------------------- cancel
ok "a slow migration of vm1 starts" ctl a migrate vm1 --to b --network-map net-a=net-b --bandwidth 8
job=$(job_of "$T/last.out")
ok "it reaches perform" wait_phase a "$job" perform
sleep 1
ok "job cancel" ctl a job cancel "$job"
is "$(wait_job a "$job")" cancelled "the job ends cancelled"
ok "vm1 runs at a only after cancel" one_site vm1 a
like "$(ctl b job show "$job")" "aborted" "b removed its copy (aborted)"
ok "vm1 beats at a" wait_beats a vm1 3

# ---------------------------------------------------------------- SIGKILL
# The source dies during perform: after its restart the VM runs at a only.
ok "a slow migration of vm1 starts" ctl a migrate vm1 --to b --network-map net-a=net-b --bandwidth 8
job=$(job_of "$T/last.out")
ok "it reaches perform" wait_phase a "$job" perform
sleep 1
site_stop a KILL
ok "a restarts after SIGKILL" site_start a
is "$(wait_job a "$job")" failed "the job is recovered as failed"
like "$(ctl a job show "$job")" "restarted during perform" "saying why"
ok "vm1 runs at a only after the source's SIGKILL" one_site vm1 a
ok "vm1 beats at a" wait_beats a vm1 3

# The destination dies during perform.
ok "a slow migration of vm1 starts" ctl a migrate vm1 --to b --network-map net-a=net-b --bandwidth 8
job=$(job_of "$T/last.out")
ok "it reaches perform" wait_phase a "$job" perform
sleep 1
site_stop b KILL
is "$(wait_job a "$job")" failed "the source gives up when the destination is gone"
ok "b restarts after SIGKILL" site_start b
ok "vm1 runs at a only after the destination's SIGKILL" one_site vm1 a
for i in $(seq 1 50); do ctl b job show "$job" 2>/dev/null | grep -q aborted && break; sleep 0.2; done
like "$(ctl b job show "$job")" "aborted" "b's job is aborted after its restart"

# The source dies between Finish and Confirm: the destination runs it.
site_stop a
FERRYD_TEST_HOLD=after-finish site_start a
ok "migrate vm1 (held after finish)" ctl a migrate vm1 --to b --network-map net-a=net-b
job=$(job_of "$T/last.out")
ok "it reaches finish" wait_phase a "$job" finish
sleep 2
site_stop a KILL
ok "a restarts after SIGKILL" site_start a
is "$(wait_job a "$job")" succeeded "the job is recovered as succeeded (the destination had resumed)"
ok "vm1 runs at b only" one_site vm1 b
ok "vm1 beats at b" wait_beats b vm1 3

# The destination dies between its Finish and its answer: the source waits, then learns.
site_stop a
FERRYD_TEST_HOLD=dest-after-finish site_start a
ok "migrate vm1 back to a (a holds after its finish)" ctl b migrate vm1 --to a --network-map net-b=net-a
job=$(job_of "$T/last.out")
ok "it reaches finish" wait_phase b "$job" finish
sleep 2
site_stop a KILL
ok "a (destination) restarts after SIGKILL" site_start a
is "$(wait_job b "$job")" succeeded "the source learns the outcome from the restarted destination"
ok "vm1 runs at a only" one_site vm1 a
ok "vm1 beats at a" wait_beats a vm1 3

check_sanitizers
done_testing
