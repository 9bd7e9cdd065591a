#!/bin/bash
# bench/handshake.sh [BUILDDIR] - what a federation call costs, against
# peers measured in the same run on the same machine:
#   ferry connect: TCP + TLS 1.3 (mutual, pinned) + one token call
#   ferry call:    one Hello on an established session (with a fresh token call)
#   peer:          curl with a client certificate to `openssl s_server -www`
#                  (TCP + TLS 1.3 mutual + one HTTP GET), same Ed25519 keys
#   pair:          invite + join end to end
# Not part of make check. Prints medians and ratios.
set -euo pipefail
B=${1:-$(dirname "$0")/../build}
B=$(cd "$B" && pwd)
N=${N:-200}
D=$(mktemp -d /tmp/ferry-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$D"' EXIT
port() { local p; while :; do p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000)); ss -Htan "sport = :$p" | grep -q . || { echo $p; return; }; done; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
start() {
	mkdir -p "$D/$1"
	printf 'site_name %s\nlisten 127.0.0.1:%s\nstate_dir %s\nadmin_socket %s\npidfile %s\nlog_level warning\n' \
		"$1" "$(port)" "$D/$1/state" "$D/$1/sock" "$D/$1/pid" >"$D/$1/conf"
	"$B/gateway/ferryd" -d -f "$D/$1/conf" 2>"$D/$1/log" & PIDS+=($!)
	for i in $(seq 100); do [ -S "$D/$1/sock" ] && return; sleep 0.05; done
}
ctl() { local s=$1; shift; "$B/gateway/ferryctl" -s "$D/$s/sock" "$@"; }
start a; start b

for i in $(seq 1 20); do
	start "p$i" >/dev/null
done
pair_ms=()
for i in $(seq 1 20); do
	inv=$(ctl a pair invite 2>/dev/null)
	t0=$(date +%s%N); ctl "p$i" pair join "$inv" >/dev/null; t1=$(date +%s%N)
	pair_ms+=($(( (t1 - t0) / 1000 )))
done
pair=$(printf '%s\n' "${pair_ms[@]}" | median)
inv=$(ctl a pair invite 2>/dev/null); ctl b pair join "$inv" >/dev/null

conn=(); call=()
for i in $(seq 1 20); do
	j=$(ctl b --json peer ping a --count $((N / 20)))
	conn+=($(echo "$j" | sed -n 's/.*"connect_ms": \([0-9.]*\).*/\1/p'))
	call+=($(echo "$j" | sed -n 's/.*"rtt_avg_ms": \([0-9.]*\).*/\1/p'))
done
fconn=$(printf '%s\n' "${conn[@]}" | median)
fcall=$(printf '%s\n' "${call[@]}" | median)

# Peer: the same keys, OpenSSL's own server, curl as the client.
sp=$(port)
openssl s_server -quiet -tls1_3 -accept "$sp" -cert "$D/a/state/cert.pem" -key "$D/a/state/key.pem" \
	-Verify 1 -verify_return_error -CAfile "$D/b/state/cert.pem" -www -naccept $((N + 1)) >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5
peer=()
for i in $(seq 1 "$N"); do
	peer+=($(curl -sk --tlsv1.3 --cert "$D/b/state/cert.pem" --key "$D/b/state/key.pem" \
		-o /dev/null -w '%{time_total}\n' "https://127.0.0.1:$sp/" | awk '{print $1 * 1000}'))
done
pcurl=$(printf '%s\n' "${peer[@]}" | median)

printf '\nFerry federation call costs (median of runs; %s calls)\n' "$N"
printf '%-58s %10s\n' "measure" "ms"
printf '%-58s %10.3f\n' "pair: invite + join, end to end (ferryctl join wall time)" "$(echo "$pair" | awk '{print $1/1000}')"
printf '%-58s %10.3f\n' "ferry connect: TCP + mutual TLS 1.3 + pin + token call" "$fconn"
printf '%-58s %10.3f\n' "ferry call on an open session: token call + Hello" "$fcall"
printf '%-58s %10.3f\n' "peer: curl + openssl s_server, TCP + mutual TLS 1.3 + GET" "$pcurl"
printf '%-58s %10.2f\n' "ratio ferry connect / peer (lower is better)" "$(awk -v a="$fconn" -v b="$pcurl" 'BEGIN{print a/b}')"
