#!/bin/bash
# bench/preflight.sh [BUILDDIR] - `ferryctl preflight` of 10, 100 and 1,000
# VMs between two ferryd with `domain vsphere', each fronting its own vCenter
# simulator (tests/vcsim/vcsim of BUILDDIR, built by `make check').
# What is timed: the whole pre-flight as a user runs it (source facts in
# bulk, one vCenter CheckRelocate per VM, the destination's facts from its
# gateway over the federation API, DNS, the rules), without the link test;
# and `ferryctl inventory --site b` (the destination's side alone).
# Each size is run REPS times (3) and the median kept.  Prints VMs per
# second and the time relative to 10 VMs: property fetching in bulk grows
# with the VM count, not with VMs x properties round trips.
# Not part of make check.
set -euo pipefail
B=${1:-$(dirname "$0")/../build}
B=$(cd "$B" && pwd)
REPS=${REPS:-3}
VCSIM=$B/tests/vcsim/vcsim
[ -x "$VCSIM" ] || { echo "no $VCSIM: run make check in $B first" >&2; exit 1; }
D=$(mktemp -d /tmp/ferry-bench-pf.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$D"' EXIT
port() { local p; while :; do p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000)); ss -Htan "sport = :$p" | grep -q . || { echo $p; return; }; done; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ctl() { local s=$1; shift; "$B/gateway/ferryctl" -s "$D/$s/sock" "$@"; }
umask 077

# vc NAME N PREFIX: a simulator with N VMs over 4 hosts; sets its ready file
vc() {
	local d=$D/vc-$1
	rm -rf "$d"; mkdir -p "$d/ds"
	"$VCSIM" -ready "$d/ready.json" -dir "$d/ds" -max-seconds 900 -clusters 1 -cluster-hosts 3 \
		-standalone-hosts 1 -vms "$2" -vm-prefix "$3" >/dev/null 2>"$d/log" & PIDS+=($!)
	for i in $(seq 600); do [ -s "$d/ready.json" ] && return; sleep 0.1; done
	echo "simulator $1 did not start" >&2; exit 1
}
rd() { sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$D/vc-$1/ready.json"; }
site() {	# site NAME: a ferryd fronting simulator NAME
	rm -rf "$D/$1"; mkdir -p "$D/$1"
	printf 'u\np\n' >"$D/$1/cred"
	printf 'site_name %s\nlisten 127.0.0.1:%s\nstate_dir %s\nadmin_socket %s\npidfile %s\nlog_level warning\n' \
		"$1" "$(port)" "$D/$1/state" "$D/$1/sock" "$D/$1/pid" >"$D/$1/conf"
	printf 'domain vsphere\nvcenter_url %s\nvcenter_thumbprint %s\nvcenter_credentials %s\nvcenter_timeout 120s\n' \
		"$(rd "$1" url)" "$(rd "$1" thumbprint_sha1)" "$D/$1/cred" >>"$D/$1/conf"
	"$B/gateway/ferryd" -d -f "$D/$1/conf" 2>"$D/$1/log" & PIDS+=($!)
	for i in $(seq 100); do [ -S "$D/$1/sock" ] && return; sleep 0.05; done
	echo "ferryd $1 did not start" >&2; exit 1
}
stop_all() { for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
ms_of() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }

printf '%-6s %12s %10s %14s %12s\n' VMs preflight_ms VMs/s ratio_to_10 inventory_ms
base=""
for n in 10 100 1000; do
	vc a "$n" A; vc b "$n" B
	site a; site b
	inv=$(ctl a pair invite 2>/dev/null); ctl b pair join "$inv" >/dev/null
	vms=$(seq -f 'A%g' 0 $((n - 1)) | tr '\n' ' ')
	ctl a --json preflight $vms --to b --link-seconds 0 >"$D/pf.json" 2>&1 || true	# warm-up (logins)
	grep -q '"verdict"' "$D/pf.json" || { echo "pre-flight of $n VMs failed:" >&2; head -5 "$D/pf.json" >&2; exit 1; }
	t=$(for r in $(seq "$REPS"); do ms_of ctl a --json preflight $vms --to b --link-seconds 0; done | median)
	ti=$(for r in $(seq "$REPS"); do ms_of ctl a --json inventory --site b; done | median)
	[ -n "$base" ] || base=$t
	printf '%-6s %12s %10.0f %14.1f %12s\n' "$n" "$t" "$(echo "$n * 1000 / $t" | bc -l)" \
		"$(echo "$t / $base" | bc -l)" "$ti"
	stop_all
done
echo "(ratio_to_10: pre-flight time relative to 10 VMs; linear growth is 10x and 100x)"
