#!/bin/bash
# preflight.sh - ferryctl preflight between two real ferryd with the qemu
# domain: the destination's facts come from its own gateway over the
# federation API, the link is measured over the transport, netmap's rules
# decide.  A pre-flight that says clear is followed by a migration that
# succeeds; each blocking finding names what was wrong; bad input is refused
# with a message naming it; the exit status follows ferry-findings(7).
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmlib.sh"

QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
[ -x "$QEMU" ] || skip_all "$QEMU not installed"
MKGUEST=$top_builddir/tests/guest/mkguest
TEMPLATE=$top_builddir/tests/guest/guest.bin
[ -x "$MKGUEST" ] && [ -s "$TEMPLATE" ] || skip_all "the test guest is not built"
"$MKGUEST" -o "$T/calm.img" --mem 64M --start 1M --end 20M --spin 20000 --hb-pages 64 "$TEMPLATE" || exit 1

mkdir -p "$T/ds-a" "$T/ds-b"
site_conf a "qemu_datastores ds-a=$T/ds-a" "qemu_networks net-a,shared"
site_conf b "qemu_datastores ds-b=$T/ds-b" "qemu_networks net-b,shared"
ok "site a starts" site_start a
ok "site b starts" site_start b
ok "a and b pair" pair a b

spec() {	# spec NAME DISK-SIZE: a VM on net-a with one qcow2 disk on ds-a
	cat >"$T/$1.json" <<EOF
{ "name": "$1", "vcpus": 1, "memory_mib": 64, "boot": "$T/calm.img",
  "nics": [ { "network": "net-a" } ],
  "disks": [ { "datastore": "ds-a", "file": "$1.qcow2", "format": "qcow2", "size": "$2" } ] }
EOF
}
# pf SITE ARGS...: a pre-flight; RC its exit status, OUT its output
pf() { local s=$1; shift; OUT=$(ctl "$s" preflight "$@" 2>&1); RC=$?; }
# code JSON-FILE CODE VM: the finding's "source | destination", or "none"
code() {
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
m=[f for f in r["findings"] if f["code"]==sys.argv[2] and (f["vm"] or "")==sys.argv[3]]
print("%s | %s" % (m[0]["source"], m[0]["destination"]) if m else "none")' "$1" "$2" "$3"
}
jpf() { local s=$1; shift; ctl "$s" --json preflight "$@" >"$T/pf.json" 2>"$T/pf.err"; RC=$?; }
jget() { python3 -c 'import json,sys; print(eval(sys.argv[2], {"r": json.load(open(sys.argv[1]))}))' "$T/pf.json" "$1"; }

spec vm1 64M
ok "vm1 defined and started at a" eval 'ctl a vm define "$T/vm1.json" && ctl a vm start vm1'

# ------------------------------------------------------- blocked, then clear
pf a vm1 --to b --link-seconds 1
is "$RC" 2 "without maps the pre-flight exits 2 (errors)"
like "$OUT" "vm1 .*BLOCKED" "the report gives vm1's verdict: blocked"
like "$OUT" "ERROR +FY-NET-001 .*net-a" "FY-NET-001 names the network b does not have"
like "$OUT" "ERROR +FY-DS-001 .*ds-a" "FY-DS-001 names the datastore b does not have"
like "$OUT" "fix: Map it with --network-map" "and says how to fix it"

MAPS=(--network-map net-a=net-b --datastore-map ds-a=ds-b)
jpf a vm1 --to b "${MAPS[@]}" --link-seconds 1
is "$RC" 0 "with both maps it exits 0"
is "$(jget 'r["verdict"]')" clear "--json: the overall verdict is clear"
is "$(jget 'r["vms"][0]["name"], r["vms"][0]["verdict"]')" "('vm1', 'clear')" "--json: vm1 is clear"
is "$(jget 'r["version"], r["source"]["site"], r["destination"]["site"]')" "(1, 'a', 'b')" \
	"--json: version 1, from a to b"
is "$(jget 'r["exit_status"]')" 0 "--json gives the exit status"
like "$(jget 'r["link"]["goodput_mbit"] > 0 and r["link"]["verified"]')" True \
	"the link was measured over the transport, data verified at b"
like "$(code "$T/pf.json" FY-LINK-002 vm1)" "MiB memory.* \| [0-9.]+ [MG]bit/s" \
	"FY-LINK-002 estimates vm1's transfer from its size and the measured goodput"
like "$(code "$T/pf.json" FY-HW-000 vm1)" "not reported" \
	"what the qemu domain does not report is said (FY-HW-000), not passed silently"
like "$(ctl a audit | tail -n 5)" "preflight.*clear.*1 VM to b" "the pre-flight is in a's audit trail"

ok "with --link-seconds 0 there is no link test" ctl a --json preflight vm1 --to b "${MAPS[@]}" --link-seconds 0
like "$(cat "$T/last.out")" "FY-LINK-000" "and FY-LINK-000 says the transfer is not estimated"

# A target host or cluster: the qemu domain has none; the report says so (FY-HOST-000).
jpf a vm1 --to b "${MAPS[@]}" --link-seconds 0 --host esx1 --cluster C0
is "$RC" 0 "--host and --cluster at a qemu destination: exits 0 (nothing to judge there)"
is "$(jget 'sorted(f["subject"] for f in r["findings"] if f["code"] == "FY-HOST-000")')" \
	"['hosts', 'target cluster', 'target host']" "FY-HOST-000 for the hosts, and for the target host and cluster"
like "$(jget '[f["message"] for f in r["findings"] if f["subject"] == "target host"][0]')" \
	"reports no hosts \(a qemu domain\), so the target host esx1 is not checked" "saying the target host is not checked"
is "$(jget '[f["severity"] for f in r["findings"] if f["subject"] == "target cluster"][0]')" info "an info"
is "$(jget '[f["code"] for f in r["findings"] if f["code"] in ("FY-HOST-004", "FY-HOST-005")]')" "[]" \
	"neither FY-HOST-004 nor 005: a target is not judged missing where there are no hosts"
is "$(jget 'r["destination"]["host"], r["destination"]["cluster"]')" "('esx1', 'C0')" "--json: the report carries the target"
pf a vm1 --to b "${MAPS[@]}" --link-seconds 0 --host esx1
like "$OUT" "INFO +FY-HOST-000 +The destination reports no hosts \(a qemu domain\), so the target host esx1" \
	"text: the finding says the target host is not checked"
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "Target: host esx1" "text: the second line gives the target"

# A clear pre-flight is one the migration keeps.
ok "the migration the pre-flight cleared succeeds" ctl a migrate vm1 --to b "${MAPS[@]}" --wait
ok "vm1 runs at b only" one_site vm1 b

# ------------------------------------------------------------- the findings
# b now holds vm1: a VM of that name at the destination blocks.
spec vm1 64M
ok "another vm1 defined at a" eval 'ctl a vm define "$T/vm1.json" && ctl a vm start vm1'
jpf a vm1 --to b "${MAPS[@]}" --link-seconds 0
is "$RC" 2 "a name taken at b blocks"
like "$(code "$T/pf.json" FY-DUP-001 vm1)" "vm1 \| vm1" "FY-DUP-001 names the VM b already has"
ok "vm1 undefined at a" eval 'ctl a vm stop vm1 --force && ctl a vm undefine vm1'

spec vm2 64M
ok "vm2 defined, not started" ctl a vm define "$T/vm2.json"
jpf a vm2 --to b "${MAPS[@]}" --link-seconds 0
is "$RC" 2 "a VM that is not running blocks (the qemu domain moves running guests only)"
like "$(code "$T/pf.json" FY-PWR-001 vm2)" "^shutoff" "FY-PWR-001 gives its state"
ok "vm2 started" ctl a vm start vm2

jpf a vm2 --to b --network-map net-a=nope --datastore-map ds-a=ds-b --link-seconds 0
is "$RC" 2 "a map to a network b lacks blocks"
like "$(code "$T/pf.json" FY-NET-002 vm2)" "nope" "FY-NET-002 names the map's target"

# More than ds-b's free space (qcow2 stays small at a; the mirror fills it at b).
free=$(df -B1 --output=avail "$T/ds-b" | tail -n 1 | tr -d ' ')
spec big $((free / 1048576 + 4096))M
ok "a VM with a disk larger than b's free space defined at a" ctl a vm define "$T/big.json"
ok "and started" ctl a vm start big
jpf a big vm2 --to b "${MAPS[@]}" --link-seconds 0
is "$RC" 2 "not enough room at b blocks"
like "$(code "$T/pf.json" FY-DS-003 big)" "[0-9.]+ [KMGT]iB.*\| .*[0-9.]+ [KMGT]iB.*ds-b|ds-b.*[0-9.]+ [KMGT]iB" \
	"FY-DS-003 names the datastore and the bytes compared"
is "$(jget 'r["vms"][1]["name"], r["vms"][1]["verdict"]')" "('vm2', 'clear')" \
	"vm2 in the same pre-flight is judged on its own (clear)"
is "$(jget 'r["verdict"]')" blocked "the overall verdict is the worst"

# ------------------------------------------------------- the boot image (qemu)
# b must have the image at the same path with the same content, or its
# Prepare refuses; the pre-flight asks it (by hash: b sends none back).
jpf a vm2 --to b "${MAPS[@]}" --link-seconds 0
is "$(code "$T/pf.json" FY-IMG-001 vm2)$(code "$T/pf.json" FY-IMG-002 vm2)" "nonenone" \
	"vm2's boot image is at b too: no FY-IMG finding"
cp "$T/calm.img" "$T/own.img"
printf '{ "name": "vm3", "vcpus": 1, "memory_mib": 64, "boot": "%s", "nics": [ { "network": "net-a" } ] }\n' \
	"$T/own.img" >"$T/vm3.json"
ok "vm3 boots from an image of its own" eval 'ctl a vm define "$T/vm3.json" && ctl a vm start vm3'
rm -f "$T/own.img"	# QEMU keeps it open at a; b, on this machine, finds no file there
jpf a vm3 --to b "${MAPS[@]}" --link-seconds 0
is "$RC" 2 "a boot image b lacks blocks"
is "$(code "$T/pf.json" FY-IMG-001 vm3)" "$T/own.img | missing" "FY-IMG-001 names the image and says it is missing"
printf 'not the same image\n' >"$T/own.img"
jpf a vm3 --to b "${MAPS[@]}" --link-seconds 0
is "$RC" 2 "a boot image with other content at b blocks"
like "$(code "$T/pf.json" FY-IMG-002 vm3)" "^[0-9a-f]{64} \| other content$" "FY-IMG-002 gives the source's hash, not b's"
fails "and the migration is indeed refused by b's Prepare" ctl a migrate vm3 --to b "${MAPS[@]}" --wait
like "$(cat "$T/last.out")" "boot" "naming the boot image"
is "$(vm_state a vm3)" running "vm3 still runs at a"
ok "vm3 stopped and undefined" eval 'ctl a vm stop vm3 --force && ctl a vm undefine vm3'

# ------------------------------------------------------------------ inventory
ok "inventory of this site" ctl a inventory
like "$(cat "$T/last.out")" "vm2 +running" "lists a's VMs with their state"
like "$(cat "$T/last.out")" "ds-a +[0-9.]+ [KMGT]iB free of" "and its datastores with their free space"
like "$(cat "$T/last.out")" "not reported by a qemu domain" "and says hosts are not reported by a qemu domain"
ok "inventory of b, by b's gateway" ctl a inventory vms --site b
like "$(cat "$T/last.out")" "vm1 +running" "lists the VM that moved there"
ok "b's datastores as JSON" ctl a --json inventory datastores --site b
like "$(cat "$T/last.out")" '"name": "ds-b"' "names b's datastore"
unlike "$(cat "$T/last.out")" '"dir"|/ds-b' "without b's local paths"
fails "an unknown kind is refused" ctl a inventory bogus
like "$(cat "$T/last.out")" "bogus" "naming it"
fails "an unknown site is refused" ctl a inventory --site nowhere
like "$(cat "$T/last.out")" "nowhere" "naming it"

# ------------------------------------------------------------------ bad input
fails "an unknown VM is refused" ctl a preflight ghost --to b
like "$(cat "$T/last.out")" "ghost" "naming it"
fails "an unknown site is refused" ctl a preflight vm2 --to nowhere
like "$(cat "$T/last.out")" "nowhere" "naming it"
pf a vm2 --to b --network-map net-a
is "$RC" 3 "a map entry without '=' is refused (3: the pre-flight could not run)"
like "$OUT" "net-a" "naming the entry"
pf a vm2 --to b --network-map net-a=x --network-map net-a=y
is "$RC" 3 "a network mapped to two targets is refused"
like "$OUT" "x.*y|y.*x" "naming both"
pf a vm2 --to b --link-seconds 999
is "$RC" 64 "--link-seconds out of range is a usage error (64, not 2: that is blocked)"
pf a vm2
is "$RC" 64 "--to is required"
pf a --to b
is "$RC" 64 "a VM is required"
pf a vm2 --to b --bogus
is "$RC" 64 "an unknown option is a usage error"
pf a vm2 --to b --mac sometimes
is "$RC" 3 "an unknown --mac policy is refused"
like "$OUT" "sometimes" "naming it"

# ---------------------------------------------------- warnings and --strict
# a's transport capped far below what vm2 dirties: pre-copy could not converge.
site_stop a
echo "transport_rate_limit 8" >>"$T/a/ferryd.conf"
ok "a restarts with its transport capped at 8 Mbit/s" site_start a
pf a vm2 --to b "${MAPS[@]}" --link-seconds 3
is "$RC" 0 "warnings alone exit 0"
like "$OUT" "WARNING +FY-LINK-005 .*vm2" "FY-LINK-005: vm2 dirties memory faster than the link copies it"
like "$OUT" "vm2 .*WARNINGS" "vm2's verdict: warnings"
pf a vm2 --to b "${MAPS[@]}" --link-seconds 3 --strict
is "$RC" 1 "with --strict, warnings exit 1"

# ------------------------------------------------------------ peer gone away
site_stop b
pf a vm2 --to b "${MAPS[@]}"
is "$RC" 3 "with b down the pre-flight cannot run (3)"
like "$OUT" "connect|refused|reach" "saying it could not reach b"


check_sanitizers
done_testing
