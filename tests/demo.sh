#!/bin/bash
# demo.sh BUILDDIR - the embedded default: two sites on this machine
# (loopback), each a real ferryd with its own state; they pair with a
# one-time invite, show each other's fingerprints and ping.  Later issues
# grow this into a live migration.
set -euo pipefail
B=${1:?usage: demo.sh BUILDDIR}
FERRYD=$B/gateway/ferryd
FERRYCTL=$B/gateway/ferryctl
D=$(mktemp -d /tmp/ferry-demo.XXXXXX)
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "demo state kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT

port() {
	local p
	while :; do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000))
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

start() {	# start NAME
	local n=$1 d=$D/$1 i
	mkdir -p "$d"
	cat >"$d/ferryd.conf" <<CONF
site_name $n
listen 127.0.0.1:$(port)
state_dir $d/state
admin_socket $d/ferryd.sock
pidfile $d/ferryd.pid
CONF
	"$FERRYD" -n -f "$d/ferryd.conf"
	"$FERRYD" -d -f "$d/ferryd.conf" 2>"$d/ferryd.log" &
	PIDS+=($!)
	for i in $(seq 1 100); do [ -S "$d/ferryd.sock" ] && [ -s "$d/ferryd.pid" ] && return; sleep 0.05; done
	echo "ferryd $n did not start; see $d/ferryd.log" >&2
	exit 1
}
A() { "$FERRYCTL" -s "$D/site-a/ferryd.sock" "$@"; }
Bc() { "$FERRYCTL" -s "$D/site-b/ferryd.sock" "$@"; }

say "Two sites on this machine: site-a and site-b (loopback, private state in $D)"
start site-a
start site-b
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" status
echo
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" status

say "site-a: make a one-time invite (valid 10 minutes)"
INV=$(A pair invite --ttl 10m 2>/dev/null)
echo "$INV"

say "site-b: join with it (TLS 1.3, site-a's key pinned from the invite, proof bound to the session)"
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" pair join "$INV"

say "Each site now lists the other; compare the fingerprints with the status output above"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" peers
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" peers

say "Ping both ways (every call carries a short-lived token bound to the caller's certificate)"
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" peer ping site-a --count 10
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" peer ping site-b --count 10

say "The data transport: TLS 1.3 streams on the same port, every byte verified at the far end"
run "$FERRYCTL" -s "$D/site-b/ferryd.sock" link test site-a --seconds 3

say "The invite is single use: joining again from a third site is refused"
start site-c
"$FERRYCTL" -s "$D/site-c/ferryd.sock" pair join "$INV" || true

say "Audit trail at site-a (hash-chained)"
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" audit
run "$FERRYCTL" -s "$D/site-a/ferryd.sock" audit verify

say "Done: two sites paired and pinging. (KEEP=1 ./quickstart demo keeps the state.)"
