#!/bin/bash
# vsphere-client.sh - the vim25 client library (gateway/vim.h, through
# tests/tools/vimprobe) against the vCenter simulator (tests/vcsim): service
# content, login, the thumbprint pin (nothing sent to an unpinned server),
# the credential file's mode, 1,000 VMs through a ContainerView, the
# provisioning checker and its absence, a malformed reply, a stalled
# server, and a session expiring under the client.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

VCSIM=$top_builddir/tests/vcsim/vcsim
VIMPROBE=$top_builddir/tests/tools/vimprobe
[ -x "$VCSIM" ] || skip_all "vcsim not built (needs golang-go and golang-github-vmware-govmomi-dev)"
[ -x "$VIMPROBE" ] || skip_all "tests/tools/vimprobe not built"

USER_A=administrator@vsphere.local
PASS_A='S3cret pass:with;odd<chars>&'
UUID_A=6a5f3c1e-0a0b-4c1d-9e2f-0000000000aa

# vcsim_start NAME ARGS...: start a simulator, wait (bounded) for its ready file.
vcsim_start() {
	local name=$1 d=$T/$1 i; shift
	mkdir -p "$d/ds"
	"$VCSIM" -ready "$d/ready.json" -dir "$d/ds" -max-seconds 180 "$@" >"$d/stdout" 2>"$d/vcsim.log" &
	SITE_PID[$name]=$!
	for i in $(seq 1 300); do
		[ -s "$d/ready.json" ] && return 0
		kill -0 "${SITE_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/vcsim.log" >&2
	return 1
}
ready() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$T/$1/ready.json"; }

# probe NAME [-c CRED] [OPTIONS] COMMAND...: vimprobe against NAME, pinned
# to its SHA-1 thumbprint, with the good credentials unless -c is given.
# OUT: stdout (JSON lines), RC: exit status, MS: elapsed milliseconds.
probe() {
	local name=$1 cred=$T/cred t0; shift
	if [ "${1:-}" = -c ]; then cred=$2; shift 2; fi
	t0=$(date +%s%N)
	OUT=$("$VIMPROBE" -u "$(ready "$name" url)" -t "${TP:-$(ready "$name" thumbprint_sha1)}" -c "$cred" "$@" \
	    2>>"$T/vimprobe.stderr")
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	printf '%s\n' "$OUT" >>"$T/vimprobe.stdout"
}
field() { printf '%s\n' "$OUT" | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }

umask 077
printf '%s\n%s\n' "$USER_A" "$PASS_A" >"$T/cred"
printf '%s\n%s\n' "$USER_A" "wrong-password-123" >"$T/cred-wrong"
cp "$T/cred" "$T/cred-group" && chmod 640 "$T/cred-group"

# --- site A: enforced credentials, 1,000 VMs, an encrypted one, the checker
ok "simulator A starts with 1000 VMs" vcsim_start a -instance-uuid "$UUID_A" \
	-vc-version 7.0.3 -vc-build 20150588 -api-version 7.0.3.0 \
	-user "$USER_A" -password "$PASS_A" -vms 1000 -hw-version vmx-15 -vm-hw VM5=vmx-19 \
	-powered-off VM3 -encrypted-vm VM7 -key-provider "HyTrust KMS" \
	-checker-warning "VM0=Virtual NIC on a port group with no uplink" \
	-checker-error "VM1=The key provider HyTrust KMS is not available"

probe a about
is "$RC" 0 "about: exit 0"
is "$(field version)/$(field build)/$(field api_version)" "7.0.3/20150588/7.0.3.0" "about: version, build, API version"
is "$(field instance_uuid)" "$UUID_A" "about: instance UUID"
TP=$(ready a thumbprint_sha256) probe a about
is "$RC/$(field instance_uuid)" "0/$UUID_A" "the SHA-256 thumbprint is accepted as a pin too"
TP=$(ready a thumbprint_sha1 | tr -d : | tr A-F a-f) probe a about
is "$RC" 0 "a thumbprint without colons, in lower case, is accepted"

probe a login
is "$RC $OUT" '0 {"login":"ok"}' "login with the right credentials"
probe a -c "$T/cred-wrong" login
is "$RC/$(field error)/$(field fault)" "1/AUTH/InvalidLogin" "wrong password: refused, the fault named InvalidLogin"
like "$(field message)" "login as $USER_A: vCenter refused Login: InvalidLogin" "wrong password: the message names the user and the fault"
probe a -c "$T/cred-group" login
is "$RC/$(field error)" "1/DENIED" "a group-readable credential file is refused"
like "$(field message)" 'cred-group is accessible by group or others \(mode 0640\)' "... naming the file and its mode"
probe a -c "$T/nosuch" login
is "$RC/$(field error)" "1/CONFIG" "a missing credential file is refused"

# --- 1,000 VMs with paging asked (maxObjects 100)
probe a -p 100 list VirtualMachine name config.version config.keyId runtime.powerState runtime.host
is "$RC" 0 "list 1000 VMs: exit 0"
vms=$(printf '%s\n' "$OUT" | grep '^{"type":"VirtualMachine"')
is "$(printf '%s\n' "$vms" | grep -c .)" 1000 "list: 1000 VM lines"
is "$(printf '%s\n' "$vms" | sed 's/.*"id":"\([^"]*\)".*/\1/' | sort -u | wc -l)" 1000 "list: 1000 distinct VM ids"
is "$(printf '%s\n' "$vms" | grep -o '"name":{[^}]*"value":"VM[0-9]*"' | sort -u | wc -l)" 1000 "list: 1000 distinct VM names"
like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"count":1000,"pages":[0-9]+,"relogins":0\}$' "list: the summary counts 1000"
is "$(printf '%s\n' "$vms" | grep -c '"config.version":{"xsi_type":"string","xsi_ns":"","value":"vmx-15"}')" 999 \
	"config.version: vmx-15 read as xsi type string (XMLSchema-instance:type resolved by URI)"
like "$(printf '%s\n' "$vms" | grep '"value":"VM5"')" '"config.version":\{[^}]*"value":"vmx-19"' "config.version: the per-VM override"
vm7=$(printf '%s\n' "$vms" | grep '"name":{[^}]*"value":"VM7"}')
like "$vm7" '"config.keyId":\{"xsi_type":"CryptoKeyId","xsi_ns":"","value":\{"keyId":"[0-9a-f-]{36}","providerId":\{"id":"HyTrust KMS"\}' \
	"config.keyId: the encrypted VM's key and its provider, as a nested value"
is "$(printf '%s\n' "$vms" | grep -c '"config.keyId"')" 1 "config.keyId: only the encrypted VM has one"
like "$(printf '%s\n' "$vms" | grep '"value":"VM3"}')" '"runtime.powerState":\{"xsi_type":"VirtualMachinePowerState","xsi_ns":"","value":"poweredOff"\}' \
	"runtime.powerState: the powered-off VM, with its enum type"
is "$(printf '%s\n' "$vms" | grep -c '"value":"poweredOn"')" 999 "runtime.powerState: the others are on"
is "$(printf '%s\n' "$vms" | grep -c '"runtime.host":{"xsi_type":"ManagedObjectReference","xsi_ns":"","value":"HostSystem:host-[0-9]*"}')" 1000 \
	"runtime.host: a MoRef with its type attribute"
probe a -m 999 list VirtualMachine name
is "$RC/$(field error)" "1/LIMIT" "more objects than the limit (999): refused"
probe a list NoSuchType name
is "$RC" 1 "an unknown managed object type is an error"

# --- vCenter's own checks
probe a check-relocate VM1 DC0_C0_H1
like "$OUT" '"errors":\["The key provider HyTrust KMS is not available"\]' "check-relocate: the VM's error"
like "$OUT" '"warnings":\[\]' "check-relocate: no warning where none is configured"
probe a check-relocate VM0 DC0_C0_H1
like "$OUT" '"warnings":\["Virtual NIC on a port group with no uplink"\],"errors":\[\]' "check-relocate: the VM's warning, no error"
probe a check-relocate VM9 DC0_C0_H1
like "$OUT" '"warnings":\[\],"errors":\[\]\}' "check-relocate: a clear VM"
is "$(printf '%s\n' "$OUT" | tail -n 1)" '{"results":1}' "check-relocate: one CheckResult"

# --- the pin: a wrong thumbprint sends nothing.  Simulator P answers only
# its first request (-stall-after 1): a refused client followed by one
# that is answered proves the refused one sent no request at all.
ok "simulator P starts (answers one request, then hangs)" vcsim_start p -vms 0 -user "$USER_A" -password "$PASS_A" \
	-stall-after 1 -stall-mode hang
TP=$(ready a thumbprint_sha1) probe p -T 5 login
is "$RC/$(field error)" "1/PIN" "wrong thumbprint: refused"
like "$(field message)" "presented a certificate with SHA-1 thumbprint $(ready p thumbprint_sha1) but the pinned thumbprint is $(ready a thumbprint_sha1); nothing was sent" \
	"wrong thumbprint: both thumbprints named"
TP=$(ready a thumbprint_sha256) probe p -T 5 login
like "$(field message)" "SHA-256 thumbprint $(ready p thumbprint_sha256) but the pinned thumbprint is $(ready a thumbprint_sha256)" \
	"wrong SHA-256 thumbprint: both named"
probe p -T 5 about
is "$RC" 0 "the simulator answers the next client's first request: no Login (no request at all) came from the refused ones"

# --- a stalled server: the call ends within its limit
probe p -T 3 login
is "$RC/$(field error)" "1/TIMEOUT" "stalled server: a timeout error"
like "$(field message)" 'gave no complete reply to RetrieveServiceContent within 3 s' "stalled server: the call named"
ok "stalled server: the client gave up within the bound (${MS} ms, limit 3 s)" test "$MS" -ge 2900 -a "$MS" -lt 4500
site_stop p

# --- a malformed reply
ok "simulator M starts (malformed RetrievePropertiesEx)" vcsim_start m -vms 3 -malformed RetrievePropertiesEx
probe m -T 10 list VirtualMachine name
is "$RC/$(field error)" "1/FORMAT" "malformed reply: a format error"
like "$(field message)" '^malformed reply to RetrievePropertiesEx from vCenter' "malformed reply: the call named"
ok "malformed reply: reported at once, not after the time limit (${MS} ms)" test "$MS" -lt 5000
unlike "$OUT" '"type":"VirtualMachine"' "malformed reply: no half-read objects printed"
site_stop m

# --- no checker, and a session dropped by the server
ok "simulator S starts (no checker, sessions idle 2 s expire)" vcsim_start s -vms 5 -checker off -session-idle 2
probe s check-relocate VM1
is "$RC/$(field error)/$(field fault)" "1/VERSION/MethodNotFound" "checker off: MethodNotFound"
like "$(field message)" 'does not offer CheckRelocate_Task \(not offered: MethodNotFound\)' "checker off: reported as not offered"
probe s keepalive
is "$RC $OUT" '0 {"keepalive":"ok","relogins":0}' "keep-alive on a live session: no re-login"
probe s -w 4 list VirtualMachine name
is "$RC" 0 "session expired server-side (idle 4 s > 2 s): the listing still works"
like "$(printf '%s\n' "$OUT" | tail -n 1)" '^\{"count":5,"pages":[0-9]+,"relogins":1\}$' "... after exactly one transparent re-login"
probe s -w 4 keepalive
is "$RC $OUT" '0 {"keepalive":"ok","relogins":1}' "keep-alive finds the session gone and logs in again"
site_stop s

# --- paging: a simulator that honours maxObjects and answers
# ContinueRetrievePropertiesEx (-paging): 1,000 VMs arrive in pages
ok "simulator G starts (1000 VMs, paging)" vcsim_start g -vms 1000 -paging
probe g -p 100 list VirtualMachine name runtime.powerState
is "$RC" 0 "paged list of 1000 VMs: exit 0"
is "$(printf '%s\n' "$OUT" | tail -n 1)" '{"count":1000,"pages":10,"relogins":0}' \
	"1000 VMs in 10 pages of 100 (RetrievePropertiesEx, then 9 ContinueRetrievePropertiesEx)"
is "$(printf '%s\n' "$OUT" | grep '^{"type":"VirtualMachine"' | sed 's/.*"id":"\([^"]*\)".*/\1/' | sort -u | wc -l)" 1000 \
	"paged list: 1000 distinct VMs, none lost or repeated across pages"
probe g -p 300 list VirtualMachine name
is "$(printf '%s\n' "$OUT" | tail -n 1)" '{"count":1000,"pages":4,"relogins":0}' "pages of 300: 4 replies, the last one short"
probe g -p 100 list HostSystem name
like "$(printf '%s\n' "$OUT" | tail -n 1)" '"pages":1,' "fewer objects than a page: one reply, no token"
probe g -p 100 -m 999 list VirtualMachine name
is "$RC/$(field error)" "1/LIMIT" "paged: more objects than the limit (999) refused across pages"
site_stop g

# --- nothing listening
port=$(free_port)
OUT=$("$VIMPROBE" -T 3 -u "https://127.0.0.1:$port/sdk" -t "$(ready a thumbprint_sha1)" -c "$T/cred" about 2>/dev/null)
is "$(field error)" CONNECT "nothing listening: a connection error"
OUT=$("$VIMPROBE" -u "https://127.0.0.1:$port/sdk" -t "12:34" -c "$T/cred" about 2>/dev/null)
is "$(field error)" CONFIG "a thumbprint that is no SHA-1 or SHA-256: refused"

# --- secrets
fails "the password appears in no output of the client" grep -qF "$PASS_A" "$T/vimprobe.stdout" "$T/vimprobe.stderr"
fails "the wrong password appears in no output either" grep -qF "wrong-password-123" "$T/vimprobe.stdout" "$T/vimprobe.stderr"
fails "no sanitizer report from the client" grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T/vimprobe.stderr"

ok "simulator A stops on SIGTERM" site_stop a
if [ "$_failed" -ne 0 ]; then
	for f in "$T"/vimprobe.stderr "$T"/*/vcsim.log; do
		[ -s "$f" ] && { echo "# --- $f"; tail -n 20 "$f" | sed 's/^/# /'; }
	done
fi
done_testing
