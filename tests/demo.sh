#!/bin/bash
# demo.sh BUILDDIR - the embedded default: two sites on this machine, each a
# real ferryd with its own state and its own qemu domain.  As root (where
# network namespaces and TUN work) the sites sit in two namespaces joined by
# the user-space WAN emulator (1 Gbit/s, 20 ms round trip); otherwise on
# loopback.  They pair with a one-time invite, a pre-flight checks the move
# (maps, space, link, dirty rate), and a running test guest is live-migrated from site-a to site-b with a progress bar; the
# summary gives total time, downtime, bytes, passes and the integrity verdict.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
B=$(cd "${1:?usage: demo.sh BUILDDIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
FERRYD=$B/gateway/ferryd
FERRYCTL=$B/gateway/ferryctl
D=$(mktemp -d /tmp/ferry-demo.XXXXXX)
PIDS=()
WAN=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$'; printf ' %q' "$@"; printf '\033[0m\n'; "$@"; }
cleanup() {
	local p f
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	# The guests outlive their ferryd by design: stop the ones this demo started.
	for f in "$D"/*/state/vms/*/qemu.pid; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		grep -qs "$D" "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null || true
	done
	[ "$WAN" = 1 ] && wan_down >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" = 1 ]; then echo "demo state kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The test guest and the WAN emulator are test programs: build them here.
make -s -C "$B" tests/guest/mkguest tests/guest/guest.bin tests/tools/wanem >/dev/null

port() {
	local p
	while :; do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000))
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

start() {	# start NAME LISTEN-ADDR DATASTORE NETWORK [WRAPPER...]
	local n=$1 addr=$2 ds=$3 net=$4 d=$D/$1 i
	shift 4
	mkdir -p "$d" "$D/$ds"
	cat >"$d/ferryd.conf" <<CONF
site_name $n
listen $addr:$(port)
state_dir $d/state
admin_socket $d/ferryd.sock
pidfile $d/ferryd.pid
qemu_datastores $ds=$D/$ds
qemu_networks "$net"
CONF
	"$FERRYD" -n -f "$d/ferryd.conf"
	"$@" "$FERRYD" -d -f "$d/ferryd.conf" 2>"$d/ferryd.log" &
	PIDS+=($!)
	for i in $(seq 1 100); do [ -S "$d/ferryd.sock" ] && [ -s "$d/ferryd.pid" ] && return; sleep 0.05; done
	echo "ferryd $n did not start; see $d/ferryd.log" >&2
	exit 1
}
A() { "$FERRYCTL" -s "$D/site-a/ferryd.sock" "$@"; }
Bs() { "$FERRYCTL" -s "$D/site-b/ferryd.sock" "$@"; }

if [ "$(id -u)" = 0 ] && [ "${DEMO_LOOPBACK:-0}" != 1 ]; then
	top_srcdir=$SRC top_builddir=$B
	. "$SRC/tests/integration/wan.sh"
	if wan_can >/dev/null 2>&1; then
		WAN=1
	fi
fi
if [ "$WAN" = 1 ]; then
	say "Two sites in network namespaces joined by the WAN emulator: 1 Gbit/s, 10 ms each way"
	wan_up demo --rate 1000 --delay 10 >/dev/null
	start site-a "$(wan_addr a)" ds-a "VM Network" ip netns exec "$WAN_NS_A"
	start site-b "$(wan_addr b)" ds-b "Prod-B" ip netns exec "$WAN_NS_B"
else
	say "Two sites on this machine: site-a and site-b (loopback; run as root for the emulated WAN)"
	start site-a 127.0.0.1 ds-a "VM Network"
	start site-b 127.0.0.1 ds-b "Prod-B"
fi
echo "state in $D"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" status

say "site-a: a one-time invite; site-b joins with it (TLS 1.3, keys pinned, proof bound to the session)"
INV=$(A pair invite --ttl 10m 2>/dev/null)
echo "$INV"
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" pair join "$INV"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" peers

say "site-a: define and start the test guest (128 MiB; it dirties 60 MiB and prints a heartbeat)"
"$B/tests/guest/mkguest" -o "$D/guest.img" --mem 128 --start 1 --end 61 --spin 20000 --hb-pages 128 \
	"$B/tests/guest/guest.bin"
cat >"$D/web1.json" <<JSON
{
  "name": "web1",
  "vcpus": 1,
  "memory_mib": 128,
  "boot": "$D/guest.img",
  "disks": [ { "id": "disk0", "datastore": "ds-a", "file": "web1-data.qcow2", "format": "qcow2", "size": "64M" } ],
  "nics": [ { "network": "VM Network" } ]
}
JSON
cat "$D/web1.json"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" vm define "$D/web1.json"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" vm start web1
sleep 2
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" vm show web1 --lines 3

say "Pre-check what can be checked: site-b's networks and datastores under the maps, the link, the guest's dirty rate"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" preflight web1 --to site-b \
	--network-map "VM Network=Prod-B" --datastore-map ds-a=ds-b

say "Migrate web1 live to site-b: disk mirror over NBD, then memory pre-copy, through the transport"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" migrate web1 --to site-b \
	--network-map "VM Network=Prod-B" --datastore-map ds-a=ds-b --verify --wait

say "web1 now runs at site-b only, same UUID and MAC, still beating"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" vm list
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" vm list
sleep 1
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" vm show web1 --lines 3

say "The job at both sites, and the audit trail at site-a (hash-chained)"
J=$(A --json jobs | sed -n 's/.*"id": "\(m-[0-9a-f]*\)".*/\1/p' | head -n 1)
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" job show "$J"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" audit --since 10m
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" audit verify

say "Done. (KEEP=1 ./quickstart demo keeps the state; DEMO_LOOPBACK=1 skips the emulated WAN.)"
