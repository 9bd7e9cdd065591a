#!/bin/bash
# preflight-dns.sh - the FY-DNS rules between two vsphere gateways whose
# vCenters have different names: vcenter-a.site-a.test and
# vcenter-b.site-b.test, each served by a vCenter simulator (tests/vcsim)
# on its own loopback address.  Each ferryd runs in its own mount namespace
# (unshare -m, as `ip netns exec' does for /etc/netns/NAME) with its own
# /etc/hosts and an /etc/nsswitch.conf of "hosts: files": what one gateway
# resolves, the other need not, and no lookup leaves the machine.  The hosts
# files live in this test's directory and are rewritten in place between
# cases (glibc reads /etc/hosts at each lookup).  Nothing is written under
# /etc; the namespaces end with the daemons.  Needs root.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

VCSIM=$top_builddir/tests/vcsim/vcsim
[ -x "$VCSIM" ] || skip_all "vcsim not built (needs golang-go and golang-github-vmware-govmomi-dev)"
command -v python3 >/dev/null || skip_all "python3 missing"
command -v openssl >/dev/null || skip_all "openssl missing"
[ "$(id -u)" -eq 0 ] || skip_all "needs root for a mount namespace per gateway"
command -v unshare >/dev/null || skip_all "unshare (util-linux) not installed"
printf '127.0.0.1 localhost\n127.0.0.2 probe.fy-dns.test\n' >"$T/probe.hosts"
printf 'hosts: files\n' >"$T/nsswitch.conf"
[ "$(unshare -m sh -c 'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/nsswitch.conf &&
    getent hosts probe.fy-dns.test' "$T/probe.hosts" "$T/nsswitch.conf" 2>/dev/null | awk '{print $1}')" = 127.0.0.2 ] ||
	skip_all "mount namespaces (unshare -m, mount --bind) not allowed here"
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.3", 0))' 2>/dev/null ||
	skip_all "cannot bind loopback addresses other than 127.0.0.1"

USER_A=administrator@vsphere.local
PASS_A='dns-Secret-a1'
PASS_B='dns-Secret-b2'
VC_A=vcenter-a.site-a.test VC_B=vcenter-b.site-b.test
ESX_A=esx-a1.site-a.test ESX_B=esx-b1.site-b.test
umask 077

mkcert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 1 \
	    -subj "/CN=$2" -addext "subjectAltName=DNS:$2" >/dev/null 2>&1
}
tp() { openssl x509 -in "$T/$1.pem" -noout -fingerprint -sha1 | sed 's/.*=//'; }
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
# hosts SITE LINES...: rewrite SITE's /etc/hosts in place (same inode: the
# bind mount in the gateway's namespace shows the new text).
hosts() {
	local s=$1; shift
	printf '%s\n' "127.0.0.1 localhost" "$@" >"$T/$s.hosts.new"
	cat "$T/$s.hosts.new" >"$T/$s.hosts"
}
ALL=("127.0.0.2 $VC_A" "127.0.0.3 $VC_B" "127.0.0.4 $ESX_A" "127.0.0.5 $ESX_B")
# The wrapper for site_start: a private mount namespace with that site's
# files (unshare and sh exec: the PID site_start holds is ferryd's).
NS_SH='mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"'
NS_A=(unshare -m sh -c "$NS_SH" "$T/a.hosts" "$T/nsswitch.conf")
NS_B=(unshare -m sh -c "$NS_SH" "$T/b.hosts" "$T/nsswitch.conf")
pf() { local s=$1; shift; ctl "$s" --json preflight "$@" >"$T/pf.json" 2>"$T/pf.err"; RC=$?; }
# dns: the FY-DNS findings of the last pre-flight, one a line:
# "CODE severity vm subject | source | destination | message", sorted
# ("NO REPORT" when there is no JSON report: never an empty list then)
dns() {
	python3 -c 'import json,sys
try:
    r=json.load(open(sys.argv[1]))
except ValueError:
    print("NO REPORT"); sys.exit(0)
for f in sorted(r["findings"], key=lambda f: (f["code"], f["subject"], f["message"])):
    if f["code"].startswith("FY-DNS-"):
        print("%s %s %s %s | %s | %s | %s" % (f["code"], f["severity"], f["vm"] or "-", f["subject"],
            f["source"], f["destination"], f["message"]))' "$T/pf.json"
}
count() { dns | grep -c "^$1 " ; }
verdict() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$T/pf.json" 2>/dev/null; }

mkcert a "$VC_A" && mkcert b "$VC_B" || { echo "Bail out! openssl req failed"; exit 1; }
PA=$(free_port) PB=$(free_port)
printf '%s\n%s\n' "$USER_A" "$PASS_A" >"$T/a.cred"
printf '%s\n%s\n' "$USER_A" "$PASS_B" >"$T/b.cred"
hosts a "${ALL[@]}"
hosts b "${ALL[@]}"

# One host per vCenter, named by a DNS name; the versions match, the
# checker is on: without DNS trouble the pre-flight is clear.
VCA=(-listen "127.0.0.2:$PA" -cert "$T/a.pem" -key "$T/a.key" -vc-hostname "$VC_A"
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_A" -clusters 1 -cluster-hosts 1 -standalone-hosts 0
	-host-name "DC0_C0_H0=$ESX_A" -vms 1 -vm-prefix A)
VCB=(-listen "127.0.0.3:$PB" -cert "$T/b.pem" -key "$T/b.key" -vc-hostname "$VC_B"
	-vc-version 7.0.3 -vc-build 20150588 -esx-version 7.0.3 -esx-build 19193900
	-user "$USER_A" -password "$PASS_B" -clusters 1 -cluster-hosts 1 -standalone-hosts 0
	-vms 1 -vm-prefix B)
ok "vCenter simulator A starts on 127.0.0.2" vcsim_start a "${VCA[@]}"
ok "vCenter simulator B starts on 127.0.0.3" vcsim_start b "${VCB[@]}" -host-name "DC0_C0_H0=$ESX_B"
site_conf a "domain vsphere" "vcenter_url https://$VC_A:$PA/sdk" "vcenter_thumbprint $(tp a)" \
	"vcenter_credentials $T/a.cred"
site_conf b "domain vsphere" "vcenter_url https://$VC_B:$PB/sdk" "vcenter_thumbprint $(tp b)" \
	"vcenter_credentials $T/b.cred"
ok "site a starts in its own mount namespace" site_start a "${NS_A[@]}"
ok "site b starts in its own mount namespace" site_start b "${NS_B[@]}"
ok "a and b pair" pair a b
is "$(getent hosts "$VC_A")" "" "the names are not known outside the gateways' namespaces"

ok "a's inventory as JSON" ctl a --json inventory
python3 - "$T/last.out" >"$T/inv-a.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["vcenter"]["name"])
for d in r["dns"]:
    print(d["name"], ",".join(d["forward"]), ",".join(d["reverse"]))
EOF
is "$(sed -n 1p "$T/inv-a.txt")" "$VC_A" "a's vCenter is named vcenter-a.site-a.test (from vcenter_url)"
is "$(sed -n '2,$p' "$T/inv-a.txt" | sort | tr '\n' ';')" \
	"$ESX_A 127.0.0.4 $ESX_A;$VC_A 127.0.0.2 $VC_A;" \
	"a's gateway resolved its vCenter and its host forward and back, through its own hosts file"
ok "b's inventory as JSON" ctl b --json inventory
like "$(cat "$T/last.out")" "\"name\": \"$VC_B\"" "b's vCenter is named vcenter-b.site-b.test"
like "$(tr -d ' \n' <"$T/last.out")" "\"name\":\"$VC_B\",\"forward\":\[\"127.0.0.3\"\],\"reverse\":\[\"$VC_B\"\]" \
	"b's gateway resolved its vCenter to 127.0.0.3 and back"

# ----------------------------------------------------------------- all resolve
pf a A0 --to b --link-seconds 0 --strict
is "$RC" 0 "all names resolve both ways from both gateways: a to b exits 0 even with --strict"
is "$(dns)" "" "a to b: no FY-DNS finding"
pf b B0 --to a --link-seconds 0 --strict
is "$RC" 0 "b to a: exits 0 with --strict"
is "$(dns)" "" "b to a: no FY-DNS finding"

# ------------------------------------ b cannot resolve a's vCenter (FY-DNS-001)
hosts b "127.0.0.3 $VC_B" "127.0.0.4 $ESX_A" "127.0.0.5 $ESX_B"
ok "b's gateway still reaches its own vCenter" ctl b inventory vms
pf a A0 --to b --link-seconds 0
is "$RC" 2 "b cannot resolve vcenter-a.site-a.test: a to b exits 2"
is "$(verdict)" blocked "a to b: blocked"
is "$(count FY-DNS-001)" 1 "a to b: one FY-DNS-001 (from b only; a resolves its own vCenter)"
like "$(dns)" "^FY-DNS-001 error - $VC_A \| $VC_A \| [^|]+ \| From the destination gateway, $VC_A \(the source vCenter\) does not resolve" \
	"FY-DNS-001: an error naming the destination gateway and a's vCenter"
pf b B0 --to a --link-seconds 0
is "$RC" 2 "b to a: exits 2 as well"
is "$(count FY-DNS-001)" 1 "b to a: one FY-DNS-001"
like "$(dns)" "^FY-DNS-001 error - $VC_A \| $VC_A \| [^|]+ \| From the source gateway, $VC_A \(the destination vCenter\) does not resolve" \
	"FY-DNS-001 from b as the source: a's vCenter is now the destination's"
unlike "$(dns)" "$VC_B|$ESX_A|$ESX_B" "b to a: the names b resolves are not reported"

# ------------------------------- a cannot resolve b's host (a destination host)
hosts b "${ALL[@]}"
hosts a "127.0.0.2 $VC_A" "127.0.0.3 $VC_B" "127.0.0.4 $ESX_A"
pf a A0 --to b --link-seconds 0
is "$RC" 2 "a cannot resolve esx-b1.site-b.test: a to b exits 2"
is "$(dns | cut -d'|' -f1,4 | sed 's/ does not resolve.*/ does not resolve/' | tr -s ' ')" \
	"FY-DNS-001 error - $ESX_B | From the source gateway, $ESX_B (a destination host) does not resolve" \
	"FY-DNS-001 for b's host only, from the source gateway a, as a destination host"
pf b B0 --to a --link-seconds 0 --strict
is "$RC" 0 "b to a: b's host is no destination host then: exits 0 with --strict"
is "$(dns)" "" "b to a: no FY-DNS finding"

# ------------------------- a's reverse of b's vCenter gives another name (003)
hosts a "127.0.0.2 $VC_A" "127.0.0.3 vc-b-alias.site-b.test $VC_B" "127.0.0.4 $ESX_A" "127.0.0.5 $ESX_B"
pf a A0 --to b --link-seconds 0
is "$RC" 0 "a resolves b's vCenter back to another name: a to b exits 0 (a warning)"
is "$(verdict)" warnings "a to b: the verdict is warnings"
is "$(dns)" "FY-DNS-003 warning - $VC_B | $VC_B | vc-b-alias.site-b.test | From the source gateway, $VC_B (the destination vCenter) resolves back to vc-b-alias.site-b.test, not to itself." \
	"FY-DNS-003: a warning with the name and the name its address resolves back to"
pf a A0 --to b --link-seconds 0 --strict
is "$RC" 1 "the same with --strict exits 1"
pf b B0 --to a --link-seconds 0
is "$(dns)" "FY-DNS-003 warning - $VC_B | $VC_B | vc-b-alias.site-b.test | From the destination gateway, $VC_B (the source vCenter) resolves back to vc-b-alias.site-b.test, not to itself." \
	"b to a: the same lookup of a's gateway, now as the destination's"

# ------------------ a host added to vCenter B by its address: no PTR (002)
hosts a "${ALL[@]}"
site_stop vc-b
ok "simulator B restarts with its host named 127.0.0.7 (added by address)" vcsim_start b "${VCB[@]}" \
	-host-name DC0_C0_H0=127.0.0.7
pf a A0 --to b --link-seconds 0
is "$RC" 2 "a to b: 127.0.0.7 has no reverse name from either gateway: exits 2"
is "$(dns | sed 's/ | [^|]* | From/ | ERR | From/')" \
"FY-DNS-002 error - 127.0.0.7 | 127.0.0.7 | ERR | From the destination gateway, 127.0.0.7 (a destination host, address 127.0.0.7) has no reverse (PTR) name.
FY-DNS-002 error - 127.0.0.7 | 127.0.0.7 | ERR | From the source gateway, 127.0.0.7 (a destination host, address 127.0.0.7) has no reverse (PTR) name." \
	"FY-DNS-002 from each gateway: an error naming the address without a PTR name"
hosts b "${ALL[@]}" "127.0.0.7 esx-b7.site-b.test"
pf a A0 --to b --link-seconds 0
is "$(dns | sed -E 's/^(FY-DNS-[0-9]+) ([a-z]+) - ([^ ]+) .*From the ([a-z]+) gateway.*/\1 \2 \3 \4/' | tr '\n' ';')" \
	"FY-DNS-002 error 127.0.0.7 source;FY-DNS-003 warning 127.0.0.7 destination;" \
	"once b's hosts file names it: FY-DNS-003 (warning) from b, still FY-DNS-002 (error) from a"
pf b B0 --to a --link-seconds 0 --strict
is "$RC:$(dns)" "0:" "b to a: 127.0.0.7 is no destination host: no FY-DNS finding, exit 0 with --strict"

check_sanitizers
done_testing
