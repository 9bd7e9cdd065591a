#!/bin/bash
# preflight-vsphere.sh - ferryctl inventory and preflight between two ferryd
# with `domain vsphere', each fronting its own vCenter simulator
# (tests/vcsim) with its own credentials and pinned certificate.  The
# simulators' knobs drive the rules: each rule is seen to fire where the
# knob says and not elsewhere.  Then the failures a user meets: wrong
# credentials, a certificate that is not the pinned one, a vCenter that
# stalls or goes away mid-call, a malformed reply.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

VCSIM=$top_builddir/tests/vcsim/vcsim
[ -x "$VCSIM" ] || skip_all "vcsim not built (needs golang-go and golang-github-vmware-govmomi-dev)"
command -v python3 >/dev/null || skip_all "python3 missing"
command -v openssl >/dev/null || skip_all "openssl missing"

USER_A=administrator@vsphere.local
PASS_A='Pa55 word;with<odd>&chars'
PASS_B='another-Secret-77'
UUID_A=6a5f3c1e-0a0b-4c1d-9e2f-0000000000aa
UUID_B=6a5f3c1e-0a0b-4c1d-9e2f-0000000000bb
umask 077

# A certificate per simulator "site", so a simulator can be restarted with
# other knobs behind the same pin (the gateway keeps its configuration).
mkcert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 1 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
}
# vcsim_start NAME ARGS...: start a simulator, wait (bounded) for its ready file.
vcsim_start() {
	local name=$1 d=$T/vc-$1 i; shift
	rm -rf "$d"
	mkdir -p "$d/ds"
	"$VCSIM" -ready "$d/ready.json" -dir "$d/ds" -max-seconds 170 "$@" >"$d/stdout" 2>"$d/vcsim.log" &
	SITE_PID[vc-$name]=$!
	for i in $(seq 1 300); do
		[ -s "$d/ready.json" ] && return 0
		kill -0 "${SITE_PID[vc-$name]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/vcsim.log" >&2
	return 1
}
vcsim_stop() { site_stop "vc-$1"; }
ready() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$T/vc-$1/ready.json"; }
# The host part is "localhost" (it resolves both ways here): the DNS rules pass.
vc_url() { echo "https://localhost:$1/sdk"; }
# vs_conf SITE PORT TPNAME [extra lines]: a vsphere site pinned to TPNAME's certificate
vs_conf() {
	local s=$1 port=$2 tp; shift 2
	tp=$(openssl x509 -in "$T/$1.pem" -noout -fingerprint -sha1 | sed 's/.*=//'); shift
	site_conf "$s" "domain vsphere" "vcenter_url $(vc_url "$port")" "vcenter_thumbprint $tp" \
	    "vcenter_credentials $T/$s.cred" "$@"
}
# pf SITE ARGS...: a pre-flight as JSON in $T/pf.json; RC its exit status
pf() { local s=$1; shift; ctl "$s" --json preflight "$@" >"$T/pf.json" 2>"$T/pf.err"; RC=$?; }
# has CODE VM: "yes" when the last pre-flight has that finding for VM ("" = site-level)
has() {
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
print("yes" if any(f["code"]==sys.argv[2] and (f["vm"] or "")==sys.argv[3] for f in r["findings"]) else "no")' \
	    "$T/pf.json" "$1" "$2"
}
# val CODE VM: "source | destination | message" of that finding
val() {
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
m=[f for f in r["findings"] if f["code"]==sys.argv[2] and (f["vm"] or "")==sys.argv[3]]
print("%s | %s | %s" % (m[0]["source"], m[0]["destination"], m[0]["message"]) if m else "none")' \
	    "$T/pf.json" "$1" "$2"
}
# sev CODE VM: the severity of that finding ("none" when absent)
sev() {
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
m=[f["severity"] for f in r["findings"] if f["code"]==sys.argv[2] and (f["vm"] or "")==sys.argv[3]]
print(",".join(m) if m else "none")' "$T/pf.json" "$1" "$2"
}
# num CODE: how many findings of that code the last pre-flight has
num() { python3 -c 'import json,sys; print(sum(f["code"]==sys.argv[2] for f in json.load(open(sys.argv[1]))["findings"]))' \
	"$T/pf.json" "$1"; }
verdict() { python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); v=[x["verdict"] for x in r["vms"] if x["name"]==sys.argv[2]]
print(v[0] if v else r["verdict"])' "$T/pf.json" "${1:-}"; }

mkcert a && mkcert b && mkcert c && mkcert other || { echo "Bail out! openssl req failed"; exit 1; }
PA=$(free_port) PB=$(free_port) PC=$(free_port)
printf '%s\n%s\n' "$USER_A" "$PASS_A" >"$T/a.cred"
printf '%s\n%s\n' "$USER_A" "$PASS_B" >"$T/b.cred"

# vCenter A (7.0.3): one ESXi host "localhost"; VMs A0..A6, each with one knob.
VC_A=(-listen "127.0.0.1:$PA" -cert "$T/a.pem" -key "$T/a.key" -instance-uuid "$UUID_A"
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_A" -clusters 1 -cluster-hosts 1 -standalone-hosts 0
	-host-name DC0_C0_H0=localhost -vms 7 -vm-prefix A -dvportgroup PG-A
	-encrypted-vm A1 -key-provider "HyTrust KMS" -vm-hw A2=vmx-20 -powered-off A3
	-vm-evc A4=intel-skylake -checker-error "A5=The source host cannot reach the destination"
	-vm-nic A6=PG-A)
# vCenter B (6.7.0, older): host "localhost" and a second one in maintenance,
# EVC haswell, no provisioning checker; VMs B0, B1.
VC_B1=(-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B"
	-vc-version 6.7.0 -vc-build 8170161 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_B" -clusters 1 -cluster-hosts 2 -standalone-hosts 0
	-host-name DC0_C0_H0=localhost -maintenance DC0_C0_H1 -cluster-evc intel-haswell
	-vms 2 -vm-prefix B -checker off)

ok "vCenter simulator A starts" vcsim_start a "${VC_A[@]}"
ok "vCenter simulator B starts" vcsim_start b "${VC_B1[@]}"
is "$(ready a thumbprint_sha1)" "$(openssl x509 -in "$T/a.pem" -noout -fingerprint -sha1 | sed 's/.*=//')" \
	"simulator A serves the certificate site a pins"
vs_conf a "$PA" a
vs_conf b "$PB" b
ok "site a (domain vsphere) starts" site_start a
ok "site b (domain vsphere) starts" site_start b
ok "a and b pair" pair a b

# ------------------------------------------------------------------ inventory
t0=$(date +%s%N)
ok "inventory of a" ctl a inventory
INV=$(cat "$T/last.out")
like "$INV" "^site a \(vsphere" "the site and its domain type"
like "$INV" "A4 +poweredOn +32.0 MiB" "a's VMs with their power state and memory"
like "$INV" "A3 +poweredOff" "the powered-off VM as such"
is "$(printf '%s\n' "$INV" | grep -cE '^  A[0-9] ')" 7 "all 7 VMs of vCenter A"
like "$INV" "localhost +7.0.3" "a's ESXi host with its version"
like "$INV" "LocalDS_0 +[0-9.]+ [KMGT]iB free of" "a's datastore with its free space"
like "$INV" "PG-A +distributed" "a's port group PG-A, distributed"
like "$INV" "VM Network +standard" "and the standard network"
ok "a's inventory as JSON" ctl a --json inventory
python3 - "$T/last.out" >"$T/inv-a.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
vm = {v["name"]: v for v in r["vms"]}
print("vc", r["vcenter"]["name"], r["vcenter"]["version"], r["vcenter"]["instance_uuid"])
print("A1 key", vm["A1"]["encryption"]["key_provider"])
print("A2 hw", vm["A2"]["hw_version"])
print("A4 evc", vm["A4"]["min_evc"])
print("A6 nic", vm["A6"]["nics"][0]["network"], vm["A6"]["nics"][0]["kind"])
print("A0 host", vm["A0"]["host"], vm["A0"]["disks"][0]["datastore"])
print("dns", [(d["name"], d["forward"], d["reverse"]) for d in r["dns"]])
EOF
is "$(sed -n 1p "$T/inv-a.txt")" "vc localhost 7.0.3 $UUID_A" "--json: the vCenter's name, version and instance UUID"
is "$(sed -n 2,6p "$T/inv-a.txt" | tr '\n' ';')" \
	"A1 key HyTrust KMS;A2 hw vmx-20;A4 evc intel-skylake;A6 nic PG-A distributed;A0 host localhost LocalDS_0;" \
	"--json: key provider, hardware version, EVC, NIC network, host and datastore names (not morefs)"
like "$(sed -n 7p "$T/inv-a.txt")" "\('localhost', \['127.0.0.1'.*\], \['localhost'\]\)" \
	"--json: a's gateway resolved its vCenter and host name forward and back"
unlike "$(cat "$T/last.out")" "vm-[0-9]+|host-[0-9]+|datastore-[0-9]+" "--json: no managed object ids leak as names"

ok "inventory of b, by b's gateway" ctl a inventory --site b
like "$(cat "$T/last.out")" "^site b \(vsphere" "b's site and type"
is "$(grep -cE '^  B[01] ' "$T/last.out")" 2 "b's VMs B0, B1"
ok "b's hosts" ctl a inventory hosts --site b
like "$(cat "$T/last.out")" "DC0_C0_H1" "b's hosts, the one in maintenance too"
ok "b's networks as JSON" ctl a --json inventory networks --site b
like "$(cat "$T/last.out")" '"name": "DC0_DVPG0"' "b's distributed port group"
unlike "$(cat "$T/last.out")" "PG-A" "not a's port group"
ok "b's datastores" ctl a inventory datastores --site b
like "$(cat "$T/last.out")" "LocalDS_0" "b's datastore"
ms=$((($(date +%s%N) - t0) / 1000000))
diag "inventory calls took $ms ms"
unlike "$(cat "$T"/a/ferryd.log "$T"/b/ferryd.log)" "$PASS_A|$PASS_B" "no password in either gateway's log"

# ---------------------------------------------------------------- clear: b to a
pf b B0 --to a --link-seconds 0
is "$RC" 0 "b to a: B0 pre-flight exits 0"
is "$(verdict B0)" clear "b to a: B0 is clear"
is "$(has FY-VC-003 "")$(has FY-VC-003 B0)" "noyes" "FY-VC-003: b's vCenter offers no checks (noted per VM)"
is "$(has FY-DNS-001 "")$(has FY-DNS-004 "")" "nono" "DNS: both vCenters and a's host resolve from both gateways"
is "$(has FY-SITE-001 "")" no "FY-SITE-001 negative: both sites are vsphere domains"
is "$(has FY-VER-002 "")" no "FY-VER-002 negative: the destination (7.0.3) is newer than the source (6.7.0)"
is "$(has FY-HOST-003 "")$(has FY-HOST-004 "")" nono "FY-HOST-003/004 negative: a's host is usable"
is "$(has FY-HOST-001 B0)$(has FY-HOST-002 "")" nono "FY-HOST-001/002 negative: b's and a's hosts are connected"
pf b B0 B1 --to a --link-seconds 0 --strict
is "$RC" 0 "b to a with --strict: still 0 (infos only)"

# --------------------------------------------------------- findings: a to b
ALL=(A0 A1 A2 A3 A4 A5 A6)
pf a "${ALL[@]}" --to b --link-seconds 0 --network-map PG-A=DC0_DVPG0
is "$RC" 2 "a to b, seven VMs: exits 2 (errors)"
is "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["vms"]))' "$T/pf.json")" 7 "a report for each of the 7 VMs"
like "$(val FY-VER-002 "")" "^7.0.3 \| 6.7.0" "FY-VER-002: the destination vCenter (6.7.0) is older than the source's (7.0.3)"
like "$(val FY-HOST-003 "")" "DC0_C0_H1" "FY-HOST-003: b's host in maintenance is named"
is "$(has FY-HOST-004 "")" no "FY-HOST-004 negative: b still has a usable host"
is "$(has FY-ENC-001 A1)/$(has FY-ENC-001 A0)" "yes/no" "FY-ENC-001 for the encrypted A1, not for A0"
like "$(val FY-ENC-001 A1)" "HyTrust KMS" "FY-ENC-001 names the key provider"
is "$(has FY-HW-001 A2)/$(has FY-HW-001 A0)" "yes/no" "FY-HW-001 for A2 (vmx-20 above ESXi 7.0.3's vmx-19), not for A0 (vmx-13)"
like "$(val FY-HW-001 A2)" "vmx-20" "FY-HW-001 gives the VM's hardware version"
is "$(has FY-PWR-002 A3)/$(has FY-PWR-002 A0)" "yes/no" "FY-PWR-002 (moves cold) for the powered-off A3 only"
is "$(has FY-PWR-001 A3)" no "FY-PWR-001 negative: powered off is a state that moves"
is "$(has FY-CPU-001 A4)/$(has FY-CPU-001 A0)" "yes/no" "FY-CPU-001 for A4 (needs skylake, b's cluster is haswell), not A0"
like "$(val FY-CPU-001 A4)" "intel-skylake \| intel-haswell" "FY-CPU-001 compares the two EVC modes"
is "$(has FY-VC-001 A5)/$(has FY-VC-001 A0)" "yes/no" "FY-VC-001: a's vCenter CheckRelocate error for A5 only"
like "$(val FY-VC-001 A5)" "The source host cannot reach the destination" "FY-VC-001 quotes vCenter's message"
is "$(has FY-VC-003 A0)" no "FY-VC-003 negative: a's vCenter offers its checks"
is "$(has FY-NET-001 A6)/$(has FY-NET-003 A6)" "no/no" "A6 on PG-A mapped to DC0_DVPG0 (distributed to distributed): no NET-001, no NET-003"
is "$(has FY-NET-002 A6)/$(has FY-NET-008 "")" "no/no" "FY-NET-002/008 negative: the map's target exists and its entry is used"
is "$(has FY-HOST-002 "")" no "FY-HOST-002 negative: b's hosts are connected (one in maintenance)"
is "$(has FY-DUP-001 A0)" no "FY-DUP-001 negative: no A0 at b"
is "$(has FY-DS-003 A0)" no "FY-DS-003 negative: b's datastore has room"
is "$(verdict A0)" warnings "A0 itself only carries the site-level warnings"

pf a A6 --to b --link-seconds 0
is "$RC" 2 "A6 without a map: exits 2"
like "$(val FY-NET-001 A6)" "^PG-A \| missing" "FY-NET-001 names PG-A, missing at b"
pf a A6 --to b --link-seconds 0 --network-map PG-A=Nope
like "$(val FY-NET-002 A6)" "PG-A -> Nope \| missing" "FY-NET-002: the map's target Nope is missing at b"
is "$(has FY-NET-001 A6)" no "and it is not reported as FY-NET-001"
pf a A6 --to b --link-seconds 0 --network-map "PG-A=VM Network"
is "$RC" 0 "A6 mapped to a standard network: warnings only, exit 0"
like "$(val FY-NET-003 A6)" "distributed.*\| .*standard" "FY-NET-003: distributed to standard switch flagged"
pf a A6 --to b --link-seconds 0 --network-map "PG-A=VM Network" --strict
is "$RC" 1 "the same with --strict exits 1"
pf a A0 --to b --link-seconds 1
like "$(val FY-LINK-002 A0)" "MiB memory.* \| [0-9.]+ [MG]bit/s" "with a link test: FY-LINK-002 estimates A0's transfer"
pf a A0 --to b --link-seconds 0
is "$(has FY-LINK-002 A0)/$(has FY-LINK-000 "")" "no/yes" "FY-LINK-002 negative: no link test, no estimate (FY-LINK-000 instead)"

OUT=$(ctl a preflight nosuch --to b --link-seconds 0 2>&1)
rc=$?
ok "a VM vCenter A does not have: refused with a status that is no verdict (got $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 1 -a "$rc" -ne 2
like "$OUT" 'VM "nosuch" not found in vCenter localhost' "naming the VM and the vCenter"

# ------------------------------------------- vCenter B restarted with other knobs
# Same certificate and port: site b's gateway keeps its pin and logs in again.
ok "simulator B stops" vcsim_stop b
ok "simulator B restarts: 7.0.3, tiny datastore, its only host disconnected, a VM named A0" vcsim_start b \
	-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B" \
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -user "$USER_A" -password "$PASS_B" \
	-clusters 1 -cluster-hosts 1 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -disconnected localhost \
	-ds-capacity 1G -ds-free 1M -vms 1 -vm-prefix A
pf a A0 A3 --to b --link-seconds 0
is "$RC" 2 "a to the new b: exits 2"
is "$(has FY-DUP-001 A0)/$(has FY-DUP-001 A3)" "yes/no" "FY-DUP-001: A0 exists at b, A3 does not"
like "$(val FY-DS-003 A0)" "\| .*LocalDS_0|LocalDS_0" "FY-DS-003: b's datastore (1 MiB free) is too small"
is "$(has FY-HOST-004 "")" yes "FY-HOST-004: b's only host is disconnected"
is "$(has FY-VER-002 "")" no "FY-VER-002 negative: b is now as new as a"
like "$(val FY-HOST-002 "")" "^ \| disconnected \| Destination host localhost is disconnected" "FY-HOST-002 names b's disconnected host"
is "$(sev FY-HOST-002 "")" warning "FY-HOST-002 is a warning"
is "$(has FY-DUP-002 A0)/$(has FY-DUP-003 A0)" "yes/yes" \
	"A0 at b has A0's path, so the simulator gives it the same instance and BIOS UUIDs: FY-DUP-002 and 003"
pf b A0 --to a --link-seconds 0
is "$RC" 2 "b to a, A0 on b's disconnected host: exits 2"
like "$(val FY-HOST-001 A0)" "^disconnected \| " "FY-HOST-001: A0's source host is disconnected"
is "$(sev FY-HOST-001 A0)" error "FY-HOST-001 is an error"
like "$(grep -c 'logged in\|login' "$T/b/ferryd.log")" "^[0-9]+$" "b's gateway went on after its vCenter restarted"

# ------------------------------------- more knobs: A and B restarted again
# Same certificates and ports: both gateways keep their pins.
UUID_X=6a5f3c1e-0a0b-4c1d-9e2f-00000000c0de
BIOS_X=4231a1b2-0a0b-4c1d-9e2f-00000000b105
MAC_X=00:50:56:aa:bb:01
ok "simulator A stops" vcsim_stop a
ok "simulator B stops" vcsim_stop b
# A: A0 plain, A1 suspended, A2 in a state vSphere's enum lacks, A3 with a
# checker warning, A4 needing an EVC mode Ferry does not know, A5 with B1's
# UUIDs, A6 with B1's MAC, A7 on a standard network "Dup".
VC_A2=(-listen "127.0.0.1:$PA" -cert "$T/a.pem" -key "$T/a.key" -instance-uuid "$UUID_A"
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_A" -clusters 1 -cluster-hosts 1 -standalone-hosts 0
	-host-name DC0_C0_H0=localhost -vms 8 -vm-prefix A -suspended A1 -vm-power-state A2=migrating
	-checker-warning "A3=The virtual machine's CPU features differ from the destination host's"
	-vm-evc A4=intel-futurelake -vm-uuid "A5=$UUID_X" -vm-bios-uuid "A5=$BIOS_X" -vm-mac "A6=$MAC_X"
	-portgroup Dup -vm-nic A7=Dup)
# B: the same versions, two datastores (B1 on LocalDS_1, whose free space
# vCenter B does not report), two networks named Dup (one standard, one
# distributed), B1 with A5's UUIDs and A6's MAC.
VC_B2=(-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B"
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_B" -clusters 1 -cluster-hosts 1 -standalone-hosts 0
	-host-name DC0_C0_H0=localhost -datastores 2 -ds-no-free LocalDS_1 -vms 2 -vm-prefix B
	-portgroup Dup -dvportgroup Dup2 -network-name Dup2=Dup
	-vm-uuid "B1=$UUID_X" -vm-bios-uuid "B1=$BIOS_X" -vm-mac "B1=$MAC_X")
ok "simulator A restarts: suspended, odd-state, checker-warning VMs" vcsim_start a "${VC_A2[@]}"
ok "simulator B restarts: two datastores, two networks named Dup" vcsim_start b "${VC_B2[@]}"

pf a A0 --to b --link-seconds 0 --strict
is "$RC" 0 "A0, plain, to b with --strict: exits 0"
is "$(verdict A0)" clear "A0 is clear"
is "$(has FY-VC-002 A0)$(has FY-PWR-003 A0)$(has FY-PWR-001 A0)$(has FY-CPU-002 A0)" nononono \
	"FY-VC-002, PWR-003, PWR-001, CPU-002 negative: none for A0"
is "$(has FY-DUP-002 A0)$(has FY-DUP-003 A0)$(has FY-DUP-004 A0)" nonono "FY-DUP-002/003/004 negative: A0's UUIDs and name are its own"
is "$(has FY-NET-004 A0)$(has FY-NET-006 A0)$(has FY-NET-007 A0)" nonono \
	"FY-NET-004/006/007 negative: A0's network has one namesake, MACs are kept by default and A0's is free"
is "$(has FY-DS-001 A0)$(has FY-DS-002 A0)$(has FY-DS-004 "")$(has FY-DS-005 A0)" nononono \
	"FY-DS-001/002/004/005 negative: A0's datastore is at b (its free space reported), no map"

# FY-VC-002: the checker's warning, quoted; a warning: 0, 1 with --strict.
pf a A3 --to b --link-seconds 0
is "$RC" 0 "A3 with a checker warning: exits 0"
is "$(sev FY-VC-002 A3)" warning "FY-VC-002 is a warning, not an error"
is "$(has FY-VC-001 A3)" no "and no FY-VC-001"
like "$(val FY-VC-002 A3)" "The virtual machine's CPU features differ from the destination host's$" \
	"FY-VC-002 quotes vCenter's message"
is "$(verdict A3)" warnings "A3's verdict: warnings"
pf a A3 --to b --link-seconds 0 --strict
is "$RC" 1 "A3 with --strict: exits 1"

# FY-PWR-003: suspended.
pf a A1 --to b --link-seconds 0
is "$RC" 0 "A1, suspended: exits 0 (a warning)"
is "$(sev FY-PWR-003 A1)" warning "FY-PWR-003 is a warning"
like "$(val FY-PWR-003 A1)" "^suspended \\| .*A1 is suspended; it arrives suspended" "FY-PWR-003 gives the power state and names A1"
is "$(has FY-PWR-001 A1)$(has FY-PWR-002 A1)" nono "a suspended VM is neither FY-PWR-001 nor 002"
pf a A1 --to b --link-seconds 0 --strict
is "$RC" 1 "A1 with --strict: exits 1"

# FY-PWR-001: a power state outside vSphere's enum.
pf a A2 --to b --link-seconds 0
is "$RC" 2 "A2 in power state \"migrating\": exits 2"
is "$(sev FY-PWR-001 A2)" error "FY-PWR-001 is an error"
like "$(val FY-PWR-001 A2)" "^migrating \\| .*A2 is migrating, a state from which it cannot be moved" \
	"FY-PWR-001 gives the state as reported"

# FY-CPU-002: an EVC mode Ferry does not know.
pf a A4 --to b --link-seconds 0
is "$(sev FY-CPU-002 A4)" warning "A4 (intel-futurelake): FY-CPU-002, a warning"
like "$(val FY-CPU-002 A4)" "^intel-futurelake \\| .*intel-futurelake, which Ferry does not know" "FY-CPU-002 names the mode"
is "$(has FY-CPU-001 A4)" no "and not FY-CPU-001"

# FY-DUP-002/003: A5 has B1's instance and BIOS UUIDs (another name).
pf a A5 --to b --link-seconds 0
is "$RC" 2 "A5 with B1's instance UUID: exits 2"
is "$(sev FY-DUP-002 A5)/$(sev FY-DUP-003 A5)" "error/warning" "FY-DUP-002 an error, FY-DUP-003 a warning"
like "$(val FY-DUP-002 A5)" "^$UUID_X \\| $UUID_X \\|" "FY-DUP-002 compares the instance UUIDs"
like "$(val FY-DUP-003 A5)" "^$BIOS_X \\| $BIOS_X \\|" "FY-DUP-003 compares the BIOS UUIDs"
is "$(has FY-DUP-001 A5)" no "A5's name is free at b: no FY-DUP-001"

# FY-DUP-004: one VM twice in a pre-flight.
pf a A0 A0 --to b --link-seconds 0
is "$RC" 2 "A0 twice in one pre-flight: exits 2"
is "$(num FY-DUP-004)" 1 "one FY-DUP-004"
is "$(sev FY-DUP-004 A0)" error "FY-DUP-004 is an error naming A0"

# FY-NET-006/007: A6 has B1's MAC.
pf a A6 --to b --link-seconds 0 --mac keep
is "$RC" 2 "A6 keeping its MAC, which B1 has: exits 2"
like "$(val FY-NET-006 A6)" "^$MAC_X \\| B1 \\|" "FY-NET-006 names the MAC and the VM that has it"
is "$(sev FY-NET-006 A6)" error "FY-NET-006 is an error"
pf a A6 --to b --link-seconds 0 --mac generate --strict
is "$RC" 0 "A6 with --mac generate: exits 0 even with --strict"
is "$(has FY-NET-006 A6)/$(sev FY-NET-007 A6)" "no/info" "no FY-NET-006; FY-NET-007, an info"
like "$(val FY-NET-007 A6)" "^keep \\| generate \\|" "FY-NET-007 compares the policies"

# FY-NET-004: two networks named Dup at b.
pf a A7 --to b --link-seconds 0
is "$RC" 0 "A7 on Dup: exits 0 (a warning)"
is "$(sev FY-NET-004 A7)" warning "FY-NET-004 is a warning"
like "$(val FY-NET-004 A7)" "^Dup \\| .*2" "FY-NET-004 names Dup and the two destination networks"

# FY-NET-008, FY-DS-002, FY-DS-004: maps.
pf a A0 --to b --link-seconds 0 --network-map Nope=DC0_DVPG0 --datastore-map Nope=LocalDS_0
is "$(sev FY-NET-008 "")/$(sev FY-DS-004 "")" "info/info" "map entries matching nothing: FY-NET-008 and FY-DS-004, infos"
like "$(val FY-NET-008 "")" "Nope=DC0_DVPG0" "FY-NET-008 names the network map entry"
like "$(val FY-DS-004 "")" "Nope=LocalDS_0" "FY-DS-004 names the datastore map entry"
pf a A0 --to b --link-seconds 0 --datastore-map LocalDS_0=Nope
is "$RC" 2 "A0's datastore mapped to Nope: exits 2"
like "$(val FY-DS-002 A0)" "LocalDS_0 -> Nope \\| missing" "FY-DS-002: the map's target Nope is missing at b"
is "$(has FY-DS-001 A0)" no "and it is not reported as FY-DS-001"
# FY-DS-005: b's LocalDS_1 has no free-space figure (-ds-no-free).
pf a A0 --to b --link-seconds 0 --datastore-map LocalDS_0=LocalDS_1
is "$(has FY-DS-002 A0)$(has FY-DS-004 "")" nono "A0 mapped to b's LocalDS_1: no FY-DS-002, no FY-DS-004"
is "$RC/$(sev FY-DS-005 A0)" "2/error" "FY-DS-005: b could not measure LocalDS_1, an error: exits 2"
is "$(val FY-DS-005 A0)" \
	"LocalDS_0 | vCenter reported no free space | The destination could not measure datastore LocalDS_1: vCenter reported no free space." \
	"FY-DS-005 names the source datastore, the one it maps to, and why"
is "$(has FY-DS-003 A0)$(has FY-DS-000 A0)" nono "and neither FY-DS-003 (room) nor FY-DS-000 (not reported)"
OUT=$(ctl a preflight A0 --to b --link-seconds 0 --datastore-map LocalDS_0=LocalDS_1 2>&1)
like "$OUT" "ERROR +FY-DS-005 .*LocalDS_1" "text: the finding is shown as an error naming LocalDS_1"
like "$(ctl a inventory datastores --site b 2>&1)" "LocalDS_1 .* free of .*\\(vCenter reported no free space\\)" \
	"inventory of b: LocalDS_1 shows why its free space is unknown"

# FY-DS-001: b to a, B1 is on LocalDS_1, which a has not.
pf b B0 B1 --to a --link-seconds 0
like "$(val FY-DS-001 B1)" "^LocalDS_1 \\| missing" "FY-DS-001 for B1: LocalDS_1 missing at a"
is "$(sev FY-DS-001 B1)/$(has FY-DS-001 B0)" "error/no" "an error, and none for B0 (LocalDS_0)"

# ----------------------- B with two hosts of different ESXi and EVC modes
# Its second host is named DC0_C0_H1, which does not resolve here: its DNS
# errors are beside the point of these cases (preflight-dns.sh has DNS).
ok "simulator B stops" vcsim_stop b
ok "simulator B restarts: localhost 7.0.3 (skylake), DC0_C0_H1 6.7.0 GA (haswell)" vcsim_start b \
	-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B" \
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900 -user "$USER_A" -password "$PASS_B" \
	-clusters 1 -cluster-hosts 2 -standalone-hosts 0 -host-name DC0_C0_H0=localhost \
	-host-esx DC0_C0_H1=6.7.0:8169922 -host-evc localhost=intel-skylake -host-evc DC0_C0_H1=intel-haswell \
	-vms 1 -vm-prefix B
ok "simulator A stops" vcsim_stop a
ok "simulator A restarts: A0 vmx-13 no EVC, A1 vmx-15, A2 needs skylake, A3 haswell" vcsim_start a \
	-listen "127.0.0.1:$PA" -cert "$T/a.pem" -key "$T/a.key" -instance-uuid "$UUID_A" \
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900 -user "$USER_A" -password "$PASS_A" \
	-clusters 1 -cluster-hosts 1 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -vms 4 -vm-prefix A \
	-vm-hw A1=vmx-15 -vm-evc A2=intel-skylake -vm-evc A3=intel-haswell
pf a A0 A1 A2 A3 --to b --link-seconds 0
is "$(sev FY-VER-004 A0)" warning "FY-VER-004: a warning for A0 (ESXi 7.0.3, one of b's hosts runs 6.7.0)"
like "$(val FY-VER-004 A0)" "^7.0.3 \\| 1 of 2 hosts older \\(oldest 6.7.0\\)" "FY-VER-004 gives both versions and the count"
is "$(sev FY-HW-002 A1)/$(has FY-HW-002 A0)" "warning/no" "FY-HW-002 for A1 (vmx-15; 6.7.0 GA runs vmx-14), a warning; not for A0 (vmx-13)"
like "$(val FY-HW-002 A1)" "^vmx-15 \\| 1 of 2 hosts cannot" "FY-HW-002 gives the version and the count"
is "$(has FY-HW-001 A1)" no "and not FY-HW-001: localhost runs vmx-15"
is "$(sev FY-CPU-004 A2)/$(has FY-CPU-004 A3)" "warning/no" "FY-CPU-004 for A2 (skylake; DC0_C0_H1 offers haswell), not A3 (haswell)"
like "$(val FY-CPU-004 A2)" "^intel-skylake \\| 1 of 2 hosts cannot" "FY-CPU-004 gives the mode and the count"
is "$(has FY-CPU-001 A2)$(has FY-CPU-002 A2)" nono "and neither FY-CPU-001 nor 002"
is "$(has FY-HW-003 A0)$(has FY-VER-001 "")$(has FY-VER-003 "")" nonono "FY-HW-003, VER-001, VER-003 negative: versions Ferry knows"

# ------------------------------- vCenter B at 9.0.0 (unknown), then 5.5.0
ok "simulator B stops" vcsim_stop b
ok "simulator B restarts: vCenter and ESXi 9.0.0, outside Ferry's matrix" vcsim_start b \
	-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B" \
	-vc-version 9.0.0 -vc-build 24000000 -esx-version 9.0.0 -esx-build 24000001 -user "$USER_A" -password "$PASS_B" \
	-clusters 1 -cluster-hosts 1 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -vms 1 -vm-prefix B
pf a A0 --to b --link-seconds 0
is "$RC" 0 "a to b 9.0.0: exits 0 (warnings)"
is "$(sev FY-VER-003 "")" warning "FY-VER-003: a warning"
like "$(val FY-VER-003 "")" "^7.0.3 \\| 9.0.0" "FY-VER-003 gives both vCenter versions"
is "$(sev FY-HW-003 A0)" warning "FY-HW-003: b's only host (ESXi 9.0.0) runs unknown hardware versions, a warning"
like "$(val FY-HW-003 A0)" "^vmx-13 \\| 1 host unknown" "FY-HW-003 gives the version and how many hosts are unknown (1 host, singular)"
is "$(has FY-VER-001 "")$(has FY-VER-002 "")" nono "neither FY-VER-001 nor 002"
ok "simulator B stops" vcsim_stop b
ok "simulator B restarts: vCenter 5.5.0" vcsim_start b \
	-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B" \
	-vc-version 5.5.0 -vc-build 1312298 -esx-version 7.0.3 -esx-build 19193900 -user "$USER_A" -password "$PASS_B" \
	-clusters 1 -cluster-hosts 1 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -vms 1 -vm-prefix B
pf a A0 --to b --link-seconds 0
is "$RC" 2 "a to b 5.5.0: exits 2"
is "$(sev FY-VER-001 "")" error "FY-VER-001: an error"
like "$(val FY-VER-001 "")" "^7.0.3 \\| 5.5.0" "FY-VER-001 gives both vCenter versions"
is "$(has FY-VER-003 "")$(has FY-VER-002 "")" nono "and neither FY-VER-003 nor 002"

# --------------------------------- VLANs (FY-NET-005) and the target host
# A: Std10 (standard, VLAN 10), PG-A (distributed, VLAN 20), TrunkA (a trunk).
# B: two hosts, DC0_C0_H1 in maintenance; Std10 on VLAN 30; PG-A on 20;
# Mapped on 21; Trunk a trunk; Priv a private VLAN; TrunkA on 7; Agree on 10
# on both hosts; Mixed on 10 at localhost, 11 at DC0_C0_H1; AllV (standard)
# on 4095, all VLANs: a trunk.
ok "simulator A stops" vcsim_stop a
ok "simulator B stops" vcsim_stop b
ok "simulator A restarts: port groups on VLANs 10 and 20 and a trunk" vcsim_start a \
	-listen "127.0.0.1:$PA" -cert "$T/a.pem" -key "$T/a.key" -instance-uuid "$UUID_A" \
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900 -user "$USER_A" -password "$PASS_A" \
	-clusters 1 -cluster-hosts 1 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -vms 3 -vm-prefix A \
	-portgroup Std10 -portgroup-vlan Std10=10 -dvportgroup PG-A -portgroup-vlan PG-A=20 \
	-dvportgroup TrunkA -portgroup-vlan TrunkA=trunk -vm-nic A0=Std10 -vm-nic A1=PG-A -vm-nic A2=TrunkA
ok "simulator B restarts: two hosts, one in maintenance; port groups on other VLANs" vcsim_start b \
	-listen "127.0.0.1:$PB" -cert "$T/b.pem" -key "$T/b.key" -instance-uuid "$UUID_B" \
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900 -user "$USER_A" -password "$PASS_B" \
	-clusters 1 -cluster-hosts 2 -standalone-hosts 0 -host-name DC0_C0_H0=localhost -maintenance DC0_C0_H1 \
	-vms 1 -vm-prefix B -portgroup Std10 -portgroup-vlan Std10=30 -dvportgroup PG-A -portgroup-vlan PG-A=20 \
	-dvportgroup Mapped -portgroup-vlan Mapped=21 -dvportgroup Trunk -portgroup-vlan Trunk=trunk \
	-dvportgroup Priv -portgroup-vlan Priv=pvlan:5 -dvportgroup TrunkA -portgroup-vlan TrunkA=7 \
	-portgroup Agree -portgroup-vlan Agree=10 -portgroup Mixed -portgroup-vlan Mixed=10 \
	-host-portgroup-vlan DC0_C0_H1:Mixed=11 -portgroup AllV -portgroup-vlan AllV=4095

ok "b's networks as JSON" ctl a --json inventory networks --site b
python3 - "$T/last.out" >"$T/vlans.txt" <<'EOF2'
import json, sys
for n in sorted(json.load(open(sys.argv[1])), key=lambda n: n["name"]):
    print(n["name"], n["kind"], n.get("vlan", "-"), n.get("vlan_kind", "-"))
EOF2
is "$(grep -E '^(Std10|PG-A|Mapped|Agree|VM Network|DC0_DVPG0) ' "$T/vlans.txt" | tr '\n' ';')" \
	"Agree standard 10 vlan;DC0_DVPG0 distributed 0 vlan;Mapped distributed 21 vlan;PG-A distributed 20 vlan;Std10 standard 30 vlan;VM Network standard 0 vlan;" \
	"--json: each port group's VLAN (standard: all hosts agree; distributed: its default port setting)"
is "$(grep -E '^Mixed ' "$T/vlans.txt")" "Mixed standard - per-host" \
	"--json: a standard port group whose hosts disagree has no vlan (vlan_kind per-host)"
is "$(grep -E '^(Trunk|Priv) ' "$T/vlans.txt" | tr '\n' ';')" "Priv distributed - pvlan;Trunk distributed - trunk;" \
	"--json: a trunk and a private VLAN have no vlan, only their kind"
like "$(grep -E '^DVS0-DVUplinks' "$T/vlans.txt")" "distributed - trunk$" "--json: the uplink port group is a trunk"
is "$(grep -E '^AllV ' "$T/vlans.txt")" "AllV standard - trunk" \
	"--json: a standard port group on VLAN 4095 (all VLANs) is a trunk, without a vlan"
ok "b's networks as text" ctl a inventory networks --site b
like "$(cat "$T/last.out")" "Std10 +standard +VLAN 30" "text: a standard port group's VLAN"
like "$(cat "$T/last.out")" "PG-A +distributed +VLAN 20" "text: a distributed port group's VLAN"
like "$(cat "$T/last.out")" "Mixed +standard +VLAN differs by host" "text: hosts that disagree are said to"
like "$(cat "$T/last.out")" "Trunk +distributed +VLAN trunk" "text: a trunk"
like "$(cat "$T/last.out")" "Priv +distributed +private VLAN" "text: a private VLAN"
like "$(cat "$T/last.out")" "AllV +standard +VLAN trunk" "text: a standard port group on 4095 is a trunk"

pf a A0 --to b --link-seconds 0
is "$(sev FY-NET-005 A0)" warning "FY-NET-005: Std10 is VLAN 10 at a and 30 at b (same name), a warning"
like "$(val FY-NET-005 A0)" "^Std10 \\(VLAN 10\\) \\| Std10 \\(VLAN 30\\) \\| .*moves from VLAN 10 to VLAN 30" \
	"FY-NET-005 gives each end as NAME (VLAN n)"
is "$(has FY-NET-003 A0)" no "and no FY-NET-003: standard at both ends"
pf a A1 --to b --link-seconds 0
is "$(has FY-NET-005 A1)" no "FY-NET-005 negative: PG-A is VLAN 20 at both ends"
pf a A1 --to b --link-seconds 0 --network-map PG-A=Mapped
like "$(val FY-NET-005 A1)" "^PG-A \\(VLAN 20\\) \\| Mapped \\(VLAN 21\\)" "FY-NET-005 through the map: PG-A (VLAN 20) to Mapped (VLAN 21)"
pf a A0 --to b --link-seconds 0 --network-map Std10=Agree
is "$(has FY-NET-005 A0)" no "FY-NET-005 negative: mapped to Agree, VLAN 10 on both of b's hosts"
pf a A0 --to b --link-seconds 0 --network-map Std10=Mixed
is "$(has FY-NET-005 A0)" no "FY-NET-005 negative: b's hosts disagree on Mixed's VLAN (unknown)"
pf a A1 --to b --link-seconds 0 --network-map PG-A=Trunk
like "$(val FY-NET-005 A1)" "^PG-A \\(VLAN 20\\) \\| Trunk \\(VLAN trunk\\) \\| .*moves from VLAN 20 to VLAN trunk" \
	"FY-NET-005: from one VLAN to a trunk (all VLANs, the guest tags)"
pf a A2 --to b --link-seconds 0
like "$(val FY-NET-005 A2)" "^TrunkA \\(VLAN trunk\\) \\| TrunkA \\(VLAN 7\\)" \
	"FY-NET-005: the source TrunkA is a trunk, b's is VLAN 7"
is "$(has FY-NET-001 A2)" no "and no FY-NET-001: b has TrunkA"
pf a A2 --to b --link-seconds 0 --network-map TrunkA=Trunk
is "$(has FY-NET-005 A2)" no "FY-NET-005 negative: a trunk to a trunk"
pf a A2 --to b --link-seconds 0 --network-map TrunkA=AllV
is "$(has FY-NET-005 A2)$(has FY-NET-003 A2)" noyes \
	"FY-NET-005 negative: a distributed trunk to a standard port group on 4095 (FY-NET-003 for the switch)"
pf a A0 --to b --link-seconds 0 --network-map Std10=AllV
like "$(val FY-NET-005 A0)" "^Std10 \\(VLAN 10\\) \\| AllV \\(VLAN trunk\\)" \
	"FY-NET-005: VLAN 10 to a standard port group on 4095, a trunk"

# The target: --host and --cluster (FY-HOST-005, FY-HOST-004).
pf a A1 --to b --link-seconds 0
is "$(has FY-HOST-003 "")$(has FY-HOST-004 "")$(has FY-HOST-005 "")" yesnono \
	"no target: DC0_C0_H1 in maintenance is a warning (HOST-003); localhost takes the VMs"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["destination"]; print(d["host"], d["cluster"])' \
	"$T/pf.json")" "None None" "--json: no target named, destination host and cluster null"
pf a A1 --to b --link-seconds 0 --host nosuch
is "$RC" 2 "--host nosuch: exits 2"
is "$(sev FY-HOST-005 "")" error "FY-HOST-005: an error"
like "$(val FY-HOST-005 "")" "^nosuch \\|  \\| The target host nosuch does not exist at the destination" \
	"FY-HOST-005 names the host"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["destination"]; print(d["site"], d["host"], d["cluster"])' \
	"$T/pf.json")" "b nosuch None" "--json: the report carries the target host"
pf a A1 --to b --link-seconds 0 --cluster Nope
is "$RC" 2 "--cluster Nope: exits 2"
like "$(val FY-HOST-005 "")" "^Nope \\|  \\| The target cluster Nope does not exist at the destination" \
	"FY-HOST-005 names the cluster"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["destination"]; print(d["host"], d["cluster"])' \
	"$T/pf.json")" "None Nope" "--json: the report carries the target cluster"
pf a A1 --to b --link-seconds 0 --host localhost
is "$RC" 0 "--host localhost: exits 0"
is "$(has FY-HOST-005 "")$(has FY-HOST-004 "")$(has FY-HOST-003 "")" nonono \
	"FY-HOST-005/004 negative: localhost exists and is usable; the host in maintenance is outside the target"
pf a A1 --to b --link-seconds 0 --cluster DC0_C0
is "$(has FY-HOST-005 "")$(has FY-HOST-004 "")" nono "FY-HOST-005/004 negative: cluster DC0_C0 exists, localhost in it is usable"
pf a A1 --to b --link-seconds 0 --host DC0_C0_H1
is "$RC" 2 "--host DC0_C0_H1 (in maintenance): exits 2"
like "$(val FY-HOST-004 "")" "^ \\| none usable \\| No destination host of the target can receive VMs" \
	"FY-HOST-004: none usable of the target"
like "$(val FY-HOST-003 "")" "DC0_C0_H1" "and FY-HOST-003 names it"
is "$(has FY-HOST-005 "")" no "it exists: no FY-HOST-005"
OUT=$(ctl a preflight A1 --to b --link-seconds 0 --host localhost --cluster DC0_C0 2>&1)
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "Target: host localhost in cluster DC0_C0" "text: the report's second line gives the target"

# Names are bounded: 255 bytes at most; bad ones are usage errors naming the option.
long=$(printf 'h%.0s' $(seq 1 256))
pf a A1 --to b --link-seconds 0 --host "$long"
is "$RC" 64 "--host of 256 bytes: a usage error (64)"
like "$(cat "$T/pf.err")" "--host: give a host name of 1 to 255 bytes \\(256 given\\)" "naming the option and the bound"
pf a A1 --to b --link-seconds 0 --cluster "$long"
is "$RC" 64 "--cluster of 256 bytes: a usage error (64)"
like "$(cat "$T/pf.err")" "--cluster: give a cluster name of 1 to 255 bytes" "naming the option"
pf a A1 --to b --link-seconds 0 --host "${long:1}"
is "$RC/$(has FY-HOST-005 "")" "2/yes" "--host of 255 bytes is taken (and does not exist: FY-HOST-005)"
pf a A1 --to b --link-seconds 0 --host ""
is "$RC" 64 "--host \"\": a usage error"
like "$(cat "$T/pf.err")" "--host: give a host name of 1 to 255 bytes \\(0 given\\)" "naming the option"
pf a A1 --to b --link-seconds 0 --host localhost --host DC0_C0_H1
is "$RC" 64 "--host twice: a usage error"
like "$(cat "$T/pf.err")" "--host given twice" "saying so"
pf a A1 --to b --link-seconds 0 --cluster "$(printf 'C\tX')"
is "$RC" 64 "--cluster with a control character: a usage error"
like "$(cat "$T/pf.err")" "--cluster: a control character" "naming the option"
pf a A1 --to b --link-seconds 0 --host
is "$RC" 64 "--host without a name: a usage error"

# -------------------------------------------------------------------- failures
# Site c: a gateway pinned to certificate c, 3 s per vCenter call.
printf '%s\n%s\n' "$USER_A" "wrong-password-1" >"$T/c.cred"
vs_conf c "$PC" c "vcenter_timeout 3s"
ok "simulator C starts (credentials enforced)" vcsim_start c -listen "127.0.0.1:$PC" -cert "$T/c.pem" \
	-key "$T/c.key" -user "$USER_A" -password "$PASS_A" -vms 2 -vm-prefix C
ok "site c starts" site_start c
fails "wrong password: inventory fails" ctl c inventory
like "$(cat "$T/last.out")" "InvalidLogin" "the error names InvalidLogin"
like "$(cat "$T/last.out")" "$USER_A" "and the user"
unlike "$(cat "$T/last.out" "$T/c/ferryd.log")" "wrong-password-1" "the password is neither in the error nor in the log"
ok "c's gateway still serves" ctl c status
printf '%s\n%s\n' "$USER_A" "$PASS_A" >"$T/c.cred"
ok "the right password, read again at the next login: inventory works" ctl c inventory vms
like "$(cat "$T/last.out")" "C1 +poweredOn" "lists vCenter C's VMs"

ok "simulator C stops" vcsim_stop c
ok "simulator C' starts on the same port with another certificate" vcsim_start c -listen "127.0.0.1:$PC" \
	-cert "$T/other.pem" -key "$T/other.key" -vms 1
fails "a certificate that is not the pinned one: inventory fails" ctl c inventory
like "$(cat "$T/last.out")" "$(ready c thumbprint_sha1).*$(openssl x509 -in "$T/c.pem" -noout -fingerprint -sha1 | sed 's/.*=//')" \
	"the error names the presented and the pinned thumbprints"
vcsim_stop c

ok "simulator C stalls its RetrievePropertiesEx replies" vcsim_start c -listen "127.0.0.1:$PC" -cert "$T/c.pem" \
	-key "$T/c.key" -vms 2 -stall-after 1 -stall-method RetrievePropertiesEx -stall-mode hang
t0=$(date +%s%N)
fails "a stalled vCenter: inventory fails" ctl c inventory
ms=$((($(date +%s%N) - t0) / 1000000))
like "$(cat "$T/last.out")" "within 3 s" "with a timeout error naming the bound (vcenter_timeout 3s)"
ok "within the bound: ${ms} ms (3 s per call, one call stalled)" test "$ms" -lt 8000
vcsim_stop c

ok "simulator C answers RetrievePropertiesEx with malformed XML" vcsim_start c -listen "127.0.0.1:$PC" \
	-cert "$T/c.pem" -key "$T/c.key" -vms 2 -malformed RetrievePropertiesEx
fails "a malformed reply: inventory fails" ctl c inventory
like "$(cat "$T/last.out")" "malformed reply to RetrievePropertiesEx" "the error says the reply was malformed"
vcsim_stop c
fails "vCenter gone: inventory fails" ctl c inventory
like "$(cat "$T/last.out")" "cannot connect to vCenter localhost:$PC" "the error says vCenter cannot be reached"
fails "a pre-flight from a to c with c's vCenter gone fails" ctl a preflight A0 --to c --link-seconds 0
ok "c's gateway still serves" ctl c status

# FY-DNS-004: c's vCenter named by its IPv6 address.  A destination gateway
# looks up only those of the source's names that are host names (letters,
# digits, '.', '-'): it reports no lookup of "::1", and the rule says so.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	ok "simulator C starts on [::1]" vcsim_start c -listen "[::1]:$PC" -cert "$T/c.pem" -key "$T/c.key" \
		-user "$USER_A" -password "$PASS_A" -clusters 1 -cluster-hosts 1 -standalone-hosts 0 \
		-host-name DC0_C0_H0=localhost -vms 1 -vm-prefix C
	site_stop c
	sed -i "s|^vcenter_url .*|vcenter_url https://[::1]:$PC/sdk|" "$T/c/ferryd.conf"
	ok "site c restarts with vcenter_url https://[::1]:$PC/sdk" site_start c
	ok "a and c pair" pair a c
	pf c C0 --to a --link-seconds 0
	is "$(sev FY-DNS-004 "")" warning "c to a: FY-DNS-004, a warning"
	is "$(val FY-DNS-004 "")" "::1 | not looked up | The destination gateway did not report a lookup of ::1 (the source vCenter)." \
		"FY-DNS-004 names the name the destination gateway did not look up, and its role"
	is "$(num FY-DNS-004)" 1 "only that one (a looked up c's host and its own vCenter)"
	pf a A0 --to c --link-seconds 0
	is "$(has FY-DNS-004 "")" no "a to c: no FY-DNS-004 (a, now the source, looks up ::1 itself)"
	vcsim_stop c
else
	for d in "simulator C on [::1]" "FY-DNS-004 for an IPv6 vCenter address"; do
		_n=$((_n + 1)); echo "ok $_n # skip no IPv6 loopback: $d"
	done
fi

# Refusals: this domain does not define or move VMs (yet).
printf '{"name":"x","vcpus":1,"memory_mib":64}\n' >"$T/x.json"
fails "vm define on a vsphere site is refused" ctl a vm define "$T/x.json"
like "$(cat "$T/last.out")" "does not define.*use vCenter" "saying vCenter does that"
fails "migrate from a vsphere site is refused" ctl a migrate A0 --to b
like "$(cat "$T/last.out")" "not implemented|vsphere" "saying why"

check_sanitizers
done_testing
