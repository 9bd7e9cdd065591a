#!/bin/bash
# preflight-mixed.sh - ferryctl preflight between two sites of different
# kinds: site q runs the built-in qemu domain, site v fronts a vCenter
# simulator (tests/vcsim).  From either side the pre-flight is blocked by
# FY-SITE-001, which names both kinds, in the text and in --json.  The
# other rules add no finding that compares a qemu fact with a vSphere one;
# the qemu gateway, which looks no names up, gets FY-DNS-004.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
[ -x "$QEMU" ] || skip_all "$QEMU not installed"
MKGUEST=$top_builddir/tests/guest/mkguest
TEMPLATE=$top_builddir/tests/guest/guest.bin
[ -x "$MKGUEST" ] && [ -s "$TEMPLATE" ] || skip_all "the test guest is not built"
VCSIM=$top_builddir/tests/vcsim/vcsim
[ -x "$VCSIM" ] || skip_all "vcsim not built (needs golang-go and golang-github-vmware-govmomi-dev)"
command -v python3 >/dev/null || skip_all "python3 missing"
command -v openssl >/dev/null || skip_all "openssl missing"
umask 077

# ------------------------------------------------------------ the two sites
"$MKGUEST" -o "$T/calm.img" --mem 64M --start 1M --end 20M --spin 20000 --hb-pages 64 "$TEMPLATE" || exit 1
mkdir -p "$T/ds-q"
site_conf q "qemu_datastores ds-q=$T/ds-q" "qemu_networks net-q"

USER_V=administrator@vsphere.local
PASS_V='mixed-Secret-9'
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/v.key" -out "$T/v.pem" -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 || { echo "Bail out! openssl req failed"; exit 1; }
PV=$(free_port)
mkdir -p "$T/vc-v/ds"
"$VCSIM" -ready "$T/vc-v/ready.json" -dir "$T/vc-v/ds" -max-seconds 170 -listen "127.0.0.1:$PV" \
    -cert "$T/v.pem" -key "$T/v.key" -vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900 \
    -user "$USER_V" -password "$PASS_V" -clusters 1 -cluster-hosts 1 -standalone-hosts 0 \
    -host-name DC0_C0_H0=localhost -vms 1 -vm-prefix V >"$T/vc-v/stdout" 2>"$T/vc-v/vcsim.log" &
SITE_PID[vc-v]=$!
vc_ready() {
	local i
	for i in $(seq 1 300); do
		[ -s "$T/vc-v/ready.json" ] && return 0
		kill -0 "${SITE_PID[vc-v]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/vc-v/vcsim.log"
	return 1
}
ok "the vCenter simulator starts" vc_ready
printf '%s\n%s\n' "$USER_V" "$PASS_V" >"$T/v.cred"
site_conf v "domain vsphere" "vcenter_url https://localhost:$PV/sdk" \
    "vcenter_thumbprint $(openssl x509 -in "$T/v.pem" -noout -fingerprint -sha1 | sed 's/.*=//')" \
    "vcenter_credentials $T/v.cred"

ok "site q (qemu) starts" site_start q
ok "site v (vsphere) starts" site_start v
ok "q and v pair" pair q v
cat >"$T/Q0.json" <<EOF
{ "name": "Q0", "vcpus": 1, "memory_mib": 64, "boot": "$T/calm.img",
  "nics": [ { "network": "net-q" } ],
  "disks": [ { "datastore": "ds-q", "file": "Q0.qcow2", "format": "qcow2", "size": "64M" } ] }
EOF
ok "Q0 defined and started at q" eval 'ctl q vm define "$T/Q0.json" && ctl q vm start Q0'

# pf SITE ARGS...: a pre-flight as JSON in $T/pf.json; RC its exit status
pf() { local s=$1; shift; ctl "$s" --json preflight "$@" >"$T/pf.json" 2>"$T/pf.err"; RC=$?; }
# jget EXPR: EXPR evaluated with r, the last JSON report
jget() { python3 -c 'import json,sys; print(eval(sys.argv[2], {"r": json.load(open(sys.argv[1]))}))' "$T/pf.json" "$1"; }
# findings: the last report's findings, one a line, "CODE severity vm subject | source | destination"
findings() { jget '"\n".join("%s %s %s %s | %s | %s" % (f["code"], f["severity"], f["vm"] or "-", f["subject"],
	f["source"], f["destination"]) for f in r["findings"])'; }

# sev CODE: the severities of the last report's site-level findings of CODE ("none")
sev() { jget '",".join(f["severity"] for f in r["findings"] if f["code"] == "'"$1"'" and not f["vm"]) or "none"'; }
# val CODE: "source | destination | message" of the first finding of CODE
val() { jget '[" | ".join((f["source"], f["destination"], f["message"])) for f in r["findings"] if f["code"] == "'"$1"'"][0]'; }
# Rules that would compare a qemu fact with a vSphere one as if alike:
# versions, hardware versions, CPU modes, identities.
ALIKE='^FY-(VER-00[1-4]|HW-00[1-3]|CPU-00[1-4]|DUP-00[1-4]) '

# ------------------------------------------------------ qemu to vsphere
pf q Q0 --to v --link-seconds 0
is "$RC" 2 "q (qemu) to v (vsphere): exits 2"
is "$(jget 'r["verdict"], r["exit_status"], r["vms"][0]["verdict"]')" "('blocked', 2, 'blocked')" \
	"--json: blocked, exit status 2, Q0 blocked"
is "$(sev FY-SITE-001)" error "FY-SITE-001 is a site-level error"
is "$(val FY-SITE-001)" "qemu | vsphere | The source is a qemu domain and the destination a vsphere domain; Ferry moves VMs only between domains of the same kind." \
	"FY-SITE-001 names both kinds, the source's first"
is "$(jget '[f["code"] for f in r["findings"] if f["severity"] == "error" and not f["vm"]]')" "['FY-SITE-001']" \
	"it is the only site-level error"
is "$(jget '[f["code"] for f in r["findings"] if f["severity"] == "error"]')" "['FY-SITE-001']" \
	"and the only error: no network or datastore errors whose fixes would fix nothing"
unlike "$(findings)" "$ALIKE" "no finding compares qemu facts with vSphere ones as if alike (versions, hardware, CPU, UUIDs)"
ok "a handful of findings, not one per fact of either side ($(jget 'len(r["findings"])'))" \
	test "$(jget 'len(r["findings"])')" -le 20
# FY-DNS-004: a qemu gateway looks no names up; the names are v's vCenter and host.
is "$(sev FY-DNS-004)" warning "FY-DNS-004: a warning"
is "$(val FY-DNS-004)" "source gateway | no lookups (2 names) | The source gateway reported no DNS lookups; 2 names are not checked from there." \
	"FY-DNS-004: the source gateway (qemu) reported no lookups of the 2 names (v's vCenter and host)"
OUT=$(ctl q preflight Q0 --to v --link-seconds 0 2>&1)
is "$?" 2 "text: exits 2 as well"
like "$(printf '%s\n' "$OUT" | head -n 1)" "^Pre-flight q \(qemu\) -> v \(vsphere\): BLOCKED" "text: the first line names both kinds"
like "$OUT" "ERROR +FY-SITE-001 +The source is a qemu domain and the destination a vsphere domain" \
	"text: FY-SITE-001 shown as an error naming both kinds"
like "$OUT" "fix: Move VMs only between sites of the same kind" "text: and what to do"

# ------------------------------------------------------ vsphere to qemu
pf v V0 --to q --link-seconds 0
is "$RC" 2 "v (vsphere) to q (qemu): exits 2"
is "$(jget 'r["verdict"], r["exit_status"]')" "('blocked', 2)" "--json: blocked, exit status 2"
is "$(sev FY-SITE-001)" error "FY-SITE-001 is a site-level error"
is "$(val FY-SITE-001)" "vsphere | qemu | The source is a vsphere domain and the destination a qemu domain; Ferry moves VMs only between domains of the same kind." \
	"FY-SITE-001 names both kinds, vsphere first now"
is "$(jget '[f["code"] for f in r["findings"] if f["severity"] == "error" and not f["vm"]]')" "['FY-SITE-001']" \
	"it is the only site-level error"
is "$(jget '[f["code"] for f in r["findings"] if f["severity"] == "error"]')" "['FY-SITE-001']" \
	"and the only error: no network or datastore errors whose fixes would fix nothing"
unlike "$(findings)" "$ALIKE" "no finding compares vSphere facts with qemu ones as if alike"
ok "a handful of findings ($(jget 'len(r["findings"])'))" test "$(jget 'len(r["findings"])')" -le 20
like "$(val FY-DNS-004)" "^destination gateway \| .* \| The destination gateway reported no DNS lookups; 1 name is not checked from there\.$" \
	"FY-DNS-004: the destination gateway (qemu) did not look up v's vCenter"
OUT=$(ctl v preflight V0 --to q --link-seconds 0 --strict 2>&1)
is "$?" 2 "text, --strict: still 2 (errors)"
like "$OUT" "ERROR +FY-SITE-001 +The source is a vsphere domain and the destination a qemu domain" \
	"text: FY-SITE-001 shown as an error naming both kinds"
# Same kinds, no FY-SITE-001: preflight-vsphere.sh (vsphere to vsphere) says so;
# preflight.sh's clear qemu-to-qemu pre-flight has no error at all.

check_sanitizers
done_testing
