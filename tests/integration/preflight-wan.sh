#!/bin/bash
# preflight-wan.sh - the link findings of ferryctl preflight over a real
# emulated WAN: two ferryd in network namespaces joined by the user-space
# WAN emulator (tests/tools/wanem), the link measured over the transport.
# One emulator per profile (wanem is not reconfigured while it runs), each
# with a bottleneck queue deep enough that the link test's own flood is
# not dropped there (see "The queue" below):
#   200 Mbit/s, 20 ms RTT, no loss: clear; the transfer estimates
#       (FY-LINK-002, -006) come from the measured goodput, near the rate;
#   200 Mbit/s, 160 ms RTT: FY-LINK-001 (round trip above 150 ms);
#   200 Mbit/s, 20 ms RTT, 3 % random loss: FY-LINK-004 (loss above 1 %);
#   20 Mbit/s, 20 ms RTT: FY-LINK-005 for a guest that dirties memory
#       faster than that, not for a quiet one; then the link cut during the
#       link test: FY-LINK-003 (the link carried no data), exit status 2.
# The emulator's own drop counters stay 0 on every link.
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

# quiet: one page dirtied, so QEMU's page sampling (1 page in 2 MiB) almost
# never sees it; busy: 40 MiB cycled at tens of MB/s (default spin).
"$MKGUEST" -o "$T/quiet.img" --mem 512M --start 1M --end 1028k --spin 20000 --hb-pages 20000 \
	"$TEMPLATE" || exit 1
"$MKGUEST" -o "$T/busy.img" --mem 64M --start 1M --end 41M --hb-pages 256 "$TEMPLATE" || exit 1
mkdir -p "$T/ds-a" "$T/ds-b"
common=("transport_stream_timeout 2s" "transport_dead_timeout 4s" "connect_timeout 2s")
site_conf a "qemu_datastores ds-a=$T/ds-a" "qemu_networks net" "${common[@]}"
site_conf b "qemu_datastores ds-b=$T/ds-b" "qemu_networks net" "${common[@]}"
sed -i "s|^listen .*|listen $(wan_addr a):7443|" "$T/a/ferryd.conf"
sed -i "s|^listen .*|listen $(wan_addr b):7443|" "$T/b/ferryd.conf"
# No disks: a VM's transfer is its memory alone.
cat >"$T/vm1.json" <<EOF
{ "name": "vm1", "vcpus": 1, "memory_mib": 512, "boot": "$T/quiet.img", "nics": [ { "network": "net" } ] }
EOF
cat >"$T/busy.json" <<EOF
{ "name": "busy", "vcpus": 1, "memory_mib": 64, "boot": "$T/busy.img", "nics": [ { "network": "net" } ] }
EOF

# link NAME VMS WINDOW WANEM-OPTIONS...: (re)build the link with this
# profile; the daemons (transport_window WINDOW bytes, or "default") and the
# VMs VMS (running at a) start again inside the new namespaces.
link() {
	local name=$1 vms=$2 win=$3 v s
	shift 3
	for v in vm1 busy; do
		[ "$(vm_state a "$v")" = running ] && ctl a vm stop "$v" --force >/dev/null
	done
	site_stop a
	site_stop b
	wan_down
	for s in a b; do
		sed -i '/^transport_window /d' "$T/$s/ferryd.conf"
		[ "$win" = default ] || echo "transport_window $win" >>"$T/$s/ferryd.conf"
	done
	wan_up "$name" "$@" &&
	site_start a ip netns exec "$WAN_NS_A" &&
	site_start b ip netns exec "$WAN_NS_B" || return 1
	for v in $vms; do
		ctl a vm start "$v" >/dev/null && wait_beats a "$v" 2 || return 1
	done
}
# pf ARGS...: a text pre-flight of a's VMs to b; RC its exit status, OUT its output
pf() { OUT=$(ctl a preflight "$@" --to b 2>&1); RC=$?; }
# jpf ARGS...: the same with --json into $T/pf.json, read once by report
jpf() { ctl a --json preflight "$@" --to b >"$T/pf.json" 2>"$T/pf.err"; RC=$?; report; }
# report: the last --json report as shell variables (one python3 per
# report: the guests keep both cores busy).  VERDICT "verdict/exit_status";
# GP, RTT (the path's), RTTL (under the test's load), RETR, BYTES, BLOSS
# (the bulk flow's retransmits x 1448 / bytes, in %), LOSS (loss_pct: the
# paced probe's), PLOSS (the probe's retransmits x 1448 / bytes, in %),
# LSECS (the test's), LERR
# (link_error) from the link test; VMS "name:errors:warnings:verdict ...";
# F[CODE/VM] "severity | source | destination" (VM empty for the site's);
# ETA[CODE/VM] the seconds of its "about ..." estimate; DIRTY[VM] the
# number of FY-LINK-005's source, GOODPUT[VM] of its destination.
declare -A F ETA DIRTY GOODPUT
report() {
	F=() ETA=() DIRTY=() GOODPUT=()
	python3 - "$T/pf.json" >"$T/pf.sh" <<'PY' || { echo "report: $T/pf.json is no report" >&2; return 1; }
import json, re, shlex, sys
r = json.load(open(sys.argv[1]))
l = r.get("link") or {}
q = lambda v: shlex.quote(str(v))
out = ["VERDICT=%s" % q("%s/%s" % (r["verdict"], r["exit_status"])),
       "GP=%s RTT=%s RETR=%s BYTES=%s" % (q(l.get("goodput_mbit", "")), q(l.get("rtt_ms", "")),
                                         q(l.get("retransmits", "")), q(l.get("bytes", ""))),
       "BLOSS=%s" % q("%.2f" % (l["retransmits"] * 1448 / l["bytes"] * 100) if l.get("bytes") else ""),
       "LOSS=%s" % q("%.2f" % l["loss_pct"] if "loss_pct" in l else ""),
       "PLOSS=%s" % q("%.2f" % min(100, (l["probe"]["retransmits"] * 1448 / l["probe"]["bytes"] * 100))
                      if (l.get("probe") or {}).get("bytes") else ""),
       "LSECS=%s RTTL=%s" % (q(l.get("seconds", "")), q(l.get("rtt_loaded_ms", ""))),
       "LERR=%s" % q(r.get("link_error", "")),
       "VMS=%s" % q(" ".join("%s:%d:%d:%s" % (v["name"], v["counts"]["error"], v["counts"]["warning"],
                                              v["verdict"]) for v in r["vms"]))]
for f in r["findings"]:
    k = q("%s/%s" % (f["code"], f["vm"] or ""))
    out.append("F[%s]=%s" % (k, q("%s | %s | %s" % (f["severity"], f["source"], f["destination"]))))
    t = re.search(r"about ((\d+) h )?((\d+) min )?((\d+) s)?", f["message"])
    if t and t.group(0) != "about ":
        out.append("ETA[%s]=%d" % (k, int(t.group(2) or 0) * 3600 + int(t.group(4) or 0) * 60 +
                                   int(t.group(6) or 0)))
    if f["code"] == "FY-LINK-005":
        out.append("DIRTY[%s]=%s GOODPUT[%s]=%s" % (q(f["vm"]), q(f["source"].split()[0]), q(f["vm"]),
                                                     q(f["destination"].split()[0])))
print("\n".join(out))
PY
	. "$T/pf.sh"
}
f() { echo "${F[$1/$2]:-none}"; }
eta() { echo "${ETA[$1/$2]:--1}"; }
# within X LO HI: LO <= X <= HI (decimals)
within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo + 0 && x + 0 <= hi + 0) }'; }

# The queue: with wanem's default (one BDP, drop-tail) the link test's
# BBR streams overflow it and resend 2-11 % of their segments on a link
# that loses nothing; FY-LINK-004 judges the paced probe after the bulk
# flow (a quarter of its goodput), which does not (checked below); 5-10
# BDP keep the bulk flow's own numbers clean for the other checks.  The window: the link test queues no more than the rate it
# sees delivers in the time left, so on a slow link the default
# transport_window (64 MiB, half a minute at 20 Mbit/s) does not make it
# run past its seconds.
ok "link up: 200 Mbit/s, 10 ms each way" link p1 "" default --rate 200 --delay 10 --queue 5000000
ok "a and b pair across the emulated WAN" pair a b
ok "vm1 (512 MiB, quiet) and busy defined at a" eval 'ctl a vm define "$T/vm1.json" && ctl a vm define "$T/busy.json"'
ok "vm1 started at a" eval 'ctl a vm start vm1 && wait_beats a vm1 2'

# -------------------------------------------- 20 ms, 200 Mbit/s: the estimates
MEM_RE='512\.0 MiB memory( \+ 0 bytes disks)?'	# the qemu domain reports no storage as 0 bytes
jpf vm1 --link-seconds 3 --strict
is "$RC" 0 "20 ms round trip, no loss: exits 0, even with --strict"
is "$VERDICT" clear/0 "--json: clear, exit status 0"
gp=$GP rtt=$RTT
diag "measured: $GP Mbit/s, round trip $RTT ms ($RTTL under load), $RETR retransmits of $BYTES bytes"
ok "the goodput is that of the emulated link (95-200 Mbit/s): $gp" within "$gp" 95 200
ok "the round trip is the emulated path's, not the queue's (19-30 ms): $rtt" within "$rtt" 19 30
is "$(f FY-LINK-001 "")/$(f FY-LINK-004 "")/$(f FY-LINK-005 vm1)" none/none/none \
	"no FY-LINK-001 (round trip), -004 (loss) or -005 (dirty rate)"
like "$(f FY-LINK-002 vm1)" "^info \| $MEM_RE \| [0-9.]+ Mbit/s$" \
	"FY-LINK-002 (info): vm1's 512 MiB of memory against the goodput"
is "$(f FY-LINK-002 vm1 | sed 's/.* | //')" "$(printf '%.1f Mbit/s' "$gp")" "the goodput the link test measured"
e=$(eta FY-LINK-002 vm1)
ok "vm1's estimate is about 512 MiB / 200 Mbit/s = 21.5 s (21-45 s): $e s" within "$e" 21 45
x=$(awk -v g="$gp" 'BEGIN { printf "%.2f", 536870912 * 8 / (g * 1e6) }')
ok "and is 512 MiB at the measured goodput ($x s, to the second)" within "$e" "$(awk "BEGIN{print $x - 1}")" \
	"$(awk "BEGIN{print $x + 1}")"
like "$(f FY-LINK-006 "")" "^info \| 512\.0 MiB \| [0-9.]+ Mbit/s$" "FY-LINK-006 (info): the total for all the VMs"
is "$(eta FY-LINK-006 "")" "$e" "with one VM, the same estimate"
pf vm1 --link-seconds 3
is "$RC" 0 "text: exits 0"
like "$OUT" "^Pre-flight a \(qemu\) -> b \(qemu\): CLEAR" "text: clear"
like "$OUT" "INFO +FY-LINK-002 +vm1: about ([2-9][0-9]|[1-9][0-9]{2}) s to copy $MEM_RE at [0-9.]+ Mbit/s" \
	"text: FY-LINK-002 gives vm1's transfer time, size and rate"
like "$OUT" "INFO +FY-LINK-006 +Altogether, 1 VM: about [0-9]+ s to copy 512\.0 MiB at [0-9.]+ Mbit/s" \
	"text: FY-LINK-006 gives the total"
unlike "$OUT" "FY-LINK-00[01345]" "text: no other link finding"
ok "the emulator dropped nothing itself (20 ms link)" wan_valid

# ----------------------- the same link with a queue of one BDP (the default)
ok "link rebuilt: 200 Mbit/s, 10 ms each way, wanem's default queue" link p1q vm1 default --rate 200 --delay 10
jpf vm1 --link-seconds 3
diag "measured: $GP Mbit/s; the bulk flow resent $BLOSS % ($RETR of $BYTES bytes; the emulator's queue dropped \
$(wan_stat ab queue_drops) packets), the probe $LOSS %"
is "$VERDICT/$(f FY-LINK-004 "")" clear/0/none "a short queue on a link that loses nothing: no FY-LINK-004, clear"
ok "the loss judged is the paced probe's, under the 1 % limit: $LOSS" within "$LOSS" 0 0.99
is "$LOSS" "$PLOSS" "and is its retransmits x 1448 / bytes"
ok "the emulator dropped nothing at random here" test "$(wan_stat ab loss_drops)" -eq 0
ok "the emulator dropped nothing itself (one-BDP queue)" wan_valid

# ------------------------------------------------ 160 ms: above vMotion's limit
ok "link rebuilt: 200 Mbit/s, 80 ms each way" link p2 vm1 default --rate 200 --delay 80 --queue 20000000
jpf vm1 --link-seconds 2
rtt=$RTT
diag "measured: $GP Mbit/s, round trip $RTT ms ($RTTL under load), $RETR retransmits"
is "$RC" 0 "160 ms round trip: a warning, exits 0 without --strict"
is "$VERDICT" warnings/0 "--json: warnings, exit status 0"
like "$(f FY-LINK-001 "")" "^warning \| [0-9.]+ ms \| limit 150 ms$" \
	"FY-LINK-001 (warning): the round trip against the 150 ms limit"
ok "the round trip compared is the emulated path's, without the queue (159-175 ms; the emulator's timers may release a packet a little early): $rtt" \
	within "$rtt" 159 175
is "$(f FY-LINK-001 "" | sed 's/^warning | \([0-9.]*\) ms.*/\1/')" "$(printf '%.1f' "$rtt")" \
	"and is the round trip the link test measured"
is "$(f FY-LINK-004 "")" none "no FY-LINK-004: the link loses nothing"
like "$(f FY-LINK-002 vm1)" "^info \| $MEM_RE \| [0-9.]+ Mbit/s$" "FY-LINK-002 is still there"
pf vm1 --link-seconds 2 --strict
is "$RC" 1 "text, --strict: the warning exits 1"
like "$OUT" "^Pre-flight a \(qemu\) -> b \(qemu\): WARNINGS" "text: the verdict is warnings"
like "$OUT" "WARNING +FY-LINK-001 +The round trip between the gateways is (159|1[6-9][0-9]|[2-5][0-9]{2})\.[0-9] ms, above the 150 ms" \
	"text: FY-LINK-001 names the round trip and the 150 ms limit"
like "$OUT" "source: [0-9.]+ ms \| destination: limit 150 ms" "text: the values compared"
like "$OUT" "fix: Expect the move to be slow" "text: and what to expect"
ok "the emulator dropped nothing itself (160 ms link)" wan_valid

# ------------------------------------------------------------- 3 % random loss
ok "link rebuilt: 200 Mbit/s, 10 ms each way, 3 % loss" link p3 vm1 default --rate 200 --delay 10 --loss 3 \
	--queue 5000000
jpf vm1 --link-seconds 3
loss=$LOSS
diag "measured: $GP Mbit/s, round trip $RTT ms, loss $LOSS % ($RETR retransmits of $BYTES bytes)"
is "$RC" 0 "3 % loss: a warning, exits 0 without --strict"
is "$VERDICT" warnings/0 "--json: warnings, exit status 0"
like "$(f FY-LINK-004 "")" "^warning \| [0-9.]+ % \| limit 1\.00 %$" "FY-LINK-004 (warning): the loss against the 1 % limit"
is "$(f FY-LINK-004 "" | sed 's/^warning | \([0-9.]*\) %.*/\1/')" "$loss" \
	"the loss compared is the link test's probe (loss_pct)"
is "$loss" "$PLOSS" "which is its retransmits x 1448 / bytes"
ok "and about the emulated one (1.5-6 %: a 0.5 s probe sends about 2000 segments): $loss" within "$loss" 1.5 6
is "$(f FY-LINK-001 "")" none "no FY-LINK-001: the round trip is 20 ms"
ok "the emulator did drop packets at random" test "$(wan_stat ab loss_drops)" -gt 0
pf vm1 --link-seconds 3 --strict
is "$RC" 1 "text, --strict: exits 1"
like "$OUT" "WARNING +FY-LINK-004 +The link lost \(or resent\) [0-9.]+ % of its segments, above the 1\.00 % limit" \
	"text: FY-LINK-004 names the loss and the limit"
like "$OUT" "source: [0-9.]+ % \| destination: limit 1\.00 %" "text: the values compared"
ok "the emulator dropped nothing itself (lossy link)" wan_valid

# ------------------------------------ 20 Mbit/s: a guest that dirties faster
ok "link rebuilt: 20 Mbit/s, 10 ms each way (64 MiB transport window)" link p4 "vm1 busy" default \
	--rate 20 --delay 10 --queue 250000
jpf vm1 busy --link-seconds 2
gp=$GP
diag "measured: $GP Mbit/s in $LSECS s, round trip $RTT ms; busy: $(f FY-LINK-005 busy)"
is "$RC" 0 "a dirty rate above the link's: a warning, exits 0"
ok "the 2 s link test took 2-4 s, not the time to drain its window: $LSECS s" within "$LSECS" 2 4
ok "the goodput is that of the emulated link (9.5-20 Mbit/s): $gp" within "$gp" 9.5 20
like "$(f FY-LINK-005 busy)" "^warning \| [0-9.]+ Mbit/s \| [0-9.]+ Mbit/s$" \
	"FY-LINK-005 (warning) for busy: its dirty rate against the goodput"
ok "busy's dirty rate (${DIRTY[busy]:-none}) is at least the goodput (${GOODPUT[busy]:-none})" \
	within "${DIRTY[busy]:-}" "${GOODPUT[busy]:-1}" 1e9
is "$(f FY-LINK-005 vm1)" none "none for vm1, which dirties (almost) nothing"
like "$VMS" "^vm1:0:0:[a-z]+ busy:0:1:warnings$" \
	"--json: busy has one warning of its own (its verdict: warnings), vm1 none"
like "$(f FY-LINK-006 "")" "^info \| 576\.0 MiB \| [0-9.]+ Mbit/s$" "FY-LINK-006: both VMs' memory, 576 MiB"
e=$(eta FY-LINK-006 "")
ok "in 4-9 min (576 MiB / 20 Mbit/s = 4 min 02 s): $e s" within "$e" 240 540
pf vm1 busy --link-seconds 2 --strict
is "$RC" 1 "text, --strict: exits 1"
like "$OUT" "WARNING +FY-LINK-005 +busy dirties memory at [0-9.]+ Mbit/s, as fast as the link copies it \([0-9.]+ Mbit/s\)" \
	"text: FY-LINK-005 names busy, its dirty rate and the goodput"
like "$OUT" "VM busy( \([^)]*\))?: WARNINGS" "text: busy's verdict: warnings"
like "$OUT" "VM vm1( \([^)]*\))?: (CLEAR|WARNINGS by the site)" "text: vm1's: nothing of its own"
like "$OUT" "Altogether, 2 VMs: about [4-9] min [0-9]{2} s to copy 576\.0 MiB" "text: FY-LINK-006 for the two VMs"
ok "the emulator dropped nothing itself (20 Mbit/s link)" wan_valid
ok "busy stopped" ctl a vm stop busy --force

# --------------------------------------- the link cut during the link test
# wait_test BYTES: until the link test's data is on the wire (1 MB more
# than BYTES, taken before the pre-flight; its facts are kilobytes).
wait_test() {
	local i b
	for i in $(seq 1 150); do
		b=$(wan_stat ab bytes) && [ "${b:-0}" -gt $(($1 + 1000000)) ] && return 0
		sleep 0.05
	done
	return 1
}
# cut OUTFILE ARGS...: ferryctl ARGS at a in the background, the emulator
# stopped once the link test runs; RC its exit status (bounded: 40 s);
# the emulator runs again afterwards.
cut() {
	local out=$1 b0 pid i t0
	shift
	b0=$(wan_stat ab bytes)
	ctl a "$@" >"$out" 2>&1 &
	pid=$!
	wait_test "$b0" || diag "the link test did not start within 7 s"
	kill -STOP "$WAN_PID"
	t0=$(date +%s)
	for i in $(seq 1 400); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
	wait "$pid"
	RC=$?
	diag "the pre-flight ended $(($(date +%s) - t0)) s after the cut (dead timeout 4 s)"
	kill -CONT "$WAN_PID"
}
cut "$T/pf.json" --json preflight vm1 --to b --link-seconds 3
report
is "$RC" 2 "the link cut during its test: an error, exits 2"
is "$VERDICT" blocked/2 "--json: blocked, exit status 2"
is "$(f FY-LINK-003 "")" "error |  | 0 bit/s" "FY-LINK-003 (error): the goodput, 0 bit/s"
like "$LERR" "link test to b(: the peer did not take all the data:)? (failed|connection)" "--json: link_error says why the link test failed"
is "$(f FY-LINK-002 vm1)/$(f FY-LINK-006 "")" none/none \
	"no transfer estimate without a goodput"
cut "$T/pf.out" preflight vm1 --to b --link-seconds 3
is "$RC" 2 "text: exits 2"
like "$(cat "$T/pf.out")" "ERROR +FY-LINK-003 +The link test carried no data between the gateways" \
	"text: FY-LINK-003 says the link carried no data"
like "$(cat "$T/pf.out")" "fix: Fix the transport between the gateways" "text: and how to fix it"
like "$(cat "$T/pf.out")" "^link test: link test to b(: the peer did not take all the data:)? (failed|connection)" "text: and gives the link test's error"
jpf vm1 --link-seconds 1
is "$RC/$(f FY-LINK-003 "")" 0/none "with the link back, the link carries data again (exits 0, no FY-LINK-003)"
like "$(f FY-LINK-002 vm1)" "^info \| $MEM_RE \| [0-9.]+ Mbit/s$" "and vm1's transfer is estimated again"
ok "the emulator dropped nothing itself" wan_valid

site_stop a
site_stop b
wan_down
check_sanitizers
done_testing
